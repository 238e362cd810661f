/* log: level filter, text and ECS JSON lines, stderr or files (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "buf.h"
#include "redact.h"

#define LINE_MAX_BYTES 8192
/* libbeat 8 writes this ECS version into its own log lines. */
#define LOG_ECS_VERSION "1.6.0"

static struct {
    enum log_level level;
    int to_stderr, json;
    log_files *files;
} L = {LOG_INFO, 1, 0, NULL};

void log_set_level(enum log_level lvl)
{
    L.level = lvl;
}

enum log_level log_get_level(void)
{
    return L.level;
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

static int put_timestamp(buf *out, int64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    char ts[48];
    gmtime_r(&sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(ms % 1000));
    return buf_append_str(out, ts);
}

/* A JSON string; control bytes escaped, other bytes as they are. */
static int put_json_string(buf *out, const char *s)
{
    int rc = buf_append(out, "\"", 1);
    for (; *s && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (c == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else if (c < 0x20)
            snprintf(esc, sizeof esc, "\\u%04x", c);
        else {
            rc = buf_append(out, s, 1);
            continue;
        }
        rc = buf_append_str(out, esc);
    }
    return rc ? rc : buf_append(out, "\"", 1);
}

static int put_member(buf *out, const char *key, const char *value)
{
    int rc = buf_append(out, ",", 1);
    if (!rc)
        rc = put_json_string(out, key);
    if (!rc)
        rc = buf_append(out, ":", 1);
    return rc ? rc : put_json_string(out, value);
}

/* The members of the object text extra, after a comma; nothing if empty. */
static int put_extra_members(buf *out, const char *extra)
{
    const char *open = strchr(extra, '{'), *close = strrchr(extra, '}');
    if (!open || !close || close <= open + 1)
        return 0;
    int rc = buf_append(out, ",", 1);
    return rc ? rc : buf_append(out, open + 1, (size_t)(close - open - 1));
}

static int format_json(const log_record *r, buf *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    int rc = buf_append_str(out, "{\"log.level\":\"");
    rc = rc ? rc : buf_append_str(out, names[r->level]);
    rc = rc ? rc : buf_append_str(out, "\",\"@timestamp\":\"");
    rc = rc ? rc : put_timestamp(out, r->time_ms);
    rc = rc ? rc : buf_append(out, "\"", 1);
    if (!rc && r->logger)
        rc = put_member(out, "log.logger", r->logger);
    rc = rc ? rc : put_member(out, "message", r->message);
    rc = rc ? rc : put_member(out, "service.name", "expvarbeat");
    if (!rc && r->extra_json)
        rc = put_extra_members(out, r->extra_json);
    rc = rc ? rc : put_member(out, "ecs.version", LOG_ECS_VERSION);
    return rc ? rc : buf_append_str(out, "}\n");
}

static int format_text(const log_record *r, buf *out)
{
    static const char *const labels[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    int rc = put_timestamp(out, r->time_ms);
    rc = rc ? rc : buf_append(out, "\t", 1);
    rc = rc ? rc : buf_append_str(out, labels[r->level]);
    if (!rc && r->logger) {
        rc = buf_append_str(out, "\t[");
        rc = rc ? rc : buf_append_str(out, r->logger);
        rc = rc ? rc : buf_append(out, "]", 1);
    }
    rc = rc ? rc : buf_append(out, "\t", 1);
    rc = rc ? rc : buf_append_str(out, r->message);
    if (!rc && r->extra_json) {
        rc = buf_append(out, "\t", 1);
        rc = rc ? rc : buf_append_str(out, r->extra_json);
    }
    return rc ? rc : buf_append(out, "\n", 1);
}

int log_format(const log_record *r, int json, buf *out)
{
    return json ? format_json(r, out) : format_text(r, out);
}

__attribute__((format(printf, 4, 0))) static void
emit(enum log_level lvl, const char *logger, const char *extra, const char *fmt, va_list ap)
{
    char raw[LINE_MAX_BYTES], msg[LINE_MAX_BYTES];
    struct timeval tv;
    vsnprintf(raw, sizeof raw, fmt, ap);
    redact_urls(raw, 0, msg, sizeof msg);
    gettimeofday(&tv, NULL);
    log_record r = {lvl, (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, logger, msg, extra};
    buf line;
    buf_init(&line, 0);
    /* One write per line so concurrent writers (tests, pipes) see whole lines. */
    if (L.to_stderr && log_format(&r, L.json, &line) == 0)
        fwrite(line.data, 1, line.len, stderr);
    else if (L.files) {
        buf_reset(&line);
        if (log_format(&r, 1, &line) == 0)
            log_files_write(L.files, line.data, line.len);
    }
    buf_free(&line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > L.level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(lvl, NULL, NULL, fmt, ap);
    va_end(ap);
}

void log_event(enum log_level lvl, const char *logger, const char *extra_json, const char *fmt, ...)
{
    if (lvl > L.level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(lvl, logger, extra_json, fmt, ap);
    va_end(ap);
}

int log_setup(const log_setup_opts *o, char *err, size_t errlen)
{
    log_close();
    L.to_stderr = o->to_stderr;
    L.json = o->json;
    if (!o->to_stderr && o->to_files && !(L.files = log_files_open(&o->files, err, errlen))) {
        L.to_stderr = 1;
        L.json = 0;
        return -1;
    }
    return 0;
}

void log_close(void)
{
    log_files_close(L.files);
    L.files = NULL;
    L.to_stderr = 1;
    L.json = 0;
}

int log_on_stderr(void)
{
    return L.to_stderr;
}
