/* status_page: the HTML status page (see status_page.h). */
#include "status_page.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tstatus.h"

/* ---- writing ---------------------------------------------------------------------- */

/* The first failed append sticks, so the renderer can run to the end and
 * report once. */
typedef struct page {
    buf *b;
    int err;
} page;

static void putn(page *p, const char *s, size_t n)
{
    if (!p->err && buf_append(p->b, s, n) != BUF_OK)
        p->err = 1;
}

static void put(page *p, const char *s)
{
    putn(p, s, strlen(s));
}

/* Trusted text only (numbers, fixed words): nothing here is escaped. */
static void putf(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(page *p, const char *fmt, ...)
{
    char t[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    if (n > 0)
        putn(p, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

/* Text and attribute values alike: addresses and error texts come from
 * configuration and from the targets, so all five specials are escaped. */
static void text(page *p, const char *s)
{
    s = s ? s : "";
    while (*s) {
        size_t run = strcspn(s, "&<>\"'");
        putn(p, s, run);
        s += run;
        if (!*s)
            break;
        static const char *const ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
        put(p, ent[strchr("&<>\"'", *s) - "&<>\"'"]);
        s++;
    }
}

/* ---- small formats ---------------------------------------------------------------- */

void status_page_ago(int64_t now_ms, int64_t then_ms, char *out, size_t cap)
{
    if (then_ms <= 0) {
        snprintf(out, cap, "never");
        return;
    }
    if (now_ms < then_ms) {
        snprintf(out, cap, "just now");
        return;
    }
    int64_t s = (now_ms - then_ms) / 1000;
    if (s < 60)
        snprintf(out, cap, "%" PRId64 " s ago", s);
    else if (s < 3600)
        snprintf(out, cap, "%" PRId64 " min ago", s / 60);
    else if (s < 86400)
        snprintf(out, cap, "%" PRId64 " h ago", s / 3600);
    else
        snprintf(out, cap, "%" PRId64 " d ago", s / 86400);
}

void status_page_duration(int64_t us, char *out, size_t cap)
{
    if (us < 1000)
        snprintf(out, cap, "%" PRId64 " µs", us < 0 ? 0 : us);
    else if (us < 1000000)
        snprintf(out, cap, "%.1f ms", (double)us / 1e3);
    else
        snprintf(out, cap, "%.2f s", (double)us / 1e6);
}

static void iso_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, cap, "?");
}

/* ---- content negotiation ----------------------------------------------------------- */

/* q of the range that names exactly this type in an Accept header; -1 when
 * it is not named. */
static double accept_q(const char *accept, const char *type)
{
    size_t tlen = strlen(type);
    for (const char *p = accept; *p;) {
        size_t len = strcspn(p, ",");
        const char *end = p + len;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        size_t mlen = strcspn(p, ";, \t");
        if (mlen == tlen && strncasecmp(p, type, tlen) == 0) {
            double q = 1;
            const char *qp = strstr(p, ";q=");
            if (!qp || qp > end)
                qp = strstr(p, "; q=");
            if (qp && qp < end)
                q = strtod(strchr(qp, '=') + 1, NULL);
            return q;
        }
        p = *end ? end + 1 : end;
    }
    return -1;
}

int status_page_wanted(const char *accept)
{
    if (!accept)
        return 0;
    double html = accept_q(accept, "text/html");
    return html > 0 && html > accept_q(accept, "application/json");
}

/* ---- the targets, failing first ------------------------------------------------------ */

typedef struct rows {
    const tstatus **v;
    size_t n, cap;
    size_t count[TSTATUS_STATES];
    int err;
} rows;

static void collect(const tstatus *s, void *arg)
{
    rows *r = arg;
    r->count[tstatus_state(s)]++;
    if (r->err)
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        const tstatus **v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            r->err = 1;
            return;
        }
        r->v = v, r->cap = cap;
    }
    r->v[r->n++] = s;
}

static const enum tstatus_state page_order[] = {TSTATUS_FAILING, TSTATUS_SLOW, TSTATUS_PENDING,
                                                TSTATUS_OK};

/* ---- pieces of the page ------------------------------------------------------------- */

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#1d1d1f;background:#fafafa}"
    "h1{font-size:20px;margin:0 0 4px}h1 small{font-weight:normal;color:#666;font-size:13px}"
    "h2{font-size:16px;margin:20px 0 6px}"
    "table{border-collapse:collapse;background:#fff}"
    "th,td{padding:4px 8px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0;font-weight:600}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".kv th{background:none;font-weight:normal;color:#555}"
    "#summary{font-size:15px}"
    ".badge{display:inline-block;padding:1px 6px;border-radius:3px;font-weight:600;"
    "font-size:12px;white-space:nowrap}"
    "tr.failing{background:#fdecee}tr.failing td:first-child{border-left:4px solid #c62828}"
    "tr.slow td:first-child{border-left:4px solid #e0a100}"
    "tr.ok td:first-child{border-left:4px solid #2e7d32}"
    "tr.pending td:first-child{border-left:4px solid #9e9e9e}"
    ".failing .badge,.count-failing{color:#fff;background:#c62828}"
    ".slow .badge,.count-slow{color:#000;background:#ffd54f}"
    ".ok .badge{color:#fff;background:#2e7d32}.pending .badge{color:#fff;background:#757575}"
    ".count-failing,.count-slow{padding:1px 6px;border-radius:3px}"
    ".addr{font-family:ui-monospace,monospace;word-break:break-all}"
    ".err{font-family:ui-monospace,monospace;color:#8e0000;max-width:48em;word-break:break-word}"
    ".muted{color:#888}svg.spark polyline{fill:none;stroke:#1565c0;stroke-width:1.2}"
    "svg.spark circle{fill:#c62828}svg.spark{background:#f5f8fc}";

static void head(page *p, const stats *st, const rows *r)
{
    put(p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta http-equiv=\"refresh\" content=\"5\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    if (r->count[TSTATUS_FAILING])
        putf(p, "%zu failing · ", r->count[TSTATUS_FAILING]);
    put(p, "expvarbeat ");
    text(p, st->name);
    put(p, "</title><style>");
    put(p, style);
    put(p, "</style></head>\n<body>\n<h1>expvarbeat <small>");
    text(p, st->name);
    put(p, " on ");
    text(p, st->hostname);
    put(p, " · version ");
    text(p, st->version);
    put(p, "</small></h1>\n");
}

static void summary(page *p, const rows *r)
{
    size_t total = 0;
    for (int i = 0; i < TSTATUS_STATES; i++)
        total += r->count[i];
    size_t failing = r->count[TSTATUS_FAILING], slow = r->count[TSTATUS_SLOW];
    putf(p, "<p id=\"summary\" data-targets=\"%zu\" data-failing=\"%zu\">%zu target%s: ", total,
         failing, total, total == 1 ? "" : "s");
    /* Only what needs attention is marked. */
    putf(p, failing ? "<span class=\"count-failing\">%zu failing</span>" : "%zu failing", failing);
    putf(p, slow ? " · <span class=\"count-slow\">%zu slow</span>" : " · %zu slow", slow);
    putf(p, " · %zu pending · %zu ok</p>\n", r->count[TSTATUS_PENDING], r->count[TSTATUS_OK]);
}

static void kv_row(page *p, const char *k, uint64_t v)
{
    putf(p, "<tr><th>%s</th><td class=\"num\">%" PRIu64 "</td></tr>", k, v);
}

static void output_section(page *p, const stats *st)
{
    put(p, "<h2>Output</h2>\n<table class=\"kv\" id=\"output\"><tr><th>output</th><td>");
    text(p, st->output_name);
    put(p, "</td></tr>");
    kv_row(p, "queue depth", st->queue_active);
    kv_row(p, "published", st->published);
    kv_row(p, "acked", st->acked);
    kv_row(p, "retried", st->retried);
    kv_row(p, "dropped", st->dropped);
    /* Features that are off leave their counters at zero: no empty rows. */
    if (st->spool_bytes || st->spool_events || st->spool_corrupt || st->spool_full) {
        kv_row(p, "disk queue bytes", st->spool_bytes);
        kv_row(p, "disk queue events", st->spool_events);
        kv_row(p, "disk queue corrupt events", st->spool_corrupt);
        kv_row(p, "disk queue full (waits)", st->spool_full);
    }
    if (st->reloads || st->reload_failures) {
        kv_row(p, "config reloads", st->reloads);
        kv_row(p, "config reloads rejected", st->reload_failures);
    }
    put(p, "</table>\n");
}

static char *put_uint(char *o, unsigned v)
{
    char t[12];
    int n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    while (n)
        *o++ = t[--n];
    return o;
}

/* "x,y.d" from y in tenths, without printf: the chart is the page's hot
 * loop (60 points a row, 10,000 rows with ?all). */
static void point(char out[16], unsigned x, unsigned y10)
{
    char *o = put_uint(out, x);
    *o++ = ',';
    o = put_uint(o, y10 / 10);
    *o++ = '.';
    *o++ = (char)('0' + y10 % 10);
    *o = '\0';
}

/* The last durations as a line, newest at the right, scaled to their
 * maximum; failed scrapes are red dots on it. */
static void sparkline(page *p, const tstatus *s)
{
    uint32_t us[TSTATUS_HISTORY];
    unsigned char failed[TSTATUS_HISTORY];
    size_t n = tstatus_history(s, us, failed);
    if (n == 0) {
        put(p, "<span class=\"muted\">no scrapes yet</span>");
        return;
    }
    uint32_t max = 1, min = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        max = us[i] > max ? us[i] : max;
        min = us[i] < min ? us[i] : min;
    }
    char lo[32], hi[32];
    status_page_duration(min, lo, sizeof lo);
    status_page_duration(max, hi, sizeof hi);
    const int w = 2 * (TSTATUS_HISTORY - 1) + 4, h = 24;
    putf(p,
         "<svg class=\"spark\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
         "aria-label=\"last %zu scrape durations\"><title>last %zu scrapes: %s to %s</title>"
         "<polyline points=\"",
         w, h, w, h, n, n, lo, hi);
    size_t skip = TSTATUS_HISTORY - n;
    char xy[TSTATUS_HISTORY][16];
    for (size_t i = 0; i < n; i++) {
        point(xy[i], 2 + 2 * (unsigned)(skip + i), 220 - (unsigned)((uint64_t)us[i] * 200 / max));
        if (i)
            put(p, " ");
        put(p, xy[i]);
    }
    put(p, "\"/>");
    for (size_t i = 0; i < n; i++)
        if (failed[i]) {
            /* "x,y" → cx="x" cy="y" */
            char *comma = strchr(xy[i], ',');
            putf(p, "<circle cx=\"%.*s\" cy=\"%s\" r=\"2\"/>", (int)(comma - xy[i]), xy[i],
                 comma + 1);
        }
    put(p, "</svg>");
}

static const char *const badge[] = {
    [TSTATUS_PENDING] = "… pending",
    [TSTATUS_OK] = "✔ ok",
    [TSTATUS_FAILING] = "✖ FAILING",
    [TSTATUS_SLOW] = "⚠ SLOW",
};

static void target_row(page *p, const tstatus *s, int64_t now_ms)
{
    enum tstatus_state state = tstatus_state(s);
    const char *name = tstatus_state_name(state);
    putf(p,
         "<tr class=\"target %s\" data-state=\"%s\"><td class=\"state\"><span class=\"badge\">%s",
         name, name, badge[state]);
    put(p, "</span></td><td class=\"addr\">");
    text(p, s->address);
    put(p, "</td><td>");
    text(p, s->metricsets);
    if (s->ns[0]) {
        put(p, "<br><span class=\"muted\">");
        text(p, s->ns);
        put(p, "</span>");
    }
    char when[48], iso[32], dur[32];
    status_page_ago(now_ms, s->last_wall_ms, when, sizeof when);
    iso_time(s->last_wall_ms, iso, sizeof iso);
    if (s->last_wall_ms > 0)
        putf(p, "</td><td title=\"%s\">%s</td>", iso, when);
    else
        putf(p, "</td><td class=\"muted\">%s</td>", when);
    status_page_duration(s->last_duration_us, dur, sizeof dur);
    putf(p, "<td class=\"num\">%s</td>", s->scrapes ? dur : "–");
    putf(p,
         "<td class=\"num fails\">%" PRIu32 "<br><span class=\"muted\">%" PRIu64 " of %" PRIu64
         "</span></td><td>",
         s->consecutive_failures, s->failures, s->scrapes);
    sparkline(p, s);
    put(p, "</td><td class=\"err\">");
    text(p, s->last_error);
    put(p, "</td></tr>\n");
}

static void targets_section(page *p, const rows *r, int64_t now_ms, size_t max_rows)
{
    put(p, "<h2>Targets</h2>\n");
    if (r->n == 0) {
        put(p, "<p class=\"muted\">No targets.</p>\n");
        return;
    }
    size_t shown = r->n < max_rows ? r->n : max_rows;
    if (shown < r->n)
        putf(p,
             "<p id=\"capped\">Showing %zu of %zu targets, failing first. "
             "<a href=\"/status?all\">Show all</a> · every target is in "
             "<a href=\"/stats?pretty\">/stats</a>.</p>\n",
             shown, r->n);
    put(p, "<table id=\"targets\"><thead><tr><th>State</th><th>Address</th><th>Metricset</th>"
           "<th>Last scrape</th><th>Duration</th><th>Failures in a row<br>"
           "<span class=\"muted\">of scrapes</span></th><th>Last 60 durations</th>"
           "<th>Last error</th></tr></thead>\n<tbody>\n");
    /* One pass per state keeps configuration order inside each group: O(n). */
    size_t done = 0;
    for (size_t o = 0; o < sizeof page_order / sizeof page_order[0]; o++)
        for (size_t i = 0; i < r->n && done < shown; i++)
            if (tstatus_state(r->v[i]) == page_order[o]) {
                target_row(p, r->v[i], now_ms);
                done++;
            }
    put(p, "</tbody></table>\n");
}

int status_page_render(const stats *st, int64_t now_ms, size_t max_rows, buf *out)
{
    page p = {.b = out};
    rows r = {0};
    if (st->each_target)
        st->each_target(st->each_target_owner, collect, &r);
    p.err = r.err;
    head(&p, st, &r);
    summary(&p, &r);
    output_section(&p, st);
    targets_section(&p, &r, now_ms, max_rows);
    char iso[32];
    iso_time(now_ms, iso, sizeof iso);
    putf(&p,
         "<p class=\"muted\">Rendered %s · refreshes every 5 s · JSON: <a href=\"/stats?pretty\">"
         "/stats</a></p>\n</body></html>\n",
         iso);
    free(r.v);
    return p.err ? -1 : 0;
}
