/* json_pretty: one JSON document re-rendered indented as Go's json.Indent
 * with "  " does (what libbeat's codec.json.pretty produces): number tokens
 * pass through as text, empty containers stay "{}" / "[]".  Shared by the
 * console output and the Kafka output's codec.  Pure. */
#ifndef EXPVARBEAT_JSON_PRETTY_H
#define EXPVARBEAT_JSON_PRETTY_H

#include <stddef.h>
#include "buf.h"

enum { JSON_PRETTY_OK = 0, JSON_PRETTY_ENOMEM = -1, JSON_PRETTY_INVALID = -2 };

/* Appends the indented form of json (no trailing newline) to out.  Returns
 * JSON_PRETTY_OK, JSON_PRETTY_INVALID (reason in err) or JSON_PRETTY_ENOMEM;
 * out is left as it was on failure. */
int json_pretty(const char *json, size_t len, buf *out, char *err, size_t errlen);

#endif
