/* fmtstr: libbeat format strings, as used by output.elasticsearch.index and
 * .pipeline: literal text with %{[field.path]} (also %{[a][b]}), field
 * defaults %{[field]:default}, and %{+yyyy.MM.dd} (Joda-style date of the
 * event's @timestamp, UTC).  Compiled once at start-up; evaluated per event
 * against the rendered document.  Pure. */
#ifndef EXPVARBEAT_FMTSTR_H
#define EXPVARBEAT_FMTSTR_H

#include <stddef.h>
#include <stdint.h>

typedef struct fmtstr fmtstr;

/* NULL with a message ("unexpected end of format string at 12", "unknown
 * date pattern letter 'q'") naming the offending position. */
fmtstr *fmtstr_compile(const char *text, char *err, size_t errlen);
void fmtstr_free(fmtstr *f);
/* 1 when the result is the same for every event (no fields, no dates):
 * callers then evaluate once. */
int fmtstr_is_constant(const fmtstr *f);
/* Writes the value for one event: doc is its JSON, ts_ms its @timestamp.
 * Returns the length, or -1 when a field is missing and has no default
 * (libbeat then fails the event: "key not found"), or the result does not
 * fit.  Field values that are strings are used as is; numbers and booleans
 * as their JSON text. */
int fmtstr_eval(const fmtstr *f, const char *doc, size_t len, int64_t ts_ms, char *out,
                size_t outlen);

#endif
