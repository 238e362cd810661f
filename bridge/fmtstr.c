/* fmtstr: libbeat's event format strings (see fmtstr.h), compiled into a
 * list of parts: literal text, a field reference, or a date pattern.
 * The lexer follows libbeat's formatstring.go so that a string Metricbeat
 * accepts means the same here: '\' escapes the next byte, '%' not followed
 * by '{' is literal, ':' inside %{...} starts an operator (two bytes when
 * followed by one of !@#&*=+<>?), a nested %{ is an error, and operators
 * after a %{+date} are ignored.  Dates follow libbeat's dtfmt, quirks
 * included (h and k are hour+1, e counts from Sunday = 0, DD pads to three
 * digits), because index names must match the ones Metricbeat writes.
 * Field values come from one streaming yajl pass that stops at the value. */
#include "fmtstr.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>

/* Elasticsearch's own default mapping depth limit is 20, so 64 levels are
 * more than any indexable document has. */
enum { FMT_MAX_SEGS = 64 };

typedef enum { PART_LIT, PART_FIELD, PART_DATE } part_kind;

typedef struct dt_elem {
    char letter; /* 0: literal text */
    int count;
    char *lit;
    size_t litlen;
} dt_elem;

typedef struct part {
    part_kind kind;
    char *text; /* literal bytes, or the dotted field path */
    size_t len;
    char *def; /* the field's default; NULL when the field is required */
    size_t deflen;
    dt_elem *dt;
    size_t ndt, dtcap;
} part;

struct fmtstr {
    part *parts;
    size_t n, cap;
};

/* ---- date patterns (libbeat dtfmt) --------------------------------------- */

typedef enum { DT_NUM, DT_YEAR, DT_MONTH, DT_DOW, DT_AMPM, DT_FRACT, DT_ZONE } dt_kind;

typedef enum {
    F_YEAR,
    F_WEEKYEAR,
    F_WEEK,
    F_DOW,
    F_YDAY,
    F_MONTH,
    F_MDAY,
    F_HALFHOUR,
    F_CLOCKHALF,
    F_HOUR,
    F_CLOCKHOUR,
    F_MIN,
    F_SEC,
    F_MILLI,
    F_COUNT
} dt_field;

/* digits: libbeat's maximum digits, which is also its padding width when
 * the letter is repeated (so "DD" gives three digits, "HHH" three). */
static const struct dt_letter {
    char letter;
    dt_kind kind;
    dt_field field;
    int digits;
} dt_letters[] = {
    {'y', DT_YEAR, F_YEAR, 4}, {'Y', DT_YEAR, F_YEAR, 4},     {'x', DT_YEAR, F_WEEKYEAR, 4},
    {'w', DT_NUM, F_WEEK, 2},  {'e', DT_NUM, F_DOW, 1},       {'E', DT_DOW, F_DOW, 0},
    {'D', DT_NUM, F_YDAY, 3},  {'M', DT_MONTH, F_MONTH, 2},   {'d', DT_NUM, F_MDAY, 2},
    {'a', DT_AMPM, F_HOUR, 0}, {'K', DT_NUM, F_HALFHOUR, 2},  {'h', DT_NUM, F_CLOCKHALF, 2},
    {'H', DT_NUM, F_HOUR, 2},  {'k', DT_NUM, F_CLOCKHOUR, 2}, {'m', DT_NUM, F_MIN, 2},
    {'s', DT_NUM, F_SEC, 2},   {'S', DT_FRACT, F_MILLI, 3},   {'z', DT_ZONE, F_HOUR, 0},
};

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};
static const char *const day_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

static const struct dt_letter *dt_find(char c)
{
    for (size_t i = 0; i < sizeof dt_letters / sizeof dt_letters[0]; i++)
        if (dt_letters[i].letter == c)
            return &dt_letters[i];
    return NULL;
}

/* ---- compiling ----------------------------------------------------------- */

/* The current token's bytes after unescaping, each with its input offset
 * so that errors can point into the text the user wrote. */
typedef struct lexbuf {
    char *c;
    size_t *off;
    size_t len, cap;
} lexbuf;

typedef struct parser {
    const char *in;
    size_t len, pos;
    lexbuf tok;
    fmtstr *f;
    char *err;
    size_t errlen;
} parser;

/* One %{...}: its first two string tokens as [begin,end) ranges of tok. */
typedef struct var {
    size_t start;
    size_t str[2][2];
    size_t nstr, nops;
    char op[3];
} var;

/* Positions are 0-based byte offsets into the text as the user wrote it. */
__attribute__((format(printf, 3, 4))) static int fail(parser *p, size_t at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "%s at %zu", msg, at);
    return -1;
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(*arr, n * size);
    if (!q)
        return -1;
    *arr = q;
    *cap = n;
    return 0;
}

static int lb_put(parser *p, char c, size_t off)
{
    lexbuf *b = &p->tok;
    if (b->len == b->cap) {
        size_t cap = b->cap;
        if (grow((void **)&b->c, &cap, b->len + 1, 1) != 0 ||
            grow((void **)&b->off, &b->cap, b->len + 1, sizeof *b->off) != 0)
            return fail(p, off, "out of memory");
    }
    b->c[b->len] = c;
    b->off[b->len++] = off;
    return 0;
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Appends bytes to text, which holds len bytes and stays NUL-terminated. */
static int append_bytes(char **text, size_t *len, const char *s, size_t n)
{
    char *t = realloc(*text, *len + n + 1);
    if (!t)
        return -1;
    memcpy(t + *len, s, n);
    *len += n;
    t[*len] = '\0';
    *text = t;
    return 0;
}

static int add_part(parser *p, const part *pt)
{
    fmtstr *f = p->f;
    if (grow((void **)&f->parts, &f->cap, f->n + 1, sizeof *f->parts) != 0)
        return fail(p, p->pos, "out of memory");
    f->parts[f->n++] = *pt;
    return 0;
}

/* Adjacent literals are merged, so a string without expansions is one part. */
static int flush_literal(parser *p)
{
    lexbuf *b = &p->tok;
    if (b->len == 0)
        return 0;
    fmtstr *f = p->f;
    part *last = f->n ? &f->parts[f->n - 1] : NULL;
    int rc;
    if (last && last->kind == PART_LIT) {
        rc = append_bytes(&last->text, &last->len, b->c, b->len);
    } else {
        part pt = {.kind = PART_LIT, .text = dup_bytes(b->c, b->len), .len = b->len};
        rc = pt.text ? add_part(p, &pt) : -1;
        if (rc != 0)
            free(pt.text);
    }
    b->len = 0;
    return rc != 0 ? fail(p, p->pos, "out of memory") : 0;
}

static int dt_add(parser *p, part *pt, char letter, int count, const char *lit, size_t n)
{
    dt_elem *last = pt->ndt ? &pt->dt[pt->ndt - 1] : NULL;
    if (!letter && last && !last->letter) {
        if (append_bytes(&last->lit, &last->litlen, lit, n) != 0)
            return fail(p, p->pos, "out of memory");
        return 0;
    }
    if (grow((void **)&pt->dt, &pt->dtcap, pt->ndt + 1, sizeof *pt->dt) != 0)
        return fail(p, p->pos, "out of memory");
    dt_elem e = {.letter = letter, .count = count};
    if (!letter && !(e.lit = dup_bytes(lit, n)))
        return fail(p, p->pos, "out of memory");
    e.litlen = letter ? 0 : n;
    pt->dt[pt->ndt++] = e;
    return 0;
}

/* A quoted literal starting at tok[i] == '\''; returns the index after it.
 * As in dtfmt, '' is a quote, and a quote right after the closing one both
 * adds a quote and opens the next quoted run ('it''s' gives it's). */
static long dt_quoted(parser *p, part *pt, size_t i, size_t e)
{
    const char *c = p->tok.c;
    size_t q = i + 1;
    while (q < e && c[q] != '\'')
        q++;
    if (q == e)
        return fail(p, p->tok.off[i], "missing closing quote in date pattern");
    if (q == i + 1)
        return dt_add(p, pt, 0, 0, "'", 1) ? -1 : (long)(q + 1);
    if (dt_add(p, pt, 0, 0, c + i + 1, q - i - 1) != 0)
        return -1;
    if (q + 1 < e && c[q + 1] == '\'' && dt_add(p, pt, 0, 0, "'", 1) != 0)
        return -1;
    return (long)(q + 1);
}

static int dt_compile(parser *p, part *pt, size_t i, size_t e)
{
    const char *c = p->tok.c;
    while (i < e) {
        char ch = c[i];
        int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        if (alpha) {
            size_t j = i;
            while (j < e && c[j] == ch)
                j++;
            if (!dt_find(ch))
                return fail(p, p->tok.off[i], "unknown date pattern letter '%c'", ch);
            if (j - i > 64)
                return fail(p, p->tok.off[i], "date pattern letter '%c' repeated too often", ch);
            if (dt_add(p, pt, ch, (int)(j - i), NULL, 0) != 0)
                return -1;
            i = j;
        } else if (ch != '\'') {
            if (dt_add(p, pt, 0, 0, &c[i], 1) != 0)
                return -1;
            i++;
        } else {
            long next = dt_quoted(p, pt, i, e);
            if (next < 0)
                return -1;
            i = (size_t)next;
        }
    }
    return 0;
}

static void part_free(part *pt)
{
    free(pt->text);
    free(pt->def);
    for (size_t i = 0; i < pt->ndt; i++)
        free(pt->dt[i].lit);
    free(pt->dt);
}

static int compile_date(parser *p, size_t b, size_t e)
{
    part pt = {.kind = PART_DATE};
    if (dt_compile(p, &pt, b, e) != 0 || add_part(p, &pt) != 0) {
        part_free(&pt);
        return -1;
    }
    return 0;
}

/* "[a.b][c]" → "a.b.c" (libbeat's parseEventPath, which trims whitespace). */
static int parse_path(parser *p, size_t b, size_t e, part *pt)
{
    const char *c = p->tok.c;
    while (b < e && strchr(" \n\r\t", c[b]))
        b++;
    while (e > b && strchr(" \n\r\t", c[e - 1]))
        e--;
    while (b < e) {
        if (c[b] != '[')
            return fail(p, p->tok.off[b], "expected '[' to start a field name");
        const char *close = memchr(c + b, ']', e - b);
        if (!close)
            return fail(p, p->tok.off[b], "missing closing ']'");
        size_t n = (size_t)(close - (c + b)) - 1;
        if (n == 0)
            return fail(p, p->tok.off[b], "empty field name '[]'");
        if ((pt->len && append_bytes(&pt->text, &pt->len, ".", 1) != 0) ||
            append_bytes(&pt->text, &pt->len, c + b + 1, n) != 0)
            return fail(p, p->tok.off[b], "out of memory");
        b += n + 2;
    }
    size_t segs = 1;
    for (size_t i = 0; i < pt->len; i++)
        segs += pt->text[i] == '.';
    if (segs > FMT_MAX_SEGS)
        return fail(p, p->tok.off[e - 1], "field path deeper than %d levels", FMT_MAX_SEGS);
    return 0;
}

static int compile_field(parser *p, const var *v)
{
    if (v->nops > 1)
        return fail(p, v->start, "too many format modifiers");
    if (v->nops == 1 && strcmp(v->op, ":") != 0)
        return fail(p, v->start, "unsupported format operator '%s'", v->op);
    part pt = {.kind = PART_FIELD};
    if (parse_path(p, v->str[0][0], v->str[0][1], &pt) != 0) {
        part_free(&pt);
        return -1;
    }
    if (v->nops == 1) {
        size_t b = v->nstr > 1 ? v->str[1][0] : 0, e = v->nstr > 1 ? v->str[1][1] : 0;
        pt.deflen = e - b;
        pt.def = dup_bytes(p->tok.c + b, e - b);
    }
    if ((v->nops == 1 && !pt.def) || add_part(p, &pt) != 0) {
        part_free(&pt);
        return fail(p, v->start, "out of memory");
    }
    return 0;
}

static int compile_var(parser *p, const var *v)
{
    size_t b = v->str[0][0], e = v->str[0][1];
    if (p->tok.c[b] == '[')
        return compile_field(p, v);
    if (p->tok.c[b] == '+')
        return compile_date(p, b + 1, e);
    return fail(p, p->tok.off[b], "unsupported format expression \"%.*s\"", (int)(e - b),
                p->tok.c + b);
}

/* Ends the string token that began at *begin, if it is not empty (libbeat's
 * lexer drops empty strings, so "%{[a]:}" has an empty default). */
static void var_string(parser *p, var *v, size_t *begin)
{
    if (p->tok.len == *begin)
        return;
    if (v->nstr < 2) {
        v->str[v->nstr][0] = *begin;
        v->str[v->nstr][1] = p->tok.len;
    }
    v->nstr++;
    *begin = p->tok.len;
}

static int var_op(parser *p, var *v, size_t *begin)
{
    if (p->pos + 1 >= p->len)
        return fail(p, v->start, "missing closing '}'");
    var_string(p, v, begin);
    size_t at = p->pos;
    size_t oplen = strchr("!@#&*=+<>?", p->in[at + 1]) ? 2 : 1;
    if (v->nstr == 0)
        return fail(p, at, "unexpected format operator");
    if (v->nops == 0) {
        memcpy(v->op, p->in + at, oplen);
        v->op[oplen] = '\0';
    }
    if (++v->nops > v->nstr)
        return fail(p, at, "consecutive format operators");
    p->pos += oplen;
    return 0;
}

/* One byte of a %{...} body; 1 when the closing '}' was consumed. */
static int var_byte(parser *p, var *v, size_t *begin)
{
    if (p->pos >= p->len)
        return fail(p, v->start, "missing closing '}'");
    char c = p->in[p->pos];
    switch (c) {
    case '}':
        var_string(p, v, begin);
        p->pos++;
        return 1;
    case ':':
        return var_op(p, v, begin);
    case '%':
        if (p->pos + 1 >= p->len)
            return fail(p, v->start, "missing closing '}'");
        if (p->in[p->pos + 1] == '{')
            return fail(p, p->pos, "format string variables can not be nested");
        break;
    case '\\':
        if (++p->pos >= p->len)
            return fail(p, v->start, "missing closing '}'");
        c = p->in[p->pos];
        break;
    default:
        break;
    }
    return lb_put(p, c, p->pos++);
}

static int parse_var(parser *p)
{
    var v = {.start = p->pos};
    size_t begin = 0;
    p->pos += 2;
    int rc;
    while ((rc = var_byte(p, &v, &begin)) == 0)
        ;
    if (rc < 0)
        return -1;
    if (v.nstr == 0)
        return fail(p, v.start, "empty format expansion");
    rc = compile_var(p, &v);
    p->tok.len = 0;
    return rc;
}

static int lex_byte(parser *p)
{
    if (p->in[p->pos] == '\\' && ++p->pos >= p->len)
        return 0; /* a trailing backslash escapes nothing and disappears */
    size_t at = p->pos++;
    return lb_put(p, p->in[at], at);
}

fmtstr *fmtstr_compile(const char *text, char *err, size_t errlen)
{
    parser p = {.in = text, .len = strlen(text), .err = err, .errlen = errlen};
    if (!(p.f = calloc(1, sizeof *p.f))) {
        fail(&p, 0, "out of memory");
        return NULL;
    }
    int rc = 0;
    while (rc == 0 && p.pos < p.len) {
        if (text[p.pos] == '%' && p.pos + 1 < p.len && text[p.pos + 1] == '{')
            rc = flush_literal(&p) != 0 ? -1 : parse_var(&p);
        else
            rc = lex_byte(&p);
    }
    if (rc == 0)
        rc = flush_literal(&p);
    free(p.tok.c);
    free(p.tok.off);
    if (rc != 0) {
        fmtstr_free(p.f);
        return NULL;
    }
    return p.f;
}

void fmtstr_free(fmtstr *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        part_free(&f->parts[i]);
    free(f->parts);
    free(f);
}

int fmtstr_is_constant(const fmtstr *f)
{
    return f->n == 0 || (f->n == 1 && f->parts[0].kind == PART_LIT);
}

/* ---- evaluating ---------------------------------------------------------- */

/* Output that counts past its capacity, so a result that does not fit is
 * detected once at the end. */
typedef struct wr {
    char *p;
    size_t cap, len;
} wr;

static void wr_put(wr *w, const char *s, size_t n)
{
    if (w->len < w->cap && n < w->cap - w->len)
        memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void wr_num(wr *w, int v, int width)
{
    char tmp[80];
    int n = snprintf(tmp, sizeof tmp, "%0*d", width, v);
    wr_put(w, tmp, (size_t)n);
}

static int iso_weeks_in(int y)
{
    int p = (y + y / 4 - y / 100 + y / 400) % 7; /* weekday of 31 December */
    int q = (y - 1 + (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400) % 7;
    return p == 4 || q == 3 ? 53 : 52;
}

static void dt_values(int64_t ts_ms, int v[F_COUNT])
{
    int64_t secs = ts_ms / 1000, ms = ts_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm = {0};
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm); /* beyond struct tm's years: 1900-01-00 */
    v[F_YEAR] = tm.tm_year + 1900;
    v[F_MONTH] = tm.tm_mon + 1;
    v[F_MDAY] = tm.tm_mday;
    v[F_YDAY] = tm.tm_yday + 1;
    v[F_DOW] = tm.tm_wday;
    v[F_HOUR] = tm.tm_hour;
    v[F_HALFHOUR] = tm.tm_hour % 12;
    v[F_CLOCKHALF] = tm.tm_hour % 12 + 1;
    v[F_CLOCKHOUR] = tm.tm_hour + 1;
    v[F_MIN] = tm.tm_min;
    v[F_SEC] = tm.tm_sec;
    v[F_MILLI] = (int)ms;
    int iso_dow = tm.tm_wday ? tm.tm_wday : 7;
    int week = (tm.tm_yday + 1 - iso_dow + 10) / 7, wy = v[F_YEAR];
    if (week < 1)
        week = iso_weeks_in(--wy);
    else if (week > iso_weeks_in(wy))
        week = 1, wy++;
    v[F_WEEK] = week;
    v[F_WEEKYEAR] = wy;
}

static void dt_number(wr *w, int v, int count, int digits)
{
    wr_num(w, v, count == 1 ? 0 : (count > digits ? count : digits));
}

static void dt_elem_eval(const dt_elem *e, const int v[F_COUNT], wr *w)
{
    const struct dt_letter *l = dt_find(e->letter);
    int x = v[l->field];
    switch (l->kind) {
    case DT_YEAR:
        if (e->count == 2)
            wr_num(w, x % 100, 2);
        else
            dt_number(w, x, e->count, l->digits);
        break;
    case DT_MONTH:
        if (e->count >= 3)
            wr_put(w, month_names[x - 1], e->count >= 4 ? strlen(month_names[x - 1]) : 3);
        else
            dt_number(w, x, e->count, l->digits);
        break;
    case DT_DOW:
        wr_put(w, day_names[x], e->count >= 4 ? strlen(day_names[x]) : 3);
        break;
    case DT_AMPM:
        wr_put(w, x < 12 ? "AM" : "PM", 2);
        break;
    case DT_FRACT: /* digits beyond milliseconds are zeros: we keep ms */
        if (e->count <= 3)
            wr_num(w, x / (e->count == 1 ? 100 : e->count == 2 ? 10 : 1), e->count);
        else
            wr_num(w, x, 3);
        for (int i = 3; i < e->count; i++)
            wr_put(w, "0", 1);
        break;
    case DT_ZONE:
        wr_put(w, "+00:00", 6); /* the timestamp is always UTC */
        break;
    case DT_NUM:
        dt_number(w, x, e->count, l->digits);
        break;
    }
}

static void dt_eval(const part *pt, const int v[F_COUNT], wr *w)
{
    for (size_t i = 0; i < pt->ndt; i++) {
        if (pt->dt[i].letter)
            dt_elem_eval(&pt->dt[i], v, w);
        else
            wr_put(w, pt->dt[i].lit, pt->dt[i].litlen);
    }
}

/* Field lookup.  The maps along the path are "on the chain": chain counts
 * them, and they are exactly the open maps at depths 1..chain.  A key in the
 * innermost one matches when it is the rest of the path (the value), or its
 * next segment(s) up to a dot (descend); otherwise its value is skipped. */
enum { LK_NONE, LK_TARGET, LK_DESCEND };

typedef struct look {
    const char *path;
    size_t plen;
    size_t off[FMT_MAX_SEGS + 2]; /* path offset consumed at each chain depth */
    int depth, chain, pend;
    size_t next; /* path offset below a key that matched a prefix */
    int found;
    size_t vlen;
    wr *w;
} look;

static int lk_value(look *l, const char *s, size_t n)
{
    if (l->depth == l->chain && l->pend == LK_TARGET) {
        if (s) { /* null has no string form: like a missing field */
            wr_put(l->w, s, n);
            l->found = 1;
            l->vlen = n;
        }
        return 0;
    }
    l->pend = LK_NONE;
    return 1;
}

static int lk_null(void *ctx)
{
    return lk_value(ctx, NULL, 0);
}

static int lk_bool(void *ctx, int b)
{
    return lk_value(ctx, b ? "true" : "false", b ? 4 : 5);
}

static int lk_number(void *ctx, const char *s, size_t n)
{
    return lk_value(ctx, s, n);
}

static int lk_string(void *ctx, const unsigned char *s, size_t n)
{
    return lk_value(ctx, (const char *)s, n);
}

static int lk_key(void *ctx, const unsigned char *k, size_t n)
{
    look *l = ctx;
    l->pend = LK_NONE;
    if (l->depth != l->chain)
        return 1;
    size_t off = l->off[l->chain];
    const char *rest = l->path + off;
    size_t rlen = l->plen - off;
    if (n == rlen && memcmp(rest, k, n) == 0) {
        l->pend = LK_TARGET;
    } else if (n < rlen && rest[n] == '.' && memcmp(rest, k, n) == 0) {
        l->pend = LK_DESCEND;
        l->next = off + n + 1;
    }
    return 1;
}

static int lk_start(look *l, int is_map)
{
    if (l->depth == l->chain && l->pend == LK_TARGET)
        return 0; /* an object or array has no string form */
    if (is_map && l->depth == l->chain && l->pend == LK_DESCEND)
        l->off[++l->chain] = l->next;
    l->depth++;
    l->pend = LK_NONE;
    return 1;
}

static int lk_start_map(void *ctx)
{
    return lk_start(ctx, 1);
}

static int lk_start_array(void *ctx)
{
    return lk_start(ctx, 0);
}

static int lk_end(void *ctx)
{
    look *l = ctx;
    l->depth--;
    if (l->depth < l->chain)
        l->chain = l->depth;
    l->pend = LK_NONE;
    return 1;
}

static const yajl_callbacks lk_callbacks = {
    .yajl_null = lk_null,
    .yajl_boolean = lk_bool,
    .yajl_number = lk_number,
    .yajl_string = lk_string,
    .yajl_start_map = lk_start_map,
    .yajl_map_key = lk_key,
    .yajl_end_map = lk_end,
    .yajl_start_array = lk_start_array,
    .yajl_end_array = lk_end,
};

/* As libbeat: a missing field fails unless it has a default; an empty
 * string also takes the default. */
static int field_eval(const part *pt, const char *doc, size_t len, wr *w)
{
    look l = {.path = pt->text, .plen = pt->len, .pend = LK_DESCEND, .w = w};
    size_t mark = w->len;
    yajl_handle h = yajl_alloc(&lk_callbacks, NULL, &l);
    if (!h)
        return -1;
    yajl_parse(h, (const unsigned char *)doc, len);
    yajl_free(h);
    if (l.found && l.vlen > 0)
        return 0;
    w->len = mark;
    if (!pt->def)
        return l.found ? 0 : -1;
    wr_put(w, pt->def, pt->deflen);
    return 0;
}

int fmtstr_eval(const fmtstr *f, const char *doc, size_t len, int64_t ts_ms, char *out,
                size_t outlen)
{
    wr w = {.p = out, .cap = outlen};
    int v[F_COUNT];
    int have_date = 0;
    for (size_t i = 0; i < f->n; i++) {
        const part *pt = &f->parts[i];
        if (pt->kind == PART_LIT) {
            wr_put(&w, pt->text, pt->len);
        } else if (pt->kind == PART_FIELD) {
            if (field_eval(pt, doc, len, &w) != 0)
                return -1;
        } else {
            if (!have_date)
                dt_values(ts_ms, v);
            have_date = 1;
            dt_eval(pt, v, &w);
        }
    }
    if (w.len >= outlen || w.len > INT_MAX)
        return -1;
    out[w.len] = '\0';
    return (int)w.len;
}
