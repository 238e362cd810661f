/* bench_spool: events/s appended to the disk queue with one fdatasync per
 * group of appends (1 = every event; the daemon syncs once per loop turn),
 * read back and acked, and disk use against event count.
 * Usage: bench_spool [doc.json] [events]  (default: a 2 KiB document, 20000). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *load_doc(const char *path, size_t *len)
{
    if (!path) {
        *len = 2048;
        char *d = malloc(*len + 1);
        memset(d, 'x', *len);
        d[0] = '{', d[*len - 1] = '}', d[*len] = '\0';
        return d;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *d = malloc(*len + 1);
    if (d && fread(d, 1, *len, f) != *len) {
        free(d);
        d = NULL;
    }
    fclose(f);
    return d;
}

static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
}

static int run(const char *dir, const char *doc, size_t len, int n, int group)
{
    char err[512];
    spool *s = spool_open(dir, (uint64_t)1 << 40, 64u << 20, 4096, err, sizeof err);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (spool_append(s, doc, len, err, sizeof err) != 0 ||
            ((i + 1) % group == 0 && spool_sync(s, err, sizeof err) != 0)) {
            fprintf(stderr, "%s\n", err);
            spool_close(s);
            return 1;
        }
    }
    spool_sync(s, err, sizeof err);
    double t1 = now_s();
    uint64_t bytes = spool_bytes(s);
    spool_rec r;
    int got = 0;
    while (got < n) {
        while (spool_next(s, &r, err, sizeof err) == 1) {
            spool_ack(s, r.ticket);
            free(r.data);
            got++;
        }
        spool_commit(s, err, sizeof err);
    }
    double t2 = now_s();
    printf("fdatasync every %5d: append %8.0f events/s (%6.1f MiB/s)  read+ack %8.0f events/s  "
           "disk %llu bytes for %d events = %.1f bytes/event (payload %zu)\n",
           group, n / (t1 - t0), (double)bytes / (t1 - t0) / 1048576.0, n / (t2 - t1),
           (unsigned long long)bytes, n, (double)bytes / n, len);
    spool_close(s);
    clear_dir(dir);
    return 0;
}

int main(int argc, char **argv)
{
    size_t len;
    char *doc = load_doc(argc > 1 ? argv[1] : NULL, &len);
    int n = argc > 2 ? atoi(argv[2]) : 20000;
    char dir[] = "/tmp/bench-spool-XXXXXX";
    if (!doc || !mkdtemp(dir)) {
        fprintf(stderr, "cannot load the document or make a temp dir\n");
        return 1;
    }
    int rc = 0;
    const int groups[] = {1, 10, 100, 1000};
    for (size_t i = 0; i < sizeof groups / sizeof *groups && !rc; i++)
        rc = run(dir, doc, len, groups[i] == 1 && n > 5000 ? 5000 : n, groups[i]);
    clear_dir(dir);
    rmdir(dir);
    free(doc);
    return rc;
}
