/* es_conn: what every conversation with Elasticsearch shares, whether it
 * runs on the loop (out_elasticsearch, es_client) or blocks (setup, test
 * output): the endpoint URL built as libbeat's MakeURL builds it, the _bulk
 * query, headers and auth, TLS options on a curl handle, the version check,
 * Elasticsearch's error reason, gzip, and the reconnect backoff.  Everything
 * but es_conn_configure is pure. */
#ifndef EXPVARBEAT_ES_CONN_H
#define EXPVARBEAT_ES_CONN_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"

/* One entry of output.elasticsearch.hosts, resolved. */
typedef struct es_endpoint {
    char *base; /* "http://host:9200[/path]", no trailing slash */
    char *host; /* host name or address, without brackets */
    int port;
    int tls; /* https */
} es_endpoint;

/* "[scheme://]host[:port][/path]": the host's scheme wins over protocol
 * (then https when ssl.enabled is true, else http); the host's path wins
 * over path; the port defaults to 9200.  0, or -1 with a message. */
int es_endpoint_parse(const char *host, const char *protocol, const char *path, int ssl_enabled,
                      es_endpoint *out, char *err, size_t errlen);
void es_endpoint_free(es_endpoint *e);

/* "/_bulk?filter_path=errors%2Citems.%2A.error%2Citems.%2A.status" plus the
 * configured parameters, encoded as Go's url.Values.Encode (keys sorted,
 * values escaped). */
int es_bulk_path(const kvlist *parameters, buf *out);

/* Appends s escaped for one URL path segment (Go's url.PathEscape). */
int es_path_escape(buf *out, const char *s);

/* The headers of every request: Content-Type (JSON, UTF-8), Accept,
 * X-Elastic-Product-Origin, ApiKey authorization, the user's headers (theirs
 * replace Content-Type and Accept), Content-Encoding with gzip, and an empty
 * Expect (no 100-continue round trip).  NULL with a message. */
struct curl_slist *es_headers_new(const es_config *ec, int gzip, char *err, size_t errlen);

/* Options common to all our requests on e: User-Agent, basic auth, TLS,
 * timeouts, protocols, no signals.  0, or -1 with a message (unreadable CA
 * file, ...). */
int es_conn_configure(CURL *e, const es_config *ec, char *err, size_t errlen);

/* Sets the method of the next transfer on e, undoing the previous one's:
 * GET, HEAD (no body), PUT or POST with body[0..len) (borrowed until the
 * transfer ends). */
void es_conn_method(CURL *e, const char *method, const char *body, size_t len);

/* What GET / says. */
typedef struct es_version {
    int major, minor, patch;
    char number[32]; /* "8.11.0" */
    char flavor[32]; /* build_flavor: "default", "serverless", or "" */
} es_version;

int es_version_parse(const char *body, size_t len, es_version *v, char *err, size_t errlen);
/* 8.0.0 or later; with allow_older 7.10.0 or later (data streams).  0, or
 * -1 with the reason. */
int es_version_check(const es_version *v, int allow_older, char *err, size_t errlen);

/* Elasticsearch's reason for a failed request: "type: reason" from
 * {"error":{...}}, the error string, else the start of the body. */
void es_error_reason(const char *body, size_t len, char *out, size_t outlen);

/* Go's http.StatusText for the statuses Elasticsearch uses ("" if unknown). */
const char *es_status_text(long status);

/* Standard base64 of n bytes, for ApiKey. */
int es_base64(buf *out, const void *p, size_t n);

/* gzip (RFC 1952) of in at level 1..9.  0, or -1. */
int es_gzip(const char *in, size_t len, int level, buf *out);

/* The reconnect backoff (libbeat's equal jitter): each wait is in
 * [d, 2d) and d doubles from init up to max; a success resets it. */
typedef struct es_backoff {
    int64_t init_ms, max_ms, cur_ms;
} es_backoff;

void es_backoff_init(es_backoff *b, int64_t init_ms, int64_t max_ms);
/* The next wait; r is a random number (rand_r) for the jitter. */
int64_t es_backoff_next(es_backoff *b, unsigned r);
void es_backoff_reset(es_backoff *b);

#endif
