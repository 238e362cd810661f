/* kibana.c and kibana_req.c without a Kibana: the URLs `setup --dashboards`
 * talks to (host, protocol, path, space), the NDJSON bundle and `export
 * dashboards` (every line one saved object), the version check on
 * /api/status, the messages a user reads when an import fails, and a Kibana
 * that is not there.  Imports against a test server are the integration
 * tests' (tests/integration, kibanaserver.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "config.h"
#include "kibana.h"
#include "kibana_data.h"
#include "kibana_req.h"

static void base_url_case(const char *host, const char *protocol, const char *path, int ssl,
                          const char *want)
{
    kibana_config k = {.host = (char *)host, .protocol = (char *)protocol, .path = (char *)path};
    k.ssl.enabled = ssl;
    buf b;
    buf_init(&b, 0);
    char err[256] = "";
    int rc = kibana_base_url(&k, &b, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", host, err);
    assert_int_equal(rc, 0);
    assert_string_equal(b.data, want);
    buf_free(&b);
}

static void test_base_url(void **state)
{
    (void)state;
    base_url_case("localhost:5601", NULL, NULL, -1, "http://localhost:5601");
    base_url_case("kibana", NULL, NULL, -1, "http://kibana:5601");
    base_url_case("kibana:80", "https", NULL, -1, "https://kibana:80");
    base_url_case("kibana", NULL, NULL, 1, "https://kibana:5601");
    /* the host's scheme and path win over protocol and path */
    base_url_case("http://kibana/x/", "https", "/y", 1, "http://kibana:5601/x");
    base_url_case("kibana", NULL, "/kb/", -1, "http://kibana:5601/kb");
    base_url_case("kibana", NULL, "kb", -1, "http://kibana:5601/kb");
    base_url_case("[::1]", NULL, NULL, -1, "http://[::1]:5601");
    base_url_case("[::1]:9000", NULL, NULL, -1, "http://[::1]:9000");
}

static void test_base_url_errors(void **state)
{
    (void)state;
    static const struct {
        const char *host, *err;
    } cases[] = {
        {"ftp://kibana", "setup.kibana.host: unsupported scheme \"ftp\" in \"ftp://kibana\""},
        {"http:///x", "setup.kibana.host: no host name in \"http:///x\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kibana_config k = {.host = (char *)cases[i].host};
        buf b;
        buf_init(&b, 0);
        char err[256] = "";
        assert_int_equal(kibana_base_url(&k, &b, err, sizeof err), -1);
        assert_string_equal(err, cases[i].err);
        buf_free(&b);
    }
}

static void test_api_url(void **state)
{
    (void)state;
    static const struct {
        const char *space, *want;
    } cases[] = {
        {NULL, "http://k:5601/kb/api/status"},
        {"", "http://k:5601/kb/api/status"},
        {"ops", "http://k:5601/kb/s/ops/api/status"},
        {"a b/c", "http://k:5601/kb/s/a%20b%2Fc/api/status"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf b;
        buf_init(&b, 0);
        assert_int_equal(kibana_api_url("http://k:5601/kb", cases[i].space, "/api/status", &b), 0);
        assert_string_equal(b.data, cases[i].want);
        buf_free(&b);
    }
}

static void test_bundle(void **state)
{
    (void)state;
    static const char a[] = "{\"id\":\"a\"}\n", b[] = "{\"id\":\"b\"}", c[] = "";
    static const size_t alen = sizeof a - 1, blen = sizeof b - 1, clen = 0;
    const kibana_file files[] = {{"a.ndjson", a, &alen},
                                 {"c.ndjson", c, &clen},
                                 {"b.ndjson", b, &blen},
                                 {"a.ndjson", a, &alen}};
    buf out;
    buf_init(&out, 0);
    assert_int_equal(kibana_bundle(files, 4, &out), 0);
    assert_string_equal(out.data, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"a\"}\n");
    buf_free(&out);
}

/* `export dashboards`: what Kibana's UI imports, one saved object a line. */
static void test_export(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    char err[256] = "";
    assert_non_null(f);
    assert_int_equal(kibana_export(f, err, sizeof err), 0);
    long n = ftell(f);
    char *text = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    size_t want = 0;
    for (size_t i = 0; i < kibana_n_files; i++)
        want += *kibana_files[i].len;
    assert_true((size_t)n >= want && (size_t)n <= want + kibana_n_files);
    assert_true(n == 0 || text[n - 1] == '\n');
    const char *type_path[] = {"type", NULL}, *id_path[] = {"id", NULL},
               *attr_path[] = {"attributes", NULL};
    size_t objects = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char why[256] = "";
        yajl_val o = yajl_tree_parse(line, why, sizeof why);
        if (!o || !YAJL_IS_OBJECT(o))
            fprintf(stderr, "not a JSON object (%s): %.120s\n", why, line);
        assert_true(o && YAJL_IS_OBJECT(o));
        assert_non_null(yajl_tree_get(o, type_path, yajl_t_string));
        assert_non_null(yajl_tree_get(o, id_path, yajl_t_string));
        assert_non_null(yajl_tree_get(o, attr_path, yajl_t_object));
        yajl_tree_free(o);
        objects++;
    }
    assert_true(objects >= kibana_n_files); /* no embedded file is empty */
    free(text);
}

static void test_status(void **state)
{
    (void)state;
    char ver[32] = "", err[256] = "";
    const char ok[] = "{\"name\":\"kb\",\"version\":{\"number\":\"8.11.0\",\"build_flavor\":"
                      "\"default\"},\"status\":{\"overall\":{\"level\":\"available\"}}}";
    assert_int_equal(kibana_check_status(ok, strlen(ok), ver, sizeof ver, err, sizeof err), 0);
    assert_string_equal(ver, "8.11.0");
    const char old[] = "{\"version\":{\"number\":\"7.17.9\"}}";
    assert_int_equal(kibana_check_status(old, strlen(old), ver, sizeof ver, err, sizeof err), -1);
    assert_string_equal(err, "Kibana version 7.17.9 is too old: expvarbeat needs 8.0.0 or later");
    const char junk[] = "<html>proxy</html>";
    assert_int_equal(kibana_check_status(junk, strlen(junk), ver, sizeof ver, err, sizeof err), -1);
    assert_string_equal(err,
                        "GET /api/status did not answer with a Kibana version: <html>proxy</html>");
}

static void import_case(long status, const char *body, int want_rc, const char *want)
{
    char err[1024] = "";
    int rc = kibana_import_result(status, body, strlen(body), err, sizeof err);
    assert_int_equal(rc, want_rc);
    assert_string_equal(err, want);
}

static void test_import_result(void **state)
{
    (void)state;
    import_case(200, "{\"success\":true,\"successCount\":2,\"successResults\":[]}", 0, "");
    import_case(400,
                "{\"statusCode\":400,\"error\":\"Bad Request\",\"message\":\"Request must "
                "contain a kbn-xsrf header.\"}",
                -1,
                "Kibana refused the import: 400 Bad Request: Request must contain a kbn-xsrf "
                "header.");
    import_case(401, "", -1, "Kibana refused the import: 401 Unauthorized: ");
    import_case(200,
                "{\"success\":false,\"successCount\":0,\"errors\":[{\"id\":\"ov\",\"type\":"
                "\"dashboard\",\"title\":\"Overview\",\"error\":{\"type\":\"missing_references\","
                "\"references\":[{\"type\":\"index-pattern\",\"id\":\"expvarbeat-*\"},{\"type\":"
                "\"lens\",\"id\":\"l1\"}]}},{\"id\":\"x\",\"type\":\"canvas\",\"error\":{\"type\":"
                "\"unsupported_type\"}}]}",
                -1,
                "2 errors: error: missing_references, asset ID=ov; asset type=dashboard; "
                "references=[{Type:index-pattern ID:expvarbeat-*} {Type:lens ID:l1}]; error: "
                "unsupported_type, asset ID=x; asset type=canvas; references=[]");
    import_case(200,
                "{\"success\":false,\"errors\":[{\"id\":\"d\",\"type\":\"dashboard\",\"error\":"
                "{\"type\":\"conflict\"}}]}",
                -1, "error: conflict, asset ID=d; asset type=dashboard; references=[]");
    import_case(200, "{\"ok\":1}", -1,
                "Kibana's answer to the import has no success flag: {\"ok\":1}");
}

/* A port on loopback that nothing listens on: bound, then released. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void test_http_error(void **state)
{
    (void)state;
    char err[512];
    const char body[] = "{\"statusCode\":401,\"error\":\"Unauthorized\",\"message\":"
                        "\"[security_exception]: unable to authenticate user\"}";
    kibana_http_error("GET http://k:5601/api/status", 401, body, strlen(body), err, sizeof err);
    assert_string_equal(err, "GET http://k:5601/api/status: 401 Unauthorized: "
                             "[security_exception]: unable to authenticate user");
    kibana_http_error("GET http://k:5601/api/status", 502, "Bad gateway", 11, err, sizeof err);
    assert_string_equal(err, "GET http://k:5601/api/status: 502 Bad Gateway: Bad gateway");
}

static void test_kibana_down(void **state)
{
    (void)state;
    char host[64], want[128], err[512] = "";
    snprintf(host, sizeof host, "127.0.0.1:%d", closed_port());
    snprintf(want, sizeof want, "GET http://%s/s/ops/api/status failed: ", host);
    config c = {0};
    c.setup.kibana.host = host;
    c.setup.kibana.space_id = "ops";
    c.setup.kibana.ssl.enabled = -1;
    FILE *out = tmpfile();
    assert_int_equal(kibana_setup_dashboards(&c, out, err, sizeof err), -1);
    if (!strstr(err, want))
        fprintf(stderr, "err: %s\n", err);
    assert_non_null(strstr(err, want));
    char said[256] = "";
    rewind(out);
    assert_non_null(fgets(said, sizeof said, out));
    assert_string_equal(said, "Loading dashboards (Kibana must be running and reachable)\n");
    assert_null(fgets(said, sizeof said, out)); /* never "Loaded dashboards" */
    fclose(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_url),      cmocka_unit_test(test_base_url_errors),
        cmocka_unit_test(test_api_url),       cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_export),        cmocka_unit_test(test_status),
        cmocka_unit_test(test_import_result), cmocka_unit_test(test_http_error),
        cmocka_unit_test(test_kibana_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
