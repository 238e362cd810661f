/* bench_decode: how fast a /debug/vars body becomes a Metricbeat document,
 * next to what yajl alone needs to parse the same bytes.  Ratios from one
 * run are what to quote; absolute rates on shared machines are noisy.
 * Usage: bench_decode [DIR] [ITERATIONS] (DIR defaults to tests/data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "metricset.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b;
    buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    return buf_detach(&b, len);
}

typedef int (*work_fn)(const char *body, size_t len, yajl_gen g);

static int raw_yajl(const char *body, size_t len, yajl_gen g)
{
    (void)g;
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    int ok = yajl_parse(h, (const unsigned char *)body, len) == yajl_status_ok &&
             yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    return ok ? 0 : -1;
}

static int tree_yajl(const char *body, size_t len, yajl_gen g)
{
    (void)g, (void)len;
    yajl_val v = yajl_tree_parse(body, NULL, 0);
    yajl_tree_free(v);
    return v ? 0 : -1;
}

static int expvar_doc(const char *body, size_t len, yajl_gen g)
{
    decode_limits lim = {64};
    char msg[256];
    yajl_gen_clear(g);
    yajl_gen_reset(g, NULL);
    return metricset_expvar_emit(g, body, len, &lim, msg, sizeof msg);
}

static int heap_doc(const char *body, size_t len, yajl_gen g)
{
    decode_limits lim = {64};
    heap_window w = {0};
    char msg[256];
    yajl_gen_clear(g);
    yajl_gen_reset(g, NULL);
    return metricset_heap_emit(g, body, len, &w, &lim, msg, sizeof msg);
}

static double rate_mb_s(work_fn fn, const char *body, size_t len, int iters, yajl_gen g)
{
    double t0 = now_s();
    for (int i = 0; i < iters; i++)
        if (fn(body, len, g) != 0) {
            fprintf(stderr, "decode failed\n");
            exit(1);
        }
    return (double)len * iters / (now_s() - t0) / 1e6;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data";
    int iters = argc > 2 ? atoi(argv[2]) : 20000;
    const char *names[] = {"expvartarget", "expvartarget-t2", "ginexpvar", "ginexpvar-t2", "etcd"};
    yajl_gen g = yajl_gen_alloc(NULL);
    yajl_gen_config(g, yajl_gen_validate_utf8, 0);
    printf("%-16s %7s %10s %10s %10s %10s %8s %8s\n", "capture", "bytes", "yajl MB/s", "tree MB/s",
           "expvar", "heap", "exp/raw", "heap/raw");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        size_t len;
        snprintf(path, sizeof path, "%s/%s.json", dir, names[i]);
        char *body = slurp(path, &len);
        if (!body) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
        double raw = rate_mb_s(raw_yajl, body, len, iters, g);
        double tree = rate_mb_s(tree_yajl, body, len, iters, g);
        double ex = rate_mb_s(expvar_doc, body, len, iters, g);
        double hp = rate_mb_s(heap_doc, body, len, iters, g);
        printf("%-16s %7zu %10.1f %10.1f %10.1f %10.1f %8.2f %8.2f\n", names[i], len, raw, tree, ex,
               hp, ex / raw, hp / raw);
        free(body);
    }
    yajl_gen_free(g);
    return 0;
}
