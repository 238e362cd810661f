/* scrape: finished transfer → document (see scrape.h).  Transport errors
 * are translated into the text Go's net/http would have produced, so that
 * alerts and saved searches written against Metricbeat's error.message keep
 * matching. */
#include "scrape.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "expvar_select.h"
#include "stats.h"

static void lower_first(char *s)
{
    if (*s)
        *s = (char)tolower((unsigned char)*s);
}

/* "dial tcp 127.0.0.1:6060" from what curl knows about the peer. */
static void dial_target(target *t, char *out, size_t outlen)
{
    char *ip = NULL;
    long port = 0;
    curl_easy_getinfo(t->lease->easy, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(t->lease->easy, CURLINFO_PRIMARY_PORT, &port);
    if (ip && *ip) {
        snprintf(out, outlen, strchr(ip, ':') ? "dial tcp [%s]:%ld" : "dial tcp %s:%ld", ip, port);
        return;
    }
    /* curl forgets the peer of a refused connect; the URL still names it. */
    const char *u = t->url.uri, *p = strstr(u, "://");
    p = p ? p + 3 : u;
    size_t n = strcspn(p, "/?#");
    const char *close = memchr(p, ']', n);
    int has_port = memchr(close ? close : p, ':', n - (size_t)((close ? close : p) - p)) != NULL;
    snprintf(out, outlen, "dial tcp %.*s%s", (int)n, p,
             has_port ? "" : (strncmp(u, "https", 5) == 0 ? ":443" : ":80"));
}

/* The host name of a URL, for resolver errors. */
static const char *url_host(const char *uri, char *out, size_t outlen)
{
    const char *p = strstr(uri, "://");
    p = p ? p + 3 : uri;
    snprintf(out, outlen, "%.*s", (int)strcspn(p, ":/?#"), p);
    return out;
}

/* Go names the phase the client deadline hit. */
static void timeout_detail(target *t, const char *dial, char *out, size_t outlen)
{
    double connect_s = 0;
    curl_easy_getinfo(t->lease->easy, CURLINFO_CONNECT_TIME, &connect_s);
    if (t->lease->status_line[0])
        snprintf(out, outlen,
                 "context deadline exceeded (Client.Timeout or context "
                 "cancellation while reading body)");
    else if (connect_s > 0)
        snprintf(out, outlen,
                 "context deadline exceeded (Client.Timeout exceeded while "
                 "awaiting headers)");
    else
        snprintf(out, outlen, "%s: i/o timeout", dial);
}

static void transport_detail(target *t, CURLcode rc, char *out, size_t outlen)
{
    char dial[128], err[256], host[256];
    long os_errno = 0;
    curl_easy_getinfo(t->lease->easy, CURLINFO_OS_ERRNO, &os_errno);
    snprintf(err, sizeof err, "%s", os_errno ? strerror((int)os_errno) : "");
    lower_first(err);
    dial_target(t, dial, sizeof dial);
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        snprintf(out, outlen, "%s: connect: %s", dial, *err ? err : "connection refused");
        return;
    case CURLE_OPERATION_TIMEDOUT:
        timeout_detail(t, dial, out, outlen);
        return;
    case CURLE_TOO_MANY_REDIRECTS:
        snprintf(out, outlen, "stopped after 10 redirects");
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(out, outlen, "dial tcp: lookup %s: no such host",
                 url_host(t->url.uri, host, sizeof host));
        return;
    case CURLE_PEER_FAILED_VERIFICATION:
        /* Go words an unknown issuer this way; other failures keep curl's words. */
        snprintf(out, outlen, "tls: failed to verify certificate: %s",
                 strstr(t->lease->errbuf, "local issuer") ||
                         strstr(t->lease->errbuf, "self-signed") ||
                         strstr(t->lease->errbuf, "self signed")
                     ? "x509: certificate signed by unknown authority"
                     : t->lease->errbuf);
        return;
    case CURLE_GOT_NOTHING:
        snprintf(out, outlen, "EOF");
        return;
    default:
        snprintf(out, outlen, "%s",
                 t->lease->errbuf[0] ? t->lease->errbuf : curl_easy_strerror(rc));
    }
}

void scrape_fetch_error(target *t, CURLcode rc, char *out, size_t outlen)
{
    out[0] = '\0';
    if (t->lease->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(out, outlen, "response body larger than %zu bytes (max_body_size)",
                 t->mod->max_body_bytes);
        return;
    }
    if (rc != CURLE_OK) {
        char detail[512];
        transport_detail(t, rc, detail, sizeof detail);
        snprintf(out, outlen, "error making http request: Get \"%s\": %s", t->url.uri, detail);
        return;
    }
    long code = 0;
    curl_easy_getinfo(t->lease->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code == 200)
        return;
    /* Go's resp.Status is "<code> <reason>" as the server sent it. */
    const char *status = t->lease->status_line;
    const char *sp = strchr(status, ' ');
    snprintf(out, outlen, "HTTP error %ld in : %s", code, sp ? sp + 1 : status);
}

static void render_error(target *t, const target_set *s, const beat_info *bi, int64_t duration_ns,
                         yajl_gen g, const char *message)
{
    yajl_gen_reset(g, NULL);
    yajl_gen_clear(g);
    event_begin(g, bi, &s->site, t->start_wall_ms, duration_ns, message);
    event_end(g);
}

/* The success document; -1 (message in msg) or METRICSET_REPEATED_KEYS
 * leave g with partial output. */
static int render_doc(target *t, const target_set *s, const beat_info *bi, int64_t duration_ns,
                      yajl_gen g, int dedup, char *msg, size_t msglen)
{
    yajl_gen_reset(g, NULL);
    yajl_gen_clear(g);
    event_begin(g, bi, &s->site, t->start_wall_ms, duration_ns, NULL);
    int opened = event_open_path(g, s->dataset);
    const char *body = t->lease->body.data;
    size_t len = t->lease->body.len;
    int rc;
    heap_capture *cap = t->lease->heap_cap;
    if (s->ms == STATS_MS_HEAP) {
        t->heap.now_ns = t->start_mono_ns; /* heap.rates */
        rc = metricset_heap_emit_captured(g, cap, body, len, &t->heap, &t->limits, msg, msglen);
    } else if (dedup) {
        rc = metricset_expvar_emit_dedup(g, body, len, &t->limits, msg, msglen);
    } else {
        /* Both metricsets from this body: the heap values are taken on the
         * way, so the body is parsed once (metricset.h). */
        if (t->n_sets == 2 && !cap)
            cap = t->lease->heap_cap = heap_capture_new(); /* NULL: two parses */
        rc = metricset_expvar_emit_capture(g, body, len, &t->limits, t->n_sets == 2 ? cap : NULL,
                                           msg, msglen);
    }
    if (rc == 0) {
        event_close_maps(g, opened);
        event_end(g);
    }
    return rc;
}

int scrape_render(target *t, size_t set, CURLcode rc, const beat_info *bi, int64_t now_mono_ns,
                  yajl_gen g, char *msg, size_t msglen)
{
    const target_set *s = &t->set[set];
    int64_t duration_ns = now_mono_ns - t->start_mono_ns;
    if (set == 0)
        heap_capture_clear(t->lease->heap_cap); /* never a previous body's values */
    char fetch_err[1024];
    scrape_fetch_error(t, rc, fetch_err, sizeof fetch_err);
    if (fetch_err[0]) {
        snprintf(msg, msglen, "error in http fetch: %s", fetch_err);
        render_error(t, s, bi, duration_ns, g, msg);
        return 1;
    }
    int drc = render_doc(t, s, bi, duration_ns, g, 0, msg, msglen);
    if (drc == METRICSET_REPEATED_KEYS)
        drc = render_doc(t, s, bi, duration_ns, g, 1, msg, msglen);
    if (drc != 0) {
        render_error(t, s, bi, duration_ns, g, msg);
        return 1;
    }
    return 0;
}

int scrape_render_cap_error(target *t, size_t set, const beat_info *bi, int64_t now_mono_ns,
                            yajl_gen g, char *msg, size_t msglen)
{
    const target_set *s = &t->set[set];
    if (s->ms != STATS_MS_EXPVAR || !t->limits.select ||
        !expvar_select_cap_message(t->limits.select, msg, msglen))
        return 0;
    render_error(t, s, bi, now_mono_ns - t->start_mono_ns, g, msg);
    return 1;
}
