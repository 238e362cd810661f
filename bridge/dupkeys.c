/* dupkeys: repeated-key detection for the expvar writer (see dupkeys.h). */
#define _GNU_SOURCE /* qsort_r */
#include "dupkeys.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "buf.h"
#include "gobody.h"

static uint64_t key_hash(uint64_t object_id, const char *key, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    h ^= object_id * 0x9E3779B97F4A7C15ULL;
    return h | 1; /* 0 marks an empty slot */
}

void keyset_init(keyset *ks)
{
    memset(ks, 0, sizeof *ks);
}

static int keyset_grow(keyset *ks)
{
    size_t cap = ks->cap ? ks->cap * 2 : 256;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < ks->cap; i++) {
        if (!ks->slot[i])
            continue;
        size_t j = ks->slot[i] & (cap - 1);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = ks->slot[i];
    }
    free(ks->slot);
    ks->slot = slot;
    ks->cap = cap;
    return 0;
}

int keyset_add(keyset *ks, uint64_t object_id, const char *key, size_t n)
{
    if (2 * (ks->used + 1) > ks->cap && keyset_grow(ks) != 0)
        return -1;
    uint64_t h = key_hash(object_id, key, n);
    size_t j = h & (ks->cap - 1);
    for (; ks->slot[j]; j = (j + 1) & (ks->cap - 1))
        if (ks->slot[j] == h)
            return 1;
    ks->slot[j] = h;
    ks->used++;
    return 0;
}

void keyset_clear(keyset *ks)
{
    if (ks->used)
        memset(ks->slot, 0, ks->cap * sizeof *ks->slot);
    ks->used = 0;
}

void keyset_free(keyset *ks)
{
    free(ks->slot);
    keyset_init(ks);
}

/* ---- exact scan --------------------------------------------------------- */

typedef struct entry {
    size_t off, len; /* key bytes in the arena */
    size_t ordinal;
} entry;

typedef struct scan {
    buf arena, scratch;
    entry *e;
    size_t n, cap;
    size_t *frames; /* where each open object's entries start */
    size_t depth, frames_cap;
    size_t ordinal;
    unsigned char *skip; /* grows with ordinal */
    size_t skip_cap;
} scan;

static int entry_cmp(const void *a, const void *b, void *arena)
{
    const entry *x = a, *y = b;
    const char *sort_base = arena;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(sort_base + x->off, sort_base + y->off, n);
    if (c || x->len != y->len)
        return c ? c : (x->len < y->len ? -1 : 1);
    return x->ordinal < y->ordinal ? -1 : 1;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 1;
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *q = realloc(*p, cap2 * size);
    if (!q)
        return 0;
    memset((char *)q + *cap * size, 0, (cap2 - *cap) * size);
    *p = q;
    *cap = cap2;
    return 1;
}

static int on_start_map(void *ctx)
{
    scan *s = ctx;
    if (!grow((void **)&s->frames, &s->frames_cap, s->depth + 1, sizeof *s->frames))
        return 0;
    s->frames[s->depth++] = s->n;
    return 1;
}

static int on_key(void *ctx, const unsigned char *k, size_t n)
{
    scan *s = ctx;
    const char *t;
    size_t tn;
    if (gobody_utf8((const char *)k, n, &s->scratch, &t, &tn) < 0 ||
        !grow((void **)&s->e, &s->cap, s->n + 1, sizeof *s->e) ||
        !grow((void **)&s->skip, &s->skip_cap, s->ordinal + 1, 1))
        return 0;
    s->e[s->n++] = (entry){s->arena.len, tn, s->ordinal++};
    return buf_append(&s->arena, t, tn) == BUF_OK;
}

/* The object closed: among equal keys, all but the last are overridden. */
static int on_end_map(void *ctx)
{
    scan *s = ctx;
    size_t start = s->frames[--s->depth];
    entry *e = s->e + start;
    size_t n = s->n - start;
    qsort_r(e, n, sizeof *e, entry_cmp, s->arena.data);
    for (size_t i = 0; i + 1 < n; i++)
        if (e[i].len == e[i + 1].len &&
            !memcmp(s->arena.data + e[i].off, s->arena.data + e[i + 1].off, e[i].len))
            s->skip[e[i].ordinal] = 1;
    s->n = start;
    return 1;
}

int dupkeys_scan(const char *body, size_t len, unsigned char **skip, size_t *n_keys)
{
    static const yajl_callbacks cb = {
        NULL, NULL, NULL, NULL, NULL, NULL, on_start_map, on_key, on_end_map, NULL, NULL,
    };
    scan s = {0};
    buf_init(&s.arena, 0);
    buf_init(&s.scratch, 0);
    yajl_handle h = yajl_alloc(&cb, NULL, &s);
    int ok = h != NULL;
    if (ok) {
        yajl_config(h, yajl_dont_validate_strings, 1);
        ok = yajl_parse(h, (const unsigned char *)body, len) == yajl_status_ok &&
             yajl_complete_parse(h) == yajl_status_ok;
        yajl_free(h);
    }
    buf_free(&s.arena);
    buf_free(&s.scratch);
    free(s.e);
    free(s.frames);
    if (!ok) {
        free(s.skip);
        return -1;
    }
    *skip = s.skip;
    *n_keys = s.ordinal;
    return 0;
}
