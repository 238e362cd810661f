"""A short soak (bench/soak.sh is the long one): 20 targets, four of them
failing, both metricsets, period 1s, for 30 s.  The daemon must exit cleanly
with no sanitizer report (under the ASan build: no leak at exit), every good
target must have a document for every period, and -- on a plain build --
resident memory must stay flat after a 10 s warm-up.  "Flat" is loose on
purpose: allocator and page-cache noise is a few hundred KiB; a leak of one
document or body per scrape (600 scrapes here, each 4-8 KiB) would be MiBs."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

GOOD, BAD = 16, 4
RUN_S, WARM_S = 30, 10
MAX_GROWTH_KB = 2048


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class TestShortSoak(unittest.TestCase):
    def test_flat_and_clean(self):
        with X.TargetServer() as srv:
            good = []
            for i in range(GOOD):
                path = "/t%d/debug/vars" % i
                srv.route(path, X.Sequence(X.capture("etcd"), X.capture("etcd-t2")))
                good.append(srv.url(path))
            bad = [srv.url("/missing%d/debug/vars" % i) for i in range(BAD - 1)]  # 404
            bad.append("http://127.0.0.1:%d/debug/vars" % X.closed_port())
            cfg = {"metricbeat.modules": [X.golang_module(good + bad, namespace="soak")]}
            with X.Daemon(cfg) as d:
                started = time.time()
                samples = []
                tick = threading.Event()
                while time.time() - started < RUN_S:  # the run length is the test's parameter
                    self.assertTrue(d.running(), d.describe())
                    samples.append((time.time() - started, vm_rss_kb(d.pid)))
                    tick.wait(1.0)
                docs = d.stop()  # asserts exit 0 and no ASan/LSan/UBSan report
        for url in good:
            for ms in ("expvar", "heap"):
                got = X.by_metricset(X.by_address(docs, url), ms)
                self.assertGreaterEqual(len(got), RUN_S - 2, "%s %s: %d documents" % (url, ms, len(got)))
                self.assertFalse([x for x in got if "error" in x])
        for url in bad:
            self.assertTrue(all("error" in x for x in X.by_address(docs, url)))
        after = [kb for t, kb in samples if t >= WARM_S]
        growth = after[-1] - after[0]
        sys.stderr.write("\nRSS after %ds warm-up: %d KiB, at %ds: %d KiB (growth %d KiB)\n" %
                         (WARM_S, after[0], RUN_S, after[-1], growth))
        if X.binary_is_sanitized():
            return  # the ASan allocator's quarantine grows by design; leaks were checked at exit
        self.assertLess(growth, MAX_GROWTH_KB, "RSS grew %d KiB after warm-up: %s" % (growth, samples))


if __name__ == "__main__":
    unittest.main(verbosity=2)
