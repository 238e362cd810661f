/* stats: renders the daemon's counters and the HTTP endpoint that serves them.
 * /debug/vars has Go expvar's shape, with runtime.MemStats field names filled
 * from what glibc and /proc say about this process, so expvarbeat can scrape
 * itself with both metricsets; /stats uses libbeat's monitoring field names;
 * / is libbeat's info registry for API clients and the HTML status page for
 * browsers (also at /status).  Keys are written sorted, as Go writes maps.
 * The server is libmicrohttpd in external-epoll mode: no thread of its own,
 * the main loop watches stats_server_fd() and calls stats_server_run(). */
#include "stats.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <inttypes.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "log.h"
#include "status_page.h"

static const char *const ms_names[STATS_MS_COUNT] = {"expvar", "heap"};

/* Go keeps the last 256 GC pauses in fixed rings; we report them empty. */
#define GO_PAUSE_RING 256

/* ---- what this process looks like ------------------------------------------------- */

typedef struct proc_sample {
    uint64_t heap_alloc; /* bytes in use by malloc, mmapped chunks included */
    uint64_t heap_sys;   /* bytes malloc has from the kernel */
    uint64_t heap_idle;  /* free bytes malloc still holds */
    uint64_t rss, stack; /* bytes, from /proc/self/status */
    uint64_t user_ms, system_ms;
    uint64_t open_fds, fd_soft, fd_hard;
    uint64_t cores;
} proc_sample;

/* "VmRSS:	    1234 kB" → bytes; 0 when the line is missing. */
static void read_status(proc_sample *p)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return;
    char line[256];
    unsigned long long kb;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
            p->rss = (uint64_t)kb * 1024;
        else if (sscanf(line, "VmStk: %llu kB", &kb) == 1)
            p->stack = (uint64_t)kb * 1024;
    }
    fclose(f);
}

static uint64_t count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    /* The directory stream's own descriptor was counted too. */
    return n ? n - 1 : 0;
}

static uint64_t tv_ms(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void sample_process(proc_sample *p)
{
    memset(p, 0, sizeof *p);
    struct mallinfo2 mi = mallinfo2();
    p->heap_alloc = mi.uordblks + mi.hblkhd;
    p->heap_sys = mi.arena + mi.hblkhd;
    p->heap_idle = mi.fordblks;
    read_status(p);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        p->user_ms = tv_ms(ru.ru_utime);
        p->system_ms = tv_ms(ru.ru_stime);
    }
    p->open_fds = count_open_fds();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        p->fd_soft = rl.rlim_cur;
        p->fd_hard = rl.rlim_max;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p->cores = cores > 0 ? (uint64_t)cores : 1;
}

/* ---- yajl helpers --------------------------------------------------------------- */

static void gen_str(yajl_gen g, const char *s)
{
    s = s ? s : "";
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

/* Text, not yajl_gen_integer: counters are unsigned and may pass INT64_MAX. */
static void gen_u64(yajl_gen g, uint64_t v)
{
    /* By hand: /stats writes 60 durations for each of up to 10,000 targets. */
    char t[24];
    size_t n = sizeof t;
    do
        t[--n] = (char)('0' + v % 10);
    while (v /= 10);
    yajl_gen_number(g, t + n, sizeof t - n);
}

static void kv_u64(yajl_gen g, const char *k, uint64_t v)
{
    gen_str(g, k);
    gen_u64(g, v);
}

static void kv_str(yajl_gen g, const char *k, const char *v)
{
    gen_str(g, k);
    gen_str(g, v);
}

static void open_map(yajl_gen g, const char *k)
{
    gen_str(g, k);
    yajl_gen_map_open(g);
}

static uint64_t uptime_ms(const stats *st, int64_t now_ms)
{
    return now_ms > st->start_ms ? (uint64_t)(now_ms - st->start_ms) : 0;
}

/* libbeat counts every event handed to the output in total; each hand-over
 * ends as exactly one of acked, dropped or retried. */
static uint64_t output_total(const stats *st)
{
    return st->acked + st->dropped + st->retried;
}

/* ---- /debug/vars ------------------------------------------------------------------- */

static void gen_memstats(yajl_gen g, const proc_sample *p)
{
    /* Field order is runtime.MemStats' own.  glibc keeps no cumulative or
     * per-object counts, so TotalAlloc is a lower bound (what is allocated
     * now) and Mallocs, Frees, HeapObjects are 0; there is no GC. */
    const struct {
        const char *k;
        uint64_t v;
    } f[] = {
        {"Alloc", p->heap_alloc},
        {"TotalAlloc", p->heap_alloc},
        {"Sys", p->rss},
        {"Lookups", 0},
        {"Mallocs", 0},
        {"Frees", 0},
        {"HeapAlloc", p->heap_alloc},
        {"HeapSys", p->heap_sys},
        {"HeapIdle", p->heap_idle},
        {"HeapInuse", p->heap_alloc},
        {"HeapReleased", 0},
        {"HeapObjects", 0},
        {"StackInuse", p->stack},
        {"StackSys", p->stack},
        {"MSpanInuse", 0},
        {"MSpanSys", 0},
        {"MCacheInuse", 0},
        {"MCacheSys", 0},
        {"BuckHashSys", 0},
        {"GCSys", 0},
        {"OtherSys", 0},
        {"NextGC", 0},
        {"LastGC", 0},
        {"PauseTotalNs", 0},
    };
    open_map(g, "memstats");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        kv_u64(g, f[i].k, f[i].v);
    static const char *const rings[] = {"PauseNs", "PauseEnd"};
    for (size_t r = 0; r < 2; r++) {
        gen_str(g, rings[r]);
        yajl_gen_array_open(g);
        for (int i = 0; i < GO_PAUSE_RING; i++)
            gen_u64(g, 0);
        yajl_gen_array_close(g);
    }
    kv_u64(g, "NumGC", 0);
    kv_u64(g, "NumForcedGC", 0);
    kv_u64(g, "GCCPUFraction", 0);
    gen_str(g, "EnableGC");
    yajl_gen_bool(g, 0);
    gen_str(g, "DebugGC");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
}

/* queue.disk: zero while the disk queue is off. */
static void gen_disk_queue(yajl_gen g, const stats *st)
{
    open_map(g, "disk");
    kv_u64(g, "bytes", st->spool_bytes);
    kv_u64(g, "corrupt", st->spool_corrupt);
    kv_u64(g, "events", st->spool_events);
    kv_u64(g, "full", st->spool_full);
    yajl_gen_map_close(g);
}

static void gen_reload(yajl_gen g, const stats *st)
{
    open_map(g, "reload");
    kv_u64(g, "applied", st->reloads);
    kv_u64(g, "failed", st->reload_failures);
    yajl_gen_map_close(g);
}

static void gen_own_counters(yajl_gen g, const stats *st, int64_t now_ms)
{
    open_map(g, "expvarbeat");
    open_map(g, "events");
    kv_u64(g, "acked", st->acked);
    kv_u64(g, "dropped", st->dropped);
    kv_u64(g, "duplicates", st->duplicates);
    kv_u64(g, "published", st->published);
    kv_u64(g, "retried", st->retried);
    kv_u64(g, "toomany", st->too_many);
    yajl_gen_map_close(g);
    open_map(g, "output");
    kv_u64(g, "batches", st->batches);
    kv_str(g, "type", st->output_name);
    kv_u64(g, "write_bytes", st->write_bytes);
    kv_u64(g, "write_errors", st->write_errors);
    yajl_gen_map_close(g);
    open_map(g, "queue");
    kv_u64(g, "active", st->queue_active);
    gen_disk_queue(g, st);
    yajl_gen_map_close(g);
    gen_reload(g, st);
    open_map(g, "scrapes");
    for (int i = 0; i < STATS_MS_COUNT; i++) {
        open_map(g, ms_names[i]);
        kv_u64(g, "failed", st->ms[i].failures);
        kv_u64(g, "ok", st->ms[i].success);
        kv_u64(g, "skipped", st->ms[i].skipped);
        kv_u64(g, "delayed", st->ms[i].delayed);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    kv_u64(g, "targets", st->targets);
    kv_u64(g, "uptime_ms", uptime_ms(st, now_ms));
    yajl_gen_map_close(g);
}

static void gen_vars(yajl_gen g, const stats *st, int64_t now_ms)
{
    proc_sample p;
    sample_process(&p);
    yajl_gen_map_open(g);
    gen_str(g, "cmdline");
    yajl_gen_array_open(g);
    for (int i = 0; i < st->argc; i++)
        gen_str(g, st->argv[i]);
    yajl_gen_array_close(g);
    gen_own_counters(g, st, now_ms);
    gen_memstats(g, &p);
    yajl_gen_map_close(g);
}

/* ---- /stats ------------------------------------------------------------------------ */

/* libbeat reports CPU "ticks" in milliseconds, the same number as time.ms. */
static void gen_cpu_times(yajl_gen g, const char *k, uint64_t ms, int with_value)
{
    open_map(g, k);
    kv_u64(g, "ticks", ms);
    open_map(g, "time");
    kv_u64(g, "ms", ms);
    yajl_gen_map_close(g);
    if (with_value)
        kv_u64(g, "value", ms);
    yajl_gen_map_close(g);
}

static void gen_beat(yajl_gen g, const stats *st, int64_t now_ms, const proc_sample *p)
{
    open_map(g, "beat");
    open_map(g, "cpu");
    gen_cpu_times(g, "system", p->system_ms, 0);
    gen_cpu_times(g, "total", p->system_ms + p->user_ms, 1);
    gen_cpu_times(g, "user", p->user_ms, 0);
    yajl_gen_map_close(g);
    open_map(g, "handles");
    open_map(g, "limit");
    kv_u64(g, "hard", p->fd_hard);
    kv_u64(g, "soft", p->fd_soft);
    yajl_gen_map_close(g);
    kv_u64(g, "open", p->open_fds);
    yajl_gen_map_close(g);
    open_map(g, "info");
    kv_str(g, "ephemeral_id", st->ephemeral_id);
    kv_str(g, "name", st->name);
    open_map(g, "uptime");
    kv_u64(g, "ms", uptime_ms(st, now_ms));
    yajl_gen_map_close(g);
    kv_str(g, "version", st->version);
    yajl_gen_map_close(g);
    open_map(g, "memstats");
    kv_u64(g, "memory_alloc", p->heap_alloc);
    kv_u64(g, "rss", p->rss);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

static void gen_libbeat(yajl_gen g, const stats *st)
{
    open_map(g, "libbeat");
    /* libbeat's own name for applied reloads (libbeat/cfgfile). */
    open_map(g, "config");
    kv_u64(g, "reloads", st->reloads);
    yajl_gen_map_close(g);
    open_map(g, "output");
    open_map(g, "events");
    kv_u64(g, "acked", st->acked);
    /* Outputs resolve every batch before the counters can be read. */
    kv_u64(g, "active", 0);
    kv_u64(g, "batches", st->batches);
    kv_u64(g, "dropped", st->dropped);
    kv_u64(g, "duplicates", st->duplicates);
    kv_u64(g, "failed", st->retried);
    kv_u64(g, "toomany", st->too_many);
    kv_u64(g, "total", output_total(st));
    yajl_gen_map_close(g);
    kv_str(g, "type", st->output_name);
    open_map(g, "write");
    kv_u64(g, "bytes", st->write_bytes);
    kv_u64(g, "errors", st->write_errors);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    open_map(g, "pipeline");
    open_map(g, "events");
    kv_u64(g, "active", st->queue_active);
    kv_u64(g, "dropped", st->dropped);
    kv_u64(g, "published", st->published);
    kv_u64(g, "retry", st->retried);
    kv_u64(g, "total", st->published);
    yajl_gen_map_close(g);
    open_map(g, "queue");
    kv_u64(g, "acked", st->acked);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

static void gen_target(const tstatus *s, void *arg)
{
    yajl_gen g = arg;
    uint32_t us[TSTATUS_HISTORY];
    size_t n = tstatus_history(s, us, NULL);
    yajl_gen_map_open(g);
    kv_str(g, "address", s->address);
    kv_u64(g, "consecutive_failures", s->consecutive_failures);
    gen_str(g, "durations_us");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++)
        gen_u64(g, us[i]);
    yajl_gen_array_close(g);
    kv_u64(g, "failures", s->failures);
    kv_u64(g, "last_duration_us", s->last_duration_us > 0 ? (uint64_t)s->last_duration_us : 0);
    kv_str(g, "last_error", s->last_error);
    kv_u64(g, "last_error_ms", s->last_error_wall_ms > 0 ? (uint64_t)s->last_error_wall_ms : 0);
    kv_u64(g, "last_scrape_ms", s->last_wall_ms > 0 ? (uint64_t)s->last_wall_ms : 0);
    kv_str(g, "metricsets", s->metricsets);
    kv_str(g, "namespace", s->ns);
    kv_u64(g, "period_ms", s->period_ms > 0 ? (uint64_t)s->period_ms : 0);
    kv_u64(g, "scrapes", s->scrapes);
    kv_str(g, "state", tstatus_state_name(tstatus_state(s)));
    kv_u64(g, "timeout_ms", s->timeout_ms > 0 ? (uint64_t)s->timeout_ms : 0);
    yajl_gen_map_close(g);
}

static void count_state(const tstatus *s, void *arg)
{
    ((uint64_t *)arg)[tstatus_state(s)]++;
}

/* What libbeat has no names for: per-target health (the status page's data)
 * and the disk queue and reload counters. */
static void gen_expvarbeat(yajl_gen g, const stats *st)
{
    uint64_t count[TSTATUS_STATES] = {0};
    if (st->each_target)
        st->each_target(st->each_target_owner, count_state, count);
    open_map(g, "expvarbeat");
    open_map(g, "queue");
    gen_disk_queue(g, st);
    yajl_gen_map_close(g);
    gen_reload(g, st);
    open_map(g, "summary");
    kv_u64(g, "failing", count[TSTATUS_FAILING]);
    kv_u64(g, "ok", count[TSTATUS_OK]);
    kv_u64(g, "pending", count[TSTATUS_PENDING]);
    kv_u64(g, "slow", count[TSTATUS_SLOW]);
    kv_u64(g, "total",
           count[TSTATUS_FAILING] + count[TSTATUS_OK] + count[TSTATUS_PENDING] +
               count[TSTATUS_SLOW]);
    yajl_gen_map_close(g);
    gen_str(g, "targets");
    yajl_gen_array_open(g);
    if (st->each_target)
        st->each_target(st->each_target_owner, gen_target, g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
}

static void gen_stats(yajl_gen g, const stats *st, int64_t now_ms)
{
    proc_sample p;
    sample_process(&p);
    yajl_gen_map_open(g);
    gen_beat(g, st, now_ms, &p);
    gen_expvarbeat(g, st);
    gen_libbeat(g, st);
    open_map(g, "metricbeat");
    open_map(g, "golang");
    for (int i = 0; i < STATS_MS_COUNT; i++) {
        open_map(g, ms_names[i]);
        kv_u64(g, "events", st->ms[i].events);
        kv_u64(g, "failures", st->ms[i].failures);
        /* Not in libbeat: turns given up because the last scrape was late. */
        kv_u64(g, "skipped", st->ms[i].skipped);
        kv_u64(g, "delayed", st->ms[i].delayed);
        kv_u64(g, "success", st->ms[i].success);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    open_map(g, "system");
    open_map(g, "cpu");
    kv_u64(g, "cores", p.cores);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

/* ---- / and /state -------------------------------------------------------------------- */

static void gen_info(yajl_gen g, const stats *st, int64_t now_ms)
{
    (void)now_ms;
    yajl_gen_map_open(g);
    kv_str(g, "beat", "expvarbeat");
    kv_str(g, "ephemeral_id", st->ephemeral_id);
    kv_str(g, "hostname", st->hostname);
    kv_str(g, "name", st->name);
    kv_str(g, "uuid", st->uuid);
    kv_str(g, "version", st->version);
    yajl_gen_map_close(g);
}

static void gen_state(yajl_gen g, const stats *st, int64_t now_ms)
{
    (void)now_ms;
    yajl_gen_map_open(g);
    open_map(g, "beat");
    kv_str(g, "name", st->name);
    yajl_gen_map_close(g);
    open_map(g, "host");
    kv_str(g, "hostname", st->hostname);
    yajl_gen_map_close(g);
    open_map(g, "output");
    kv_str(g, "name", st->output_name);
    yajl_gen_map_close(g);
    open_map(g, "queue");
    kv_str(g, "name", "mem");
    yajl_gen_map_close(g);
    open_map(g, "service");
    kv_str(g, "id", st->uuid);
    kv_str(g, "name", "expvarbeat");
    kv_str(g, "version", st->version);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

/* ---- public renderers ---------------------------------------------------------------- */

typedef void (*gen_fn)(yajl_gen g, const stats *st, int64_t now_ms);

/* Renders into a fresh generator; NULL only when out of memory. */
static yajl_gen render(gen_fn fn, const stats *st, int64_t now_ms, int pretty)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return NULL;
    if (pretty) {
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
    }
    fn(g, st, now_ms);
    return g;
}

static void render_to(gen_fn fn, const stats *st, int64_t now_ms, buf *out)
{
    yajl_gen g = render(fn, st, now_ms, 0);
    if (!g)
        return;
    const unsigned char *p;
    size_t len;
    if (yajl_gen_get_buf(g, &p, &len) == yajl_gen_status_ok)
        buf_append(out, p, len);
    yajl_gen_free(g);
}

void stats_render_vars(const stats *st, int64_t now_ms, buf *out)
{
    render_to(gen_vars, st, now_ms, out);
}

void stats_render_stats(const stats *st, int64_t now_ms, buf *out)
{
    render_to(gen_stats, st, now_ms, out);
}

void stats_render_info(const stats *st, buf *out)
{
    render_to(gen_info, st, 0, out);
}

/* ---- HTTP server ---------------------------------------------------------------------- */

struct stats_server {
    struct MHD_Daemon *d;
    const stats *st;
    int port;
    int epoll_fd;
    int started;
    char first_err[256]; /* MHD's first complaint during start, for the caller */
};

static const struct route {
    const char *path;
    gen_fn fn;
} routes[] = {
    {"/", gen_info},
    {"/stats", gen_stats},
    {"/debug/vars", gen_vars},
    {"/state", gen_state},
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { BODY_JSON, BODY_HTML };

static enum MHD_Result respond_bytes(struct MHD_Connection *c, unsigned status, int kind,
                                     int negotiated, const void *p, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (kind == BODY_HTML) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
        /* The page has no script: if escaping ever missed something, the
         * browser still runs nothing and loads nothing. */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    } else {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    }
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (negotiated)
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Takes g. */
static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, int negotiated,
                                    yajl_gen g)
{
    const unsigned char *p;
    size_t len;
    if (!g || yajl_gen_get_buf(g, &p, &len) != yajl_gen_status_ok) {
        if (g)
            yajl_gen_free(g);
        return MHD_NO;
    }
    enum MHD_Result ret = respond_bytes(c, status, BODY_JSON, negotiated, p, len);
    yajl_gen_free(g);
    return ret;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, yajl_gen g)
{
    return respond_json(c, status, 0, g);
}

static int has_arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, name, strlen(name), NULL,
                                         NULL) == MHD_YES;
}

static enum MHD_Result respond_page(struct MHD_Connection *c, const stats *st, int negotiated)
{
    buf b;
    buf_init(&b, 0);
    size_t rows = has_arg(c, "all") ? SIZE_MAX : STATUS_PAGE_ROWS;
    enum MHD_Result ret = MHD_NO;
    if (status_page_render(st, wall_ms(), rows, &b) == 0)
        ret = respond_bytes(c, MHD_HTTP_OK, BODY_HTML, negotiated, b.data, b.len);
    else
        log_error("http endpoint: out of memory rendering the status page");
    buf_free(&b);
    return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                     const char *what, const char *value)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (g) {
        yajl_gen_map_open(g);
        kv_str(g, "error", msg);
        kv_str(g, what, value);
        yajl_gen_map_close(g);
    }
    return respond(c, status, g);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    stats_server *s = cls;
    (void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
    /* HEAD is GET without a body; MHD leaves the body out itself. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "method",
                             method);
    if (strcmp(url, "/status") == 0)
        return respond_page(c, s->st, 0);
    /* / stays libbeat's JSON for API clients; browsers ask for HTML first. */
    int root = strcmp(url, "/") == 0;
    if (root &&
        status_page_wanted(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT)))
        return respond_page(c, s->st, 1);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(url, routes[i].path) != 0)
            continue;
        /* libbeat looks only at whether ?pretty is there, not at its value. */
        int pretty = has_arg(c, "pretty");
        return respond_json(c, MHD_HTTP_OK, root, render(routes[i].fn, s->st, wall_ms(), pretty));
    }
    return respond_error(c, MHD_HTTP_NOT_FOUND, "not found", "path", url);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    stats_server *s = cls;
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = '\0';
    if (s->started)
        log_warn("http endpoint: %s", line);
    else if (!s->first_err[0])
        snprintf(s->first_err, sizeof s->first_err, "%s", line);
}

/* http.host → a socket address; "localhost" is 127.0.0.1, as libbeat binds. */
static int resolve(const char *host, int port, struct sockaddr_storage *ss, int *v6, char *err,
                   size_t errlen)
{
    memset(ss, 0, sizeof *ss);
    if (!host || !*host || strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (strncmp(host, "unix://", 7) == 0 || strncmp(host, "npipe://", 8) == 0) {
        snprintf(err, errlen, "http.host %s: only TCP addresses are supported", host);
        return -1;
    }
    char h[256];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof h)
        snprintf(h, sizeof h, "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(h, sizeof h, "%s", host);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(h, NULL, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "http.host %s: %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    *v6 = ss->ss_family == AF_INET6;
    if (*v6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    return 0;
}

stats_server *stats_server_new(const char *host, int port, const stats *st, char *err,
                               size_t errlen)
{
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "http.port %d is not a TCP port", port);
        return NULL;
    }
    struct sockaddr_storage ss;
    int v6 = 0;
    if (resolve(host, port, &ss, &v6, err, errlen) != 0)
        return NULL;
    stats_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->st = st;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    const union MHD_DaemonInfo *fd_info =
        s->d ? MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    const union MHD_DaemonInfo *port_info =
        s->d ? MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!fd_info || !port_info) {
        snprintf(err, errlen, "http endpoint on %s:%d: %s", host ? host : "localhost", port,
                 s->first_err[0] ? s->first_err : "cannot start the server");
        stats_server_free(s);
        return NULL;
    }
    s->epoll_fd = fd_info->epoll_fd;
    s->port = port_info->port;
    s->started = 1;
    return s;
}

int stats_server_fd(const stats_server *s)
{
    return s->epoll_fd;
}

/* Bounds the catch-up loop in stats_server_run. */
#define STATS_RUN_ROUNDS 64

void stats_server_run(stats_server *s)
{
    /* MHD reads its sockets edge-triggered: work it already knows about (a
     * request read but not yet answered) does not wake the epoll fd again,
     * and MHD says so by a zero timeout.  Keep going until it stops. */
    for (int i = 0; i < STATS_RUN_ROUNDS; i++) {
        MHD_run(s->d);
        MHD_UNSIGNED_LONG_LONG t;
        if (MHD_get_timeout(s->d, &t) != MHD_YES || t > 0)
            break;
    }
}

int stats_server_port(const stats_server *s)
{
    return s->port;
}

void stats_server_free(stats_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    free(s);
}
