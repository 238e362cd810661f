/* log_metrics: the periodic "Non-zero metrics" log line (see log_metrics.h). */
#include "log_metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "log.h"

enum metric_kind { COUNTER, GAUGE };

typedef struct metric {
    const char *name; /* dotted path; the table is sorted by it */
    enum metric_kind kind;
    size_t off;                                       /* a uint64_t in stats, unless get */
    uint64_t (*get)(const stats *st, int64_t now_ms); /* derived values */
} metric;

static uint64_t uptime(const stats *st, int64_t now_ms)
{
    return now_ms > st->start_ms ? (uint64_t)(now_ms - st->start_ms) : 0;
}

static uint64_t rss_bytes(const stats *st, int64_t now_ms)
{
    (void)st, (void)now_ms;
    unsigned long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%lu %lu", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t cpu_ms(const stats *st, int64_t now_ms)
{
    (void)st, (void)now_ms;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* As the /stats endpoint: each hand-over ends acked, dropped or retried. */
static uint64_t output_total(const stats *st, int64_t now_ms)
{
    (void)now_ms;
    return st->acked + st->dropped + st->retried;
}

#define C(name, field)                                                                             \
    {                                                                                              \
        name, COUNTER, offsetof(stats, field), NULL                                                \
    }
#define MS(set, i)                                                                                 \
    C("metricbeat.golang." set ".delayed", ms[i].delayed),                                         \
        C("metricbeat.golang." set ".events", ms[i].events),                                       \
        C("metricbeat.golang." set ".failures", ms[i].failures),                                   \
        C("metricbeat.golang." set ".skipped", ms[i].skipped),                                     \
        C("metricbeat.golang." set ".success", ms[i].success)

static const metric metrics[] = {
    {"beat.cpu.total.time.ms", COUNTER, 0, cpu_ms},
    {"beat.info.uptime.ms", GAUGE, 0, uptime},
    {"beat.memstats.rss", GAUGE, 0, rss_bytes},
    C("libbeat.config.reloads", reloads),
    C("libbeat.output.events.acked", acked),
    C("libbeat.output.events.batches", batches),
    C("libbeat.output.events.dropped", dropped),
    C("libbeat.output.events.duplicates", duplicates),
    C("libbeat.output.events.failed", retried),
    C("libbeat.output.events.toomany", too_many),
    {"libbeat.output.events.total", COUNTER, 0, output_total},
    C("libbeat.output.write.bytes", write_bytes),
    C("libbeat.output.write.errors", write_errors),
    {"libbeat.pipeline.events.active", GAUGE, offsetof(stats, queue_active), NULL},
    C("libbeat.pipeline.events.dropped", dropped),
    C("libbeat.pipeline.events.published", published),
    C("libbeat.pipeline.events.retry", retried),
    C("libbeat.pipeline.events.total", published),
    C("libbeat.pipeline.queue.acked", acked),
    MS("expvar", STATS_MS_EXPVAR),
    MS("heap", STATS_MS_HEAP),
};
#define N_METRICS (sizeof metrics / sizeof metrics[0])
_Static_assert(N_METRICS <= LOG_METRICS_MAX, "raise LOG_METRICS_MAX");

void log_metrics_sample(const stats *st, int64_t now_ms, uint64_t out[LOG_METRICS_MAX])
{
    for (size_t i = 0; i < N_METRICS; i++) {
        const metric *m = &metrics[i];
        if (m->get)
            out[i] = m->get(st, now_ms);
        else
            memcpy(&out[i], (const char *)st + m->off, sizeof out[i]);
    }
}

static void gen_key(yajl_gen g, const char *s, size_t n)
{
    yajl_gen_string(g, (const unsigned char *)s, n);
}

/* Opens the maps of name's path below the `*depth` already open ones that
 * it shares with prev, closing the rest: sorted names nest correctly. */
static void open_path(yajl_gen g, const char *prev, const char *name, int *depth)
{
    int shared = 0;
    const char *p = name, *q = prev;
    for (const char *dot; prev && (dot = strchr(p, '.')) != NULL; p = dot + 1, shared++) {
        size_t n = (size_t)(dot - p);
        if (strncmp(p, q, n) != 0 || q[n] != '.')
            break;
        q += n + 1;
    }
    for (; *depth > shared; (*depth)--)
        yajl_gen_map_close(g);
    p = name;
    for (int i = 0; i < shared; i++)
        p = strchr(p, '.') + 1;
    for (const char *dot; (dot = strchr(p, '.')) != NULL; p = dot + 1, (*depth)++) {
        gen_key(g, p, (size_t)(dot - p));
        yajl_gen_map_open(g);
    }
    gen_key(g, p, strlen(p));
}

static uint64_t reported(size_t i, const uint64_t *prev, const uint64_t *cur)
{
    if (!prev || metrics[i].kind == GAUGE)
        return cur[i];
    return cur[i] > prev[i] ? cur[i] - prev[i] : 0;
}

size_t log_metrics_render(const uint64_t *prev, const uint64_t *cur, buf *out)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const char *last = NULL;
    int depth = 0;
    size_t n = 0;
    if (!g)
        return 0;
    yajl_gen_map_open(g);
    gen_key(g, "monitoring", 10);
    yajl_gen_map_open(g);
    gen_key(g, "metrics", 7);
    yajl_gen_map_open(g);
    for (size_t i = 0; i < N_METRICS; i++) {
        uint64_t v = reported(i, prev, cur);
        if (v == 0)
            continue;
        open_path(g, last, metrics[i].name, &depth);
        char t[24];
        yajl_gen_number(g, t, (size_t)snprintf(t, sizeof t, "%llu", (unsigned long long)v));
        last = metrics[i].name;
        n++;
    }
    for (depth += 3; depth > 0; depth--)
        yajl_gen_map_close(g);
    const unsigned char *text;
    size_t len;
    if (yajl_gen_get_buf(g, &text, &len) != yajl_gen_status_ok || buf_append(out, text, len))
        n = 0;
    yajl_gen_free(g);
    return n;
}

void log_metrics_duration(int64_t ms, char *out, size_t n)
{
    if (ms < 1000) {
        snprintf(out, n, "%lldms", (long long)ms);
        return;
    }
    long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
    char sec[16];
    if (frac == 0)
        snprintf(sec, sizeof sec, "%llds", s);
    else {
        snprintf(sec, sizeof sec, "%lld.%03lld", s, frac);
        char *end = sec + strlen(sec);
        while (end[-1] == '0')
            *--end = '\0';
        strcpy(end, "s");
    }
    if (h)
        snprintf(out, n, "%lldh%lldm%s", h, m, sec);
    else if (m)
        snprintf(out, n, "%lldm%s", m, sec);
    else
        snprintf(out, n, "%s", sec);
}

struct log_metrics {
    loop *l;
    loop_timer timer;
    const stats *st;
    int64_t period_ms;
    uint64_t prev[LOG_METRICS_MAX];
};

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* period NULL: the totals at stop. */
static void report(const uint64_t *prev, const uint64_t *cur, const char *period)
{
    buf b;
    buf_init(&b, 0);
    size_t n = log_metrics_render(prev, cur, &b);
    if (!period)
        log_event(LOG_INFO, "monitoring", n ? b.data : NULL, "Total metrics");
    else if (n)
        log_event(LOG_INFO, "monitoring", b.data, "Non-zero metrics in the last %s", period);
    else
        log_event(LOG_INFO, "monitoring", NULL, "No non-zero metrics in the last %s", period);
    buf_free(&b);
}

static void on_tick(void *ctx)
{
    log_metrics *m = ctx;
    uint64_t cur[LOG_METRICS_MAX];
    char period[32];
    log_metrics_sample(m->st, wall_ms(), cur);
    log_metrics_duration(m->period_ms, period, sizeof period);
    report(m->prev, cur, period);
    memcpy(m->prev, cur, sizeof cur);
    loop_arm(&m->timer, loop_now_ms() + m->period_ms);
}

log_metrics *log_metrics_start(loop *l, const stats *st, int64_t period_ms)
{
    log_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->l = l;
    m->st = st;
    m->period_ms = period_ms > 0 ? period_ms : 30000;
    log_metrics_sample(st, wall_ms(), m->prev);
    loop_timer_add(l, &m->timer, on_tick, m);
    loop_arm(&m->timer, loop_now_ms() + m->period_ms);
    return m;
}

void log_metrics_stop(log_metrics *m)
{
    if (!m)
        return;
    uint64_t cur[LOG_METRICS_MAX];
    log_metrics_sample(m->st, wall_ms(), cur);
    report(NULL, cur, NULL);
    loop_timer_remove(m->l, &m->timer);
    free(m);
}
