/* log: the daemon's one logging macro family.
 * Until log_setup (only `run` calls it, once its config is loaded) lines go
 * to stderr as "<ISO8601 time>\t<LEVEL>\t<message>".  log_setup sends them
 * where logging.* says, as Metricbeat 8 does: stderr (-e / to_stderr: text,
 * or ECS JSON with logging.json) or else rotating files (always ECS JSON
 * lines, .ndjson).  The userinfo of every URL in a line is masked.  Only
 * main.c configures it; every module may log.  Modules below the caller that
 * can say what happened do not log: they return an error and fill an error
 * buffer. */
#ifndef EXPVARBEAT_LOG_H
#define EXPVARBEAT_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "log_files.h"

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error", "warning"/"warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *s);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line with a logger name ("monitoring") and extra members, given as a
 * JSON object's text: spliced into the JSON line, appended after a tab to a
 * text line (as libbeat's console encoder does).  Both may be NULL. */
void log_event(enum log_level lvl, const char *logger, const char *extra_json, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_get_level() >= LOG_DEBUG)                                                          \
            log_msg(LOG_DEBUG, __VA_ARGS__);                                                       \
    } while (0)

/* Where lines go.  to_stderr wins over to_files (libbeat picks one sink);
 * neither means lines are discarded, as Metricbeat does. */
typedef struct log_setup_opts {
    int to_stderr;
    int json; /* on stderr; files are always JSON */
    int to_files;
    log_files_opts files;
} log_setup_opts;

/* 0, or -1 with a message when the log files cannot be opened. */
int log_setup(const log_setup_opts *o, char *err, size_t errlen);
/* Closes the files; lines go to stderr as text again. */
void log_close(void);
/* 1 when lines currently reach stderr (else a caller that must tell the
 * user something, such as a fatal error, prints it there itself). */
int log_on_stderr(void);

/* One formatted line with its newline, for the sinks and for tests. */
typedef struct log_record {
    enum log_level level;
    int64_t time_ms; /* wall clock, ms since the epoch */
    const char *logger, *message, *extra_json;
} log_record;
struct buf; /* buf.h; not included: modules name their own variables `buf` */
int log_format(const log_record *r, int json, struct buf *out);

#endif
