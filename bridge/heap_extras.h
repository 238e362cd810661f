/* heap_extras: what the heap metricset adds beyond Metricbeat when asked
 * (heap.restart_reset, heap.pause_percentiles, heap.rates); with none of
 * them on the document is Metricbeat's, byte for byte.
 *   - restart reset: NumGC or TotalAlloc going down means the target
 *     restarted; the GC window then restarts from zero at once instead of
 *     reporting zeros until NumGC passes its old value (elastic/beats#6543).
 *   - pause percentiles: nearest-rank percentiles (the smallest pause with at
 *     least p% of the window's pauses at or below it) of the GC pauses in
 *     the window Metricbeat's pause.count covers; none when it is empty.
 *     p99.9 is written p99_9.
 *   - rates: TotalAlloc and NumGC deltas over the time between two scrapes,
 *     per second; none on the first scrape and after a restart.
 * Pure: the caller passes the scrape time. */
#ifndef EXPVARBEAT_HEAP_EXTRAS_H
#define EXPVARBEAT_HEAP_EXTRAS_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#define HEAP_EXTRAS_MAX_PCT 8

/* A copy, not a pointer into the config: a reload re-points a target at a
 * new config and frees the old one. */
typedef struct heap_extras_conf {
    int restart_reset;
    double pause_pct[HEAP_EXTRAS_MAX_PCT]; /* ascending, each in (0, 100] */
    size_t n_pause_pct;
    int rates;
} heap_extras_conf;

/* The conf for a module entry's heap.* settings (n capped at the maximum). */
heap_extras_conf heap_extras_conf_make(int restart_reset, const double *pct, size_t n, int rates);

/* Per target, zero-initialised; lives in the heap window. */
typedef struct heap_extras_state {
    int seen;        /* a document was written before */
    int64_t last_ns; /* its scrape time; 0 = unknown */
    uint64_t last_total_alloc;
    uint32_t last_num_gc;
} heap_extras_state;

/* One scrape's heap figures. */
typedef struct heap_sample {
    int64_t now_ns; /* monotonic scrape time; 0 = unknown (no rates) */
    uint64_t total_alloc;
    uint32_t num_gc;
    const uint64_t *pause_ns; /* runtime.MemStats.PauseNs, ring_len entries */
    size_t ring_len;
} heap_sample;

typedef struct heap_extras_out {
    size_t n_pct; /* 0: no percentiles in this document */
    char pct_key[HEAP_EXTRAS_MAX_PCT][24];
    uint64_t pct_ns[HEAP_EXTRAS_MAX_PCT];
    int has_rates;
    double alloc_bytes_per_sec, gc_per_sec;
} heap_extras_out;

/* Before Metricbeat's GC window is computed: may move *window_last_num_gc
 * (restart reset), fills out from the window that follows, and advances st
 * to this sample.  out is all zeros when nothing is configured. */
void heap_extras_compute(const heap_extras_conf *c, heap_extras_state *st,
                         uint32_t *window_last_num_gc, const heap_sample *s, heap_extras_out *out);

/* Members of golang.heap.gc.pause (p50: {ns}...), golang.heap.gc
 * (rate: {per_sec}) and golang.heap.allocations (rate: {bytes_per_sec});
 * nothing when out has none.  0 when the generator fails. */
int heap_extras_put_pause(yajl_gen g, const heap_extras_out *out);
int heap_extras_put_gc_rate(yajl_gen g, const heap_extras_out *out);
int heap_extras_put_alloc_rate(yajl_gen g, const heap_extras_out *out);

/* "p99_9" for 99.9: the key a percentile is published under. */
void heap_extras_pct_key(double pct, char out[24]);

#endif
