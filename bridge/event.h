/* event: the ECS envelope Metricbeat puts around every golang document.
 * @timestamp (first key, UTC, ms), event.{dataset,module,duration},
 * metricset.{name,period}, service.{address,type}, ecs.version, host.name,
 * agent.*, error.message, and the user's fields/tags (module and global).
 * The metricset's own object is written by the caller between event_begin
 * and event_end, straight into the same generator. */
#ifndef EXPVARBEAT_EVENT_H
#define EXPVARBEAT_EVENT_H

#include <stdint.h>
#include <yajl/yajl_gen.h>
#include "config.h"

/* Who we are: fixed for the process lifetime. */
typedef struct beat_info {
    char name[256]; /* host.name and agent.name: `name:` or the hostname */
    char hostname[256];
    char id[37];           /* agent.id: persisted in <path.data>/meta.json */
    char ephemeral_id[37]; /* agent.ephemeral_id: new each run */
    const char *version;
    const config *cfg; /* global fields/tags */
} beat_info;

/* The fixed part of one scrape instance's documents. */
typedef struct event_site {
    const char *metricset;     /* "expvar" | "heap" */
    const char *dataset;       /* "golang.<ns>" | "golang.heap" */
    const char *error_dataset; /* "golang.expvar" | "golang.heap" */
    const char *address;       /* service.address: the URL without credentials */
    int64_t period_ms;
    const module_config *mod; /* module fields/tags */
} event_site;

/* Fills a beat_info: hostname, name, a fresh ephemeral id, and the agent id
 * read from (or, with persist, first written to) <path.data>/meta.json.
 * Returns 0 or -1. */
int beat_info_init(beat_info *bi, const config *c, int persist, char *err, size_t errlen);

/* Formats a UUIDv4 from /dev/urandom (or a fallback PRNG). */
void uuid4(char out[37]);

/* Opens the document map and writes @timestamp and the envelope.  With
 * error_message set the document is an error document (no golang fields). */
void event_begin(yajl_gen g, const beat_info *bi, const event_site *s, int64_t ts_ms,
                 int64_t duration_ns, const char *error_message);

/* Opens the nested maps for a dotted key path ("golang.a.b") and returns how
 * many it opened; the caller writes the value, then event_close_maps. */
int event_open_path(yajl_gen g, const char *dotted);
void event_close_maps(yajl_gen g, int n);

/* Closes the document map. */
void event_end(yajl_gen g);

/* Formats ms since the epoch as 2023-10-17T08:05:34.853Z. */
void event_format_ts(int64_t ts_ms, char out[32]);

#endif
