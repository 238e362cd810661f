/* poller: due-time heap + libcurl multi socket interface on epoll (see
 * poller.h).  Scales with the number of active sockets, not targets: curl
 * tells us which sockets to watch, the heap tells us the next due target. */
#include "poller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "scrape.h"
#include "target.h"

#define STATS_TAG ((uint64_t)1 << 40) /* epoll data for the stats fd; sockets are < 2^31 */

struct poller {
    const config *cfg;
    const beat_info *bi;
    pipeline *pl;
    stats *st;
    target **due; /* min-heap on next_due_ms */
    size_t n;
    CURLM *multi;
    int epfd;
    int64_t curl_deadline_ms; /* monotonic; -1 = none */
    stats_server *srv;
    yajl_gen gen;
    size_t in_flight, failed, done;
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

/* ---- curl multi glue --------------------------------------------------- */

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    poller *p = userp;
    struct epoll_event ev = {.data.u64 = (uint64_t)s};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(p->epfd, EPOLL_CTL_DEL, s, NULL);
        curl_multi_assign(p->multi, s, NULL);
        return 0;
    }
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    if (!socketp) {
        if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST)
            epoll_ctl(p->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(p->multi, s, p); /* any non-NULL marks "registered" */
    } else {
        epoll_ctl(p->epfd, EPOLL_CTL_MOD, s, &ev);
    }
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    poller *p = userp;
    p->curl_deadline_ms = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
    return 0;
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

static int setup_multi(poller *p)
{
    p->multi = curl_multi_init();
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->gen = yajl_gen_alloc(NULL);
    if (!p->multi || p->epfd < 0 || !p->gen)
        return -1;
    yajl_gen_config(p->gen, yajl_gen_validate_utf8, 0);
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
    return 0;
}

poller *poller_new(const config *c, const beat_info *bi, pipeline *pl, stats *st, char *err,
                   size_t errlen)
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
                  .due = p->due,
                  .epfd = -1,
                  .curl_deadline_ms = -1,
                  .seed = (unsigned)clock_mono_ns()};
    if (setup_multi(p) != 0) {
        snprintf(err, errlen, "cannot set up the fetch loop: %s", strerror(errno));
        poller_free(p);
        return NULL;
    }
    for (size_t i = 0; i < c->n_modules; i++)
        if (c->modules[i].enabled && add_targets(p, &c->modules[i], err, errlen) != 0) {
            poller_free(p);
            return NULL;
        }
    st->targets = p->n;
    return p;
}

void poller_attach_stats(poller *p, stats_server *srv)
{
    p->srv = srv;
    if (!srv)
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = STATS_TAG};
    epoll_ctl(p->epfd, EPOLL_CTL_ADD, stats_server_fd(srv), &ev);
}

void poller_free(poller *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        if (p->due[i]->in_flight)
            curl_multi_remove_handle(p->multi, p->due[i]->easy);
        target_free(p->due[i]);
    }
    free(p->due);
    if (p->multi)
        curl_multi_cleanup(p->multi);
    if (p->epfd >= 0)
        close(p->epfd);
    if (p->gen)
        yajl_gen_free(p->gen);
    free(p);
}

/* ---- scheduling and completion ----------------------------------------- */

static void schedule_start(poller *p, int once)
{
    int64_t now = mono_ms(), max_delay = once ? 0 : p->cfg->max_start_delay_ms;
    for (size_t i = 0; i < p->n; i++) {
        /* Random start delay in [0, max_start_delay), as Metricbeat spreads load. */
        int64_t delay = max_delay > 0 ? (int64_t)(rand_r(&p->seed) % (unsigned)max_delay) : 0;
        p->due[i]->next_due_ms = now + delay;
    }
    for (size_t i = p->n / 2 + 1; i-- > 0;)
        if (i < p->n)
            heap_down(p, i);
}

static void start_scrape(poller *p, target *t)
{
    target_scrape_reset(t);
    t->start_wall_ms = clock_wall_ms();
    t->start_mono_ns = clock_mono_ns();
    CURLMcode rc = curl_multi_add_handle(p->multi, t->easy);
    if (rc != CURLM_OK) {
        log_error("cannot start scrape of %s: %s", t->url.uri, curl_multi_strerror(rc));
        pipeline_unreserve(p->pl);
        return;
    }
    t->in_flight = 1;
    p->in_flight++;
}

/* Starts every due target; returns ms until the next one is due (-1: none). */
static int64_t run_due(poller *p, int once)
{
    int64_t now = mono_ms();
    while (p->n) {
        target *t = p->due[0];
        if (t->next_due_ms == INT64_MAX)
            return -1; /* once: everything has started */
        if (t->next_due_ms > now)
            return t->next_due_ms - now;
        if (t->in_flight) {
            p->st->ms[t->ms].skipped++;
            log_debug("%s: previous scrape of %s still running; skipped", t->dataset, t->url.uri);
        } else if (pipeline_reserve(p->pl) != 0) {
            p->st->ms[t->ms].skipped++;
            log_warn("queue full; scrape of %s for %s skipped", t->url.uri, t->site.metricset);
        } else {
            start_scrape(p, t);
        }
        int64_t period = t->mod->period_ms > 0 ? t->mod->period_ms : 10000;
        /* Ticks stay on the start-relative grid; missed ticks are dropped, as with Go's Ticker. */
        t->next_due_ms += period;
        if (t->next_due_ms <= now)
            t->next_due_ms += ((now - t->next_due_ms) / period + 1) * period;
        if (once)
            t->next_due_ms = INT64_MAX;
        heap_down(p, 0);
    }
    return -1;
}

static void finish_scrape(poller *p, target *t, CURLcode rc)
{
    char msg[1024];
    curl_multi_remove_handle(p->multi, t->easy);
    t->in_flight = 0;
    p->in_flight--;
    p->done++;
    int failed = scrape_render(t, rc, p->bi, clock_mono_ns(), p->gen, msg, sizeof msg);
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
    pipeline_publish(p->pl, copy, len, clock_wall_ms());
}

static void drain_completions(poller *p)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        target *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        finish_scrape(p, t, m->data.result);
    }
}

static int min_timeout(int64_t a, int64_t b)
{
    if (a < 0)
        return b < 0 ? -1 : (int)b;
    if (b < 0)
        return (int)a;
    return (int)(a < b ? a : b);
}

static void wait_and_dispatch(poller *p, int timeout_ms, const sigset_t *waitmask)
{
    struct epoll_event evs[64];
    int running, n = epoll_pwait(p->epfd, evs, 64, timeout_ms, waitmask);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == STATS_TAG)
            continue; /* served below, on every turn */
        int flags = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                    ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                    ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(p->multi, (curl_socket_t)evs[i].data.u64, flags, &running);
    }
    if (p->curl_deadline_ms >= 0 && mono_ms() >= p->curl_deadline_ms) {
        p->curl_deadline_ms = -1;
        curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    drain_completions(p);
    /* Every turn, not only when readable: MHD also expires idle connections. */
    if (p->srv)
        stats_server_run(p->srv);
}

size_t poller_run(poller *p, volatile sig_atomic_t *stop, int once)
{
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    /* Signals are delivered only inside epoll_pwait, so a stop is never missed. */
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGTERM);
    schedule_start(p, once);
    while (!*stop && !(once && p->done == p->n)) {
        int64_t due = run_due(p, once);
        int64_t curl = p->curl_deadline_ms < 0 ? -1 : p->curl_deadline_ms - mono_ms();
        if (p->curl_deadline_ms >= 0 && curl < 0)
            curl = 0;
        int out = pipeline_poll(p->pl, clock_wall_ms());
        int timeout = min_timeout(min_timeout(due, curl), out);
        if (p->srv && (timeout < 0 || timeout > 1000))
            timeout = 1000; /* lets the HTTP server expire idle connections */
        wait_and_dispatch(p, timeout, &waitmask);
    }
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    return p->failed;
}
