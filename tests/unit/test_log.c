/* log: the two line formats (libbeat's console text and ECS JSON), URL
 * userinfo masking, secret key names, and the periodic metrics line's
 * content: what a user reading the log or grepping it for secrets sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "log_metrics.h"
#include "redact.h"

/* 2021-02-03T04:05:06.789Z */
#define T_MS 1612325106789LL

static char *format(const log_record *r, int json)
{
    static char out[2048];
    buf b;
    buf_init(&b, 0);
    assert_int_equal(log_format(r, json, &b), 0);
    snprintf(out, sizeof out, "%s", b.data);
    buf_free(&b);
    return out;
}

static void test_text_line(void **state)
{
    (void)state;
    log_record r = {LOG_WARN, T_MS, NULL, "target down", NULL};
    assert_string_equal(format(&r, 0), "2021-02-03T04:05:06.789Z\tWARN\ttarget down\n");
    log_record m = {LOG_INFO, T_MS, "monitoring", "Non-zero metrics in the last 30s",
                    "{\"monitoring\":{\"metrics\":{\"a\":1}}}"};
    assert_string_equal(format(&m, 0), "2021-02-03T04:05:06.789Z\tINFO\t[monitoring]\t"
                                       "Non-zero metrics in the last 30s\t"
                                       "{\"monitoring\":{\"metrics\":{\"a\":1}}}\n");
}

static void test_json_line(void **state)
{
    (void)state;
    log_record r = {LOG_ERROR, T_MS, NULL, "bad \"quote\"\\ and\ttab\nnewline \x01", NULL};
    assert_string_equal(format(&r, 1),
                        "{\"log.level\":\"error\",\"@timestamp\":\"2021-02-03T04:05:06.789Z\","
                        "\"message\":\"bad \\\"quote\\\"\\\\ and\\ttab\\nnewline \\u0001\","
                        "\"service.name\":\"expvarbeat\",\"ecs.version\":\"1.6.0\"}\n");
    log_record m = {LOG_INFO, T_MS, "monitoring", "Non-zero metrics in the last 30s",
                    "{\"monitoring\":{\"metrics\":{\"a\":1}}}"};
    assert_string_equal(format(&m, 1),
                        "{\"log.level\":\"info\",\"@timestamp\":\"2021-02-03T04:05:06.789Z\","
                        "\"log.logger\":\"monitoring\","
                        "\"message\":\"Non-zero metrics in the last 30s\","
                        "\"service.name\":\"expvarbeat\","
                        "\"monitoring\":{\"metrics\":{\"a\":1}},\"ecs.version\":\"1.6.0\"}\n");
}

static void test_level_names(void **state)
{
    (void)state;
    assert_int_equal(log_level_parse("warning"), LOG_WARN);
    assert_int_equal(log_level_parse("DEBUG"), LOG_DEBUG);
    assert_int_equal(log_level_parse("verbose"), -1);
    log_record r = {LOG_WARN, T_MS, NULL, "x", NULL};
    assert_non_null(strstr(format(&r, 1), "\"log.level\":\"warn\""));
}

static const char *masked(const char *s, int bare)
{
    static char out[512];
    size_t n = redact_urls(s, bare, out, sizeof out);
    assert_int_equal(n, strlen(out));
    return out;
}

static void test_url_userinfo(void **state)
{
    (void)state;
    assert_string_equal(masked("GET http://bob:hunter2@10.0.0.1:6060/debug/vars failed", 0),
                        "GET http://[redacted]@10.0.0.1:6060/debug/vars failed");
    assert_string_equal(masked("a https://tok@h/x and http://u:p@h2:1?q=a@b", 0),
                        "a https://[redacted]@h/x and http://[redacted]@h2:1?q=a@b");
    assert_string_equal(masked("user@example.com wrote http://h/p@q", 0),
                        "user@example.com wrote http://h/p@q");
    assert_string_equal(masked("elastic:changeme@localhost:9200", 1), "[redacted]@localhost:9200");
    assert_string_equal(masked("elastic:changeme@localhost:9200", 0),
                        "elastic:changeme@localhost:9200");
    char small[12];
    size_t need = redact_urls("http://u:p@host", 0, small, sizeof small);
    assert_int_equal(need, strlen("http://[redacted]@host"));
    assert_string_equal(small, "http://[red");
}

static void test_secret_keys(void **state)
{
    (void)state;
    const char *secret[][2] = {
        {NULL, "password"},      {"elasticsearch", "api_key"}, {"ssl", "key_passphrase"},
        {"ssl", "key"},          {"sasl", "password"},         {"headers", "authorization"},
        {"headers", "Cookie"},   {"headers", "X-API-Key"},     {NULL, "bearer_token"},
        {NULL, "client_secret"}, {NULL, "PROXY_PASSWORD"}};
    const char *plain[][2] = {{NULL, "username"},     {NULL, "bearer_token_file"},
                              {"ssl", "certificate"}, {"sasl", "mechanism"},
                              {"headers", "X-Trace"}, {NULL, "key"},
                              {"kafka", "hash"},      {NULL, "hosts"}};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        assert_true(redact_key_is_secret(secret[i][0], secret[i][1]));
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        assert_false(redact_key_is_secret(plain[i][0], plain[i][1]));
}

static void test_metrics_render(void **state)
{
    (void)state;
    stats st = {0};
    uint64_t before[LOG_METRICS_MAX], after[LOG_METRICS_MAX];
    st.start_ms = 1000;
    st.published = 10;
    st.acked = 8;
    st.ms[STATS_MS_HEAP].success = 4;
    log_metrics_sample(&st, 1000, before);
    st.published = 15;
    st.acked = 8; /* did not move: not reported */
    st.queue_active = 3;
    st.ms[STATS_MS_HEAP].success = 6;
    st.ms[STATS_MS_HEAP].events = 6;
    log_metrics_sample(&st, 31000, after);
    /* the process's own cpu and rss are real: blank them for an exact text */
    for (size_t i = 0; i < 3; i++)
        before[i] = after[i] = 0;
    buf b;
    buf_init(&b, 0);
    assert_int_equal(log_metrics_render(before, after, &b), 5);
    assert_string_equal(b.data, "{\"monitoring\":{\"metrics\":{\"libbeat\":{\"pipeline\":{"
                                "\"events\":{\"active\":3,\"published\":5,\"total\":5}}},"
                                "\"metricbeat\":{\"golang\":{\"heap\":{\"events\":6,"
                                "\"success\":2}}}}}}");
    buf_reset(&b);
    /* totals: every non-zero value */
    assert_int_equal(log_metrics_render(NULL, after, &b), 8);
    assert_non_null(strstr(b.data, "\"output\":{\"events\":{\"acked\":8,\"total\":8}}"));
    buf_reset(&b);
    assert_int_equal(log_metrics_render(after, after, &b), 1); /* the gauge only */
    memset(after, 0, sizeof after);
    buf_reset(&b);
    assert_int_equal(log_metrics_render(after, after, &b), 0);
    buf_free(&b);
}

static void test_uptime_is_a_gauge(void **state)
{
    (void)state;
    stats st = {0};
    st.start_ms = 5000;
    uint64_t v[LOG_METRICS_MAX];
    log_metrics_sample(&st, 35000, v);
    buf b;
    buf_init(&b, 0);
    log_metrics_render(v, v, &b);
    assert_non_null(strstr(b.data, "\"info\":{\"uptime\":{\"ms\":30000}}"));
    buf_free(&b);
}

static void test_go_durations(void **state)
{
    (void)state;
    const struct {
        int64_t ms;
        const char *text;
    } cases[] = {{30000, "30s"},  {1000, "1s"},     {1500, "1.5s"},      {250, "250ms"},
                 {60000, "1m0s"}, {90000, "1m30s"}, {3600000, "1h0m0s"}, {61250, "1m1.25s"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char t[32];
        log_metrics_duration(cases[i].ms, t, sizeof t);
        assert_string_equal(t, cases[i].text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_line),         cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_level_names),       cmocka_unit_test(test_url_userinfo),
        cmocka_unit_test(test_secret_keys),       cmocka_unit_test(test_metrics_render),
        cmocka_unit_test(test_uptime_is_a_gauge), cmocka_unit_test(test_go_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
