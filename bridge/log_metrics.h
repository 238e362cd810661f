/* log_metrics: Metricbeat's periodic self-report in the log.  Every period
 * an INFO line "Non-zero metrics in the last 30s" (logger "monitoring")
 * carries {"monitoring":{"metrics":{...}}}: the counters that moved in the
 * period (as deltas) and the gauges that are not zero, under libbeat's names
 * (libbeat.pipeline.events.*, libbeat.output.events.*, beat.*) and ours
 * (metricbeat.golang.<metricset>.*).  At stop, "Total metrics" carries the
 * non-zero totals.  The timer runs on the daemon's loop. */
#ifndef EXPVARBEAT_LOG_METRICS_H
#define EXPVARBEAT_LOG_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "loop.h"
#include "stats.h"

enum { LOG_METRICS_MAX = 40 };

typedef struct log_metrics log_metrics;

/* Starts the periodic line; NULL when out of memory. */
log_metrics *log_metrics_start(loop *l, const stats *st, int64_t period_ms);
/* Logs the totals, stops the timer, frees. */
void log_metrics_stop(log_metrics *m);

/* Pure parts, for tests.  A snapshot of every metric at now_ms (wall clock). */
void log_metrics_sample(const stats *st, int64_t now_ms, uint64_t out[LOG_METRICS_MAX]);
/* The monitoring object of cur against prev (prev NULL: totals); returns the
 * number of metrics written, 0 when nothing was worth reporting. */
size_t log_metrics_render(const uint64_t *prev, const uint64_t *cur, buf *out);
/* A duration as Go prints it: 30s, 1m0s, 1.5s, 250ms. */
void log_metrics_duration(int64_t ms, char *out, size_t n);

#endif
