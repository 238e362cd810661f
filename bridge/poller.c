/* poller: due-time heap + libcurl multi socket interface on epoll (see
 * poller.h).  Scales with the number of active sockets, not targets: curl
 * tells us which sockets to watch, the heap tells us the next due target. */
#include "poller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlm.h"
#include "log.h"
#include "scrape.h"
#include "target.h"

#define QUEUE_FULL_RETRY_MS 100

struct poller {
    const config *cfg;
    const beat_info *bi;
    pipeline *pl;
    stats *st;
    loop *l;
    curlm *cm;
    loop_timer due_timer;
    target **due; /* min-heap on next_due_ms */
    size_t n;
    yajl_gen gen;
    size_t in_flight, failed, done;
    int once;
    unsigned seed;
};

static int64_t mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

/* ---- due-time heap --------------------------------------------------- */

static void heap_swap(poller *p, size_t a, size_t b)
{
    target *t = p->due[a];
    p->due[a] = p->due[b];
    p->due[b] = t;
    p->due[a]->heap_pos = a;
    p->due[b]->heap_pos = b;
}

static void heap_down(poller *p, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->n && p->due[l]->next_due_ms < p->due[m]->next_due_ms)
            m = l;
        if (r < p->n && p->due[r]->next_due_ms < p->due[m]->next_due_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(p, i, m);
        i = m;
    }
}

/* ---- construction ------------------------------------------------------ */

static int add_targets(poller *p, const module_config *m, char *err, size_t errlen)
{
    static const struct {
        unsigned bit;
        int ms;
    } kinds[] = {{MS_EXPVAR, STATS_MS_EXPVAR}, {MS_HEAP, STATS_MS_HEAP}};
    for (size_t h = 0; h < m->hosts.n; h++)
        for (size_t k = 0; k < 2; k++) {
            if (!(m->metricsets & kinds[k].bit))
                continue;
            char why[512];
            target *t = target_new(m, m->hosts.v[h], kinds[k].ms, why, sizeof why);
            if (!t) {
                snprintf(err, errlen, "%s:%d: hosts: %s: %s", m->file ? m->file : "?", m->line,
                         m->hosts.v[h], why);
                return -1;
            }
            tstatus_init(&t->status, t->url.uri, t->site.metricset,
                         kinds[k].bit == MS_EXPVAR ? m->expvar_namespace : "", m->period_ms,
                         m->timeout_ms);
            t->heap_pos = p->n;
            p->due[p->n++] = t;
        }
    return 0;
}

static size_t count_targets(const config *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_modules; i++) {
        const module_config *m = &c->modules[i];
        if (m->enabled)
            n += m->hosts.n * (size_t)(!!(m->metricsets & MS_EXPVAR) + !!(m->metricsets & MS_HEAP));
    }
    return n;
}

static void on_scrape_done(void *ctx, CURL *easy, CURLcode rc);
static void on_due(void *ctx);

static void each_target(void *owner, tstatus_visit_fn fn, void *arg)
{
    const poller *p = owner;
    for (size_t i = 0; i < p->n; i++)
        fn(&p->due[i]->status, arg);
}

poller *poller_new(const config *c, const beat_info *bi, pipeline *pl, stats *st, loop *l,
                   char *err, size_t errlen)
{
    poller *p = calloc(1, sizeof *p);
    size_t n = count_targets(c);
    if (!p || !(p->due = calloc(n ? n : 1, sizeof *p->due))) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *p = (poller){.cfg = c,
                  .bi = bi,
                  .pl = pl,
                  .st = st,
                  .l = l,
                  .due = p->due,
                  .seed = (unsigned)clock_mono_ns()};
    p->cm = curlm_new(l, on_scrape_done, p);
    p->gen = yajl_gen_alloc(NULL);
    if (!p->cm || !p->gen) {
        snprintf(err, errlen, "cannot set up the fetch loop: %s", strerror(errno));
        poller_free(p);
        return NULL;
    }
    yajl_gen_config(p->gen, yajl_gen_validate_utf8, 0);
    loop_timer_add(l, &p->due_timer, on_due, p);
    for (size_t i = 0; i < c->n_modules; i++)
        if (c->modules[i].enabled && add_targets(p, &c->modules[i], err, errlen) != 0) {
            poller_free(p);
            return NULL;
        }
    st->targets = p->n;
    st->each_target = each_target;
    st->each_target_owner = p;
    return p;
}

void poller_free(poller *p)
{
    if (!p)
        return;
    if (p->st && p->st->each_target_owner == p) { /* the endpoint outlives the targets */
        p->st->each_target = NULL;
        p->st->each_target_owner = NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (p->due[i]->in_flight)
            curlm_remove(p->cm, p->due[i]->easy);
        target_free(p->due[i]);
    }
    free(p->due);
    if (p->cm) {
        loop_timer_remove(p->l, &p->due_timer);
        curlm_free(p->cm);
    }
    if (p->gen)
        yajl_gen_free(p->gen);
    free(p);
}

int poller_finished(const poller *p)
{
    return p->once && p->done == p->n;
}

size_t poller_failed(const poller *p)
{
    return p->failed;
}

/* ---- scheduling and completion ----------------------------------------- */

static void arm_next(poller *p, int64_t wait_ms)
{
    if (wait_ms < 0)
        loop_arm(&p->due_timer, -1);
    else
        loop_arm(&p->due_timer, mono_ms() + wait_ms);
}

void poller_start(poller *p, int once)
{
    int64_t now = mono_ms(), max_delay = once ? 0 : p->cfg->max_start_delay_ms;
    p->once = once;
    for (size_t i = 0; i < p->n; i++) {
        /* Random start delay in [0, max_start_delay), as Metricbeat spreads load. */
        int64_t delay = max_delay > 0 ? (int64_t)(rand_r(&p->seed) % (unsigned)max_delay) : 0;
        p->due[i]->next_due_ms = now + delay;
    }
    for (size_t i = p->n / 2 + 1; i-- > 0;)
        if (i < p->n)
            heap_down(p, i);
    arm_next(p, p->n ? 0 : -1);
}

static void start_scrape(poller *p, target *t)
{
    char err[256];
    target_scrape_reset(t);
    t->start_wall_ms = clock_wall_ms();
    t->start_mono_ns = clock_mono_ns();
    if (curlm_add(p->cm, t->easy, err, sizeof err) != 0) {
        log_error("cannot start scrape of %s: %s", t->url.uri, err);
        pipeline_unreserve(p->pl);
        return;
    }
    t->in_flight = 1;
    p->in_flight++;
}

/* Ticks stay on the start-relative grid; missed ticks are dropped, as with
 * Go's Ticker.  once: a target never comes due again. */
static void advance(poller *p, target *t, int64_t now)
{
    int64_t period = t->mod->period_ms > 0 ? t->mod->period_ms : 10000;
    t->next_due_ms += period;
    if (t->next_due_ms <= now)
        t->next_due_ms += ((now - t->next_due_ms) / period + 1) * period;
    if (p->once)
        t->next_due_ms = INT64_MAX;
    t->delayed = 0;
    heap_down(p, 0);
}

/* Starts every due target; returns ms until the next one is due (-1: none). */
static int64_t run_due(poller *p)
{
    int64_t now = mono_ms();
    while (p->n) {
        target *t = p->due[0];
        if (t->next_due_ms == INT64_MAX)
            return -1;
        if (t->next_due_ms > now)
            return t->next_due_ms - now;
        if (t->in_flight) {
            p->st->ms[t->ms].skipped++;
            log_debug("%s: previous scrape of %s still running; turn skipped", t->dataset,
                      t->url.uri);
        } else if (pipeline_reserve(p->pl) != 0) {
            /* The queue is full: this turn waits for room (counted once). */
            if (!t->delayed++)
                p->st->ms[t->ms].delayed++;
            return QUEUE_FULL_RETRY_MS;
        } else {
            start_scrape(p, t);
        }
        advance(p, t, now);
    }
    return -1;
}

static void on_due(void *ctx)
{
    poller *p = ctx;
    arm_next(p, run_due(p));
}

static void publish_doc(poller *p, target *t)
{
    const unsigned char *doc;
    size_t len;
    yajl_gen_get_buf(p->gen, &doc, &len);
    char *copy = malloc(len + 1);
    if (!copy) {
        log_error("out of memory copying a document of %s; dropped", t->url.uri);
        pipeline_unreserve(p->pl);
        p->st->dropped++;
        return;
    }
    memcpy(copy, doc, len);
    copy[len] = '\0';
    pipeline_publish(p->pl, copy, len, loop_now_ms());
}

static void on_scrape_done(void *ctx, CURL *easy, CURLcode rc)
{
    poller *p = ctx;
    target *t = NULL;
    char msg[1024];
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    t->in_flight = 0;
    p->in_flight--;
    p->done++;
    int64_t now_ns = clock_mono_ns();
    int failed = scrape_render(t, rc, p->bi, now_ns, p->gen, msg, sizeof msg);
    tstatus_record(&t->status, clock_wall_ms(), (now_ns - t->start_mono_ns) / 1000,
                   failed ? msg : NULL);
    ms_stats *ms = &p->st->ms[t->ms];
    ms->events++;
    if (failed) {
        ms->failures++;
        p->failed++;
        log_error("Error fetching data for metricset golang.%s (%s): %s", t->site.metricset,
                  t->url.uri, msg);
    } else {
        ms->success++;
    }
    publish_doc(p, t);
}
