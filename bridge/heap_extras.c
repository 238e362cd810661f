/* heap_extras: restart reset, pause percentiles and rates (heap_extras.h).
 * Everything is decided before Metricbeat's GC window runs, because a reset
 * moves where that window starts. */
#include "heap_extras.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

#define RING_MAX 256

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

heap_extras_conf heap_extras_conf_make(int restart_reset, const double *pct, size_t n, int rates)
{
    heap_extras_conf c = {.restart_reset = restart_reset, .rates = rates};
    c.n_pause_pct = n < HEAP_EXTRAS_MAX_PCT ? n : HEAP_EXTRAS_MAX_PCT;
    if (c.n_pause_pct)
        memcpy(c.pause_pct, pct, c.n_pause_pct * sizeof pct[0]);
    return c;
}

void heap_extras_pct_key(double pct, char out[24])
{
    out[0] = 'p';
    snprintf(out + 1, 23, "%.10g", pct);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '_';
}

/* The pauses Metricbeat's window covers (same ring walk as heap_gc_window),
 * sorted; returns how many. */
static size_t window_pauses(uint32_t last, const heap_sample *s, uint64_t out[RING_MAX])
{
    size_t ring = s->ring_len < RING_MAX ? s->ring_len : RING_MAX;
    if (s->num_gc <= last || ring == 0)
        return 0;
    uint32_t start = last, n = s->num_gc - last;
    if (n > ring) {
        start = s->num_gc - (uint32_t)ring;
        n = (uint32_t)ring;
    }
    for (uint32_t i = 0; i < n; i++)
        out[i] = s->pause_ns[(start + i) % ring];
    qsort(out, n, sizeof out[0], cmp_u64);
    return n;
}

static void percentiles(const heap_extras_conf *c, uint32_t last, const heap_sample *s,
                        heap_extras_out *out)
{
    uint64_t sorted[RING_MAX];
    size_t n = window_pauses(last, s, sorted);
    if (n == 0)
        return;
    size_t k = c->n_pause_pct < HEAP_EXTRAS_MAX_PCT ? c->n_pause_pct : HEAP_EXTRAS_MAX_PCT;
    for (size_t i = 0; i < k; i++) {
        /* the epsilon keeps 99.9% of 1000 at rank 999 despite binary fractions */
        double rank = ceil(c->pause_pct[i] * (double)n / 100.0 - 1e-9);
        size_t r = rank < 1 ? 1 : rank > (double)n ? n : (size_t)rank;
        heap_extras_pct_key(c->pause_pct[i], out->pct_key[i]);
        out->pct_ns[i] = sorted[r - 1];
    }
    out->n_pct = k;
}

void heap_extras_compute(const heap_extras_conf *c, heap_extras_state *st,
                         uint32_t *window_last_num_gc, const heap_sample *s, heap_extras_out *out)
{
    memset(out, 0, sizeof *out);
    /* Against the last sample, not the window: without a reset the window
     * keeps the old NumGC long after the restart. */
    int restarted =
        st->seen && (s->num_gc < st->last_num_gc || s->total_alloc < st->last_total_alloc);
    if (c->restart_reset && restarted)
        *window_last_num_gc = 0;
    if (c->n_pause_pct)
        percentiles(c, *window_last_num_gc, s, out);
    if (c->rates && st->seen && !restarted && st->last_ns > 0 && s->now_ns > st->last_ns) {
        double dt = (double)(s->now_ns - st->last_ns) / 1e9;
        out->alloc_bytes_per_sec = (double)(s->total_alloc - st->last_total_alloc) / dt;
        out->gc_per_sec = (double)(s->num_gc - st->last_num_gc) / dt;
        out->has_rates = 1;
    }
    *st = (heap_extras_state){.seen = 1,
                              .last_ns = s->now_ns,
                              .last_total_alloc = s->total_alloc,
                              .last_num_gc = s->num_gc};
}

static int put_str(yajl_gen g, const char *k)
{
    return yajl_gen_string(g, (const unsigned char *)k, strlen(k)) == yajl_gen_status_ok;
}

/* k: {inner: v}, v a float64 as Go writes it. */
static int put_rate(yajl_gen g, const char *inner, double v)
{
    char num[NUMFMT_MAX];
    size_t n = numfmt_go_float(v, num);
    return put_str(g, "rate") && yajl_gen_map_open(g) == yajl_gen_status_ok && put_str(g, inner) &&
           yajl_gen_number(g, num, n) == yajl_gen_status_ok &&
           yajl_gen_map_close(g) == yajl_gen_status_ok;
}

int heap_extras_put_pause(yajl_gen g, const heap_extras_out *out)
{
    for (size_t i = 0; i < out->n_pct; i++) {
        /* libbeat clears bit 63 of every uint64 it publishes */
        long long v = (long long)(out->pct_ns[i] & ~(1ULL << 63));
        if (!put_str(g, out->pct_key[i]) || yajl_gen_map_open(g) != yajl_gen_status_ok ||
            !put_str(g, "ns") || yajl_gen_integer(g, v) != yajl_gen_status_ok ||
            yajl_gen_map_close(g) != yajl_gen_status_ok)
            return 0;
    }
    return 1;
}

int heap_extras_put_gc_rate(yajl_gen g, const heap_extras_out *out)
{
    return !out->has_rates || put_rate(g, "per_sec", out->gc_per_sec);
}

int heap_extras_put_alloc_rate(yajl_gen g, const heap_extras_out *out)
{
    return !out->has_rates || put_rate(g, "bytes_per_sec", out->alloc_bytes_per_sec);
}
