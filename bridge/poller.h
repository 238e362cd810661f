/* poller: the scrape engine.  Owns the targets, their due-time heap and a
 * curl multi handle on the loop.  A target due while its previous scrape is
 * still in flight is skipped and counted, never doubled; a target due while
 * the queue is full waits for room and is counted as delayed.  Targets come
 * from the config's module entries and their hosts files; with shard.count
 * above 1 only this instance's shard of them.  A reload swaps in a new
 * target set: unchanged targets keep their schedule and state, removed ones
 * finish the scrape in flight (its documents are published), and the old
 * config stays alive until nothing reads it.  main.c builds it, starts it,
 * and turns the loop; reload.c feeds it new configs. */
#ifndef EXPVARBEAT_POLLER_H
#define EXPVARBEAT_POLLER_H

#include <stddef.h>
#include "config.h"
#include "event.h"
#include "loop.h"
#include "pipeline.h"
#include "stats.h"

typedef struct poller poller;

/* One target per module entry × host (× metricset when expvar and heap
 * have different URLs).  c stays the caller's.  NULL + err. */
poller *poller_new(const config *c, const beat_info *bi, pipeline *pl, stats *st, loop *l,
                   char *err, size_t errlen);
/* Applies c (NULL: the current config, with its hosts files read again).
 * 0: the poller owns c from now on.  -1 + err ("file:line: why"): nothing
 * changed and c is still the caller's. */
int poller_reload(poller *p, config *c, char *err, size_t errlen);
/* The config the targets come from now. */
const config *poller_config(const poller *p);
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
