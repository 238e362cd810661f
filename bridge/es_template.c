/* es_template: the index template and ILM policy bodies (es_template.h).
 * Owns the reading of the embedded mappings/fields.yml with libbeat's
 * template rules (libbeat/template/processor.go: group -> properties,
 * keyword -> ignore_above 1024, integer -> long, object_type -> a dynamic
 * template, keys in Go's sorted order), expvarbeat's typed dynamic templates
 * for golang.*, and the index settings merged with setup.template.settings.
 * fields.yml is parsed on every call: this runs once per setup or export. */
#include "es_template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "mappings_data.h"

#define DEFAULT_NAME "expvarbeat-" EXPVARBEAT_VERSION
#define DEFAULT_POLICY "expvarbeat"
#define FIELDS_FILE "mappings/fields.yml"
#define PATH_MAX_LEN 256
#define POLICY_FILE_MAX (1024 * 1024)
#define POLICY_MAX_DEPTH 64

/* index.mapping.total_fields.limit.  ES counts every mapped leaf and object.
 * The static mappings are 76 fields (60 of them Metricbeat's, the rest the
 * heap extras); each expvar namespace adds its own golang.<ns>.* fields:
 * N = 61 for tests/data/expvartarget.json rendered as a document (54 leaves +
 * 7 objects; memstats alone is 32, the ring buffers one field each), 43-50
 * for the gin and etcd samples, 110 for Metricbeat's own /debug/vars.  All
 * namespaces share one data stream, so 10000 (also Metricbeat's value)
 * leaves room for ~90-160 distinct services before the index rejects
 * documents, and no set-up that works with Metricbeat breaks when it
 * switches.  A runaway map (per-URL counters) is better bounded per target
 * (expvar.max_fields) than by failing the whole data stream early. */
#define TOTAL_FIELDS_LIMIT 10000

#define GEN_STR(g, s) yajl_gen_string((g), (const unsigned char *)(s), strlen(s))

const char *es_template_name(const config *c)
{
    const char *n = c ? c->setup.template_.name : NULL;
    return n && *n ? n : DEFAULT_NAME;
}

const char *es_template_pattern(const config *c)
{
    const char *p = c ? c->setup.template_.pattern : NULL;
    return p && *p ? p : es_template_name(c);
}

const char *es_ilm_policy_name(const config *c)
{
    const char *n = c ? c->setup.ilm.policy_name : NULL;
    return n && *n ? n : DEFAULT_POLICY;
}

/* ---- fields.yml -> a tree of mappings ---- */

enum { FT_GROUP = 1, FT_KEYWORD = 2, FT_NORMS = 4, FT_QUERY = 8, FT_ALIAS = 16, FT_OBJECT = 32 };

/* fields.yml `type` -> mapping type.  FT_QUERY types go to
 * index.query.default_field. */
static const struct ftype {
    const char *name;
    const char *es;
    unsigned flags;
} ftypes[] = {
    {"group", NULL, FT_GROUP},
    {"keyword", "keyword", FT_KEYWORD | FT_QUERY},
    {"text", "text", FT_NORMS | FT_QUERY},
    {"match_only_text", "match_only_text", FT_QUERY},
    {"integer", "long", 0}, /* libbeat widens integer to long */
    {"long", "long", 0},
    {"short", "short", 0},
    {"byte", "byte", 0},
    {"double", "double", 0},
    {"float", "float", 0},
    {"half_float", "half_float", 0},
    {"boolean", "boolean", 0},
    {"date", "date", 0},
    {"ip", "ip", 0},
    {"alias", "alias", FT_ALIAS},
    {"object", "object", FT_OBJECT},
};

/* `object_type` -> the dynamic template libbeat adds for <path>.*. */
static const struct otype {
    const char *name;
    const char *match; /* match_mapping_type */
} otypes[] = {
    {"keyword", "string"},
    {"long", "long"},
    {"double", "double"},
    {"boolean", "boolean"},
};

typedef struct fnode {
    char *name; /* one path segment */
    const struct ftype *type;
    char *path;                     /* alias target */
    int ignore_above;               /* keyword: 0 = libbeat's 1024, -1 = none */
    int index, doc_values, enabled; /* -1 = not set */
    struct fnode *kids;             /* groups: sorted by name, as Go's encoder orders keys */
    struct fnode *next;
} fnode;

typedef struct objdyn {
    char *path;
    const struct otype *ot;
    struct objdyn *next;
} objdyn;

typedef struct fieldset {
    fnode root;
    objdyn *dyn, **dyn_tail; /* in file order, as libbeat adds them */
    cfgval *query;           /* CFGV_LIST "default_field", in file order */
    cfgval **query_tail;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
} fieldset;

/* One field entry as written, before it is applied to the tree.  Strings
 * point into the YAML document. */
typedef struct fdef {
    const char *name, *type, *path, *object_type;
    long ignore_above;
    int index, doc_values, enabled, default_field; /* -1 = not set */
    yaml_node_t *fields;
} fdef;

enum fkind { FK_STR, FK_INT, FK_BOOL, FK_SEQ, FK_DOC };

static const struct fkey {
    const char *key;
    enum fkind kind;
    size_t off;
} fkeys[] = {
    {"name", FK_STR, offsetof(fdef, name)},
    {"type", FK_STR, offsetof(fdef, type)},
    {"path", FK_STR, offsetof(fdef, path)},
    {"object_type", FK_STR, offsetof(fdef, object_type)},
    {"ignore_above", FK_INT, offsetof(fdef, ignore_above)},
    {"index", FK_BOOL, offsetof(fdef, index)},
    {"doc_values", FK_BOOL, offsetof(fdef, doc_values)},
    {"enabled", FK_BOOL, offsetof(fdef, enabled)},
    {"default_field", FK_BOOL, offsetof(fdef, default_field)},
    {"fields", FK_SEQ, offsetof(fdef, fields)},
    /* For people and the Kibana data view, not for the template. */
    {"description", FK_DOC, 0},
    {"format", FK_DOC, 0},
    {"title", FK_DOC, 0},
    {"key", FK_DOC, 0},
    {"release", FK_DOC, 0},
    {"example", FK_DOC, 0},
};

__attribute__((format(printf, 3, 4))) static int fs_fail(fieldset *fs, const yaml_node_t *at,
                                                         const char *fmt, ...)
{
    int n =
        snprintf(fs->err, fs->errlen, FIELDS_FILE ":%d: ", at ? (int)at->start_mark.line + 1 : 0);
    if (n < 0 || (size_t)n >= fs->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fs->err + n, fs->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int fkey_set(fieldset *fs, const struct fkey *k, yaml_node_t *v, fdef *d)
{
    void *slot = (char *)d + k->off;
    if (k->kind == FK_DOC)
        return 0;
    if (k->kind == FK_SEQ && v->type == YAML_SEQUENCE_NODE) {
        *(yaml_node_t **)slot = v;
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE)
        return fs_fail(fs, v, "%s: must be %s", k->key, k->kind == FK_SEQ ? "a list" : "a scalar");
    const char *s = (const char *)v->data.scalar.value;
    char *end;
    switch (k->kind) {
    case FK_SEQ: /* `fields:` with nothing after it */
        return *s ? fs_fail(fs, v, "fields: must be a list") : 0;
    case FK_STR:
        *(const char **)slot = s;
        return 0;
    case FK_INT:
        *(long *)slot = strtol(s, &end, 10);
        return *s && !*end ? 0 : fs_fail(fs, v, "%s: not an integer: %s", k->key, s);
    case FK_BOOL:
        if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
            return fs_fail(fs, v, "%s: must be true or false, not %s", k->key, s);
        *(int *)slot = s[0] == 't';
        return 0;
    case FK_DOC:
        break;
    }
    return 0;
}

static int fdef_read(fieldset *fs, yaml_node_t *n, fdef *d)
{
    *d = (fdef){.index = -1, .doc_values = -1, .enabled = -1, .default_field = -1};
    if (n->type != YAML_MAPPING_NODE)
        return fs_fail(fs, n, "a field must be a mapping");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(fs->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(fs->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE)
            return fs_fail(fs, n, "a field's keys must be scalars");
        const char *key = (const char *)k->data.scalar.value;
        size_t i = 0;
        while (i < sizeof fkeys / sizeof fkeys[0] && strcmp(fkeys[i].key, key) != 0)
            i++;
        if (i == sizeof fkeys / sizeof fkeys[0])
            return fs_fail(fs, k, "unknown key \"%s\"", key);
        if (fkey_set(fs, &fkeys[i], v, d) != 0)
            return -1;
    }
    return 0;
}

static int is_group(const fnode *f)
{
    return (f->type->flags & FT_GROUP) != 0;
}

static void fnode_free(fnode *f)
{
    while (f) {
        fnode *next = f->next;
        fnode_free(f->kids);
        free(f->name);
        free(f->path);
        free(f);
        f = next;
    }
}

/* The child `name` (len bytes) of group g, created in sorted position when
 * missing.  Groups defined in several places merge (libbeat does the same);
 * a leaf defined twice, or a name that is both a leaf and a group, is an
 * error. */
static fnode *fnode_child(fieldset *fs, fnode *g, const char *name, size_t len,
                          const struct ftype *t, const yaml_node_t *at)
{
    fnode **slot = &g->kids;
    int cmp = 1;
    for (; *slot; slot = &(*slot)->next) {
        cmp = strncmp((*slot)->name, name, len);
        if (cmp == 0 && (*slot)->name[len] != '\0')
            cmp = 1;
        if (cmp >= 0)
            break;
    }
    if (*slot && cmp == 0) {
        if (is_group(*slot) && (t->flags & FT_GROUP))
            return *slot;
        fs_fail(fs, at, "%.*s: defined twice, or as both a field and a group", (int)len, name);
        return NULL;
    }
    fnode *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strndup(name, len))) {
        free(f);
        fs_fail(fs, at, "out of memory");
        return NULL;
    }
    f->type = t;
    f->index = f->doc_values = f->enabled = -1;
    f->next = *slot;
    *slot = f;
    return f;
}

static const struct ftype *ftype_find(const char *name)
{
    if (!name || !*name)
        return &ftypes[1]; /* libbeat: no type means keyword */
    for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
        if (strcmp(ftypes[i].name, name) == 0)
            return &ftypes[i];
    return NULL;
}

static const struct otype *otype_find(const char *name)
{
    for (size_t i = 0; i < sizeof otypes / sizeof otypes[0]; i++)
        if (strcmp(otypes[i].name, name) == 0)
            return &otypes[i];
    return NULL;
}

static int fields_add(fieldset *fs, fnode *g, const char *prefix, yaml_node_t *seq, int query);

/* Leaf bookkeeping beyond the node itself: default_field and object_type. */
static int leaf_extras(fieldset *fs, const fdef *d, const char *path, const yaml_node_t *at,
                       int query)
{
    const struct ftype *t = ftype_find(d->type);
    if ((t->flags & FT_QUERY) && d->index != 0 && query) {
        cfgval *v = cfgval_new(CFGV_STRING, NULL);
        if (!v || !(v->str = strdup(path))) {
            cfgval_free(v);
            return fs_fail(fs, at, "out of memory");
        }
        *fs->query_tail = v;
        fs->query_tail = &v->next;
    }
    if (!d->object_type)
        return 0;
    const struct otype *ot = otype_find(d->object_type);
    if (!(t->flags & FT_OBJECT) || !ot)
        return fs_fail(fs, at,
                       "%s: object_type %s needs type object and one of keyword, long, "
                       "double, boolean",
                       path, d->object_type);
    objdyn *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        return fs_fail(fs, at, "out of memory");
    }
    o->ot = ot;
    *fs->dyn_tail = o;
    fs->dyn_tail = &o->next;
    return 0;
}

static int leaf_fill(fieldset *fs, fnode *f, const fdef *d, const yaml_node_t *at)
{
    if ((f->type->flags & FT_ALIAS) && !(d->path && *d->path))
        return fs_fail(fs, at, "%s: an alias needs a path", d->name);
    if (d->path && !(f->path = strdup(d->path)))
        return fs_fail(fs, at, "out of memory");
    if (d->ignore_above < -1 || d->ignore_above > INT32_MAX)
        return fs_fail(fs, at, "%s: ignore_above out of range", d->name);
    f->ignore_above = (int)d->ignore_above;
    f->index = d->index;
    f->doc_values = d->doc_values;
    f->enabled = d->enabled;
    return 0;
}

/* Applies one field entry under group g; a dotted name nests, as libbeat's
 * GenerateKey does ("metricset.module" is module inside group metricset). */
static int field_add(fieldset *fs, fnode *g, const char *prefix, yaml_node_t *n, int query)
{
    fdef d;
    if (fdef_read(fs, n, &d) != 0)
        return -1;
    if (!d.name || !*d.name)
        return fs_fail(fs, n, "a field needs a name");
    const struct ftype *t = ftype_find(d.type);
    if (!t)
        return fs_fail(fs, n, "%s: unknown type \"%s\"", d.name, d.type);
    if (d.fields && !(t->flags & FT_GROUP))
        return fs_fail(fs, n, "%s: only a group has fields", d.name);
    char path[PATH_MAX_LEN];
    int len = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", d.name);
    if (len < 0 || (size_t)len >= sizeof path)
        return fs_fail(fs, n, "%s: path too long", d.name);
    const char *seg = d.name;
    for (const char *dot; (dot = strchr(seg, '.')) != NULL; seg = dot + 1)
        if (!(g = fnode_child(fs, g, seg, (size_t)(dot - seg), &ftypes[0], n)))
            return -1;
    fnode *f = fnode_child(fs, g, seg, strlen(seg), t, n);
    if (!f)
        return -1;
    if (d.default_field >= 0)
        query = d.default_field;
    if (t->flags & FT_GROUP)
        return fields_add(fs, f, path, d.fields, query);
    if (leaf_fill(fs, f, &d, n) != 0)
        return -1;
    return leaf_extras(fs, &d, path, n, query);
}

static int fields_add(fieldset *fs, fnode *g, const char *prefix, yaml_node_t *seq, int query)
{
    if (!seq)
        return 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++)
        if (field_add(fs, g, prefix, yaml_document_get_node(fs->doc, *it), query) != 0)
            return -1;
    return 0;
}

/* The top level is a list of {key, title, description, fields}; every
 * key's fields share one root, as libbeat concatenates them. */
static int fields_top(fieldset *fs)
{
    yaml_node_t *root = yaml_document_get_root_node(fs->doc);
    if (!root || root->type != YAML_SEQUENCE_NODE)
        return fs_fail(fs, root, "must be a list of {key, title, fields}");
    for (yaml_node_item_t *it = root->data.sequence.items.start; it < root->data.sequence.items.top;
         it++) {
        yaml_node_t *n = yaml_document_get_node(fs->doc, *it);
        fdef d;
        if (fdef_read(fs, n, &d) != 0 || fields_add(fs, &fs->root, "", d.fields, 1) != 0)
            return -1;
    }
    return 0;
}

static void fieldset_free(fieldset *fs)
{
    if (!fs)
        return;
    fnode_free(fs->root.kids);
    for (objdyn *o = fs->dyn, *next; o; o = next) {
        next = o->next;
        free(o->path);
        free(o);
    }
    cfgval_free(fs->query);
    free(fs);
}

static fieldset *fieldset_load(char *err, size_t errlen)
{
    fieldset *fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->query = cfgval_new(CFGV_LIST, "default_field"))) {
        free(fs);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fs->root.type = &ftypes[0];
    fs->dyn_tail = &fs->dyn;
    fs->query_tail = &fs->query->child;
    fs->err = err;
    fs->errlen = errlen;
    yaml_parser_t p;
    yaml_document_t doc;
    int rc = -1;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "out of memory");
    } else {
        yaml_parser_set_input_string(&p, (const unsigned char *)mappings_fields_yml,
                                     mappings_fields_yml_len);
        if (!yaml_parser_load(&p, &doc)) {
            snprintf(err, errlen, FIELDS_FILE ":%zu: %s", p.problem_mark.line + 1,
                     p.problem ? p.problem : "invalid YAML");
        } else {
            fs->doc = &doc;
            rc = fields_top(fs);
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&p);
    }
    fs->doc = NULL;
    if (rc != 0) {
        fieldset_free(fs);
        return NULL;
    }
    return fs;
}

/* ---- JSON ---- */

static void gen_leaf(yajl_gen g, const fnode *f)
{
    /* Keys in sorted order, as libbeat's JSON encoder writes them. */
    yajl_gen_map_open(g);
    if (f->doc_values >= 0) {
        GEN_STR(g, "doc_values");
        yajl_gen_bool(g, f->doc_values);
    }
    if (f->enabled >= 0) {
        GEN_STR(g, "enabled");
        yajl_gen_bool(g, f->enabled);
    }
    if ((f->type->flags & FT_KEYWORD) && f->ignore_above != -1) {
        GEN_STR(g, "ignore_above");
        yajl_gen_integer(g, f->ignore_above ? f->ignore_above : 1024);
    }
    if (f->index >= 0) {
        GEN_STR(g, "index");
        yajl_gen_bool(g, f->index);
    }
    if (f->type->flags & FT_NORMS) {
        GEN_STR(g, "norms");
        yajl_gen_bool(g, 0);
    }
    if (f->path) {
        GEN_STR(g, "path");
        GEN_STR(g, f->path);
    }
    GEN_STR(g, "type");
    GEN_STR(g, f->type->es);
    yajl_gen_map_close(g);
}

static void gen_properties(yajl_gen g, const fnode *group)
{
    yajl_gen_map_open(g);
    for (const fnode *f = group->kids; f; f = f->next) {
        if (is_group(f) && !f->kids)
            continue; /* libbeat leaves out a group without fields */
        GEN_STR(g, f->name);
        if (!is_group(f)) {
            gen_leaf(g, f);
            continue;
        }
        yajl_gen_map_open(g);
        GEN_STR(g, "properties");
        gen_properties(g, f);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
}

/* expvarbeat's dynamic templates for golang.<namespace>.*, which no
 * fields.yml can describe because the namespaces are the user's.  They end
 * the float/long conflict of elastic/beats#19410: Go's expvar publishes
 * every number as a float64, and libbeat writes one as 40 and the next as
 * 1.048576e+06, so ES's own detection maps the same counter long in one
 * index and float (32-bit, lossy above 2^24) in another.  Mapping both JSON
 * number kinds to double fixes the type and loses nothing: the values are
 * float64 at the source, and double is float64.  ES applies the first
 * template that matches, so the three ring buffers of runtime.MemStats come
 * before the catch-all: they are only useful as a whole (the last 256 GC
 * pauses, their end times, per-size-class counts), change on every scrape
 * and would add 3 fields each per namespace.  `enabled: false` is accepted
 * only on objects, so BySize (an array of objects) is a disabled object,
 * while PauseNs / PauseEnd (arrays of numbers) are double with index and
 * doc_values off; both stay in _source.  Strings need nothing here:
 * strings_as_keyword (last) makes them keyword, ignore_above 1024. */
enum dyn_kind { DYN_DISABLED_OBJECT, DYN_SOURCE_ONLY, DYN_DOUBLE };

static const struct golang_dyn {
    const char *name, *path_match, *match;
    enum dyn_kind kind;
} golang_dyns[] = {
    {"golang_memstats_BySize", "golang.*.memstats.BySize", "object", DYN_DISABLED_OBJECT},
    {"golang_memstats_PauseNs", "golang.*.memstats.PauseNs", "*", DYN_SOURCE_ONLY},
    {"golang_memstats_PauseEnd", "golang.*.memstats.PauseEnd", "*", DYN_SOURCE_ONLY},
    {"golang_long_as_double", "golang.*", "long", DYN_DOUBLE},
    {"golang_double", "golang.*", "double", DYN_DOUBLE},
};

static void gen_bool_kv(yajl_gen g, const char *k, int v)
{
    GEN_STR(g, k);
    yajl_gen_bool(g, v);
}

static void gen_str_kv(yajl_gen g, const char *k, const char *v)
{
    GEN_STR(g, k);
    GEN_STR(g, v);
}

/* One entry: {name: {mapping, match_mapping_type, path_match}}.  The
 * mapping is written by the caller between open and close. */
static void gen_dyn_open(yajl_gen g, const char *name)
{
    yajl_gen_map_open(g);
    GEN_STR(g, name);
    yajl_gen_map_open(g);
    GEN_STR(g, "mapping");
    yajl_gen_map_open(g);
}

static void gen_dyn_close(yajl_gen g, const char *match, const char *path_match)
{
    yajl_gen_map_close(g);
    gen_str_kv(g, "match_mapping_type", match);
    if (path_match)
        gen_str_kv(g, "path_match", path_match);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

static void gen_golang_dyn(yajl_gen g, const struct golang_dyn *d)
{
    gen_dyn_open(g, d->name);
    if (d->kind == DYN_SOURCE_ONLY)
        gen_bool_kv(g, "doc_values", 0);
    if (d->kind == DYN_DISABLED_OBJECT)
        gen_bool_kv(g, "enabled", 0);
    if (d->kind == DYN_SOURCE_ONLY)
        gen_bool_kv(g, "index", 0);
    gen_str_kv(g, "type", d->kind == DYN_DISABLED_OBJECT ? "object" : "double");
    gen_dyn_close(g, d->match, d->path_match);
}

/* libbeat's order: templates from fields.yml, then module ones (ours),
 * then strings_as_keyword. */
static void gen_dynamic_templates(yajl_gen g, const fieldset *fs)
{
    char pm[PATH_MAX_LEN + 2];
    yajl_gen_array_open(g);
    for (const objdyn *o = fs->dyn; o; o = o->next) {
        gen_dyn_open(g, o->path);
        gen_str_kv(g, "type", o->ot->name);
        snprintf(pm, sizeof pm, "%s%s", o->path, strchr(o->path, '*') ? "" : ".*");
        gen_dyn_close(g, o->ot->match, pm);
    }
    for (size_t i = 0; i < sizeof golang_dyns / sizeof golang_dyns[0]; i++)
        gen_golang_dyn(g, &golang_dyns[i]);
    gen_dyn_open(g, "strings_as_keyword");
    GEN_STR(g, "ignore_above");
    yajl_gen_integer(g, 1024);
    gen_str_kv(g, "type", "keyword");
    gen_dyn_close(g, "string", NULL);
    yajl_gen_array_close(g);
}

static void gen_mappings(yajl_gen g, const fieldset *fs, const cfgval *source)
{
    yajl_gen_map_open(g);
    GEN_STR(g, "_meta");
    yajl_gen_map_open(g);
    gen_str_kv(g, "version", EXPVARBEAT_VERSION);
    gen_str_kv(g, "beat", "expvarbeat");
    yajl_gen_map_close(g);
    if (source) {
        GEN_STR(g, "_source");
        cfgval_gen(g, source);
    }
    gen_bool_kv(g, "date_detection", 0);
    GEN_STR(g, "dynamic_templates");
    gen_dynamic_templates(g, fs);
    GEN_STR(g, "properties");
    gen_properties(g, &fs->root);
    yajl_gen_map_close(g);
}

/* ---- index settings ---- */

/* Appends a member to a map; NULL (also when map is NULL) on failure, so
 * building calls can be chained and checked once. */
static cfgval *cv_put(cfgval *map, const char *key, enum cfgval_type t)
{
    cfgval *v = map ? cfgval_new(t, key) : NULL;
    if (!v)
        return NULL;
    cfgval **tail = &map->child;
    while (*tail)
        tail = &(*tail)->next;
    *tail = v;
    return v;
}

static cfgval *cv_str(cfgval *map, const char *key, const char *s)
{
    cfgval *v = cv_put(map, key, CFGV_STRING);
    return v && (v->str = strdup(s)) ? v : NULL;
}

static cfgval *cv_int(cfgval *map, const char *key, int64_t i)
{
    cfgval *v = cv_put(map, key, CFGV_INT);
    if (v)
        v->i = i;
    return v;
}

/* libbeat's DeepUpdate: maps merge key by key, anything else replaces. */
static int cv_merge(cfgval *dst, const cfgval *src)
{
    for (const cfgval *s = src->child; s; s = s->next) {
        if (!s->key)
            continue; /* only map members are merged */
        cfgval **slot = &dst->child;
        while (*slot && strcmp((*slot)->key, s->key) != 0)
            slot = &(*slot)->next;
        if (*slot && (*slot)->type == CFGV_MAP && s->type == CFGV_MAP) {
            if (cv_merge(*slot, s) != 0)
                return -1;
            continue;
        }
        cfgval *c = cfgval_clone(s);
        if (!c)
            return -1;
        if (*slot) {
            c->next = (*slot)->next;
            cfgval_free(*slot);
        }
        *slot = c;
    }
    return 0;
}

/* settings.index: our defaults (spec §3.3 step 5; number_of_shards and
 * codec are what Metricbeat's shipped yml sets), then the user's. */
static cfgval *index_settings(fieldset *fs, const config *c, int ilm, const cfgval *user)
{
    cfgval *idx = cfgval_new(CFGV_MAP, NULL), *query = NULL;
    int ok = cv_str(idx, "refresh_interval", "5s") &&
             cv_int(cv_put(cv_put(idx, "mapping", CFGV_MAP), "total_fields", CFGV_MAP), "limit",
                    TOTAL_FIELDS_LIMIT) &&
             cv_int(idx, "max_docvalue_fields_search", 200) &&
             (query = cv_put(idx, "query", CFGV_MAP)) != NULL &&
             cv_str(fs->query, NULL, "fields.*");
    if (ok) {
        query->child = fs->query; /* moves the default_field list */
        fs->query = NULL;
    }
    if (ok && ilm)
        ok = cv_str(cv_put(idx, "lifecycle", CFGV_MAP), "name", es_ilm_policy_name(c)) != NULL;
    ok = ok && cv_int(idx, "number_of_shards", 1) && cv_str(idx, "codec", "best_compression") &&
         (!user || cv_merge(idx, user) == 0);
    if (!ok) {
        cfgval_free(idx);
        return NULL;
    }
    return idx;
}

/* A settings member that must be a map when present; NULL/absent -> NULL. */
static int settings_map(const cfgval *parent, const char *key, const char *what, const cfgval **out,
                        char *err, size_t errlen)
{
    const cfgval *v = key ? cfgval_get(parent, key) : parent;
    *out = NULL;
    if (!v || v->type == CFGV_NULL)
        return 0;
    if (v->type != CFGV_MAP) {
        if (v->file)
            snprintf(err, errlen, "%s:%d: %s: must be a map", v->file, v->line, what);
        else
            snprintf(err, errlen, "%s: must be a map", what);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- output ---- */

static yajl_gen gen_new(int pretty)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (g && pretty) {
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
    }
    return g;
}

static int gen_take(yajl_gen g, buf *out, const char *what, char *err, size_t errlen)
{
    const unsigned char *p;
    size_t n;
    if (yajl_gen_get_buf(g, &p, &n) != yajl_gen_status_ok) {
        snprintf(err, errlen, "%s: JSON generation failed", what);
        return -1;
    }
    int rc = buf_append(out, p, n);
    if (rc == BUF_OK)
        return 0;
    snprintf(err, errlen, "%s: %s", what,
             rc == BUF_ETOOBIG ? "does not fit the output buffer" : "out of memory");
    return -1;
}

static void gen_template(yajl_gen g, const config *c, const fieldset *fs, const cfgval *index,
                         const cfgval *source)
{
    yajl_gen_map_open(g);
    GEN_STR(g, "index_patterns");
    yajl_gen_array_open(g);
    GEN_STR(g, es_template_pattern(c));
    yajl_gen_array_close(g);
    GEN_STR(g, "data_stream");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    GEN_STR(g, "priority");
    yajl_gen_integer(g, 150);
    GEN_STR(g, "template");
    yajl_gen_map_open(g);
    GEN_STR(g, "settings");
    yajl_gen_map_open(g);
    GEN_STR(g, "index");
    cfgval_gen(g, index);
    yajl_gen_map_close(g);
    GEN_STR(g, "mappings");
    gen_mappings(g, fs, source);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

int es_template_render(const config *c, int ilm, int pretty, buf *out, char *err, size_t errlen)
{
    const cfgval *settings = NULL, *user_index = NULL, *user_source = NULL;
    if (settings_map(c ? c->setup.template_.settings : NULL, NULL, "setup.template.settings",
                     &settings, err, errlen) != 0 ||
        settings_map(settings, "index", "setup.template.settings.index", &user_index, err,
                     errlen) != 0 ||
        settings_map(settings, "_source", "setup.template.settings._source", &user_source, err,
                     errlen) != 0)
        return -1;
    fieldset *fs = fieldset_load(err, errlen);
    if (!fs)
        return -1;
    int rc = -1;
    cfgval *index = index_settings(fs, c, ilm, user_index);
    yajl_gen g = index ? gen_new(pretty) : NULL;
    if (!g) {
        snprintf(err, errlen, "index template: out of memory");
    } else {
        gen_template(g, c, fs, index, user_source);
        rc = gen_take(g, out, "index template", err, errlen);
        yajl_gen_free(g);
    }
    cfgval_free(index);
    fieldset_free(fs);
    return rc;
}

/* ---- ILM policy ---- */

/* Nesting depth of a JSON text, counted before yajl_tree builds (and later
 * recursively frees) a tree from a file the user controls. */
static int json_depth_ok(const char *s)
{
    int depth = 0, in_str = 0;
    for (; *s; s++) {
        if (in_str) {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == '"')
                in_str = 0;
        } else if (*s == '"') {
            in_str = 1;
        } else if (*s == '{' || *s == '[') {
            if (++depth > POLICY_MAX_DEPTH)
                return 0;
        } else if (*s == '}' || *s == ']') {
            depth--;
        }
    }
    return 1;
}

static void gen_val(yajl_gen g, yajl_val v)
{
    if (YAJL_IS_STRING(v)) {
        GEN_STR(g, v->u.string);
    } else if (YAJL_IS_NUMBER(v)) {
        /* The number's text as written: no float round trip. */
        yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
    } else if (YAJL_IS_OBJECT(v)) {
        yajl_gen_map_open(g);
        for (size_t i = 0; i < v->u.object.len; i++) {
            GEN_STR(g, v->u.object.keys[i]);
            gen_val(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
    } else if (YAJL_IS_ARRAY(v)) {
        yajl_gen_array_open(g);
        for (size_t i = 0; i < v->u.array.len; i++)
            gen_val(g, v->u.array.values[i]);
        yajl_gen_array_close(g);
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        yajl_gen_bool(g, YAJL_IS_TRUE(v));
    } else {
        yajl_gen_null(g);
    }
}

static char *read_policy_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read setup.ilm.policy_file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(POLICY_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, POLICY_FILE_MAX + 1, f) : 0;
    int bad = !text || ferror(f);
    fclose(f);
    if (bad || n > POLICY_FILE_MAX || memchr(text, '\0', n)) {
        snprintf(err, errlen, "cannot read setup.ilm.policy_file %s: %s", path,
                 !text                 ? "out of memory"
                 : bad                 ? "read error"
                 : n > POLICY_FILE_MAX ? "larger than 1 MiB"
                                       : "contains a NUL byte");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* Parses and checks a policy body; `what` names it in errors. */
static yajl_val policy_parse(const char *text, const char *what, char *err, size_t errlen)
{
    char perr[256] = "";
    if (!json_depth_ok(text)) {
        snprintf(err, errlen, "%s: JSON nested deeper than %d", what, POLICY_MAX_DEPTH);
        return NULL;
    }
    yajl_val v = yajl_tree_parse(text, perr, sizeof perr);
    if (!v) {
        perr[strcspn(perr, "\n")] = '\0'; /* yajl adds the text and a caret */
        snprintf(err, errlen, "%s: invalid JSON: %s", what, *perr ? perr : "parse error");
        return NULL;
    }
    const char *key[] = {"policy", NULL};
    if (!YAJL_IS_OBJECT(v) || !YAJL_IS_OBJECT(yajl_tree_get(v, key, yajl_t_any))) {
        snprintf(err, errlen,
                 "%s: must be a JSON object with a \"policy\" object, "
                 "the body of PUT _ilm/policy/<name>",
                 what);
        yajl_tree_free(v);
        return NULL;
    }
    return v;
}

int es_ilm_policy_render(const config *c, int pretty, buf *out, char *err, size_t errlen)
{
    const char *file = c ? c->setup.ilm.policy_file : NULL;
    char what[512];
    char *text = NULL;
    if (file && *file) {
        if (!(text = read_policy_file(file, err, errlen)))
            return -1;
        snprintf(what, sizeof what, "setup.ilm.policy_file %s", file);
    } else {
        snprintf(what, sizeof what, "built-in ILM policy");
    }
    yajl_val v = policy_parse(text ? text : mappings_ilm_policy_json, what, err, errlen);
    free(text);
    if (!v)
        return -1;
    int rc = -1;
    yajl_gen g = gen_new(pretty);
    if (!g) {
        snprintf(err, errlen, "%s: out of memory", what);
    } else {
        gen_val(g, v);
        rc = gen_take(g, out, what, err, errlen);
        yajl_gen_free(g);
    }
    yajl_tree_free(v);
    return rc;
}
