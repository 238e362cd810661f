/* kafka_consume: reads topics back with librdkafka over TCP (the real
 * protocol) so the integration tests can see exactly what the daemon
 * produced.  Every partition is assigned at its beginning (no group
 * rebalancing), and each message becomes one JSON line on stdout:
 *   {"topic":T,"partition":P,"offset":O,"timestamp":MS,"key":K|null,
 *    "value":"<the value as a JSON string>","headers":{NAME:VALUE,...}}
 *
 *   kafka_consume -b BOOTSTRAP -t TOPIC [-t TOPIC]... [-n COUNT] [-e] [-w IDLE_MS]
 *
 * It stops after COUNT messages (-n), when every partition is at its end
 * (-e), or when nothing arrived for IDLE_MS (-w, default 5000).  The last
 * stderr line is "kafka_consume: N messages, B bytes received": B is every
 * byte librdkafka read from the brokers (from its statistics), so tests can
 * tell compressed batches from plain ones.  Exit 1 when a topic has no
 * partitions in time. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define POLL_MS 100
#define STATS_MS "100"

typedef struct opts {
    const char *bootstrap;
    const char **topics;
    int n_topics;
    long count; /* 0 = no limit */
    int until_eof;
    long idle_ms;
} opts;

/* Where each assigned partition stands: at its end (EOF seen and nothing
 * after it) or not. */
typedef struct part {
    const char *topic;
    int32_t partition;
    int at_eof;
} part;

typedef struct consumer {
    rd_kafka_t *rk;
    part *parts;
    size_t n_parts, cap_parts;
    yajl_gen g;
    long read;
    long long rx_bytes; /* from the latest statistics */
    long n_stats;       /* statistics seen so far */
} consumer;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_long(const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min)
        return -1;
    *out = v;
    return 0;
}

static int add_part(consumer *c, const char *topic, int32_t partition)
{
    if (c->n_parts == c->cap_parts) {
        size_t cap = c->cap_parts ? c->cap_parts * 2 : 16;
        part *p = realloc(c->parts, cap * sizeof *p);
        if (!p)
            return -1;
        c->parts = p;
        c->cap_parts = cap;
    }
    c->parts[c->n_parts++] = (part){topic, partition, 0};
    return 0;
}

static part *find_part(consumer *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        if (c->parts[i].partition == partition && !strcmp(c->parts[i].topic, topic))
            return &c->parts[i];
    }
    return NULL;
}

static int all_at_eof(const consumer *c)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        if (!c->parts[i].at_eof)
            return 0;
    }
    return 1;
}

/* The topic's partitions from the brokers' metadata, waiting (until
 * deadline) for the topic to exist. */
static int topic_partitions(consumer *c, const char *topic, int64_t deadline)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, topic, NULL);
    if (!rkt)
        return -1;
    int rc = -1;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int64_t left = deadline - now_ms();
        rd_kafka_resp_err_t err =
            rd_kafka_metadata(c->rk, 0, rkt, &md, left > 1000 ? 1000 : (int)(left > 0 ? left : 1));
        if (!err && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
            rc = 0;
            for (int i = 0; i < md->topics[0].partition_cnt && !rc; i++)
                rc = add_part(c, topic, md->topics[0].partitions[i].id);
        } else if (now_ms() >= deadline) {
            fprintf(stderr, "kafka_consume: topic %s: %s\n", topic,
                    rd_kafka_err2str(err             ? err
                                     : md->topic_cnt ? md->topics[0].err
                                                     : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (!rc || now_ms() >= deadline)
            break;
        poll(NULL, 0, POLL_MS); /* the topic may be created any moment */
    }
    rd_kafka_topic_destroy(rkt);
    return rc;
}

static int assign_all(consumer *c, const opts *o)
{
    int64_t deadline = now_ms() + o->idle_ms;
    for (int i = 0; i < o->n_topics; i++) {
        if (topic_partitions(c, o->topics[i], deadline))
            return -1;
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)c->n_parts);
    for (size_t i = 0; i < c->n_parts; i++) {
        rd_kafka_topic_partition_list_add(list, c->parts[i].topic, c->parts[i].partition)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) {
        fprintf(stderr, "kafka_consume: assign: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

static void gen_cstr(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

/* Bytes as a JSON string, or null plus a note when they are not UTF-8. */
static void gen_bytes(yajl_gen g, const void *p, size_t len)
{
    if (!p) {
        yajl_gen_null(g);
        return;
    }
    if (yajl_gen_string(g, p, len) == yajl_gen_invalid_string)
        gen_cstr(g, "<kafka_consume: not valid UTF-8>");
}

static void gen_headers(yajl_gen g, const rd_kafka_message_t *msg)
{
    rd_kafka_headers_t *hdrs = NULL;
    const char *name;
    const void *val;
    size_t size;
    yajl_gen_map_open(g);
    if (!rd_kafka_message_headers(msg, &hdrs)) {
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); i++) {
            gen_cstr(g, name);
            gen_bytes(g, val, size);
        }
    }
    yajl_gen_map_close(g);
}

static void print_message(consumer *c, const rd_kafka_message_t *msg)
{
    yajl_gen g = c->g;
    yajl_gen_map_open(g);
    gen_cstr(g, "topic");
    gen_cstr(g, rd_kafka_topic_name(msg->rkt));
    gen_cstr(g, "partition");
    yajl_gen_integer(g, msg->partition);
    gen_cstr(g, "offset");
    yajl_gen_integer(g, msg->offset);
    gen_cstr(g, "timestamp");
    yajl_gen_integer(g, rd_kafka_message_timestamp(msg, NULL));
    gen_cstr(g, "key");
    gen_bytes(g, msg->key, msg->key_len);
    gen_cstr(g, "value");
    gen_bytes(g, msg->payload, msg->len);
    gen_cstr(g, "headers");
    gen_headers(g, msg);
    yajl_gen_map_close(g);

    const unsigned char *out;
    size_t len;
    yajl_gen_get_buf(g, &out, &len);
    fwrite(out, 1, len, stdout);
    putchar('\n');
    fflush(stdout); /* a test may be counting lines as they come */
    yajl_gen_reset(g, NULL);
    yajl_gen_clear(g);
}

/* One polled event; returns 1 when it was a message. */
static int handle(consumer *c, rd_kafka_message_t *msg)
{
    part *p = msg->rkt ? find_part(c, rd_kafka_topic_name(msg->rkt), msg->partition) : NULL;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (p)
            p->at_eof = 1;
        return 0;
    }
    if (msg->err) {
        fprintf(stderr, "kafka_consume: %s\n", rd_kafka_message_errstr(msg));
        return 0;
    }
    if (p)
        p->at_eof = 0;
    print_message(c, msg);
    c->read++;
    return 1;
}

/* librdkafka's statistics: the sum of brokers.*.rxbytes. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    consumer *c = opaque;
    static const char *path[] = {"brokers", NULL};
    char *text = strndup(json, len);
    yajl_val root = text ? yajl_tree_parse(text, NULL, 0) : NULL;
    yajl_val brokers = root ? yajl_tree_get(root, path, yajl_t_object) : NULL;
    if (brokers) {
        static const char *rx[] = {"rxbytes", NULL};
        long long sum = 0;
        for (size_t i = 0; i < brokers->u.object.len; i++) {
            yajl_val v = yajl_tree_get(brokers->u.object.values[i], rx, yajl_t_number);
            if (v && YAJL_IS_INTEGER(v))
                sum += YAJL_GET_INTEGER(v);
        }
        c->rx_bytes = sum;
        c->n_stats++;
    }
    yajl_tree_free(root);
    free(text);
    return 0; /* librdkafka frees json */
}

/* Statistics emitted after the last fetch count every byte of it. */
static void settle_stats(consumer *c)
{
    long want = c->n_stats + 2;
    int64_t deadline = now_ms() + 3000;
    while (c->n_stats < want && now_ms() < deadline) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, POLL_MS);
        if (msg)
            rd_kafka_message_destroy(msg);
    }
}

static void consume(consumer *c, const opts *o)
{
    int64_t last = now_ms();
    while (!(o->count && c->read >= o->count) && !(o->until_eof && all_at_eof(c)) &&
           now_ms() - last < o->idle_ms) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, POLL_MS);
        if (!msg)
            continue;
        if (handle(c, msg))
            last = now_ms();
        rd_kafka_message_destroy(msg);
    }
    fflush(stdout);
    settle_stats(c);
}

static rd_kafka_t *new_consumer(consumer *c, const char *bootstrap)
{
    static const char *const settings[][2] = {
        {"group.id", "kafka_consume"},        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "true"},     {"auto.offset.reset", "earliest"},
        {"client.id", "kafka_consume"},       {"log_level", "4"},
        {"statistics.interval.ms", STATS_MS},
    };
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    for (size_t i = 0; !bad && i < sizeof settings / sizeof settings[0]; i++)
        bad = rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, sizeof errstr);
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_t *rk = bad ? NULL : rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka_consume: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    int opt;
    o->topics = calloc((size_t)argc, sizeof *o->topics);
    o->idle_ms = 5000;
    while (o->topics && (opt = getopt(argc, argv, "b:t:n:ew:")) != -1) {
        if (opt == 'b')
            o->bootstrap = optarg;
        else if (opt == 't')
            o->topics[o->n_topics++] = optarg;
        else if (opt == 'e')
            o->until_eof = 1;
        else if (!(opt == 'n' && !parse_long(optarg, 0, &o->count)) &&
                 !(opt == 'w' && !parse_long(optarg, 1, &o->idle_ms)))
            return -1;
    }
    return o->topics && o->bootstrap && o->n_topics && optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
    opts o = {0};
    if (parse_opts(argc, argv, &o)) {
        fprintf(stderr, "usage: kafka_consume -b BOOTSTRAP -t TOPIC [-t TOPIC]... [-n COUNT] "
                        "[-e] [-w IDLE_MS]\n");
        free(o.topics);
        return 2;
    }
    consumer c = {0};
    int rc = 1;
    c.g = yajl_gen_alloc(NULL);
    c.rk = c.g ? new_consumer(&c, o.bootstrap) : NULL;
    if (c.rk) {
        yajl_gen_config(c.g, yajl_gen_validate_utf8, 1);
        if (!assign_all(&c, &o)) {
            consume(&c, &o);
            rc = 0;
        }
        rd_kafka_consumer_close(c.rk);
        rd_kafka_destroy(c.rk);
    }
    fprintf(stderr, "kafka_consume: %ld messages, %lld bytes received\n", c.read, c.rx_bytes);
    if (c.g)
        yajl_gen_free(c.g);
    free(c.parts);
    free(o.topics);
    return rc;
}
