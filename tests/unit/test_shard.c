/* Sharding: N instances with the same target list scrape disjoint sets that
 * together cover it, balanced, each target's owner fixed by its identity
 * (namespace + URL) and not by its place in the list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "poller_rig.h"
#include "shard.h"
#include "target.h"

#define N_HOSTS 300
#define N_SHARDS 3

/* A module entry with hosts port first..first+n-1, in the order given by
 * step (a permutation when step is coprime with n). */
static char *yaml_hosts(int first, int n, int step)
{
    size_t cap = 256 + (size_t)n * 24;
    char *y = malloc(cap);
    size_t len = (size_t)snprintf(y, cap,
                                  "expvarbeat.modules:\n- module: golang\n"
                                  "  expvar.namespace: fleet\n  hosts:\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(y + len, cap - len, "  - 127.0.0.1:%d\n",
                                first + (int)(((long)i * step) % n));
    snprintf(y + len, cap - len, "output.console: {}\n");
    return y;
}

/* The addresses one instance scrapes, as a bitmap over ports. */
static size_t owned(const char *yaml, int index, int count, unsigned char *bits, size_t nbits)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "shard.index=%d", index);
    snprintf(b, sizeof b, "shard.count=%d", count);
    const char *ovr[] = {a, b};
    rig r;
    if (rig_start(&r, yaml, ovr, 2))
        fail_msg("%s", r.err);
    seen v;
    rig_targets(&r, &v);
    memset(bits, 0, nbits);
    for (size_t i = 0; i < v.n; i++) {
        int port = atoi(strrchr(v.s[i]->address, ':') + 1);
        assert_true(port > 0 && (size_t)port < nbits);
        bits[port] = 1;
    }
    size_t n = v.n;
    rig_stop(&r);
    return n;
}

static void test_instances_partition_the_list(void **state)
{
    (void)state;
    static unsigned char bits[N_SHARDS][1 + N_HOSTS];
    char *y = yaml_hosts(1, N_HOSTS, 1);
    size_t total = 0;
    for (int s = 0; s < N_SHARDS; s++)
        total += owned(y, s, N_SHARDS, bits[s], sizeof bits[s]);
    assert_int_equal(total, N_HOSTS);
    for (int port = 1; port <= N_HOSTS; port++) {
        int owners = 0;
        for (int s = 0; s < N_SHARDS; s++)
            owners += bits[s][port];
        if (owners != 1)
            fail_msg("127.0.0.1:%d has %d owners", port, owners);
    }
    free(y);
}

static void test_owner_fixed_by_identity_not_position(void **state)
{
    (void)state;
    static unsigned char before[1 + 2 * N_HOSTS], after[1 + 2 * N_HOSTS];
    char *y = yaml_hosts(1, N_HOSTS, 1);
    owned(y, 1, N_SHARDS, before, sizeof before);
    free(y);
    /* the same hosts in another order, with as many more added */
    y = yaml_hosts(1, 2 * N_HOSTS, 7);
    owned(y, 1, N_SHARDS, after, sizeof after);
    free(y);
    for (int port = 1; port <= N_HOSTS; port++)
        if (before[port] != after[port])
            fail_msg("127.0.0.1:%d moved when other targets were added", port);
    /* and with half of them removed */
    y = yaml_hosts(N_HOSTS / 2, N_HOSTS / 2 + 1, 1);
    owned(y, 1, N_SHARDS, after, sizeof after);
    free(y);
    for (int port = N_HOSTS / 2; port <= N_HOSTS; port++)
        if (before[port] != after[port])
            fail_msg("127.0.0.1:%d moved when other targets were removed", port);
}

static void test_balanced(void **state)
{
    (void)state;
    enum { N = 100000 }; /* a few % is then several standard deviations */
    static const int counts[] = {2, 3, 4, 7, 10};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int n = counts[c], per[10] = {0};
        for (int i = 0; i < N; i++) {
            char url[64];
            /* realistic fleets: consecutive ports and addresses */
            snprintf(url, sizeof url, "http://10.%d.%d.%d:%d/debug/vars", i / 62500, i / 250 % 250,
                     i % 250, 6060 + i % 3);
            per[shard_of(target_identity("app", url), n)]++;
        }
        double mean = (double)N / n;
        for (int s = 0; s < n; s++)
            if (per[s] < mean * 0.95 || per[s] > mean * 1.05)
                fail_msg("count %d: shard %d has %d of %d targets (mean %.0f)", n, s, per[s], N,
                         mean);
    }
    /* one shard owns everything; the identity includes the namespace */
    assert_int_equal(shard_of(target_identity("app", "http://a/"), 1), 0);
    assert_true(target_identity("app", "http://a/") != target_identity("ap", "phttp://a/"));
    assert_true(target_identity("app", "http://a/") != target_identity("other", "http://a/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instances_partition_the_list),
        cmocka_unit_test(test_owner_fixed_by_identity_not_position),
        cmocka_unit_test(test_balanced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
