/* config_target: the config of `expvarbeat test target URL`.  It is written
 * as the YAML a user would write and loaded through config_load, so the
 * one-shot check gets exactly the daemon's defaults and validation. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A YAML single-quoted scalar: only ' needs doubling. */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static int write_target_yaml(FILE *f, const char *url, const char *ns, const char *metricsets)
{
    fputs("metricbeat.max_start_delay: 0s\n"
          "output.console: {enabled: true}\n"
          "metricbeat.modules:\n"
          "  - module: golang\n"
          "    metricsets: [",
          f);
    fputs(metricsets, f);
    fputs("]\n    hosts: [", f);
    put_quoted(f, url);
    fputs("]\n    expvar.namespace: ", f);
    put_quoted(f, ns);
    fputc('\n', f);
    return fflush(f);
}

config *config_for_target(const char *url, const char *ns, const char *metricsets,
                          const config_opts *o, char *err, size_t errlen)
{
    char path[] = "/tmp/expvarbeat-target-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || write_target_yaml(f, url, ns, metricsets) != 0) {
        snprintf(err, errlen, "cannot write a temporary config");
        if (f)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        unlink(path);
        return NULL;
    }
    fclose(f);
    const char *files[] = {path};
    config_opts opts = *o;
    opts.files = files;
    opts.n_files = 1;
    config *c = config_load(&opts, err, errlen);
    unlink(path);
    return c;
}
