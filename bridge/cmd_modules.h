/* cmd_modules: `expvarbeat modules list | enable NAME... | disable NAME...`,
 * Metricbeat's modules.d management (spec §7.2). */
#ifndef EXPVARBEAT_CMD_MODULES_H
#define EXPVARBEAT_CMD_MODULES_H

#include <stdio.h>

#include "config.h"

/* words = {"modules", "list"|"enable"|"disable", NAME...}.  The directory
 * comes from c->modules_path (a glob ending in "*.yml"), by default the
 * "*.yml" files of <path.config>/modules.d.  Results go to out, refusals and
 * errors to err.  Returns the process exit code: 0, or 1 on any error. */
int cmd_modules(const config *c, int argc_words, const char *const *words, FILE *out, FILE *err);

#endif
