/* kafka_msg: topic rules, key, partition numbers and message values (see
 * kafka_msg.h).  Field values are read with fmtstr ("%{[path]}" compiled
 * per field), so a rule's when.equals and partition.hash see a field the
 * same way the topic and key formats do: strings as they are, numbers and
 * booleans as their JSON text. */
#include "kafka_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "fmtstr.h"
#include "json_pretty.h"

/* One `topics` rule: topic format and its when.equals pairs. */
typedef struct rule {
    const char *text;
    fmtstr *topic;
    fmtstr **fields;
    const char **values;
    size_t n;
} rule;

struct kafka_router {
    const char *topic_text;
    fmtstr *topic; /* NULL: none */
    rule *rules;
    size_t n_rules;
    fmtstr *key;
    fmtstr **hash; /* partition.hash.hash */
    size_t n_hash;
    char *const *hash_names;
    enum kafka_partitioner part;
    int hash_random;
    unsigned group, in_group; /* group_events, and how many of the group went */
    uint32_t current;         /* random: the group's draw; round_robin: its turn */
    unsigned seed;
};

/* ---- compiling ------------------------------------------------------------------ */

static fmtstr *compile(const char *text, const char *what, char *err, size_t errlen)
{
    char why[256];
    fmtstr *f = fmtstr_compile(text, why, sizeof why);
    if (!f)
        snprintf(err, errlen, "output.kafka.%s: %s", what, why);
    return f;
}

/* "%{[path]}": the field alone, to read its value. */
static fmtstr *compile_field(const char *path, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(path) + sizeof "%{[]}";
    char *text = malloc(n);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(text, n, "%%{[%s]}", path);
    fmtstr *f = compile(text, what, err, errlen);
    free(text);
    return f;
}

static int compile_rule(rule *r, const kafka_topic_rule *src, size_t idx, char *err, size_t errlen)
{
    char what[64];
    snprintf(what, sizeof what, "topics[%zu].topic", idx);
    if (!src->topic || !*src->topic) {
        snprintf(err, errlen, "output.kafka.%s: a rule needs a topic", what);
        return -1;
    }
    r->text = src->topic;
    if (!(r->topic = compile(src->topic, what, err, errlen)))
        return -1;
    r->fields = calloc(src->equals.n + 1, sizeof *r->fields);
    r->values = calloc(src->equals.n + 1, sizeof *r->values);
    if (!r->fields || !r->values) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(what, sizeof what, "topics[%zu].when.equals", idx);
    for (; r->n < src->equals.n; r->n++) {
        r->values[r->n] = src->equals.v[r->n].value ? src->equals.v[r->n].value : "";
        if (!(r->fields[r->n] = compile_field(src->equals.v[r->n].key, what, err, errlen)))
            return -1;
    }
    return 0;
}

static int compile_hash(kafka_router *r, const strlist *fields, char *err, size_t errlen)
{
    r->hash_names = fields->v;
    r->hash = calloc(fields->n + 1, sizeof *r->hash);
    if (!r->hash) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (; r->n_hash < fields->n; r->n_hash++)
        if (!(r->hash[r->n_hash] =
                  compile_field(fields->v[r->n_hash], "partition.hash.hash", err, errlen)))
            return -1;
    return 0;
}

kafka_router *kafka_router_new(const kafka_config *kc, unsigned seed, char *err, size_t errlen)
{
    kafka_router *r = calloc(1, sizeof *r);
    if (!r || !(r->rules = calloc(kc->n_topics + 1, sizeof *r->rules))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->part = kc->partitioner;
    r->hash_random = kc->hash_random;
    r->group = kc->group_events > 0 ? (unsigned)kc->group_events : 1;
    r->seed = seed;
    r->topic_text = kc->topic;
    int rc = 0;
    if (!kc->topic && !kc->n_topics) {
        snprintf(err, errlen, "output.kafka.topic: a topic (or topics rules) is required");
        rc = -1;
    }
    if (rc == 0 && kc->topic && !(r->topic = compile(kc->topic, "topic", err, errlen)))
        rc = -1;
    r->n_rules = kc->n_topics; /* calloc'ed: rules not reached free as empty */
    for (size_t i = 0; rc == 0 && i < kc->n_topics; i++)
        rc = compile_rule(&r->rules[i], &kc->topics[i], i, err, errlen);
    if (rc == 0 && kc->key && !(r->key = compile(kc->key, "key", err, errlen)))
        rc = -1;
    if (rc == 0 && kc->partitioner == KAFKA_PART_HASH)
        rc = compile_hash(r, &kc->hash_fields, err, errlen);
    if (rc != 0) {
        kafka_router_free(r);
        return NULL;
    }
    return r;
}

static void rule_free(rule *r)
{
    fmtstr_free(r->topic);
    for (size_t i = 0; r->fields && i < r->n; i++)
        fmtstr_free(r->fields[i]);
    free(r->fields);
    free(r->values);
}

void kafka_router_free(kafka_router *r)
{
    if (!r)
        return;
    fmtstr_free(r->topic);
    for (size_t i = 0; r->rules && i < r->n_rules; i++)
        rule_free(&r->rules[i]);
    free(r->rules);
    fmtstr_free(r->key);
    for (size_t i = 0; r->hash && i < r->n_hash; i++)
        fmtstr_free(r->hash[i]);
    free(r->hash);
    free(r);
}

/* ---- per event -------------------------------------------------------------------- */

static int rule_matches(const rule *r, const char *doc, size_t len)
{
    char v[KAFKA_KEY_MAX];
    for (size_t i = 0; i < r->n; i++) {
        int n = fmtstr_eval(r->fields[i], doc, len, 0, v, sizeof v);
        if (n < 0 || strcmp(v, r->values[i]) != 0)
            return 0;
    }
    return 1;
}

static int eval_topic(fmtstr *f, const char *text, const char *doc, size_t len, int64_t ts_ms,
                      char *out, size_t outlen, char *why, size_t whylen)
{
    int n = fmtstr_eval(f, doc, len, ts_ms, out, outlen);
    if (n < 0)
        snprintf(why, whylen,
                 "topic \"%s\" cannot be built for it: a field it names is missing "
                 "or the name is too long",
                 text);
    else if (n == 0)
        snprintf(why, whylen, "no topic could be selected (\"%s\" is empty for it)", text);
    return n > 0 ? n : -1;
}

int kafka_route_topic(const kafka_router *r, const char *doc, size_t len, int64_t ts_ms, char *out,
                      size_t outlen, char *why, size_t whylen)
{
    for (size_t i = 0; i < r->n_rules; i++)
        if (rule_matches(&r->rules[i], doc, len))
            return eval_topic(r->rules[i].topic, r->rules[i].text, doc, len, ts_ms, out, outlen,
                              why, whylen);
    if (r->topic)
        return eval_topic(r->topic, r->topic_text, doc, len, ts_ms, out, outlen, why, whylen);
    snprintf(why, whylen, "no topic could be selected");
    return -1;
}

int kafka_route_key(const kafka_router *r, const char *doc, size_t len, int64_t ts_ms, char *out,
                    size_t outlen)
{
    return r->key ? fmtstr_eval(r->key, doc, len, ts_ms, out, outlen) : -1;
}

static uint32_t draw(kafka_router *r)
{
    /* rand_r gives 31 bits; two draws fill 32 */
    uint32_t hi = (uint32_t)rand_r(&r->seed), lo = (uint32_t)rand_r(&r->seed);
    return (hi << 16) ^ lo;
}

/* FNV-1a over the `hash` fields' values, one after the other. */
static int hash_fields(const kafka_router *r, const char *doc, size_t len, uint32_t *h, char *why,
                       size_t whylen)
{
    char v[KAFKA_KEY_MAX];
    *h = KAFKA_FNV_INIT;
    for (size_t i = 0; i < r->n_hash; i++) {
        int n = fmtstr_eval(r->hash[i], doc, len, 0, v, sizeof v);
        if (n < 0) {
            snprintf(why, whylen, "partition.hash: the event has no field %s to hash",
                     r->hash_names[i]);
            return -1;
        }
        *h = kafka_fnv1a32(*h, v, (size_t)n);
    }
    return 0;
}

int kafka_route_partition(kafka_router *r, const char *doc, size_t len, const char *key, int keylen,
                          uint32_t *pv, char *why, size_t whylen)
{
    switch (r->part) {
    case KAFKA_PART_HASH:
        if (r->n_hash) {
            if (hash_fields(r, doc, len, pv, why, whylen) == 0)
                return 0;
            if (!r->hash_random)
                return -1;
            *pv = draw(r);
        } else {
            *pv = keylen >= 0 ? kafka_fnv1a32(KAFKA_FNV_INIT, key, (size_t)keylen) : draw(r);
        }
        return 0;
    case KAFKA_PART_RANDOM:
        if (r->in_group == 0)
            r->current = draw(r);
        break;
    case KAFKA_PART_ROUND_ROBIN:
        break;
    }
    *pv = r->current;
    if (++r->in_group == r->group) {
        r->in_group = 0;
        if (r->part == KAFKA_PART_ROUND_ROBIN)
            r->current = (r->current + 1) & 0x7fffffffu;
    }
    return 0;
}

uint32_t kafka_fnv1a32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    return h;
}

int32_t kafka_partition_of(uint32_t pv, int32_t n)
{
    return n > 0 ? (int32_t)(pv & 0x7fffffffu) % n : 0;
}

/* ---- value ----------------------------------------------------------------------- */

static int gen_str(yajl_gen g, const char *s)
{
    return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) == yajl_gen_status_ok ? 0 : -1;
}

int kafka_metadata_json(const char *beat, const char *version, buf *out)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return -1;
    int rc = yajl_gen_map_open(g) == yajl_gen_status_ok ? 0 : -1;
    const char *pairs[] = {"beat", beat, "type", "_doc", "version", version};
    for (size_t i = 0; rc == 0 && i < sizeof pairs / sizeof *pairs; i++)
        rc = gen_str(g, pairs[i]);
    if (rc == 0 && yajl_gen_map_close(g) != yajl_gen_status_ok)
        rc = -1;
    const unsigned char *p;
    size_t n;
    if (rc == 0 &&
        (yajl_gen_get_buf(g, &p, &n) != yajl_gen_status_ok || buf_append(out, p, n) != BUF_OK))
        rc = -1;
    yajl_gen_free(g);
    return rc;
}

static const char ts_head[] = "{\"@timestamp\":\"";

/* Where the leading @timestamp member ends (after its closing quote), or 1
 * (just inside the opening brace) when the document does not start so. */
static size_t after_timestamp(const char *doc, size_t len)
{
    size_t i = sizeof ts_head - 1;
    if (len < i || memcmp(doc, ts_head, i) != 0)
        return 1;
    for (; i < len; i++) {
        if (doc[i] == '\\')
            i++;
        else if (doc[i] == '"')
            return i + 1;
    }
    return 1;
}

static int splice(const char *doc, size_t len, const char *meta, size_t metalen, buf *out)
{
    static const char key[] = "\"@metadata\":";
    size_t at = after_timestamp(doc, len);
    int first = at == 1;
    int rc = buf_append(out, doc, at);
    if (rc == BUF_OK && !first)
        rc = buf_append(out, ",", 1);
    if (rc == BUF_OK)
        rc = buf_append(out, key, sizeof key - 1);
    if (rc == BUF_OK)
        rc = buf_append(out, meta, metalen);
    if (rc == BUF_OK && first && at < len && doc[at] != '}')
        rc = buf_append(out, ",", 1);
    if (rc == BUF_OK)
        rc = buf_append(out, doc + at, len - at);
    return rc == BUF_OK ? 0 : -1;
}

int kafka_value_build(const char *doc, size_t len, const char *meta, size_t metalen, int pretty,
                      buf *out, char *err, size_t errlen)
{
    if (len < 2 || doc[0] != '{') {
        snprintf(err, errlen, "not a JSON object");
        return KAFKA_VALUE_INVALID;
    }
    buf flat;
    buf_init(&flat, 0);
    int rc = splice(doc, len, meta, metalen, pretty ? &flat : out);
    if (rc == 0 && pretty) {
        int pr = json_pretty(flat.data, flat.len, out, err, errlen);
        rc = pr == JSON_PRETTY_OK ? 0 : pr == JSON_PRETTY_INVALID ? KAFKA_VALUE_INVALID : -1;
    }
    if (rc == -1) {
        snprintf(err, errlen, "out of memory");
        rc = KAFKA_VALUE_ENOMEM;
    }
    buf_free(&flat);
    return rc;
}

int64_t kafka_event_ts(const char *doc, size_t len)
{
    struct tm tm = {0};
    int ms = 0;
    size_t head = sizeof ts_head - 1;
    if (len < head + 24 || memcmp(doc, ts_head, head) != 0)
        return -1;
    char ts[32];
    memcpy(ts, doc + head, 24);
    ts[24] = '\0';
    if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}
