/* Unit tests for config.c and cfgval.c: real metricbeat.yml layouts, the
 * defaults table, durations and sizes, ${VAR} expansion, -E overrides,
 * multi-file merge, every error case (message names file, line and key),
 * warnings (stderr captured) and the cfgval tree / JSON rendering;
 * output.elasticsearch (defaults, presets, auth, format strings, the
 * custom-index rule, non_indexable_policy), setup.* and shutdown_timeout;
 * output.kafka (defaults, every key, topic rules, partitioners, SASL, TLS,
 * the codec, what is refused and what is only warned about).
 * Fixtures live in $EXPVARBEAT_TEST_DATA/config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <yajl/yajl_gen.h>

#include "cfgval.h"
#include "config.h"
#include "log.h"

static const char *data_dir(void)
{
    const char *d = getenv("EXPVARBEAT_TEST_DATA");
    return d ? d : "tests/data";
}

static char *fixture_dir(const char *sub)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/config%s%s", data_dir(), sub ? "/" : "", sub ? sub : "");
    return path;
}

/* ---- stderr capture: warnings go through log_warn to fd 2 ---- */

typedef struct capture {
    int saved;
    FILE *tmp;
} capture;

static void capture_start(capture *c)
{
    fflush(stderr);
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    c->saved = dup(2);
    dup2(fileno(c->tmp), 2);
}

static char *capture_end(capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    long n = ftell(c->tmp);
    char *s = calloc(1, (size_t)n + 1);
    rewind(c->tmp);
    if (n > 0 && fread(s, 1, (size_t)n, c->tmp) != (size_t)n)
        s[0] = '\0';
    fclose(c->tmp);
    return s;
}

typedef struct run {
    config *cfg;
    char err[1024];
    char *log; /* captured stderr */
} run;

/* Loads files (relative to dir under tests/data/config) plus overrides. */
static void load(run *r, const char *dir, const char *const *files, size_t nf,
                 const char *const *ovr, size_t no)
{
    config_opts o = {0};
    o.files = (const char **)files;
    o.n_files = nf;
    o.overrides = (const char **)ovr;
    o.n_overrides = no;
    o.path_home = "/srv/evb";
    o.path_config = fixture_dir(dir);
    capture c;
    capture_start(&c);
    r->err[0] = '\0';
    r->cfg = config_load(&o, r->err, sizeof r->err);
    r->log = capture_end(&c);
}

static void load1(run *r, const char *file)
{
    const char *files[] = {file};
    load(r, NULL, files, 1, NULL, 0);
}

static void done(run *r)
{
    config_free(r->cfg);
    free(r->log);
    r->cfg = NULL;
    r->log = NULL;
}

static void expect_ok(run *r)
{
    if (!r->cfg)
        fprintf(stderr, "unexpected error: %s\n", r->err);
    assert_non_null(r->cfg);
}

/* The error must contain every fragment (file:line: key: why). */
static void expect_error(run *r, const char *frag)
{
    if (r->cfg || !strstr(r->err, frag))
        fprintf(stderr, "error was: \"%s\"\nwanted: \"%s\"\n", r->err, frag);
    assert_null(r->cfg);
    assert_non_null(strstr(r->err, frag));
}

static void expect_log(const run *r, const char *frag)
{
    if (!strstr(r->log, frag))
        fprintf(stderr, "log was:\n%s\nwanted: \"%s\"\n", r->log, frag);
    assert_non_null(strstr(r->log, frag));
}

static char *gen_json(const cfgval *v)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    cfgval_gen(g, v);
    const unsigned char *buf;
    size_t len;
    yajl_gen_get_buf(g, &buf, &len);
    char *s = strndup((const char *)buf, len);
    yajl_gen_free(g);
    return s;
}

static void expect_json(const cfgval *v, const char *want)
{
    char *got = gen_json(v);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "json: %s\nwant: %s\n", got, want);
    assert_string_equal(got, want);
    free(got);
}

/* ---- tests ---- */

static void test_metricbeat_layout(void **state)
{
    (void)state;
    run r;
    const char *files[] = {"metricbeat.yml"};
    load(&r, "metricbeat", files, 1, NULL, 0);
    expect_ok(&r);
    const config *c = r.cfg;
    assert_int_equal(c->n_modules, 1);
    const module_config *m = &c->modules[0];
    assert_non_null(strstr(m->file, "modules.d/golang.yml"));
    assert_int_equal(m->line, 4);
    assert_int_equal(m->metricsets, MS_EXPVAR | MS_HEAP);
    assert_int_equal(m->period_ms, 10000);
    assert_int_equal(m->hosts.n, 1);
    assert_string_equal(m->hosts.v[0], "localhost:6060");
    assert_string_equal(m->expvar_namespace, "example");
    assert_string_equal(m->expvar_path, "/debug/vars");
    assert_string_equal(m->heap_path, "/debug/vars");
    assert_string_equal(c->name, "web-01");
    assert_int_equal(c->tags.n, 2);
    assert_string_equal(c->tags.v[1], "web-tier");
    expect_json(c->fields, "{\"env\":\"staging\"}");
    assert_int_equal(c->output.type, OUTPUT_FILE);
    assert_string_equal(c->output.file.path, "/var/lib/metricbeat/out");
    assert_string_equal(c->output.file.filename, "metricbeat");
    assert_int_equal(c->output.file.rotate_every_kb, 20480);
    assert_int_equal(c->output.file.number_of_files, 3);
    assert_int_equal(c->output.file.permissions, 0640);
    assert_int_equal(c->log_level, LOG_WARN);
    expect_json(c->setup.template_.settings,
                "{\"index\":{\"number_of_shards\":1,\"codec\":\"best_compression\"}}");
    /* template settings are real now and an empty `setup.kibana:` sets nothing */
    assert_string_equal(r.log, "");
    done(&r);
}

static void test_defaults(void **state)
{
    (void)state;
    run r;
    load1(&r, "defaults.yml");
    expect_ok(&r);
    const config *c = r.cfg;
    assert_int_equal(c->n_modules, 1);
    const module_config *m = &c->modules[0];
    assert_int_equal(m->enabled, 1);
    assert_int_equal(m->metricsets, MS_EXPVAR | MS_HEAP);
    assert_int_equal(m->period_ms, 10000);
    assert_string_equal(m->expvar_path, "/debug/vars");
    assert_string_equal(m->heap_path, "/debug/vars");
    assert_string_equal(m->basepath, "");
    assert_int_equal(m->query.n, 0);
    assert_int_equal(m->headers.n, 0);
    assert_null(m->username);
    assert_null(m->password);
    assert_null(m->bearer_token_file);
    assert_int_equal(m->connect_timeout_ms, 2000);
    assert_int_equal(m->timeout_ms, 10000);
    assert_int_equal(m->ssl.enabled, -1);
    assert_int_equal(m->ssl.verification_mode, SSL_VERIFY_FULL);
    assert_int_equal(m->ssl.certificate_authorities.n, 0);
    assert_null(m->ssl.certificate);
    assert_null(m->ssl.key);
    assert_null(m->fields);
    assert_int_equal(m->fields_under_root, 0);
    assert_int_equal(m->tags.n, 0);
    assert_int_equal(m->max_body_bytes, 10 * 1024 * 1024);
    assert_int_equal(m->max_depth, 64);

    char host[256] = "";
    gethostname(host, sizeof host - 1);
    assert_string_equal(c->name, host);
    assert_int_equal(c->tags.n, 0);
    assert_null(c->fields);
    assert_int_equal(c->fields_under_root, 0);
    assert_int_equal(c->max_start_delay_ms, 10000);
    assert_int_equal(c->output.type, OUTPUT_CONSOLE);
    assert_int_equal(c->output.console.pretty, 0);
    assert_string_equal(c->output.file.path, "/srv/evb/data/expvarbeat");
    assert_string_equal(c->output.file.filename, "expvarbeat");
    assert_int_equal(c->output.file.rotate_every_kb, 10240);
    assert_int_equal(c->output.file.number_of_files, 7);
    assert_int_equal(c->output.file.permissions, 0600);
    assert_int_equal(c->log_level, LOG_INFO);
    assert_int_equal(c->http.enabled, 0);
    assert_string_equal(c->http.host, "localhost");
    assert_int_equal(c->http.port, 5066);
    /* Metricbeat 8.12+ queue defaults */
    assert_int_equal(c->queue.events, 3200);
    assert_int_equal(c->queue.flush_min_events, 1600);
    assert_int_equal(c->queue.flush_timeout_ms, 10000);
    assert_int_equal(c->shutdown_timeout_ms, 5000);
    assert_int_equal(c->setup.ilm.enabled, 1);
    assert_string_equal(c->setup.ilm.policy_name, "expvarbeat");
    assert_null(c->setup.ilm.policy_file);
    assert_int_equal(c->setup.ilm.check_exists, 1);
    assert_int_equal(c->setup.ilm.overwrite, 0);
    assert_int_equal(c->setup.template_.enabled, 1);
    assert_null(c->setup.template_.name);
    assert_null(c->setup.template_.pattern);
    assert_int_equal(c->setup.template_.overwrite, 0);
    assert_null(c->setup.template_.settings);
    /* output.elasticsearch keeps its defaults while another output is used */
    assert_int_equal(c->output.elasticsearch.hosts.n, 0);
    assert_int_equal(c->output.elasticsearch.bulk_max_size, 1600);
    assert_string_equal(c->output.elasticsearch.index, "expvarbeat-%{[agent.version]}");
    assert_string_equal(c->path.home, "/srv/evb");
    assert_string_equal(c->path.config, fixture_dir(NULL));
    assert_string_equal(c->path.data, "/srv/evb/data");
    assert_string_equal(c->path.logs, "/srv/evb/logs");
    assert_string_equal(r.log, "");
    done(&r);

    /* a small queue needs a smaller batch than the 8.12 default, as in libbeat */
    const char *files[] = {"defaults.yml"}, *ovr[] = {"queue.mem.events=100"};
    load(&r, NULL, files, 1, ovr, 1);
    expect_error(&r, "-E:1: queue.mem.flush.min_events: 1600 (the default) is more than "
                     "queue.mem.events (100)");
    done(&r);
}

static void test_full(void **state)
{
    (void)state;
    run r;
    unsetenv("EXPVARBEAT_TEST_PW");
    load1(&r, "full.yml");
    expect_ok(&r);
    const config *c = r.cfg;
    /* expvarbeat.* wins over metricbeat.* */
    assert_int_equal(c->max_start_delay_ms, 0);
    assert_int_equal(c->n_modules, 1);
    const module_config *m = &c->modules[0];
    assert_int_equal(m->metricsets, MS_HEAP);
    assert_null(m->expvar_namespace); /* not needed without expvar */
    assert_int_equal(m->period_ms, 30000);
    assert_int_equal(m->hosts.n, 2);
    assert_string_equal(m->hosts.v[0], "https://a:6060");
    assert_string_equal(m->basepath, "/base");
    assert_int_equal(m->query.n, 2);
    assert_string_equal(m->query.v[0].key, "a");
    assert_string_equal(m->query.v[0].value, "1");
    assert_string_equal(m->query.v[1].value, "two");
    assert_string_equal(m->username, "user");
    assert_string_equal(m->password, "secret");
    assert_string_equal(m->bearer_token_file, "/run/token");
    assert_int_equal(m->headers.n, 2);
    assert_string_equal(m->headers.v[0].key, "X-Api.Key");
    assert_string_equal(m->headers.v[0].value, "k");
    assert_string_equal(m->headers.v[1].key, "Accept");
    assert_int_equal(m->connect_timeout_ms, 1000);
    assert_int_equal(m->timeout_ms, 5000);
    assert_int_equal(m->ssl.enabled, 1);
    assert_int_equal(m->ssl.verification_mode, SSL_VERIFY_CERTIFICATE);
    assert_int_equal(m->ssl.certificate_authorities.n, 1);
    assert_string_equal(m->ssl.certificate_authorities.v[0], "/etc/ca.pem");
    assert_string_equal(m->ssl.certificate, "/etc/cert.pem");
    assert_string_equal(m->ssl.key, "/etc/key.pem");
    expect_json(m->fields, "{\"team\":\"go\"}");
    assert_int_equal(m->fields_under_root, 1);
    assert_string_equal(m->tags.v[0], "t1");
    assert_int_equal(m->max_body_bytes, 1024 * 1024);
    assert_int_equal(m->max_depth, 16);
    assert_string_equal(m->expvar_path, "/x");
    assert_string_equal(m->heap_path, "/y");
    assert_int_equal(c->http.enabled, 1);
    assert_string_equal(c->http.host, "127.0.0.1");
    assert_int_equal(c->http.port, 0);
    assert_int_equal(c->queue.events, 100);
    assert_int_equal(c->queue.flush_min_events, 10);
    assert_int_equal(c->queue.flush_timeout_ms, 250);
    assert_int_equal(c->log_level, LOG_DEBUG);
    assert_int_equal(c->output.type, OUTPUT_FILE);
    assert_string_equal(c->output.file.path, "/srv/evb/data/expvarbeat");
    assert_string_equal(r.log, "");
    done(&r);
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {{"10s", 10000}, {"500ms", 500}, {"1m", 60000}, {"1h30m", 5400000}, {"2.5s", 2500},
              {"7", 7000},    {"0", 0},       {"1.5", 1500}, {"1m0.5s", 60500},  {"100us", 0},
              {"'3s'", 3000}, {"", 10000},    {"+2s", 2000}, {"90000000ns", 90}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char e[64];
        snprintf(e, sizeof e, "metricbeat.max_start_delay=%s", ok[i].text);
        const char *files[] = {"defaults.yml"}, *ovr[] = {e};
        run r;
        load(&r, NULL, files, 1, ovr, 1);
        expect_ok(&r);
        if (r.cfg->max_start_delay_ms != ok[i].ms)
            fprintf(stderr, "%s → %lld\n", ok[i].text, (long long)r.cfg->max_start_delay_ms);
        assert_int_equal(r.cfg->max_start_delay_ms, ok[i].ms);
        done(&r);
    }
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"ten", "-E:1: metricbeat.max_start_delay: invalid duration \"ten\""},
        {"5x", "invalid duration \"5x\""},
        {"s", "invalid duration \"s\""},
        {"1.2.3s", "invalid duration"},
        {"-1s", "-E:1: metricbeat.max_start_delay: \"-1s\" must be 0 or more"},
        {"[1]", "metricbeat.max_start_delay: expected a duration, got a list"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[64];
        snprintf(e, sizeof e, "metricbeat.max_start_delay=%s", bad[i].text);
        const char *files[] = {"defaults.yml"}, *ovr[] = {e};
        run r;
        load(&r, NULL, files, 1, ovr, 1);
        expect_error(&r, bad[i].err);
        done(&r);
    }
}

static void test_sizes_and_periods(void **state)
{
    (void)state;
    run r;
    load1(&r, "sizes.yml");
    expect_ok(&r);
    assert_int_equal(r.cfg->n_modules, 7);
    assert_int_equal(r.cfg->modules[0].max_body_bytes, 10 * 1024 * 1024);
    assert_int_equal(r.cfg->modules[1].max_body_bytes, 10 * 1000 * 1000);
    assert_int_equal(r.cfg->modules[2].max_body_bytes, 4096);
    assert_int_equal(r.cfg->modules[3].max_body_bytes, 512 * 1024);
    assert_int_equal(r.cfg->modules[4].max_body_bytes, 1500);
    assert_int_equal(r.cfg->modules[5].period_ms, 5400000);
    assert_int_equal(r.cfg->modules[5].timeout_ms, 2500);
    assert_int_equal(r.cfg->modules[6].period_ms, 7000);
    assert_int_equal(r.cfg->modules[6].timeout_ms, 500);
    done(&r);
}

static void test_env(void **state)
{
    (void)state;
    setenv("EXPVARBEAT_TEST_NAME", "envname", 1);
    setenv("EXPVARBEAT_TEST_PORT", "9090", 1);
    unsetenv("EXPVARBEAT_TEST_UNSET");
    unsetenv("EXPVARBEAT_TEST_HOST");
    unsetenv("EXPVARBEAT_TEST_PERIOD");
    run r;
    load1(&r, "env.yml");
    expect_ok(&r);
    const config *c = r.cfg;
    assert_string_equal(c->name, "envname");
    const module_config *m = &c->modules[0];
    assert_string_equal(m->hosts.v[0], "localhost:6060"); /* default holding a ':' */
    assert_string_equal(m->expvar_namespace, "fallback");
    assert_int_equal(m->period_ms, 5000);
    char want[4200];
    snprintf(want, sizeof want, "%s/token", fixture_dir(NULL));
    assert_string_equal(m->bearer_token_file, want);
    /* plain ${} values are typed after expansion, quoted ones stay strings */
    expect_json(m->fields, "{\"port\":9090,\"quoted\":\"9090\",\"nested\":\"envname-x\","
                           "\"literal\":\"${NOT_EXPANDED}\",\"empty\":null}");
    assert_string_equal(c->output.file.path, "/srv/evb/data/out");
    done(&r);

    setenv("EXPVARBEAT_TEST_HOST", "http://h:1/x", 1);
    setenv("EXPVARBEAT_TEST_PERIOD", "1m", 1);
    load1(&r, "env.yml");
    expect_ok(&r);
    assert_string_equal(r.cfg->modules[0].hosts.v[0], "http://h:1/x");
    assert_int_equal(r.cfg->modules[0].period_ms, 60000);
    done(&r);

    unsetenv("EXPVARBEAT_TEST_NAME");
    load1(&r, "env.yml");
    expect_error(&r, "env.yml:1: name: ${EXPVARBEAT_TEST_NAME} is not set");
    done(&r);
    unsetenv("EXPVARBEAT_TEST_HOST");
    unsetenv("EXPVARBEAT_TEST_PERIOD");
    unsetenv("EXPVARBEAT_TEST_PORT");
}

static void test_overrides(void **state)
{
    (void)state;
    const char *files[] = {"defaults.yml"};
    const char *ovr[] = {
        "output.console.pretty=true", "name=override",     "tags=[x, y]", "fields.a.b=5",
        "logging.level=debug",        "http.port=\"6000\""};
    run r;
    load(&r, NULL, files, 1, ovr, sizeof ovr / sizeof ovr[0]);
    expect_ok(&r);
    assert_int_equal(r.cfg->output.console.pretty, 1);
    assert_string_equal(r.cfg->name, "override");
    assert_int_equal(r.cfg->tags.n, 2);
    assert_string_equal(r.cfg->tags.v[1], "y");
    expect_json(r.cfg->fields, "{\"a\":{\"b\":5}}");
    assert_int_equal(r.cfg->log_level, LOG_DEBUG);
    assert_int_equal(r.cfg->http.port, 6000);
    done(&r);

    /* A flow list replaces the file's list; expvarbeat.modules adds to it. */
    const char *mods[] = {
        "metricbeat.modules=[{module: golang, hosts: [\"e:1\"], expvar.namespace: e, period: 3s}]",
        "expvarbeat.modules=[{module: golang, metricsets: heap, hosts: [f]}]"};
    load(&r, NULL, files, 1, mods, 2);
    expect_ok(&r);
    assert_int_equal(r.cfg->n_modules, 2);
    assert_string_equal(r.cfg->modules[0].hosts.v[0], "e:1");
    assert_int_equal(r.cfg->modules[0].period_ms, 3000);
    assert_string_equal(r.cfg->modules[0].file, "-E");
    assert_string_equal(r.cfg->modules[1].hosts.v[0], "f");
    done(&r);

    /* Text that is no YAML flow value is a plain string. */
    const char *str[] = {"name=a: b"};
    load(&r, NULL, files, 1, str, 1);
    expect_ok(&r);
    assert_string_equal(r.cfg->name, "a: b");
    done(&r);

    const char *empty_name[] = {"name=''"};
    load(&r, NULL, files, 1, empty_name, 1);
    expect_ok(&r);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    assert_string_equal(r.cfg->name, host);
    done(&r);

    const char *bad[] = {"name=x", "output.console.pretty=maybe"};
    load(&r, NULL, files, 1, bad, 2);
    expect_error(&r, "-E:2: output.console.pretty: expected a boolean (true or false), got "
                     "\"maybe\"");
    done(&r);

    const char *noeq[] = {"output.console.pretty"};
    load(&r, NULL, files, 1, noeq, 1);
    expect_error(&r, "-E output.console.pretty: expected key=value");
    done(&r);
}

static void test_merge(void **state)
{
    (void)state;
    const char *files[] = {"merge-a.yml", "merge-b.yml"};
    run r;
    load(&r, NULL, files, 2, NULL, 0);
    expect_ok(&r);
    const config *c = r.cfg;
    assert_string_equal(c->name, "from-b");
    assert_int_equal(c->tags.n, 1); /* lists are replaced, not appended */
    assert_string_equal(c->tags.v[0], "b1");
    expect_json(c->fields, "{\"x\":2,\"keep\":\"a\",\"y\":\"b\"}"); /* maps merge */
    assert_int_equal(c->output.console.pretty, 1);
    assert_int_equal(c->log_level, LOG_DEBUG);
    assert_int_equal(c->n_modules, 1);
    assert_string_equal(c->modules[0].hosts.v[0], "a:1");
    assert_non_null(strstr(c->modules[0].file, "merge-a.yml"));
    done(&r);
}

static void test_fields_typing(void **state)
{
    (void)state;
    run r;
    load1(&r, "fields.yml");
    expect_ok(&r);
    const cfgval *f = r.cfg->fields;
    assert_int_equal(f->type, CFGV_MAP);
    assert_int_equal(cfgval_get(f, "i")->type, CFGV_INT);
    assert_int_equal(cfgval_get(f, "f")->type, CFGV_FLOAT);
    assert_int_equal(cfgval_get(f, "t")->type, CFGV_BOOL);
    assert_int_equal(cfgval_get(f, "n")->type, CFGV_NULL);
    assert_int_equal(cfgval_get(f, "s")->type, CFGV_STRING);
    assert_int_equal(cfgval_get(f, "qi")->type, CFGV_STRING);
    assert_int_equal(cfgval_get(f, "list")->type, CFGV_LIST);
    assert_null(cfgval_get(f, "i")->file); /* kept trees do not point into the loader */
    expect_json(f, "{\"i\":42,\"neg\":-7,\"oct\":15,\"f\":2.5,\"exp\":1000,\"t\":true,"
                   "\"y\":true,\"n\":null,\"tilde\":null,\"s\":\"hello\",\"qi\":\"42\","
                   "\"qt\":\"true\",\"list\":[1,\"two\",3.5],\"nested\":{\"key\":\"v\"},"
                   "\"inf\":\".inf\"}");
    assert_int_equal(r.cfg->fields_under_root, 1);
    done(&r);
}

static void test_cfgval(void **state)
{
    (void)state;
    cfgval_free(NULL);
    assert_null(cfgval_clone(NULL));
    assert_null(cfgval_get(NULL, "x"));
    cfgval *m = cfgval_new(CFGV_MAP, NULL);
    cfgval *a = cfgval_new(CFGV_FLOAT, "a");
    a->f = 1e21;
    cfgval *b = cfgval_new(CFGV_LIST, "b");
    b->child = cfgval_new(CFGV_STRING, NULL);
    b->child->str = strdup("q\"uote");
    b->child->next = cfgval_new(CFGV_FLOAT, NULL);
    b->child->next->f = 0.1;
    m->child = a;
    a->next = b;
    assert_ptr_equal(cfgval_get(m, "b"), b);
    assert_null(cfgval_get(m, "c"));
    assert_null(cfgval_get(a, "a")); /* not a map */
    cfgval *c = cfgval_clone(m);
    cfgval_free(m);
    expect_json(c, "{\"a\":1e+21,\"b\":[\"q\\\"uote\",0.1]}");
    /* cfgval_free leaves siblings alone */
    cfgval *first = c->child, *second = first->next;
    c->child = NULL;
    cfgval_free(first);
    expect_json(second, "[\"q\\\"uote\",0.1]");
    cfgval_free(second);
    cfgval_free(c);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *file, *err;
    } cases[] = {
        {"err-yaml.yml", "err-yaml.yml:4:"},
        {"err-type.yml",
         "err-type.yml:4: metricbeat.modules.0.period: expected a duration, got a list"},
        {"err-period.yml", "err-period.yml:5: metricbeat.modules.0.period: invalid duration "
                           "\"ten\""},
        {"err-period-zero.yml",
         "err-period-zero.yml:5: metricbeat.modules.0.period: \"0s\" must be positive"},
        {"err-namespace.yml", "err-namespace.yml:3: metricbeat.modules.0.expvar.namespace: "
                              "string value is not set accessing 'expvar.namespace'"},
        {"err-two-outputs.yml",
         "err-two-outputs.yml:3: output.file: more than one output configured"},
        {"err-unknown-output.yml",
         "err-unknown-output.yml:2: output.foo: unknown output type 'foo'"},
        {"err-logstash-output.yml",
         "err-logstash-output.yml:6: output.logstash: output.logstash is not supported yet"},
        {"err-kafka-topic.yml", "err-kafka-topic.yml:9: output.kafka.topic: invalid format string "
                                "\"golang-%{[service.address]\": "},
        {"err-kafka-when.yml",
         "err-kafka-when.yml:10: output.kafka.topics.0.when.contains: condition 'contains' is not "
         "supported by expvarbeat (only when.equals); ignoring it would send events to the wrong "
         "topic"},
        {"err-kafka-partition.yml",
         "err-kafka-partition.yml:10: output.kafka.partition: only one partitioner may be set "
         "(round_robin and random)"},
        {"err-kafka-notopic.yml", "err-kafka-notopic.yml:6: output.kafka.topic: no topic "
                                  "configured: either 'topic' or 'topics' must be defined"},
        {"err-es-two-outputs.yml",
         "err-es-two-outputs.yml:3: output.elasticsearch: more than one output configured "
         "(output.console is enabled too)"},
        {"err-es-hosts.yml",
         "err-es-hosts.yml:5: output.elasticsearch.hosts: missing required field"},
        {"err-es-auth.yml", "err-es-auth.yml:8: output.elasticsearch.api_key: cannot set both "
                            "api_key and username/password"},
        {"err-kibana-protocol.yml", "err-kibana-protocol.yml:6: setup.kibana.protocol: invalid "
                                    "value \"ftp\" (must be http or https)"},
        {"err-kibana-auth.yml", "err-kibana-auth.yml:8: setup.kibana.api_key: cannot set both "
                                "api_key and username/password"},
        {"err-kibana-apikey.yml", "err-kibana-apikey.yml:5: setup.kibana.api_key: expected "
                                  "\"id:key\""},
        {"err-kibana-scalar.yml",
         "err-kibana-scalar.yml:5: setup.kibana: expected a mapping, got a string"},
        {"err-es-index.yml",
         "err-es-index.yml:10: output.elasticsearch.index: invalid format string "
         "\"golang-%{[agent.version]\": "},
        {"err-es-template.yml",
         "err-es-template.yml:8: output.elasticsearch.index: setup.template.name and "
         "setup.template.pattern have to be set if index name is modified"},
        {"err-glob.yml", "err-glob.yml:2: metricbeat.config.modules.path: no file matches"},
        {"err-hosts.yml", "err-hosts.yml:2: metricbeat.modules.0.hosts: missing required field"},
        {"err-env.yml", "err-env.yml:4: metricbeat.modules.0.expvar.namespace: "
                        "${EXPVARBEAT_TEST_UNSET} is not set"},
        {"err-ssl.yml", "err-ssl.yml:5: metricbeat.modules.0.ssl: expected a mapping, got a "
                        "boolean"},
        {"err-metricset.yml", "err-metricset.yml:4: metricbeat.modules.0.metricsets: metricset "
                              "'golang/cpu' is not registered"},
        {"err-verify.yml", "err-verify.yml:5: metricbeat.modules.0.ssl.verification_mode: "
                           "invalid value \"sometimes\""},
        {"no-such-file.yml", "no-such-file.yml: cannot read config file"},
    };
    unsetenv("EXPVARBEAT_TEST_UNSET");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        load1(&r, cases[i].file);
        expect_error(&r, cases[i].err);
        assert_non_null(strstr(r.err, fixture_dir(NULL))); /* names the file as resolved */
        assert_null(strchr(r.err, '\n'));                  /* one line */
        done(&r);
    }
}

static void test_warnings(void **state)
{
    (void)state;
    run r;
    load1(&r, "warnings.yml");
    expect_ok(&r);
    assert_int_equal(r.cfg->n_modules, 1);
    assert_int_equal(r.cfg->output.console.pretty, 1);
    expect_log(&r, "warnings.yml:5: unknown key 'metricbeat.modules.0.perod'");
    expect_log(&r, "warnings.yml:6: metricbeat.modules.0.processors: processors are not "
                   "supported by expvarbeat; ignored, so documents will differ");
    expect_log(&r, "warnings.yml:8: metricbeat.modules.0.keep_null: not supported by expvarbeat; "
                   "ignored");
    expect_log(&r, "warnings.yml:9: setup.dashboards.retry: ignored; the import is tried once");
    expect_log(&r, "warnings.yml:10: unknown key 'bogus'");
    expect_log(&r, "warnings.yml:11: logging.to_syslog: not supported by expvarbeat; ignored");
    expect_log(&r, "warnings.yml:12: unknown key 'logging.colour'");
    expect_log(&r, "warnings.yml:15: output.console.codec: not supported by expvarbeat; ignored");
    expect_log(&r, "warnings.yml:16: unknown key 'output.console.colour'");
    expect_log(&r, "\tWARN\t");
    done(&r);
}

static void test_other_module(void **state)
{
    (void)state;
    run r;
    load1(&r, "other-module.yml");
    expect_ok(&r);
    assert_int_equal(r.cfg->n_modules, 1);
    assert_int_equal(r.cfg->modules[0].line, 4);
    expect_log(&r, "other-module.yml:2: module 'system' is not supported by expvarbeat; skipped");
    assert_null(strstr(r.log, "redis")); /* disabled entries are skipped silently */
    done(&r);
}

static void test_modules_dir(void **state)
{
    (void)state;
    run r;
    const char *files[] = {"metricbeat.yml"};
    load(&r, "nomodules", files, 1, NULL, 0);
    expect_ok(&r); /* an existing but empty modules.d is fine */
    assert_int_equal(r.cfg->n_modules, 0);
    assert_true(r.cfg->reload.enabled); /* with the default period */
    assert_int_equal(r.cfg->reload.period_ms, 10000);
    done(&r);
}

static void test_outputs(void **state)
{
    (void)state;
    run r;
    load1(&r, "disabled-output.yml");
    expect_ok(&r); /* disabled sections are ignored, even unknown types */
    assert_int_equal(r.cfg->output.type, OUTPUT_CONSOLE);
    assert_string_equal(r.log, "");
    done(&r);

    static const struct {
        const char *perm;
        int mode;
        const char *err;
    } perms[] = {
        {"0640", 0640, NULL},
        {"'0640'", 0640, NULL},
        {"\"600\"", 0600, NULL},
        {"0o750", 0750, NULL},
        {"600", 0, "-E:2: output.file.permissions: \"600\" must be an octal mode"},
        {"rw", 0, "-E:2: output.file.permissions: invalid file mode \"rw\""},
    };
    for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++) {
        char e[64];
        snprintf(e, sizeof e, "output.file.permissions=%s", perms[i].perm);
        const char *files[] = {"defaults.yml"}, *ovr[] = {"output.file.enabled=true", e};
        load(&r, NULL, files, 1, ovr, 2);
        if (perms[i].err) {
            expect_error(&r, perms[i].err);
        } else {
            expect_ok(&r);
            assert_int_equal(r.cfg->output.type, OUTPUT_FILE);
            assert_int_equal(r.cfg->output.file.permissions, perms[i].mode);
        }
        done(&r);
    }
    const char *files[] = {"defaults.yml"};
    const char *ovr[] = {"output.file.number_of_files=1"};
    load(&r, NULL, files, 1, ovr, 1);
    expect_error(&r, "-E:1: output.file.number_of_files: \"1\" must be between 2 and 1024");
    done(&r);
}

/* ---- output.elasticsearch, setup.*, shutdown_timeout ---- */

static void test_es_stock(void **state)
{
    (void)state;
    run r;
    const char *files[] = {"metricbeat-es.yml"};
    load(&r, "metricbeat", files, 1, NULL, 0);
    expect_ok(&r);
    const config *c = r.cfg;
    const es_config *es = &c->output.elasticsearch;
    assert_int_equal(c->output.type, OUTPUT_ELASTICSEARCH);
    assert_int_equal(c->n_modules, 1);
    assert_int_equal(es->hosts.n, 1);
    assert_string_equal(es->hosts.v[0], "localhost:9200");
    assert_string_equal(es->username, "elastic");
    assert_string_equal(es->password, "changeme");
    assert_null(es->api_key);
    assert_string_equal(es->preset, "balanced");
    assert_string_equal(es->index, "expvarbeat-%{[agent.version]}");
    assert_int_equal(c->queue.events, 3200);
    assert_int_equal(c->queue.flush_min_events, 1600);
    assert_int_equal(c->queue.flush_timeout_ms, 10000);
    expect_json(c->setup.template_.settings,
                "{\"index\":{\"number_of_shards\":1,\"codec\":\"best_compression\"}}");
    assert_string_equal(r.log, ""); /* not one warning for a stock file */
    done(&r);
}

static void test_es_defaults(void **state)
{
    (void)state;
    run r;
    const char *files[] = {"defaults.yml"}, *ovr[] = {"output.elasticsearch.hosts=[es:9200]"};
    load(&r, NULL, files, 1, ovr, 1);
    expect_ok(&r);
    const es_config *es = &r.cfg->output.elasticsearch;
    assert_int_equal(r.cfg->output.type, OUTPUT_ELASTICSEARCH);
    assert_int_equal(es->hosts.n, 1);
    assert_string_equal(es->hosts.v[0], "es:9200");
    assert_null(es->protocol);
    assert_null(es->path);
    assert_null(es->username);
    assert_null(es->password);
    assert_null(es->api_key);
    assert_int_equal(es->headers.n, 0);
    assert_int_equal(es->parameters.n, 0);
    assert_int_equal(es->ssl.enabled, -1);
    assert_int_equal(es->ssl.verification_mode, SSL_VERIFY_FULL);
    assert_int_equal(es->ssl.certificate_authorities.n, 0);
    assert_null(es->ssl.certificate);
    assert_null(es->ssl.key);
    assert_int_equal(es->compression_level, 1);
    assert_int_equal(es->bulk_max_size, 1600);
    assert_int_equal(es->worker, 1);
    assert_int_equal(es->loadbalance, 1);
    assert_int_equal(es->max_retries, 3);
    assert_int_equal(es->backoff.init_ms, 1000);
    assert_int_equal(es->backoff.max_ms, 60000);
    assert_int_equal(es->timeout_ms, 90000);
    assert_string_equal(es->index, "expvarbeat-%{[agent.version]}");
    assert_null(es->pipeline);
    assert_null(es->dead_letter_index);
    assert_int_equal(es->allow_older_versions, 0);
    assert_null(es->preset);
    assert_int_equal(r.cfg->queue.events, 3200);
    assert_int_equal(r.cfg->queue.flush_min_events, 1600);
    assert_int_equal(r.cfg->queue.flush_timeout_ms, 10000);
    assert_int_equal(r.cfg->shutdown_timeout_ms, 5000);
    assert_string_equal(r.log, "");
    done(&r);

    /* "" is "not set", as in libbeat: the default, or NULL */
    const char *empty[] = {"output.elasticsearch.hosts=[es]", "output.elasticsearch.index=''",
                           "output.elasticsearch.username=''", "setup.template.name=''",
                           "setup.ilm.policy_name=''"};
    load(&r, NULL, files, 1, empty, sizeof empty / sizeof empty[0]);
    expect_ok(&r);
    assert_string_equal(r.cfg->output.elasticsearch.index, "expvarbeat-%{[agent.version]}");
    assert_null(r.cfg->output.elasticsearch.username);
    assert_null(r.cfg->setup.template_.name);
    assert_string_equal(r.cfg->setup.ilm.policy_name, "expvarbeat");
    done(&r);
}

static void test_es_full(void **state)
{
    (void)state;
    run r;
    unsetenv("EXPVARBEAT_TEST_APIKEY");
    load1(&r, "es-full.yml");
    expect_ok(&r);
    const config *c = r.cfg;
    const es_config *es = &c->output.elasticsearch;
    assert_int_equal(es->hosts.n, 2);
    assert_string_equal(es->hosts.v[0], "https://es1:9200");
    assert_string_equal(es->hosts.v[1], "es2");
    assert_string_equal(es->protocol, "https");
    assert_string_equal(es->path, "/es");
    assert_string_equal(es->api_key, "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw");
    assert_int_equal(es->headers.n, 1);
    assert_string_equal(es->headers.v[0].key, "X-Opaque-Id");
    assert_string_equal(es->headers.v[0].value, "expvarbeat");
    assert_int_equal(es->parameters.n, 1);
    assert_string_equal(es->parameters.v[0].key, "refresh");
    assert_string_equal(es->parameters.v[0].value, "false");
    assert_int_equal(es->ssl.enabled, 1);
    assert_int_equal(es->ssl.verification_mode, SSL_VERIFY_CERTIFICATE);
    assert_string_equal(es->ssl.certificate_authorities.v[0], "/etc/es-ca.pem");
    assert_string_equal(es->ssl.certificate, "/etc/es.pem");
    assert_string_equal(es->ssl.key, "/etc/es.key");
    assert_int_equal(es->compression_level, 0);
    assert_int_equal(es->bulk_max_size, 100);
    assert_int_equal(es->worker, 2);
    assert_int_equal(es->loadbalance, 0);
    assert_int_equal(es->max_retries, -1);
    assert_int_equal(es->backoff.init_ms, 2000);
    assert_int_equal(es->backoff.max_ms, 120000);
    assert_int_equal(es->timeout_ms, 30000);
    assert_string_equal(es->index, "golang-%{[fields.team]}-%{+yyyy.MM.dd}");
    assert_string_equal(es->pipeline, "golang-%{[agent.name]}");
    assert_string_equal(es->dead_letter_index, "golang-rejected");
    assert_int_equal(es->allow_older_versions, 1);
    assert_null(es->preset); /* custom: nothing overridden */
    assert_int_equal(c->queue.events, 1000);
    assert_int_equal(c->setup.ilm.enabled, 0);
    assert_string_equal(c->setup.ilm.policy_name, "golang");
    assert_string_equal(c->setup.ilm.policy_file, "/etc/golang-policy.json");
    assert_int_equal(c->setup.ilm.check_exists, 0);
    assert_int_equal(c->setup.ilm.overwrite, 1);
    assert_int_equal(c->setup.template_.enabled, 1);
    assert_string_equal(c->setup.template_.name, "golang");
    assert_string_equal(c->setup.template_.pattern, "golang-*");
    assert_int_equal(c->setup.template_.overwrite, 1);
    expect_json(c->setup.template_.settings, "{\"index\":{\"number_of_shards\":3,"
                                             "\"number_of_replicas\":1},\"_source\":{\"enabled\""
                                             ":true}}");
    assert_int_equal(c->shutdown_timeout_ms, 30000); /* expvarbeat.* wins */
    /* Metricbeat options expvarbeat does not use are named, with their line */
    expect_log(&r, "es-full.yml:33: output.elasticsearch.proxy_url: not supported by expvarbeat");
    expect_log(&r, "es-full.yml:34: output.elasticsearch.idle_connection_timeout: not supported");
    expect_log(&r, "es-full.yml:35: output.elasticsearch.escape_html: not supported");
    expect_log(&r, "es-full.yml:36: output.elasticsearch.kerberos: Kerberos is not "
                   "supported");
    assert_null(strstr(r.log, "setup"));
    assert_null(strstr(r.log, "unknown key"));
    done(&r);
}

static void test_es_presets(void **state)
{
    (void)state;
    /* es-preset.yml sets worker 3, bulk_max_size 10, compression_level 0,
     * backoff.init 2s, queue.mem.events 500, flush.timeout 2s, flush.min_events 100. */
    static const struct {
        const char *preset;
        int bulk, worker, compression;
        int64_t binit, bmax;
        int events, min_events;
        int64_t flush;
    } cases[] = {
        {"balanced", 1600, 1, 1, 2000, 60000, 3200, 1600, 10000},
        {"throughput", 1600, 4, 1, 2000, 60000, 12800, 1600, 5000},
        {"scale", 1600, 1, 1, 5000, 300000, 3200, 1600, 20000},
        {"latency", 50, 1, 1, 2000, 60000, 4100, 2050, 1000},
        {"custom", 10, 3, 0, 2000, 60000, 500, 100, 2000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[64];
        snprintf(e, sizeof e, "output.elasticsearch.preset=%s", cases[i].preset);
        const char *files[] = {"es-preset.yml"}, *ovr[] = {e};
        run r;
        load(&r, NULL, files, 1, ovr, 1);
        expect_ok(&r);
        const es_config *es = &r.cfg->output.elasticsearch;
        assert_int_equal(es->bulk_max_size, cases[i].bulk);
        assert_int_equal(es->worker, cases[i].worker);
        assert_int_equal(es->compression_level, cases[i].compression);
        assert_int_equal(es->backoff.init_ms, cases[i].binit);
        assert_int_equal(es->backoff.max_ms, cases[i].bmax);
        assert_int_equal(r.cfg->queue.events, cases[i].events);
        assert_int_equal(r.cfg->queue.flush_min_events, cases[i].min_events);
        assert_int_equal(r.cfg->queue.flush_timeout_ms, cases[i].flush);
        if (strcmp(cases[i].preset, "custom") == 0) {
            assert_null(es->preset);
            assert_string_equal(r.log, "");
        } else {
            /* as libbeat: the preset wins over the user's value, with a warning */
            assert_string_equal(es->preset, cases[i].preset);
            char want[160];
            snprintf(want, sizeof want,
                     "es-preset.yml:11: output.elasticsearch.worker: performance preset '%s' "
                     "overrides this user setting",
                     cases[i].preset);
            expect_log(&r, want);
            expect_log(&r, "es-preset.yml:6: queue.mem.events: performance preset");
            expect_log(&r, "es-preset.yml:7: queue.mem.flush.timeout: performance preset");
            expect_log(&r, "es-preset.yml:13: output.elasticsearch.compression_level: "
                           "performance preset");
            /* only scale sets backoff; the others leave the user's 2s alone */
            assert_int_equal(strstr(r.log, "backoff.init") != NULL,
                             strcmp(cases[i].preset, "scale") == 0);
        }
        done(&r);
    }
    /* the queue is checked as the preset leaves it: 100 events alone would fail */
    const char *small[] = {"output.elasticsearch.hosts=[es]", "queue.mem.events=100",
                           "output.elasticsearch.preset=latency"};
    const char *dfiles[] = {"defaults.yml"};
    run r;
    load(&r, NULL, dfiles, 1, small, 3);
    expect_ok(&r);
    assert_int_equal(r.cfg->queue.events, 4100);
    expect_log(&r, "-E:2: queue.mem.events: performance preset 'latency' overrides");
    done(&r);

    const char *files[] = {"es-preset.yml"}, *ovr[] = {"output.elasticsearch.preset=fast"};
    load(&r, NULL, files, 1, ovr, 1);
    expect_error(&r, "-E:1: output.elasticsearch.preset: invalid value \"fast\" (must be one of "
                     "balanced, throughput, scale, latency, custom)");
    done(&r);
}

static void test_es_api_key(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int ok;
    } cases[] = {
        {"id:key", 1},  {"VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw", 1},
        {"a:b:c", 1},   {"Vnu1Y2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==", 0},
        {"nocolon", 0}, {":key", 0},
        {"id:", 0},     {":", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[128];
        snprintf(e, sizeof e, "output.elasticsearch.api_key='%s'", cases[i].key);
        const char *files[] = {"defaults.yml"}, *ovr[] = {"output.elasticsearch.hosts=[es]", e};
        run r;
        load(&r, NULL, files, 1, ovr, 2);
        if (cases[i].ok) {
            expect_ok(&r);
            assert_string_equal(r.cfg->output.elasticsearch.api_key, cases[i].key);
        } else {
            expect_error(&r, "-E:2: output.elasticsearch.api_key: expected \"id:key\"");
            if (strlen(cases[i].key) > 8) /* a secret is not echoed */
                assert_null(strstr(r.err, cases[i].key));
        }
        done(&r);
    }
    /* a password alone conflicts too, as in libbeat */
    const char *files[] = {"defaults.yml"};
    const char *ovr[] = {"output.elasticsearch.hosts=[es]", "output.elasticsearch.password=p",
                         "output.elasticsearch.api_key=id:key"};
    run r;
    load(&r, NULL, files, 1, ovr, 3);
    expect_error(&r, "-E:3: output.elasticsearch.api_key: cannot set both api_key and "
                     "username/password");
    done(&r);
}

static void test_es_dead_letter(void **state)
{
    (void)state;
    static const struct {
        const char *policy, *index, *err;
    } cases[] = {
        {"{dead_letter_index: {index: dlq}}", "dlq", NULL},
        {"{drop: ~}", NULL, NULL},
        {"{drop: {}}", NULL, NULL},
        {"{}", NULL, NULL},
        {"{dead_letter_index: {index: ''}}", NULL,
         "-E:2: output.elasticsearch.non_indexable_policy.dead_letter_index.index: empty or "
         "missing value"},
        {"{dead_letter_index: ~}", NULL,
         "output.elasticsearch.non_indexable_policy.dead_letter_index.index: empty or missing"},
        {"{retry: {}}", NULL,
         "-E:2: output.elasticsearch.non_indexable_policy.retry: no such policy type (use drop "
         "or dead_letter_index)"},
        {"{drop: ~, dead_letter_index: {index: x}}", NULL,
         "-E:2: output.elasticsearch.non_indexable_policy: only one policy may be set"},
        {"drop", NULL,
         "-E:2: output.elasticsearch.non_indexable_policy: expected a mapping (drop or "
         "dead_letter_index), got a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[128];
        snprintf(e, sizeof e, "output.elasticsearch.non_indexable_policy=%s", cases[i].policy);
        const char *files[] = {"defaults.yml"}, *ovr[] = {"output.elasticsearch.hosts=[es]", e};
        run r;
        load(&r, NULL, files, 1, ovr, 2);
        if (cases[i].err) {
            expect_error(&r, cases[i].err);
        } else {
            expect_ok(&r);
            if (cases[i].index)
                assert_string_equal(r.cfg->output.elasticsearch.dead_letter_index, cases[i].index);
            else
                assert_null(r.cfg->output.elasticsearch.dead_letter_index);
        }
        done(&r);
    }
}

static void test_es_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *set, *err;
    } cases[] = {
        {"hosts=[]", "-E:2: output.elasticsearch.hosts: missing required field: at least one host"},
        {"hosts=[a, '']", "-E:2: output.elasticsearch.hosts: host 1 is empty"},
        {"protocol=ftp", "output.elasticsearch.protocol: invalid value \"ftp\" (must be http or "
                         "https)"},
        {"compression_level=10", "output.elasticsearch.compression_level: \"10\" must be between "
                                 "0 (off) and 9"},
        {"bulk_max_size=0", "output.elasticsearch.bulk_max_size: \"0\" must be positive"},
        {"worker=0", "output.elasticsearch.worker: \"0\" must be 1 or more"},
        {"timeout=0s", "output.elasticsearch.timeout: \"0s\" must be positive"},
        {"backoff.init=2m", "-E:2: output.elasticsearch.backoff.init: 120000 ms is more than "
                            "backoff.max (60000 ms)"},
        {"pipeline='%{[x'", "-E:2: output.elasticsearch.pipeline: invalid format string"},
        {"ssl.verification_mode=maybe", "output.elasticsearch.ssl.verification_mode: invalid "
                                        "value \"maybe\""},
        {"loadbalance=sometimes", "output.elasticsearch.loadbalance: expected a boolean"},
        {"headers=[a]", "output.elasticsearch.headers: expected a mapping of names to values"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[128];
        snprintf(e, sizeof e, "output.elasticsearch.%s", cases[i].set);
        const char *files[] = {"defaults.yml"}, *ovr[] = {"output.elasticsearch.hosts=[es]", e};
        run r;
        load(&r, NULL, files, 1, ovr, 2);
        expect_error(&r, cases[i].err);
        done(&r);
    }
}

static void test_es_custom_index(void **state)
{
    (void)state;
    static const struct {
        const char *const ovr[4];
        int ok;
    } cases[] = {
        /* libbeat: a custom index needs both template name and pattern ... */
        {{"output.elasticsearch.index=golang", "setup.template.name=golang"}, 0},
        {{"output.elasticsearch.index=golang", "setup.template.pattern=golang*"}, 0},
        {{"output.elasticsearch.index=golang"}, 0},
        {{"output.elasticsearch.index=golang", "setup.template.name=golang",
          "setup.template.pattern=golang*"},
         1},
        /* ... unless no template is installed */
        {{"output.elasticsearch.index=golang", "setup.template.enabled=false"}, 1},
        /* a template name alone is fine: its pattern defaults to the name */
        {{"setup.template.name=golang"}, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *ovr[5] = {"output.elasticsearch.hosts=[es]"};
        size_t n = 1;
        for (size_t j = 0; j < 4 && cases[i].ovr[j]; j++)
            ovr[n++] = cases[i].ovr[j];
        const char *files[] = {"defaults.yml"};
        run r;
        load(&r, NULL, files, 1, ovr, n);
        if (cases[i].ok)
            expect_ok(&r);
        else
            expect_error(&r, "-E:2: output.elasticsearch.index: setup.template.name and "
                             "setup.template.pattern have to be set if index name is modified");
        done(&r);
    }
    /* the rule is about the Elasticsearch output only */
    const char *files[] = {"defaults.yml"};
    const char *ovr[] = {"output.elasticsearch.enabled=false", "output.elasticsearch.index=x"};
    run r;
    load(&r, NULL, files, 1, ovr, 2);
    expect_ok(&r);
    done(&r);
}

static void test_kibana_defaults(void **state)
{
    (void)state;
    run r;
    load1(&r, "defaults.yml");
    expect_ok(&r);
    const kibana_config *k = &r.cfg->setup.kibana;
    assert_string_equal(k->host, "localhost:5601");
    assert_null(k->protocol);
    assert_null(k->path);
    assert_null(k->space_id);
    assert_null(k->username);
    assert_null(k->password);
    assert_null(k->api_key);
    assert_int_equal(k->headers.n, 0);
    assert_int_equal(k->ssl.enabled, -1);
    assert_int_equal(k->ssl.verification_mode, SSL_VERIFY_FULL);
    assert_int_equal(r.cfg->setup.dashboards.enabled, 0);
    done(&r);
}

static void test_kibana_full(void **state)
{
    (void)state;
    run r;
    load1(&r, "kibana-full.yml");
    expect_ok(&r);
    const kibana_config *k = &r.cfg->setup.kibana;
    assert_string_equal(k->host, "kibana.example:5602");
    assert_string_equal(k->protocol, "https");
    assert_string_equal(k->path, "/kb");
    assert_string_equal(k->space_id, "ops");
    /* its own credentials win over output.elasticsearch's */
    assert_string_equal(k->username, "kuser");
    assert_string_equal(k->password, "kpass");
    assert_null(k->api_key);
    assert_int_equal(k->headers.n, 2);
    assert_string_equal(k->headers.v[0].key, "X-Tenant");
    assert_string_equal(k->headers.v[0].value, "blue");
    assert_string_equal(k->headers.v[1].key, "x.dotted");
    assert_int_equal(k->ssl.verification_mode, SSL_VERIFY_NONE);
    assert_int_equal(k->ssl.certificate_authorities.n, 1);
    assert_string_equal(k->ssl.certificate_authorities.v[0], "/etc/kb-ca.pem");
    assert_string_equal(k->ssl.certificate, "/etc/kb.pem");
    assert_string_equal(k->ssl.key, "/etc/kb.key");
    assert_int_equal(r.cfg->setup.dashboards.enabled, 1);
    expect_log(&r, "kibana-full.yml:20: setup.kibana.timeout: ignored; Kibana requests time out "
                   "after 90s");
    expect_log(&r, "kibana-full.yml:23: setup.dashboards.directory: the dashboards are built into "
                   "expvarbeat");
    assert_null(strstr(r.log, "unknown key"));
    assert_null(strstr(r.log, "setup.kibana.host"));
    done(&r);
}

/* libbeat's initKibanaConfig: credentials setup.kibana leaves unset come
 * from output.elasticsearch, and only from it. */
static void test_kibana_credentials(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *ovr[2];
        const char *user, *pass, *key;
    } cases[] = {
        {"kibana-inherit.yml", {NULL}, "esuser", "espass", NULL},
        {"kibana-inherit.yml", {"setup.kibana.password=kp"}, "esuser", "kp", NULL},
        {"kibana-inherit.yml", {"setup.kibana.username=ku"}, "ku", "espass", NULL},
        /* an API key of its own: the ES output's basic credentials are not mixed in */
        {"kibana-inherit.yml", {"setup.kibana.api_key=a:b"}, NULL, NULL, "a:b"},
        {"es-full.yml", {NULL}, NULL, NULL, "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"},
        /* and the ES output's API key does not join a user name of its own */
        {"es-full.yml", {"setup.kibana.username=ku"}, "ku", NULL, NULL},
        /* another output lends nothing */
        {"kafka-full.yml", {NULL}, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *files[] = {cases[i].file};
        size_t n = cases[i].ovr[1] ? 2 : cases[i].ovr[0] ? 1 : 0;
        run r;
        load(&r, NULL, files, 1, cases[i].ovr, n);
        expect_ok(&r);
        const kibana_config *k = &r.cfg->setup.kibana;
        if (cases[i].user)
            assert_string_equal(k->username, cases[i].user);
        else
            assert_null(k->username);
        if (cases[i].pass)
            assert_string_equal(k->password, cases[i].pass);
        else
            assert_null(k->password);
        if (cases[i].key)
            assert_string_equal(k->api_key, cases[i].key);
        else
            assert_null(k->api_key);
        done(&r);
    }
}

static void test_setup_warnings(void **state)
{
    (void)state;
    run r;
    load1(&r, "setup-warnings.yml");
    expect_ok(&r);
    assert_int_equal(r.cfg->setup.ilm.check_exists, 0);
    /* setup.kibana and setup.dashboards.enabled are real settings now */
    assert_string_equal(r.cfg->setup.kibana.host, "localhost:5601");
    assert_int_equal(r.cfg->setup.dashboards.enabled, 1);
    assert_null(strstr(r.log, "kibana"));
    assert_null(strstr(r.log, "dashboards"));
    expect_log(&r, "setup-warnings.yml:8: setup.template.fields: the template's fields are built "
                   "into expvarbeat; ignored");
    expect_log(&r, "setup-warnings.yml:11: unknown key 'setup.template.settings.mappings'");
    expect_log(&r, "setup-warnings.yml:12: unknown key 'setup.bogus'");
    expect_log(&r, "setup-warnings.yml:13: unknown key 'setup.ilm.rollover_alias'");
    assert_null(strstr(r.log, "check_exists"));
    assert_null(strstr(r.log, "number_of_shards"));
    done(&r);
}

static void test_shutdown_timeout(void **state)
{
    (void)state;
    static const struct {
        const char *const ovr[3];
        int64_t ms;
    } cases[] = {
        {{NULL}, 5000},
        {{"shutdown_timeout=1s"}, 1000},
        {{"shutdown_timeout=1s", "metricbeat.shutdown_timeout=2s"}, 2000},
        {{"expvarbeat.shutdown_timeout=3s", "metricbeat.shutdown_timeout=2s",
          "shutdown_timeout=1s"},
         3000},
        {{"shutdown_timeout=0"}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = 0;
        while (n < 3 && cases[i].ovr[n])
            n++;
        const char *files[] = {"defaults.yml"};
        run r;
        load(&r, NULL, files, 1, cases[i].ovr, n);
        expect_ok(&r);
        assert_int_equal(r.cfg->shutdown_timeout_ms, cases[i].ms);
        assert_string_equal(r.log, "");
        done(&r);
    }
    const char *files[] = {"defaults.yml"}, *ovr[] = {"shutdown_timeout=-1s"};
    run r;
    load(&r, NULL, files, 1, ovr, 1);
    expect_error(&r, "-E:1: shutdown_timeout: \"-1s\" must be 0 or more");
    done(&r);
}

/* ---- output.kafka ---- */

/* defaults.yml with a Kafka output of one broker and topic "metrics", then extra. */
static void load_kafka(run *r, const char *const *extra, size_t n)
{
    const char *files[] = {"defaults.yml"};
    const char *ovr[16] = {"output.kafka.hosts=[k1:9092]", "output.kafka.topic=metrics"};
    assert_true(n <= 14);
    for (size_t i = 0; i < n; i++)
        ovr[2 + i] = extra[i];
    load(r, NULL, files, 1, ovr, n + 2);
}

static void test_kafka_defaults(void **state)
{
    (void)state;
    run r;
    load_kafka(&r, NULL, 0);
    expect_ok(&r);
    const kafka_config *k = &r.cfg->output.kafka;
    assert_int_equal(r.cfg->output.type, OUTPUT_KAFKA);
    assert_int_equal(k->hosts.n, 1);
    assert_string_equal(k->hosts.v[0], "k1:9092");
    assert_string_equal(k->topic, "metrics");
    assert_null(k->topics);
    assert_int_equal(k->n_topics, 0);
    assert_null(k->key);
    assert_int_equal(k->partitioner, KAFKA_PART_HASH);
    assert_int_equal(k->hash_fields.n, 0);
    assert_int_equal(k->hash_random, 1); /* libbeat's hash partitioner default */
    assert_int_equal(k->group_events, 1);
    assert_int_equal(k->reachable_only, 0);
    assert_int_equal(k->required_acks, 1);
    assert_string_equal(k->compression, "gzip");
    assert_int_equal(k->compression_level, 4);
    assert_int_equal(k->max_message_bytes, 1000000);
    assert_string_equal(k->client_id, "beats");
    assert_string_equal(k->version, "2.1.0");
    assert_null(k->username);
    assert_null(k->password);
    assert_null(k->sasl_mechanism);
    assert_int_equal(k->ssl.enabled, 0); /* no ssl section: plaintext */
    assert_int_equal(k->ssl.verification_mode, SSL_VERIFY_FULL);
    assert_int_equal(k->ssl.certificate_authorities.n, 0);
    assert_null(k->ssl.certificate);
    assert_null(k->ssl.key);
    assert_int_equal(k->timeout_ms, 30000);
    assert_int_equal(k->broker_timeout_ms, 10000);
    assert_int_equal(k->keep_alive_ms, 0);
    assert_int_equal(k->bulk_max_size, 2048);
    assert_int_equal(k->bulk_flush_frequency_ms, 0);
    assert_int_equal(k->max_retries, 3);
    assert_int_equal(k->backoff.init_ms, 1000);
    assert_int_equal(k->backoff.max_ms, 60000);
    assert_int_equal(k->metadata_refresh_ms, 600000);
    assert_int_equal(k->metadata_retry_max, 3);
    assert_int_equal(k->metadata_retry_backoff_ms, 250);
    assert_int_equal(k->metadata_full, 0);
    assert_int_equal(k->headers.n, 0);
    assert_int_equal(k->codec_pretty, 0);
    assert_int_equal(k->idempotent, 0);
    assert_string_equal(r.log, "");
    done(&r);
}

/* "" is "not set", as in libbeat: the default, or NULL */
static void test_kafka_empty_strings(void **state)
{
    (void)state;
    run r;
    const char *empty[] = {"output.kafka.key=''", "output.kafka.client_id=''",
                           "output.kafka.compression=''", "output.kafka.version=''"};
    load_kafka(&r, empty, 4);
    expect_ok(&r);
    assert_null(r.cfg->output.kafka.key);
    assert_string_equal(r.cfg->output.kafka.client_id, "beats");
    assert_string_equal(r.cfg->output.kafka.compression, "gzip");
    assert_string_equal(r.cfg->output.kafka.version, "2.1.0");
    done(&r);
}

static void test_kafka_full(void **state)
{
    (void)state;
    run r;
    unsetenv("EXPVARBEAT_TEST_KAFKA_USER");
    load1(&r, "kafka-full.yml");
    expect_ok(&r);
    const kafka_config *k = &r.cfg->output.kafka;
    assert_int_equal(r.cfg->output.type, OUTPUT_KAFKA);
    assert_int_equal(k->hosts.n, 2);
    assert_string_equal(k->hosts.v[1], "kafka2:9093");
    assert_string_equal(k->topic, "golang-%{[fields.team]}");
    assert_int_equal(k->n_topics, 1);
    assert_string_equal(k->topics[0].topic, "golang-heap");
    assert_int_equal(k->topics[0].equals.n, 1);
    assert_string_equal(k->topics[0].equals.v[0].key, "metricset.name");
    assert_string_equal(k->topics[0].equals.v[0].value, "heap");
    assert_string_equal(k->key, "%{[service.address]}");
    assert_int_equal(k->partitioner, KAFKA_PART_HASH);
    assert_int_equal(k->hash_fields.n, 2);
    assert_string_equal(k->hash_fields.v[0], "service.address");
    assert_string_equal(k->hash_fields.v[1], "metricset.name");
    assert_int_equal(k->hash_random, 0);
    assert_int_equal(k->reachable_only, 1);
    assert_int_equal(k->required_acks, -1);
    assert_string_equal(k->compression, "lz4"); /* as out_kafka.c names it */
    assert_int_equal(k->compression_level, 12);
    assert_int_equal(k->max_message_bytes, 2000000);
    assert_string_equal(k->client_id, "expvarbeat-web");
    assert_string_equal(k->version, "0.10.2.1");
    assert_string_equal(k->username, "metrics");
    assert_string_equal(k->password, "secret");
    assert_string_equal(k->sasl_mechanism, "SCRAM-SHA-512");
    assert_int_equal(k->ssl.enabled, 1); /* an ssl section turns TLS on */
    assert_int_equal(k->ssl.verification_mode, SSL_VERIFY_STRICT);
    assert_int_equal(k->ssl.certificate_authorities.n, 1);
    assert_string_equal(k->ssl.certificate_authorities.v[0], "/etc/kafka-ca.pem");
    assert_string_equal(k->ssl.certificate, "/etc/kafka.pem");
    assert_string_equal(k->ssl.key, "/etc/kafka.key");
    assert_int_equal(k->timeout_ms, 5000);
    assert_int_equal(k->broker_timeout_ms, 3000);
    assert_int_equal(k->keep_alive_ms, 30000);
    assert_int_equal(k->bulk_max_size, 500);
    assert_int_equal(k->bulk_flush_frequency_ms, 250);
    assert_int_equal(k->max_retries, -1);
    assert_int_equal(k->backoff.init_ms, 2000);
    assert_int_equal(k->backoff.max_ms, 120000);
    assert_int_equal(k->metadata_refresh_ms, 60000);
    assert_int_equal(k->metadata_retry_max, 5);
    assert_int_equal(k->metadata_retry_backoff_ms, 1000);
    assert_int_equal(k->metadata_full, 1);
    assert_int_equal(k->headers.n, 2); /* a list: the same name may repeat */
    assert_string_equal(k->headers.v[0].key, "X-Source");
    assert_string_equal(k->headers.v[0].value, "expvarbeat");
    assert_string_equal(k->headers.v[1].key, "X-Source");
    assert_string_equal(k->headers.v[1].value, "2");
    assert_int_equal(k->codec_pretty, 1);
    assert_int_equal(k->idempotent, 1);
    assert_string_equal(r.log, ""); /* escape_html/local_time false is what expvarbeat does */
    done(&r);
}

static void test_kafka_metricbeat(void **state)
{
    (void)state;
    run r;
    load1(&r, "kafka-metricbeat.yml");
    expect_ok(&r);
    const kafka_config *k = &r.cfg->output.kafka;
    assert_int_equal(r.cfg->output.type, OUTPUT_KAFKA);
    assert_int_equal(k->hosts.n, 3);
    assert_string_equal(k->topic, "%{[fields.log_topic]}");
    assert_int_equal(k->partitioner, KAFKA_PART_ROUND_ROBIN);
    assert_int_equal(k->group_events, 1);
    assert_int_equal(k->reachable_only, 0);
    assert_string_equal(k->compression, "gzip");
    assert_string_equal(k->version, "1.0.0");
    assert_null(k->key);
    assert_null(k->username);
    assert_null(k->sasl_mechanism);
    assert_int_equal(k->headers.n, 2);
    assert_string_equal(k->headers.v[1].key, "another-key");
    assert_string_equal(k->headers.v[1].value, "another value");
    assert_string_equal(r.log, ""); /* not one warning for Metricbeat's own example */
    done(&r);
}

static void test_kafka_topics(void **state)
{
    (void)state;
    run r;
    load1(&r, "kafka-topics.yml");
    expect_ok(&r);
    const kafka_config *k = &r.cfg->output.kafka;
    assert_null(k->topic); /* topics alone is enough */
    assert_int_equal(k->n_topics, 3);
    const kafka_topic_rule *t = k->topics;
    assert_string_equal(t[0].topic, "golang-%{[service.address]}");
    assert_int_equal(t[0].equals.n, 2);
    assert_string_equal(t[0].equals.v[0].key, "metricset.name");
    assert_string_equal(t[0].equals.v[0].value, "expvar");
    assert_string_equal(t[0].equals.v[1].key, "fields.team");
    assert_string_equal(t[0].equals.v[1].value, "web");
    /* values as the event's JSON shows them: typed as libbeat reads them */
    assert_string_equal(t[1].topic, "golang-heap");
    assert_int_equal(t[1].equals.n, 4);
    assert_string_equal(t[1].equals.v[0].key, "golang.heap.gc.next_gc_limit");
    assert_string_equal(t[1].equals.v[0].value, "16");
    assert_string_equal(t[1].equals.v[1].value, "golang");
    assert_string_equal(t[1].equals.v[2].key, "fields.canary");
    assert_string_equal(t[1].equals.v[2].value, "true");
    assert_string_equal(t[1].equals.v[3].value, "1.5");
    /* no condition: the rule always matches */
    assert_string_equal(t[2].topic, "golang-other");
    assert_int_equal(t[2].equals.n, 0);
    assert_string_equal(r.log, "");
    done(&r);
}

static void test_kafka_topic_errors(void **state)
{
    (void)state;
    static const struct {
        const char *set, *err;
    } bad[] = {
        {"output.kafka.topics=[{topic: a, mappings: {x: y}}]",
         "-E:3: output.kafka.topics.0.mappings: topic mappings are not supported by expvarbeat"},
        {"output.kafka.topics=[{topic: a, default: b}]",
         "-E:3: output.kafka.topics.0.default: topic mappings are not supported"},
        {"output.kafka.topics=[{topic: a}, {when.equals: {a: b}}]",
         "-E:3: output.kafka.topics.1.topic: missing topic"},
        {"output.kafka.topics=[{topic: 'a-%{[x'}]",
         "-E:3: output.kafka.topics.0.topic: invalid format string \"a-%{[x\""},
        {"output.kafka.topics=[{topic: a, when.regexp: {a: b}}]",
         "-E:3: output.kafka.topics.0.when.regexp: condition 'regexp' is not supported"},
        {"output.kafka.topics=[{topic: a, when.equals: {a: b}, when.not: {x: 1}}]",
         "-E:3: output.kafka.topics.0.when.not: condition 'not' is not supported"},
        {"output.kafka.topics=[{topic: a, when.equals: {a: ~}}]",
         "-E:3: output.kafka.topics.0.when.equals.a: expected a value to compare the field with"},
        {"output.kafka.topics=[{topic: a, when.equals: {a: [1]}}]",
         "-E:3: output.kafka.topics.0.when.equals.a: expected a string, number or boolean, got a "
         "list"},
        {"output.kafka.topics=[{topic: a, when: always}]",
         "-E:3: output.kafka.topics.0.when: expected a condition"},
        {"output.kafka.topics=[golang]",
         "-E:3: output.kafka.topics.0: expected a rule (a mapping with topic and when), got a "
         "string"},
        {"output.kafka.topics={topic: a}", "-E:3: output.kafka.topics: expected a list of rules"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run r;
        load_kafka(&r, &bad[i].set, 1);
        expect_error(&r, bad[i].err);
        done(&r);
    }
}

static void test_kafka_partition(void **state)
{
    (void)state;
    static const struct {
        const char *set;
        enum kafka_partitioner p;
        int group, reachable, random;
    } cases[] = {
        {"output.kafka.partition={}", KAFKA_PART_HASH, 1, 0, 1},
        {"output.kafka.partition.hash=~", KAFKA_PART_HASH, 1, 0, 1},
        {"output.kafka.partition.hash={random: false, reachable_only: true}", KAFKA_PART_HASH, 1, 1,
         0},
        {"output.kafka.partition.random=~", KAFKA_PART_RANDOM, 1, 0, 1},
        {"output.kafka.partition.random={group_events: 5, reachable_only: true}", KAFKA_PART_RANDOM,
         5, 1, 1},
        {"output.kafka.partition.round_robin={}", KAFKA_PART_ROUND_ROBIN, 1, 0, 1},
        {"output.kafka.partition.round_robin={group_events: 7, reachable_only: true}",
         KAFKA_PART_ROUND_ROBIN, 7, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        load_kafka(&r, &cases[i].set, 1);
        expect_ok(&r);
        const kafka_config *k = &r.cfg->output.kafka;
        assert_int_equal(k->partitioner, cases[i].p);
        assert_int_equal(k->group_events, cases[i].group);
        assert_int_equal(k->reachable_only, cases[i].reachable);
        assert_int_equal(k->hash_random, cases[i].random);
        assert_string_equal(r.log, "");
        done(&r);
    }
    static const struct {
        const char *set[2], *err;
    } bad[] = {
        {{"output.kafka.partition.hash={}", "output.kafka.partition.random={}"},
         "-E:4: output.kafka.partition: only one partitioner may be set (hash and random)"},
        {{"output.kafka.partition.sticky={}"},
         "-E:3: output.kafka.partition.sticky: unknown partitioner (use hash, random or "
         "round_robin)"},
        {{"output.kafka.partition.random.group_events=0"},
         "-E:3: output.kafka.partition.random.group_events: \"0\" must be 1 or more"},
        {{"output.kafka.partition.round_robin.group_events=0"},
         "-E:3: output.kafka.partition.round_robin.group_events: \"0\" must be 1 or more"},
        {{"output.kafka.partition.hash=true"},
         "-E:3: output.kafka.partition.hash: expected a mapping, got a boolean"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run r;
        load_kafka(&r, bad[i].set, bad[i].set[1] ? 2 : 1);
        expect_error(&r, bad[i].err);
        done(&r);
    }
}

static void test_kafka_sasl(void **state)
{
    (void)state;
    static const struct {
        const char *set[3];
        const char *mechanism; /* NULL: no SASL */
    } ok[] = {
        {{"output.kafka.username=u", "output.kafka.password=p"}, "PLAIN"},
        {{"output.kafka.username=u", "output.kafka.password=p",
          "output.kafka.sasl.mechanism=plain"},
         "PLAIN"},
        {{"output.kafka.username=u", "output.kafka.password=p",
          "output.kafka.sasl.mechanism=SCRAM-SHA-256"},
         "SCRAM-SHA-256"},
        {{"output.kafka.username=u", "output.kafka.password=p",
          "output.kafka.sasl.mechanism=Scram-Sha-512"},
         "SCRAM-SHA-512"},
        {{"output.kafka.username=''", "output.kafka.password=''"}, NULL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n = 0;
        while (n < 3 && ok[i].set[n])
            n++;
        run r;
        load_kafka(&r, ok[i].set, n);
        expect_ok(&r);
        if (ok[i].mechanism) {
            assert_string_equal(r.cfg->output.kafka.sasl_mechanism, ok[i].mechanism);
            assert_string_equal(r.cfg->output.kafka.username, "u");
            assert_string_equal(r.cfg->output.kafka.password, "p");
        } else {
            assert_null(r.cfg->output.kafka.sasl_mechanism);
            assert_null(r.cfg->output.kafka.username);
        }
        assert_string_equal(r.log, "");
        done(&r);
    }
    static const struct {
        const char *set[3], *err;
    } bad[] = {
        {{"output.kafka.username=u"},
         "-E:3: output.kafka.username: password must be set when username is configured"},
        {{"output.kafka.password=p"},
         "-E:3: output.kafka.password: set without username: SASL authentication needs both"},
        {{"output.kafka.username=u", "output.kafka.password=p",
          "output.kafka.sasl.mechanism=GSSAPI"},
         "-E:5: output.kafka.sasl.mechanism: invalid value \"GSSAPI\" (must be one of PLAIN, "
         "SCRAM-SHA-256, SCRAM-SHA-512)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = 0;
        while (n < 3 && bad[i].set[n])
            n++;
        run r;
        load_kafka(&r, bad[i].set, n);
        expect_error(&r, bad[i].err);
        assert_null(strstr(r.err, "=p")); /* the password is not echoed */
        done(&r);
    }
}

static void test_kafka_tls(void **state)
{
    (void)state;
    static const struct {
        const char *set[2];
        int enabled;
    } cases[] = {
        {{NULL}, 0},
        {{"output.kafka.ssl.verification_mode=none"}, 1},
        {{"output.kafka.ssl.certificate_authorities=[/ca.pem]"}, 1},
        {{"output.kafka.ssl.enabled=true"}, 1},
        {{"output.kafka.ssl.enabled=false", "output.kafka.ssl.certificate_authorities=[/ca.pem]"},
         0},
        {{"output.kafka.ssl={}"}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = 0;
        while (n < 2 && cases[i].set[n])
            n++;
        run r;
        load_kafka(&r, cases[i].set, n);
        expect_ok(&r);
        assert_int_equal(r.cfg->output.kafka.ssl.enabled, cases[i].enabled);
        done(&r);
    }
}

static void test_kafka_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *set, *err;
    } cases[] = {
        {"output.kafka.hosts=[]", "-E:3: output.kafka.hosts: missing required field"},
        {"output.kafka.hosts=[k1, '']", "-E:3: output.kafka.hosts: host 1 is empty"},
        {"output.kafka.compression=brotli",
         "-E:3: output.kafka.compression: invalid value \"brotli\" (must be one of none, gzip, "
         "snappy, lz4, zstd)"},
        {"output.kafka.compression_level=10",
         "-E:3: output.kafka.compression_level: \"10\" must be between -1 (the codec's default) "
         "and 9 with gzip"},
        {"output.kafka.compression_level=13",
         "-E:3: output.kafka.compression_level: \"13\" must be between -1 (the codec's default) "
         "and 12"},
        {"output.kafka.compression_level=-2", "output.kafka.compression_level: \"-2\" must be"},
        {"output.kafka.required_acks=2",
         "-E:3: output.kafka.required_acks: \"2\" must be -1 (all replicas), 0 (no acks) or 1 "
         "(the leader)"},
        {"output.kafka.max_message_bytes=0",
         "-E:3: output.kafka.max_message_bytes: \"0\" must be positive"},
        {"output.kafka.version=2.x",
         "-E:3: output.kafka.version: invalid value \"2.x\" (must be a Kafka version such as "
         "2.1.0 or 0.10.2.1)"},
        {"output.kafka.version=1.2.3.4.5", "output.kafka.version: invalid value \"1.2.3.4.5\""},
        {"output.kafka.version=latest", "output.kafka.version: invalid value \"latest\""},
        {"output.kafka.key='%{[service.address'",
         "-E:3: output.kafka.key: invalid format string \"%{[service.address\""},
        {"output.kafka.timeout=0s", "-E:3: output.kafka.timeout: \"0s\" must be positive"},
        {"output.kafka.broker_timeout=0", "-E:3: output.kafka.broker_timeout: \"0\" must be"},
        {"output.kafka.keep_alive=-1s", "-E:3: output.kafka.keep_alive: \"-1s\" must be 0 or more"},
        {"output.kafka.bulk_max_size=0", "-E:3: output.kafka.bulk_max_size: \"0\" must be"},
        {"output.kafka.metadata.retry.max=-1",
         "-E:3: output.kafka.metadata.retry.max: \"-1\" must be 0 or more"},
        {"output.kafka.backoff.init=2m",
         "-E:3: output.kafka.backoff.init: 120000 ms is more than backoff.max (60000 ms)"},
        {"output.kafka.codec.format.string='%{[message]}'",
         "-E:3: output.kafka.codec.format: the format codec is not supported by expvarbeat"},
        {"output.kafka.codec.json.pretty=maybe",
         "-E:3: output.kafka.codec.json.pretty: expected a boolean"},
        {"output.kafka.idempotent=1", "-E:3: output.kafka.idempotent: expected a boolean"},
        {"output.kafka.headers={X-A: b}",
         "-E:3: output.kafka.headers: expected a list of {key: ..., value: ...} entries, got a "
         "mapping"},
        {"output.kafka.headers=[{value: b}]",
         "-E:3: output.kafka.headers.0.key: missing or empty header name"},
        {"output.kafka.headers=[x]",
         "-E:3: output.kafka.headers.0: expected a mapping with key and value, got a string"},
        {"output.kafka.ssl.verification_mode=maybe",
         "-E:3: output.kafka.ssl.verification_mode: invalid value \"maybe\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        load_kafka(&r, &cases[i].set, 1);
        expect_error(&r, cases[i].err);
        done(&r);
    }
}

/* libbeat's spellings of compression, given to out_kafka.c by one name each */
static void test_kafka_compression(void **state)
{
    (void)state;
    static const struct {
        const char *set, *want;
    } names[] = {{"off", "none"},      {"NO", "none"},   {"None", "none"}, {"GZip", "gzip"},
                 {"snappy", "snappy"}, {"zstd", "zstd"}, {"LZ4", "lz4"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char e[64];
        snprintf(e, sizeof e, "output.kafka.compression=%s", names[i].set);
        const char *set[] = {e, "output.kafka.compression_level=12"};
        run r;
        load_kafka(&r, set, strcmp(names[i].want, "gzip") == 0 ? 1 : 2);
        expect_ok(&r);
        assert_string_equal(r.cfg->output.kafka.compression, names[i].want);
        done(&r);
    }
}

static void test_kafka_idempotent(void **state)
{
    (void)state;
    static const struct {
        const char *set[2];
        int acks;
        const char *err;
    } cases[] = {
        {{"output.kafka.idempotent=true"}, -1, NULL}, /* implied */
        {{"output.kafka.idempotent=true", "output.kafka.required_acks=-1"}, -1, NULL},
        {{"output.kafka.idempotent=false", "output.kafka.required_acks=0"}, 0, NULL},
        {{"output.kafka.idempotent=true", "output.kafka.required_acks=1"},
         0,
         "-E:4: output.kafka.required_acks: must be -1 (all replicas) with idempotent: true, got "
         "1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        load_kafka(&r, cases[i].set, cases[i].set[1] ? 2 : 1);
        if (cases[i].err) {
            expect_error(&r, cases[i].err);
        } else {
            expect_ok(&r);
            assert_int_equal(r.cfg->output.kafka.required_acks, cases[i].acks);
        }
        done(&r);
    }
}

static void test_kafka_warnings(void **state)
{
    (void)state;
    run r;
    load1(&r, "kafka-warnings.yml");
    expect_ok(&r);
    const kafka_config *k = &r.cfg->output.kafka;
    assert_null(k->sasl_mechanism);
    assert_int_equal(k->n_topics, 1);
    assert_int_equal(k->headers.n, 1);
    expect_log(&r, "kafka-warnings.yml:8: output.kafka.kerberos: Kerberos (GSSAPI) is not "
                   "supported by expvarbeat; ignored");
    expect_log(&r, "kafka-warnings.yml:10: output.kafka.channel_buffer_size: not supported by "
                   "expvarbeat; ignored");
    expect_log(&r, "kafka-warnings.yml:11: output.kafka.sasl.mechanism: ignored without username");
    expect_log(&r, "kafka-warnings.yml:12: output.kafka.codec.json.escape_html: HTML escaping is "
                   "not supported");
    expect_log(&r, "kafka-warnings.yml:13: output.kafka.codec.json.local_time: local time is not "
                   "supported by expvarbeat; ignored, @timestamp stays in UTC");
    expect_log(&r, "kafka-warnings.yml:14: output.kafka.ssl.supported_protocols: not supported");
    expect_log(&r, "kafka-warnings.yml:15: unknown key 'output.kafka.partition.hash.bogus'");
    expect_log(&r, "kafka-warnings.yml:16: unknown key 'output.kafka.colour'");
    expect_log(&r, "kafka-warnings.yml:19: unknown key 'output.kafka.topics.0.colour'");
    expect_log(&r, "kafka-warnings.yml:21: unknown key 'output.kafka.headers.0.colour'");
    done(&r);

    /* a disabled Kafka section is not read at all */
    const char *files[] = {"kafka-warnings.yml"};
    const char *ovr[] = {"output.kafka.enabled=false", "output.kafka.codec.format.string=x"};
    load(&r, NULL, files, 1, ovr, 2);
    expect_ok(&r);
    assert_int_equal(r.cfg->output.type, OUTPUT_CONSOLE);
    assert_string_equal(r.log, "");
    done(&r);
}

static void test_reference_config(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/../../conf/expvarbeat.reference.yml", data_dir());
    const char *files[] = {path};
    run r;
    load(&r, NULL, files, 1, NULL, 0);
    expect_ok(&r);
    assert_int_equal(r.cfg->n_modules, 1);
    assert_string_equal(r.cfg->modules[0].expvar_namespace, "example");
    assert_string_equal(r.log, ""); /* every key it shows is one expvarbeat reads */
    done(&r);
}

/* The reference's Kafka section with every setting line ("  #key: value")
 * uncommented must load as written: each documented key and example value
 * is one expvarbeat reads, without a warning. */
static void test_reference_kafka(void **state)
{
    (void)state;
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/../../conf/expvarbeat.reference.yml", data_dir());
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    char tmp[] = "/tmp/expvarbeat-test-kafka-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w");
    assert_non_null(out);
    fputs("metricbeat.modules:\n  - module: golang\n    hosts: [\"localhost:6060\"]\n"
          "    expvar.namespace: app\n",
          out);
    int in_kafka = 0, settings = 0;
    while (fgets(line, sizeof line, in)) {
        if (strncmp(line, "#output.", 8) == 0)
            in_kafka = strncmp(line, "#output.kafka:", 14) == 0;
        else if (line[0] == '#' && line[1] != 'o')
            in_kafka = 0; /* the next section's banner */
        char *hash = line + strspn(line, " ");
        if (!in_kafka || *hash != '#' || !(hash[1] >= 'a' && hash[1] <= 'z'))
            continue;
        memmove(hash, hash + 1, strlen(hash));
        fputs(line, out);
        settings++;
    }
    fclose(in);
    fclose(out);
    assert_true(settings >= 39); /* the section was found and read to its end */
    const char *files[] = {tmp};
    run r;
    load(&r, NULL, files, 1, NULL, 0);
    unlink(tmp);
    expect_ok(&r);
    const kafka_config *k = &r.cfg->output.kafka;
    assert_int_equal(r.cfg->output.type, OUTPUT_KAFKA);
    assert_string_equal(k->hosts.v[0], "localhost:9092");
    assert_string_equal(k->topic, "expvarbeat");
    assert_int_equal(k->ssl.enabled, 1);
    assert_string_equal(r.log, "");
    done(&r);
}

int main(void)
{
    log_set_level(LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metricbeat_layout),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes_and_periods),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_fields_typing),
        cmocka_unit_test(test_cfgval),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_other_module),
        cmocka_unit_test(test_modules_dir),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_es_stock),
        cmocka_unit_test(test_es_defaults),
        cmocka_unit_test(test_es_full),
        cmocka_unit_test(test_es_presets),
        cmocka_unit_test(test_es_api_key),
        cmocka_unit_test(test_es_dead_letter),
        cmocka_unit_test(test_es_bad_values),
        cmocka_unit_test(test_es_custom_index),
        cmocka_unit_test(test_kibana_defaults),
        cmocka_unit_test(test_kibana_full),
        cmocka_unit_test(test_kibana_credentials),
        cmocka_unit_test(test_setup_warnings),
        cmocka_unit_test(test_shutdown_timeout),
        cmocka_unit_test(test_kafka_defaults),
        cmocka_unit_test(test_kafka_empty_strings),
        cmocka_unit_test(test_kafka_full),
        cmocka_unit_test(test_kafka_metricbeat),
        cmocka_unit_test(test_kafka_topics),
        cmocka_unit_test(test_kafka_topic_errors),
        cmocka_unit_test(test_kafka_partition),
        cmocka_unit_test(test_kafka_sasl),
        cmocka_unit_test(test_kafka_tls),
        cmocka_unit_test(test_kafka_bad_values),
        cmocka_unit_test(test_kafka_compression),
        cmocka_unit_test(test_kafka_idempotent),
        cmocka_unit_test(test_kafka_warnings),
        cmocka_unit_test(test_reference_config),
        cmocka_unit_test(test_reference_kafka),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
