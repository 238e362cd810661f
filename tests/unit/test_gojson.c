/* gojson: the messages users see in error.message when a target sends bad
 * JSON.  Every expected string was printed by Go 1.19's json.Unmarshal for
 * the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gojson.h"

typedef struct syn_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *go;
} syn_case;

static const syn_case cases[] = {
    {"<html><body>", 0, "invalid character '<' looking for beginning of value"},
    {"NaN", 0, "invalid character 'N' looking for beginning of value"},
    {"+Inf", 0, "invalid character '+' looking for beginning of value"},
    {"{\"a\":1,}", 0, "invalid character '}' looking for beginning of object key string"},
    {"{\"a\" 1}", 0, "invalid character '1' after object key"},
    {"{\"a\":1 \"b\":2}", 0, "invalid character '\"' after object key:value pair"},
    {"[1 2]", 0, "invalid character '2' after array element"},
    {"{} x", 0, "invalid character 'x' after top-level value"},
    {"{\"a\":1}}", 0, "invalid character '}' after top-level value"},
    {"\"a\x01\"", 0, "invalid character '\\x01' in string literal"},
    {"\"\\x\"", 0, "invalid character 'x' in string escape code"},
    {"\"\\u12g4\"", 0, "invalid character 'g' in \\u hexadecimal character escape"},
    {"-x", 0, "invalid character 'x' in numeric literal"},
    {"1.x", 0, "invalid character 'x' after decimal point in numeric literal"},
    {"1ex", 0, "invalid character 'x' in exponent of numeric literal"},
    {"1e+x", 0, "invalid character 'x' in exponent of numeric literal"},
    {"{\"a\":01}", 0, "invalid character '1' after object key:value pair"},
    {"[1,]", 0, "invalid character ']' looking for beginning of value"},
    {"tx", 0, "invalid character 'x' in literal true (expecting 'r')"},
    {"trx", 0, "invalid character 'x' in literal true (expecting 'u')"},
    {"trux", 0, "invalid character 'x' in literal true (expecting 'e')"},
    {"fx", 0, "invalid character 'x' in literal false (expecting 'a')"},
    {"fax", 0, "invalid character 'x' in literal false (expecting 'l')"},
    {"falx", 0, "invalid character 'x' in literal false (expecting 's')"},
    {"falsx", 0, "invalid character 'x' in literal false (expecting 'e')"},
    {"nx", 0, "invalid character 'x' in literal null (expecting 'u')"},
    {"nux", 0, "invalid character 'x' in literal null (expecting 'l')"},
    {"nulx", 0, "invalid character 'x' in literal null (expecting 'l')"},
    /* at EOF Go feeds one space, which half literals and numbers reject */
    {"tru", 0, "invalid character ' ' in literal true (expecting 'e')"},
    {"1.", 0, "invalid character ' ' after decimal point in numeric literal"},
    {"-", 0, "invalid character ' ' in numeric literal"},
    {"", 0, "unexpected end of JSON input"},
    {"   ", 0, "unexpected end of JSON input"},
    {"{\"a\":1", 0, "unexpected end of JSON input"},
    {"\"abc", 0, "unexpected end of JSON input"},
    {"[", 0, "unexpected end of JSON input"},
    {"{}\"", 0, "invalid character '\"' after top-level value"},
    /* Go's quoteChar for every kind of byte */
    {"'", 0, "invalid character '\\'' looking for beginning of value"},
    {"\\", 0, "invalid character '\\\\' looking for beginning of value"},
    {"\0", 1, "invalid character '\\x00' looking for beginning of value"},
    {"\"\t\"", 0, "invalid character '\\t' in string literal"},
    {"\x7f", 0, "invalid character '\\x7f' looking for beginning of value"},
    {"\xff", 0, "invalid character '\xc3\xbf' looking for beginning of value"}, /* 'ÿ' */
    {"\xe9", 0, "invalid character '\xc3\xa9' looking for beginning of value"}, /* 'é' */
    {"\x80", 0, "invalid character '\\u0080' looking for beginning of value"},
    {"\xa0", 0, "invalid character '\\u00a0' looking for beginning of value"},
    {"\xad", 0, "invalid character '\\u00ad' looking for beginning of value"},
    {"\x0c{}", 0, "invalid character '\\f' looking for beginning of value"},
    {"\x0b", 0, "invalid character '\\v' looking for beginning of value"},
    {"\x07", 0, "invalid character '\\a' looking for beginning of value"},
    {"\x08", 0, "invalid character '\\b' looking for beginning of value"},
};

static void messages_match_go(void **state)
{
    (void)state;
    char msg[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const syn_case *c = &cases[i];
        size_t n = c->len ? c->len : strlen(c->in);
        if (gojson_check(c->in, n, msg, sizeof msg) != -1)
            fail_msg("case %zu accepted", i);
        if (strcmp(msg, c->go) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, msg, c->go);
    }
}

static void accepts_what_go_accepts(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "\r\n1 \r",
        "{\"a\":[1,2.5e-3,true,false,null,\"x\\u00e9\"],\"b\":{},\"c\":-0.5E+2}",
        " 1 ",
        "\"\\ud800\"",       /* a lone surrogate escape is valid syntax */
        "\"\xff\xfe\"",      /* so are invalid UTF-8 bytes inside strings */
        "\"\x7f\\/\\b\\f\"", /* DEL is not a control character for JSON */
        "null",
    };
    char msg[128] = "untouched";
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (gojson_check(ok[i], strlen(ok[i]), msg, sizeof msg) != 0)
            fail_msg("case %zu rejected: %s", i, msg);
}

/* What expvar.Map writes for keys with control bytes (samples README). */
static void invalid_map_key_capture(void **state)
{
    (void)state;
    const char *dir = getenv("EXPVARBEAT_TEST_DATA");
    char path[1024], body[256], msg[128];
    snprintf(path, sizeof path, "%s/expvar-invalid-map-key.txt", dir ? dir : "tests/data");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(body, 1, sizeof body, f);
    fclose(f);
    assert_int_equal(gojson_check(body, n, msg, sizeof msg), -1);
    assert_string_equal(msg, "invalid character 'x' in string escape code");
}

static void nesting_limit_is_go_s(void **state)
{
    (void)state;
    enum { DEPTH = 10000 };
    char *p = malloc(2 * DEPTH + 2), msg[128];
    assert_non_null(p);
    memset(p, '[', DEPTH);
    memset(p + DEPTH, ']', DEPTH);
    assert_int_equal(gojson_check(p, 2 * DEPTH, msg, sizeof msg), 0);
    memset(p, '[', DEPTH + 1);
    memset(p + DEPTH + 1, ']', DEPTH + 1);
    assert_int_equal(gojson_check(p, 2 * DEPTH + 2, msg, sizeof msg), -1);
    assert_string_equal(msg, "invalid character '[' exceeded max depth");
    free(p);
}

static void message_is_truncated_not_overflowed(void **state)
{
    (void)state;
    char msg[16];
    memset(msg, 'Z', sizeof msg);
    assert_int_equal(gojson_check("<", 1, msg, 10), -1);
    assert_string_equal(msg, "invalid c");
    assert_int_equal(msg[10], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(messages_match_go),
        cmocka_unit_test(accepts_what_go_accepts),
        cmocka_unit_test(invalid_map_key_capture),
        cmocka_unit_test(nesting_limit_is_go_s),
        cmocka_unit_test(message_is_truncated_not_overflowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
