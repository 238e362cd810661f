/* main: the command line (run, test config, test target, version), signal
 * handling (a flag only), and the ordered start and shutdown of config →
 * identity → pipeline/output → stats endpoint → poller. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_version.h>

#include "cli_help.h"
#include "config.h"
#include "config_export.h"
#include "event.h"
#include "cmd_index.h"
#include "cmd_modules.h"
#include "kibana.h"
#include "log.h"
#include "log_metrics.h"
#include "loop.h"
#include "output.h"
#include "pipeline.h"
#include "poller.h"
#include "reload.h"
#include "stats.h"

#define MAX_ARGS 64
#define DRAIN_TIMEOUT_MS 5000

static volatile sig_atomic_t stop_flag;

typedef struct cli {
    const char *words[4]; /* positional words: "test", "target", URL */
    size_t n_words;
    const char *files[MAX_ARGS];
    const char *overrides[MAX_ARGS];
    config_opts opts;
    const char *ns, *metricsets, *ignored; /* test target options; -d selectors */
    const char *dir, *es_version;          /* export options */
    int index_management, dashboards, noilm;
    int help;        /* -h, --help */
    const char *man; /* hidden --man FILE: the man page, for the build */
} cli;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* SIGHUP: read the config again (the loop wakes up for it, see loop.h). */
static volatile sig_atomic_t reload_flag;

static void on_hup(int sig)
{
    (void)sig;
    reload_flag = 1;
}

static void usage(FILE *f)
{
    cli_help_print(f, NULL, 0);
}

/* Flags that take a value: one table instead of a strcmp chain per flag. */
static const char **value_flag(cli *c, const char *flag)
{
    const struct {
        const char *name;
        const char **slot;
    } flags[] = {
        {"--path.home", &c->opts.path_home},
        {"--path.config", &c->opts.path_config},
        {"--path.data", &c->opts.path_data},
        {"--path.logs", &c->opts.path_logs},
        {"--namespace", &c->ns},
        {"--metricsets", &c->metricsets},
        {"-d", &c->ignored},
        {"--dir", &c->dir},
        {"--es.version", &c->es_version},
        {"--man", &c->man},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(flag, flags[i].name) == 0)
            return flags[i].slot;
    return NULL;
}

/* Flags without a value. */
static int *bool_flag(cli *c, const char *flag)
{
    const struct {
        const char *name;
        int *slot;
    } flags[] = {
        {"-e", &c->opts.log_to_stderr},
        {"--index-management", &c->index_management},
        {"--dashboards", &c->dashboards},
        {"--noilm", &c->noilm},
        {"-h", &c->help},
        {"--help", &c->help},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(flag, flags[i].name) == 0)
            return flags[i].slot;
    return NULL;
}

static int append(const char **list, size_t *n, const char *v)
{
    if (*n >= MAX_ARGS)
        return -1;
    list[(*n)++] = v;
    return 0;
}

static int parse_args(cli *c, int argc, char **argv)
{
    c->opts.files = c->files;
    c->opts.overrides = c->overrides;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = value_flag(c, a);
        int *flag = bool_flag(c, a), rc = 0;
        if ((slot || !strcmp(a, "-c") || !strcmp(a, "-E")) && i + 1 >= argc) {
            fprintf(stderr, "expvarbeat: %s needs a value\n", a);
            return -1;
        }
        if (slot)
            *slot = argv[++i];
        else if (!strcmp(a, "-c"))
            rc = append(c->files, &c->opts.n_files, argv[++i]);
        else if (!strcmp(a, "-E"))
            rc = append(c->overrides, &c->opts.n_overrides, argv[++i]);
        else if (flag)
            *flag = 1;
        else if (!strcmp(a, "--strict.perms=false"))
            c->opts.no_strict_perms = 1;
        else if (!strcmp(a, "-v") || !strncmp(a, "--strict.perms", 14))
            continue; /* accepted for Metricbeat compatibility */
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "expvarbeat: unknown flag %s\n", a);
            return -1;
        } else if (c->n_words < sizeof c->words / sizeof c->words[0])
            c->words[c->n_words++] = a;
        else
            rc = -1;
        if (rc != 0) {
            fprintf(stderr, "expvarbeat: too many arguments\n");
            return -1;
        }
    }
    return 0;
}

static int cmd_is(const cli *c, const char *w0, const char *w1)
{
    return c->n_words >= 1 && !strcmp(c->words[0], w0) &&
           (!w1 || (c->n_words >= 2 && !strcmp(c->words[1], w1)));
}

static int cmd_version(void)
{
    printf("expvarbeat version %s (amd64), libcurl %s, yajl %d.%d.%d\n", EXPVARBEAT_VERSION,
           curl_version_info(CURLVERSION_NOW)->version, YAJL_MAJOR, YAJL_MINOR, YAJL_MICRO);
    return 0;
}

static int cmd_test_config(const cli *c)
{
    char err[1024];
    config *cfg = config_load(&c->opts, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    config_free(cfg);
    puts("Config OK");
    return 0;
}

static void stats_identity(stats *st, const beat_info *bi, int argc, char **argv)
{
    st->start_ms = clock_wall_ms();
    st->name = bi->name;
    st->hostname = bi->hostname;
    st->version = bi->version;
    st->ephemeral_id = bi->ephemeral_id;
    st->uuid = bi->id;
    st->argc = argc;
    st->argv = argv;
}

static void on_stats_fd(void *ctx, int fd, unsigned events)
{
    (void)fd, (void)events;
    stats_server_run(ctx);
}

/* libmicrohttpd also expires idle connections: give it a turn every second. */
typedef struct stats_tick {
    loop_timer timer;
    stats_server *srv;
} stats_tick;

static void on_stats_tick(void *ctx)
{
    stats_tick *t = ctx;
    stats_server_run(t->srv);
    loop_arm(&t->timer, loop_now_ms() + 1000);
}

static void log_started(const config *cfg, const beat_info *bi, const stats *st,
                        const stats_server *srv)
{
    if (srv)
        log_info("expvarbeat %s started: %llu scrape targets, output %s, monitoring endpoint "
                 "http://%s:%d/",
                 bi->version, (unsigned long long)st->targets, st->output_name, cfg->http.host,
                 stats_server_port(srv));
    else
        log_info("expvarbeat %s started: %llu scrape targets, output %s", bi->version,
                 (unsigned long long)st->targets, st->output_name);
}

/* Delivers what was accepted, for up to shutdown_timeout; says what is left. */
static int shutdown_flush(const config *cfg, pipeline *pl, int once)
{
    int64_t budget = cfg->shutdown_timeout_ms;
    if (once && budget < DRAIN_TIMEOUT_MS)
        budget = DRAIN_TIMEOUT_MS; /* `test target` exists to show its documents */
    size_t left = pipeline_drain(pl, loop_now_ms() + budget);
    if (left && pipeline_durable(pl)) {
        log_info("%zu events stay in the disk queue %s for the next start", left,
                 cfg->disk_queue.path);
        return 0;
    }
    if (left)
        log_error("%zu accepted events could not be delivered within shutdown_timeout (%lld ms)",
                  left, (long long)budget);
    return left ? 1 : 0;
}

/* Runs the scrape loop until a signal (or, with once, one round), then
 * delivers what was accepted before exiting. */
static int run(config *cfg, const config_opts *opts, int once, int argc, char **argv)
{
    char err[1024];
    beat_info bi;
    stats st = {0};
    stats_tick tick = {0};
    log_metrics *metrics = NULL;
    loop *l = loop_new();
    pipeline *pl = NULL;
    poller *p = NULL;
    reloader *rl = NULL;
    int rc = 1;
    if (once)
        cfg->disk_queue.enabled = 0; /* a one-shot check never takes a daemon's spool */
    if (!l || beat_info_init(&bi, cfg, !once, err, sizeof err) != 0)
        goto fail;
    stats_identity(&st, &bi, argc, argv);
    if (!(pl = pipeline_new(cfg, output_ops_for(cfg->output.type), l, &st, err, sizeof err)))
        goto fail;
    if (cfg->http.enabled) {
        if (!(tick.srv = stats_server_new(cfg->http.host, cfg->http.port, &st, err, sizeof err)))
            goto fail;
        loop_watch(l, stats_server_fd(tick.srv), LOOP_IN, on_stats_fd, tick.srv);
        loop_timer_add(l, &tick.timer, on_stats_tick, &tick);
        loop_arm(&tick.timer, loop_now_ms() + 1000);
    }
    if (!(p = poller_new(cfg, &bi, pl, &st, l, err, sizeof err)))
        goto fail;
    if (!once)
        log_started(cfg, &bi, &st, tick.srv);
    if (!once && cfg->logging.metrics_enabled)
        metrics = log_metrics_start(l, &st, cfg->logging.metrics_period_ms);
    poller_start(p, once);
    if (!once && opts && !(rl = reloader_new(opts, p, &st, l)))
        log_warn("cannot watch the configuration for changes: out of memory");
    while (!stop_flag && !poller_finished(p)) {
        loop_run_once(l, -1, &stop_flag);
        if (reload_flag && rl && !stop_flag) {
            reload_flag = 0;
            reloader_request(rl);
        }
    }
    reloader_free(rl);
    rl = NULL;
    poller_free(p); /* scrapes in flight were never accepted: abort them */
    p = NULL;
    rc = shutdown_flush(cfg, pl, once) || (once && st.ms[0].failures + st.ms[1].failures);
    pipeline_free(pl); /* closes the output: its last log lines come before ours */
    pl = NULL;
    log_metrics_stop(metrics);
    metrics = NULL;
    if (!once)
        log_info("expvarbeat stopped: %llu events published, %llu acked, %llu dropped",
                 (unsigned long long)st.published, (unsigned long long)st.acked,
                 (unsigned long long)st.dropped);
    goto out;
fail:
    log_error("%s", err);
    if (!log_on_stderr()) /* as Metricbeat: a fatal error also reaches the terminal */
        fprintf(stderr, "Exiting: %s\n", err);
out:
    log_metrics_stop(metrics);
    reloader_free(rl);
    poller_free(p);
    if (tick.srv) {
        loop_timer_remove(l, &tick.timer);
        loop_unwatch(l, stats_server_fd(tick.srv));
        stats_server_free(tick.srv);
    }
    pipeline_free(pl);
    loop_free(l);
    return rc;
}

static int setup_dashboards(const config *cfg)
{
    char err[2048];
    if (kibana_setup_dashboards(cfg, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "Exiting: %s\n", err);
        return 1;
    }
    return 0;
}

static int config_has_targets(const config *c)
{
    for (size_t i = 0; i < c->n_modules; i++)
        if (c->modules[i].enabled && (c->modules[i].hosts.n || c->modules[i].hosts_file) &&
            c->modules[i].metricsets)
            return 1;
    return c->reload.enabled; /* modules may come later, from modules.d */
}

/* logging.*: only `run` logs anywhere but stderr, once its config is known. */
static int setup_logging(const config *cfg)
{
    char err[1024];
    const log_setup_opts o = {
        .to_stderr = cfg->log_to_stderr,
        .json = cfg->logging.json,
        .to_files = cfg->logging.to_files,
        .files = {cfg->logging.path, cfg->logging.name, cfg->logging.keepfiles,
                  cfg->logging.rotateeverybytes, cfg->logging.permissions},
    };
    if (log_setup(&o, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "Exiting: %s\n", err);
    return -1;
}

static int cmd_run(const cli *c, int argc, char **argv)
{
    char err[1024];
    config *cfg = config_load(&c->opts, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    log_set_level((enum log_level)cfg->log_level);
    if (!config_has_targets(cfg)) {
        /* Metricbeat's words: there is nothing to do, so say so and stop. */
        fprintf(stderr, "no modules or inputs enabled and configuration reloading disabled. "
                        "What files do you want me to watch?\n");
        config_free(cfg);
        return 1;
    }
    if (setup_logging(cfg) != 0) {
        config_free(cfg);
        return 1;
    }
    /* setup.dashboards.enabled: Metricbeat imports them before it starts. */
    int rc = cfg->setup.dashboards.enabled ? setup_dashboards(cfg) : 0;
    if (rc == 0)
        rc = run(cfg, &c->opts, 0, argc, argv);
    log_close();
    config_free(cfg);
    return rc;
}

static int cmd_test_target(cli *c, int argc, char **argv)
{
    char err[1024];
    if (c->n_words < 3) {
        usage(stderr);
        return 1;
    }
    config *cfg =
        config_for_target(c->words[2], c->ns ? c->ns : "expvar",
                          c->metricsets ? c->metricsets : "expvar,heap", &c->opts, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    log_set_level((enum log_level)cfg->log_level);
    int rc = run(cfg, NULL, 1, argc, argv);
    config_free(cfg);
    return rc;
}

/* The export commands work without a config file, on the defaults, when
 * none was named and the default one does not exist. */
static int default_config_missing(const cli *c)
{
    char path[4096];
    const char *dir = c->opts.path_config ? c->opts.path_config
                      : c->opts.path_home ? c->opts.path_home
                                          : ".";
    snprintf(path, sizeof path, "%s/expvarbeat.yml", dir);
    return c->opts.n_files == 0 && access(path, F_OK) != 0;
}

/* Commands that need only a loaded config; the config is freed after. */
static int with_config(const cli *c, int (*fn)(const cli *c, const config *cfg))
{
    char err[1024];
    static const char *empty[] = {"/dev/null"};
    config_opts opts = c->opts;
    if (cmd_is(c, "export", NULL) && default_config_missing(c)) {
        opts.files = empty;
        opts.n_files = 1;
    }
    config *cfg = config_load(&opts, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    log_set_level((enum log_level)cfg->log_level);
    int rc = fn(c, cfg);
    config_free(cfg);
    return rc;
}

static int do_test_output(const cli *c, const config *cfg)
{
    (void)c;
    const output_ops *ops = output_ops_for(cfg->output.type);
    if (!ops || !ops->test) {
        printf("%s: nothing to test\n", ops ? ops->name : "output");
        return 0;
    }
    return ops->test(cfg, stdout);
}

/* As Metricbeat: no flag means index management and dashboards. */
static int do_setup(const cli *c, const config *cfg)
{
    int all = !c->index_management && !c->dashboards;
    if ((all || c->index_management) && cmd_setup_index(cfg, stdout) != 0)
        return 1;
    if (all || c->dashboards)
        return setup_dashboards(cfg);
    return 0;
}

static int do_export_dashboards(const cli *c, const config *cfg)
{
    (void)c, (void)cfg;
    char err[512];
    if (kibana_export(stdout, err, sizeof err) != 0) {
        fprintf(stderr, "Error exporting dashboards: %s\n", err);
        return 1;
    }
    return 0;
}

static int do_export_template(const cli *c, const config *cfg)
{
    return cmd_export_template(cfg, c->noilm, c->dir, stdout);
}

static int do_export_ilm(const cli *c, const config *cfg)
{
    return cmd_export_ilm_policy(cfg, c->dir, stdout);
}

/* Reads the settings tree itself: with_config's struct has resolved away
 * what the user wrote. */
static int cmd_export_config(const cli *c)
{
    char err[1024];
    static const char *empty[] = {"/dev/null"};
    config_opts opts = c->opts;
    if (default_config_missing(c)) {
        opts.files = empty;
        opts.n_files = 1;
    }
    cfgval *tree = config_load_tree(&opts, err, sizeof err);
    int rc = tree ? config_export_yaml(tree, stdout, err, sizeof err) : -1;
    if (rc != 0)
        fprintf(stderr, "Exiting: %s\n", err);
    cfgval_free(tree);
    return rc ? 1 : 0;
}

/* --help, help CMD, and the build's --man FILE. */
static int cmd_help(const cli *c)
{
    if (c->man) {
        FILE *f = strcmp(c->man, "-") ? fopen(c->man, "w") : stdout;
        if (!f) {
            perror(c->man);
            return 1;
        }
        cli_help_man(f);
        return (f == stdout ? fflush(f) : fclose(f)) == 0 ? 0 : 1;
    }
    /* `help test config` is `test config --help`; `help --help` is help's own */
    int skip = cmd_is(c, "help", NULL) && !c->help;
    cli_help_print(stdout, c->words + skip, c->n_words - (size_t)skip);
    return 0;
}

static int do_modules(const cli *c, const config *cfg)
{
    return cmd_modules(cfg, (int)c->n_words, c->words, stdout, stderr);
}

static int run_command(cli *c, int argc, char **argv)
{
    static const struct {
        const char *w0, *w1;
        int (*fn)(const cli *c, const config *cfg);
    } config_commands[] = {
        {"test", "output", do_test_output},
        {"setup", NULL, do_setup},
        {"export", "template", do_export_template},
        {"export", "ilm-policy", do_export_ilm},
        {"export", "dashboards", do_export_dashboards},
    };
    if (c->help || c->man || cmd_is(c, "help", NULL))
        return cmd_help(c);
    if (cmd_is(c, "export", "config"))
        return cmd_export_config(c);
    if (c->n_words == 0 || cmd_is(c, "run", NULL))
        return cmd_run(c, argc, argv);
    if (cmd_is(c, "version", NULL))
        return cmd_version();
    if (cmd_is(c, "test", "config"))
        return cmd_test_config(c);
    if (cmd_is(c, "test", "target"))
        return cmd_test_target(c, argc, argv);
    if (cmd_is(c, "modules", NULL))
        return with_config(c, do_modules);
    for (size_t i = 0; i < sizeof config_commands / sizeof config_commands[0]; i++)
        if (cmd_is(c, config_commands[i].w0, config_commands[i].w1))
            return with_config(c, config_commands[i].fn);
    fprintf(stderr, "expvarbeat: unknown command '%s'\n", c->words[0]);
    usage(stderr);
    return 1;
}

int main(int argc, char **argv)
{
    cli c = {0};
    if (parse_args(&c, argc, argv) != 0) {
        usage(stderr);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct sigaction hup = {.sa_handler = on_hup};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = run_command(&c, argc, argv);
    curl_global_cleanup();
    return rc;
}
