/* out_elasticsearch: output.elasticsearch (spec §4.1).  Owns what a batch
 * becomes on the wire and what each answer means for each event: the batch
 * is cut into bulk requests of at most bulk_max_size events, handed to
 * ready clients round-robin (es_client.c moves the bytes), and every item's
 * verdict (es_bulk.c reads it) turns into OK, RETRY or DROP.  No event is
 * OK unless Elasticsearch said so; every drop is logged with index, status
 * and Elasticsearch's reason.  A 413 halves the request; rejected events go
 * to the dead-letter index when one is configured.  The batch is done when
 * its last request has ended. */
#include "output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "es_bulk.h"
#include "es_client.h"
#include "es_conn.h"
#include "es_setup.h"
#include "fmtstr.h"
#include "log.h"
#include "pipeline.h"

#define DEFAULT_INDEX "expvarbeat-%{[agent.version]}"
#define NAME_MAX_LEN 512
#define DROP_LOG_WINDOW_MS 10000

/* index or pipeline: compiled once, evaluated once when it cannot vary. */
typedef struct es_fmt {
    const char *text;
    fmtstr *f;
    enum es_fmt_kind kind;
    char *fixed;        /* the value, once known, when kind != ES_FMT_EVENT */
    fmtstr **fields;    /* each %{[...]} of text alone, to find a missing field */
    const char **ftext; /* ... and name it: "[a.b]" */
    size_t n_fields;
} es_fmt;

/* One bulk request: some events of the batch. */
typedef struct es_req {
    size_t *pos; /* indexes into the batch */
    size_t n;
    int *dl_status; /* a dead-letter request: why each event was rejected */
    char **dl_reason;
    buf body;
    struct es_req *qnext;         /* waiting for a client */
    struct es_req *lnext, *lprev; /* every live request, to free on close */
} es_req;

/* Identical drop lines within a window are counted, not repeated. */
typedef struct drop_log {
    char last[1024];
    unsigned long long repeats;
    int64_t since_ms;
} drop_log;

typedef struct es_out {
    const es_config *ec;
    stats *st;
    es_group *g;
    es_fmt index, pipeline;
    int has_pipeline;
    batch *b; /* in flight */
    char **ev_index, **ev_pipeline;
    size_t outstanding; /* requests of b not yet answered */
    es_req *qhead, *qtail, *live;
    size_t rr;
    loop *l;
    loop_timer finish;
    drop_log drops;
} es_out;

/* ---- logging drops ------------------------------------------------------------ */

static void drops_flush(es_out *o)
{
    if (o->drops.repeats)
        log_warn("(the previous message was repeated %llu more times)", o->drops.repeats);
    o->drops.repeats = 0;
}

static void __attribute__((format(printf, 2, 3))) drop_logf(es_out *o, const char *fmt, ...)
{
    char line[sizeof o->drops.last];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int64_t now = loop_now_ms();
    if (strcmp(line, o->drops.last) == 0 && now - o->drops.since_ms < DROP_LOG_WINDOW_MS) {
        o->drops.repeats++;
        return;
    }
    drops_flush(o);
    log_warn("%s", line);
    memcpy(o->drops.last, line, sizeof line);
    o->drops.since_ms = now;
}

/* ---- index and pipeline names -------------------------------------------------- */

static int fmt_fields(es_fmt *m)
{
    for (const char *p = strstr(m->text, "%{["); p; p = strstr(p + 3, "%{[")) {
        const char *end = strchr(p, '}');
        if (!end)
            break;
        char *seg = strndup(p, (size_t)(end - p + 1));
        char err[128];
        fmtstr *f = seg ? fmtstr_compile(seg, err, sizeof err) : NULL;
        if (f) { /* named in messages as [a.b] */
            size_t inner = (size_t)(end - p) - 2;
            memmove(seg, seg + 2, inner);
            seg[inner] = '\0';
        }
        fmtstr **nf = realloc(m->fields, (m->n_fields + 1) * sizeof *nf);
        const char **nt = realloc(m->ftext, (m->n_fields + 1) * sizeof *nt);
        if (nf)
            m->fields = nf;
        if (nt)
            m->ftext = nt;
        if (!f || !nf || !nt) {
            fmtstr_free(f);
            free(seg);
            return f || !seg ? -1 : 0;
        }
        m->fields[m->n_fields] = f;
        m->ftext[m->n_fields++] = seg;
    }
    return 0;
}

static int fmt_init(es_fmt *m, const char *key, const char *text, char *err, size_t errlen)
{
    char why[256];
    m->text = text;
    m->kind = es_fmt_kind_of(text);
    if (!(m->f = fmtstr_compile(text, why, sizeof why))) {
        snprintf(err, errlen, "output.elasticsearch.%s: %s", key, why);
        return -1;
    }
    if (fmt_fields(m) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char out[NAME_MAX_LEN];
    int n = m->kind == ES_FMT_CONSTANT ? fmtstr_eval(m->f, "{}", 2, 0, out, sizeof out) : -1;
    if (n >= 0 && (size_t)n < sizeof out && !(m->fixed = strndup(out, (size_t)n))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static void fmt_free(es_fmt *m)
{
    fmtstr_free(m->f);
    for (size_t i = 0; i < m->n_fields; i++) {
        fmtstr_free(m->fields[i]);
        free((char *)m->ftext[i]);
    }
    free(m->fields);
    free(m->ftext);
    free(m->fixed);
}

/* Our documents start with {"@timestamp":"2023-10-17T08:05:34.853Z". */
static int64_t event_ts(const event_rec *ev)
{
    static const char key[] = "{\"@timestamp\":\"";
    struct tm tm = {0};
    int ms = 0;
    if (ev->len > sizeof key + 24 && memcmp(ev->json, key, sizeof key - 1) == 0 &&
        sscanf(ev->json + sizeof key - 1, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return (int64_t)timegm(&tm) * 1000 + ms;
    }
    return clock_wall_ms();
}

/* The first field reference the event lacks, for the log line. */
static const char *fmt_missing(const es_fmt *m, const event_rec *ev)
{
    char tmp[NAME_MAX_LEN];
    for (size_t i = 0; i < m->n_fields; i++)
        if (fmtstr_eval(m->fields[i], ev->json, ev->len, 0, tmp, sizeof tmp) < 0)
            return m->ftext[i];
    return NULL;
}

/* The value for one event: m->fixed when it cannot vary (computed on the
 * first event for agent.* formats), else a fresh string.  NULL on failure. */
static char *fmt_eval(es_fmt *m, const event_rec *ev)
{
    if (m->fixed)
        return m->fixed;
    char tmp[NAME_MAX_LEN];
    int64_t ts = m->kind == ES_FMT_EVENT ? event_ts(ev) : 0;
    int n = fmtstr_eval(m->f, ev->json, ev->len, ts, tmp, sizeof tmp);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return NULL;
    char *v = strndup(tmp, (size_t)n);
    if (v && m->kind != ES_FMT_EVENT)
        m->fixed = v;
    return v;
}

static int resolve_names(es_out *o, size_t i)
{
    const event_rec *ev = o->b->events[i];
    es_fmt *bad = NULL;
    if (!(o->ev_index[i] = fmt_eval(&o->index, ev)))
        bad = &o->index;
    else if (o->has_pipeline && !(o->ev_pipeline[i] = fmt_eval(&o->pipeline, ev)))
        bad = &o->pipeline;
    if (!bad)
        return 0;
    const char *field = fmt_missing(bad, ev);
    drop_logf(o, "dropping event: %s \"%s\" cannot be built for it: %s%s%s",
              bad == &o->index ? "index" : "pipeline", bad->text,
              field ? "field " : "the value is too long", field ? field : "",
              field ? " not found" : "");
    return -1;
}

static void free_names(es_out *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (o->index.kind == ES_FMT_EVENT)
            free(o->ev_index[i]);
        if (o->has_pipeline && o->pipeline.kind == ES_FMT_EVENT)
            free(o->ev_pipeline[i]);
    }
    free(o->ev_index);
    free(o->ev_pipeline);
    o->ev_index = o->ev_pipeline = NULL;
}

/* ---- requests ------------------------------------------------------------------- */

static es_req *req_new(es_out *o, size_t cap, int dead_letter)
{
    es_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->pos = calloc(cap ? cap : 1, sizeof *r->pos);
    if (dead_letter) {
        r->dl_status = calloc(cap, sizeof *r->dl_status);
        r->dl_reason = calloc(cap, sizeof *r->dl_reason);
    }
    if (!r->pos || (dead_letter && (!r->dl_status || !r->dl_reason))) {
        free(r->pos);
        free(r->dl_status);
        free(r->dl_reason);
        free(r);
        return NULL;
    }
    buf_init(&r->body, 0);
    r->lnext = o->live;
    if (o->live)
        o->live->lprev = r;
    o->live = r;
    return r;
}

static void req_free(es_out *o, es_req *r)
{
    if (r->lprev)
        r->lprev->lnext = r->lnext;
    else
        o->live = r->lnext;
    if (r->lnext)
        r->lnext->lprev = r->lprev;
    for (size_t i = 0; r->dl_reason && i < r->n; i++)
        free(r->dl_reason[i]);
    free(r->dl_reason);
    free(r->dl_status);
    free(r->pos);
    buf_free(&r->body);
    free(r);
}

static void enqueue(es_out *o, es_req *r, int front)
{
    o->outstanding++;
    r->qnext = NULL;
    if (front) {
        r->qnext = o->qhead;
        o->qhead = r;
        if (!o->qtail)
            o->qtail = r;
    } else {
        if (o->qtail)
            o->qtail->qnext = r;
        else
            o->qhead = r;
        o->qtail = r;
    }
}

static void finish_batch(es_out *o)
{
    batch *b = o->b;
    free_names(o, b->n);
    o->b = NULL;
    b->done(b, b->ctx);
}

/* A request has ended (its events' results are set, or stay RETRY). */
static void req_done(es_out *o, es_req *r)
{
    req_free(o, r);
    if (--o->outstanding == 0 && o->b)
        finish_batch(o);
}

static int encode(es_out *o, es_req *r)
{
    buf raw;
    buf_init(&raw, 0);
    int rc = 0;
    for (size_t k = 0; k < r->n && rc == 0; k++) {
        size_t i = r->pos[k];
        const event_rec *ev = o->b->events[i];
        if (r->dl_status)
            rc = es_bulk_append_dead_letter(&raw, o->ec->dead_letter_index, ev->json, ev->len,
                                            r->dl_status[k], r->dl_reason[k]);
        else
            rc = es_bulk_append(&raw, o->ev_index[i], o->has_pipeline ? o->ev_pipeline[i] : NULL,
                                ev->json, ev->len);
    }
    if (rc == 0 && o->ec->compression_level > 0)
        rc = es_gzip(raw.data, raw.len, o->ec->compression_level, &r->body);
    else if (rc == 0)
        rc = buf_append(&r->body, raw.data, raw.len);
    buf_free(&raw);
    return rc ? -1 : 0;
}

/* loadbalance: round-robin over ready clients.  Failover: one client at a
 * time, the first connected one in hosts order; the others stand by. */
static es_client *next_ready(es_out *o)
{
    size_t n = es_group_size(o->g);
    for (size_t k = 0; k < n; k++) {
        size_t i = o->ec->loadbalance ? (o->rr + k) % n : k;
        es_client *c = es_group_client(o->g, i);
        if (es_client_is_ready(c)) {
            o->rr = i + 1;
            return c;
        }
        if (!o->ec->loadbalance && es_client_is_connected(c))
            return NULL; /* the active one is busy */
    }
    return NULL;
}

/* Waiting requests go to ready clients; the rest wait for on_ready. */
static void dispatch(es_out *o)
{
    es_client *c;
    while (o->qhead && (c = next_ready(o)) != NULL) {
        es_req *r = o->qhead;
        if (!(o->qhead = r->qnext))
            o->qtail = NULL;
        if (encode(o, r) != 0) {
            log_error("out of memory encoding a bulk request; its %zu events will be retried",
                      r->n);
            req_done(o, r);
            continue;
        }
        es_client_bulk(c, r, r->body.data, r->body.len, o->ec->compression_level > 0);
    }
}

static void on_ready(void *owner, es_client *c)
{
    (void)c;
    dispatch(owner);
}

/* ---- answers -------------------------------------------------------------------- */

/* Only per-item 5xx other than 503 spend the max_retries budget; outages,
 * overload (429, 503) and whole-request failures wait for free. */
static void whole_failed(es_out *o, es_req *r)
{
    o->st->write_errors++;
    for (size_t k = 0; k < r->n; k++)
        o->b->results[r->pos[k]] = OUT_WAIT;
}

static const char *index_of(const es_out *o, const es_req *r, size_t i)
{
    return r->dl_status ? o->ec->dead_letter_index : o->ev_index[i];
}

static es_req *req_slice(es_out *o, const es_req *r, size_t from, size_t to)
{
    es_req *s = req_new(o, to - from, r->dl_status != NULL);
    for (size_t k = from; s && k < to; k++) {
        s->pos[s->n] = r->pos[k];
        if (r->dl_status) {
            s->dl_status[s->n] = r->dl_status[k];
            s->dl_reason[s->n] = strdup(r->dl_reason[k] ? r->dl_reason[k] : "");
        }
        s->n++;
    }
    return s;
}

/* 413: halves, in order, ahead of everything waiting; one event alone that
 * is still too large can never be indexed. */
static void split(es_out *o, es_req *r)
{
    if (r->n == 1) {
        size_t i = r->pos[0];
        o->b->results[i] = OUT_DROP;
        drop_logf(o,
                  "Cannot index event (status=413) into index %s: the request is too large for "
                  "Elasticsearch even with this event alone (%zu bytes), dropping event!",
                  index_of(o, r, i), o->b->events[i]->len);
        return;
    }
    es_req *a = req_slice(o, r, 0, r->n / 2), *b = req_slice(o, r, r->n / 2, r->n);
    if (!a || !b) {
        log_error("out of memory splitting a bulk request; its %zu events will be retried", r->n);
        if (a)
            req_free(o, a);
        if (b)
            req_free(o, b);
        return;
    }
    log_debug("bulk request of %zu events too large (413): splitting it in halves", r->n);
    enqueue(o, b, 1);
    enqueue(o, a, 1);
}

static out_result item_retry(es_out *o, const es_req *r, size_t i, const es_item *it)
{
    event_rec *ev = o->b->events[i];
    int spends = it->status != 429 && it->status != 503;
    if (it->status == 429)
        o->st->too_many++;
    if (spends && o->ec->max_retries >= 0 && ev->attempts >= (unsigned)o->ec->max_retries) {
        drop_logf(o, "dropping event after %u attempts: %d %s (index %s)", ev->attempts + 1,
                  it->status, it->reason, index_of(o, r, i));
        return OUT_DROP;
    }
    return spends ? OUT_RETRY : OUT_WAIT;
}

static int dead_letter_add(es_out *o, es_req **dl, size_t cap, size_t i, const es_item *it)
{
    if (!*dl && !(*dl = req_new(o, cap, 1)))
        return -1;
    es_req *d = *dl;
    d->pos[d->n] = i;
    d->dl_status[d->n] = it->status;
    d->dl_reason[d->n] = strdup(it->reason);
    d->n++;
    return 0;
}

static void item_apply(es_out *o, const es_req *r, size_t k, const es_item *it, es_req **dl)
{
    size_t i = r->pos[k];
    out_result *res = &o->b->results[i];
    switch (it->cls) {
    case ES_ITEM_OK:
        *res = OUT_OK;
        break;
    case ES_ITEM_DUPLICATE: /* the document is there already */
        o->st->duplicates++;
        *res = OUT_OK;
        break;
    case ES_ITEM_RETRY:
        *res = item_retry(o, r, i, it);
        break;
    case ES_ITEM_REJECT:
        if (!r->dl_status && o->ec->dead_letter_index && dead_letter_add(o, dl, r->n, i, it) == 0)
            break; /* RETRY until the dead-letter index answers */
        *res = OUT_DROP;
        drop_logf(o, "Cannot index event (status=%d) into index %s: %s, dropping event!",
                  it->status, index_of(o, r, i), it->reason);
        break;
    }
}

static int items(es_out *o, es_req *r, const es_reply *rep, char *err, size_t errlen)
{
    es_item *it = calloc(r->n, sizeof *it);
    char why[512];
    if (!it || es_bulk_response_parse(rep->body, rep->len, r->n, it, why, sizeof why) != 0) {
        snprintf(err, errlen, "failed to perform any bulk index operations: %s",
                 it ? why : "out of memory");
        free(it);
        whole_failed(o, r);
        return -1;
    }
    es_req *dl = NULL;
    for (size_t k = 0; k < r->n; k++)
        item_apply(o, r, k, &it[k], &dl);
    if (dl)
        enqueue(o, dl, 0);
    free(it);
    return 0;
}

static int bulk_done(void *owner, void *req, const es_reply *rep, char *err, size_t errlen)
{
    es_out *o = owner;
    es_req *r = req;
    int rc = 0;
    char reason[400];
    if (rep->status == 0) {
        snprintf(err, errlen, "failed to perform any bulk index operations: %s", rep->err);
        whole_failed(o, r);
        rc = -1;
    } else if (es_bulk_http_class(rep->status) == ES_HTTP_SPLIT) {
        split(o, r);
    } else if (es_bulk_http_class(rep->status) == ES_HTTP_RETRY_ALL) {
        es_error_reason(rep->body, rep->len, reason, sizeof reason);
        snprintf(err, errlen, "failed to perform any bulk index operations: %ld %s%s%s",
                 rep->status, es_status_text(rep->status), reason[0] ? ": " : "", reason);
        whole_failed(o, r);
        rc = -1;
    } else {
        rc = items(o, r, rep, err, errlen);
    }
    req_done(o, r);
    return rc;
}

/* ---- output_ops ----------------------------------------------------------------- */

static void on_finish(void *ctx)
{
    es_out *o = ctx;
    if (o->b && o->outstanding == 0)
        finish_batch(o);
}

static void es_close(void *self);

static void *es_open(const config *c, loop *l, stats *st, char *err, size_t errlen)
{
    if (!l || !st) {
        snprintf(err, errlen, "the Elasticsearch output needs the event loop");
        return NULL;
    }
    es_out *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->ec = &c->output.elasticsearch;
    o->st = st;
    o->l = l;
    loop_timer_add(l, &o->finish, on_finish, o);
    o->has_pipeline = o->ec->pipeline && *o->ec->pipeline;
    es_client_hooks h = {on_ready, bulk_done, o};
    if (fmt_init(&o->index, "index", o->ec->index ? o->ec->index : DEFAULT_INDEX, err, errlen) ||
        (o->has_pipeline && fmt_init(&o->pipeline, "pipeline", o->ec->pipeline, err, errlen)) ||
        !(o->g = es_group_new(c, l, &h, err, errlen))) {
        es_close(o);
        return NULL;
    }
    return o;
}

static int batch_names(es_out *o, size_t n)
{
    o->ev_index = calloc(n ? n : 1, sizeof *o->ev_index);
    o->ev_pipeline = calloc(n ? n : 1, sizeof *o->ev_pipeline);
    return o->ev_index && o->ev_pipeline ? 0 : -1;
}

static void es_publish(void *self, batch *b)
{
    es_out *o = self;
    o->b = b;
    size_t max = o->ec->bulk_max_size > 0 ? (size_t)o->ec->bulk_max_size : b->n;
    es_req *r = NULL;
    int oom = batch_names(o, b->n) != 0;
    for (size_t i = 0; i < b->n; i++) {
        b->results[i] = OUT_WAIT;
        if (oom || resolve_names(o, i) != 0) {
            b->results[i] = oom ? OUT_WAIT : OUT_DROP;
            continue;
        }
        if (!r && !(r = req_new(o, max, 0))) {
            oom = 1;
            continue;
        }
        r->pos[r->n++] = i;
        if (r->n == max) {
            enqueue(o, r, 0);
            r = NULL;
        }
    }
    if (r)
        enqueue(o, r, 0);
    if (oom)
        log_error("out of memory preparing a batch; its events will be retried");
    if (o->outstanding == 0)
        loop_arm(&o->finish, loop_now_ms()); /* done from the loop, never inside publish */
    dispatch(o);
}

static void es_close(void *self)
{
    es_out *o = self;
    if (!o)
        return;
    drops_flush(o);
    es_group_free(o->g); /* aborts transfers: their requests are freed below */
    while (o->live)
        req_free(o, o->live);
    if (o->b)
        free_names(o, o->b->n);
    loop_timer_remove(o->l, &o->finish);
    fmt_free(&o->index);
    fmt_free(&o->pipeline);
    free(o);
}

const output_ops out_elasticsearch_ops = {
    .name = "elasticsearch",
    .open = es_open,
    .publish = es_publish,
    .poll = NULL,
    .close = es_close,
    .test = es_test_output,
};
