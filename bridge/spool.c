/* spool: segment files, record framing, recovery (see spool.h). */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"

#define REC_MAGIC 0x52425645u   /* "EVBR" */
#define STATE_MAGIC 0x41425645u /* "EVBA" */
#define STATE_LEN 32
#define STATE_FILE "ack"
#define STATE_TMP "ack.tmp"
#define RESYNC_CHUNK 65536

typedef struct seg {
    uint64_t id, size;
} seg;

/* A record read but not yet acked: where the acked position moves once it
 * and everything before it are done. */
typedef struct slot {
    uint64_t seg_id, end_off, seq;
    unsigned char done;
} slot;

/* One record as found in a file. */
typedef struct rec {
    uint64_t off, len, seq;
} rec;

/* Walking a segment: the next expected sequence number, when known, lets a
 * skipped region be counted in records rather than guessed. */
typedef struct cursor {
    int fd;
    uint64_t off, limit, expect;
    int known;
} cursor;

struct spool {
    char *dir;
    int dirfd, lockfd;
    uint64_t max_size, seg_size;
    seg *segs; /* by id; the last is the write segment while wfd >= 0 */
    size_t nsegs, segcap;
    uint64_t next_id, first_live_id;
    int wfd, dirty;
    uint64_t synced; /* bytes of the write segment that are durable */
    uint64_t next_seq, first_live_seq;
    int rfd;
    uint64_t rid; /* the reader: segment id, cursor within it */
    cursor rc;
    slot *win;
    size_t wcap;
    uint64_t wfirst, wnext; /* tickets of the oldest unacked and the next read record */
    uint64_t ack_id, ack_off, ack_seq;
    int ack_known, ack_dirty;
    uint64_t bytes, events, corrupt, largest;
};

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t rec_crc(const unsigned char *hdr, const void *payload, size_t len)
{
    uLong c = crc32(0L, hdr + 4, 12);
    /* zlib takes uInt lengths: feed large payloads in pieces. */
    const unsigned char *p = payload;
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

static int pread_full(int fd, void *payload_buf, size_t len, uint64_t off)
{
    char *p = payload_buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : 0;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 1;
}

/* The record at off if it is whole and its checksum matches: 1 (payload in
 * *payload_buf, grown as needed, NUL-terminated), 0 not a valid record, -1 I/O. */
static int rec_read(int fd, uint64_t off, uint64_t limit, rec *r, char **payload_buf, size_t *cap)
{
    unsigned char h[SPOOL_HDR_LEN];
    if (off + SPOOL_HDR_LEN > limit)
        return 0;
    int rc = pread_full(fd, h, sizeof h, off);
    if (rc <= 0)
        return rc;
    uint64_t len = get32(h + 4);
    if (get32(h) != REC_MAGIC || len > limit - off - SPOOL_HDR_LEN)
        return 0;
    if (*cap < len + 1) {
        char *nb = realloc(*payload_buf, len + 1);
        if (!nb)
            return -1;
        *payload_buf = nb;
        *cap = len + 1;
    }
    if ((rc = pread_full(fd, *payload_buf, len, off + SPOOL_HDR_LEN)) <= 0)
        return rc;
    if (rec_crc(h, *payload_buf, len) != get32(h + 16))
        return 0;
    (*payload_buf)[len] = '\0';
    *r = (rec){off, len, get64(h + 8)};
    return 1;
}

/* The first valid record after a bad one: scans for the magic bytes. */
static int resync(int fd, uint64_t from, uint64_t limit, rec *r, char **payload_buf, size_t *cap)
{
    unsigned char *chunk = malloc(RESYNC_CHUNK);
    unsigned char m[4];
    int found = 0;
    put32(m, REC_MAGIC);
    if (!chunk)
        return -1;
    while (!found && from + SPOOL_HDR_LEN <= limit) {
        size_t want = limit - from < RESYNC_CHUNK ? (size_t)(limit - from) : RESYNC_CHUNK;
        if (pread_full(fd, chunk, want, from) <= 0) {
            found = -1;
            break;
        }
        size_t i = 0;
        for (; i + 4 <= want && !found; i++)
            if (!memcmp(chunk + i, m, 4) &&
                (found = rec_read(fd, from + i, limit, r, payload_buf, cap)))
                break;
        if (found)
            break;
        from += want > 3 ? want - 3 : want; /* a magic may straddle two chunks */
    }
    free(chunk);
    return found;
}

/* The next valid record from c->off: 1 found (c->off moves past it), 0 none
 * before c->limit, -1 I/O.  Records skipped on the way are added to *lost. */
static int walk_next(cursor *c, rec *r, char **payload_buf, size_t *cap, uint64_t *lost)
{
    if (c->off >= c->limit)
        return 0;
    int rc = rec_read(c->fd, c->off, c->limit, r, payload_buf, cap);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        rc = resync(c->fd, c->off + 1, c->limit, r, payload_buf, cap);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            /* A bad tail: assume one record, so the next segment's first
             * sequence number does not count it twice. */
            (*lost)++;
            c->expect++;
            c->off = c->limit;
            return 0;
        }
        *lost += c->known && r->seq > c->expect ? r->seq - c->expect : 1;
    } else if (c->known && r->seq > c->expect) {
        *lost += r->seq - c->expect;
    }
    c->expect = r->seq + 1;
    c->known = 1;
    c->off = r->off + SPOOL_HDR_LEN + r->len;
    return 1;
}

static void seg_name(char *out, size_t n, uint64_t id)
{
    snprintf(out, n, "%llu.seg", (unsigned long long)id);
}

static int is_write(const spool *s, const seg *g)
{
    return s->wfd >= 0 && g == &s->segs[s->nsegs - 1];
}

/* The first segment with an id >= id, or NULL. */
static seg *seg_from(spool *s, uint64_t id)
{
    for (size_t i = 0; i < s->nsegs; i++)
        if (s->segs[i].id >= id)
            return &s->segs[i];
    return NULL;
}

static int seg_add(spool *s, uint64_t id, uint64_t size)
{
    if (s->nsegs == s->segcap) {
        size_t nc = s->segcap ? s->segcap * 2 : 16;
        seg *ns = realloc(s->segs, nc * sizeof *ns);
        if (!ns)
            return -1;
        s->segs = ns;
        s->segcap = nc;
    }
    size_t i = s->nsegs;
    while (i > 0 && s->segs[i - 1].id > id) {
        s->segs[i] = s->segs[i - 1];
        i--;
    }
    s->segs[i] = (seg){id, size};
    s->nsegs++;
    s->bytes += size;
    return 0;
}

/* Removes the oldest segment's file. */
static void seg_drop_first(spool *s)
{
    char name[32];
    seg_name(name, sizeof name, s->segs[0].id);
    if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
        log_warn("disk queue: cannot delete %s/%s: %s", s->dir, name, strerror(errno));
    s->bytes -= s->segs[0].size;
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
    s->nsegs--;
}

static int fully_acked(const spool *s, const seg *g)
{
    return g->id < s->ack_id || (g->id == s->ack_id && s->ack_off >= g->size);
}

/* Deletes the leading segments that hold nothing unacked. */
static void drop_acked(spool *s)
{
    while (s->nsegs && !is_write(s, &s->segs[0]) && fully_acked(s, &s->segs[0]))
        seg_drop_first(s);
}

static int mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    int rc = mkdir(p, 0750) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int list_segments(spool *s)
{
    int fd = dup(s->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        char *end;
        errno = 0;
        unsigned long long id = strtoull(e->d_name, &end, 10);
        struct stat st;
        if (end == e->d_name || strcmp(end, ".seg") != 0 || errno || e->d_name[0] == '-')
            continue;
        if (fstatat(s->dirfd, e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = seg_add(s, id, (uint64_t)st.st_size);
    }
    closedir(d);
    return rc;
}

/* The acked position from the state file; a missing or damaged file means
 * "from the oldest segment" (repeats, never losses). */
static void read_state(spool *s)
{
    unsigned char b[STATE_LEN];
    int fd = openat(s->dirfd, STATE_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    int ok = pread_full(fd, b, sizeof b, 0) == 1 && get32(b) == STATE_MAGIC &&
             (uint32_t)crc32(0L, b, STATE_LEN - 4) == get32(b + STATE_LEN - 4);
    close(fd);
    if (!ok) {
        log_warn("disk queue: %s/%s is damaged; delivering from the oldest segment (events may "
                 "repeat)",
                 s->dir, STATE_FILE);
        return;
    }
    s->ack_id = get64(b + 4);
    s->ack_off = get64(b + 12);
    s->ack_seq = get64(b + 20);
    s->ack_known = 1;
}

static int write_state(spool *s, char *err, size_t errlen)
{
    unsigned char b[STATE_LEN];
    put32(b, STATE_MAGIC);
    put64(b + 4, s->ack_id);
    put64(b + 12, s->ack_off);
    put64(b + 20, s->ack_seq);
    put32(b + STATE_LEN - 4, (uint32_t)crc32(0L, b, STATE_LEN - 4));
    /* No fsync: losing the newest position after a power cut only repeats
     * events; rename keeps the file whole. */
    int fd = openat(s->dirfd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, b, sizeof b) == (ssize_t)sizeof b;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok || renameat(s->dirfd, STATE_TMP, s->dirfd, STATE_FILE) != 0) {
        snprintf(err, errlen, "cannot write %s/%s: %s", s->dir, STATE_FILE, strerror(errno));
        return -1;
    }
    return 0;
}

/* Counts what an old segment still holds and reports its damage once. */
static int scan_segment(spool *s, const seg *g, cursor *c, uint64_t *max_seq)
{
    char name[32], *payload_buf = NULL;
    size_t cap = 0;
    uint64_t lost = 0, valid = 0;
    rec r;
    int rc;
    seg_name(name, sizeof name, g->id);
    c->fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (c->fd < 0)
        return -1;
    c->limit = g->size;
    while ((rc = walk_next(c, &r, &payload_buf, &cap, &lost)) == 1) {
        valid++;
        if (r.seq > *max_seq)
            *max_seq = r.seq;
        if (r.len + SPOOL_HDR_LEN > s->largest)
            s->largest = r.len + SPOOL_HDR_LEN;
    }
    free(payload_buf);
    close(c->fd);
    c->fd = -1;
    s->events += valid;
    if (lost) {
        s->corrupt += lost;
        log_warn("disk queue: segment %s/%s is damaged (bad checksum or truncated): %llu "
                 "events skipped, %llu recovered",
                 s->dir, name, (unsigned long long)lost, (unsigned long long)valid);
    }
    return rc;
}

static int recover(spool *s, char *err, size_t errlen)
{
    read_state(s);
    while (s->nsegs && s->segs[0].id < s->ack_id)
        seg_drop_first(s); /* acked before a crash that came before their deletion */
    if (s->nsegs && s->segs[0].id > s->ack_id) {
        s->ack_id = s->segs[0].id;
        s->ack_off = 0;
    }
    if (s->nsegs && s->ack_off > s->segs[0].size)
        s->ack_off = s->segs[0].size;
    cursor c = {-1, s->ack_off, 0, s->ack_seq, s->ack_known};
    uint64_t max_seq = s->ack_known && s->ack_seq ? s->ack_seq - 1 : 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        if (i > 0)
            c.off = 0;
        if (scan_segment(s, &s->segs[i], &c, &max_seq) < 0) {
            snprintf(err, errlen, "cannot read the disk queue in %s: %s", s->dir, strerror(errno));
            return -1;
        }
    }
    s->next_seq = max_seq + 1;
    s->first_live_seq = s->next_seq;
    s->next_id = (s->nsegs ? s->segs[s->nsegs - 1].id : s->ack_id) + 1;
    s->first_live_id = s->next_id;
    s->rid = s->ack_id;
    s->rc = (cursor){-1, s->ack_off, 0, s->ack_seq, s->ack_known};
    return 0;
}

static int open_dir(spool *s, char *err, size_t errlen)
{
    if (mkdir_p(s->dir) != 0 || (s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot open the disk queue directory %s: %s", s->dir,
                 strerror(errno));
        return -1;
    }
    s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "cannot lock the disk queue %s: %s", s->dir,
                 errno == EWOULDBLOCK ? "another process is using it" : strerror(errno));
        return -1;
    }
    if (list_segments(s) != 0) {
        snprintf(err, errlen, "cannot list the disk queue %s: %s", s->dir, strerror(errno));
        return -1;
    }
    return 0;
}

spool *spool_open(const char *dir, uint64_t max_size, uint64_t segment_size, size_t window,
                  char *err, size_t errlen)
{
    spool *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir)) || !(s->win = calloc(window ? window : 1, sizeof *s->win))) {
        snprintf(err, errlen, "out of memory opening the disk queue");
        spool_close(s);
        return NULL;
    }
    s->dirfd = s->lockfd = s->wfd = s->rfd = -1;
    s->max_size = max_size;
    s->seg_size = segment_size ? segment_size : max_size;
    s->wcap = window ? window : 1;
    if (open_dir(s, err, errlen) != 0 || recover(s, err, errlen) != 0) {
        spool_close(s);
        return NULL;
    }
    return s;
}

int spool_sync(spool *s, char *err, size_t errlen)
{
    if (s->wfd < 0 || !s->dirty)
        return 0;
    s->dirty = 0;
    s->synced = s->segs[s->nsegs - 1].size;
    if (fdatasync(s->wfd) != 0) {
        snprintf(err, errlen, "cannot sync the disk queue in %s: %s", s->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* The write segment is complete: no more appends; gone at once if acked. */
static void seal(spool *s)
{
    char err[256];
    if (spool_sync(s, err, sizeof err) != 0)
        log_error("disk queue: %s", err);
    close(s->wfd);
    s->wfd = -1;
    drop_acked(s);
}

static int new_segment(spool *s, char *err, size_t errlen)
{
    char name[32];
    seg_name(name, sizeof name, s->next_id);
    int fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || seg_add(s, s->next_id, 0) != 0) {
        snprintf(err, errlen, "cannot create %s/%s: %s", s->dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* The new name must survive a power cut as much as the data in it. */
    fsync(s->dirfd);
    s->next_id++;
    s->wfd = fd;
    s->synced = 0;
    return 0;
}

int spool_room(spool *s, size_t reserved)
{
    uint64_t need = ((uint64_t)reserved + 1) * s->largest;
    if (s->bytes < s->max_size && need <= s->max_size - s->bytes)
        return 1;
    /* A write segment that holds only acked records is the one thing that
     * can be reclaimed without waiting for the output. */
    if (s->wfd >= 0 && fully_acked(s, &s->segs[s->nsegs - 1])) {
        seal(s);
        return s->bytes < s->max_size && need <= s->max_size - s->bytes;
    }
    return 0;
}

static int write_full(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int spool_append(spool *s, const void *data, size_t len, char *err, size_t errlen)
{
    uint64_t size = SPOOL_HDR_LEN + (uint64_t)len;
    if (len > UINT32_MAX) {
        snprintf(err, errlen, "an event of %zu bytes is too large for the disk queue", len);
        return -1;
    }
    if (s->wfd >= 0 && s->segs[s->nsegs - 1].size > 0 &&
        s->segs[s->nsegs - 1].size + size > s->seg_size)
        seal(s);
    if (s->wfd < 0 && new_segment(s, err, errlen) != 0)
        return -1;
    unsigned char h[SPOOL_HDR_LEN];
    put32(h, REC_MAGIC);
    put32(h + 4, (uint32_t)len);
    put64(h + 8, s->next_seq);
    put32(h + 16, rec_crc(h, data, len));
    struct iovec iov[2] = {{h, sizeof h}, {(void *)data, len}};
    seg *g = &s->segs[s->nsegs - 1];
    if (write_full(s->wfd, iov, 2) != 0) {
        snprintf(err, errlen, "cannot write to the disk queue in %s: %s", s->dir, strerror(errno));
        if (ftruncate(s->wfd, (off_t)g->size) != 0) /* a partial record would read as damage */
            log_error("disk queue: cannot truncate a partial write: %s", strerror(errno));
        return -1;
    }
    g->size += size;
    s->bytes += size;
    s->events++;
    s->next_seq++;
    s->dirty = 1;
    if (size > s->largest)
        s->largest = size;
    return 0;
}

/* Points the reader at the segment holding its position, or the next one;
 * NULL when there is none yet. */
static void reader_move(spool *s, uint64_t id)
{
    s->rid = id;
    s->rc.off = 0;
    if (s->rfd >= 0)
        close(s->rfd);
    s->rfd = -1;
}

static seg *reader_segment(spool *s)
{
    seg *g = seg_from(s, s->rid);
    if (!g)
        return NULL;
    if (g->id != s->rid)
        reader_move(s, g->id);
    if (s->rfd < 0) {
        char name[32];
        seg_name(name, sizeof name, g->id);
        s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    }
    return g;
}

int spool_next(spool *s, spool_rec *out, char *err, size_t errlen)
{
    char *payload_buf = NULL;
    size_t cap = 0;
    while (s->wnext - s->wfirst < s->wcap) {
        seg *g = reader_segment(s);
        if (!g)
            break;
        if (s->rfd < 0) {
            free(payload_buf);
            snprintf(err, errlen, "cannot open segment %llu in %s: %s", (unsigned long long)g->id,
                     s->dir, strerror(errno));
            return -1;
        }
        s->rc.fd = s->rfd;
        s->rc.limit = is_write(s, g) ? s->synced : g->size;
        uint64_t lost = 0;
        rec r;
        int rc = walk_next(&s->rc, &r, &payload_buf, &cap, &lost);
        if (lost && g->id >= s->first_live_id) {
            /* Damage to a segment this process wrote: older ones were
             * counted and logged when the spool was opened. */
            s->corrupt += lost;
            s->events -= lost < s->events ? lost : s->events;
            log_warn("disk queue: segment %llu in %s is damaged: %llu events skipped",
                     (unsigned long long)g->id, s->dir, (unsigned long long)lost);
        }
        if (rc < 0) {
            free(payload_buf);
            snprintf(err, errlen, "cannot read the disk queue in %s: %s", s->dir, strerror(errno));
            return -1;
        }
        if (rc == 1) {
            slot *sl = &s->win[s->wnext % s->wcap];
            *sl = (slot){g->id, s->rc.off, r.seq, 0};
            *out = (spool_rec){payload_buf, (size_t)r.len, s->wnext++, r.seq < s->first_live_seq};
            return 1;
        }
        if (is_write(s, g))
            break;
        reader_move(s, g->id + 1); /* a sealed segment read to its end */
    }
    free(payload_buf);
    return 0;
}

void spool_ack(spool *s, uint64_t ticket)
{
    if (ticket < s->wfirst || ticket >= s->wnext)
        return;
    s->win[ticket % s->wcap].done = 1;
    while (s->wfirst < s->wnext && s->win[s->wfirst % s->wcap].done) {
        slot *sl = &s->win[s->wfirst % s->wcap];
        s->ack_id = sl->seg_id;
        s->ack_off = sl->end_off;
        s->ack_seq = sl->seq + 1;
        s->ack_known = 1;
        s->ack_dirty = 1;
        if (s->events)
            s->events--;
        s->wfirst++;
    }
}

int spool_commit(spool *s, char *err, size_t errlen)
{
    /* Nothing in the window: damaged bytes the reader stepped over are done
     * with too. */
    if (s->wfirst == s->wnext &&
        (s->rid > s->ack_id || (s->rid == s->ack_id && s->rc.off > s->ack_off))) {
        s->ack_id = s->rid;
        s->ack_off = s->rc.off;
        s->ack_seq = s->rc.expect;
        s->ack_known = s->rc.known;
        s->ack_dirty = 1;
    }
    if (!s->ack_dirty)
        return 0;
    s->ack_dirty = 0;
    int rc = write_state(s, err, errlen);
    drop_acked(s);
    return rc;
}

void spool_close(spool *s)
{
    if (!s)
        return;
    char err[256];
    if (s->dirfd >= 0 && (spool_sync(s, err, sizeof err) != 0 || spool_commit(s, err, sizeof err)))
        log_error("disk queue: %s", err);
    if (s->wfd >= 0)
        close(s->wfd);
    if (s->rfd >= 0)
        close(s->rfd);
    if (s->lockfd >= 0)
        close(s->lockfd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->segs);
    free(s->win);
    free(s->dir);
    free(s);
}

uint64_t spool_bytes(const spool *s)
{
    return s->bytes;
}

uint64_t spool_events(const spool *s)
{
    return s->events;
}

uint64_t spool_corrupt(const spool *s)
{
    return s->corrupt;
}

size_t spool_segments(const spool *s)
{
    return s->nsegs;
}
