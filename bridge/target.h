/* target: one fetch of one URL per period (module entry × host), serving
 * one or both metricsets: Metricbeat fetches expvar and heap separately, but
 * when both resolve to the same URL (the default) one body makes both
 * documents, exactly as two fetches would.  Owns the URL built exactly as
 * Metricbeat's host parser builds it, the curl easy handle with headers, auth
 * and TLS (set once; reused, so connections stay alive between scrapes), the
 * body buffer (kept between scrapes), the heap GC window and the schedule
 * slot.  The poller drives it; scrape.c turns its result into documents. */
#ifndef EXPVARBEAT_TARGET_H
#define EXPVARBEAT_TARGET_H

#include <curl/curl.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
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

typedef struct target {
    const module_config *mod;
    target_set set[2]; /* expvar first when both */
    size_t n_sets;
    target_url url;
    decode_limits limits;
    heap_window heap;
    CURL *easy;
    struct curl_slist *headers;
    uint64_t identity; /* target_identity(namespace, URL) */
    /* schedule */
    int64_t next_due_ms; /* monotonic */
    size_t heap_pos;     /* slot in the poller's due-time heap */
    int in_flight;
    unsigned delayed; /* this turn has waited for room in the queue */
    int retiring;     /* removed by a reload; its scrape in flight still finishes */
    void *gen;        /* the poller's record of the old config a retiring target reads */
    /* the scrape in flight; body lent by the poller's pool only for its
     * duration, so memory follows scrapes in flight, not targets */
    buf *body;
    int too_big;
    int64_t start_wall_ms, start_mono_ns;
    char status_line[128]; /* last "HTTP/1.1 404 Not Found" seen */
    char errbuf[CURL_ERROR_SIZE];
    tstatus status; /* health, for the status page and /stats */
} target;

/* Builds a target for the MS_* bits in metricsets (the URL of expvar.path
 * when MS_EXPVAR is among them, else heap.path) with its easy handle
 * configured once.  NULL + err. */
target *target_new(const module_config *m, const char *host, unsigned metricsets, char *err,
                   size_t errlen);
/* 1 when expvar.path and heap.path give the same URL for host: one fetch
 * can serve both. */
int target_paths_shared(const module_config *m, const char *host);
/* FNV-1a 64 over the module entry's namespace and the URL: stable across
 * restarts, hosts and list order, so it can place a target in a shard. */
uint64_t target_identity(const char *ns, const char *url);
void target_free(target *t);
/* Forgets the previous scrape's status and takes body (emptied, capped at
 * max_body_size) for the next one; target_free frees a body still held. */
void target_scrape_reset(target *t, buf *body);
/* Gives the body back after the scrape's documents are rendered. */
buf *target_scrape_release(target *t);

#endif
