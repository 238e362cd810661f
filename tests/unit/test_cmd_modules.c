/* Unit tests for cmd_modules.c: `modules list|enable|disable` against a
 * temporary modules.d — every message, which stream it goes to, the exit
 * code, the renames on disk, name sorting, and names with no file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd_modules.h"
#include "config.h"

typedef struct fixture {
    char dir[64];  /* plays path.config */
    char mods[96]; /* dir/modules.d */
    config cfg;
    char *out, *err;
    int rc;
} fixture;

static void touch(fixture *f, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->mods, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("- module: golang\n", fp);
    fclose(fp);
}

static int exists(fixture *f, const char *name)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", f->mods, name);
    return stat(p, &st) == 0;
}

static void run(fixture *f, const char *w1, const char *w2, const char *w3)
{
    const char *words[] = {"modules", w1, w2, w3};
    int n = w1 ? (w2 ? (w3 ? 4 : 3) : 2) : 1;
    size_t ol, el;
    free(f->out);
    free(f->err);
    FILE *out = open_memstream(&f->out, &ol);
    FILE *err = open_memstream(&f->err, &el);
    f->rc = cmd_modules(&f->cfg, n, words, out, err);
    fclose(out);
    fclose(err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_cmd_modules.XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->mods, sizeof f->mods, "%s/modules.d", f->dir);
    if (mkdir(f->mods, 0700) != 0)
        return -1;
    f->cfg.path.config = f->dir;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f->out);
    free(f->err);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void list_sorts_by_name(void **state)
{
    fixture *f = *state;
    touch(f, "golang.yml");
    touch(f, "a-b.yml");
    touch(f, "a.yml");
    touch(f, "system.yml.disabled");
    touch(f, "docker.yml.disabled");
    touch(f, "README.txt");
    run(f, "list", NULL, NULL);
    assert_int_equal(f->rc, 0);
    assert_string_equal(f->out, "Enabled:\na\na-b\ngolang\n\nDisabled:\ndocker\nsystem\n");
    assert_string_equal(f->err, "");
}

static void list_empty_and_missing_dir(void **state)
{
    fixture *f = *state;
    run(f, "list", NULL, NULL);
    assert_int_equal(f->rc, 0);
    assert_string_equal(f->out, "Enabled:\n\nDisabled:\n");
    f->cfg.path.config = "/nonexistent-expvarbeat-dir";
    run(f, "list", NULL, NULL);
    assert_int_equal(f->rc, 0);
    assert_string_equal(f->out, "Enabled:\n\nDisabled:\n");
}

static void enable_renames(void **state)
{
    fixture *f = *state;
    touch(f, "golang.yml.disabled");
    touch(f, "system.yml");
    run(f, "enable", "golang", "system");
    assert_int_equal(f->rc, 0);
    assert_string_equal(f->out, "Enabled golang\nModule system is already enabled\n");
    assert_string_equal(f->err, "");
    assert_true(exists(f, "golang.yml"));
    assert_false(exists(f, "golang.yml.disabled"));
    run(f, "list", NULL, NULL);
    assert_string_equal(f->out, "Enabled:\ngolang\nsystem\n\nDisabled:\n");
}

static void disable_renames(void **state)
{
    fixture *f = *state;
    touch(f, "golang.yml");
    touch(f, "system.yml.disabled");
    run(f, "disable", "golang", "system");
    assert_int_equal(f->rc, 0);
    assert_string_equal(f->out, "Disabled golang\n");
    assert_string_equal(f->err, "Module system is already disabled\n");
    assert_true(exists(f, "golang.yml.disabled"));
    assert_false(exists(f, "golang.yml"));
}

/* A missing name fails before anything is renamed. */
static void unknown_name_changes_nothing(void **state)
{
    fixture *f = *state;
    touch(f, "golang.yml.disabled");
    run(f, "enable", "golang", "nope");
    assert_int_equal(f->rc, 1);
    assert_string_equal(f->out, "");
    assert_string_equal(f->err, "Module nope doesn't exist!\n");
    assert_true(exists(f, "golang.yml.disabled"));
    run(f, "disable", "../modules.d/golang", NULL);
    assert_int_equal(f->rc, 1);
    assert_string_equal(f->err, "Module ../modules.d/golang doesn't exist!\n");
    run(f, "disable", "nope.yml", NULL);
    assert_int_equal(f->rc, 1);
    assert_string_equal(f->err, "Module nope.yml doesn't exist!\n");
}

static void configured_glob(void **state)
{
    fixture *f = *state;
    char glob_[128];
    snprintf(glob_, sizeof glob_, "%s/*.yml", f->mods);
    f->cfg.path.config = "/nonexistent-expvarbeat-dir";
    f->cfg.modules_path = glob_;
    touch(f, "golang.yml");
    run(f, "disable", "golang", NULL);
    assert_int_equal(f->rc, 0);
    assert_string_equal(f->out, "Disabled golang\n");
    snprintf(glob_, sizeof glob_, "%s/*.yaml", f->mods);
    run(f, "list", NULL, NULL);
    assert_int_equal(f->rc, 1);
    assert_string_equal(f->out, "");
    assert_non_null(strstr(f->err, "must end in '*.yml'"));
}

static void usage_errors(void **state)
{
    fixture *f = *state;
    run(f, NULL, NULL, NULL);
    assert_int_equal(f->rc, 1);
    assert_non_null(strstr(f->err, "Usage: expvarbeat modules list"));
    run(f, "frobnicate", NULL, NULL);
    assert_int_equal(f->rc, 1);
    assert_non_null(strstr(f->err, "Usage:"));
    run(f, "enable", NULL, NULL);
    assert_int_equal(f->rc, 1);
    assert_string_equal(f->err, "No modules provided\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(list_sorts_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(list_empty_and_missing_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(enable_renames, setup, teardown),
        cmocka_unit_test_setup_teardown(disable_renames, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_name_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(configured_glob, setup, teardown),
        cmocka_unit_test_setup_teardown(usage_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
