/* kibana: the dashboards expvarbeat ships (the .ndjson files of kibana/, embedded in
 * the binary at build time) and their import through Kibana's saved-objects
 * API (spec §5.1).  Blocking: used by `setup --dashboards` and `export
 * dashboards`, never by the running daemon's loop. */
#ifndef EXPVARBEAT_KIBANA_H
#define EXPVARBEAT_KIBANA_H

#include <stddef.h>
#include <stdio.h>
#include "config.h"

/* Every saved object as one NDJSON stream (data view first, then each
 * dashboard's objects), as Kibana's UI imports it.  0, or -1 with err. */
int kibana_export(FILE *out, char *err, size_t errlen);

/* GET /api/status (version ≥ 8.0.0 for Lens), then POST
 * /api/saved_objects/_import?overwrite=true (multipart, kbn-xsrf), honouring
 * setup.kibana.* and its defaults.  Prints "Loading dashboards (Kibana must
 * be running and reachable)" and "Loaded dashboards" to out on success; on
 * failure returns -1 with a message naming each failed object (type, id,
 * reason) or the HTTP/transport problem. */
int kibana_setup_dashboards(const config *c, FILE *out, char *err, size_t errlen);

#endif
