/* cmd_index: the index-management commands, `expvarbeat export template`,
 * `export ilm-policy` and `setup --index-management`, as Metricbeat has
 * them (spec §7.2).  Called by main.c with a loaded config; each prints to
 * out and returns the process exit code. */
#ifndef EXPVARBEAT_CMD_INDEX_H
#define EXPVARBEAT_CMD_INDEX_H

#include <stdio.h>
#include "config.h"

/* JSON on out, or with dir: written to <dir>/template/<name>.json. */
int cmd_export_template(const config *c, int noilm, const char *dir, FILE *out);
/* JSON on out, or with dir: written to <dir>/policy/<name>.json. */
int cmd_export_ilm_policy(const config *c, const char *dir, FILE *out);
/* ILM policy, template and data stream in Elasticsearch; "Index setup
 * finished." on success. */
int cmd_setup_index(const config *c, FILE *out);

#endif
