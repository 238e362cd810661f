/* cmd_modules: lists, enables and disables the module files of modules.d the
 * way Metricbeat's GlobManager does: NAME.yml is enabled, NAME.yml.disabled is
 * disabled, and switching renames one into the other.  Only names found by
 * the glob are ever renamed, so a NAME cannot point outside the directory.
 * Messages and exit codes follow libbeat/cmd/modules.go. */
#include "cmd_modules.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#define ENABLED_EXT ".yml"
#define DISABLED_EXT ".disabled"

typedef struct modfile {
    char *name;
    char *path;
    int enabled;
} modfile;

typedef struct modset {
    modfile *v;
    size_t n;
} modset;

static void modset_free(modset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].path);
    }
    free(s->v);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int add_file(modset *s, const char *path, const char *ext, int enabled)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    modfile *v = realloc(s->v, (s->n + 1) * sizeof *v);
    if (!v)
        return -1;
    s->v = v;
    modfile *f = &v[s->n];
    f->name = strndup(base, strlen(base) - strlen(ext));
    f->path = strdup(path);
    f->enabled = enabled;
    if (!f->name || !f->path) {
        free(f->name);
        free(f->path);
        return -1;
    }
    s->n++;
    return 0;
}

/* A directory that does not exist lists as empty, as filepath.Glob does. */
static int scan(modset *s, const char *pattern, const char *ext, int enabled)
{
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
        rc = add_file(s, g.gl_pathv[i], ext, enabled);
    globfree(&g);
    return rc ? -1 : 0;
}

static int by_name(const void *a, const void *b)
{
    const modfile *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : y->enabled - x->enabled;
}

static int load(const config *c, modset *s, FILE *err)
{
    char *glob_ = c->modules_path ? strdup(c->modules_path) : NULL;
    if (!c->modules_path) {
        const char *dir = c->path.config ? c->path.config : ".";
        size_t n = strlen(dir) + sizeof "/modules.d/*.yml";
        if ((glob_ = malloc(n)))
            snprintf(glob_, n, "%s/modules.d/*.yml", dir);
    }
    char *disabled = glob_ ? malloc(strlen(glob_) + sizeof DISABLED_EXT) : NULL;
    int rc = -1;
    if (!disabled) {
        fprintf(err, "modules: out of memory\n");
    } else if (!ends_with(glob_, "*" ENABLED_EXT)) {
        fprintf(err,
                "modules management requires modules.d folder: config.modules.path '%s' "
                "must end in '*.yml'\n",
                glob_);
    } else {
        snprintf(disabled, strlen(glob_) + sizeof DISABLED_EXT, "%s" DISABLED_EXT, glob_);
        rc = scan(s, glob_, ENABLED_EXT, 1) || scan(s, disabled, ENABLED_EXT DISABLED_EXT, 0);
        if (rc)
            fprintf(err, "modules: cannot list '%s'\n", glob_);
        else if (s->n) /* qsort's base must not be NULL, even for zero items */
            qsort(s->v, s->n, sizeof *s->v, by_name);
    }
    free(glob_);
    free(disabled);
    return rc ? -1 : 0;
}

static const modfile *find(const modset *s, const char *name, int enabled)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0 && (enabled < 0 || s->v[i].enabled == enabled))
            return &s->v[i];
    return NULL;
}

static int list(const modset *s, int n_names, const char *const *names, FILE *out, FILE *err)
{
    (void)names;
    (void)err;
    (void)n_names;
    fprintf(out, "Enabled:\n");
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].enabled)
            fprintf(out, "%s\n", s->v[i].name);
    fprintf(out, "\nDisabled:\n");
    for (size_t i = 0; i < s->n; i++)
        if (!s->v[i].enabled)
            fprintf(out, "%s\n", s->v[i].name);
    return 0;
}

/* Renames NAME's file to the other state; "already" when it is there. */
static int switch_one(const modset *s, const char *name, int enable, FILE *out, FILE *err)
{
    const char *verb = enable ? "enable" : "disable";
    const modfile *f = find(s, name, enable ? 0 : 1);
    if (!f || (enable && find(s, name, 1))) {
        fprintf(enable ? out : err, "Module %s is already %sd\n", name, verb);
        return 0;
    }
    size_t n = strlen(f->path) + sizeof DISABLED_EXT;
    char *to = malloc(n);
    if (!to) {
        fprintf(err, "Error %sing module: out of memory\n", verb);
        return 1;
    }
    if (enable)
        snprintf(to, n, "%.*s", (int)(strlen(f->path) - strlen(DISABLED_EXT)), f->path);
    else
        snprintf(to, n, "%s" DISABLED_EXT, f->path);
    int rc = rename(f->path, to);
    if (rc != 0)
        fprintf(err, "Error %sing module: %s: %s\n", verb, f->path, strerror(errno));
    else
        fprintf(out, "%s %s\n", enable ? "Enabled" : "Disabled", name);
    free(to);
    return rc != 0;
}

/* Every name must exist before anything is renamed, as in Metricbeat. */
static int switch_all(const modset *s, int n_names, const char *const *names, FILE *out, FILE *err,
                      int enable)
{
    if (n_names == 0) {
        fprintf(err, "No modules provided\n");
        return 1;
    }
    for (int i = 0; i < n_names; i++) {
        if (!find(s, names[i], -1)) {
            fprintf(err, "Module %s doesn't exist!\n", names[i]);
            return 1;
        }
    }
    for (int i = 0; i < n_names; i++)
        if (switch_one(s, names[i], enable, out, err))
            return 1;
    return 0;
}

static int enable_cmd(const modset *s, int n, const char *const *names, FILE *out, FILE *err)
{
    return switch_all(s, n, names, out, err, 1);
}

static int disable_cmd(const modset *s, int n, const char *const *names, FILE *out, FILE *err)
{
    return switch_all(s, n, names, out, err, 0);
}

static const struct {
    const char *name;
    int (*run)(const modset *s, int n, const char *const *names, FILE *out, FILE *err);
} subcommands[] = {
    {"list", list},
    {"enable", enable_cmd},
    {"disable", disable_cmd},
};

int cmd_modules(const config *c, int argc_words, const char *const *words, FILE *out, FILE *err)
{
    const char *sub = argc_words >= 2 ? words[1] : NULL;
    for (size_t i = 0; sub && i < sizeof subcommands / sizeof *subcommands; i++) {
        if (strcmp(sub, subcommands[i].name) != 0)
            continue;
        modset s = {0};
        int rc = 1;
        if (load(c, &s, err) == 0)
            rc = subcommands[i].run(&s, argc_words - 2, words + 2, out, err);
        modset_free(&s);
        return rc;
    }
    fprintf(err, "Usage: expvarbeat modules list | enable MODULE... | disable MODULE...\n");
    return 1;
}
