/* Tests for the Elasticsearch output's transport: the pure helpers (endpoint
 * URLs, the _bulk query in Go's order, headers and ApiKey, version rules,
 * error reasons, gzip, backoff, index-format kinds, the index-management
 * step sequence) and the output end to end, driven on a real loop against a
 * small scripted HTTP server in this file: request splitting by
 * bulk_max_size, per-item verdicts (201/409/429/400/500/503), max_retries,
 * 413 halving, dead-letter index, transport failures and reconnects, 401,
 * versions too old, and format failures. */
/* memmem */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "config.h"
#include "es_conn.h"
#include "es_setup.h"
#include "loop.h"
#include "output.h"
#include "stats.h"

/* ---- helpers ------------------------------------------------------------------- */

static config *load_yaml(const char *yaml)
{
    char path[] = "/tmp/test_es_output_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    const char *files[] = {path};
    config_opts o = {0};
    o.files = files;
    o.n_files = 1;
    o.path_home = "/tmp";
    char err[1024];
    config *c = config_load(&o, err, sizeof err);
    unlink(path);
    if (!c)
        fail_msg("config: %s", err);
    return c;
}

static char *inflate_gzip(const char *p, size_t n, size_t *out_len)
{
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    buf out;
    buf_init(&out, 0);
    unsigned char chunk[4096];
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    int rc;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        buf_append(&out, chunk, sizeof chunk - z.avail_out);
    } while (rc != Z_STREAM_END);
    inflateEnd(&z);
    return buf_detach(&out, out_len);
}

/* ---- endpoint, query, headers ------------------------------------------------- */

static void expect_base(const char *host, const char *proto, const char *path, int ssl,
                        const char *want)
{
    es_endpoint ep;
    char err[256];
    if (es_endpoint_parse(host, proto, path, ssl, &ep, err, sizeof err) != 0)
        fail_msg("%s: %s", host, err);
    assert_string_equal(ep.base, want);
    es_endpoint_free(&ep);
}

static void test_endpoint(void **state)
{
    (void)state;
    expect_base("localhost", NULL, NULL, -1, "http://localhost:9200");
    expect_base("https://es.example:9243/base/", NULL, "/ignored", -1,
                "https://es.example:9243/base");
    expect_base("es", "https", NULL, -1, "https://es:9200");
    expect_base("http://es", "https", NULL, -1, "http://es:9200"); /* the host's scheme wins */
    expect_base("es:9201", NULL, "/prefix/", -1, "http://es:9201/prefix");
    expect_base("es", NULL, "prefix", -1, "http://es:9200/prefix");
    expect_base("es", NULL, NULL, 1, "https://es:9200");
    expect_base("[::1]:9201", NULL, NULL, -1, "http://[::1]:9201");
    expect_base("HTTP://127.0.0.1", NULL, NULL, -1, "http://127.0.0.1:9200");

    es_endpoint ep;
    char err[256];
    assert_int_equal(es_endpoint_parse("es:99999", NULL, NULL, -1, &ep, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid port"));
    assert_int_equal(es_endpoint_parse("ftp://es", NULL, NULL, -1, &ep, err, sizeof err), -1);
    assert_non_null(strstr(err, "unsupported scheme"));
    assert_int_equal(es_endpoint_parse("http://:9200", NULL, NULL, -1, &ep, err, sizeof err), -1);
    assert_int_equal(es_endpoint_parse("http://u:p@es", NULL, NULL, -1, &ep, err, sizeof err), -1);
}

static void test_bulk_path(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 0);
    assert_int_equal(es_bulk_path(NULL, &b), 0);
    buf_append(&b, "", 1);
    assert_string_equal(b.data, "/_bulk?filter_path=errors%2Citems.%2A.error%2Citems.%2A.status");
    /* Go's url.Values.Encode: keys sorted (filter_path among them), QueryEscape'd. */
    kv params[] = {{"refresh", "wait for"}, {"a&b", "x/y"}, {"pipeline", "p1"}};
    kvlist l = {params, 3};
    buf_reset(&b);
    assert_int_equal(es_bulk_path(&l, &b), 0);
    buf_append(&b, "", 1);
    assert_string_equal(b.data, "/_bulk?a%26b=x%2Fy&filter_path=errors%2Citems.%2A.error%2C"
                                "items.%2A.status&pipeline=p1&refresh=wait+for");
    buf_reset(&b);
    es_path_escape(&b, "my tmpl/1");
    buf_append(&b, "", 1);
    assert_string_equal(b.data, "my%20tmpl%2F1");
    buf_free(&b);
}

static int slist_has(const struct curl_slist *l, const char *line)
{
    for (; l; l = l->next)
        if (strcmp(l->data, line) == 0)
            return 1;
    return 0;
}

static void test_headers(void **state)
{
    (void)state;
    kv user[] = {{"Accept", "application/x-ndjson"}, {"X-Tenant", "blue"}};
    es_config ec = {0};
    ec.api_key = "id:key";
    ec.headers = (kvlist){user, 2};
    char err[128];
    struct curl_slist *h = es_headers_new(&ec, 1, err, sizeof err);
    assert_non_null(h);
    assert_true(slist_has(h, "Authorization: ApiKey aWQ6a2V5"));
    assert_true(slist_has(h, "Content-Type: application/json; charset=UTF-8"));
    assert_true(slist_has(h, "Accept: application/x-ndjson"));
    assert_false(slist_has(h, "Accept: application/json"));
    assert_true(slist_has(h, "X-Tenant: blue"));
    assert_true(slist_has(h, "X-Elastic-Product-Origin: beats"));
    assert_true(slist_has(h, "Content-Encoding: gzip"));
    curl_slist_free_all(h);

    buf b;
    buf_init(&b, 0);
    es_base64(&b, "ab", 2);
    es_base64(&b, "abc", 3);
    es_base64(&b, "a", 1);
    buf_append(&b, "", 1);
    assert_string_equal(b.data, "YWI=YWJjYQ==");
    buf_free(&b);
}

/* ---- versions, errors, gzip, backoff ------------------------------------------ */

static int check_version(const char *body, int allow_older, char *err, size_t errlen)
{
    es_version v;
    if (es_version_parse(body, strlen(body), &v, err, errlen) != 0)
        return -2;
    return es_version_check(&v, allow_older, err, errlen);
}

static void test_version(void **state)
{
    (void)state;
    char err[512];
    es_version v;
    const char *ok = "{\"name\":\"n\",\"version\":{\"number\":\"8.11.0\",\"build_flavor\":"
                     "\"default\"},\"tagline\":\"You Know, for Search\"}";
    assert_int_equal(es_version_parse(ok, strlen(ok), &v, err, sizeof err), 0);
    assert_string_equal(v.number, "8.11.0");
    assert_string_equal(v.flavor, "default");
    assert_int_equal(check_version(ok, 0, err, sizeof err), 0);
    const char *old = "{\"version\":{\"number\":\"7.17.9\"}}";
    assert_int_equal(check_version(old, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "7.17.9 is too old"));
    assert_non_null(strstr(err, "allow_older_versions"));
    assert_int_equal(check_version(old, 1, err, sizeof err), 0);
    assert_int_equal(check_version("{\"version\":{\"number\":\"7.9.3\"}}", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "7.10.0"));
    assert_int_equal(
        check_version("{\"version\":{\"number\":\"9.0.0-SNAPSHOT\"}}", 0, err, sizeof err), 0);
    assert_int_equal(check_version("<html>proxy</html>", 0, err, sizeof err), -2);
    assert_non_null(strstr(err, "<html>proxy"));
}

static void test_error_reason(void **state)
{
    (void)state;
    char out[256];
    const char *e401 = "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\"}],\"type\":"
                       "\"security_exception\",\"reason\":\"unable to authenticate user "
                       "[elastic]\"},\"status\":401}";
    es_error_reason(e401, strlen(e401), out, sizeof out);
    assert_string_equal(out, "security_exception: unable to authenticate user [elastic]");
    const char *es = "{\"error\":\"Incorrect HTTP method for uri [/_bulk]\",\"status\":405}";
    es_error_reason(es, strlen(es), out, sizeof out);
    assert_string_equal(out, "Incorrect HTTP method for uri [/_bulk]");
    const char *html = "<html>\n<h1>502 Bad Gateway</h1>";
    es_error_reason(html, strlen(html), out, sizeof out);
    assert_string_equal(out, "<html> <h1>502 Bad Gateway</h1>");
    es_error_reason(NULL, 0, out, sizeof out);
    assert_string_equal(out, "");
    assert_string_equal(es_status_text(413), "Request Entity Too Large");
}

static void test_gzip(void **state)
{
    (void)state;
    buf in, out;
    buf_init(&in, 0);
    buf_init(&out, 0);
    for (int i = 0; i < 20000; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "{\"create\":{\"_index\":\"x\"}}\n{\"n\":%d}\n", i);
        buf_append(&in, line, (size_t)n);
    }
    assert_int_equal(es_gzip(in.data, in.len, 1, &out), 0);
    assert_true(out.len < in.len / 4);
    assert_int_equal((unsigned char)out.data[0], 0x1f); /* gzip magic, not zlib */
    assert_int_equal((unsigned char)out.data[1], 0x8b);
    size_t n;
    char *back = inflate_gzip(out.data, out.len, &n);
    assert_int_equal(n, in.len);
    assert_memory_equal(back, in.data, n);
    free(back);
    buf_free(&in);
    buf_free(&out);
}

static void test_backoff(void **state)
{
    (void)state;
    es_backoff b;
    es_backoff_init(&b, 1000, 60000);
    /* Equal jitter: the first wait is in [init, 2·init). */
    assert_int_equal(es_backoff_next(&b, 0), 1000);
    es_backoff_reset(&b);
    assert_int_equal(es_backoff_next(&b, 999), 1999);
    assert_int_equal(es_backoff_next(&b, 0), 2000); /* doubled */
    assert_int_equal(es_backoff_next(&b, 0), 4000);
    for (int i = 0; i < 10; i++)
        es_backoff_next(&b, 0);
    assert_int_equal(es_backoff_next(&b, 0), 60000); /* capped at max */
    assert_int_equal(es_backoff_next(&b, 59999), 119999);
    es_backoff_reset(&b);
    int64_t w = es_backoff_next(&b, 123456789u);
    assert_true(w >= 1000 && w < 2000);
}

static void test_fmt_kind(void **state)
{
    (void)state;
    assert_int_equal(es_fmt_kind_of("expvarbeat"), ES_FMT_CONSTANT);
    assert_int_equal(es_fmt_kind_of("expvarbeat-%{[agent.version]}"), ES_FMT_AGENT);
    assert_int_equal(es_fmt_kind_of("%{[agent][name]}-%{[agent.version]}"), ES_FMT_AGENT);
    assert_int_equal(es_fmt_kind_of("x-%{[agent.version]}-%{+yyyy.MM.dd}"), ES_FMT_EVENT);
    assert_int_equal(es_fmt_kind_of("x-%{[service.address]}"), ES_FMT_EVENT);
    assert_int_equal(es_fmt_kind_of("x-%{[agentx]}"), ES_FMT_EVENT);
}

/* ---- the index-management sequence -------------------------------------------- */

typedef struct canned {
    const char *method, *path;
    long status;
    const char *body;
} canned;

/* Walks the sequence answering each request from script, which must match
 * what is asked in order; returns es_setup_feed's last result. */
static int walk(es_setup *s, const canned *script, size_t n, char *err, size_t errlen)
{
    size_t i = 0;
    const es_request *r;
    while ((r = es_setup_next(s)) != NULL) {
        if (i == n)
            fail_msg("unexpected request %s %s", r->method, r->path);
        assert_string_equal(r->method, script[i].method);
        assert_string_equal(r->path, script[i].path);
        if (strcmp(r->method, "PUT") == 0 && strstr(r->path, "_data_stream") == NULL)
            assert_true(r->body && r->len > 2 && r->body[0] == '{');
        const char *b = script[i].body ? script[i].body : "";
        i++;
        if (es_setup_feed(s, script[i - 1].status, b, strlen(b), err, errlen) != 0) {
            assert_int_equal(i, n); /* the script ends at the failing step */
            return -1;
        }
    }
    assert_int_equal(i, n);
    return 0;
}

static const char *setup_yaml = "output.elasticsearch.hosts: [\"http://127.0.0.1:1\"]\n";

static void test_setup_fresh_cluster(void **state)
{
    (void)state;
    config *c = load_yaml(setup_yaml);
    char err[512];
    es_setup *s = es_setup_new(c, 0, err, sizeof err);
    assert_non_null(s);
    /* A new policy forces the template; the data stream is the default index. */
    const canned fresh[] = {
        {"GET", "/_ilm/policy/expvarbeat", 404, "{}"},
        {"PUT", "/_ilm/policy/expvarbeat", 200, "{\"acknowledged\":true}"},
        {"PUT", "/_index_template/expvarbeat-" EXPVARBEAT_VERSION, 200, "{}"},
        {"GET", "/_data_stream/expvarbeat-" EXPVARBEAT_VERSION, 404, "{}"},
        {"PUT", "/_data_stream/expvarbeat-" EXPVARBEAT_VERSION, 200, "{}"},
    };
    assert_int_equal(walk(s, fresh, 5, err, sizeof err), 0);
    /* Everything there: nothing is written. */
    es_setup_restart(s);
    const canned existing[] = {
        {"GET", "/_ilm/policy/expvarbeat", 200, "{}"},
        {"HEAD", "/_index_template/expvarbeat-" EXPVARBEAT_VERSION, 200, NULL},
        {"GET", "/_data_stream/expvarbeat-" EXPVARBEAT_VERSION, 200, "{}"},
    };
    assert_int_equal(walk(s, existing, 3, err, sizeof err), 0);
    /* Someone else created the data stream between our GET and PUT. */
    es_setup_restart(s);
    const canned race[] = {
        {"GET", "/_ilm/policy/expvarbeat", 200, "{}"},
        {"HEAD", "/_index_template/expvarbeat-" EXPVARBEAT_VERSION, 404, NULL},
        {"PUT", "/_index_template/expvarbeat-" EXPVARBEAT_VERSION, 200, "{}"},
        {"GET", "/_data_stream/expvarbeat-" EXPVARBEAT_VERSION, 404, "{}"},
        {"PUT", "/_data_stream/expvarbeat-" EXPVARBEAT_VERSION, 400,
         "{\"error\":{\"type\":\"resource_already_exists_exception\",\"reason\":\"exists\"}}"},
    };
    assert_int_equal(walk(s, race, 5, err, sizeof err), 0);
    /* The template failed after the policy was created: the next run still
     * overwrites the template, though the policy now exists. */
    es_setup_restart(s);
    const canned broken[] = {
        {"GET", "/_ilm/policy/expvarbeat", 404, "{}"},
        {"PUT", "/_ilm/policy/expvarbeat", 200, "{}"},
        {"PUT", "/_index_template/expvarbeat-" EXPVARBEAT_VERSION, 503, "{}"},
    };
    assert_int_equal(walk(s, broken, 3, err, sizeof err), -1);
    es_setup_restart(s);
    const canned owed[] = {
        {"GET", "/_ilm/policy/expvarbeat", 200, "{}"},
        {"PUT", "/_index_template/expvarbeat-" EXPVARBEAT_VERSION, 200, "{}"},
        {"GET", "/_data_stream/expvarbeat-" EXPVARBEAT_VERSION, 200, "{}"},
    };
    assert_int_equal(walk(s, owed, 3, err, sizeof err), 0);
    es_setup_free(s);
    config_free(c);
}

static void test_setup_errors_and_options(void **state)
{
    (void)state;
    config *c = load_yaml(setup_yaml);
    char err[512];
    es_setup *s = es_setup_new(c, 1, err, sizeof err); /* setup --index-management */
    assert_non_null(s);
    const canned forced[] = {
        {"GET", "/_ilm/policy/expvarbeat", 200, "{}"},
        {"PUT", "/_index_template/expvarbeat-" EXPVARBEAT_VERSION, 400,
         "{\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"unknown type [x]\"}}"},
    };
    assert_int_equal(walk(s, forced, 2, err, sizeof err), -1);
    assert_string_equal(err, "error installing index template expvarbeat-" EXPVARBEAT_VERSION
                             ": PUT 400 Bad Request: mapper_parsing_exception: unknown type [x]");
    es_setup_free(s);
    config_free(c);

    /* ILM off, a per-event index: template only, no data stream step. */
    c = load_yaml("output.elasticsearch.hosts: [\"http://127.0.0.1:1\"]\n"
                  "output.elasticsearch.index: \"x-%{[service.type]}-%{+yyyy}\"\n"
                  "setup.ilm.enabled: false\n"
                  "setup.template.name: x\nsetup.template.pattern: \"x-*\"\n"
                  "setup.template.overwrite: true\n");
    s = es_setup_new(c, 0, err, sizeof err);
    assert_non_null(s);
    const canned tonly[] = {{"PUT", "/_index_template/x", 200, "{}"}};
    assert_int_equal(walk(s, tonly, 1, err, sizeof err), 0);
    char name[64];
    assert_int_equal(es_fixed_index(c, name, sizeof name, err, sizeof err), 0);
    es_setup_free(s);
    config_free(c);

    c = load_yaml("output.elasticsearch.hosts: [\"http://127.0.0.1:1\"]\n"
                  "output.elasticsearch.index: \"Metrics-%{[agent.name]:x}-%{[agent.version]}\"\n"
                  "name: Beat-1\n"
                  "setup.template.name: m\nsetup.template.pattern: \"m-*\"\n");
    assert_int_equal(es_fixed_index(c, name, sizeof name, err, sizeof err), 1);
    assert_string_equal(name, "metrics-beat-1-" EXPVARBEAT_VERSION);
    config_free(c);
}

/* ---- a scripted HTTP server on the test's loop -------------------------------- */

typedef struct rec {
    char method[8];
    char path[512];
    char *body; /* decoded */
    size_t len;
    char encoding[32];
    char auth[128];
} rec;

typedef struct srv srv;
/* Returns the HTTP status and fills out; -1 closes the connection after
 * half a response. */
typedef int (*bulk_fn)(srv *s, const rec *r, buf *out);

typedef struct sconn {
    int fd;
    buf in;
} sconn;

struct srv {
    loop *l;
    int lfd, port;
    rec reqs[128];
    size_t n;
    const char *version;
    bulk_fn bulk;
    int bulk_calls;
    sconn conns[16];
};

static void rec_header(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r"), v);
            return;
        }
}

/* One send: a split write would meet Nagle and delayed ACKs (40 ms). */
static void respond(int fd, int status, const char *body, int head)
{
    buf m;
    buf_init(&m, 0);
    char hdr[256];
    size_t n = strlen(body);
    snprintf(hdr, sizeof hdr,
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
             status, head ? 0 : n);
    buf_append_str(&m, hdr);
    if (!head)
        buf_append(&m, body, n);
    assert_int_equal(send(fd, m.data, m.len, MSG_NOSIGNAL), (ssize_t)m.len);
    buf_free(&m);
}

/* One complete request at the start of c->in: handles it and returns its
 * size, 0 when incomplete, -1 when the connection must be reset. */
static long serve_one(srv *s, sconn *c)
{
    char *end = c->in.len ? memmem(c->in.data, c->in.len, "\r\n\r\n", 4) : NULL;
    if (!end)
        return 0;
    size_t head_len = (size_t)(end - c->in.data) + 4;
    char *head = strndup(c->in.data, head_len);
    char clen[32] = "0";
    rec_header(head, "Content-Length", clen, sizeof clen);
    size_t blen = strtoul(clen, NULL, 10);
    if (c->in.len < head_len + blen) {
        free(head);
        return 0;
    }
    assert_true(s->n < 128);
    rec *r = &s->reqs[s->n++];
    sscanf(head, "%7s %511s", r->method, r->path);
    rec_header(head, "Content-Encoding", r->encoding, sizeof r->encoding);
    rec_header(head, "Authorization", r->auth, sizeof r->auth);
    free(head);
    const char *body = c->in.data + head_len;
    if (strcmp(r->encoding, "gzip") == 0)
        r->body = inflate_gzip(body, blen, &r->len);
    else {
        r->body = strndup(body, blen);
        r->len = blen;
    }
    buf out;
    buf_init(&out, 0);
    int status = 404;
    if (strcmp(r->path, "/") == 0) {
        status = 200;
        buf_append_str(&out, s->version);
    } else if (strncmp(r->path, "/_bulk", 6) == 0) {
        s->bulk_calls++;
        status = s->bulk(s, r, &out);
    }
    buf_append(&out, "", 1);
    if (status >= 0)
        respond(c->fd, status, out.data, strcmp(r->method, "HEAD") == 0);
    else { /* curl would silently resend a request that got no answer at all */
        static const char half[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"errors\"";
        send(c->fd, half, sizeof half - 1, MSG_NOSIGNAL);
    }
    buf_free(&out);
    return status < 0 ? -1 : (long)(head_len + blen);
}

static void conn_close(srv *s, sconn *c)
{
    loop_unwatch(s->l, c->fd);
    close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
}

static void on_conn(void *ctx, int fd, unsigned ev)
{
    (void)ev;
    srv *s = ctx;
    sconn *c = NULL;
    for (size_t i = 0; i < 16; i++)
        if (s->conns[i].fd == fd)
            c = &s->conns[i];
    char chunk[65536];
    ssize_t n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            conn_close(s, c);
        return;
    }
    buf_append(&c->in, chunk, (size_t)n);
    long used;
    while ((used = serve_one(s, c)) > 0) {
        memmove(c->in.data, c->in.data + used, c->in.len - (size_t)used);
        c->in.len -= (size_t)used;
    }
    if (used < 0)
        conn_close(s, c);
}

static void on_accept(void *ctx, int fd, unsigned ev)
{
    (void)ev;
    srv *s = ctx;
    int cfd = accept(fd, NULL, NULL);
    if (cfd < 0)
        return;
    for (size_t i = 0; i < 16; i++)
        if (s->conns[i].fd < 0) {
            s->conns[i].fd = cfd;
            buf_init(&s->conns[i].in, 0);
            loop_watch(s->l, cfd, LOOP_IN, on_conn, s);
            return;
        }
    close(cfd);
}

static void srv_start(srv *s, loop *l, bulk_fn bulk)
{
    memset(s, 0, sizeof *s);
    s->l = l;
    s->bulk = bulk;
    s->version = "{\"version\":{\"number\":\"8.11.0\",\"build_flavor\":\"default\"}}";
    for (size_t i = 0; i < 16; i++)
        s->conns[i].fd = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    loop_watch(l, s->lfd, LOOP_IN, on_accept, s);
}

static void srv_stop(srv *s)
{
    for (size_t i = 0; i < 16; i++)
        if (s->conns[i].fd >= 0)
            conn_close(s, &s->conns[i]);
    loop_unwatch(s->l, s->lfd);
    close(s->lfd);
    for (size_t i = 0; i < s->n; i++)
        free(s->reqs[i].body);
}

static size_t srv_count(const srv *s, const char *method, const char *path_prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += strcmp(s->reqs[i].method, method) == 0 &&
             strncmp(s->reqs[i].path, path_prefix, strlen(path_prefix)) == 0;
    return n;
}

/* Items from the documents: a document {"s":NNN,...} is answered NNN. */
static int item_status(const char *doc)
{
    const char *p = strstr(doc, "\"s\":");
    return p ? atoi(p + 4) : 201;
}

static void append_item(buf *out, int first, int status)
{
    char item[256];
    if (status < 300)
        snprintf(item, sizeof item, "%s{\"create\":{\"status\":%d}}", first ? "" : ",", status);
    else
        snprintf(item, sizeof item,
                 "%s{\"create\":{\"status\":%d,\"error\":{\"type\":\"t%d\",\"reason\":\"r%d\"}}}",
                 first ? "" : ",", status, status, status);
    buf_append_str(out, item);
}

static int bulk_by_doc(srv *s, const rec *r, buf *out)
{
    (void)s;
    buf_append_str(out, "{\"errors\":true,\"items\":[");
    int first = 1;
    for (char *line = r->body; line && *line;) {
        char *doc = strchr(line, '\n') + 1;
        char *next = strchr(doc, '\n');
        *next = '\0';
        int dead_letter = strstr(line, "\"_index\":\"dlq\"") != NULL;
        append_item(out, first, dead_letter ? 201 : item_status(doc));
        *next = '\n';
        first = 0;
        line = next + 1;
    }
    buf_append_str(out, "]}");
    return 200;
}

/* ---- driving the output ------------------------------------------------------- */

typedef struct run {
    loop *l;
    srv s, s2; /* s2: a second host, when started */
    int two;
    config *c;
    stats st;
    void *out;
    batch b;
    event_rec recs[64], *ptrs[64];
    out_result results[64];
    int done_calls;
} run;

static void on_done(batch *b, void *ctx)
{
    (void)b;
    ((run *)ctx)->done_calls++;
}

static void run_start2(run *r, bulk_fn bulk, const char *extra_yaml, int two)
{
    memset(r, 0, sizeof *r);
    r->l = loop_new();
    srv_start(&r->s, r->l, bulk);
    char second[64] = "";
    if ((r->two = two) != 0) {
        srv_start(&r->s2, r->l, bulk);
        snprintf(second, sizeof second, ", \"http://127.0.0.1:%d\"", r->s2.port);
    }
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "setup.ilm.enabled: false\n"
             "setup.template.enabled: false\n"
             "output.elasticsearch:\n"
             "  hosts: [\"http://127.0.0.1:%d\"%s]\n"
             "  bulk_max_size: 2\n"
             "  backoff.init: 10ms\n"
             "  backoff.max: 20ms\n"
             "  timeout: 5s\n%s",
             r->s.port, second, extra_yaml ? extra_yaml : "");
    r->c = load_yaml(yaml);
    char err[512];
    r->out = out_elasticsearch_ops.open(r->c, r->l, &r->st, err, sizeof err);
    if (!r->out)
        fail_msg("open: %s", err);
}

static void run_start(run *r, bulk_fn bulk, const char *extra_yaml)
{
    run_start2(r, bulk, extra_yaml, 0);
}

static void run_publish(run *r, const char *const *docs, size_t n, unsigned attempts)
{
    for (size_t i = 0; i < n; i++) {
        r->recs[i] = (event_rec){strdup(docs[i]), strlen(docs[i]), attempts};
        r->ptrs[i] = &r->recs[i];
        r->results[i] = (out_result)-1;
    }
    r->b = (batch){r->ptrs, r->results, n, on_done, r};
    r->done_calls = 0;
    out_elasticsearch_ops.publish(r->out, &r->b);
    assert_int_equal(r->done_calls, 0); /* never synchronously */
}

/* Turns the loop until cond holds or 5 s pass. */
static int turn_until(run *r, int (*cond)(run *r))
{
    int64_t deadline = loop_now_ms() + 5000;
    while (!cond(r) && loop_now_ms() < deadline)
        loop_run_once(r->l, 50, NULL);
    return cond(r);
}

static int batch_done(run *r)
{
    return r->done_calls > 0;
}

static void run_end(run *r)
{
    out_elasticsearch_ops.close(r->out);
    srv_stop(&r->s);
    if (r->two)
        srv_stop(&r->s2);
    for (size_t i = 0; i < r->b.n; i++)
        free(r->recs[i].json);
    config_free(r->c);
    loop_free(r->l);
}

#define DOC(x)                                                                                     \
    "{\"@timestamp\":\"2024-01-02T03:04:05.678Z\",\"agent\":{\"version\":\"" EXPVARBEAT_VERSION    \
    "\"}," x "}"

static void test_split_and_encode(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_by_doc, NULL);
    const char *docs[] = {DOC("\"n\":1"), DOC("\"n\":2"), DOC("\"n\":3"), DOC("\"n\":4"),
                          DOC("\"n\":5")};
    run_publish(&r, docs, 5, 0);
    assert_true(turn_until(&r, batch_done));
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(r.results[i], OUT_OK);
    /* bulk_max_size 2: three requests, gzip, create actions, in order. */
    assert_int_equal(srv_count(&r.s, "POST", "/_bulk"), 3);
    assert_int_equal(srv_count(&r.s, "GET", "/"), 1);
    buf all;
    buf_init(&all, 0);
    for (size_t i = 0; i < r.s.n; i++)
        if (strcmp(r.s.reqs[i].method, "POST") == 0) {
            assert_string_equal(r.s.reqs[i].encoding, "gzip");
            assert_string_equal(r.s.reqs[i].path, "/_bulk?filter_path=errors%2Citems.%2A.error%2C"
                                                  "items.%2A.status");
            buf_append(&all, r.s.reqs[i].body, r.s.reqs[i].len);
        }
    buf_append(&all, "", 1);
    const char *action = "{\"create\":{\"_index\":\"expvarbeat-" EXPVARBEAT_VERSION "\"}}\n";
    buf want;
    buf_init(&want, 0);
    for (size_t i = 0; i < 5; i++) {
        buf_append_str(&want, action);
        buf_append_str(&want, docs[i]);
        buf_append_str(&want, "\n");
    }
    buf_append(&want, "", 1);
    assert_string_equal(all.data, want.data);
    buf_free(&all);
    buf_free(&want);
    run_end(&r);
}

static void test_item_verdicts(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_by_doc, "  max_retries: 3\n  bulk_max_size: 50\n");
    const char *docs[] = {DOC("\"s\":201"), DOC("\"s\":409"), DOC("\"s\":429"),
                          DOC("\"s\":400"), DOC("\"s\":503"), DOC("\"s\":500")};
    run_publish(&r, docs, 6, 0);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.done_calls, 1);
    /* 429 and 503 wait without spending an attempt; 500 spends one. */
    out_result want[] = {OUT_OK, OUT_OK, OUT_WAIT, OUT_DROP, OUT_WAIT, OUT_RETRY};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(r.results[i], want[i]);
    assert_int_equal(r.st.duplicates, 1);
    assert_int_equal(r.st.too_many, 1);
    assert_int_equal(r.st.write_errors, 0);
    for (size_t i = 0; i < 6; i++)
        free(r.recs[i].json);
    r.b.n = 0;

    /* At max_retries, a 500 drops; 429 and 503 never do. */
    const char *again[] = {DOC("\"s\":500"), DOC("\"s\":429"), DOC("\"s\":503")};
    run_publish(&r, again, 3, 3);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.results[0], OUT_DROP);
    assert_int_equal(r.results[1], OUT_WAIT);
    assert_int_equal(r.results[2], OUT_WAIT);
    run_end(&r);
}

static void test_max_retries_forever(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_by_doc, "  max_retries: -1\n");
    const char *docs[] = {DOC("\"s\":500")};
    run_publish(&r, docs, 1, 1000);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.results[0], OUT_RETRY);
    run_end(&r);
}

/* 413 for any request above 300 bytes (before gzip). */
static int bulk_413(srv *s, const rec *r, buf *out)
{
    if (r->len > 300)
        return 413;
    return bulk_by_doc(s, r, out);
}

static void test_413_halves(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_413, "  bulk_max_size: 50\n");
    char big[400];
    snprintf(big, sizeof big, DOC("\"pad\":\"%0300d\""), 0);
    const char *docs[] = {DOC("\"n\":1"), DOC("\"n\":2"), DOC("\"n\":3"), big, DOC("\"n\":5")};
    run_publish(&r, docs, 5, 0);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.done_calls, 1);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(r.results[i], i == 3 ? OUT_DROP : OUT_OK);
    /* 5 (413) → 2 ok, 3 (413) → 1 ok, 2 (413) → the big one alone (413), 1 ok. */
    assert_int_equal(srv_count(&r.s, "POST", "/_bulk"), 7);
    assert_int_equal(r.st.write_errors, 0); /* not a connection failure */
    run_end(&r);
}

static void test_dead_letter(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_by_doc,
              "  bulk_max_size: 50\n  non_indexable_policy.dead_letter_index.index: dlq\n");
    const char *docs[] = {DOC("\"s\":201"), DOC("\"s\":400")};
    run_publish(&r, docs, 2, 0);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.results[0], OUT_OK);
    assert_int_equal(r.results[1], OUT_OK); /* indexed in dlq */
    assert_int_equal(srv_count(&r.s, "POST", "/_bulk"), 2);
    const rec *dl = &r.s.reqs[r.s.n - 1];
    assert_non_null(strstr(dl->body, "{\"create\":{\"_index\":\"dlq\"}}\n"));
    assert_non_null(strstr(dl->body, "r400"));  /* Elasticsearch's reason */
    assert_null(strstr(dl->body, "\"s\":201")); /* only the rejected event */
    run_end(&r);
}

static int bulk_reset_once(srv *s, const rec *r, buf *out)
{
    if (s->bulk_calls == 1)
        return -1;
    return bulk_by_doc(s, r, out);
}

static int reconnected(run *r)
{
    return srv_count(&r->s, "GET", "/") >= 2;
}

static void test_reset_retries_and_reconnects(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_reset_once, NULL);
    const char *docs[] = {DOC("\"n\":1"), DOC("\"n\":2")};
    run_publish(&r, docs, 2, 0);
    assert_true(turn_until(&r, batch_done));
    /* A transport error spends nothing: the events wait. */
    assert_int_equal(r.results[0], OUT_WAIT);
    assert_int_equal(r.results[1], OUT_WAIT);
    assert_int_equal(r.st.write_errors, 1);
    /* The client closed, backed off and connects again with GET /. */
    assert_true(turn_until(&r, reconnected));
    for (size_t i = 0; i < 2; i++)
        free(r.recs[i].json);
    r.b.n = 0;
    run_publish(&r, docs, 2, 0);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.results[0], OUT_OK);
    assert_int_equal(r.results[1], OUT_OK);
    run_end(&r);
}

static int bulk_401(srv *s, const rec *r, buf *out)
{
    (void)s, (void)r;
    buf_append_str(out, "{\"error\":{\"type\":\"security_exception\",\"reason\":\"bad\"}}");
    return 401;
}

static void test_401_and_auth(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_401, "  username: elastic\n  password: changeme\n");
    const char *docs[] = {DOC("\"n\":1")};
    run_publish(&r, docs, 1, 0);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.results[0], OUT_WAIT); /* never dropped: credentials can be fixed */
    assert_int_equal(r.st.write_errors, 1);
    assert_string_equal(r.s.reqs[0].auth, "Basic ZWxhc3RpYzpjaGFuZ2VtZQ==");
    run_end(&r);
}

static int bulk_not_json(srv *s, const rec *r, buf *out)
{
    (void)s, (void)r;
    buf_append_str(out, "<html>OK</html>");
    return 200;
}

static void test_non_json_2xx(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_not_json, NULL);
    const char *docs[] = {DOC("\"n\":1")};
    run_publish(&r, docs, 1, 0);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.results[0], OUT_WAIT); /* no item is OK unless ES said so */
    assert_int_equal(r.st.write_errors, 1);
    run_end(&r);
}

static int bulk_unreached(srv *s, const rec *r, buf *out)
{
    (void)s, (void)r, (void)out;
    fail_msg("a bulk request reached an Elasticsearch that is too old");
    return 500;
}

static int saw_two_versions(run *r)
{
    return srv_count(&r->s, "GET", "/") >= 2;
}

static void test_too_old_waits(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_unreached, NULL);
    r.s.version = "{\"version\":{\"number\":\"7.17.0\"}}";
    const char *docs[] = {DOC("\"n\":1")};
    run_publish(&r, docs, 1, 0);
    /* Refused, retried with backoff; the batch waits (nothing accepted is dropped). */
    assert_true(turn_until(&r, saw_two_versions));
    assert_int_equal(r.done_calls, 0);
    assert_int_equal(r.s.bulk_calls, 0);
    run_end(&r);
}

static void test_format_failure_drops(void **state)
{
    (void)state;
    run r;
    run_start(&r, bulk_by_doc, "  index: \"x-%{[fields.env]}\"\n");
    const char *docs[] = {DOC("\"fields\":{\"env\":\"Prod\"}"), DOC("\"n\":2")};
    run_publish(&r, docs, 2, 0);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.results[0], OUT_OK);
    assert_int_equal(r.results[1], OUT_DROP);
    assert_int_equal(srv_count(&r.s, "POST", "/_bulk"), 1);
    const rec *b = &r.s.reqs[r.s.n - 1];
    assert_non_null(strstr(b->body, "{\"create\":{\"_index\":\"x-prod\"}}")); /* lowercased */
    assert_null(strstr(b->body, "\"n\":2"));
    run_end(&r);

    /* Every event fails: done still comes, from the loop. */
    run_start(&r, bulk_by_doc, "  index: \"x-%{[fields.env]}\"\n");
    const char *none[] = {DOC("\"n\":1")};
    run_publish(&r, none, 1, 0);
    assert_true(turn_until(&r, batch_done));
    assert_int_equal(r.results[0], OUT_DROP);
    run_end(&r);
}

static int both_connected(run *r)
{
    return srv_count(&r->s, "GET", "/") && srv_count(&r->s2, "GET", "/");
}

/* Two hosts: round-robin spreads the requests; failover sends all of them
 * to the first host while it is up. */
static void test_loadbalance_and_failover(void **state)
{
    (void)state;
    const char *docs[] = {DOC("\"n\":1"), DOC("\"n\":2"), DOC("\"n\":3"), DOC("\"n\":4"),
                          DOC("\"n\":5"), DOC("\"n\":6"), DOC("\"n\":7"), DOC("\"n\":8")};
    for (int lb = 0; lb <= 1; lb++) {
        run r;
        run_start2(&r, bulk_by_doc,
                   lb ? "  bulk_max_size: 1\n" : "  bulk_max_size: 1\n  loadbalance: false\n", 1);
        assert_true(turn_until(&r, both_connected)); /* both ready before the batch */
        run_publish(&r, docs, 8, 0);
        assert_true(turn_until(&r, batch_done));
        for (size_t i = 0; i < 8; i++)
            assert_int_equal(r.results[i], OUT_OK);
        size_t a = srv_count(&r.s, "POST", "/_bulk"), b = srv_count(&r.s2, "POST", "/_bulk");
        assert_int_equal(a + b, 8);
        if (lb) {
            assert_int_equal(a, 4);
            assert_int_equal(b, 4);
        } else {
            assert_int_equal(a, 8);
        }
        run_end(&r);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_bulk_path),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_error_reason),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_fmt_kind),
        cmocka_unit_test(test_setup_fresh_cluster),
        cmocka_unit_test(test_setup_errors_and_options),
        cmocka_unit_test(test_split_and_encode),
        cmocka_unit_test(test_item_verdicts),
        cmocka_unit_test(test_max_retries_forever),
        cmocka_unit_test(test_413_halves),
        cmocka_unit_test(test_dead_letter),
        cmocka_unit_test(test_reset_retries_and_reconnects),
        cmocka_unit_test(test_401_and_auth),
        cmocka_unit_test(test_non_json_2xx),
        cmocka_unit_test(test_too_old_waits),
        cmocka_unit_test(test_format_failure_drops),
        cmocka_unit_test(test_loadbalance_and_failover),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
