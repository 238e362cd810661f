/* curl_tls: ssl.* onto a curl handle, and a bounded file reader (see
 * curl_tls.h). */
#include "curl_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"

char *curl_tls_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    buf b;
    buf_init(&b, max);
    char chunk[4096];
    size_t got;
    int rc = 0;
    while (rc == 0 && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = buf_append(&b, chunk, got);
    fclose(f);
    if (rc != 0) {
        snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b, len);
}

/* All CA files as one PEM bundle: curl takes a single CAINFO. */
static int read_cas(const strlist *files, buf *cas, char *err, size_t errlen)
{
    buf_init(cas, 16u << 20);
    for (size_t i = 0; i < files->n; i++) {
        size_t len;
        char *pem = curl_tls_read_file(files->v[i], 4u << 20, &len, err, errlen);
        if (!pem || buf_append(cas, pem, len) != 0 || buf_append(cas, "\n", 1) != 0) {
            free(pem);
            buf_free(cas);
            return -1;
        }
        free(pem);
    }
    return 0;
}

static void apply_verify(CURL *e, const ssl_config *s)
{
    int peer = s->verification_mode != SSL_VERIFY_NONE;
    int host = s->verification_mode == SSL_VERIFY_FULL || s->verification_mode == SSL_VERIFY_STRICT;
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, (long)peer);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, host ? 2L : 0L);
    if (s->certificate)
        curl_easy_setopt(e, CURLOPT_SSLCERT, s->certificate);
    if (s->key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, s->key);
}

int curl_tls_apply(CURL *e, const ssl_config *s, char *err, size_t errlen)
{
    apply_verify(e, s);
    if (s->certificate_authorities.n) {
        buf cas;
        if (read_cas(&s->certificate_authorities, &cas, err, errlen) != 0)
            return -1;
        struct curl_blob blob = {cas.data, cas.len, CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
        buf_free(&cas);
    }
    return 0;
}

/* ---- shared CA bundles ------------------------------------------------ */

struct curl_tls_cas {
    char *key; /* cas_key */
    buf pem;
    size_t refs;
    struct curl_tls_cas *next;
};

/* Main thread only, like every user of the scrape targets. */
static curl_tls_cas *cas_cache;

/* The paths with each file's size and change time: a CA file replaced on
 * disk is read again by the targets made after it changed (a reload),
 * as when every target read its own copy. */
static char *cas_key(const strlist *files)
{
    buf k;
    buf_init(&k, 0);
    int rc = 0;
    for (size_t i = 0; i < files->n; i++) {
        struct stat st;
        char ver[80] = "";
        if (stat(files->v[i], &st) == 0)
            snprintf(ver, sizeof ver, "\t%lld.%ld.%lld", (long long)st.st_mtim.tv_sec,
                     (long)st.st_mtim.tv_nsec, (long long)st.st_size);
        rc |= buf_append_str(&k, files->v[i]) || buf_append_str(&k, ver) || buf_append(&k, "\n", 1);
    }
    if (rc) {
        buf_free(&k);
        return NULL;
    }
    return buf_detach(&k, NULL);
}

curl_tls_cas *curl_tls_cas_get(const strlist *files, char *err, size_t errlen)
{
    char *key = cas_key(files);
    if (!key) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (curl_tls_cas *c = cas_cache; c; c = c->next)
        if (strcmp(c->key, key) == 0) {
            free(key);
            c->refs++;
            return c;
        }
    curl_tls_cas *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        free(key);
        return NULL;
    }
    if (read_cas(files, &c->pem, err, errlen) != 0) {
        free(key);
        free(c);
        return NULL;
    }
    c->key = key;
    c->refs = 1;
    c->next = cas_cache;
    cas_cache = c;
    return c;
}

void curl_tls_cas_put(curl_tls_cas *c)
{
    if (!c || --c->refs)
        return;
    for (curl_tls_cas **pp = &cas_cache; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    free(c->key);
    buf_free(&c->pem);
    free(c);
}

void curl_tls_apply_cas(CURL *e, const ssl_config *s, const curl_tls_cas *cas)
{
    apply_verify(e, s);
    if (cas) { /* not copied: the bundle outlives the loan of the handle */
        struct curl_blob blob = {cas->pem.data, cas->pem.len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
}
