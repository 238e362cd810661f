/* kafka_conf: the output.kafka → librdkafka property table (see
 * kafka_conf.h).  Plain options map one to one through the table; the rest
 * (security, TLS, version, timeouts derived from several options) go
 * through a small function each.  The partitioner options have no
 * property: out_kafka.c partitions itself. */
#include "kafka_conf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curl_tls.h"

#define CA_FILE_MAX (4u << 20)
#define CA_BUNDLE_MAX (16u << 20)

/* What a mapping function did: set the value, or left the default. */
enum { PM_SET = 1, PM_SKIP = 0, PM_ERR = -1 };

typedef int (*pm_fn)(const kafka_config *kc, buf *out, char *err, size_t errlen);

enum pm_kind { PM_INT, PM_MS, PM_BOOL, PM_STR, PM_FN, PM_FIXED };

typedef struct prop_map {
    const char *name; /* librdkafka */
    const char *key;  /* output.kafka.<key>; NULL = fixed */
    enum pm_kind kind;
    size_t off;        /* of the kafka_config field, for the plain kinds */
    pm_fn fn;          /* PM_FN */
    const char *fixed; /* PM_FIXED */
    int optional;
} prop_map;

/* ---- helpers ------------------------------------------------------------------ */

static int put(buf *out, long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v);
    return buf_append_str(out, tmp) == BUF_OK ? PM_SET : PM_ERR;
}

static int put_str(buf *out, const char *s)
{
    return buf_append_str(out, s) == BUF_OK ? PM_SET : PM_ERR;
}

/* libbeat turns TLS on when an `ssl` section is present and not disabled;
 * the section itself is not kept, so any TLS setting stands for it. */
static int tls_on(const kafka_config *kc)
{
    const ssl_config *s = &kc->ssl;
    if (s->enabled >= 0)
        return s->enabled;
    return s->certificate_authorities.n || s->certificate || s->key ||
           s->verification_mode != SSL_VERIFY_FULL;
}

static int sasl_on(const kafka_config *kc)
{
    return kc->username && *kc->username;
}

int kafka_version_parse(const char *s, int v[4])
{
    memset(v, 0, 4 * sizeof *v);
    for (int i = 0; s && i < 4; i++) {
        char *end;
        long n = strtol(s, &end, 10);
        if (end == s || *s == '-' || *s == '+' || n > 9999)
            return -1;
        v[i] = (int)n;
        if (!*end)
            return 0;
        if (*end != '.')
            return -1;
        s = end + 1;
    }
    return -1;
}

/* ---- mapping functions ----------------------------------------------------------- */

static int m_hosts(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    if (kc->hosts.n == 0) {
        snprintf(err, errlen, "at least one broker is required");
        return PM_ERR;
    }
    for (size_t i = 0; i < kc->hosts.n; i++)
        if ((i && buf_append(out, ",", 1) != BUF_OK) || put_str(out, kc->hosts.v[i]) != PM_SET)
            return PM_ERR;
    return PM_SET;
}

/* libbeat's compression_level is gzip's; lz4 and zstd take it too here,
 * each within its own range.  Snappy has no levels. */
static int m_level(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    static const struct {
        const char *codec;
        int min, max;
    } ranges[] = {{"gzip", 0, 9}, {"lz4", 0, 12}, {"zstd", 1, 12}};
    const char *codec = kc->compression ? kc->compression : "gzip";
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        if (strcmp(codec, ranges[i].codec) != 0)
            continue;
        if (kc->compression_level == -1)
            return PM_SKIP;
        if (kc->compression_level < ranges[i].min || kc->compression_level > ranges[i].max) {
            snprintf(err, errlen, "%d is out of range for %s, which takes %d to %d",
                     kc->compression_level, codec, ranges[i].min, ranges[i].max);
            return PM_ERR;
        }
        return put(out, kc->compression_level);
    }
    return PM_SKIP;
}

static int m_protocol(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    static const char *const names[2][2] = {{"plaintext", "ssl"}, {"sasl_plaintext", "sasl_ssl"}};
    return put_str(out, names[sasl_on(kc)][tls_on(kc)]);
}

static int m_mechanism(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    if (!sasl_on(kc))
        return PM_SKIP;
    return put_str(out, kc->sasl_mechanism ? kc->sasl_mechanism : "PLAIN");
}

static int m_username(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return sasl_on(kc) ? put_str(out, kc->username) : PM_SKIP;
}

static int m_password(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return sasl_on(kc) ? put_str(out, kc->password ? kc->password : "") : PM_SKIP;
}

static int m_ca_location(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    if (!tls_on(kc) || kc->ssl.certificate_authorities.n != 1)
        return PM_SKIP;
    return put_str(out, kc->ssl.certificate_authorities.v[0]);
}

/* librdkafka takes one CA location: several files become one PEM bundle. */
static int m_ca_pem(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    const strlist *files = &kc->ssl.certificate_authorities;
    if (!tls_on(kc) || files->n < 2)
        return PM_SKIP;
    out->max = CA_BUNDLE_MAX;
    for (size_t i = 0; i < files->n; i++) {
        size_t len;
        char *pem = curl_tls_read_file(files->v[i], CA_FILE_MAX, &len, err, errlen);
        int rc = pem && buf_append(out, pem, len) == BUF_OK && buf_append(out, "\n", 1) == BUF_OK;
        free(pem);
        if (!rc) {
            if (pem)
                snprintf(err, errlen, "the CA files together are larger than %u bytes",
                         CA_BUNDLE_MAX);
            return PM_ERR;
        }
    }
    return PM_SET;
}

static int m_certificate(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return tls_on(kc) && kc->ssl.certificate ? put_str(out, kc->ssl.certificate) : PM_SKIP;
}

static int m_key(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return tls_on(kc) && kc->ssl.key ? put_str(out, kc->ssl.key) : PM_SKIP;
}

static int m_verify(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    if (!tls_on(kc))
        return PM_SKIP;
    return put_str(out, kc->ssl.verification_mode == SSL_VERIFY_NONE ? "false" : "true");
}

/* full and strict check the host name; certificate only the chain. */
static int m_endpoint(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    if (!tls_on(kc))
        return PM_SKIP;
    enum ssl_verify m = kc->ssl.verification_mode;
    return put_str(out, m == SSL_VERIFY_FULL || m == SSL_VERIFY_STRICT ? "https" : "none");
}

static int m_keepalive(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return put_str(out, kc->keep_alive_ms > 0 ? "true" : "false");
}

/* max_retries < 0 is "forever": librdkafka's largest count. */
static int m_retries(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return put(out, kc->max_retries < 0 ? INT32_MAX : kc->max_retries);
}

/* A message whose brokers stay unreachable is reported after one linger,
 * one network timeout and one broker ack wait, as a transient failure: the
 * pipeline then holds it and tries again after its backoff, so an outage
 * loses nothing and the output learns of it within `timeout` instead of
 * librdkafka's five minutes. */
static int m_msg_timeout(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    int64_t wait = kc->timeout_ms > kc->broker_timeout_ms ? kc->timeout_ms : kc->broker_timeout_ms;
    int64_t ms = kc->bulk_flush_frequency_ms + wait;
    return put(out, ms > INT32_MAX ? INT32_MAX : ms);
}

/* 0 turns the periodic refresh off, as in sarama. */
static int m_refresh(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return put(out, kc->metadata_refresh_ms > 0 ? kc->metadata_refresh_ms : -1);
}

static int m_fast_refresh(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return put(out, kc->metadata_retry_backoff_ms > 0 ? kc->metadata_retry_backoff_ms : 1);
}

/* sarama gives up on a topic the cluster does not know after
 * metadata.retry.max retries metadata.retry.backoff apart; librdkafka's
 * equivalent is how long it waits for a topic to appear. */
static int m_propagation(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    int64_t ms = ((int64_t)kc->metadata_retry_max + 1) * kc->metadata_retry_backoff_ms;
    return put(out, ms > 3600000 ? 3600000 : ms);
}

static int m_sparse(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return put_str(out, kc->metadata_full ? "false" : "true");
}

static int version_of(const kafka_config *kc, int v[4], char *err, size_t errlen)
{
    const char *s = kc->version ? kc->version : "2.1.0";
    if (kafka_version_parse(s, v) != 0) {
        snprintf(err, errlen, "\"%s\" is not a Kafka version such as 2.1.0", s);
        return -1;
    }
    if (v[0] == 0 && (v[1] < 8 || (v[1] == 8 && v[2] < 2))) {
        snprintf(err, errlen, "Kafka %s is not supported (0.8.2 or later)", s);
        return -1;
    }
    return 0;
}

/* Brokers from 0.10 on say which protocol versions they speak; older ones
 * cannot be asked, librdkafka must be told. */
static int m_api_request(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    int v[4];
    if (version_of(kc, v, err, errlen) != 0)
        return PM_ERR;
    return put_str(out, v[0] > 0 || v[1] >= 10 ? "true" : "false");
}

static int m_fallback(const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    int v[4];
    if (version_of(kc, v, err, errlen) != 0)
        return PM_ERR;
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%d.%d.%d", v[0], v[1], v[2]);
    if (v[3])
        snprintf(tmp + n, sizeof tmp - (size_t)n, ".%d", v[3]);
    return put_str(out, tmp);
}

/* ---- the table ------------------------------------------------------------------- */

#define KO(f) offsetof(kafka_config, f)
#define FN(name, key, fn)                                                                          \
    {                                                                                              \
        name, key, PM_FN, 0, fn, NULL, 0                                                           \
    }
#define PLAIN(name, key, kind, field)                                                              \
    {                                                                                              \
        name, key, kind, KO(field), NULL, NULL, 0                                                  \
    }

static const prop_map props_table[] = {
    FN("bootstrap.servers", "hosts", m_hosts),
    PLAIN("client.id", "client_id", PM_STR, client_id),
    PLAIN("acks", "required_acks", PM_INT, required_acks),
    PLAIN("compression.codec", "compression", PM_STR, compression),
    FN("compression.level", "compression_level", m_level),
    PLAIN("message.max.bytes", "max_message_bytes", PM_INT, max_message_bytes),
    FN("security.protocol", "ssl.enabled", m_protocol),
    FN("sasl.mechanisms", "sasl.mechanism", m_mechanism),
    FN("sasl.username", "username", m_username),
    FN("sasl.password", "password", m_password),
    FN("ssl.ca.location", "ssl.certificate_authorities", m_ca_location),
    FN("ssl.ca.pem", "ssl.certificate_authorities", m_ca_pem),
    FN("ssl.certificate.location", "ssl.certificate", m_certificate),
    FN("ssl.key.location", "ssl.key", m_key),
    FN("enable.ssl.certificate.verification", "ssl.verification_mode", m_verify),
    FN("ssl.endpoint.identification.algorithm", "ssl.verification_mode", m_endpoint),
    PLAIN("socket.timeout.ms", "timeout", PM_MS, timeout_ms),
    PLAIN("request.timeout.ms", "broker_timeout", PM_MS, broker_timeout_ms),
    FN("socket.keepalive.enable", "keep_alive", m_keepalive),
    PLAIN("batch.num.messages", "bulk_max_size", PM_INT, bulk_max_size),
    PLAIN("linger.ms", "bulk_flush_frequency", PM_MS, bulk_flush_frequency_ms),
    FN("message.send.max.retries", "max_retries", m_retries),
    /* libbeat's backoff is both: between a message's retries, and before
     * talking to a broker again after a network error */
    PLAIN("retry.backoff.ms", "backoff.init", PM_MS, backoff.init_ms),
    {"retry.backoff.max.ms", "backoff.max", PM_MS, KO(backoff.max_ms), NULL, NULL, 1},
    PLAIN("reconnect.backoff.ms", "backoff.init", PM_MS, backoff.init_ms),
    PLAIN("reconnect.backoff.max.ms", "backoff.max", PM_MS, backoff.max_ms),
    FN("message.timeout.ms", "timeout", m_msg_timeout),
    FN("topic.metadata.refresh.interval.ms", "metadata.refresh_frequency", m_refresh),
    FN("topic.metadata.refresh.fast.interval.ms", "metadata.retry.backoff", m_fast_refresh),
    FN("topic.metadata.refresh.sparse", "metadata.full", m_sparse),
    FN("topic.metadata.propagation.max.ms", "metadata.retry.max", m_propagation),
    PLAIN("enable.idempotence", "idempotent", PM_BOOL, idempotent),
    FN("api.version.request", "version", m_api_request),
    FN("broker.version.fallback", "version", m_fallback),
    /* Logs come through the main queue, so they are written by the main
     * thread like every other line. */
    {"log.queue", NULL, PM_FIXED, 0, NULL, "true", 0},
    {"client.software.name", NULL, PM_FIXED, 0, NULL, "expvarbeat", 0},
    {"client.software.version", NULL, PM_FIXED, 0, NULL, EXPVARBEAT_VERSION, 0},
};

#define N_PROPS (sizeof props_table / sizeof *props_table)

static int map_one(const prop_map *m, const kafka_config *kc, buf *out, char *err, size_t errlen)
{
    const char *field = (const char *)kc + m->off;
    switch (m->kind) {
    case PM_INT:
        return put(out, *(const int *)field);
    case PM_MS:
        return put(out, (long long)*(const int64_t *)field);
    case PM_BOOL:
        return put_str(out, *(const int *)field ? "true" : "false");
    case PM_STR:
        return *(char *const *)field ? put_str(out, *(char *const *)field) : PM_SKIP;
    case PM_FIXED:
        return put_str(out, m->fixed);
    case PM_FN:
        break;
    }
    return m->fn(kc, out, err, errlen);
}

int kafka_props_build(const kafka_config *kc, kafka_props *out, char *err, size_t errlen)
{
    *out = (kafka_props){calloc(N_PROPS, sizeof *out->v), 0};
    if (!out->v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < N_PROPS; i++) {
        const prop_map *m = &props_table[i];
        buf v;
        buf_init(&v, 0);
        char why[512] = "out of memory";
        int rc = map_one(m, kc, &v, why, sizeof why);
        if (rc == PM_SET) {
            kafka_prop *p = &out->v[out->n++];
            *p = (kafka_prop){m->name, m->key, buf_detach(&v, NULL), m->optional};
            if (p->value)
                continue;
            rc = PM_ERR;
        }
        buf_free(&v);
        if (rc == PM_ERR) {
            snprintf(err, errlen, "output.kafka.%s: %s", m->key ? m->key : m->name, why);
            kafka_props_free(out);
            return -1;
        }
    }
    return 0;
}

void kafka_props_free(kafka_props *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].value);
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

const char *kafka_props_get(const kafka_props *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return p->v[i].value;
    return NULL;
}

rd_kafka_conf_t *kafka_conf_new(const kafka_props *p, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        const kafka_prop *k = &p->v[i];
        char why[512] = "";
        rd_kafka_conf_res_t rc = rd_kafka_conf_set(conf, k->name, k->value, why, sizeof why);
        if (rc == RD_KAFKA_CONF_OK || (rc == RD_KAFKA_CONF_UNKNOWN && k->optional))
            continue;
        if (k->key)
            snprintf(err, errlen, "output.kafka.%s: %s", k->key, why);
        else
            snprintf(err, errlen, "output.kafka: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* name occurs in msg as a word of its own (not inside a longer property). */
static const char *find_word(const char *msg, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = strstr(msg, name); s; s = strstr(s + 1, name)) {
        int before = s == msg || !(s[-1] == '.' || s[-1] == '_' || (s[-1] >= 'a' && s[-1] <= 'z'));
        char c = s[n];
        int after = !(c == '.' || c == '_' || (c >= 'a' && c <= 'z'));
        if (before && after)
            return s;
    }
    return NULL;
}

/* key is one of the ", "-separated entries of list. */
static int listed(const char *list, const char *key)
{
    size_t n = strlen(key);
    for (const char *s = list; *s;) {
        size_t len = strcspn(s, ",");
        if (len == n && strncmp(s, key, n) == 0)
            return 1;
        s += len;
        s += *s ? 2 : 0;
    }
    return 0;
}

void kafka_props_keys_in(const kafka_props *p, const char *msg, char *out, size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *from = msg;;) {
        const char *first = NULL, *key = NULL;
        for (size_t i = 0; i < p->n; i++) {
            const char *at = p->v[i].key ? find_word(from, p->v[i].name) : NULL;
            if (at && (!first || at < first)) {
                first = at;
                key = p->v[i].key;
            }
        }
        if (!first)
            return;
        from = first + 1;
        if (listed(out, key)) /* each option once */
            continue;
        int w = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", key);
        if (w < 0 || (size_t)w >= outlen - len)
            return;
        len += (size_t)w;
    }
}
