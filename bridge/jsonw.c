/* jsonw: yajl_gen's compact output without its per-call cost (see jsonw.h).
 * The escaping table mirrors yajl_string_encode with escape_solidus off, so
 * documents keep the exact bytes the golden tests pin. */
#include "jsonw.h"

#include <stdint.h>
#include <stdlib.h>

void jsonw_init(jsonw *w, size_t hint)
{
    w->data = NULL;
    w->len = w->cap = 0;
    w->comma = 0;
    if (hint)
        jsonw_grow(w, hint); /* a failure here shows up at the first write */
}

void jsonw_free(jsonw *w)
{
    free(w->data);
    w->data = NULL;
    w->len = w->cap = 0;
}

int jsonw_grow(jsonw *w, size_t n)
{
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > ((size_t)-1) / 2)
            return -1;
        cap *= 2;
    }
    char *p = realloc(w->data, cap);
    if (!p)
        return -1;
    w->data = p;
    w->cap = cap;
    return 0;
}

/* 0: written as is; else the escape's second character ('u': \u00xx). */
static const char escape_of[256] = {
    ['\b'] = 'b',  ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r', ['"'] = '"',
    ['\\'] = '\\', [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u',
    [0x05] = 'u',  [0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u',
    [0x10] = 'u',  [0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u',
    [0x16] = 'u',  [0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u',
    [0x1c] = 'u',  [0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u',
};

/* Some byte of the word is below 0x20, '"' or '\\' (exact, no false hits). */
static int needs_escape(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = ones << 7;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high) != 0;
}

/* Room is reserved for the plain case (quotes, comma, colon) and grown at
 * each escape, so a long string costs its length, not six times it. */
int jsonw_string(jsonw *w, const char *s, size_t n, int is_key)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s) /* (NULL, 0): an empty buffer, e.g. the cmdline of "cmdline": [] */
        s = "";
    if (jsonw_reserve(w, n + 4) != 0)
        return -1;
    if (w->comma)
        w->data[w->len++] = ',';
    w->data[w->len++] = '"';
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the bytes not copied yet */
    size_t i = 0;
    for (uint64_t x; n - i >= 8; i += 8) { /* most text has nothing to escape */
        memcpy(&x, s + i, 8);
        if (needs_escape(x))
            break;
    }
    for (; i < n; i++) {
        char esc = escape_of[u[i]];
        if (!esc)
            continue;
        if (jsonw_reserve(w, (i - run) + 6 + (n - i) + 2) != 0)
            return -1;
        char *o = w->data + w->len;
        memcpy(o, s + run, i - run);
        o += i - run;
        run = i + 1;
        *o++ = '\\';
        *o++ = esc;
        if (esc == 'u') {
            memcpy(o, "00", 2);
            o[2] = hex[u[i] >> 4];
            o[3] = hex[u[i] & 15];
            o += 4;
        }
        w->len = (size_t)(o - w->data);
    }
    jsonw_copy(w->data + w->len, s + run, n - run);
    w->len += n - run;
    w->data[w->len++] = '"';
    if (is_key)
        w->data[w->len++] = ':';
    w->comma = !is_key;
    return 0;
}

yajl_gen_status jsonw_splice(const jsonw *w, yajl_gen g)
{
    /* yajl_gen_number writes its text verbatim as one value: the only way
     * into a yajl_gen for text that is already JSON. */
    return yajl_gen_number(g, w->data ? w->data : "{}", w->data ? w->len : 2);
}
