/* log_limit: repeated identical log lines, rate-limited.  A target that
 * fails the same way every period would otherwise add one line per scrape
 * forever.  The first occurrence of a line is logged; identical lines in the
 * next LOG_LIMIT_INTERVAL_MS are counted, not written; the first identical
 * line after that is written with " (repeated N times)" appended when N > 0.
 * Lines are told apart by a hash of their whole text (URL and message
 * included), in a fixed table: memory is bounded; when more distinct lines
 * are live than the table holds, the oldest are forgotten and logged again
 * (it fails open, never silent). */
#ifndef EXPVARBEAT_LOG_LIMIT_H
#define EXPVARBEAT_LOG_LIMIT_H

#include <stdint.h>
#include "log.h"

enum { LOG_LIMIT_INTERVAL_MS = 60000 };

/* log_msg with rate-limiting as above. */
void log_limited(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The decision alone, for tests: 1 when a line with this text should be
 * written at now_ms (then *repeated is how many identical lines were held
 * back since the last one written), 0 when it is held back. */
int log_limit_check(const char *line, int64_t now_ms, uint64_t *repeated);
/* Forgets every line (tests). */
void log_limit_reset(void);

#endif
