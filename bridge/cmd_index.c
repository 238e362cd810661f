/* cmd_index: export template / export ilm-policy / setup --index-management
 * (see cmd_index.h).  Rendering lives in es_template.c and the Elasticsearch
 * calls in es_setup.c; this file only decides where the bytes go. */
#include "cmd_index.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "es_setup.h"
#include "es_template.h"

/* <dir>/<sub>/<name>.json, creating the directories as Metricbeat does. */
static int write_to_dir(const char *dir, const char *sub, const char *name, const buf *json)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        goto fail;
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        goto fail;
    snprintf(path, sizeof path, "%s/%s/%s.json", dir, sub, name);
    FILE *f = fopen(path, "w");
    if (!f)
        goto fail;
    int ok = fwrite(json->data, 1, json->len, f) == json->len && fputc('\n', f) != EOF;
    if (fclose(f) != 0 || !ok)
        goto fail;
    printf("Writing to %s\n", path);
    return 0;
fail:
    fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
    return 1;
}

static int emit(const buf *json, const char *dir, const char *sub, const char *name, FILE *out)
{
    if (dir)
        return write_to_dir(dir, sub, name, json);
    fwrite(json->data, 1, json->len, out);
    fputc('\n', out);
    return 0;
}

int cmd_export_template(const config *c, int noilm, const char *dir, FILE *out)
{
    char err[512];
    buf json;
    buf_init(&json, 0);
    int ilm = c->setup.ilm.enabled && !noilm;
    int rc = es_template_render(c, ilm, 1, &json, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "Error exporting template: %s\n", err);
    else
        rc = emit(&json, dir, "template", es_template_name(c), out);
    buf_free(&json);
    return rc ? 1 : 0;
}

int cmd_export_ilm_policy(const config *c, const char *dir, FILE *out)
{
    char err[512];
    buf json;
    buf_init(&json, 0);
    int rc = es_ilm_policy_render(c, 1, &json, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "Error exporting ILM policy: %s\n", err);
    else
        rc = emit(&json, dir, "policy", es_ilm_policy_name(c), out);
    buf_free(&json);
    return rc ? 1 : 0;
}

int cmd_setup_index(const config *c, FILE *out)
{
    char err[1024];
    if (es_setup_run(c, out, err, sizeof err) != 0) {
        fprintf(stderr, "Exiting: %s\n", err);
        return 1;
    }
    return 0;
}
