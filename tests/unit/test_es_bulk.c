/* es_bulk: the bytes the output sends and the verdicts it draws from what
 * Elasticsearch answers.  Responses are canned files in tests/data/es/
 * (README there says which come from Elasticsearch's documentation).  The
 * classifier's promise under test: every event gets the verdict its own
 * item gave, and a body that cannot be mapped item-for-item is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "decode_helpers.h"
#include "es_bulk.h"

static const char DOC1[] = "{\"@timestamp\":\"2024-05-14T08:05:34.853Z\",\"golang\":{\"x\":1}}";
static const char DOC2[] = "{\"@timestamp\":\"2024-05-14T08:05:44.853Z\",\"a\":\"\\u00e9\\n\"}";

/* ---- encoder ------------------------------------------------------------- */

static void one_event_exact_bytes(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 0);
    assert_int_equal(es_bulk_append(&b, "expvarbeat-0.1.0", NULL, DOC1, strlen(DOC1)), 0);
    const char *want = "{\"create\":{\"_index\":\"expvarbeat-0.1.0\"}}\n"
                       "{\"@timestamp\":\"2024-05-14T08:05:34.853Z\",\"golang\":{\"x\":1}}\n";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_free(&b);
}

static void several_events_each_line_terminated(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 0);
    assert_int_equal(es_bulk_append(&b, "ds", NULL, DOC1, strlen(DOC1)), 0);
    assert_int_equal(es_bulk_append(&b, "ds", "geo", DOC2, strlen(DOC2)), 0);
    assert_int_equal(es_bulk_append(&b, "ds", NULL, DOC1, strlen(DOC1)), 0);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"create\":{\"_index\":\"ds\"}}\n%s\n"
             "{\"create\":{\"_index\":\"ds\",\"pipeline\":\"geo\"}}\n%s\n"
             "{\"create\":{\"_index\":\"ds\"}}\n%s\n",
             DOC1, DOC2, DOC1);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_free(&b);
}

static void index_and_pipeline_lowercased_and_escaped(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 0);
    assert_int_equal(es_bulk_append(&b, "ExpvarBeat-8.11.0-2024.05.14", "My-Pipe", "{}", 2), 0);
    assert_string_equal(b.data, "{\"create\":{\"_index\":\"expvarbeat-8.11.0-2024.05.14\","
                                "\"pipeline\":\"my-pipe\"}}\n{}\n");
    buf_reset(&b);
    /* Elasticsearch will refuse such a name, per item; the line must still
     * be one valid JSON object so that the other events are not lost. */
    assert_int_equal(es_bulk_append(&b, "a\"b\\c", NULL, "{}", 2), 0);
    assert_string_equal(b.data, "{\"create\":{\"_index\":\"a\\\"b\\\\c\"}}\n{}\n");
    buf_free(&b);
}

static void append_at_cap_leaves_buffer_unchanged(void **state)
{
    (void)state;
    buf probe;
    buf_init(&probe, 0);
    assert_int_equal(es_bulk_append(&probe, "ds", NULL, DOC1, strlen(DOC1)), 0);
    size_t one = probe.len;
    buf_free(&probe);

    buf b;
    buf_init(&b, one + one / 2); /* room for one event and a half */
    assert_int_equal(es_bulk_append(&b, "ds", NULL, DOC1, strlen(DOC1)), 0);
    assert_int_equal(b.len, one);
    assert_int_equal(es_bulk_append(&b, "ds", NULL, DOC1, strlen(DOC1)), -1);
    assert_int_equal(b.len, one);
    assert_int_equal(b.data[one], '\0');
    assert_int_equal(es_bulk_append_dead_letter(&b, "dl", DOC1, strlen(DOC1), 400, "x"), -1);
    assert_int_equal(b.len, one);
    buf_free(&b);
}

/* Splits "action\ndoc\n" and parses both lines. */
static void dead_letter_lines(const buf *b, yajl_val *action, yajl_val *doc)
{
    char *text = strndup(b->data, b->len);
    assert_non_null(text);
    assert_int_equal(text[b->len - 1], '\n');
    text[b->len - 1] = '\0';
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_null(strchr(nl + 1, '\n'));
    char eb[256];
    *action = yajl_tree_parse(text, eb, sizeof eb);
    *doc = yajl_tree_parse(nl + 1, eb, sizeof eb);
    free(text);
    assert_non_null(*action);
    assert_non_null(*doc);
}

static void dead_letter_carries_original_document(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 0);
    const char *reason = "document_parsing_exception: failed to parse field [golang.x] "
                         "(caused by: illegal_argument_exception: For input string: \"é\")";
    assert_int_equal(
        es_bulk_append_dead_letter(&b, "Dead-Letters", DOC2, strlen(DOC2), 400, reason), 0);
    yajl_val action, doc;
    dead_letter_lines(&b, &action, &doc);
    const char *idx_path[] = {"create", "_index", NULL};
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(action, idx_path, yajl_t_string)),
                        "dead-letters");
    const char *ts[] = {"@timestamp", NULL}, *msg[] = {"message", NULL};
    const char *type[] = {"error", "type", NULL}, *emsg[] = {"error", "message", NULL};
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, ts, yajl_t_string)),
                        "2024-05-14T08:05:44.853Z");
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, msg, yajl_t_string)), DOC2);
    yajl_val t = yajl_tree_get(doc, type, yajl_t_number);
    assert_non_null(t);
    assert_true(YAJL_IS_INTEGER(t));
    assert_int_equal(YAJL_GET_INTEGER(t), 400);
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, emsg, yajl_t_string)), reason);
    /* @timestamp first, as in every document we send */
    assert_memory_equal(strchr(b.data, '\n') + 1, "{\"@timestamp\":", 14);
    yajl_tree_free(action);
    yajl_tree_free(doc);
    buf_free(&b);
}

static void dead_letter_without_timestamp_has_none(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 0);
    const char *orig = "{\"a\":{\"@timestamp\":\"nested, not ours\"}}";
    assert_int_equal(es_bulk_append_dead_letter(&b, "dl", orig, strlen(orig), 404, NULL), 0);
    yajl_val action, doc;
    dead_letter_lines(&b, &action, &doc);
    const char *ts[] = {"@timestamp", NULL}, *msg[] = {"message", NULL};
    const char *emsg[] = {"error", "message", NULL};
    assert_null(yajl_tree_get(doc, ts, yajl_t_any));
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, msg, yajl_t_string)), orig);
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, emsg, yajl_t_string)), "");
    yajl_tree_free(action);
    yajl_tree_free(doc);
    buf_free(&b);
}

/* ---- response classifier -------------------------------------------------- */

typedef struct want_item {
    int status;
    es_item_class cls;
    const char *reason;
} want_item;

static void check_items(const char *file, const want_item *want, size_t n)
{
    size_t len;
    char *body = dh_read(file, &len);
    es_item *items = calloc(n, sizeof *items);
    char err[256] = "";
    if (es_bulk_response_parse(body, len, n, items, err, sizeof err) != 0)
        fail_msg("%s: %s", file, err);
    for (size_t i = 0; i < n; i++) {
        if (items[i].status != want[i].status || items[i].cls != want[i].cls)
            fail_msg("%s item %zu: status %d class %d, want %d class %d", file, i, items[i].status,
                     items[i].cls, want[i].status, want[i].cls);
        if (strcmp(items[i].reason, want[i].reason) != 0)
            fail_msg("%s item %zu: reason\n  %s\nwant\n  %s", file, i, items[i].reason,
                     want[i].reason);
    }
    free(items);
    free(body);
}

/* Expects refusal with a message containing needle. */
static void check_refused(const char *body, size_t len, size_t n, const char *needle)
{
    es_item *items = calloc(n ? n : 1, sizeof *items);
    char err[256] = "";
    if (es_bulk_response_parse(body, len, n, items, err, sizeof err) != -1)
        fail_msg("accepted for %zu events: %.80s", n, body);
    if (!strstr(err, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err, needle);
    free(items);
}

static void check_refused_file(const char *file, size_t n, const char *needle)
{
    size_t len;
    char *body = dh_read(file, &len);
    check_refused(body, len, n, needle);
    free(body);
}

static void docs_example_all_actions(void **state)
{
    (void)state;
    const want_item want[] = {
        {201, ES_ITEM_OK, ""},
        {404, ES_ITEM_REJECT, ""}, /* no error object in the answer, no reason */
        {201, ES_ITEM_OK, ""},
        {200, ES_ITEM_OK, ""},
    };
    check_items("es/docs-bulk-example.json", want, 4);
}

static void docs_example_failed_actions(void **state)
{
    (void)state;
    const want_item want[] = {
        {404, ES_ITEM_REJECT, "document_missing_exception: [_doc][5]: document missing"},
        {404, ES_ITEM_REJECT, "document_missing_exception: [_doc][6]: document missing"},
        {201, ES_ITEM_OK, ""},
    };
    check_items("es/docs-bulk-failures.json", want, 3);
}

static void docs_example_items_error_filter_is_refused(void **state)
{
    (void)state;
    /* three actions, two items, no statuses: which event succeeded cannot
     * be known, so nothing may be acked */
    check_refused_file("es/docs-bulk-filter-items-error.json", 3, "item 0 has no status");
}

static void all_created(void **state)
{
    (void)state;
    const want_item want[] = {{201, ES_ITEM_OK, ""}, {201, ES_ITEM_OK, ""}, {201, ES_ITEM_OK, ""}};
    check_items("es/filtered-all-201.json", want, 3);
}

static const want_item mixed[] = {
    {201, ES_ITEM_OK, ""},
    {409, ES_ITEM_DUPLICATE,
     "version_conflict_engine_exception: [kh1bd48BqD3lR4nKxW5y]: version conflict, document "
     "already exists (current version [1])"},
    {429, ES_ITEM_RETRY,
     "es_rejected_execution_exception: rejected execution of coordinating operation "
     "[coordinating_and_primary_bytes=53687000, replica_bytes=0, all_bytes=53687000, "
     "coordinating_operation_bytes=4096, max_coordinating_and_primary_bytes=53687091]"},
    {400, ES_ITEM_REJECT,
     "document_parsing_exception: [1:241] failed to parse field [golang.expvar.cmdline] of type "
     "[long] in document with id 'lB1bd48BqD3lR4nKxW5y'. Preview of field's value: 'server' "
     "(caused by: illegal_argument_exception: For input string: \"server\")"},
    {503, ES_ITEM_RETRY,
     "unavailable_shards_exception: [.ds-expvarbeat-0.1.0-2024.05.14-000001][0] primary shard "
     "is not active Timeout: [1m], request: [BulkShardRequest "
     "[[.ds-expvarbeat-0.1.0-2024.05.14-000001][0]] containing [1] requests]"},
};

static void mixed_statuses_full_response(void **state)
{
    (void)state;
    check_items("es/mixed-full.json", mixed, 5);
}

static void mixed_statuses_filtered_response(void **state)
{
    (void)state;
    check_items("es/mixed-filtered.json", mixed, 5);
}

static void mapper_parsing_reasons(void **state)
{
    (void)state;
    const want_item want[] = {
        {400, ES_ITEM_REJECT,
         "mapper_parsing_exception: failed to parse field [golang.expvar.gc_percent] of type "
         "[long] in document with id 'Vx3SPosB0m9LwGJ8a1oK'. Preview of field's value: 'off' "
         "(caused by: illegal_argument_exception: For input string: \"off\")"},
        {400, ES_ITEM_REJECT,
         "mapper_parsing_exception: object mapping for [golang.expvar.build] tried to parse "
         "field [build] as object, but found a concrete value"},
    };
    check_items("es/mapper-parsing.json", want, 2);
}

static void errors_false_without_items_acks_all(void **state)
{
    (void)state;
    const want_item want[] = {{200, ES_ITEM_OK, ""}, {200, ES_ITEM_OK, ""}};
    check_items("es/filtered-errors-false.json", want, 2);
    check_refused("{\"errors\":true}", 15, 2, "errors but no items");
    check_refused("{}", 2, 2, "neither items nor errors");
    check_refused("{\"took\":3}", 10, 2, "neither items nor errors");
}

static void item_count_mismatch_is_refused(void **state)
{
    (void)state;
    check_refused_file("es/mixed-filtered.json", 6, "has 5 items for 6 events");
    /* more items than events: nothing is written past items[n) (ASan) */
    check_refused_file("es/mixed-filtered.json", 4, "has 5 items for 4 events");
    check_refused_file("es/filtered-all-201.json", 0, "has 3 items for 0 events");
    const char *empty = "{\"errors\":false,\"items\":[]}";
    check_refused(empty, strlen(empty), 1, "has 0 items for 1 events");
    es_item none[1];
    char err[64];
    assert_int_equal(es_bulk_response_parse(empty, strlen(empty), 0, none, err, sizeof err), 0);
}

static void non_json_bodies_are_refused(void **state)
{
    (void)state;
    check_refused_file("es/html-502.html", 3, "not JSON");
    check_refused_file("es/html-502.html", 3, "<html>");
    check_refused_file("es/truncated.json", 5, "not JSON");
    check_refused("", 0, 1, "empty");
    check_refused("{\"errors\":false} trailing", 25, 1, "not JSON");
}

static void shapes_that_are_not_bulk_responses(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *needle;
    } bad[] = {
        {"[]", "not a JSON object"},
        {"null", "not a JSON object"},
        {"\"ok\"", "not a JSON object"},
        {"{\"items\":{}}", "\"items\" is not an array"},
        {"{\"items\":3}", "\"items\" is not an array"},
        {"{\"items\":[1]}", "item 0 is not an object"},
        {"{\"items\":[[]]}", "item 0 is not an object"},
        {"{\"items\":[{\"create\":{}}]}", "item 0 has no status"},
        {"{\"items\":[{\"create\":{\"status\":\"201\"}}]}", "item 0 has an invalid status"},
        {"{\"items\":[{\"create\":{\"status\":201.0}}]}", "item 0 has an invalid status"},
        {"{\"items\":[{\"create\":{\"status\":{}}}]}", "item 0 has an invalid status"},
        {"{\"items\":[{\"create\":{\"status\":2010}}]}", "item 0 has an invalid status"},
        {"{\"items\":[{\"create\":{\"status\":99}}]}", "item 0 has an invalid status"},
        {"{\"items\":[{\"status\":201}]}", "item 0 has no status"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_refused(bad[i].body, strlen(bad[i].body), 1, bad[i].needle);
}

static void members_in_any_order_and_unknown_ones_skipped(void **state)
{
    (void)state;
    const char *body =
        "{\"items\":[{\"create\":{\"error\":{\"caused_by\":{\"reason\":\"r2\",\"type\":\"t2\","
        "\"caused_by\":{\"type\":\"deeper\",\"reason\":\"ignored\"}},\"reason\":\"r\","
        "\"root_cause\":[{\"type\":\"x\",\"reason\":\"y\"}],\"type\":\"t\"},\"status\":400,"
        "\"_shards\":{\"status\":999}}},"
        "{\"index\":{\"status\":429,\"error\":\"EsRejectedExecutionException[old style]\"}},"
        "{\"create\":{\"status\":201},\"index\":{\"status\":500}}],"
        "\"errors\":true,\"took\":1,\"extra\":{\"items\":[1,2,3]}}";
    es_item it[3];
    char err[256] = "";
    if (es_bulk_response_parse(body, strlen(body), 3, it, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(it[0].status, 400);
    assert_string_equal(it[0].reason, "t: r (caused by: t2: r2)");
    assert_int_equal(it[1].status, 429);
    assert_int_equal(it[1].cls, ES_ITEM_RETRY);
    assert_string_equal(it[1].reason, "EsRejectedExecutionException[old style]");
    assert_int_equal(it[2].status, 201); /* the first action key is the item */
    assert_int_equal(it[2].cls, ES_ITEM_OK);
}

static void every_status_class(void **state)
{
    (void)state;
    static const struct {
        int status;
        es_item_class cls;
    } cases[] = {
        {200, ES_ITEM_OK},     {201, ES_ITEM_OK},        {299, ES_ITEM_OK},
        {301, ES_ITEM_REJECT}, {400, ES_ITEM_REJECT},    {401, ES_ITEM_REJECT},
        {404, ES_ITEM_REJECT}, {409, ES_ITEM_DUPLICATE}, {413, ES_ITEM_REJECT},
        {429, ES_ITEM_RETRY},  {500, ES_ITEM_RETRY},     {503, ES_ITEM_RETRY},
        {599, ES_ITEM_RETRY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"items\":[{\"create\":{\"status\":%d}}]}", cases[i].status);
        es_item it;
        char err[128];
        assert_int_equal(es_bulk_response_parse(body, strlen(body), 1, &it, err, sizeof err), 0);
        if (it.cls != cases[i].cls)
            fail_msg("status %d: class %d, want %d", cases[i].status, it.cls, cases[i].cls);
    }
}

static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : 3;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

static void long_reason_cut_on_character_boundary(void **state)
{
    (void)state;
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body,
                                "{\"items\":[{\"create\":{\"status\":400,\"error\":{\"type\":\"t\","
                                "\"reason\":\"x");
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "\xc3\xa9"); /* é */
    n += (size_t)snprintf(body + n, sizeof body - n, "\"}}}]}");
    es_item it;
    char err[128];
    assert_int_equal(es_bulk_response_parse(body, n, 1, &it, err, sizeof err), 0);
    size_t len = strlen(it.reason);
    assert_true(len >= sizeof it.reason - 3 && len < sizeof it.reason);
    assert_memory_equal(it.reason, "t: x\xc3\xa9", 6);
    assert_true(valid_utf8(it.reason));
}

static void http_status_classes(void **state)
{
    (void)state;
    assert_int_equal(es_bulk_http_class(200), ES_HTTP_ITEMS);
    assert_int_equal(es_bulk_http_class(201), ES_HTTP_ITEMS);
    assert_int_equal(es_bulk_http_class(413), ES_HTTP_SPLIT);
    static const long retry[] = {0, 100, 301, 400, 401, 403, 404, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
        if (es_bulk_http_class(retry[i]) != ES_HTTP_RETRY_ALL)
            fail_msg("HTTP %ld is not retried as a whole", retry[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_event_exact_bytes),
        cmocka_unit_test(several_events_each_line_terminated),
        cmocka_unit_test(index_and_pipeline_lowercased_and_escaped),
        cmocka_unit_test(append_at_cap_leaves_buffer_unchanged),
        cmocka_unit_test(dead_letter_carries_original_document),
        cmocka_unit_test(dead_letter_without_timestamp_has_none),
        cmocka_unit_test(docs_example_all_actions),
        cmocka_unit_test(docs_example_failed_actions),
        cmocka_unit_test(docs_example_items_error_filter_is_refused),
        cmocka_unit_test(all_created),
        cmocka_unit_test(mixed_statuses_full_response),
        cmocka_unit_test(mixed_statuses_filtered_response),
        cmocka_unit_test(mapper_parsing_reasons),
        cmocka_unit_test(errors_false_without_items_acks_all),
        cmocka_unit_test(item_count_mismatch_is_refused),
        cmocka_unit_test(non_json_bodies_are_refused),
        cmocka_unit_test(shapes_that_are_not_bulk_responses),
        cmocka_unit_test(members_in_any_order_and_unknown_ones_skipped),
        cmocka_unit_test(every_status_class),
        cmocka_unit_test(long_reason_cut_on_character_boundary),
        cmocka_unit_test(http_status_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
