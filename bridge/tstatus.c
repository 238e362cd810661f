/* tstatus: per-target health bookkeeping (see tstatus.h). */
#include "tstatus.h"

#include <stdio.h>
#include <string.h>

void tstatus_init(tstatus *s, const char *address, const char *metricsets, const char *ns,
                  int64_t period_ms, int64_t timeout_ms)
{
    memset(s, 0, sizeof *s);
    snprintf(s->address, sizeof s->address, "%s", address ? address : "");
    snprintf(s->metricsets, sizeof s->metricsets, "%s", metricsets ? metricsets : "");
    snprintf(s->ns, sizeof s->ns, "%s", ns ? ns : "");
    s->period_ms = period_ms;
    s->timeout_ms = timeout_ms;
}

void tstatus_record(tstatus *s, int64_t wall_ms, int64_t duration_us, const char *err)
{
    s->last_wall_ms = wall_ms;
    s->last_duration_us = duration_us;
    s->scrapes++;
    s->durations_us[s->hist_next] = duration_us < 0            ? 0
                                    : duration_us > UINT32_MAX ? UINT32_MAX
                                                               : (uint32_t)duration_us;
    s->hist_next = (s->hist_next + 1) % TSTATUS_HISTORY;
    if (s->hist_n < TSTATUS_HISTORY)
        s->hist_n++;
    if (err && *err) {
        s->failures++;
        s->consecutive_failures++;
        snprintf(s->last_error, sizeof s->last_error, "%s", err);
        s->last_error_wall_ms = wall_ms;
    } else {
        s->consecutive_failures = 0;
        s->last_error[0] = '\0';
    }
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
