/* es_client: one output's Elasticsearch connections and their state
 * machine (see es_client.h).  A client's life, one request at a time:
 *
 *   BACKOFF ──timer──► VERSION (GET /) ──ok──► SETUP (es_setup steps) ──► READY ⇄ BULK
 *      ▲                   │ (setup already done, or running elsewhere: READY / SETUP_WAIT)
 *      └──── any failure ──┘
 *
 * What happens when a transfer ends is looked up by state in `answers`.
 * Failures are logged once per change of message, so a long outage is one
 * line per client, not one per retry. */
#include "es_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curlm.h"
#include "es_conn.h"
#include "es_setup.h"
#include "log.h"
#include "pipeline.h"

#define RESPONSE_MAX (64u << 20)

enum cstate { C_BACKOFF, C_VERSION, C_SETUP_WAIT, C_SETUP, C_READY, C_BULK, C_ANSWERING };
enum setup_state { SETUP_PENDING, SETUP_RUNNING, SETUP_DONE };

struct es_client {
    es_group *g;
    es_endpoint ep;
    CURL *easy;
    enum cstate state;
    void *req; /* the bulk request in flight */
    buf resp, url;
    loop_timer timer; /* backoff, or reporting a transfer that could not start */
    int start_failed;
    int fresh; /* failed: the next request opens a new connection */
    es_backoff backoff;
    int connected_once, connect_failed;
    char last_err[512];
    char errbuf[CURL_ERROR_SIZE];
};

struct es_group {
    const config *c;
    loop *l;
    curlm *m;
    es_client_hooks h;
    es_setup *setup; /* NULL: index management is off */
    enum setup_state setup_state;
    struct curl_slist *hdr_plain, *hdr_gzip;
    char *bulk_path;
    es_client **cl;
    size_t n;
    unsigned seed;
};

static void connect_start(es_client *c);

/* ---- sending -------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    es_client *c = ctx;
    return buf_append(&c->resp, p, size * n) == BUF_OK ? size * n : 0;
}

static void send_req(es_client *c, const char *method, const char *path, const char *body,
                     size_t len, const struct curl_slist *hdr)
{
    buf_reset(&c->url);
    buf_reset(&c->resp);
    c->errbuf[0] = '\0';
    if (buf_append_str(&c->url, c->ep.base) || buf_append_str(&c->url, path) ||
        buf_append(&c->url, "", 1)) {
        snprintf(c->errbuf, sizeof c->errbuf, "out of memory");
        goto failed;
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url.data);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdr);
    /* Closing a failed client: its pooled connection is not trusted again. */
    curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, (long)c->fresh);
    c->fresh = 0;
    es_conn_method(c->easy, method, body, len);
    char err[256];
    if (curlm_add(c->g->m, c->easy, err, sizeof err) == 0)
        return;
    snprintf(c->errbuf, sizeof c->errbuf, "%s", err);
failed:
    /* Reported from the loop, as a finished transfer would be. */
    c->start_failed = 1;
    loop_arm(&c->timer, loop_now_ms());
}

/* 0 when the transfer got a 2xx answer; else -1 with the reason (curl's,
 * or the status and Elasticsearch's). */
static int answer_error(es_client *c, CURLcode rc, long status, char *err, size_t errlen)
{
    if (rc != CURLE_OK) {
        if (rc == CURLE_WRITE_ERROR && c->resp.len + 1 > RESPONSE_MAX)
            snprintf(err, errlen, "response larger than %u bytes", RESPONSE_MAX);
        else
            snprintf(err, errlen, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        return -1;
    }
    if (status >= 200 && status < 300)
        return 0;
    char reason[400];
    es_error_reason(c->resp.data, c->resp.len, reason, sizeof reason);
    snprintf(err, errlen, "%ld %s%s%s", status, es_status_text(status), reason[0] ? ": " : "",
             reason);
    return -1;
}

/* ---- state changes -------------------------------------------------------------- */

static void fail(es_client *c, const char *msg)
{
    if (strcmp(msg, c->last_err) != 0) {
        log_error("%s", msg);
        snprintf(c->last_err, sizeof c->last_err, "%s", msg);
    } else {
        log_debug("%s", msg);
    }
    if (c->state == C_VERSION)
        c->connect_failed = 1;
    c->fresh = 1;
    c->state = C_BACKOFF;
    int64_t wait = es_backoff_next(&c->backoff, (unsigned)rand_r(&c->g->seed));
    log_debug("reconnecting to %s in %lld ms", c->ep.base, (long long)wait);
    loop_arm(&c->timer, loop_now_ms() + wait);
}

static void become_ready(es_client *c)
{
    c->state = C_READY;
    c->g->h.ready(c->g->h.owner, c);
}

static void setup_step(es_client *c);

static void after_connect(es_client *c)
{
    es_group *g = c->g;
    switch (g->setup_state) {
    case SETUP_DONE:
        become_ready(c);
        break;
    case SETUP_RUNNING:
        c->state = C_SETUP_WAIT;
        break;
    case SETUP_PENDING:
        g->setup_state = SETUP_RUNNING;
        es_setup_restart(g->setup);
        c->state = C_SETUP;
        setup_step(c);
        break;
    }
}

/* The setup finished or failed: clients that waited for it move on (one of
 * them takes the setup over when it failed). */
static void wake_waiters(es_group *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->cl[i]->state == C_SETUP_WAIT)
            after_connect(g->cl[i]);
}

static void setup_step(es_client *c)
{
    es_group *g = c->g;
    const es_request *r = es_setup_next(g->setup);
    if (r) {
        send_req(c, r->method, r->path, r->body, r->len, g->hdr_plain);
        return;
    }
    g->setup_state = SETUP_DONE;
    become_ready(c);
    wake_waiters(g);
}

static void connect_start(es_client *c)
{
    c->state = C_VERSION;
    send_req(c, "GET", "/", NULL, 0, c->g->hdr_plain);
}

/* ---- answers, by state ---------------------------------------------------------- */

static void version_answered(es_client *c, CURLcode rc, long status)
{
    char why[512], err[768];
    es_version v;
    if (answer_error(c, rc, status, why, sizeof why) != 0 ||
        es_version_parse(c->resp.data, c->resp.len, &v, why, sizeof why) != 0 ||
        es_version_check(&v, c->g->c->output.elasticsearch.allow_older_versions, why, sizeof why) !=
            0) {
        snprintf(err, sizeof err, "Failed to connect to %s: %s", c->ep.base, why);
        fail(c, err);
        return;
    }
    if (!c->connected_once || c->connect_failed)
        log_info("Connection to %s established (Elasticsearch %s)", c->ep.base, v.number);
    c->connected_once = 1;
    c->connect_failed = 0;
    /* No backoff reset here: as libbeat's, only a delivered bulk resets it,
     * so a server that accepts connections but fails every bulk is not
     * hammered every init interval. */
    after_connect(c);
}

static void setup_answered(es_client *c, CURLcode rc, long status)
{
    es_group *g = c->g;
    char why[512], err[1024];
    int bad;
    if (rc != CURLE_OK) {
        answer_error(c, rc, status, why, sizeof why);
        snprintf(err, sizeof err, "error %s: %s", es_setup_step(g->setup), why);
        bad = 1;
    } else {
        bad = es_setup_feed(g->setup, status, c->resp.data, c->resp.len, err, sizeof err) != 0;
    }
    if (!bad) {
        setup_step(c);
        return;
    }
    g->setup_state = SETUP_PENDING;
    fail(c, err);
    wake_waiters(g);
}

static void bulk_answered(es_client *c, CURLcode rc, long status)
{
    char why[512] = "", err[768] = "";
    if (rc != CURLE_OK)
        answer_error(c, rc, status, why, sizeof why);
    es_reply r = {rc == CURLE_OK ? status : 0, c->resp.data, c->resp.len, why};
    void *req = c->req;
    c->req = NULL;
    c->state = C_ANSWERING; /* not ready while the output reads the answer */
    es_group *g = c->g;
    if (g->h.bulk_done(g->h.owner, req, &r, err, sizeof err) != 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s (%s)", err, c->ep.base);
        fail(c, msg);
        return;
    }
    c->last_err[0] = '\0';
    es_backoff_reset(&c->backoff);
    become_ready(c);
}

typedef void (*answer_fn)(es_client *c, CURLcode rc, long status);
static const answer_fn answers[C_ANSWERING + 1] = {
    [C_VERSION] = version_answered,
    [C_SETUP] = setup_answered,
    [C_BULK] = bulk_answered,
};

static void on_transfer(void *ctx, CURL *easy, CURLcode rc)
{
    (void)ctx;
    char *priv = NULL;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    es_client *c = (es_client *)(void *)priv;
    if (c && answers[c->state])
        answers[c->state](c, rc, status);
}

static void on_timer(void *ctx)
{
    es_client *c = ctx;
    if (c->start_failed) {
        c->start_failed = 0;
        if (answers[c->state])
            answers[c->state](c, CURLE_FAILED_INIT, 0);
    } else if (c->state == C_BACKOFF) {
        connect_start(c);
    }
}

/* ---- public --------------------------------------------------------------------- */

int es_client_is_ready(const es_client *c)
{
    return c->state == C_READY;
}

int es_client_is_connected(const es_client *c)
{
    return c->state == C_READY || c->state == C_BULK || c->state == C_ANSWERING;
}

void es_client_bulk(es_client *c, void *req, const char *body, size_t len, int gzip)
{
    c->req = req;
    c->state = C_BULK;
    send_req(c, "POST", c->g->bulk_path, body, len, gzip ? c->g->hdr_gzip : c->g->hdr_plain);
}

const char *es_client_url(const es_client *c)
{
    return c->ep.base;
}

static void client_free(es_client *c)
{
    if (!c)
        return;
    if (c->easy) {
        curlm_remove(c->g->m, c->easy);
        curl_easy_cleanup(c->easy);
    }
    loop_timer_remove(c->g->l, &c->timer);
    es_endpoint_free(&c->ep);
    buf_free(&c->resp);
    buf_free(&c->url);
    free(c);
}

static es_client *client_new(es_group *g, const char *host, char *err, size_t errlen)
{
    const es_config *ec = &g->c->output.elasticsearch;
    es_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->g = g;
    buf_init(&c->resp, RESPONSE_MAX);
    buf_init(&c->url, 0);
    loop_timer_add(g->l, &c->timer, on_timer, c);
    es_backoff_init(&c->backoff, ec->backoff.init_ms, ec->backoff.max_ms);
    if (es_endpoint_parse(host, ec->protocol, ec->path, ec->ssl.enabled, &c->ep, err, errlen) ||
        !(c->easy = curl_easy_init()) || es_conn_configure(c->easy, ec, err, errlen) != 0) {
        if (!c->easy && c->ep.base)
            snprintf(err, errlen, "out of memory");
        client_free(c);
        return NULL;
    }
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    return c;
}

static int group_requests(es_group *g, char *err, size_t errlen)
{
    const config *c = g->c;
    const es_config *ec = &c->output.elasticsearch;
    buf path;
    buf_init(&path, 0);
    if (es_bulk_path(&ec->parameters, &path) != 0 || buf_append(&path, "", 1) != 0) {
        buf_free(&path);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->bulk_path = buf_detach(&path, NULL);
    if (!(g->hdr_plain = es_headers_new(ec, 0, err, errlen)) ||
        (ec->compression_level > 0 && !(g->hdr_gzip = es_headers_new(ec, 1, err, errlen))))
        return -1;
    if (c->setup.ilm.enabled || c->setup.template_.enabled) {
        if (!(g->setup = es_setup_new(c, 0, err, errlen)))
            return -1;
    }
    g->setup_state = g->setup ? SETUP_PENDING : SETUP_DONE;
    return 0;
}

static int group_clients(es_group *g, char *err, size_t errlen)
{
    const es_config *ec = &g->c->output.elasticsearch;
    size_t workers = ec->worker > 0 ? (size_t)ec->worker : 1;
    if (ec->hosts.n == 0) {
        snprintf(err, errlen, "output.elasticsearch.hosts: at least one host is required");
        return -1;
    }
    g->cl = calloc(ec->hosts.n * workers, sizeof *g->cl);
    if (!g->cl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t h = 0; h < ec->hosts.n; h++)
        for (size_t w = 0; w < workers; w++) {
            if (!(g->cl[g->n] = client_new(g, ec->hosts.v[h], err, errlen)))
                return -1;
            g->n++;
        }
    return 0;
}

es_group *es_group_new(const config *c, loop *l, const es_client_hooks *h, char *err, size_t errlen)
{
    es_group *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->c = c;
    g->l = l;
    g->h = *h;
    g->seed = (unsigned)clock_mono_ns();
    if (!(g->m = curlm_new(l, on_transfer, g))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (group_requests(g, err, errlen) != 0 || group_clients(g, err, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < g->n; i++)
        connect_start(g->cl[i]);
    return g;
fail:
    es_group_free(g);
    return NULL;
}

void es_group_free(es_group *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        client_free(g->cl[i]);
    free(g->cl);
    curlm_free(g->m);
    curl_slist_free_all(g->hdr_plain);
    curl_slist_free_all(g->hdr_gzip);
    free(g->bulk_path);
    es_setup_free(g->setup);
    free(g);
}

size_t es_group_size(const es_group *g)
{
    return g->n;
}

es_client *es_group_client(const es_group *g, size_t i)
{
    return g->cl[i];
}
