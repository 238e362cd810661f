/* reload: watch files, load, hand to the poller (see reload.h).  Only the
 * main thread touches it; the timer and SIGHUP both end in reload_now. */
#include "reload.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts_file.h"
#include "log.h"
#include "modcmp.h"

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

struct reloader {
    const config_opts *opts;
    poller *p;
    stats *st;
    loop *l;
    loop_timer timer;
    uint64_t config_fp; /* main config files + modules.d */
    uint64_t hosts_fp;  /* every hosts_file */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    for (const unsigned char *b = p; n--; b++)
        h = (h ^ *b) * FNV_PRIME;
    return h;
}

uint64_t reload_fingerprint(const char *const *paths, size_t n)
{
    uint64_t h = FNV_OFFSET;
    char chunk[8192];
    for (size_t i = 0; i < n; i++) {
        h = fnv(h, paths[i], strlen(paths[i]) + 1);
        FILE *f = fopen(paths[i], "rb");
        if (!f) {
            h = fnv(h, "\0missing", 8);
            continue;
        }
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            h = fnv(h, chunk, got);
        fclose(f);
    }
    return h;
}

/* The -c files as config_load finds them. */
static uint64_t config_fingerprint(const reloader *r, const config *c)
{
    const config_opts *o = r->opts;
    size_t n = o->n_files ? o->n_files : 1;
    int rel = o->path_config || o->path_home;
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        const char *name = o->n_files ? o->files[i] : "expvarbeat.yml";
        char path[4096];
        if (rel && name[0] != '/')
            snprintf(path, sizeof path, "%s/%s", c->path.config, name);
        else
            snprintf(path, sizeof path, "%s", name);
        const char *one = path;
        h ^= reload_fingerprint(&one, 1) + i;
        h *= FNV_PRIME;
    }
    glob_t g;
    if (c->modules_path && glob(c->modules_path, 0, NULL, &g) == 0) {
        h ^= reload_fingerprint((const char *const *)g.gl_pathv, g.gl_pathc);
        globfree(&g);
    }
    return h;
}

static uint64_t hosts_fingerprint(const config *c)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < c->n_modules; i++) {
        char *path = c->modules[i].enabled ? hosts_file_path(c, &c->modules[i]) : NULL;
        if (path) {
            const char *one = path;
            h = (h ^ reload_fingerprint(&one, 1)) * FNV_PRIME;
        }
        free(path);
    }
    return h;
}

static int has_hosts_files(const config *c)
{
    for (size_t i = 0; i < c->n_modules; i++)
        if (c->modules[i].enabled && c->modules[i].hosts_file)
            return 1;
    return 0;
}

static void arm(reloader *r)
{
    const config *c = poller_config(r->p);
    int watch = c->reload.enabled || has_hosts_files(c);
    loop_arm(&r->timer, watch ? loop_now_ms() + c->reload.period_ms : -1);
}

static void remember(reloader *r)
{
    const config *c = poller_config(r->p);
    r->config_fp = config_fingerprint(r, c);
    r->hosts_fp = hosts_fingerprint(c);
}

static void rejected(reloader *r, const char *what, const char *err)
{
    r->st->reload_failures++;
    log_error("reload: %s rejected, the running configuration is kept: %s", what, err);
}

/* Reads every config file again and swaps in the new target set. */
static void reload_config(reloader *r)
{
    char err[1024];
    config *c = config_load(r->opts, err, sizeof err);
    if (!c) {
        rejected(r, "new configuration", err);
        return;
    }
    const config *old = poller_config(r->p);
    if (!output_config_same(&old->output, &c->output))
        log_warn("reload: the output section changed; it takes effect only after a restart "
                 "(the queue and its events are kept)");
    if (poller_reload(r->p, c, err, sizeof err) != 0) {
        config_free(c);
        rejected(r, "new configuration", err);
        return;
    }
    r->st->reloads++;
}

/* Only the hosts files changed, and module files are not being watched. */
static void reload_hosts(reloader *r)
{
    char err[1024];
    if (poller_reload(r->p, NULL, err, sizeof err) != 0) {
        rejected(r, "changed hosts_file", err);
        return;
    }
    r->st->reloads++;
}

static void check(void *ctx)
{
    reloader *r = ctx;
    const config *c = poller_config(r->p);
    uint64_t cfg_fp = c->reload.enabled ? config_fingerprint(r, c) : r->config_fp;
    uint64_t hosts_fp = hosts_fingerprint(c);
    if (cfg_fp != r->config_fp) {
        log_info("reload: configuration files changed");
        reload_config(r);
    } else if (hosts_fp != r->hosts_fp) {
        log_info("reload: a hosts_file changed");
        reload_hosts(r);
    }
    remember(r); /* a rejected change is not retried until the files change again */
    arm(r);
}

reloader *reloader_new(const config_opts *o, poller *p, stats *st, loop *l)
{
    reloader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    *r = (reloader){.opts = o, .p = p, .st = st, .l = l};
    loop_timer_add(l, &r->timer, check, r);
    remember(r);
    arm(r);
    return r;
}

void reloader_request(reloader *r)
{
    log_info("reload: SIGHUP received, reading the configuration again");
    reload_config(r);
    remember(r);
    arm(r);
}

void reloader_free(reloader *r)
{
    if (!r)
        return;
    loop_timer_remove(r->l, &r->timer);
    free(r);
}
