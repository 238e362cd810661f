/* config_export: a cfgval tree as masked YAML (see config_export.h). */
#include "config_export.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "redact.h"

/* cfgval.i of a string that was a plain YAML scalar (config.c's PLAIN_STRING):
 * it can be written plain again; a quoted one stays quoted. */
#define WAS_PLAIN 1

typedef struct exporter {
    yaml_emitter_t em;
    int failed;
} exporter;

static void emit(exporter *x, yaml_event_t *ev)
{
    if (!x->failed && !yaml_emitter_emit(&x->em, ev))
        x->failed = 1;
}

static void scalar(exporter *x, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1,
                                      style)) {
        x->failed = 1;
        return;
    }
    emit(x, &ev);
}

static const char *scalar_text(const cfgval *v)
{
    switch (v->type) {
    case CFGV_NULL:
        return "null";
    case CFGV_BOOL:
        return v->i ? "true" : "false";
    default:
        return v->str ? v->str : "";
    }
}

/* host-like settings may carry "user:pw@host" without a scheme */
static int is_host_key(const char *key)
{
    static const char *const keys[] = {"host", "hosts", "url", "urls", "proxy_url"};
    for (size_t i = 0; key && i < sizeof keys / sizeof keys[0]; i++)
        if (strcasecmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

static void leaf(exporter *x, const cfgval *v, const char *key, int secret)
{
    if (secret) {
        scalar(x, REDACT_MASK, YAML_SINGLE_QUOTED_SCALAR_STYLE);
        return;
    }
    if (v->type != CFGV_STRING) {
        scalar(x, scalar_text(v), YAML_PLAIN_SCALAR_STYLE);
        return;
    }
    const char *s = v->str ? v->str : "";
    size_t need = redact_urls(s, is_host_key(key), NULL, 0) + 1;
    char *masked = malloc(need);
    if (!masked) {
        x->failed = 1;
        return;
    }
    redact_urls(s, is_host_key(key), masked, need);
    int plain = v->i == WAS_PLAIN && strcmp(masked, s) == 0;
    scalar(x, masked, plain ? YAML_ANY_SCALAR_STYLE : YAML_SINGLE_QUOTED_SCALAR_STYLE);
    free(masked);
}

static int key_cmp(const void *a, const void *b)
{
    const cfgval *x = *(const cfgval *const *)a, *y = *(const cfgval *const *)b;
    return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

static void node(exporter *x, const cfgval *v, const char *parent, const char *key, int secret);

/* Kafka's headers: [{key: Authorization, value: ...}] hide the value. */
static int secret_pair(const char *parent, const cfgval *item)
{
    const cfgval *k = cfgval_get(item, "key");
    return parent && strcasecmp(parent, "headers") == 0 && k && k->type == CFGV_STRING && k->str &&
           redact_header_is_secret(k->str);
}

static void map(exporter *x, const cfgval *v, const char *parent, const char *key, int secret)
{
    size_t n = 0, i = 0;
    for (const cfgval *c = v->child; c; c = c->next)
        n++;
    const cfgval **kids = calloc(n ? n : 1, sizeof *kids);
    yaml_event_t ev;
    if (!kids || !yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_MAPPING_STYLE)) {
        free(kids);
        x->failed = 1;
        return;
    }
    emit(x, &ev);
    for (const cfgval *c = v->child; c; c = c->next)
        kids[i++] = c;
    qsort(kids, n, sizeof *kids, key_cmp);
    int pair = secret_pair(parent, v);
    for (i = 0; i < n; i++) {
        const char *k = kids[i]->key ? kids[i]->key : "";
        int hide = secret || redact_key_is_secret(key, k) || (pair && !strcmp(k, "value"));
        scalar(x, k, YAML_ANY_SCALAR_STYLE);
        node(x, kids[i], key, k, hide);
    }
    free(kids);
    yaml_mapping_end_event_initialize(&ev);
    emit(x, &ev);
}

static void list(exporter *x, const cfgval *v, const char *key, int secret)
{
    yaml_event_t ev;
    if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_SEQUENCE_STYLE)) {
        x->failed = 1;
        return;
    }
    emit(x, &ev);
    /* A list's items are judged by the list's own key (hosts, headers...). */
    for (const cfgval *c = v->child; c; c = c->next)
        node(x, c, key, key, secret);
    yaml_sequence_end_event_initialize(&ev);
    emit(x, &ev);
}

static void node(exporter *x, const cfgval *v, const char *parent, const char *key, int secret)
{
    if (v->type == CFGV_MAP)
        map(x, v, parent, key, secret);
    else if (v->type == CFGV_LIST)
        list(x, v, key, secret);
    else
        leaf(x, v, key, secret);
}

static void document(exporter *x, const cfgval *root)
{
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    emit(x, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    emit(x, &ev);
    node(x, root, NULL, NULL, 0);
    yaml_document_end_event_initialize(&ev, 1);
    emit(x, &ev);
    yaml_stream_end_event_initialize(&ev);
    emit(x, &ev);
}

int config_export_yaml(const cfgval *root, FILE *out, char *err, size_t errlen)
{
    exporter x = {.failed = 0};
    if (!yaml_emitter_initialize(&x.em)) {
        snprintf(err, errlen, "out of memory writing the configuration");
        return -1;
    }
    yaml_emitter_set_output_file(&x.em, out);
    yaml_emitter_set_unicode(&x.em, 1);
    yaml_emitter_set_width(&x.em, -1);
    document(&x, root);
    if (!x.failed && !yaml_emitter_flush(&x.em))
        x.failed = 1;
    if (x.failed)
        snprintf(err, errlen, "cannot write the configuration: %s",
                 x.em.problem ? x.em.problem : "out of memory");
    yaml_emitter_delete(&x.em);
    return x.failed ? -1 : 0;
}
