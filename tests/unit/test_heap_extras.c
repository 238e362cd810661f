/* heap extras: percentile keys, nearest-rank percentiles of the GC window
 * (a hand-made ring and the real ring of tests/data/expvartarget-t2.json),
 * restart reset, rates, and nothing changed when they are off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "decode_helpers.h"
#include "buf.h"
#include "heap_extras.h"

/* A /debug/vars body with the memstats the extras read. */
static char *body(uint32_t num_gc, uint64_t total_alloc, const uint64_t *pauses, size_t n)
{
    buf b;
    buf_init(&b, 0);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "{\"memstats\":{\"TotalAlloc\":%llu,\"NumGC\":%u,\"PauseNs\":[",
             (unsigned long long)total_alloc, num_gc);
    buf_append_str(&b, tmp);
    for (size_t i = 0; i < n; i++) {
        snprintf(tmp, sizeof tmp, "%s%llu", i ? "," : "", (unsigned long long)pauses[i]);
        buf_append_str(&b, tmp);
    }
    buf_append_str(&b, "]}}");
    return buf_detach(&b, NULL);
}

/* One heap document with the extras in c; the parsed golang.heap object. */
static yajl_val emit(const char *text, size_t len, heap_window *w, const heap_extras_conf *c)
{
    decode_limits lim = {.max_depth = 64, .heap = *c};
    yajl_gen g = yajl_gen_alloc(NULL);
    dh_run r = {.msg = ""};
    r.rc = metricset_heap_emit(g, text, len, w, &lim, r.msg, sizeof r.msg);
    if (r.rc != 0)
        fail_msg("heap: %s", r.msg);
    dh_take(&r, g);
    char err[128];
    yajl_val v = yajl_tree_parse(r.json, err, sizeof err);
    free(r.json);
    assert_non_null(v);
    return v;
}

static yajl_val emit_body(uint32_t num_gc, uint64_t total, const uint64_t *p, size_t n,
                          heap_window *w, const heap_extras_conf *c)
{
    char *b = body(num_gc, total, p, n);
    yajl_val v = emit(b, strlen(b), w, c);
    free(b);
    return v;
}

/* The number at a dotted path, or -1 when absent. */
static double num(yajl_val v, const char *dotted)
{
    char copy[128];
    const char *path[8];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", dotted);
    for (char *save = NULL, *t = strtok_r(copy, ".", &save); t; t = strtok_r(NULL, ".", &save))
        path[n++] = t;
    path[n] = NULL;
    yajl_val x = yajl_tree_get(v, path, yajl_t_number);
    return x ? YAJL_GET_DOUBLE(x) : -1;
}

static int has(yajl_val v, const char *a, const char *b)
{
    const char *path[] = {a, b, NULL};
    return yajl_tree_get(v, path, yajl_t_any) != NULL;
}

static void percentile_keys(void **state)
{
    (void)state;
    char k[24];
    struct {
        double p;
        const char *key;
    } cases[] = {{50, "p50"}, {99.9, "p99_9"}, {99.99, "p99_99"}, {0.5, "p0_5"}, {100, "p100"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        heap_extras_pct_key(cases[i].p, k);
        assert_string_equal(k, cases[i].key);
    }
}

/* Pauses 10, 20, ... 100 (shuffled in the ring): nearest rank by hand. */
static void percentiles_by_hand(void **state)
{
    (void)state;
    const uint64_t ring[] = {70, 10, 100, 40, 30, 90, 20, 60, 50, 80};
    const double pct[] = {10, 11, 50, 90, 99, 99.9};
    heap_extras_conf c = heap_extras_conf_make(0, pct, 6, 0);
    heap_window w = {0};
    yajl_val v = emit_body(10, 1000, ring, 10, &w, &c);
    /* n = 10: rank = ceil(p/100 * 10) → 1, 2, 5, 9, 10, 10 */
    assert_true(num(v, "gc.pause.p10.ns") == 10);
    assert_true(num(v, "gc.pause.p11.ns") == 20);
    assert_true(num(v, "gc.pause.p50.ns") == 50);
    assert_true(num(v, "gc.pause.p90.ns") == 90);
    assert_true(num(v, "gc.pause.p99.ns") == 100);
    assert_true(num(v, "gc.pause.p99_9.ns") == 100);
    assert_true(num(v, "gc.pause.count") == 10);
    yajl_tree_free(v);

    /* the next window holds the last 3 GCs only: 30, 50, 70 → p50 = 50 */
    const uint64_t ring2[] = {70, 10, 100, 40, 30, 90, 20, 60, 50, 80, 30, 70, 50};
    v = emit_body(13, 2000, ring2, 13, &w, &c);
    assert_true(num(v, "gc.pause.count") == 3);
    assert_true(num(v, "gc.pause.p10.ns") == 30);
    assert_true(num(v, "gc.pause.p50.ns") == 50);
    assert_true(num(v, "gc.pause.p99.ns") == 70);
    yajl_tree_free(v);

    /* no GC since: no percentiles (pause.count is 0) */
    v = emit_body(13, 3000, ring2, 13, &w, &c);
    assert_true(num(v, "gc.pause.count") == 0);
    assert_int_equal(has(v, "gc", "pause") && num(v, "gc.pause.p50.ns") >= 0, 0);
    yajl_tree_free(v);
}

/* The window wraps the 256-entry ring: GCs 290..299 sit at 34..43. */
static void percentiles_across_the_ring_end(void **state)
{
    (void)state;
    uint64_t ring[256];
    for (size_t i = 0; i < 256; i++)
        ring[i] = 1000 + i;
    const double pct[] = {1, 100};
    heap_extras_conf c = heap_extras_conf_make(0, pct, 2, 0);
    heap_window w = {.last_num_gc = 290};
    yajl_val v = emit_body(300, 1, ring, 256, &w, &c);
    assert_true(num(v, "gc.pause.count") == 10);
    assert_true(num(v, "gc.pause.p1.ns") == 1034);
    assert_true(num(v, "gc.pause.p100.ns") == 1043);
    yajl_tree_free(v);
}

/* The smallest pause with count(x <= it) * 1000 >= permille * n: nearest
 * rank stated without sorting, to check the module's sort-and-index. */
static uint64_t by_counting(const uint64_t *p, size_t n, unsigned permille)
{
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t le = 0;
        for (size_t j = 0; j < n; j++)
            le += p[j] <= p[i];
        if (le * 1000 >= (size_t)permille * n && p[i] < best)
            best = p[i];
    }
    return best;
}

static void percentiles_on_a_real_ring(void **state)
{
    (void)state;
    size_t len;
    char *text = dh_read("expvartarget-t2.json", &len);
    char err[128];
    yajl_val doc = yajl_tree_parse(text, err, sizeof err);
    assert_non_null(doc);
    const char *pp[] = {"memstats", "PauseNs", NULL}, *gp[] = {"memstats", "NumGC", NULL};
    yajl_val ring = yajl_tree_get(doc, pp, yajl_t_array);
    uint32_t num_gc = (uint32_t)YAJL_GET_INTEGER(yajl_tree_get(doc, gp, yajl_t_number));
    assert_int_equal(num_gc, 146); /* one window, no wrap: GCs 0..145 */
    uint64_t pauses[256];
    for (size_t i = 0; i < num_gc; i++)
        pauses[i] = (uint64_t)YAJL_GET_INTEGER(ring->u.array.values[i]);

    const double pct[] = {50, 90, 99, 99.9};
    const unsigned permille[] = {500, 900, 990, 999};
    const char *keys[] = {"gc.pause.p50.ns", "gc.pause.p90.ns", "gc.pause.p99.ns",
                          "gc.pause.p99_9.ns"};
    heap_extras_conf c = heap_extras_conf_make(0, pct, 4, 0);
    heap_window w = {0};
    yajl_val v = emit(text, len, &w, &c);
    assert_true(num(v, "gc.pause.count") == 146);
    for (size_t i = 0; i < 4; i++) {
        uint64_t want = by_counting(pauses, num_gc, permille[i]);
        print_message("expvartarget-t2 %s = %llu\n", keys[i], (unsigned long long)want);
        assert_true(num(v, keys[i]) == (double)want);
    }
    assert_true(num(v, "gc.pause.p99_9.ns") == num(v, "gc.pause.max.ns"));
    yajl_tree_free(v);
    yajl_tree_free(doc);
    free(text);
}

static void restart_reset_starts_a_new_window(void **state)
{
    (void)state;
    const uint64_t old[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, fresh[] = {5, 6, 7, 8, 9};
    heap_extras_conf on = {.restart_reset = 1}, off = {0};
    for (int reset = 0; reset < 2; reset++) {
        heap_window w = {0};
        const heap_extras_conf *c = reset ? &on : &off;
        yajl_val v = emit_body(10, 1000, old, 10, &w, c);
        assert_true(num(v, "gc.pause.count") == 10);
        yajl_tree_free(v);
        /* restarted: 3 GCs so far */
        v = emit_body(3, 100, fresh, 3, &w, c);
        if (reset) {
            assert_true(num(v, "gc.pause.count") == 3);
            assert_true(num(v, "gc.pause.sum.ns") == 18);
            assert_true(num(v, "gc.pause.max.ns") == 7);
            assert_int_equal(w.last_num_gc, 3);
        } else { /* Metricbeat: zeros until NumGC passes 10 again */
            assert_true(num(v, "gc.pause.count") == 0);
            assert_int_equal(w.last_num_gc, 10);
        }
        yajl_tree_free(v);
        v = emit_body(5, 200, fresh, 5, &w, c);
        assert_true(num(v, "gc.pause.count") == (reset ? 2 : 0));
        assert_true(num(v, "gc.pause.sum.ns") == (reset ? 17 : 0));
        yajl_tree_free(v);
    }
}

/* NumGC already past its old value, but TotalAlloc fell: a restart too. */
static void restart_seen_by_total_alloc(void **state)
{
    (void)state;
    const uint64_t p[] = {1, 2, 3, 4, 5};
    heap_extras_conf on = {.restart_reset = 1}, off = {0};
    heap_window a = {0}, b = {0};
    yajl_val v = emit_body(3, 1000, p, 3, &a, &on);
    yajl_tree_free(v);
    v = emit_body(3, 1000, p, 3, &b, &off);
    yajl_tree_free(v);
    v = emit_body(5, 10, p, 5, &a, &on);
    assert_true(num(v, "gc.pause.count") == 5);
    yajl_tree_free(v);
    v = emit_body(5, 10, p, 5, &b, &off);
    assert_true(num(v, "gc.pause.count") == 2);
    yajl_tree_free(v);
}

static void rates_from_deltas(void **state)
{
    (void)state;
    const uint64_t p[] = {1};
    heap_extras_conf c = {.rates = 1};
    heap_window w = {.now_ns = 1000000000};
    yajl_val v = emit_body(10, 1000, p, 1, &w, &c);
    assert_false(has(v, "allocations", "rate")); /* first scrape */
    assert_false(has(v, "gc", "rate"));
    yajl_tree_free(v);

    w.now_ns = 3000000000; /* 2 s later: 8000 bytes, 4 GCs */
    v = emit_body(14, 9000, p, 1, &w, &c);
    assert_true(num(v, "allocations.rate.bytes_per_sec") == 4000);
    assert_true(num(v, "gc.rate.per_sec") == 2);
    yajl_tree_free(v);

    w.now_ns = 3500000000; /* 0.5 s, no GC */
    v = emit_body(14, 9100, p, 1, &w, &c);
    assert_true(num(v, "allocations.rate.bytes_per_sec") == 200);
    assert_true(num(v, "gc.rate.per_sec") == 0);
    yajl_tree_free(v);

    w.now_ns = 4000000000; /* restarted: no rates, a new base */
    v = emit_body(1, 500, p, 1, &w, &c);
    assert_false(has(v, "allocations", "rate"));
    assert_false(has(v, "gc", "rate"));
    yajl_tree_free(v);

    w.now_ns = 8000000000;
    v = emit_body(3, 2500, p, 1, &w, &c);
    assert_true(num(v, "allocations.rate.bytes_per_sec") == 500);
    assert_true(num(v, "gc.rate.per_sec") == 0.5);
    yajl_tree_free(v);
}

/* Off (the default): the document is the one Metricbeat's rules give. */
static void off_changes_nothing(void **state)
{
    (void)state;
    const char *samples[] = {"expvartarget-t2.json", "ginexpvar-t2.json", "etcd.json"};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        char *text = dh_read(samples[i], &len);
        heap_window a = {.now_ns = 5}, b = {0};
        dh_run plain = dh_heap(text, len, &b);
        decode_limits lim = {.max_depth = 64};
        yajl_gen g = yajl_gen_alloc(NULL);
        dh_run r = {.msg = ""};
        r.rc = metricset_heap_emit(g, text, len, &a, &lim, r.msg, sizeof r.msg);
        dh_take(&r, g);
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.json, plain.json);
        free(r.json);
        free(plain.json);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentile_keys),
        cmocka_unit_test(percentiles_by_hand),
        cmocka_unit_test(percentiles_across_the_ring_end),
        cmocka_unit_test(percentiles_on_a_real_ring),
        cmocka_unit_test(restart_reset_starts_a_new_window),
        cmocka_unit_test(restart_seen_by_total_alloc),
        cmocka_unit_test(rates_from_deltas),
        cmocka_unit_test(off_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
