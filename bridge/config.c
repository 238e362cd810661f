/* config: metricbeat.yml-compatible YAML → one validated struct config.
 * Owns the whole load: libyaml documents → cfgval trees (dotted keys split
 * as go-ucfg does), deep merge of the -c files and the -E overrides, lazy
 * ${VAR} / ${VAR:default} expansion, modules.d globs, and decoding through
 * the key tables below, which are the one place where keys, types, defaults
 * and bounds are declared, then libbeat's cross-key rules (output presets,
 * api_key vs username, custom index vs template name, Kafka's single
 * partitioner, topic rules and SASL).  Keys Metricbeat knows but expvarbeat
 * ignores, and unknown keys, are warnings with file:line; the first invalid
 * value stops the load with "FILE:LINE: KEY: why".  Only main.c calls
 * config_load. */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "buf.h"
#include "expvar_select.h"
#include "fmtstr.h"
#include "log.h"
#include "numfmt.h"

enum {
    MAX_YAML_DEPTH = 64,     /* also stops self-referencing aliases */
    MAX_YAML_NODES = 100000, /* per document after alias expansion ("billion laughs") */
    MAX_EXPAND_DEPTH = 8,    /* ${A:${B:${C}}} */
    KEY_MAX = 256,           /* display key paths; longer ones are only cut short */
};

/* cfgval.i of a CFGV_STRING that was a plain (unquoted) YAML scalar: after
 * ${VAR} expansion such a value is typed again ("${PORT}" → 5066), a quoted
 * one stays a string. */
#define PLAIN_STRING 1

#define ERR_ATTR(f, a) __attribute__((format(printf, f, a)))
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct loader {
    char *err;
    size_t errlen;
    config *cfg;  /* being built; its path.* feed ${path.*} */
    char **files; /* interned source names that cfgval.file points to */
    size_t n_files;
    size_t nodes; /* nodes built from the current document */
    int no_strict_perms;
} loader;

/* ---- messages ---------------------------------------------------------- */

ERR_ATTR(4, 5)
static int fail(loader *L, const cfgval *at, const char *key, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char where[320] = "";
    if (at && at->file) {
        int n = snprintf(where, sizeof where, "%s:%d: ", at->file, at->line);
        (void)n;
    }
    int n = snprintf(L->err, L->errlen, "%s%s%s%s", where, key && *key ? key : "",
                     key && *key ? ": " : "", why);
    (void)n;
    return -1;
}

static int oom(loader *L)
{
    return fail(L, NULL, NULL, "out of memory while loading the configuration");
}

ERR_ATTR(2, 3)
static void warn_at(const cfgval *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at && at->file)
        log_warn("%s:%d: %s", at->file, at->line, msg);
    else
        log_warn("%s", msg);
}

static const char *type_name(enum cfgval_type t)
{
    static const char *const names[] = {
        [CFGV_NULL] = "null",      [CFGV_BOOL] = "a boolean",  [CFGV_INT] = "an integer",
        [CFGV_FLOAT] = "a number", [CFGV_STRING] = "a string", [CFGV_MAP] = "a mapping",
        [CFGV_LIST] = "a list",
    };
    return names[t];
}

/* Display path "prefix.rel"; cutting a very long one short only shortens a message. */
static void key_join(char *out, const char *prefix, const char *rel)
{
    int has = prefix && *prefix;
    const char *parts[] = {has ? prefix : "", has ? "." : "", rel ? rel : ""};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p && n + 1 < KEY_MAX; p++)
            out[n++] = *p;
    out[n] = '\0';
}

static void key_index(char *out, const char *prefix, size_t i)
{
    char num[24];
    snprintf(num, sizeof num, "%zu", i);
    key_join(out, prefix, num);
}

static char *path_join(const char *dir, const char *rel)
{
    if (rel[0] == '/' || !dir || !*dir)
        return strdup(rel);
    size_t dl = strlen(dir), rl = strlen(rel);
    int slash = dir[dl - 1] != '/';
    char *p = malloc(dl + (size_t)slash + rl + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    if (slash)
        p[dl] = '/';
    memcpy(p + dl + (size_t)slash, rel, rl + 1);
    return p;
}

static const char *intern(loader *L, const char *name)
{
    char **n = realloc(L->files, (L->n_files + 1) * sizeof *n);
    if (!n)
        return NULL;
    L->files = n;
    if (!(n[L->n_files] = strdup(name)))
        return NULL;
    return n[L->n_files++];
}

/* ---- YAML scalar typing (go-yaml v2's implicit resolution) -------------- */

static int word_in(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

/* 1, 0, or -1 when s is not a YAML 1.1 boolean word. */
static int parse_bool_word(const char *s)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON",  NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
                                     "NO",    "off",   "Off",   "OFF", NULL};
    return word_in(s, yes) ? 1 : word_in(s, no) ? 0 : -1;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

/* Go's strconv.ParseInt(s, 0, 64): sign, 0x/0o/0b prefixes, leading 0 = octal. */
static int parse_int_text(const char *s, int64_t *out)
{
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    else if (s[0] == '0' && s[1])
        base = 8, s += 1;
    if (!*s)
        return 0;
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d = (unsigned)digit_value(*s);
        if (d >= base || v > (UINT64_MAX - d) / base)
            return 0;
        v = v * base + d;
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

/* YAML 1.1 float syntax; infinities and NaN stay strings (JSON has none). */
static int parse_float_text(const char *s, double *out)
{
    static const char digits[] = "0123456789";
    const char *p = s + (*s == '+' || *s == '-');
    size_t ip = strspn(p, digits), fp = 0;
    p += ip;
    if (*p == '.') {
        fp = strspn(++p, digits);
        p += fp;
    }
    if (ip == 0 && fp == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p += 1 + (p[1] == '+' || p[1] == '-');
        size_t ep = strspn(p, digits);
        if (!ep)
            return 0;
        p += ep;
    }
    if (*p)
        return 0;
    double d = strtod(s, NULL);
    if (!isfinite(d))
        return 0;
    *out = d;
    return 1;
}

/* go-yaml v2 drops '_' before reading numbers ("1_000"). */
static int strip_underscores(const char *s, char *out, size_t n)
{
    size_t j = 0;
    for (; *s; s++) {
        if (*s == '_')
            continue;
        if (j + 1 >= n)
            return -1;
        out[j++] = *s;
    }
    out[j] = '\0';
    return 0;
}

static int parse_int_word(const char *s, int64_t *out)
{
    char t[80];
    return strip_underscores(s, t, sizeof t) == 0 && parse_int_text(t, out);
}

static void resolve_plain(cfgval *v)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    const char *s = v->str ? v->str : "";
    char t[80];
    int b;
    if (word_in(s, nulls)) {
        v->type = CFGV_NULL;
    } else if ((b = parse_bool_word(s)) >= 0) {
        v->type = CFGV_BOOL;
        v->i = b;
    } else if (strip_underscores(s, t, sizeof t) == 0 && parse_int_text(t, &v->i)) {
        v->type = CFGV_INT;
    } else if (strip_underscores(s, t, sizeof t) == 0 && parse_float_text(t, &v->f)) {
        v->type = CFGV_FLOAT;
    } else {
        v->type = CFGV_STRING;
        v->i = PLAIN_STRING;
    }
}

/* ---- trees: insert, merge, lookup -------------------------------------- */

/* Puts val (consumed) into map: two maps merge member by member, anything
 * else replaces the old member in place.  This is both the -c/-E merge and
 * the way `a.b: 1` next to `a: {c: 2}` combine. */
static void map_put(cfgval *map, cfgval *val)
{
    cfgval **pp = &map->child;
    while (*pp && strcmp((*pp)->key ? (*pp)->key : "", val->key ? val->key : "") != 0)
        pp = &(*pp)->next;
    cfgval *old = *pp;
    if (!old) {
        val->next = NULL;
        *pp = val;
        return;
    }
    if (old->type == CFGV_MAP && val->type == CFGV_MAP) {
        while (val->child) {
            cfgval *c = val->child;
            val->child = c->next;
            map_put(old, c);
        }
        cfgval_free(val);
        return;
    }
    val->next = old->next;
    *pp = val;
    old->next = NULL;
    cfgval_free(old);
}

static void merge_into(cfgval *dst, cfgval *src)
{
    while (src->child) {
        cfgval *c = src->child;
        src->child = c->next;
        map_put(dst, c);
    }
    cfgval_free(src);
}

/* Inserts val (always consumed) under a dotted key: `a.b.c: v` ≡ `a: {b: {c: v}}`. */
static int insert_dotted(loader *L, cfgval *map, const char *key, cfgval *val)
{
    const char *dot;
    while ((dot = strchr(key, '.')) != NULL) {
        char *seg = strndup(key, (size_t)(dot - key));
        cfgval *c = seg ? cfgval_get(map, seg) : NULL;
        if (seg && (!c || c->type != CFGV_MAP)) {
            if ((c = cfgval_new(CFGV_MAP, seg)) != NULL) {
                c->file = val->file;
                c->line = val->line;
                c->column = val->column;
                map_put(map, c);
            }
        }
        free(seg);
        if (!c)
            goto nomem;
        map = c;
        key = dot + 1;
    }
    free(val->key);
    if (!(val->key = strdup(key)))
        goto nomem;
    map_put(map, val);
    return 0;
nomem:
    cfgval_free(val);
    return oom(L);
}

static const cfgval *get_path(const cfgval *map, const char *path)
{
    char seg[KEY_MAX];
    while (map && path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        map = cfgval_get(map, seg);
        path = dot ? dot + 1 : NULL;
    }
    return map;
}

/* ---- YAML documents → cfgval ------------------------------------------- */

typedef struct ydoc {
    yaml_document_t *doc;
    const char *file; /* interned or static */
    int fixed_line;   /* > 0: every node gets this line (-E values, defaults) */
} ydoc;

static void set_pos(cfgval *v, const ydoc *d, const yaml_mark_t *m)
{
    v->file = d->file;
    v->line = d->fixed_line > 0 ? d->fixed_line : (int)m->line + 1;
    v->column = d->fixed_line > 0 ? 0 : (int)m->column + 1;
}

static int yaml_fail(loader *L, const char *file, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "syntax error";
    int n;
    if (p->error == YAML_MEMORY_ERROR)
        return oom(L);
    if (p->error == YAML_READER_ERROR)
        n = snprintf(L->err, L->errlen, "%s: invalid YAML: %s at byte %zu", file, problem,
                     p->problem_offset);
    else
        n = snprintf(L->err, L->errlen, "%s:%zu:%zu: invalid YAML: %s%s%s%s", file,
                     p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
                     p->context ? " (" : "", p->context ? p->context : "", p->context ? ")" : "");
    (void)n;
    return -1;
}

static int node_to_val(loader *L, const ydoc *d, yaml_node_t *n, const yaml_mark_t *at, int depth,
                       cfgval **out);

static int scalar_to_val(loader *L, yaml_node_t *n, cfgval *v)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (memchr(s, '\0', len))
        return fail(L, v, NULL, "a value contains a NUL character");
    if (!(v->str = strndup(s, len)))
        return oom(L);
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        resolve_plain(v);
    else
        v->type = CFGV_STRING;
    return 0;
}

static int seq_to_val(loader *L, const ydoc *d, yaml_node_t *n, int depth, cfgval *v)
{
    v->type = CFGV_LIST;
    cfgval **tail = &v->child;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *c = yaml_document_get_node(d->doc, *it);
        if (!c)
            continue;
        if (node_to_val(L, d, c, NULL, depth + 1, tail))
            return -1;
        tail = &(*tail)->next;
    }
    return 0;
}

static int map_to_val(loader *L, const ydoc *d, yaml_node_t *n, int depth, cfgval *v)
{
    v->type = CFGV_MAP;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d->doc, p->key);
        yaml_node_t *val = yaml_document_get_node(d->doc, p->value);
        if (!k || !val)
            continue;
        cfgval pos = {0};
        set_pos(&pos, d, &k->start_mark);
        if (k->type != YAML_SCALAR_NODE ||
            memchr(k->data.scalar.value, '\0', k->data.scalar.length))
            return fail(L, &pos, NULL, "mapping keys must be plain strings");
        char *key = strndup((const char *)k->data.scalar.value, k->data.scalar.length);
        cfgval *c = NULL;
        if (!key)
            return oom(L);
        int rc = node_to_val(L, d, val, &k->start_mark, depth + 1, &c);
        if (!rc)
            rc = insert_dotted(L, v, key, c);
        free(key);
        if (rc)
            return -1;
    }
    return 0;
}

/* at: where to say the value is (its key, for map members); NULL = the node. */
static int node_to_val(loader *L, const ydoc *d, yaml_node_t *n, const yaml_mark_t *at, int depth,
                       cfgval **out)
{
    *out = NULL;
    cfgval *v = cfgval_new(CFGV_NULL, NULL);
    if (!v)
        return oom(L);
    set_pos(v, d, at ? at : &n->start_mark);
    int rc = 0;
    if (depth > MAX_YAML_DEPTH)
        rc = fail(L, v, NULL, "YAML nested more than %d levels deep", MAX_YAML_DEPTH);
    else if (++L->nodes > MAX_YAML_NODES)
        rc = fail(L, v, NULL, "YAML document has more than %d values (alias expansion?)",
                  MAX_YAML_NODES);
    else if (n->type == YAML_SCALAR_NODE)
        rc = scalar_to_val(L, n, v);
    else if (n->type == YAML_SEQUENCE_NODE)
        rc = seq_to_val(L, d, n, depth, v);
    else if (n->type == YAML_MAPPING_NODE)
        rc = map_to_val(L, d, n, depth, v);
    if (rc) {
        cfgval_free(v);
        return -1;
    }
    *out = v;
    return 0;
}

/* One document from p into *out (NULL when the document is empty). */
static int load_doc(loader *L, yaml_parser_t *p, const ydoc *tmpl, cfgval **out)
{
    yaml_document_t doc;
    *out = NULL;
    if (!yaml_parser_load(p, &doc))
        return yaml_fail(L, tmpl->file, p);
    ydoc d = *tmpl;
    d.doc = &doc;
    L->nodes = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = root ? node_to_val(L, &d, root, NULL, 0, out) : 0;
    yaml_document_delete(&doc);
    return rc;
}

/* libbeat's rule for config and module files: a file others may change
 * could redirect the documents or the credentials, so it is refused unless
 * --strict.perms=false.  Pipes and devices (/dev/null) are not checked. */
static int check_owner_perms(loader *L, const char *path, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    uid_t me = geteuid();
    if (st.st_uid != me && st.st_uid != 0)
        return fail(L, NULL, NULL,
                    "config file (\"%s\") must be owned by the user identifier (uid=%u) or root "
                    "(or run with --strict.perms=false)",
                    path, (unsigned)me);
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        char mode[11] = "-rwxrwxrwx";
        for (int i = 0; i < 9; i++)
            if (!(st.st_mode & (1u << (8 - i))))
                mode[i + 1] = '-';
        return fail(L, NULL, NULL,
                    "config file (\"%s\") can only be writable by the owner but the permissions "
                    "are \"%s\" (to fix the permissions use: 'chmod go-w %s', or run with "
                    "--strict.perms=false)",
                    path, mode, path);
    }
    return 0;
}

static int parse_file(loader *L, const char *path, cfgval **out)
{
    const char *file = intern(L, path);
    if (!file)
        return oom(L);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(L, NULL, NULL, "%s: cannot read config file: %s", path, strerror(errno));
    if (!L->no_strict_perms && check_owner_perms(L, path, fileno(f)) != 0) {
        fclose(f);
        return -1;
    }
    yaml_parser_t p;
    int rc;
    if (!yaml_parser_initialize(&p)) {
        rc = oom(L);
    } else {
        yaml_parser_set_input_file(&p, f);
        ydoc d = {.file = file};
        rc = load_doc(L, &p, &d, out);
        yaml_parser_delete(&p);
    }
    fclose(f);
    return rc;
}

/* A -E value or a table default: a YAML scalar or flow collection.  Text
 * that is not one ("a: b", "[x") is taken as a plain string, as the command
 * line user most likely meant. */
static int parse_value(loader *L, const char *text, const char *file, int line, cfgval **out)
{
    yaml_parser_t p;
    yaml_document_t doc;
    ydoc d = {.doc = &doc, .file = file, .fixed_line = line};
    int rc = 0, loaded = 0;
    *out = NULL;
    if (!yaml_parser_initialize(&p))
        return oom(L);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    if (yaml_parser_load(&p, &doc)) {
        loaded = 1;
        yaml_node_t *r = yaml_document_get_root_node(&doc);
        int block =
            r &&
            ((r->type == YAML_MAPPING_NODE && r->data.mapping.style == YAML_BLOCK_MAPPING_STYLE) ||
             (r->type == YAML_SEQUENCE_NODE &&
              r->data.sequence.style == YAML_BLOCK_SEQUENCE_STYLE));
        L->nodes = 0;
        if (!block)
            rc = r ? node_to_val(L, &d, r, NULL, 0, out) : 0;
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    if (rc || *out)
        return rc;
    cfgval *v = cfgval_new(CFGV_NULL, NULL);
    if (!v)
        return oom(L);
    v->file = file;
    v->line = line;
    if ((!loaded || *text) && !(v->str = strdup(text))) {
        cfgval_free(v);
        return oom(L);
    }
    if (v->str)
        resolve_plain(v);
    *out = v;
    return 0;
}

/* ---- ${VAR} and ${VAR:default} ---------------------------------------- */

static const char *path_var(const loader *L, const char *name)
{
    const config *c = L->cfg;
    const struct {
        const char *name, *value;
    } vars[] = {{"path.home", c->path.home},
                {"path.config", c->path.config},
                {"path.data", c->path.data},
                {"path.logs", c->path.logs}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strcmp(name, vars[i].name) == 0)
            return vars[i].value;
    return NULL;
}

/* The '}' closing a reference whose name starts at p, nested ${} allowed. */
static const char *ref_end(const char *p)
{
    int nest = 0;
    for (; *p; p++) {
        if (p[0] == '$' && p[1] == '{') {
            nest++;
            p++;
        } else if (*p == '}') {
            if (!nest)
                return p;
            nest--;
        }
    }
    return NULL;
}

static int expand_into(loader *L, const cfgval *at, const char *key, const char *s, buf *b,
                       int depth);

static int expand_ref(loader *L, const cfgval *at, const char *key, const char *start,
                      const char *end, buf *b, int depth)
{
    const char *colon = memchr(start, ':', (size_t)(end - start));
    size_t nlen = (size_t)((colon ? colon : end) - start);
    char name[KEY_MAX];
    if (nlen == 0 || nlen >= sizeof name)
        return fail(L, at, key, "invalid variable reference \"${%.*s}\"", (int)(end - start),
                    start);
    memcpy(name, start, nlen);
    name[nlen] = '\0';
    const char *val = path_var(L, name);
    if (!val)
        val = getenv(name);
    if (val)
        return buf_append_str(b, val) == BUF_OK ? 0 : oom(L);
    if (!colon)
        return fail(L, at, key, "${%s} is not set (no such environment variable, and no default)",
                    name);
    char *def = strndup(colon + 1, (size_t)(end - colon - 1));
    if (!def)
        return oom(L);
    int rc = expand_into(L, at, key, def, b, depth + 1);
    free(def);
    return rc;
}

static int expand_into(loader *L, const cfgval *at, const char *key, const char *s, buf *b,
                       int depth)
{
    if (depth > MAX_EXPAND_DEPTH)
        return fail(L, at, key, "${...} nested more than %d levels deep", MAX_EXPAND_DEPTH);
    while (*s) {
        int rc;
        if (s[0] == '$' && s[1] == '$' && s[2] == '{') { /* "$${" is a literal "${" */
            rc = buf_append(b, "${", 2);
            s += 3;
        } else if (s[0] == '$' && s[1] == '{') {
            const char *end = ref_end(s + 2);
            if (!end)
                return fail(L, at, key, "unterminated \"${\" in \"%s\"", s);
            if (expand_ref(L, at, key, s + 2, end, b, depth))
                return -1;
            s = end + 1;
            continue;
        } else {
            rc = buf_append(b, s, 1);
            s++;
        }
        if (rc != BUF_OK)
            return oom(L);
    }
    return 0;
}

static int expand(loader *L, const cfgval *at, const char *key, const char *s, char **out)
{
    buf b;
    buf_init(&b, 0);
    *out = NULL;
    if (expand_into(L, at, key, s, &b, 0)) {
        buf_free(&b);
        return -1;
    }
    if (!(*out = buf_detach(&b, NULL)))
        return oom(L);
    return 0;
}

/* ---- scalar access for decoders ---------------------------------------- */

typedef struct sval {
    enum cfgval_type type;
    char *text; /* expanded, owned; "" for null */
    int64_t i;
    double f;
} sval;

static int get_scalar(loader *L, const cfgval *v, const char *key, const char *want, sval *out)
{
    memset(out, 0, sizeof *out);
    if (v->type == CFGV_MAP || v->type == CFGV_LIST)
        return fail(L, v, key, "expected %s, got %s", want, type_name(v->type));
    const char *s = v->type == CFGV_NULL || !v->str ? "" : v->str;
    out->type = v->type;
    out->i = v->i;
    out->f = v->f;
    if (!strstr(s, "${"))
        return (out->text = strdup(s)) ? 0 : oom(L);
    if (expand(L, v, key, s, &out->text))
        return -1;
    if (v->type == CFGV_STRING && v->i == PLAIN_STRING) {
        cfgval t = {.type = CFGV_STRING, .str = out->text};
        resolve_plain(&t);
        out->type = t.type;
        out->i = t.i;
        out->f = t.f;
    }
    return 0;
}

/* ---- key tables --------------------------------------------------------- */

enum key_type {
    KT_HANDLED,    /* known; decoded by dedicated code below */
    KT_BOOL,       /* int */
    KT_TRISTATE,   /* int: -1 when absent */
    KT_INT,        /* int */
    KT_I64,        /* int64_t */
    KT_DURATION,   /* int64_t milliseconds; Go syntax or bare seconds */
    KT_SIZE,       /* size_t bytes; integer or "10MiB" / "10MB" */
    KT_STRING,     /* char * */
    KT_OPTSTRING,  /* char *: "" counts as unset (the default, else NULL); parse validates */
    KT_STRLIST,    /* strlist; a single scalar is a list of one */
    KT_KVMAP,      /* kvlist; nested maps flatten back to dotted names */
    KT_KVPAIRS,    /* kvlist from a list of {key, value} mappings */
    KT_TREE,       /* cfgval * (a map) */
    KT_ENUM,       /* int via keyspec.parse */
    KT_PERM,       /* int file mode: 0600 (octal in YAML) or "0600" */
    KT_METRICSETS, /* unsigned MS_* bits */
    KT_NIPOLICY,   /* char *: non_indexable_policy → dead letter index, NULL = drop */
};

typedef struct keyspec {
    const char *key; /* dotted, relative to the section */
    const char *alt; /* expvarbeat.* spelling of a metricbeat.* key; wins when both are set */
    enum key_type type;
    const char *def; /* YAML text decoded like a user value; NULL = none */
    size_t off;
    int64_t lo, hi;             /* numeric bounds (ms for durations); 0, 0 = none */
    int (*parse)(const char *); /* KT_ENUM, KT_OPTSTRING: name → value, -1 if unknown */
    const char *help;           /* the constraint, as shown in errors */
} keyspec;

typedef struct ignored {
    const char *key;
    const char *why; /* NULL: "not supported by expvarbeat; ignored" */
} ignored;

typedef struct section {
    const keyspec *keys;
    size_t n_keys;
    const ignored *ign;
    size_t n_ign;
} section;

static int check_range(loader *L, const cfgval *v, const char *key, const keyspec *k, int64_t x,
                       const char *text)
{
    if (!k || (k->lo == 0 && k->hi == 0) || (x >= k->lo && x <= k->hi))
        return 0;
    return fail(L, v, key, "\"%s\" %s", text, k->help ? k->help : "is out of range");
}

static int dec_bool(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    (void)k;
    sval s;
    if (get_scalar(L, v, key, "a boolean", &s))
        return -1;
    int b = s.type == CFGV_BOOL ? (int)s.i : s.type == CFGV_STRING ? parse_bool_word(s.text) : -1;
    int rc = 0;
    if (b < 0)
        rc = fail(L, v, key, "expected a boolean (true or false), got \"%s\"", s.text);
    else
        *(int *)field = b;
    free(s.text);
    return rc;
}

static int dec_tristate(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    if (v->type != CFGV_NULL)
        return dec_bool(L, v, key, k, field);
    *(int *)field = -1;
    return 0;
}

static int scalar_int(loader *L, const cfgval *v, const char *key, const keyspec *k, int64_t *out)
{
    sval s;
    if (get_scalar(L, v, key, "an integer", &s))
        return -1;
    int64_t i = s.i;
    int ok = s.type == CFGV_INT || (s.type == CFGV_STRING && parse_int_word(s.text, &i));
    int rc = ok ? check_range(L, v, key, k, i, s.text)
                : fail(L, v, key, "expected an integer, got \"%s\"", s.text);
    if (!rc)
        *out = i;
    free(s.text);
    return rc;
}

static int dec_int(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    int64_t i = 0;
    if (scalar_int(L, v, key, k, &i))
        return -1;
    if (i < INT_MIN || i > INT_MAX)
        return fail(L, v, key, "%lld is too large", (long long)i);
    *(int *)field = (int)i;
    return 0;
}

static int dec_i64(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    return scalar_int(L, v, key, k, (int64_t *)field);
}

static int secs_to_ns(double secs, int64_t *ns)
{
    double x = secs * 1e9;
    if (!isfinite(x) || fabs(x) >= 9.2e18)
        return 0;
    *ns = (int64_t)x;
    return 1;
}

/* Go's time.ParseDuration: [-+]("0" | (number unit)+), units ns us µs ms s m h. */
static int parse_go_duration(const char *s, int64_t *ns)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    int neg = *s == '-';
    s += *s == '-' || *s == '+';
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 1;
    }
    double total = 0;
    if (!*s)
        return 0;
    while (*s) {
        size_t ip = strspn(s, "0123456789"), fp = 0;
        if (s[ip] == '.')
            fp = 1 + strspn(s + ip + 1, "0123456789");
        char num[64];
        if (ip + fp == 0 || (ip == 0 && fp == 1) || ip + fp >= sizeof num)
            return 0;
        memcpy(num, s, ip + fp);
        num[ip + fp] = '\0';
        s += ip + fp;
        size_t u = 0, n = sizeof units / sizeof units[0];
        while (u < n && strncmp(s, units[u].unit, strlen(units[u].unit)) != 0)
            u++;
        if (u == n)
            return 0;
        total += strtod(num, NULL) * units[u].ns;
        s += strlen(units[u].unit);
    }
    return secs_to_ns((neg ? -total : total) / 1e9, ns);
}

static int dec_duration(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    sval s;
    if (get_scalar(L, v, key, "a duration", &s))
        return -1;
    int64_t ns = 0, i;
    double f;
    int ok = 0;
    if (s.type == CFGV_INT)
        ok = secs_to_ns((double)s.i, &ns);
    else if (s.type == CFGV_FLOAT)
        ok = secs_to_ns(s.f, &ns);
    else if (s.type == CFGV_STRING)
        ok = parse_go_duration(s.text, &ns) ||
             (parse_int_word(s.text, &i) && secs_to_ns((double)i, &ns)) ||
             (parse_float_text(s.text, &f) && secs_to_ns(f, &ns));
    int rc = ok ? check_range(L, v, key, k, ns / 1000000, s.text)
                : fail(L, v, key, "invalid duration \"%s\" (use e.g. 10s, 500ms, 1m30s)", s.text);
    if (!rc)
        *(int64_t *)field = ns / 1000000;
    free(s.text);
    return rc;
}

/* go-humanize ParseBytes: SI units (kB = 1000) and IEC units (KiB = 1024). */
static int parse_size(const char *s, double *bytes)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"", 1},         {"b", 1},       {"k", 1e3},     {"kb", 1e3},     {"ki", 1024.0},
                 {"kib", 1024.0}, {"m", 1e6},     {"mb", 1e6},    {"mi", 0x1p20},  {"mib", 0x1p20},
                 {"g", 1e9},      {"gb", 1e9},    {"gi", 0x1p30}, {"gib", 0x1p30}, {"t", 1e12},
                 {"tb", 1e12},    {"ti", 0x1p40}, {"tib", 0x1p40}};
    size_t ip = strspn(s, "0123456789"), fp = 0;
    if (s[ip] == '.')
        fp = 1 + strspn(s + ip + 1, "0123456789");
    char num[64];
    if (ip == 0 || ip + fp >= sizeof num)
        return 0;
    memcpy(num, s, ip + fp);
    num[ip + fp] = '\0';
    const char *u = s + ip + fp;
    while (*u == ' ')
        u++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(u, units[i].unit) == 0) {
            *bytes = strtod(num, NULL) * units[i].mult;
            return 1;
        }
    }
    return 0;
}

static int dec_size(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    sval s;
    if (get_scalar(L, v, key, "a size", &s))
        return -1;
    double b = s.type == CFGV_INT ? (double)s.i : s.f;
    int ok = s.type == CFGV_INT || s.type == CFGV_FLOAT ||
             (s.type == CFGV_STRING && parse_size(s.text, &b));
    int rc;
    if (!ok || !isfinite(b) || fabs(b) >= 9.2e18)
        rc = fail(L, v, key, "invalid size \"%s\" (bytes, or e.g. 10MiB, 512KiB, 10MB)", s.text);
    else if (!(rc = check_range(L, v, key, k, (int64_t)b, s.text)))
        *(size_t *)field = (size_t)b;
    free(s.text);
    return rc;
}

static int dec_string(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    (void)k;
    sval s;
    if (get_scalar(L, v, key, "a string", &s))
        return -1;
    char **p = field;
    free(*p);
    *p = s.text;
    return 0;
}

/* Text of the key's default, decoded as a user value would be. */
static int default_text(loader *L, const keyspec *k, const char *key, sval *out)
{
    cfgval *d = NULL;
    if (parse_value(L, k->def, "<default>", 1, &d))
        return -1;
    int rc = get_scalar(L, d, key, "a string", out);
    cfgval_free(d);
    return rc;
}

/* As libbeat's string options: "" means "not set", so NULL is the only
 * "absent" a reader has to check. */
static int dec_optstring(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    sval s;
    if (get_scalar(L, v, key, "a string", &s))
        return -1;
    if (!*s.text && k->def) {
        free(s.text);
        if (default_text(L, k, key, &s))
            return -1;
    }
    if (*s.text && k->parse && k->parse(s.text) < 0) {
        int rc = fail(L, v, key, "invalid value \"%s\" (%s)", s.text, k->help);
        free(s.text);
        return rc;
    }
    char **p = field;
    free(*p);
    *p = NULL;
    if (*s.text)
        *p = s.text;
    else
        free(s.text);
    return 0;
}

static void strlist_clear(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strlist_push(loader *L, strlist *l, const cfgval *v, const char *key)
{
    sval s;
    if (get_scalar(L, v, key, "a string", &s))
        return -1;
    char **n = realloc(l->v, (l->n + 1) * sizeof *n);
    if (!n) {
        free(s.text);
        return oom(L);
    }
    l->v = n;
    l->v[l->n++] = s.text;
    return 0;
}

static int dec_strlist(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    (void)k;
    strlist tmp = {0};
    int rc = 0;
    if (v->type == CFGV_MAP)
        return fail(L, v, key, "expected a list of strings, got a mapping");
    if (v->type != CFGV_LIST) {
        rc = strlist_push(L, &tmp, v, key);
    } else {
        size_t i = 0;
        for (const cfgval *c = v->child; c && !rc; c = c->next) {
            char ik[KEY_MAX];
            key_index(ik, key, i++);
            rc = strlist_push(L, &tmp, c, ik);
        }
    }
    if (rc) {
        strlist_clear(&tmp);
        return -1;
    }
    strlist_clear(field);
    *(strlist *)field = tmp;
    return 0;
}

static void kvlist_clear(kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].value);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* How a kvlist value is written: as the user typed it, or (match_text) as
 * the event's JSON would show it, for comparing with the event. */
typedef int (*text_fn)(loader *L, const cfgval *v, const char *key, char **out);

static int plain_text(loader *L, const cfgval *v, const char *key, char **out)
{
    sval s;
    if (get_scalar(L, v, key, "a string", &s))
        return -1;
    *out = s.text;
    return 0;
}

/* `when.equals` values: libbeat compares typed values, so `yes` is the
 * boolean true, `0x10` the integer 16 and `1.50` the number 1.5, written as
 * the documents write numbers; the event side is the document's JSON text. */
static int match_text(loader *L, const cfgval *v, const char *key, char **out)
{
    sval s;
    if (get_scalar(L, v, key, "a string, number or boolean", &s))
        return -1;
    char num[NUMFMT_MAX] = "";
    if (s.type == CFGV_NULL) {
        free(s.text);
        return fail(L, v, key, "expected a value to compare the field with, got null");
    }
    if (s.type == CFGV_BOOL)
        snprintf(num, sizeof num, "%s", s.i ? "true" : "false");
    else if (s.type == CFGV_INT)
        snprintf(num, sizeof num, "%lld", (long long)s.i);
    else if (s.type == CFGV_FLOAT)
        numfmt_go_float(s.f, num);
    if (!*num) {
        *out = s.text;
        return 0;
    }
    free(s.text);
    return (*out = strdup(num)) ? 0 : oom(L);
}

static int kv_push(loader *L, kvlist *out, const char *name, char *value)
{
    kv *n = realloc(out->v, (out->n + 1) * sizeof *n);
    char *name_copy = n ? strdup(name) : NULL;
    if (n)
        out->v = n;
    if (!name_copy) {
        free(value);
        return oom(L);
    }
    n[out->n].key = name_copy;
    n[out->n++].value = value;
    return 0;
}

/* Dotted names were split into nested maps on load; join them back
 * (`headers: {X.Y: v}` is one header). */
static int kv_collect(loader *L, const cfgval *map, const char *name, const char *key, text_fn text,
                      kvlist *out)
{
    for (const cfgval *c = map->child; c; c = c->next) {
        char cn[KEY_MAX], ck[KEY_MAX];
        char *value;
        key_join(cn, name, c->key);
        key_join(ck, key, c->key);
        if (c->type == CFGV_MAP) {
            if (kv_collect(L, c, cn, ck, text, out))
                return -1;
            continue;
        }
        if (text(L, c, ck, &value) || kv_push(L, out, cn, value))
            return -1;
    }
    return 0;
}

static int dec_kvmap(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    (void)k;
    kvlist tmp = {0};
    if (v->type != CFGV_MAP)
        return fail(L, v, key, "expected a mapping of names to values, got %s", type_name(v->type));
    if (kv_collect(L, v, "", key, plain_text, &tmp)) {
        kvlist_clear(&tmp);
        return -1;
    }
    kvlist_clear(field);
    *(kvlist *)field = tmp;
    return 0;
}

/* One `- {key: K, value: V}` entry of a header list. */
static int kv_pair(loader *L, const cfgval *e, const char *key, kvlist *out)
{
    char kk[KEY_MAX], vk[KEY_MAX];
    if (e->type != CFGV_MAP)
        return fail(L, e, key, "expected a mapping with key and value, got %s", type_name(e->type));
    const cfgval *k = cfgval_get(e, "key"), *v = cfgval_get(e, "value");
    for (const cfgval *c = e->child; c; c = c->next)
        if (c != k && c != v)
            warn_at(c, "unknown key '%s.%s' (ignored)", key, c->key);
    key_join(kk, key, "key");
    key_join(vk, key, "value");
    char *name = NULL, *value = NULL;
    if (k && k->type != CFGV_NULL && plain_text(L, k, kk, &name))
        return -1;
    if (!name || !*name) {
        free(name);
        return fail(L, k ? k : e, kk, "missing or empty header name");
    }
    int rc = v && v->type != CFGV_NULL ? plain_text(L, v, vk, &value)
                                       : ((value = strdup("")) ? 0 : oom(L));
    if (!rc)
        rc = kv_push(L, out, name, value);
    free(name);
    return rc;
}

/* libbeat's `headers: [{key, value}]`: a list, so a name may repeat. */
static int dec_kvpairs(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    (void)k;
    kvlist tmp = {0};
    if (v->type != CFGV_LIST)
        return fail(L, v, key, "expected a list of {key: ..., value: ...} entries, got %s",
                    type_name(v->type));
    size_t i = 0;
    for (const cfgval *c = v->child; c; c = c->next) {
        char ik[KEY_MAX];
        key_index(ik, key, i++);
        if (kv_pair(L, c, ik, &tmp)) {
            kvlist_clear(&tmp);
            return -1;
        }
    }
    kvlist_clear(field);
    *(kvlist *)field = tmp;
    return 0;
}

/* Expands ${} inside a kept tree and detaches it from the loader's file names. */
static int finish_tree(loader *L, cfgval *n, const char *key)
{
    if (n->type == CFGV_STRING && n->str && strstr(n->str, "${")) {
        char *x;
        if (expand(L, n, key, n->str, &x))
            return -1;
        free(n->str);
        n->str = x;
        if (n->i == PLAIN_STRING)
            resolve_plain(n);
    }
    size_t i = 0;
    for (cfgval *c = n->child; c; c = c->next, i++) {
        char ck[KEY_MAX];
        if (n->type == CFGV_MAP)
            key_join(ck, key, c->key);
        else
            key_index(ck, key, i);
        if (finish_tree(L, c, ck))
            return -1;
    }
    n->file = NULL;
    return 0;
}

static int dec_tree(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    (void)k;
    if (v->type != CFGV_MAP)
        return fail(L, v, key, "expected a mapping, got %s", type_name(v->type));
    cfgval *t = cfgval_clone(v);
    if (!t)
        return oom(L);
    free(t->key);
    t->key = NULL;
    if (finish_tree(L, t, key)) {
        cfgval_free(t);
        return -1;
    }
    cfgval **slot = field;
    cfgval_free(*slot);
    *slot = t;
    return 0;
}

static int dec_enum(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    sval s;
    if (get_scalar(L, v, key, "a string", &s))
        return -1;
    int x = k->parse(s.text), rc = 0;
    if (x < 0)
        rc = fail(L, v, key, "invalid value \"%s\" (%s)", s.text, k->help);
    else
        *(int *)field = x;
    free(s.text);
    return rc;
}

static int dec_perm(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    sval s;
    if (get_scalar(L, v, key, "a file mode", &s))
        return -1;
    int64_t m = s.i;
    int ok = s.type == CFGV_INT;
    if (s.type == CFGV_STRING) {
        /* A quoted mode is octal whether or not it starts with 0 ("600" too). */
        const char *t = s.text + (s.text[0] == '0' && (s.text[1] == 'o' || s.text[1] == 'O')) * 2;
        size_t n = strlen(t);
        ok = n > 0 && n < 12 && strspn(t, "01234567") == n;
        if (ok)
            m = strtoll(t, NULL, 8);
    }
    int rc = ok ? check_range(L, v, key, k, m, s.text)
                : fail(L, v, key, "invalid file mode \"%s\" (%s)", s.text, k->help);
    if (!rc)
        *(int *)field = (int)m;
    free(s.text);
    return rc;
}

static int dec_metricsets(loader *L, const cfgval *v, const char *key, const keyspec *k,
                          void *field)
{
    strlist names = {0};
    if (dec_strlist(L, v, key, k, &names))
        return -1;
    unsigned bits = 0;
    int rc = 0;
    for (size_t i = 0; i < names.n && !rc; i++) {
        if (strcmp(names.v[i], "expvar") == 0)
            bits |= MS_EXPVAR;
        else if (strcmp(names.v[i], "heap") == 0)
            bits |= MS_HEAP;
        else
            rc = fail(L, v, key,
                      "metricset 'golang/%s' is not registered (golang has expvar and heap)",
                      names.v[i]);
    }
    strlist_clear(&names);
    /* Metricbeat runs every metricset of the module when the list is empty. */
    if (!rc)
        *(unsigned *)field = bits ? bits : MS_EXPVAR | MS_HEAP;
    return rc;
}

static int dead_letter_index(loader *L, const cfgval *p, const char *key, char **field)
{
    char ik[KEY_MAX];
    key_join(ik, key, "index");
    if (p->type != CFGV_MAP && p->type != CFGV_NULL)
        return fail(L, p, key, "expected a mapping with 'index', got %s", type_name(p->type));
    const cfgval *idx = cfgval_get(p, "index");
    for (const cfgval *c = p->type == CFGV_MAP ? p->child : NULL; c; c = c->next)
        if (c != idx)
            warn_at(c, "unknown key '%s.%s' (ignored)", key, c->key);
    sval s = {0};
    if (idx && idx->type != CFGV_NULL && get_scalar(L, idx, ik, "an index name", &s))
        return -1;
    if (!s.text || !*s.text) {
        free(s.text);
        return fail(L, idx ? idx : p, ik,
                    "empty or missing value: the index documents that "
                    "Elasticsearch rejects are sent to");
    }
    free(*field);
    *field = s.text;
    return 0;
}

/* libbeat reads the policy as a config namespace: one member, `drop` or
 * `dead_letter_index: {index: NAME}`. */
static int dec_nipolicy(loader *L, const cfgval *v, const char *key, const keyspec *k, void *field)
{
    (void)k;
    char **out = field;
    if (v->type != CFGV_MAP)
        return fail(L, v, key, "expected a mapping (drop or dead_letter_index), got %s",
                    type_name(v->type));
    const cfgval *p = v->child;
    if (p && p->next)
        return fail(L, p->next, key, "only one policy may be set: drop or dead_letter_index");
    free(*out);
    *out = NULL;
    if (!p || strcmp(p->key, "drop") == 0)
        return 0;
    char pk[KEY_MAX];
    key_join(pk, key, p->key);
    if (strcmp(p->key, "dead_letter_index") != 0)
        return fail(L, p, pk, "no such policy type (use drop or dead_letter_index)");
    return dead_letter_index(L, p, pk, out);
}

static void rel_string(void *f)
{
    free(*(char **)f);
    *(char **)f = NULL;
}

static void rel_strlist(void *f)
{
    strlist_clear(f);
}

static void rel_kvmap(void *f)
{
    kvlist_clear(f);
}

static void rel_tree(void *f)
{
    cfgval_free(*(cfgval **)f);
    *(cfgval **)f = NULL;
}

typedef int (*decode_fn)(loader *, const cfgval *, const char *, const keyspec *, void *);

static const struct kind {
    decode_fn decode; /* NULL for KT_HANDLED */
    void (*release)(void *field);
} kinds[] = {
    [KT_HANDLED] = {NULL, NULL},
    [KT_BOOL] = {dec_bool, NULL},
    [KT_TRISTATE] = {dec_tristate, NULL},
    [KT_INT] = {dec_int, NULL},
    [KT_I64] = {dec_i64, NULL},
    [KT_DURATION] = {dec_duration, NULL},
    [KT_SIZE] = {dec_size, NULL},
    [KT_STRING] = {dec_string, rel_string},
    [KT_OPTSTRING] = {dec_optstring, rel_string},
    [KT_STRLIST] = {dec_strlist, rel_strlist},
    [KT_KVMAP] = {dec_kvmap, rel_kvmap},
    [KT_KVPAIRS] = {dec_kvpairs, rel_kvmap},
    [KT_TREE] = {dec_tree, rel_tree},
    [KT_ENUM] = {dec_enum, NULL},
    [KT_PERM] = {dec_perm, NULL},
    [KT_METRICSETS] = {dec_metricsets, NULL},
    [KT_NIPOLICY] = {dec_nipolicy, rel_string},
};

static int parse_verify(const char *s)
{
    static const char *const names[] = {[SSL_VERIFY_FULL] = "full",
                                        [SSL_VERIFY_STRICT] = "strict",
                                        [SSL_VERIFY_CERTIFICATE] = "certificate",
                                        [SSL_VERIFY_NONE] = "none"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

static int parse_protocol(const char *s)
{
    static const char *const names[] = {"http", "https", NULL};
    return word_in(s, names) ? 0 : -1;
}

#define POSITIVE 1, INT64_MAX, NULL, "must be positive"
#define NON_NEGATIVE 0, INT64_MAX, NULL, "must be 0 or more"

#define TOP(f) offsetof(config, f)

/* output.elasticsearch.preset (libbeat config_presets.go, 8.12+).  As in
 * libbeat a preset overrides what the user set, with a warning per key; its
 * queue settings replace queue.mem.* as the output's own queue does there. */
enum preset_field {
    PF_BULK,
    PF_WORKER,
    PF_COMPRESSION,
    PF_BACKOFF_INIT,
    PF_BACKOFF_MAX,
    PF_EVENTS,
    PF_MIN_EVENTS,
    PF_FLUSH_TIMEOUT,
    PF_COUNT
};

static const struct preset {
    const char *name;
    int64_t v[PF_COUNT]; /* -1: the preset leaves the field alone */
} presets[] = {
    {"custom", {-1, -1, -1, -1, -1, -1, -1, -1}},
    {"balanced", {1600, 1, 1, -1, -1, 3200, 1600, 10000}},
    {"throughput", {1600, 4, 1, -1, -1, 12800, 1600, 5000}},
    {"scale", {1600, 1, 1, 5000, 300000, 3200, 1600, 20000}},
    {"latency", {50, 1, 1, -1, -1, 4100, 2050, 1000}},
};

static const struct preset_target {
    const char *key; /* as the user writes it: under output.elasticsearch, or from the root */
    int in_root;
    size_t off; /* in config */
    int is_i64; /* else int */
} preset_targets[PF_COUNT] = {
    [PF_BULK] = {"bulk_max_size", 0, TOP(output.elasticsearch.bulk_max_size), 0},
    [PF_WORKER] = {"worker", 0, TOP(output.elasticsearch.worker), 0},
    [PF_COMPRESSION] = {"compression_level", 0, TOP(output.elasticsearch.compression_level), 0},
    [PF_BACKOFF_INIT] = {"backoff.init", 0, TOP(output.elasticsearch.backoff.init_ms), 1},
    [PF_BACKOFF_MAX] = {"backoff.max", 0, TOP(output.elasticsearch.backoff.max_ms), 1},
    [PF_EVENTS] = {"queue.mem.events", 1, TOP(queue.events), 0},
    [PF_MIN_EVENTS] = {"queue.mem.flush.min_events", 1, TOP(queue.flush_min_events), 0},
    [PF_FLUSH_TIMEOUT] = {"queue.mem.flush.timeout", 1, TOP(queue.flush_timeout_ms), 1},
};

static int parse_preset(const char *s)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(s, presets[i].name) == 0)
            return (int)i;
    return -1;
}

/* The TLS keys of a module and of output.elasticsearch; OFF maps a member
 * of ssl_config to its offset in the section's struct. */
// clang-format off
#define SSL_KEYS(OFF)                                                                    \
    {"ssl.enabled", NULL, KT_TRISTATE, "~", OFF(ssl.enabled), 0, 0, NULL, NULL},         \
    {"ssl.verification_mode", NULL, KT_ENUM, "full", OFF(ssl.verification_mode), 0, 0,   \
     parse_verify, "must be one of full, strict, certificate, none"},                    \
    {"ssl.certificate_authorities", NULL, KT_STRLIST, NULL,                              \
     OFF(ssl.certificate_authorities), 0, 0, NULL, NULL},                                \
    {"ssl.certificate", NULL, KT_STRING, NULL, OFF(ssl.certificate), 0, 0, NULL, NULL},  \
    {"ssl.key", NULL, KT_STRING, NULL, OFF(ssl.key), 0, 0, NULL, NULL}

#define SSL_IGNORED                                                                      \
    {"ssl.supported_protocols", NULL}, {"ssl.cipher_suites", NULL},                      \
    {"ssl.curve_types", NULL}, {"ssl.key_passphrase", NULL}, {"ssl.ca_sha256", NULL},    \
    {"ssl.ca_trusted_fingerprint", NULL}, {"ssl.renegotiation", NULL}
// clang-format on

static const keyspec top_keys[] = {
    {"name", NULL, KT_STRING, NULL, TOP(name), 0, 0, NULL, "default: the host name"},
    {"tags", NULL, KT_STRLIST, NULL, TOP(tags), 0, 0, NULL, NULL},
    {"fields", NULL, KT_TREE, NULL, TOP(fields), 0, 0, NULL, NULL},
    {"fields_under_root", NULL, KT_BOOL, "false", TOP(fields_under_root), 0, 0, NULL, NULL},
    {"metricbeat.max_start_delay", "expvarbeat.max_start_delay", KT_DURATION, "10s",
     TOP(max_start_delay_ms), NON_NEGATIVE},
    {"metricbeat.modules", "expvarbeat.modules", KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"metricbeat.config.modules.path", "expvarbeat.config.modules.path", KT_HANDLED, NULL, 0, 0, 0,
     NULL, NULL},
    {"metricbeat.config.modules.reload.enabled", "expvarbeat.config.modules.reload.enabled",
     KT_BOOL, "false", TOP(reload.enabled), 0, 0, NULL, NULL},
    {"metricbeat.config.modules.reload.period", "expvarbeat.config.modules.reload.period",
     KT_DURATION, "10s", TOP(reload.period_ms), POSITIVE},
    {"output", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"logging.level", NULL, KT_ENUM, "info", TOP(log_level), 0, 0, log_level_parse,
     "must be one of error, warning, info, debug"},
    {"logging.to_files", NULL, KT_BOOL, "true", TOP(logging.to_files), 0, 0, NULL, NULL},
    {"logging.to_stderr", NULL, KT_BOOL, "false", TOP(logging.to_stderr), 0, 0, NULL, NULL},
    {"logging.json", NULL, KT_BOOL, "false", TOP(logging.json), 0, 0, NULL, NULL},
    {"logging.files.path", NULL, KT_STRING, "${path.logs}", TOP(logging.path), 0, 0, NULL, NULL},
    {"logging.files.name", NULL, KT_STRING, "expvarbeat", TOP(logging.name), 0, 0, NULL, NULL},
    {"logging.files.keepfiles", NULL, KT_INT, "7", TOP(logging.keepfiles), 2, 1024, NULL,
     "must be between 2 and 1024"},
    {"logging.files.rotateeverybytes", NULL, KT_I64, "10485760", TOP(logging.rotateeverybytes), 1,
     INT64_MAX, NULL, "must be positive"},
    {"logging.files.permissions", NULL, KT_PERM, "0600", TOP(logging.permissions), 0, 0777, NULL,
     "must be an octal mode between 0 and 0777, e.g. 0600"},
    {"logging.metrics.enabled", NULL, KT_BOOL, "true", TOP(logging.metrics_enabled), 0, 0, NULL,
     NULL},
    {"logging.metrics.period", NULL, KT_DURATION, "30s", TOP(logging.metrics_period_ms), POSITIVE},
    {"http.enabled", NULL, KT_BOOL, "false", TOP(http.enabled), 0, 0, NULL, NULL},
    {"http.host", NULL, KT_STRING, "localhost", TOP(http.host), 0, 0, NULL, NULL},
    {"http.port", NULL, KT_INT, "5066", TOP(http.port), 0, 65535, NULL,
     "must be between 0 and 65535"},
    {"queue.mem.events", NULL, KT_INT, "3200", TOP(queue.events), 1, INT_MAX, NULL,
     "must be positive"},
    {"queue.mem.flush.min_events", NULL, KT_INT, "1600", TOP(queue.flush_min_events), 0, INT_MAX,
     NULL, "must be 0 or more"},
    {"queue.mem.flush.timeout", NULL, KT_DURATION, "10s", TOP(queue.flush_timeout_ms),
     NON_NEGATIVE},
    {"queue.disk.path", NULL, KT_STRING, "${path.data}/diskqueue", TOP(disk_queue.path), 0, 0, NULL,
     NULL},
    {"queue.disk.max_size", NULL, KT_SIZE, "10GB", TOP(disk_queue.max_size), 1, INT64_MAX, NULL,
     "must be positive"},
    {"queue.disk.segment_size", NULL, KT_SIZE, "0", TOP(disk_queue.segment_size), 0, INT64_MAX,
     NULL, "must be 0 (max_size / 10) or more"},
    {"shard.index", NULL, KT_INT, "0", TOP(shard.index), 0, INT_MAX, NULL, "must be 0 or more"},
    {"shard.count", NULL, KT_INT, "1", TOP(shard.count), 1, INT_MAX, NULL, "must be positive"},
    {"shutdown_timeout", NULL, KT_DURATION, "5s", TOP(shutdown_timeout_ms), NON_NEGATIVE},
    /* decoded after the bare key, so a beat-prefixed spelling wins */
    {"metricbeat.shutdown_timeout", "expvarbeat.shutdown_timeout", KT_DURATION, NULL,
     TOP(shutdown_timeout_ms), NON_NEGATIVE},
    {"setup.ilm.enabled", NULL, KT_BOOL, "true", TOP(setup.ilm.enabled), 0, 0, NULL, NULL},
    {"setup.ilm.policy_name", NULL, KT_OPTSTRING, "expvarbeat", TOP(setup.ilm.policy_name), 0, 0,
     NULL, NULL},
    {"setup.ilm.policy_file", NULL, KT_OPTSTRING, NULL, TOP(setup.ilm.policy_file), 0, 0, NULL,
     NULL},
    {"setup.ilm.check_exists", NULL, KT_BOOL, "true", TOP(setup.ilm.check_exists), 0, 0, NULL,
     NULL},
    {"setup.ilm.overwrite", NULL, KT_BOOL, "false", TOP(setup.ilm.overwrite), 0, 0, NULL, NULL},
    {"setup.template.enabled", NULL, KT_BOOL, "true", TOP(setup.template_.enabled), 0, 0, NULL,
     NULL},
    {"setup.template.name", NULL, KT_OPTSTRING, NULL, TOP(setup.template_.name), 0, 0, NULL, NULL},
    {"setup.template.pattern", NULL, KT_OPTSTRING, NULL, TOP(setup.template_.pattern), 0, 0, NULL,
     NULL},
    {"setup.template.overwrite", NULL, KT_BOOL, "false", TOP(setup.template_.overwrite), 0, 0, NULL,
     NULL},
    {"setup.template.settings", NULL, KT_TREE, NULL, TOP(setup.template_.settings), 0, 0, NULL,
     NULL},
    {"setup.kibana", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"setup.dashboards.enabled", NULL, KT_BOOL, "false", TOP(setup.dashboards.enabled), 0, 0, NULL,
     NULL},
};

static const char processors_why[] =
    "processors are not supported by expvarbeat; ignored, so documents will differ from "
    "Metricbeat's (fields the processors would add, drop or rename)";

static const char dashboards_why[] =
    "the dashboards are built into expvarbeat; ignored (`expvarbeat export dashboards` writes "
    "them)";

static const ignored top_ignored[] = {
    {"processors", processors_why},
    {"metricbeat.autodiscover", "autodiscover is not supported by expvarbeat; ignored, no "
                                "modules are started from it"},
    {"setup.dashboards.directory", dashboards_why},
    {"setup.dashboards.file", dashboards_why},
    {"setup.dashboards.url", dashboards_why},
    {"setup.dashboards.beat", dashboards_why},
    {"setup.dashboards.index", "ignored; the dashboards' data view is expvarbeat-* (it also "
                               "matches metricbeat-*)"},
    {"setup.dashboards.kibana_index", NULL},
    {"setup.dashboards.always_kibana", NULL},
    {"setup.dashboards.only_dashboards", NULL},
    {"setup.dashboards.only_index", NULL},
    {"setup.dashboards.string_replacements", NULL},
    {"setup.dashboards.retry", "ignored; the import is tried once"},
    {"setup.dsl", "data stream lifecycle (serverless) is not supported by expvarbeat; ignored, "
                  "ILM is used (setup.ilm.*)"},
    {"setup.template.fields", "the template's fields are built into expvarbeat; ignored"},
    {"setup.template.append_fields", NULL},
    {"setup.template.json", NULL},
    {"setup.template.priority", "ignored; the template's priority is 150"},
    {"monitoring", NULL},
    {"xpack", NULL},
    {"path", "path settings are taken from the command line (--path.*); ignored"},
    {"logging.to_syslog", NULL},
    {"logging.to_eventlog", NULL},
    {"logging.selectors", NULL},
    {"logging.ecs", NULL},
    {"http.pprof", NULL},
    {"queue.disk.read_ahead", NULL},
    {"queue.disk.write_ahead", NULL},
    {"queue.disk.retry_interval", NULL},
    {"queue.disk.max_retry_interval", NULL},
    {"http.named_pipe", NULL},
    {"timeseries", NULL},
    {"keep_null", NULL},
    {"max_procs", NULL},
    {"seccomp", NULL},
    {"instrumentation", NULL},
    {"cloud", NULL},
};

#define MOD(f) offsetof(module_config, f)
static const keyspec module_keys[] = {
    {"module", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"enabled", NULL, KT_BOOL, "true", MOD(enabled), 0, 0, NULL, NULL},
    {"metricsets", NULL, KT_METRICSETS, "[expvar, heap]", MOD(metricsets), 0, 0, NULL, NULL},
    {"period", NULL, KT_DURATION, "10s", MOD(period_ms), POSITIVE},
    {"hosts", NULL, KT_STRLIST, NULL, MOD(hosts), 0, 0, NULL, NULL},
    {"expvar.namespace", NULL, KT_STRING, NULL, MOD(expvar_namespace), 0, 0, NULL, NULL},
    {"expvar.path", NULL, KT_STRING, "/debug/vars", MOD(expvar_path), 0, 0, NULL, NULL},
    {"heap.path", NULL, KT_STRING, "/debug/vars", MOD(heap_path), 0, 0, NULL, NULL},
    {"basepath", NULL, KT_STRING, "''", MOD(basepath), 0, 0, NULL, NULL},
    {"query", NULL, KT_KVMAP, NULL, MOD(query), 0, 0, NULL, NULL},
    {"headers", NULL, KT_KVMAP, NULL, MOD(headers), 0, 0, NULL, NULL},
    {"username", NULL, KT_STRING, NULL, MOD(username), 0, 0, NULL, NULL},
    {"password", NULL, KT_STRING, NULL, MOD(password), 0, 0, NULL, NULL},
    {"bearer_token_file", NULL, KT_STRING, NULL, MOD(bearer_token_file), 0, 0, NULL, NULL},
    {"connect_timeout", NULL, KT_DURATION, "2s", MOD(connect_timeout_ms), POSITIVE},
    {"timeout", NULL, KT_DURATION, "10s", MOD(timeout_ms), POSITIVE},
    SSL_KEYS(MOD),
    {"fields", NULL, KT_TREE, NULL, MOD(fields), 0, 0, NULL, NULL},
    {"fields_under_root", NULL, KT_BOOL, "false", MOD(fields_under_root), 0, 0, NULL, NULL},
    {"tags", NULL, KT_STRLIST, NULL, MOD(tags), 0, 0, NULL, NULL},
    {"max_body_size", NULL, KT_SIZE, "10MiB", MOD(max_body_bytes), POSITIVE},
    {"max_depth", NULL, KT_INT, "64", MOD(max_depth), 1, 1024, NULL, "must be between 1 and 1024"},
    {"expvar.include", NULL, KT_STRLIST, NULL, MOD(expvar_include), 0, 0, NULL, NULL},
    {"expvar.exclude", NULL, KT_STRLIST, NULL, MOD(expvar_exclude), 0, 0, NULL, NULL},
    {"expvar.max_fields", NULL, KT_INT, "0", MOD(expvar_max_fields), 0, INT_MAX, NULL,
     "must be 0 (no cap) or more"},
    {"expvar.drop_memstats", NULL, KT_BOOL, "false", MOD(expvar_drop_memstats), 0, 0, NULL, NULL},
    {"heap.restart_reset", NULL, KT_BOOL, "false", MOD(heap_restart_reset), 0, 0, NULL, NULL},
    {"heap.pause_percentiles", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"heap.rates", NULL, KT_BOOL, "false", MOD(heap_rates), 0, 0, NULL, NULL},
    {"hosts_file", NULL, KT_STRING, NULL, MOD(hosts_file), 0, 0, NULL, NULL},
};

static const ignored module_ignored[] = {
    {"processors", processors_why},
    {"keep_null", NULL},
    {"service.name", NULL},
    {"index", NULL},
    {"timeseries", NULL},
    {"proxy_url", NULL},
    {"proxy_disable", NULL},
    {"proxy_headers", NULL},
    SSL_IGNORED,
};

#define OUT(f) offsetof(output_config, f)
static const keyspec console_keys[] = {
    {"enabled", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"pretty", NULL, KT_BOOL, "false", OUT(console.pretty), 0, 0, NULL, NULL},
};

static const keyspec file_keys[] = {
    {"enabled", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"path", NULL, KT_STRING, "${path.data}/expvarbeat", OUT(file.path), 0, 0, NULL, NULL},
    {"filename", NULL, KT_STRING, "expvarbeat", OUT(file.filename), 0, 0, NULL, NULL},
    {"rotate_every_kb", NULL, KT_I64, "10240", OUT(file.rotate_every_kb), 1, INT64_MAX / 1024, NULL,
     "must be positive"},
    {"number_of_files", NULL, KT_INT, "7", OUT(file.number_of_files), 2, 1024, NULL,
     "must be between 2 and 1024"},
    {"permissions", NULL, KT_PERM, "0600", OUT(file.permissions), 0, 0777, NULL,
     "must be an octal mode between 0 and 0777, e.g. 0600"},
};

static const ignored output_ignored[] = {
    {"codec", NULL},
    {"bulk_max_size", NULL},
    {"rotate_on_startup", NULL},
};

/* Spec §4.1; the table is also the list of defaults the ES output relies on. */
#define ES(f) OUT(elasticsearch.f)
static const keyspec es_keys[] = {
    {"enabled", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"hosts", NULL, KT_STRLIST, NULL, ES(hosts), 0, 0, NULL, NULL},
    {"protocol", NULL, KT_OPTSTRING, NULL, ES(protocol), 0, 0, parse_protocol,
     "must be http or https"},
    {"path", NULL, KT_OPTSTRING, NULL, ES(path), 0, 0, NULL, NULL},
    {"username", NULL, KT_OPTSTRING, NULL, ES(username), 0, 0, NULL, NULL},
    {"password", NULL, KT_OPTSTRING, NULL, ES(password), 0, 0, NULL, NULL},
    {"api_key", NULL, KT_OPTSTRING, NULL, ES(api_key), 0, 0, NULL, NULL},
    {"headers", NULL, KT_KVMAP, NULL, ES(headers), 0, 0, NULL, NULL},
    {"parameters", NULL, KT_KVMAP, NULL, ES(parameters), 0, 0, NULL, NULL},
    SSL_KEYS(ES),
    {"compression_level", NULL, KT_INT, "1", ES(compression_level), 0, 9, NULL,
     "must be between 0 (off) and 9"},
    {"bulk_max_size", NULL, KT_INT, "1600", ES(bulk_max_size), 1, INT_MAX, NULL,
     "must be positive"},
    {"worker", NULL, KT_INT, "1", ES(worker), 1, INT_MAX, NULL, "must be 1 or more"},
    {"loadbalance", NULL, KT_BOOL, "true", ES(loadbalance), 0, 0, NULL, NULL},
    {"max_retries", NULL, KT_INT, "3", ES(max_retries), 0, 0, NULL, NULL},
    {"backoff.init", NULL, KT_DURATION, "1s", ES(backoff.init_ms), POSITIVE},
    {"backoff.max", NULL, KT_DURATION, "60s", ES(backoff.max_ms), POSITIVE},
    {"timeout", NULL, KT_DURATION, "90s", ES(timeout_ms), POSITIVE},
    {"index", NULL, KT_OPTSTRING, "'expvarbeat-%{[agent.version]}'", ES(index), 0, 0, NULL, NULL},
    {"pipeline", NULL, KT_OPTSTRING, NULL, ES(pipeline), 0, 0, NULL, NULL},
    {"non_indexable_policy", NULL, KT_NIPOLICY, NULL, ES(dead_letter_index), 0, 0, NULL, NULL},
    {"allow_older_versions", NULL, KT_BOOL, "false", ES(allow_older_versions), 0, 0, NULL, NULL},
    {"preset", NULL, KT_OPTSTRING, NULL, ES(preset), 0, 0, parse_preset,
     "must be one of balanced, throughput, scale, latency, custom"},
};

static const char output_queue_why[] =
    "a queue per output is not supported by expvarbeat; ignored, use queue.mem.*";

static const ignored es_ignored[] = {
    {"proxy_url", NULL},
    {"proxy_disable", NULL},
    {"proxy_headers", NULL},
    {"idle_connection_timeout", NULL},
    {"escape_html", NULL},
    {"kerberos", "Kerberos is not supported by expvarbeat; ignored, requests go without it"},
    {"indices", "index rules are not supported by expvarbeat; ignored, every document goes to "
                "output.elasticsearch.index"},
    {"pipelines", "pipeline rules are not supported by expvarbeat; ignored, every document uses "
                  "output.elasticsearch.pipeline"},
    {"queue", output_queue_why},
    SSL_IGNORED,
};

/* setup.kibana (spec §5.1, elastic-agent-libs kibana.ClientConfig); the
 * credentials' defaults come from output.elasticsearch in finish_kibana. */
#define KB(f) offsetof(kibana_config, f)
static const keyspec kibana_keys[] = {
    {"host", NULL, KT_OPTSTRING, "localhost:5601", KB(host), 0, 0, NULL, NULL},
    {"protocol", NULL, KT_OPTSTRING, NULL, KB(protocol), 0, 0, parse_protocol,
     "must be http or https"},
    {"path", NULL, KT_OPTSTRING, NULL, KB(path), 0, 0, NULL, NULL},
    {"space.id", NULL, KT_OPTSTRING, NULL, KB(space_id), 0, 0, NULL, NULL},
    {"username", NULL, KT_OPTSTRING, NULL, KB(username), 0, 0, NULL, NULL},
    {"password", NULL, KT_OPTSTRING, NULL, KB(password), 0, 0, NULL, NULL},
    {"api_key", NULL, KT_OPTSTRING, NULL, KB(api_key), 0, 0, NULL, NULL},
    {"headers", NULL, KT_KVMAP, NULL, KB(headers), 0, 0, NULL, NULL},
    SSL_KEYS(KB),
};

static const ignored kibana_ignored[] = {
    {"timeout", "ignored; Kibana requests time out after 90s"},
    {"ignore_version", NULL},
    {"service_token", NULL},
    {"proxy_url", NULL},
    {"proxy_disable", NULL},
    {"proxy_headers", NULL},
    {"idle_connection_timeout", NULL},
    SSL_IGNORED,
};

/* An accepted spelling and the one name out_kafka.c is given for it. */
typedef struct alias {
    const char *name, *canon;
} alias;

static const alias kafka_compressions[] = {
    {"none", "none"},     {"no", "none"}, {"off", "none"},  {"gzip", "gzip"},
    {"snappy", "snappy"}, {"lz4", "lz4"}, {"zstd", "zstd"},
};

static const alias kafka_sasl_mechanisms[] = {
    {"PLAIN", "PLAIN"},
    {"SCRAM-SHA-256", "SCRAM-SHA-256"},
    {"SCRAM-SHA-512", "SCRAM-SHA-512"},
};

/* Case-insensitive, as libbeat lower-cases compression and upper-cases the mechanism. */
static int find_alias(const alias *a, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, a[i].name) == 0)
            return (int)i;
    return -1;
}

static int parse_compression(const char *s)
{
    return find_alias(kafka_compressions, COUNT(kafka_compressions), s);
}

static int parse_sasl(const char *s)
{
    return find_alias(kafka_sasl_mechanisms, COUNT(kafka_sasl_mechanisms), s);
}

/* libbeat's version names: "2", "2.1", "2.1.0", "0.10.2.1". */
static int parse_kafka_version(const char *s)
{
    for (int parts = 1; parts <= 4; parts++) {
        size_t n = strspn(s, "0123456789");
        if (n == 0 || n > 4)
            return -1;
        s += n;
        if (!*s)
            return 0;
        if (*s++ != '.')
            return -1;
    }
    return -1;
}

/* Spec §4.2 (libbeat outputs/kafka defaultConfig and partition.go); the
 * table is also the list of defaults out_kafka.c relies on.  A field with
 * one spelling per partitioner has a default only on its first: only one
 * partitioner may be set, so the spelling the user wrote wins. */
#define KF(f) OUT(kafka.f)
static const keyspec kafka_keys[] = {
    {"enabled", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"hosts", NULL, KT_STRLIST, NULL, KF(hosts), 0, 0, NULL, NULL},
    {"topic", NULL, KT_OPTSTRING, NULL, KF(topic), 0, 0, NULL, NULL},
    {"topics", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"key", NULL, KT_OPTSTRING, NULL, KF(key), 0, 0, NULL, NULL},
    {"partition.hash.hash", NULL, KT_STRLIST, NULL, KF(hash_fields), 0, 0, NULL, NULL},
    {"partition.hash.random", NULL, KT_BOOL, "true", KF(hash_random), 0, 0, NULL, NULL},
    {"partition.hash.reachable_only", NULL, KT_BOOL, "false", KF(reachable_only), 0, 0, NULL, NULL},
    {"partition.random.reachable_only", NULL, KT_BOOL, NULL, KF(reachable_only), 0, 0, NULL, NULL},
    {"partition.round_robin.reachable_only", NULL, KT_BOOL, NULL, KF(reachable_only), 0, 0, NULL,
     NULL},
    {"partition.random.group_events", NULL, KT_INT, "1", KF(group_events), 1, INT_MAX, NULL,
     "must be 1 or more"},
    {"partition.round_robin.group_events", NULL, KT_INT, NULL, KF(group_events), 1, INT_MAX, NULL,
     "must be 1 or more"},
    {"required_acks", NULL, KT_INT, "1", KF(required_acks), -1, 1, NULL,
     "must be -1 (all replicas), 0 (no acks) or 1 (the leader)"},
    {"compression", NULL, KT_OPTSTRING, "gzip", KF(compression), 0, 0, parse_compression,
     "must be one of none, gzip, snappy, lz4, zstd"},
    {"compression_level", NULL, KT_INT, "4", KF(compression_level), -1, 12, NULL,
     "must be between -1 (the codec's default) and 12"},
    {"max_message_bytes", NULL, KT_INT, "1000000", KF(max_message_bytes), 1, INT_MAX, NULL,
     "must be positive"},
    {"client_id", NULL, KT_OPTSTRING, "beats", KF(client_id), 0, 0, NULL, NULL},
    {"version", NULL, KT_OPTSTRING, "2.1.0", KF(version), 0, 0, parse_kafka_version,
     "must be a Kafka version such as 2.1.0 or 0.10.2.1"},
    {"username", NULL, KT_OPTSTRING, NULL, KF(username), 0, 0, NULL, NULL},
    {"password", NULL, KT_OPTSTRING, NULL, KF(password), 0, 0, NULL, NULL},
    {"sasl.mechanism", NULL, KT_OPTSTRING, NULL, KF(sasl_mechanism), 0, 0, parse_sasl,
     "must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"},
    SSL_KEYS(KF),
    {"timeout", NULL, KT_DURATION, "30s", KF(timeout_ms), POSITIVE},
    {"broker_timeout", NULL, KT_DURATION, "10s", KF(broker_timeout_ms), POSITIVE},
    {"keep_alive", NULL, KT_DURATION, "0", KF(keep_alive_ms), NON_NEGATIVE},
    {"bulk_max_size", NULL, KT_INT, "2048", KF(bulk_max_size), 1, INT_MAX, NULL,
     "must be positive"},
    {"bulk_flush_frequency", NULL, KT_DURATION, "0", KF(bulk_flush_frequency_ms), NON_NEGATIVE},
    {"max_retries", NULL, KT_INT, "3", KF(max_retries), 0, 0, NULL, NULL},
    {"backoff.init", NULL, KT_DURATION, "1s", KF(backoff.init_ms), POSITIVE},
    {"backoff.max", NULL, KT_DURATION, "60s", KF(backoff.max_ms), POSITIVE},
    {"metadata.refresh_frequency", NULL, KT_DURATION, "10m", KF(metadata_refresh_ms), NON_NEGATIVE},
    {"metadata.retry.max", NULL, KT_INT, "3", KF(metadata_retry_max), 0, INT_MAX, NULL,
     "must be 0 or more"},
    {"metadata.retry.backoff", NULL, KT_DURATION, "250ms", KF(metadata_retry_backoff_ms),
     NON_NEGATIVE},
    {"metadata.full", NULL, KT_BOOL, "false", KF(metadata_full), 0, 0, NULL, NULL},
    {"headers", NULL, KT_KVPAIRS, NULL, KF(headers), 0, 0, NULL, NULL},
    {"codec.json.pretty", NULL, KT_BOOL, "false", KF(codec_pretty), 0, 0, NULL, NULL},
    {"codec.json.escape_html", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"codec.json.local_time", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"codec.format", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"idempotent", NULL, KT_BOOL, "false", KF(idempotent), 0, 0, NULL, NULL},
};

static const ignored kafka_ignored[] = {
    {"kerberos", "Kerberos (GSSAPI) is not supported by expvarbeat; ignored, the connection is "
                 "made without it"},
    {"enable_krb5_fast", NULL},
    {"channel_buffer_size", NULL},
    {"worker", NULL},
    {"queue", output_queue_why},
    SSL_IGNORED,
};

/* One entry of output.kafka.topics; `mappings` and `default` are known so
 * that they can be refused rather than warned about. */
#define RULE(f) offsetof(kafka_topic_rule, f)
static const keyspec topic_rule_keys[] = {
    {"topic", NULL, KT_OPTSTRING, NULL, RULE(topic), 0, 0, NULL, NULL},
    {"when", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"mappings", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
    {"default", NULL, KT_HANDLED, NULL, 0, 0, 0, NULL, NULL},
};

static const section top_section = {top_keys, COUNT(top_keys), top_ignored, COUNT(top_ignored)};
static const section module_section = {module_keys, COUNT(module_keys), module_ignored,
                                       COUNT(module_ignored)};
static const section console_section = {console_keys, COUNT(console_keys), output_ignored,
                                        COUNT(output_ignored)};
static const section file_section = {file_keys, COUNT(file_keys), output_ignored,
                                     COUNT(output_ignored)};
static const section es_section = {es_keys, COUNT(es_keys), es_ignored, COUNT(es_ignored)};
static const section kafka_section = {kafka_keys, COUNT(kafka_keys), kafka_ignored,
                                      COUNT(kafka_ignored)};
static const section topic_rule_section = {topic_rule_keys, COUNT(topic_rule_keys), NULL, 0};
static const section kibana_section = {kibana_keys, COUNT(kibana_keys), kibana_ignored,
                                       COUNT(kibana_ignored)};

/* ---- table-driven decoding and the unknown-key walk -------------------- */

static int decode_key(loader *L, const cfgval *sec, const char *prefix, const keyspec *k, void *out)
{
    const cfgval *v = k->alt ? get_path(sec, k->alt) : NULL;
    const char *used = k->alt;
    if (!v) {
        v = get_path(sec, k->key);
        used = k->key;
    }
    char key[KEY_MAX];
    key_join(key, prefix, used);
    cfgval *def = NULL;
    if (!v || v->type == CFGV_NULL) {
        if (!k->def)
            return 0;
        if (parse_value(L, k->def, "<default>", 1, &def))
            return -1;
        v = def;
    }
    int rc = kinds[k->type].decode(L, v, key, k, (char *)out + k->off);
    if (rc == 0 && !def && k->parse == parse_verify &&
        *(int *)((char *)out + k->off) == SSL_VERIFY_NONE)
        warn_at(v,
                "%s: none: TLS certificates and host names are not verified; anyone on the "
                "path can read and change this traffic",
                key);
    cfgval_free(def);
    return rc;
}

/* sec may be NULL (or not a map): every key then takes its default. */
static int decode_table(loader *L, const cfgval *sec, const char *prefix, const section *s,
                        void *out)
{
    for (size_t i = 0; i < s->n_keys; i++)
        if (kinds[s->keys[i].type].decode && decode_key(L, sec, prefix, &s->keys[i], out))
            return -1;
    return 0;
}

static void free_table(const section *s, void *obj)
{
    for (size_t i = 0; i < s->n_keys; i++)
        if (kinds[s->keys[i].type].release)
            kinds[s->keys[i].type].release((char *)obj + s->keys[i].off);
}

/* full is rel + "." + more */
static int path_under(const char *full, const char *rel)
{
    size_t n = strlen(rel);
    return full && strncmp(full, rel, n) == 0 && full[n] == '.';
}

enum rel_kind { REL_UNKNOWN, REL_KNOWN, REL_IGNORED, REL_PARENT };

static enum rel_kind classify(const section *s, const char *rel, const ignored **ig)
{
    for (size_t i = 0; i < s->n_keys; i++) {
        const keyspec *k = &s->keys[i];
        if (strcmp(k->key, rel) == 0 || (k->alt && strcmp(k->alt, rel) == 0))
            return REL_KNOWN;
    }
    for (size_t i = 0; i < s->n_ign; i++) {
        if (strcmp(s->ign[i].key, rel) == 0 || path_under(rel, s->ign[i].key)) {
            *ig = &s->ign[i];
            return REL_IGNORED;
        }
    }
    for (size_t i = 0; i < s->n_keys; i++)
        if (path_under(s->keys[i].key, rel) || path_under(s->keys[i].alt, rel))
            return REL_PARENT;
    for (size_t i = 0; i < s->n_ign; i++)
        if (path_under(s->ign[i].key, rel))
            return REL_PARENT;
    return REL_UNKNOWN;
}

/* Warns about keys the section ignores or does not know; a scalar where the
 * section expects a mapping (`ssl: true`) is an error. */
static int walk_keys(loader *L, const cfgval *map, const char *prefix, const char *rel,
                     const section *s)
{
    for (const cfgval *c = map->child; c; c = c->next) {
        char r[KEY_MAX], shown[KEY_MAX];
        key_join(r, rel, c->key);
        key_join(shown, prefix, r);
        const ignored *ig = NULL;
        switch (classify(s, r, &ig)) {
        case REL_KNOWN:
            break;
        case REL_IGNORED: /* `setup.kibana:` with everything commented out sets nothing */
            if (c->type != CFGV_NULL && !(c->type == CFGV_MAP && !c->child))
                warn_at(c, "%s: %s", shown,
                        ig->why ? ig->why : "not supported by expvarbeat; ignored");
            break;
        case REL_PARENT:
            if (c->type == CFGV_MAP && walk_keys(L, c, prefix, r, s))
                return -1;
            if (c->type != CFGV_MAP && c->type != CFGV_NULL)
                return fail(L, c, shown, "expected a mapping, got %s", type_name(c->type));
            break;
        case REL_UNKNOWN:
            warn_at(c, "unknown key '%s' (ignored)", shown);
            break;
        }
    }
    return 0;
}

/* ---- modules ------------------------------------------------------------ */

static int add_module(loader *L, module_config **out)
{
    config *c = L->cfg;
    module_config *m = realloc(c->modules, (c->n_modules + 1) * sizeof *m);
    if (!m)
        return oom(L);
    c->modules = m;
    *out = &m[c->n_modules++];
    memset(*out, 0, sizeof **out);
    return 0;
}

/* sec.hosts (a module's or an output's) decoded into l: required, none empty. */
static int check_hosts(loader *L, const cfgval *sec, const char *prefix, const strlist *l)
{
    char key[KEY_MAX];
    const cfgval *hosts = cfgval_get(sec, "hosts");
    key_join(key, prefix, "hosts");
    if (l->n == 0)
        return fail(L, hosts ? hosts : sec, key, "missing required field: at least one host");
    for (size_t i = 0; i < l->n; i++)
        if (!*l->v[i])
            return fail(L, hosts, key, "host %zu is empty", i);
    return 0;
}

/* expvar.include / exclude: compiled once here so `test config` names a bad
 * pattern with its line, as the daemon would refuse it at start. */
static int check_patterns(loader *L, const cfgval *v, const char *prefix, const module_config *m)
{
    expvar_select_conf sc = {m->expvar_include.v, m->expvar_include.n,  m->expvar_exclude.v,
                             m->expvar_exclude.n, m->expvar_max_fields, m->expvar_drop_memstats};
    expvar_select *sel = NULL;
    char why[256], key[KEY_MAX];
    if (expvar_select_new(&sc, &sel, why, sizeof why) == 0) {
        expvar_select_free(sel);
        return 0;
    }
    const cfgval *at = get_path(v, "expvar.include");
    key_join(key, prefix, "expvar.include");
    if (!at || strstr(why, "exclude")) {
        at = get_path(v, "expvar.exclude");
        key_join(key, prefix, "expvar.exclude");
    }
    return fail(L, at ? at : v, key, "%s", why);
}

static int check_module(loader *L, const cfgval *v, const char *prefix, const module_config *m)
{
    if ((m->metricsets & MS_EXPVAR) && (!m->expvar_namespace || !*m->expvar_namespace)) {
        char key[KEY_MAX];
        const cfgval *at = get_path(v, "expvar.namespace");
        key_join(key, prefix, "expvar.namespace");
        return fail(L, at ? at : v, key, "string value is not set accessing 'expvar.namespace'");
    }
    if (check_patterns(L, v, prefix, m))
        return -1;
    if (m->hosts_file && m->hosts.n == 0)
        return 0; /* the hosts come from the file, read when the poller starts */
    return check_hosts(L, v, prefix, &m->hosts);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* heap.pause_percentiles: [50, 90, 99] → sorted, unique, each in (0, 100]. */
static int pause_percentiles(loader *L, const cfgval *v, const char *prefix, module_config *m)
{
    char key[KEY_MAX];
    const cfgval *l = get_path(v, "heap.pause_percentiles");
    key_join(key, prefix, "heap.pause_percentiles");
    if (!l || l->type == CFGV_NULL)
        return 0;
    if (l->type != CFGV_LIST)
        return fail(L, l, key, "expected a list of percentiles, e.g. [50, 90, 99]");
    for (const cfgval *e = l->child; e; e = e->next) {
        double p = e->type == CFGV_INT ? (double)e->i : e->type == CFGV_FLOAT ? e->f : -1;
        if (!(p > 0 && p <= 100))
            return fail(L, e, key, "percentile \"%s\" must be a number above 0 and at most 100",
                        e->str ? e->str : "?");
        if (m->heap_n_pause_pct == COUNT(m->heap_pause_pct))
            return fail(L, e, key, "at most %zu percentiles", COUNT(m->heap_pause_pct));
        m->heap_pause_pct[m->heap_n_pause_pct++] = p;
    }
    qsort(m->heap_pause_pct, m->heap_n_pause_pct, sizeof(double), cmp_double);
    size_t n = 0;
    for (size_t i = 0; i < m->heap_n_pause_pct; i++)
        if (n == 0 || m->heap_pause_pct[n - 1] != m->heap_pause_pct[i])
            m->heap_pause_pct[n++] = m->heap_pause_pct[i];
    m->heap_n_pause_pct = n;
    return 0;
}

static int golang_module(loader *L, const cfgval *v, const char *prefix)
{
    module_config *m = NULL;
    if (walk_keys(L, v, prefix, "", &module_section) || add_module(L, &m))
        return -1;
    if (!(m->file = strdup(v->file ? v->file : "")))
        return oom(L);
    m->line = v->line;
    if (decode_table(L, v, prefix, &module_section, m) || pause_percentiles(L, v, prefix, m))
        return -1;
    return check_module(L, v, prefix, m);
}

static int module_entry(loader *L, const cfgval *v, const char *prefix)
{
    char key[KEY_MAX];
    if (v->type != CFGV_MAP)
        return fail(L, v, prefix, "expected a module entry (a mapping), got %s",
                    type_name(v->type));
    const cfgval *en = cfgval_get(v, "enabled");
    if (en && en->type != CFGV_NULL) {
        int on = 1;
        key_join(key, prefix, "enabled");
        if (dec_bool(L, en, key, NULL, &on))
            return -1;
        if (!on)
            return 0;
    }
    const cfgval *mod = cfgval_get(v, "module");
    key_join(key, prefix, "module");
    if (!mod || mod->type == CFGV_NULL)
        return fail(L, v, key, "missing required field accessing 'module'");
    sval name;
    if (get_scalar(L, mod, key, "a module name", &name))
        return -1;
    int golang = strcmp(name.text, "golang") == 0;
    if (!golang)
        warn_at(mod, "module '%s' is not supported by expvarbeat; skipped", name.text);
    free(name.text);
    return golang ? golang_module(L, v, prefix) : 0;
}

static int module_list(loader *L, const cfgval *list, const char *prefix)
{
    if (list->type == CFGV_NULL)
        return 0;
    if (list->type != CFGV_LIST)
        return fail(L, list, prefix, "expected a list of module entries, got %s",
                    type_name(list->type));
    size_t i = 0;
    for (const cfgval *c = list->child; c; c = c->next) {
        char key[KEY_MAX];
        key_index(key, prefix, i++);
        if (module_entry(L, c, key))
            return -1;
    }
    return 0;
}

/* A modules.d file: a YAML list of module entries, as Metricbeat ships them. */
static int module_file(loader *L, const char *path)
{
    cfgval *t = NULL;
    if (parse_file(L, path, &t))
        return -1;
    int rc = 0;
    if (t && t->type != CFGV_LIST)
        rc = fail(L, t, NULL, "expected a list of module entries (- module: golang), got %s",
                  type_name(t->type));
    else if (t)
        rc = module_list(L, t, "");
    cfgval_free(t);
    return rc;
}

static int missing_dir(loader *L, const cfgval *at, const char *key, const char *pattern)
{
    char *dir = strdup(pattern);
    if (!dir)
        return oom(L);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0';
    struct stat st;
    const char *d = slash ? dir : ".";
    int rc = 0;
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = fail(L, at, key, "no file matches '%s' and directory '%s' does not exist", pattern, d);
    else
        log_debug("%s: no module file matches '%s'", key, pattern);
    free(dir);
    return rc;
}

static int glob_modules(loader *L, const cfgval *at, const char *key, const char *pattern)
{
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        rc = missing_dir(L, at, key, pattern);
    } else if (rc != 0) {
        rc = fail(L, at, key, "cannot list '%s'", pattern);
    } else {
        for (size_t i = 0; i < g.gl_pathc && !rc; i++)
            rc = module_file(L, g.gl_pathv[i]);
    }
    globfree(&g);
    return rc;
}

/* metricbeat.config.modules: {path: glob, reload.enabled: bool} */
static int modules_dir(loader *L, const cfgval *sec, const char *prefix)
{
    char key[KEY_MAX];
    const cfgval *path = cfgval_get(sec, "path");
    if (!path || path->type == CFGV_NULL)
        return 0;
    key_join(key, prefix, "path");
    sval s;
    if (get_scalar(L, path, key, "a file pattern", &s))
        return -1;
    char *pattern = path_join(L->cfg->path.config, s.text);
    free(s.text);
    if (!pattern)
        return oom(L);
    int rc = glob_modules(L, path, key, pattern);
    /* kept for `modules list|enable|disable`; a later beat prefix wins */
    free(L->cfg->modules_path);
    L->cfg->modules_path = pattern;
    return rc;
}

static int load_modules(loader *L, const cfgval *root)
{
    static const char *const beats[] = {"metricbeat", "expvarbeat"};
    for (size_t i = 0; i < COUNT(beats); i++) {
        char key[KEY_MAX];
        key_join(key, beats[i], "modules");
        const cfgval *v = get_path(root, key);
        if (v && module_list(L, v, key))
            return -1;
        key_join(key, beats[i], "config.modules");
        v = get_path(root, key);
        if (v && v->type == CFGV_MAP && modules_dir(L, v, key))
            return -1;
    }
    return 0;
}

/* ---- output.elasticsearch ---------------------------------------------- */

static void preset_set(config *c, const struct preset_target *t, int64_t v)
{
    char *field = (char *)c + t->off;
    if (t->is_i64)
        *(int64_t *)field = v;
    else
        *(int *)field = (int)v;
}

static void apply_preset(loader *L, const cfgval *root, const cfgval *sec)
{
    es_config *es = &L->cfg->output.elasticsearch;
    if (!es->preset)
        return;
    const struct preset *p = &presets[parse_preset(es->preset)];
    for (size_t f = 0; f < PF_COUNT; f++) {
        const struct preset_target *t = &preset_targets[f];
        if (p->v[f] < 0)
            continue;
        const cfgval *user = get_path(t->in_root ? root : sec, t->key);
        if (user && user->type != CFGV_NULL) {
            char shown[KEY_MAX];
            key_join(shown, t->in_root ? "" : "output.elasticsearch", t->key);
            warn_at(user, "%s: performance preset '%s' overrides this user setting", shown,
                    p->name);
        }
        preset_set(L->cfg, t, p->v[f]);
    }
    if (strcmp(p->name, "custom") == 0) {
        free(es->preset);
        es->preset = NULL;
    }
    log_debug("output.elasticsearch: performance preset '%s' applied", p->name);
}

static int check_api_key(loader *L, const cfgval *sec, const es_config *es)
{
    const cfgval *at = cfgval_get(sec, "api_key");
    const char *key = "output.elasticsearch.api_key";
    if (!es->api_key)
        return 0;
    const char *colon = strchr(es->api_key, ':');
    if (!colon || colon == es->api_key || !colon[1]) /* the secret itself is not repeated */
        return fail(L, at, key,
                    "expected \"id:key\": the API key's id and key, joined by ':', as "
                    "Elasticsearch returns them");
    if (es->username || es->password)
        return fail(L, at, key, "cannot set both api_key and username/password");
    return 0;
}

static int check_backoff(loader *L, const cfgval *sec, const char *prefix, const backoff_config *b)
{
    char key[KEY_MAX];
    if (b->init_ms <= b->max_ms)
        return 0;
    const cfgval *at = get_path(sec, "backoff.init");
    key_join(key, prefix, "backoff.init");
    return fail(L, at ? at : get_path(sec, "backoff.max"), key,
                "%lld ms is more than backoff.max (%lld ms)", (long long)b->init_ms,
                (long long)b->max_ms);
}

/* Format strings are compiled here once only to report a bad one with its
 * line at start-up, not on the first event. */
static int check_format(loader *L, const cfgval *sec, const char *prefix, const char *rel,
                        const char *text)
{
    char why[256] = "", key[KEY_MAX];
    if (!text)
        return 0;
    fmtstr *f = fmtstr_compile(text, why, sizeof why);
    if (f) {
        fmtstr_free(f);
        return 0;
    }
    key_join(key, prefix, rel);
    return fail(L, cfgval_get(sec, rel), key, "invalid format string \"%s\": %s", text, why);
}

/* libbeat refuses a custom index unless the template meant to match it is
 * named as well (checkTemplateESSettings); "" is no custom index there. */
static int check_template_names(loader *L, const cfgval *sec)
{
    const config *c = L->cfg;
    const cfgval *idx = cfgval_get(sec, "index");
    if (!idx || idx->type == CFGV_NULL || !idx->str || !*idx->str || !c->setup.template_.enabled)
        return 0;
    if (c->setup.template_.name && c->setup.template_.pattern)
        return 0;
    return fail(L, idx, "output.elasticsearch.index",
                "setup.template.name and setup.template.pattern have to be set if index name is "
                "modified");
}

static int finish_es(loader *L, const cfgval *root, const cfgval *sec)
{
    es_config *es = &L->cfg->output.elasticsearch;
    apply_preset(L, root, sec);
    const char *p = "output.elasticsearch";
    if (check_hosts(L, sec, p, &es->hosts) || check_api_key(L, sec, es) ||
        check_backoff(L, sec, p, &es->backoff) || check_format(L, sec, p, "index", es->index) ||
        check_format(L, sec, p, "pipeline", es->pipeline))
        return -1;
    return check_template_names(L, sec);
}

/* ---- output.kafka -------------------------------------------------------- */

/* Replaces an accepted spelling ("GZIP", "off") by its canonical name. */
static int to_canonical(loader *L, char **field, const alias *a, size_t n)
{
    int i = *field ? find_alias(a, n, *field) : -1;
    if (i < 0)
        return 0;
    char *c = strdup(a[i].canon);
    if (!c)
        return oom(L);
    free(*field);
    *field = c;
    return 0;
}

/* `when: {equals: {field: value, ...}}`.  Any other condition is refused:
 * a rule whose condition is skipped would send events to the wrong topic. */
static int rule_when(loader *L, const cfgval *rule, const char *prefix, kafka_topic_rule *r)
{
    char key[KEY_MAX];
    const cfgval *when = cfgval_get(rule, "when");
    key_join(key, prefix, "when");
    if (!when || when->type == CFGV_NULL)
        return 0;
    if (when->type != CFGV_MAP)
        return fail(L, when, key, "expected a condition such as equals: {field: value}, got %s",
                    type_name(when->type));
    for (const cfgval *c = when->child; c; c = c->next) {
        char ck[KEY_MAX];
        key_join(ck, key, c->key);
        if (strcmp(c->key, "equals") != 0)
            return fail(L, c, ck,
                        "condition '%s' is not supported by expvarbeat (only when.equals); "
                        "ignoring it would send events to the wrong topic",
                        c->key);
        if (c->type != CFGV_MAP)
            return fail(L, c, ck, "expected a mapping of fields to values, got %s",
                        type_name(c->type));
        if (kv_collect(L, c, "", ck, match_text, &r->equals))
            return -1;
    }
    return 0;
}

static int topic_rule(loader *L, const cfgval *rule, const char *prefix, kafka_topic_rule *r)
{
    static const char *const refused[] = {"mappings", "default"};
    char key[KEY_MAX];
    if (rule->type != CFGV_MAP)
        return fail(L, rule, prefix, "expected a rule (a mapping with topic and when), got %s",
                    type_name(rule->type));
    if (walk_keys(L, rule, prefix, "", &topic_rule_section) ||
        decode_table(L, rule, prefix, &topic_rule_section, r))
        return -1;
    for (size_t i = 0; i < COUNT(refused); i++) {
        const cfgval *u = cfgval_get(rule, refused[i]);
        key_join(key, prefix, refused[i]);
        if (u && u->type != CFGV_NULL)
            return fail(L, u, key,
                        "topic mappings are not supported by expvarbeat (only topic and "
                        "when.equals); ignoring them would send events to the wrong topic");
    }
    key_join(key, prefix, "topic");
    if (!r->topic)
        return fail(L, rule, key, "missing topic: the topic (a format string) this rule picks");
    if (check_format(L, rule, prefix, "topic", r->topic))
        return -1;
    return rule_when(L, rule, prefix, r);
}

static int kafka_topics(loader *L, const cfgval *sec, kafka_config *kf)
{
    const char *key = "output.kafka.topics";
    const cfgval *t = cfgval_get(sec, "topics");
    size_t n = 0, i = 0;
    if (!t || t->type == CFGV_NULL)
        return 0;
    if (t->type != CFGV_LIST)
        return fail(L, t, key, "expected a list of rules, got %s", type_name(t->type));
    for (const cfgval *c = t->child; c; c = c->next)
        n++;
    if (n && !(kf->topics = calloc(n, sizeof *kf->topics)))
        return oom(L);
    kf->n_topics = n; /* all zeroed: config_free copes with a half-decoded list */
    for (const cfgval *c = t->child; c; c = c->next) {
        char ik[KEY_MAX];
        key_index(ik, key, i);
        if (topic_rule(L, c, ik, &kf->topics[i++]))
            return -1;
    }
    return 0;
}

/* libbeat: at most one member under `partition`, none meaning hash. */
static int kafka_partition(loader *L, const cfgval *sec, kafka_config *kf)
{
    static const struct {
        const char *name;
        enum kafka_partitioner p;
    } names[] = {{"hash", KAFKA_PART_HASH},
                 {"random", KAFKA_PART_RANDOM},
                 {"round_robin", KAFKA_PART_ROUND_ROBIN}};
    const char *key = "output.kafka.partition";
    const cfgval *p = cfgval_get(sec, "partition"), *first = p ? p->child : NULL;
    char ck[KEY_MAX];
    kf->partitioner = KAFKA_PART_HASH;
    if (!first || p->type != CFGV_MAP)
        return 0;
    if (first->next)
        return fail(L, first->next, key, "only one partitioner may be set (%s and %s)", first->key,
                    first->next->key);
    for (size_t i = 0; i < COUNT(names); i++) {
        if (strcmp(first->key, names[i].name) == 0) {
            kf->partitioner = names[i].p;
            return 0;
        }
    }
    key_join(ck, key, first->key);
    return fail(L, first, ck, "unknown partitioner (use hash, random or round_robin)");
}

static int kafka_compression(loader *L, const cfgval *sec, kafka_config *kf)
{
    if (to_canonical(L, &kf->compression, kafka_compressions, COUNT(kafka_compressions)))
        return -1;
    if (strcmp(kf->compression, "gzip") != 0 || kf->compression_level <= 9)
        return 0;
    return fail(L, cfgval_get(sec, "compression_level"), "output.kafka.compression_level",
                "\"%d\" must be between -1 (the codec's default) and 9 with gzip",
                kf->compression_level);
}

/* SASL is on when username is set (libbeat); the mechanism then defaults to PLAIN. */
static int kafka_auth(loader *L, const cfgval *sec, kafka_config *kf)
{
    if (kf->username && !kf->password)
        return fail(L, cfgval_get(sec, "username"), "output.kafka.username",
                    "password must be set when username is configured");
    if (kf->password && !kf->username)
        return fail(L, cfgval_get(sec, "password"), "output.kafka.password",
                    "set without username: SASL authentication needs both");
    if (!kf->username) {
        if (kf->sasl_mechanism)
            warn_at(get_path(sec, "sasl.mechanism"),
                    "output.kafka.sasl.mechanism: ignored without username (no SASL)");
        rel_string(&kf->sasl_mechanism);
        return 0;
    }
    if (!kf->sasl_mechanism && !(kf->sasl_mechanism = strdup("PLAIN")))
        return oom(L);
    return to_canonical(L, &kf->sasl_mechanism, kafka_sasl_mechanisms,
                        COUNT(kafka_sasl_mechanisms));
}

/* As libbeat: a non-empty `ssl` section turns TLS on unless it says
 * enabled: false.  Broker addresses have no scheme to decide by, so the
 * choice is made here and ssl.enabled leaves the load as 0 or 1. */
static void kafka_tls(const cfgval *sec, kafka_config *kf)
{
    const cfgval *ssl = cfgval_get(sec, "ssl");
    if (kf->ssl.enabled >= 0)
        return;
    kf->ssl.enabled = 0;
    for (const cfgval *c = ssl && ssl->type == CFGV_MAP ? ssl->child : NULL; c; c = c->next)
        if (c->type != CFGV_NULL)
            kf->ssl.enabled = 1;
}

/* Messages are the JSON documents; a format codec would change every one. */
static int kafka_codec(loader *L, const cfgval *sec)
{
    static const struct {
        const char *rel, *why;
    } unsupported[] = {
        {"codec.json.escape_html", "HTML escaping is not supported by expvarbeat; ignored, "
                                   "<, > and & are written as they are"},
        {"codec.json.local_time", "local time is not supported by expvarbeat; ignored, "
                                  "@timestamp stays in UTC"},
    };
    const cfgval *f = get_path(sec, "codec.format");
    if (f && f->type != CFGV_NULL)
        return fail(L, f, "output.kafka.codec.format",
                    "the format codec is not supported by expvarbeat (only codec.json): the "
                    "messages would not have the shape consumers expect");
    for (size_t i = 0; i < COUNT(unsupported); i++) {
        char key[KEY_MAX];
        const cfgval *v = get_path(sec, unsupported[i].rel);
        int on = 0;
        key_join(key, "output.kafka", unsupported[i].rel);
        if (v && v->type != CFGV_NULL && dec_bool(L, v, key, NULL, &on))
            return -1;
        if (on)
            warn_at(v, "%s: %s", key, unsupported[i].why);
    }
    return 0;
}

/* The idempotent producer needs acks from all in-sync replicas (librdkafka
 * refuses anything else), so it implies required_acks: -1 unless the user
 * asked for fewer, which is a contradiction better reported here. */
static int kafka_idempotent(loader *L, const cfgval *sec, kafka_config *kf)
{
    const cfgval *acks = cfgval_get(sec, "required_acks");
    if (!kf->idempotent)
        return 0;
    if (acks && acks->type != CFGV_NULL && kf->required_acks != -1)
        return fail(L, acks, "output.kafka.required_acks",
                    "must be -1 (all replicas) with idempotent: true, got %d", kf->required_acks);
    kf->required_acks = -1;
    return 0;
}

static int finish_kafka(loader *L, const cfgval *root, const cfgval *sec)
{
    (void)root;
    kafka_config *kf = &L->cfg->output.kafka;
    const char *p = "output.kafka";
    if (check_hosts(L, sec, p, &kf->hosts) || kafka_topics(L, sec, kf))
        return -1;
    if (!kf->topic && kf->n_topics == 0)
        return fail(L, sec, "output.kafka.topic",
                    "no topic configured: either 'topic' or 'topics' must be defined");
    if (check_format(L, sec, p, "topic", kf->topic) || check_format(L, sec, p, "key", kf->key) ||
        kafka_partition(L, sec, kf) || kafka_compression(L, sec, kf) || kafka_auth(L, sec, kf) ||
        check_backoff(L, sec, p, &kf->backoff) || kafka_codec(L, sec) ||
        kafka_idempotent(L, sec, kf))
        return -1;
    kafka_tls(sec, kf);
    return 0;
}

static void kafka_free(kafka_config *kf)
{
    for (size_t i = 0; i < kf->n_topics; i++) {
        free_table(&topic_rule_section, &kf->topics[i]);
        kvlist_clear(&kf->topics[i].equals);
    }
    free(kf->topics);
    kf->topics = NULL;
    kf->n_topics = 0;
}

/* ---- output ------------------------------------------------------------- */

static const struct output_kind {
    const char *name;
    const section *sec; /* NULL: a libbeat output expvarbeat does not have yet */
    enum output_type type;
    /* cross-key rules, for the chosen output only */
    int (*finish)(loader *L, const cfgval *root, const cfgval *sec);
} output_kinds[] = {
    {"console", &console_section, OUTPUT_CONSOLE, NULL},
    {"file", &file_section, OUTPUT_FILE, NULL},
    {"elasticsearch", &es_section, OUTPUT_ELASTICSEARCH, finish_es},
    {"kafka", &kafka_section, OUTPUT_KAFKA, finish_kafka},
    {"logstash", NULL, OUTPUT_CONSOLE, NULL},
    {"redis", NULL, OUTPUT_CONSOLE, NULL},
};

/* As libbeat: a present output section is on unless it says enabled: false. */
static int output_enabled(loader *L, const cfgval *o, int *on)
{
    char key[KEY_MAX], ekey[KEY_MAX];
    key_join(key, "output", o->key);
    *on = 1;
    if (o->type == CFGV_NULL)
        return 0;
    if (o->type != CFGV_MAP)
        return fail(L, o, key, "expected a mapping, got %s", type_name(o->type));
    const cfgval *en = cfgval_get(o, "enabled");
    key_join(ekey, key, "enabled");
    return en && en->type != CFGV_NULL ? dec_bool(L, en, ekey, NULL, on) : 0;
}

static int pick_output(loader *L, const cfgval *out, const cfgval **chosen)
{
    for (const cfgval *o = out->child; o; o = o->next) {
        int on;
        if (output_enabled(L, o, &on))
            return -1;
        if (!on)
            continue;
        if (*chosen) {
            char key[KEY_MAX];
            key_join(key, "output", o->key);
            return fail(L, o, key, "more than one output configured (output.%s is enabled too)",
                        (*chosen)->key);
        }
        *chosen = o;
    }
    return 0;
}

/* The kind of the chosen output section (NULL: none, console) after its key walk. */
static int output_kind_of(loader *L, const cfgval *chosen, const struct output_kind **kind)
{
    char key[KEY_MAX];
    *kind = &output_kinds[0];
    if (!chosen)
        return 0;
    key_join(key, "output", chosen->key);
    *kind = NULL;
    for (size_t i = 0; i < COUNT(output_kinds) && !*kind; i++)
        if (strcmp(output_kinds[i].name, chosen->key) == 0)
            *kind = &output_kinds[i];
    if (!*kind)
        return fail(L, chosen, key, "unknown output type '%s'", chosen->key);
    if (!(*kind)->sec)
        return fail(L, chosen, key,
                    "output.%s is not supported yet (use output.elasticsearch, output.kafka, "
                    "output.console or output.file)",
                    chosen->key);
    return chosen->type == CFGV_MAP ? walk_keys(L, chosen, key, "", (*kind)->sec) : 0;
}

static int load_output(loader *L, const cfgval *root)
{
    const cfgval *out = cfgval_get(root, "output"), *chosen = NULL;
    const struct output_kind *kind;
    if (out && out->type != CFGV_MAP && out->type != CFGV_NULL)
        return fail(L, out, "output", "expected a mapping, got %s", type_name(out->type));
    if ((out && out->type == CFGV_MAP && pick_output(L, out, &chosen)) ||
        output_kind_of(L, chosen, &kind))
        return -1;
    output_config *oc = &L->cfg->output;
    oc->type = kind->type;
    /* Every kind gets its defaults, so the struct is complete whichever is used. */
    for (size_t i = 0; i < COUNT(output_kinds); i++) {
        const struct output_kind *k = &output_kinds[i];
        char prefix[KEY_MAX];
        key_join(prefix, "output", k->name);
        if (k->sec && decode_table(L, k == kind ? chosen : NULL, prefix, k->sec, oc))
            return -1;
    }
    return kind->finish ? kind->finish(L, root, chosen) : 0;
}

/* ---- setup.kibana ------------------------------------------------------- */

/* libbeat's initKibanaConfig: with the Elasticsearch output, each of
 * username, password and api_key that setup.kibana does not name is copied
 * from it.  Unlike libbeat a Kibana section naming one kind of credential
 * does not also inherit the other kind, which libbeat would then refuse. */
static int kibana_credentials(loader *L, const cfgval *sec, kibana_config *k)
{
    static const char *const rels[] = {"username", "password", "api_key"};
    const es_config *es = &L->cfg->output.elasticsearch;
    char **dst[] = {&k->username, &k->password, &k->api_key};
    char *const src[] = {es->username, es->password, es->api_key};
    int own_basic = get_path(sec, "username") || get_path(sec, "password");
    int own_key = get_path(sec, "api_key") != NULL;
    if (L->cfg->output.type != OUTPUT_ELASTICSEARCH)
        return 0;
    for (size_t i = 0; i < COUNT(rels); i++) {
        int other_kind_named = i < 2 ? own_key : own_basic;
        if (get_path(sec, rels[i]) || other_kind_named || !src[i])
            continue;
        if (!(*dst[i] = strdup(src[i])))
            return oom(L);
    }
    return 0;
}

static int finish_kibana(loader *L, const cfgval *sec, kibana_config *k)
{
    const cfgval *at = get_path(sec, "api_key");
    const char *key = "setup.kibana.api_key";
    if (k->api_key && at) {
        const char *colon = strchr(k->api_key, ':');
        if (!colon || colon == k->api_key || !colon[1])
            return fail(L, at, key,
                        "expected \"id:key\": the API key's id and key, joined by ':', as "
                        "Elasticsearch returns them");
        if (k->username || k->password)
            return fail(L, at, key, "cannot set both api_key and username/password");
    }
    return kibana_credentials(L, sec, k);
}

static int load_kibana(loader *L, const cfgval *root)
{
    const cfgval *sec = get_path(root, "setup.kibana");
    const char *p = "setup.kibana";
    if (sec && sec->type != CFGV_MAP && sec->type != CFGV_NULL)
        return fail(L, sec, p, "expected a mapping, got %s", type_name(sec->type));
    if (sec && sec->type != CFGV_MAP)
        sec = NULL;
    if (sec && walk_keys(L, sec, p, "", &kibana_section))
        return -1;
    kibana_config *k = &L->cfg->setup.kibana;
    if (decode_table(L, sec, p, &kibana_section, k))
        return -1;
    return finish_kibana(L, sec, k);
}

/* ---- the load ----------------------------------------------------------- */

static int init_paths(loader *L, const config_opts *o)
{
    config *c = L->cfg;
    char cwd[PATH_MAX];
    const char *home = o->path_home;
    if (!home) {
        if (!getcwd(cwd, sizeof cwd))
            return fail(L, NULL, NULL, "cannot determine the current directory: %s",
                        strerror(errno));
        home = cwd;
    }
    c->path.home = strdup(home);
    c->path.config = strdup(o->path_config ? o->path_config : home);
    c->path.data = o->path_data ? strdup(o->path_data) : path_join(home, "data");
    c->path.logs = o->path_logs ? strdup(o->path_logs) : path_join(home, "logs");
    if (!c->path.home || !c->path.config || !c->path.data || !c->path.logs)
        return oom(L);
    return 0;
}

/* -c files in order, each deep-merged over the previous ones. */
static int load_files(loader *L, const config_opts *o, cfgval **root)
{
    /* A relative -c name is relative to path.config; when that was not set it
     * is the current directory, and the name is kept as typed for messages. */
    int rel_to_config = o->path_config || o->path_home;
    size_t n = o->n_files ? o->n_files : 1;
    if (!(*root = cfgval_new(CFGV_MAP, NULL)))
        return oom(L);
    for (size_t i = 0; i < n; i++) {
        const char *name = o->n_files ? o->files[i] : "expvarbeat.yml";
        char *path = rel_to_config ? path_join(L->cfg->path.config, name) : strdup(name);
        cfgval *t = NULL;
        int rc = path ? parse_file(L, path, &t) : oom(L);
        free(path);
        if (!rc && t && t->type != CFGV_MAP)
            rc = fail(L, t, NULL, "expected a mapping of settings at the top level, got %s",
                      type_name(t->type));
        if (rc) {
            cfgval_free(t);
            return -1;
        }
        if (t)
            merge_into(*root, t);
    }
    return 0;
}

static int apply_override(loader *L, cfgval *root, const char *arg, int idx)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return fail(L, NULL, NULL, "-E %s: expected key=value", arg);
    char *key = strndup(arg, (size_t)(eq - arg));
    if (!key)
        return oom(L);
    cfgval *v = NULL;
    int rc = parse_value(L, eq + 1, "-E", idx, &v);
    if (!rc)
        rc = insert_dotted(L, root, key, v);
    free(key);
    return rc;
}

static char *hostname_dup(void)
{
    char h[256];
    if (gethostname(h, sizeof h) != 0)
        return strdup("localhost");
    h[sizeof h - 1] = '\0';
    return strdup(h);
}

/* libbeat reads only settings.index and settings._source. */
static void warn_template_settings(const cfgval *root)
{
    const cfgval *s = get_path(root, "setup.template.settings");
    for (const cfgval *c = s && s->type == CFGV_MAP ? s->child : NULL; c; c = c->next)
        if (strcmp(c->key, "index") != 0 && strcmp(c->key, "_source") != 0)
            warn_at(c,
                    "unknown key 'setup.template.settings.%s' (ignored: template settings are "
                    "index.* and _source.*)",
                    c->key);
}

/* Cross-key rules of the top level: queue kind, shard, logging destinations. */
static int finish_top(loader *L, const cfgval *root)
{
    config *c = L->cfg;
    const cfgval *disk = get_path(root, "queue.disk"), *mem = get_path(root, "queue.mem");
    c->disk_queue.enabled = disk && disk->type != CFGV_NULL;
    if (c->disk_queue.enabled && mem && mem->type != CFGV_NULL)
        return fail(L, disk, "queue",
                    "only one queue type can be configured (queue.mem or "
                    "queue.disk)");
    if (c->disk_queue.segment_size == 0)
        c->disk_queue.segment_size = c->disk_queue.max_size / 10;
    if (c->disk_queue.segment_size > c->disk_queue.max_size)
        return fail(L, get_path(root, "queue.disk.segment_size"), "queue.disk.segment_size",
                    "%zu is more than queue.disk.max_size (%zu)", c->disk_queue.segment_size,
                    c->disk_queue.max_size);
    if (c->shard.index >= c->shard.count) {
        const cfgval *at = get_path(root, "shard.index");
        return fail(L, at ? at : get_path(root, "shard.count"), "shard.index",
                    "%d must be less than shard.count (%d)", c->shard.index, c->shard.count);
    }
    /* -e: "log to stderr and disable file output", as Metricbeat's flag */
    if (c->log_to_stderr)
        c->logging.to_files = 0;
    else if (c->logging.to_stderr)
        c->log_to_stderr = 1;
    return 0;
}

static int decode_config(loader *L, const cfgval *root)
{
    config *c = L->cfg;
    if (walk_keys(L, root, "", "", &top_section) || decode_table(L, root, "", &top_section, c))
        return -1;
    warn_template_settings(root);
    if (!c->name || !*c->name) { /* libbeat: an empty name is the host name too */
        free(c->name);
        if (!(c->name = hostname_dup()))
            return oom(L);
    }
    if (load_modules(L, root) || load_output(L, root) || load_kibana(L, root))
        return -1;
    if (finish_top(L, root))
        return -1;
    /* after the output: an Elasticsearch preset replaces the queue settings */
    if (c->queue.flush_min_events > c->queue.events) {
        const cfgval *at = get_path(root, "queue.mem.flush.min_events");
        return fail(L, at ? at : get_path(root, "queue.mem.events"), "queue.mem.flush.min_events",
                    "%d%s is more than queue.mem.events (%d)", c->queue.flush_min_events,
                    at ? "" : " (the default)", c->queue.events);
    }
    return 0;
}

/* With tree: also hands back the merged settings, ${} expanded. */
static config *load(const config_opts *o, cfgval **tree, char *err, size_t errlen)
{
    char none[1];
    if (!err || !errlen) {
        err = none;
        errlen = sizeof none;
    }
    err[0] = '\0';
    loader L = {.err = err, .errlen = errlen, .no_strict_perms = o->no_strict_perms};
    cfgval *root = NULL;
    config *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory while loading the configuration");
        return NULL;
    }
    L.cfg = c;
    c->log_to_stderr = o->log_to_stderr;
    int rc = init_paths(&L, o);
    if (!rc)
        rc = load_files(&L, o, &root);
    for (size_t i = 0; !rc && i < o->n_overrides; i++)
        rc = apply_override(&L, root, o->overrides[i], (int)i + 1);
    if (!rc)
        rc = decode_config(&L, root);
    if (!rc && tree && (rc = finish_tree(&L, root, "")) == 0) {
        *tree = root;
        root = NULL;
    }
    cfgval_free(root);
    for (size_t i = 0; i < L.n_files; i++)
        free(L.files[i]);
    free(L.files);
    if (rc) {
        config_free(c);
        return NULL;
    }
    return c;
}

config *config_load(const config_opts *o, char *err, size_t errlen)
{
    return load(o, NULL, err, errlen);
}

cfgval *config_load_tree(const config_opts *o, char *err, size_t errlen)
{
    cfgval *tree = NULL;
    config *c = load(o, &tree, err, errlen);
    config_free(c);
    return tree;
}

void config_free(config *c)
{
    if (!c)
        return;
    free_table(&top_section, c);
    for (size_t i = 0; i < c->n_modules; i++) {
        free_table(&module_section, &c->modules[i]);
        free(c->modules[i].file);
    }
    free(c->modules);
    free(c->modules_path);
    free_table(&console_section, &c->output);
    free_table(&file_section, &c->output);
    free_table(&es_section, &c->output);
    free_table(&kafka_section, &c->output);
    kafka_free(&c->output.kafka);
    free_table(&kibana_section, &c->setup.kibana);
    free(c->path.home);
    free(c->path.config);
    free(c->path.data);
    free(c->path.logs);
    free(c);
}
