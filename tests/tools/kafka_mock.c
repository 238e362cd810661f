/* kafka_mock: a real Kafka peer for the integration tests.  It runs
 * librdkafka's mock cluster (brokers listening on loopback TCP, speaking the
 * real protocol), prints "bootstrap HOST:PORT,..." as its first stdout line,
 * then takes fault commands, one per stdin line, answering each with one
 * "ok" or "error <why>" line, until EOF or "quit".
 *
 *   kafka_mock [-n BROKERS] [-t TOPIC:PARTITIONS]...
 *
 * Commands: down all|ID, up all|ID, rtt all|ID MS, topic NAME PARTITIONS
 * (partition p led by broker p % BROKERS + 1, as are -t topics),
 * leader TOPIC PARTITION ID|-1 (-1: no leader, as when its replicas are down),
 * errors API COUNT ERRNAME..., produce-errors COUNT ERRNAME..., clear API
 * (cluster-wide: the next COUNT such requests to any broker fail, cycling
 * through the names), broker-errors all|ID API COUNT ERRNAME... (per broker,
 * so that "pending all|ID API" can answer "ok N": how many are still to be
 * hit), quit.  Error names are librdkafka's (REQUEST_TIMED_OUT, _TRANSPORT). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_ARGS 64
#define MAX_ERRORS 1000

typedef struct mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    int n_brokers;
} mock;

/* Kafka protocol request types by the names tests use. */
static const struct {
    const char *name;
    int16_t key;
} api_names[] = {
    {"produce", 0},  {"fetch", 1},        {"listoffsets", 2},
    {"metadata", 3}, {"apiversions", 18}, {"initproducerid", 22},
};

static int reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    return 0;
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_api(const char *s, int16_t *key)
{
    for (size_t i = 0; i < sizeof api_names / sizeof api_names[0]; i++) {
        if (!strcasecmp(s, api_names[i].name)) {
            *key = api_names[i].key;
            return 0;
        }
    }
    long v;
    if (parse_int(s, 0, 100, &v))
        return -1;
    *key = (int16_t)v;
    return 0;
}

/* An error by librdkafka's name, with or without the RD_KAFKA_RESP_ERR_
 * prefix, or by number. */
static int parse_err(const char *s, rd_kafka_resp_err_t *err)
{
    static const char prefix[] = "RD_KAFKA_RESP_ERR_";
    if (!strncmp(s, prefix, sizeof prefix - 1))
        s += sizeof prefix - 1;
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && !strcasecmp(s, descs[i].name)) {
            *err = descs[i].code;
            return 0;
        }
    }
    long v;
    if (parse_int(s, -200, 200, &v))
        return -1;
    *err = (rd_kafka_resp_err_t)v;
    return 0;
}

/* "all" or one broker id → the range of ids to act on. */
static int parse_brokers(const mock *m, const char *s, int *first, int *last)
{
    long v;
    if (!strcmp(s, "all")) {
        *first = 1;
        *last = m->n_brokers;
        return 0;
    }
    if (parse_int(s, 1, m->n_brokers, &v))
        return -1;
    *first = *last = (int)v;
    return 0;
}

static int updown(mock *m, int argc, char **argv, int up)
{
    int first, last;
    if (argc != 2 || parse_brokers(m, argv[1], &first, &last))
        return reply("error usage: %s all|1..%d", argv[0], m->n_brokers);
    for (int id = first; id <= last; id++) {
        rd_kafka_resp_err_t err =
            up ? rd_kafka_mock_broker_set_up(m->mc, id) : rd_kafka_mock_broker_set_down(m->mc, id);
        if (err)
            return reply("error broker %d: %s", id, rd_kafka_err2str(err));
    }
    return reply("ok");
}

static int cmd_down(mock *m, int argc, char **argv)
{
    return updown(m, argc, argv, 0);
}

static int cmd_up(mock *m, int argc, char **argv)
{
    return updown(m, argc, argv, 1);
}

static int cmd_rtt(mock *m, int argc, char **argv)
{
    int first, last;
    long ms;
    if (argc != 3 || parse_brokers(m, argv[1], &first, &last) || parse_int(argv[2], 0, 600000, &ms))
        return reply("error usage: rtt all|1..%d MS", m->n_brokers);
    for (int id = first; id <= last; id++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(m->mc, id, (int)ms);
        if (err)
            return reply("error broker %d: %s", id, rd_kafka_err2str(err));
    }
    return reply("ok");
}

/* Partition p is led by broker p % n + 1, so that every broker leads some
 * partition (the mock otherwise picks leaders at random) and a test knows
 * which partitions "down ID" stalls. */
static int create_topic(mock *m, const char *name, long partitions, char *why, size_t len)
{
    int rf = m->n_brokers < 3 ? m->n_brokers : 3;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(m->mc, name, (int)partitions, rf);
    for (long p = 0; !err && p < partitions; p++)
        err = rd_kafka_mock_partition_set_leader(m->mc, name, (int32_t)p,
                                                 (int32_t)(p % m->n_brokers) + 1);
    if (err) {
        snprintf(why, len, "topic %s: %s", name, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

static int cmd_topic(mock *m, int argc, char **argv)
{
    long parts;
    char why[256];
    if (argc != 3 || parse_int(argv[2], 1, 10000, &parts))
        return reply("error usage: topic NAME PARTITIONS");
    if (create_topic(m, argv[1], parts, why, sizeof why))
        return reply("error %s", why);
    return reply("ok");
}

static int cmd_leader(mock *m, int argc, char **argv)
{
    long part, id;
    if (argc != 4 || parse_int(argv[2], 0, 10000, &part) ||
        (strcmp(argv[3], "-1") != 0 && parse_int(argv[3], 1, m->n_brokers, &id)))
        return reply("error usage: leader TOPIC PARTITION 1..%d|-1", m->n_brokers);
    if (!strcmp(argv[3], "-1"))
        id = -1;
    rd_kafka_resp_err_t err =
        rd_kafka_mock_partition_set_leader(m->mc, argv[1], (int32_t)part, (int32_t)id);
    if (err)
        return reply("error %s", rd_kafka_err2str(err));
    return reply("ok");
}

/* Pushes COUNT errors, cycling through the names given, onto the cluster's
 * stack for one request type: the next COUNT such requests fail. */
static int push_errors(mock *m, int16_t api, const char *count, int n_names, char **names)
{
    long cnt;
    rd_kafka_resp_err_t errs[MAX_ERRORS];
    if (parse_int(count, 1, MAX_ERRORS, &cnt) || n_names < 1)
        return reply("error usage: COUNT ERRNAME...");
    for (int i = 0; i < n_names; i++) {
        if (parse_err(names[i], &errs[i]))
            return reply("error unknown error name %s", names[i]);
    }
    for (long i = n_names; i < cnt; i++)
        errs[i] = errs[i % n_names];
    rd_kafka_mock_push_request_errors_array(m->mc, api, (size_t)cnt, errs);
    return reply("ok");
}

static int cmd_errors(mock *m, int argc, char **argv)
{
    int16_t api;
    if (argc < 4 || parse_api(argv[1], &api))
        return reply("error usage: errors API COUNT ERRNAME...");
    return push_errors(m, api, argv[2], argc - 3, argv + 3);
}

static int cmd_produce_errors(mock *m, int argc, char **argv)
{
    if (argc < 3)
        return reply("error usage: produce-errors COUNT ERRNAME...");
    return push_errors(m, 0, argv[1], argc - 2, argv + 2);
}

/* COUNT errors on each broker of the range, cycling through the names. */
static int cmd_broker_errors(mock *m, int argc, char **argv)
{
    int first, last;
    int16_t api;
    long cnt;
    rd_kafka_resp_err_t errs[MAX_ARGS];
    if (argc < 5 || parse_brokers(m, argv[1], &first, &last) || parse_api(argv[2], &api) ||
        parse_int(argv[3], 1, MAX_ERRORS, &cnt))
        return reply("error usage: broker-errors all|1..%d API COUNT ERRNAME...", m->n_brokers);
    int n_names = argc - 4;
    for (int i = 0; i < n_names; i++) {
        if (parse_err(argv[4 + i], &errs[i]))
            return reply("error unknown error name %s", argv[4 + i]);
    }
    for (int id = first; id <= last; id++) {
        for (long i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
                m->mc, id, api, 1, errs[i % n_names], 0);
            if (err)
                return reply("error broker %d: %s", id, rd_kafka_err2str(err));
        }
    }
    return reply("ok");
}

static int cmd_pending(mock *m, int argc, char **argv)
{
    int first, last;
    int16_t api;
    size_t total = 0;
    if (argc != 3 || parse_brokers(m, argv[1], &first, &last) || parse_api(argv[2], &api))
        return reply("error usage: pending all|1..%d API", m->n_brokers);
    for (int id = first; id <= last; id++) {
        size_t n = 0;
        rd_kafka_resp_err_t err = rd_kafka_mock_broker_error_stack_cnt(m->mc, id, api, &n);
        if (err)
            return reply("error broker %d: %s", id, rd_kafka_err2str(err));
        total += n;
    }
    return reply("ok %zu", total);
}

static int cmd_clear(mock *m, int argc, char **argv)
{
    int16_t api;
    if (argc != 2 || parse_api(argv[1], &api))
        return reply("error usage: clear API");
    rd_kafka_mock_clear_request_errors(m->mc, api);
    return reply("ok");
}

static int cmd_quit(mock *m, int argc, char **argv)
{
    (void)m, (void)argc, (void)argv;
    reply("ok");
    return 1;
}

static const struct {
    const char *name;
    int (*run)(mock *m, int argc, char **argv);
} commands[] = {
    {"down", cmd_down},
    {"up", cmd_up},
    {"rtt", cmd_rtt},
    {"topic", cmd_topic},
    {"leader", cmd_leader},
    {"errors", cmd_errors},
    {"produce-errors", cmd_produce_errors},
    {"broker-errors", cmd_broker_errors},
    {"pending", cmd_pending},
    {"clear", cmd_clear},
    {"quit", cmd_quit},
};

/* Runs one command line; returns 1 when the program should end. */
static int run_line(mock *m, char *line)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
        if (argc == MAX_ARGS)
            return reply("error too many words");
        argv[argc++] = tok;
    }
    if (argc == 0)
        return reply("error empty command");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(argv[0], commands[i].name))
            return commands[i].run(m, argc, argv);
    }
    return reply("error unknown command %s", argv[0]);
}

static int mock_start(mock *m, int n_brokers)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only hosts the cluster; it never connects anywhere. */
    if (rd_kafka_conf_set(conf, "client.id", "kafka_mock", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr)) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!m->rk) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    m->mc = rd_kafka_mock_cluster_new(m->rk, n_brokers);
    if (!m->mc) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        rd_kafka_destroy(m->rk);
        return -1;
    }
    m->n_brokers = n_brokers;
    return 0;
}

static void mock_stop(mock *m)
{
    if (m->mc)
        rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk)
        rd_kafka_destroy(m->rk);
}

/* -t NAME:PARTITIONS */
static int pre_create(mock *m, const char *spec)
{
    char name[256], why[300];
    long parts;
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof name || colon == spec ||
        parse_int(colon + 1, 1, 10000, &parts)) {
        fprintf(stderr, "kafka_mock: -t wants TOPIC:PARTITIONS, not %s\n", spec);
        return -1;
    }
    memcpy(name, spec, (size_t)(colon - spec));
    name[colon - spec] = '\0';
    if (create_topic(m, name, parts, why, sizeof why)) {
        fprintf(stderr, "kafka_mock: %s\n", why);
        return -1;
    }
    return 0;
}

/* Announces the brokers, then answers commands until EOF or quit. */
static int serve(mock *m)
{
    reply("bootstrap %s", rd_kafka_mock_cluster_bootstraps(m->mc));
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) >= 0) {
        if (run_line(m, line) == 1)
            break;
    }
    free(line);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: kafka_mock [-n BROKERS] [-t TOPIC:PARTITIONS]...\n");
}

int main(int argc, char **argv)
{
    long n_brokers = 3;
    const char **topics = calloc((size_t)argc, sizeof *topics);
    int n_topics = 0, opt, rc = 0;
    while (topics && (opt = getopt(argc, argv, "n:t:")) != -1) {
        if (opt == 't')
            topics[n_topics++] = optarg;
        else if (opt != 'n' || parse_int(optarg, 1, 32, &n_brokers))
            rc = 2;
    }
    if (!topics || rc || optind != argc) {
        usage();
        free(topics);
        return 2;
    }
    mock m = {0};
    if (mock_start(&m, (int)n_brokers)) {
        free(topics);
        return 1;
    }
    for (int i = 0; i < n_topics && !rc; i++)
        rc = pre_create(&m, topics[i]) ? 2 : 0;
    free(topics);
    if (!rc)
        rc = serve(&m);
    mock_stop(&m);
    return rc;
}
