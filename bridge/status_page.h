/* status_page: the HTML status page served at /status (and at / to clients
 * that prefer text/html).  One self-contained document: inline CSS and SVG,
 * no script, no external assets, reloads itself every 5 s.  Targets are
 * listed failing first, then slow, pending and ok, each group in
 * configuration order; at most max_rows rows, the summary line always
 * counts every target.  Every string that came from configuration or from a
 * target (addresses, error texts) is HTML-escaped.  Pure: renders from the
 * stats struct and the clock value it is given. */
#ifndef EXPVARBEAT_STATUS_PAGE_H
#define EXPVARBEAT_STATUS_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "stats.h"

/* Rows on the page unless the client asks for all (/status?all): a page of
 * 10,000 rows is megabytes every 5 s, and the failing ones come first. */
enum { STATUS_PAGE_ROWS = 500 };

/* Appends the page to out.  0, or -1 when out of memory (out then holds a
 * partial page the caller must not send). */
int status_page_render(const stats *st, int64_t now_ms, size_t max_rows, buf *out);

/* Content negotiation for /: 1 when the Accept header prefers text/html to
 * application/json (browsers), 0 otherwise (curl's and libbeat's clients
 * send nothing or * / *, and keep getting the JSON they always got). */
int status_page_wanted(const char *accept);

/* Helpers the page uses, exposed for tests.  "3 s ago", "2 min ago",
 * "never"; a clock that went backwards reads "just now". */
void status_page_ago(int64_t now_ms, int64_t then_ms, char *out, size_t cap);
/* "850 µs", "12.3 ms", "1.20 s". */
void status_page_duration(int64_t us, char *out, size_t cap);

#endif
