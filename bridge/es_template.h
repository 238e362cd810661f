/* es_template: the index template and ILM policy expvarbeat installs,
 * generated from the field definitions in mappings/fields.yml (embedded in
 * the binary at build time, the one source of truth for the template and
 * later the Kibana data view).  Pure: config in, JSON out. */
#ifndef EXPVARBEAT_ES_TEMPLATE_H
#define EXPVARBEAT_ES_TEMPLATE_H

#include <stddef.h>
#include "buf.h"
#include "config.h"

/* The composable template body for PUT /_index_template/<name> (spec §3.3
 * step 5 shape, plus expvarbeat's typed dynamic templates for golang.*).
 * ilm: include index.lifecycle.name.  pretty: indented. */
int es_template_render(const config *c, int ilm, int pretty, buf *out, char *err, size_t errlen);

/* The ILM policy body for PUT /_ilm/policy/<name>: setup.ilm.policy_file
 * when set, else the built-in one (rollover 50gb primary shard / 30d). */
int es_ilm_policy_render(const config *c, int pretty, buf *out, char *err, size_t errlen);

/* Names after defaults: the template name and pattern, the ILM policy name,
 * and the default index / data stream ("expvarbeat-<version>"). */
const char *es_template_name(const config *c);
const char *es_template_pattern(const config *c);
const char *es_ilm_policy_name(const config *c);

#endif
