/* scrape: one finished transfer of a target → one rendered document per
 * metricset it serves, a success document or an error document worded as Metricbeat words it
 * ("error in http fetch: HTTP error 404 in : 404 Not Found", "error in http
 * fetch: error making http request: Get \"URL\": dial tcp …: connect:
 * connection refused", …).  Called by the poller while the target still
 * holds its scrape_lease; no I/O of its own. */
#ifndef EXPVARBEAT_SCRAPE_H
#define EXPVARBEAT_SCRAPE_H

#include <curl/curl.h>
#include <yajl/yajl_gen.h>
#include "event.h"
#include "target.h"

/* Writes the document of t->set[set] into g (cleared first).  Returns 0
 * for a success document, 1 for an error document (its message also copied
 * to msg, for the log line). */
int scrape_render(target *t, size_t set, CURLcode rc, const beat_info *bi, int64_t now_mono_ns,
                  yajl_gen g, char *msg, size_t msglen);

/* After a success document of set: when expvar.max_fields cut a field count
 * not reported yet, writes one error document for the expvar metricset
 * (error.message "expvar.max_fields: 1234 fields, 1000 kept", also in msg)
 * and returns 1; else 0 and g is untouched. */
int scrape_render_cap_error(target *t, size_t set, const beat_info *bi, int64_t now_mono_ns,
                            yajl_gen g, char *msg, size_t msglen);

/* The transport/HTTP part of the error text (without "error in http fetch:
 * "), or "" when the transfer delivered a 200 body.  Exposed for tests. */
void scrape_fetch_error(target *t, CURLcode rc, char *out, size_t outlen);

#endif
