/* fuzz_decode: a /debug/vars body → both metricsets, the way scrape.c calls
 * them (expvar filling the heap capture, the dedup pass on repeated keys,
 * heap from the capture, with a window that carries over between inputs like
 * a target's), at max_depth 64 (the default) and 1024 (the largest allowed).
 * Invariants beyond "no crash, no leak, no UB": a success leaves a complete,
 * valid JSON document (invalid UTF-8 must have been replaced); an error
 * always has a message; heap from the capture is byte for byte heap from its
 * own parse (same rc, message and GC window). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "metricset.h"

static void check_document(yajl_gen g)
{
    const unsigned char *out;
    size_t n;
    if (yajl_gen_get_buf(g, &out, &n) != yajl_gen_status_ok)
        abort();
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    if (yajl_parse(h, out, n) != yajl_status_ok || yajl_complete_parse(h) != yajl_status_ok) {
        fprintf(stderr, "document is not valid JSON: %.*s\n", (int)(n > 2000 ? 2000 : n),
                (const char *)out);
        abort();
    }
    yajl_free(h);
}

/* One document's text, rc and message, kept for comparison. */
typedef struct result {
    int rc;
    char msg[1024];
    char *text;
    size_t len;
} result;

static yajl_gen open_doc(const char *name)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    yajl_gen_config(g, yajl_gen_validate_utf8, 0); /* as poller.c configures it */
    yajl_gen_map_open(g);
    yajl_gen_string(g, (const unsigned char *)name, strlen(name));
    return g;
}

/* Checks the invariants, keeps the text in r, frees g. */
static void close_doc(yajl_gen g, result *r)
{
    r->text = NULL;
    r->len = 0;
    if (r->rc == 0) {
        yajl_gen_map_close(g);
        check_document(g);
        const unsigned char *out;
        yajl_gen_get_buf(g, &out, &r->len);
        r->text = malloc(r->len ? r->len : 1);
        if (!r->text)
            abort();
        memcpy(r->text, out, r->len);
    } else if (r->rc != METRICSET_REPEATED_KEYS && r->msg[0] == '\0') {
        abort(); /* an error document needs error.message */
    }
    yajl_gen_free(g);
}

/* expvar as scrape.c renders it: the first pass fills the heap capture; a
 * body that repeats keys is written again by the dedup pass. */
static void run_expvar(const char *body, size_t len, const decode_limits *lim, heap_capture *cap)
{
    result r = {.msg = ""};
    yajl_gen g = open_doc("expvar");
    r.rc = metricset_expvar_emit_capture(g, body, len, lim, cap, r.msg, sizeof r.msg);
    close_doc(g, &r);
    free(r.text);
    if (r.rc != METRICSET_REPEATED_KEYS)
        return;
    r = (result){.msg = ""};
    g = open_doc("expvar");
    r.rc = metricset_expvar_emit_dedup(g, body, len, lim, r.msg, sizeof r.msg);
    close_doc(g, &r);
    free(r.text);
    if (r.rc == METRICSET_REPEATED_KEYS)
        abort(); /* the dedup pass must finish the document */
}

static heap_window window; /* a target's state lives across scrapes */

/* heap from the capture (scrape.c's path) and from its own parse: the
 * documents, errors and window must be the same either way (metricset.h). */
static void run_heap(const char *body, size_t len, const decode_limits *lim, heap_capture *cap)
{
    heap_window plain_w = window;
    result captured = {.msg = ""}, plain = {.msg = ""};
    yajl_gen g = open_doc("heap");
    captured.rc = metricset_heap_emit_captured(g, cap, body, len, &window, lim, captured.msg,
                                               sizeof captured.msg);
    close_doc(g, &captured);
    g = open_doc("heap");
    plain.rc = metricset_heap_emit(g, body, len, &plain_w, lim, plain.msg, sizeof plain.msg);
    close_doc(g, &plain);
    if (captured.rc != plain.rc || strcmp(captured.msg, plain.msg) != 0 ||
        captured.len != plain.len ||
        (plain.len && memcmp(captured.text, plain.text, plain.len) != 0) ||
        window.last_num_gc != plain_w.last_num_gc) {
        fprintf(stderr,
                "heap from the capture differs from its own parse:\n%d %s %.*s\n%d %s %.*s\n",
                captured.rc, captured.msg, (int)captured.len, captured.text ? captured.text : "",
                plain.rc, plain.msg, (int)plain.len, plain.text ? plain.text : "");
        abort();
    }
    free(captured.text);
    free(plain.text);
}

static int fuzz_decode_one(const uint8_t *data, size_t size)
{
    /* The body is exactly the bytes received: not NUL-terminated. */
    char *body = malloc(size ? size : 1);
    heap_capture *cap = heap_capture_new();
    if (!body || !cap)
        abort();
    memcpy(body, data, size);
    /* max_depth: the default, and the largest the config accepts */
    static const int depths[] = {64, 1024};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        decode_limits lim = {.max_depth = depths[i]};
        heap_capture_clear(cap);
        run_expvar(body, size, &lim, cap);
        run_heap(body, size, &lim, cap);
    }
    heap_capture_free(cap);
    free(body);
    return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved
 * inputs without libFuzzer. */
#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_decode_one(data, size);
}
#endif
