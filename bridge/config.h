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
} module_config;

enum output_type { OUTPUT_CONSOLE, OUTPUT_FILE };

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
} output_config;

typedef struct config {
    char *name; /* beat name: host.name and agent.name; default hostname */
    strlist tags;
    cfgval *fields;
    int fields_under_root;
    int64_t max_start_delay_ms; /* default 10000 */
    module_config *modules;
    size_t n_modules;
    output_config output;
    int log_level;     /* enum log_level; default LOG_INFO */
    int log_to_stderr; /* -e */
    struct {
        int enabled; /* default 0 */
        char *host;  /* default "localhost" */
        int port;    /* default 5066 */
    } http;
    struct {
        int events;               /* queue.mem.events, default 4096 */
        int flush_min_events;     /* default 2048 */
        int64_t flush_timeout_ms; /* default 1000 */
    } queue;
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
} config_opts;

/* Returns a config or NULL with a one-line message in err ("FILE:LINE: KEY: why"). */
config *config_load(const config_opts *o, char *err, size_t errlen);
void config_free(config *c);

/* The config of `test target URL`: one golang module entry with the given
 * namespace and comma-separated metricsets, console output, no start delay.
 * Implemented in config_target.c on top of config_load. */
config *config_for_target(const char *url, const char *ns, const char *metricsets,
                          const config_opts *o, char *err, size_t errlen);

#endif
