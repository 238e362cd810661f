/* Tests for stats: the three renderers give valid JSON with the expected keys
 * and counter values (expvar's and libbeat's shapes), per-target health in
 * /stats, the HTML status page (states, order, escaping of hostile text,
 * sparklines, 10,000 targets), and the endpoint on an ephemeral port answers
 * real HTTP requests, choosing HTML or JSON for / by the Accept header.  The server has no thread:
 * one loop drives libcurl's multi interface and stats_server_run() together, waiting on both sets
 * of descriptors with a deadline. */
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
#include "status_page.h"

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

/* A fleet of targets for the renderers, walked like the poller walks its own. */
typedef struct fleet {
    tstatus *t;
    size_t n;
} fleet;

static void each_in_fleet(void *owner, tstatus_visit_fn fn, void *arg)
{
    const fleet *f = owner;
    for (size_t i = 0; i < f->n; i++)
        fn(&f->t[i], arg);
}

static void attach(stats *st, fleet *f)
{
    st->each_target = each_in_fleet;
    st->each_target_owner = f;
}

/* Three targets in configuration order: ok, failing with a hostile error
 * text, and never scraped. */
static void three_targets(tstatus t[3], int64_t now_ms)
{
    tstatus_init(&t[0], "http://127.0.0.1:6060/debug/vars", "expvar", "app", 10000, 10000);
    for (int i = 0; i < 5; i++)
        tstatus_record(&t[0], now_ms - 3000 - (4 - i) * 10000, 1000 * (i + 1), NULL);
    tstatus_init(&t[1], "http://127.0.0.1:6061/debug/vars?a=1&b=\"x\"", "heap", "", 10000, 10000);
    tstatus_record(&t[1], now_ms - 22000, 2000, NULL);
    tstatus_record(&t[1], now_ms - 12000, 500, "<script>alert('x')</script>");
    tstatus_record(&t[1], now_ms - 2000, 400, "<script>alert('x')</script> & more");
    tstatus_init(&t[2], "http://127.0.0.1:6062/debug/vars", "expvar", "other", 10000, 10000);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Not strstr in a loop: ASan's strstr measures the whole haystack on every
 * call, which is quadratic over a 10 MB page. */
static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; *p; p++)
        n += *p == needle[0] && starts_with(p, needle);
    return n;
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

    static const char *const top[] = {"beat", "expvarbeat", "libbeat", "metricbeat", "system"};
    expect_keys(v, top, 5);
    assert_int_equal(int_at(v, "libbeat/config/reloads"), 0);
    assert_int_equal(int_at(v, "expvarbeat/summary/total"), 0);
    assert_int_equal(at(v, "expvarbeat/targets")->u.array.len, 0);
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

static void test_stats_targets(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    st.reloads = 3;
    st.reload_failures = 1;
    st.spool_bytes = 4096;
    st.spool_events = 7;
    st.spool_corrupt = 2;
    st.spool_full = 5;
    int64_t now = st.start_ms + 60000;
    tstatus t[3];
    three_targets(t, now);
    fleet f = {t, 3};
    attach(&st, &f);
    buf b;
    buf_init(&b, 0);
    stats_render_stats(&st, now, &b);
    yajl_val v = parse(&b);

    assert_int_equal(int_at(v, "libbeat/config/reloads"), 3);
    assert_int_equal(int_at(v, "expvarbeat/reload/applied"), 3);
    assert_int_equal(int_at(v, "expvarbeat/reload/failed"), 1);
    assert_int_equal(int_at(v, "expvarbeat/queue/disk/bytes"), 4096);
    assert_int_equal(int_at(v, "expvarbeat/queue/disk/events"), 7);
    assert_int_equal(int_at(v, "expvarbeat/queue/disk/corrupt"), 2);
    assert_int_equal(int_at(v, "expvarbeat/queue/disk/full"), 5);
    assert_int_equal(int_at(v, "expvarbeat/summary/total"), 3);
    assert_int_equal(int_at(v, "expvarbeat/summary/ok"), 1);
    assert_int_equal(int_at(v, "expvarbeat/summary/failing"), 1);
    assert_int_equal(int_at(v, "expvarbeat/summary/pending"), 1);
    assert_int_equal(int_at(v, "expvarbeat/summary/slow"), 0);

    yajl_val arr = at(v, "expvarbeat/targets");
    assert_true(YAJL_IS_ARRAY(arr));
    assert_int_equal(arr->u.array.len, 3);
    static const char *const keys[] = {"address",
                                       "consecutive_failures",
                                       "durations_us",
                                       "failures",
                                       "last_duration_us",
                                       "last_error",
                                       "last_error_ms",
                                       "last_scrape_ms",
                                       "metricsets",
                                       "namespace",
                                       "period_ms",
                                       "scrapes",
                                       "state",
                                       "timeout_ms"};
    yajl_val ok = arr->u.array.values[0], bad = arr->u.array.values[1],
             pend = arr->u.array.values[2];
    expect_keys(ok, keys, sizeof keys / sizeof keys[0]);
    assert_string_equal(str_at(ok, "state"), "ok");
    assert_string_equal(str_at(ok, "address"), t[0].address);
    assert_string_equal(str_at(ok, "namespace"), "app");
    assert_int_equal(int_at(ok, "scrapes"), 5);
    assert_int_equal(int_at(ok, "last_duration_us"), 5000);
    assert_int_equal(int_at(ok, "last_scrape_ms"), now - 3000);
    yajl_val d = at(ok, "durations_us");
    assert_int_equal(d->u.array.len, 5);
    for (size_t i = 0; i < 5; i++) /* oldest first */
        assert_int_equal(YAJL_GET_INTEGER(d->u.array.values[i]), 1000 * (i + 1));

    assert_string_equal(str_at(bad, "state"), "failing");
    assert_string_equal(str_at(bad, "address"), "http://127.0.0.1:6061/debug/vars?a=1&b=\"x\"");
    assert_string_equal(str_at(bad, "last_error"), "<script>alert('x')</script> & more");
    assert_int_equal(int_at(bad, "consecutive_failures"), 2);
    assert_int_equal(int_at(bad, "failures"), 2);
    assert_int_equal(int_at(bad, "last_error_ms"), now - 2000);
    assert_string_equal(str_at(bad, "metricsets"), "heap");

    assert_string_equal(str_at(pend, "state"), "pending");
    assert_int_equal(int_at(pend, "last_scrape_ms"), 0);
    assert_int_equal(at(pend, "durations_us")->u.array.len, 0);

    yajl_tree_free(v);
    buf_free(&b);

    /* /debug/vars carries the counters, never the per-target list (it
     * becomes documents when expvarbeat scrapes itself). */
    buf_init(&b, 0);
    stats_render_vars(&st, now, &b);
    v = parse(&b);
    assert_int_equal(int_at(v, "expvarbeat/reload/applied"), 3);
    assert_int_equal(int_at(v, "expvarbeat/queue/disk/events"), 7);
    assert_int_equal(int_at(v, "expvarbeat/queue/active"), 3);
    assert_null(strstr(b.data, "6061"));
    yajl_tree_free(v);
    buf_free(&b);
}

/* ---- the status page -------------------------------------------------------------------- */

static char *render_page(const stats *st, int64_t now, size_t rows)
{
    buf b;
    buf_init(&b, 0);
    assert_int_equal(status_page_render(st, now, rows, &b), 0);
    return buf_detach(&b, NULL);
}

static void test_page_states_and_order(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    int64_t now = st.start_ms + 60000;
    tstatus t[3];
    three_targets(t, now);
    fleet f = {t, 3};
    attach(&st, &f);
    char *html = render_page(&st, now, STATUS_PAGE_ROWS);

    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"5\">"));
    /* Failing first, then pending, then ok; state is text, not only colour. */
    const char *failing = strstr(html, "data-state=\"failing\"");
    const char *pending = strstr(html, "data-state=\"pending\"");
    const char *okrow = strstr(html, "data-state=\"ok\"");
    assert_non_null(failing);
    assert_non_null(pending);
    assert_non_null(okrow);
    assert_true(failing < pending && pending < okrow);
    assert_non_null(strstr(failing, "FAILING"));
    assert_true(strstr(failing, "6061") < pending);
    assert_non_null(strstr(html, "3 targets: <span class=\"count-failing\">1 failing</span>"));
    assert_non_null(strstr(html, "<title>1 failing · expvarbeat beat-name</title>"));
    /* Relative times, durations, failures in a row, output counters. */
    assert_non_null(strstr(okrow, ">3 s ago<"));
    assert_non_null(strstr(okrow, ">5.0 ms<"));
    assert_non_null(strstr(failing, ">2 s ago<"));
    assert_non_null(strstr(failing, ">400 µs<"));
    assert_non_null(strstr(failing, ">2<br><span class=\"muted\">2 of 3</span>"));
    assert_non_null(strstr(pending, ">never<"));
    assert_non_null(strstr(pending, "no scrapes yet"));
    assert_non_null(strstr(html, "<th>queue depth</th><td class=\"num\">3</td>"));
    assert_non_null(strstr(html, "<th>acked</th><td class=\"num\">15</td>"));
    assert_non_null(strstr(html, "<th>retried</th><td class=\"num\">4</td>"));
    assert_non_null(strstr(html, "<th>dropped</th><td class=\"num\">1</td>"));
    /* Features that are off show nothing. */
    assert_null(strstr(html, "disk queue"));
    assert_null(strstr(html, "reloads"));
    assert_null(strstr(html, "id=\"capped\""));
    free(html);

    st.spool_events = 9;
    st.reload_failures = 1;
    html = render_page(&st, now, STATUS_PAGE_ROWS);
    assert_non_null(strstr(html, "<th>disk queue events</th><td class=\"num\">9</td>"));
    assert_non_null(strstr(html, "<th>config reloads rejected</th><td class=\"num\">1</td>"));
    free(html);
}

static void test_page_escapes_hostile_text(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    st.name = "<b>name</b>";
    st.output_name = "console\"><i>";
    int64_t now = st.start_ms + 1000;
    tstatus t[2];
    tstatus_init(&t[0], "http://h/\"><img src=x onerror=alert(1)>", "expvar", "<ns>", 1000, 1000);
    tstatus_record(&t[0], now, 10,
                   "invalid character '<' looking for beginning of value: "
                   "<script>alert(document.cookie)</script><svg onload=x>");
    tstatus_init(&t[1], "http://h2/'&", "expvar", "", 1000, 1000);
    fleet f = {t, 2};
    attach(&st, &f);
    char *html = render_page(&st, now, STATUS_PAGE_ROWS);
    /* No markup from the targets survives; the text still reads the same. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "<svg onload"));
    assert_null(strstr(html, "<b>"));
    assert_null(strstr(html, "<i>"));
    assert_null(strstr(html, "<ns>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(document.cookie)&lt;/script&gt;"));
    assert_non_null(strstr(html, "&#39;&lt;&#39; looking"));
    assert_non_null(strstr(html, "http://h/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert_non_null(strstr(html, "http://h2/&#39;&amp;"));
    assert_non_null(strstr(html, "console&quot;&gt;&lt;i&gt;"));
    free(html);
}

static void test_page_sparkline(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    int64_t now = st.start_ms + 1000;
    tstatus t;
    tstatus_init(&t, "http://h/", "expvar", "", 10000, 10000);
    /* 70 scrapes: the chart shows the last 60; the largest is 4 ms, and
     * scrapes 64 and 69 failed. */
    for (int i = 0; i < 70; i++)
        tstatus_record(&t, now, i == 65 ? 4000 : 1000, i == 64 || i == 69 ? "x" : NULL);
    fleet f = {&t, 1};
    attach(&st, &f);
    char *html = render_page(&st, now, STATUS_PAGE_ROWS);
    const char *svg = strstr(html, "<svg class=\"spark\"");
    assert_non_null(svg);
    const char *pts = strstr(svg, "points=\"");
    assert_non_null(pts);
    pts += 8;
    size_t len = strcspn(pts, "\"");
    /* 60 points, x from 2 to 120, scaled to the maximum: 1 ms → y 17, 4 ms → y 2. */
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += pts[i] == ' ';
    assert_int_equal(n, TSTATUS_HISTORY);
    assert_true(strncmp(pts, "2,17.0 ", 7) == 0);
    assert_non_null(strstr(pts, " 112,2.0 "));
    assert_true(len > 9 && strncmp(pts + len - 9, " 120,17.0", 9) == 0);
    assert_non_null(strstr(svg, "<circle cx=\"110\" cy=\"17.0\" r=\"2\"/>"));
    assert_non_null(strstr(svg, "<circle cx=\"120\" cy=\"17.0\" r=\"2\"/>"));
    assert_int_equal(count_of(svg, "<circle"), 2);
    assert_non_null(strstr(svg, "<title>last 60 scrapes: 1.0 ms to 4.0 ms</title>"));
    free(html);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_page_ten_thousand_targets(void **state)
{
    (void)state;
    enum { N = 10000, FAILING = 7 };
    stats st;
    fill_stats(&st);
    int64_t now = st.start_ms + 1000;
    tstatus *t = calloc(N, sizeof *t);
    char(*addr)[64] = calloc(N, sizeof *addr); /* tstatus borrows the address */
    assert_non_null(t);
    assert_non_null(addr);
    for (size_t i = 0; i < N; i++) {
        snprintf(addr[i], sizeof addr[i], "http://10.0.%zu.%zu:6060/debug/vars", i / 250, i % 250);
        tstatus_init(&t[i], addr[i], "expvar", "app", 10000, 10000);
        for (int k = 0; k < TSTATUS_HISTORY; k++)
            tstatus_record(&t[i], now - 1000, 1000 + k * 37 + (int64_t)i % 500, NULL);
    }
    /* The failing ones sit at the end of the configuration. */
    for (size_t i = N - FAILING; i < N; i++)
        tstatus_record(&t[i], now, 500, "connection refused");
    fleet f = {t, N};
    attach(&st, &f);

    double t0 = mono_s();
    char *html = render_page(&st, now, STATUS_PAGE_ROWS);
    double capped_s = mono_s() - t0;
    assert_int_equal(count_of(html, "<tr class=\"target "), STATUS_PAGE_ROWS);
    assert_non_null(strstr(html, "data-targets=\"10000\" data-failing=\"7\""));
    assert_non_null(strstr(html, "Showing 500 of 10000 targets, failing first."));
    /* The failing ones come first although they are last in the config. */
    const char *row = html;
    for (int i = 0; i < FAILING; i++) {
        row = strstr(row + 1, "<tr class=\"target ");
        assert_true(starts_with(row, "<tr class=\"target failing\""));
    }
    row = strstr(row + 1, "<tr class=\"target ");
    assert_true(starts_with(row, "<tr class=\"target ok\""));
    size_t capped_len = strlen(html);
    free(html);

    t0 = mono_s();
    html = render_page(&st, now, SIZE_MAX);
    double all_s = mono_s() - t0;
    assert_int_equal(count_of(html, "<tr class=\"target "), N);
    assert_null(strstr(html, "id=\"capped\""));
    size_t all_len = strlen(html);
    free(html);

    buf b;
    buf_init(&b, 0);
    t0 = mono_s();
    stats_render_stats(&st, now, &b);
    double json_s = mono_s() - t0;
    yajl_val v = parse(&b);
    assert_int_equal(at(v, "expvarbeat/targets")->u.array.len, N);
    assert_int_equal(int_at(v, "expvarbeat/summary/failing"), FAILING);
    yajl_tree_free(v);
    print_message("10000 targets: page (500 rows) %zu bytes in %.1f ms; page (all) %zu bytes "
                  "in %.1f ms; /stats %zu bytes in %.1f ms\n",
                  capped_len, capped_s * 1e3, all_len, all_s * 1e3, b.len, json_s * 1e3);
    buf_free(&b);
    free(t);
    free(addr);
}

static void test_page_formats(void **state)
{
    (void)state;
    char t[32];
    status_page_ago(10000, 0, t, sizeof t);
    assert_string_equal(t, "never");
    status_page_ago(10000, 11000, t, sizeof t);
    assert_string_equal(t, "just now");
    status_page_ago(10000, 7000, t, sizeof t);
    assert_string_equal(t, "3 s ago");
    status_page_ago(1000000, 1000000 - 150000, t, sizeof t);
    assert_string_equal(t, "2 min ago");
    status_page_ago(100000000, 100000000 - 7300000, t, sizeof t);
    assert_string_equal(t, "2 h ago");
    status_page_ago(1000000000, 1000000000 - 3 * 86400000, t, sizeof t);
    assert_string_equal(t, "3 d ago");
    status_page_duration(850, t, sizeof t);
    assert_string_equal(t, "850 µs");
    status_page_duration(12345, t, sizeof t);
    assert_string_equal(t, "12.3 ms");
    status_page_duration(1200000, t, sizeof t);
    assert_string_equal(t, "1.20 s");
}

static void test_page_wanted(void **state)
{
    (void)state;
    /* Browsers. */
    assert_true(status_page_wanted("text/html,application/xhtml+xml,application/xml;q=0.9,"
                                   "image/avif,image/webp,*/*;q=0.8"));
    assert_true(status_page_wanted("TEXT/HTML"));
    assert_true(status_page_wanted("application/json;q=0.5, text/html"));
    /* API clients: curl, Python, libbeat's monitoring, explicit JSON. */
    assert_false(status_page_wanted(NULL));
    assert_false(status_page_wanted(""));
    assert_false(status_page_wanted("*/*"));
    assert_false(status_page_wanted("application/json"));
    assert_false(status_page_wanted("text/html;q=0.5, application/json"));
    assert_false(status_page_wanted("application/json, text/html")); /* a tie keeps JSON */
    assert_false(status_page_wanted("text/html;q=0"));
    assert_false(status_page_wanted("text/htmlx"));
}

/* ---- HTTP ------------------------------------------------------------------------------ */

typedef struct response {
    long code;
    buf body;
    char content_type[128];
    char allow[64];
    char vary[64];
    char csp[128];
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
    static const struct {
        const char *name;
        size_t off, cap;
    } want[] = {
        {"Allow: ", offsetof(response, allow), sizeof((response *)0)->allow},
        {"Vary: ", offsetof(response, vary), sizeof((response *)0)->vary},
        {"Content-Security-Policy: ", offsetof(response, csp), sizeof((response *)0)->csp},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t k = strlen(want[i].name);
        if (len > k && strncasecmp(p, want[i].name, k) == 0)
            snprintf((char *)r + want[i].off, want[i].cap, "%.*s", (int)strcspn(p + k, "\r\n"),
                     p + k);
    }
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
static void request_accept(stats_server *s, const char *method, const char *path,
                           const char *accept, response *r)
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
    struct curl_slist *hdrs = NULL;
    if (accept) {
        char h[256];
        snprintf(h, sizeof h, "Accept: %s", accept);
        hdrs = curl_slist_append(NULL, h);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    }
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
    curl_slist_free_all(hdrs);
}

/* curl's own Accept: * / *. */
static void request(stats_server *s, const char *method, const char *path, response *r)
{
    request_accept(s, method, path, NULL, r);
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

static void test_server_status_page(void **state)
{
    (void)state;
    stats st;
    fill_stats(&st);
    tstatus t[3];
    three_targets(t, st.start_ms);
    fleet f = {t, 3};
    attach(&st, &f);
    char err[256] = "";
    stats_server *s = stats_server_new("localhost", 0, &st, err, sizeof err);
    if (!s)
        fail_msg("stats_server_new: %s", err);
    static const char browser[] = "text/html,application/xhtml+xml,application/xml;q=0.9,"
                                  "*/*;q=0.8";
    response r;
    /* A browser at / gets the page; the answer depends on Accept, so says so. */
    request_accept(s, "GET", "/", browser, &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_string_equal(r.vary, "Accept");
    assert_non_null(strstr(r.csp, "default-src 'none'"));
    assert_non_null(strstr(r.body.data, "data-state=\"failing\""));
    buf_free(&r.body);

    /* curl, and anything asking for JSON, gets libbeat's beat info at /. */
    request(s, "GET", "/", &r);
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    assert_string_equal(r.vary, "Accept");
    yajl_val v = parse(&r.body);
    assert_string_equal(str_at(v, "beat"), "expvarbeat");
    yajl_tree_free(v);
    buf_free(&r.body);
    request_accept(s, "GET", "/", "application/json", &r);
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    buf_free(&r.body);

    /* /status is the page whatever the client asks for; ?all lifts the cap. */
    request(s, "GET", "/status", &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_string_equal(r.vary, "");
    assert_int_equal(count_of(r.body.data, "<tr class=\"target "), 3);
    buf_free(&r.body);
    request(s, "GET", "/status?all", &r);
    assert_int_equal(r.code, 200);
    assert_int_equal(count_of(r.body.data, "<tr class=\"target "), 3);
    buf_free(&r.body);

    /* /stats over HTTP carries the targets. */
    request(s, "GET", "/stats", &r);
    v = parse(&r.body);
    assert_int_equal(at(v, "expvarbeat/targets")->u.array.len, 3);
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
        cmocka_unit_test(test_render_vars),
        cmocka_unit_test(test_render_stats),
        cmocka_unit_test(test_render_info),
        cmocka_unit_test(test_uptime_never_negative),
        cmocka_unit_test(test_server_routes),
        cmocka_unit_test(test_server_errors),
        cmocka_unit_test(test_server_bad_address),
        cmocka_unit_test(test_stats_targets),
        cmocka_unit_test(test_page_states_and_order),
        cmocka_unit_test(test_page_escapes_hostile_text),
        cmocka_unit_test(test_page_sparkline),
        cmocka_unit_test(test_page_ten_thousand_targets),
        cmocka_unit_test(test_page_formats),
        cmocka_unit_test(test_page_wanted),
        cmocka_unit_test(test_server_status_page),
    };
    return cmocka_run_group_tests(tests, global_setup, global_teardown);
}
