/* log_files: the daemon's log as rotating files, as Metricbeat 8 keeps them.
 * The active file is <dir>/<name>-<YYYYMMDD>.ndjson (the local date it was
 * opened); when the next line would pass rotate_bytes it is renamed
 * <name>-<YYYYMMDD>-<N>.ndjson (N growing: higher is newer) and a new one is
 * opened.  An active file left by an earlier run is rotated at open
 * (Metricbeat's rotateonstartup).  At most `keepfiles` rotated files are
 * kept; older ones are deleted.  The directory is created 0750 if missing;
 * files get exactly `permissions`.  Lines are written whole (one write). */
#ifndef EXPVARBEAT_LOG_FILES_H
#define EXPVARBEAT_LOG_FILES_H

#include <stddef.h>
#include <stdint.h>

typedef struct log_files_opts {
    const char *dir;
    const char *name;     /* file name prefix, e.g. "expvarbeat" */
    int keepfiles;        /* rotated files kept, >= 1 */
    int64_t rotate_bytes; /* > 0 */
    int permissions;      /* e.g. 0600 */
} log_files_opts;

typedef struct log_files log_files;

/* NULL + a message naming the path and the reason when the directory or the
 * file cannot be created. */
log_files *log_files_open(const log_files_opts *o, char *err, size_t errlen);
/* Appends one line (with its newline); -1 with errno when the write failed. */
int log_files_write(log_files *f, const char *line, size_t len);
/* The active file's path. */
const char *log_files_path(const log_files *f);
void log_files_close(log_files *f);

#endif
