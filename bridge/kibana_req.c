/* kibana_req: Kibana URLs, the NDJSON bundle, the status version check and
 * the import answer (see kibana_req.h).  No I/O: kibana.c does the
 * transfers and hands the bodies here. */
#include "kibana_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "es_conn.h"

enum { KIBANA_PORT = 5601 };

/* Splits "[scheme://]host[:port][/path]"; the authority ([::1]:5601 too) is
 * [*host, *host + *hostlen). */
static void split_host(const char *s, const char **scheme, size_t *schemelen, const char **host,
                       size_t *hostlen, const char **path)
{
    const char *sep = strstr(s, "://");
    *scheme = NULL;
    *schemelen = 0;
    if (sep) {
        *scheme = s;
        *schemelen = (size_t)(sep - s);
        s = sep + 3;
    }
    *host = s;
    *hostlen = strcspn(s, "/");
    *path = s[*hostlen] ? s + *hostlen : NULL;
}

static int has_port(const char *host, size_t len)
{
    const char *end = host + len, *close = memchr(host, ']', len);
    const char *from = close ? close : host;
    return memchr(from, ':', (size_t)(end - from)) != NULL;
}

int kibana_base_url(const kibana_config *k, buf *out, char *err, size_t errlen)
{
    const char *scheme, *host, *path;
    size_t schemelen, hostlen;
    split_host(k->host ? k->host : "localhost:5601", &scheme, &schemelen, &host, &hostlen, &path);
    if (!scheme) {
        scheme = k->protocol ? k->protocol : k->ssl.enabled == 1 ? "https" : "http";
        schemelen = strlen(scheme);
    }
    if ((schemelen != 4 || strncmp(scheme, "http", 4) != 0) &&
        (schemelen != 5 || strncmp(scheme, "https", 5) != 0)) {
        snprintf(err, errlen, "setup.kibana.host: unsupported scheme \"%.*s\" in \"%s\"",
                 (int)schemelen, scheme, k->host);
        return -1;
    }
    if (hostlen == 0) {
        snprintf(err, errlen, "setup.kibana.host: no host name in \"%s\"", k->host ? k->host : "");
        return -1;
    }
    if (!path || strcmp(path, "/") == 0)
        path = k->path;
    char port[16] = "";
    if (!has_port(host, hostlen))
        snprintf(port, sizeof port, ":%d", KIBANA_PORT);
    int rc = buf_append(out, scheme, schemelen) | buf_append_str(out, "://") |
             buf_append(out, host, hostlen) | buf_append_str(out, port);
    if (path && *path) {
        size_t n = strlen(path);
        while (n > 0 && path[n - 1] == '/')
            n--;
        rc |= (path[0] != '/' ? buf_append_str(out, "/") : 0) | buf_append(out, path, n);
    }
    if (rc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int kibana_api_url(const char *base, const char *space_id, const char *api, buf *out)
{
    int rc = buf_append_str(out, base);
    if (space_id && *space_id)
        rc |= buf_append_str(out, "/s/") | es_path_escape(out, space_id);
    return rc | buf_append_str(out, api) ? -1 : 0;
}

int kibana_bundle(const kibana_file *files, size_t n, buf *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = *files[i].len;
        if (buf_append(out, files[i].data, len) != 0)
            return -1;
        if (len > 0 && files[i].data[len - 1] != '\n' && buf_append(out, "\n", 1) != 0)
            return -1;
    }
    return 0;
}

int kibana_check_status(const char *body, size_t len, char *ver, size_t verlen, char *err,
                        size_t errlen)
{
    es_version v;
    char why[256];
    if (es_version_parse(body, len, &v, why, sizeof why) != 0) {
        snprintf(err, errlen, "GET /api/status did not answer with a Kibana version: %.*s",
                 (int)(len > 200 ? 200 : len), body ? body : "");
        return -1;
    }
    snprintf(ver, verlen, "%s", v.number);
    if (v.major < 8) {
        snprintf(err, errlen, "Kibana version %s is too old: expvarbeat needs 8.0.0 or later",
                 v.number);
        return -1;
    }
    return 0;
}

static yajl_val parse_json(const char *body, size_t len)
{
    char *copy = body ? strndup(body, len) : NULL;
    yajl_val v = copy ? yajl_tree_parse(copy, NULL, 0) : NULL;
    free(copy);
    return v;
}

static const char *str_at(yajl_val v, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val s = yajl_tree_get(v, path, yajl_t_string);
    return s ? YAJL_GET_STRING(s) : "";
}

/* Go's %+v of the references: [{Type:index-pattern ID:expvarbeat-*} ...] */
static int append_references(buf *b, yajl_val refs)
{
    int rc = buf_append_str(b, "[");
    for (size_t i = 0; YAJL_IS_ARRAY(refs) && i < refs->u.array.len; i++)
        rc |= buf_append_str(b, i ? " {Type:" : "{Type:") |
              buf_append_str(b, str_at(refs->u.array.values[i], "type")) |
              buf_append_str(b, " ID:") | buf_append_str(b, str_at(refs->u.array.values[i], "id")) |
              buf_append_str(b, "}");
    return rc | buf_append_str(b, "]");
}

/* "error: <type>, asset ID=<id>; asset type=<type>; references=[...]" per
 * item, joined as libbeat's multierror joins them. */
static int object_errors(yajl_val errors, buf *b)
{
    const char *err_type[] = {"error", "type", NULL};
    const char *err_refs[] = {"error", "references", NULL};
    size_t n = YAJL_IS_ARRAY(errors) ? errors->u.array.len : 0;
    int rc = 0;
    char head[32];
    if (n == 0)
        return buf_append_str(b, "Kibana reported the import as failed without naming an object");
    snprintf(head, sizeof head, "%zu errors: ", n);
    if (n != 1)
        rc |= buf_append_str(b, head);
    for (size_t i = 0; i < n; i++) {
        yajl_val e = errors->u.array.values[i], t = yajl_tree_get(e, err_type, yajl_t_string);
        rc |= buf_append_str(b, i ? "; error: " : "error: ") |
              buf_append_str(b, t ? YAJL_GET_STRING(t) : "unknown") |
              buf_append_str(b, ", asset ID=") | buf_append_str(b, str_at(e, "id")) |
              buf_append_str(b, "; asset type=") | buf_append_str(b, str_at(e, "type")) |
              buf_append_str(b, "; references=") |
              append_references(b, yajl_tree_get(e, err_refs, yajl_t_array));
    }
    return rc;
}

static void take_message(buf *b, char *err, size_t errlen)
{
    snprintf(err, errlen, "%.*s", (int)b->len, b->data ? b->data : "");
    buf_free(b);
}

/* "<what>: <status> <text>: <Kibana's message, else the start of the body>" */
static void refusal(buf *b, const char *what, long status, yajl_val root, const char *body,
                    size_t len)
{
    const char *msg = root ? str_at(root, "message") : "";
    char head[160];
    snprintf(head, sizeof head, "%s: %ld %s: ", what, status, es_status_text(status));
    buf_append_str(b, head);
    if (*msg)
        buf_append_str(b, msg);
    else
        buf_append(b, body ? body : "", len > 300 ? 300 : len);
}

void kibana_http_error(const char *what, long status, const char *body, size_t len, char *err,
                       size_t errlen)
{
    yajl_val root = parse_json(body, len);
    buf b;
    buf_init(&b, 0);
    refusal(&b, what, status, root, body, len);
    yajl_tree_free(root);
    take_message(&b, err, errlen);
}

int kibana_import_result(long status, const char *body, size_t len, char *err, size_t errlen)
{
    const char *success_path[] = {"success", NULL};
    const char *errors_path[] = {"errors", NULL};
    yajl_val root = parse_json(body, len);
    yajl_val ok = yajl_tree_get(root, success_path, yajl_t_any);
    buf b;
    buf_init(&b, 0);
    if (status < 200 || status >= 300) {
        refusal(&b, "Kibana refused the import", status, root, body, len);
    } else if (ok && YAJL_IS_TRUE(ok)) {
        yajl_tree_free(root);
        return 0;
    } else if (!ok || !YAJL_IS_FALSE(ok)) {
        buf_append_str(&b, "Kibana's answer to the import has no success flag: ");
        buf_append(&b, body ? body : "", len > 300 ? 300 : len);
    } else if (object_errors(yajl_tree_get(root, errors_path, yajl_t_array), &b) != 0) {
        buf_reset(&b);
        buf_append_str(&b, "out of memory");
    }
    yajl_tree_free(root);
    take_message(&b, err, errlen);
    return -1;
}
