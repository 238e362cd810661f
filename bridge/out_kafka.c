/* out_kafka: output.kafka (spec §4.2) on librdkafka.  Owns the producer and
 * what each delivery report means for its event: every event of a batch
 * becomes one message (topic, key, partition number and value from
 * kafka_msg.c, properties from kafka_conf.c), and only that message's
 * delivery report sets the event's result: OK; DROP for what no retry can
 * cure (too large, invalid, not authorised); RETRY for an event-specific
 * failure librdkafka has already retried (its topic is unknown); WAIT for
 * everything about the cluster (outages, timeouts, leaders moving), which
 * costs the event nothing.  The batch is done when its last report is in.
 * Nothing blocks the loop: librdkafka writes to a pipe the loop watches
 * when reports are ready, and a timer polls while messages are in flight. */
/* pipe2 */
#define _GNU_SOURCE
#include "output.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

#include "buf.h"
#include "kafka_conf.h"
#include "kafka_msg.h"
#include "log.h"
#include "pipeline.h"

/* How often in-flight messages are polled for when the pipe stays quiet. */
#define SAFETY_POLL_MS 200
/* close(): the pipeline has already spent shutdown_timeout waiting for
 * acks; this is only for reports already on their way. */
#define CLOSE_FLUSH_MS 1000
#define LOG_WINDOW_MS 10000

typedef struct kafka_out kafka_out;
typedef struct kbatch kbatch;

/* A message's opaque: its event, and the number its partition comes from
 * (read by the partitioner, possibly on a librdkafka thread, before the
 * report; never written after produce). */
typedef struct kmsg {
    kbatch *kb;
    size_t i;
    uint32_t pv;
} kmsg;

struct kbatch {
    kafka_out *o;
    batch *b;
    size_t outstanding; /* produced, report not in yet */
    int sealed;         /* publish has produced all it will */
    size_t unsent;      /* WAIT or RETRY, for the summary line */
    char first_err[256];
    kbatch *next, *prev;
    kmsg m[];
};

/* Lines of one kind within a window are counted, not repeated: the same
 * text, or for librdkafka's errors the same error from any broker. */
typedef struct rate_log {
    char last[1024];
    int code; /* the last librdkafka error, or 0 */
    unsigned long long repeats;
    int64_t since_ms;
} rate_log;

struct kafka_out {
    const kafka_config *kc;
    stats *st;
    loop *l;
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    int pipe[2];
    loop_timer tick;
    kafka_router *router;
    buf meta;                    /* the @metadata object */
    rd_kafka_headers_t *headers; /* NULL: none */
    int reachable_only;          /* the partitioner's opaque: read-only after open */
    kbatch *live;
    rate_log drops, errors;
};

/* ---- logging ------------------------------------------------------------------ */

static void rate_flush(rate_log *r)
{
    if (r->repeats)
        log_warn("%llu more like: %s", r->repeats, r->last);
    r->repeats = 0;
}

static void __attribute__((format(printf, 4, 5)))
rate_logf(rate_log *r, enum log_level lvl, int code, const char *fmt, ...)
{
    char line[sizeof r->last];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int64_t now = loop_now_ms();
    int same = code ? code == r->code : strcmp(line, r->last) == 0;
    if (same && now - r->since_ms < LOG_WINDOW_MS) {
        r->repeats++;
        return;
    }
    rate_flush(r);
    log_msg(lvl, "%s", line);
    memcpy(r->last, line, sizeof line);
    r->code = code;
    r->since_ms = now;
}

/* librdkafka's own log lines (served on the main thread: log.queue).
 * Broker connection failures also come through on_error: those are
 * reported there, once. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *msg)
{
    kafka_out *o = rd_kafka_opaque(rk);
    if (level > 4 || strcmp(fac, "FAIL") == 0 || strcmp(fac, "ERROR") == 0 || !o)
        log_debug("kafka: %s: %s", fac, msg);
    else
        rate_logf(&o->errors, level <= 3 ? LOG_ERROR : LOG_WARN, 0, "kafka: %s", msg);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_out *o = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof why);
        log_error("kafka: the producer failed for good, nothing more can be delivered until "
                  "expvarbeat restarts: %s",
                  why);
        return;
    }
    rate_logf(&o->errors, LOG_WARN, err, "kafka: %s", reason);
}

/* ---- what a failure means ----------------------------------------------------- */

enum verdict { V_WAIT, V_RETRY, V_DROP };

/* Errors not listed are about the cluster, not the event: WAIT. */
static const struct {
    rd_kafka_resp_err_t err;
    enum verdict v;
} verdicts[] = {
    {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, V_DROP},
    {RD_KAFKA_RESP_ERR_INVALID_MSG, V_DROP},
    {RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE, V_DROP},
    {RD_KAFKA_RESP_ERR_INVALID_RECORD, V_DROP},
    {RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP, V_DROP},
    {RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, V_DROP},
    {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, V_DROP},
    {RD_KAFKA_RESP_ERR_POLICY_VIOLATION, V_DROP},
    {RD_KAFKA_RESP_ERR__INVALID_ARG, V_DROP},
    {RD_KAFKA_RESP_ERR__BAD_MSG, V_DROP},
    /* The event's own topic is missing: it may yet be created, but an
     * event naming a topic that never appears must not hold the rest up
     * forever, so these spend the event's max_retries. */
    {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, V_RETRY},
    {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, V_RETRY},
    {RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, V_RETRY},
    {RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, V_RETRY},
};

static enum verdict verdict_of(rd_kafka_resp_err_t err)
{
    for (size_t i = 0; i < sizeof verdicts / sizeof *verdicts; i++)
        if (verdicts[i].err == err)
            return verdicts[i].v;
    return V_WAIT;
}

static void note_unsent(kbatch *kb, const char *topic, int32_t part, rd_kafka_resp_err_t err)
{
    if (kb->unsent++ == 0)
        snprintf(kb->first_err, sizeof kb->first_err, "%s (topic %s, partition %d)",
                 rd_kafka_err2str(err), topic, (int)part);
}

/* The result for an event whose message failed with err. */
static out_result failed(kbatch *kb, size_t i, const char *topic, int32_t part,
                         rd_kafka_resp_err_t err)
{
    kafka_out *o = kb->o;
    const event_rec *ev = kb->b->events[i];
    enum verdict v = verdict_of(err);
    if (v == V_RETRY && o->kc->max_retries >= 0 && ev->attempts >= (unsigned)o->kc->max_retries) {
        rate_logf(&o->drops, LOG_WARN, 0, "dropping event after %u attempts: %s (topic %s)",
                  ev->attempts + 1, rd_kafka_err2str(err), topic);
        return OUT_DROP;
    }
    if (v == V_DROP) {
        rate_logf(&o->drops, LOG_WARN, 0, "dropping event: %s: %s (topic %s, partition %d)",
                  rd_kafka_err2name(err), rd_kafka_err2str(err), topic, (int)part);
        return OUT_DROP;
    }
    note_unsent(kb, topic, part, err);
    return v == V_RETRY ? OUT_RETRY : OUT_WAIT;
}

/* ---- batches ------------------------------------------------------------------ */

static kbatch *kbatch_new(kafka_out *o, batch *b)
{
    kbatch *kb = calloc(1, sizeof *kb + b->n * sizeof kb->m[0]);
    if (!kb)
        return NULL;
    kb->o = o;
    kb->b = b;
    kb->next = o->live;
    if (o->live)
        o->live->prev = kb;
    o->live = kb;
    return kb;
}

static void kbatch_unlink(kafka_out *o, kbatch *kb)
{
    if (kb->prev)
        kb->prev->next = kb->next;
    else
        o->live = kb->next;
    if (kb->next)
        kb->next->prev = kb->prev;
}

static void finish(kafka_out *o, kbatch *kb)
{
    batch *b = kb->b;
    if (kb->unsent)
        log_warn("kafka: %zu of %zu events not delivered yet, they will be sent again: %s",
                 kb->unsent, b->n, kb->first_err);
    kbatch_unlink(o, kb);
    free(kb);
    b->done(b, b->ctx);
}

/* Batches whose every report is in.  done may publish again: rescan. */
static void finish_ready(kafka_out *o)
{
    for (kbatch *kb = o->live; kb;) {
        if (kb->sealed && kb->outstanding == 0) {
            finish(o, kb);
            kb = o->live;
        } else {
            kb = kb->next;
        }
    }
}

static void serve(kafka_out *o)
{
    rd_kafka_poll(o->rk, 0);
    finish_ready(o);
    if (o->live)
        loop_arm(&o->tick, loop_now_ms() + SAFETY_POLL_MS);
}

static void on_tick(void *ctx)
{
    serve(ctx);
}

static void on_pipe(void *ctx, int fd, unsigned events)
{
    (void)events;
    char drain[64];
    while (read(fd, drain, sizeof drain) > 0)
        ;
    serve(ctx);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk, (void)opaque;
    kmsg *m = msg->_private;
    kbatch *kb = m->kb;
    out_result r = OUT_OK;
    if (msg->err) {
        kb->o->st->write_errors++;
        r = failed(kb, m->i, rd_kafka_topic_name(msg->rkt), msg->partition, msg->err);
    }
    kb->b->results[m->i] = r;
    kb->outstanding--;
}

/* libbeat's partitioners, on the number kafka_msg chose at produce time.
 * reachable_only picks among the partitions that have a leader now. */
static int32_t partition_cb(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                            int32_t cnt, void *rkt_opaque, void *msg_opaque)
{
    (void)key, (void)keylen;
    const kmsg *m = msg_opaque;
    const int *reachable_only = rkt_opaque;
    int32_t up = 0;
    for (int32_t p = 0; *reachable_only && p < cnt; p++)
        up += rd_kafka_topic_partition_available(rkt, p);
    if (up == 0) /* any partition may be used, or none is reachable: pick among all */
        return kafka_partition_of(m->pv, cnt);
    int32_t k = kafka_partition_of(m->pv, up);
    for (int32_t p = 0; p < cnt; p++)
        if (rd_kafka_topic_partition_available(rkt, p) && k-- == 0)
            return p;
    return kafka_partition_of(m->pv, cnt);
}

/* ---- producing ------------------------------------------------------------------ */

enum { P_PRODUCED, P_SETTLED, P_FULL };

static int drop_unbuildable(kafka_out *o, kbatch *kb, size_t i, const char *why)
{
    rate_logf(&o->drops, LOG_WARN, 0, "dropping event: %s", why);
    kb->b->results[i] = OUT_DROP;
    return P_SETTLED;
}

/* The message value into *value (malloc'ed); P_PRODUCED or P_SETTLED. */
static int build_value(kafka_out *o, kbatch *kb, size_t i, char **value, size_t *len)
{
    const event_rec *ev = kb->b->events[i];
    char why[512];
    buf v;
    buf_init(&v, 0);
    int rc = kafka_value_build(ev->json, ev->len, o->meta.data, o->meta.len, o->kc->codec_pretty,
                               &v, why, sizeof why);
    if (rc == KAFKA_VALUE_INVALID) {
        buf_free(&v);
        return drop_unbuildable(o, kb, i, why);
    }
    if (rc != 0 || !(*value = buf_detach(&v, len))) {
        buf_free(&v);
        log_error("kafka: out of memory building a message; the event will be retried");
        return P_SETTLED; /* stays WAIT */
    }
    return P_PRODUCED;
}

static int send_one(kafka_out *o, kbatch *kb, size_t i, const char *topic, const char *key,
                    int keylen)
{
    const event_rec *ev = kb->b->events[i];
    char *value = NULL;
    size_t vlen = 0;
    if (build_value(o, kb, i, &value, &vlen) != P_PRODUCED)
        return P_SETTLED;
    int64_t ts = kafka_event_ts(ev->json, ev->len);
    rd_kafka_headers_t *h = o->headers ? rd_kafka_headers_copy(o->headers) : NULL;
    const char *kp = keylen >= 0 ? key : NULL; /* no key at all, not an empty one */
    size_t kn = keylen >= 0 ? (size_t)keylen : 0;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        o->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(value, vlen), RD_KAFKA_V_KEY(kp, kn),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_OPAQUE(&kb->m[i]),
        RD_KAFKA_V_TIMESTAMP(ts >= 0 ? ts : 0), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        kb->outstanding++;
        return P_PRODUCED;
    }
    free(value); /* still ours when produce fails */
    if (h)
        rd_kafka_headers_destroy(h);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return P_FULL;
    o->st->write_errors++;
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        rate_logf(&o->drops, LOG_WARN, 0,
                  "dropping event: its message of %zu bytes is larger than max_message_bytes "
                  "(%d) (topic %s)",
                  vlen + (keylen > 0 ? (size_t)keylen : 0), o->kc->max_message_bytes, topic);
        kb->b->results[i] = OUT_DROP;
    } else {
        kb->b->results[i] = failed(kb, i, topic, RD_KAFKA_PARTITION_UA, err);
    }
    return P_SETTLED;
}

static int produce_one(kafka_out *o, kbatch *kb, size_t i)
{
    const event_rec *ev = kb->b->events[i];
    char topic[KAFKA_TOPIC_MAX], key[KAFKA_KEY_MAX], why[512], line[1024];
    int64_t ts = kafka_event_ts(ev->json, ev->len);
    if (ts < 0)
        ts = clock_wall_ms();
    if (kafka_route_topic(o->router, ev->json, ev->len, ts, topic, sizeof topic, why, sizeof why) <
        0) {
        snprintf(line, sizeof line, "setting kafka topic failed: %s", why);
        return drop_unbuildable(o, kb, i, line);
    }
    int keylen = kafka_route_key(o->router, ev->json, ev->len, ts, key, sizeof key);
    kb->m[i] = (kmsg){kb, i, 0};
    if (kafka_route_partition(o->router, ev->json, ev->len, key, keylen, &kb->m[i].pv, why,
                              sizeof why) != 0) {
        snprintf(line, sizeof line, "%s (topic %s)", why, topic);
        return drop_unbuildable(o, kb, i, line);
    }
    return send_one(o, kb, i, topic, key, keylen);
}

static void kafka_publish(void *self, batch *b)
{
    kafka_out *o = self;
    for (size_t i = 0; i < b->n; i++)
        b->results[i] = OUT_WAIT;
    kbatch *kb = kbatch_new(o, b);
    if (!kb) {
        log_error("kafka: out of memory taking a batch; its %zu events will be retried", b->n);
        b->done(b, b->ctx);
        return;
    }
    size_t i = 0;
    while (i < b->n && produce_one(o, kb, i) != P_FULL)
        i++;
    if (i < b->n)
        rate_logf(&o->errors, LOG_WARN, 0,
                  "kafka: the producer queue is full; %zu events will be sent again later",
                  b->n - i);
    kb->sealed = 1;
    /* done from the loop, never inside publish */
    loop_arm(&o->tick, kb->outstanding ? loop_now_ms() + SAFETY_POLL_MS : loop_now_ms());
}

static int kafka_poll(void *self)
{
    serve(self);
    return -1; /* the pipe and the tick bring us back */
}

/* ---- open and close --------------------------------------------------------------- */

static void kafka_close(void *self);

/* The partitioner on every topic's configuration: the default topic
 * configuration already holds the topic-level properties set above. */
static int set_partitioner(kafka_out *o, rd_kafka_conf_t *conf)
{
    rd_kafka_topic_conf_t *tc = rd_kafka_conf_get_default_topic_conf(conf);
    if (!tc) {
        if (!(tc = rd_kafka_topic_conf_new()))
            return -1;
        rd_kafka_conf_set_default_topic_conf(conf, tc);
    }
    rd_kafka_topic_conf_set_partitioner_cb(tc, partition_cb);
    rd_kafka_topic_conf_set_opaque(tc, &o->reachable_only);
    return 0;
}

/* librdkafka's configuration, refused combinations named by their options. */
static rd_kafka_t *producer_new(kafka_out *o, const kafka_config *kc, char *err, size_t errlen)
{
    kafka_props props;
    if (kafka_props_build(kc, &props, err, errlen) != 0)
        return NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_conf_t *conf = kafka_conf_new(&props, err, errlen);
    if (conf && o && set_partitioner(o, conf) != 0) {
        snprintf(err, errlen, "out of memory");
        rd_kafka_conf_destroy(conf);
        conf = NULL;
    }
    if (conf) {
        rd_kafka_conf_set_opaque(conf, o);
        rd_kafka_conf_set_log_cb(conf, on_log);
        if (o) {
            rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
            rd_kafka_conf_set_error_cb(conf, on_error);
        }
        char why[512];
        if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why))) {
            char keys[256];
            kafka_props_keys_in(&props, why, keys, sizeof keys);
            snprintf(err, errlen, "output.kafka%s%s: %s", keys[0] ? "." : "", keys, why);
            rd_kafka_conf_destroy(conf);
        }
    }
    kafka_props_free(&props);
    if (rk)
        rd_kafka_set_log_queue(rk, NULL); /* log.queue: lines come with rd_kafka_poll */
    return rk;
}

static int headers_new(kafka_out *o, const kvlist *hl)
{
    if (hl->n == 0)
        return 0;
    if (!(o->headers = rd_kafka_headers_new(hl->n)))
        return -1;
    for (size_t i = 0; i < hl->n; i++)
        if (rd_kafka_header_add(o->headers, hl->v[i].key, -1, hl->v[i].value ? hl->v[i].value : "",
                                -1) != RD_KAFKA_RESP_ERR_NO_ERROR)
            return -1;
    return 0;
}

/* The loop learns of reports through a pipe librdkafka writes to. */
static int wire_loop(kafka_out *o, char *err, size_t errlen)
{
    if (pipe2(o->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "kafka: pipe: %s", strerror(errno));
        return -1;
    }
    o->mainq = rd_kafka_queue_get_main(o->rk);
    rd_kafka_queue_io_event_enable(o->mainq, o->pipe[1], "1", 1);
    if (loop_watch(o->l, o->pipe[0], LOOP_IN, on_pipe, o) != 0) {
        snprintf(err, errlen, "kafka: cannot watch the report pipe: %s", strerror(errno));
        return -1;
    }
    loop_timer_add(o->l, &o->tick, on_tick, o);
    return 0;
}

static void *kafka_open(const config *c, loop *l, stats *st, char *err, size_t errlen)
{
    if (!l || !st) {
        snprintf(err, errlen, "the Kafka output needs the event loop");
        return NULL;
    }
    kafka_out *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const kafka_config *kc = &c->output.kafka;
    *o = (kafka_out){.kc = kc, .st = st, .pipe = {-1, -1}, .reachable_only = kc->reachable_only};
    buf_init(&o->meta, 0);
    int rc = -1;
    if (!(o->router = kafka_router_new(kc, (unsigned)clock_mono_ns(), err, errlen)))
        goto out;
    if (kafka_metadata_json("expvarbeat", EXPVARBEAT_VERSION, &o->meta) != 0 ||
        headers_new(o, &kc->headers) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!(o->rk = producer_new(o, kc, err, errlen)))
        goto out;
    o->l = l;
    rc = wire_loop(o, err, errlen);
out:
    if (rc != 0) {
        kafka_close(o);
        return NULL;
    }
    return o;
}

/* Reports still to come are turned into WAIT by purging; whatever has no
 * report even then was never acked and stays with the pipeline. */
static void drain_reports(kafka_out *o)
{
    if (!o->live)
        return;
    rd_kafka_flush(o->rk, CLOSE_FLUSH_MS);
    finish_ready(o);
    if (!o->live)
        return;
    rd_kafka_purge(o->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(o->rk, 0);
    finish_ready(o);
}

static void kafka_close(void *self)
{
    kafka_out *o = self;
    if (!o)
        return;
    if (o->rk)
        drain_reports(o);
    rate_flush(&o->drops);
    rate_flush(&o->errors);
    if (o->l) {
        loop_unwatch(o->l, o->pipe[0]);
        loop_timer_remove(o->l, &o->tick);
    }
    if (o->mainq) {
        rd_kafka_queue_io_event_enable(o->mainq, -1, NULL, 0);
        rd_kafka_queue_destroy(o->mainq);
    }
    if (o->rk)
        rd_kafka_destroy(o->rk);
    while (o->live) {
        kbatch *kb = o->live;
        kbatch_unlink(o, kb);
        free(kb);
    }
    for (int i = 0; i < 2; i++)
        if (o->pipe[i] >= 0)
            close(o->pipe[i]);
    kafka_router_free(o->router);
    buf_free(&o->meta);
    if (o->headers)
        rd_kafka_headers_destroy(o->headers);
    free(o);
}

/* ---- expvarbeat test output ----------------------------------------------------------- */

static int say_error(FILE *out, const char *why)
{
    fprintf(out, "ERROR %s\n", why);
    return 1;
}

/* "host:port", "[v6]:port", or a host alone (port 9092). */
static int split_host(const char *hp, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(hp, ':');
    const char *h = hp;
    size_t n = colon ? (size_t)(colon - hp) : strlen(hp);
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close || (close[1] != ':' && close[1] != '\0'))
            return -1;
        h = hp + 1;
        n = (size_t)(close - h);
        colon = close[1] == ':' ? close + 1 : NULL;
    }
    if (n == 0 || n >= hostlen || (colon && !colon[1]))
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    snprintf(port, portlen, "%s", colon ? colon + 1 : "9092");
    return strspn(port, "0123456789") == strlen(port) ? 0 : -1;
}

static int dial_one(const struct addrinfo *a, int64_t timeout_ms)
{
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
        return errno;
    int e = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        e = errno;
        if (e == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int n = poll(&p, 1, (int)timeout_ms);
            socklen_t len = sizeof e;
            e = n == 0 ? ETIMEDOUT : n < 0 ? errno : 0;
            if (n > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
                e = errno;
        }
    }
    close(fd);
    return e;
}

static int dial(FILE *out, const char *hp, int64_t timeout_ms)
{
    char host[256], port[16], why[512];
    fprintf(out, "    %s: dial up... ", hp);
    if (split_host(hp, host, sizeof host, port, sizeof port) != 0)
        return say_error(out, "not a host:port");
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0) {
        snprintf(why, sizeof why, "lookup %s: %s", host, gai_strerror(g));
        return say_error(out, why);
    }
    int e = ENOENT;
    for (const struct addrinfo *a = ai; a && e; a = a->ai_next)
        e = dial_one(a, timeout_ms);
    freeaddrinfo(ai);
    if (e == 0) {
        fprintf(out, "OK\n");
        return 0;
    }
    /* As Go's net.Dial says it: "connect: connection refused", "i/o timeout". */
    char what[128];
    snprintf(what, sizeof what, "%s", e == ETIMEDOUT ? "i/o timeout" : strerror(e));
    what[0] = (char)tolower((unsigned char)what[0]);
    snprintf(why, sizeof why, "dial tcp %s: %s%s", hp, e == ETIMEDOUT ? "" : "connect: ", what);
    return say_error(out, why);
}

/* Every partition of a topic the config names outright has a leader. */
static int topic_leaders(FILE *out, rd_kafka_t *rk, const char *name, int timeout_ms)
{
    fprintf(out, "  topic %s: ", name);
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, name, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err =
        t ? rd_kafka_metadata(rk, 0, t, &md, timeout_ms) : rd_kafka_last_error();
    char why[512] = "";
    if (err)
        snprintf(why, sizeof why, "%s", rd_kafka_err2str(err));
    else if (md->topic_cnt < 1 || md->topics[0].err)
        snprintf(
            why, sizeof why, "%s",
            rd_kafka_err2str(md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    for (int i = 0; !why[0] && i < md->topics[0].partition_cnt; i++)
        if (md->topics[0].partitions[i].leader < 0)
            snprintf(why, sizeof why, "partition %d has no leader",
                     (int)md->topics[0].partitions[i].id);
    if (!why[0])
        fprintf(out, "leaders OK (%d partitions)\n", md->topics[0].partition_cnt);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (t)
        rd_kafka_topic_destroy(t);
    return why[0] ? say_error(out, why) : 0;
}

static int test_topics(FILE *out, rd_kafka_t *rk, const kafka_config *kc)
{
    int rc = 0, timeout = (int)kc->timeout_ms;
    for (size_t i = 0; i <= kc->n_topics; i++) {
        const char *t = i < kc->n_topics ? kc->topics[i].topic : kc->topic;
        if (!t)
            continue;
        if (strstr(t, "%{"))
            fprintf(out, "  topic %s: set per event, not checked\n", t);
        else
            rc |= topic_leaders(out, rk, t, timeout);
    }
    return rc;
}

static int kafka_test(const config *c, FILE *out)
{
    const kafka_config *kc = &c->output.kafka;
    char err[1024];
    fprintf(out, "Kafka: ");
    for (size_t i = 0; i < kc->hosts.n; i++)
        fprintf(out, "%s%s", i ? "," : "", kc->hosts.v[i]);
    fprintf(out, "...\n  parse brokers... ");
    rd_kafka_t *rk = producer_new(NULL, kc, err, sizeof err);
    if (!rk)
        return say_error(out, err);
    fprintf(out, "OK\n  connection...\n");
    size_t up = 0;
    for (size_t i = 0; i < kc->hosts.n; i++)
        up += dial(out, kc->hosts.v[i], kc->timeout_ms) == 0;
    int rc = up < kc->hosts.n;
    if (up) {
        const struct rd_kafka_metadata *md = NULL;
        fprintf(out, "  metadata... ");
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, (int)kc->timeout_ms);
        if (e) {
            rc = say_error(out, rd_kafka_err2str(e));
        } else {
            fprintf(out, "OK (%d brokers)\n", md->broker_cnt);
            rd_kafka_metadata_destroy(md);
            rc |= test_topics(out, rk, kc);
        }
    }
    rd_kafka_destroy(rk);
    return rc;
}

const output_ops out_kafka_ops = {
    .name = "kafka",
    .open = kafka_open,
    .publish = kafka_publish,
    .poll = kafka_poll,
    .close = kafka_close,
    .test = kafka_test,
};
