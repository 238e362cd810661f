/* metricset_expvar: a /debug/vars body → the object Metricbeat's expvar
 * metricset publishes under golang.<namespace> (spec §1.2, §1.5), streamed
 * from yajl events straight into the caller's generator.
 * The object is written as text (jsonw) and spliced into the generator once
 * complete.  A key is written when it arrives and taken back if its value is
 * null (libbeat's normalisation drops it); the top-level "cmdline" array is collected
 * and written as one string (GetCmdStr).  Every number goes through numfmt
 * so it reads as Go prints a float64.  Two choices where Metricbeat panics:
 * a `null` body and a non-string cmdline element are errors.  A key
 * repeated within one object (expvar.Handler never does it, hand-written
 * handlers can) is noticed on the way; the caller then asks for the dedup
 * pass, which writes only the last occurrence, as Go's map keeps it.
 * When the body also serves the heap metricset, the fast pass hands each
 * event to the heap decoder too (metricset_tee), so the body is parsed
 * once; the tee's objections stop only the tee. */
#include "metricset.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "buf.h"
#include "dupkeys.h"
#include "expvar_select.h"
#include "gobody.h"
#include "gojson.h"
#include "jsonw.h"
#include "numfmt.h"

#define PREFIX "error in http fetch: "
#define GO_MAX_DEPTH 10000

typedef struct ev {
    jsonw w;
    int depth; /* containers open in the body */
    int max_depth;
    int key_held;        /* a key is written, its value not yet */
    jsonw_mark key_mark; /* where that key starts, to take it back */
    int key_is_cmdline;
    buf scratch;   /* UTF-8 repairs of values */
    int cmd_depth; /* 0: outside the cmdline array; 1: in it; >1: nested */
    long cmd_n;    /* cmdline elements seen */
    long cmd_bad;  /* index of the first non-string element, or -1 */
    buf cmd;       /* elements joined, each followed by a space */
    /* repeated keys: the fast pass notices, the dedup pass skips */
    keyset ks;
    uint64_t *ids; /* object id per open depth (fast pass) */
    size_t ids_cap;
    uint64_t next_id;
    int repeated;
    const unsigned char *skip; /* dedup pass: keys whose value is replaced later */
    size_t n_skip, key_ord;
    int skip_level;     /* >0 while inside a replaced value */
    metricset_tee *tee; /* fast pass: a second decoder fed the same events */
    char reason[GOBODY_REASON_MAX];
} ev;

/* The tee sees every event while it wants them; its objection stops only it. */
static inline int tee_live(const ev *e)
{
    return e->tee && !e->tee->stopped;
}

static inline void tee_ok(ev *e, int ok)
{
    if (!ok)
        e->tee->stopped = 1;
}

__attribute__((format(printf, 2, 3))) static int stop(ev *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    return 0;
}

static int oom(ev *e)
{
    return stop(e, "out of memory");
}

static int wrote(ev *e, int rc)
{
    return rc == 0 ? 1 : oom(e);
}

static int top_type(ev *e, const char *kind)
{
    return stop(e, "json: cannot unmarshal %s into Go value of type map[string]interface {}", kind);
}

/* The value of the held key starts: the key stays. */
static int flush_key(ev *e)
{
    e->key_held = 0;
    return 1;
}

/* A replaced key's value is parsed but not written.  delta: +1 opens a
 * container, -1 closes one, 0 for a scalar.  1: the event is skipped. */
static int skipped(ev *e, int delta)
{
    if (!e->skip_level)
        return 0;
    e->skip_level += delta;
    if (e->skip_level == 1)
        e->skip_level = 0; /* the replaced value is complete */
    return 1;
}

/* Fast pass: remembers the id of each open object for keyset checks. */
static int push_object(ev *e)
{
    if (e->skip)
        return 1;
    if ((size_t)e->depth >= e->ids_cap) {
        size_t cap = e->ids_cap ? e->ids_cap : 32;
        while (cap <= (size_t)e->depth) /* arrays deepen without an id each */
            cap *= 2;
        uint64_t *ids = realloc(e->ids, cap * sizeof *ids);
        if (!ids)
            return oom(e);
        e->ids = ids;
        e->ids_cap = cap;
    }
    e->ids[e->depth] = ++e->next_id;
    return 1;
}

/* Fast pass: a key seen twice in one object stops it; dedup pass: a key
 * whose value is replaced later starts a skip. */
static int check_repeat(ev *e, const char *k, size_t n)
{
    size_t ord = e->key_ord++;
    if (e->skip) {
        if (ord < e->n_skip && e->skip[ord])
            e->skip_level = 1;
        return 1;
    }
    int seen = keyset_add(&e->ks, e->ids[e->depth], k, n);
    if (seen < 0)
        return oom(e);
    if (seen) {
        e->repeated = 1;
        return stop(e, "repeated key");
    }
    return 1;
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
    return flush_key(e) && wrote(e, jsonw_string(&e->w, e->cmd.data, e->cmd.len, 0));
}

static int on_null(void *ctx)
{
    ev *e = ctx;
    if (tee_live(e))
        tee_ok(e, e->tee->cb->yajl_null(e->tee->ctx));
    if (e->depth == 0)
        return stop(e, "body is JSON null, not an object");
    if (skipped(e, 0))
        return 1;
    if (e->cmd_depth) {
        cmd_element(e, 0);
        return 1;
    }
    if (e->key_held) {
        e->key_held = 0; /* null map values are dropped, with their key */
        jsonw_rewind(&e->w, e->key_mark);
        return 1;
    }
    return wrote(e, jsonw_raw(&e->w, "null", 4));
}

static int on_bool(void *ctx, int v)
{
    ev *e = ctx;
    if (tee_live(e))
        tee_ok(e, e->tee->cb->yajl_boolean(e->tee->ctx, v));
    if (e->depth == 0)
        return top_type(e, "bool");
    if (skipped(e, 0))
        return 1;
    if (e->cmd_depth) {
        cmd_element(e, 0);
        return 1;
    }
    return flush_key(e) && wrote(e, v ? jsonw_raw(&e->w, "true", 4) : jsonw_raw(&e->w, "false", 5));
}

static int on_number(void *ctx, const char *s, size_t n)
{
    ev *e = ctx;
    char out[NUMFMT_MAX];
    const char *text = s; /* most numbers read the same in Go: no copy */
    size_t k = n;
    if (tee_live(e))
        tee_ok(e, e->tee->cb->yajl_number(e->tee->ctx, s, n));
    if (e->depth == 0)
        return top_type(e, "number");
    if (!numfmt_is_verbatim(s, n)) {
        k = numfmt_json_number(s, n, out);
        if (k == 0)
            return stop(e, "json: cannot unmarshal number %.*s into Go value of type float64",
                        (int)n, s);
        text = out;
    }
    if (skipped(e, 0))
        return 1;
    if (e->cmd_depth) {
        cmd_element(e, 0);
        return 1;
    }
    return flush_key(e) && wrote(e, jsonw_raw(&e->w, text, k));
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    ev *e = ctx;
    const char *t;
    size_t tn;
    if (tee_live(e))
        tee_ok(e, e->tee->cb->yajl_string(e->tee->ctx, s, n));
    if (e->depth == 0)
        return top_type(e, "string");
    if (skipped(e, 0))
        return 1;
    if (gobody_utf8((const char *)s, n, &e->scratch, &t, &tn) < 0)
        return oom(e);
    if (e->cmd_depth)
        return cmd_string(e, t, tn);
    return flush_key(e) && wrote(e, jsonw_string(&e->w, t, tn, 0));
}

static int on_map_key(void *ctx, const unsigned char *s, size_t n)
{
    ev *e = ctx;
    const char *t;
    size_t tn;
    if (tee_live(e))
        tee_ok(e, e->tee->cb->yajl_map_key(e->tee->ctx, s, n));
    if (gobody_utf8((const char *)s, n, &e->scratch, &t, &tn) < 0)
        return oom(e);
    if (e->skip_level || e->cmd_depth) {
        e->key_ord++; /* inside a replaced value or a cmdline element: never written */
        return 1;
    }
    if (!check_repeat(e, t, tn))
        return 0;
    if (e->skip_level)
        return 1;
    e->key_mark = jsonw_mark_here(&e->w);
    if (jsonw_string(&e->w, t, tn, 1) != 0)
        return oom(e);
    e->key_held = 1;
    e->key_is_cmdline = e->depth == 1 && tn == 7 && memcmp(t, "cmdline", 7) == 0;
    return 1;
}

static int on_start_map(void *ctx)
{
    ev *e = ctx;
    if (tee_live(e))
        tee_ok(e, e->tee->cb->yajl_start_map(e->tee->ctx));
    if (!enter(e) || !push_object(e))
        return 0;
    if (skipped(e, 1))
        return 1;
    if (e->cmd_depth) {
        cmd_element(e, 0);
        e->cmd_depth++;
        return 1;
    }
    return flush_key(e) && wrote(e, jsonw_open(&e->w, '{'));
}

static int on_start_array(void *ctx)
{
    ev *e = ctx;
    if (tee_live(e))
        tee_ok(e, e->tee->cb->yajl_start_array(e->tee->ctx));
    if (e->depth == 0)
        return top_type(e, "array");
    if (!enter(e))
        return 0;
    if (skipped(e, 1))
        return 1;
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
    return flush_key(e) && wrote(e, jsonw_open(&e->w, '['));
}

static int on_end(void *ctx, int map)
{
    ev *e = ctx;
    if (tee_live(e))
        tee_ok(e, map ? e->tee->cb->yajl_end_map(e->tee->ctx)
                      : e->tee->cb->yajl_end_array(e->tee->ctx));
    e->depth--;
    if (skipped(e, -1))
        return 1;
    if (e->cmd_depth)
        return --e->cmd_depth ? 1 : cmd_finish(e);
    return wrote(e, jsonw_close(&e->w, map ? '}' : ']'));
}

static int on_end_map(void *ctx)
{
    return on_end(ctx, 1);
}

static int on_end_array(void *ctx)
{
    return on_end(ctx, 0);
}

static int emit(yajl_gen g, const char *body, size_t len, const decode_limits *lim,
                const unsigned char *skip, size_t n_skip, metricset_tee *tee, char *msg,
                size_t msglen)
{
    static const yajl_callbacks cb = {
        on_null,      on_bool,    NULL,       NULL,           on_number,    on_string,
        on_start_map, on_map_key, on_end_map, on_start_array, on_end_array,
    };
    int max = lim && lim->max_depth > 0 ? lim->max_depth : GO_MAX_DEPTH;
    ev e = {.max_depth = max < GO_MAX_DEPTH ? max : GO_MAX_DEPTH,
            .cmd_bad = -1,
            .skip = skip,
            .n_skip = n_skip,
            .tee = tee};
    jsonw_init(&e.w, len + len / 8); /* the document is about the body's size */
    buf_init(&e.scratch, 0);
    buf_init(&e.cmd, 0);
    keyset_init(&e.ks);
    int rc = gobody_parse(body, len, &cb, &e, e.reason, PREFIX, msg, msglen);
    if (rc == 0 && e.cmd_bad >= 0) {
        snprintf(msg, msglen, PREFIX "cmdline element %ld is not a string", e.cmd_bad);
        rc = -1;
    }
    if (rc == 0 && jsonw_splice(&e.w, g) != yajl_gen_status_ok) {
        snprintf(msg, msglen, PREFIX "cannot write the document");
        rc = -1;
    }
    /* A syntax error later in the body still wins, as in Go. */
    char syntax[GOBODY_REASON_MAX];
    if (rc != 0 && e.repeated && gojson_check(body, len, syntax, sizeof syntax) == 0)
        rc = METRICSET_REPEATED_KEYS;
    jsonw_free(&e.w);
    buf_free(&e.scratch);
    buf_free(&e.cmd);
    keyset_free(&e.ks);
    free(e.ids);
    return rc;
}

/* expvar.include/exclude/max_fields/drop_memstats: the object is decoded
 * into a scratch generator, then copied into g with only the selected
 * fields (expvar_select.c), so the decoder stays one streaming pass and
 * documents without a selection never pay for it. */
static int emit_selected(yajl_gen g, const char *body, size_t len, const decode_limits *lim,
                         const unsigned char *skip, size_t n_skip, metricset_tee *tee, char *msg,
                         size_t msglen)
{
    yajl_gen tmp = yajl_gen_alloc(NULL);
    if (!tmp) {
        snprintf(msg, msglen, PREFIX "out of memory");
        return -1;
    }
    int rc = emit(tmp, body, len, lim, skip, n_skip, tee, msg, msglen);
    const unsigned char *obj;
    size_t n;
    if (rc == 0 && yajl_gen_get_buf(tmp, &obj, &n) != yajl_gen_status_ok) {
        snprintf(msg, msglen, PREFIX "cannot read back the decoded object");
        rc = -1;
    }
    if (rc == 0)
        rc = expvar_select_write(lim->select, (const char *)obj, n, g, msg, msglen);
    yajl_gen_free(tmp);
    return rc;
}

int metricset_expvar_emit(yajl_gen g, const char *body, size_t len, const decode_limits *lim,
                          char *msg, size_t msglen)
{
    if (lim && lim->select)
        return emit_selected(g, body, len, lim, NULL, 0, NULL, msg, msglen);
    return emit(g, body, len, lim, NULL, 0, NULL, msg, msglen);
}

int metricset_expvar_emit_capture(yajl_gen g, const char *body, size_t len,
                                  const decode_limits *lim, heap_capture *c, char *msg,
                                  size_t msglen)
{
    if (!c)
        return metricset_expvar_emit(g, body, len, lim, msg, msglen);
    metricset_tee tee;
    heap_capture_begin(c, lim, &tee);
    int rc = lim && lim->select ? emit_selected(g, body, len, lim, NULL, 0, &tee, msg, msglen)
                                : emit(g, body, len, lim, NULL, 0, &tee, msg, msglen);
    heap_capture_end(c, &tee, rc == 0);
    return rc;
}

int metricset_expvar_emit_dedup(yajl_gen g, const char *body, size_t len, const decode_limits *lim,
                                char *msg, size_t msglen)
{
    unsigned char *skip;
    size_t n_skip;
    if (dupkeys_scan(body, len, &skip, &n_skip) != 0) {
        snprintf(msg, msglen, PREFIX "out of memory finding repeated keys");
        return -1;
    }
    int rc = lim && lim->select ? emit_selected(g, body, len, lim, skip, n_skip, NULL, msg, msglen)
                                : emit(g, body, len, lim, skip, n_skip, NULL, msg, msglen);
    free(skip);
    return rc;
}
