/* numfmt: every expected string below was printed by Go 1.19's
 * strconv.FormatFloat(f, 'g', -1, 64) (after ParseFloat for tokens), so a
 * pass means the document carries the bytes Metricbeat would send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "numfmt.h"

typedef struct float_case {
    double d;
    const char *go;
} float_case;

static const float_case floats[] = {
    {0.0, "0"},
    {-0.0, "-0"},
    {1e6, "1e+06"},
    {13572176.0, "1.3572176e+07"},
    {7.98538053427137e-05, "7.98538053427137e-05"},
    {1e-05, "1e-05"},
    {0.0001, "0.0001"},
    {9.9999e-05, "9.9999e-05"},
    {999999.0, "999999"},
    {100000.0, "100000"},
    {1234567.0, "1.234567e+06"},
    {123456.0, "123456"},
    {1e21, "1e+21"},
    {1e20, "1e+20"},
    {1e15, "1e+15"},
    {123456789012345678.0, "1.2345678901234568e+17"},
    {5e-324, "5e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308"},
    {2.2250738585072014e-308, "2.2250738585072014e-308"},
    {0.1, "0.1"},
    {0.30000000000000004, "0.30000000000000004"},
    {-1.5, "-1.5"},
    {-1e-07, "-1e-07"},
    {9223372036854788153.0, "9.223372036854788e+18"},
    {18446744073709551615.0, "1.8446744073709552e+19"},
    {1152921504606846976.0 /* 2^60 */, "1.152921504606847e+18"},
    {9007199254740992.0 /* 2^53 */, "9.007199254740992e+15"},
    {9007199254740994.0, "9.007199254740994e+15"},
    {0.000123, "0.000123"},
    {1.5e-300, "1.5e-300"},
    {1e100, "1e+100"},
    {1e-100, "1e-100"},
    {42.8, "42.8"},
    {0.25, "0.25"},
    /* 2^-1017: the nearest 16-digit decimal (...044) does not round-trip,
     * because a power of two's interval is narrower below; Go picks ...045 */
    {0x1p-1017, "7.120236347223045e-307"},
    {0x1p1023, "8.98846567431158e+307"},
    {-13572176.0, "-1.3572176e+07"},
    {9.999999999999999e-05, "9.999999999999999e-05"},
};

static void go_float_matches_go(void **state)
{
    (void)state;
    char out[NUMFMT_MAX];
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        size_t n = numfmt_go_float(floats[i].d, out);
        if (strcmp(out, floats[i].go) != 0)
            fail_msg("case %zu (%.17g): got %s, want %s", i, floats[i].d, out, floats[i].go);
        assert_int_equal(n, strlen(floats[i].go));
    }
}

typedef struct token_case {
    const char *tok;
    const char *go;
} token_case;

static const token_case tokens[] = {
    {"0", "0"},
    {"-0", "-0"},
    {"0.0", "0"},
    {"-0.0", "-0"},
    {"0e10", "0"},
    {"-0e-5", "-0"},
    {"1e-400", "0"}, /* underflow is not an error in Go */
    {"9223372036854788153", "9.223372036854788e+18"},
    {"1.5e-300", "1.5e-300"},
    {"18446744073709551615", "1.8446744073709552e+19"},
    {"18446744073709551616", "1.8446744073709552e+19"},
    {"100000", "100000"},
    {"1000000", "1e+06"},
    {"1E6", "1e+06"},
    {"1e+06", "1e+06"},
    {"0.00010312252675596749", "0.00010312252675596749"},
    {"1.5e18", "1.5e+18"},
    {"123456789012345678", "1.2345678901234568e+17"},
    {"12345678901234567890123", "1.2345678901234568e+22"},
    {"5e-324", "5e-324"},
    {"2e-324", "0"},
    {"3e-324", "5e-324"},
    {"1.7976931348623157e308", "1.7976931348623157e+308"},
    {"1.7976931348623158e308", "1.7976931348623157e+308"},
    {"123456789012345", "1.23456789012345e+14"},
    {"1234567890123456", "1.234567890123456e+15"},
    {"0.1", "0.1"},
    {"0.30000000000000001", "0.3"},
    {"1e21", "1e+21"},
    {"999999", "999999"},
    {"1e-4", "0.0001"},
    {"1e-5", "1e-05"},
    {"-42.8", "-42.8"},
    {"2.5E-3", "0.0025"},
    {"100000000000000000000000000000", "1e+29"},
    {"1697530012345678901", "1.6975300123456788e+18"}, /* a PauseEnd-like stamp */
};

static void json_number_matches_go(void **state)
{
    (void)state;
    char out[NUMFMT_MAX];
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        const char *t = tokens[i].tok;
        size_t n = numfmt_json_number(t, strlen(t), out);
        if (n == 0 || strcmp(out, tokens[i].go) != 0)
            fail_msg("token %s: got %s (len %zu), want %s", t, n ? out : "(error)", n,
                     tokens[i].go);
    }
}

static void json_number_reads_only_len_bytes(void **state)
{
    (void)state;
    char out[NUMFMT_MAX];
    /* a token inside a body is not NUL-terminated */
    assert_int_equal(numfmt_json_number("1234567,", 7, out), strlen("1.234567e+06"));
    assert_string_equal(out, "1.234567e+06");
}

static void json_number_rejects_overflow_and_non_json(void **state)
{
    (void)state;
    static const char *const bad[] = {"1e400",       "-1e400", "1.7976931348623159e308",
                                      "1e999999999", /* Go: cannot unmarshal */
                                      "01",          "1.",     "+1",
                                      ".5",          "",       "-",
                                      "1e",          "NaN",    "0x10",
                                      "1e+",         "--1"};
    char out[NUMFMT_MAX];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (numfmt_json_number(bad[i], strlen(bad[i]), out) != 0)
            fail_msg("token \"%s\" accepted as %s", bad[i], out);
}

static void json_number_handles_long_tokens(void **state)
{
    (void)state;
    char tok[900], out[NUMFMT_MAX];
    memset(tok, '1', 800);
    memcpy(tok + 800, "e-700", 5); /* 1.11...e99: longer than any stack buffer */
    assert_int_not_equal(numfmt_json_number(tok, 805, out), 0);
    assert_string_equal(out, "1.111111111111111e+99"); /* Go */
}

static void parse_uint64_follows_encoding_json(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(numfmt_parse_uint64("0", 1, &v), 0);
    assert_true(v == 0);
    assert_int_equal(numfmt_parse_uint64("18446744073709551615", 20, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(numfmt_parse_uint64("9223372036854788153", 19, &v), 0);
    assert_true(v == 9223372036854788153ULL);
    static const char *const bad[] = {
        "18446744073709551616", "-1", "-0", "1.5", "1e2", "", "+1", "1 ", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        if (numfmt_parse_uint64(bad[i], strlen(bad[i]), &v) != -1)
            fail_msg("\"%s\" accepted as a uint64", bad[i]);
        assert_true(v == 42); /* untouched on error */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(go_float_matches_go),
        cmocka_unit_test(json_number_matches_go),
        cmocka_unit_test(json_number_reads_only_len_bytes),
        cmocka_unit_test(json_number_rejects_overflow_and_non_json),
        cmocka_unit_test(json_number_handles_long_tokens),
        cmocka_unit_test(parse_uint64_follows_encoding_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
