/* gobody: strings read the way Go's decoder reads them.  Expected bytes were
 * produced by Go 1.19 json.Unmarshal on the same input: one U+FFFD per bad
 * byte, and U+FFFD for a \u surrogate escape that is not half of a pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "decode_helpers.h"
#include "gobody.h"

#define R "\xEF\xBF\xBD" /* U+FFFD */

typedef struct fix_case {
    const char *in;
    const char *go;
} fix_case;

static const fix_case utf8_cases[] = {
    {"\xc0\x80", R R},             /* overlong NUL */
    {"\xed\xa0\x80", R R R},       /* UTF-8-encoded surrogate */
    {"\xf4\x90\x80\x80", R R R R}, /* above U+10FFFF */
    {"\xe2\x82", R R},             /* truncated at the end */
    {"\xe2\x82x", R R "x"},        /* truncated before ASCII */
    {"\xf0\x9f\x98", R R R},       /* truncated 4-byte sequence */
    {"\xe0\x9f\x80", R R R},       /* overlong 3-byte */
    {"\xf0\x8f\xbf\xbf", R R R R}, /* overlong 4-byte */
    {"\x80", R},                   /* lone continuation byte */
    {"\xfe\xff", R R},             /* never valid */
    {"a\xff"
     "b\xc3\xa9",
     "a" R "b\xc3\xa9"},
    {"\xef\xbf\xbd", R},                      /* valid: kept */
    {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"}, /* U+10FFFF: kept */
    {"\xc2\x80", "\xc2\x80"},
};

static void utf8_repair_matches_go(void **state)
{
    (void)state;
    buf scratch;
    buf_init(&scratch, 0);
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        const char *out;
        size_t n;
        const char *in = utf8_cases[i].in;
        assert_int_equal(gobody_utf8(in, strlen(in), &scratch, &out, &n), 0);
        if (n != strlen(utf8_cases[i].go) || memcmp(out, utf8_cases[i].go, n) != 0)
            fail_msg("case %zu: wrong repair (%zu bytes)", i, n);
    }
    buf_free(&scratch);
}

static void valid_strings_are_not_copied(void **state)
{
    (void)state;
    buf scratch;
    buf_init(&scratch, 0);
    const char *s = "plain \xe8\xbf\x90 text", *out;
    size_t n;
    assert_int_equal(gobody_utf8(s, strlen(s), &scratch, &out, &n), 0);
    assert_ptr_equal(out, s);
    assert_int_equal(n, strlen(s));
    assert_null(scratch.data);
    buf_free(&scratch);
}

static const fix_case escape_cases[] = {
    {"\\ud800\\ud800\\udc00", R "\xf0\x90\x80\x80"}, /* lone high, then a pair */
    {"\\udc00", R},                                  /* lone low */
    {"\\ud800\\u0041", R "A"},                       /* high + non-surrogate */
    {"\\ud800", R},
    {"x\\uDBFF\\uDFFFy", "x\xf4\x8f\xbf\xbfy"}, /* U+10FFFF as a pair */
    {"\\ud800\\\"", R "\""},
    {"\\\\ud800", "\\ud800"}, /* an escaped backslash: plain text follows */
};

static void surrogate_escapes_match_go(void **state)
{
    (void)state;
    char body[128], want[128];
    for (size_t i = 0; i < sizeof escape_cases / sizeof escape_cases[0]; i++) {
        snprintf(body, sizeof body, "{\"s\":\"%s\"}", escape_cases[i].in);
        dh_run r = dh_expvar(body, strlen(body), 8);
        if (r.rc != 0)
            fail_msg("case %zu: %s", i, r.msg);
        yajl_val doc = yajl_tree_parse(r.json, NULL, 0);
        assert_non_null(doc);
        const char *path[] = {"s", NULL};
        yajl_val s = yajl_tree_get(doc, path, yajl_t_string);
        snprintf(want, sizeof want, "%s", escape_cases[i].go);
        const char *got = s ? s->u.string : "(none)";
        if (strcmp(got, want) != 0)
            fail_msg("case %zu: got %s", i, got);
        yajl_tree_free(doc);
        free(r.json);
    }
}

static int count_null(void *ctx)
{
    (*(int *)ctx)++;
    return 1;
}

static int reject_null(void *ctx)
{
    (void)ctx;
    return 0;
}

static void error_precedence(void **state)
{
    (void)state;
    yajl_callbacks counting = {.yajl_null = count_null};
    yajl_callbacks rejecting = {.yajl_null = reject_null};
    char reason[GOBODY_REASON_MAX] = "", msg[256];
    int nulls = 0;
    assert_int_equal(
        gobody_parse("[null, null]", 12, &counting, &nulls, reason, "p: ", msg, sizeof msg), 0);
    assert_int_equal(nulls, 2);
    /* the callback's reason, with the caller's prefix */
    snprintf(reason, sizeof reason, "no nulls here");
    assert_int_equal(gobody_parse("[null]", 6, &rejecting, NULL, reason, "p: ", msg, sizeof msg),
                     -1);
    assert_string_equal(msg, "p: no nulls here");
    /* a later syntax error beats the callback's objection */
    assert_int_equal(gobody_parse("[null, ?]", 9, &rejecting, NULL, reason, "p: ", msg, sizeof msg),
                     -1);
    assert_string_equal(msg, "p: invalid character '?' looking for beginning of value");
    /* a NULL body of length 0 is an empty body */
    assert_int_equal(gobody_parse(NULL, 0, &counting, &nulls, reason, "p: ", msg, sizeof msg), -1);
    assert_string_equal(msg, "p: unexpected end of JSON input");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_repair_matches_go),
        cmocka_unit_test(valid_strings_are_not_copied),
        cmocka_unit_test(surrogate_escapes_match_go),
        cmocka_unit_test(error_precedence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
