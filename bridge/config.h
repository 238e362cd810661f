/* config: YAML files → one typed, validated struct config.
 * Reads metricbeat.yml-compatible files (libyaml), merges several -c files and
 * -E overrides, expands ${VAR} / ${VAR:default}, splits dotted keys as go-ucfg
 * does, then decodes through declarative key tables.  Unknown keys are logged
 * as warnings with file:line; invalid values are errors naming file, line and
 * key.  Only main.c loads a config; everything else reads it. */
#ifndef EXPVARBEAT_CONFIG_H
#define EXPVARBEAT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "cfgval.h"

enum { MS_EXPVAR = 1u << 0, MS_HEAP = 1u << 1 };

enum ssl_verify { SSL_VERIFY_FULL, SSL_VERIFY_STRICT, SSL_VERIFY_CERTIFICATE, SSL_VERIFY_NONE };

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

typedef struct kv {
    char *key;
    char *value;
} kv;

typedef struct kvlist {
    kv *v;
    size_t n;
} kvlist;

typedef struct ssl_config {
    int enabled; /* -1 unset (then on for https:// hosts), 0, 1 */
    enum ssl_verify verification_mode;
    strlist certificate_authorities; /* file paths */
    char *certificate;
    char *key;
} ssl_config;

/* One entry of metricbeat.modules / expvarbeat.modules / a modules.d file
 * with module: golang.  Other modules never reach this struct. */
typedef struct module_config {
    char *file; /* where it was declared, for messages */
    int line;
    int enabled;
    unsigned metricsets;    /* MS_* bits; default both */
    int64_t period_ms;      /* default 10000 */
    strlist hosts;          /* required, at least one */
    char *expvar_namespace; /* required when MS_EXPVAR */
    char *expvar_path;      /* default "/debug/vars" */
    char *heap_path;        /* default "/debug/vars" */
    char *basepath;         /* default "" */
    kvlist query;
    kvlist headers;
    char *username, *password;
    char *bearer_token_file;
    int64_t connect_timeout_ms; /* default 2000 */
    int64_t timeout_ms;         /* default 10000 */
    ssl_config ssl;
    cfgval *fields; /* a CFGV_MAP or NULL */
    int fields_under_root;
    strlist tags;
    /* expvarbeat extensions (keys under the module) */
    size_t max_body_bytes; /* `max_body_size`, default 10 MiB */
    int max_depth;         /* `max_depth`, default 64 */
    /* Beyond Metricbeat, all off by default so documents stay identical. */
    strlist expvar_include;   /* expvar.include: globs over dotted paths; empty = all */
    strlist expvar_exclude;   /* expvar.exclude: globs; applied after include */
    int expvar_max_fields;    /* expvar.max_fields: 0 = no cap */
    int expvar_drop_memstats; /* expvar.drop_memstats, default 0 */
    int heap_restart_reset;   /* heap.restart_reset: NumGC going down restarts the window */
    double heap_pause_pct[8]; /* heap.pause_percentiles, each in (0, 100], ascending */
    size_t heap_n_pause_pct;
    int heap_rates;   /* heap.rates: per-window allocation and GC rates, default 0 */
    char *hosts_file; /* hosts_file: more hosts, YAML list or one URL a line; NULL = none */
} module_config;

enum output_type { OUTPUT_CONSOLE, OUTPUT_FILE, OUTPUT_ELASTICSEARCH, OUTPUT_KAFKA };

typedef struct backoff_config {
    int64_t init_ms; /* default 1000 */
    int64_t max_ms;  /* default 60000 */
} backoff_config;

/* output.elasticsearch, with Metricbeat's defaults (spec §4.1). */
typedef struct es_config {
    strlist hosts;  /* required; "[scheme://]host[:port][/path]", port 9200 */
    char *protocol; /* NULL = from the host, else http/https */
    char *path;     /* NULL = none; URL prefix */
    char *username, *password;
    char *api_key; /* "id:key" → Authorization: ApiKey base64(id:key) */
    kvlist headers;
    kvlist parameters; /* added to the _bulk URL query */
    ssl_config ssl;
    int compression_level; /* default 1 (gzip); 0 = off; 1..9 */
    int bulk_max_size;     /* default 1600 */
    int worker;            /* default 1; clients per host */
    int loadbalance;       /* default 1 */
    int max_retries;       /* default 3; < 0 = retry forever */
    backoff_config backoff;
    int64_t timeout_ms;       /* default 90000 */
    char *index;              /* default "expvarbeat-%{[agent.version]}"; a format string */
    char *pipeline;           /* NULL = none; a format string */
    char *dead_letter_index;  /* non_indexable_policy.dead_letter_index.index; NULL = drop */
    int allow_older_versions; /* default 0 */
    char *preset;             /* NULL = custom; balanced, throughput, scale, latency */
} es_config;

enum kafka_partitioner { KAFKA_PART_HASH, KAFKA_PART_RANDOM, KAFKA_PART_ROUND_ROBIN };

/* One `topics:` rule: the first whose `when.equals` pairs all match the
 * event picks `topic` (a format string). */
typedef struct kafka_topic_rule {
    char *topic;
    kvlist equals; /* field path → expected value (as text) */
} kafka_topic_rule;

/* output.kafka, with Metricbeat's defaults (spec §4.2). */
typedef struct kafka_config {
    strlist hosts; /* required: bootstrap brokers host:port */
    char *topic;   /* format string; required unless topics match */
    kafka_topic_rule *topics;
    size_t n_topics;
    char *key;                          /* format string, NULL = none */
    enum kafka_partitioner partitioner; /* default hash */
    strlist hash_fields;                /* partition.hash.hash */
    int hash_random;                    /* partition.hash.random */
    int group_events;                   /* partition.{random,round_robin}.group_events, 1 */
    int reachable_only;                 /* default 0 */
    int required_acks;                  /* default 1; 0, 1, -1 */
    char *compression;                  /* default "gzip"; none, snappy, lz4, zstd */
    int compression_level;              /* default 4 */
    int max_message_bytes;              /* default 1000000 */
    char *client_id;                    /* default "beats" */
    char *version;                      /* default "2.1.0" (protocol version) */
    char *username, *password;
    char *sasl_mechanism; /* default PLAIN when username is set; SCRAM-SHA-256/512 */
    ssl_config ssl;
    int64_t timeout_ms;                /* default 30000 */
    int64_t broker_timeout_ms;         /* default 10000 */
    int64_t keep_alive_ms;             /* default 0 */
    int bulk_max_size;                 /* default 2048 */
    int64_t bulk_flush_frequency_ms;   /* default 0 */
    int max_retries;                   /* default 3; < 0 = forever */
    backoff_config backoff;            /* default 1s / 60s */
    int64_t metadata_refresh_ms;       /* metadata.refresh_frequency, default 10m */
    int metadata_retry_max;            /* metadata.retry.max, default 3 */
    int64_t metadata_retry_backoff_ms; /* metadata.retry.backoff, default 250ms */
    int metadata_full;                 /* metadata.full, default 0 */
    kvlist headers;                    /* headers: [{key, value}] */
    int codec_pretty;                  /* codec.json.pretty, default 0 */
    int idempotent;                    /* expvarbeat extra: enable.idempotence, default 0 */
} kafka_config;

typedef struct output_config {
    enum output_type type;
    struct {
        int pretty;
    } console;
    struct {
        char *path;              /* default "<path.data>/expvarbeat" */
        char *filename;          /* default "expvarbeat" */
        int64_t rotate_every_kb; /* default 10240 */
        int number_of_files;     /* default 7, 2..1024 */
        int permissions;         /* default 0600 */
    } file;
    es_config elasticsearch;
    kafka_config kafka;
} output_config;

/* setup.kibana.* (spec §5.1); credentials default to output.elasticsearch's. */
typedef struct kibana_config {
    char *host;     /* default "localhost:5601"; [scheme://]host[:port][/path] */
    char *protocol; /* NULL = from host, else http/https */
    char *path;     /* NULL = none */
    char *space_id; /* NULL = default space; else requests go to /s/<id>/api/... */
    char *username, *password, *api_key;
    kvlist headers;
    ssl_config ssl;
} kibana_config;

/* setup.ilm.*, setup.template.* (spec §3.3), setup.kibana.*, setup.dashboards.* (§5.1). */
typedef struct setup_config {
    struct {
        int enabled;       /* default 1 */
        char *policy_name; /* default "expvarbeat" */
        char *policy_file; /* NULL = the built-in policy */
        int check_exists;  /* default 1 */
        int overwrite;     /* default 0 */
    } ilm;
    struct {
        int enabled;      /* default 1 */
        char *name;       /* default "expvarbeat-<version>" */
        char *pattern;    /* default = name */
        int overwrite;    /* default 0 */
        cfgval *settings; /* setup.template.settings (index.*, _source.*), or NULL */
    } template_;
    kibana_config kibana;
    struct {
        int enabled; /* setup.dashboards.enabled: import at start of `run`, default 0 */
    } dashboards;
} setup_config;

typedef struct config {
    char *name; /* beat name: host.name and agent.name; default hostname */
    strlist tags;
    cfgval *fields;
    int fields_under_root;
    int64_t max_start_delay_ms; /* default 10000 */
    module_config *modules;
    size_t n_modules;
    char *modules_path; /* config.modules.path glob, joined to path.config; NULL = unset */
    output_config output;
    int log_level;     /* enum log_level; default LOG_INFO */
    int log_to_stderr; /* -e, or logging.to_stderr */
    struct {
        int to_files;              /* logging.to_files, default 1 (off when -e is given) */
        int to_stderr;             /* logging.to_stderr, default 0; -e sets log_to_stderr */
        int json;                  /* logging.json, default 0 (ECS JSON lines) */
        char *path;                /* logging.files.path, default path.logs */
        char *name;                /* logging.files.name, default "expvarbeat" */
        int keepfiles;             /* logging.files.keepfiles, default 7, 2..1024 */
        int64_t rotateeverybytes;  /* logging.files.rotateeverybytes, default 10 MiB */
        int permissions;           /* logging.files.permissions, default 0600 */
        int metrics_enabled;       /* logging.metrics.enabled, default 1 */
        int64_t metrics_period_ms; /* logging.metrics.period, default 30s */
    } logging;
    struct {
        int enabled; /* default 0 */
        char *host;  /* default "localhost" */
        int port;    /* default 5066 */
    } http;
    struct {
        int events;               /* queue.mem.events, default 3200 (8.12+) */
        int flush_min_events;     /* default 1600 */
        int64_t flush_timeout_ms; /* default 10000 */
    } queue;
    struct {
        int enabled;         /* a queue.disk section is present */
        char *path;          /* queue.disk.path, default "<path.data>/diskqueue" */
        size_t max_size;     /* queue.disk.max_size, default 10GB */
        size_t segment_size; /* queue.disk.segment_size, default max_size / 10 */
    } disk_queue;
    struct {
        int enabled;       /* *.config.modules.reload.enabled, default 0 */
        int64_t period_ms; /* *.config.modules.reload.period, default 10s */
    } reload;
    struct {
        int index; /* shard.index, default 0; < count */
        int count; /* shard.count, default 1: this instance scrapes every target */
    } shard;
    int64_t shutdown_timeout_ms; /* `shutdown_timeout`, default 5000 */
    setup_config setup;
    struct {
        char *home, *config, *data, *logs;
    } path;
} config;

typedef struct config_opts {
    const char **files; /* -c, in order; default "expvarbeat.yml" relative to path.config */
    size_t n_files;
    const char **overrides; /* -E key=value, in order */
    size_t n_overrides;
    const char *path_home, *path_config, *path_data, *path_logs; /* NULL = default */
    int log_to_stderr;
    int no_strict_perms; /* --strict.perms=false: accept config files others may write */
} config_opts;

/* Returns a config or NULL with a one-line message in err ("FILE:LINE: KEY: why"). */
config *config_load(const config_opts *o, char *err, size_t errlen);
void config_free(config *c);
/* What `export config` prints: the merged settings of the -c files and -E
 * overrides, ${VAR} expanded, after they loaded as a valid config (modules.d
 * files are not part of it, as in Metricbeat).  NULL + err as config_load. */
cfgval *config_load_tree(const config_opts *o, char *err, size_t errlen);

/* The config of `test target URL`: one golang module entry with the given
 * namespace and comma-separated metricsets, console output, no start delay.
 * Implemented in config_target.c on top of config_load. */
config *config_for_target(const char *url, const char *ns, const char *metricsets,
                          const config_opts *o, char *err, size_t errlen);

#endif
