/* cfgval: a small typed value tree (scalar, map, list) with source positions.
 * The config module builds it from YAML; event.c writes user `fields` from it
 * with yajl_gen.  A tree owns all its nodes and strings. */
#ifndef EXPVARBEAT_CFGVAL_H
#define EXPVARBEAT_CFGVAL_H

#include <stdint.h>
#include <yajl/yajl_gen.h>

enum cfgval_type { CFGV_NULL, CFGV_BOOL, CFGV_INT, CFGV_FLOAT, CFGV_STRING, CFGV_MAP, CFGV_LIST };

typedef struct cfgval {
    enum cfgval_type type;
    char *key;            /* member name when the parent is a map, else NULL */
    char *str;            /* CFGV_STRING: the text; scalars: the source text */
    int64_t i;            /* CFGV_INT, CFGV_BOOL */
    double f;             /* CFGV_FLOAT */
    struct cfgval *child; /* CFGV_MAP / CFGV_LIST: first member */
    struct cfgval *next;  /* next sibling */
    const char *file;     /* interned by the config loader; not owned by the node */
    int line, column;     /* 1-based */
} cfgval;

cfgval *cfgval_new(enum cfgval_type type, const char *key);
void cfgval_free(cfgval *v); /* frees v, its children and its siblings chain is NOT freed */
cfgval *cfgval_clone(const cfgval *v);
/* Member of a map by exact key, or NULL. */
cfgval *cfgval_get(const cfgval *map, const char *key);
/* Writes v as JSON (maps as objects, lists as arrays). */
void cfgval_gen(yajl_gen g, const cfgval *v);

#endif
