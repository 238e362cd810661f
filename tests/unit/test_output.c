/* Tests for the console and file outputs: exact NDJSON on stdout (captured by
 * pointing fd 1 at a file or pipe), pretty rendering that keeps number text,
 * per-event RETRY on write errors without torn lines, and the file output's
 * Metricbeat 8.x naming, size rotation, retention, permissions and errors. */
/* F_SETPIPE_SZ: a small pipe makes "full mid-batch" deterministic. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "output.h"

/* ---- helpers ------------------------------------------------------------------- */

typedef struct test_batch {
    batch b;
    event_rec recs[64];
    event_rec *ptrs[64];
    out_result results[64];
    int done_calls;
} test_batch;

static void on_done(batch *b, void *ctx)
{
    (void)b;
    ((test_batch *)ctx)->done_calls++;
}

static void tb_init(test_batch *t, const char *const *docs, size_t n)
{
    assert_true(n <= 64);
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        t->recs[i].json = strdup(docs[i]);
        t->recs[i].len = strlen(docs[i]);
        t->ptrs[i] = &t->recs[i];
        t->results[i] = (out_result)-1;
    }
    t->b.events = t->ptrs;
    t->b.results = t->results;
    t->b.n = n;
    t->b.done = on_done;
    t->b.ctx = t;
}

static void tb_free(test_batch *t)
{
    for (size_t i = 0; i < t->b.n; i++)
        free(t->recs[i].json);
}

/* A document of exactly len bytes: {"i":N,"pad":"xxx..."}. */
static char *doc_of_len(int i, size_t len)
{
    char head[64];
    int h = snprintf(head, sizeof head, "{\"i\":%d,\"pad\":\"", i);
    assert_true((size_t)h + 2 <= len);
    char *d = malloc(len + 1);
    memcpy(d, head, (size_t)h);
    memset(d + h, 'x', len - (size_t)h - 2);
    memcpy(d + len - 2, "\"}", 3);
    return d;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (n + 4096 > cap) {
            cap = (cap + 4096) * 2;
            data = realloc(data, cap + 1);
        }
        r = fread(data + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

typedef struct capture {
    int saved;
} capture;

/* Points fd 1 at fd; the output under test writes there. */
static void capture_begin(capture *c, int fd)
{
    fflush(stdout);
    c->saved = dup(STDOUT_FILENO);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
}

static void capture_end(capture *c)
{
    fflush(stdout);
    assert_int_equal(dup2(c->saved, STDOUT_FILENO), STDOUT_FILENO);
    close(c->saved);
}

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/expvarbeat-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void *open_output(const output_ops *ops, config *c, char *err, size_t errlen)
{
    err[0] = '\0';
    return ops->open(c, NULL, NULL, err, errlen);
}

/* ---- console ---------------------------------------------------------------------- */

static char *console_run(config *c, test_batch *t)
{
    char path[] = "/tmp/expvarbeat-console-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char err[256];
    void *out = open_output(&out_console_ops, c, err, sizeof err);
    assert_non_null(out);
    capture cap;
    capture_begin(&cap, fd);
    out_console_ops.publish(out, &t->b);
    out_console_ops.close(out);
    capture_end(&cap);
    close(fd);
    char *text = read_file(path, NULL);
    unlink(path);
    return text;
}

static void test_console_ndjson_exact(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"@timestamp\":\"2024-01-02T03:04:05.678Z\",\"n\":1.3572176e+07}",
        "{\"s\":\"\xe8\xbf\x90\xe8\xa1\x8c \\\"q\\\" \\u0001\"}",
        "{}",
    };
    config c = {0};
    test_batch t;
    tb_init(&t, docs, 3);
    char *text = console_run(&c, &t);
    assert_int_equal(t.done_calls, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(t.results[i], OUT_OK);
    assert_string_equal(text, "{\"@timestamp\":\"2024-01-02T03:04:05.678Z\",\"n\":1.3572176e+07}\n"
                              "{\"s\":\"\xe8\xbf\x90\xe8\xa1\x8c \\\"q\\\" \\u0001\"}\n"
                              "{}\n");
    free(text);
    tb_free(&t);
}

static void test_console_pretty(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"a\":1.3572176e+07,\"b\":{\"c\":[1,7.98538053427137e-05,\"x\"]},\"e\":{},\"f\":[],"
        "\"g\":[{}],\"u\":18446744073709551615}",
        "{}",
    };
    config c = {0};
    c.output.console.pretty = 1;
    test_batch t;
    tb_init(&t, docs, 2);
    char *text = console_run(&c, &t);
    assert_int_equal(t.results[0], OUT_OK);
    assert_int_equal(t.results[1], OUT_OK);
    assert_string_equal(text, "{\n"
                              "  \"a\": 1.3572176e+07,\n"
                              "  \"b\": {\n"
                              "    \"c\": [\n"
                              "      1,\n"
                              "      7.98538053427137e-05,\n"
                              "      \"x\"\n"
                              "    ]\n"
                              "  },\n"
                              "  \"e\": {},\n"
                              "  \"f\": [],\n"
                              "  \"g\": [\n"
                              "    {}\n"
                              "  ],\n"
                              "  \"u\": 18446744073709551615\n"
                              "}\n"
                              "{}\n");
    free(text);
    tb_free(&t);
}

static void test_console_pretty_drops_invalid(void **state)
{
    (void)state;
    static const char *const docs[] = {"{\"a\":1}", "{\"a\":", "[2]"};
    config c = {0};
    c.output.console.pretty = 1;
    test_batch t;
    tb_init(&t, docs, 3);
    char *text = console_run(&c, &t);
    assert_int_equal(t.done_calls, 1);
    assert_int_equal(t.results[0], OUT_OK);
    assert_int_equal(t.results[1], OUT_DROP);
    assert_int_equal(t.results[2], OUT_OK);
    assert_string_equal(text, "{\n  \"a\": 1\n}\n[\n  2\n]\n");
    free(text);
    tb_free(&t);
}

static void test_console_epipe_is_retry(void **state)
{
    (void)state;
    static const char *const docs[] = {"{\"a\":1}", "{\"b\":2}"};
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    config c = {0};
    char err[256];
    void *out = open_output(&out_console_ops, &c, err, sizeof err);
    test_batch t;
    tb_init(&t, docs, 2);
    capture cap;
    capture_begin(&cap, p[1]);
    out_console_ops.publish(out, &t.b);
    capture_end(&cap);
    close(p[1]);
    assert_int_equal(t.done_calls, 1);
    assert_int_equal(t.results[0], OUT_RETRY);
    assert_int_equal(t.results[1], OUT_RETRY);
    out_console_ops.close(out);
    tb_free(&t);
}

/* Reads whatever is in the (non-blocking) pipe into acc. */
static void drain_pipe(int fd, char *acc, size_t *len, size_t cap)
{
    ssize_t r;
    while ((r = read(fd, acc + *len, cap - *len)) > 0)
        *len += (size_t)r;
    acc[*len] = '\0';
}

/* A pipe that fills mid-batch: the events that made it are OK and arrive as
 * whole lines, the rest are RETRY, and a line cut short by EAGAIN is
 * finished by poll() before anything else. */
static void test_console_eagain_keeps_lines_whole(void **state)
{
    (void)state;
    enum { N = 12, LEN = 1000 };
    char *docs[N];
    for (int i = 0; i < N; i++)
        docs[i] = doc_of_len(i, LEN);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
    int cap_bytes = fcntl(p[1], F_GETPIPE_SZ);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    assert_true(cap_bytes < N * (LEN + 1));

    config c = {0};
    char err[256];
    void *out = open_output(&out_console_ops, &c, err, sizeof err);
    test_batch t;
    tb_init(&t, (const char *const *)docs, N);
    capture cap;
    capture_begin(&cap, p[1]);
    out_console_ops.publish(out, &t.b);
    size_t got_len = 0, acc_cap = (size_t)N * (LEN + 1) + 1;
    char *acc = malloc(acc_cap + 1);
    drain_pipe(p[0], acc, &got_len, acc_cap);
    /* Whatever was cut short goes out now that there is room. */
    int again = out_console_ops.poll(out);
    drain_pipe(p[0], acc, &got_len, acc_cap);
    capture_end(&cap);

    assert_int_equal(t.done_calls, 1);
    assert_int_equal(again, -1);
    char *expect = malloc(acc_cap);
    size_t elen = 0, ok = 0, retry = 0;
    for (int i = 0; i < N; i++) {
        if (t.results[i] == OUT_OK) {
            assert_int_equal(retry, 0); /* OK events form a prefix */
            memcpy(expect + elen, docs[i], LEN);
            expect[elen + LEN] = '\n';
            elen += LEN + 1;
            ok++;
        } else {
            assert_int_equal(t.results[i], OUT_RETRY);
            retry++;
        }
    }
    assert_true(ok >= 1);
    assert_true(retry >= 1);
    assert_int_equal(got_len, elen);
    assert_memory_equal(acc, expect, elen);
    out_console_ops.close(out);
    close(p[0]);
    close(p[1]);
    free(acc);
    free(expect);
    tb_free(&t);
    for (int i = 0; i < N; i++)
        free(docs[i]);
}

/* ---- file ------------------------------------------------------------------------------ */

typedef struct file_fixture {
    char *tmp;
    char dir[1024];
    config c;
} file_fixture;

static int file_setup(void **state)
{
    file_fixture *f = calloc(1, sizeof *f);
    f->tmp = make_tmpdir();
    /* Two levels that do not exist yet: open must create them. */
    snprintf(f->dir, sizeof f->dir, "%s/out/sub", f->tmp);
    f->c.output.type = OUTPUT_FILE;
    f->c.output.file.path = f->dir;
    f->c.output.file.filename = "mb";
    f->c.output.file.rotate_every_kb = 1;
    f->c.output.file.number_of_files = 2;
    f->c.output.file.permissions = 0600;
    *state = f;
    return 0;
}

static int file_teardown(void **state)
{
    file_fixture *f = *state;
    rm_rf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

static long today_ymd(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The directory's entries, sorted, joined by spaces. */
static void list_dir(const char *dir, char *out, size_t outlen)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            if (out[0])
                strncat(out, " ", outlen - strlen(out) - 1);
            strncat(out, names[i]->d_name, outlen - strlen(out) - 1);
        }
        free(names[i]);
    }
    free(names);
}

static void name_for(char *out, size_t len, long day, int index)
{
    if (index == 0)
        snprintf(out, len, "mb-%08ld.ndjson", day);
    else
        snprintf(out, len, "mb-%08ld-%d.ndjson", day, index);
}

static void expect_files(const char *dir, long day, const int *idx, int n)
{
    char want[1024] = "", one[64], got[1024];
    for (int i = 0; i < n; i++) {
        name_for(one, sizeof one, day, idx[i]);
        if (i)
            strcat(want, " ");
        strcat(want, one);
    }
    list_dir(dir, got, sizeof got);
    assert_string_equal(got, want);
}

/* The file holds exactly docs[from..to) as lines. */
static void expect_content(const char *dir, long day, int index, char **docs, int from, int to)
{
    char name[64], path[1200];
    name_for(name, sizeof name, day, index);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *text = read_file(path, &len);
    assert_non_null(text);
    size_t off = 0;
    for (int i = from; i < to; i++) {
        size_t l = strlen(docs[i]);
        assert_true(off + l + 1 <= len);
        assert_memory_equal(text + off, docs[i], l);
        assert_int_equal(text[off + l], '\n');
        off += l + 1;
    }
    assert_int_equal(off, len);
    free(text);
}

static void test_file_naming_rotation_retention(void **state)
{
    file_fixture *f = *state;
    enum { N = 12 };
    char *docs[N + 1];
    for (int i = 0; i <= N; i++)
        docs[i] = doc_of_len(i, 300); /* 301-byte lines: three fit in 1 KiB */
    long day = today_ymd();
    char err[512];
    void *out = open_output(&out_file_ops, &f->c, err, sizeof err);
    assert_non_null(out);
    test_batch t;
    tb_init(&t, (const char *const *)docs, N);
    out_file_ops.publish(out, &t.b);
    assert_int_equal(t.done_calls, 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(t.results[i], OUT_OK);
    out_file_ops.close(out);
    tb_free(&t);
    if (today_ymd() != day)
        skip(); /* midnight passed mid-test */

    /* Four files were written; the oldest went so that two rotated files
     * remain beside the active one, as libbeat's rotator keeps them. */
    expect_files(f->dir, day, (const int[]){1, 2, 3}, 3);
    /* Three 301-byte lines fill 903 of 1024 bytes; a fourth would not fit. */
    expect_content(f->dir, day, 1, docs, 3, 6);
    expect_content(f->dir, day, 2, docs, 6, 9);
    expect_content(f->dir, day, 3, docs, 9, 12);

    /* A restart rotates onto a fresh name and purges again. */
    out = open_output(&out_file_ops, &f->c, err, sizeof err);
    assert_non_null(out);
    tb_init(&t, (const char *const *)&docs[N], 1);
    out_file_ops.publish(out, &t.b);
    assert_int_equal(t.results[0], OUT_OK);
    out_file_ops.close(out);
    tb_free(&t);
    if (today_ymd() != day)
        skip();
    expect_files(f->dir, day, (const int[]){2, 3, 4}, 3);
    expect_content(f->dir, day, 4, docs, N, N + 1);
    for (int i = 0; i <= N; i++)
        free(docs[i]);
}

static void test_file_first_name_and_empty_reuse(void **state)
{
    file_fixture *f = *state;
    long day = today_ymd();
    char err[512];
    void *out = open_output(&out_file_ops, &f->c, err, sizeof err);
    assert_non_null(out);
    out_file_ops.close(out);
    /* Nothing was written: starting again reuses the empty file instead of
     * pushing real data out of retention with empty ones. */
    out = open_output(&out_file_ops, &f->c, err, sizeof err);
    assert_non_null(out);
    out_file_ops.close(out);
    if (today_ymd() != day)
        skip();
    expect_files(f->dir, day, (const int[]){0}, 1);
}

static void test_file_ignores_foreign_files(void **state)
{
    file_fixture *f = *state;
    f->c.output.file.number_of_files = 0;
    char err[512], path[1200];
    void *out = open_output(&out_file_ops, &f->c, err, sizeof err);
    assert_non_null(out);
    out_file_ops.close(out);
    static const char *const foreign[] = {"mb-notes.ndjson", "mb-20240101.json",
                                          "mbx-20240101.ndjson", "mb-2024010-1.ndjson"};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, foreign[i]);
        FILE *fp = fopen(path, "w");
        fputs("x\n", fp);
        fclose(fp);
    }
    static const char *const docs[] = {"{\"a\":1}"};
    out = open_output(&out_file_ops, &f->c, err, sizeof err);
    assert_non_null(out);
    test_batch t;
    tb_init(&t, docs, 1);
    out_file_ops.publish(out, &t.b);
    out_file_ops.close(out);
    tb_free(&t);
    char got[1024];
    list_dir(f->dir, got, sizeof got);
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
        assert_non_null(strstr(got, foreign[i]));
}

static void check_mode(file_fixture *f, int perm, mode_t mask)
{
    mode_t old = umask(mask);
    f->c.output.file.permissions = perm;
    char err[512], name[64], path[1200];
    void *out = open_output(&out_file_ops, &f->c, err, sizeof err);
    umask(old);
    assert_non_null(out);
    out_file_ops.close(out);
    name_for(name, sizeof name, today_ymd(), 0);
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, perm);
}

static void test_file_permissions_exact(void **state)
{
    file_fixture *f = *state;
    check_mode(f, 0640, 0077); /* more than the umask lets through */
    check_mode(f, 0600, 0);    /* less than the umask would give */
    check_mode(f, 0604, 0022);
}

static void test_file_unwritable_dir(void **state)
{
    file_fixture *f = *state;
    char blocker[1100], dir[1200], err[512];
    /* A regular file where a directory should be stops even root. */
    snprintf(blocker, sizeof blocker, "%s/blocker", f->tmp);
    FILE *fp = fopen(blocker, "w");
    fclose(fp);
    snprintf(dir, sizeof dir, "%s/sub", blocker);
    f->c.output.file.path = dir;
    assert_null(open_output(&out_file_ops, &f->c, err, sizeof err));
    assert_non_null(strstr(err, "cannot create directory"));
    assert_non_null(strstr(err, "Not a directory"));

    if (geteuid() == 0)
        return; /* root writes into read-only directories */
    snprintf(dir, sizeof dir, "%s/ro", f->tmp);
    assert_int_equal(mkdir(dir, 0500), 0);
    assert_null(open_output(&out_file_ops, &f->c, err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    assert_non_null(strstr(err, "Permission denied"));
}

static void test_file_bad_config(void **state)
{
    file_fixture *f = *state;
    char err[512];
    f->c.output.file.rotate_every_kb = 0;
    assert_null(open_output(&out_file_ops, &f->c, err, sizeof err));
    assert_non_null(strstr(err, "rotate_every_kb"));
    f->c.output.file.rotate_every_kb = 1;
    f->c.output.file.filename = "a/b";
    assert_null(open_output(&out_file_ops, &f->c, err, sizeof err));
    assert_non_null(strstr(err, "filename"));
}

static void test_file_oversized_event_dropped(void **state)
{
    file_fixture *f = *state;
    char *big = doc_of_len(1, 1024); /* 1025 bytes with its newline */
    const char *docs[] = {"{\"a\":1}", big, "{\"b\":2}"};
    char err[512];
    void *out = open_output(&out_file_ops, &f->c, err, sizeof err);
    assert_non_null(out);
    test_batch t;
    tb_init(&t, docs, 3);
    out_file_ops.publish(out, &t.b);
    out_file_ops.close(out);
    assert_int_equal(t.done_calls, 1);
    assert_int_equal(t.results[0], OUT_OK);
    assert_int_equal(t.results[1], OUT_DROP);
    assert_int_equal(t.results[2], OUT_OK);
    char *kept[] = {"{\"a\":1}", "{\"b\":2}"};
    expect_content(f->dir, today_ymd(), 0, kept, 0, 2);
    tb_free(&t);
    free(big);
}

/* RLIMIT_FSIZE makes write(2) fail part-way (EFBIG), like a full disk: the
 * lines that fit are OK, the rest RETRY, and the cut line is removed. */
static void test_file_write_error_is_retry(void **state)
{
    file_fixture *f = *state;
    f->c.output.file.rotate_every_kb = 64;
    enum { N = 10 };
    char *docs[N];
    for (int i = 0; i < N; i++)
        docs[i] = doc_of_len(i, 299);
    char err[512];
    void *out = open_output(&out_file_ops, &f->c, err, sizeof err);
    assert_non_null(out);
    test_batch t;
    tb_init(&t, (const char *const *)docs, N);

    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 1000; /* 3 lines of 300 bytes and a third of the fourth */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    out_file_ops.publish(out, &t.b);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);

    assert_int_equal(t.done_calls, 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(t.results[i], i < 3 ? OUT_OK : OUT_RETRY);
    expect_content(f->dir, today_ymd(), 0, docs, 0, 3);

    /* The retried events go out next time, right after the whole lines. */
    test_batch again;
    tb_init(&again, (const char *const *)&docs[3], N - 3);
    out_file_ops.publish(out, &again.b);
    for (int i = 0; i < N - 3; i++)
        assert_int_equal(again.results[i], OUT_OK);
    out_file_ops.close(out);
    expect_content(f->dir, today_ymd(), 0, docs, 0, N);
    tb_free(&t);
    tb_free(&again);
    for (int i = 0; i < N; i++)
        free(docs[i]);
}

static void test_output_ops_for(void **state)
{
    (void)state;
    assert_ptr_equal(output_ops_for(OUTPUT_CONSOLE), &out_console_ops);
    assert_ptr_equal(output_ops_for(OUTPUT_FILE), &out_file_ops);
    assert_string_equal(out_console_ops.name, "console");
    assert_string_equal(out_file_ops.name, "file");
    out_console_ops.close(NULL);
    out_file_ops.close(NULL);
}

int main(void)
{
    /* main() of the daemon ignores SIGPIPE; so do we, to see EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_ops_for),
        cmocka_unit_test(test_console_ndjson_exact),
        cmocka_unit_test(test_console_pretty),
        cmocka_unit_test(test_console_pretty_drops_invalid),
        cmocka_unit_test(test_console_epipe_is_retry),
        cmocka_unit_test(test_console_eagain_keeps_lines_whole),
        cmocka_unit_test_setup_teardown(test_file_naming_rotation_retention, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(test_file_first_name_and_empty_reuse, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(test_file_ignores_foreign_files, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_file_permissions_exact, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_file_unwritable_dir, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_file_bad_config, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_file_oversized_event_dropped, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(test_file_write_error_is_retry, file_setup, file_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
