/* expvar selection: the glob matcher and its escapes, include/exclude
 * precedence, objects left empty, arrays as one field, max_fields and its
 * once-per-change report, and selections on the real sample captures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "decode_helpers.h"
#include "expvar_select.h"

/* pattern against a path given as NUL-separated segments in one string */
static int glob(const char *pattern, size_t n, ...)
{
    const char *segs[16];
    size_t lens[16];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        segs[i] = va_arg(ap, const char *);
        lens[i] = strlen(segs[i]);
    }
    va_end(ap);
    return expvar_glob_match(pattern, segs, lens, n);
}

enum { NONE = EXPVAR_GLOB_NONE, PREFIX = EXPVAR_GLOB_PREFIX, FULL = EXPVAR_GLOB_FULL };

static void glob_segments_and_stars(void **state)
{
    (void)state;
    assert_int_equal(glob("memstats.HeapAlloc", 2, "memstats", "HeapAlloc"), FULL);
    assert_int_equal(glob("memstats.HeapAlloc", 1, "memstats"), PREFIX);
    assert_int_equal(glob("memstats.HeapAlloc", 2, "memstats", "HeapSys"), NONE);
    assert_int_equal(glob("memstats.HeapAlloc", 3, "memstats", "HeapAlloc", "x"), NONE);
    assert_int_equal(glob("mem*.Heap*", 2, "memstats", "HeapIdle"), FULL);
    assert_int_equal(glob("*", 1, ""), FULL);
    assert_int_equal(glob("a*b*c", 1, "aXbYbZc"), FULL);
    assert_int_equal(glob("a*b*c", 1, "aXbYbZ"), NONE);
    /* `*` stays within one segment */
    assert_int_equal(glob("memstats*", 2, "memstats", "HeapAlloc"), NONE);
    assert_int_equal(glob("*", 2, "a", "b"), NONE);
}

static void glob_double_star_crosses_segments(void **state)
{
    (void)state;
    assert_int_equal(glob("**.HeapAlloc", 1, "HeapAlloc"), FULL);
    assert_int_equal(glob("**.HeapAlloc", 2, "memstats", "HeapAlloc"), FULL);
    assert_int_equal(glob("**.HeapAlloc", 4, "a", "b", "c", "HeapAlloc"), FULL);
    assert_int_equal(glob("**.HeapAlloc", 1, "a"), PREFIX);
    assert_int_equal(glob("a.**.z", 2, "a", "z"), FULL);
    assert_int_equal(glob("a.**.z", 4, "a", "b", "c", "z"), FULL);
    assert_int_equal(glob("a.**.z", 2, "a", "b"), PREFIX);
    assert_int_equal(glob("a.**.z", 1, "b"), NONE);
    assert_int_equal(glob("a.**", 1, "a"), FULL);
    assert_int_equal(glob("**", 3, "x", "y", "z"), FULL);
}

static void glob_escapes_address_dots_stars_and_slashes(void **state)
{
    (void)state;
    /* etcd publishes the key "raft.status": one segment */
    assert_int_equal(glob("raft\\.status", 1, "raft.status"), FULL);
    assert_int_equal(glob("raft\\.status", 2, "raft", "status"), NONE);
    assert_int_equal(glob("raft.status", 1, "raft.status"), NONE);
    assert_int_equal(glob("raft\\.*", 1, "raft.status"), FULL);
    /* gin's routes are keyed by path: `/` is ordinary */
    assert_int_equal(glob("routes./debug/vars", 2, "routes", "/debug/vars"), FULL);
    assert_int_equal(glob("routes./*", 2, "routes", "/ping"), FULL);
    assert_int_equal(glob("a\\*b", 1, "a*b"), FULL);
    assert_int_equal(glob("a\\*b", 1, "axb"), NONE);
    assert_int_equal(glob("a\\\\b", 1, "a\\b"), FULL);
    assert_int_equal(glob("\\*\\*", 1, "**"), FULL);
    assert_int_equal(glob("\\*\\*", 1, "x"), NONE);
    assert_int_equal(glob("运行*", 1, "运行时间"), FULL);
}

static void glob_rejects_bad_patterns(void **state)
{
    (void)state;
    assert_int_equal(glob("", 1, "a"), -1);
    assert_int_equal(glob("a..b", 1, "a"), -1);
    assert_int_equal(glob(".a", 1, "a"), -1);
    assert_int_equal(glob("a.", 1, "a"), -1);
    assert_int_equal(glob("a\\", 1, "a"), -1);

    char *bad[] = {"memstats.ok", "x..y"};
    expvar_select_conf c = {.include = bad, .n_include = 2};
    expvar_select *s = (expvar_select *)1;
    char err[256] = "";
    assert_int_equal(expvar_select_new(&c, &s, err, sizeof err), -1);
    assert_null(s);
    assert_string_equal(err, "expvar pattern 'x..y': empty path segment");
}

static void nothing_configured_is_no_selection(void **state)
{
    (void)state;
    expvar_select_conf c = {0};
    expvar_select *s = (expvar_select *)1;
    char err[64] = "";
    assert_int_equal(expvar_select_new(&c, &s, err, sizeof err), 0);
    assert_null(s);
}

/* ---- documents -------------------------------------------------------- */

typedef struct sel {
    char *inc[8], *exc[8];
    size_t ni, ne;
    int max, drop_memstats;
} sel;

static expvar_select *make(const sel *d)
{
    expvar_select_conf c = {d->inc, d->ni, d->exc, d->ne, d->max, d->drop_memstats};
    expvar_select *s = NULL;
    char err[256] = "";
    if (expvar_select_new(&c, &s, err, sizeof err) != 0 || !s)
        fail_msg("expvar_select_new: %s", err);
    return s;
}

/* json through s; the output exactly as written */
static char *run(expvar_select *s, const char *json)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    char msg[256] = "";
    if (expvar_select_write(s, json, strlen(json), g, msg, sizeof msg) != 0)
        fail_msg("expvar_select_write: %s", msg);
    dh_run r;
    dh_take(&r, g);
    return r.json;
}

static void expect(const sel *d, const char *json, const char *want)
{
    expvar_select *s = make(d);
    char *got = run(s, json);
    assert_string_equal(got, want);
    free(got);
    expvar_select_free(s);
}

#define DOC                                                                                        \
    "{\"cmdline\":\"./app -x\",\"memstats\":{\"HeapAlloc\":1,\"HeapSys\":2,\"PauseNs\":[3,4],"     \
    "\"BySize\":[{\"Size\":0}]},\"myapp\":{\"requests\":{\"ok\":5,\"err\":6},\"empty\":{}},"       \
    "\"raft.status\":{\"term\":7},\"routes\":{\"/ping\":8,\"/debug/vars\":9}}"

static void include_selects_paths_and_their_subtrees(void **state)
{
    (void)state;
    expect(&(sel){.inc = {"memstats.HeapAlloc"}, .ni = 1}, DOC, "{\"memstats\":{\"HeapAlloc\":1}}");
    expect(&(sel){.inc = {"myapp.requests"}, .ni = 1}, DOC,
           "{\"myapp\":{\"requests\":{\"ok\":5,\"err\":6}}}");
    expect(&(sel){.inc = {"myapp.requests.*"}, .ni = 1}, DOC,
           "{\"myapp\":{\"requests\":{\"ok\":5,\"err\":6}}}");
    expect(&(sel){.inc = {"**.err", "cmdline"}, .ni = 2}, DOC,
           "{\"cmdline\":\"./app -x\",\"myapp\":{\"requests\":{\"err\":6}}}");
    expect(&(sel){.inc = {"raft\\.status"}, .ni = 1}, DOC, "{\"raft.status\":{\"term\":7}}");
    expect(&(sel){.inc = {"routes./ping"}, .ni = 1}, DOC, "{\"routes\":{\"/ping\":8}}");
    expect(&(sel){.inc = {"nothing.here"}, .ni = 1}, DOC, "{}");
}

static void exclude_applies_after_include(void **state)
{
    (void)state;
    expect(&(sel){.inc = {"memstats"}, .ni = 1, .exc = {"memstats.PauseNs", "**.BySize"}, .ne = 2},
           DOC, "{\"memstats\":{\"HeapAlloc\":1,\"HeapSys\":2}}");
    /* the same path in both: exclude wins */
    expect(&(sel){.inc = {"cmdline", "routes"}, .ni = 2, .exc = {"routes"}, .ne = 1}, DOC,
           "{\"cmdline\":\"./app -x\"}");
    expect(&(sel){.exc = {"memstats", "myapp.*", "raft*", "routes./*"}, .ne = 4}, DOC,
           "{\"cmdline\":\"./app -x\"}");
}

static void objects_left_empty_disappear(void **state)
{
    (void)state;
    expect(&(sel){.exc = {"myapp.requests.*", "memstats", "routes", "raft\\.status.term"}, .ne = 4},
           DOC, "{\"cmdline\":\"./app -x\",\"myapp\":{\"empty\":{}}}");
    /* an object empty in the body stays only when selected itself */
    expect(&(sel){.inc = {"myapp.empty"}, .ni = 1}, DOC, "{\"myapp\":{\"empty\":{}}}");
    expect(&(sel){.inc = {"myapp.empty.x"}, .ni = 1}, DOC, "{}");
}

static void arrays_are_one_field(void **state)
{
    (void)state;
    expect(&(sel){.inc = {"memstats.BySize"}, .ni = 1}, DOC,
           "{\"memstats\":{\"BySize\":[{\"Size\":0}]}}");
    expect(&(sel){.inc = {"memstats.BySize.Size"}, .ni = 1}, DOC, "{}");
    expect(&(sel){.exc = {"**.Size"}, .ne = 1}, "{\"a\":[{\"Size\":1},[2,null]],\"b\":null}",
           "{\"a\":[{\"Size\":1},[2,null]],\"b\":null}");
}

static void drop_memstats_drops_only_memstats(void **state)
{
    (void)state;
    expect(&(sel){.drop_memstats = 1}, DOC,
           "{\"cmdline\":\"./app -x\",\"myapp\":{\"requests\":{\"ok\":5,\"err\":6},\"empty\":{}},"
           "\"raft.status\":{\"term\":7},\"routes\":{\"/ping\":8,\"/debug/vars\":9}}");
    expect(&(sel){.drop_memstats = 1}, "{\"x\":{\"memstats\":1}}", "{\"x\":{\"memstats\":1}}");
}

static void max_fields_keeps_the_first_in_document_order(void **state)
{
    (void)state;
    /* fields: cmdline, HeapAlloc, HeapSys, PauseNs, BySize, ok, err, term, /ping, /debug/vars */
    sel d = {.max = 3};
    expvar_select *s = make(&d);
    char *got = run(s, DOC);
    assert_string_equal(got,
                        "{\"cmdline\":\"./app -x\",\"memstats\":{\"HeapAlloc\":1,\"HeapSys\":2}}");
    free(got);
    assert_int_equal(expvar_select_fields(s), 10);
    assert_int_equal(expvar_select_kept(s), 3);
    expvar_select_free(s);

    /* counted after include/exclude; an empty object is not a field */
    expect(&(sel){.exc = {"memstats"}, .ne = 1, .max = 4}, DOC,
           "{\"cmdline\":\"./app -x\",\"myapp\":{\"requests\":{\"ok\":5,\"err\":6},"
           "\"empty\":{}},\"raft.status\":{\"term\":7}}");
    /* exactly at the cap: everything */
    expect(&(sel){.inc = {"routes"}, .ni = 1, .max = 2}, DOC,
           "{\"routes\":{\"/ping\":8,\"/debug/vars\":9}}");
}

static void max_fields_reports_once_per_change(void **state)
{
    (void)state;
    sel d = {.max = 2};
    expvar_select *s = make(&d);
    char msg[128] = "";
    const char *five = "{\"a\":1,\"b\":2,\"c\":{\"d\":3,\"e\":[4]}}";
    const char *six = "{\"a\":1,\"b\":2,\"c\":{\"d\":3,\"e\":[4],\"f\":true}}";
    const char *two = "{\"a\":1,\"b\":2}";
    struct {
        const char *doc;
        int report;
        const char *msg;
    } steps[] = {
        {five, 1, "expvar.max_fields: 4 fields, 2 kept"},
        {five, 0, NULL},
        {five, 0, NULL},
        {six, 1, "expvar.max_fields: 5 fields, 2 kept"},
        {six, 0, NULL},
        {two, 0, NULL}, /* under the cap again: re-armed */
        {six, 1, "expvar.max_fields: 5 fields, 2 kept"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        free(run(s, steps[i].doc));
        msg[0] = '\0';
        assert_int_equal(expvar_select_cap_message(s, msg, sizeof msg), steps[i].report);
        if (steps[i].msg)
            assert_string_equal(msg, steps[i].msg);
    }
    expvar_select_free(s);
}

/* ---- through the expvar decoder, on the real captures ------------------ */

static char *decode(const char *sample, expvar_select *s)
{
    size_t len;
    char *body = dh_read(sample, &len);
    decode_limits lim = {.max_depth = 64, .select = s};
    yajl_gen g = yajl_gen_alloc(NULL);
    dh_run r = {.msg = ""};
    r.rc = metricset_expvar_emit(g, body, len, &lim, r.msg, sizeof r.msg);
    if (r.rc != 0)
        fail_msg("%s: %s", sample, r.msg);
    dh_take(&r, g);
    free(body);
    return r.json;
}

static const char *const SAMPLES[] = {"expvartarget.json", "ginexpvar.json", "etcd.json",
                                      "expvartarget-t2.json"};

/* A selection that drops nothing writes the document byte for byte. */
static void selecting_everything_is_byte_identical(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SAMPLES / sizeof SAMPLES[0]; i++) {
        expvar_select *s = make(&(sel){.exc = {"no.such.field"}, .ne = 1, .max = 100000});
        char *plain = decode(SAMPLES[i], NULL), *picked = decode(SAMPLES[i], s);
        assert_string_equal(picked, plain);
        free(plain);
        free(picked);
        expvar_select_free(s);
    }
}

static void drop_memstats_on_the_samples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SAMPLES / sizeof SAMPLES[0]; i++) {
        expvar_select *s = make(&(sel){.drop_memstats = 1});
        char *plain = decode(SAMPLES[i], NULL), *picked = decode(SAMPLES[i], s);
        char err[128];
        yajl_val want = yajl_tree_parse(plain, err, sizeof err);
        yajl_val got = yajl_tree_parse(picked, err, sizeof err);
        assert_non_null(want);
        assert_non_null(got);
        const char *mem[] = {"memstats", NULL};
        assert_non_null(yajl_tree_get(want, mem, yajl_t_object));
        assert_null(yajl_tree_get(got, mem, yajl_t_any));
        assert_int_equal(got->u.object.len, want->u.object.len - 1);
        for (size_t k = 0; k < got->u.object.len; k++) {
            const char *key[] = {got->u.object.keys[k], NULL};
            char path[256] = "$";
            assert_true(dh_val_same(yajl_tree_get(want, key, yajl_t_any), got->u.object.values[k],
                                    path, 1, sizeof path));
        }
        yajl_tree_free(want);
        yajl_tree_free(got);
        free(plain);
        free(picked);
        expvar_select_free(s);
    }
}

static void etcd_key_with_a_dot_and_gin_routes(void **state)
{
    (void)state;
    expvar_select *s = make(&(sel){.inc = {"raft\\.status", "file_descriptor_limit"}, .ni = 2});
    char *got = decode("etcd.json", s);
    char err[128];
    yajl_val v = yajl_tree_parse(got, err, sizeof err);
    assert_non_null(v);
    assert_int_equal(v->u.object.len, 2);
    assert_string_equal(v->u.object.keys[0], "file_descriptor_limit");
    assert_string_equal(v->u.object.keys[1], "raft.status");
    yajl_tree_free(v);
    free(got);
    expvar_select_free(s);

    s = make(&(sel){.inc = {"routes./debug/vars"}, .ni = 1});
    got = decode("ginexpvar.json", s);
    v = yajl_tree_parse(got, err, sizeof err);
    const char *p[] = {"routes", "/debug/vars", NULL};
    assert_non_null(yajl_tree_get(v, p, yajl_t_any));
    const char *r[] = {"routes", NULL};
    assert_int_equal(yajl_tree_get(v, r, yajl_t_object)->u.object.len, 1);
    assert_int_equal(v->u.object.len, 1);
    yajl_tree_free(v);
    free(got);
    expvar_select_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glob_segments_and_stars),
        cmocka_unit_test(glob_double_star_crosses_segments),
        cmocka_unit_test(glob_escapes_address_dots_stars_and_slashes),
        cmocka_unit_test(glob_rejects_bad_patterns),
        cmocka_unit_test(nothing_configured_is_no_selection),
        cmocka_unit_test(include_selects_paths_and_their_subtrees),
        cmocka_unit_test(exclude_applies_after_include),
        cmocka_unit_test(objects_left_empty_disappear),
        cmocka_unit_test(arrays_are_one_field),
        cmocka_unit_test(drop_memstats_drops_only_memstats),
        cmocka_unit_test(max_fields_keeps_the_first_in_document_order),
        cmocka_unit_test(max_fields_reports_once_per_change),
        cmocka_unit_test(selecting_everything_is_byte_identical),
        cmocka_unit_test(drop_memstats_on_the_samples),
        cmocka_unit_test(etcd_key_with_a_dot_and_gin_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
