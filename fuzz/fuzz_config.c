/* fuzz_config: bytes → a config file → config_load, the whole loader
 * (libyaml, ${VAR} expansion, dotted keys, the key tables, bounds).  The
 * input is written to a private temp directory as expvarbeat.yml; path.home
 * and path.config point there, so relative paths and modules.d globs stay
 * inside it.  Invariant: NULL comes with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char tmp_dir[512];
static char tmp_file[600];

static void fuzz_config_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/expvarbeat-fuzz-config.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_dir))
        abort();
    snprintf(tmp_file, sizeof tmp_file, "%s/expvarbeat.yml", tmp_dir);
    umask(022);               /* strict.perms refuses group-writable files */
    log_set_level(LOG_ERROR); /* warnings about fuzzed keys are noise here */
}

static void cleanup(void)
{
    unlink(tmp_file);
    rmdir(tmp_dir);
}

static int fuzz_config_one(const uint8_t *data, size_t size)
{
    static int registered;
    if (!registered++) {
        fuzz_config_init();
        atexit(cleanup);
    }
    /* A modules.d glob that spans directories (a star before a slash)
     * walks the whole file system: a timeout that says nothing about the
     * loader. */
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == '*' && (data[i + 1] == '/' || data[i + 1] == '*'))
            return 0;
    FILE *f = fopen(tmp_file, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    const char *files[] = {tmp_file};
    config_opts o = {
        .files = files,
        .n_files = 1,
        .path_home = tmp_dir,
        .path_config = tmp_dir,
        .path_data = tmp_dir,
        .path_logs = tmp_dir,
        .log_to_stderr = 1,
    };
    char err[1024] = "";
    config *c = config_load(&o, err, sizeof err);
    if (c)
        config_free(c);
    else if (err[0] == '\0')
        abort();
    return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved
 * inputs without libFuzzer. */
#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_config_one(data, size);
}
#endif
