/* Tests for tstatus: state transitions as scrapes succeed, fail, recover and
 * slow down; the duration ring in order across wrap-around with its failure
 * marks; and error texts made safe (UTF-8, no control characters, cut on a
 * character boundary) before any renderer sees them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tstatus.h"

static void fresh(tstatus *s)
{
    tstatus_init(s, "http://127.0.0.1:6060/debug/vars", "expvar", "app", 10000, 10000);
}

static void test_init_pending(void **state)
{
    (void)state;
    tstatus s;
    fresh(&s);
    assert_string_equal(s.address, "http://127.0.0.1:6060/debug/vars");
    assert_string_equal(s.metricsets, "expvar");
    assert_string_equal(s.ns, "app");
    assert_int_equal(s.scrapes, 0);
    assert_int_equal(tstatus_state(&s), TSTATUS_PENDING);
    assert_string_equal(tstatus_state_name(tstatus_state(&s)), "pending");
    uint32_t us[TSTATUS_HISTORY];
    assert_int_equal(tstatus_history(&s, us, NULL), 0);

    tstatus_init(&s, NULL, NULL, NULL, 0, 0); /* missing strings read as "" */
    assert_string_equal(s.address, "");
    assert_string_equal(s.ns, "");
}

static void test_fail_and_recover(void **state)
{
    (void)state;
    tstatus s;
    fresh(&s);
    tstatus_record(&s, 1000, 1200, NULL);
    assert_int_equal(tstatus_state(&s), TSTATUS_OK);
    assert_string_equal(s.last_error, "");

    tstatus_record(&s, 2000, 300, "Get \"http://x\": dial tcp: connection refused");
    tstatus_record(&s, 3000, 400, "HTTP error 500 in : 500 Internal Server Error");
    assert_int_equal(tstatus_state(&s), TSTATUS_FAILING);
    assert_string_equal(tstatus_state_name(TSTATUS_FAILING), "failing");
    assert_int_equal(s.consecutive_failures, 2);
    assert_int_equal(s.failures, 2);
    assert_int_equal(s.scrapes, 3);
    assert_string_equal(s.last_error, "HTTP error 500 in : 500 Internal Server Error");
    assert_int_equal(s.last_error_wall_ms, 3000);
    assert_int_equal(s.last_wall_ms, 3000);
    assert_int_equal(s.last_duration_us, 400);

    tstatus_record(&s, 4000, 500, "");
    assert_int_equal(tstatus_state(&s), TSTATUS_OK);
    assert_int_equal(s.consecutive_failures, 0);
    assert_int_equal(s.failures, 2); /* the total stays */
    assert_string_equal(s.last_error, "");
    assert_int_equal(s.last_error_wall_ms, 3000); /* when it last failed is kept */
}

static void test_slow(void **state)
{
    (void)state;
    tstatus s;
    tstatus_init(&s, "a", "heap", "", 10000, 2000); /* the timeout is the tighter budget */
    tstatus_record(&s, 1, 999999, NULL);
    assert_int_equal(tstatus_state(&s), TSTATUS_OK);
    tstatus_record(&s, 2, 1000001, NULL);
    assert_int_equal(tstatus_state(&s), TSTATUS_SLOW);
    assert_string_equal(tstatus_state_name(TSTATUS_SLOW), "slow");
    /* Failing wins over slow. */
    tstatus_record(&s, 3, 1900000, "timeout");
    assert_int_equal(tstatus_state(&s), TSTATUS_FAILING);
    assert_string_equal(tstatus_state_name(TSTATUS_STATES), "unknown");
}

static void test_history_wraps_in_order(void **state)
{
    (void)state;
    tstatus s;
    fresh(&s);
    uint32_t us[TSTATUS_HISTORY];
    unsigned char failed[TSTATUS_HISTORY];
    for (int i = 0; i < 3; i++)
        tstatus_record(&s, i + 1, 100 + i, i == 1 ? "boom" : NULL);
    assert_int_equal(tstatus_history(&s, us, failed), 3);
    assert_int_equal(us[0], 100);
    assert_int_equal(us[2], 102);
    assert_int_equal(failed[0], 0);
    assert_int_equal(failed[1], 1);
    assert_int_equal(failed[2], 0);

    /* 70 more: the ring holds the last 60, oldest first; every 7th failed. */
    for (int i = 0; i < 70; i++)
        tstatus_record(&s, 100 + i, 1000 + i, i % 7 == 0 ? "boom" : NULL);
    assert_int_equal(tstatus_history(&s, us, failed), TSTATUS_HISTORY);
    for (int k = 0; k < TSTATUS_HISTORY; k++) {
        int i = 70 - TSTATUS_HISTORY + k;
        assert_int_equal(us[k], 1000 + i);
        assert_int_equal(failed[k], i % 7 == 0);
    }
    /* Negative and huge durations are clamped, not wrapped. */
    tstatus_record(&s, 500, -5, NULL);
    tstatus_record(&s, 501, (int64_t)1 << 40, NULL);
    tstatus_history(&s, us, NULL);
    assert_int_equal(us[TSTATUS_HISTORY - 2], 0);
    assert_int_equal(us[TSTATUS_HISTORY - 1], UINT32_MAX);
}

static void test_error_text_made_safe(void **state)
{
    (void)state;
    tstatus s;
    fresh(&s);
    /* Control characters and bytes that are not UTF-8 (a lone continuation,
     * an overlong '/', a surrogate, a truncated sequence) become '?'; real
     * characters stay. */
    tstatus_record(&s, 1, 1,
                   "a\nb\tc\x7f"
                   "d\x80"
                   "e\xc0\xaf"
                   "f\xed\xa0\x80"
                   "g é € 😀 \xe2\x82");
    assert_string_equal(s.last_error, "a?b?c?d?e??f???g é € 😀 ??");

    /* Cut to the buffer on a character boundary: 300 two-byte characters. */
    char long_err[601];
    for (int i = 0; i < 300; i++)
        memcpy(long_err + 2 * i, "é", 2);
    long_err[600] = '\0';
    tstatus_record(&s, 2, 1, long_err);
    size_t n = strlen(s.last_error);
    assert_true(n <= TSTATUS_ERR_MAX - 1);
    assert_int_equal(n % 2, 0);
    assert_true(n >= TSTATUS_ERR_MAX - 2);
    assert_memory_equal(s.last_error + n - 2, "é", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_pending),
        cmocka_unit_test(test_fail_and_recover),
        cmocka_unit_test(test_slow),
        cmocka_unit_test(test_history_wraps_in_order),
        cmocka_unit_test(test_error_text_made_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
