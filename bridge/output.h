/* output: the one interface every output implements (console, file; later
 * elasticsearch, kafka).  The pipeline hands an output one batch at a time;
 * the output decides per event OK (delivered), RETRY (try again later) or
 * DROP (can never be delivered; counted and logged by the output with the
 * reason) and calls b->done exactly once, synchronously or from poll().
 * The core never includes a backend's internals: it only sees output_ops. */
#ifndef EXPVARBEAT_OUTPUT_H
#define EXPVARBEAT_OUTPUT_H

#include <stddef.h>
#include <stdio.h>
#include "config.h"
#include "loop.h"
#include "stats.h"

typedef enum {
    OUT_OK = 0,    /* delivered */
    OUT_RETRY = 1, /* failed for this event: try again, spending one of its attempts */
    OUT_DROP = 2,  /* can never be delivered: counted, logged by the output */
    OUT_WAIT = 3,  /* not delivered for a reason outside the event (outage, overload):
                      try again later without spending an attempt */
} out_result;

/* One rendered document: a JSON object, no trailing newline.  Owned by the
 * queue until acked or dropped. */
typedef struct event_rec {
    char *json;
    size_t len;
    unsigned attempts;
} event_rec;

typedef struct batch batch;
struct batch {
    event_rec **events;
    out_result *results; /* one per event, set by the output */
    size_t n;
    void (*done)(batch *b, void *ctx);
    void *ctx;
};

typedef struct output_ops {
    const char *name; /* as in libbeat's output.type: "console", "file" */
    /* Builds the output from the config; NULL with a message on failure.
     * Asynchronous outputs do their I/O on the loop; st is theirs to count
     * output-level figures in (write bytes/errors, duplicates, ...).  l and
     * st may be NULL in unit tests of synchronous outputs. */
    void *(*open)(const config *c, loop *l, stats *st, char *err, size_t errlen);
    /* Takes b; sets every b->results[i] and calls b->done once. */
    void (*publish)(void *self, batch *b);
    /* Drives asynchronous work; returns ms until it wants to run again, -1 = idle. */
    int (*poll)(void *self);
    /* Flushes and frees; self may be NULL. */
    void (*close)(void *self);
    /* `expvarbeat test output`: prints Metricbeat's step-by-step check to
     * out; 0 when every step passed, else 1.  NULL: nothing to test. */
    int (*test)(const config *c, FILE *out);
} output_ops;

extern const output_ops out_console_ops;
extern const output_ops out_file_ops;
extern const output_ops out_elasticsearch_ops;
extern const output_ops out_kafka_ops;

/* The ops for the configured output type. */
const output_ops *output_ops_for(enum output_type t);

#endif
