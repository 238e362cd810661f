/* fmtstr: index names as Metricbeat would build them.  Date expectations
 * are libbeat's own dtfmt test vectors (libbeat/common/dtfmt/dtfmt_test.go),
 * quirks included; field and syntax cases follow libbeat's fmtstr
 * (formatstring.go, formatevents.go): what it accepts, what it refuses,
 * and when a missing field fails the event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fmtstr.h"

static const char DOC[] =
    "{\"@timestamp\":\"2017-01-02T04:06:07.123Z\",\"event\":{\"dataset\":\"golang.heap\","
    "\"duration\":1234},\"metricset\":{\"name\":\"heap\",\"period\":10000},"
    "\"golang\":{\"heap\":{\"gc\":{\"cpu_fraction\":7.98538053427137e-05}},"
    "\"agent\":{\"version\":\"nested, not the agent\"}},"
    "\"list\":[{\"agent\":{\"version\":\"in an array\"}}],"
    "\"fields\":{\"env\":\"\",\"enabled\":true,\"none\":null,\"obj\":{\"a\":1}},"
    "\"agent.flat\":\"dotted key\","
    "\"agent\":{\"type\":\"metricbeat\",\"version\":\"8.11.0\"}}";

static int64_t ts(int y, int mo, int d, int h, int mi, int s, int ms)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* Compiles and evaluates; returns the eval result, out holds the text. */
static int run(const char *fmt, const char *doc, int64_t t, char *out, size_t outlen)
{
    char err[256] = "";
    fmtstr *f = fmtstr_compile(fmt, err, sizeof err);
    if (!f)
        fail_msg("\"%s\" refused: %s", fmt, err);
    int n = fmtstr_eval(f, doc, strlen(doc), t, out, outlen);
    fmtstr_free(f);
    return n;
}

static void expect(const char *fmt, int64_t t, const char *want)
{
    char out[256];
    int n = run(fmt, DOC, t, out, sizeof out);
    if (n < 0)
        fail_msg("\"%s\": failed, want \"%s\"", fmt, want);
    if (strcmp(out, want) != 0 || (size_t)n != strlen(want))
        fail_msg("\"%s\": got \"%s\", want \"%s\"", fmt, out, want);
}

static void expect_missing(const char *fmt)
{
    char out[256];
    if (run(fmt, DOC, 0, out, sizeof out) != -1)
        fail_msg("\"%s\": got \"%s\", want the event to fail", fmt, out);
}

static void expect_constant(const char *fmt, int constant)
{
    char err[256];
    fmtstr *f = fmtstr_compile(fmt, err, sizeof err);
    assert_non_null(f);
    if (fmtstr_is_constant(f) != constant)
        fail_msg("\"%s\": is_constant %d, want %d", fmt, !constant, constant);
    fmtstr_free(f);
}

static void fields_from_the_document(void **state)
{
    (void)state;
    expect("expvarbeat-%{[agent.version]}", 0, "expvarbeat-8.11.0");
    expect("expvarbeat-%{[agent][version]}", 0, "expvarbeat-8.11.0");
    expect("%{[agent.type]}-%{[agent.version]}-x", 0, "metricbeat-8.11.0-x");
    expect("%{[event][dataset]}", 0, "golang.heap");
    expect("%{[agent.version] }", 0, "8.11.0"); /* libbeat trims the field */
    /* numbers and booleans as their JSON text, which is Go's */
    expect("%{[metricset.period]}", 0, "10000");
    expect("%{[golang.heap.gc.cpu_fraction]}", 0, "7.98538053427137e-05");
    expect("%{[fields.enabled]}", 0, "true");
    expect("%{[@timestamp]}", 0, "2017-01-02T04:06:07.123Z");
    /* a key written with dots is found as libbeat's mapstr finds it */
    expect("%{[agent.flat]}", 0, "dotted key");
}

static void only_the_path_matches(void **state)
{
    (void)state;
    /* same key names under golang.* and inside an array come first */
    expect("%{[agent.version]}", 0, "8.11.0");
    expect("%{[golang.agent.version]}", 0, "nested, not the agent");
    expect_missing("%{[version]}");
    expect_missing("%{[list.agent.version]}");
    expect_missing("%{[agent.version.major]}");
    expect_missing("%{[agent.ver]}");
}

static void missing_fields_and_defaults(void **state)
{
    (void)state;
    expect_missing("expvarbeat-%{[fields.missing]}");
    expect("%{[fields.missing]:prod}", 0, "prod");
    expect("%{[agent.version]:none}", 0, "8.11.0");
    expect("%{[fields.env]:prod}", 0, "prod"); /* empty string takes the default */
    expect("<%{[fields.env]}>", 0, "<>");      /* ... and is kept without one */
    expect("a%{[fields.missing]:}b", 0, "ab");
    expect("%{[fields.missing]:x\\}y\\:z}", 0, "x}y:z");
    /* null, objects and arrays have no string form: missing */
    expect_missing("%{[fields.none]}");
    expect_missing("%{[fields.obj]}");
    expect_missing("%{[list]}");
    expect("%{[fields.obj]:d}", 0, "d");
    expect("%{[fields.none]:d}", 0, "d");
    /* the same field with and without default: required */
    expect_missing("%{[fields.missing]:d}-%{[fields.missing]}");
    char out[64];
    assert_int_equal(run("%{[a]}", "not json", 0, out, sizeof out), -1);
}

static void lookup_stops_at_the_value(void **state)
{
    (void)state;
    /* nothing after the value is read: a cut document still resolves */
    const char *cut = "{\"@timestamp\":\"x\",\"agent\":{\"version\":\"8.1\"}, \x01 garbage";
    char out[64];
    assert_int_equal(run("%{[agent.version]}", cut, 0, out, sizeof out), 3);
    assert_string_equal(out, "8.1");
}

static void constant_strings(void **state)
{
    (void)state;
    expect_constant("expvarbeat-0.1.0", 1);
    expect_constant("", 1);
    expect_constant("100%", 1);
    expect_constant("\\%{[agent.version]}", 1);
    expect_constant("expvarbeat-%{[agent.version]}", 0);
    expect_constant("expvarbeat-%{+yyyy.MM.dd}", 0);
    expect("100%", 0, "100%");
    expect("a%b%", 0, "a%b%");
    expect("\\%{[agent.version]}", 0, "%{[agent.version]}");
    expect("a\\\\%{[agent.type]}", 0, "a\\metricbeat");
    expect("a}b", 0, "a}b");
    expect("trailing\\", 0, "trailing");
    expect("", 0, "");
}

static void dates_libbeat_vectors(void **state)
{
    (void)state;
    int64_t d = ts(2006, 8, 1, 0, 0, 0, 0);
    expect("%{+y.M.d}", d, "2006.8.1");
    expect("%{+yy.MM.dd}", d, "06.08.01");
    expect("%{+yyy.MMM.dd}", d, "2006.Aug.01");
    expect("%{+yyyy.MMMM.d}", d, "2006.August.1");
    expect("%{+yyyyyy.MM.ddd}", d, "002006.08.001");
    expect("%{+YYYY.MMMM.d}", d, "2006.August.1");
    expect("%{+xx.ww.e}", ts(2015, 1, 1, 0, 0, 0, 0), "15.01.4");
    expect("%{+xx.ww.e}", ts(2014, 12, 31, 0, 0, 0, 0), "15.01.3");
    expect("%{+xx.w.E}", ts(2015, 1, 1, 0, 0, 0, 0), "15.1.Thu");
    expect("%{+xxxx.w.EEEE}", ts(2014, 12, 31, 0, 0, 0, 0), "2015.1.Wednesday");
    /* ':' would be an operator inside %{...}, so the clock uses '.' here */
    int64_t am = ts(2000, 1, 1, 8, 5, 24, 0), pm = ts(2000, 1, 1, 20, 5, 24, 0);
    expect("%{+K.m.s a}", am, "8.5.24 AM");
    expect("%{+KK.mm.ss aa}", pm, "08.05.24 PM");
    expect("%{+h.m.s a}", am, "9.5.24 AM"); /* libbeat's clock hours are hour+1 */
    expect("%{+hh.mm.ss aa}", pm, "09.05.24 PM");
    expect("%{+H.m.s a}", pm, "20.5.24 PM");
    expect("%{+k.m.s a}", pm, "21.5.24 PM");
    int64_t ms = ts(2000, 1, 1, 1, 2, 3, 123);
    expect("%{+S}", ms, "1");
    expect("%{+SS}", ms, "12");
    expect("%{+SSS}", ms, "123");
    expect("%{+SSSS}", ms, "1230");
    expect("%{+'plain text'}", 0, "plain text");
    expect("%{+'plain' '' 'text'}", 0, "plain ' text");
    expect("%{+'plain '' text'}", 0, "plain ' text");
    expect("%{+--=++,_!/?[]@#$^&*()}", 0, "--=++,_!/?[]@#$^&*()");
    expect("%{+yyyy-MM-dd'T'HH.mm.ss.SSS'Z'}", ts(2017, 1, 2, 4, 6, 7, 123),
           "2017-01-02T04.06.07.123Z");
}

static void dates_utc_and_edges(void **state)
{
    (void)state;
    int64_t t = ts(2024, 5, 14, 23, 59, 59, 999);
    expect("expvarbeat-0.1.0-%{+yyyy.MM.dd}", t, "expvarbeat-0.1.0-2024.05.14");
    expect("%{+yyyy.MM.dd}", t + 1, "2024.05.15");
    expect("%{+HH}", t, "23");
    expect("%{+z}", t, "+00:00");
    expect("%{+HH:mm}", t, "23"); /* libbeat ignores operators after a date */
    expect("%{+D.DD.DDDD}", ts(2021, 2, 1, 0, 0, 0, 0), "32.032.0032");
    expect("%{+xxxx-ww-e}", ts(2021, 1, 3, 0, 0, 0, 0), "2020-53-0");
    expect("%{+xxxx-ww-e}", ts(2020, 12, 31, 0, 0, 0, 0), "2020-53-4");
    expect("%{+xxxx-ww}", ts(2019, 12, 30, 0, 0, 0, 0), "2020-01");
    expect("%{+EEE EEEE MMM}", ts(2023, 9, 17, 0, 0, 0, 0), "Sun Sunday Sep");
    expect("%{+yyyy.MM.dd}", ts(1969, 12, 31, 23, 59, 59, 500), "1969.12.31");
    expect("%{+}", 0, "");
}

static void output_must_fit(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(run("expvarbeat-%{[agent.version]}", DOC, 0, out, 17), -1);
    assert_int_equal(run("expvarbeat-%{[agent.version]}", DOC, 0, out, 18), 17);
    assert_string_equal(out, "expvarbeat-8.11.0");
    assert_int_equal(run("%{+yyyy.MM.dd}", DOC, 0, out, 10), -1);
    assert_int_equal(run("0123456789abcdef", DOC, 0, out, 16), -1);
}

static void expect_error(const char *fmt, const char *want)
{
    char err[256] = "";
    fmtstr *f = fmtstr_compile(fmt, err, sizeof err);
    if (f) {
        fmtstr_free(f);
        fail_msg("\"%s\" accepted, want error \"%s\"", fmt, want);
    }
    if (strcmp(err, want) != 0)
        fail_msg("\"%s\": error \"%s\", want \"%s\"", fmt, err, want);
}

static void syntax_errors_name_the_position(void **state)
{
    (void)state;
    expect_error("%{[agent.version]", "missing closing '}' at 0");
    expect_error("expvarbeat-%{[agent.version]", "missing closing '}' at 11");
    expect_error("x-%{[a]:", "missing closing '}' at 2");
    expect_error("x-%{[a]\\", "missing closing '}' at 2");
    expect_error("x-%{[a]%", "missing closing '}' at 2");
    expect_error("%{}", "empty format expansion at 0");
    expect_error("ab%{x}", "unsupported format expression \"x\" at 4");
    expect_error("%{ [a]}", "unsupported format expression \" [a]\" at 2");
    expect_error("%{[a]%{[b]}}", "format string variables can not be nested at 5");
    expect_error("%{[a]:x:y}", "too many format modifiers at 0");
    expect_error("%{[a]:?x}", "unsupported format operator ':?' at 0");
    expect_error("%{:x}", "unexpected format operator at 2");
    expect_error("%{[a]::x}", "consecutive format operators at 6");
    expect_error("%{[a]b}", "expected '[' to start a field name at 5");
    expect_error("%{[a][]}", "empty field name '[]' at 5");
    expect_error("%{[a}", "missing closing ']' at 2");
    expect_error("idx-%{+yyyy.qq}", "unknown date pattern letter 'q' at 12");
    expect_error("%{+yyyy.MM.dd G}", "unknown date pattern letter 'G' at 14");
    expect_error("%{+yyyy 'at}", "missing closing quote in date pattern at 8");
    /* offsets count the bytes the user wrote, escapes included */
    expect_error("%{+\\yyyq}", "unknown date pattern letter 'q' at 7");
}

static void deep_paths_are_bounded(void **state)
{
    (void)state;
    char fmt[512] = "%{[a";
    for (int i = 0; i < 64; i++)
        strcat(fmt, ".a");
    strcat(fmt, "]}");
    char err[256];
    assert_null(fmtstr_compile(fmt, err, sizeof err));
    assert_non_null(strstr(err, "deeper than 64 levels"));
    fmtstr_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_from_the_document),
        cmocka_unit_test(only_the_path_matches),
        cmocka_unit_test(missing_fields_and_defaults),
        cmocka_unit_test(lookup_stops_at_the_value),
        cmocka_unit_test(constant_strings),
        cmocka_unit_test(dates_libbeat_vectors),
        cmocka_unit_test(dates_utc_and_edges),
        cmocka_unit_test(output_must_fit),
        cmocka_unit_test(syntax_errors_name_the_position),
        cmocka_unit_test(deep_paths_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
