/* target: one scrape instance (module entry × host × metricset), as a
 * Metricbeat MetricSet instance is.  Owns the URL built exactly as
 * Metricbeat's host parser builds it, the curl easy handle with headers, auth
 * and TLS, the body buffer of the scrape in flight, the heap GC window and the
 * schedule slot.  The poller drives it; scrape.c turns its result into a
 * document. */
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

typedef struct target {
    const module_config *mod;
    int ms; /* STATS_MS_EXPVAR | STATS_MS_HEAP */
    target_url url;
    char *dataset; /* "golang.<ns>" | "golang.heap": also where its object goes */
    event_site site;
    decode_limits limits;
    heap_window heap;
    CURL *easy;
    struct curl_slist *headers;
    /* schedule */
    int64_t next_due_ms; /* monotonic */
    size_t heap_pos;     /* slot in the poller's due-time heap */
    int in_flight;
    unsigned delayed; /* this turn has waited for room in the queue */
    /* the scrape in flight */
    buf body;
    int too_big;
    int64_t start_wall_ms, start_mono_ns;
    char status_line[128]; /* last "HTTP/1.1 404 Not Found" seen */
    char errbuf[CURL_ERROR_SIZE];
    tstatus status; /* health, for the status page and /stats */
} target;

/* Builds a target with its easy handle configured once.  NULL + err. */
target *target_new(const module_config *m, const char *host, int ms, char *err, size_t errlen);
void target_free(target *t);
/* Forgets the previous scrape's body and status before a new one. */
void target_scrape_reset(target *t);

#endif
