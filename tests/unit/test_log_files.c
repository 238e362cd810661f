/* log_files: Metricbeat 8's file naming, size rotation, keepfiles, the
 * directory and file modes, and rotation of a previous run's file at start,
 * checked on a real temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log_files.h"

typedef struct fixture {
    char root[64];
    char dir[128]; /* root/a/b: created by the module */
    char date[9];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->root, "/tmp/test_log_files.XXXXXX");
    if (!f || !mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/a/b", f->root);
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(f->date, sizeof f->date, "%Y%m%d", &tm);
    *state = f;
    return 0;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char p[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    fixture *f = *state;
    char p[160];
    remove_dir(f->dir);
    snprintf(p, sizeof p, "%s/a", f->root);
    rmdir(p);
    rmdir(f->root);
    free(f);
    return 0;
}

static size_t count_files(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static off_t file_size(const fixture *f, const char *suffix)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/mb-%s%s.ndjson", f->dir, f->date, suffix);
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static log_files *open_files(fixture *f, int keep, int64_t bytes)
{
    char err[256] = "";
    log_files_opts o = {f->dir, "mb", keep, bytes, 0640};
    log_files *lf = log_files_open(&o, err, sizeof err);
    assert_non_null(lf);
    return lf;
}

static void test_name_and_modes(void **state)
{
    fixture *f = *state;
    log_files *lf = open_files(f, 3, 1000);
    char want[256];
    snprintf(want, sizeof want, "%s/mb-%s.ndjson", f->dir, f->date);
    assert_string_equal(log_files_path(lf), want);
    assert_int_equal(log_files_write(lf, "{\"a\":1}\n", 8), 0);
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    assert_int_equal(stat(want, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(st.st_size, 8);
    log_files_close(lf);
}

static void test_rotation_keeps_keepfiles(void **state)
{
    fixture *f = *state;
    log_files *lf = open_files(f, 2, 100);
    char line[41];
    memset(line, 'x', 39);
    line[39] = '\n';
    line[40] = '\0';
    for (int i = 0; i < 2; i++) /* 80 bytes: no rotation yet */
        assert_int_equal(log_files_write(lf, line, 40), 0);
    assert_int_equal(count_files(f->dir), 1);
    assert_int_equal(log_files_write(lf, line, 40), 0); /* 120 > 100: rotates first */
    assert_int_equal(file_size(f, "-1"), 80);
    assert_int_equal(file_size(f, ""), 40);
    for (int i = 0; i < 8; i++) /* two lines a file: four more rotations (-2 .. -5) */
        assert_int_equal(log_files_write(lf, line, 40), 0);
    /* the active file and the two newest rotated ones, -4 and -5 */
    assert_int_equal(count_files(f->dir), 3);
    assert_int_equal(file_size(f, "-3"), -1);
    assert_int_equal(file_size(f, "-4"), 80);
    assert_int_equal(file_size(f, "-5"), 80);
    assert_int_equal(file_size(f, ""), 40);
    log_files_close(lf);
}

static void test_previous_run_is_rotated(void **state)
{
    fixture *f = *state;
    log_files *lf = open_files(f, 7, 1 << 20);
    assert_int_equal(log_files_write(lf, "first run\n", 10), 0);
    log_files_close(lf);
    lf = open_files(f, 7, 1 << 20);
    assert_int_equal(log_files_write(lf, "second\n", 7), 0);
    log_files_close(lf);
    assert_int_equal(file_size(f, "-1"), 10);
    assert_int_equal(file_size(f, ""), 7);
}

static void test_open_failure_names_the_path(void **state)
{
    fixture *f = *state;
    char err[256] = "", file[160];
    snprintf(file, sizeof file, "%s/plainfile", f->root);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    char dir[200];
    snprintf(dir, sizeof dir, "%s/sub", file); /* a directory inside a file */
    log_files_opts o = {dir, "mb", 7, 1000, 0600};
    assert_null(log_files_open(&o, err, sizeof err));
    assert_non_null(strstr(err, "cannot create the log directory"));
    assert_non_null(strstr(err, dir));
    unlink(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_name_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_keepfiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_previous_run_is_rotated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_failure_names_the_path, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
