/* curl_tls: ssl.* onto a curl handle, and a bounded file reader (see
 * curl_tls.h). */
#include "curl_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static int apply_cas(CURL *e, const strlist *files, char *err, size_t errlen)
{
    buf cas;
    buf_init(&cas, 16u << 20);
    for (size_t i = 0; i < files->n; i++) {
        size_t len;
        char *pem = curl_tls_read_file(files->v[i], 4u << 20, &len, err, errlen);
        if (!pem || buf_append(&cas, pem, len) != 0 || buf_append(&cas, "\n", 1) != 0) {
            free(pem);
            buf_free(&cas);
            return -1;
        }
        free(pem);
    }
    struct curl_blob blob = {cas.data, cas.len, CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    buf_free(&cas);
    return 0;
}

int curl_tls_apply(CURL *e, const ssl_config *s, char *err, size_t errlen)
{
    int peer = s->verification_mode != SSL_VERIFY_NONE;
    int host = s->verification_mode == SSL_VERIFY_FULL || s->verification_mode == SSL_VERIFY_STRICT;
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, (long)peer);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, host ? 2L : 0L);
    if (s->certificate_authorities.n && apply_cas(e, &s->certificate_authorities, err, errlen))
        return -1;
    if (s->certificate)
        curl_easy_setopt(e, CURLOPT_SSLCERT, s->certificate);
    if (s->key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, s->key);
    return 0;
}
