/* redact: what counts as a secret, in one place.  Used by `export config`
 * (masks whole values by key name) and by the logger (masks the userinfo of
 * every URL in a line), so secrets never reach a terminal or a log file. */
#ifndef EXPVARBEAT_REDACT_H
#define EXPVARBEAT_REDACT_H

#include <stddef.h>

#define REDACT_MASK "[redacted]"

/* 1 when a value under `key` is a secret: password, api_key, passphrase,
 * token, secret... (case-insensitive; a *_file key names a path, not a
 * secret).  parent is the enclosing map's key or NULL: ssl.key is secret,
 * every member of sasl but its mechanism, and under headers the names
 * Authorization, Proxy-Authorization, Cookie and X-Api-Key. */
int redact_key_is_secret(const char *parent, const char *key);

/* 1 when a header of that name carries credentials. */
int redact_header_is_secret(const char *name);

/* Copies s into out with the userinfo of each URL ("scheme://user:pw@")
 * replaced by the mask; with bare_host, also "user:pw@host" without a
 * scheme (host settings).  Always NUL-terminates; returns the length the
 * result needed (as snprintf). */
size_t redact_urls(const char *s, int bare_host, char *out, size_t outlen);

#endif
