/* target: one fetch of one URL per period (module entry × host), serving
 * one or both metricsets: Metricbeat fetches expvar and heap separately, but
 * when both resolve to the same URL (the default) one body makes both
 * documents, exactly as two fetches would.  Owns the URL built exactly as
 * Metricbeat's host parser builds it, the request headers, the shared CA
 * bundle, the heap GC window and the schedule slot.  What only a transfer in
 * flight needs (a curl easy handle, the body, curl's error and status text)
 * is a scrape_lease the poller lends for the scrape: every option of the
 * request is set on each loan and the handle is reset when it comes back,
 * so memory follows scrapes in flight, not targets, and nothing of one
 * target's request (headers, credentials) reaches another's.  Connections
 * live in the multi handle's pool, so keep-alive does not depend on which
 * handle a scrape borrows.  The poller drives it; scrape.c turns its result
 * into documents. */
#ifndef EXPVARBEAT_TARGET_H
#define EXPVARBEAT_TARGET_H

#include <curl/curl.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "curl_tls.h"
#include "event.h"
#include "tstatus.h"
#include "metricset.h"

/* Result of URL building (spec §1.1). */
typedef struct target_url {
    char *uri;         /* full URL without userinfo: what is fetched and reported */
    char *user, *pass; /* effective credentials (URL userinfo wins), NULL if none */
    char *unix_socket; /* http+unix:// socket path, else NULL */
} target_url;

/* Pure: host string + module settings → URL.  0, or -1 with a message. */
int target_url_build(const char *host, const char *basepath, const char *ms_path,
                     const kvlist *query, const char *cfg_user, const char *cfg_pass,
                     target_url *out, char *err, size_t errlen);
void target_url_free(target_url *u);

/* One metricset a target's fetch serves: what its documents say they are. */
typedef struct target_set {
    int ms;        /* STATS_MS_EXPVAR | STATS_MS_HEAP */
    char *dataset; /* "golang.<ns>" | "golang.heap": also where its object goes */
    event_site site;
} target_set;

/* One transfer's state, lent to a target for the duration of its scrape. */
typedef struct scrape_lease {
    CURL *easy; /* carries no target's options while idle */
    buf body;   /* the 200 body, capped at max_body_size */
    int too_big;
    char status_line[128]; /* last "HTTP/1.1 404 Not Found" seen */
    char errbuf[CURL_ERROR_SIZE];
    heap_capture *heap_cap; /* the heap values the expvar parse saw (metricset.h); lazy */
} scrape_lease;

scrape_lease *scrape_lease_new(void);
void scrape_lease_free(scrape_lease *l);

typedef struct target {
    const module_config *mod;
    target_set set[2]; /* expvar first when both */
    size_t n_sets;
    target_url url;
    decode_limits limits;
    heap_window heap;
    struct curl_slist *headers;
    curl_tls_cas *cas; /* ssl.certificate_authorities, NULL when none */
    uint64_t identity; /* target_identity(namespace, URL) */
    /* schedule */
    int64_t next_due_ms; /* monotonic */
    size_t heap_pos;     /* slot in the poller's due-time heap */
    int in_flight;
    unsigned delayed; /* this turn has waited for room in the queue */
    int retiring;     /* removed by a reload; its scrape in flight still finishes */
    void *gen;        /* the poller's record of the old config a retiring target reads */
    /* the scrape in flight */
    scrape_lease *lease; /* NULL between scrapes */
    int64_t start_wall_ms, start_mono_ns;
    tstatus status; /* health, for the status page and /stats */
} target;

/* Builds a target for the MS_* bits in metricsets (the URL of expvar.path
 * when MS_EXPVAR is among them, else heap.path): headers, bearer token and
 * CA files are read here, once.  NULL + err. */
target *target_new(const module_config *m, const char *host, unsigned metricsets, char *err,
                   size_t errlen);
/* 1 when expvar.path and heap.path give the same URL for host: one fetch
 * can serve both. */
int target_paths_shared(const module_config *m, const char *host);
/* FNV-1a 64 over the module entry's namespace and the URL: stable across
 * restarts, hosts and list order, so it can place a target in a shard. */
uint64_t target_identity(const char *ns, const char *url);
void target_free(target *t);
/* Takes l for the next scrape: empties its body (capped at max_body_size)
 * and sets every option of t's request on its easy handle, the private
 * pointer (t) included.  0, or -1 when curl is out of memory (l stays the
 * caller's).  target_free frees a lease still held. */
int target_scrape_begin(target *t, scrape_lease *l);
/* Gives the lease back after the scrape's documents are rendered, its easy
 * handle reset to curl's defaults (connections and DNS cache stay in the
 * multi handle). */
scrape_lease *target_scrape_end(target *t);

#endif
