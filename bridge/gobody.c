/* gobody: runs yajl over a /debug/vars body and answers the way Go's
 * json.Unmarshal would (see gobody.h).  Owns the precedence of errors
 * (syntax, then the decoder's reason, then yajl's words) and the two spots
 * where yajl reads bytes differently from Go: \f and \v, which yajl skips as
 * whitespace, surrogate \u escapes, which Go maps to U+FFFD unless they
 * form a valid pair, and an unterminated string after the top-level value,
 * which yajl lets pass (so yajl stops at the value's end and gobody judges
 * the rest).  Callers: the metricset decoders. */
#include "gobody.h"

#include <stdint.h>
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

/* yajl is told to stop at the end of the top-level value (trailing
 * garbage allowed) and *top_end says where that was: yajl would otherwise
 * let an unterminated string after the value pass as a value cut short by
 * the end of input, and clean_tail judges the rest as Go does. */
static int run(const yajl_callbacks *cb, void *ctx, const char *src, size_t len, yajl_status *st,
               size_t *top_end, char *msg, size_t msglen, const char *prefix)
{
    yajl_handle h = yajl_alloc(cb, NULL, ctx);
    if (!h)
        return put(msg, msglen, prefix, "out of memory");
    yajl_config(h, yajl_dont_validate_strings, 1);
    yajl_config(h, yajl_allow_trailing_garbage, 1);
    *st = yajl_parse(h, (const unsigned char *)src, len);
    *top_end = yajl_get_bytes_consumed(h); /* before complete_parse resets it */
    if (*st == yajl_status_ok)
        *st = yajl_complete_parse(h);
    if (*st == yajl_status_error)
        yajl_words(h, src, len, prefix, msg, msglen);
    yajl_free(h);
    return 0;
}

/* Only Go whitespace may follow the top-level value. */
static int clean_tail(const char *body, size_t len, size_t top_end)
{
    for (size_t i = top_end; i < len; i++)
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
    size_t top_end = len;
    int rc = run(cb, ctx, fixed ? fixed : body, len, &st, &top_end, msg, msglen, prefix);
    free(fixed);
    if (rc < 0 || (st == yajl_status_ok && clean_tail(body, len, top_end)))
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
    for (uint64_t w; n - i >= 8; i += 8) { /* ASCII, the common case, a word at a time */
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL)
            break;
    }
    while (i < n && u[i] < 0x80)
        i++;
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
