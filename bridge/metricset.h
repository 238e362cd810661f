/* metricset: a /debug/vars body → the golang.* object Metricbeat publishes.
 * Both decoders stream the body through yajl (numbers as text, so uint64
 * above INT64_MAX and 1.5e-300 survive) and write straight into a yajl_gen
 * that the caller has positioned where a value is expected.  On error they
 * return -1 and put Metricbeat's whole error.message in msg; the generator
 * then holds partial output that the caller must discard.  Pure: no I/O. */
#ifndef EXPVARBEAT_METRICSET_H
#define EXPVARBEAT_METRICSET_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "heap_extras.h"

struct expvar_select;

typedef struct decode_limits {
    int max_depth; /* nesting levels of arrays/objects; deeper → error */
    /* Beyond Metricbeat, off when NULL / zero (expvar_select.h, heap_extras.h). */
    struct expvar_select *select; /* expvar: selection; records its field counts */
    heap_extras_conf heap;        /* heap: restart reset, percentiles, rates */
} decode_limits;

/* expvar metricset: writes the object that goes under golang.<namespace>:
 * the whole body, nested as sent; nulls in objects dropped (kept in arrays);
 * top-level "cmdline" array joined with spaces; every number as Go writes a
 * float64; invalid UTF-8 replaced by U+FFFD.  Errors are worded as Metricbeat
 * words them: "error in http fetch: invalid character '<' looking for
 * beginning of value", "error in http fetch: json: cannot unmarshal array into
 * Go value of type map[string]interface {}", ... */
int metricset_expvar_emit(yajl_gen g, const char *body, size_t len, const decode_limits *lim,
                          char *msg, size_t msglen);

/* Returned by metricset_expvar_emit when an object in the body repeats a
 * key: g holds partial output.  The caller restarts the document and calls
 * metricset_expvar_emit_dedup, which writes each object with only the last
 * occurrence of a key, as Go's map keeps it.  Rare: expvar.Handler never
 * repeats keys, so the fast path pays only for noticing. */
#define METRICSET_REPEATED_KEYS 1
int metricset_expvar_emit_dedup(yajl_gen g, const char *body, size_t len, const decode_limits *lim,
                                char *msg, size_t msglen);

#define HEAP_PAUSE_RING 256

/* Per-target GC window state (Metricbeat's lastNumGC). Zero-initialised. */
typedef struct heap_window {
    uint32_t last_num_gc;
    int64_t now_ns; /* set by the caller before each emit: monotonic scrape time (heap.rates) */
    heap_extras_state extras;
} heap_window;

typedef struct gc_pauses {
    uint64_t count, sum_ns, avg_ns, max_ns;
} gc_pauses;

/* The GC pause window exactly as Metricbeat computes it (spec §1.3.3),
 * including its restart behaviour (NumGC going down reports zeros and keeps
 * last_num_gc).  Updates w. */
void heap_gc_window(heap_window *w, uint32_t num_gc, const uint64_t pause_ns[HEAP_PAUSE_RING],
                    gc_pauses *out);

/* heap metricset: writes the golang.heap object.  w is updated only on
 * success.  Errors: "error unmarshalling json: ..." in encoding/json's words. */
int metricset_heap_emit(yajl_gen g, const char *body, size_t len, heap_window *w,
                        const decode_limits *lim, char *msg, size_t msglen);

/* One parse for both metricsets.  When one body serves expvar and heap,
 * the expvar decoder can hand every yajl event it gets to a second decoder
 * (a tee); the heap decoder, fed that way, captures what it needs and the
 * heap document is then built without parsing again.  A capture is used
 * only when it is clean: the expvar parse succeeded on its first pass and
 * the heap decoder neither objected nor saw a bad cmdline.  Anything else
 * (errors, repeated keys, a memstats field of the wrong type) leaves it not
 * ready, and the heap document comes from its own parse as before, so
 * documents and error texts are the same either way. */
typedef struct metricset_tee {
    const yajl_callbacks *cb;
    void *ctx;
    int stopped; /* a callback of the tee returned 0: it saw no more events */
} metricset_tee;

typedef struct heap_capture heap_capture;
heap_capture *heap_capture_new(void);
void heap_capture_free(heap_capture *c);
/* Forgets the last capture (NULL is fine). */
void heap_capture_clear(heap_capture *c);
int heap_capture_ready(const heap_capture *c);
/* The tee that feeds c; then heap_capture_end with whether the whole
 * parse succeeded. */
void heap_capture_begin(heap_capture *c, const decode_limits *lim, metricset_tee *tee);
void heap_capture_end(heap_capture *c, const metricset_tee *tee, int parse_ok);

/* metricset_expvar_emit that also fills c (NULL: plain emit). */
int metricset_expvar_emit_capture(yajl_gen g, const char *body, size_t len,
                                  const decode_limits *lim, heap_capture *c, char *msg,
                                  size_t msglen);

/* metricset_heap_emit from a ready capture of this body (which it uses up),
 * else by parsing body. */
int metricset_heap_emit_captured(yajl_gen g, heap_capture *c, const char *body, size_t len,
                                 heap_window *w, const decode_limits *lim, char *msg,
                                 size_t msglen);

#endif
