/* stats: the daemon's own counters, and the HTTP endpoint that shows them.
 * Counters are plain integers touched only by the main thread; the endpoint
 * (libmicrohttpd driven from the main loop's epoll, no extra thread) renders
 * them as /debug/vars (expvar's shape, so expvarbeat can scrape itself with
 * both metricsets), /stats (libbeat's field names) and / (beat info). */
#ifndef EXPVARBEAT_STATS_H
#define EXPVARBEAT_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "tstatus.h"

enum { STATS_MS_EXPVAR = 0, STATS_MS_HEAP = 1, STATS_MS_COUNT = 2 };

typedef struct ms_stats {
    uint64_t success;  /* scrapes that produced a document */
    uint64_t failures; /* scrapes that produced an error document */
    uint64_t skipped;  /* turns skipped: the previous scrape was still in flight */
    uint64_t delayed;  /* turns that waited for room in the full queue */
    uint64_t events;   /* documents produced (success + failures) */
} ms_stats;

typedef struct stats {
    ms_stats ms[STATS_MS_COUNT];
    /* libbeat.pipeline.events.* and libbeat.output.events.* */
    uint64_t published; /* accepted into the queue */
    uint64_t acked;     /* confirmed by the output */
    uint64_t dropped;   /* given up on (DROP), each logged with its reason */
    uint64_t retried;   /* RETRY results */
    uint64_t batches;
    uint64_t write_bytes;
    uint64_t write_errors;
    uint64_t duplicates;   /* items Elasticsearch already had (409): acked */
    uint64_t too_many;     /* items answered 429: retried */
    uint64_t queue_active; /* events waiting or in flight */
    uint64_t targets;      /* scrape instances */
    /* disk queue (queue.disk), when enabled */
    uint64_t spool_bytes;   /* bytes on disk now */
    uint64_t spool_events;  /* events on disk not yet acked */
    uint64_t spool_corrupt; /* events lost to truncated or corrupt segments, each logged */
    uint64_t spool_full;    /* times the spool was full and scrapes waited */
    /* reload (SIGHUP, config.modules.reload) */
    uint64_t reloads;         /* applied */
    uint64_t reload_failures; /* rejected: the old config kept running */
    /* per-target health: the poller walks its targets through this */
    tstatus_each_fn each_target;
    void *each_target_owner;
    int64_t start_ms; /* wall clock at start, ms since epoch */
    const char *output_name;
    /* identity, for / and /stats */
    const char *name, *hostname, *version, *ephemeral_id, *uuid;
    int argc;
    char **argv;
} stats;

/* Renderers: pure, for the endpoint and for tests. now_ms = wall clock. */
void stats_render_vars(const stats *st, int64_t now_ms, buf *out);
void stats_render_stats(const stats *st, int64_t now_ms, buf *out);
void stats_render_info(const stats *st, buf *out);

typedef struct stats_server stats_server;

/* Listens on host:port (host "localhost" → 127.0.0.1).  NULL + err on failure. */
stats_server *stats_server_new(const char *host, int port, const stats *st, char *err,
                               size_t errlen);
/* An fd (epoll) that becomes readable when the server has work. */
int stats_server_fd(const stats_server *s);
/* Does pending work without blocking. */
void stats_server_run(stats_server *s);
/* The port actually bound (useful with port 0). */
int stats_server_port(const stats_server *s);
void stats_server_free(stats_server *s);

#endif
