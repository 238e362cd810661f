/* curl_tls: the `ssl.*` settings (libbeat's tlscommon) applied to a curl
 * easy handle, shared by scrape targets and the Elasticsearch output so
 * both read verification_mode and the CA files the same way; and the small
 * bounded file reader both need for CA bundles and bearer tokens. */
#ifndef EXPVARBEAT_CURL_TLS_H
#define EXPVARBEAT_CURL_TLS_H

#include <curl/curl.h>
#include <stddef.h>
#include "config.h"

/* verification_mode → VERIFYPEER/VERIFYHOST; certificate_authorities
 * concatenated into one in-memory bundle; client certificate and key.
 * 0, or -1 with a message naming the unreadable file. */
int curl_tls_apply(CURL *e, const ssl_config *s, char *err, size_t errlen);

/* One PEM bundle of CA files, read once per distinct list of files and
 * shared (counted) by everything that holds it: scrape targets set it on a
 * borrowed easy handle at every scrape without reading files again. */
typedef struct curl_tls_cas curl_tls_cas;
/* The bundle of files (files->n > 0), from the cache or read now.  NULL with
 * a message naming the unreadable file. */
curl_tls_cas *curl_tls_cas_get(const strlist *files, char *err, size_t errlen);
void curl_tls_cas_put(curl_tls_cas *c);
/* As curl_tls_apply, with the CA bundle already read (NULL: curl's default
 * store); no I/O.  The bundle must outlive the handle's use of it. */
void curl_tls_apply_cas(CURL *e, const ssl_config *s, const curl_tls_cas *cas);

/* A whole file, NUL-terminated, at most max bytes.  NULL with a message. */
char *curl_tls_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
