/* out_console: output.console — each event as one line of JSON on stdout.
 * A batch becomes one buffer and one write(2) loop on stdout's descriptor
 * (stdio is flushed first so earlier printf output stays in order), so a
 * write error maps to exact per-event results: whole lines written are OK,
 * the rest RETRY.  A line cut short by a failed write is finished before
 * anything else is written, so readers never see a torn line.
 * `pretty: true` re-renders each document indented as Go's json.Indent does
 * (number tokens pass through as text, empty containers stay "{}" / "[]"). */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "json_pretty.h"
#include "log.h"

/* How soon poll() wants another go at an unfinished line. */
#define CONSOLE_TAIL_RETRY_MS 100

typedef struct console {
    int pretty;
    buf out;      /* the current batch's bytes; kept between batches */
    buf tail;     /* rest of a line whose first part is already on stdout */
    size_t *ends; /* per event: end offset of its line in out */
    size_t ends_cap;
} console;

/* ---- pretty rendering ---------------------------------------------------- */

/* Appends the indented form of json plus "\n" to out.  Returns OUT_OK, or
 * OUT_DROP (not JSON; reason in err) or OUT_RETRY (out of memory); out is
 * left as it was on failure. */
static out_result pretty_render(const char *json, size_t len, buf *out, char *err, size_t errlen)
{
    size_t mark = out->len;
    int rc = json_pretty(json, len, out, err, errlen);
    if (rc == JSON_PRETTY_OK && buf_append(out, "\n", 1) == BUF_OK)
        return OUT_OK;
    if (rc == JSON_PRETTY_OK) { /* the document fitted, its newline did not */
        out->len = mark;
        snprintf(err, errlen, "out of memory");
        return OUT_RETRY;
    }
    return rc == JSON_PRETTY_INVALID ? OUT_DROP : OUT_RETRY;
}

/* ---- writing --------------------------------------------------------------- */

/* Writes until done or an error; *written says how far it got.  Returns 0 or
 * an errno value. */
static int write_all(int fd, const char *p, size_t n, size_t *written)
{
    *written = 0;
    while (*written < n) {
        ssize_t w = write(fd, p + *written, n - *written);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return EIO;
        *written += (size_t)w;
    }
    return 0;
}

/* Finishes a cut-short line.  Returns 0 when nothing is left of it. */
static int drain_tail(console *c)
{
    if (c->tail.len == 0)
        return 0;
    size_t written;
    int err = write_all(fileno(stdout), c->tail.data, c->tail.len, &written);
    memmove(c->tail.data, c->tail.data + written, c->tail.len - written);
    c->tail.len -= written;
    return err;
}

static int reserve_ends(console *c, size_t n)
{
    if (n <= c->ends_cap)
        return 0;
    size_t *e = realloc(c->ends, n * sizeof *e);
    if (!e)
        return -1;
    c->ends = e;
    c->ends_cap = n;
    return 0;
}

/* Lays the batch out in c->out; events that cannot be rendered get their
 * result here (DROP or RETRY) and an empty line slot. */
static void render_batch(console *c, batch *b)
{
    buf_reset(&c->out);
    for (size_t i = 0; i < b->n; i++) {
        const event_rec *ev = b->events[i];
        size_t mark = c->out.len;
        char err[256];
        out_result r = OUT_OK;
        if (c->pretty) {
            r = pretty_render(ev->json, ev->len, &c->out, err, sizeof err);
        } else if (buf_append(&c->out, ev->json, ev->len) != BUF_OK ||
                   buf_append(&c->out, "\n", 1) != BUF_OK) {
            c->out.len = mark;
            snprintf(err, sizeof err, "out of memory");
            r = OUT_RETRY;
        }
        if (r == OUT_DROP)
            log_error("console output: dropping an event: %s", err);
        else if (r == OUT_RETRY)
            log_warn("console output: cannot render an event (%s); will retry", err);
        b->results[i] = r;
        c->ends[i] = c->out.len;
    }
}

/* Results from how many bytes reached stdout.  A line cut in the middle is
 * reported OK: its remainder now lives in c->tail and goes out first. */
static size_t settle(console *c, batch *b, size_t written)
{
    size_t retried = 0, start = 0;
    for (size_t i = 0; i < b->n; start = c->ends[i], i++) {
        if (b->results[i] != OUT_OK)
            continue;
        if (c->ends[i] <= written)
            continue;
        if (start < written) {
            buf_reset(&c->tail);
            if (buf_append(&c->tail, c->out.data + written, c->ends[i] - written) == BUF_OK)
                continue;
        }
        b->results[i] = OUT_RETRY;
        retried++;
    }
    return retried;
}

static void console_publish(void *self, batch *b)
{
    console *c = self;
    fflush(stdout);
    int err = drain_tail(c);
    if (err == 0 && reserve_ends(c, b->n) != 0)
        err = ENOMEM;
    if (err != 0) {
        for (size_t i = 0; i < b->n; i++)
            b->results[i] = OUT_RETRY;
        log_warn("console output: cannot write to stdout: %s; %zu events will be retried",
                 strerror(err), b->n);
        b->done(b, b->ctx);
        return;
    }
    render_batch(c, b);
    size_t written = 0;
    err = write_all(fileno(stdout), c->out.data, c->out.len, &written);
    if (err != 0) {
        size_t retried = settle(c, b, written);
        log_warn("console output: write to stdout failed: %s; %zu events will be retried",
                 strerror(err), retried);
    }
    b->done(b, b->ctx);
}

static int console_poll(void *self)
{
    console *c = self;
    if (c->tail.len == 0)
        return -1;
    drain_tail(c);
    return c->tail.len ? CONSOLE_TAIL_RETRY_MS : -1;
}

static void *console_open(const config *cfg, loop *l, stats *st, char *err, size_t errlen)
{
    (void)l, (void)st; /* synchronous: no loop, no output-level counters */
    console *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "console output: out of memory");
        return NULL;
    }
    c->pretty = cfg->output.console.pretty;
    buf_init(&c->out, 0);
    buf_init(&c->tail, 0);
    fflush(stdout);
    return c;
}

static void console_close(void *self)
{
    console *c = self;
    if (!c)
        return;
    if (drain_tail(c) != 0)
        log_warn("console output: %zu bytes of the last line could not be written", c->tail.len);
    fflush(stdout);
    buf_free(&c->out);
    buf_free(&c->tail);
    free(c->ends);
    free(c);
}

const output_ops out_console_ops = {
    .name = "console",
    .open = console_open,
    .publish = console_publish,
    .poll = console_poll,
    .close = console_close,
};
