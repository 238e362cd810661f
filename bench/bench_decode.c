/* bench_decode: how fast a /debug/vars body becomes a Metricbeat document,
 * next to what yajl alone needs to parse the same bytes.  Ratios from one
 * run are what to quote; absolute rates on shared machines are noisy.
 * Usage: bench_decode [DIR] [ITERATIONS] [ROUNDS] (DIR defaults to tests/data).
 * Raw yajl runs with no callbacks at all: the floor any decoder built on
 * yajl pays.  "tree" is yajl_tree_parse, what a DOM-based decoder pays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "metricset.h"
#include "bench_util.h"

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
    decode_limits lim = {.max_depth = 64};
    char msg[256];
    yajl_gen_clear(g);
    yajl_gen_reset(g, NULL);
    return metricset_expvar_emit(g, body, len, &lim, msg, sizeof msg);
}

static int heap_doc(const char *body, size_t len, yajl_gen g)
{
    decode_limits lim = {.max_depth = 64};
    heap_window w = {0};
    char msg[256];
    yajl_gen_clear(g);
    yajl_gen_reset(g, NULL);
    return metricset_heap_emit(g, body, len, &w, &lim, msg, sizeof msg);
}

/* Both documents of a body that serves both metricsets, as the daemon
 * makes them when one fetch serves both: two parses (the old way) ... */
static int two_passes(const char *body, size_t len, yajl_gen g)
{
    return expvar_doc(body, len, g) || heap_doc(body, len, g) ? -1 : 0;
}

/* ... or one parse, the heap values taken on the way (metricset.h). */
static heap_capture *capture;

static int one_pass(const char *body, size_t len, yajl_gen g)
{
    decode_limits lim = {.max_depth = 64};
    heap_window w = {0};
    char msg[256];
    yajl_gen_clear(g);
    yajl_gen_reset(g, NULL);
    if (metricset_expvar_emit_capture(g, body, len, &lim, capture, msg, sizeof msg) != 0 ||
        !heap_capture_ready(capture))
        return -1;
    yajl_gen_clear(g);
    yajl_gen_reset(g, NULL);
    return metricset_heap_emit_captured(g, capture, body, len, &w, &lim, msg, sizeof msg);
}

/* Seconds for iters runs of fn over body. */
static double time_runs(work_fn fn, const char *body, size_t len, int iters, yajl_gen g)
{
    double t0 = cpu_s();
    for (int i = 0; i < iters; i++)
        if (fn(body, len, g) != 0) {
            fprintf(stderr, "decode failed\n");
            exit(1);
        }
    return cpu_s() - t0;
}

enum { W_RAW, W_TREE, W_EXPVAR, W_HEAP, W_TWO, W_ONE, W_N };

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data";
    int iters = argc > 2 ? atoi(argv[2]) : 2000;
    int rounds = argc > 3 ? atoi(argv[3]) : 7;
    const char *names[] = {"expvartarget", "expvartarget-t2", "ginexpvar", "ginexpvar-t2", "etcd"};
    const work_fn fns[W_N] = {raw_yajl, tree_yajl, expvar_doc, heap_doc, two_passes, one_pass};
    double total[W_N] = {0};
    size_t total_bytes = 0;
    capture = heap_capture_new();
    yajl_gen g = yajl_gen_alloc(NULL);
    yajl_gen_config(g, yajl_gen_validate_utf8, 0);
    printf("%-16s %7s %10s %10s %10s %10s %8s %8s %8s %8s %8s\n", "capture", "bytes", "yajl MB/s",
           "tree MB/s", "expvar", "heap", "exp/raw", "heap/raw", "2 pass", "1 pass", "1p/2p");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        size_t len;
        snprintf(path, sizeof path, "%s/%s.json", dir, names[i]);
        char *body = slurp(path, &len);
        if (!body) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
        /* Interleaved rounds, best of each: a shared machine's noise only
         * ever slows a run down, and it hits every contender alike. */
        double best[W_N];
        for (int w = 0; w < W_N; w++)
            best[w] = 1e30;
        for (int r = 0; r < rounds; r++)
            for (int w = 0; w < W_N; w++) {
                double t = time_runs(fns[w], body, len, iters, g);
                if (t < best[w])
                    best[w] = t;
            }
        double mb = (double)len * iters / 1e6;
        printf("%-16s %7zu %10.1f %10.1f %10.1f %10.1f %8.2f %8.2f %8.1f %8.1f %8.2f\n", names[i],
               len, mb / best[W_RAW], mb / best[W_TREE], mb / best[W_EXPVAR], mb / best[W_HEAP],
               best[W_RAW] / best[W_EXPVAR], best[W_RAW] / best[W_HEAP], mb / best[W_TWO],
               mb / best[W_ONE], best[W_ONE] / best[W_TWO]);
        for (int w = 0; w < W_N; w++)
            total[w] += best[w];
        total_bytes += len;
        free(body);
    }
    double mb = (double)total_bytes * iters / 1e6;
    printf("%-16s %7zu %10.1f %10.1f %10.1f %10.1f %8.2f %8.2f %8.1f %8.1f %8.2f\n", "all",
           total_bytes, mb / total[W_RAW], mb / total[W_TREE], mb / total[W_EXPVAR],
           mb / total[W_HEAP], total[W_RAW] / total[W_EXPVAR], total[W_RAW] / total[W_HEAP],
           mb / total[W_TWO], mb / total[W_ONE], total[W_ONE] / total[W_TWO]);
    printf("documents/s (all captures): expvar %.0f, heap %.0f\n", 5.0 * iters / total[W_EXPVAR],
           5.0 * iters / total[W_HEAP]);
    printf("expvar+heap of one body: two passes %.1f us, one pass %.1f us (%.2fx)\n",
           total[W_TWO] / (5.0 * iters) * 1e6, total[W_ONE] / (5.0 * iters) * 1e6,
           total[W_ONE] / total[W_TWO]);
    heap_capture_free(capture);
    yajl_gen_free(g);
    return 0;
}
