/* kafka_msg: what one event becomes as a Kafka message, apart from sending
 * it (spec §4.2): its topic (the first `topics` rule whose when.equals all
 * match, else `topic`), its key, the number its partition is derived from
 * (partition.hash / random / round_robin, as libbeat's partition.go), and
 * its value (the document with Metricbeat's @metadata after @timestamp,
 * indented with codec.json.pretty).  Compiled once from kafka_config,
 * evaluated per event against the rendered document.  Pure, but for the
 * router's own random draws and round-robin turn. */
#ifndef EXPVARBEAT_KAFKA_MSG_H
#define EXPVARBEAT_KAFKA_MSG_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"

/* Topic names are at most 249 bytes in Kafka. */
#define KAFKA_TOPIC_MAX 256
#define KAFKA_KEY_MAX 4096

typedef struct kafka_router kafka_router;

/* NULL with a message naming the option ("output.kafka.topics[2].topic:
 * unexpected end of format string at 3"). */
kafka_router *kafka_router_new(const kafka_config *kc, unsigned seed, char *err, size_t errlen);
void kafka_router_free(kafka_router *r);

/* The event's topic into out: its length, or -1 with libbeat's reason in why
 * ("no topic could be selected", "key not found: [a.b]"). */
int kafka_route_topic(const kafka_router *r, const char *doc, size_t len, int64_t ts_ms, char *out,
                      size_t outlen, char *why, size_t whylen);
/* The event's key into out: its length, or -1 when it has none (no `key`,
 * or a field it names is missing: libbeat then sends no key). */
int kafka_route_key(const kafka_router *r, const char *doc, size_t len, int64_t ts_ms, char *out,
                    size_t outlen);
/* The number the event's partition comes from (see kafka_partition_of): the
 * FNV-1a hash of its `hash` fields or key, or a draw for random,
 * round_robin and keyless events.  0, or -1 with why when a `hash` field is
 * missing and partition.hash.random is off (the event cannot be placed). */
int kafka_route_partition(kafka_router *r, const char *doc, size_t len, const char *key, int keylen,
                          uint32_t *pv, char *why, size_t whylen);

/* FNV-1a 32 (Go's hash/fnv New32a), continuing from h. */
#define KAFKA_FNV_INIT 2166136261u
uint32_t kafka_fnv1a32(uint32_t h, const void *p, size_t n);
/* libbeat's hash2Partition: (int32(pv) & 0x7fffffff) % n. */
int32_t kafka_partition_of(uint32_t pv, int32_t n);

/* {"beat":beat,"type":"_doc","version":version}, written with yajl_gen.
 * 0, or -1 out of memory. */
int kafka_metadata_json(const char *beat, const char *version, buf *out);
/* The message value: doc with "@metadata":meta spliced in right after its
 * leading @timestamp member (first, when the document has none), indented
 * when pretty.  0, or KAFKA_VALUE_ENOMEM / KAFKA_VALUE_INVALID (not a JSON
 * object) with a message. */
enum { KAFKA_VALUE_ENOMEM = -1, KAFKA_VALUE_INVALID = -2 };
int kafka_value_build(const char *doc, size_t len, const char *meta, size_t metalen, int pretty,
                      buf *out, char *err, size_t errlen);

/* The @timestamp our documents start with, in ms since the epoch; -1 when
 * the document does not start with one. */
int64_t kafka_event_ts(const char *doc, size_t len);

#endif
