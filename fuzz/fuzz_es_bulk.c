/* fuzz_es_bulk: an Elasticsearch _bulk response body → per-event verdicts.
 * The first byte picks how many events the batch had (0..255), the rest is
 * the body.  Invariants: on success every item has a known class and a
 * NUL-terminated reason; on failure there is a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "es_bulk.h"

static int fuzz_es_bulk_one(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = data[0];
    size_t len = size - 1;
    char *body = malloc(len ? len : 1); /* not NUL-terminated, like a received body */
    es_item *items = calloc(n ? n : 1, sizeof *items);
    if (!body || !items) {
        free(body);
        free(items);
        return 0;
    }
    memcpy(body, data + 1, len);
    char err[256] = "";
    if (es_bulk_response_parse(body, len, n, items, err, sizeof err) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (items[i].cls > ES_ITEM_REJECT ||
                !memchr(items[i].reason, '\0', sizeof items[i].reason))
                abort();
        }
    } else if (err[0] == '\0') {
        abort();
    }
    free(body);
    free(items);
    return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved
 * inputs without libFuzzer. */
#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_es_bulk_one(data, size);
}
#endif
