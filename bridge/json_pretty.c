/* json_pretty: yajl's parser feeding yajl's beautifying generator, with the
 * two differences from Go's json.Indent smoothed over: empty containers and
 * the trailing newline (see json_pretty.h). */
#include "json_pretty.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

typedef struct pretty_ctx {
    yajl_gen g;
    buf *out;
    buf ws;         /* whitespace held back after an opening bracket */
    int after_open; /* the last chunk printed was "{" or "[" */
    int oom;
} pretty_ctx;

static int all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\n')
            return 0;
    return 1;
}

static void pretty_put(pretty_ctx *p, const char *s, size_t n)
{
    if (buf_append(p->out, s, n) != BUF_OK)
        p->oom = 1;
}

/* yajl's beautifier writes an empty container as "{\n\n}"; Go writes "{}".
 * yajl prints every bracket and every run of indentation as its own chunk,
 * so holding whitespace back after an opener until the next real token is
 * enough to tell the two apart. */
static void pretty_print(void *ctx, const char *s, size_t n)
{
    pretty_ctx *p = ctx;
    if (p->after_open) {
        if (all_space(s, n)) {
            if (buf_append(&p->ws, s, n) != BUF_OK)
                p->oom = 1;
            return;
        }
        if (!(n == 1 && (s[0] == '}' || s[0] == ']')) && p->ws.len)
            pretty_put(p, p->ws.data, p->ws.len);
        buf_reset(&p->ws);
        p->after_open = 0;
    }
    pretty_put(p, s, n);
    if (n == 1 && (s[0] == '{' || s[0] == '['))
        p->after_open = 1;
}

#define GEN_OK(call) ((call) == yajl_gen_status_ok)

static int cb_null(void *ctx)
{
    return GEN_OK(yajl_gen_null(((pretty_ctx *)ctx)->g));
}

static int cb_bool(void *ctx, int v)
{
    return GEN_OK(yajl_gen_bool(((pretty_ctx *)ctx)->g, v));
}

/* The token's text, untouched: 1.3572176e+07 must not become 13572176. */
static int cb_number(void *ctx, const char *s, size_t n)
{
    return GEN_OK(yajl_gen_number(((pretty_ctx *)ctx)->g, s, n));
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
    return GEN_OK(yajl_gen_string(((pretty_ctx *)ctx)->g, s, n));
}

static int cb_start_map(void *ctx)
{
    return GEN_OK(yajl_gen_map_open(((pretty_ctx *)ctx)->g));
}

static int cb_end_map(void *ctx)
{
    return GEN_OK(yajl_gen_map_close(((pretty_ctx *)ctx)->g));
}

static int cb_start_array(void *ctx)
{
    return GEN_OK(yajl_gen_array_open(((pretty_ctx *)ctx)->g));
}

static int cb_end_array(void *ctx)
{
    return GEN_OK(yajl_gen_array_close(((pretty_ctx *)ctx)->g));
}

static const yajl_callbacks pretty_callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_string,
    .yajl_end_map = cb_end_map,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end_array,
};

int json_pretty(const char *json, size_t len, buf *out, char *err, size_t errlen)
{
    size_t mark = out->len;
    pretty_ctx p = {.out = out};
    buf_init(&p.ws, 0);
    p.g = yajl_gen_alloc(NULL);
    yajl_handle h = p.g ? yajl_alloc(&pretty_callbacks, NULL, &p) : NULL;
    int rc = JSON_PRETTY_ENOMEM;
    if (h) {
        yajl_gen_config(p.g, yajl_gen_beautify, 1);
        yajl_gen_config(p.g, yajl_gen_indent_string, "  ");
        yajl_gen_config(p.g, yajl_gen_print_callback, pretty_print, &p);
        yajl_status st = yajl_parse(h, (const unsigned char *)json, len);
        if (st == yajl_status_ok)
            st = yajl_complete_parse(h);
        if (p.oom) {
            rc = JSON_PRETTY_ENOMEM;
        } else if (st != yajl_status_ok) {
            unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)json, len);
            snprintf(err, errlen, "not valid JSON: %s", msg ? (const char *)msg : "parse error");
            err[strcspn(err, "\r\n")] = '\0';
            yajl_free_error(h, msg);
            rc = JSON_PRETTY_INVALID;
        } else {
            rc = JSON_PRETTY_OK;
        }
    }
    if (rc == JSON_PRETTY_OK && out->len > mark && out->data[out->len - 1] == '\n')
        out->len--; /* the beautifier ends the document with a newline; Go does not */
    if (rc != JSON_PRETTY_OK)
        out->len = mark;
    if (rc == JSON_PRETTY_ENOMEM)
        snprintf(err, errlen, "out of memory");
    if (h)
        yajl_free(h);
    if (p.g)
        yajl_gen_free(p.g);
    buf_free(&p.ws);
    return rc;
}
