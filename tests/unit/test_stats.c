/* Tests for stats: the three renderers give valid JSON with the expected keys
 * and counter values (expvar's and libbeat's shapes), and the endpoint on an
 * ephemeral port answers real HTTP requests.  The server has no thread: one
 * loop drives libcurl's multi interface and stats_server_run() together,
 * waiting on both sets of descriptors with a deadline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include "stats.h"

/* ---- helpers --------------------------------------------------------------------- */

static char *argv_fixture[] = {"./expvarbeat", "-e", "-c", "x y.yml"};

static void fill_stats(stats *st)
{
    memset(st, 0, sizeof *st);
    st->ms[STATS_MS_EXPVAR] = (ms_stats){.success = 10, .failures = 2, .skipped = 1, .events = 12};
    st->ms[STATS_MS_HEAP] = (ms_stats){.success = 7, .failures = 0, .skipped = 3, .events = 7};
    st->published = 19;
    st->acked = 15;
    st->dropped = 1;
    st->retried = 4;
    st->batches = 6;
    st->write_bytes = 12345;
    st->write_errors = 2;
    st->queue_active = 3;
    st->targets = 5;
    st->start_ms = 1700000000000;
    st->output_name = "console";
    st->name = "beat-name";
    st->hostname = "host-a";
    st->version = "0.1.0";
    st->ephemeral_id = "8b4e0a43-e7b4-4b2c-9d35-0d5d3c1bb2c1";
    st->uuid = "0f9f6b3b-9b3c-4d5e-8f43-8a1b5c7d9e10";
    st->argc = 4;
    st->argv = argv_fixture;
}

static yajl_val parse(const buf *b)
{
    char err[256];
    assert_non_null(b->data);
    yajl_val v = yajl_tree_parse(b->data, err, sizeof err);
    if (!v)
        fail_msg("invalid JSON (%s): %s", err, b->data);
    return v;
}

/* Member at a path like "libbeat/output/events/acked". */
static yajl_val at(yajl_val root, const char *path)
{
    char copy[256];
    const char *parts[16];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", path);
    for (char *save, *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save))
        parts[n++] = p;
    parts[n] = NULL;
    yajl_val v = yajl_tree_get(root, parts, yajl_t_any);
    if (!v)
        fail_msg("missing %s", path);
    return v;
}

static long long int_at(yajl_val root, const char *path)
{
    yajl_val v = at(root, path);
    if (!YAJL_IS_INTEGER(v))
        fail_msg("%s is not an integer", path);
    return YAJL_GET_INTEGER(v);
}

static const char *str_at(yajl_val root, const char *path)
{
    yajl_val v = at(root, path);
    if (!YAJL_IS_STRING(v))
        fail_msg("%s is not a string", path);
    return YAJL_GET_STRING(v);
}

static void expect_keys(yajl_val obj, const char *const *keys, size_t n)
{
    assert_true(YAJL_IS_OBJECT(obj));
    assert_int_equal(obj->u.object.len, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(obj->u.object.keys[i], keys[i]);
}

/* ---- renderers ------------------------------------------------------------------- */

static void check_memstats(yajl_val v)
{
    /* Every runtime.MemStats field the heap metricset reads, as an unsigned
     * integer (encoding/json rejects 1e+06 or 1.0 for a uint64 field). */
    yajl_val ms = at(v, "memstats");
    for (size_t i = 0; i < ms->u.object.len; i++) {
        const char *k = ms->u.object.keys[i];
        yajl_val f = ms->u.object.values[i];
        if (!strcmp(k, "EnableGC") || !strcmp(k, "DebugGC")) {
            assert_true(YAJL_IS_FALSE(f));
        } else if (!strcmp(k, "PauseNs") || !strcmp(k, "PauseEnd")) {
            assert_true(YAJL_IS_ARRAY(f));
            assert_int_equal(f->u.array.len, 256);
            for (size_t j = 0; j < 256; j++)
                assert_int_equal(YAJL_GET_INTEGER(f->u.array.values[j]), 0);
        } else {
            if (!YAJL_IS_INTEGER(f) || YAJL_GET_INTEGER(f) < 0)
                fail_msg("memstats.%s is not an unsigned integer", k);
        }
    }
    static const char *const heap_fields[] = {
        "Alloc",   "TotalAlloc",   "Sys",       "Mallocs",      "Frees",       "HeapAlloc",
        "HeapSys", "HeapIdle",     "HeapInuse", "HeapReleased", "HeapObjects", "StackSys",
        "NextGC",  "PauseTotalNs", "NumGC",     "GCCPUFraction"};
    for (size_t i = 0; i < sizeof heap_fields / sizeof heap_fields[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "memstats/%s", heap_fields[i]);
        at(v, path);
    }
    assert_int_equal(int_at(v, "memstats/NumGC"), 0);
    /* Sys is VmRSS: a running process has some. */
    assert_true(int_at(v, "memstats/Sys") > 0);
}

static void test_render_vars(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    buf b;
    buf_init(&b, 0);
    stats_render_vars(&st, st.start_ms + 4321, &b);
    yajl_val v = parse(&b);

    static const char *const top[] = {"cmdline", "expvarbeat", "memstats"};
    expect_keys(v, top, 3);
    yajl_val cmd = at(v, "cmdline");
    assert_true(YAJL_IS_ARRAY(cmd));
    assert_int_equal(cmd->u.array.len, 4);
    assert_string_equal(YAJL_GET_STRING(cmd->u.array.values[3]), "x y.yml");

    assert_int_equal(int_at(v, "expvarbeat/scrapes/expvar/ok"), 10);
    assert_int_equal(int_at(v, "expvarbeat/scrapes/expvar/failed"), 2);
    assert_int_equal(int_at(v, "expvarbeat/scrapes/expvar/skipped"), 1);
    assert_int_equal(int_at(v, "expvarbeat/scrapes/heap/skipped"), 3);
    assert_int_equal(int_at(v, "expvarbeat/events/published"), 19);
    assert_int_equal(int_at(v, "expvarbeat/events/acked"), 15);
    assert_int_equal(int_at(v, "expvarbeat/events/dropped"), 1);
    assert_int_equal(int_at(v, "expvarbeat/events/retried"), 4);
    assert_int_equal(int_at(v, "expvarbeat/queue/active"), 3);
    assert_int_equal(int_at(v, "expvarbeat/targets"), 5);
    assert_int_equal(int_at(v, "expvarbeat/uptime_ms"), 4321);
    assert_string_equal(str_at(v, "expvarbeat/output/type"), "console");

    check_memstats(v);
    yajl_tree_free(v);
    buf_free(&b);
}

static void test_render_stats(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    buf b;
    buf_init(&b, 0);
    stats_render_stats(&st, st.start_ms + 60000, &b);
    yajl_val v = parse(&b);

    static const char *const top[] = {"beat", "libbeat", "metricbeat", "system"};
    expect_keys(v, top, 4);
    assert_int_equal(int_at(v, "libbeat/output/events/acked"), 15);
    assert_int_equal(int_at(v, "libbeat/output/events/dropped"), 1);
    assert_int_equal(int_at(v, "libbeat/output/events/failed"), 4);
    assert_int_equal(int_at(v, "libbeat/output/events/batches"), 6);
    assert_int_equal(int_at(v, "libbeat/output/events/total"), 15 + 1 + 4);
    assert_int_equal(int_at(v, "libbeat/output/events/active"), 0);
    assert_string_equal(str_at(v, "libbeat/output/type"), "console");
    assert_int_equal(int_at(v, "libbeat/output/write/bytes"), 12345);
    assert_int_equal(int_at(v, "libbeat/output/write/errors"), 2);
    assert_int_equal(int_at(v, "libbeat/pipeline/events/published"), 19);
    assert_int_equal(int_at(v, "libbeat/pipeline/events/dropped"), 1);
    assert_int_equal(int_at(v, "libbeat/pipeline/events/retry"), 4);
    assert_int_equal(int_at(v, "libbeat/pipeline/events/active"), 3);
    assert_int_equal(int_at(v, "libbeat/pipeline/events/total"), 19);
    assert_int_equal(int_at(v, "libbeat/pipeline/queue/acked"), 15);

    assert_int_equal(int_at(v, "metricbeat/golang/expvar/events"), 12);
    assert_int_equal(int_at(v, "metricbeat/golang/expvar/success"), 10);
    assert_int_equal(int_at(v, "metricbeat/golang/expvar/failures"), 2);
    assert_int_equal(int_at(v, "metricbeat/golang/expvar/skipped"), 1);
    assert_int_equal(int_at(v, "metricbeat/golang/heap/events"), 7);
    assert_int_equal(int_at(v, "metricbeat/golang/heap/skipped"), 3);

    assert_string_equal(str_at(v, "beat/info/name"), "beat-name");
    assert_string_equal(str_at(v, "beat/info/version"), "0.1.0");
    assert_string_equal(str_at(v, "beat/info/ephemeral_id"), st.ephemeral_id);
    assert_int_equal(int_at(v, "beat/info/uptime/ms"), 60000);
    long long user = int_at(v, "beat/cpu/user/ticks"), sys = int_at(v, "beat/cpu/system/ticks");
    assert_int_equal(int_at(v, "beat/cpu/user/time/ms"), user);
    assert_int_equal(int_at(v, "beat/cpu/system/time/ms"), sys);
    assert_int_equal(int_at(v, "beat/cpu/total/ticks"), user + sys);
    assert_int_equal(int_at(v, "beat/cpu/total/time/ms"), user + sys);
    /* stdin, stdout, stderr at least. */
    assert_true(int_at(v, "beat/handles/open") >= 3);
    assert_true(int_at(v, "beat/handles/limit/soft") > 0);
    assert_true(int_at(v, "beat/memstats/rss") > 0);
    int_at(v, "beat/memstats/memory_alloc");
    assert_true(int_at(v, "system/cpu/cores") >= 1);
    yajl_tree_free(v);
    buf_free(&b);
}

static void test_render_info(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    st.uuid = NULL; /* unknown identity fields render as "" */
    buf b;
    buf_init(&b, 0);
    stats_render_info(&st, &b);
    yajl_val v = parse(&b);
    static const char *const keys[] = {"beat", "ephemeral_id", "hostname",
                                       "name", "uuid",         "version"};
    expect_keys(v, keys, 6);
    assert_string_equal(str_at(v, "beat"), "expvarbeat");
    assert_string_equal(str_at(v, "hostname"), "host-a");
    assert_string_equal(str_at(v, "name"), "beat-name");
    assert_string_equal(str_at(v, "uuid"), "");
    yajl_tree_free(v);
    buf_free(&b);
}

static void test_uptime_never_negative(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    buf b;
    buf_init(&b, 0);
    stats_render_vars(&st, st.start_ms - 5000, &b); /* clock stepped back */
    yajl_val v = parse(&b);
    assert_int_equal(int_at(v, "expvarbeat/uptime_ms"), 0);
    yajl_tree_free(v);
    buf_free(&b);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

typedef struct response {
    long code;
    buf body;
    char content_type[128];
    char allow[64];
} response;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(&((response *)ctx)->body, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    response *r = ctx;
    size_t len = size * n;
    if (len > 7 && strncasecmp(p, "Allow: ", 7) == 0)
        snprintf(r->allow, sizeof r->allow, "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
    return len;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One request, driven to completion in this thread together with the server.
 * Fails the test if it has not finished within the deadline. */
static void request(stats_server *s, const char *method, const char *path, response *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", stats_server_port(s), path);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    CURLM *m = curl_multi_init();
    curl_multi_add_handle(m, e);
    int running = 1;
    int64_t deadline = mono_ms() + 10000;
    while (running && mono_ms() < deadline) {
        curl_multi_perform(m, &running);
        if (!running)
            break;
        struct curl_waitfd srv = {.fd = stats_server_fd(s), .events = CURL_WAIT_POLLIN};
        curl_multi_poll(m, &srv, 1, 100, NULL);
        stats_server_run(s);
    }
    assert_int_equal(running, 0);
    int left;
    CURLMsg *msg = curl_multi_info_read(m, &left);
    assert_non_null(msg);
    assert_int_equal(msg->data.result, CURLE_OK);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->code);
    char *ct = NULL;
    curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->content_type, sizeof r->content_type, "%s", ct ? ct : "");
    curl_multi_remove_handle(m, e);
    curl_easy_cleanup(e);
    curl_multi_cleanup(m);
}

static void test_server_routes(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    char err[256] = "";
    stats_server *s = stats_server_new("localhost", 0, &st, err, sizeof err);
    if (!s)
        fail_msg("stats_server_new: %s", err);
    assert_true(stats_server_port(s) > 0);
    assert_true(stats_server_fd(s) >= 0);

    response r;
    request(s, "GET", "/debug/vars", &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    yajl_val v = parse(&r.body);
    assert_int_equal(int_at(v, "expvarbeat/events/published"), 19);
    at(v, "memstats/HeapAlloc");
    assert_null(strchr(r.body.data, '\n'));
    yajl_tree_free(v);
    buf_free(&r.body);

    /* The counters are read at request time, not copied at start. */
    st.acked = 16;
    request(s, "GET", "/stats", &r);
    assert_int_equal(r.code, 200);
    v = parse(&r.body);
    assert_int_equal(int_at(v, "libbeat/output/events/acked"), 16);
    yajl_tree_free(v);
    buf_free(&r.body);

    request(s, "GET", "/stats?pretty", &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "{\n  \"beat\": {\n    \"cpu\": {"));
    v = parse(&r.body);
    yajl_tree_free(v);
    buf_free(&r.body);

    request(s, "GET", "/", &r);
    assert_int_equal(r.code, 200);
    v = parse(&r.body);
    assert_string_equal(str_at(v, "beat"), "expvarbeat");
    assert_string_equal(str_at(v, "uuid"), st.uuid);
    yajl_tree_free(v);
    buf_free(&r.body);

    request(s, "GET", "/state", &r);
    assert_int_equal(r.code, 200);
    v = parse(&r.body);
    assert_string_equal(str_at(v, "output/name"), "console");
    yajl_tree_free(v);
    buf_free(&r.body);

    stats_server_free(s);
}

static void test_server_errors(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    char err[256] = "";
    stats_server *s = stats_server_new("127.0.0.1", 0, &st, err, sizeof err);
    if (!s)
        fail_msg("stats_server_new: %s", err);

    response r;
    request(s, "GET", "/nope", &r);
    assert_int_equal(r.code, 404);
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    yajl_val v = parse(&r.body);
    assert_string_equal(str_at(v, "error"), "not found");
    assert_string_equal(str_at(v, "path"), "/nope");
    yajl_tree_free(v);
    buf_free(&r.body);

    request(s, "GET", "/stats/", &r);
    assert_int_equal(r.code, 404);
    buf_free(&r.body);

    request(s, "POST", "/stats", &r);
    assert_int_equal(r.code, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    v = parse(&r.body);
    assert_string_equal(str_at(v, "method"), "POST");
    yajl_tree_free(v);
    buf_free(&r.body);

    /* A second server cannot have the same port; the message says why. */
    stats_server *second =
        stats_server_new("127.0.0.1", stats_server_port(s), &st, err, sizeof err);
    assert_null(second);
    char port[16];
    snprintf(port, sizeof port, ":%d", stats_server_port(s));
    assert_non_null(strstr(err, port));
    stats_server_free(s);
}

static void test_server_bad_address(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    char err[256];
    assert_null(stats_server_new("localhost", 70000, &st, err, sizeof err));
    assert_non_null(strstr(err, "70000"));
    assert_null(stats_server_new("unix:///run/x.sock", 0, &st, err, sizeof err));
    assert_non_null(strstr(err, "unix:///run/x.sock"));
    stats_server_free(NULL);
}

static int global_setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int global_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_vars),        cmocka_unit_test(test_render_stats),
        cmocka_unit_test(test_render_info),        cmocka_unit_test(test_uptime_never_negative),
        cmocka_unit_test(test_server_routes),      cmocka_unit_test(test_server_errors),
        cmocka_unit_test(test_server_bad_address),
    };
    return cmocka_run_group_tests(tests, global_setup, global_teardown);
}
