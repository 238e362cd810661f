/* expvar metricset: what lands under golang.<namespace>, and the
 * error.message of a bad body.  Expected Go messages were printed by Go 1.19
 * json.Unmarshal into map[string]interface{} on the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "decode_helpers.h"

static dh_run ev(const char *body)
{
    return dh_expvar(body, strlen(body), 64);
}

static void expect_doc(const char *body, const char *want)
{
    dh_run r = ev(body);
    if (r.rc != 0)
        fail_msg("error: %s", r.msg);
    dh_assert_json(want, r.json);
    free(r.json);
}

static void expect_error_n(const char *body, size_t len, const char *want)
{
    dh_run r = dh_expvar(body, len, 64);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.msg, want);
    free(r.json);
}

static void expect_error(const char *body, const char *want)
{
    expect_error_n(body, strlen(body), want);
}

static void nulls_dropped_in_objects_kept_in_arrays(void **state)
{
    (void)state;
    expect_doc(
        "{\"a\":null,\"b\":[null,1],\"c\":{\"d\":null},\"e\":{},\"f\":[{\"g\":null,\"h\":1}],"
        "\"t\":true,\"s\":\"x\"}",
        "{\"b\":[null,1],\"c\":{},\"e\":{},\"f\":[{\"h\":1}],\"t\":true,\"s\":\"x\"}");
    expect_doc("{}", "{}");
}

static void numbers_as_go_float64(void **state)
{
    (void)state;
    dh_run r = ev("{\"a\":1000000,\"b\":1.5e-300,\"c\":9223372036854788153,\"d\":0.1,\"e\":-0,"
                  "\"f\":999999,\"g\":20.0,\"h\":1E2}");
    assert_int_equal(r.rc, 0);
    /* exact text: the document must carry Go's bytes, not just equal values */
    assert_string_equal(r.json, "{\"a\":1e+06,\"b\":1.5e-300,\"c\":9.223372036854788e+18,"
                                "\"d\":0.1,\"e\":-0,\"f\":999999,\"g\":20,\"h\":100}");
    free(r.json);
}

static void cmdline_array_joined(void **state)
{
    (void)state;
    expect_doc("{\"cmdline\":[\"./app\",\"-port\",\"8080 \",\" \"]}",
               "{\"cmdline\":\"./app -port 8080\"}");
    expect_doc("{\"cmdline\":[]}", "{\"cmdline\":\"\"}");
    expect_doc("{\"cmdline\":\"as is\"}", "{\"cmdline\":\"as is\"}");
    expect_doc("{\"cmdline\":5}", "{\"cmdline\":5}");
    expect_doc("{\"cmdline\":{\"a\":[\"b\"]}}", "{\"cmdline\":{\"a\":[\"b\"]}}");
    expect_doc("{\"cmdline\":null,\"x\":1}", "{\"x\":1}");
    /* only the top-level key is GetCmdStr'd */
    expect_doc("{\"x\":{\"cmdline\":[\"a\",\"b\"]}}", "{\"x\":{\"cmdline\":[\"a\",\"b\"]}}");
}

static void cmdline_non_string_element(void **state)
{
    (void)state;
    /* Metricbeat panics and stops fetching; we report which element */
    expect_error("{\"cmdline\":[\"a\",1]}",
                 "error in http fetch: cmdline element 1 is not a string");
    expect_error("{\"cmdline\":[\"a\",\"b\",[\"c\"]],\"z\":2}",
                 "error in http fetch: cmdline element 2 is not a string");
    expect_error("{\"cmdline\":[null]}", "error in http fetch: cmdline element 0 is not a string");
    /* decoding errors come first: the panic happens after Unmarshal */
    expect_error("{\"cmdline\":[{}],\"z\":1e400}",
                 "error in http fetch: json: cannot unmarshal number 1e400 into Go value of type "
                 "float64");
}

static void keys_stay_literal(void **state)
{
    (void)state;
    expect_doc("{\"raft.status\":{\"id\":\"8e9e\"},\"/debug/vars\":2,\"\xe8\xbf\x90\xe8\xa1\x8c\xe6"
               "\x97\xb6\xe9\x97\xb4\":3,\"a b:c\":4}",
               "{\"raft.status\":{\"id\":\"8e9e\"},\"/debug/vars\":2,\"\xe8\xbf\x90\xe8\xa1\x8c\xe6"
               "\x97\xb6\xe9\x97\xb4\":3,\"a b:c\":4}");
}

static void invalid_utf8_becomes_fffd(void **state)
{
    (void)state;
    dh_run r = ev("{\"k\xff\":\"a\xc0\x80"
                  "b\",\"lone\":\"\\ud800x\",\"pair\":\"\\ud83d\\ude00\",\"ok\":\"\xc3\xa9\"}");
    assert_int_equal(r.rc, 0);
    /* one U+FFFD per bad byte, in keys too; valid escapes and UTF-8 intact */
    assert_non_null(strstr(r.json, "\"k\xEF\xBF\xBD\":\"a\xEF\xBF\xBD\xEF\xBF\xBD"
                                   "b\""));
    assert_non_null(strstr(r.json, "\"lone\":\"\xEF\xBF\xBDx\""));
    assert_non_null(strstr(r.json, "\"pair\":\"\xF0\x9F\x98\x80\""));
    assert_non_null(strstr(r.json, "\"ok\":\"\xc3\xa9\""));
    assert_null(strchr(r.json, '\xff'));
    free(r.json);
}

static void depth_limit_names_the_limit(void **state)
{
    (void)state;
    dh_run r = dh_expvar("{\"a\":{\"b\":{\"c\":1}}}", 19, 3);
    assert_int_equal(r.rc, 0);
    free(r.json);
    const char *deep = "{\"a\":{\"b\":{\"c\":[1]}}}";
    r = dh_expvar(deep, strlen(deep), 3);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.msg, "error in http fetch: body nests arrays/objects deeper than the "
                               "limit of 3 levels");
    free(r.json);
}

static void syntax_errors_in_go_words(void **state)
{
    (void)state;
    expect_error("{\"temperature\": NaN}",
                 "error in http fetch: invalid character 'N' looking for beginning of value");
    expect_error("{\"x\": +Inf}",
                 "error in http fetch: invalid character '+' looking for beginning of value");
    expect_error("<html><body>404 page not found</body></html>",
                 "error in http fetch: invalid character '<' looking for beginning of value");
    expect_error("", "error in http fetch: unexpected end of JSON input");
    expect_error("\x0c{}", "error in http fetch: invalid character '\\f' looking for beginning of "
                           "value");
    /* yajl would let an unterminated trailing string pass */
    expect_error("{}\"ab", "error in http fetch: invalid character '\"' after top-level value");
    expect_error("{} {}", "error in http fetch: invalid character '{' after top-level value");
}

static void truncated_body(void **state)
{
    (void)state;
    size_t n;
    char *body = dh_read("expvartarget.json", &n);
    expect_error_n(body, 100, "error in http fetch: unexpected end of JSON input");
    free(body);
}

static void invalid_map_key_inside_a_body(void **state)
{
    (void)state;
    size_t n;
    char *cap = dh_read("expvar-invalid-map-key.txt", &n);
    char body[256];
    snprintf(body, sizeof body, "{\"cmdline\":[\"app\"],\n\"m\": %s}", cap);
    expect_error(body, "error in http fetch: invalid character 'x' in string escape code");
    free(cap);
}

static void top_level_must_be_an_object(void **state)
{
    (void)state;
    const char *pre = "error in http fetch: json: cannot unmarshal ";
    const char *post = " into Go value of type map[string]interface {}";
    static const char *const cases[][2] = {
        {"[1,2]", "array"}, {"\"s\"", "string"}, {"12", "number"}, {"true", "bool"}};
    char want[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(want, sizeof want, "%s%s%s", pre, cases[i][1], post);
        expect_error(cases[i][0], want);
    }
    /* Metricbeat panics on a null body; we say what happened */
    expect_error("null", "error in http fetch: body is JSON null, not an object");
    /* a syntax error anywhere still wins */
    expect_error("[1,2", "error in http fetch: unexpected end of JSON input");
}

static void number_out_of_float64_range(void **state)
{
    (void)state;
    expect_error("{\"a\":1e400}", "error in http fetch: json: cannot unmarshal number 1e400 into "
                                  "Go value of type float64");
    expect_error("{\"a\":1e400,\"b\":x}",
                 "error in http fetch: invalid character 'x' looking for beginning of value");
}

static void strings_round_trip(void **state)
{
    (void)state;
    expect_doc("{\"status\":\"say \\\"hi\\\"\\\\ \\t \\u00e9 \\u003c/a\\u003e \\/\"}",
               "{\"status\":\"say \\\"hi\\\"\\\\ \\t \xc3\xa9 </a> /\"}");
}

/* Go decodes into a map: the last occurrence of a key wins, in every
 * object, and a replaced value disappears with everything inside it. */
static void repeated_keys_last_one_wins(void **state)
{
    (void)state;
    const char *body = "{\"a\": 1, \"b\": {\"x\": [1, {\"a\": 5}], \"y\": 2}, \"a\": 3,"
                       " \"m\": {\"x\": 1, \"x\": {\"y\": 2}}, \"b\": {\"z\": null},"
                       " \"n\": {\"k\": 1, \"k\": null}}";
    dh_run fast = ev(body);
    assert_int_equal(fast.rc, METRICSET_REPEATED_KEYS);
    free(fast.json);

    dh_run r = {.msg = ""};
    decode_limits lim = {.max_depth = 64};
    yajl_gen g = yajl_gen_alloc(NULL);
    r.rc = metricset_expvar_emit_dedup(g, body, strlen(body), &lim, r.msg, sizeof r.msg);
    dh_take(&r, g);
    if (r.rc != 0)
        fail_msg("dedup: %s", r.msg);
    assert_string_equal(r.json, "{\"a\":3,\"m\":{\"x\":{\"y\":2}},\"b\":{},\"n\":{}}");
    free(r.json);
}

static void same_key_in_different_objects_is_no_repeat(void **state)
{
    (void)state;
    expect_doc("{\"a\":{\"x\":1},\"b\":{\"x\":2},\"c\":[{\"x\":3},{\"x\":4}],\"x\":5}",
               "{\"a\":{\"x\":1},\"b\":{\"x\":2},\"c\":[{\"x\":3},{\"x\":4}],\"x\":5}");
}

static void syntax_error_after_a_repeat_wins(void **state)
{
    (void)state;
    expect_error("{\"a\":1,\"a\":2,\"b\":<}",
                 "error in http fetch: invalid character '<' looking for beginning of value");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nulls_dropped_in_objects_kept_in_arrays),
        cmocka_unit_test(numbers_as_go_float64),
        cmocka_unit_test(cmdline_array_joined),
        cmocka_unit_test(cmdline_non_string_element),
        cmocka_unit_test(keys_stay_literal),
        cmocka_unit_test(invalid_utf8_becomes_fffd),
        cmocka_unit_test(depth_limit_names_the_limit),
        cmocka_unit_test(syntax_errors_in_go_words),
        cmocka_unit_test(truncated_body),
        cmocka_unit_test(invalid_map_key_inside_a_body),
        cmocka_unit_test(top_level_must_be_an_object),
        cmocka_unit_test(number_out_of_float64_range),
        cmocka_unit_test(strings_round_trip),
        cmocka_unit_test(repeated_keys_last_one_wins),
        cmocka_unit_test(same_key_in_different_objects_is_no_repeat),
        cmocka_unit_test(syntax_error_after_a_repeat_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
