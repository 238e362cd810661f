/* es_setup: the index-management sequence as a table of steps (see
 * es_setup.h).  Each step says when it is wanted (from the config and what
 * earlier answers found) and how to read its answer; the caller sends the
 * requests however it likes.  Also here: deciding whether the index format
 * names one fixed index, which the data stream step and the output's
 * evaluate-once rule both need. */
#include "es_setup.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "buf.h"
#include "es_conn.h"
#include "es_template.h"
#include "fmtstr.h"
#include "log.h"

#define DEFAULT_INDEX "expvarbeat-%{[agent.version]}"

enum obj { OBJ_ILM, OBJ_TPL, OBJ_DS, OBJ_COUNT };
enum step { S_ILM_GET, S_ILM_PUT, S_TPL_HEAD, S_TPL_PUT, S_DS_GET, S_DS_PUT, S_END };

struct es_setup {
    const config *c;
    int force_template;
    enum step step;
    int exists[OBJ_COUNT], created[OBJ_COUNT];
    buf policy, tmpl;
    char ds[256]; /* "" = no data stream step */
    buf path;
    char what[512];
    es_request req;
};

typedef struct step_def {
    const char *method;
    enum obj obj;
    const char *what; /* "<what> <name>" in messages */
    int (*wanted)(const es_setup *s);
} step_def;

static int ilm_get_wanted(const es_setup *s)
{
    const setup_config *u = &s->c->setup;
    return u->ilm.enabled && u->ilm.check_exists && !u->ilm.overwrite;
}

/* libbeat: without check_exists the policy is assumed to be there. */
static int ilm_put_wanted(const es_setup *s)
{
    const setup_config *u = &s->c->setup;
    return u->ilm.enabled && (u->ilm.overwrite || (u->ilm.check_exists && !s->exists[OBJ_ILM]));
}

/* A policy just created forces the template that names it. */
static int tpl_forced(const es_setup *s)
{
    return s->c->setup.template_.overwrite || s->force_template || s->created[OBJ_ILM];
}

static int tpl_head_wanted(const es_setup *s)
{
    return s->c->setup.template_.enabled && !tpl_forced(s);
}

static int tpl_put_wanted(const es_setup *s)
{
    return s->c->setup.template_.enabled && (tpl_forced(s) || !s->exists[OBJ_TPL]);
}

/* Without our template a data stream could not be created: leave it to
 * whoever manages the templates. */
static int ds_get_wanted(const es_setup *s)
{
    return s->c->setup.template_.enabled && s->ds[0];
}

static int ds_put_wanted(const es_setup *s)
{
    return ds_get_wanted(s) && !s->exists[OBJ_DS];
}

static const step_def steps[S_END] = {
    [S_ILM_GET] = {"GET", OBJ_ILM, "checking ILM policy", ilm_get_wanted},
    [S_ILM_PUT] = {"PUT", OBJ_ILM, "installing ILM policy", ilm_put_wanted},
    [S_TPL_HEAD] = {"HEAD", OBJ_TPL, "checking index template", tpl_head_wanted},
    [S_TPL_PUT] = {"PUT", OBJ_TPL, "installing index template", tpl_put_wanted},
    [S_DS_GET] = {"GET", OBJ_DS, "checking data stream", ds_get_wanted},
    [S_DS_PUT] = {"PUT", OBJ_DS, "creating data stream", ds_put_wanted},
};

static const char *obj_name(const es_setup *s, enum obj o)
{
    switch (o) {
    case OBJ_ILM:
        return es_ilm_policy_name(s->c);
    case OBJ_TPL:
        return es_template_name(s->c);
    default:
        return s->ds;
    }
}

static int render_bodies(es_setup *s, char *err, size_t errlen)
{
    const setup_config *u = &s->c->setup;
    if (u->ilm.enabled && es_ilm_policy_render(s->c, 0, &s->policy, err, errlen) != 0)
        return -1;
    if (u->template_.enabled &&
        es_template_render(s->c, u->ilm.enabled, 0, &s->tmpl, err, errlen) != 0)
        return -1;
    return 0;
}

es_setup *es_setup_new(const config *c, int force_template, char *err, size_t errlen)
{
    es_setup *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->c = c;
    s->force_template = force_template;
    buf_init(&s->policy, 0);
    buf_init(&s->tmpl, 0);
    buf_init(&s->path, 0);
    if (render_bodies(s, err, errlen) != 0 ||
        es_fixed_index(c, s->ds, sizeof s->ds, err, errlen) < 0) {
        es_setup_free(s);
        return NULL;
    }
    es_setup_restart(s);
    return s;
}

void es_setup_free(es_setup *s)
{
    if (!s)
        return;
    buf_free(&s->policy);
    buf_free(&s->tmpl);
    buf_free(&s->path);
    free(s);
}

/* A policy created by a run that failed later still forces the template
 * on the next run: the template in place may name another lifecycle. */
void es_setup_restart(es_setup *s)
{
    int policy_created = s->created[OBJ_ILM];
    s->step = S_ILM_GET;
    memset(s->exists, 0, sizeof s->exists);
    memset(s->created, 0, sizeof s->created);
    s->created[OBJ_ILM] = policy_created;
}

static int build_request(es_setup *s)
{
    static const char *const prefix[OBJ_COUNT] = {"/_ilm/policy/", "/_index_template/",
                                                  "/_data_stream/"};
    const step_def *d = &steps[s->step];
    const char *name = obj_name(s, d->obj);
    buf_reset(&s->path);
    if (buf_append_str(&s->path, prefix[d->obj]) || es_path_escape(&s->path, name) ||
        buf_append(&s->path, "", 1))
        return -1;
    const buf *body = s->step == S_ILM_PUT ? &s->policy : s->step == S_TPL_PUT ? &s->tmpl : NULL;
    s->req = (es_request){d->method, s->path.data, body ? body->data : NULL, body ? body->len : 0};
    snprintf(s->what, sizeof s->what, "%s %s", d->what, name);
    return 0;
}

const es_request *es_setup_next(es_setup *s)
{
    while (s->step < S_END && !steps[s->step].wanted(s))
        s->step++;
    if (s->step == S_END) {
        s->created[OBJ_ILM] = 0; /* finished: nothing is owed to the next run */
        return NULL;
    }
    return build_request(s) == 0 ? &s->req : NULL;
}

const char *es_setup_step(const es_setup *s)
{
    return s->what;
}

static void log_outcome(const es_setup *s, const char *name)
{
    switch (s->step) {
    case S_ILM_GET:
        if (s->exists[OBJ_ILM])
            log_info("ILM policy %s exists already.", name);
        break;
    case S_ILM_PUT:
        log_info("ILM policy %s successfully created.", name);
        break;
    case S_TPL_HEAD:
        if (s->exists[OBJ_TPL])
            log_info("Template \"%s\" already exists and will not be overwritten.", name);
        break;
    case S_TPL_PUT:
        log_info("Template with name \"%s\" loaded.", name);
        break;
    case S_DS_PUT:
        log_info("Data stream %s created.", name);
        break;
    default:
        break;
    }
}

/* Another writer may create the data stream between our GET and PUT. */
static int already_exists(const char *body, size_t len)
{
    char reason[256];
    es_error_reason(body, len, reason, sizeof reason);
    return strncmp(reason, "resource_already_exists_exception", 33) == 0;
}

int es_setup_feed(es_setup *s, long status, const char *body, size_t len, char *err, size_t errlen)
{
    const step_def *d = &steps[s->step];
    int probe = strcmp(d->method, "PUT") != 0;
    int ok = status >= 200 && status < 300;
    if (probe && (ok || status == 404))
        s->exists[d->obj] = ok;
    else if (!probe && (ok || (s->step == S_DS_PUT && status == 400 && already_exists(body, len))))
        s->created[d->obj] = 1;
    else {
        char reason[512];
        es_error_reason(body, len, reason, sizeof reason);
        snprintf(err, errlen, "error %s: %s %ld %s%s%s", s->what, d->method, status,
                 es_status_text(status), reason[0] ? ": " : "", reason);
        return -1;
    }
    log_outcome(s, obj_name(s, d->obj));
    s->step++;
    return 0;
}

/* ---- the index name ------------------------------------------------------------- */

enum es_fmt_kind es_fmt_kind_of(const char *text)
{
    enum es_fmt_kind k = ES_FMT_CONSTANT;
    for (const char *p = strstr(text, "%{"); p; p = strstr(p + 2, "%{")) {
        if (strncmp(p, "%{[agent.", 9) != 0 && strncmp(p, "%{[agent][", 10) != 0)
            return ES_FMT_EVENT;
        k = ES_FMT_AGENT;
    }
    return k;
}

/* The agent.* fields every document carries that are known before the
 * first one exists (agent.id and ephemeral_id are not: formats using them
 * are treated as varying). */
static int agent_doc(const config *c, buf *out)
{
    char host[256] = "";
    if (!c->name || !*c->name)
        gethostname(host, sizeof host - 1);
    const char *name = c->name && *c->name ? c->name : host;
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return -1;
    yajl_gen_map_open(g);
    yajl_gen_string(g, (const unsigned char *)"agent", 5);
    yajl_gen_map_open(g);
    const char *pairs[] = {"name", name, "type", "expvarbeat", "version", EXPVARBEAT_VERSION};
    for (size_t i = 0; i < 6; i++)
        yajl_gen_string(g, (const unsigned char *)pairs[i], strlen(pairs[i]));
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    const unsigned char *p;
    size_t n;
    yajl_gen_get_buf(g, &p, &n);
    int rc = buf_append(out, p, n) || buf_append(out, "", 1);
    yajl_gen_free(g);
    return rc ? -1 : 0;
}

int es_fixed_index(const config *c, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *text =
        c->output.elasticsearch.index ? c->output.elasticsearch.index : DEFAULT_INDEX;
    out[0] = '\0';
    fmtstr *f = fmtstr_compile(text, err, errlen);
    if (!f)
        return -1;
    int rc = 0;
    buf doc;
    buf_init(&doc, 0);
    if (es_fmt_kind_of(text) != ES_FMT_EVENT && agent_doc(c, &doc) == 0) {
        int n = fmtstr_eval(f, doc.data, doc.len - 1, 0, out, outlen);
        rc = n > 0 && (size_t)n < outlen;
        out[rc ? (size_t)n : 0] = '\0';
        for (char *p = out; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    buf_free(&doc);
    fmtstr_free(f);
    return rc;
}
