/* kibana_req: the pure parts of talking to Kibana's saved-objects API, kept
 * apart from kibana.c's blocking transfers so they can be tested without a
 * server: the base URL as libbeat's MakeURL builds it (port 5601), the
 * space prefix, the NDJSON bundle of the embedded files, the version check
 * on GET /api/status and the reading of the import's answer. */
#ifndef EXPVARBEAT_KIBANA_REQ_H
#define EXPVARBEAT_KIBANA_REQ_H

#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "kibana_data.h"

/* "scheme://host:port[/path]", no trailing slash, from setup.kibana.host
 * ("[scheme://]host[:port][/path]"): the host's scheme wins over protocol
 * (then https when ssl.enabled is true, else http), the host's path over
 * path; the port defaults to 5601.  0, or -1 with a message. */
int kibana_base_url(const kibana_config *k, buf *out, char *err, size_t errlen);

/* base + "/s/<space_id>" (escaped; none when space_id is NULL) + api. */
int kibana_api_url(const char *base, const char *space_id, const char *api, buf *out);

/* The n files one after another as one NDJSON stream: a file whose last
 * line lacks its newline gets one, so objects never run together. */
int kibana_bundle(const kibana_file *files, size_t n, buf *out);

/* GET /api/status's version.number into ver, then ≥ 8.0.0 (Lens).  0, or
 * -1 with a message. */
int kibana_check_status(const char *body, size_t len, char *ver, size_t verlen, char *err,
                        size_t errlen);

/* The answer to POST /api/saved_objects/_import: 0 when Kibana says
 * success, else -1 with Kibana's message for a failed request, or one
 * "error: <type>, asset ID=<id>; asset type=<type>; references=[...]" per
 * object that was not imported, as libbeat words them. */
int kibana_import_result(long status, const char *body, size_t len, char *err, size_t errlen);

/* A failed request: "<what>: <status> <text>: <Kibana's message>" (the
 * start of the body when it has none). */
void kibana_http_error(const char *what, long status, const char *body, size_t len, char *err,
                       size_t errlen);

#endif
