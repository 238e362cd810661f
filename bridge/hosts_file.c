/* hosts_file: YAML list or one URL a line (see hosts_file.h).  The format
 * is told by the first significant line: `-` or `[` starts YAML, read with
 * libyaml so quoting and flow lists work as in the main config. */
#include "hosts_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "redact.h"
#include "target.h"

#define HOSTS_FILE_MAX (64u << 20)

void hosts_list_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

char *hosts_file_path(const config *c, const module_config *m)
{
    if (!m->hosts_file || !*m->hosts_file)
        return NULL;
    const char *dir = c->path.config;
    if (m->hosts_file[0] == '/' || !dir || !*dir)
        return strdup(m->hosts_file);
    size_t n = strlen(dir) + strlen(m->hosts_file) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, m->hosts_file);
    return p;
}

/* One entry: checked as a `hosts` entry would be, then kept. */
static int add_host(const char *name, int line, const char *host, size_t n, const module_config *m,
                    strlist *out, char *err, size_t errlen)
{
    char *h = strndup(host, n);
    char **v = h ? realloc(out->v, (out->n + 1) * sizeof *v) : NULL;
    if (!v) {
        free(h);
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    out->v = v;
    target_url u;
    char why[512];
    const char *path = (m->metricsets & MS_EXPVAR) ? m->expvar_path : m->heap_path;
    if (!*h || strpbrk(h, " \t") ||
        target_url_build(h, m->basepath, path, &m->query, NULL, NULL, &u, why, sizeof why) != 0) {
        char shown[512]; /* the host as written may hold a password */
        redact_urls(h, 1, shown, sizeof shown);
        snprintf(err, errlen, "%s:%d: hosts_file: %s: %s", name, line, shown,
                 *h && !strpbrk(h, " \t") ? why : "not a URL");
        free(h);
        return -1;
    }
    target_url_free(&u);
    out->v[out->n++] = h;
    return 0;
}

static int parse_lines(const char *name, const char *text, size_t len, const module_config *m,
                       strlist *out, char *err, size_t errlen)
{
    int line = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        while (p < e && isspace((unsigned char)*p))
            p++;
        const char *stop = p;
        while (stop < e && !isspace((unsigned char)*stop)) /* "url  # comment" */
            stop++;
        const char *rest = stop;
        while (rest < e && isspace((unsigned char)*rest))
            rest++;
        if (p < e && *p != '#') {
            if (rest < e && *rest != '#') {
                snprintf(err, errlen, "%s:%d: hosts_file: one URL per line, got \"%.*s\"", name,
                         line, (int)(e - p), p);
                return -1;
            }
            if (add_host(name, line, p, (size_t)(stop - p), m, out, err, errlen) != 0)
                return -1;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static int yaml_error(const char *name, const yaml_parser_t *y, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s:%zu: hosts_file: %s", name, y->problem_mark.line + 1,
             y->problem ? y->problem : "invalid YAML");
    return -1;
}

/* The document must be one sequence of scalars. */
static int parse_yaml(const char *name, const char *text, size_t len, const module_config *m,
                      strlist *out, char *err, size_t errlen)
{
    yaml_parser_t y;
    yaml_event_t ev;
    int depth = 0, rc = 0, done = 0;
    yaml_parser_initialize(&y);
    yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&y, &ev)) {
            rc = yaml_error(name, &y, err, errlen);
            break;
        }
        int line = (int)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (ev.type == YAML_SEQUENCE_START_EVENT && depth++ == 0)
                break;
            snprintf(err, errlen, "%s:%d: hosts_file: expected a list of URLs (- http://host:port)",
                     name, line);
            rc = -1;
            break;
        case YAML_SCALAR_EVENT:
            if (depth != 1) {
                snprintf(err, errlen, "%s:%d: hosts_file: expected a list of URLs", name, line);
                rc = -1;
            } else {
                rc = add_host(name, line, (const char *)ev.data.scalar.value, ev.data.scalar.length,
                              m, out, err, errlen);
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&y);
    return rc;
}

int hosts_file_parse(const char *name, const char *text, size_t len, const module_config *m,
                     strlist *out, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    for (;;) { /* the first significant character tells the format */
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p < end && *p == '#') {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
            continue;
        }
        break;
    }
    if (p < end && (*p == '-' || *p == '['))
        return parse_yaml(name, text, len, m, out, err, errlen);
    return parse_lines(name, text, len, m, out, err, errlen);
}

int hosts_file_read(const char *path, const module_config *m, strlist *out, char *err,
                    size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s:%d: hosts_file: cannot read %s: %s", m->file ? m->file : "?",
                 m->line, path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            char *n = cap < HOSTS_FILE_MAX ? realloc(text, cap = cap ? cap * 2 : 4096) : NULL;
            if (!n) {
                snprintf(err, errlen, "%s: hosts_file larger than %u bytes", path, HOSTS_FILE_MAX);
                rc = -1;
                break;
            }
            text = n;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = -1;
    }
    fclose(f);
    if (rc == 0)
        rc = hosts_file_parse(path, text ? text : "", len, m, out, err, errlen);
    free(text);
    return rc;
}
