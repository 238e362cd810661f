/* buf: a growable byte buffer with a hard cap.
 * Owns its bytes. Used for response bodies, rendered documents and batches.
 * Appends beyond `max` fail without changing the buffer, so a caller can tell
 * "too big" from "out of memory" via buf_append's return value. */
#ifndef EXPVARBEAT_BUF_H
#define EXPVARBEAT_BUF_H

#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 = unlimited */
} buf;

enum { BUF_OK = 0, BUF_ENOMEM = -1, BUF_ETOOBIG = -2 };

void buf_init(buf *b, size_t max);
int buf_append(buf *b, const void *p, size_t n);
int buf_append_str(buf *b, const char *s);
/* Keeps the allocation, forgets the contents. */
void buf_reset(buf *b);
/* Hands the bytes to the caller (NUL-terminated); the buffer becomes empty. */
char *buf_detach(buf *b, size_t *len);
void buf_free(buf *b);

#endif
