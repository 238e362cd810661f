/* cli_help: the command table and its two renderings (see cli_help.h). */
#include "cli_help.h"

#include <string.h>

typedef struct cli_flag {
    const char *name; /* as typed: "-c", "--path.home" */
    const char *arg;  /* value placeholder, NULL for a switch */
    const char *help;
} cli_flag;

enum { MAX_FLAGS = 6 };

typedef struct cli_command {
    const char *path; /* words after "expvarbeat"; "" is the root */
    const char *args; /* what follows the path in Usage, before [flags] */
    const char *short_help;
    const char *long_help; /* NULL: the short one */
    cli_flag flags[MAX_FLAGS];
} cli_command;

/* Accepted by every command (cobra's persistent flags). */
static const cli_flag global_flags[] = {
    {"-E", "setting=value", "Configuration overwrite"},
    {"-c", "string", "Configuration file, relative to path.config (default \"expvarbeat.yml\")"},
    {"-d", "string", "Enable certain debug selectors (accepted, ignored)"},
    {"-e", NULL, "Log to stderr and disable file output"},
    {"--path.config", "string", "Configuration path"},
    {"--path.data", "string", "Data path"},
    {"--path.home", "string", "Home path"},
    {"--path.logs", "string", "Logs path"},
    {"--strict.perms", NULL,
     "Strict permission checking on config files (default true; --strict.perms=false to "
     "turn off)"},
    {"-v", NULL, "Log at INFO level (accepted, ignored: logging.level decides)"},
};

static const cli_command commands[] = {
    {"",
     NULL,
     "Polls Go expvar endpoints and ships Metricbeat-compatible documents",
     "expvarbeat replaces Metricbeat's golang module: it polls Go /debug/vars endpoints and "
     "ships golang.expvar and golang.heap documents identical to Metricbeat's to the console, "
     "files, Elasticsearch or Kafka. With no command it runs the daemon.",
     {{0}}},
    {"run",
     NULL,
     "Run expvarbeat",
     "Runs the daemon: scrapes every enabled golang module's hosts each period and publishes "
     "the documents to the configured output until SIGINT or SIGTERM. Logs go to files in "
     "path.logs unless -e or logging.to_stderr is given.",
     {{0}}},
    {"test", NULL, "Test config", NULL, {{0}}},
    {"test config",
     NULL,
     "Test configuration settings",
     "Loads the configuration (files, -E overrides, modules.d) and prints \"Config OK\", or "
     "the first problem with its file, line and key, and exits 1.",
     {{0}}},
    {"test output",
     NULL,
     "Test expvarbeat can connect to the output by using the current settings",
     NULL,
     {{0}}},
    {"test target",
     "URL",
     "Scrape one Go expvar URL once and print its documents",
     "Scrapes URL once with the chosen metricsets, as the daemon would, and prints the "
     "documents on stdout. Exits 1 when a scrape failed.",
     {{"--metricsets", "string", "Comma-separated metricsets (default \"expvar,heap\")"},
      {"--namespace", "string", "expvar.namespace of the documents (default \"expvar\")"}}},
    {"setup",
     NULL,
     "Setup index template, ILM policy and dashboards",
     "Loads the ILM policy, index template and data stream into Elasticsearch and the "
     "dashboards into Kibana. Without flags it does all of them.",
     {{"--dashboards", NULL, "Setup dashboards"},
      {"--index-management", NULL,
       "Setup all components related to Elasticsearch index management"}}},
    {"export",
     NULL,
     "Export current config, index template, ILM policy or dashboards",
     NULL,
     {{0}}},
    {"export config",
     NULL,
     "Export current config to stdout",
     "Prints the merged configuration (-c files and -E overrides, ${VAR} expanded) as YAML. "
     "Passwords, API keys, tokens, credential headers, TLS keys and the userinfo of URLs are "
     "printed as \"[redacted]\".",
     {{0}}},
    {"export template",
     NULL,
     "Export index template to stdout",
     NULL,
     {{"--dir", "string",
       "Specify directory for printing template files. By default templates "
       "are printed to stdout."},
      {"--es.version", "string", "Elasticsearch version"},
      {"--noilm", NULL, "Generate template with ILM disabled"}}},
    {"export ilm-policy",
     NULL,
     "Export ILM policy",
     NULL,
     {{"--dir", "string",
       "Specify directory for printing policy files. By default policies are "
       "printed to stdout."}}},
    {"export dashboards", NULL, "Export the built-in dashboards to stdout", NULL, {{0}}},
    {"modules", NULL, "Manage configured modules", NULL, {{0}}},
    {"modules list",
     NULL,
     "List modules",
     "Lists the modules in modules.d: enabled (NAME.yml) and disabled (NAME.yml.disabled).",
     {{0}}},
    {"modules enable", "MODULE...", "Enable one or more given modules", NULL, {{0}}},
    {"modules disable", "MODULE...", "Disable one or more given modules", NULL, {{0}}},
    {"version", NULL, "Show current version info", NULL, {{0}}},
    {"help",
     "[command]",
     "Help about any command",
     "Help provides help for any command in the application. Simply type expvarbeat help "
     "[path to command] for full details.",
     {{0}}},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])
#define N_GLOBAL (sizeof global_flags / sizeof global_flags[0])

/* Length of path's first n words ("" → 0). */
static size_t words_len(const char *path, size_t n)
{
    const char *p = path;
    for (size_t i = 0; i < n && *p; i++) {
        p += strcspn(p, " ");
        if (i + 1 < n && *p)
            p++;
    }
    return (size_t)(p - path);
}

static size_t depth(const char *path)
{
    size_t d = *path ? 1 : 0;
    for (; *path; path++)
        d += *path == ' ';
    return d;
}

static int path_is(const char *path, const char *const *words, size_t n)
{
    if (depth(path) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t wl = strlen(words[i]);
        if (strncmp(path, words[i], wl) != 0 || (path[wl] != ' ' && path[wl] != '\0'))
            return 0;
        path += wl + (path[wl] == ' ');
    }
    return 1;
}

static const cli_command *lookup(const char *const *words, size_t n)
{
    for (size_t k = n;; k--) {
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (path_is(commands[i].path, words, k))
                return &commands[i];
        if (k == 0)
            return &commands[0];
    }
}

static int is_child(const cli_command *parent, const cli_command *c)
{
    size_t pl = strlen(parent->path), d = depth(parent->path);
    return depth(c->path) == d + 1 && strncmp(c->path, parent->path, pl) == 0 &&
           words_len(c->path, d) == pl;
}

static const char *last_word(const char *path)
{
    const char *sp = strrchr(path, ' ');
    return sp ? sp + 1 : path;
}

static size_t n_flags(const cli_command *c)
{
    size_t n = 0;
    while (n < MAX_FLAGS && c->flags[n].name)
        n++;
    return n;
}

static void print_flag(FILE *out, const cli_flag *f)
{
    char left[64];
    /* cobra's layout: one-letter flags at column 2, long ones at column 6 */
    snprintf(left, sizeof left, "%s%s%s%s", f->name[1] == '-' ? "    " : "", f->name,
             f->arg ? " " : "", f->arg ? f->arg : "");
    fprintf(out, "  %-30s %s\n", left, f->help);
}

static void print_children(FILE *out, const cli_command *c)
{
    int any = 0;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (!is_child(c, &commands[i]))
            continue;
        if (!any++)
            fputs("\nAvailable Commands:\n", out);
        fprintf(out, "  %-12s %s\n", last_word(commands[i].path), commands[i].short_help);
    }
}

void cli_help_print(FILE *out, const char *const *words, size_t n_words)
{
    const cli_command *c = lookup(words, n_words);
    const char *sep = *c->path ? " " : "";
    int root = c == &commands[0];
    int has_children = 0;
    for (size_t i = 0; i < N_COMMANDS; i++)
        has_children |= is_child(c, &commands[i]);
    fprintf(out, "%s\n\nUsage:\n", c->long_help ? c->long_help : c->short_help);
    /* a group (test, export, modules) only leads to its subcommands */
    if (root || !has_children)
        fprintf(out, "  expvarbeat%s%s%s%s [flags]\n", sep, c->path, c->args ? " " : "",
                c->args ? c->args : "");
    if (has_children)
        fprintf(out, "  expvarbeat%s%s [command]\n", sep, c->path);
    print_children(out, c);
    fputs("\nFlags:\n", out);
    for (size_t i = 0; i < n_flags(c); i++)
        print_flag(out, &c->flags[i]);
    fprintf(out, "  %-30s help for %s\n", "-h, --help", root ? "expvarbeat" : last_word(c->path));
    if (root)
        for (size_t i = 0; i < N_GLOBAL; i++)
            print_flag(out, &global_flags[i]);
    else {
        fputs("\nGlobal Flags:\n", out);
        for (size_t i = 0; i < N_GLOBAL; i++)
            print_flag(out, &global_flags[i]);
    }
    if (has_children)
        fprintf(out,
                "\nUse \"expvarbeat%s%s [command] --help\" for more information about a "
                "command.\n",
                sep, c->path);
}

/* roff text: backslashes and dashes escaped, no line starting with a dot. */
static void roff(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static void man_flag(FILE *out, const cli_flag *f)
{
    fputs(".TP\n\\fB", out);
    roff(out, f->name);
    fputs("\\fR", out);
    if (f->arg) {
        fputs(" \\fI", out);
        roff(out, f->arg);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    roff(out, f->help);
    fputc('\n', out);
}

static void man_command(FILE *out, const cli_command *c)
{
    fputs(".SS \"expvarbeat ", out);
    roff(out, c->path);
    if (c->args) {
        fputc(' ', out);
        roff(out, c->args);
    }
    fputs("\"\n", out);
    roff(out, c->long_help ? c->long_help : c->short_help);
    fputc('\n', out);
    if (n_flags(c))
        fputs(".RS\n", out);
    for (size_t i = 0; i < n_flags(c); i++)
        man_flag(out, &c->flags[i]);
    if (n_flags(c))
        fputs(".RE\n", out);
}

void cli_help_man(FILE *out)
{
    fputs(".TH EXPVARBEAT 1 \"\" \"expvarbeat " EXPVARBEAT_VERSION "\" \"User Commands\"\n"
          ".SH NAME\nexpvarbeat \\- ",
          out);
    roff(out, commands[0].short_help);
    fputs("\n.SH SYNOPSIS\n.B expvarbeat\n[\\fIcommand\\fR] [\\fIflags\\fR]\n"
          ".SH DESCRIPTION\n",
          out);
    roff(out, commands[0].long_help);
    fputs("\n.SH COMMANDS\n", out);
    for (size_t i = 1; i < N_COMMANDS; i++)
        man_command(out, &commands[i]);
    fputs(".SH GLOBAL FLAGS\n", out);
    for (size_t i = 0; i < N_GLOBAL; i++)
        man_flag(out, &global_flags[i]);
    fputs(".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nHelp for the command.\n"
          ".SH FILES\n.TP\n.I expvarbeat.yml\nThe configuration, in path.config.\n"
          ".TP\n.I modules.d/*.yml\nOne file per enabled module.\n"
          ".TP\n.I <path.logs>/expvarbeat\\-YYYYMMDD.ndjson\nThe log, ECS JSON lines, rotated.\n"
          ".SH SEE ALSO\nThe README and docs/ARCHITECTURE.md of the source tree.\n",
          out);
}
