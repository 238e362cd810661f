/* log: timestamped lines on stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static enum log_level current = LOG_INFO;

void log_set_level(enum log_level lvl)
{
    current = lvl;
}

enum log_level log_get_level(void)
{
    return current;
}

int log_level_parse(const char *s)
{
    static const struct {
        const char *name;
        enum log_level lvl;
    } names[] = {{"error", LOG_ERROR},
                 {"warning", LOG_WARN},
                 {"warn", LOG_WARN},
                 {"info", LOG_INFO},
                 {"debug", LOG_DEBUG}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].name) == 0)
            return (int)names[i].lvl;
    return -1;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    static const char *const label[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (lvl > current)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent writers (tests, pipes) see whole lines. */
    fprintf(stderr, "%s.%03dZ\t%s\t%s\n", ts, (int)(tv.tv_usec / 1000), label[lvl], line);
}
