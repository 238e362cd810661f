/* out_file: output.file — events as NDJSON lines in rotating files, named as
 * Metricbeat 8.x names them (elastic-agent-libs file.Rotator, date rotater):
 * <path>/<filename>-<YYYYMMDD>.ndjson, then <filename>-<YYYYMMDD>-1.ndjson,
 * -2, ... within a local-time day.  Rotation happens before a line would
 * take the file past rotate_every_kb, and once at start (onto a new name, as
 * rotate_on_startup does, except that an empty newest file is reused rather
 * than kept).  Like libbeat, number_of_files rotated files are kept besides
 * the active one.  Lines go out with write(2); a failed write is cut back to
 * the last whole line, so files only ever hold complete lines. */
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define FILE_EXT ".ndjson"

typedef struct fileout {
    char *dir;
    char *name;       /* output.file.filename: the prefix of every file */
    size_t max_bytes; /* rotate_every_kb * 1024 */
    int keep;         /* rotated files kept besides the active one */
    mode_t perm;
    int fd;       /* -1 while no file is open (a rotation failed) */
    size_t size;  /* bytes in the active file */
    char *active; /* base name of the active file */
    buf out;      /* lines waiting for one write(2) */
    size_t *ends; /* per event: end offset of its line in out */
    size_t ends_cap;
} fileout;

/* One of our files, by the order libbeat sorts them in: date, then index. */
typedef struct rotated {
    long date;
    long index; /* 0 for the first file of a day, which has no suffix */
    char *base;
} rotated;

/* ---- names ------------------------------------------------------------------ */

/* Recognises <name>-YYYYMMDD.ndjson and <name>-YYYYMMDD-N.ndjson; anything
 * else in the directory is never touched. */
static int parse_base(const char *name, const char *base, rotated *r)
{
    size_t nl = strlen(name);
    if (strncmp(base, name, nl) != 0 || base[nl] != '-')
        return -1;
    const char *p = base + nl + 1;
    long date = 0;
    for (int i = 0; i < 8; i++, p++) {
        if (*p < '0' || *p > '9')
            return -1;
        date = date * 10 + (*p - '0');
    }
    long index = 0;
    if (*p == '-') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9' && index < 100000000)
            index = index * 10 + (*p++ - '0');
    }
    if (strcmp(p, FILE_EXT) != 0)
        return -1;
    r->date = date;
    r->index = index;
    return 0;
}

static int rotated_cmp(const void *a, const void *b)
{
    const rotated *x = a, *y = b;
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static void rotated_free(rotated *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].base);
    free(v);
}

/* Our files in the directory, oldest first.  Returns the count or -1. */
static long scan(const fileout *f, rotated **out)
{
    *out = NULL;
    DIR *d = opendir(f->dir);
    if (!d)
        return -1;
    rotated *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        rotated r;
        if (parse_base(f->name, de->d_name, &r) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            rotated *nv = realloc(v, cap * sizeof *nv);
            if (!nv)
                goto fail;
            v = nv;
        }
        if (!(r.base = strdup(de->d_name)))
            goto fail;
        v[n++] = r;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, rotated_cmp);
    *out = v;
    return (long)n;
fail:
    closedir(d);
    rotated_free(v, n);
    errno = ENOMEM;
    return -1;
}

static long today(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The name the next file gets: today's first name, or one past the highest
 * index already used today. */
static char *next_base(const fileout *f, const rotated *v, long n)
{
    long date = today(), index = -1;
    for (long i = 0; i < n; i++)
        if (v[i].date == date && v[i].index > index)
            index = v[i].index;
    size_t len = strlen(f->name) + 40;
    char *base = malloc(len);
    if (!base)
        return NULL;
    if (index < 0)
        snprintf(base, len, "%s-%08ld%s", f->name, date, FILE_EXT);
    else
        snprintf(base, len, "%s-%08ld-%ld%s", f->name, date, index + 1, FILE_EXT);
    return base;
}

static char *join(const char *dir, const char *base)
{
    size_t len = strlen(dir) + strlen(base) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, base);
    return p;
}

/* ---- directory and files ------------------------------------------------------- */

/* libbeat's rule: the directory opens to group / others only as far as the
 * file permissions do. */
static mode_t dir_mode(mode_t perm)
{
    mode_t m = 0700;
    if (perm & 0070)
        m |= 0050;
    if (perm & 0007)
        m |= 0005;
    return m;
}

static int mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen)
{
    char *p = strdup(dir);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create directory '%s': %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "'%s' is not a directory", dir);
        return -1;
    }
    return 0;
}

/* Opens base (taking it) as the active file, truncated, with exactly the
 * configured permissions whatever the umask. */
static int open_active(fileout *f, char *base, char *err, size_t errlen)
{
    char *path = join(f->dir, base);
    if (!path) {
        free(base);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, f->perm);
    if (fd < 0 || fchmod(fd, f->perm) != 0) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(path);
        free(base);
        return -1;
    }
    free(path);
    free(f->active);
    f->active = base;
    f->fd = fd;
    f->size = 0;
    return 0;
}

/* Deletes the oldest rotated files beyond f->keep. */
static int purge(fileout *f, char *err, size_t errlen)
{
    rotated *v;
    long n = scan(f, &v);
    if (n < 0) {
        snprintf(err, errlen, "cannot list '%s': %s", f->dir, strerror(errno));
        return -1;
    }
    long others = n - (f->active ? 1 : 0), extra = others - f->keep;
    int rc = 0;
    for (long i = 0; i < n && extra > 0; i++) {
        if (f->active && strcmp(v[i].base, f->active) == 0)
            continue;
        char *path = join(f->dir, v[i].base);
        if (!path || (unlink(path) != 0 && errno != ENOENT)) {
            snprintf(err, errlen, "cannot delete '%s': %s", path ? path : v[i].base,
                     path ? strerror(errno) : "out of memory");
            rc = -1;
        }
        free(path);
        extra--;
    }
    rotated_free(v, (size_t)n);
    return rc;
}

/* Closes the active file and starts the next one.  With reuse_empty (start
 * only) an empty newest file is written again instead of rotated past. */
static int rotate(fileout *f, int reuse_empty, char *err, size_t errlen)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    rotated *v;
    long n = scan(f, &v);
    if (n < 0) {
        snprintf(err, errlen, "cannot list '%s': %s", f->dir, strerror(errno));
        return -1;
    }
    char *base = NULL;
    struct stat st;
    if (reuse_empty && n > 0) {
        char *path = join(f->dir, v[n - 1].base);
        if (path && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
            base = strdup(v[n - 1].base);
        free(path);
    }
    if (!base)
        base = next_base(f, v, n);
    rotated_free(v, (size_t)n);
    if (!base) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (open_active(f, base, err, errlen) != 0)
        return -1;
    char perr[512];
    if (purge(f, perr, sizeof perr) != 0)
        log_warn("file output: removing old files: %s", perr);
    return 0;
}

/* ---- publishing ------------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n, size_t *written)
{
    *written = 0;
    while (*written < n) {
        ssize_t w = write(fd, p + *written, n - *written);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return EIO;
        *written += (size_t)w;
    }
    return 0;
}

/* Writes the lines of events [first, last) held in f->out.  On failure the
 * file is cut back to its last whole line and the events not wholly in it
 * become RETRY; returns the errno value. */
static int flush_lines(fileout *f, batch *b, size_t first, size_t last)
{
    size_t written;
    int err = write_all(f->fd, f->out.data, f->out.len, &written);
    size_t good = err ? 0 : written;
    for (size_t i = first; err && i < last; i++) {
        if (f->ends[i] <= written && f->ends[i] > good)
            good = f->ends[i];
        if (b->results[i] == OUT_OK && f->ends[i] > written)
            b->results[i] = OUT_RETRY;
    }
    if (written > good && ftruncate(f->fd, (off_t)(f->size + good)) != 0) {
        /* A torn line would glue onto the next one: move to a new file. */
        log_warn("file output: cannot cut '%s' back to whole lines: %s", f->active,
                 strerror(errno));
        close(f->fd);
        f->fd = -1;
    }
    f->size += good;
    buf_reset(&f->out);
    return err;
}

/* Lines go out in writes of about this size: buffering a whole batch
 * (1600 documents, ~7 MiB) kept a batch-sized buffer alive for good. */
#define WRITE_CHUNK (256 * 1024)

static void retry_from(batch *b, size_t i)
{
    for (; i < b->n; i++)
        b->results[i] = OUT_RETRY;
}

/* Adds event i's line to f->out, rotating first if the line would take the
 * file past the limit.  Returns 0, or an errno value after which nothing
 * more can be written in this batch (events from i on are then RETRY). */
static int add_line(fileout *f, batch *b, size_t i, size_t *first, char *err, size_t errlen)
{
    const event_rec *ev = b->events[i];
    size_t line = ev->len + 1;
    f->ends[i] = f->out.len;
    if (line > f->max_bytes) {
        b->results[i] = OUT_DROP;
        log_error("file output: dropping an event of %zu bytes: more than rotate_every_kb "
                  "allows (%zu bytes)",
                  line, f->max_bytes);
        return 0;
    }
    int full = f->size + f->out.len + line > f->max_bytes && f->size + f->out.len > 0;
    if (full || f->out.len >= WRITE_CHUNK) {
        int e = flush_lines(f, b, *first, i);
        if (e != 0) {
            snprintf(err, errlen, "writing '%s/%s' failed: %s", f->dir, f->active, strerror(e));
            return e;
        }
        if (full && rotate(f, 0, err, errlen) != 0)
            return EIO;
        *first = i;
    }
    if (buf_append(&f->out, ev->json, ev->len) != BUF_OK ||
        buf_append(&f->out, "\n", 1) != BUF_OK) {
        f->out.len = f->ends[i];
        b->results[i] = OUT_RETRY;
        log_warn("file output: out of memory; an event will be retried");
        return 0;
    }
    b->results[i] = OUT_OK;
    f->ends[i] = f->out.len;
    return 0;
}

static int reserve_ends(fileout *f, size_t n)
{
    if (n <= f->ends_cap)
        return 0;
    size_t *e = realloc(f->ends, n * sizeof *e);
    if (!e)
        return -1;
    f->ends = e;
    f->ends_cap = n;
    return 0;
}

static void file_publish(void *self, batch *b)
{
    fileout *f = self;
    char err[1024] = "out of memory";
    size_t first = 0, i = 0;
    int failed = reserve_ends(f, b->n) != 0 || (f->fd < 0 && rotate(f, 0, err, sizeof err) != 0);
    buf_reset(&f->out);
    while (!failed && i < b->n) {
        if (add_line(f, b, i, &first, err, sizeof err) != 0)
            failed = 1;
        else
            i++;
    }
    if (failed) {
        retry_from(b, i);
    } else if (f->out.len) {
        int e = flush_lines(f, b, first, b->n);
        if (e != 0) {
            snprintf(err, sizeof err, "writing '%s/%s' failed: %s", f->dir, f->active, strerror(e));
            failed = 1;
        }
    }
    if (failed) {
        size_t retried = 0;
        for (size_t j = 0; j < b->n; j++)
            retried += b->results[j] == OUT_RETRY;
        log_warn("file output: %s; %zu events will be retried", err, retried);
    }
    b->done(b, b->ctx);
}

/* ---- open / close ------------------------------------------------------------- */

static const char *check_config(const output_config *o)
{
    if (!o->file.path || !*o->file.path)
        return "output.file.path is not set";
    if (!o->file.filename || !*o->file.filename)
        return "output.file.filename is not set";
    if (strchr(o->file.filename, '/'))
        return "output.file.filename must be a file name, not a path";
    if (o->file.rotate_every_kb <= 0 || (uint64_t)o->file.rotate_every_kb > SIZE_MAX / 1024)
        return "output.file.rotate_every_kb must be greater than 0";
    if (o->file.number_of_files < 0 || o->file.number_of_files > 1024)
        return "output.file.number_of_files must be at most 1024";
    if (o->file.permissions < 0 || o->file.permissions > 0777)
        return "output.file.permissions must be a mode between 0000 and 0777";
    return NULL;
}

/* Writes are synchronous: nothing is ever left to drive. */
static int file_poll(void *self)
{
    (void)self;
    return -1;
}

static void file_close(void *self)
{
    fileout *f = self;
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->dir);
    free(f->name);
    free(f->active);
    buf_free(&f->out);
    free(f->ends);
    free(f);
}

static void *file_open(const config *cfg, loop *l, stats *st, char *err, size_t errlen)
{
    (void)l, (void)st; /* synchronous: no loop, no output-level counters */
    const output_config *o = &cfg->output;
    const char *why = check_config(o);
    if (why) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    fileout *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = strdup(o->file.path)) || !(f->name = strdup(o->file.filename))) {
        snprintf(err, errlen, "file output: out of memory");
        file_close(f);
        return NULL;
    }
    f->fd = -1;
    f->max_bytes = (size_t)o->file.rotate_every_kb * 1024;
    f->keep = o->file.number_of_files;
    f->perm = (mode_t)o->file.permissions;
    buf_init(&f->out, 0);
    char why2[1024];
    if (mkdir_p(f->dir, dir_mode(f->perm), why2, sizeof why2) != 0 ||
        rotate(f, 1, why2, sizeof why2) != 0) {
        snprintf(err, errlen, "file output: %s", why2);
        file_close(f);
        return NULL;
    }
    return f;
}

const output_ops out_file_ops = {
    .name = "file",
    .open = file_open,
    .publish = file_publish,
    .poll = file_poll,
    .close = file_close,
};
