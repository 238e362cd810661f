/* modcmp: "would a target of this module entry scrape and report exactly
 * as before?" for reload.  Compares every setting of two module entries
 * except their hosts and where they were declared (file, line), so an entry
 * that only moved in its file, or gained a host, keeps its other targets'
 * schedules and state.  A new setting added to module_config must be added
 * here too, or changing it would not replace the target. */
#ifndef EXPVARBEAT_MODCMP_H
#define EXPVARBEAT_MODCMP_H

#include "config.h"

int module_config_same(const module_config *a, const module_config *b);

/* The output section decides where documents go; a reload cannot change it
 * (the queue and its events are kept), so the caller warns when it differs. */
int output_config_same(const output_config *a, const output_config *b);

#endif
