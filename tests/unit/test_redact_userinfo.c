/* redact_urls on passwords written unencoded in a host setting: '/', '?' and
 * '#' end a URL's authority early, so "http://user:se/cret@h" has no '@' in
 * its authority, yet it is a password that error messages echo.  Found by
 * probing the secrets test's outputs; what a valid URL with '@' in its path
 * or query gives is unchanged (see test_log.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "redact.h"
#include "target.h"

static const char *masked(const char *s, int bare)
{
    static char out[512];
    size_t n = redact_urls(s, bare, out, sizeof out);
    assert_int_equal(n, strlen(out));
    return out;
}

static void test_raw_delimiters_in_password(void **state)
{
    (void)state;
    const char *hosts[] = {"http://user:se/cret@127.0.0.1:6060",
                           "http://user:se?cret@127.0.0.1:6060",
                           "http://user:se#cret@127.0.0.1:6060", "user:se/cret@127.0.0.1:6060"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        /* as a host setting (export config, error messages) */
        assert_null(strstr(masked(hosts[i], 1), "cret"));
        assert_non_null(strstr(masked(hosts[i], 1), "[redacted]@127.0.0.1:6060"));
    }
    /* in a log line, with a scheme */
    assert_string_equal(masked("c.yml:2: hosts: http://user:se/cret@127.0.0.1:6060: invalid", 0),
                        "c.yml:2: hosts: http://[redacted]@127.0.0.1:6060: invalid");
    /* a space or a quote: only a whole host setting can tell */
    assert_string_equal(masked("http://user:se cret@h:1", 1), "http://[redacted]@h:1");
    assert_string_equal(masked("http://user:se\"cret@h:1", 1), "http://[redacted]@h:1");
}

static void test_valid_urls_unchanged(void **state)
{
    (void)state;
    /* host:port, IPv6 and '@' in a path stay as they are */
    assert_string_equal(masked("GET http://127.0.0.1:6060/a@b failed", 0),
                        "GET http://127.0.0.1:6060/a@b failed");
    assert_string_equal(masked("http://[::1]:6060/a@b", 1), "http://[::1]:6060/a@b");
    assert_string_equal(masked("http://h/p@q", 1), "http://h/p@q");
    assert_string_equal(masked("http://localhost:6060/debug/vars", 1),
                        "http://localhost:6060/debug/vars");
}

static void test_target_error_does_not_quote_the_password(void **state)
{
    (void)state;
    target_url u;
    char err[256];
    kvlist none = {0};
    assert_int_equal(-1, target_url_build("http://user:pw/zq@127.0.0.1:6060", "", "/debug/vars",
                                          &none, NULL, NULL, &u, err, sizeof err));
    assert_null(strstr(err, "pw"));
    assert_non_null(strstr(err, "percent-encoded"));
    /* a plain bad port is still named */
    assert_int_equal(-1, target_url_build("http://127.0.0.1:x6060", "", "/debug/vars", &none, NULL,
                                          NULL, &u, err, sizeof err));
    assert_non_null(strstr(err, "x6060"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_delimiters_in_password),
        cmocka_unit_test(test_valid_urls_unchanged),
        cmocka_unit_test(test_target_error_does_not_quote_the_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
