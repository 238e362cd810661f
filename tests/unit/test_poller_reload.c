/* The poller's target set: one fetch serving both metricsets when their
 * URLs match, and reloads that keep unchanged targets (same object: same
 * schedule, GC window and health), replace changed ones, drop removed ones,
 * and reject a bad config without touching what runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "poller_rig.h"

static void test_one_fetch_serves_both_metricsets(void **state)
{
    (void)state;
    rig r;
    int rc = rig_start(&r,
                       "expvarbeat.modules:\n"
                       "- module: golang\n"
                       "  metricsets: [expvar, heap]\n"
                       "  expvar.namespace: app\n"
                       "  hosts: ['127.0.0.1:1', '127.0.0.1:2']\n"
                       "- module: golang\n"
                       "  metricsets: [expvar, heap]\n"
                       "  expvar.namespace: other\n"
                       "  heap.path: /debug/heap\n"
                       "  hosts: ['127.0.0.1:3']\n"
                       "output.console: {}\n",
                       NULL, 0);
    if (rc)
        fail_msg("%s", r.err);
    seen v;
    rig_targets(&r, &v);
    assert_int_equal(v.n, 4);
    assert_int_equal(r.st.targets, 4);
    assert_non_null(rig_find(&v, "http://127.0.0.1:1/debug/vars", "expvar,heap"));
    assert_non_null(rig_find(&v, "http://127.0.0.1:2/debug/vars", "expvar,heap"));
    /* different paths: two fetches, as Metricbeat makes */
    assert_non_null(rig_find(&v, "http://127.0.0.1:3/debug/vars", "expvar"));
    assert_non_null(rig_find(&v, "http://127.0.0.1:3/debug/heap", "heap"));
    rig_stop(&r);
}

static const char base_yaml[] = "expvarbeat.modules:\n"
                                "- module: golang\n"
                                "  metricsets: [expvar, heap]\n"
                                "  expvar.namespace: a\n"
                                "  hosts: ['127.0.0.1:1', '127.0.0.1:2']\n"
                                "- module: golang\n"
                                "  metricsets: [expvar]\n"
                                "  expvar.namespace: b\n"
                                "  period: 10s\n"
                                "  hosts: ['127.0.0.1:3']\n"
                                "output.console: {}\n";

static void test_reload_adds_changes_removes(void **state)
{
    (void)state;
    rig r;
    if (rig_start(&r, base_yaml, NULL, 0))
        fail_msg("%s", r.err);
    seen before, after;
    rig_targets(&r, &before);
    assert_int_equal(before.n, 3);
    const tstatus *kept = rig_find(&before, "http://127.0.0.1:1/debug/vars", "expvar,heap");
    const tstatus *changed = rig_find(&before, "http://127.0.0.1:3/debug/vars", "expvar");
    assert_non_null(kept);
    assert_non_null(changed);

    config *c = rig_load(&r,
                         "# a comment moves every line down\n"
                         "expvarbeat.modules:\n"
                         "- module: golang\n"
                         "  metricsets: [expvar, heap]\n"
                         "  expvar.namespace: a\n"
                         "  hosts: ['127.0.0.1:1', '127.0.0.1:4']\n"
                         "- module: golang\n"
                         "  metricsets: [expvar]\n"
                         "  expvar.namespace: b\n"
                         "  period: 5s\n"
                         "  hosts: ['127.0.0.1:3']\n"
                         "output.console: {}\n",
                         NULL, 0);
    if (!c)
        fail_msg("%s", r.err);
    assert_int_equal(poller_reload(r.p, c, r.err, sizeof r.err), 0);
    assert_ptr_equal(poller_config(r.p), c);
    rig_targets(&r, &after);
    assert_int_equal(after.n, 3);
    assert_int_equal(r.st.targets, 3);
    /* unchanged: the very same target, only moved lines in the file */
    assert_ptr_equal(rig_find(&after, "http://127.0.0.1:1/debug/vars", "expvar,heap"), kept);
    /* removed and added */
    assert_null(rig_find(&after, "http://127.0.0.1:2/debug/vars", "expvar,heap"));
    assert_non_null(rig_find(&after, "http://127.0.0.1:4/debug/vars", "expvar,heap"));
    /* changed period: replaced by a new target with the new period */
    const tstatus *now = rig_find(&after, "http://127.0.0.1:3/debug/vars", "expvar");
    assert_non_null(now);
    assert_int_equal(now->period_ms, 5000);

    /* the same config again: nothing changes */
    c = rig_load(&r, base_yaml, NULL, 0);
    assert_int_equal(poller_reload(r.p, c, r.err, sizeof r.err), 0);
    c = rig_load(&r, base_yaml, NULL, 0);
    rig_targets(&r, &before);
    assert_int_equal(poller_reload(r.p, c, r.err, sizeof r.err), 0);
    rig_targets(&r, &after);
    assert_int_equal(after.n, 3);
    for (size_t i = 0; i < before.n; i++)
        assert_non_null(rig_find(&after, before.s[i]->address, before.s[i]->metricsets));
    for (size_t i = 0; i < after.n; i++)
        assert_ptr_equal(after.s[i],
                         rig_find(&before, after.s[i]->address, after.s[i]->metricsets));
    rig_stop(&r);
}

static void test_bad_reload_keeps_running_set(void **state)
{
    (void)state;
    rig r;
    if (rig_start(&r, base_yaml, NULL, 0))
        fail_msg("%s", r.err);
    seen before, after;
    rig_targets(&r, &before);
    config *c = rig_load(&r,
                         "expvarbeat.modules:\n"
                         "- module: golang\n"
                         "  metricsets: [expvar]\n"
                         "  expvar.namespace: a\n"
                         "  hosts: ['127.0.0.1:1', 'http://127.0.0.1:port']\n"
                         "output.console: {}\n",
                         NULL, 0);
    assert_non_null(c);
    assert_int_equal(poller_reload(r.p, c, r.err, sizeof r.err), -1);
    if (!strstr(r.err, "expvarbeat.yml:2: hosts: http://127.0.0.1:port: invalid port"))
        fail_msg("got '%s'", r.err);
    config_free(c); /* still the caller's */
    assert_ptr_equal(poller_config(r.p), r.cfg);
    rig_targets(&r, &after);
    assert_int_equal(after.n, before.n);
    for (size_t i = 0; i < after.n; i++)
        assert_ptr_equal(after.s[i], before.s[i]);
    rig_stop(&r);
}

static void test_hosts_file_reread(void **state)
{
    (void)state;
    rig r;
    static const char yaml[] = "expvarbeat.modules:\n"
                               "- module: golang\n"
                               "  metricsets: [expvar, heap]\n"
                               "  expvar.namespace: fleet\n"
                               "  hosts_file: targets.txt\n"
                               "output.console: {}\n";
    memset(&r, 0, sizeof r);
    /* a missing file at start: the error names the entry and the file */
    assert_int_equal(rig_start(&r, yaml, NULL, 0), -1);
    if (!strstr(r.err, "expvarbeat.yml:2: hosts_file: cannot read") ||
        !strstr(r.err, "targets.txt"))
        fail_msg("got '%s'", r.err);
    rig_write(&r, "targets.txt", "127.0.0.1:1\n127.0.0.1:2\n");
    config_free(r.cfg);
    r.cfg = rig_load(&r, yaml, NULL, 0);
    r.p = poller_new(r.cfg, &r.bi, NULL, &r.st, r.l, r.err, sizeof r.err);
    if (!r.p)
        fail_msg("%s", r.err);
    seen v;
    rig_targets(&r, &v);
    assert_int_equal(v.n, 2);
    const tstatus *one = rig_find(&v, "http://127.0.0.1:1/debug/vars", "expvar,heap");

    rig_write(&r, "targets.txt", "- 127.0.0.1:1\n- 127.0.0.1:3\n- 127.0.0.1:4\n");
    assert_int_equal(poller_reload(r.p, NULL, r.err, sizeof r.err), 0);
    rig_targets(&r, &v);
    assert_int_equal(v.n, 3);
    assert_ptr_equal(rig_find(&v, "http://127.0.0.1:1/debug/vars", "expvar,heap"), one);
    assert_null(rig_find(&v, "http://127.0.0.1:2/debug/vars", "expvar,heap"));

    /* a broken list later: error with its line, the old list kept */
    rig_write(&r, "targets.txt", "127.0.0.1:1\n127.0.0.1:x\n");
    assert_int_equal(poller_reload(r.p, NULL, r.err, sizeof r.err), -1);
    if (!strstr(r.err, "targets.txt:2: hosts_file: 127.0.0.1:x"))
        fail_msg("got '%s'", r.err);
    rig_targets(&r, &v);
    assert_int_equal(v.n, 3);
    rig_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_fetch_serves_both_metricsets),
        cmocka_unit_test(test_reload_adds_changes_removes),
        cmocka_unit_test(test_bad_reload_keeps_running_set),
        cmocka_unit_test(test_hosts_file_reread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
