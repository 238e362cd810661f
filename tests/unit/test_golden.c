/* Golden conformance (tests/data/golden, see the reference golden README):
 * real /debug/vars bodies through both metricsets must give exactly what
 * Metricbeat 8.x put under golang.<namespace> / golang.heap: equal parsed
 * JSON with object key order ignored, and every number token identical as
 * text (so 1.3572176e+07 must not come out as 13572176). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "decode_helpers.h"

static const char *const samples[] = {"expvartarget", "ginexpvar", "etcd"};

static void check_expvar(const char *input, const char *expected)
{
    size_t n;
    char *body = dh_read(input, &n);
    char *want = dh_read(expected, NULL);
    dh_run r = dh_expvar(body, n, 64);
    if (r.rc != 0)
        fail_msg("%s: %s", input, r.msg);
    dh_assert_json(want, r.json);
    free(r.json);
    free(want);
    free(body);
}

static void check_heap(const char *input, const char *expected, heap_window *w)
{
    size_t n;
    char *body = dh_read(input, &n);
    char *want = dh_read(expected, NULL);
    dh_run r = dh_heap(body, n, w);
    if (r.rc != 0)
        fail_msg("%s: %s", input, r.msg);
    dh_assert_json(want, r.json);
    free(r.json);
    free(want);
    free(body);
}

static void syncgateway_expvar(void **state)
{
    (void)state;
    check_expvar("golden/syncgateway.expvar-input.json",
                 "golden/syncgateway.golang-ns.expected.json");
}

static void fleet_heap_first_scrape(void **state)
{
    (void)state;
    heap_window w = {0};
    check_heap("golden/fleet.heap-input.json", "golden/fleet.golang-heap.expected.json", &w);
}

static void samples_expvar(void **state)
{
    (void)state;
    char in[128], want[128];
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        snprintf(in, sizeof in, "%s.json", samples[i]);
        snprintf(want, sizeof want, "golden/%s.golang-ns.expected.json", samples[i]);
        check_expvar(in, want);
    }
}

static void samples_heap_first_scrape(void **state)
{
    (void)state;
    char in[128], want[128];
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        heap_window w = {0};
        snprintf(in, sizeof in, "%s.json", samples[i]);
        snprintf(want, sizeof want, "golden/%s.golang-heap.scrape1.expected.json", samples[i]);
        check_heap(in, want, &w);
    }
}

/* The same target scraped twice: the window covers only the GCs between. */
static void samples_heap_second_scrape(void **state)
{
    (void)state;
    char in[128], in2[128], want1[128], want2[128];
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        heap_window w = {0};
        snprintf(in, sizeof in, "%s.json", samples[i]);
        snprintf(in2, sizeof in2, "%s-t2.json", samples[i]);
        snprintf(want1, sizeof want1, "golden/%s.golang-heap.scrape1.expected.json", samples[i]);
        snprintf(want2, sizeof want2, "golden/%s-t2.golang-heap.after-scrape1.expected.json",
                 samples[i]);
        check_heap(in, want1, &w);
        check_heap(in2, want2, &w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syncgateway_expvar),
        cmocka_unit_test(fleet_heap_first_scrape),
        cmocka_unit_test(samples_expvar),
        cmocka_unit_test(samples_heap_first_scrape),
        cmocka_unit_test(samples_heap_second_scrape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
