/* es_bulk: the _bulk wire format (see es_bulk.h).  Owns the action line,
 * the dead-letter rewrite and the reading of bulk responses.  The response
 * reader is a streaming yajl state machine rather than a tree: it keeps
 * only what a verdict needs (status, error type/reason, caused_by), skips
 * everything else, and refuses any body it cannot map one-to-one onto the
 * events sent, because acking an event Elasticsearch did not confirm is
 * the one mistake an at-least-once output must never make. */
#include "es_bulk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

/* ---- encoding ------------------------------------------------------------ */

#define GEN_STR(g, s) yajl_gen_string((g), (const unsigned char *)(s), strlen(s))

/* libbeat lowercases index and pipeline names (ASCII here: Elasticsearch
 * rejects the other upper-case letters itself, per item, with a reason). */
static char *lower_dup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    return d;
}

/* Appends the generator's text and a newline. */
static int gen_flush(buf *out, yajl_gen g)
{
    const unsigned char *p;
    size_t n;
    if (yajl_gen_get_buf(g, &p, &n) != yajl_gen_status_ok)
        return -1;
    if (buf_append(out, p, n) != BUF_OK || buf_append(out, "\n", 1) != BUF_OK)
        return -1;
    return 0;
}

static int append_action(buf *out, const char *index, const char *pipeline)
{
    char *idx = lower_dup(index);
    char *pipe = pipeline ? lower_dup(pipeline) : NULL;
    yajl_gen g = yajl_gen_alloc(NULL);
    int rc = -1;
    if (idx && (pipe || !pipeline) && g) {
        yajl_gen_map_open(g);
        GEN_STR(g, "create");
        yajl_gen_map_open(g);
        GEN_STR(g, "_index");
        GEN_STR(g, idx);
        if (pipe) {
            GEN_STR(g, "pipeline");
            GEN_STR(g, pipe);
        }
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        rc = gen_flush(out, g);
    }
    if (g)
        yajl_gen_free(g);
    free(idx);
    free(pipe);
    return rc;
}

/* On failure the buffer is put back as it was, so a caller that hit the cap
 * can send what it has and append this event to the next request. */
static int restore(buf *out, size_t len)
{
    out->len = len;
    if (out->data)
        out->data[len] = '\0';
    return -1;
}

int es_bulk_append(buf *out, const char *index, const char *pipeline, const char *doc,
                   size_t doc_len)
{
    size_t mark = out->len;
    if (append_action(out, index, pipeline) != 0 || buf_append(out, doc, doc_len) != BUF_OK ||
        buf_append(out, "\n", 1) != BUF_OK)
        return restore(out, mark);
    return 0;
}

/* The document's top-level "@timestamp" string, so that the dead-letter
 * document lands in the same time range as the event it replaces. */
typedef struct ts_find {
    int depth, is_ts, found;
    char ts[64];
} ts_find;

static int tsf_key(void *ctx, const unsigned char *k, size_t n)
{
    ts_find *t = ctx;
    t->is_ts = t->depth == 1 && n == 10 && memcmp(k, "@timestamp", 10) == 0;
    return 1;
}

static int tsf_string(void *ctx, const unsigned char *s, size_t n)
{
    ts_find *t = ctx;
    if (!t->is_ts)
        return 1;
    if (n < sizeof t->ts) {
        memcpy(t->ts, s, n);
        t->ts[n] = '\0';
        t->found = 1;
    }
    return 0;
}

static int tsf_scalar(void *ctx)
{
    ((ts_find *)ctx)->is_ts = 0;
    return 1;
}

static int tsf_bool(void *ctx, int b)
{
    (void)b;
    return tsf_scalar(ctx);
}

static int tsf_number(void *ctx, const char *s, size_t n)
{
    (void)s;
    (void)n;
    return tsf_scalar(ctx);
}

static int tsf_open(void *ctx)
{
    ts_find *t = ctx;
    t->depth++;
    t->is_ts = 0;
    return 1;
}

static int tsf_close(void *ctx)
{
    ts_find *t = ctx;
    t->depth--;
    return 1;
}

static const yajl_callbacks tsf_callbacks = {
    .yajl_null = tsf_scalar,
    .yajl_boolean = tsf_bool,
    .yajl_number = tsf_number,
    .yajl_string = tsf_string,
    .yajl_start_map = tsf_open,
    .yajl_map_key = tsf_key,
    .yajl_end_map = tsf_close,
    .yajl_start_array = tsf_open,
    .yajl_end_array = tsf_close,
};

static void find_timestamp(const char *doc, size_t len, ts_find *t)
{
    yajl_handle h = yajl_alloc(&tsf_callbacks, NULL, t);
    if (!h)
        return;
    yajl_parse(h, (const unsigned char *)doc, len);
    yajl_free(h);
}

static int gen_dead_letter(yajl_gen g, const char *doc, size_t doc_len, int status,
                           const char *reason)
{
    ts_find t = {0};
    find_timestamp(doc, doc_len, &t);
    yajl_gen_map_open(g);
    if (t.found) {
        GEN_STR(g, "@timestamp");
        GEN_STR(g, t.ts);
    }
    GEN_STR(g, "message");
    yajl_gen_string(g, (const unsigned char *)doc, doc_len);
    GEN_STR(g, "error");
    yajl_gen_map_open(g);
    GEN_STR(g, "type");
    yajl_gen_integer(g, status);
    GEN_STR(g, "message");
    GEN_STR(g, reason ? reason : "");
    yajl_gen_map_close(g);
    return yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -1;
}

int es_bulk_append_dead_letter(buf *out, const char *dli, const char *doc, size_t doc_len,
                               int status, const char *reason)
{
    size_t mark = out->len;
    yajl_gen g = yajl_gen_alloc(NULL);
    int rc = -1;
    if (g && append_action(out, dli, NULL) == 0 &&
        gen_dead_letter(g, doc, doc_len, status, reason) == 0)
        rc = gen_flush(out, g);
    if (g)
        yajl_gen_free(g);
    return rc != 0 ? restore(out, mark) : 0;
}

/* ---- response classification --------------------------------------------- */

es_http_class es_bulk_http_class(long status)
{
    if (status == 413)
        return ES_HTTP_SPLIT;
    if (status >= 200 && status < 300)
        return ES_HTTP_ITEMS;
    return ES_HTTP_RETRY_ALL;
}

static es_item_class item_class(int status)
{
    if (status < 300)
        return ES_ITEM_OK; /* libbeat: "< 300 acked" */
    if (status == 409)
        return ES_ITEM_DUPLICATE;
    if (status == 429 || status >= 500)
        return ES_ITEM_RETRY;
    return ES_ITEM_REJECT;
}

/* What the next value means, from the key that precedes it. */
typedef enum {
    P_NONE,
    P_SKIP,
    P_ERRORS,
    P_ITEMS,
    P_ACTION,
    P_STATUS,
    P_ERROR,
    P_ETYPE,
    P_EREASON,
    P_CAUSED,
    P_CTYPE,
    P_CREASON,
} pend;

/* Depths once inside: 1 response object, 2 items array, 3 one item
 * ({"create":{...}}), 4 the action's object, 5 its error, 6 caused_by. */
enum { D_TOP = 1, D_ITEMS, D_ITEM, D_ACTION, D_ERROR, D_CAUSED };

typedef struct rparse {
    es_item *items;
    size_t n, count;
    int depth;
    int skip; /* > 0: ignoring a value until depth returns to this */
    pend expect;
    int errors; /* -1 absent */
    int saw_items, in_items, has_action, has_status;
    long long status;
    char etype[128], ereason[512], ctype[128], creason[512];
    char *err;
    size_t errlen;
    int failed;
} rparse;

__attribute__((format(printf, 2, 3))) static int rp_fail(rparse *r, const char *fmt, ...)
{
    if (!r->failed && r->err && r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    r->failed = 1;
    return 0;
}

/* Length of s[0..n) cut to fit cap-1 bytes without splitting a UTF-8
 * sequence: the reason ends up in a log line and maybe a document. */
static size_t utf8_fit(const char *s, size_t n, size_t cap)
{
    if (n < cap)
        return n;
    n = cap - 1; /* s[n] is the first byte left out */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void copy_text(char *dst, size_t cap, const unsigned char *s, size_t n)
{
    n = utf8_fit((const char *)s, n, cap);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

typedef enum { V_NULL, V_BOOL, V_NUM, V_STRING } vkind;

/* The members we read, by the depth of the object that holds them.  Every
 * other member is skipped, whatever its shape. */
static const struct rkey {
    int depth;
    const char *key;
    pend expect;
} rkeys[] = {
    {D_TOP, "errors", P_ERRORS},      {D_TOP, "items", P_ITEMS},   {D_ACTION, "status", P_STATUS},
    {D_ACTION, "error", P_ERROR},     {D_ERROR, "type", P_ETYPE},  {D_ERROR, "reason", P_EREASON},
    {D_ERROR, "caused_by", P_CAUSED}, {D_CAUSED, "type", P_CTYPE}, {D_CAUSED, "reason", P_CREASON},
};

static int rp_key(void *ctx, const unsigned char *k, size_t n)
{
    rparse *r = ctx;
    if (r->skip)
        return 1;
    r->expect = P_SKIP;
    if (r->depth == D_ITEM) { /* "create", "index", ...: the first one counts */
        r->expect = r->has_action ? P_SKIP : P_ACTION;
        return 1;
    }
    for (size_t i = 0; i < sizeof rkeys / sizeof rkeys[0]; i++)
        if (rkeys[i].depth == r->depth && strlen(rkeys[i].key) == n &&
            memcmp(rkeys[i].key, k, n) == 0)
            r->expect = rkeys[i].expect;
    return 1;
}

/* An item status is a three-digit integer; anything else is not a bulk
 * response we can trust. */
static int rp_status(rparse *r, vkind k, const unsigned char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; k == V_NUM && i < n && n == 3; i++)
        v = s[i] >= '0' && s[i] <= '9' ? v * 10 + (s[i] - '0') : -1000;
    if (k != V_NUM || n != 3 || v < 100)
        return rp_fail(r, "bulk response item %zu has an invalid status", r->count);
    r->status = v;
    r->has_status = 1;
    return 1;
}

static int rp_value(rparse *r, vkind k, const unsigned char *s, size_t n, int b)
{
    if (r->skip)
        return 1;
    pend p = r->expect;
    r->expect = P_NONE;
    if (r->depth == 0)
        return rp_fail(r, "bulk response is not a JSON object");
    if (r->depth == D_ITEMS && r->in_items)
        return rp_fail(r, "bulk response item %zu is not an object", r->count);
    int str = k == V_STRING;
    switch (p) {
    case P_ERRORS:
        r->errors = k == V_BOOL ? b : r->errors;
        return 1;
    case P_ITEMS:
        return rp_fail(r, "bulk response \"items\" is not an array");
    case P_STATUS:
        return rp_status(r, k, s, n);
    case P_ERROR: /* before 5.0 the error was a string */
    case P_EREASON:
        if (str)
            copy_text(r->ereason, sizeof r->ereason, s, n);
        return 1;
    case P_ETYPE:
        if (str)
            copy_text(r->etype, sizeof r->etype, s, n);
        return 1;
    case P_CTYPE:
        if (str)
            copy_text(r->ctype, sizeof r->ctype, s, n);
        return 1;
    case P_CREASON:
        if (str)
            copy_text(r->creason, sizeof r->creason, s, n);
        return 1;
    default:
        return 1;
    }
}

static int rp_null(void *ctx)
{
    return rp_value(ctx, V_NULL, NULL, 0, 0);
}

static int rp_bool(void *ctx, int b)
{
    return rp_value(ctx, V_BOOL, NULL, 0, b);
}

static int rp_number(void *ctx, const char *s, size_t n)
{
    return rp_value(ctx, V_NUM, (const unsigned char *)s, n, 0);
}

static int rp_string(void *ctx, const unsigned char *s, size_t n)
{
    return rp_value(ctx, V_STRING, s, n, 0);
}

static void item_begin(rparse *r)
{
    r->has_action = r->has_status = 0;
    r->status = 0;
    r->etype[0] = r->ereason[0] = r->ctype[0] = r->creason[0] = '\0';
}

static int rp_open(rparse *r, int is_map)
{
    if (r->skip) {
        r->depth++;
        return 1;
    }
    pend p = r->expect;
    r->expect = P_NONE;
    if (r->depth == 0 && !is_map)
        return rp_fail(r, "bulk response is not a JSON object");
    if (r->depth == D_ITEMS && r->in_items) {
        if (!is_map)
            return rp_fail(r, "bulk response item %zu is not an object", r->count);
        item_begin(r);
    } else if (p == P_ITEMS) {
        if (is_map)
            return rp_fail(r, "bulk response \"items\" is not an array");
        r->saw_items = r->in_items = 1;
    } else if (p == P_STATUS) {
        return rp_status(r, V_NULL, NULL, 0);
    } else if (is_map && p == P_ACTION) {
        r->has_action = 1;
    } else if (!(r->depth == 0 || (is_map && (p == P_ERROR || p == P_CAUSED)))) {
        r->skip = r->depth;
    }
    r->depth++;
    return 1;
}

static int rp_start_map(void *ctx)
{
    return rp_open(ctx, 1);
}

static int rp_start_array(void *ctx)
{
    return rp_open(ctx, 0);
}

/* "type: reason (caused by: type: reason)", or as much of it as was sent. */
static void join_error(char *out, size_t cap, const char *type, const char *reason)
{
    snprintf(out, cap, "%s%s%s", type, type[0] && reason[0] ? ": " : "", reason);
}

static void item_reason(const rparse *r, char *out, size_t cap)
{
    char head[sizeof r->etype + sizeof r->ereason + 2];
    char cause[sizeof r->ctype + sizeof r->creason + 2];
    char full[sizeof head + sizeof cause + 16];
    join_error(head, sizeof head, r->etype, r->ereason);
    join_error(cause, sizeof cause, r->ctype, r->creason);
    snprintf(full, sizeof full, cause[0] ? "%s (caused by: %s)" : "%s", head, cause);
    copy_text(out, cap, (const unsigned char *)full, strlen(full));
}

static int item_end(rparse *r)
{
    size_t k = r->count++;
    if (!r->has_status)
        return rp_fail(r, "bulk response item %zu has no status", k);
    if (k >= r->n)
        return 1; /* counted, and reported once the whole body is read */
    es_item *it = &r->items[k];
    it->status = (int)r->status;
    it->cls = item_class(it->status);
    item_reason(r, it->reason, sizeof it->reason);
    return 1;
}

static int rp_close(void *ctx)
{
    rparse *r = ctx;
    r->depth--;
    r->expect = P_NONE;
    if (r->skip) {
        if (r->depth == r->skip)
            r->skip = 0;
        return 1;
    }
    if (r->depth == D_ITEMS && r->in_items)
        return item_end(r);
    if (r->depth == D_TOP && r->in_items)
        r->in_items = 0;
    return 1;
}

static const yajl_callbacks rp_callbacks = {
    .yajl_null = rp_null,
    .yajl_boolean = rp_bool,
    .yajl_number = rp_number,
    .yajl_string = rp_string,
    .yajl_start_map = rp_start_map,
    .yajl_map_key = rp_key,
    .yajl_end_map = rp_close,
    .yajl_start_array = rp_start_array,
    .yajl_end_array = rp_close,
};

/* yajl's one-line reason plus the start of the body: a proxy's HTML error
 * page is then recognisable in the log. */
static void not_json(rparse *r, yajl_handle h, const char *body, size_t len)
{
    unsigned char *m = yajl_get_error(h, 0, (const unsigned char *)body, len);
    size_t mlen = m ? strlen((char *)m) : 0;
    while (mlen > 0 && (m[mlen - 1] == '\n' || m[mlen - 1] == ' '))
        m[--mlen] = '\0';
    char head[61];
    size_t n = len < sizeof head - 1 ? len : sizeof head - 1;
    for (size_t i = 0; i < n; i++)
        head[i] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : '?';
    head[n] = '\0';
    rp_fail(r, "bulk response is not JSON (%s): %s", m ? (char *)m : "parse error", head);
    if (m)
        yajl_free_error(h, m);
}

static int rp_finish(rparse *r)
{
    if (r->saw_items) {
        if (r->count == r->n)
            return 0;
        rp_fail(r, "bulk response has %zu items for %zu events", r->count, r->n);
        return -1;
    }
    if (r->errors == 0) { /* {"errors":false} alone: Elasticsearch took all */
        for (size_t i = 0; i < r->n; i++)
            r->items[i] = (es_item){.status = 200, .cls = ES_ITEM_OK};
        return 0;
    }
    rp_fail(r, r->errors == 1 ? "bulk response has errors but no items"
                              : "bulk response has neither items nor errors");
    return -1;
}

int es_bulk_response_parse(const char *body, size_t len, size_t n, es_item *items, char *err,
                           size_t errlen)
{
    rparse r = {.items = items, .n = n, .errors = -1, .err = err, .errlen = errlen};
    if (len == 0) {
        rp_fail(&r, "bulk response body is empty");
        return -1;
    }
    yajl_handle h = yajl_alloc(&rp_callbacks, NULL, &r);
    if (!h) {
        rp_fail(&r, "out of memory");
        return -1;
    }
    yajl_status st = yajl_parse(h, (const unsigned char *)body, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    if (st == yajl_status_error)
        not_json(&r, h, body, len);
    yajl_free(h);
    return r.failed ? -1 : rp_finish(&r);
}
