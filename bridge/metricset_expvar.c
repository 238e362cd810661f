/* metricset_expvar: a /debug/vars body → the object Metricbeat's expvar
 * metricset publishes under golang.<namespace> (spec §1.2, §1.5), streamed
 * from yajl events straight into the caller's generator.
 * A key is held back until its value starts, because a null value drops the
 * key (libbeat's normalisation); the top-level "cmdline" array is collected
 * and written as one string (GetCmdStr).  Every number goes through numfmt
 * so it reads as Go prints a float64.  Two choices where Metricbeat panics:
 * a `null` body and a non-string cmdline element are errors.  Known gap: a
 * key repeated within one object is written twice where Go's map keeps the
 * last; streaming cannot take back the first, and expvar never repeats. */
#include "metricset.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "gobody.h"
#include "numfmt.h"

#define PREFIX "error in http fetch: "
#define GO_MAX_DEPTH 10000

typedef struct ev {
    yajl_gen g;
    int depth; /* containers open in the body */
    int max_depth;
    int key_held; /* `key` waits for its value to be known non-null */
    int key_is_cmdline;
    buf key;
    buf scratch;   /* UTF-8 repairs of values */
    int cmd_depth; /* 0: outside the cmdline array; 1: in it; >1: nested */
    long cmd_n;    /* cmdline elements seen */
    long cmd_bad;  /* index of the first non-string element, or -1 */
    buf cmd;       /* elements joined, each followed by a space */
    char reason[GOBODY_REASON_MAX];
} ev;

__attribute__((format(printf, 2, 3))) static int stop(ev *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    return 0;
}

static int gen_ok(ev *e, yajl_gen_status st)
{
    if (st == yajl_gen_status_ok)
        return 1;
    return stop(e, "cannot write the document (yajl_gen status %d)", (int)st);
}

static int oom(ev *e)
{
    return stop(e, "out of memory");
}

static int top_type(ev *e, const char *kind)
{
    return stop(e, "json: cannot unmarshal %s into Go value of type map[string]interface {}", kind);
}

static int flush_key(ev *e)
{
    if (!e->key_held)
        return 1;
    e->key_held = 0;
    return gen_ok(e, yajl_gen_string(e->g, (const unsigned char *)e->key.data, e->key.len));
}

static int enter(ev *e)
{
    if (++e->depth > e->max_depth)
        return stop(e, "body nests arrays/objects deeper than the limit of %d levels",
                    e->max_depth);
    return 1;
}

/* Direct element of the cmdline array: GetCmdStr's string cast. */
static void cmd_element(ev *e, int is_string)
{
    if (e->cmd_depth == 1 && !is_string && e->cmd_bad < 0)
        e->cmd_bad = e->cmd_n;
    if (e->cmd_depth == 1)
        e->cmd_n++;
}

static int cmd_string(ev *e, const char *s, size_t n)
{
    cmd_element(e, 1);
    if (e->cmd_depth != 1)
        return 1;
    if (buf_append(&e->cmd, s, n) != BUF_OK || buf_append(&e->cmd, " ", 1) != BUF_OK)
        return oom(e);
    return 1;
}

/* The cmdline array closed: strings.TrimRight(joined, " "). */
static int cmd_finish(ev *e)
{
    int key = e->key_held;
    e->key_held = 0;
    if (e->cmd_bad >= 0)
        return 1; /* reported once the whole body is known valid */
    while (e->cmd.len > 0 && e->cmd.data[e->cmd.len - 1] == ' ')
        e->cmd.len--;
    e->key_held = key;
    return flush_key(e) &&
           gen_ok(e, yajl_gen_string(e->g, (const unsigned char *)e->cmd.data, e->cmd.len));
}

static int on_null(void *ctx)
{
    ev *e = ctx;
    if (e->depth == 0)
        return stop(e, "body is JSON null, not an object");
    if (e->cmd_depth) {
        cmd_element(e, 0);
        return 1;
    }
    if (e->key_held) {
        e->key_held = 0; /* null map values are dropped */
        return 1;
    }
    return gen_ok(e, yajl_gen_null(e->g));
}

static int on_bool(void *ctx, int v)
{
    ev *e = ctx;
    if (e->depth == 0)
        return top_type(e, "bool");
    if (e->cmd_depth) {
        cmd_element(e, 0);
        return 1;
    }
    return flush_key(e) && gen_ok(e, yajl_gen_bool(e->g, v));
}

static int on_number(void *ctx, const char *s, size_t n)
{
    ev *e = ctx;
    char out[NUMFMT_MAX];
    if (e->depth == 0)
        return top_type(e, "number");
    size_t k = numfmt_json_number(s, n, out);
    if (k == 0)
        return stop(e, "json: cannot unmarshal number %.*s into Go value of type float64", (int)n,
                    s);
    if (e->cmd_depth) {
        cmd_element(e, 0);
        return 1;
    }
    return flush_key(e) && gen_ok(e, yajl_gen_number(e->g, out, k));
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    ev *e = ctx;
    const char *t;
    size_t tn;
    if (e->depth == 0)
        return top_type(e, "string");
    if (gobody_utf8((const char *)s, n, &e->scratch, &t, &tn) < 0)
        return oom(e);
    if (e->cmd_depth)
        return cmd_string(e, t, tn);
    return flush_key(e) && gen_ok(e, yajl_gen_string(e->g, (const unsigned char *)t, tn));
}

static int on_map_key(void *ctx, const unsigned char *s, size_t n)
{
    ev *e = ctx;
    const char *t;
    size_t tn;
    if (e->cmd_depth)
        return 1; /* inside a cmdline element: never written */
    if (gobody_utf8((const char *)s, n, &e->scratch, &t, &tn) < 0)
        return oom(e);
    buf_reset(&e->key);
    if (buf_append(&e->key, t, tn) != BUF_OK)
        return oom(e);
    e->key_held = 1;
    e->key_is_cmdline = e->depth == 1 && tn == 7 && memcmp(t, "cmdline", 7) == 0;
    return 1;
}

static int on_start_map(void *ctx)
{
    ev *e = ctx;
    if (!enter(e))
        return 0;
    if (e->cmd_depth) {
        cmd_element(e, 0);
        e->cmd_depth++;
        return 1;
    }
    return flush_key(e) && gen_ok(e, yajl_gen_map_open(e->g));
}

static int on_start_array(void *ctx)
{
    ev *e = ctx;
    if (e->depth == 0)
        return top_type(e, "array");
    if (!enter(e))
        return 0;
    if (e->cmd_depth) {
        cmd_element(e, 0);
        e->cmd_depth++;
        return 1;
    }
    if (e->key_held && e->key_is_cmdline) {
        e->cmd_depth = 1;
        e->cmd_n = 0;
        e->cmd_bad = -1;
        buf_reset(&e->cmd);
        return 1;
    }
    return flush_key(e) && gen_ok(e, yajl_gen_array_open(e->g));
}

static int on_end(void *ctx, int map)
{
    ev *e = ctx;
    e->depth--;
    if (e->cmd_depth)
        return --e->cmd_depth ? 1 : cmd_finish(e);
    return gen_ok(e, map ? yajl_gen_map_close(e->g) : yajl_gen_array_close(e->g));
}

static int on_end_map(void *ctx)
{
    return on_end(ctx, 1);
}

static int on_end_array(void *ctx)
{
    return on_end(ctx, 0);
}

int metricset_expvar_emit(yajl_gen g, const char *body, size_t len, const decode_limits *lim,
                          char *msg, size_t msglen)
{
    static const yajl_callbacks cb = {
        on_null,      on_bool,    NULL,       NULL,           on_number,    on_string,
        on_start_map, on_map_key, on_end_map, on_start_array, on_end_array,
    };
    int max = lim && lim->max_depth > 0 ? lim->max_depth : GO_MAX_DEPTH;
    ev e = {.g = g, .max_depth = max < GO_MAX_DEPTH ? max : GO_MAX_DEPTH, .cmd_bad = -1};
    buf_init(&e.key, 0);
    buf_init(&e.scratch, 0);
    buf_init(&e.cmd, 0);
    int rc = gobody_parse(body, len, &cb, &e, e.reason, PREFIX, msg, msglen);
    if (rc == 0 && e.cmd_bad >= 0) {
        snprintf(msg, msglen, PREFIX "cmdline element %ld is not a string", e.cmd_bad);
        rc = -1;
    }
    buf_free(&e.key);
    buf_free(&e.scratch);
    buf_free(&e.cmd);
    return rc;
}
