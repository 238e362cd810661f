/* es_conn: the pieces every Elasticsearch request shares (see es_conn.h):
 * endpoint URLs as libbeat's MakeURL builds them, the _bulk query string in
 * Go's url.Values order, headers, auth and TLS on a curl handle, GET /
 * version rules, error reasons, gzip and the reconnect backoff.  Kept apart
 * from the transport so that the pure parts are unit-tested directly and the
 * blocking commands (setup, test output) configure requests identically. */
#include "es_conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "curl_tls.h"

#define USER_AGENT "Expvarbeat/" EXPVARBEAT_VERSION " (linux; amd64)"
#define ES_DEFAULT_PORT 9200
#define BULK_FILTER "filter_path=errors%2Citems.%2A.error%2Citems.%2A.status"

/* ---- endpoint ------------------------------------------------------------------- */

static int parse_port(const char *p, size_t n, int *port)
{
    long v = 0;
    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* host[:port] or [v6][:port] → host (brackets kept in hostport for the URL). */
static int split_hostport(const char *hp, size_t n, es_endpoint *out, char *err, size_t errlen)
{
    const char *host = hp, *port = NULL;
    size_t host_len = n;
    if (n && hp[0] == '[') {
        const char *close = memchr(hp, ']', n);
        if (!close) {
            snprintf(err, errlen, "missing ']' in host %.*s", (int)n, hp);
            return -1;
        }
        host = hp + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < hp + n && close[1] == ':')
            port = close + 2;
    } else {
        const char *colon = memchr(hp, ':', n);
        if (colon) {
            host_len = (size_t)(colon - hp);
            port = colon + 1;
        }
    }
    out->port = ES_DEFAULT_PORT;
    if (port && parse_port(port, (size_t)(hp + n - port), &out->port) != 0) {
        snprintf(err, errlen, "invalid port in host %.*s", (int)n, hp);
        return -1;
    }
    if (host_len == 0) {
        snprintf(err, errlen, "empty host in %.*s", (int)n, hp);
        return -1;
    }
    out->host = strndup(host, host_len);
    return out->host ? 0 : -1;
}

static int scheme_of(const char *host, const char *protocol, int ssl_enabled, const char **scheme,
                     size_t *len, char *err, size_t errlen)
{
    const char *sep = strstr(host, "://");
    if (sep) {
        *scheme = host;
        *len = (size_t)(sep - host);
    } else if (protocol && *protocol) {
        *scheme = protocol;
        *len = strlen(protocol);
    } else {
        *scheme = ssl_enabled == 1 ? "https" : "http";
        *len = strlen(*scheme);
    }
    if (!((*len == 4 && strncasecmp(*scheme, "http", 4) == 0) ||
          (*len == 5 && strncasecmp(*scheme, "https", 5) == 0))) {
        snprintf(err, errlen, "unsupported scheme '%.*s' in host %s (http or https)", (int)*len,
                 *scheme, host);
        return -1;
    }
    return 0;
}

/* The path: the host's own wins, else the configured one; no trailing '/'. */
static int append_path(buf *u, const char *own, const char *cfg)
{
    const char *p = own && *own && strcmp(own, "/") != 0 ? own : cfg;
    if (!p || !*p)
        return 0;
    size_t n = strlen(p);
    while (n && p[n - 1] == '/')
        n--;
    int rc = 0;
    if (n && p[0] != '/')
        rc |= buf_append(u, "/", 1);
    return rc | buf_append(u, p, n);
}

int es_endpoint_parse(const char *host, const char *protocol, const char *path, int ssl_enabled,
                      es_endpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *scheme;
    size_t scheme_len;
    if (scheme_of(host, protocol, ssl_enabled, &scheme, &scheme_len, err, errlen) != 0)
        return -1;
    const char *sep = strstr(host, "://");
    const char *rest = sep ? sep + 3 : host;
    size_t hp_len = strcspn(rest, "/?#");
    if (memchr(rest, '@', hp_len)) {
        snprintf(err, errlen, "credentials in host %s: use username and password", host);
        return -1;
    }
    if (split_hostport(rest, hp_len, out, err, errlen) != 0)
        return -1;
    out->tls = scheme_len == 5;
    char *own_path = strndup(rest + hp_len, strcspn(rest + hp_len, "?#"));
    buf u;
    buf_init(&u, 0);
    int rc = !own_path;
    for (size_t i = 0; i < scheme_len; i++) {
        char c = (char)tolower((unsigned char)scheme[i]);
        rc |= buf_append(&u, &c, 1);
    }
    char port[16];
    snprintf(port, sizeof port, ":%d", out->port);
    int v6 = strchr(out->host, ':') != NULL;
    rc |= buf_append_str(&u, v6 ? "://[" : "://") || buf_append_str(&u, out->host);
    rc |= buf_append_str(&u, v6 ? "]" : "") || buf_append_str(&u, port);
    rc |= append_path(&u, own_path, path);
    free(own_path);
    out->base = buf_detach(&u, NULL);
    if (rc || !out->base) {
        snprintf(err, errlen, "out of memory");
        es_endpoint_free(out);
        return -1;
    }
    return 0;
}

void es_endpoint_free(es_endpoint *e)
{
    if (!e)
        return;
    free(e->base);
    free(e->host);
    memset(e, 0, sizeof *e);
}

/* ---- query and path ------------------------------------------------------------- */

static int escape(buf *out, const char *s, int query)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        int keep = isalnum(*p) || strchr("-_.~", *p) != NULL;
        if (!query && !keep)
            keep = strchr("$&+,:;=@", *p) != NULL; /* Go's shouldEscape, path segment */
        if (keep)
            rc = buf_append(out, p, 1);
        else if (query && *p == ' ')
            rc = buf_append(out, "+", 1);
        else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = buf_append(out, e, 3);
        }
    }
    return rc;
}

int es_path_escape(buf *out, const char *s)
{
    return escape(out, s, 0);
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

int es_bulk_path(const kvlist *parameters, buf *out)
{
    size_t n = parameters ? parameters->n : 0;
    kv *sorted = calloc(n + 1, sizeof *sorted);
    if (!sorted)
        return -1;
    for (size_t i = 0; i < n; i++)
        sorted[i] = parameters->v[i];
    sorted[n] = (kv){"filter_path", NULL}; /* placed by its key, as url.Values does */
    qsort(sorted, n + 1, sizeof *sorted, kv_cmp);
    int rc = buf_append_str(out, "/_bulk");
    for (size_t i = 0; i <= n; i++) {
        rc |= buf_append_str(out, i ? "&" : "?");
        if (!sorted[i].value) {
            rc |= buf_append_str(out, BULK_FILTER);
            continue;
        }
        rc |= escape(out, sorted[i].key, 1) || buf_append(out, "=", 1);
        rc |= escape(out, sorted[i].value, 1);
    }
    free(sorted);
    return rc ? -1 : 0;
}

/* ---- headers and curl options --------------------------------------------------- */

static int user_has(const es_config *ec, const char *name)
{
    for (size_t i = 0; i < ec->headers.n; i++)
        if (strcasecmp(ec->headers.v[i].key, name) == 0)
            return 1;
    return 0;
}

static int add_header(struct curl_slist **l, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return -1;
    /* "Name;" is curl's way of sending a header with an empty value. */
    snprintf(line, n, *value ? "%s: %s" : "%s;", name, value);
    struct curl_slist *nl = curl_slist_append(*l, line);
    free(line);
    if (!nl)
        return -1;
    *l = nl;
    return 0;
}

static int add_api_key(struct curl_slist **l, const char *api_key)
{
    buf v;
    buf_init(&v, 0);
    int rc = buf_append_str(&v, "ApiKey ") || es_base64(&v, api_key, strlen(api_key)) ||
             buf_append(&v, "", 1);
    if (rc == 0)
        rc = add_header(l, "Authorization", v.data);
    buf_free(&v);
    return rc;
}

struct curl_slist *es_headers_new(const es_config *ec, int gzip, char *err, size_t errlen)
{
    struct curl_slist *l = NULL;
    int rc = 0;
    if (!user_has(ec, "Content-Type"))
        rc |= add_header(&l, "Content-Type", "application/json; charset=UTF-8");
    if (!user_has(ec, "Accept"))
        rc |= add_header(&l, "Accept", "application/json");
    rc |= add_header(&l, "X-Elastic-Product-Origin", "beats");
    if (ec->api_key && *ec->api_key)
        rc |= add_api_key(&l, ec->api_key);
    for (size_t i = 0; i < ec->headers.n; i++)
        rc |= add_header(&l, ec->headers.v[i].key, ec->headers.v[i].value);
    if (gzip)
        rc |= add_header(&l, "Content-Encoding", "gzip");
    struct curl_slist *nl = curl_slist_append(l, "Expect:"); /* "Name:" removes curl's own */
    if (nl)
        l = nl;
    if (rc || !nl) {
        snprintf(err, errlen, "out of memory building request headers");
        curl_slist_free_all(l);
        return NULL;
    }
    return l;
}

int es_conn_configure(CURL *e, const es_config *ec, char *err, size_t errlen)
{
    curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
    if ((ec->username && *ec->username) || (ec->password && *ec->password)) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, ec->username ? ec->username : "");
        curl_easy_setopt(e, CURLOPT_PASSWORD, ec->password ? ec->password : "");
    }
    /* libbeat's one timeout bounds both the dial and the whole request. */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)ec->timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ec->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    return curl_tls_apply(e, &ec->ssl, err, errlen);
}

void es_conn_method(CURL *e, const char *method, const char *body, size_t len)
{
    /* HTTPGET also clears NOBODY and UPLOAD left by an earlier request. */
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
}

/* ---- version -------------------------------------------------------------------- */

static yajl_val parse_json(const char *body, size_t len)
{
    char *copy = strndup(body ? body : "", body ? len : 0);
    if (!copy)
        return NULL;
    yajl_val v = yajl_tree_parse(copy, NULL, 0);
    free(copy);
    return v;
}

static const char *str_at(yajl_val root, const char *a, const char *b)
{
    const char *path[] = {a, b, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);
    return v ? YAJL_GET_STRING(v) : NULL;
}

int es_version_parse(const char *body, size_t len, es_version *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    yajl_val root = parse_json(body, len);
    const char *num = root ? str_at(root, "version", "number") : NULL;
    if (!num || sscanf(num, "%d.%d.%d", &v->major, &v->minor, &v->patch) != 3) {
        snprintf(err, errlen, "GET / did not answer with an Elasticsearch version: %.*s",
                 (int)(len > 200 ? 200 : len), body ? body : "");
        yajl_tree_free(root);
        return -1;
    }
    snprintf(v->number, sizeof v->number, "%s", num);
    const char *flavor = str_at(root, "version", "build_flavor");
    snprintf(v->flavor, sizeof v->flavor, "%s", flavor ? flavor : "");
    yajl_tree_free(root);
    return 0;
}

static int version_below(const es_version *v, int major, int minor, int patch)
{
    if (v->major != major)
        return v->major < major;
    if (v->minor != minor)
        return v->minor < minor;
    return v->patch < patch;
}

int es_version_check(const es_version *v, int allow_older, char *err, size_t errlen)
{
    if (!allow_older && version_below(v, 8, 0, 0)) {
        snprintf(err, errlen,
                 "Elasticsearch %s is too old: expvarbeat needs 8.0.0 or later. Please upgrade "
                 "the instance. If you would like to connect to older instances set "
                 "output.elasticsearch.allow_older_versions to true",
                 v->number);
        return -1;
    }
    if (version_below(v, 7, 10, 0)) {
        snprintf(err, errlen,
                 "Elasticsearch %s is too old: expvarbeat writes to data streams, which need "
                 "7.10.0 or later",
                 v->number);
        return -1;
    }
    return 0;
}

/* ---- errors --------------------------------------------------------------------- */

static void body_excerpt(const char *body, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < outlen && n < 300; i++)
        out[n++] = (body[i] == '\n' || body[i] == '\r') ? ' ' : body[i];
    out[n] = '\0';
}

void es_error_reason(const char *body, size_t len, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (!body || len == 0)
        return;
    yajl_val root = parse_json(body, len);
    const char *path[] = {"error", NULL};
    yajl_val e = root ? yajl_tree_get(root, path, yajl_t_any) : NULL;
    const char *type = e ? str_at(e, "type", NULL) : NULL;
    const char *reason = e ? str_at(e, "reason", NULL) : NULL;
    if (e && YAJL_IS_STRING(e))
        snprintf(out, outlen, "%s", YAJL_GET_STRING(e));
    else if (type || reason)
        snprintf(out, outlen, "%s%s%s", type ? type : "", type && reason ? ": " : "",
                 reason ? reason : "");
    else
        body_excerpt(body, len, out, outlen);
    yajl_tree_free(root);
}

const char *es_status_text(long status)
{
    static const struct {
        long code;
        const char *text;
    } t[] = {
        {200, "OK"},
        {201, "Created"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {413, "Request Entity Too Large"},
        {415, "Unsupported Media Type"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].code == status)
            return t[i].text;
    return "";
}

/* ---- encodings ------------------------------------------------------------------ */

int es_base64(buf *out, const void *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = p;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        rc = buf_append(out, q, 4);
    }
    return rc ? -1 : 0;
}

int es_gzip(const char *in, size_t len, int level, buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    buf_reset(out);
    z.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const-correct */
    z.avail_in = (uInt)len;
    unsigned char chunk[65536];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        rc = deflate(&z, Z_FINISH);
        if ((rc == Z_OK || rc == Z_STREAM_END) &&
            buf_append(out, chunk, sizeof chunk - z.avail_out) != 0)
            rc = Z_MEM_ERROR;
    }
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* ---- backoff -------------------------------------------------------------------- */

void es_backoff_init(es_backoff *b, int64_t init_ms, int64_t max_ms)
{
    b->init_ms = init_ms > 0 ? init_ms : 1;
    b->max_ms = max_ms >= b->init_ms ? max_ms : b->init_ms;
    b->cur_ms = b->init_ms;
}

int64_t es_backoff_next(es_backoff *b, unsigned r)
{
    int64_t wait = b->cur_ms + (int64_t)(r % (uint64_t)b->cur_ms);
    b->cur_ms = b->cur_ms * 2 > b->max_ms ? b->max_ms : b->cur_ms * 2;
    return wait;
}

void es_backoff_reset(es_backoff *b)
{
    b->cur_ms = b->init_ms;
}
