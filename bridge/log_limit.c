#include "log_limit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { SLOTS = 4096, PROBE = 8 };

typedef struct slot {
    uint64_t hash; /* 0: free */
    int64_t written_ms;
    uint64_t held;
} slot;

static slot table[SLOTS];

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1;
}

/* The slot of this hash, or the one to reuse: a free one, else the one
 * written longest ago among the probed. */
static slot *find(uint64_t h, int *found)
{
    slot *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        slot *s = &table[(h + i) % SLOTS];
        if (s->hash == h) {
            *found = 1;
            return s;
        }
        if (!victim || (victim->hash && (!s->hash || s->written_ms < victim->written_ms)))
            victim = s;
    }
    *found = 0;
    return victim;
}

int log_limit_check(const char *line, int64_t now_ms, uint64_t *repeated)
{
    uint64_t h = fnv1a(line);
    int found;
    slot *s = find(h, &found);
    *repeated = 0;
    if (found && now_ms - s->written_ms < LOG_LIMIT_INTERVAL_MS) {
        s->held++;
        return 0;
    }
    if (found)
        *repeated = s->held;
    s->hash = h;
    s->written_ms = now_ms;
    s->held = 0;
    return 1;
}

void log_limit_reset(void)
{
    memset(table, 0, sizeof table);
}

void log_limited(enum log_level lvl, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    uint64_t repeated;
    if (!log_limit_check(line, now_ms, &repeated))
        return;
    if (repeated)
        log_msg(lvl, "%s (repeated %llu times)", line, (unsigned long long)repeated);
    else
        log_msg(lvl, "%s", line);
}
