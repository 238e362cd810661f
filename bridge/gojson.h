/* gojson: Go encoding/json's syntax errors, word for word.
 * yajl does the real parsing; when it rejects a body, this scanner (a port of
 * the state machine's behaviour, not its code) tells what Go would have said,
 * so error documents carry Metricbeat's messages, e.g.
 *   invalid character '<' looking for beginning of value
 *   invalid character 'x' in string escape code
 *   unexpected end of JSON input
 * Pure function. */
#ifndef EXPVARBEAT_GOJSON_H
#define EXPVARBEAT_GOJSON_H

#include <stddef.h>

/* Returns 0 if Go accepts `p` as one JSON value (surrounding whitespace
 * allowed), else -1 with Go's message in msg. */
int gojson_check(const char *p, size_t n, char *msg, size_t msglen);

#endif
