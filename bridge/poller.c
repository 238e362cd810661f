/* poller: due-time heap + libcurl multi socket interface on epoll (see
 * poller.h).  Scales with the number of active sockets, not targets: curl
 * tells us which sockets to watch, the heap tells us the next due target. */
#include "poller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>

#include "curlm.h"
#include "hosts_file.h"
#include "log.h"
#include "log_limit.h"
#include "modcmp.h"
#include "redact.h"
#include "scrape.h"
#include "shard.h"
#include "target.h"

#define QUEUE_FULL_RETRY_MS 100
#define FD_RESERVE 256             /* descriptors for everything that is not a scrape connection */
#define BODY_KEEP_MAX (256u << 10) /* idle body buffers keep at most this much */
#define LEASE_SPARE 16             /* idle leases kept beyond the scrapes in flight */
/* Scrapes started per loop turn: a burst of due targets (max_start_delay 0,
 * or many targets with one period) is let out in steps, so answers are taken
 * in between and the scrapes in flight, each holding a curl handle and a
 * body, stay a few hundred instead of thousands. */
#define START_BURST 32
#define START_PACE_MS 1

/* An old config that scrapes of retiring targets still read. */
typedef struct cfg_gen {
    config *c;
    size_t users;
    struct cfg_gen *next;
} cfg_gen;

struct poller {
    const config *cfg; /* the module entries the targets come from */
    config *owned;     /* cfg, once a reload gave it to the poller; NULL = main's */
    cfg_gen *gens;
    const beat_info *bi;
    pipeline *pl;
    stats *st;
    loop *l;
    curlm *cm;
    loop_timer due_timer;
    target **due; /* min-heap on next_due_ms */
    size_t n;
    target **retiring; /* removed by a reload with a scrape still in flight */
    size_t n_retiring;
    scrape_lease **leases; /* idle: easy handles and bodies lent to scrapes */
    size_t n_leases, cap_leases;
    yajl_gen gen;
    size_t in_flight, failed, done;
    int once, started;
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

static void on_scrape_done(void *ctx, CURL *easy, CURLcode rc);
static void on_due(void *ctx);

/* ---- the target plan: what a config asks for ---------------------------- */

/* One target a config asks for: a host of a module entry and the metricsets
 * one fetch of it serves. */
typedef struct spec {
    const module_config *m;
    const char *host; /* borrowed from the config or the plan's hosts files */
    unsigned bits;
    char *uri;
    uint64_t id;
} spec;

typedef struct plan {
    spec *v;
    size_t n, cap, owned; /* owned: in this instance's shard */
    strlist *files;       /* per module entry: hosts read from its hosts_file */
    size_t n_files;
} plan;

static void plan_free(plan *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->v[i].uri);
    free(pl->v);
    for (size_t i = 0; i < pl->n_files; i++)
        hosts_list_free(&pl->files[i]);
    free(pl->files);
}

static int plan_add(plan *pl, const module_config *m, const char *host, unsigned bits, char *err,
                    size_t errlen)
{
    if (pl->n == pl->cap) {
        spec *v = realloc(pl->v, (pl->cap = pl->cap ? pl->cap * 2 : 16) * sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        pl->v = v;
    }
    target_url u;
    char why[512];
    if (target_url_build(host, m->basepath, (bits & MS_EXPVAR) ? m->expvar_path : m->heap_path,
                         &m->query, m->username, m->password, &u, why, sizeof why) != 0) {
        char shown[512]; /* the host as written may hold a password */
        redact_urls(host, 1, shown, sizeof shown);
        snprintf(err, errlen, "%s:%d: hosts: %s: %s", m->file ? m->file : "?", m->line, shown, why);
        return -1;
    }
    pl->v[pl->n++] = (spec){m, host, bits, u.uri, target_identity(m->expvar_namespace, u.uri)};
    u.uri = NULL;
    target_url_free(&u);
    return 0;
}

/* One fetch serves both metricsets when their URLs match; else one each. */
static int plan_host(plan *pl, const module_config *m, const char *host, char *err, size_t errlen)
{
    unsigned both = MS_EXPVAR | MS_HEAP;
    if ((m->metricsets & both) != both || target_paths_shared(m, host))
        return plan_add(pl, m, host, m->metricsets & both, err, errlen);
    return plan_add(pl, m, host, MS_EXPVAR, err, errlen) ||
           plan_add(pl, m, host, MS_HEAP, err, errlen);
}

static int plan_module(plan *pl, const config *c, size_t i, char *err, size_t errlen)
{
    const module_config *m = &c->modules[i];
    if (!m->enabled || !(m->metricsets & (MS_EXPVAR | MS_HEAP)))
        return 0;
    for (size_t h = 0; h < m->hosts.n; h++)
        if (plan_host(pl, m, m->hosts.v[h], err, errlen) != 0)
            return -1;
    char *path = hosts_file_path(c, m);
    if (!path)
        return 0;
    int rc = hosts_file_read(path, m, &pl->files[i], err, errlen);
    free(path);
    for (size_t h = 0; rc == 0 && h < pl->files[i].n; h++)
        rc = plan_host(pl, m, pl->files[i].v[h], err, errlen);
    return rc;
}

static int plan_build(plan *pl, const config *c, char *err, size_t errlen)
{
    memset(pl, 0, sizeof *pl);
    if (c->n_modules && !(pl->files = calloc(c->n_modules, sizeof *pl->files))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pl->n_files = c->n_modules;
    for (size_t i = 0; i < c->n_modules; i++)
        if (plan_module(pl, c, i, err, errlen) != 0)
            return -1;
    int count = c->shard.count > 1 ? c->shard.count : 1;
    for (size_t i = 0; i < pl->n; i++) /* this instance's shard first */
        if (shard_of(pl->v[i].id, count) == c->shard.index) {
            spec s = pl->v[pl->owned];
            pl->v[pl->owned++] = pl->v[i];
            pl->v[i] = s;
        }
    return 0;
}

/* ---- matching a plan against the running targets ------------------------- */

static unsigned target_bits(const target *t)
{
    unsigned bits = 0;
    for (size_t i = 0; i < t->n_sets; i++)
        bits |= t->set[i].ms == STATS_MS_EXPVAR ? MS_EXPVAR : MS_HEAP;
    return bits;
}

static int cmp_identity(const void *a, const void *b)
{
    const target *x = *(target *const *)a, *y = *(target *const *)b;
    return x->identity < y->identity ? -1 : x->identity > y->identity;
}

/* A running target that would scrape and report exactly as s asks, not yet
 * claimed by another spec (old is sorted by identity). */
static target *find_same(target **old, size_t n, unsigned char *claimed, const spec *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (old[mid]->identity < s->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < n && old[i]->identity == s->id; i++)
        if (!claimed[i] && strcmp(old[i]->url.uri, s->uri) == 0 && target_bits(old[i]) == s->bits &&
            module_config_same(old[i]->mod, s->m)) {
            claimed[i] = 1;
            return old[i];
        }
    return NULL;
}

static target *make_target(const spec *s, char *err, size_t errlen)
{
    char why[512];
    target *t = target_new(s->m, s->host, s->bits, why, sizeof why);
    if (!t) {
        char shown[512]; /* the host as written may hold a password */
        redact_urls(s->host, 1, shown, sizeof shown);
        snprintf(err, errlen, "%s:%d: hosts: %s: %s", s->m->file ? s->m->file : "?", s->m->line,
                 shown, why);
        return NULL;
    }
    const char *names = s->bits == (MS_EXPVAR | MS_HEAP) ? "expvar,heap"
                        : s->bits == MS_EXPVAR           ? "expvar"
                                                         : "heap";
    tstatus_init(&t->status, t->url.uri, names,
                 (s->bits & MS_EXPVAR) && s->m->expvar_namespace ? s->m->expvar_namespace : "",
                 s->m->period_ms, s->m->timeout_ms);
    t->next_due_ms = INT64_MAX; /* scheduled by poller_start or the reload */
    return t;
}

/* The targets of the new plan: running ones kept where nothing changed,
 * others made.  On failure nothing running is touched. */
typedef struct next_set {
    target **v;
    unsigned char *is_new;
    const module_config **mods; /* the entry of the new config each one belongs to */
    size_t n;
    unsigned char *claimed; /* by old index */
    target **old;           /* the running targets, sorted by identity */
} next_set;

static void next_free(next_set *ns, int free_new)
{
    for (size_t i = 0; free_new && i < ns->n; i++)
        if (ns->is_new[i])
            target_free(ns->v[i]);
    free(ns->v);
    free(ns->is_new);
    free(ns->mods);
    free(ns->claimed);
    free(ns->old);
}

static int next_build(poller *p, const plan *pl, next_set *ns, char *err, size_t errlen)
{
    memset(ns, 0, sizeof *ns);
    ns->v = calloc(pl->owned ? pl->owned : 1, sizeof *ns->v);
    ns->is_new = calloc(pl->owned ? pl->owned : 1, 1);
    ns->mods = calloc(pl->owned ? pl->owned : 1, sizeof *ns->mods);
    ns->claimed = calloc(p->n ? p->n : 1, 1);
    ns->old = calloc(p->n ? p->n : 1, sizeof *ns->old);
    if (!ns->v || !ns->is_new || !ns->mods || !ns->claimed || !ns->old) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (p->n) { /* no NULL base for memcpy/qsort (UBSan) */
        memcpy(ns->old, p->due, p->n * sizeof *ns->old);
        qsort(ns->old, p->n, sizeof *ns->old, cmp_identity);
    }
    for (size_t i = 0; i < pl->owned; i++) {
        target *t = find_same(ns->old, p->n, ns->claimed, &pl->v[i]);
        ns->is_new[ns->n] = !t;
        if (!t && !(t = make_target(&pl->v[i], err, errlen)))
            return -1;
        ns->mods[ns->n] = pl->v[i].m;
        ns->v[ns->n++] = t;
    }
    return 0;
}

/* ---- committing a plan ---------------------------------------------------- */

/* One kept-alive connection per target: the open-file limit must hold them. */
static void fd_limit_for(size_t n_targets)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)n_targets + FD_RESERVE;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= need)
        log_info("open-file limit raised from %llu to %llu for %zu targets",
                 (unsigned long long)was, (unsigned long long)rl.rlim_cur, n_targets);
    else
        log_warn("%zu targets need about %llu open files (one kept-alive connection each), but "
                 "the hard limit is %llu: scrapes will fail with 'too many open files'; raise "
                 "it (ulimit -Hn, LimitNOFILE=) or use shard.count to split the targets",
                 n_targets, (unsigned long long)need, (unsigned long long)rl.rlim_max);
}

static void gen_release(poller *p, cfg_gen *g)
{
    if (!g || --g->users)
        return;
    for (cfg_gen **pp = &p->gens; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    config_free(g->c);
    free(g);
}

/* A removed target: freed now, or when its scrape in flight has finished
 * and its documents are in the queue. */
static int retire(poller *p, target *t, cfg_gen *g)
{
    if (!t->in_flight) {
        target_free(t);
        return 0;
    }
    target **v = realloc(p->retiring, (p->n_retiring + 1) * sizeof *v);
    if (!v) { /* cannot wait for it: abort, giving back its queue room */
        curlm_remove(p->cm, t->lease->easy);
        for (size_t i = 0; i < t->n_sets; i++)
            pipeline_unreserve(p->pl);
        p->in_flight--;
        target_free(t);
        return 0;
    }
    p->retiring = v;
    t->retiring = 1;
    t->gen = g;
    if (g)
        g->users++;
    p->retiring[p->n_retiring++] = t;
    return 1;
}

static void finish_retired(poller *p, target *t)
{
    for (size_t i = 0; i < p->n_retiring; i++)
        if (p->retiring[i] == t) {
            p->retiring[i] = p->retiring[--p->n_retiring];
            break;
        }
    cfg_gen *g = t->gen;
    target_free(t);
    gen_release(p, g);
}

static int64_t start_delay(poller *p)
{
    int64_t max_delay = p->once ? 0 : p->cfg->max_start_delay_ms;
    /* Random start delay in [0, max_start_delay), as Metricbeat spreads load. */
    return max_delay > 0 ? (int64_t)(rand_r(&p->seed) % (unsigned)max_delay) : 0;
}

static void heapify(poller *p)
{
    for (size_t i = 0; i < p->n; i++)
        p->due[i]->heap_pos = i;
    for (size_t i = p->n / 2 + 1; i-- > 0;)
        if (i < p->n)
            heap_down(p, i);
}

/* Swaps in the new target set and config; never fails. */
static void commit(poller *p, next_set *ns, config *c, cfg_gen *g, size_t *removed)
{
    if (g) { /* the old config, alive while retiring scrapes read it */
        g->c = p->owned;
        g->users = 1; /* held until the swap below is done */
        g->next = p->gens;
        p->gens = g;
        /* targets retired by a hosts-only reload read the current config too */
        for (size_t i = 0; i < p->n_retiring; i++)
            if (!p->retiring[i]->gen) {
                p->retiring[i]->gen = g;
                g->users++;
            }
    }
    for (size_t i = 0; i < p->n; i++)
        if (!ns->claimed[i]) {
            retire(p, ns->old[i], g);
            (*removed)++;
        }
    if (c) {
        p->owned = c;
        p->cfg = c;
    }
    for (size_t i = 0; i < ns->n; i++) {
        target *t = ns->v[i];
        t->mod = ns->mods[i]; /* equal settings, now read from the new config */
        for (size_t k = 0; k < t->n_sets; k++)
            t->set[k].site.mod = ns->mods[i];
        if (ns->is_new[i] && p->started)
            t->next_due_ms = mono_ms() + start_delay(p);
    }
    free(p->due);
    p->due = ns->v;
    p->n = ns->n;
    ns->v = NULL;
    heapify(p);
    if (g)
        gen_release(p, g);
}

static void each_target(void *owner, tstatus_visit_fn fn, void *arg)
{
    const poller *p = owner;
    for (size_t i = 0; i < p->n; i++)
        fn(&p->due[i]->status, arg);
}

static void log_plan(const poller *p, const plan *pl, size_t added, size_t removed)
{
    const config *c = p->cfg;
    if (c->shard.count > 1)
        log_info("shard %d/%d: %zu of %zu targets", c->shard.index, c->shard.count, pl->owned,
                 pl->n);
    if (p->started)
        log_info("reload: %zu targets added, %zu removed, %zu unchanged (%zu scrapes of removed "
                 "targets still finishing)",
                 added, removed, p->n - added, p->n_retiring);
}

int poller_reload(poller *p, config *c, char *err, size_t errlen)
{
    plan pl;
    next_set ns = {0};
    cfg_gen *g = NULL;
    err[0] = '\0';
    if (plan_build(&pl, c ? c : p->cfg, err, errlen) != 0 ||
        next_build(p, &pl, &ns, err, errlen) != 0 ||
        (c && p->owned && !(g = calloc(1, sizeof *g)))) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        next_free(&ns, 1);
        plan_free(&pl);
        return -1;
    }
    size_t added = 0, removed = 0;
    for (size_t i = 0; i < ns.n; i++)
        added += ns.is_new[i];
    commit(p, &ns, c, g, &removed);
    next_free(&ns, 0);
    fd_limit_for(p->n);
    /* Every target's connection stays in the pool between periods (curl's
     * default pool is 4 per transfer in flight, far too few when scrapes are
     * spread over the period). */
    curl_multi_setopt(curlm_handle(p->cm), CURLMOPT_MAXCONNECTS, (long)(p->n + 16));
    p->st->targets = p->n;
    if (p->started)
        loop_arm(&p->due_timer, mono_ms());
    log_plan(p, &pl, added, removed);
    plan_free(&pl);
    return 0;
}

poller *poller_new(const config *c, const beat_info *bi, pipeline *pl, stats *st, loop *l,
                   char *err, size_t errlen)
{
    poller *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *p =
        (poller){.cfg = c, .bi = bi, .pl = pl, .st = st, .l = l, .seed = (unsigned)clock_mono_ns()};
    p->cm = curlm_new(l, on_scrape_done, p);
    p->gen = yajl_gen_alloc(NULL);
    if (!p->cm || !p->gen) {
        snprintf(err, errlen, "cannot set up the fetch loop: %s", strerror(errno));
        poller_free(p);
        return NULL;
    }
    yajl_gen_config(p->gen, yajl_gen_validate_utf8, 0);
    loop_timer_add(l, &p->due_timer, on_due, p);
    if (poller_reload(p, NULL, err, errlen) != 0) {
        poller_free(p);
        return NULL;
    }
    st->each_target = each_target;
    st->each_target_owner = p;
    return p;
}

static void free_target(poller *p, target *t)
{
    if (t->in_flight)
        curlm_remove(p->cm, t->lease->easy);
    target_free(t);
}

void poller_free(poller *p)
{
    if (!p)
        return;
    if (p->st && p->st->each_target_owner == p) { /* the endpoint outlives the targets */
        p->st->each_target = NULL;
        p->st->each_target_owner = NULL;
    }
    for (size_t i = 0; i < p->n; i++)
        free_target(p, p->due[i]);
    for (size_t i = 0; i < p->n_retiring; i++)
        free_target(p, p->retiring[i]);
    free(p->due);
    free(p->retiring);
    for (size_t i = 0; i < p->n_leases; i++)
        scrape_lease_free(p->leases[i]);
    free(p->leases);
    while (p->gens) {
        cfg_gen *g = p->gens;
        p->gens = g->next;
        config_free(g->c);
        free(g);
    }
    config_free(p->owned);
    if (p->cm) {
        loop_timer_remove(p->l, &p->due_timer);
        curlm_free(p->cm);
    }
    if (p->gen)
        yajl_gen_free(p->gen);
    free(p);
}

const config *poller_config(const poller *p)
{
    return p->cfg;
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
    int64_t now = mono_ms();
    p->once = once;
    p->started = 1;
    for (size_t i = 0; i < p->n; i++)
        p->due[i]->next_due_ms = now + start_delay(p);
    heapify(p);
    arm_next(p, p->n ? 0 : -1);
}

static int reserve(poller *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pipeline_reserve(p->pl) != 0) {
            while (i--)
                pipeline_unreserve(p->pl);
            return -1;
        }
    return 0;
}

/* An easy handle and body buffer for a scrape: idle ones are kept (bodies
 * with their capacity, up to BODY_KEEP_MAX), so in steady state nothing is
 * allocated, and there are only about as many as scrapes in flight. */
static scrape_lease *lease_take(poller *p)
{
    if (p->n_leases)
        return p->leases[--p->n_leases];
    return scrape_lease_new();
}

static void lease_give(poller *p, scrape_lease *l)
{
    if (!l)
        return;
    if (p->n_leases >= LEASE_SPARE && p->n_leases >= p->in_flight) { /* a burst is over */
        scrape_lease_free(l);
        return;
    }
    if (l->body.cap > BODY_KEEP_MAX) { /* a rare huge body: do not keep its memory */
        buf_free(&l->body);
        buf_init(&l->body, 0);
    }
    if (p->n_leases == p->cap_leases) {
        size_t cap = p->cap_leases ? p->cap_leases * 2 : 16;
        scrape_lease **v = realloc(p->leases, cap * sizeof *v);
        if (!v) {
            scrape_lease_free(l);
            return;
        }
        p->leases = v;
        p->cap_leases = cap;
    }
    p->leases[p->n_leases++] = l;
}

static void start_scrape(poller *p, target *t)
{
    char err[256];
    scrape_lease *l = lease_take(p);
    if (!l || target_scrape_begin(t, l) != 0) {
        log_error("cannot start scrape of %s: out of memory", t->url.uri);
        lease_give(p, l);
        for (size_t i = 0; i < t->n_sets; i++)
            pipeline_unreserve(p->pl);
        return;
    }
    t->start_wall_ms = clock_wall_ms();
    t->start_mono_ns = clock_mono_ns();
    if (curlm_add(p->cm, l->easy, err, sizeof err) != 0) {
        log_error("cannot start scrape of %s: %s", t->url.uri, err);
        lease_give(p, target_scrape_end(t));
        for (size_t i = 0; i < t->n_sets; i++)
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
    size_t started = 0;
    while (p->n) {
        target *t = p->due[0];
        if (t->next_due_ms == INT64_MAX)
            return -1;
        if (t->next_due_ms > now)
            return t->next_due_ms - now;
        if (started == START_BURST)
            return START_PACE_MS;
        if (t->in_flight) {
            for (size_t i = 0; i < t->n_sets; i++)
                p->st->ms[t->set[i].ms].skipped++;
            log_debug("previous scrape of %s still running; turn skipped", t->url.uri);
        } else if (reserve(p, t->n_sets) != 0) {
            /* The queue is full: this turn waits for room (counted once). */
            for (size_t i = 0; !t->delayed && i < t->n_sets; i++)
                p->st->ms[t->set[i].ms].delayed++;
            t->delayed = 1;
            return QUEUE_FULL_RETRY_MS;
        } else {
            start_scrape(p, t);
            started++;
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

/* A document beyond the scrape's reservation (the expvar.max_fields
 * report): queued when there is room, else only logged. */
static void publish_extra(poller *p, target *t, const char *msg)
{
    log_warn("%s: %s", t->url.uri, msg);
    if (pipeline_reserve(p->pl) == 0)
        publish_doc(p, t);
    else
        log_warn("%s: queue full; the expvar.max_fields error document is dropped", t->url.uri);
}

/* One document per metricset from the one body; the first error is the
 * target's health. */
static void on_scrape_done(void *ctx, CURL *easy, CURLcode rc)
{
    poller *p = ctx;
    target *t = NULL;
    char msg[1024], first_err[TSTATUS_ERR_MAX] = "";
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    t->in_flight = 0;
    p->in_flight--;
    if (!t->retiring)
        p->done++;
    int64_t now_ns = clock_mono_ns();
    for (size_t i = 0; i < t->n_sets; i++) {
        int failed = scrape_render(t, i, rc, p->bi, now_ns, p->gen, msg, sizeof msg);
        ms_stats *ms = &p->st->ms[t->set[i].ms];
        ms->events++;
        if (failed) {
            ms->failures++;
            p->failed++;
            log_limited(LOG_ERROR, "Error fetching data for metricset golang.%s (%s): %s",
                        t->set[i].site.metricset, t->url.uri, msg);
            if (!first_err[0]) /* tstatus keeps a prefix of long messages */
                memcpy(first_err, msg, strnlen(msg, sizeof first_err - 1));
        } else {
            ms->success++;
        }
        publish_doc(p, t);
        if (!failed && scrape_render_cap_error(t, i, p->bi, now_ns, p->gen, msg, sizeof msg))
            publish_extra(p, t, msg);
    }
    tstatus_record(&t->status, clock_wall_ms(), (now_ns - t->start_mono_ns) / 1000, first_err);
    lease_give(p, target_scrape_end(t));
    if (t->retiring)
        finish_retired(p, t);
}
