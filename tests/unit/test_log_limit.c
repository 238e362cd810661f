/* log_limit: a failure that repeats every period is logged once, then at
 * most once per interval with how many identical lines were held back;
 * other lines (another target, another message) are never held back by it;
 * more distinct lines than the table holds are logged, not lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "log_limit.h"

static int setup(void **state)
{
    (void)state;
    log_limit_reset();
    return 0;
}

static void test_repeats_held_back_then_counted(void **state)
{
    (void)state;
    const char *line = "Error fetching data for metricset golang.expvar (http://a/): boom";
    uint64_t rep = 99;
    int64_t t0 = 1000000;
    assert_int_equal(1, log_limit_check(line, t0, &rep));
    assert_int_equal(0, rep);
    /* one scrape per second for a minute: nothing written */
    int written = 0;
    for (int i = 1; i < 60; i++)
        written += log_limit_check(line, t0 + i * 1000, &rep);
    assert_int_equal(0, written);
    assert_int_equal(1, log_limit_check(line, t0 + 60000, &rep));
    assert_int_equal(59, rep);
    /* the count starts again after each written line */
    assert_int_equal(0, log_limit_check(line, t0 + 61000, &rep));
    assert_int_equal(1, log_limit_check(line, t0 + 120000, &rep));
    assert_int_equal(1, rep);
}

static void test_distinct_lines_are_independent(void **state)
{
    (void)state;
    uint64_t rep;
    assert_int_equal(1, log_limit_check("target A: refused", 5000, &rep));
    assert_int_equal(1, log_limit_check("target B: refused", 5000, &rep));
    assert_int_equal(1, log_limit_check("target A: timeout", 5001, &rep));
    assert_int_equal(0, log_limit_check("target A: refused", 5002, &rep));
    assert_int_equal(0, log_limit_check("target B: refused", 5002, &rep));
}

static void test_table_overflow_fails_open(void **state)
{
    (void)state;
    uint64_t rep;
    char line[64];
    /* far more distinct lines than slots: every first occurrence is written */
    for (int i = 0; i < 20000; i++) {
        snprintf(line, sizeof line, "target %d: refused", i);
        assert_int_equal(1, log_limit_check(line, 7000 + i, &rep));
    }
    /* the most recent ones are still remembered */
    assert_int_equal(0, log_limit_check("target 19999: refused", 30000, &rep));
}

static void test_log_limited_goes_through_the_same_table(void **state)
{
    (void)state;
    log_limited(LOG_ERROR, "log_limit test line %d", 1); /* written (stderr) */
    log_limited(LOG_ERROR, "log_limit test line %d", 1); /* held back */
    uint64_t rep;
    assert_int_equal(1, log_limit_check("log_limit test line 1", INT64_MAX / 2, &rep));
    assert_int_equal(1, rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_repeats_held_back_then_counted, setup),
        cmocka_unit_test_setup(test_distinct_lines_are_independent, setup),
        cmocka_unit_test_setup(test_table_overflow_fails_open, setup),
        cmocka_unit_test_setup(test_log_limited_goes_through_the_same_table, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
