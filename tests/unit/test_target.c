/* URL building exactly as Metricbeat's host parser (spec §1.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "target.h"

typedef struct url_case {
    const char *host, *basepath, *path;
    const char *user, *pass; /* configured */
    const char *want_uri, *want_user, *want_pass;
} url_case;

static void check(const url_case *c, const kvlist *q)
{
    target_url u;
    char err[256] = "";
    int rc =
        target_url_build(c->host, c->basepath, c->path, q, c->user, c->pass, &u, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", c->host, err);
    assert_string_equal(u.uri, c->want_uri);
    if (c->want_user) {
        assert_non_null(u.user);
        assert_string_equal(u.user, c->want_user);
        assert_string_equal(u.pass, c->want_pass);
    } else {
        assert_null(u.user);
    }
    target_url_free(&u);
}

static void test_default_scheme_and_path(void **state)
{
    (void)state;
    static const url_case cases[] = {
        {"localhost:6060", "", "/debug/vars", 0, 0, "http://localhost:6060/debug/vars", 0, 0},
        {"localhost", "", "/debug/vars", 0, 0, "http://localhost/debug/vars", 0, 0},
        {"https://h:6060", "", "/debug/vars", 0, 0, "https://h:6060/debug/vars", 0, 0},
        /* A path in hosts wins; "/" is a path, so the default is not applied. */
        {"http://h:6060/", "", "/debug/vars", 0, 0, "http://h:6060/", 0, 0},
        {"h:6060/custom/vars", "", "/debug/vars", 0, 0, "http://h:6060/custom/vars", 0, 0},
        {"h:1", "/base/", "/debug/vars", 0, 0, "http://h:1/base/debug/vars", 0, 0},
        {"h:1", "base", "vars/", 0, 0, "http://h:1/base/vars", 0, 0},
        {"[::1]:6060", "", "/debug/vars", 0, 0, "http://[::1]:6060/debug/vars", 0, 0},
        {"http+unix:///run/app.sock", "", "/debug/vars", 0, 0, "http://unix/debug/vars", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i], NULL);
}

static void test_credentials(void **state)
{
    (void)state;
    static const url_case cases[] = {
        /* Config credentials apply only when the URL has none; never in the URI. */
        {"h:1", "", "/debug/vars", "bob", "s3cret", "http://h:1/debug/vars", "bob", "s3cret"},
        {"http://amy:p%40ss@h:1", "", "/debug/vars", "bob", "x", "http://h:1/debug/vars", "amy",
         "p@ss"},
        {"h:1", "", "/debug/vars", "", "", "http://h:1/debug/vars", 0, 0},
        {"h:1", "", "/debug/vars", "", "onlypass", "http://h:1/debug/vars", "", "onlypass"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i], NULL);
}

static void test_query_merge_sorted(void **state)
{
    (void)state;
    kv pairs[] = {{"b", "2 3"}, {"a", "x/y"}};
    kvlist q = {pairs, 2};
    url_case c = {
        "h:1/vars?z=1&a=0", "", "/debug/vars", 0, 0, "http://h:1/vars?a=0&a=x%2Fy&b=2+3&z=1", 0, 0};
    check(&c, &q);
    /* Without a configured query the URL's own query is left untouched. */
    url_case raw = {"h:1/vars?z=1&a=0", "", "/debug/vars", 0, 0, "http://h:1/vars?z=1&a=0", 0, 0};
    check(&raw, NULL);
}

static void test_bad_hosts(void **state)
{
    (void)state;
    static const struct {
        const char *host, *msg;
    } bad[] = {
        {"", "error parsing URL: empty host"},
        {"http://:6060", "error parsing URL: empty host"},
        {"a:b:c", "too many colons"},
        {"h:port", "invalid port \":port\" after host"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        target_url u;
        char err[256] = "";
        assert_int_equal(
            target_url_build(bad[i].host, "", "/debug/vars", NULL, NULL, NULL, &u, err, sizeof err),
            -1);
        if (!strstr(err, bad[i].msg))
            fail_msg("%s: got '%s', want '%s'", bad[i].host, err, bad[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_scheme_and_path),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_query_merge_sorted),
        cmocka_unit_test(test_bad_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
