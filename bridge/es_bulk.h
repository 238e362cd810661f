/* es_bulk: the Elasticsearch _bulk wire format, both ways, as pure
 * functions (spec §4.1).  The encoder writes one action line and one
 * document line per event; the classifier turns the response into one
 * verdict per event.  No I/O: the transport (out_elasticsearch.c) calls
 * these and unit tests feed them canned responses. */
#ifndef EXPVARBEAT_ES_BULK_H
#define EXPVARBEAT_ES_BULK_H

#include <stddef.h>
#include "buf.h"

/* Appends {"create":{"_index":index[,"pipeline":pipeline]}}\n doc\n.
 * index is lowercased as libbeat does; pipeline may be NULL.  doc must be
 * one JSON object without newlines (our documents are).  0, or -1 when buf
 * hits its cap. */
int es_bulk_append(buf *out, const char *index, const char *pipeline, const char *doc,
                   size_t doc_len);

/* Appends a dead-letter document for an event Elasticsearch rejected:
 * {"create":{"_index":dli}}\n{"@timestamp":...,"message":<original doc as a
 * string>,"error":{"type":status,"message":<reason>}}\n (libbeat's shape). */
int es_bulk_append_dead_letter(buf *out, const char *dli, const char *doc, size_t doc_len,
                               int status, const char *reason);

typedef enum {
    ES_ITEM_OK,        /* 2xx: indexed */
    ES_ITEM_DUPLICATE, /* 409: already there (data streams): acked, counted */
    ES_ITEM_RETRY,     /* 429, 5xx: try again later */
    ES_ITEM_REJECT,    /* other 4xx: will never index; drop or dead-letter */
} es_item_class;

typedef struct es_item {
    int status;
    es_item_class cls;
    char reason[512]; /* "mapper_parsing_exception: failed to parse field ..." */
} es_item;

/* Classifies a 200 response to a bulk of n events (filter_path=errors,
 * items.*.error, items.*.status answers included).  Returns 0 with items[0..n)
 * filled, or -1 with a message when the body is not a bulk response for n
 * items (the caller then retries the whole batch). */
int es_bulk_response_parse(const char *body, size_t len, size_t n, es_item *items, char *err,
                           size_t errlen);

/* The class of a whole-request HTTP status for the transport: 413 → split,
 * 2xx → parse items, everything else → retry all (401/403 included: the
 * credentials may be fixed; never drop on them). */
typedef enum { ES_HTTP_ITEMS, ES_HTTP_SPLIT, ES_HTTP_RETRY_ALL } es_http_class;
es_http_class es_bulk_http_class(long status);

#endif
