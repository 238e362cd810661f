/* es_client: the connections of one Elasticsearch output, on the loop.
 * A group holds `worker` clients per host, one curl multi for all of them,
 * and the index-management sequence they share.  Each client walks
 * connect (GET /, version check) → setup (once per process, by the first
 * client to connect; the others wait) → ready ⇄ bulk; any failure closes it
 * and it reconnects after its own backoff while the others carry on.  The
 * output decides what a bulk answer means; the client only moves data. */
#ifndef EXPVARBEAT_ES_CLIENT_H
#define EXPVARBEAT_ES_CLIENT_H

#include <stddef.h>
#include "config.h"
#include "loop.h"

typedef struct es_client es_client;
typedef struct es_group es_group;

/* How a bulk request ended: status 0 means no HTTP answer (err says why). */
typedef struct es_reply {
    long status;
    const char *body;
    size_t len;
    const char *err;
} es_reply;

typedef struct es_client_hooks {
    /* A client became ready (connected and idle): it may take a request. */
    void (*ready)(void *owner, es_client *c);
    /* A bulk request ended.  0 when the connection is sound; -1 with a
     * message when the client must close and back off. */
    int (*bulk_done)(void *owner, void *req, const es_reply *r, char *err, size_t errlen);
    void *owner;
} es_client_hooks;

/* Clients for every host × worker; they start connecting at once.  NULL +
 * err for bad hosts, unreadable TLS files or a template that cannot be
 * rendered. */
es_group *es_group_new(const config *c, loop *l, const es_client_hooks *h, char *err,
                       size_t errlen);
/* Aborts transfers in flight (their requests are never reported). */
void es_group_free(es_group *g);
size_t es_group_size(const es_group *g);
es_client *es_group_client(const es_group *g, size_t i);

int es_client_is_ready(const es_client *c);
/* Ready, or busy with a bulk request. */
int es_client_is_connected(const es_client *c);
/* Sends body[0..len) (borrowed until bulk_done) to <base>/_bulk?...;
 * gzip says whether body is gzip-compressed.  The client must be ready. */
void es_client_bulk(es_client *c, void *req, const char *body, size_t len, int gzip);
/* The endpoint, for messages. */
const char *es_client_url(const es_client *c);

#endif
