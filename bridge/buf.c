/* buf: growable byte buffer with a hard cap (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int buf_grow(buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return BUF_ENOMEM;
    b->data = p;
    b->cap = cap;
    return BUF_OK;
}

int buf_append(buf *b, const void *p, size_t n)
{
    if (b->max && (n > b->max || b->len > b->max - n))
        return BUF_ETOOBIG;
    /* +1 keeps room for the NUL that buf_detach adds. */
    if (b->len + n + 1 > b->cap && buf_grow(b, b->len + n + 1) != BUF_OK)
        return BUF_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return BUF_OK;
}

int buf_append_str(buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

void buf_reset(buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *buf_detach(buf *b, size_t *len)
{
    if (!b->data && buf_grow(b, 1) != BUF_OK)
        return NULL;
    char *p = b->data;
    p[b->len] = '\0';
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void buf_free(buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
