/* Every input the fuzzers ever failed on (tests/data/fuzz/<harness>/) runs
 * again through the harness's own code and invariants, without libFuzzer:
 * in every ctest run, under ASan/UBSan and under valgrind.  A regression
 * aborts (the harnesses abort on a broken invariant) or is reported by the
 * sanitizer.  fuzz/run.sh also replays these directories with clang's
 * sanitizers before it fuzzes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NO_MAIN
#include "../../fuzz/fuzz_config.c"
#include "../../fuzz/fuzz_decode.c"
#include "../../fuzz/fuzz_es_bulk.c"
#include "../../fuzz/fuzz_url.c"
#include "decode_helpers.h"

typedef int (*one_fn)(const uint8_t *data, size_t size);

/* Runs every file of data/fuzz/<harness>; returns how many. */
static size_t replay(const char *harness, one_fn fn)
{
    const char *data = getenv("EXPVARBEAT_TEST_DATA");
    char dir[1024], rel[512];
    snprintf(dir, sizeof dir, "%s/fuzz/%s", data ? data : "tests/data", harness);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(rel, sizeof rel, "fuzz/%s/%s", harness, e->d_name);
        size_t len;
        char *in = dh_read(rel, &len);
        print_message("%s: %s\n", harness, e->d_name);
        fn((const uint8_t *)in, len);
        free(in);
        n++;
    }
    closedir(d);
    return n;
}

static void test_decode(void **state)
{
    (void)state;
    /* at least the empty-cmdline input (UBSan: NULL + 0 in jsonw_string) */
    assert_true(replay("fuzz_decode", fuzz_decode_one) >= 1);
}

static void test_others(void **state)
{
    (void)state;
    replay("fuzz_config", fuzz_config_one);
    replay("fuzz_es_bulk", fuzz_es_bulk_one);
    replay("fuzz_url", fuzz_url_one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
