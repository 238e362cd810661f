/* poller_rig: a poller built from YAML text written to a private temporary
 * directory, on a real loop, not started (no scrapes, no pipeline).  Its
 * targets are read back through stats.each_target, as /stats does. */
#ifndef TEST_POLLER_RIG_H
#define TEST_POLLER_RIG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "loop.h"
#include "poller.h"
#include "stats.h"

typedef struct rig {
    char dir[64];
    loop *l;
    stats st;
    beat_info bi;
    config *cfg; /* the first config: the rig's, as main's is */
    poller *p;
    char err[1024];
} rig;

static inline void rig_write(rig *r, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
    fclose(f);
}

/* expvarbeat.yml in the rig's directory (with overrides), or NULL + r->err. */
static inline config *rig_load(rig *r, const char *yaml, const char *const *ovr, size_t n_ovr)
{
    rig_write(r, "expvarbeat.yml", yaml);
    const char *files[] = {"expvarbeat.yml"};
    config_opts o = {.files = files,
                     .n_files = 1,
                     .overrides = (const char **)ovr,
                     .n_overrides = n_ovr,
                     .path_home = r->dir,
                     .path_config = r->dir};
    r->err[0] = '\0';
    return config_load(&o, r->err, sizeof r->err);
}

static inline int rig_start(rig *r, const char *yaml, const char *const *ovr, size_t n_ovr)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/pollerrigXXXXXX");
    if (!mkdtemp(r->dir) || !(r->l = loop_new()))
        abort();
    if (!(r->cfg = rig_load(r, yaml, ovr, n_ovr)))
        return -1;
    r->p = poller_new(r->cfg, &r->bi, NULL, &r->st, r->l, r->err, sizeof r->err);
    return r->p ? 0 : -1;
}

static inline void rig_stop(rig *r)
{
    poller_free(r->p);
    config_free(r->cfg);
    loop_free(r->l);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", r->dir);
}

/* The targets as the status page sees them. */
typedef struct seen {
    const tstatus *s[4096];
    size_t n;
} seen;

static inline void seen_add(const tstatus *s, void *arg)
{
    seen *v = arg;
    if (v->n < sizeof v->s / sizeof v->s[0])
        v->s[v->n++] = s;
}

static inline void rig_targets(rig *r, seen *v)
{
    v->n = 0;
    if (r->st.each_target)
        r->st.each_target(r->st.each_target_owner, seen_add, v);
}

/* The target scraping address with these metricsets, or NULL. */
static inline const tstatus *rig_find(const seen *v, const char *address, const char *metricsets)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->s[i]->address, address) && !strcmp(v->s[i]->metricsets, metricsets))
            return v->s[i];
    return NULL;
}

#endif
