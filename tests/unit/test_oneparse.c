/* One parse for both metricsets (metricset.h): the expvar decoder feeding
 * the heap decoder as it goes must give exactly the documents, error texts
 * and GC window state of the two separate parses, on every JSON file in
 * tests/data, on the golden inputs and on bodies mutated where the heap
 * decoder is strict (memstats types, ranges, nulls, key spelling, cmdline);
 * and the capture must be refused (two parses) whenever it is not clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_gen.h>

#include "buf.h"
#include "expvar_select.h"
#include "metricset.h"

/* Both documents of one body, as the daemon writes them. */
typedef struct both {
    int rc_expvar, rc_heap;
    char msg_expvar[512], msg_heap[512];
    buf expvar, heap;
    int captured; /* one pass: the capture was ready for the heap document */
} both;

static void take(yajl_gen g, buf *out)
{
    const unsigned char *p;
    size_t n = 0;
    buf_init(out, 0);
    if (yajl_gen_get_buf(g, &p, &n) == yajl_gen_status_ok && n)
        assert_int_equal(buf_append(out, p, n), BUF_OK);
}

/* cap NULL: two passes (today's path for split fetches); else one pass. */
static both run(const char *body, size_t len, heap_window *w, const decode_limits *lim,
                heap_capture *cap)
{
    both b = {.captured = 0};
    yajl_gen g = yajl_gen_alloc(NULL);
    assert_non_null(g);
    b.rc_expvar = cap ? metricset_expvar_emit_capture(g, body, len, lim, cap, b.msg_expvar,
                                                      sizeof b.msg_expvar)
                      : metricset_expvar_emit(g, body, len, lim, b.msg_expvar, sizeof b.msg_expvar);
    if (b.rc_expvar == METRICSET_REPEATED_KEYS) {
        yajl_gen_reset(g, NULL);
        yajl_gen_clear(g);
        b.rc_expvar =
            metricset_expvar_emit_dedup(g, body, len, lim, b.msg_expvar, sizeof b.msg_expvar);
    }
    take(g, &b.expvar);
    yajl_gen_free(g);
    g = yajl_gen_alloc(NULL);
    assert_non_null(g);
    b.captured = heap_capture_ready(cap);
    b.rc_heap =
        cap ? metricset_heap_emit_captured(g, cap, body, len, w, lim, b.msg_heap, sizeof b.msg_heap)
            : metricset_heap_emit(g, body, len, w, lim, b.msg_heap, sizeof b.msg_heap);
    assert_false(heap_capture_ready(cap)); /* used up by the document */
    take(g, &b.heap);
    yajl_gen_free(g);
    return b;
}

static void both_free(both *b)
{
    buf_free(&b->expvar);
    buf_free(&b->heap);
}

static void same_buf(const buf *a, const buf *b, const char *what, const char *name)
{
    if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0))
        fail_msg("%s: %s document differs between one and two passes:\n%.*s\n%.*s", name, what,
                 (int)a->len, a->data ? a->data : "", (int)b->len, b->data ? b->data : "");
}

static heap_capture *shared_cap; /* reused like a scrape lease's */

/* Two scrapes of body1 then body2 (GC window carried over), one pass vs two;
 * returns how many heap documents came from the capture. */
static int compare(const char *name, const char *body1, size_t len1, const char *body2, size_t len2,
                   const decode_limits *lim)
{
    heap_window w1 = {.now_ns = 1000000000}, w2 = w1;
    int captured = 0;
    const char *bodies[2] = {body1, body2};
    size_t lens[2] = {len1, len2};
    for (int i = 0; i < 2 && bodies[i]; i++) {
        w1.now_ns = w2.now_ns = (i + 1) * 1000000000LL;
        both two = run(bodies[i], lens[i], &w1, lim, NULL);
        both one = run(bodies[i], lens[i], &w2, lim, shared_cap);
        if (two.rc_expvar != one.rc_expvar || two.rc_heap != one.rc_heap)
            fail_msg("%s: rc expvar %d/%d heap %d/%d", name, two.rc_expvar, one.rc_expvar,
                     two.rc_heap, one.rc_heap);
        if (two.rc_expvar)
            assert_string_equal(two.msg_expvar, one.msg_expvar);
        else
            same_buf(&two.expvar, &one.expvar, "expvar", name);
        if (two.rc_heap)
            assert_string_equal(two.msg_heap, one.msg_heap);
        else
            same_buf(&two.heap, &one.heap, "heap", name);
        if (memcmp(&w1, &w2, sizeof w1) != 0)
            fail_msg("%s: GC window state differs", name);
        captured += one.captured;
        both_free(&two);
        both_free(&one);
    }
    return captured;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    buf b;
    buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), BUF_OK);
    fclose(f);
    return buf_detach(&b, len);
}

static const char *data_dir(void)
{
    const char *d = getenv("EXPVARBEAT_TEST_DATA");
    return d ? d : "tests/data";
}

static char *read_rel(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir(), rel);
    return slurp(path, len);
}

/* Limits the daemon can run with: Metricbeat's, heap extras, a selection,
 * a shallow depth limit. */
enum { L_PLAIN, L_EXTRAS, L_SELECT, L_SHALLOW, L_N };

static decode_limits limits(int which, expvar_select *sel)
{
    static const double pct[] = {50, 99, 99.9};
    decode_limits l = {.max_depth = 64};
    if (which == L_EXTRAS)
        l.heap = heap_extras_conf_make(1, pct, 3, 1);
    if (which == L_SELECT)
        l.select = sel;
    if (which == L_SHALLOW)
        l.max_depth = 3;
    return l;
}

static expvar_select *make_select(void)
{
    char *exclude[] = {"memstats.BySize", "cmdline"};
    expvar_select_conf c = {.exclude = exclude, .n_exclude = 2, .max_fields = 50};
    expvar_select *s = NULL;
    char err[256];
    assert_int_equal(expvar_select_new(&c, &s, err, sizeof err), 0);
    assert_non_null(s);
    return s;
}

static int compare_all_limits(const char *name, const char *b1, size_t l1, const char *b2,
                              size_t l2)
{
    expvar_select *sel = make_select();
    int captured = 0;
    for (int i = 0; i < L_N; i++) {
        decode_limits l = limits(i, sel);
        captured += compare(name, b1, l1, b2, l2, &l);
    }
    expvar_select_free(sel);
    return captured;
}

static void walk(const char *dir, int *files, int *captured)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        char path[2048];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0)
            continue;
        size_t n = strlen(de->d_name);
        if (S_ISDIR(st.st_mode)) {
            walk(path, files, captured);
        } else if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) {
            size_t len;
            char *body = slurp(path, &len);
            *captured += compare_all_limits(path, body, len, NULL, 0);
            (*files)++;
            free(body);
        }
    }
    closedir(d);
}

static void every_json_file_in_test_data(void **state)
{
    (void)state;
    int files = 0, captured = 0;
    walk(data_dir(), &files, &captured);
    assert_true(files >= 20);
    assert_true(captured >= 5 * 3); /* the captures of real Go programs took the one pass */
}

/* The scrape pairs of the golden conformance, window carried over. */
static void captures_then_second_scrapes(void **state)
{
    (void)state;
    const char *names[] = {"expvartarget", "ginexpvar", "etcd"};
    for (size_t i = 0; i < 3; i++) {
        char r1[128], r2[128];
        size_t l1, l2;
        snprintf(r1, sizeof r1, "%s.json", names[i]);
        snprintf(r2, sizeof r2, "%s-t2.json", names[i]);
        char *b1 = read_rel(r1, &l1), *b2 = read_rel(r2, &l2);
        assert_int_equal(compare_all_limits(r1, b1, l1, b2, l2), 2 * 3);
        /* a restart (second body first) and the same body twice */
        compare_all_limits(r2, b2, l2, b1, l1);
        compare_all_limits(r1, b1, l1, b1, l1);
        free(b1);
        free(b2);
    }
}

/* body with the value after the first `"key":` replaced by repl. */
static char *replace_value(const char *body, const char *key, const char *repl, size_t *out_len)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(body, pat);
    if (!at)
        return NULL;
    const char *v = at + strlen(pat);
    while (*v == ' ')
        v++;
    const char *end = v;
    int depth = 0, in_str = 0;
    for (; *end; end++) { /* the end of one JSON value */
        if (in_str) {
            if (*end == '\\')
                end++;
            else if (*end == '"')
                in_str = 0;
            continue;
        }
        if (*end == '"')
            in_str = 1;
        else if (*end == '[' || *end == '{')
            depth++;
        else if (*end == ']' || *end == '}') {
            if (depth-- == 0)
                break;
            if (depth == 0) {
                end++;
                break;
            }
        } else if (*end == ',' && depth == 0)
            break;
    }
    buf b;
    buf_init(&b, 0);
    buf_append(&b, body, (size_t)(v - body));
    buf_append_str(&b, repl);
    buf_append_str(&b, end);
    return buf_detach(&b, out_len);
}

typedef struct mutation {
    const char *key, *value;
    int captured; /* the one pass may serve it: 1 yes, 0 must fall back */
} mutation;

static const mutation mutations[] = {
    {"HeapAlloc", "\"12\"", 0},
    {"HeapAlloc", "null", 1}, /* Go leaves the field alone: a clean decode */
    {"HeapAlloc", "true", 0},
    {"HeapAlloc", "[1]", 0},
    {"HeapAlloc", "{}", 0},
    {"HeapAlloc", "-1", 0},
    {"HeapAlloc", "1.5", 0},
    {"HeapAlloc", "18446744073709551615", 1},
    {"HeapAlloc", "18446744073709551616", 0},
    {"HeapAlloc", "1e400", 0},
    {"NumGC", "4294967295", 1},
    {"NumGC", "4294967296", 0},
    {"GCCPUFraction", "1e-300", 1},
    {"GCCPUFraction", "1e999", 0},
    {"GCCPUFraction", "\"x\"", 0},
    {"EnableGC", "1", 0},
    {"EnableGC", "null", 1},
    {"PauseNs", "[1,2,3]", 1},
    {"PauseNs", "[1,\"2\"]", 0},
    {"PauseNs", "[[1]]", 0},
    {"PauseNs", "null", 1},
    {"PauseNs", "{}", 0},
    {"BySize", "[{\"Size\":-1}]", 0},
    {"BySize", "[]", 1},
    {"memstats", "null", 1},
    {"memstats", "[]", 0},
    {"memstats", "{\"TotalAlloc\":5,\"totalalloc\":7}", 1}, /* Go: the last wins */
    {"memstats", "{\"NumGC\":3,\"PauseNs\":[5,6,7],\"Unknown\":[{\"x\":\"y\"}]}", 1},
    {"cmdline", "[\"a\",1]", 0},
    {"cmdline", "[\"a\",null,\"b\"]", 0},
    {"cmdline", "null", 1},
    {"cmdline", "\"not an array\"", 0},
    {"cmdline", "[[\"nested\"]]", 0},
};

static void mutated_bodies(void **state)
{
    (void)state;
    const char *names[] = {"expvartarget.json", "ginexpvar.json", "etcd.json"};
    for (size_t f = 0; f < 3; f++) {
        size_t len;
        char *body = read_rel(names[f], &len);
        for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
            const mutation *m = &mutations[i];
            size_t mlen;
            char *mut = replace_value(body, m->key, m->value, &mlen);
            assert_non_null(mut);
            char name[256];
            snprintf(name, sizeof name, "%s with %s=%s", names[f], m->key, m->value);
            decode_limits l = {.max_depth = 64};
            int captured = compare(name, mut, mlen, body, len, &l);
            /* first scrape per the table; the clean second scrape always */
            if (captured != m->captured + 1)
                fail_msg("%s: %d of 2 heap documents from the capture", name, captured);
            compare_all_limits(name, mut, mlen, NULL, 0);
            free(mut);
        }
        free(body);
    }
}

/* Whole-body shapes: each decoded by both paths alike. */
static void odd_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int captured;
    } cases[] = {
        {"{}", 1},
        {"{\"memstats\":{}}", 1},
        {"{\"MemStats\":{\"NumGC\":2}}", 1},
        {"{\"MEMSTATS\":{\"NumGC\":2},\"memstats\":{\"NumGC\":3}}", 1},
        {"{\"memstats\":{\"NumGC\":2},\"memstats\":{\"NumGC\":3}}", 0}, /* repeated: dedup */
        {"{\"a\":null,\"b\":[null,1e5,-0.0,1E+2]}", 1},
        {"null", 0},
        {"[]", 0},
        {"{\"memstats\":{\"NumGC\":1}", 0},
        {"{\"memstats\":{\"NumGC\":1}} x", 0},
        {"{\"x\":\"\\ud800\"}", 1},
        {"{\"x\":\"\xff\"}", 1},
        {"{\"a\":[[[[[[1]]]]]]}", 0}, /* deeper than the limit */
        {"{\"memstats\":{\"NumGC\":\"1\"},\"cmdline\":[1]}", 0},
        {"{\"cmdline\":[\"x\"],\"Cmdline\":[\"y\",\"z\"]}", 1},
        {"\f{}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        decode_limits l = {.max_depth = 5};
        const char *b = cases[i].body;
        int captured = compare(b, b, strlen(b), NULL, 0, &l);
        if (captured != cases[i].captured)
            fail_msg("%s: captured %d, want %d", b, captured, cases[i].captured);
        compare_all_limits(b, b, strlen(b), NULL, 0);
    }
}

/* A capture is only ever used for the body it was made from. */
static void capture_is_cleared_and_single_use(void **state)
{
    (void)state;
    heap_capture *c = heap_capture_new();
    assert_non_null(c);
    const char *a = "{\"memstats\":{\"NumGC\":1,\"PauseNs\":[7]}}";
    decode_limits l = {.max_depth = 64};
    char msg[256];
    yajl_gen g = yajl_gen_alloc(NULL);
    assert_int_equal(metricset_expvar_emit_capture(g, a, strlen(a), &l, c, msg, sizeof msg), 0);
    assert_true(heap_capture_ready(c));
    heap_capture_clear(c);
    assert_false(heap_capture_ready(c));
    heap_capture_clear(NULL);
    assert_false(heap_capture_ready(NULL));
    yajl_gen_free(g);
    heap_capture_free(c);
    heap_capture_free(NULL);
}

static int setup(void **state)
{
    (void)state;
    shared_cap = heap_capture_new();
    return shared_cap ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    heap_capture_free(shared_cap);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_json_file_in_test_data),
        cmocka_unit_test(captures_then_second_scrapes),
        cmocka_unit_test(mutated_bodies),
        cmocka_unit_test(odd_bodies),
        cmocka_unit_test(capture_is_cleared_and_single_use),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
