/* pipeline: ring-buffer queue, batching and retry (see pipeline.h). */
#include "pipeline.h"

#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "spool.h"

#define BACKOFF_INIT_MS 1000
#define BACKOFF_MAX_MS 60000

struct pipeline {
    loop *l;
    loop_timer timer;
    const output_ops *ops;
    void *out;
    stats *st;
    event_rec **ring;
    size_t cap, head, count, reserved;
    size_t batch_max;
    int64_t flush_timeout_ms;
    int64_t oldest_ms; /* when the oldest queued event arrived */
    batch b;           /* the batch in flight, if b.n */
    int in_flight;
    int64_t backoff_ms, retry_at_ms;
    int64_t now_ms;       /* the clock of the current poll: outputs may finish batches inside it */
    int64_t last_trim_ms; /* release_freed_memory */
    unsigned seed;
    /* queue.disk: the ring is a read-ahead window over the spool. */
    spool *sp;
    size_t unsynced; /* appended since the last fdatasync: not yet accepted */
    int full;        /* the last reservation found the spool full */
    uint64_t max_size;
};

/* An event read from the spool: the ticket acks it there. */
typedef struct spooled {
    event_rec ev; /* first: the ring and batches hold &ev */
    uint64_t ticket;
} spooled;

int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_timer(void *ctx)
{
    pipeline *p = ctx;
    int64_t now = loop_now_ms();
    int wait = pipeline_poll(p, now);
    loop_arm(&p->timer, wait < 0 ? -1 : now + wait);
}

/* Something changed: let the timer decide on the next turn of the loop. */
static void kick(pipeline *p)
{
    if (p->l)
        loop_arm(&p->timer, loop_now_ms());
}

static void update_spool_stats(pipeline *p)
{
    p->st->spool_bytes = spool_bytes(p->sp);
    p->st->spool_events = spool_events(p->sp);
    p->st->spool_corrupt = spool_corrupt(p->sp);
    p->st->queue_active = spool_events(p->sp);
}

static int open_spool(pipeline *p, const config *c, char *err, size_t errlen)
{
    p->sp = spool_open(c->disk_queue.path, c->disk_queue.max_size, c->disk_queue.segment_size,
                       p->cap, err, errlen);
    if (!p->sp)
        return -1;
    /* The disk queue has no flush settings: events go as soon as they are
     * durable, up to a batch at a time. */
    p->flush_timeout_ms = 0;
    p->max_size = c->disk_queue.max_size;
    update_spool_stats(p);
    log_info("disk queue %s: %llu events (%llu bytes) waiting from earlier runs",
             c->disk_queue.path, (unsigned long long)spool_events(p->sp),
             (unsigned long long)spool_bytes(p->sp));
    return 0;
}

pipeline *pipeline_new(const config *c, const output_ops *ops, loop *l, stats *st, char *err,
                       size_t errlen)
{
    if (!ops) {
        snprintf(err, errlen, "the configured output is not available in this build");
        return NULL;
    }
    pipeline *p = calloc(1, sizeof *p);
    if (!p)
        goto oom;
    p->ops = ops;
    p->st = st;
    p->cap = c->queue.events > 0 ? (size_t)c->queue.events : 4096;
    p->batch_max = c->queue.flush_min_events > 0 ? (size_t)c->queue.flush_min_events : p->cap;
    p->flush_timeout_ms = c->queue.flush_timeout_ms;
    p->seed = (unsigned)clock_mono_ns();
    p->ring = calloc(p->cap, sizeof *p->ring);
    p->b.events = calloc(p->batch_max, sizeof *p->b.events);
    p->b.results = calloc(p->batch_max, sizeof *p->b.results);
    if (!p->ring || !p->b.events || !p->b.results)
        goto oom;
    if (c->disk_queue.enabled && open_spool(p, c, err, errlen) != 0) {
        pipeline_free(p);
        return NULL;
    }
    p->out = ops->open(c, l, st, err, errlen);
    if (!p->out) {
        pipeline_free(p);
        return NULL;
    }
    p->l = l;
    if (l)
        loop_timer_add(l, &p->timer, on_timer, p);
    st->output_name = ops->name;
    return p;
oom:
    snprintf(err, errlen, "out of memory creating the queue");
    pipeline_free(p);
    return NULL;
}

/* The spool bounds the queue by bytes on disk; scrapes wait while it is
 * full (counted once per full spell). */
static int reserve_spool(pipeline *p)
{
    if (!spool_room(p->sp, p->reserved)) {
        if (!p->full) {
            p->st->spool_full++;
            log_warn("disk queue is full (%llu bytes in %llu events, max_size %llu): scrapes "
                     "wait until the output catches up",
                     (unsigned long long)spool_bytes(p->sp),
                     (unsigned long long)spool_events(p->sp), (unsigned long long)p->max_size);
        }
        p->full = 1;
        update_spool_stats(p);
        return -1;
    }
    p->full = 0;
    p->reserved++;
    return 0;
}

int pipeline_reserve(pipeline *p)
{
    if (p->sp)
        return reserve_spool(p);
    if (p->count + p->reserved + (p->in_flight ? p->b.n : 0) >= p->cap)
        return -1;
    p->reserved++;
    return 0;
}

void pipeline_unreserve(pipeline *p)
{
    if (p->reserved)
        p->reserved--;
}

static void update_active(pipeline *p)
{
    p->st->queue_active = p->count + (p->in_flight ? p->b.n : 0);
}

/* Appended now, durable (and so accepted) at the next poll: one fdatasync
 * covers every event published in the same turn of the loop. */
static void publish_spool(pipeline *p, char *json, size_t len)
{
    char err[512];
    pipeline_unreserve(p);
    if (spool_append(p->sp, json, len, err, sizeof err) != 0) {
        log_error("disk queue: %s; event dropped", err);
        p->st->dropped++;
    } else {
        p->unsynced++;
    }
    free(json);
    update_spool_stats(p);
    kick(p);
}

void pipeline_publish(pipeline *p, char *json, size_t len, int64_t now_ms)
{
    if (p->sp) {
        publish_spool(p, json, len);
        return;
    }
    event_rec *ev = malloc(sizeof *ev);
    if (!ev) {
        /* Nothing else can be done without memory; say so once per event. */
        log_error("out of memory queueing an event; event dropped");
        free(json);
        pipeline_unreserve(p);
        p->st->dropped++;
        return;
    }
    *ev = (event_rec){json, len, 0};
    pipeline_unreserve(p);
    if (p->count == 0)
        p->oldest_ms = now_ms;
    p->ring[(p->head + p->count) % p->cap] = ev;
    p->count++;
    p->st->published++;
    update_active(p);
    kick(p);
}

static void event_rec_free(event_rec *ev)
{
    if (ev) {
        free(ev->json);
        free(ev);
    }
}

/* Retried events go back to the front, in their original order. */
static void requeue_front(pipeline *p, event_rec *ev)
{
    p->head = (p->head + p->cap - 1) % p->cap;
    p->ring[p->head] = ev;
    p->count++;
}

static void schedule_retry(pipeline *p, int64_t now_ms)
{
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_INIT_MS;
    if (p->backoff_ms > BACKOFF_MAX_MS)
        p->backoff_ms = BACKOFF_MAX_MS;
    /* Equal jitter, as libbeat: wait in [backoff/2, backoff). */
    int64_t half = p->backoff_ms / 2;
    p->retry_at_ms = now_ms + half + (int64_t)(rand_r(&p->seed) % (unsigned)(half ? half : 1));
}

/* OK or DROP: the event is done with, in memory and on disk. */
static void event_done(pipeline *p, event_rec *ev)
{
    if (p->sp)
        spool_ack(p->sp, ((spooled *)ev)->ticket);
    event_rec_free(ev);
}

static void commit_spool(pipeline *p)
{
    char err[512];
    if (spool_commit(p->sp, err, sizeof err) != 0)
        log_error("disk queue: %s", err);
    update_spool_stats(p);
}

/* Delivered documents leave holes all over glibc's heap; without a trim the
 * process keeps them resident and RSS creeps up for minutes after warm-up
 * (the soak showed +8.6 MiB over 5 minutes at 200 targets, with the bytes in
 * use flat).  A trim every TRIM_EVERY_MS costs well under a millisecond. */
#define TRIM_EVERY_MS 10000
static void release_freed_memory(pipeline *p)
{
    if (p->now_ms - p->last_trim_ms < TRIM_EVERY_MS)
        return;
    p->last_trim_ms = p->now_ms;
    malloc_trim(0);
}

static void on_batch_done(batch *b, void *ctx)
{
    pipeline *p = ctx;
    size_t retries = 0;
    p->in_flight = 0;
    for (size_t i = b->n; i-- > 0;) {
        event_rec *ev = b->events[i];
        switch (b->results[i]) {
        case OUT_OK:
            p->st->acked++;
            p->st->write_bytes += ev->len + 1;
            event_done(p, ev);
            break;
        case OUT_DROP:
            p->st->dropped++;
            event_done(p, ev);
            break;
        case OUT_RETRY:
            ev->attempts++;
            /* fall through */
        case OUT_WAIT:
            p->st->retried++;
            requeue_front(p, ev);
            retries++;
        }
    }
    b->n = 0;
    release_freed_memory(p);
    if (retries)
        schedule_retry(p, p->now_ms);
    else
        p->backoff_ms = 0;
    if (p->sp)
        commit_spool(p);
    else
        update_active(p);
    kick(p);
}

static int batch_due(const pipeline *p, int64_t now_ms)
{
    if (p->count == 0 || p->in_flight || now_ms < p->retry_at_ms)
        return 0;
    return p->count >= p->batch_max || now_ms - p->oldest_ms >= p->flush_timeout_ms;
}

static void send_batch(pipeline *p, int64_t now_ms)
{
    batch *b = &p->b;
    b->n = p->count < p->batch_max ? p->count : p->batch_max;
    for (size_t i = 0; i < b->n; i++) {
        b->events[i] = p->ring[p->head];
        b->results[i] = OUT_WAIT; /* until the output says otherwise */
        p->head = (p->head + 1) % p->cap;
    }
    p->count -= b->n;
    p->oldest_ms = now_ms;
    b->done = on_batch_done;
    b->ctx = p;
    p->in_flight = 1;
    p->st->batches++;
    p->ops->publish(p->out, b);
}

/* Makes this turn's appends durable, then reads ahead into the ring. */
static void step_spool(pipeline *p, int64_t now_ms)
{
    char err[512];
    if (p->unsynced) {
        if (spool_sync(p->sp, err, sizeof err) != 0)
            log_error("disk queue: %s", err);
        p->st->published += p->unsynced;
        p->unsynced = 0;
    }
    spool_rec r;
    int rc = 0;
    while (p->count + (p->in_flight ? p->b.n : 0) < p->cap &&
           (rc = spool_next(p->sp, &r, err, sizeof err)) == 1) {
        spooled *sv = malloc(sizeof *sv);
        if (!sv) {
            /* Still on disk: delivered after a restart. */
            log_error("out of memory reading the disk queue");
            free(r.data);
            break;
        }
        *sv = (spooled){{r.data, r.len, 0}, r.ticket};
        if (p->count == 0)
            p->oldest_ms = now_ms;
        p->ring[(p->head + p->count) % p->cap] = &sv->ev;
        p->count++;
    }
    if (rc < 0)
        log_error("disk queue: %s", err);
    update_spool_stats(p);
}

int pipeline_poll(pipeline *p, int64_t now_ms)
{
    p->now_ms = now_ms;
    if (p->sp)
        step_spool(p, now_ms);
    int wait = p->ops->poll ? p->ops->poll(p->out) : -1;
    if (batch_due(p, now_ms))
        send_batch(p, now_ms);
    if (p->count == 0 || p->in_flight)
        return wait;
    int64_t at = now_ms < p->retry_at_ms ? p->retry_at_ms : p->oldest_ms + p->flush_timeout_ms;
    int64_t ms = at > now_ms ? at - now_ms : 0;
    return wait >= 0 && wait < ms ? wait : (int)ms;
}

int pipeline_durable(const pipeline *p)
{
    return p->sp != NULL;
}

size_t pipeline_pending(const pipeline *p)
{
    if (p->sp)
        return (size_t)spool_events(p->sp);
    return p->count + (p->in_flight ? p->b.n : 0);
}

size_t pipeline_drain(pipeline *p, int64_t deadline_ms)
{
    /* At least one attempt, even with no time left: synchronous outputs
     * (console, file) deliver everything in it. */
    int64_t now = loop_now_ms();
    do {
        p->oldest_ms = now - p->flush_timeout_ms; /* whatever is queued goes now */
        int wait = pipeline_poll(p, now);
        int64_t left = deadline_ms - now;
        if (p->l && pipeline_pending(p) && left > 0)
            loop_run_once(p->l, wait >= 0 && wait < left ? wait : (int)(left < 1000 ? left : 1000),
                          NULL);
        now = loop_now_ms();
    } while (pipeline_pending(p) && now < deadline_ms);
    return pipeline_pending(p);
}

void pipeline_free(pipeline *p)
{
    if (!p)
        return;
    if (p->l)
        loop_timer_remove(p->l, &p->timer);
    if (p->ops && p->out)
        p->ops->close(p->out);
    for (size_t i = 0; p->ring && i < p->count; i++)
        event_rec_free(p->ring[(p->head + i) % p->cap]);
    if (p->in_flight)
        for (size_t i = 0; i < p->b.n; i++)
            event_rec_free(p->b.events[i]);
    spool_close(p->sp);
    free(p->ring);
    free(p->b.events);
    free(p->b.results);
    free(p);
}
