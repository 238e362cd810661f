/* The decode path's shortcuts against the slow, Go-checked references:
 * numfmt's integer fast path must print what numfmt_go_float prints for the
 * same float64 (that one is pinned to Go's output in test_numfmt), and jsonw
 * must write the bytes yajl_gen writes, so documents do not change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "jsonw.h"
#include "metricset.h"
#include "numfmt.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_random(void)
{
    rng ^= rng << 13; /* xorshift64: reproducible across runs */
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_int_token(const char *tok)
{
    char fast[NUMFMT_MAX], ref[NUMFMT_MAX];
    size_t n = numfmt_json_number(tok, strlen(tok), fast);
    numfmt_go_float(strtod(tok, NULL), ref);
    if (n == 0 || strcmp(fast, ref) != 0)
        fail_msg("token %s: fast path %s, reference %s", tok, n ? fast : "(error)", ref);
}

static void integer_tokens_match_the_float_formatter(void **state)
{
    (void)state;
    static const char *const edges[] = {
        "0",
        "-0",
        "9",
        "999999",
        "1000000",
        "-1000000",
        "9007199254740991",
        "9007199254740992",
        "9007199254740993",
        "9007199254740994",
        "9007199254740995",
        "18014398509481985",
        "9999999999999999999",
        "9223372036854775807",
        "9223372036854775808",
        "1795905433845190536",
        "1000000000000000000",
        "1230000000000000000",
        "-1795905433845190536",
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_int_token(edges[i]);
    char tok[32];
    for (int i = 0; i < 200000; i++) {
        uint64_t r = next_random();
        int digits = 1 + (int)(r % 19);
        size_t n = 0;
        if ((r >> 8) & 1)
            tok[n++] = '-';
        tok[n++] = (char)('1' + (r >> 9) % 9);
        for (int d = 1; d < digits; d++) { /* zeros are common in counters */
            uint64_t q = next_random();
            tok[n++] = (q & 3) == 0 ? '0' : (char)('0' + (q >> 2) % 10);
        }
        tok[n] = '\0';
        check_int_token(tok);
    }
}

static void check_same_as_yajl(const char *s, size_t n)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    yajl_gen_map_open(g);
    yajl_gen_string(g, (const unsigned char *)s, n);
    yajl_gen_array_open(g);
    yajl_gen_string(g, (const unsigned char *)s, n);
    yajl_gen_number(g, "1", 1);
    yajl_gen_array_close(g);
    yajl_gen_string(g, (const unsigned char *)"k", 1);
    yajl_gen_bool(g, 1);
    yajl_gen_map_close(g);
    const unsigned char *want;
    size_t wn;
    yajl_gen_get_buf(g, &want, &wn);

    jsonw w;
    jsonw_init(&w, 0);
    jsonw_open(&w, '{');
    jsonw_string(&w, s, n, 1);
    jsonw_open(&w, '[');
    jsonw_string(&w, s, n, 0);
    jsonw_raw(&w, "1", 1);
    jsonw_close(&w, ']');
    jsonw_mark m = jsonw_mark_here(&w);
    jsonw_string(&w, "dropped", 7, 1); /* a key whose value was null */
    jsonw_rewind(&w, m);
    jsonw_string(&w, "k", 1, 1);
    jsonw_raw(&w, "true", 4);
    jsonw_close(&w, '}');
    if (w.len != wn || memcmp(w.data, want, wn) != 0)
        fail_msg("jsonw wrote %.*s, yajl_gen %.*s", (int)w.len, w.data, (int)wn, want);
    jsonw_free(&w);
    yajl_gen_free(g);
}

static void jsonw_writes_what_yajl_gen_writes(void **state)
{
    (void)state;
    char s[512];
    for (int c = 0; c < 256; c++) {
        s[0] = (char)c;
        check_same_as_yajl(s, 1);
        snprintf(s, sizeof s, "ab%cde/\"\\%c", (char)c, (char)c);
        check_same_as_yajl(s, c == 0 ? 2 : strlen(s));
    }
    for (int i = 0; i < 511; i++) /* all escapes: growth inside the string */
        s[i] = (char)(i % 32);
    check_same_as_yajl(s, 511);
    check_same_as_yajl("", 0);
}

static int expvar_rc(const char *body, char *msg, size_t msglen)
{
    decode_limits lim = {.max_depth = 64};
    yajl_gen g = yajl_gen_alloc(NULL);
    int rc = metricset_expvar_emit(g, body, strlen(body), &lim, msg, msglen);
    yajl_gen_free(g);
    return rc;
}

/* gobody counts unescaped quotes instead of relaying every callback to find
 * the end of the top-level value: escapes must not fool it either way. */
static void trailing_unterminated_string_is_found_by_quote_parity(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{\"a\":\"x\\\"y\"}",       /* {"a":"x\"y"} */
        "{\"a\":\"x\\\\\"}",        /* {"a":"x\\"} */
        "{\"a\\\"\":\"\\\\\\\"\"}", /* {"a\"":"\\\""} */
        "{\"a\":[\"\",\"\\\\\"]}  \n",
    };
    static const char *const bad[] = {
        "{\"a\":\"x\\\"y\"} \"z",
        "{\"a\":\"x\\\\\"}\"b\\\"",
        "{}\"\\\\",
        "{\"a\":1}\n\"}",
    };
    char msg[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (expvar_rc(good[i], msg, sizeof msg) != 0)
            fail_msg("%s rejected: %s", good[i], msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (expvar_rc(bad[i], msg, sizeof msg) == 0)
            fail_msg("%s accepted", bad[i]);
        assert_string_equal(msg, "error in http fetch: invalid character '\"' after top-level "
                                 "value");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integer_tokens_match_the_float_formatter),
        cmocka_unit_test(jsonw_writes_what_yajl_gen_writes),
        cmocka_unit_test(trailing_unterminated_string_is_found_by_quote_parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
