/* jsonw: compact JSON text written byte for byte as yajl_gen writes it (no
 * beautify, no solidus escaping, control bytes as \u00XX in uppercase hex),
 * for the hot decode path, where yajl_gen's per-call state checks and print
 * callback cost more than the parse.  The caller keeps the nesting right;
 * jsonw only places commas and colons.  jsonw_mark/jsonw_rewind take back
 * what was written since a mark, so a key can be written before its value is
 * known and withdrawn when the value turns out to be dropped.  The finished
 * text goes into a yajl_gen as one value with jsonw_splice.  Owns its bytes. */
#ifndef EXPVARBEAT_JSONW_H
#define EXPVARBEAT_JSONW_H

#include <stddef.h>
#include <string.h>
#include <yajl/yajl_gen.h>

typedef struct jsonw {
    char *data;
    size_t len, cap;
    int comma; /* the next key or element needs a ',' first */
} jsonw;

typedef struct jsonw_mark {
    size_t len;
    int comma;
} jsonw_mark;

/* hint: expected size of the text (one allocation when right). */
void jsonw_init(jsonw *w, size_t hint);
void jsonw_free(jsonw *w);

/* Makes room for n more bytes.  0, or -1 when memory runs out. */
int jsonw_grow(jsonw *w, size_t n);

static inline int jsonw_reserve(jsonw *w, size_t n)
{
    return n <= w->cap - w->len ? 0 : jsonw_grow(w, n);
}

/* memcpy for the few bytes of a number or key: fixed-size moves that the
 * compiler inlines, where a variable-length memcpy is a library call. */
static inline void jsonw_copy(char *d, const char *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n > 0 && n < 4) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    } else if (n > 16) {
        memcpy(d, s, n);
    }
}

/* A string value, or a key when is_key (followed by ':'). */
int jsonw_string(jsonw *w, const char *s, size_t n, int is_key);

/* A value already in JSON form: a number's text, true, false, null. */
static inline int jsonw_raw(jsonw *w, const char *s, size_t n)
{
    if (jsonw_reserve(w, n + 1) != 0)
        return -1;
    if (w->comma)
        w->data[w->len++] = ',';
    jsonw_copy(w->data + w->len, s, n);
    w->len += n;
    w->comma = 1;
    return 0;
}

/* '{' or '[' */
static inline int jsonw_open(jsonw *w, char c)
{
    if (jsonw_reserve(w, 2) != 0)
        return -1;
    if (w->comma)
        w->data[w->len++] = ',';
    w->data[w->len++] = c;
    w->comma = 0;
    return 0;
}

/* '}' or ']' */
static inline int jsonw_close(jsonw *w, char c)
{
    if (jsonw_reserve(w, 1) != 0)
        return -1;
    w->data[w->len++] = c;
    w->comma = 1;
    return 0;
}

static inline jsonw_mark jsonw_mark_here(const jsonw *w)
{
    return (jsonw_mark){w->len, w->comma};
}

static inline void jsonw_rewind(jsonw *w, jsonw_mark m)
{
    w->len = m.len;
    w->comma = m.comma;
}

/* Writes the text as one value into g (which must expect a value). */
yajl_gen_status jsonw_splice(const jsonw *w, yajl_gen g);

#endif
