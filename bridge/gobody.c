/* gobody: runs yajl over a /debug/vars body and answers the way Go's
 * json.Unmarshal would (see gobody.h).  Owns the precedence of errors
 * (syntax, then the decoder's reason, then yajl's words) and the two spots
 * where yajl reads bytes differently from Go: \f and \v, which yajl skips as
 * whitespace, and surrogate \u escapes, which Go maps to U+FFFD unless they
 * form a valid pair.  Callers: the metricset decoders. */
#include "gobody.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gojson.h"

static int put(char *msg, size_t msglen, const char *prefix, const char *text)
{
    snprintf(msg, msglen, "%s%s", prefix, text);
    return -1;
}

static long hex4(const char *p, size_t n, size_t at)
{
    long v = 0;
    if (at + 4 > n)
        return -1;
    for (size_t i = at; i < at + 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A cheap over-approximation: some \uD8xx-\uDFxx text, maybe not in a string. */
static int may_have_surrogate(const char *p, size_t n)
{
    const char *end = p + n;
    while ((p = memchr(p, '\\', (size_t)(end - p))) && end - p >= 4) {
        char c = p[3];
        if (p[1] == 'u' && (p[2] == 'd' || p[2] == 'D') &&
            ((c >= '8' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 1;
        p += 2;
    }
    return 0;
}

/* Rewrites, in place, each surrogate escape that is not half of a valid
 * pair to \ufffd (same length), so yajl decodes what Go decodes. */
static void fix_surrogates(char *p, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            in_str = !in_str;
        if (!in_str || p[i] != '\\' || i + 1 >= n)
            continue;
        long r = p[i + 1] == 'u' ? hex4(p, n, i + 2) : -1;
        if (r < 0) {
            i++; /* skip the escaped byte, which may be a quote */
            continue;
        }
        if (r >= 0xD800 && r < 0xE000) {
            long r2 = i + 7 < n && p[i + 6] == '\\' && p[i + 7] == 'u' ? hex4(p, n, i + 8) : -1;
            if (r < 0xDC00 && r2 >= 0xDC00 && r2 < 0xE000) {
                i += 11;
                continue;
            }
            memcpy(p + i, "\\ufffd", 6);
        }
        i += 5;
    }
}

static int yajl_words(yajl_handle h, const char *src, size_t len, const char *prefix, char *msg,
                      size_t msglen)
{
    unsigned char *e = yajl_get_error(h, 0, (const unsigned char *)src, len);
    if (!e)
        return put(msg, msglen, prefix, "invalid JSON");
    size_t n = strlen((char *)e);
    while (n > 0 && (e[n - 1] == '\n' || e[n - 1] == ' '))
        e[--n] = '\0';
    put(msg, msglen, prefix, (char *)e);
    yajl_free_error(h, e);
    return -1;
}

/* Forwards yajl events to the decoder while noting where the top-level
 * value ends: yajl lets an unterminated string after it pass as EOF. */
typedef struct relay {
    const yajl_callbacks *cb;
    void *ctx;
    yajl_handle h;
    int depth;
    int finishing; /* inside yajl_complete_parse: offsets are not the body's */
    int top_done;
    size_t top_end;
} relay;

static int noted(relay *r, int rc, int depth_change)
{
    r->depth += depth_change;
    if (rc && r->depth == 0 && depth_change <= 0 && !r->top_done) {
        r->top_done = 1;
        r->top_end = r->finishing ? (size_t)-1 : yajl_get_bytes_consumed(r->h);
    }
    return rc;
}

static int r_null(void *c)
{
    relay *r = c;
    return noted(r, r->cb->yajl_null ? r->cb->yajl_null(r->ctx) : 1, 0);
}

static int r_bool(void *c, int v)
{
    relay *r = c;
    return noted(r, r->cb->yajl_boolean ? r->cb->yajl_boolean(r->ctx, v) : 1, 0);
}

static int r_number(void *c, const char *s, size_t n)
{
    relay *r = c;
    return noted(r, r->cb->yajl_number ? r->cb->yajl_number(r->ctx, s, n) : 1, 0);
}

static int r_string(void *c, const unsigned char *s, size_t n)
{
    relay *r = c;
    return noted(r, r->cb->yajl_string ? r->cb->yajl_string(r->ctx, s, n) : 1, 0);
}

static int r_key(void *c, const unsigned char *s, size_t n)
{
    relay *r = c;
    return r->cb->yajl_map_key ? r->cb->yajl_map_key(r->ctx, s, n) : 1;
}

static int r_start_map(void *c)
{
    relay *r = c;
    return noted(r, r->cb->yajl_start_map ? r->cb->yajl_start_map(r->ctx) : 1, 1);
}

static int r_end_map(void *c)
{
    relay *r = c;
    return noted(r, r->cb->yajl_end_map ? r->cb->yajl_end_map(r->ctx) : 1, -1);
}

static int r_start_array(void *c)
{
    relay *r = c;
    return noted(r, r->cb->yajl_start_array ? r->cb->yajl_start_array(r->ctx) : 1, 1);
}

static int r_end_array(void *c)
{
    relay *r = c;
    return noted(r, r->cb->yajl_end_array ? r->cb->yajl_end_array(r->ctx) : 1, -1);
}

static int run(relay *r, const char *src, size_t len, yajl_status *st, char *msg, size_t msglen,
               const char *prefix)
{
    static const yajl_callbacks relay_cb = {
        r_null,      r_bool, NULL,      NULL,          r_number,    r_string,
        r_start_map, r_key,  r_end_map, r_start_array, r_end_array,
    };
    if (!(r->h = yajl_alloc(&relay_cb, NULL, r)))
        return put(msg, msglen, prefix, "out of memory");
    yajl_config(r->h, yajl_dont_validate_strings, 1);
    *st = yajl_parse(r->h, (const unsigned char *)src, len);
    r->finishing = 1;
    if (*st == yajl_status_ok)
        *st = yajl_complete_parse(r->h);
    if (*st == yajl_status_error)
        yajl_words(r->h, src, len, prefix, msg, msglen);
    yajl_free(r->h);
    return 0;
}

/* Only Go whitespace may follow the top-level value. */
static int clean_tail(const relay *r, const char *body, size_t len)
{
    if (r->top_end == (size_t)-1)
        return 1;
    for (size_t i = r->top_end; i < len; i++)
        if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n')
            return 0;
    return 1;
}

int gobody_parse(const char *body, size_t len, const yajl_callbacks *cb, void *ctx,
                 const char *reason, const char *prefix, char *msg, size_t msglen)
{
    char gomsg[128];
    if (!body)
        body = ""; /* len is 0; keeps memchr/memcpy off NULL */
    if ((memchr(body, '\f', len) || memchr(body, '\v', len)) &&
        gojson_check(body, len, gomsg, sizeof gomsg) < 0)
        return put(msg, msglen, prefix, gomsg);
    char *fixed = NULL;
    if (may_have_surrogate(body, len)) {
        if (!(fixed = malloc(len)))
            return put(msg, msglen, prefix, "out of memory");
        memcpy(fixed, body, len);
        fix_surrogates(fixed, len);
    }
    yajl_status st = yajl_status_ok;
    relay r = {.cb = cb, .ctx = ctx, .top_end = (size_t)-1};
    int rc = run(&r, fixed ? fixed : body, len, &st, msg, msglen, prefix);
    free(fixed);
    if (rc < 0 || (st == yajl_status_ok && clean_tail(&r, body, len)))
        return rc;
    if (gojson_check(body, len, gomsg, sizeof gomsg) < 0)
        return put(msg, msglen, prefix, gomsg);
    if (st == yajl_status_client_canceled)
        return put(msg, msglen, prefix, reason[0] ? reason : "decoding stopped");
    if (st == yajl_status_ok)
        return put(msg, msglen, prefix, "trailing data after the JSON value");
    return -1; /* yajl's words are already in msg */
}

/* Length of the valid UTF-8 sequence at s (Go's utf8.DecodeRune rules:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

int gobody_utf8(const char *s, size_t n, buf *scratch, const char **out, size_t *outlen)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, k;
    while (i < n && (k = utf8_seq(u + i, n - i)) > 0)
        i += k;
    *out = s;
    *outlen = n;
    if (i == n)
        return 0;
    buf_reset(scratch);
    if (buf_append(scratch, s, i) != BUF_OK)
        return -1;
    while (i < n) {
        k = utf8_seq(u + i, n - i);
        int rc = k ? buf_append(scratch, s + i, k) : buf_append(scratch, "\xEF\xBF\xBD", 3);
        if (rc != BUF_OK)
            return -1;
        i += k ? k : 1;
    }
    *out = scratch->data;
    *outlen = scratch->len;
    return 0;
}
