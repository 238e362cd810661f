/* reload: applies config changes without a restart.  SIGHUP (main.c passes
 * it on) always reads the config again; with config.modules.reload.enabled
 * the main config files and the modules.d files are also checked every
 * reload.period, and every module entry's hosts_file is checked every
 * reload.period (10 s by default) even when reload is off, since generated
 * target lists change on their own.  A change is noticed by content, so a
 * rewrite with the same text does nothing.  A new config that does not load
 * is rejected with its file:line error logged, and the running one goes on
 * (counted in stats.reload_failures; applied ones in stats.reloads).  The
 * queue and output are never touched: an output change is logged as needing
 * a restart. */
#ifndef EXPVARBEAT_RELOAD_H
#define EXPVARBEAT_RELOAD_H

#include "config.h"
#include "loop.h"
#include "poller.h"
#include "stats.h"

typedef struct reloader reloader;

/* o (as the config was first loaded with) and p must outlive the reloader.
 * NULL when out of memory. */
reloader *reloader_new(const config_opts *o, poller *p, stats *st, loop *l);
/* Reads the config again now (SIGHUP). */
void reloader_request(reloader *r);
void reloader_free(reloader *r);

/* Content fingerprint of files (FNV-1a over each name and its bytes; a
 * missing file counts as such).  Exposed for tests. */
uint64_t reload_fingerprint(const char *const *paths, size_t n);

#endif
