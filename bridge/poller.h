/* poller: the scrape engine.  Owns the targets, their due-time heap and a
 * curl multi handle on the loop.  A target due while its previous scrape is
 * still in flight is skipped and counted, never doubled; a target due while
 * the queue is full waits for room and is counted as delayed.  main.c builds
 * it, starts it, and turns the loop. */
#ifndef EXPVARBEAT_POLLER_H
#define EXPVARBEAT_POLLER_H

#include <stddef.h>
#include "config.h"
#include "event.h"
#include "loop.h"
#include "pipeline.h"
#include "stats.h"

typedef struct poller poller;

/* One target per module entry × host × metricset.  NULL + err. */
poller *poller_new(const config *c, const beat_info *bi, pipeline *pl, stats *st, loop *l,
                   char *err, size_t errlen);
/* Schedules the first scrapes: after a random delay up to max_start_delay,
 * or, with once, immediately and only once each. */
void poller_start(poller *p, int once);
/* With once: 1 when every target has finished its scrape. */
int poller_finished(const poller *p);
/* Scrapes that produced an error document so far. */
size_t poller_failed(const poller *p);
/* Aborts scrapes in flight (their documents were never accepted). */
void poller_free(poller *p);

#endif
