/* bench_util: what every C benchmark here needs: thread CPU time (immune to
 * preemption on a shared machine) and reading a capture into memory. */
#ifndef EXPVARBEAT_BENCH_UTIL_H
#define EXPVARBEAT_BENCH_UTIL_H

#include <stdio.h>
#include <time.h>

#include "buf.h"

static inline double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file, NUL-terminated, or NULL. */
static inline char *slurp(const char *path, size_t *len)
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

#endif
