/* The disk queue: records survive a restart, acked ones do not come back,
 * damaged records are skipped and counted while the rest are recovered,
 * segments roll and are deleted once acked, and a full spool refuses
 * reservations until acks make room.  Every test works in its own temp dir
 * and damages files the way a crash or a bad disk would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline.h"
#include "spool.h"

#define DOC_LEN 12 /* "doc-0000000" plus the NUL is not stored */

static char dir[256];

static int setup_dir(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/expvarbeat-spool-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[512];
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return 0;
}

/* Segment files in the directory, and the path of the n-th by id. */
static int seg_files(int nth, char *path, size_t len)
{
    unsigned long long ids[256];
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 256) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".seg"))
            ids[n++] = strtoull(e->d_name, NULL, 10);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            unsigned long long t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    if (path && nth < n)
        snprintf(path, len, "%s/%llu.seg", dir, ids[nth]);
    return n;
}

static spool *open_spool(uint64_t max_size, uint64_t seg_size, size_t window)
{
    char err[256];
    spool *s = spool_open(dir, max_size, seg_size, window, err, sizeof err);
    if (!s)
        fail_msg("spool_open: %s", err);
    return s;
}

static void append_docs(spool *s, int from, int to)
{
    char err[256], doc[32];
    for (int i = from; i < to; i++) {
        snprintf(doc, sizeof doc, "doc-%07d", i);
        assert_int_equal(spool_append(s, doc, strlen(doc), err, sizeof err), 0);
    }
    assert_int_equal(spool_sync(s, err, sizeof err), 0);
}

/* Reads up to max records, checks they are doc-<first>..., returns how many
 * were read; tickets go to t when given. */
static int read_docs(spool *s, int *expect, int n_expect, uint64_t *t)
{
    char err[256], doc[32];
    spool_rec r;
    int n = 0;
    while (spool_next(s, &r, err, sizeof err) == 1) {
        assert_true(n < n_expect);
        snprintf(doc, sizeof doc, "doc-%07d", expect[n]);
        assert_string_equal(r.data, doc);
        assert_int_equal(r.len, strlen(doc));
        if (t)
            t[n] = r.ticket;
        free(r.data);
        n++;
    }
    return n;
}

static int *range(int *ints, int from, int to)
{
    for (int i = from; i < to; i++)
        ints[i - from] = i;
    return ints;
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void test_round_trip(void **state)
{
    (void)state;
    char err[256];
    int want[8];
    uint64_t t[8];
    spool *s = open_spool(1 << 20, 1 << 16, 16);
    assert_int_equal(spool_append(s, "doc-0000000", DOC_LEN - 1, err, sizeof err), 0);
    spool_rec r;
    assert_int_equal(spool_next(s, &r, err, sizeof err), 0); /* not durable yet: not readable */
    append_docs(s, 1, 5);
    assert_int_equal(spool_events(s), 5);
    assert_int_equal(spool_bytes(s), 5 * (SPOOL_HDR_LEN + DOC_LEN - 1));
    assert_int_equal(read_docs(s, range(want, 0, 5), 5, t), 5);
    for (int i = 0; i < 5; i++)
        spool_ack(s, t[i]);
    assert_int_equal(spool_commit(s, err, sizeof err), 0);
    assert_int_equal(spool_events(s), 0);
    spool_close(s);
    s = open_spool(1 << 20, 1 << 16, 16);
    assert_int_equal(spool_events(s), 0);
    assert_int_equal(spool_next(s, &r, err, sizeof err), 0); /* acked: never again */
    spool_close(s);
}

static void test_restart_delivers_what_was_not_acked(void **state)
{
    (void)state;
    char err[256];
    int want[16];
    uint64_t t[16];
    spool *s = open_spool(1 << 20, 1 << 16, 6);
    append_docs(s, 0, 10);
    assert_int_equal(read_docs(s, range(want, 0, 6), 6, t), 6); /* the window holds 6 */
    spool_ack(s, t[0]);
    spool_ack(s, t[2]);
    spool_ack(s, t[1]);
    spool_ack(s, t[4]); /* out of order: the persisted position stops at 2 */
    assert_int_equal(spool_commit(s, err, sizeof err), 0);
    assert_int_equal(spool_events(s), 7);
    spool_close(s);

    s = open_spool(1 << 20, 1 << 16, 16);
    assert_int_equal(spool_events(s), 7);
    assert_int_equal(spool_corrupt(s), 0);
    spool_rec r;
    assert_int_equal(spool_next(s, &r, err, sizeof err), 1);
    assert_string_equal(r.data, "doc-0000003");
    assert_true(r.recovered);
    free(r.data);
    assert_int_equal(read_docs(s, range(want, 4, 10), 6, NULL), 6); /* doc-4 again: at-least-once */
    append_docs(s, 10, 11); /* a new process writes a new segment, read after the old */
    assert_int_equal(spool_next(s, &r, err, sizeof err), 1);
    assert_string_equal(r.data, "doc-0000010");
    assert_false(r.recovered);
    free(r.data);
    assert_int_equal(seg_files(0, NULL, 0), 2);
    spool_close(s);
}

static void test_truncated_tail_is_skipped(void **state)
{
    (void)state;
    char path[512];
    int want[8];
    spool *s = open_spool(1 << 20, 1 << 16, 16);
    append_docs(s, 0, 5);
    spool_close(s);
    assert_int_equal(seg_files(0, path, sizeof path), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 7), 0); /* a crash in the middle of a write */

    s = open_spool(1 << 20, 1 << 16, 16);
    assert_int_equal(spool_corrupt(s), 1);
    assert_int_equal(spool_events(s), 4);
    assert_int_equal(read_docs(s, range(want, 0, 4), 4, NULL), 4);
    spool_close(s);
}

static void test_damage_in_the_middle_is_skipped(void **state)
{
    (void)state;
    char path[512];
    int want[] = {0, 2, 4, 5};
    const off_t rec = SPOOL_HDR_LEN + DOC_LEN - 1;
    spool *s = open_spool(1 << 20, 1 << 16, 16);
    append_docs(s, 0, 6);
    spool_close(s);
    seg_files(0, path, sizeof path);
    flip_byte(path, 1 * rec + 5);                 /* record 1's length: resync needed */
    flip_byte(path, 3 * rec + SPOOL_HDR_LEN + 2); /* record 3's payload: bad checksum */

    s = open_spool(1 << 20, 1 << 16, 16);
    assert_int_equal(spool_corrupt(s), 2);
    assert_int_equal(spool_events(s), 4);
    assert_int_equal(read_docs(s, want, 4, NULL), 4);
    spool_close(s);
}

static void test_segments_roll_and_are_deleted(void **state)
{
    (void)state;
    char err[256];
    int want[16];
    uint64_t t[16];
    const uint64_t rec = SPOOL_HDR_LEN + DOC_LEN - 1;
    spool *s = open_spool(1 << 20, 3 * rec, 16);
    append_docs(s, 0, 10);
    assert_int_equal(seg_files(0, NULL, 0), 4); /* 3 + 3 + 3 + 1 */
    assert_int_equal(spool_segments(s), 4);
    assert_int_equal(read_docs(s, range(want, 0, 10), 10, t), 10);
    for (int i = 0; i < 7; i++)
        spool_ack(s, t[i]);
    assert_int_equal(spool_commit(s, err, sizeof err), 0);
    assert_int_equal(seg_files(0, NULL, 0), 2); /* the first two are fully acked */
    assert_int_equal(spool_bytes(s), 4 * rec);
    for (int i = 7; i < 10; i++)
        spool_ack(s, t[i]);
    assert_int_equal(spool_commit(s, err, sizeof err), 0);
    assert_int_equal(seg_files(0, NULL, 0), 1); /* the write segment stays until it rolls */
    append_docs(s, 10, 13);                     /* 9 (acked), 10, 11 | 12 */
    assert_int_equal(seg_files(0, NULL, 0), 2);
    assert_int_equal(read_docs(s, range(want, 10, 13), 3, t), 3);
    for (int i = 0; i < 3; i++)
        spool_ack(s, t[i]);
    assert_int_equal(spool_commit(s, err, sizeof err), 0);
    assert_int_equal(seg_files(0, NULL, 0), 1);
    assert_int_equal(spool_bytes(s), rec);
    assert_int_equal(spool_events(s), 0);
    spool_close(s);
}

static void test_one_process_per_spool(void **state)
{
    (void)state;
    char err[256];
    spool *s = open_spool(1 << 20, 1 << 16, 16);
    assert_null(spool_open(dir, 1 << 20, 1 << 16, 16, err, sizeof err));
    assert_non_null(strstr(err, "another process"));
    spool_close(s);
}

/* --- the pipeline on top of the spool */

typedef struct held {
    out_result verdict; /* for every event of every batch */
    char seen[64][16];
    int n_seen, batches;
} held;

static held out;

static void *held_open(const config *c, loop *l, stats *st, char *err, size_t errlen)
{
    (void)c, (void)l, (void)st, (void)err, (void)errlen;
    return &out;
}

static void held_publish(void *self, batch *b)
{
    held *h = self;
    h->batches++;
    for (size_t i = 0; i < b->n; i++) {
        b->results[i] = h->verdict;
        if (h->verdict == OUT_OK && h->n_seen < 64)
            snprintf(h->seen[h->n_seen++], 16, "%s", b->events[i]->json);
    }
    b->done(b, b->ctx);
}

static void held_close(void *self)
{
    (void)self;
}

static const output_ops held_ops = {"held", held_open, held_publish, NULL, held_close, NULL};

static config disk_config(uint64_t max_size, uint64_t seg_size)
{
    config c;
    memset(&c, 0, sizeof c);
    c.queue.events = 16;
    c.queue.flush_min_events = 8;
    c.queue.flush_timeout_ms = 10000; /* ignored with the disk queue */
    c.disk_queue.enabled = 1;
    c.disk_queue.path = dir;
    c.disk_queue.max_size = max_size;
    c.disk_queue.segment_size = seg_size;
    return c;
}

static void publish(pipeline *p, int i)
{
    char doc[32];
    snprintf(doc, sizeof doc, "doc-%07d", i);
    assert_int_equal(pipeline_reserve(p), 0);
    pipeline_publish(p, strdup(doc), strlen(doc), 0);
}

static void test_pipeline_delivers_after_restart(void **state)
{
    (void)state;
    char err[256];
    stats st = {0};
    config c = disk_config(1 << 20, 1 << 16);
    memset(&out, 0, sizeof out);
    out.verdict = OUT_WAIT; /* the output is down */
    pipeline *p = pipeline_new(&c, &held_ops, NULL, &st, err, sizeof err);
    assert_non_null(p);
    for (int i = 0; i < 4; i++)
        publish(p, i);
    assert_int_equal(st.published, 0); /* accepted only once synced */
    pipeline_poll(p, 0);
    assert_int_equal(st.published, 4);
    assert_int_equal(st.spool_events, 4);
    assert_int_equal(pipeline_pending(p), 4);
    assert_true(pipeline_durable(p));
    pipeline_free(p);

    stats st2 = {0};
    memset(&out, 0, sizeof out);
    out.verdict = OUT_OK;
    p = pipeline_new(&c, &held_ops, NULL, &st2, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(st2.spool_events, 4);
    pipeline_poll(p, 0); /* recovered events go at once: no flush timeout */
    assert_int_equal(out.n_seen, 4);
    for (int i = 0; i < 4; i++) {
        char doc[32];
        snprintf(doc, sizeof doc, "doc-%07d", i);
        assert_string_equal(out.seen[i], doc);
    }
    assert_int_equal(st2.acked, 4);
    assert_int_equal(st2.spool_events, 0);
    assert_int_equal(pipeline_pending(p), 0);
    pipeline_free(p);
}

static void test_full_spool_refuses_then_makes_room(void **state)
{
    (void)state;
    char err[256];
    stats st = {0};
    const uint64_t rec = SPOOL_HDR_LEN + DOC_LEN - 1;
    config c = disk_config(5 * rec, 2 * rec);
    memset(&out, 0, sizeof out);
    out.verdict = OUT_WAIT;
    pipeline *p = pipeline_new(&c, &held_ops, NULL, &st, err, sizeof err);
    assert_non_null(p);
    int n = 0;
    while (pipeline_reserve(p) == 0) {
        char doc[32];
        snprintf(doc, sizeof doc, "doc-%07d", n++);
        pipeline_publish(p, strdup(doc), strlen(doc), 0);
        pipeline_poll(p, 0);
        assert_true(st.spool_bytes <= 5 * rec); /* never beyond max_size */
        assert_true(n <= 5);
    }
    assert_int_equal(n, 5);
    assert_int_equal(st.spool_full, 1);
    assert_int_equal(pipeline_reserve(p), -1);
    assert_int_equal(st.spool_full, 1); /* one full spell counts once */
    out.verdict = OUT_OK;               /* the output is back */
    pipeline_drain(p, INT64_MAX);
    assert_int_equal(out.n_seen, 5);
    assert_int_equal(st.spool_events, 0);
    assert_true(st.spool_bytes <= rec); /* acked segments deleted */
    publish(p, 5);
    pipeline_poll(p, loop_now_ms()); /* after the outage's backoff */
    assert_int_equal(out.n_seen, 6);
    assert_string_equal(out.seen[5], "doc-0000005");
    pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_restart_delivers_what_was_not_acked, setup_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_truncated_tail_is_skipped, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_damage_in_the_middle_is_skipped, setup_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_segments_roll_and_are_deleted, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_one_process_per_spool, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_pipeline_delivers_after_restart, setup_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_full_spool_refuses_then_makes_room, setup_dir,
                                        remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
