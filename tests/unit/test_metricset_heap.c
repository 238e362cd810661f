/* heap metricset: golang.heap fields, encoding/json's decoding rules and
 * error texts (each expected message was printed by Go 1.19 decoding the
 * same body into Metricbeat's heap.Stats), and the GC pause window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "decode_helpers.h"

#define ZERO_GC                                                                                    \
    "\"gc\":{\"next_gc_limit\":0,\"total_count\":0,\"cpu_fraction\":0,\"total_pause\":{\"ns\":0}," \
    "\"pause\":{\"count\":0,\"sum\":{\"ns\":0},\"avg\":{\"ns\":0},\"max\":{\"ns\":0}}}"
#define ZERO_ALLOC                                                                                 \
    "\"allocations\":{\"mallocs\":0,\"frees\":0,\"objects\":0,\"total\":0,\"allocated\":0,"        \
    "\"idle\":0,\"active\":0}"
#define ZERO_SYS "\"system\":{\"total\":0,\"obtained\":0,\"stack\":0,\"released\":0}"

static dh_run heap1(const char *body, heap_window *w)
{
    return dh_heap(body, strlen(body), w);
}

static void expect_heap(const char *body, const char *want)
{
    heap_window w = {0};
    dh_run r = heap1(body, &w);
    if (r.rc != 0)
        fail_msg("error: %s", r.msg);
    dh_assert_json(want, r.json);
    free(r.json);
}

static void expect_error(const char *body, const char *want)
{
    heap_window w = {.last_num_gc = 5};
    dh_run r = heap1(body, &w);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.msg, want);
    assert_int_equal(w.last_num_gc, 5); /* window untouched on error */
    free(r.json);
}

static void maps_memstats_to_fields(void **state)
{
    (void)state;
    expect_heap(
        "{\"cmdline\":[\"./app\",\"-x\",\" \"],\"memstats\":{\"Alloc\":1,\"TotalAlloc\":2,"
        "\"Sys\":3,\"Mallocs\":4,\"Frees\":5,\"HeapAlloc\":6,\"HeapSys\":7,\"HeapIdle\":8,"
        "\"HeapInuse\":9,\"HeapReleased\":10,\"HeapObjects\":11,\"StackSys\":12,"
        "\"NextGC\":13,\"PauseTotalNs\":14,\"NumGC\":2,\"PauseNs\":[5,9],"
        "\"GCCPUFraction\":7.98538053427137e-05,\"EnableGC\":true,"
        "\"BySize\":[{\"Size\":0,\"Mallocs\":0,\"Frees\":0}]},\"extra\":1e400}",
        "{\"cmdline\":\"./app -x\",\"allocations\":{\"mallocs\":4,\"frees\":5,\"objects\":11,"
        "\"total\":2,\"allocated\":6,\"idle\":8,\"active\":9},\"system\":{\"total\":3,"
        "\"obtained\":7,\"stack\":12,\"released\":10},\"gc\":{\"next_gc_limit\":13,"
        "\"total_count\":2,\"cpu_fraction\":7.98538053427137e-05,\"total_pause\":{\"ns\":14},"
        "\"pause\":{\"count\":2,\"sum\":{\"ns\":14},\"avg\":{\"ns\":7},\"max\":{\"ns\":9}}}}");
}

static void null_or_missing_memstats_is_all_zero(void **state)
{
    (void)state;
    const char *zero = "{\"cmdline\":\"\"," ZERO_ALLOC "," ZERO_SYS "," ZERO_GC "}";
    expect_heap("null", zero);
    expect_heap("{}", zero);
    expect_heap("{\"memstats\":null,\"cmdline\":null}", zero);
    expect_heap("{\"cmdline\":[]}", zero);
}

static void keys_match_like_encoding_json(void **state)
{
    (void)state;
    /* case-insensitive; U+017F (long s) and U+212A (Kelvin) fold to s/k */
    expect_heap("{\"MEMSTATS\":{\"numgc\":3,\"Pau\xC5\xBF"
                "eNs\":[5,6,7,8],\"Stac\xE2\x84\xAASys\":4096},\"CmdLine\":[\"a\"]}",
                "{\"cmdline\":\"a\"," ZERO_ALLOC ",\"system\":{\"total\":0,\"obtained\":0,"
                "\"stack\":4096,\"released\":0},\"gc\":{\"next_gc_limit\":0,\"total_count\":3,"
                "\"cpu_fraction\":0,\"total_pause\":{\"ns\":0},\"pause\":{\"count\":3,\"sum\":{"
                "\"ns\":18},\"avg\":{\"ns\":6},\"max\":{\"ns\":7}}}}");
}

static void later_keys_merge_into_the_struct(void **state)
{
    (void)state;
    expect_heap("{\"memstats\":{\"NumGC\":2,\"PauseNs\":[1,1]},\"MemStats\":{\"PauseNs\":[4,5]}}",
                "{\"cmdline\":\"\"," ZERO_ALLOC "," ZERO_SYS ",\"gc\":{\"next_gc_limit\":0,"
                "\"total_count\":2,\"cpu_fraction\":0,\"total_pause\":{\"ns\":0},\"pause\":{"
                "\"count\":2,\"sum\":{\"ns\":9},\"avg\":{\"ns\":4},\"max\":{\"ns\":5}}}}");
}

static void pause_ring_short_and_long(void **state)
{
    (void)state;
    /* shorter than 256: the rest is zero, so the 4 GCs sum to 3 (avg 0) */
    expect_heap("{\"memstats\":{\"NumGC\":4,\"PauseNs\":[1,2]}}",
                "{\"cmdline\":\"\"," ZERO_ALLOC "," ZERO_SYS ",\"gc\":{\"next_gc_limit\":0,"
                "\"total_count\":4,\"cpu_fraction\":0,\"total_pause\":{\"ns\":0},\"pause\":{"
                "\"count\":4,\"sum\":{\"ns\":3},\"avg\":{\"ns\":0},\"max\":{\"ns\":2}}}}");
    /* longer than 256: Go skips the extra elements, even ill-typed ones */
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"memstats\":{\"NumGC\":1,\"PauseNs\":[7");
    for (int i = 1; i < 256; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, ",0");
    snprintf(body + n, sizeof body - n, ",\"x\",{\"y\":1e400},9]}}");
    heap_window w = {0};
    dh_run r = heap1(body, &w);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.json, "\"max\":{\"ns\":7}"));
    free(r.json);
}

static void uint64_bit63_is_cleared(void **state)
{
    (void)state;
    /* 2^63 + 12345, as a custom Func var in the samples produces */
    heap_window w = {0};
    dh_run r = heap1("{\"memstats\":{\"TotalAlloc\":9223372036854788153,"
                     "\"HeapSys\":18446744073709551615}}",
                     &w);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.json, "\"total\":12345"));
    assert_non_null(strstr(r.json, "\"obtained\":9223372036854775807"));
    free(r.json);
}

static void type_errors_use_go_words(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"memstats\":{\"LastGC\":1.5e18}}",
         "json: cannot unmarshal number 1.5e18 into Go struct field MemStats.MemStats.LastGC of "
         "type uint64"},
        {"{\"memstats\":{\"NumGC\":4294967296}}",
         "json: cannot unmarshal number 4294967296 into Go struct field MemStats.MemStats.NumGC of "
         "type uint32"},
        {"{\"memstats\":{\"HeapAlloc\":-1}}",
         "json: cannot unmarshal number -1 into Go struct field MemStats.MemStats.HeapAlloc of "
         "type uint64"},
        {"{\"memstats\":{\"Frees\":1e2}}",
         "json: cannot unmarshal number 1e2 into Go struct field MemStats.MemStats.Frees of type "
         "uint64"},
        {"{\"memstats\":{\"Alloc\":\"x\"}}",
         "json: cannot unmarshal string into Go struct field MemStats.MemStats.Alloc of type "
         "uint64"},
        {"{\"memstats\":{\"EnableGC\":1}}",
         "json: cannot unmarshal number into Go struct field MemStats.MemStats.EnableGC of type "
         "bool"},
        {"{\"memstats\":{\"GCCPUFraction\":1e400}}",
         "json: cannot unmarshal number 1e400 into Go struct field MemStats.MemStats.GCCPUFraction "
         "of type float64"},
        {"{\"memstats\":{\"PauseNs\":{\"a\":1}}}",
         "json: cannot unmarshal object into Go struct field MemStats.MemStats.PauseNs of type "
         "[256]uint64"},
        {"{\"memstats\":{\"PauseNs\":[1,true]}}",
         "json: cannot unmarshal bool into Go struct field MemStats.MemStats.PauseNs of type "
         "uint64"},
        {"{\"memstats\":{\"BySize\":[{\"Size\":\"x\"}]}}",
         "json: cannot unmarshal string into Go struct field .MemStats.BySize.Size of type "
         "uint32"},
        {"{\"memstats\":{\"BySize\":[1]}}",
         "json: cannot unmarshal number into Go struct field MemStats.MemStats.BySize of type "
         "struct { Size uint32; Mallocs uint64; Frees uint64 }"},
        {"{\"memstats\":[]}", "json: cannot unmarshal array into Go struct field Stats.MemStats of "
                              "type runtime.MemStats"},
        {"{\"cmdline\":\"./app -x\"}",
         "json: cannot unmarshal string into Go struct field Stats.Cmdline of type []interface {}"},
        {"{\"cmdline\":[{\"x\":1e400}]}",
         "json: cannot unmarshal number 1e400 into Go struct field Stats.Cmdline of type float64"},
        {"[]", "json: cannot unmarshal array into Go value of type heap.Stats"},
        {"\"x\"", "json: cannot unmarshal string into Go value of type heap.Stats"},
        {"12", "json: cannot unmarshal number into Go value of type heap.Stats"},
    };
    char want[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(want, sizeof want, "error unmarshalling json: %s", cases[i][1]);
        expect_error(cases[i][0], want);
    }
}

static void first_error_wins_and_syntax_beats_types(void **state)
{
    (void)state;
    expect_error("{\"memstats\":{\"LastGC\":1.5e18},\"cmdline\":\"x\"}",
                 "error unmarshalling json: json: cannot unmarshal number 1.5e18 into Go struct "
                 "field MemStats.MemStats.LastGC of type uint64");
    expect_error("{\"memstats\":{\"LastGC\":1.5e18},\"x\":}",
                 "error unmarshalling json: invalid character '}' looking for beginning of value");
    expect_error("{\"memstats\":{\"NumGC\":NaN}}",
                 "error unmarshalling json: invalid character 'N' looking for beginning of value");
    expect_error("", "error unmarshalling json: unexpected end of JSON input");
}

static void non_string_cmdline_element_is_an_error(void **state)
{
    (void)state;
    /* Metricbeat panics here and stops the metricset; we report instead */
    expect_error("{\"cmdline\":[\"a\",1]}",
                 "error unmarshalling json: cmdline element 1 is not a string");
    expect_error("{\"cmdline\":[null]}",
                 "error unmarshalling json: cmdline element 0 is not a string");
}

static void invalid_utf8_in_cmdline_becomes_fffd(void **state)
{
    (void)state;
    heap_window w = {0};
    dh_run r = heap1("{\"cmdline\":[\"a\xff\",\"\\ud800b\"]}", &w);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.json, "\"cmdline\":\"a\xEF\xBF\xBD \xEF\xBF\xBD"
                                   "b\""));
    free(r.json);
}

static void depth_limit_applies(void **state)
{
    (void)state;
    decode_limits lim = {.max_depth = 3};
    heap_window w = {0};
    char msg[256];
    yajl_gen g = yajl_gen_alloc(NULL);
    const char *deep = "{\"x\":[[[1]]]}";
    assert_int_equal(metricset_heap_emit(g, deep, strlen(deep), &w, &lim, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "limit of 3 levels"));
    yajl_gen_free(g);
}

static gc_pauses window(heap_window *w, uint32_t num_gc, const uint64_t *ring)
{
    gc_pauses p;
    heap_gc_window(w, num_gc, ring, &p);
    return p;
}

static void gc_window_first_and_second_scrape(void **state)
{
    (void)state;
    uint64_t ring[HEAP_PAUSE_RING] = {10, 20, 30, 40, 50};
    heap_window w = {0};
    gc_pauses p = window(&w, 3, ring); /* first scrape: every GC since start */
    assert_true(p.count == 3 && p.sum_ns == 60 && p.max_ns == 30 && p.avg_ns == 20);
    assert_int_equal(w.last_num_gc, 3);
    p = window(&w, 5, ring); /* second: only GCs 3 and 4 */
    assert_true(p.count == 2 && p.sum_ns == 90 && p.max_ns == 50 && p.avg_ns == 45);
    p = window(&w, 5, ring); /* no new GC */
    assert_true(p.count == 0 && p.sum_ns == 0 && p.max_ns == 0 && p.avg_ns == 0);
    assert_int_equal(w.last_num_gc, 5);
}

static void gc_window_average_truncates(void **state)
{
    (void)state;
    uint64_t ring[HEAP_PAUSE_RING] = {1, 2, 2};
    heap_window w = {0};
    gc_pauses p = window(&w, 3, ring);
    assert_true(p.sum_ns == 5 && p.avg_ns == 1);
}

static void gc_window_wraps_and_clamps_to_256(void **state)
{
    (void)state;
    uint64_t ring[HEAP_PAUSE_RING];
    for (int i = 0; i < HEAP_PAUSE_RING; i++)
        ring[i] = (uint64_t)i;
    heap_window w = {.last_num_gc = 250};
    gc_pauses p = window(&w, 260, ring); /* GCs 250..259: slots 250..255 then 0..3 */
    assert_true(p.count == 10 && p.sum_ns == (250 + 251 + 252 + 253 + 254 + 255 + 0 + 1 + 2 + 3));
    assert_true(p.max_ns == 255);
    w.last_num_gc = 10;
    p = window(&w, 1000, ring); /* 990 missed GCs: only the last 256 exist */
    assert_true(p.count == 256 && p.sum_ns == 255 * 256 / 2 && p.max_ns == 255);
    assert_int_equal(w.last_num_gc, 1000);
}

static void gc_window_restart_reports_zero_and_keeps_state(void **state)
{
    (void)state;
    uint64_t ring[HEAP_PAUSE_RING] = {7, 7, 7, 7};
    heap_window w = {.last_num_gc = 100};
    gc_pauses p = window(&w, 4, ring); /* the target restarted: beats#6543 */
    assert_true(p.count == 0 && p.sum_ns == 0);
    assert_int_equal(w.last_num_gc, 100);
    p = window(&w, 101, ring); /* only once NumGC passes the old value */
    assert_true(p.count == 1);
}

static void emit_updates_window_across_scrapes(void **state)
{
    (void)state;
    heap_window w = {0};
    dh_run r = heap1("{\"memstats\":{\"NumGC\":2,\"PauseNs\":[3,4]}}", &w);
    assert_int_equal(r.rc, 0);
    assert_int_equal(w.last_num_gc, 2);
    free(r.json);
    r = heap1("{\"memstats\":{\"NumGC\":1,\"PauseNs\":[3,4]}}", &w);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.json, "\"pause\":{\"count\":0"));
    assert_int_equal(w.last_num_gc, 2);
    free(r.json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maps_memstats_to_fields),
        cmocka_unit_test(null_or_missing_memstats_is_all_zero),
        cmocka_unit_test(keys_match_like_encoding_json),
        cmocka_unit_test(later_keys_merge_into_the_struct),
        cmocka_unit_test(pause_ring_short_and_long),
        cmocka_unit_test(uint64_bit63_is_cleared),
        cmocka_unit_test(type_errors_use_go_words),
        cmocka_unit_test(first_error_wins_and_syntax_beats_types),
        cmocka_unit_test(non_string_cmdline_element_is_an_error),
        cmocka_unit_test(invalid_utf8_in_cmdline_becomes_fffd),
        cmocka_unit_test(depth_limit_applies),
        cmocka_unit_test(gc_window_first_and_second_scrape),
        cmocka_unit_test(gc_window_average_truncates),
        cmocka_unit_test(gc_window_wraps_and_clamps_to_256),
        cmocka_unit_test(gc_window_restart_reports_zero_and_keeps_state),
        cmocka_unit_test(emit_updates_window_across_scrapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
