/* es_cli: the blocking Elasticsearch commands, which run without the
 * daemon's loop: `setup --index-management` (the es_setup sequence over
 * curl easy on the first reachable host) and `test output` (Metricbeat's
 * step tree: parse url, dns lookup, dial up, TLS, talk to server).  Requests
 * are configured by es_conn exactly as the daemon's are. */
#include "es_setup.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "es_conn.h"

#define RESPONSE_MAX (16u << 20)

/* One blocking connection: a configured easy handle and its last answer. */
typedef struct blocking {
    const es_config *ec;
    CURL *e;
    struct curl_slist *hdr;
    buf resp;
    long status;
    char errbuf[CURL_ERROR_SIZE];
} blocking;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    return buf_append(ctx, p, size * n) == BUF_OK ? size * n : 0;
}

static int blocking_open(blocking *b, const es_config *ec, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->ec = ec;
    buf_init(&b->resp, RESPONSE_MAX);
    if (!(b->e = curl_easy_init())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(b->hdr = es_headers_new(ec, 0, err, errlen)) ||
        es_conn_configure(b->e, ec, err, errlen) != 0)
        return -1;
    curl_easy_setopt(b->e, CURLOPT_HTTPHEADER, b->hdr);
    curl_easy_setopt(b->e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(b->e, CURLOPT_WRITEDATA, &b->resp);
    curl_easy_setopt(b->e, CURLOPT_ERRORBUFFER, b->errbuf);
    return 0;
}

static void blocking_close(blocking *b)
{
    if (b->e)
        curl_easy_cleanup(b->e);
    curl_slist_free_all(b->hdr);
    buf_free(&b->resp);
}

/* 0 when an HTTP answer came (b->status, b->resp), else -1 with curl's reason. */
static int blocking_do(blocking *b, const char *base, const char *method, const char *path,
                       const char *body, size_t len, char *err, size_t errlen)
{
    buf url;
    buf_init(&url, 0);
    if (buf_append_str(&url, base) || buf_append_str(&url, path) || buf_append(&url, "", 1)) {
        buf_free(&url);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    buf_reset(&b->resp);
    b->errbuf[0] = '\0';
    b->status = 0;
    curl_easy_setopt(b->e, CURLOPT_URL, url.data);
    es_conn_method(b->e, method, body, len);
    CURLcode rc = curl_easy_perform(b->e);
    buf_free(&url);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", b->errbuf[0] ? b->errbuf : curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(b->e, CURLINFO_RESPONSE_CODE, &b->status);
    return 0;
}

/* GET /: 0 with the version, else -1 with why. */
static int talk(blocking *b, const char *base, es_version *v, char *err, size_t errlen)
{
    if (blocking_do(b, base, "GET", "/", NULL, 0, err, errlen) != 0)
        return -1;
    if (b->status != 200) {
        char reason[400];
        es_error_reason(b->resp.data, b->resp.len, reason, sizeof reason);
        snprintf(err, errlen, "%ld %s%s%s", b->status, es_status_text(b->status),
                 reason[0] ? ": " : "", reason);
        return -1;
    }
    return es_version_parse(b->resp.data, b->resp.len, v, err, errlen);
}

/* ---- setup --index-management --------------------------------------------------- */

static int run_sequence(blocking *b, const char *base, es_setup *s, char *err, size_t errlen)
{
    const es_request *r;
    while ((r = es_setup_next(s)) != NULL) {
        char why[512];
        if (blocking_do(b, base, r->method, r->path, r->body, r->len, why, sizeof why) != 0) {
            snprintf(err, errlen, "error %s: %s", es_setup_step(s), why);
            return -1;
        }
        if (es_setup_feed(s, b->status, b->resp.data, b->resp.len, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* The first host that answers GET / with an acceptable version: its base
 * URL (caller frees), or NULL with every host's error. */
static char *first_reachable(blocking *b, const es_config *ec, char *err, size_t errlen)
{
    buf errs;
    buf_init(&errs, 4096);
    char *found = NULL;
    for (size_t i = 0; i < ec->hosts.n && !found; i++) {
        es_endpoint ep;
        es_version v;
        char why[512];
        if (es_endpoint_parse(ec->hosts.v[i], ec->protocol, ec->path, ec->ssl.enabled, &ep, why,
                              sizeof why) == 0 &&
            talk(b, ep.base, &v, why, sizeof why) == 0 &&
            es_version_check(&v, ec->allow_older_versions, why, sizeof why) == 0) {
            found = strdup(ep.base);
        } else {
            buf_append_str(&errs, errs.len ? ", " : "");
            buf_append_str(&errs, ep.base ? ep.base : ec->hosts.v[i]);
            buf_append_str(&errs, ": ");
            buf_append_str(&errs, why);
        }
        es_endpoint_free(&ep);
    }
    if (!found)
        snprintf(err, errlen,
                 "couldn't connect to any of the configured Elasticsearch hosts. Errors: [%.*s]",
                 (int)errs.len, errs.data ? errs.data : "");
    buf_free(&errs);
    return found;
}

/* Metricbeat's VerifySetup warnings, printed before the setup runs. */
static void print_warnings(const config *c, FILE *out)
{
    if (!c->setup.ilm.enabled)
        fprintf(out, "lifecycle policy loading not enabled.\n");
    else if (!c->setup.ilm.overwrite)
        fprintf(out, "Overwriting lifecycle policy is disabled. Set `setup.ilm.overwrite: true` "
                     "to overwrite.\n");
    if (!c->setup.template_.enabled)
        fprintf(out, "Template loading not enabled.\n");
}

int es_setup_run(const config *c, FILE *out, char *err, size_t errlen)
{
    if (c->output.type != OUTPUT_ELASTICSEARCH) {
        snprintf(err, errlen,
                 "index management requested but the Elasticsearch output is not "
                 "configured/enabled");
        return -1;
    }
    blocking b;
    es_setup *s = es_setup_new(c, 1, err, errlen);
    int rc = -1;
    if (s && blocking_open(&b, &c->output.elasticsearch, err, errlen) == 0) {
        char *base = first_reachable(&b, &c->output.elasticsearch, err, errlen);
        if (base)
            print_warnings(c, out);
        rc = base ? run_sequence(&b, base, s, err, errlen) : -1;
        free(base);
    }
    if (s)
        blocking_close(&b);
    es_setup_free(s);
    if (rc == 0)
        fprintf(out, "Index setup finished.\n");
    return rc;
}

/* ---- test output ---------------------------------------------------------------- */

static void say(FILE *out, int depth, const char *step)
{
    fprintf(out, "%*s%s... ", depth * 2, "", step);
}

static int failed(FILE *out, const char *msg)
{
    fprintf(out, "ERROR %s\n", msg);
    return -1;
}

static int resolve(FILE *out, const es_endpoint *ep, struct addrinfo **ai)
{
    char port[16], msg[512];
    snprintf(port, sizeof port, "%d", ep->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    say(out, 2, "dns lookup");
    int rc = getaddrinfo(ep->host, port, &hints, ai);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "lookup %s: %s", ep->host,
                 rc == EAI_NONAME ? "no such host" : gai_strerror(rc)); /* Go's words */
        return failed(out, msg);
    }
    fprintf(out, "OK\n%*saddresses: ", 4, "");
    for (struct addrinfo *a = *ai; a; a = a->ai_next) {
        char host[NI_MAXHOST];
        getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        fprintf(out, "%s%s", host, a->ai_next ? ", " : "\n");
    }
    return 0;
}

/* connect(2) with a deadline: 0, or an errno. */
static int dial_one(const struct addrinfo *a, int64_t timeout_ms)
{
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
        return errno;
    int e = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (e == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t len = sizeof e;
        int n = poll(&p, 1, timeout_ms > 0x7fffffff ? 0x7fffffff : (int)timeout_ms);
        e = n == 0 ? ETIMEDOUT : n < 0 ? errno : 0;
        if (n > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
            e = errno;
    }
    close(fd);
    return e;
}

static int dial(FILE *out, const es_endpoint *ep, const struct addrinfo *ai, int64_t timeout_ms)
{
    say(out, 2, "dial up");
    int e = ENOENT;
    for (const struct addrinfo *a = ai; a && e; a = a->ai_next)
        e = dial_one(a, timeout_ms);
    if (e == 0) {
        fprintf(out, "OK\n");
        return 0;
    }
    /* As Go's net.Dial says it: "connect: connection refused", "i/o timeout". */
    char msg[512], why[128];
    snprintf(why, sizeof why, "%s", e == ETIMEDOUT ? "i/o timeout" : strerror(e));
    why[0] = (char)tolower((unsigned char)why[0]);
    snprintf(msg, sizeof msg, "dial tcp %s%s%s:%d: %s%s", strchr(ep->host, ':') ? "[" : "",
             ep->host, strchr(ep->host, ':') ? "]" : "", ep->port,
             e == ETIMEDOUT ? "" : "connect: ", why);
    return failed(out, msg);
}

static int connection(FILE *out, const es_endpoint *ep, int64_t timeout_ms)
{
    struct addrinfo *ai = NULL;
    fprintf(out, "  connection...\n");
    say(out, 2, "parse host");
    fprintf(out, "OK\n");
    int rc = resolve(out, ep, &ai) == 0 && dial(out, ep, ai, timeout_ms) == 0 ? 0 : -1;
    if (ai)
        freeaddrinfo(ai);
    return rc;
}

/* The TLS handshake alone, through curl with the output's TLS settings. */
static int tls(FILE *out, blocking *b, const es_endpoint *ep)
{
    if (!ep->tls) {
        fprintf(out, "  TLS... WARN secure connection disabled\n");
        return 0;
    }
    fprintf(out, "  TLS...\n");
    if (b->ec->ssl.verification_mode == SSL_VERIFY_NONE)
        fprintf(out, "    security... WARN server's certificate chain verification is disabled\n");
    else
        fprintf(out, "    security: server's certificate chain verification is enabled\n");
    say(out, 2, "handshake");
    char why[512];
    curl_easy_setopt(b->e, CURLOPT_CONNECT_ONLY, 1L);
    int rc = blocking_do(b, ep->base, "GET", "/", NULL, 0, why, sizeof why);
    curl_easy_setopt(b->e, CURLOPT_CONNECT_ONLY, 0L);
    curl_easy_setopt(b->e, CURLOPT_FRESH_CONNECT, 1L); /* not the connect-only one */
    if (rc != 0)
        return failed(out, why);
    fprintf(out, "OK\n");
    say(out, 2, "dial up");
    fprintf(out, "OK\n");
    return 0;
}

static int test_host(FILE *out, blocking *b, const char *host)
{
    const es_config *ec = b->ec;
    es_endpoint ep;
    es_version v;
    char why[512];
    int parsed =
        es_endpoint_parse(host, ec->protocol, ec->path, ec->ssl.enabled, &ep, why, sizeof why);
    fprintf(out, "elasticsearch: %s...\n", parsed == 0 ? ep.base : host);
    say(out, 1, "parse url");
    if (parsed != 0)
        return failed(out, why);
    fprintf(out, "OK\n");
    int rc = -1;
    if (connection(out, &ep, ec->timeout_ms) == 0 && tls(out, b, &ep) == 0) {
        say(out, 1, "talk to server");
        rc = talk(b, ep.base, &v, why, sizeof why);
        curl_easy_setopt(b->e, CURLOPT_FRESH_CONNECT, 0L);
        if (rc != 0)
            failed(out, why);
        else
            fprintf(out, "OK\n  version: %s\n", v.number);
    }
    es_endpoint_free(&ep);
    return rc;
}

int es_test_output(const config *c, FILE *out)
{
    const es_config *ec = &c->output.elasticsearch;
    blocking b;
    char err[512];
    int rc = 0;
    if (blocking_open(&b, ec, err, sizeof err) != 0) {
        fprintf(out, "elasticsearch...\n  configuration... ERROR %s\n", err);
        blocking_close(&b);
        return 1;
    }
    for (size_t i = 0; i < ec->hosts.n; i++)
        rc |= test_host(out, &b, ec->hosts.v[i]) != 0;
    blocking_close(&b);
    return rc;
}
