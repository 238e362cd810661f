/* fuzz_url: a host entry as written in a config or a hosts_file → the URL
 * that is fetched and reported (target_url_build).  Input lines: host,
 * basepath, metricset path, then query "key=value" pairs.  Invariant on
 * success: the reported URL carries no userinfo (no '@' in its authority),
 * since it reaches documents, logs and the status page. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

enum { MAX_QUERY = 8 };

static char *next_line(char **p)
{
    char *s = *p;
    if (!s)
        return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = NULL;
    }
    return s;
}

static int fuzz_url_one(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* config strings are NUL-terminated: a NUL ends them early */
    char *p = text;
    const char *host = next_line(&p);
    const char *basepath = next_line(&p);
    const char *ms_path = next_line(&p);
    kv pairs[MAX_QUERY];
    kvlist query = {pairs, 0};
    char *line;
    while (query.n < MAX_QUERY && (line = next_line(&p)) != NULL) {
        char *eq = strchr(line, '=');
        if (eq)
            *eq++ = '\0';
        pairs[query.n++] = (kv){line, eq ? eq : (char *)""};
    }
    target_url u;
    char err[512] = "";
    if (target_url_build(host ? host : "", basepath ? basepath : "", ms_path ? ms_path : "", &query,
                         "cfguser", "cfgpass", &u, err, sizeof err) == 0) {
        const char *a = strstr(u.uri, "://");
        a = a ? a + 3 : u.uri;
        size_t auth = strcspn(a, "/?#");
        if (memchr(a, '@', auth))
            abort(); /* userinfo would be reported */
        target_url_free(&u);
    } else if (err[0] == '\0') {
        abort();
    }
    free(text);
    return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved
 * inputs without libFuzzer. */
#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_url_one(data, size);
}
#endif
