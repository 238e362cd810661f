/* modcmp: field-by-field comparison of module entries (see modcmp.h). */
#include "modcmp.h"

#include <string.h>

static int str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int strlist_same(const strlist *a, const strlist *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!str_same(a->v[i], b->v[i]))
            return 0;
    return 1;
}

static int kvlist_same(const kvlist *a, const kvlist *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!str_same(a->v[i].key, b->v[i].key) || !str_same(a->v[i].value, b->v[i].value))
            return 0;
    return 1;
}

static int cfgval_same(const cfgval *a, const cfgval *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type || !str_same(a->key, b->key) || !str_same(a->str, b->str) ||
        a->i != b->i || memcmp(&a->f, &b->f, sizeof a->f) != 0)
        return 0;
    const cfgval *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
        if (!cfgval_same(x, y))
            return 0;
    return x == y;
}

static int ssl_same(const ssl_config *a, const ssl_config *b)
{
    return a->enabled == b->enabled && a->verification_mode == b->verification_mode &&
           strlist_same(&a->certificate_authorities, &b->certificate_authorities) &&
           str_same(a->certificate, b->certificate) && str_same(a->key, b->key);
}

static int scalars_same(const module_config *a, const module_config *b)
{
    return a->enabled == b->enabled && a->metricsets == b->metricsets &&
           a->period_ms == b->period_ms && a->connect_timeout_ms == b->connect_timeout_ms &&
           a->timeout_ms == b->timeout_ms && a->fields_under_root == b->fields_under_root &&
           a->max_body_bytes == b->max_body_bytes && a->max_depth == b->max_depth &&
           a->expvar_max_fields == b->expvar_max_fields &&
           a->expvar_drop_memstats == b->expvar_drop_memstats &&
           a->heap_restart_reset == b->heap_restart_reset && a->heap_rates == b->heap_rates &&
           a->heap_n_pause_pct == b->heap_n_pause_pct &&
           memcmp(a->heap_pause_pct, b->heap_pause_pct,
                  a->heap_n_pause_pct * sizeof a->heap_pause_pct[0]) == 0;
}

int module_config_same(const module_config *a, const module_config *b)
{
    return scalars_same(a, b) && str_same(a->expvar_namespace, b->expvar_namespace) &&
           str_same(a->expvar_path, b->expvar_path) && str_same(a->heap_path, b->heap_path) &&
           str_same(a->basepath, b->basepath) && kvlist_same(&a->query, &b->query) &&
           kvlist_same(&a->headers, &b->headers) && str_same(a->username, b->username) &&
           str_same(a->password, b->password) &&
           str_same(a->bearer_token_file, b->bearer_token_file) && ssl_same(&a->ssl, &b->ssl) &&
           cfgval_same(a->fields, b->fields) && strlist_same(&a->tags, &b->tags) &&
           strlist_same(&a->expvar_include, &b->expvar_include) &&
           strlist_same(&a->expvar_exclude, &b->expvar_exclude) &&
           str_same(a->hosts_file, b->hosts_file);
}

static int es_same(const es_config *a, const es_config *b)
{
    return strlist_same(&a->hosts, &b->hosts) && str_same(a->protocol, b->protocol) &&
           str_same(a->path, b->path) && str_same(a->username, b->username) &&
           str_same(a->password, b->password) && str_same(a->api_key, b->api_key) &&
           kvlist_same(&a->headers, &b->headers) && str_same(a->index, b->index) &&
           str_same(a->pipeline, b->pipeline) && ssl_same(&a->ssl, &b->ssl) &&
           a->bulk_max_size == b->bulk_max_size && a->compression_level == b->compression_level;
}

static int kafka_same(const kafka_config *a, const kafka_config *b)
{
    return strlist_same(&a->hosts, &b->hosts) && str_same(a->topic, b->topic) &&
           a->n_topics == b->n_topics && str_same(a->key, b->key) &&
           str_same(a->username, b->username) && str_same(a->password, b->password) &&
           str_same(a->compression, b->compression) && a->required_acks == b->required_acks &&
           ssl_same(&a->ssl, &b->ssl);
}

int output_config_same(const output_config *a, const output_config *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case OUTPUT_CONSOLE:
        return a->console.pretty == b->console.pretty;
    case OUTPUT_FILE:
        return str_same(a->file.path, b->file.path) &&
               str_same(a->file.filename, b->file.filename) &&
               a->file.rotate_every_kb == b->file.rotate_every_kb &&
               a->file.number_of_files == b->file.number_of_files &&
               a->file.permissions == b->file.permissions;
    case OUTPUT_ELASTICSEARCH:
        return es_same(&a->elasticsearch, &b->elasticsearch);
    case OUTPUT_KAFKA:
        return kafka_same(&a->kafka, &b->kafka);
    }
    return 0;
}
