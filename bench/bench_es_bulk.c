/* bench_es_bulk: the Elasticsearch output's own limit, without a network or
 * a server.  Real documents (each capture decoded by both metricsets inside
 * the ECS envelope, as the daemon renders them) are encoded into _bulk
 * request bodies by es_bulk_append in batches of 1600 (the default
 * bulk_max_size), each body gzip'ed at the default compression_level 1, then
 * thrown away.  Prints documents/s and MB/s for plain and gzip'ed bodies.
 * CPU time of this thread, so preemption on a shared machine does not count.
 * Usage: bench_es_bulk [DIR] [DOCUMENTS] (DIR defaults to tests/data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "buf.h"
#include "es_bulk.h"
#include "es_conn.h"
#include "event.h"
#include "metricset.h"
#include "bench_util.h"

#define BATCH 1600

typedef struct doc {
    char *json;
    size_t len;
} doc;

/* One document as scrape.c renders it: envelope, golang.<ns>, body. */
static int render(const beat_info *bi, const char *body, size_t len, int heap, doc *out)
{
    event_site site = {.metricset = heap ? "heap" : "expvar",
                       .dataset = heap ? "golang.heap" : "golang.bench",
                       .error_dataset = heap ? "golang.heap" : "golang.expvar",
                       .address = "http://127.0.0.1:6060/debug/vars",
                       .period_ms = 10000};
    decode_limits lim = {.max_depth = 64};
    heap_window w = {0};
    char msg[256];
    yajl_gen g = yajl_gen_alloc(NULL);
    event_begin(g, bi, &site, 1795905433845LL, 1234567, NULL);
    int opened = event_open_path(g, site.dataset);
    int rc = heap ? metricset_heap_emit(g, body, len, &w, &lim, msg, sizeof msg)
                  : metricset_expvar_emit(g, body, len, &lim, msg, sizeof msg);
    if (rc == 0) {
        event_close_maps(g, opened);
        event_end(g);
        const unsigned char *p;
        yajl_gen_get_buf(g, &p, &out->len);
        out->json = malloc(out->len);
        memcpy(out->json, p, out->len);
    } else {
        fprintf(stderr, "decode failed: %s\n", msg);
    }
    yajl_gen_free(g);
    return rc;
}

/* Encodes n documents (cycling through docs) in batches; gzip when level > 0. */
static double encode(const doc *docs, size_t ndocs, long n, int level, size_t *bytes)
{
    buf raw, gz;
    buf_init(&raw, 0);
    buf_init(&gz, 0);
    *bytes = 0;
    double t0 = cpu_s();
    for (long i = 0; i < n; i++) {
        const doc *d = &docs[(size_t)i % ndocs];
        if (es_bulk_append(&raw, "metricbeat-8.11.0", NULL, d->json, d->len) != 0) {
            fprintf(stderr, "encode failed\n");
            exit(1);
        }
        if ((i + 1) % BATCH == 0 || i + 1 == n) {
            *bytes += raw.len;
            if (level > 0) {
                buf_reset(&gz);
                if (es_gzip(raw.data, raw.len, level, &gz) != 0) {
                    fprintf(stderr, "gzip failed\n");
                    exit(1);
                }
            }
            buf_reset(&raw);
        }
    }
    double t = cpu_s() - t0;
    buf_free(&raw);
    buf_free(&gz);
    return t;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data";
    long n = argc > 2 ? atol(argv[2]) : 200000;
    const char *names[] = {"expvartarget", "expvartarget-t2", "ginexpvar", "ginexpvar-t2", "etcd"};
    beat_info bi = {.name = "bench", .hostname = "bench", .version = "8.11.0"};
    strcpy(bi.id, "4e2c2a4e-3b86-4b0e-9d8e-2f1e9b1f0c11");
    strcpy(bi.ephemeral_id, "0d1c3e8a-5b7f-4c2d-8e9a-1b2c3d4e5f60");
    doc docs[10];
    size_t ndocs = 0, doc_bytes = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        size_t len;
        snprintf(path, sizeof path, "%s/%s.json", dir, names[i]);
        char *body = slurp(path, &len);
        if (!body || render(&bi, body, len, 0, &docs[ndocs]) != 0 ||
            render(&bi, body, len, 1, &docs[ndocs + 1]) != 0) {
            fprintf(stderr, "cannot make documents from %s\n", path);
            return 1;
        }
        doc_bytes += docs[ndocs].len + docs[ndocs + 1].len;
        ndocs += 2;
        free(body);
    }
    printf("documents: %zu kinds, %.0f bytes on average, batches of %d\n", ndocs,
           (double)doc_bytes / (double)ndocs, BATCH);
    for (int level = 0; level <= 1; level++) {
        size_t bytes;
        double best = 1e30;
        for (int r = 0; r < 3; r++) { /* best of 3 */
            double t = encode(docs, ndocs, n, level, &bytes);
            if (t < best)
                best = t;
        }
        printf("es_bulk encoder%s: %.0f docs/s, %.1f MB/s of request body\n",
               level ? " + gzip level 1" : "", (double)n / best, (double)bytes / best / 1e6);
    }
    for (size_t i = 0; i < ndocs; i++)
        free(docs[i].json);
    return 0;
}
