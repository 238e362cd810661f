/* The ECS envelope: key set and order Metricbeat users rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "event.h"

static const char *render(yajl_gen g, const event_site *s, const char *error, const config *c)
{
    beat_info bi;
    char err[128];
    assert_int_equal(beat_info_init(&bi, c, 0, err, sizeof err), 0);
    snprintf(bi.name, sizeof bi.name, "myhost");
    event_begin(g, &bi, s, 1697529934853, 2134567, error);
    if (!error) {
        int n = event_open_path(g, s->dataset);
        yajl_gen_map_open(g);
        yajl_gen_string(g, (const unsigned char *)"x", 1);
        yajl_gen_integer(g, 1);
        yajl_gen_map_close(g);
        event_close_maps(g, n);
    }
    event_end(g);
    const unsigned char *out;
    size_t len;
    assert_int_equal(yajl_gen_get_buf(g, &out, &len), yajl_gen_status_ok);
    return (const char *)out;
}

static const char *str_at(yajl_val doc, const char *a, const char *b, const char *c)
{
    const char *path[] = {a, b, c, NULL};
    yajl_val v = yajl_tree_get(doc, path, yajl_t_any);
    return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : v ? YAJL_GET_NUMBER(v) : NULL;
}

static void test_success_envelope(void **state)
{
    (void)state;
    event_site s = {"expvar", "golang.app.sub", "golang.expvar", "http://h:6060/debug/vars", 10000,
                    NULL};
    yajl_gen g = yajl_gen_alloc(NULL);
    const char *json = render(g, &s, NULL, NULL);
    /* @timestamp first, UTC with milliseconds. */
    assert_memory_equal(json, "{\"@timestamp\":\"2023-10-17T08:05:34.853Z\"", 40);
    char err[128];
    yajl_val doc = yajl_tree_parse(json, err, sizeof err);
    assert_non_null(doc);
    assert_string_equal(str_at(doc, "event", "dataset", NULL), "golang.app.sub");
    assert_string_equal(str_at(doc, "event", "module", NULL), "golang");
    assert_string_equal(str_at(doc, "event", "duration", NULL), "2134567");
    assert_string_equal(str_at(doc, "metricset", "name", NULL), "expvar");
    assert_string_equal(str_at(doc, "metricset", "period", NULL), "10000");
    assert_string_equal(str_at(doc, "service", "address", NULL), "http://h:6060/debug/vars");
    assert_string_equal(str_at(doc, "service", "type", NULL), "golang");
    assert_string_equal(str_at(doc, "ecs", "version", NULL), "8.0.0");
    assert_string_equal(str_at(doc, "host", "name", NULL), "myhost");
    assert_string_equal(str_at(doc, "agent", "type", NULL), "expvarbeat");
    assert_int_equal(strlen(str_at(doc, "agent", "id", NULL)), 36);
    assert_int_equal(strlen(str_at(doc, "agent", "ephemeral_id", NULL)), 36);
    /* A dotted namespace nests. */
    assert_string_equal(str_at(doc, "golang", "app", "sub") ? "ok" : "missing", "ok");
    assert_null(str_at(doc, "error", "message", NULL));
    yajl_tree_free(doc);
    yajl_gen_free(g);
}

static void test_error_envelope_uses_metricset_dataset(void **state)
{
    (void)state;
    event_site s = {"expvar", "golang.app", "golang.expvar", "http://h:1/debug/vars", 10000, NULL};
    yajl_gen g = yajl_gen_alloc(NULL);
    const char *json = render(g, &s, "error in http fetch: boom \"quoted\"", NULL);
    char err[128];
    yajl_val doc = yajl_tree_parse(json, err, sizeof err);
    assert_non_null(doc);
    assert_string_equal(str_at(doc, "error", "message", NULL),
                        "error in http fetch: boom \"quoted\"");
    assert_string_equal(str_at(doc, "event", "dataset", NULL), "golang.expvar");
    const char *golang[] = {"golang", NULL};
    assert_null(yajl_tree_get(doc, golang, yajl_t_any));
    yajl_tree_free(doc);
    yajl_gen_free(g);
}

static void test_timestamp_format(void **state)
{
    (void)state;
    char ts[32];
    event_format_ts(0, ts);
    assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
    event_format_ts(1700000000007, ts);
    assert_string_equal(ts, "2023-11-14T22:13:20.007Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_envelope),
        cmocka_unit_test(test_error_envelope_uses_metricset_dataset),
        cmocka_unit_test(test_timestamp_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
