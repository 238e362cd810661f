/* kafka_conf: output.kafka (struct kafka_config) as librdkafka producer
 * properties.  One table says which option becomes which property; the
 * list it produces is plain data so tests can read it, and applying it to
 * an rd_kafka_conf_t names the option behind any property librdkafka
 * refuses.  Reads the CA files when there are several (they become one
 * ssl.ca.pem); otherwise pure. */
#ifndef EXPVARBEAT_KAFKA_CONF_H
#define EXPVARBEAT_KAFKA_CONF_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "config.h"

typedef struct kafka_prop {
    const char *name; /* librdkafka's property */
    const char *key;  /* the output.kafka option it comes from; NULL = fixed by expvarbeat */
    char *value;
    int optional; /* absent from older librdkafka releases: skipped there */
} kafka_prop;

typedef struct kafka_props {
    kafka_prop *v;
    size_t n;
} kafka_props;

/* The properties for kc, in table order.  0, or -1 with a message naming
 * the option ("output.kafka.compression_level: gzip takes 0 to 9"). */
int kafka_props_build(const kafka_config *kc, kafka_props *out, char *err, size_t errlen);
void kafka_props_free(kafka_props *p);
/* The value set for a property, NULL when left at librdkafka's default. */
const char *kafka_props_get(const kafka_props *p, const char *name);

/* A new rd_kafka_conf_t with every property set.  NULL with a message
 * naming the option and librdkafka's reason. */
rd_kafka_conf_t *kafka_conf_new(const kafka_props *p, char *err, size_t errlen);

/* The options behind the properties a librdkafka message mentions (as
 * rd_kafka_new reports invalid combinations: "`acks` must be set to `all`
 * when `enable.idempotence` is true"), comma-separated in the order they
 * appear, into out; "" when none. */
void kafka_props_keys_in(const kafka_props *p, const char *msg, char *out, size_t outlen);

/* The Kafka protocol version of `version` ("2.1.0", "0.10.2.1", "2") as
 * four numbers; 0, or -1 when it is not a version. */
int kafka_version_parse(const char *s, int v[4]);

#endif
