/* Tests for the Kafka output: the pure parts (output.kafka → librdkafka
 * properties, the @metadata splice and pretty codec, FNV-1a partition
 * numbers against Metricbeat's formula, topic rules, keys, partitioners)
 * and the output end to end on a real loop against librdkafka's mock
 * cluster in this process (3 brokers on loopback): results come from
 * delivery reports only, messages arrive with value, key, partition,
 * headers and timestamp as configured, a broker outage gives WAIT and
 * delivery afterwards, a too-large message is dropped while the others
 * are delivered, permanent broker errors drop, exhausted retries wait,
 * an unknown topic spends max_retries, a full producer queue stops the
 * batch, and close() settles what is still in flight. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "buf.h"
#include "config.h"
#include "kafka_conf.h"
#include "kafka_msg.h"
#include "loop.h"
#include "output.h"
#include "stats.h"

/* ---- helpers ------------------------------------------------------------------- */

static char *host_v[] = {"127.0.0.1:9092"};

/* output.kafka with Metricbeat's defaults (spec §4.2), as config.c fills it. */
static void kc_defaults(kafka_config *kc)
{
    memset(kc, 0, sizeof *kc);
    kc->hosts = (strlist){host_v, 1};
    kc->topic = "expvarbeat";
    kc->partitioner = KAFKA_PART_HASH;
    kc->hash_random = 1;
    kc->group_events = 1;
    kc->required_acks = 1;
    kc->compression = "gzip";
    kc->compression_level = 4;
    kc->max_message_bytes = 1000000;
    kc->client_id = "beats";
    kc->version = "2.1.0";
    kc->ssl.enabled = -1;
    kc->timeout_ms = 30000;
    kc->broker_timeout_ms = 10000;
    kc->bulk_max_size = 2048;
    kc->max_retries = 3;
    kc->backoff = (backoff_config){1000, 60000};
    kc->metadata_refresh_ms = 600000;
    kc->metadata_retry_max = 3;
    kc->metadata_retry_backoff_ms = 250;
}

static kafka_props props_of(const kafka_config *kc)
{
    kafka_props p;
    char err[512];
    if (kafka_props_build(kc, &p, err, sizeof err) != 0)
        fail_msg("props: %s", err);
    return p;
}

static void expect_prop(const kafka_props *p, const char *name, const char *want)
{
    const char *got = kafka_props_get(p, name);
    if (!want && got)
        fail_msg("%s: want unset, got \"%s\"", name, got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("%s: want \"%s\", got %s%s%s", name, want, got ? "\"" : "", got ? got : "unset",
                 got ? "\"" : "");
}

static void expect_props_error(const kafka_config *kc, const char *want)
{
    kafka_props p;
    char err[512] = "";
    assert_int_equal(kafka_props_build(kc, &p, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static char *write_temp(const char *text)
{
    char path[] = "/tmp/test_out_kafka_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return strdup(path);
}

/* ---- properties ------------------------------------------------------------------ */

static void test_props_defaults(void **state)
{
    (void)state;
    kafka_config kc;
    kc_defaults(&kc);
    kafka_props p = props_of(&kc);
    expect_prop(&p, "bootstrap.servers", "127.0.0.1:9092");
    expect_prop(&p, "client.id", "beats");
    expect_prop(&p, "acks", "1");
    expect_prop(&p, "compression.codec", "gzip");
    expect_prop(&p, "compression.level", "4");
    expect_prop(&p, "message.max.bytes", "1000000");
    expect_prop(&p, "security.protocol", "plaintext");
    expect_prop(&p, "sasl.mechanisms", NULL);
    expect_prop(&p, "sasl.username", NULL);
    expect_prop(&p, "ssl.ca.location", NULL);
    expect_prop(&p, "enable.ssl.certificate.verification", NULL);
    expect_prop(&p, "socket.timeout.ms", "30000");
    expect_prop(&p, "request.timeout.ms", "10000");
    expect_prop(&p, "socket.keepalive.enable", "false");
    expect_prop(&p, "batch.num.messages", "2048");
    expect_prop(&p, "linger.ms", "0");
    expect_prop(&p, "message.send.max.retries", "3");
    expect_prop(&p, "retry.backoff.ms", "1000");
    expect_prop(&p, "retry.backoff.max.ms", "60000");
    expect_prop(&p, "reconnect.backoff.ms", "1000");
    expect_prop(&p, "reconnect.backoff.max.ms", "60000");
    expect_prop(&p, "message.timeout.ms", "30000"); /* linger + max(timeout, broker_timeout) */
    expect_prop(&p, "topic.metadata.refresh.interval.ms", "600000");
    expect_prop(&p, "topic.metadata.refresh.fast.interval.ms", "250");
    expect_prop(&p, "topic.metadata.refresh.sparse", "true");
    expect_prop(&p, "topic.metadata.propagation.max.ms", "1000"); /* (3 + 1) x 250 ms */
    expect_prop(&p, "enable.idempotence", "false");
    expect_prop(&p, "api.version.request", "true");
    expect_prop(&p, "broker.version.fallback", "2.1.0");
    expect_prop(&p, "log.queue", "true");
    /* and librdkafka takes every one of them */
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_new(&p, err, sizeof err);
    if (!conf)
        fail_msg("%s", err);
    rd_kafka_conf_destroy(conf);
    kafka_props_free(&p);
}

static void test_props_options(void **state)
{
    (void)state;
    kafka_config kc;
    kc_defaults(&kc);
    char *hosts[] = {"k1:9092", "k2:9093"};
    kc.hosts = (strlist){hosts, 2};
    kc.client_id = "me";
    kc.required_acks = -1;
    kc.compression = "zstd";
    kc.compression_level = 7;
    kc.max_message_bytes = 2048;
    kc.keep_alive_ms = 30000;
    kc.bulk_max_size = 100;
    kc.bulk_flush_frequency_ms = 250;
    kc.max_retries = -1;
    kc.backoff = (backoff_config){50, 5000};
    kc.timeout_ms = 5000;
    kc.broker_timeout_ms = 8000;
    kc.metadata_refresh_ms = 0;
    kc.metadata_full = 1;
    kc.idempotent = 1;
    kafka_props p = props_of(&kc);
    expect_prop(&p, "bootstrap.servers", "k1:9092,k2:9093");
    expect_prop(&p, "client.id", "me");
    expect_prop(&p, "acks", "-1");
    expect_prop(&p, "compression.codec", "zstd");
    expect_prop(&p, "compression.level", "7");
    expect_prop(&p, "message.max.bytes", "2048");
    expect_prop(&p, "socket.keepalive.enable", "true");
    expect_prop(&p, "batch.num.messages", "100");
    expect_prop(&p, "linger.ms", "250");
    expect_prop(&p, "message.send.max.retries", "2147483647"); /* forever */
    expect_prop(&p, "retry.backoff.ms", "50");
    expect_prop(&p, "retry.backoff.max.ms", "5000");
    expect_prop(&p, "socket.timeout.ms", "5000");
    expect_prop(&p, "request.timeout.ms", "8000");
    expect_prop(&p, "message.timeout.ms", "8250");
    expect_prop(&p, "topic.metadata.refresh.interval.ms", "-1");
    expect_prop(&p, "topic.metadata.refresh.sparse", "false");
    expect_prop(&p, "enable.idempotence", "true");
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_new(&p, err, sizeof err);
    if (!conf)
        fail_msg("%s", err);
    rd_kafka_conf_destroy(conf);
    kafka_props_free(&p);

    /* snappy has no levels; gzip level 0 is stored, not compressed */
    kc.compression = "snappy";
    p = props_of(&kc);
    expect_prop(&p, "compression.level", NULL);
    kafka_props_free(&p);
    kc.compression = "gzip";
    kc.compression_level = 0;
    p = props_of(&kc);
    expect_prop(&p, "compression.level", "0");
    kafka_props_free(&p);
    kc.compression_level = 10;
    expect_props_error(&kc, "output.kafka.compression_level: 10 is out of range for gzip");
}

static void test_props_security(void **state)
{
    (void)state;
    kafka_config kc;
    kc_defaults(&kc);
    kc.username = "u";
    kc.password = "p";
    kafka_props p = props_of(&kc);
    expect_prop(&p, "security.protocol", "sasl_plaintext");
    expect_prop(&p, "sasl.mechanisms", "PLAIN"); /* when a user is set */
    expect_prop(&p, "sasl.username", "u");
    expect_prop(&p, "sasl.password", "p");
    kafka_props_free(&p);

    kc.sasl_mechanism = "SCRAM-SHA-512";
    kc.ssl.enabled = 1;
    p = props_of(&kc);
    expect_prop(&p, "security.protocol", "sasl_ssl");
    expect_prop(&p, "sasl.mechanisms", "SCRAM-SHA-512");
    expect_prop(&p, "enable.ssl.certificate.verification", "true");
    expect_prop(&p, "ssl.endpoint.identification.algorithm", "https");
    kafka_props_free(&p);

    /* TLS without SASL; a CA file alone turns TLS on (an ssl section) */
    kc_defaults(&kc);
    char *one[] = {"/etc/ca.pem"};
    kc.ssl.certificate_authorities = (strlist){one, 1};
    kc.ssl.certificate = "/etc/client.pem";
    kc.ssl.key = "/etc/client.key";
    kc.ssl.verification_mode = SSL_VERIFY_CERTIFICATE;
    p = props_of(&kc);
    expect_prop(&p, "security.protocol", "ssl");
    expect_prop(&p, "ssl.ca.location", "/etc/ca.pem");
    expect_prop(&p, "ssl.ca.pem", NULL);
    expect_prop(&p, "ssl.certificate.location", "/etc/client.pem");
    expect_prop(&p, "ssl.key.location", "/etc/client.key");
    expect_prop(&p, "enable.ssl.certificate.verification", "true");
    expect_prop(&p, "ssl.endpoint.identification.algorithm", "none");
    kafka_props_free(&p);

    kc.ssl.verification_mode = SSL_VERIFY_NONE;
    p = props_of(&kc);
    expect_prop(&p, "enable.ssl.certificate.verification", "false");
    expect_prop(&p, "ssl.endpoint.identification.algorithm", "none");
    kafka_props_free(&p);

    kc.ssl.enabled = 0; /* ssl.enabled: false wins over the rest */
    p = props_of(&kc);
    expect_prop(&p, "security.protocol", "plaintext");
    expect_prop(&p, "ssl.ca.location", NULL);
    kafka_props_free(&p);
}

static void test_props_ca_bundle(void **state)
{
    (void)state;
    kafka_config kc;
    kc_defaults(&kc);
    char *a = write_temp("-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n");
    char *b = write_temp("-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n");
    char *files[] = {a, b};
    kc.ssl.certificate_authorities = (strlist){files, 2};
    kafka_props p = props_of(&kc);
    expect_prop(&p, "ssl.ca.location", NULL);
    expect_prop(&p, "ssl.ca.pem",
                "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\n"
                "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n\n");
    kafka_props_free(&p);
    unlink(b);
    expect_props_error(&kc, "output.kafka.ssl.certificate_authorities: cannot read ");
    unlink(a);
    free(a);
    free(b);
}

static void test_props_version(void **state)
{
    (void)state;
    kafka_config kc;
    kc_defaults(&kc);
    kc.version = "0.9.0.1";
    kafka_props p = props_of(&kc);
    expect_prop(&p, "api.version.request", "false"); /* cannot be asked before 0.10 */
    expect_prop(&p, "broker.version.fallback", "0.9.0.1");
    kafka_props_free(&p);
    kc.version = "2";
    p = props_of(&kc);
    expect_prop(&p, "api.version.request", "true");
    expect_prop(&p, "broker.version.fallback", "2.0.0");
    kafka_props_free(&p);
    kc.version = "0.8.1";
    expect_props_error(&kc, "output.kafka.version: Kafka 0.8.1 is not supported");
    kc.version = "two";
    expect_props_error(&kc, "output.kafka.version: \"two\" is not a Kafka version");
    kc.version = "2.1.0";
    kc.hosts.n = 0;
    expect_props_error(&kc, "output.kafka.hosts: at least one broker is required");
}

/* What librdkafka refuses is reported under the option it came from. */
static void test_props_librdkafka_errors(void **state)
{
    (void)state;
    kafka_config kc;
    kc_defaults(&kc);
    kc.max_message_bytes = 10;
    kafka_props p = props_of(&kc);
    char err[512];
    assert_null(kafka_conf_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "output.kafka.max_message_bytes: "));
    assert_non_null(strstr(err, "message.max.bytes"));

    char keys[128];
    kafka_props_keys_in(&p, "`acks` must be set to `all` when `enable.idempotence` is true", keys,
                        sizeof keys);
    assert_string_equal(keys, "required_acks, idempotent");
    kafka_props_keys_in(&p, "`linger.ms` must be less than `message.timeout.ms`", keys,
                        sizeof keys);
    assert_string_equal(keys, "bulk_flush_frequency, timeout");
    kafka_props_keys_in(&p, "nothing known here: acksx", keys, sizeof keys);
    assert_string_equal(keys, "");
    kafka_props_free(&p);

    int v[4];
    assert_int_equal(kafka_version_parse("0.10.2.1", v), 0);
    assert_int_equal(v[1] * 100 + v[2] * 10 + v[3], 1021);
    assert_int_equal(kafka_version_parse("1.", v), -1);
    assert_int_equal(kafka_version_parse("1.2.3.4.5", v), -1);
}

/* ---- values ------------------------------------------------------------------------- */

#define META "{\"beat\":\"expvarbeat\",\"type\":\"_doc\",\"version\":\"" EXPVARBEAT_VERSION "\"}"

static char *value_of(const char *doc, int pretty)
{
    buf meta, out;
    buf_init(&meta, 0);
    buf_init(&out, 0);
    assert_int_equal(kafka_metadata_json("expvarbeat", EXPVARBEAT_VERSION, &meta), 0);
    char err[256];
    if (kafka_value_build(doc, strlen(doc), meta.data, meta.len, pretty, &out, err, sizeof err))
        fail_msg("%s", err);
    buf_append(&out, "", 1);
    buf_free(&meta);
    return buf_detach(&out, NULL);
}

static void test_value(void **state)
{
    (void)state;
    char *v = value_of("{\"@timestamp\":\"2023-10-17T08:05:34.853Z\",\"a\":1}", 0);
    assert_string_equal(v, "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\",\"@metadata\":" META
                           ",\"a\":1}");
    free(v);
    v = value_of("{\"@timestamp\":\"2023-10-17T08:05:34.853Z\"}", 0);
    assert_string_equal(v, "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\",\"@metadata\":" META "}");
    free(v);
    v = value_of("{\"a\":{\"@timestamp\":\"x\"}}", 0); /* no leading @timestamp: first */
    assert_string_equal(v, "{\"@metadata\":" META ",\"a\":{\"@timestamp\":\"x\"}}");
    free(v);
    v = value_of("{}", 0);
    assert_string_equal(v, "{\"@metadata\":" META "}");
    free(v);
    v = value_of("{\"@timestamp\":\"2023-10-17T08:05:34.853Z\",\"n\":1.5e+07,\"e\":{}}", 1);
    assert_string_equal(v, "{\n  \"@timestamp\": \"2023-10-17T08:05:34.853Z\",\n"
                           "  \"@metadata\": {\n    \"beat\": \"expvarbeat\",\n"
                           "    \"type\": \"_doc\",\n    \"version\": \"" EXPVARBEAT_VERSION
                           "\"\n  },\n  \"n\": 1.5e+07,\n  \"e\": {}\n}");
    free(v);

    buf out;
    buf_init(&out, 0);
    char err[256];
    assert_int_equal(kafka_value_build("[1]", 3, "{}", 2, 0, &out, err, sizeof err),
                     KAFKA_VALUE_INVALID);
    assert_int_equal(kafka_value_build("{\"a\":", 5, "{}", 2, 1, &out, err, sizeof err),
                     KAFKA_VALUE_INVALID);
    assert_non_null(strstr(err, "not valid JSON"));
    buf_free(&out);

    const char *d = "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\"}";
    assert_int_equal(kafka_event_ts(d, strlen(d)), 1697529934853LL);
    assert_int_equal(kafka_event_ts("{\"a\":1}", 7), -1);
}

/* ---- partitions --------------------------------------------------------------------- */

static uint32_t fnv(const char *s)
{
    return kafka_fnv1a32(KAFKA_FNV_INIT, s, strlen(s));
}

static void test_fnv_partition(void **state)
{
    (void)state;
    /* FNV-1a 32 reference vectors */
    assert_int_equal(fnv(""), 0x811c9dc5u);
    assert_int_equal(fnv("a"), 0xe40c292cu);
    assert_int_equal(fnv("foobar"), 0xbf9cf968u);
    /* continuing a hash = hashing the concatenation (libbeat's fields) */
    assert_int_equal(kafka_fnv1a32(fnv("foo"), "bar", 3), 0xbf9cf968u);
    /* (int32(h) & 0x7fffffff) % n: not h % n (0), not |int32(h)| % n (4) */
    assert_int_equal(kafka_partition_of(0xbf9cf968u, 7), 5);
    assert_int_equal(kafka_partition_of(0xe40c292cu, 7), 3);
    assert_int_equal(kafka_partition_of(0x8eb71fbcu, 7), 6); /* "host-2" */
    assert_int_equal(kafka_partition_of(0x811c9dc5u, 7), 0);
    assert_int_equal(kafka_partition_of(0xbf9cf968u, 1), 0);
}

static const char doc_heap[] = "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\",\"metricset\":"
                               "{\"name\":\"heap\",\"period\":10000},\"service\":{\"address\":"
                               "\"http://h1:6060/debug/vars\"},\"host\":{\"name\":\"foo\"}}";
static const char doc_expvar[] = "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\",\"metricset\":"
                                 "{\"name\":\"expvar\",\"period\":10000},\"host\":{\"name\":"
                                 "\"bar\"}}";

static kafka_router *router_of(const kafka_config *kc)
{
    char err[256];
    kafka_router *r = kafka_router_new(kc, 42, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    return r;
}

static uint32_t pv_of(kafka_router *r, const char *doc, const char *key)
{
    uint32_t pv;
    char why[256];
    int kl = key ? (int)strlen(key) : -1;
    if (kafka_route_partition(r, doc, strlen(doc), key, kl, &pv, why, sizeof why) != 0)
        fail_msg("%s", why);
    return pv;
}

static void test_partitioners(void **state)
{
    (void)state;
    kafka_config kc;
    kc_defaults(&kc);
    kafka_router *r = router_of(&kc);
    assert_int_equal(pv_of(r, doc_heap, "foobar"), 0xbf9cf968u); /* hash of the key */
    kafka_router_free(r);

    char *fields[] = {"metricset.name", "host.name"};
    kc.hash_fields = (strlist){fields, 2};
    r = router_of(&kc);
    assert_int_equal(pv_of(r, doc_heap, "ignored"), fnv("heapfoo"));
    assert_int_equal(pv_of(r, doc_expvar, NULL), fnv("expvarbar"));
    kafka_router_free(r);

    char *missing[] = {"service.address"};
    kc.hash_fields = (strlist){missing, 1};
    kc.hash_random = 0;
    r = router_of(&kc);
    uint32_t pv;
    char why[256];
    assert_int_equal(
        kafka_route_partition(r, doc_expvar, strlen(doc_expvar), NULL, -1, &pv, why, sizeof why),
        -1);
    assert_string_equal(why, "partition.hash: the event has no field service.address to hash");
    kafka_router_free(r);
    kc.hash_random = 1; /* then a random partition instead */
    r = router_of(&kc);
    assert_int_equal(
        kafka_route_partition(r, doc_expvar, strlen(doc_expvar), NULL, -1, &pv, why, sizeof why),
        0);
    kafka_router_free(r);

    kc_defaults(&kc);
    kc.partitioner = KAFKA_PART_ROUND_ROBIN;
    kc.group_events = 2;
    r = router_of(&kc);
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(pv_of(r, doc_heap, "k"), i / 2);
    kafka_router_free(r);

    kc.partitioner = KAFKA_PART_RANDOM;
    kc.group_events = 3;
    r = router_of(&kc);
    uint32_t seen[9];
    for (int i = 0; i < 9; i++)
        seen[i] = pv_of(r, doc_heap, NULL);
    for (int g = 0; g < 3; g++)
        assert_true(seen[g * 3] == seen[g * 3 + 1] && seen[g * 3] == seen[g * 3 + 2]);
    assert_false(seen[0] == seen[3] && seen[3] == seen[6]); /* draws differ (seeded) */
    kafka_router_free(r);
}

/* ---- topics and keys ------------------------------------------------------------------- */

static char *topic_of(const kafka_router *r, const char *doc, int64_t ts, char *why, size_t n)
{
    static char out[KAFKA_TOPIC_MAX];
    int len = kafka_route_topic(r, doc, strlen(doc), ts, out, sizeof out, why, n);
    return len < 0 ? NULL : out;
}

static void test_topic_rules(void **state)
{
    (void)state;
    kv heap_eq[] = {{"metricset.name", "heap"}};
    kv two_eq[] = {{"metricset.name", "expvar"}, {"host.name", "nope"}};
    kv num_eq[] = {{"metricset.period", "10000"}};
    kafka_topic_rule rules[] = {
        {"heap-%{[host.name]}", {heap_eq, 1}},
        {"never", {two_eq, 2}}, /* every pair must match */
        {"by-period", {num_eq, 1}},
    };
    kafka_config kc;
    kc_defaults(&kc);
    kc.topic = "fallback-%{+yyyy.MM.dd}";
    kc.topics = rules;
    kc.n_topics = 2;
    kafka_router *r = router_of(&kc);
    char why[256];
    assert_string_equal(topic_of(r, doc_heap, 0, why, sizeof why), "heap-foo");
    assert_string_equal(topic_of(r, doc_expvar, 1697529934853LL, why, sizeof why),
                        "fallback-2023.10.17");
    kafka_router_free(r);

    kc.n_topics = 3; /* numbers compare as their JSON text */
    kc.topic = NULL;
    r = router_of(&kc);
    assert_string_equal(topic_of(r, doc_expvar, 0, why, sizeof why), "by-period");
    kafka_router_free(r);

    kc.n_topics = 1;
    r = router_of(&kc);
    assert_null(topic_of(r, doc_expvar, 0, why, sizeof why));
    assert_string_equal(why, "no topic could be selected");
    kafka_router_free(r);

    kafka_topic_rule always[] = {{"all-%{[missing.field]}", {NULL, 0}}};
    kc.topics = always;
    r = router_of(&kc);
    assert_null(topic_of(r, doc_heap, 0, why, sizeof why));
    assert_non_null(strstr(why, "topic \"all-%{[missing.field]}\" cannot be built"));
    kafka_router_free(r);

    /* compile errors name the option */
    kafka_topic_rule bad[] = {{"ok", {NULL, 0}}, {"x-%{[oops", {NULL, 0}}};
    kc.topics = bad;
    kc.n_topics = 2;
    char err[256];
    assert_null(kafka_router_new(&kc, 1, err, sizeof err));
    assert_non_null(strstr(err, "output.kafka.topics[1].topic: "));
    kc.n_topics = 0;
    assert_null(kafka_router_new(&kc, 1, err, sizeof err));
    assert_string_equal(err, "output.kafka.topic: a topic (or topics rules) is required");
}

static void test_keys(void **state)
{
    (void)state;
    kafka_config kc;
    kc_defaults(&kc);
    kafka_router *r = router_of(&kc);
    char key[KAFKA_KEY_MAX];
    assert_int_equal(kafka_route_key(r, doc_heap, strlen(doc_heap), 0, key, sizeof key), -1);
    kafka_router_free(r);
    kc.key = "%{[metricset.name]}-%{[service.address]}";
    r = router_of(&kc);
    const char *want = "heap-http://h1:6060/debug/vars";
    assert_int_equal(kafka_route_key(r, doc_heap, strlen(doc_heap), 0, key, sizeof key),
                     (int)strlen(want));
    assert_string_equal(key, want);
    /* a field the event lacks: no key (libbeat sends none), not an error */
    assert_int_equal(kafka_route_key(r, doc_expvar, strlen(doc_expvar), 0, key, sizeof key), -1);
    kafka_router_free(r);
}

/* ---- end to end on the mock cluster -----------------------------------------------------------
 */

#define TOPIC "metrics"
#define N_PARTS 3

typedef struct harness {
    rd_kafka_t *mrk; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char *bootstrap;
    char *brokers[3]; /* bootstrap, split */
    config c;
    loop *l;
    stats st;
    void *out;
} harness;

typedef struct tbatch {
    batch b;
    event_rec *recs;
    event_rec **ptrs;
    out_result *results;
    int done_calls;
} tbatch;

static void on_done(batch *b, void *ctx)
{
    (void)b;
    ((tbatch *)ctx)->done_calls++;
}

static void tb_init(tbatch *t, size_t n, const char *(*doc)(size_t i, char *tmp, size_t len))
{
    memset(t, 0, sizeof *t);
    t->recs = calloc(n, sizeof *t->recs);
    t->ptrs = calloc(n, sizeof *t->ptrs);
    t->results = calloc(n, sizeof *t->results);
    assert_true(t->recs && t->ptrs && t->results);
    for (size_t i = 0; i < n; i++) {
        char tmp[4096];
        const char *d = doc(i, tmp, sizeof tmp);
        t->recs[i] = (event_rec){strdup(d), strlen(d), 0};
        t->ptrs[i] = &t->recs[i];
        t->results[i] = (out_result)-1;
    }
    t->b = (batch){t->ptrs, t->results, n, on_done, t};
}

static void tb_reset(tbatch *t)
{
    t->done_calls = 0;
    for (size_t i = 0; i < t->b.n; i++)
        t->results[i] = (out_result)-1;
}

static void tb_free(tbatch *t)
{
    for (size_t i = 0; i < t->b.n; i++)
        free(t->recs[i].json);
    free(t->recs);
    free(t->ptrs);
    free(t->results);
}

static const char *doc_small(size_t i, char *tmp, size_t len)
{
    snprintf(tmp, len,
             "{\"@timestamp\":\"2023-10-17T08:05:%02zu.853Z\",\"service\":{\"address\":"
             "\"http://h%zu:6060/debug/vars\"},\"seq\":%zu}",
             i % 60, i % 5, i);
    return tmp;
}

static int tb_count(const tbatch *t, out_result r)
{
    int n = 0;
    for (size_t i = 0; i < t->b.n; i++)
        n += t->results[i] == r;
    return n;
}

static int setup_mock(void **state)
{
    harness *h = calloc(1, sizeof *h);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    h->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(h->mrk);
    h->mc = rd_kafka_mock_cluster_new(h->mrk, 3);
    assert_non_null(h->mc);
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, TOPIC, N_PARTS, 1), 0);
    h->bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(h->mc));
    char *save = NULL, *copy = strdup(h->bootstrap);
    for (char *b = strtok_r(copy, ",", &save); b; b = strtok_r(NULL, ",", &save))
        for (int i = 0; i < 3; i++)
            if (!h->brokers[i] && (h->brokers[i] = strdup(b)) != NULL)
                break;
    free(copy);
    assert_non_null(h->brokers[2]);
    h->l = loop_new();
    kafka_config *kc = &h->c.output.kafka;
    kc_defaults(kc);
    kc->hosts = (strlist){h->brokers, 3};
    kc->topic = TOPIC;
    kc->key = "%{[service.address]}";
    /* messages time out after 3 s of outage (librdkafka may take a second
     * to send the first message on a new connection) */
    kc->timeout_ms = 3000;
    kc->broker_timeout_ms = 500;
    kc->backoff = (backoff_config){10, 100};
    kc->metadata_retry_backoff_ms = 10;
    h->c.output.type = OUTPUT_KAFKA;
    *state = h;
    return 0;
}

static int teardown_mock(void **state)
{
    harness *h = *state;
    out_kafka_ops.close(h->out);
    loop_free(h->l);
    rd_kafka_mock_cluster_destroy(h->mc);
    rd_kafka_destroy(h->mrk);
    free(h->bootstrap);
    for (int i = 0; i < 3; i++)
        free(h->brokers[i]);
    free(h);
    return 0;
}

static void open_out(harness *h)
{
    char err[1024];
    h->out = out_kafka_ops.open(&h->c, h->l, &h->st, err, sizeof err);
    if (!h->out)
        fail_msg("open: %s", err);
}

/* Publishes and turns the loop until the batch is done (15 s at most). */
static void publish_wait(harness *h, tbatch *t)
{
    tb_reset(t);
    out_kafka_ops.publish(h->out, &t->b);
    assert_int_equal(t->done_calls, 0); /* never before the reports */
    int64_t deadline = loop_now_ms() + 15000;
    while (!t->done_calls && loop_now_ms() < deadline)
        loop_run_once(h->l, 100, NULL);
    assert_int_equal(t->done_calls, 1);
}

static void set_all_brokers(harness *h, int up)
{
    for (int32_t id = 1; id <= 3; id++) {
        rd_kafka_resp_err_t e =
            up ? rd_kafka_mock_broker_set_up(h->mc, id) : rd_kafka_mock_broker_set_down(h->mc, id);
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
}

/* Every message of TOPIC, read back from the start of each partition. */
typedef struct got {
    char *value, *key;
    int32_t partition;
    int64_t ts;
    char header[64];
} got;

static size_t consume_all(harness *h, got *out, size_t want)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "test", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(c);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(N_PARTS);
    for (int32_t p = 0; p < N_PARTS; p++)
        rd_kafka_topic_partition_list_add(parts, TOPIC, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(c, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    size_t n = 0;
    int64_t deadline = loop_now_ms() + 10000;
    while (n < want && loop_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (!m->err) {
            got *g = &out[n++];
            g->value = strndup(m->payload, m->len);
            g->key = m->key ? strndup(m->key, m->key_len) : NULL;
            g->partition = m->partition;
            g->ts = rd_kafka_message_timestamp(m, NULL);
            rd_kafka_headers_t *hs = NULL;
            const void *hv;
            size_t hl;
            if (rd_kafka_message_headers(m, &hs) == 0 &&
                rd_kafka_header_get_last(hs, "x-env", &hv, &hl) == 0)
                snprintf(g->header, sizeof g->header, "%.*s", (int)hl, (const char *)hv);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return n;
}

/* How many messages TOPIC holds: the sum of its partitions' high marks. */
static int64_t topic_size(harness *h)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(c);
    int64_t total = 0;
    for (int32_t p = 0; p < N_PARTS; p++) {
        int64_t lo, hi;
        assert_int_equal(rd_kafka_query_watermark_offsets(c, TOPIC, p, &lo, &hi, 5000), 0);
        total += hi - lo;
    }
    rd_kafka_destroy(c);
    return total;
}

static void got_free(got *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].value);
        free(g[i].key);
    }
}

static void test_e2e_delivery(void **state)
{
    harness *h = *state;
    kv hdrs[] = {{"x-env", "test"}};
    h->c.output.kafka.headers = (kvlist){hdrs, 1};
    open_out(h);
    tbatch t;
    tb_init(&t, 20, doc_small);
    publish_wait(h, &t);
    assert_int_equal(tb_count(&t, OUT_OK), 20);
    assert_int_equal(h->st.write_errors, 0);

    got g[20] = {0};
    assert_int_equal(consume_all(h, g, 20), 20);
    for (size_t i = 0; i < 20; i++) {
        /* the value: the document with @metadata after @timestamp */
        size_t seq;
        const char *s = strstr(g[i].value, "\"seq\":");
        assert_non_null(s);
        seq = (size_t)strtoul(s + 6, NULL, 10);
        char tmp[4096], want[4096 + 128];
        const char *d = doc_small(seq, tmp, sizeof tmp);
        snprintf(want, sizeof want, "%.40s,\"@metadata\":" META "%s", d, d + 40);
        assert_string_equal(g[i].value, want);
        /* key and partition: FNV-1a of the key, Metricbeat's formula */
        char addr[64];
        snprintf(addr, sizeof addr, "http://h%zu:6060/debug/vars", seq % 5);
        assert_string_equal(g[i].key, addr);
        assert_int_equal(g[i].partition, kafka_partition_of(fnv(addr), N_PARTS));
        assert_int_equal(g[i].ts, kafka_event_ts(d, strlen(d)));
        assert_string_equal(g[i].header, "test");
    }
    got_free(g, 20);
    tb_free(&t);
}

/* As the pipeline does: whatever waits goes out again until delivered. */
static void deliver_all(harness *h, tbatch *t)
{
    tbatch rest = {0};
    rest.ptrs = calloc(t->b.n, sizeof *rest.ptrs);
    rest.results = calloc(t->b.n, sizeof *rest.results);
    size_t n = t->b.n;
    memcpy(rest.ptrs, t->ptrs, n * sizeof *rest.ptrs);
    int64_t deadline = loop_now_ms() + 30000;
    while (n && loop_now_ms() < deadline) {
        rest.b = (batch){rest.ptrs, rest.results, n, on_done, &rest};
        publish_wait(h, &rest);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            assert_true(rest.results[i] == OUT_OK || rest.results[i] == OUT_WAIT);
            if (rest.results[i] != OUT_OK)
                rest.ptrs[k++] = rest.ptrs[i];
        }
        n = k;
    }
    assert_int_equal(n, 0);
    free(rest.ptrs);
    free(rest.results);
}

static void test_e2e_outage(void **state)
{
    harness *h = *state;
    open_out(h);
    tbatch t;
    tb_init(&t, 10, doc_small);
    publish_wait(h, &t); /* connected, metadata known */
    assert_int_equal(tb_count(&t, OUT_OK), 10);

    set_all_brokers(h, 0);
    publish_wait(h, &t);
    /* not delivered, and not the events' fault: WAIT, no attempt spent */
    assert_int_equal(tb_count(&t, OUT_WAIT), 10);
    assert_int_equal(h->st.write_errors, 10);

    set_all_brokers(h, 1);
    deliver_all(h, &t);
    assert_int_equal(topic_size(h), 20); /* each once, nothing lost */
    tb_free(&t);
}

static const char *doc_sized(size_t i, char *tmp, size_t len)
{
    if (i != 2)
        return doc_small(i, tmp, len);
    char pad[1500];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    snprintf(tmp, len, "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\",\"pad\":\"%s\"}", pad);
    return tmp;
}

static void test_e2e_too_large(void **state)
{
    harness *h = *state;
    h->c.output.kafka.max_message_bytes = 1000;
    open_out(h);
    tbatch t;
    tb_init(&t, 5, doc_sized);
    publish_wait(h, &t);
    assert_int_equal(t.results[2], OUT_DROP);
    assert_int_equal(tb_count(&t, OUT_OK), 4);
    assert_int_equal(h->st.write_errors, 1);
    got g[4] = {0};
    assert_int_equal(consume_all(h, g, 4), 4);
    got_free(g, 4);
    tb_free(&t);
}

/* One produce request answered with errs (nerr of them, as librdkafka
 * retries), then the result of a one-event batch. */
static out_result answer(harness *h, tbatch *t, size_t nerr, rd_kafka_resp_err_t err)
{
    rd_kafka_resp_err_t errs[4];
    for (size_t i = 0; i < nerr; i++)
        errs[i] = err;
    rd_kafka_mock_push_request_errors_array(h->mc, 0 /* Produce */, nerr, errs);
    publish_wait(h, t);
    rd_kafka_mock_clear_request_errors(h->mc, 0);
    return t->results[0];
}

/* Broker answers: permanent ones drop, retriable ones that outlast
 * librdkafka's retries wait, an unknown topic spends max_retries. */
static void test_e2e_broker_errors(void **state)
{
    harness *h = *state;
    h->c.output.kafka.max_retries = 1; /* librdkafka retries once */
    open_out(h);
    tbatch t;
    tb_init(&t, 1, doc_small);
    publish_wait(h, &t);
    assert_int_equal(t.results[0], OUT_OK);

    assert_int_equal(answer(h, &t, 1, RD_KAFKA_RESP_ERR_INVALID_RECORD), OUT_DROP);
    assert_int_equal(answer(h, &t, 2, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), OUT_DROP);
    assert_int_equal(answer(h, &t, 2, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), OUT_WAIT);
    assert_int_equal(answer(h, &t, 2, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT), OUT_WAIT);
    /* librdkafka refreshes metadata and tries again by itself */
    assert_int_equal(answer(h, &t, 2, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART), OUT_OK);
    assert_int_equal(answer(h, &t, 1, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION), OUT_OK);
    assert_int_equal(answer(h, &t, 0, 0), OUT_OK);
    /* librdkafka keeps the topic failed after this until metadata says
     * otherwise: last */
    assert_int_equal(answer(h, &t, 1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), OUT_DROP);
    tb_free(&t);
}

static const char *doc_ghost(size_t i, char *tmp, size_t len)
{
    (void)i;
    snprintf(tmp, len, "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\",\"seq\":99}");
    return tmp;
}

/* A topic the cluster does not have: the event's own problem, so it spends
 * its attempts (max_retries) and is dropped when they are gone; the other
 * events go on. */
static void test_e2e_unknown_topic(void **state)
{
    harness *h = *state;
    kv eq[] = {{"seq", "99"}};
    kafka_topic_rule rules[] = {{"ghost", {eq, 1}}};
    h->c.output.kafka.topics = rules;
    h->c.output.kafka.n_topics = 1;
    h->c.output.kafka.max_retries = 1;
    h->c.output.kafka.timeout_ms = 5000; /* longer than metadata's patience (1 s) */
    rd_kafka_mock_topic_set_error(h->mc, "ghost", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    open_out(h);
    tbatch ghost, ok;
    tb_init(&ghost, 1, doc_ghost);
    tb_init(&ok, 2, doc_small);
    publish_wait(h, &ghost); /* reported after metadata gave up on it */
    assert_int_equal(ghost.results[0], OUT_RETRY);
    publish_wait(h, &ok);
    assert_int_equal(tb_count(&ok, OUT_OK), 2);
    ghost.recs[0].attempts = 1; /* as the pipeline counts */
    publish_wait(h, &ghost);    /* the budget is spent: dropped */
    assert_int_equal(ghost.results[0], OUT_DROP);
    tb_free(&ghost);
    tb_free(&ok);
}

static const char *doc_for_route(size_t i, char *tmp, size_t len)
{
    if (i == 1)
        return "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\"}"; /* no field for the topic */
    return doc_small(i, tmp, len);
}

static void test_e2e_unroutable(void **state)
{
    harness *h = *state;
    kv eq[] = {{"seq", "0"}};
    kafka_topic_rule rules[] = {{TOPIC, {eq, 1}}};
    h->c.output.kafka.topics = rules;
    h->c.output.kafka.n_topics = 1;
    h->c.output.kafka.topic = "%{[missing.field]}";
    open_out(h);
    tbatch t;
    tb_init(&t, 2, doc_for_route);
    publish_wait(h, &t); /* #0 by the rule; #1 has no topic */
    assert_int_equal(t.results[0], OUT_OK);
    assert_int_equal(t.results[1], OUT_DROP);
    tb_free(&t);
}

/* The producer queue holds 100000 messages: the rest of a larger batch is
 * not produced and waits; what was produced is reported as usual. */
static void test_e2e_queue_full(void **state)
{
    harness *h = *state;
    open_out(h);
    set_all_brokers(h, 0);
    tbatch t;
    tb_init(&t, 100010, doc_small);
    publish_wait(h, &t);
    assert_int_equal(tb_count(&t, OUT_WAIT), 100010);
    assert_int_equal(h->st.write_errors, 100000); /* reports for those produced */
    set_all_brokers(h, 1);
    tb_free(&t);
}

static void test_e2e_close_in_flight(void **state)
{
    harness *h = *state;
    open_out(h);
    set_all_brokers(h, 0);
    tbatch t;
    tb_init(&t, 3, doc_small);
    tb_reset(&t);
    out_kafka_ops.publish(h->out, &t.b);
    out_kafka_ops.close(h->out); /* purged: reported, never acked */
    h->out = NULL;
    assert_int_equal(t.done_calls, 1);
    assert_int_equal(tb_count(&t, OUT_WAIT), 3);
    set_all_brokers(h, 1);
    tb_free(&t);
}

static void test_e2e_open_errors(void **state)
{
    harness *h = *state;
    char err[1024];
    h->c.output.kafka.idempotent = 1; /* with required_acks: 1 */
    assert_null(out_kafka_ops.open(&h->c, h->l, &h->st, err, sizeof err));
    assert_non_null(strstr(err, "output.kafka.required_acks"));
    assert_non_null(strstr(err, "idempotence"));
    h->c.output.kafka.required_acks = -1;
    open_out(h); /* and with acks from all replicas it works */
    tbatch t;
    tb_init(&t, 3, doc_small);
    publish_wait(h, &t);
    assert_int_equal(tb_count(&t, OUT_OK), 3);
    tb_free(&t);
    assert_null(out_kafka_ops.open(&h->c, NULL, &h->st, err, sizeof err));
}

/* ---- test output -------------------------------------------------------------------- */

static char *output_text(const config *c, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    *rc = out_kafka_ops.test(c, f);
    fclose(f);
    return text;
}

static void test_test_output(void **state)
{
    harness *h = *state;
    int rc;
    char *text = output_text(&h->c, &rc);
    char want[2048];
    snprintf(want, sizeof want,
             "Kafka: %s...\n  parse brokers... OK\n  connection...\n    %s: dial up... OK\n",
             h->bootstrap, h->brokers[0]);
    assert_int_equal(strncmp(text, want, strlen(want)), 0);
    assert_non_null(strstr(text, "  metadata... OK (3 brokers)\n"));
    assert_non_null(strstr(text, "  topic " TOPIC ": leaders OK (3 partitions)\n"));
    assert_int_equal(rc, 0);
    free(text);

    char *gone[] = {"127.0.0.1:1"};
    h->c.output.kafka.hosts = (strlist){gone, 1};
    h->c.output.kafka.timeout_ms = 500;
    text = output_text(&h->c, &rc);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(
        text,
        "    127.0.0.1:1: dial up... ERROR dial tcp 127.0.0.1:1: connect: connection refused\n"));
    free(text);

    h->c.output.kafka.version = "0.7";
    text = output_text(&h->c, &rc);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(text, "  parse brokers... ERROR output.kafka.version: "));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_props_defaults),
        cmocka_unit_test(test_props_options),
        cmocka_unit_test(test_props_security),
        cmocka_unit_test(test_props_ca_bundle),
        cmocka_unit_test(test_props_version),
        cmocka_unit_test(test_props_librdkafka_errors),
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_fnv_partition),
        cmocka_unit_test(test_partitioners),
        cmocka_unit_test(test_topic_rules),
        cmocka_unit_test(test_keys),
        cmocka_unit_test_setup_teardown(test_e2e_delivery, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_e2e_outage, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_e2e_too_large, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_e2e_broker_errors, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_e2e_unknown_topic, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_e2e_unroutable, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_e2e_queue_full, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_e2e_close_in_flight, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_e2e_open_errors, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_test_output, setup_mock, teardown_mock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
