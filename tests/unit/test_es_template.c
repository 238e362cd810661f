/* The index template and ILM policy as Elasticsearch receives them: the
 * body's shape (spec §3.3 step 5), golang.heap.* typed exactly as
 * Metricbeat's template types them (spec §3.1), the dynamic templates that
 * end the float/long conflict, settings merged with setup.template.settings,
 * every envelope field defined, and the ILM policy body and its file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "decode_helpers.h"
#include "es_template.h"
#include "event.h"

/* METRICBEAT-SPEC.md §3.1: the golang entry of Metricbeat 8.x's template
 * mappings.properties, derived from its golang fields.yml files. */
static const char metricbeat_golang[] =
    "{\"properties\":{\"expvar\":{\"properties\":{\"cmdline\":{\"ignore_above\":1024,\"type\":"
    "\"keyword\"}}},\"heap\":{\"properties\":{\"allocations\":{\"properties\":{\"active\":{"
    "\"type\":\"long\"},\"allocated\":{\"type\":\"long\"},\"frees\":{\"type\":\"long\"},\"idle\":"
    "{\"type\":\"long\"},\"mallocs\":{\"type\":\"long\"},\"objects\":{\"type\":\"long\"},\"total\":"
    "{\"type\":\"long\"}}},\"cmdline\":{\"ignore_above\":1024,\"type\":\"keyword\"},\"gc\":{"
    "\"properties\":{\"cpu_fraction\":{\"type\":\"float\"},\"next_gc_limit\":{\"type\":\"long\"},"
    "\"pause\":{\"properties\":{\"avg\":{\"properties\":{\"ns\":{\"type\":\"long\"}}},\"count\":{"
    "\"type\":\"long\"},\"max\":{\"properties\":{\"ns\":{\"type\":\"long\"}}},\"sum\":{"
    "\"properties\":{\"ns\":{\"type\":\"long\"}}}}},\"total_count\":{\"type\":\"long\"},"
    "\"total_pause\":{\"properties\":{\"ns\":{\"type\":\"long\"}}}}},\"system\":{\"properties\":{"
    "\"obtained\":{\"type\":\"long\"},\"released\":{\"type\":\"long\"},\"stack\":{\"type\":"
    "\"long\"},\"total\":{\"type\":\"long\"}}}}}}}";

static const char default_policy[] =
    "{\"policy\":{\"phases\":{\"hot\":{\"actions\":{\"rollover\":{"
    "\"max_primary_shard_size\":\"50gb\",\"max_age\":\"30d\"}}}}}}";

/* ---- helpers ---- */

static yajl_val parse(const char *json)
{
    char err[256];
    yajl_val v = yajl_tree_parse(json, err, sizeof err);
    if (!v)
        fail_msg("not JSON: %s\n%s", err, json);
    return v;
}

/* A string value; fails the test on anything else. */
static const char *sv(yajl_val v)
{
    if (!YAJL_IS_STRING(v))
        fail_msg("not a string");
    return v->u.string;
}

/* Renders the template for c and parses it. */
static yajl_val template_of(const config *c, int ilm)
{
    buf b;
    buf_init(&b, 0);
    char err[512] = "";
    if (es_template_render(c, ilm, 0, &b, err, sizeof err) != 0)
        fail_msg("es_template_render: %s", err);
    yajl_val v = parse(b.data);
    buf_free(&b);
    return v;
}

/* Member at a dotted path of object keys ("template.settings.index"). */
static yajl_val at(yajl_val v, const char *dotted)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", dotted);
    const char *path[16];
    size_t n = 0;
    for (char *save = NULL, *s = strtok_r(tmp, ".", &save); s && n < 15;
         s = strtok_r(NULL, ".", &save))
        path[n++] = s;
    path[n] = NULL;
    return yajl_tree_get(v, path, yajl_t_any);
}

static const char *str_at(yajl_val v, const char *dotted)
{
    yajl_val s = at(v, dotted);
    if (!YAJL_IS_STRING(s))
        fail_msg("%s: not a string", dotted);
    return s->u.string;
}

static const char *num_at(yajl_val v, const char *dotted)
{
    yajl_val s = at(v, dotted);
    if (!YAJL_IS_NUMBER(s))
        fail_msg("%s: not a number", dotted);
    return YAJL_GET_NUMBER(s);
}

/* The mapping of a field path in mappings.properties: the leaf's mapping,
 * or the object mapping that covers it (type object, e.g. `fields`), or
 * NULL when the template does not define it. */
static yajl_val property_of(yajl_val tmpl, const char *field)
{
    yajl_val props = at(tmpl, "template.mappings.properties");
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", field);
    char *save = NULL;
    for (char *seg = strtok_r(tmp, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
        const char *k[] = {seg, NULL};
        yajl_val m = yajl_tree_get(props, k, yajl_t_object);
        if (!m)
            return NULL;
        const char *pk[] = {"properties", NULL}, *tk[] = {"type", NULL};
        yajl_val type = yajl_tree_get(m, tk, yajl_t_string);
        if (type && strcmp(sv(type), "object") == 0)
            return m;
        if (!(props = yajl_tree_get(m, pk, yajl_t_object)))
            return strtok_r(NULL, ".", &save) ? NULL : m;
    }
    return NULL; /* the path ends at a group, not a field */
}

static const char *type_of(yajl_val mapping)
{
    const char *tk[] = {"type", NULL};
    yajl_val t = mapping ? yajl_tree_get(mapping, tk, yajl_t_string) : NULL;
    return t ? sv(t) : "(none)";
}

/* Elasticsearch's choice for a new field: the first dynamic template whose
 * match_mapping_type and path_match fit, or NULL (ES's default mapping).
 * path_match '*' matches any characters, dots included, as fnmatch without
 * FNM_PATHNAME does. */
static yajl_val dynamic_mapping(yajl_val tmpl, const char *path, const char *json_type)
{
    yajl_val list = at(tmpl, "template.mappings.dynamic_templates");
    assert_true(YAJL_IS_ARRAY(list));
    for (size_t i = 0; i < list->u.array.len; i++) {
        yajl_val entry = list->u.array.values[i];
        assert_true(YAJL_IS_OBJECT(entry) && entry->u.object.len == 1);
        yajl_val t = entry->u.object.values[0];
        const char *mk[] = {"match_mapping_type", NULL}, *pk[] = {"path_match", NULL},
                   *mapk[] = {"mapping", NULL}, *other[] = {"match", NULL};
        assert_null(yajl_tree_get(t, other, yajl_t_any)); /* not modelled here */
        yajl_val mt = yajl_tree_get(t, mk, yajl_t_string);
        yajl_val pm = yajl_tree_get(t, pk, yajl_t_string);
        if (mt && strcmp(sv(mt), "*") != 0 && strcmp(sv(mt), json_type) != 0)
            continue;
        if (pm && fnmatch(sv(pm), path, 0) != 0)
            continue;
        return yajl_tree_get(t, mapk, yajl_t_object);
    }
    return NULL;
}

static int bool_member(yajl_val mapping, const char *key, int *out)
{
    const char *k[] = {key, NULL};
    yajl_val b = mapping ? yajl_tree_get(mapping, k, yajl_t_any) : NULL;
    if (!b || !(YAJL_IS_TRUE(b) || YAJL_IS_FALSE(b)))
        return 0;
    *out = YAJL_IS_TRUE(b);
    return 1;
}

/* ---- the template ---- */

static void template_has_the_composable_shape(void **state)
{
    (void)state;
    config c;
    memset(&c, 0, sizeof c);
    yajl_val t = template_of(&c, 1);
    yajl_val pat = at(t, "index_patterns");
    assert_true(YAJL_IS_ARRAY(pat) && pat->u.array.len == 1);
    assert_string_equal(sv(pat->u.array.values[0]), "expvarbeat-" EXPVARBEAT_VERSION);
    yajl_val ds = at(t, "data_stream");
    assert_true(YAJL_IS_OBJECT(ds) && ds->u.object.len == 0);
    assert_string_equal(num_at(t, "priority"), "150");
    assert_string_equal(str_at(t, "template.settings.index.refresh_interval"), "5s");
    assert_string_equal(num_at(t, "template.settings.index.mapping.total_fields.limit"), "10000");
    assert_string_equal(num_at(t, "template.settings.index.max_docvalue_fields_search"), "200");
    assert_string_equal(str_at(t, "template.settings.index.lifecycle.name"), "expvarbeat");
    assert_string_equal(num_at(t, "template.settings.index.number_of_shards"), "1");
    assert_string_equal(str_at(t, "template.settings.index.codec"), "best_compression");
    assert_string_equal(str_at(t, "template.mappings._meta.beat"), "expvarbeat");
    assert_string_equal(str_at(t, "template.mappings._meta.version"), EXPVARBEAT_VERSION);
    assert_true(YAJL_IS_FALSE(at(t, "template.mappings.date_detection")));
    assert_null(at(t, "template.mappings._source"));
    /* Metricbeat's catch-all for strings comes last. */
    yajl_val dyn = at(t, "template.mappings.dynamic_templates");
    yajl_val last = dyn->u.array.values[dyn->u.array.len - 1];
    assert_string_equal(last->u.object.keys[0], "strings_as_keyword");
    yajl_tree_free(t);
}

/* index.query.default_field: every keyword and text field, then fields.*. */
static void default_field_lists_the_keyword_and_text_fields(void **state)
{
    (void)state;
    yajl_val t = template_of(NULL, 0);
    yajl_val df = at(t, "template.settings.index.query.default_field");
    assert_true(YAJL_IS_ARRAY(df) && df->u.array.len > 10);
    size_t n = df->u.array.len;
    assert_string_equal(sv(df->u.array.values[n - 1]), "fields.*");
    int saw_message = 0, saw_cmdline = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const char *f = sv(df->u.array.values[i]);
        const char *type = type_of(property_of(t, f));
        if (strcmp(type, "keyword") != 0 && strcmp(type, "match_only_text") != 0)
            fail_msg("default_field %s has type %s", f, type);
        saw_message |= strcmp(f, "error.message") == 0;
        saw_cmdline |= strcmp(f, "golang.heap.cmdline") == 0;
    }
    assert_true(saw_message && saw_cmdline);
    /* Numbers and dates are not searched as text. */
    assert_string_equal(type_of(property_of(t, "event.duration")), "long");
    yajl_tree_free(t);
}

static void names_follow_the_config(void **state)
{
    (void)state;
    config c;
    memset(&c, 0, sizeof c);
    assert_string_equal(es_template_name(&c), "expvarbeat-" EXPVARBEAT_VERSION);
    assert_string_equal(es_template_pattern(&c), "expvarbeat-" EXPVARBEAT_VERSION);
    assert_string_equal(es_ilm_policy_name(&c), "expvarbeat");
    assert_string_equal(es_template_name(NULL), "expvarbeat-" EXPVARBEAT_VERSION);
    c.setup.template_.name = "mybeat";
    assert_string_equal(es_template_pattern(&c), "mybeat"); /* pattern defaults to the name */
    c.setup.template_.pattern = "mybeat-*";
    c.setup.ilm.policy_name = "mypolicy";
    assert_string_equal(es_template_name(&c), "mybeat");
    assert_string_equal(es_template_pattern(&c), "mybeat-*");
    assert_string_equal(es_ilm_policy_name(&c), "mypolicy");

    yajl_val t = template_of(&c, 1);
    assert_string_equal(sv(at(t, "index_patterns")->u.array.values[0]), "mybeat-*");
    assert_string_equal(str_at(t, "template.settings.index.lifecycle.name"), "mypolicy");
    yajl_tree_free(t);
    /* Without ILM there is no lifecycle setting at all. */
    t = template_of(&c, 0);
    assert_null(at(t, "template.settings.index.lifecycle"));
    yajl_tree_free(t);
}

/* Removes member key of the object at dotted (a path of object keys). */
static void drop_member(yajl_val root, const char *dotted, const char *key)
{
    yajl_val o = at(root, dotted);
    if (!YAJL_IS_OBJECT(o))
        fail_msg("%s: not an object", dotted);
    for (size_t i = 0; i < o->u.object.len; i++) {
        if (strcmp(o->u.object.keys[i], key) != 0)
            continue;
        free((char *)o->u.object.keys[i]);
        yajl_tree_free(o->u.object.values[i]);
        memmove(&o->u.object.keys[i], &o->u.object.keys[i + 1],
                (o->u.object.len - i - 1) * sizeof o->u.object.keys[0]);
        memmove(&o->u.object.values[i], &o->u.object.values[i + 1],
                (o->u.object.len - i - 1) * sizeof o->u.object.values[0]);
        o->u.object.len--;
        return;
    }
    fail_msg("%s has no %s", dotted, key);
}

/* expvarbeat's heap extras (heap.rates, heap.pause_percentiles) are mapped
 * with their types; without them, golang.heap.* and golang.expvar.cmdline
 * are exactly as Metricbeat maps them. */
static void golang_fields_are_metricbeats(void **state)
{
    (void)state;
    yajl_val t = template_of(NULL, 0);
    static const char *const extras[][2] = {
        {"golang.heap.allocations.rate.bytes_per_sec", "double"},
        {"golang.heap.gc.rate.per_sec", "double"},
        {"golang.heap.gc.pause.p50.ns", "long"},
        {"golang.heap.gc.pause.p75.ns", "long"},
        {"golang.heap.gc.pause.p90.ns", "long"},
        {"golang.heap.gc.pause.p95.ns", "long"},
        {"golang.heap.gc.pause.p99.ns", "long"},
        {"golang.heap.gc.pause.p99_9.ns", "long"},
    };
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++)
        assert_string_equal(type_of(property_of(t, extras[i][0])), extras[i][1]);
#define HEAP "template.mappings.properties.golang.properties.heap.properties."
    drop_member(t, HEAP "allocations.properties", "rate");
    drop_member(t, HEAP "gc.properties", "rate");
    static const char *const pcts[] = {"p50", "p75", "p90", "p95", "p99", "p99_9"};
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
        drop_member(t, HEAP "gc.properties.pause.properties", pcts[i]);
#undef HEAP
    yajl_val want = parse(metricbeat_golang);
    char path[512] = "golang";
    if (!dh_val_same(want, at(t, "template.mappings.properties.golang"), path, strlen(path),
                     sizeof path))
        fail_msg("mapping differs at %s", path);
    /* And the envelope types Metricbeat's fields.yml gives (spec §3.1). */
    static const char *const types[][2] = {
        {"@timestamp", "date"},
        {"event.duration", "long"},
        {"event.dataset", "keyword"},
        {"event.module", "keyword"},
        {"metricset.name", "keyword"},
        {"metricset.period", "long"}, /* integer: libbeat */
        {"metricset.module", "alias"},
        {"service.address", "keyword"},
        {"service.type", "keyword"},
        {"service.hostname", "keyword"},
        {"error.message", "match_only_text"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type_of(property_of(t, types[i][0])), types[i][1]) != 0)
            fail_msg("%s: %s, want %s", types[i][0], type_of(property_of(t, types[i][0])),
                     types[i][1]);
    assert_string_equal(str_at(t, "template.mappings.properties.metricset.properties.module.path"),
                        "event.module");
    yajl_tree_free(want);
    yajl_tree_free(t);
}

/* A counter written as 40 in one scrape and 1.048576e+06 in the next must
 * get one type whichever comes first (elastic/beats#19410). */
static void golang_numbers_map_to_one_type(void **state)
{
    (void)state;
    yajl_val t = template_of(NULL, 0);
    static const char *const paths[] = {"golang.app.memstats.Alloc", "golang.a.b.requests",
                                        "golang.app.libbeat.output.events.acked",
                                        "golang.app.memstats.GCCPUFraction"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        assert_string_equal(type_of(dynamic_mapping(t, paths[i], "long")), "double");
        assert_string_equal(type_of(dynamic_mapping(t, paths[i], "double")), "double");
    }
    /* Strings: keyword, capped; booleans and objects: ES's defaults. */
    yajl_val s = dynamic_mapping(t, "golang.app.cmdline", "string");
    assert_string_equal(type_of(s), "keyword");
    assert_string_equal(num_at(s, "ignore_above"), "1024");
    assert_null(dynamic_mapping(t, "golang.app.memstats.EnableGC", "boolean"));
    assert_null(dynamic_mapping(t, "golang.app.memstats", "object"));
    /* User fields are keyword, as libbeat's object_type: keyword makes them. */
    assert_string_equal(type_of(dynamic_mapping(t, "fields.env", "string")), "keyword");
    yajl_tree_free(t);
}

/* The MemStats ring buffers stay in _source but are not indexed. */
static void memstats_ring_buffers_are_not_indexed(void **state)
{
    (void)state;
    yajl_val t = template_of(NULL, 0);
    static const char *const rings[] = {"golang.app.memstats.PauseNs",
                                        "golang.a.b.memstats.PauseEnd"};
    for (size_t i = 0; i < 2; i++) {
        /* Array elements: 843 (long) or 1.5487717508535107e+18 (double). */
        static const char *const kinds[] = {"long", "double"};
        for (size_t k = 0; k < 2; k++) {
            yajl_val m = dynamic_mapping(t, rings[i], kinds[k]);
            int index = 1, doc_values = 1;
            assert_string_equal(type_of(m), "double");
            assert_true(bool_member(m, "index", &index) && index == 0);
            assert_true(bool_member(m, "doc_values", &doc_values) && doc_values == 0);
        }
    }
    yajl_val by_size = dynamic_mapping(t, "golang.app.memstats.BySize", "object");
    int enabled = 1;
    assert_string_equal(type_of(by_size), "object");
    assert_true(bool_member(by_size, "enabled", &enabled) && enabled == 0);
    /* Only those: a field merely named like them elsewhere is indexed. */
    assert_null(dynamic_mapping(t, "golang.app.stats.BySize", "object"));
    assert_int_equal(
        bool_member(dynamic_mapping(t, "golang.app.PauseNs", "long"), "index", &enabled), 0);
    yajl_tree_free(t);
}

/* ---- setup.template.settings ---- */

static cfgval *add(cfgval *map, enum cfgval_type type, const char *key)
{
    cfgval *v = cfgval_new(type, key);
    assert_non_null(v);
    cfgval **tail = &map->child;
    while (*tail)
        tail = &(*tail)->next;
    *tail = v;
    return v;
}

static void add_int(cfgval *map, const char *key, int64_t i)
{
    add(map, CFGV_INT, key)->i = i;
}

static void add_str(cfgval *map, const char *key, const char *s)
{
    cfgval *v = add(map, CFGV_STRING, key);
    v->str = strdup(s);
    assert_non_null(v->str);
}

static void user_settings_win(void **state)
{
    (void)state;
    cfgval *settings = cfgval_new(CFGV_MAP, "settings");
    cfgval *index = add(settings, CFGV_MAP, "index");
    add_int(index, "number_of_shards", 3);
    add_int(index, "number_of_replicas", 0);
    add_int(add(add(index, CFGV_MAP, "mapping"), CFGV_MAP, "total_fields"), "limit", 20000);
    add_str(add(index, CFGV_MAP, "lifecycle"), "name", "theirs");
    add(add(settings, CFGV_MAP, "_source"), CFGV_BOOL, "enabled")->i = 0;
    config c;
    memset(&c, 0, sizeof c);
    c.setup.template_.settings = settings;

    yajl_val t = template_of(&c, 1);
    assert_string_equal(num_at(t, "template.settings.index.number_of_shards"), "3");
    assert_string_equal(num_at(t, "template.settings.index.number_of_replicas"), "0");
    assert_string_equal(num_at(t, "template.settings.index.mapping.total_fields.limit"), "20000");
    assert_string_equal(str_at(t, "template.settings.index.lifecycle.name"), "theirs");
    /* What the user did not set keeps our value. */
    assert_string_equal(str_at(t, "template.settings.index.refresh_interval"), "5s");
    assert_string_equal(str_at(t, "template.settings.index.codec"), "best_compression");
    assert_true(YAJL_IS_ARRAY(at(t, "template.settings.index.query.default_field")));
    /* _source settings go to the mappings, as libbeat puts them. */
    assert_true(YAJL_IS_FALSE(at(t, "template.mappings._source.enabled")));
    yajl_tree_free(t);
    cfgval_free(settings);
}

static void settings_must_be_maps(void **state)
{
    (void)state;
    cfgval *settings = cfgval_new(CFGV_MAP, "settings");
    cfgval *index = add(settings, CFGV_STRING, "index");
    index->str = strdup("3 shards");
    index->file = "expvarbeat.yml";
    index->line = 12;
    config c;
    memset(&c, 0, sizeof c);
    c.setup.template_.settings = settings;
    buf b;
    buf_init(&b, 0);
    char err[256] = "";
    assert_int_equal(es_template_render(&c, 1, 0, &b, err, sizeof err), -1);
    assert_string_equal(err, "expvarbeat.yml:12: setup.template.settings.index: must be a map");
    assert_int_equal(b.len, 0);
    buf_free(&b);
    cfgval_free(settings);
}

static void template_too_big_for_the_buffer_is_an_error(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 1000);
    char err[256] = "";
    assert_int_equal(es_template_render(NULL, 1, 1, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not fit"));
    buf_free(&b);
}

/* ---- every field the envelope writes is defined ---- */

static void check_leaves(yajl_val tmpl, yajl_val v, char *path, size_t len, size_t cap)
{
    if (!YAJL_IS_OBJECT(v)) {
        if (!property_of(tmpl, path))
            fail_msg("%s is written by event.c but not defined in mappings/fields.yml", path);
        return;
    }
    for (size_t i = 0; i < v->u.object.len; i++) {
        int n = snprintf(path + len, cap - len, "%s%s", len ? "." : "", v->u.object.keys[i]);
        assert_true(n > 0 && (size_t)n < cap - len);
        check_leaves(tmpl, v->u.object.values[i], path, len + (size_t)n, cap);
        path[len] = '\0';
    }
}

static void envelope_fields_are_defined(void **state)
{
    (void)state;
    cfgval *fields = cfgval_new(CFGV_MAP, "fields");
    add_str(fields, "env", "prod");
    char *tags[] = {"a", "b"};
    module_config m;
    memset(&m, 0, sizeof m);
    m.fields = fields;
    m.tags = (strlist){tags, 2};
    config c;
    memset(&c, 0, sizeof c);
    c.tags = (strlist){tags, 1};
    beat_info bi;
    char err[128];
    assert_int_equal(beat_info_init(&bi, &c, 0, err, sizeof err), 0);
    event_site s = {"expvar", "golang.app", "golang.expvar", "http://h:6060/debug/vars", 10000, &m};
    yajl_val t = template_of(&c, 0);
    /* A success document's envelope and an error document. */
    static const char *const errors[] = {NULL, "error in http fetch: boom"};
    for (size_t i = 0; i < 2; i++) {
        yajl_gen g = yajl_gen_alloc(NULL);
        event_begin(g, &bi, &s, 1697529934853, 2134567, errors[i]);
        event_end(g);
        const unsigned char *out;
        size_t n;
        assert_int_equal(yajl_gen_get_buf(g, &out, &n), yajl_gen_status_ok);
        yajl_val doc = parse((const char *)out);
        assert_non_null(at(doc, "fields.env")); /* the probe reaches the user fields */
        char path[256] = "";
        check_leaves(t, doc, path, 0, sizeof path);
        yajl_tree_free(doc);
        yajl_gen_free(g);
    }
    yajl_tree_free(t);
    cfgval_free(fields);
}

/* ---- ILM policy ---- */

static char *policy_of(const config *c, int pretty)
{
    buf b;
    buf_init(&b, 0);
    char err[512] = "";
    if (es_ilm_policy_render(c, pretty, &b, err, sizeof err) != 0)
        fail_msg("es_ilm_policy_render: %s", err);
    return buf_detach(&b, NULL);
}

static void ilm_default_policy_is_metricbeats(void **state)
{
    (void)state;
    config c;
    memset(&c, 0, sizeof c);
    char *p = policy_of(&c, 0);
    assert_string_equal(p, default_policy);
    free(p);
    p = policy_of(NULL, 1); /* pretty: same value, indented */
    assert_non_null(strchr(p, '\n'));
    dh_assert_json(default_policy, p);
    free(p);
}

typedef struct tmpdir {
    char dir[64];
    char file[96];
} tmpdir;

static const char *write_policy(tmpdir *td, const char *text)
{
    snprintf(td->dir, sizeof td->dir, "/tmp/test_es_template.XXXXXX");
    assert_non_null(mkdtemp(td->dir));
    snprintf(td->file, sizeof td->file, "%s/policy.json", td->dir);
    FILE *f = fopen(td->file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return td->file;
}

static void remove_policy(tmpdir *td)
{
    unlink(td->file);
    rmdir(td->dir);
}

static void ilm_policy_file_replaces_the_body(void **state)
{
    (void)state;
    tmpdir td;
    config c;
    memset(&c, 0, sizeof c);
    c.setup.ilm.policy_file = (char *)write_policy(
        &td, "{\n  \"policy\": {\"phases\": {\"hot\": {\"min_age\": \"0ms\", \"actions\": {}},\n"
             "  \"delete\": {\"min_age\": \"90d\", \"actions\": {\"delete\": {}}}},\n"
             "  \"_meta\": {\"managed\": false, \"weight\": 1.50, \"owner\": null}}}\n");
    char *p = policy_of(&c, 0);
    /* Re-encoded compactly; the number keeps its text. */
    assert_string_equal(p, "{\"policy\":{\"phases\":{\"hot\":{\"min_age\":\"0ms\",\"actions\":{}},"
                           "\"delete\":{\"min_age\":\"90d\",\"actions\":{\"delete\":{}}}},"
                           "\"_meta\":{\"managed\":false,\"weight\":1.50,\"owner\":null}}}");
    free(p);
    remove_policy(&td);
}

static void expect_policy_error(const char *text, const char *want)
{
    tmpdir td;
    config c;
    memset(&c, 0, sizeof c);
    c.setup.ilm.policy_file = (char *)write_policy(&td, text);
    buf b;
    buf_init(&b, 0);
    char err[512] = "";
    assert_int_equal(es_ilm_policy_render(&c, 0, &b, err, sizeof err), -1);
    assert_int_equal(b.len, 0);
    if (!strstr(err, td.file) || !strstr(err, want))
        fail_msg("error \"%s\" should name %s and say \"%s\"", err, td.file, want);
    buf_free(&b);
    remove_policy(&td);
}

static void ilm_policy_file_errors_name_the_file(void **state)
{
    (void)state;
    expect_policy_error("{\"policy\": {\"phases\": {}}", "invalid JSON");
    expect_policy_error("not json", "invalid JSON");
    expect_policy_error("", "invalid JSON");
    expect_policy_error("{\"phases\": {\"hot\": {}}}", "\"policy\" object");
    expect_policy_error("{\"policy\": \"hot\"}", "\"policy\" object");
    expect_policy_error("[{\"policy\": {}}]", "\"policy\" object");
    char deep[300];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    expect_policy_error(deep, "nested deeper");

    config c;
    memset(&c, 0, sizeof c);
    c.setup.ilm.policy_file = "/nonexistent/expvarbeat-policy.json";
    buf b;
    buf_init(&b, 0);
    char err[512] = "";
    assert_int_equal(es_ilm_policy_render(&c, 0, &b, err, sizeof err), -1);
    assert_string_equal(err, "cannot read setup.ilm.policy_file "
                             "/nonexistent/expvarbeat-policy.json: No such file or directory");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_has_the_composable_shape),
        cmocka_unit_test(default_field_lists_the_keyword_and_text_fields),
        cmocka_unit_test(names_follow_the_config),
        cmocka_unit_test(golang_fields_are_metricbeats),
        cmocka_unit_test(golang_numbers_map_to_one_type),
        cmocka_unit_test(memstats_ring_buffers_are_not_indexed),
        cmocka_unit_test(user_settings_win),
        cmocka_unit_test(settings_must_be_maps),
        cmocka_unit_test(template_too_big_for_the_buffer_is_an_error),
        cmocka_unit_test(envelope_fields_are_defined),
        cmocka_unit_test(ilm_default_policy_is_metricbeats),
        cmocka_unit_test(ilm_policy_file_replaces_the_body),
        cmocka_unit_test(ilm_policy_file_errors_name_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
