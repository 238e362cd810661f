/* The queue between scrapes and the output: reservations, batching, retry
 * to the front in order, drops counted, nothing lost while there is room.
 * The output here is a scripted implementation of the output interface. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

typedef struct scripted {
    out_result next[16]; /* results for the next batch, by position */
    int script_len;
    char seen[64][16]; /* every document delivered OK, in order */
    int n_seen;
    unsigned attempts[64]; /* ev->attempts of each event offered, in order */
    int n_offered;
    int batches;
} scripted;

static scripted script;

static void *scripted_open(const config *c, loop *l, stats *st, char *err, size_t errlen)
{
    (void)c, (void)l, (void)st, (void)err, (void)errlen;
    return &script;
}

static void scripted_publish(void *self, batch *b)
{
    scripted *s = self;
    s->batches++;
    for (size_t i = 0; i < b->n; i++) {
        s->attempts[s->n_offered++] = b->events[i]->attempts;
        out_result r = (int)i < s->script_len ? s->next[i] : OUT_OK;
        b->results[i] = r;
        if (r == OUT_OK)
            snprintf(s->seen[s->n_seen++], 16, "%s", b->events[i]->json);
    }
    s->script_len = 0;
    b->done(b, b->ctx);
}

static void scripted_close(void *self)
{
    (void)self;
}

static const output_ops scripted_ops = {"scripted", scripted_open,  scripted_publish,
                                        NULL,       scripted_close, NULL};

static config small_queue(int events, int min_events)
{
    config c;
    memset(&c, 0, sizeof c);
    c.queue.events = events;
    c.queue.flush_min_events = min_events;
    c.queue.flush_timeout_ms = 1000;
    return c;
}

static void publish(pipeline *p, const char *doc, int64_t now)
{
    assert_int_equal(pipeline_reserve(p), 0);
    pipeline_publish(p, strdup(doc), strlen(doc), now);
}

static void test_reservations_bound_the_queue(void **state)
{
    (void)state;
    memset(&script, 0, sizeof script);
    config c = small_queue(3, 10);
    stats st = {0};
    char err[128];
    pipeline *p = pipeline_new(&c, &scripted_ops, NULL, &st, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(pipeline_reserve(p), 0);
    assert_int_equal(pipeline_reserve(p), 0);
    assert_int_equal(pipeline_reserve(p), 0);
    assert_int_equal(pipeline_reserve(p), -1); /* full: the scrape is skipped, not dropped */
    pipeline_unreserve(p);
    pipeline_publish(p, strdup("a"), 1, 0);
    pipeline_publish(p, strdup("b"), 1, 0);
    assert_int_equal(pipeline_reserve(p), 0); /* the unreserved slot */
    assert_int_equal(pipeline_reserve(p), -1);
    pipeline_unreserve(p);
    assert_int_equal(st.published, 2);
    pipeline_free(p); /* frees what is still queued */
}

static void test_flush_on_timeout_or_size(void **state)
{
    (void)state;
    memset(&script, 0, sizeof script);
    config c = small_queue(100, 3);
    stats st = {0};
    char err[128];
    pipeline *p = pipeline_new(&c, &scripted_ops, NULL, &st, err, sizeof err);
    publish(p, "1", 0);
    publish(p, "2", 0);
    int wait = pipeline_poll(p, 10);
    assert_int_equal(script.batches, 0); /* below min_events and before the timeout */
    assert_int_equal(wait, 990);
    publish(p, "3", 20);
    pipeline_poll(p, 20); /* min_events reached */
    assert_int_equal(script.batches, 1);
    assert_int_equal(script.n_seen, 3);
    publish(p, "4", 30);
    pipeline_poll(p, 1030); /* timeout reached */
    assert_int_equal(script.n_seen, 4);
    assert_string_equal(script.seen[3], "4");
    assert_int_equal(st.acked, 4);
    assert_int_equal(st.queue_active, 0);
    pipeline_free(p);
}

static void test_retry_keeps_order_and_drop_is_counted(void **state)
{
    (void)state;
    memset(&script, 0, sizeof script);
    config c = small_queue(100, 3);
    c.queue.flush_timeout_ms = 0;
    stats st = {0};
    char err[128];
    pipeline *p = pipeline_new(&c, &scripted_ops, NULL, &st, err, sizeof err);
    publish(p, "a", 0);
    publish(p, "b", 0);
    publish(p, "c", 0);
    script.next[0] = OUT_OK;
    script.next[1] = OUT_RETRY;
    script.next[2] = OUT_DROP;
    script.script_len = 3;
    pipeline_poll(p, 0);
    assert_int_equal(st.acked, 1);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.retried, 1);
    assert_int_equal(pipeline_pending(p), 1);
    publish(p, "d", 1);
    pipeline_poll(p, 1); /* still backing off: nothing sent */
    assert_int_equal(script.batches, 1);
    /* After the backoff, the retried event goes first, then the new one. */
    pipeline_drain(p, INT64_MAX);
    assert_int_equal(script.n_seen, 3);
    assert_string_equal(script.seen[1], "b");
    assert_string_equal(script.seen[2], "d");
    assert_int_equal(st.acked, 3);
    pipeline_free(p);
}

/* RETRY spends one of the event's attempts (max_retries); WAIT (outage,
 * overload) does not. */
static void test_wait_does_not_spend_attempts(void **state)
{
    (void)state;
    memset(&script, 0, sizeof script);
    config c = small_queue(10, 2);
    c.queue.flush_timeout_ms = 0;
    stats st = {0};
    char err[128];
    pipeline *p = pipeline_new(&c, &scripted_ops, NULL, &st, err, sizeof err);
    publish(p, "r", 0);
    publish(p, "w", 0);
    script.next[0] = OUT_RETRY;
    script.next[1] = OUT_WAIT;
    script.script_len = 2;
    pipeline_poll(p, 0);
    assert_int_equal(st.retried, 2);
    pipeline_drain(p, INT64_MAX);
    assert_int_equal(script.n_offered, 4);
    assert_int_equal(script.attempts[2], 1); /* "r" again, one attempt spent */
    assert_int_equal(script.attempts[3], 0); /* "w" again, nothing spent */
    assert_int_equal(st.acked, 2);
    pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reservations_bound_the_queue),
        cmocka_unit_test(test_flush_on_timeout_or_size),
        cmocka_unit_test(test_retry_keeps_order_and_drop_is_counted),
        cmocka_unit_test(test_wait_does_not_spend_attempts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
