/* tstatus: per-target health bookkeeping (see tstatus.h). */
#include "tstatus.h"

#include <stdio.h>
#include <string.h>

_Static_assert(TSTATUS_HISTORY <= 64, "failed_bits holds one bit per history slot");

void tstatus_init(tstatus *s, const char *address, const char *metricsets, const char *ns,
                  int64_t period_ms, int64_t timeout_ms)
{
    memset(s, 0, sizeof *s);
    s->address = address ? address : "";
    snprintf(s->metricsets, sizeof s->metricsets, "%s", metricsets ? metricsets : "");
    snprintf(s->ns, sizeof s->ns, "%s", ns ? ns : "");
    s->period_ms = period_ms;
    s->timeout_ms = timeout_ms;
}

/* Length of the valid UTF-8 sequence at p (at most avail bytes), 0 if the
 * bytes there are not one: overlong forms, surrogates and values above
 * U+10FFFF count as invalid, as JSON parsers and browsers judge them. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
    size_t n;
    unsigned cp;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        n = 2, cp = p[0] & 0x1F;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        n = 3, cp = p[0] & 0x0F;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        n = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Copies err into dst as UTF-8 without control characters: error texts
 * quote bytes of hostile bodies, and every renderer takes this as text. */
static void copy_error(char *dst, size_t cap, const char *err)
{
    const unsigned char *p = (const unsigned char *)err;
    size_t len = strlen(err), o = 0;
    for (size_t i = 0; i < len && o + 1 < cap;) {
        size_t n = utf8_len(p + i, len - i);
        if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7F))) {
            dst[o++] = '?';
            i += n ? n : 1;
            continue;
        }
        if (o + n >= cap) /* never half a character */
            break;
        memcpy(dst + o, p + i, n);
        o += n;
        i += n;
    }
    dst[o] = '\0';
}

void tstatus_record(tstatus *s, int64_t wall_ms, int64_t duration_us, const char *err)
{
    int failed = err && *err;
    s->last_wall_ms = wall_ms;
    s->last_duration_us = duration_us;
    s->scrapes++;
    s->durations_us[s->hist_next] = duration_us < 0            ? 0
                                    : duration_us > UINT32_MAX ? UINT32_MAX
                                                               : (uint32_t)duration_us;
    uint64_t bit = (uint64_t)1 << s->hist_next;
    s->failed_bits = failed ? s->failed_bits | bit : s->failed_bits & ~bit;
    s->hist_next = (s->hist_next + 1) % TSTATUS_HISTORY;
    if (s->hist_n < TSTATUS_HISTORY)
        s->hist_n++;
    if (failed) {
        s->failures++;
        s->consecutive_failures++;
        copy_error(s->last_error, sizeof s->last_error, err);
        s->last_error_wall_ms = wall_ms;
    } else {
        s->consecutive_failures = 0;
        s->last_error[0] = '\0';
    }
}

size_t tstatus_history(const tstatus *s, uint32_t us[TSTATUS_HISTORY],
                       unsigned char failed[TSTATUS_HISTORY])
{
    /* The oldest entry is at hist_next once the ring has wrapped, else at 0. */
    size_t first = s->hist_n < TSTATUS_HISTORY ? 0 : s->hist_next;
    for (size_t i = 0; i < s->hist_n; i++) {
        size_t slot = (first + i) % TSTATUS_HISTORY;
        us[i] = s->durations_us[slot];
        if (failed)
            failed[i] = (unsigned char)(s->failed_bits >> slot & 1);
    }
    return s->hist_n;
}

enum tstatus_state tstatus_state(const tstatus *s)
{
    if (s->scrapes == 0)
        return TSTATUS_PENDING;
    if (s->consecutive_failures)
        return TSTATUS_FAILING;
    int64_t limit = s->period_ms < s->timeout_ms ? s->period_ms : s->timeout_ms;
    /* Half the budget: a target that slow is one hiccup away from skipped turns. */
    if (limit > 0 && s->last_duration_us > limit * 1000 / 2)
        return TSTATUS_SLOW;
    return TSTATUS_OK;
}

const char *tstatus_state_name(enum tstatus_state st)
{
    static const char *const names[] = {"pending", "ok", "failing", "slow"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "unknown";
}
