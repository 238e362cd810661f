/* cfgval: the typed value tree the config loader builds from YAML (see
 * cfgval.h).  Owns node allocation, deep copy, lookup and JSON rendering.
 * A node owns its key, text and children; `file` is borrowed.  Floats are
 * written the way libbeat writes a float64 (numfmt), so user `fields` come
 * out byte for byte as Metricbeat sends them.  Callers: config.c (build,
 * clone, free) and event.c (cfgval_gen). */
#include "cfgval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

cfgval *cfgval_new(enum cfgval_type type, const char *key)
{
    cfgval *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->type = type;
    if (key && !(v->key = strdup(key))) {
        free(v);
        return NULL;
    }
    return v;
}

void cfgval_free(cfgval *v)
{
    if (!v)
        return;
    cfgval *c = v->child;
    while (c) {
        cfgval *next = c->next;
        cfgval_free(c);
        c = next;
    }
    free(v->key);
    free(v->str);
    free(v);
}

cfgval *cfgval_clone(const cfgval *v)
{
    if (!v)
        return NULL;
    cfgval *n = cfgval_new(v->type, v->key);
    if (!n)
        return NULL;
    n->i = v->i;
    n->f = v->f;
    n->file = v->file;
    n->line = v->line;
    n->column = v->column;
    if (v->str && !(n->str = strdup(v->str)))
        goto fail;
    cfgval **tail = &n->child;
    for (const cfgval *c = v->child; c; c = c->next) {
        if (!(*tail = cfgval_clone(c)))
            goto fail;
        tail = &(*tail)->next;
    }
    return n;
fail:
    cfgval_free(n);
    return NULL;
}

cfgval *cfgval_get(const cfgval *map, const char *key)
{
    if (!map || map->type != CFGV_MAP || !key)
        return NULL;
    for (cfgval *c = map->child; c; c = c->next)
        if (c->key && strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

static void gen_float(yajl_gen g, double f)
{
    /* JSON has no NaN/Inf; the loader never types those as floats, but a
     * hand-built tree could hold one. */
    if (!isfinite(f)) {
        yajl_gen_null(g);
        return;
    }
    char txt[NUMFMT_MAX];
    size_t n = numfmt_go_float(f, txt);
    yajl_gen_number(g, txt, n);
}

void cfgval_gen(yajl_gen g, const cfgval *v)
{
    if (!v) {
        yajl_gen_null(g);
        return;
    }
    switch (v->type) {
    case CFGV_NULL:
        yajl_gen_null(g);
        break;
    case CFGV_BOOL:
        yajl_gen_bool(g, v->i != 0);
        break;
    case CFGV_INT:
        yajl_gen_integer(g, (long long)v->i);
        break;
    case CFGV_FLOAT:
        gen_float(g, v->f);
        break;
    case CFGV_STRING: {
        const char *s = v->str ? v->str : "";
        yajl_gen_string(g, (const unsigned char *)s, strlen(s));
        break;
    }
    case CFGV_MAP:
        yajl_gen_map_open(g);
        for (const cfgval *c = v->child; c; c = c->next) {
            const char *k = c->key ? c->key : "";
            yajl_gen_string(g, (const unsigned char *)k, strlen(k));
            cfgval_gen(g, c);
        }
        yajl_gen_map_close(g);
        break;
    case CFGV_LIST:
        yajl_gen_array_open(g);
        for (const cfgval *c = v->child; c; c = c->next)
            cfgval_gen(g, c);
        yajl_gen_array_close(g);
        break;
    }
}
