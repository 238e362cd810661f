/* poller: the one-thread scrape engine.  Owns the targets, their due-time
 * heap, the libcurl multi handle and the epoll loop that also serves the
 * stats endpoint and drives the pipeline.  A target due while its previous
 * scrape is still in flight, or while the queue is full, is skipped and
 * counted, never doubled.  main.c builds it and runs it until a signal. */
#ifndef EXPVARBEAT_POLLER_H
#define EXPVARBEAT_POLLER_H

#include <signal.h>
#include <stddef.h>
#include "config.h"
#include "event.h"
#include "pipeline.h"
#include "stats.h"

typedef struct poller poller;

/* One target per module entry × host × metricset.  NULL + err. */
poller *poller_new(const config *c, const beat_info *bi, pipeline *pl, stats *st, char *err,
                   size_t errlen);
/* Lets the loop serve the stats endpoint too (may be NULL). */
void poller_attach_stats(poller *p, stats_server *srv);
/* Runs until *stop is set.  once: every target scrapes once, immediately,
 * and the call returns when all are done.  Returns the number of scrapes
 * that failed during the run. */
size_t poller_run(poller *p, volatile sig_atomic_t *stop, int once);
void poller_free(poller *p);

#endif
