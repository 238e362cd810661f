/* metricset_heap: a /debug/vars body → golang.heap (spec §1.3).
 * Metricbeat decodes the body into struct{MemStats runtime.MemStats;
 * Cmdline []interface{}} with encoding/json, so this is a small typed
 * decoder over yajl events that follows the same rules: keys match
 * case-insensitively (with Go's Kelvin-sign/long-s folding), unknown keys
 * and elements past a fixed array's end are skipped unchecked, every field
 * of runtime.MemStats is type-checked (the first mismatch is the error, in
 * Go's words and field path), nulls leave values alone.  Only the fields the
 * document needs are kept.  Also owns the GC pause window (§1.3.3), and
 * the heap capture: this decoder fed by the expvar decoder's parse, so a
 * body serving both metricsets is parsed once (metricset.h). */
#include "metricset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gobody.h"
#include "numfmt.h"

#define PREFIX "error unmarshalling json: "
#define GO_MAX_DEPTH 10000
#define MAX_FRAMES 4 /* Stats > MemStats > BySize > size class */

/* Where a decoded value is kept; SL_NONE values are only type-checked. */
enum slot {
    SL_NONE = -1,
    SL_TOTAL_ALLOC,
    SL_SYS,
    SL_MALLOCS,
    SL_FREES,
    SL_HEAP_ALLOC,
    SL_HEAP_SYS,
    SL_HEAP_IDLE,
    SL_HEAP_INUSE,
    SL_HEAP_RELEASED,
    SL_HEAP_OBJECTS,
    SL_STACK_SYS,
    SL_NEXT_GC,
    SL_PAUSE_TOTAL,
    SL_NUM_GC,
    SL_U64_COUNT, /* slots above hold integers */
    SL_CPU_FRACTION,
    SL_PAUSE_NS,
};

enum kind { K_STRUCT, K_ARRAY, K_U64, K_U32, K_F64, K_BOOL, K_ANY };

typedef struct tdesc tdesc;
typedef struct field {
    const char *name;
    const tdesc *type;
    int slot;
} field;

/* A Go type as encoding/json sees it; `go` is reflect's Type.String(). */
struct tdesc {
    enum kind kind;
    const char *go;
    const char *name; /* struct: Type.Name(), "" when anonymous */
    const field *fields;
    size_t nfields;
    const tdesc *elem;
    size_t len; /* array: fixed length, 0 for a slice */
};

static const tdesc t_u64 = {.kind = K_U64, .go = "uint64"};
static const tdesc t_u32 = {.kind = K_U32, .go = "uint32"};
static const tdesc t_f64 = {.kind = K_F64, .go = "float64"};
static const tdesc t_bool = {.kind = K_BOOL, .go = "bool"};
static const tdesc t_any = {.kind = K_ANY, .go = "interface {}"};
static const tdesc t_ring = {.kind = K_ARRAY, .go = "[256]uint64", .elem = &t_u64, .len = 256};

#define SIZECLASS "struct { Size uint32; Mallocs uint64; Frees uint64 }"
static const field f_sizeclass[] = {
    {"Size", &t_u32, SL_NONE}, {"Mallocs", &t_u64, SL_NONE}, {"Frees", &t_u64, SL_NONE}};
static const tdesc t_sizeclass = {
    .kind = K_STRUCT, .go = SIZECLASS, .name = "", .fields = f_sizeclass, .nfields = 3};
static const tdesc t_bysize = {
    .kind = K_ARRAY, .go = "[61]" SIZECLASS, .elem = &t_sizeclass, .len = 61};

/* runtime.MemStats of Go 1.19, in declaration order. */
static const field f_memstats[] = {
    {"Alloc", &t_u64, SL_NONE},
    {"TotalAlloc", &t_u64, SL_TOTAL_ALLOC},
    {"Sys", &t_u64, SL_SYS},
    {"Lookups", &t_u64, SL_NONE},
    {"Mallocs", &t_u64, SL_MALLOCS},
    {"Frees", &t_u64, SL_FREES},
    {"HeapAlloc", &t_u64, SL_HEAP_ALLOC},
    {"HeapSys", &t_u64, SL_HEAP_SYS},
    {"HeapIdle", &t_u64, SL_HEAP_IDLE},
    {"HeapInuse", &t_u64, SL_HEAP_INUSE},
    {"HeapReleased", &t_u64, SL_HEAP_RELEASED},
    {"HeapObjects", &t_u64, SL_HEAP_OBJECTS},
    {"StackInuse", &t_u64, SL_NONE},
    {"StackSys", &t_u64, SL_STACK_SYS},
    {"MSpanInuse", &t_u64, SL_NONE},
    {"MSpanSys", &t_u64, SL_NONE},
    {"MCacheInuse", &t_u64, SL_NONE},
    {"MCacheSys", &t_u64, SL_NONE},
    {"BuckHashSys", &t_u64, SL_NONE},
    {"GCSys", &t_u64, SL_NONE},
    {"OtherSys", &t_u64, SL_NONE},
    {"NextGC", &t_u64, SL_NEXT_GC},
    {"LastGC", &t_u64, SL_NONE},
    {"PauseTotalNs", &t_u64, SL_PAUSE_TOTAL},
    {"PauseNs", &t_ring, SL_PAUSE_NS},
    {"PauseEnd", &t_ring, SL_NONE},
    {"NumGC", &t_u32, SL_NUM_GC},
    {"NumForcedGC", &t_u32, SL_NONE},
    {"GCCPUFraction", &t_f64, SL_CPU_FRACTION},
    {"EnableGC", &t_bool, SL_NONE},
    {"DebugGC", &t_bool, SL_NONE},
    {"BySize", &t_bysize, SL_NONE},
};
static const tdesc t_memstats = {.kind = K_STRUCT,
                                 .go = "runtime.MemStats",
                                 .name = "MemStats",
                                 .fields = f_memstats,
                                 .nfields = sizeof f_memstats / sizeof f_memstats[0]};
static const tdesc t_cmdline = {.kind = K_ARRAY, .go = "[]interface {}", .elem = &t_any};
static const field f_stats[] = {{"MemStats", &t_memstats, SL_NONE},
                                {"Cmdline", &t_cmdline, SL_NONE}};
static const tdesc t_stats = {
    .kind = K_STRUCT, .go = "heap.Stats", .name = "Stats", .fields = f_stats, .nfields = 2};

typedef struct frame {
    const tdesc *t;
    int slot;         /* slot of the field this container fills */
    size_t index;     /* arrays: elements seen */
    const field *cur; /* structs: field of the value being read, NULL = skip */
    size_t hint;      /* structs: the field expected next (Go writes them in order) */
} frame;

enum jkind { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_OBJECT, J_ARRAY };
static const char *const jkind_name[] = {"null", "bool", "number", "string", "object", "array"};

typedef struct hp {
    frame frames[MAX_FRAMES];
    int nframes;
    int opaque;     /* >0: inside a container Go skips or keeps as interface{} */
    int opaque_any; /* that container is interface{}: numbers still convert */
    int depth, max_depth;
    uint64_t u[SL_U64_COUNT];
    uint64_t pause_ns[HEAP_PAUSE_RING];
    char cpu[NUMFMT_MAX];
    size_t cpu_len;
    buf cmd; /* cmdline elements, each followed by a space */
    long cmd_n, cmd_bad;
    buf scratch;
    char reason[GOBODY_REASON_MAX];
} hp;

__attribute__((format(printf, 2, 3))) static int stop(hp *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->reason, sizeof h->reason, fmt, ap);
    va_end(ap);
    return 0;
}

/* json.UnmarshalTypeError: the innermost struct whose field is being read
 * names the error, with every field name on the path (Go's errorContext). */
static int type_err(hp *h, const char *what, const char *tok, size_t n, const char *go_type)
{
    char path[96] = "";
    const char *sname = NULL;
    size_t pl = 0;
    for (int i = 0; i < h->nframes; i++) {
        const frame *f = &h->frames[i];
        if (f->t->kind != K_STRUCT || !f->cur)
            continue;
        sname = f->t->name;
        pl += (size_t)snprintf(path + pl, sizeof path - pl, "%s%s", pl ? "." : "", f->cur->name);
    }
    const char *sp = tok ? " " : "";
    if (sname)
        return stop(h, "json: cannot unmarshal %s%s%.*s into Go struct field %s.%s of type %s",
                    what, sp, (int)n, tok ? tok : "", sname, path, go_type);
    return stop(h, "json: cannot unmarshal %s%s%.*s into Go value of type %s", what, sp, (int)n,
                tok ? tok : "", go_type);
}

/* Go 1.19's equalFoldRight: ASCII case folding, plus U+212A KELVIN SIGN
 * for k and U+017F LATIN SMALL LETTER LONG S for s in the key. */
static int name_matches(const char *name, const char *key, size_t n)
{
    size_t j = 0;
    for (const char *p = name; *p; p++) {
        char sb = *p, up = (char)(sb & ~0x20);
        if (j >= n)
            return 0;
        unsigned char tb = (unsigned char)key[j];
        if (tb < 0x80) {
            if (up != (char)(tb & ~0x20))
                return 0;
            j++;
        } else if (up == 'S' && n - j >= 2 && !memcmp(key + j, "\xC5\xBF", 2)) {
            j += 2;
        } else if (up == 'K' && n - j >= 3 && !memcmp(key + j, "\xE2\x84\xAA", 3)) {
            j += 3;
        } else {
            return 0;
        }
    }
    return j == n;
}

static const field *lookup(const tdesc *t, const char *key, size_t n)
{
    unsigned char k0 = n ? (unsigned char)key[0] : 0;
    for (size_t i = 0; i < t->nfields; i++) {
        /* Names are ASCII letters: an ASCII first byte of another letter
         * (either case) cannot fold to them; this skips most names cheaply. */
        if (k0 < 0x80 && (k0 | 0x20) != (t->fields[i].name[0] | 0x20))
            continue;
        if (name_matches(t->fields[i].name, key, n))
            return &t->fields[i];
    }
    return NULL;
}

/* The type the next value decodes into, and its slot; NULL = skipped. */
static const tdesc *target(const hp *h, int *slot)
{
    *slot = SL_NONE;
    if (h->nframes == 0)
        return &t_stats;
    const frame *f = &h->frames[h->nframes - 1];
    if (f->t->kind == K_STRUCT) {
        *slot = f->cur ? f->cur->slot : SL_NONE;
        return f->cur ? f->cur->type : NULL;
    }
    *slot = f->slot;
    if (f->t->len && f->index >= f->t->len)
        return NULL;
    return f->t->elem;
}

static void value_done(hp *h)
{
    if (h->opaque || h->nframes == 0)
        return;
    frame *f = &h->frames[h->nframes - 1];
    if (f->t->kind == K_ARRAY)
        f->index++;
    else
        f->cur = NULL;
}

/* One element of Cmdline, GetCmdStr style: strings join, others are noted. */
static int cmd_element(hp *h, enum jkind jk, const char *s, size_t n)
{
    long i = h->cmd_n++;
    if (jk != J_STRING) {
        if (h->cmd_bad < 0)
            h->cmd_bad = i;
        return 1;
    }
    const char *t;
    size_t tn;
    if (gobody_utf8(s, n, &h->scratch, &t, &tn) < 0 || buf_append(&h->cmd, t, tn) != BUF_OK ||
        buf_append(&h->cmd, " ", 1) != BUF_OK)
        return stop(h, "out of memory");
    return 1;
}

static int store_number(hp *h, const tdesc *t, int slot, const char *tok, size_t n)
{
    char out[NUMFMT_MAX];
    uint64_t v;
    if (t->kind == K_F64 || t->kind == K_ANY) {
        size_t k = numfmt_json_number(tok, n, out);
        if (k == 0)
            return type_err(h, "number", tok, n, "float64");
        if (slot == SL_CPU_FRACTION) {
            memcpy(h->cpu, out, k + 1);
            h->cpu_len = k;
        }
        return 1;
    }
    if (numfmt_parse_uint64(tok, n, &v) < 0 || (t->kind == K_U32 && v > UINT32_MAX))
        return type_err(h, "number", tok, n, t->go);
    if (slot > SL_NONE && slot < SL_U64_COUNT)
        h->u[slot] = v;
    else if (slot == SL_PAUSE_NS)
        h->pause_ns[h->frames[h->nframes - 1].index] = v;
    return 1;
}

/* A scalar value, as literalStore treats it for the target type. */
static int scalar(hp *h, enum jkind jk, const char *tok, size_t n)
{
    int slot;
    if (h->opaque)
        return !(h->opaque_any && jk == J_NUMBER) || store_number(h, &t_any, SL_NONE, tok, n);
    const tdesc *t = target(h, &slot);
    int ok = 1;
    if (!t) {
        /* skipped */
    } else if (t->kind == K_ANY) {
        ok = (jk != J_NUMBER || store_number(h, t, slot, tok, n)) && cmd_element(h, jk, tok, n);
    } else if (jk == J_NULL) {
        if (t == &t_cmdline) { /* a nil slice */
            buf_reset(&h->cmd);
            h->cmd_bad = -1;
        }
    } else if (jk == J_NUMBER && (t->kind == K_U64 || t->kind == K_U32 || t->kind == K_F64)) {
        ok = store_number(h, t, slot, tok, n);
    } else if (!(jk == J_BOOL && t->kind == K_BOOL)) {
        ok = type_err(h, jkind_name[jk], NULL, 0, t->go);
    }
    if (ok)
        value_done(h);
    return ok;
}

static int open_container(hp *h, enum jkind jk)
{
    int slot;
    if (++h->depth > h->max_depth)
        return stop(h, "body nests arrays/objects deeper than the limit of %d levels",
                    h->max_depth);
    if (h->opaque) {
        h->opaque++;
        return 1;
    }
    const tdesc *t = target(h, &slot);
    if (!t || t->kind == K_ANY) {
        h->opaque = 1;
        h->opaque_any = t != NULL;
        return !t || cmd_element(h, jk, NULL, 0);
    }
    if (t->kind != (jk == J_OBJECT ? K_STRUCT : K_ARRAY))
        return type_err(h, jkind_name[jk], NULL, 0, t->go);
    if (h->nframes == MAX_FRAMES)
        return stop(h, "heap decoder frame overflow"); /* the types above nest 4 deep */
    h->frames[h->nframes++] = (frame){.t = t, .slot = slot};
    if (t == &t_cmdline) {
        buf_reset(&h->cmd);
        h->cmd_n = 0;
        h->cmd_bad = -1;
    }
    return 1;
}

static int close_container(hp *h)
{
    h->depth--;
    if (h->opaque) {
        if (--h->opaque == 0)
            value_done(h);
        return 1;
    }
    frame *f = &h->frames[--h->nframes];
    if (f->slot == SL_PAUSE_NS && f->index < HEAP_PAUSE_RING) /* Go zeroes the rest */
        memset(h->pause_ns + f->index, 0, (HEAP_PAUSE_RING - f->index) * sizeof h->pause_ns[0]);
    value_done(h);
    return 1;
}

static int on_null(void *ctx)
{
    return scalar(ctx, J_NULL, NULL, 0);
}

static int on_bool(void *ctx, int v)
{
    (void)v;
    return scalar(ctx, J_BOOL, NULL, 0);
}

static int on_number(void *ctx, const char *s, size_t n)
{
    hp *h = ctx;
    uint64_t v;
    /* PauseNs and PauseEnd are most of the numbers: straight into the ring. */
    frame *f = h->nframes && !h->opaque ? &h->frames[h->nframes - 1] : NULL;
    if (f && f->t == &t_ring && f->index < HEAP_PAUSE_RING && numfmt_parse_uint64(s, n, &v) == 0) {
        if (f->slot == SL_PAUSE_NS)
            h->pause_ns[f->index] = v;
        f->index++;
        return 1;
    }
    return scalar(h, J_NUMBER, s, n);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    return scalar(ctx, J_STRING, (const char *)s, n);
}

static int on_map_key(void *ctx, const unsigned char *s, size_t n)
{
    hp *h = ctx;
    /* No UTF-8 repair needed: a U+FFFD never matches an ASCII field name. */
    if (h->opaque)
        return 1;
    frame *f = &h->frames[h->nframes - 1];
    const field *next = f->hint < f->t->nfields ? &f->t->fields[f->hint] : NULL;
    /* The exact name of the field expected next is what lookup would find:
     * no two names of a struct fold to the same key. */
    if (next && strncmp(next->name, (const char *)s, n) == 0 && next->name[n] == '\0')
        f->cur = next;
    else
        f->cur = lookup(f->t, (const char *)s, n);
    if (f->cur)
        f->hint = (size_t)(f->cur - f->t->fields) + 1;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, J_OBJECT);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, J_ARRAY);
}

static int on_end(void *ctx)
{
    return close_container(ctx);
}

void heap_gc_window(heap_window *w, uint32_t num_gc, const uint64_t pause_ns[HEAP_PAUSE_RING],
                    gc_pauses *out)
{
    memset(out, 0, sizeof *out);
    if (w->last_num_gc >= num_gc)
        return; /* no new GC, or a restart: zeros, state kept (beats#6543) */
    uint32_t start = w->last_num_gc, delta = num_gc - w->last_num_gc;
    if (delta > HEAP_PAUSE_RING) {
        start = num_gc - HEAP_PAUSE_RING;
        delta = HEAP_PAUSE_RING;
    }
    for (uint32_t i = 0; i < delta; i++) {
        uint64_t d = pause_ns[(start + i) % HEAP_PAUSE_RING];
        out->count++;
        out->sum_ns += d;
        if (d > out->max_ns)
            out->max_ns = d;
    }
    out->avg_ns = out->sum_ns / out->count;
    w->last_num_gc = num_gc;
}

static int put_key(yajl_gen g, const char *k)
{
    return yajl_gen_string(g, (const unsigned char *)k, strlen(k)) == yajl_gen_status_ok;
}

/* libbeat clears bit 63 of every uint64 it publishes. */
static int put_u64(yajl_gen g, const char *k, uint64_t v)
{
    return put_key(g, k) &&
           yajl_gen_integer(g, (long long)(v & ~(1ULL << 63))) == yajl_gen_status_ok;
}

static int put_ns(yajl_gen g, const char *k, uint64_t v)
{
    return put_key(g, k) && yajl_gen_map_open(g) == yajl_gen_status_ok && put_u64(g, "ns", v) &&
           yajl_gen_map_close(g) == yajl_gen_status_ok;
}

typedef struct outfield {
    const char *key;
    int slot;
} outfield;

/* Opens k and writes the fields; the caller may add members, then closes. */
static int put_group_open(yajl_gen g, const char *k, const hp *h, const outfield *f, size_t n)
{
    if (!put_key(g, k) || yajl_gen_map_open(g) != yajl_gen_status_ok)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!put_u64(g, f[i].key, h->u[f[i].slot]))
            return 0;
    return 1;
}

static int put_group(yajl_gen g, const char *k, const hp *h, const outfield *f, size_t n)
{
    return put_group_open(g, k, h, f, n) && yajl_gen_map_close(g) == yajl_gen_status_ok;
}

static int put_gc(yajl_gen g, const hp *h, const gc_pauses *p, const heap_extras_out *x)
{
    return put_key(g, "gc") && yajl_gen_map_open(g) == yajl_gen_status_ok &&
           put_u64(g, "next_gc_limit", h->u[SL_NEXT_GC]) &&
           put_u64(g, "total_count", h->u[SL_NUM_GC]) && put_key(g, "cpu_fraction") &&
           yajl_gen_number(g, h->cpu, h->cpu_len) == yajl_gen_status_ok &&
           put_ns(g, "total_pause", h->u[SL_PAUSE_TOTAL]) && put_key(g, "pause") &&
           yajl_gen_map_open(g) == yajl_gen_status_ok && put_u64(g, "count", p->count) &&
           put_ns(g, "sum", p->sum_ns) && put_ns(g, "avg", p->avg_ns) &&
           put_ns(g, "max", p->max_ns) && heap_extras_put_pause(g, x) &&
           yajl_gen_map_close(g) == yajl_gen_status_ok && heap_extras_put_gc_rate(g, x) &&
           yajl_gen_map_close(g) == yajl_gen_status_ok;
}

static int put_heap(yajl_gen g, const hp *h, const gc_pauses *p, const heap_extras_out *x)
{
    static const outfield alloc[] = {
        {"mallocs", SL_MALLOCS},   {"frees", SL_FREES},          {"objects", SL_HEAP_OBJECTS},
        {"total", SL_TOTAL_ALLOC}, {"allocated", SL_HEAP_ALLOC}, {"idle", SL_HEAP_IDLE},
        {"active", SL_HEAP_INUSE},
    };
    static const outfield sys[] = {{"total", SL_SYS},
                                   {"obtained", SL_HEAP_SYS},
                                   {"stack", SL_STACK_SYS},
                                   {"released", SL_HEAP_RELEASED}};
    size_t cl = h->cmd.len;
    while (cl > 0 && h->cmd.data[cl - 1] == ' ') /* strings.TrimRight(s, " ") */
        cl--;
    return yajl_gen_map_open(g) == yajl_gen_status_ok && put_key(g, "cmdline") &&
           yajl_gen_string(g, (const unsigned char *)(cl ? h->cmd.data : ""), cl) ==
               yajl_gen_status_ok &&
           put_group_open(g, "allocations", h, alloc, sizeof alloc / sizeof alloc[0]) &&
           heap_extras_put_alloc_rate(g, x) && yajl_gen_map_close(g) == yajl_gen_status_ok &&
           put_group(g, "system", h, sys, sizeof sys / sizeof sys[0]) && put_gc(g, h, p, x) &&
           yajl_gen_map_close(g) == yajl_gen_status_ok;
}

/* Ready for a parse: everything zero (so fields the body lacks read 0), the
 * buffers kept for their capacity. */
static void hp_start(hp *h, const decode_limits *lim)
{
    buf cmd = h->cmd, scratch = h->scratch;
    memset(h, 0, sizeof *h);
    h->cmd = cmd;
    h->scratch = scratch;
    buf_reset(&h->cmd);
    int max = lim && lim->max_depth > 0 ? lim->max_depth : GO_MAX_DEPTH;
    h->max_depth = max < GO_MAX_DEPTH ? max : GO_MAX_DEPTH;
    h->cmd_bad = -1;
    h->cpu[0] = '0';
    h->cpu_len = 1;
}

static const yajl_callbacks heap_cb = {
    on_null,      on_bool,    NULL,   NULL,           on_number, on_string,
    on_start_map, on_map_key, on_end, on_start_array, on_end,
};

static int decode(hp *h, const char *body, size_t len, const decode_limits *lim, char *msg,
                  size_t msglen)
{
    hp_start(h, lim);
    if (gobody_parse(body, len, &heap_cb, h, h->reason, PREFIX, msg, msglen) < 0)
        return -1;
    if (h->cmd_bad >= 0) {
        snprintf(msg, msglen, PREFIX "cmdline element %ld is not a string", h->cmd_bad);
        return -1;
    }
    return 0;
}

/* The document from decoded values; w is updated only on success. */
static int emit_doc(yajl_gen g, const hp *h, heap_window *w, const decode_limits *lim, char *msg,
                    size_t msglen)
{
    heap_window next = *w;
    gc_pauses p;
    heap_extras_out x;
    heap_sample hs = {w->now_ns, h->u[SL_TOTAL_ALLOC], (uint32_t)h->u[SL_NUM_GC], h->pause_ns,
                      HEAP_PAUSE_RING};
    heap_extras_compute(lim ? &lim->heap : &(heap_extras_conf){0}, &next.extras, &next.last_num_gc,
                        &hs, &x);
    heap_gc_window(&next, (uint32_t)h->u[SL_NUM_GC], h->pause_ns, &p);
    if (!put_heap(g, h, &p, &x)) {
        snprintf(msg, msglen, "cannot write the golang.heap document");
        return -1;
    }
    *w = next;
    return 0;
}

int metricset_heap_emit(yajl_gen g, const char *body, size_t len, heap_window *w,
                        const decode_limits *lim, char *msg, size_t msglen)
{
    hp h;
    buf_init(&h.cmd, 0);
    buf_init(&h.scratch, 0);
    int rc = decode(&h, body, len, lim, msg, msglen);
    if (rc == 0)
        rc = emit_doc(g, &h, w, lim, msg, msglen);
    buf_free(&h.cmd);
    buf_free(&h.scratch);
    return rc;
}

/* The heap decoder run on another decoder's parse: same events, same
 * state, so a capture that saw the whole body without objecting holds what
 * decode() would have produced. */
struct heap_capture {
    hp h;
    int ready; /* h holds a clean decode of the last body */
};

heap_capture *heap_capture_new(void)
{
    heap_capture *c = calloc(1, sizeof *c);
    if (c) {
        buf_init(&c->h.cmd, 0);
        buf_init(&c->h.scratch, 0);
    }
    return c;
}

void heap_capture_free(heap_capture *c)
{
    if (!c)
        return;
    buf_free(&c->h.cmd);
    buf_free(&c->h.scratch);
    free(c);
}

void heap_capture_clear(heap_capture *c)
{
    if (c)
        c->ready = 0;
}

int heap_capture_ready(const heap_capture *c)
{
    return c && c->ready;
}

void heap_capture_begin(heap_capture *c, const decode_limits *lim, metricset_tee *tee)
{
    c->ready = 0;
    hp_start(&c->h, lim);
    *tee = (metricset_tee){.cb = &heap_cb, .ctx = &c->h};
}

void heap_capture_end(heap_capture *c, const metricset_tee *tee, int parse_ok)
{
    /* Anything decode() would word as an error is left to decode() itself. */
    c->ready = parse_ok && !tee->stopped && c->h.cmd_bad < 0;
}

int metricset_heap_emit_captured(yajl_gen g, heap_capture *c, const char *body, size_t len,
                                 heap_window *w, const decode_limits *lim, char *msg, size_t msglen)
{
    if (!heap_capture_ready(c))
        return metricset_heap_emit(g, body, len, w, lim, msg, msglen);
    c->ready = 0; /* one document per capture */
    return emit_doc(g, &c->h, w, lim, msg, msglen);
}
