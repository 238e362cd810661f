/* kibana: `export dashboards` and `setup --dashboards` (see kibana.h).
 * Owns the two blocking transfers to Kibana (GET /api/status, then the
 * multipart POST of the saved-objects import) on one curl easy handle, with
 * setup.kibana's TLS, credentials and headers; kibana_req.c builds the URLs
 * and the bundle and reads the answers. */
#include "kibana.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "curl_tls.h"
#include "es_conn.h"
#include "kibana_data.h"
#include "kibana_req.h"

enum {
    MAX_ANSWER = 16u << 20, /* an import answer lists every object */
    TIMEOUT_MS = 90000,     /* libbeat's Kibana client timeout */
    CONNECT_TIMEOUT_MS = 10000,
};

int kibana_export(FILE *out, char *err, size_t errlen)
{
    buf b;
    buf_init(&b, 0);
    if (kibana_bundle(kibana_files, kibana_n_files, &b) != 0) {
        snprintf(err, errlen, "out of memory");
        buf_free(&b);
        return -1;
    }
    int rc = b.len && fwrite(b.data, 1, b.len, out) != b.len ? -1 : 0;
    if (fflush(out) != 0)
        rc = -1;
    buf_free(&b);
    if (rc)
        snprintf(err, errlen, "cannot write the dashboards: write error");
    return rc;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

static int add_header(struct curl_slist **h, const char *line)
{
    struct curl_slist *t = curl_slist_append(*h, line);
    if (!t)
        return -1;
    *h = t;
    return 0;
}

/* kbn-xsrf (Kibana refuses writes without it), Accept, ApiKey authorization,
 * the user's headers, and no Expect: 100-continue round trip.  curl_mime
 * adds the multipart Content-Type with its boundary. */
static struct curl_slist *kibana_headers(const kibana_config *k)
{
    static const char *const fixed[] = {"kbn-xsrf: true", "Accept: application/json", "Expect:"};
    struct curl_slist *h = NULL;
    buf line;
    buf_init(&line, 0);
    int rc = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && !rc; i++)
        rc = add_header(&h, fixed[i]);
    if (!rc && k->api_key)
        rc = buf_append_str(&line, "Authorization: ApiKey ") ||
             es_base64(&line, k->api_key, strlen(k->api_key)) || add_header(&h, line.data);
    for (size_t i = 0; i < k->headers.n && !rc; i++) {
        buf_reset(&line);
        rc = buf_append_str(&line, k->headers.v[i].key) || buf_append_str(&line, ": ") ||
             buf_append_str(&line, k->headers.v[i].value) || add_header(&h, line.data);
    }
    buf_free(&line);
    if (rc) {
        curl_slist_free_all(h);
        return NULL;
    }
    return h;
}

/* Options both requests share: TLS, basic auth, timeouts, protocols. */
static int configure(CURL *e, const kibana_config *k, struct curl_slist *h, buf *body, char *err,
                     size_t errlen)
{
    if (curl_tls_apply(e, &k->ssl, err, errlen) != 0)
        return -1;
    if (k->username || k->password) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, k->username ? k->username : "");
        curl_easy_setopt(e, CURLOPT_PASSWORD, k->password ? k->password : "");
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "expvarbeat/" EXPVARBEAT_VERSION);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    return 0;
}

/* One transfer to url; the answer's status and body.  Transport failures
 * name the URL, since a wrong setup.kibana.host is their usual cause. */
static int transfer(CURL *e, const char *method, const char *url, buf *body, long *status,
                    char *err, size_t errlen)
{
    char why[CURL_ERROR_SIZE] = "";
    buf_reset(body);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, why);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    if (rc != CURLE_OK) {
        snprintf(err, errlen,
                 "%s %s failed: %s (is Kibana running and is setup.kibana.host right?)", method,
                 url, *why ? why : curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

static int check_version(CURL *e, const char *base, const kibana_config *k, buf *body, char *err,
                         size_t errlen)
{
    buf url;
    buf_init(&url, 0);
    long status = 0;
    char ver[32];
    int rc = kibana_api_url(base, k->space_id, "/api/status", &url);
    if (rc)
        snprintf(err, errlen, "out of memory");
    else
        rc = transfer(e, "GET", url.data, body, &status, err, errlen);
    if (!rc && status != 200) {
        char what[1200];
        snprintf(what, sizeof what, "GET %s", url.data);
        kibana_http_error(what, status, body->data, body->len, err, errlen);
        rc = -1;
    }
    if (!rc)
        rc = kibana_check_status(body->data, body->len, ver, sizeof ver, err, errlen);
    buf_free(&url);
    return rc;
}

/* The multipart body Kibana's import route reads: one part named "file". */
static curl_mime *import_form(CURL *e, const buf *ndjson)
{
    curl_mime *m = curl_mime_init(e);
    curl_mimepart *p = m ? curl_mime_addpart(m) : NULL;
    if (!p || curl_mime_name(p, "file") != CURLE_OK ||
        curl_mime_filename(p, "expvarbeat.ndjson") != CURLE_OK ||
        curl_mime_type(p, "application/ndjson") != CURLE_OK ||
        curl_mime_data(p, ndjson->data ? ndjson->data : "", ndjson->len) != CURLE_OK) {
        curl_mime_free(m);
        return NULL;
    }
    return m;
}

static int import(CURL *e, const char *base, const kibana_config *k, buf *body, char *err,
                  size_t errlen)
{
    buf url, ndjson;
    buf_init(&url, 0);
    buf_init(&ndjson, 0);
    curl_mime *form = NULL;
    long status = 0;
    int rc = kibana_api_url(base, k->space_id, "/api/saved_objects/_import?overwrite=true", &url) ||
             kibana_bundle(kibana_files, kibana_n_files, &ndjson) ||
             !(form = import_form(e, &ndjson));
    if (rc)
        snprintf(err, errlen, "out of memory");
    else {
        curl_easy_setopt(e, CURLOPT_MIMEPOST, form);
        rc = transfer(e, "POST", url.data, body, &status, err, errlen);
    }
    if (!rc)
        rc = kibana_import_result(status, body->data, body->len, err, errlen);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(form);
    buf_free(&ndjson);
    buf_free(&url);
    return rc ? -1 : 0;
}

int kibana_setup_dashboards(const config *c, FILE *out, char *err, size_t errlen)
{
    const kibana_config *k = &c->setup.kibana;
    buf base, body;
    buf_init(&base, 0);
    buf_init(&body, MAX_ANSWER);
    fprintf(out, "Loading dashboards (Kibana must be running and reachable)\n");
    fflush(out);
    CURL *e = NULL;
    struct curl_slist *h = NULL;
    int rc = kibana_base_url(k, &base, err, errlen);
    if (!rc && (!(e = curl_easy_init()) || !(h = kibana_headers(k)))) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (!rc)
        rc = configure(e, k, h, &body, err, errlen) ||
             check_version(e, base.data, k, &body, err, errlen) ||
             import(e, base.data, k, &body, err, errlen);
    if (!rc) {
        fprintf(out, "Loaded dashboards\n");
        fflush(out);
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    buf_free(&body);
    buf_free(&base);
    return rc ? -1 : 0;
}
