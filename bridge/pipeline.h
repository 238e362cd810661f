/* pipeline: the bounded in-memory queue between scrapes and the output.
 * A scrape reserves its slot before it starts, so a finished scrape always
 * has room and nothing accepted is ever dropped for lack of space; when the
 * queue is full, new scrapes are skipped instead (back-pressure).  Batches go
 * to the output one at a time; RETRY events return to the front of the queue
 * after a capped exponential backoff with jitter; DROP events are counted.
 * Runs on the loop (a timer decides when the next batch is due).  Times are
 * the loop's monotonic milliseconds.  Main thread only.
 *
 * With queue.disk the queue is the spool (spool.h): a published event is
 * appended to disk and counts as published once the poll of the same loop
 * turn has synced it; the ring becomes a read-ahead window over the spool
 * (queue.mem.events records); OK/DROP verdicts ack records on disk; room is
 * bytes on disk, not ring slots; batches go out as soon as events are durable
 * (no flush timeout). */
#ifndef EXPVARBEAT_PIPELINE_H
#define EXPVARBEAT_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "loop.h"
#include "output.h"
#include "stats.h"

typedef struct pipeline pipeline;

/* l may be NULL (tests): then nothing runs unless pipeline_poll is called. */
pipeline *pipeline_new(const config *c, const output_ops *ops, loop *l, stats *st, char *err,
                       size_t errlen);
/* Reserves room for one event: 0, or -1 when the queue is full. */
int pipeline_reserve(pipeline *p);
/* Gives back a reservation that will not be used. */
void pipeline_unreserve(pipeline *p);
/* Queues a document (takes ownership of json), using a reservation. */
void pipeline_publish(pipeline *p, char *json, size_t len, int64_t now_ms);
/* Hands a batch to the output when one is due; returns ms until it wants to
 * run again, or -1 when idle. */
int pipeline_poll(pipeline *p, int64_t now_ms);
/* 1 when queued events survive a restart (queue.disk). */
int pipeline_durable(const pipeline *p);
/* Events queued or in flight. */
size_t pipeline_pending(const pipeline *p);
/* Shutdown: turns the loop, delivering without waiting for full batches,
 * until empty or the deadline (monotonic ms); returns what is left. */
size_t pipeline_drain(pipeline *p, int64_t deadline_ms);
void pipeline_free(pipeline *p);

/* ms since the epoch / monotonic ns: the clocks every module uses. */
int64_t clock_wall_ms(void);
int64_t clock_mono_ns(void);

#endif
