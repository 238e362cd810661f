/* tstatus: the health of one scrape target, for the status page at / and
 * the per-target part of /stats.  The poller owns one per target (embedded,
 * no allocation), records every finished scrape into it, and lets the stats
 * endpoint walk them through stats.each_target.  Pure bookkeeping: no I/O,
 * main thread only. */
#ifndef EXPVARBEAT_TSTATUS_H
#define EXPVARBEAT_TSTATUS_H

#include <stddef.h>
#include <stdint.h>

enum { TSTATUS_HISTORY = 60, TSTATUS_ERR_MAX = 256 };

enum tstatus_state { TSTATUS_PENDING, TSTATUS_OK, TSTATUS_FAILING, TSTATUS_SLOW, TSTATUS_STATES };

typedef struct tstatus {
    /* set once by the poller when the target is made */
    /* service.address as documents carry it (no userinfo); borrowed: the
     * owner's copy (the target's URL) outlives this */
    const char *address;
    char metricsets[32]; /* "expvar", "heap" or "expvar,heap" */
    char ns[64];         /* expvar.namespace, "" for heap only */
    int64_t period_ms, timeout_ms;
    /* updated by tstatus_record */
    int64_t last_wall_ms; /* when the last scrape finished, ms since the epoch; 0 = never */
    int64_t last_duration_us;
    uint64_t scrapes, failures;
    uint32_t consecutive_failures;
    /* "" when the last scrape succeeded; always valid UTF-8 without control
     * characters, because it reaches JSON and HTML renderers verbatim. */
    char last_error[TSTATUS_ERR_MAX];
    int64_t last_error_wall_ms;             /* when last_error was set; kept after a success */
    uint32_t durations_us[TSTATUS_HISTORY]; /* ring of the last scrape durations */
    uint64_t failed_bits;                   /* bit i: the scrape in durations_us[i] failed */
    size_t hist_next, hist_n;
} tstatus;

/* Fills the fixed part; the rest starts empty.  address is kept as a
 * pointer (NULL reads as ""), the other strings are copied. */
void tstatus_init(tstatus *s, const char *address, const char *metricsets, const char *ns,
                  int64_t period_ms, int64_t timeout_ms);

/* One finished scrape: err NULL or "" for success.  err is copied, cut to
 * TSTATUS_ERR_MAX - 1 bytes on a character boundary; bytes that are not
 * UTF-8 and control characters become '?'. */
void tstatus_record(tstatus *s, int64_t wall_ms, int64_t duration_us, const char *err);

/* The remembered durations, oldest first, and whether each of those scrapes
 * failed (failed may be NULL).  Returns how many (at most TSTATUS_HISTORY). */
size_t tstatus_history(const tstatus *s, uint32_t us[TSTATUS_HISTORY],
                       unsigned char failed[TSTATUS_HISTORY]);

/* ok, failing (the last scrape failed), slow (succeeded but took more than
 * half the period or the timeout), or pending (never finished). */
enum tstatus_state tstatus_state(const tstatus *s);
const char *tstatus_state_name(enum tstatus_state st);

/* Calls fn once for each target, in configuration order; the poller sets
 * it in stats.each_target.  The pointers are valid only during the call. */
typedef void (*tstatus_visit_fn)(const tstatus *s, void *arg);
typedef void (*tstatus_each_fn)(void *owner, tstatus_visit_fn fn, void *arg);

#endif
