/* dupkeys: keys repeated within one JSON object.  Go decodes an expvar body
 * into a map, so the last occurrence of a key wins; a streaming writer has
 * already written the first by then.  keyset is the cheap check the writer
 * runs on every key (it may say "seen" for a new key, never the reverse);
 * dupkeys_scan is the exact, rare second look that names every occurrence a
 * later one overrides, by the key's ordinal in the document.  Pure. */
#ifndef EXPVARBEAT_DUPKEYS_H
#define EXPVARBEAT_DUPKEYS_H

#include <stddef.h>
#include <stdint.h>

typedef struct keyset {
    uint64_t *slot;
    size_t cap, used;
} keyset;

void keyset_init(keyset *ks);
/* 1: (object, key) may have been added before; 0: added now; -1: no memory. */
int keyset_add(keyset *ks, uint64_t object_id, const char *key, size_t n);
void keyset_clear(keyset *ks);
void keyset_free(keyset *ks);

/* Sets (*skip)[i] = 1 for each map key, counted in document order from 0,
 * whose value a later key of the same object replaces.  Keys compare after
 * Go's UTF-8 repair.  *skip is malloc'd, *n_keys long.  0, or -1 when the
 * body does not parse or memory runs out. */
int dupkeys_scan(const char *body, size_t len, unsigned char **skip, size_t *n_keys);

#endif
