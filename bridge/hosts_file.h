/* hosts_file: a module entry's `hosts_file`, for fleets that generate their
 * target lists.  Either a YAML list (`- http://...`) or one URL per line
 * (`#` comments and blank lines allowed).  Every entry is checked the way a
 * `hosts` entry is, so a bad one is reported with the file's own line.  Pure
 * file reading: the poller calls it at start and on every reload. */
#ifndef EXPVARBEAT_HOSTS_FILE_H
#define EXPVARBEAT_HOSTS_FILE_H

#include <stddef.h>
#include "config.h"

/* The file of m (relative names are relative to path.config), malloc'd;
 * NULL when m has no hosts_file. */
char *hosts_file_path(const config *c, const module_config *m);

/* Reads the hosts of path into out (which the caller frees with
 * hosts_list_free, also on failure).  0, or -1 with "path:line: why". */
int hosts_file_read(const char *path, const module_config *m, strlist *out, char *err,
                    size_t errlen);

/* Parses text already read (exposed for tests); name is used in messages. */
int hosts_file_parse(const char *name, const char *text, size_t len, const module_config *m,
                     strlist *out, char *err, size_t errlen);

void hosts_list_free(strlist *l);

#endif
