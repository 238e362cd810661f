/* expvar_select: field selection over a finished expvar object (see
 * expvar_select.h).  The object is re-read with yajl and copied member by
 * member; an object's key and `{` are held back until its first kept field,
 * so objects whose fields are all dropped never reach the output.  Number
 * tokens are copied as text, so the kept fields are byte-identical to the
 * unselected document's. */
#include "expvar_select.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "buf.h"

typedef struct seg {
    const char *p; /* into pattern.text, escapes still in */
    size_t n;
    int any; /* the segment is `**` */
} seg;

typedef struct pattern {
    char *text;
    seg *segs;
    size_t n;
} pattern;

struct expvar_select {
    pattern *inc, *exc;
    size_t n_inc, n_exc;
    size_t max_fields;
    size_t fields, kept; /* of the last document */
    size_t reported;     /* field count of the last cap report, 0 = none */
};

/* ---- patterns ---------------------------------------------------------- */

static void pattern_free(pattern *p)
{
    free(p->text);
    free(p->segs);
}

static int pattern_fail(pattern *p, const char *src, const char *why, char *err, size_t errlen)
{
    snprintf(err, errlen, "expvar pattern '%s': %s", src, why);
    pattern_free(p);
    return -1;
}

/* Splits at every `.` not escaped by `\`. */
static int pattern_compile(const char *src, pattern *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    size_t len = strlen(src), nseg = 1;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\\') {
            if (++i == len)
                return pattern_fail(p, src, "ends with a lone backslash", err, errlen);
        } else if (src[i] == '.') {
            nseg++;
        }
    }
    p->text = strdup(src);
    p->segs = calloc(nseg, sizeof *p->segs);
    if (!p->text || !p->segs)
        return pattern_fail(p, src, "out of memory", err, errlen);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && src[i] == '\\') {
            i++;
            continue;
        }
        if (i < len && src[i] != '.')
            continue;
        seg *s = &p->segs[p->n++];
        *s = (seg){p->text + start, i - start, i - start == 2 && !memcmp(src + start, "**", 2)};
        if (s->n == 0)
            return pattern_fail(p, src, "empty path segment", err, errlen);
        start = i + 1;
    }
    return 0;
}

/* One glob segment against one key: `*` is any run of bytes. */
static int seg_match(const char *p, size_t pn, const char *k, size_t kn)
{
    size_t pi = 0, ki = 0, star_p = SIZE_MAX, star_k = 0;
    while (ki < kn) {
        if (pi < pn && p[pi] == '*') {
            star_p = ++pi;
            star_k = ki;
            continue;
        }
        if (pi < pn) {
            size_t step = p[pi] == '\\' ? 2 : 1;
            if (p[pi + step - 1] == k[ki]) {
                pi += step;
                ki++;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return 0;
        pi = star_p;
        ki = ++star_k;
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

static int match_from(const pattern *pt, size_t pi, const char *const *segs, const size_t *lens,
                      size_t n, size_t i)
{
    if (pi == pt->n)
        return i == n ? EXPVAR_GLOB_FULL : EXPVAR_GLOB_NONE;
    if (i == n) {
        for (size_t j = pi; j < pt->n; j++)
            if (!pt->segs[j].any)
                return EXPVAR_GLOB_PREFIX;
        return EXPVAR_GLOB_FULL;
    }
    const seg *s = &pt->segs[pi];
    if (s->any) {
        int zero = match_from(pt, pi + 1, segs, lens, n, i);
        if (zero == EXPVAR_GLOB_FULL)
            return zero;
        int more = match_from(pt, pi, segs, lens, n, i + 1);
        return zero > more ? zero : more;
    }
    if (!seg_match(s->p, s->n, segs[i], lens[i]))
        return EXPVAR_GLOB_NONE;
    return match_from(pt, pi + 1, segs, lens, n, i + 1);
}

int expvar_glob_match(const char *pattern_text, const char *const *segs, const size_t *lens,
                      size_t n)
{
    pattern p;
    char err[256];
    if (pattern_compile(pattern_text, &p, err, sizeof err) != 0)
        return -1;
    int r = match_from(&p, 0, segs, lens, n, 0);
    pattern_free(&p);
    return r;
}

/* ---- the selection ----------------------------------------------------- */

static int compile_list(char *const *src, size_t n, const char *extra, pattern **out, size_t *nout,
                        char *err, size_t errlen)
{
    size_t total = n + (extra ? 1 : 0);
    *nout = 0;
    if (total == 0)
        return 0;
    if (!(*out = calloc(total, sizeof **out))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < total; i++) {
        if (pattern_compile(i < n ? src[i] : extra, &(*out)[i], err, errlen) != 0)
            return -1;
        (*nout)++;
    }
    return 0;
}

int expvar_select_new(const expvar_select_conf *c, expvar_select **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!c->n_include && !c->n_exclude && c->max_fields <= 0 && !c->drop_memstats)
        return 0;
    expvar_select *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->max_fields = c->max_fields > 0 ? (size_t)c->max_fields : 0;
    if (compile_list(c->include, c->n_include, NULL, &s->inc, &s->n_inc, err, errlen) != 0 ||
        compile_list(c->exclude, c->n_exclude, c->drop_memstats ? "memstats" : NULL, &s->exc,
                     &s->n_exc, err, errlen) != 0) {
        expvar_select_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void expvar_select_free(expvar_select *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_inc; i++)
        pattern_free(&s->inc[i]);
    for (size_t i = 0; i < s->n_exc; i++)
        pattern_free(&s->exc[i]);
    free(s->inc);
    free(s->exc);
    free(s);
}

size_t expvar_select_fields(const expvar_select *s)
{
    return s->fields;
}

size_t expvar_select_kept(const expvar_select *s)
{
    return s->kept;
}

int expvar_select_cap_message(expvar_select *s, char *msg, size_t msglen)
{
    if (!s->max_fields || s->fields <= s->max_fields) {
        s->reported = 0;
        return 0;
    }
    if (s->fields == s->reported)
        return 0;
    s->reported = s->fields;
    snprintf(msg, msglen, "expvar.max_fields: %zu fields, %zu kept", s->fields, s->kept);
    return 1;
}

/* ---- the copy ---------------------------------------------------------- */

enum decision { D_DROP, D_DESCEND, D_KEEP };

typedef struct level {
    int all;       /* selected as a whole: every member is kept (unless excluded) */
    int any_child; /* had a member in the body */
} level;

typedef struct fx {
    const expvar_select *s;
    yajl_gen g;
    buf path;          /* key bytes of the current path */
    size_t *off;       /* segment i is path[off[i], off[i + 1]) */
    level *lv;         /* open objects; lv[0] is the document itself */
    size_t nlv;        /* objects open; the member being read is segment nlv - 1 */
    size_t nopen;      /* of them, written to g (a prefix of lv) */
    size_t cap;        /* allocated entries of off (nlv + 1), lv, segp and segl */
    const char **segp; /* the path as segments, rebuilt for matching */
    size_t *segl;
    enum decision member;
    int copy, skip; /* nesting inside a copied / dropped array or object */
    size_t fields, kept;
    char reason[128];
} fx;

__attribute__((format(printf, 2, 3))) static int stop(fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->reason, sizeof f->reason, fmt, ap);
    va_end(ap);
    return 0;
}

static int ok(fx *f, yajl_gen_status st)
{
    return st == yajl_gen_status_ok || stop(f, "cannot write the document (status %d)", (int)st);
}

static int grow(fx *f)
{
    if (f->nlv + 2 <= f->cap)
        return 1;
    size_t cap = f->cap ? f->cap * 2 : 16;
    size_t *off = realloc(f->off, cap * sizeof *off);
    if (off)
        f->off = off;
    level *lv = realloc(f->lv, cap * sizeof *lv);
    if (lv)
        f->lv = lv;
    const char **segp = realloc(f->segp, cap * sizeof *segp);
    if (segp)
        f->segp = segp;
    size_t *segl = realloc(f->segl, cap * sizeof *segl);
    if (segl)
        f->segl = segl;
    if (!off || !lv || !segp || !segl)
        return stop(f, "out of memory");
    f->cap = cap;
    return 1;
}

static int put_seg(fx *f, size_t i)
{
    const char *p = f->path.data + f->off[i];
    return ok(f, yajl_gen_string(f->g, (const unsigned char *)p, f->off[i + 1] - f->off[i]));
}

/* Writes the keys and `{` of the held-back objects above a kept field. */
static int open_held(fx *f)
{
    for (; f->nopen < f->nlv; f->nopen++)
        if (!put_seg(f, f->nopen - 1) || !ok(f, yajl_gen_map_open(f->g)))
            return 0;
    return 1;
}

/* The best of the patterns' verdicts on the first nseg segments. */
static int any_match(const pattern *p, size_t n, const fx *f, size_t nseg)
{
    int best = EXPVAR_GLOB_NONE;
    for (size_t i = 0; i < n && best != EXPVAR_GLOB_FULL; i++) {
        int r = match_from(&p[i], 0, f->segp, f->segl, nseg, 0);
        best = r > best ? r : best;
    }
    return best;
}

/* Exclude wins; a member of an object selected as a whole is kept; else the
 * include patterns say keep, look inside, or drop. */
static enum decision decide(fx *f, size_t nseg)
{
    const expvar_select *s = f->s;
    int all = f->lv[f->nlv - 1].all;
    if (all && !s->n_exc)
        return D_KEEP;
    for (size_t i = 0; i < nseg; i++) {
        f->segp[i] = f->path.data + f->off[i];
        f->segl[i] = f->off[i + 1] - f->off[i];
    }
    if (any_match(s->exc, s->n_exc, f, nseg) == EXPVAR_GLOB_FULL)
        return D_DROP;
    if (all)
        return D_KEEP;
    int r = any_match(s->inc, s->n_inc, f, nseg);
    return r == EXPVAR_GLOB_FULL ? D_KEEP : r == EXPVAR_GLOB_PREFIX ? D_DESCEND : D_DROP;
}

static int capped(const fx *f)
{
    return f->s->max_fields && f->fields >= f->s->max_fields;
}

/* A scalar or array member: 1 when it is written (its key already is). */
static int take_field(fx *f, int *write)
{
    *write = 0;
    if (f->member != D_KEEP)
        return 1;
    int room = !capped(f);
    f->fields++;
    if (!room)
        return 1;
    f->kept++;
    *write = 1;
    return open_held(f) && put_seg(f, f->nlv - 1);
}

/* 1: the event belongs to a copied or dropped value and is handled. */
static int inside_value(fx *f, int delta)
{
    if (f->skip) {
        f->skip += delta;
        return 1;
    }
    if (!f->copy)
        return 0;
    f->copy += delta;
    return 1;
}

#define SCALAR(f, gen_call)                                                                        \
    do {                                                                                           \
        int write_;                                                                                \
        if (inside_value(f, 0))                                                                    \
            return f->skip || ok(f, gen_call);                                                     \
        if (!take_field(f, &write_))                                                               \
            return 0;                                                                              \
        return !write_ || ok(f, gen_call);                                                         \
    } while (0)

static int on_null(void *ctx)
{
    fx *f = ctx;
    SCALAR(f, yajl_gen_null(f->g));
}

static int on_bool(void *ctx, int v)
{
    fx *f = ctx;
    SCALAR(f, yajl_gen_bool(f->g, v));
}

static int on_number(void *ctx, const char *s, size_t n)
{
    fx *f = ctx;
    SCALAR(f, yajl_gen_number(f->g, s, n));
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    fx *f = ctx;
    SCALAR(f, yajl_gen_string(f->g, s, n));
}

static int on_map_key(void *ctx, const unsigned char *s, size_t n)
{
    fx *f = ctx;
    if (inside_value(f, 0))
        return f->skip || ok(f, yajl_gen_string(f->g, s, n));
    size_t i = f->nlv - 1; /* this member's segment */
    f->lv[f->nlv - 1].any_child = 1;
    f->path.len = f->off[i];
    if (buf_append(&f->path, s, n) != BUF_OK)
        return stop(f, "out of memory");
    f->off[i + 1] = f->path.len;
    f->member = decide(f, i + 1);
    return 1;
}

static int on_start_map(void *ctx)
{
    fx *f = ctx;
    if (inside_value(f, 1))
        return f->skip || ok(f, yajl_gen_map_open(f->g));
    if (f->nlv == 0) { /* the document itself: always written */
        if (!grow(f) || !ok(f, yajl_gen_map_open(f->g)))
            return 0;
        f->off[0] = 0;
        f->lv[0] = (level){.all = f->s->n_inc == 0};
        f->nlv = f->nopen = 1;
        return 1;
    }
    if (f->member == D_DROP) {
        f->skip = 1;
        return 1;
    }
    if (!grow(f))
        return 0;
    f->lv[f->nlv++] = (level){.all = f->member == D_KEEP};
    return 1;
}

static int on_start_array(void *ctx)
{
    fx *f = ctx;
    int write;
    if (inside_value(f, 1))
        return f->skip || ok(f, yajl_gen_array_open(f->g));
    if (!take_field(f, &write))
        return 0;
    if (!write) {
        f->skip = 1;
        return 1;
    }
    f->copy = 1;
    return ok(f, yajl_gen_array_open(f->g));
}

static int on_end_array(void *ctx)
{
    fx *f = ctx;
    int copying = f->copy != 0;
    inside_value(f, -1);
    return !copying || ok(f, yajl_gen_array_close(f->g));
}

/* An object that closes without having been written is kept only when it
 * was empty in the body and selected as a whole. */
static int on_end_map(void *ctx)
{
    fx *f = ctx;
    if (f->skip || f->copy) {
        int copying = f->copy != 0;
        inside_value(f, -1);
        return !copying || ok(f, yajl_gen_map_close(f->g));
    }
    level *l = &f->lv[f->nlv - 1];
    if (f->nopen < f->nlv && !l->any_child && l->all && !capped(f) && !open_held(f))
        return 0;
    int written = f->nopen == f->nlv;
    f->nlv--;
    if (written)
        f->nopen = f->nlv;
    return !written || ok(f, yajl_gen_map_close(f->g));
}

int expvar_select_write(expvar_select *s, const char *json, size_t len, yajl_gen g, char *msg,
                        size_t msglen)
{
    static const yajl_callbacks cb = {
        on_null,      on_bool,    NULL,       NULL,           on_number,    on_string,
        on_start_map, on_map_key, on_end_map, on_start_array, on_end_array,
    };
    fx f = {.s = s, .g = g};
    buf_init(&f.path, 0);
    yajl_handle h = yajl_alloc(&cb, NULL, &f);
    int rc = -1;
    if (!h) {
        snprintf(msg, msglen, "expvar selection: out of memory");
    } else if (yajl_parse(h, (const unsigned char *)json, len) != yajl_status_ok ||
               yajl_complete_parse(h) != yajl_status_ok) {
        snprintf(msg, msglen, "expvar selection: %s",
                 f.reason[0] ? f.reason : "cannot re-read the document");
    } else {
        s->fields = f.fields;
        s->kept = f.kept;
        rc = 0;
    }
    if (h)
        yajl_free(h);
    buf_free(&f.path);
    free(f.off);
    free(f.lv);
    free(f.segp);
    free(f.segl);
    return rc;
}
