/* target: URL building as Metricbeat's host parser does it (spec §1.1) and
 * the configuration of a lent curl easy handle for one scrape: headers,
 * credentials, TLS, timeouts, gzip, redirects and the capped body sink. */
#include "target.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_tls.h"
#include "expvar_select.h"
#include "stats.h"

#define USER_AGENT "Expvarbeat/" EXPVARBEAT_VERSION " (linux; amd64)"
#define RECV_BUFFER_SIZE 4096L

/* ---- URL building ---------------------------------------------------- */

static char *strndup_or_null(const char *p, size_t n)
{
    return n ? strndup(p, n) : NULL;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
}

/* Percent-decodes in place (and '+' → ' ' for query text). */
static void unescape(char *s, int plus_is_space)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            *w++ = (char)(hexval((unsigned char)r[1]) * 16 + hexval((unsigned char)r[2]));
            r += 2;
        } else {
            *w++ = (plus_is_space && *r == '+') ? ' ' : *r;
        }
    }
    *w = '\0';
}

/* Go's url.QueryEscape. */
static int query_escape(buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            rc = buf_append(b, p, 1);
        } else if (*p == ' ') {
            rc = buf_append(b, "+", 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = buf_append(b, e, 3);
        }
    }
    return rc;
}

typedef struct qpair {
    char *k, *v;
    size_t order;
} qpair;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static size_t query_split(const char *raw, qpair *out, size_t max)
{
    size_t n = 0;
    char *copy = strdup(raw), *save = NULL;
    for (char *tok = strtok_r(copy, "&", &save); tok && n < max; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        out[n].k = strdup(tok);
        out[n].v = strdup(eq ? eq + 1 : "");
        unescape(out[n].k, 1);
        unescape(out[n].v, 1);
        out[n].order = n;
        n++;
    }
    free(copy);
    return n;
}

/* SetQueryParams: the existing query plus the configured one, re-encoded
 * with keys sorted (Go's url.Values.Encode).  Untouched when none is set. */
static int query_merge(buf *b, const char *raw, size_t rawlen, const kvlist *q)
{
    if (!q || q->n == 0) {
        if (rawlen == 0)
            return 0;
        return buf_append(b, "?", 1) || buf_append(b, raw, rawlen);
    }
    char *r = strndup(raw, rawlen);
    size_t max = q->n + rawlen + 1, n;
    qpair *pairs = calloc(max, sizeof *pairs);
    n = query_split(r, pairs, max);
    for (size_t i = 0; i < q->n; i++, n++)
        pairs[n] = (qpair){strdup(q->v[i].key), strdup(q->v[i].value), n};
    qsort(pairs, n, sizeof *pairs, qpair_cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rc |= buf_append(b, i ? "&" : "?", 1);
        rc |= query_escape(b, pairs[i].k);
        rc |= buf_append(b, "=", 1);
        rc |= query_escape(b, pairs[i].v);
        free(pairs[i].k);
        free(pairs[i].v);
    }
    free(pairs);
    free(r);
    return rc;
}

/* basepath and the metricset path, joined and slash-trimmed. */
static void join_path(char *out, size_t outlen, const char *base, const char *path)
{
    while (base && *base == '/')
        base++;
    while (path && *path == '/')
        path++;
    size_t bl = base ? strlen(base) : 0, pl = path ? strlen(path) : 0;
    while (bl && base[bl - 1] == '/')
        bl--;
    while (pl && path[pl - 1] == '/')
        pl--;
    snprintf(out, outlen, "%.*s%s%.*s", (int)bl, bl ? base : "", bl && pl ? "/" : "", (int)pl,
             pl ? path : "");
}

static int validate_hostport(const char *hp, size_t n, char *err, size_t errlen)
{
    const char *colon = memchr(hp, ':', n);
    size_t hostlen = n;
    if (n && hp[0] == '[') {
        const char *close = memchr(hp, ']', n);
        if (!close) {
            snprintf(err, errlen, "error parsing URL: missing ']' in host");
            return -1;
        }
        colon = close + 1 < hp + n && close[1] == ':' ? close + 1 : NULL;
        hostlen = (size_t)(close - hp) - 1;
    } else if (colon) {
        if (memchr(colon + 1, ':', n - (size_t)(colon - hp) - 1)) {
            snprintf(err, errlen, "error parsing URL: address %.*s: too many colons in address",
                     (int)n, hp);
            return -1;
        }
        hostlen = (size_t)(colon - hp);
    }
    for (const char *p = colon ? colon + 1 : hp + n; p < hp + n; p++)
        if (!isdigit((unsigned char)*p)) {
            snprintf(err, errlen, "invalid port \"%.*s\" after host", (int)(hp + n - colon), colon);
            return -1;
        }
    if (hostlen == 0) {
        snprintf(err, errlen, "error parsing URL: empty host");
        return -1;
    }
    return 0;
}

static void split_userinfo(const char *ui, size_t n, target_url *out)
{
    const char *colon = memchr(ui, ':', n);
    size_t ul = colon ? (size_t)(colon - ui) : n;
    out->user = strndup(ui, ul);
    out->pass = colon ? strndup(colon + 1, n - ul - 1) : strdup("");
    unescape(out->user, 0);
    unescape(out->pass, 0);
}

int target_url_build(const char *host, const char *basepath, const char *ms_path,
                     const kvlist *query, const char *cfg_user, const char *cfg_pass,
                     target_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *sep = strstr(host, "://");
    const char *scheme = sep ? host : "http";
    size_t scheme_len = sep ? (size_t)(sep - host) : 4;
    const char *rest = sep ? sep + 3 : host;
    int is_unix = scheme_len == 9 && strncmp(scheme, "http+unix", 9) == 0;

    size_t auth_len = strcspn(rest, "/?#");
    const char *path = rest + auth_len;
    size_t path_len = strcspn(path, "?#");
    const char *q = path[path_len] == '?' ? path + path_len + 1 : path + path_len;
    size_t q_len = strcspn(q, "#");

    const char *at = NULL;
    for (const char *p = rest; p < rest + auth_len; p++)
        if (*p == '@')
            at = p;
    const char *hp = at ? at + 1 : rest;
    size_t hp_len = (size_t)(rest + auth_len - hp);
    if (!is_unix && validate_hostport(hp, hp_len, err, errlen) != 0) {
        /* "user:se/cret@h": the "port" quoted would be part of a password */
        if (!at && strchr(path, '@'))
            snprintf(err, errlen,
                     "invalid host: a '/', '?' or '#' in the userinfo must be percent-encoded");
        return -1;
    }
    if (at)
        split_userinfo(rest, (size_t)(at - rest), out);
    else if ((cfg_user && *cfg_user) || (cfg_pass && *cfg_pass)) {
        out->user = strdup(cfg_user ? cfg_user : "");
        out->pass = strdup(cfg_pass ? cfg_pass : "");
    }

    char joined[2048];
    join_path(joined, sizeof joined, basepath, ms_path);
    buf u;
    buf_init(&u, 0);
    int rc = 0;
    if (is_unix) {
        out->unix_socket = strndup_or_null(path, path_len);
        rc |= buf_append_str(&u, "http://unix");
        path_len = 0;
    } else {
        rc |= buf_append(&u, scheme, scheme_len) || buf_append(&u, "://", 3);
        rc |= buf_append(&u, hp, hp_len);
    }
    if (path_len)
        rc |= buf_append(&u, path, path_len);
    else if (*joined)
        rc |= buf_append(&u, "/", 1) || buf_append_str(&u, joined);
    rc |= query_merge(&u, q, q_len, query);
    out->uri = buf_detach(&u, NULL);
    if (rc || !out->uri) {
        snprintf(err, errlen, "out of memory building URL");
        target_url_free(out);
        return -1;
    }
    return 0;
}

void target_url_free(target_url *u)
{
    if (!u)
        return;
    free(u->uri);
    free(u->user);
    free(u->pass);
    free(u->unix_socket);
    memset(u, 0, sizeof *u);
}

/* ---- the scrape instance ------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    scrape_lease *l = ctx;
    long code = 0;
    curl_easy_getinfo(l->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200)
        return size * n; /* only the status matters; don't keep an error page */
    if (buf_append(&l->body, p, size * n) != BUF_OK) {
        l->too_big = 1;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    scrape_lease *l = ctx;
    size_t len = size * n;
    if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
        while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
            len--;
        snprintf(l->status_line, sizeof l->status_line, "%.*s", (int)len, p);
    }
    return size * n;
}

static int add_header(target *t, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return -1;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(t->headers, line);
    free(line);
    if (!l)
        return -1;
    t->headers = l;
    return 0;
}

static int setup_headers(target *t, const module_config *m, char *err, size_t errlen)
{
    for (size_t i = 0; i < m->headers.n; i++)
        if (add_header(t, m->headers.v[i].key, m->headers.v[i].value) != 0)
            return -1;
    if (m->bearer_token_file && *m->bearer_token_file) {
        size_t len;
        char *tok = curl_tls_read_file(m->bearer_token_file, 65536, &len, err, errlen);
        if (!tok)
            return -1;
        if (len && tok[len - 1] == '\n')
            tok[--len] = '\0'; /* Metricbeat strips exactly one trailing newline */
        char *value = malloc(len + 8);
        int rc = value ? 0 : -1;
        if (value) {
            snprintf(value, len + 8, "Bearer %s", tok);
            rc = add_header(t, "Authorization", value);
        }
        free(value);
        free(tok);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Every option of t's request: the handle comes reset from the pool, so
 * anything not set here is curl's default, never another target's. */
static int setup_transfer(target *t, scrape_lease *l)
{
    const module_config *m = t->mod;
    CURL *e = l->easy;
    int bad = curl_easy_setopt(e, CURLOPT_URL, t->url.uri) != CURLE_OK;
    if (t->url.unix_socket)
        bad |= curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, t->url.unix_socket) != CURLE_OK;
    if (t->url.user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        bad |= curl_easy_setopt(e, CURLOPT_USERNAME, t->url.user) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_PASSWORD, t->url.pass) != CURLE_OK;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip") != CURLE_OK;
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)m->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)m->timeout_ms);
    /* Go's http.Client follows up to 10 redirects; so do we. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* Keep-alive across periods: curl closes a pooled connection idle for
     * longer than MAXAGE_CONN (118 s by default), so allow two periods; and
     * resolve a name again only every few periods (loopback IPs never are). */
    long period_s = (long)(m->period_ms / 1000);
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, period_s * 2 + 60 > 118 ? period_s * 2 + 60 : 118L);
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, period_s * 3 > 300 ? period_s * 3 : 300L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)m->max_body_bytes);
    /* curl allocates its receive buffer per transfer in flight (16 KiB by
     * default): with thousands of scrapes in flight at once that is most of
     * the memory.  The body is copied out per callback anyway. */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, RECV_BUFFER_SIZE);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, l);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, l);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, l->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_tls_apply_cas(e, &m->ssl, t->cas);
    return bad ? -1 : 0;
}

static int setup_set(target_set *s, const target_url *url, const module_config *m, int ms)
{
    s->ms = ms;
    if (ms == STATS_MS_EXPVAR) {
        size_t n = strlen(m->expvar_namespace) + 8;
        s->dataset = malloc(n);
        if (s->dataset)
            snprintf(s->dataset, n, "golang.%s", m->expvar_namespace);
    } else {
        s->dataset = strdup("golang.heap");
    }
    s->site = (event_site){
        .metricset = ms == STATS_MS_EXPVAR ? "expvar" : "heap",
        .dataset = s->dataset,
        .error_dataset = ms == STATS_MS_EXPVAR ? "golang.expvar" : "golang.heap",
        .address = url->uri,
        .period_ms = m->period_ms,
        .mod = m,
    };
    return s->dataset ? 0 : -1;
}

static int setup_identity(target *t, const module_config *m, unsigned metricsets)
{
    t->mod = m;
    if ((metricsets & MS_EXPVAR) && setup_set(&t->set[t->n_sets++], &t->url, m, STATS_MS_EXPVAR))
        return -1;
    if ((metricsets & MS_HEAP) && setup_set(&t->set[t->n_sets++], &t->url, m, STATS_MS_HEAP))
        return -1;
    t->identity = target_identity(m->expvar_namespace, t->url.uri);
    t->limits.max_depth = m->max_depth;
    t->limits.heap = heap_extras_conf_make(m->heap_restart_reset, m->heap_pause_pct,
                                           m->heap_n_pause_pct, m->heap_rates);
    return 0;
}

/* expvar.include/exclude/max_fields/drop_memstats; stays NULL when unset. */
static int setup_select(target *t, const module_config *m, char *err, size_t errlen)
{
    expvar_select_conf c = {.include = m->expvar_include.v,
                            .n_include = m->expvar_include.n,
                            .exclude = m->expvar_exclude.v,
                            .n_exclude = m->expvar_exclude.n,
                            .max_fields = m->expvar_max_fields,
                            .drop_memstats = m->expvar_drop_memstats};
    return expvar_select_new(&c, &t->limits.select, err, errlen);
}

uint64_t target_identity(const char *ns, const char *url)
{
    uint64_t h = 14695981039346656037ull;
    const char *parts[] = {ns ? ns : "", url};
    for (size_t i = 0; i < 2; i++)
        for (const unsigned char *p = (const unsigned char *)parts[i];; p++) {
            h = (h ^ *p) * 1099511628211ull; /* the NUL too: "a"+"bc" != "ab"+"c" */
            if (!*p)
                break;
        }
    return h;
}

int target_paths_shared(const module_config *m, const char *host)
{
    target_url a, b;
    char err[256];
    if (target_url_build(host, m->basepath, m->expvar_path, &m->query, m->username, m->password, &a,
                         err, sizeof err) != 0)
        return 0;
    int same = target_url_build(host, m->basepath, m->heap_path, &m->query, m->username,
                                m->password, &b, err, sizeof err) == 0 &&
               strcmp(a.uri, b.uri) == 0;
    target_url_free(&a);
    target_url_free(&b);
    return same;
}

target *target_new(const module_config *m, const char *host, unsigned metricsets, char *err,
                   size_t errlen)
{
    target *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *ms_path = (metricsets & MS_EXPVAR) ? m->expvar_path : m->heap_path;
    if (target_url_build(host, m->basepath, ms_path, &m->query, m->username, m->password, &t->url,
                         err, errlen) != 0)
        goto fail;
    if (setup_identity(t, m, metricsets) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((metricsets & MS_EXPVAR) && setup_select(t, m, err, errlen) != 0)
        goto fail;
    if (setup_headers(t, m, err, errlen) != 0)
        goto fail;
    if (m->ssl.certificate_authorities.n &&
        !(t->cas = curl_tls_cas_get(&m->ssl.certificate_authorities, err, errlen)))
        goto fail;
    return t;
fail:
    target_free(t);
    return NULL;
}

scrape_lease *scrape_lease_new(void)
{
    scrape_lease *l = calloc(1, sizeof *l);
    if (l && !(l->easy = curl_easy_init())) {
        free(l);
        return NULL;
    }
    return l;
}

void scrape_lease_free(scrape_lease *l)
{
    if (!l)
        return;
    curl_easy_cleanup(l->easy);
    buf_free(&l->body);
    heap_capture_free(l->heap_cap);
    free(l);
}

int target_scrape_begin(target *t, scrape_lease *l)
{
    buf_reset(&l->body);
    l->body.max = t->mod->max_body_bytes;
    l->too_big = 0;
    l->status_line[0] = '\0';
    l->errbuf[0] = '\0';
    if (setup_transfer(t, l) != 0) {
        curl_easy_reset(l->easy);
        return -1;
    }
    t->lease = l;
    return 0;
}

scrape_lease *target_scrape_end(target *t)
{
    scrape_lease *l = t->lease;
    t->lease = NULL;
    if (l)
        curl_easy_reset(l->easy);
    return l;
}

void target_free(target *t)
{
    if (!t)
        return;
    scrape_lease_free(t->lease);
    curl_slist_free_all(t->headers);
    curl_tls_cas_put(t->cas);
    target_url_free(&t->url);
    expvar_select_free(t->limits.select);
    for (size_t i = 0; i < t->n_sets; i++)
        free(t->set[i].dataset);
    free(t);
}
