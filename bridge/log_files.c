/* log_files: size-rotated, date-named log files (see log_files.h). */
#include "log_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXT ".ndjson"

struct log_files {
    char *dir, *name;
    int keepfiles, permissions;
    int64_t rotate_bytes, size;
    int fd;
    char date[9]; /* YYYYMMDD of the active file */
    char path[PATH_MAX];
};

/* A rotated file: its date and index; the un-suffixed file of an earlier
 * day sorts after that day's numbered ones (it was written last). */
typedef struct backup {
    char date[9];
    long n;
    char *file;
} backup;

static int mkdirs(const char *dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return errno = ENAMETOOLONG, -1;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST)
            return -1;
        *s = c;
        if (!c)
            return 0;
    }
}

static void today(char date[9])
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, 9, "%Y%m%d", &tm);
}

/* Parses "<name>-YYYYMMDD[-N].ndjson"; 0 when it is one of ours. */
static int parse_backup(const log_files *f, const char *file, backup *b)
{
    size_t nl = strlen(f->name);
    if (strncmp(file, f->name, nl) != 0 || file[nl] != '-')
        return -1;
    const char *d = file + nl + 1;
    for (int i = 0; i < 8; i++)
        if (d[i] < '0' || d[i] > '9')
            return -1;
    memcpy(b->date, d, 8);
    b->date[8] = '\0';
    if (strcmp(d + 8, EXT) == 0) {
        b->n = LONG_MAX;
        return 0;
    }
    char *end;
    if (d[8] != '-' || d[9] < '1' || d[9] > '9')
        return -1;
    b->n = strtol(d + 9, &end, 10);
    return strcmp(end, EXT) == 0 ? 0 : -1;
}

static int backup_cmp(const void *a, const void *b)
{
    const backup *x = a, *y = b;
    int c = strcmp(x->date, y->date);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Every rotated file in the directory, oldest first; the active one is not. */
static backup *list_backups(const log_files *f, size_t *n)
{
    backup *v = NULL;
    size_t cap = 0;
    *n = 0;
    DIR *d = opendir(f->dir);
    const char *active = strrchr(f->path, '/') + 1;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        backup b;
        if (strcmp(e->d_name, active) == 0 || parse_backup(f, e->d_name, &b) != 0)
            continue;
        if (*n == cap) {
            backup *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        if (!(b.file = strdup(e->d_name)))
            break;
        v[(*n)++] = b;
    }
    if (d)
        closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, backup_cmp);
    return v;
}

static void free_backups(backup *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].file);
    free(v);
}

/* Deletes the oldest rotated files beyond keepfiles. */
static void prune(log_files *f)
{
    size_t n;
    backup *v = list_backups(f, &n);
    for (size_t i = 0; i + (size_t)f->keepfiles < n; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", f->dir, v[i].file);
        unlink(p);
    }
    free_backups(v, n);
}

/* The next free index for the active file's date. */
static long next_index(log_files *f)
{
    size_t n;
    long max = 0;
    backup *v = list_backups(f, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].date, f->date) == 0 && v[i].n != LONG_MAX && v[i].n > max)
            max = v[i].n;
    free_backups(v, n);
    return max + 1;
}

static void set_active(log_files *f)
{
    today(f->date);
    snprintf(f->path, sizeof f->path, "%s/%s-%s" EXT, f->dir, f->name, f->date);
}

/* Renames the active file to its next numbered name, then prunes. */
static void rotate_active(log_files *f)
{
    char to[PATH_MAX];
    snprintf(to, sizeof to, "%s/%s-%s-%ld" EXT, f->dir, f->name, f->date, next_index(f));
    if (rename(f->path, to) == 0)
        prune(f);
}

static int open_active(log_files *f)
{
    struct stat st;
    set_active(f);
    if (stat(f->path, &st) == 0 && st.st_size > 0)
        rotate_active(f); /* rotateonstartup */
    f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, (mode_t)f->permissions);
    if (f->fd < 0)
        return -1;
    /* the umask must not loosen or tighten what the user asked for */
    if (fchmod(f->fd, (mode_t)f->permissions) != 0 || fstat(f->fd, &st) != 0)
        return -1;
    f->size = st.st_size;
    return 0;
}

log_files *log_files_open(const log_files_opts *o, char *err, size_t errlen)
{
    log_files *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = strdup(o->dir)) || !(f->name = strdup(o->name))) {
        snprintf(err, errlen, "out of memory opening the log files");
        log_files_close(f);
        return NULL;
    }
    f->fd = -1;
    f->keepfiles = o->keepfiles > 0 ? o->keepfiles : 1;
    f->permissions = o->permissions;
    f->rotate_bytes = o->rotate_bytes;
    if (mkdirs(f->dir) != 0) {
        snprintf(err, errlen, "cannot create the log directory %s: %s", f->dir, strerror(errno));
        log_files_close(f);
        return NULL;
    }
    if (open_active(f) != 0) {
        snprintf(err, errlen, "cannot open the log file %s: %s", f->path, strerror(errno));
        log_files_close(f);
        return NULL;
    }
    return f;
}

int log_files_write(log_files *f, const char *line, size_t len)
{
    if (f->size > 0 && f->size + (int64_t)len > f->rotate_bytes) {
        close(f->fd);
        rotate_active(f);
        if (open_active(f) != 0)
            return -1;
    }
    ssize_t n = write(f->fd, line, len);
    if (n > 0)
        f->size += n;
    return n == (ssize_t)len ? 0 : -1;
}

const char *log_files_path(const log_files *f)
{
    return f->path;
}

void log_files_close(log_files *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->dir);
    free(f->name);
    free(f);
}
