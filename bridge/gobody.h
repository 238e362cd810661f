/* gobody: a /debug/vars body parsed with yajl but judged as Go's
 * json.Unmarshal judges it.  Shared by the two metricset decoders.
 * - Syntax errors come first and use Go's words (gojson), because Go
 *   validates the whole input before decoding; yajl's own rejects and its
 *   laxer spots (\f and \v as whitespace) are covered.
 * - Strings reach callbacks as yajl decodes them; gobody_utf8 then replaces
 *   invalid UTF-8 the way Go's decoder does (one U+FFFD per bad byte), and
 *   lone \uD800-\uDFFF escapes become U+FFFD as in Go.
 * Pure: no I/O, no logging. */
#ifndef EXPVARBEAT_GOBODY_H
#define EXPVARBEAT_GOBODY_H

#include <stddef.h>
#include <yajl/yajl_parse.h>

#include "buf.h"

/* Room for a callback's reason for rejecting a body. */
#define GOBODY_REASON_MAX 256

/* Parses body, calling cb with ctx.  A callback rejects the body by writing
 * its reason (NUL-terminated) into `reason` (GOBODY_REASON_MAX bytes,
 * reason[0] == '\0' on entry) and returning 0.  Returns 0 when yajl accepted
 * the body and no callback objected; else -1 with msg = prefix + message,
 * the message being Go's syntax error if the body has one, else the
 * callback's reason, else yajl's. */
int gobody_parse(const char *body, size_t len, const yajl_callbacks *cb, void *ctx,
                 const char *reason, const char *prefix, char *msg, size_t msglen);

/* Go's view of the string s[0..n): itself when valid UTF-8, else a copy in
 * scratch with each invalid byte replaced by U+FFFD (EF BF BD).  Sets *out
 * and *outlen.  Returns 0, or -1 when scratch cannot grow. */
int gobody_utf8(const char *s, size_t n, buf *scratch, const char **out, size_t *outlen);

#endif
