/* Test-only helpers for the decoding tests: reading tests/data files,
 * running a metricset into a fresh generator, and comparing two JSON texts
 * the way the golden README asks: parsed values equal, object key order
 * ignored, number tokens equal as text (yajl_tree keeps the text).
 * Include after <cmocka.h>. */
#ifndef EXPVARBEAT_TEST_DECODE_HELPERS_H
#define EXPVARBEAT_TEST_DECODE_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "metricset.h"

/* $EXPVARBEAT_TEST_DATA/rel, NUL-terminated; fails the test if missing. */
static inline char *dh_read(const char *rel, size_t *len)
{
    const char *dir = getenv("EXPVARBEAT_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    p[n] = '\0';
    if (len)
        *len = (size_t)n;
    return p;
}

/* One metricset run: rc, msg, and the JSON written (NUL-terminated). */
typedef struct dh_run {
    int rc;
    char msg[512];
    char *json;
} dh_run;

static inline void dh_take(dh_run *r, yajl_gen g)
{
    const unsigned char *out;
    size_t n = 0;
    if (yajl_gen_get_buf(g, &out, &n) != yajl_gen_status_ok)
        n = 0;
    r->json = malloc(n + 1);
    assert_non_null(r->json);
    if (n)
        memcpy(r->json, out, n);
    r->json[n] = '\0';
    yajl_gen_free(g);
}

static inline dh_run dh_expvar(const char *body, size_t len, int max_depth)
{
    dh_run r = {.msg = ""};
    decode_limits lim = {.max_depth = max_depth};
    yajl_gen g = yajl_gen_alloc(NULL);
    assert_non_null(g);
    r.rc = metricset_expvar_emit(g, body, len, &lim, r.msg, sizeof r.msg);
    dh_take(&r, g);
    return r;
}

static inline dh_run dh_heap(const char *body, size_t len, heap_window *w)
{
    dh_run r = {.msg = ""};
    decode_limits lim = {.max_depth = 64};
    yajl_gen g = yajl_gen_alloc(NULL);
    assert_non_null(g);
    r.rc = metricset_heap_emit(g, body, len, w, &lim, r.msg, sizeof r.msg);
    dh_take(&r, g);
    return r;
}

static inline int dh_val_same(yajl_val a, yajl_val b, char *path, size_t pl, size_t cap);

static inline int dh_obj_same(yajl_val a, yajl_val b, char *path, size_t pl, size_t cap)
{
    if (a->u.object.len != b->u.object.len) {
        snprintf(path + pl, cap - pl, " (%zu keys, want %zu)", b->u.object.len, a->u.object.len);
        return 0;
    }
    for (size_t i = 0; i < a->u.object.len; i++) {
        const char *k = a->u.object.keys[i];
        size_t j = 0;
        while (j < b->u.object.len && strcmp(b->u.object.keys[j], k) != 0)
            j++;
        int n = snprintf(path + pl, cap - pl, ".%s", k);
        size_t npl = pl + (n > 0 ? (size_t)n : 0);
        if (npl >= cap)
            npl = cap - 1;
        if (j == b->u.object.len) {
            snprintf(path + npl, cap - npl, " missing");
            return 0;
        }
        if (!dh_val_same(a->u.object.values[i], b->u.object.values[j], path, npl, cap))
            return 0;
    }
    return 1;
}

static inline int dh_val_same(yajl_val a, yajl_val b, char *path, size_t pl, size_t cap)
{
    if (a->type != b->type) {
        snprintf(path + pl, cap - pl, " (type %d, want %d)", (int)b->type, (int)a->type);
        return 0;
    }
    if (YAJL_IS_OBJECT(a))
        return dh_obj_same(a, b, path, pl, cap);
    if (YAJL_IS_ARRAY(a)) {
        if (a->u.array.len != b->u.array.len) {
            snprintf(path + pl, cap - pl, " (%zu elements, want %zu)", b->u.array.len,
                     a->u.array.len);
            return 0;
        }
        for (size_t i = 0; i < a->u.array.len; i++) {
            int n = snprintf(path + pl, cap - pl, "[%zu]", i);
            size_t npl = pl + (n > 0 ? (size_t)n : 0);
            if (!dh_val_same(a->u.array.values[i], b->u.array.values[i], path,
                             npl < cap ? npl : cap - 1, cap))
                return 0;
        }
        return 1;
    }
    const char *x = YAJL_IS_STRING(a)   ? YAJL_GET_STRING(a)
                    : YAJL_IS_NUMBER(a) ? YAJL_GET_NUMBER(a)
                                        : "";
    const char *y = YAJL_IS_STRING(b)   ? YAJL_GET_STRING(b)
                    : YAJL_IS_NUMBER(b) ? YAJL_GET_NUMBER(b)
                                        : "";
    if (strcmp(x, y) != 0) {
        snprintf(path + pl, cap - pl, " (got %s, want %s)", y, x);
        return 0;
    }
    return 1;
}

/* Fails the test, naming the first differing path, unless got == want. */
static inline void dh_assert_json(const char *want, const char *got)
{
    char err[256], path[512] = "$";
    yajl_val a = yajl_tree_parse(want, err, sizeof err);
    if (!a)
        fail_msg("expected JSON does not parse: %s", err);
    yajl_val b = yajl_tree_parse(got, err, sizeof err);
    if (!b) {
        yajl_tree_free(a);
        fail_msg("output does not parse: %s\n%s", err, got);
    }
    int same = dh_val_same(a, b, path, 1, sizeof path);
    yajl_tree_free(a);
    yajl_tree_free(b);
    if (!same)
        fail_msg("JSON differs at %s", path);
}

#endif
