/* cli_help: every command's help text, in one table, printed as cobra (and
 * so Metricbeat) prints it (Usage, Available Commands, Flags, Global Flags)
 * for `--help` and `help CMD`, and as a roff man page (section 1) for the
 * build.  The table describes the command line; main.c parses it. */
#ifndef EXPVARBEAT_CLI_HELP_H
#define EXPVARBEAT_CLI_HELP_H

#include <stddef.h>
#include <stdio.h>

/* The help of the longest command path that words start with (the root
 * when none matches). */
void cli_help_print(FILE *out, const char *const *words, size_t n_words);
/* The whole man page. */
void cli_help_man(FILE *out);

#endif
