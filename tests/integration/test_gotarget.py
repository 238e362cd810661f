"""expvarbeat against a real Go service (tests/gotarget/main.go: stdlib
expvar + net/http, built by CMake).  Every document is compared with the exact
body the service served for it, transformed as Metricbeat transforms it
(Go float formatting, cmdline joined, nulls dropped from objects), and the
heap GC window is checked against the service's own NumGC/PauseNs."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

NS = "goapp"


def skip_unless_built():
    if not X.GoTarget.available():
        raise unittest.SkipTest("Go test target not built at %s (needs golang-go; CMake builds it as "
                                "target 'gotarget')" % X.GOTARGET)


class Served:
    """The bodies the Go service served, parsed (numbers as text)."""

    def __init__(self, raw_bodies):
        self.bodies = [X.loads(b) for b in raw_bodies]

    def by_requests(self, n):
        hits = [b for b in self.bodies if int(b["requests"]) == n]
        return hits

    def by_memstats(self, mallocs, total_alloc):
        return [b for b in self.bodies
                if int(b["memstats"]["Mallocs"]) == mallocs and int(b["memstats"]["TotalAlloc"]) == total_alloc]


class TestGoTarget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skip_unless_built()
        X.require_binary()

    def body_for_expvar(self, served, doc):
        n = X.get(doc, "golang", NS, "requests")
        self.assertIsInstance(n, X.Num)
        hits = served.by_requests(int(float(n)))
        self.assertEqual(1, len(hits), "no single served body has requests=%s" % n)
        return hits[0]

    def body_for_heap(self, served, doc):
        h = doc["golang"]["heap"]
        hits = served.by_memstats(int(h["allocations"]["mallocs"]), int(h["allocations"]["total"]))
        self.assertEqual(1, len(hits), "no served body has the memstats of this heap document: %s" %
                         X._short(h["allocations"]))
        return hits[0]

    def check_expvar_doc(self, served, doc, url, period_ms):
        self.assertEqual([], X.check_envelope(doc, "expvar", "golang." + NS, url, period_ms))
        f = doc["golang"][NS]
        self.assertIn("运行时间", f)
        self.assertIsInstance(f["运行时间"], X.Num)
        self.assertEqual(X.Num("9.223372036854788e+18"), f["big"])
        self.assertEqual(X.Num("1.5e-300"), f["tiny"])
        self.assertEqual(X.Num("20"), f["whole"])
        self.assertEqual(X.Num("-42"), f["delta"])
        self.assertEqual('ok "quoted" \\ tab\t é', f["status"])
        self.assertNotIn("owner", f["build"], "null object members are dropped")
        self.assertNotIn("nil", f["build"]["nested"], "null object members are dropped")
        self.assertEqual([None, X.Num("7")], f["build"]["slots"], "nulls inside arrays are kept")
        self.assertEqual({"hits", "misses"}, set(f["stats"]["cache"]))
        self.assertIsInstance(f["cmdline"], str)
        body = self.body_for_expvar(served, doc)
        d = X.diff_json(f, X.mb_expvar_fields(body))
        self.assertEqual([], d, "golang.%s differs from the served body:\n  %s" % (NS, "\n  ".join(d)))

    def test_daemon_several_periods(self):
        with X.GoTarget(gc=True) as gt:
            url = gt.url()

            def enough(docs):
                return len(X.by_metricset(docs, "expvar")) >= 4 and len(X.by_metricset(docs, "heap")) >= 4

            with X.Daemon({"metricbeat.modules": [X.golang_module([url], namespace=NS)]}) as d:
                d.wait_for(enough, 40, "4 periods of expvar and heap documents")
                docs = d.stop()
            served = Served(gt.served())

        ex = sorted(X.by_metricset(docs, "expvar"), key=X.ts_ms)
        heap = sorted(X.by_metricset(docs, "heap"), key=X.ts_ms)
        self.assertEqual(len(docs), len(ex) + len(heap))

        # A document per period: about 1s apart.
        for series in (ex, heap):
            gaps = [X.ts_ms(b) - X.ts_ms(a) for a, b in zip(series, series[1:])]
            self.assertTrue(all(500 <= g <= 1600 for g in gaps), "period 1s, gaps %s ms" % gaps)

        for doc in ex:
            self.check_expvar_doc(served, doc, url, 1000)
        reqs = [int(float(doc["golang"][NS]["requests"])) for doc in ex]
        self.assertEqual(sorted(set(reqs)), reqs, "requests must grow across periods: %s" % reqs)

        last = 0
        prev_numgc = None
        for i, doc in enumerate(heap):
            self.assertEqual([], X.check_envelope(doc, "heap", "golang.heap", url, 1000))
            body = self.body_for_heap(served, doc)
            numgc = int(body["memstats"]["NumGC"])
            h = doc["golang"]["heap"]
            self.assertEqual(numgc, int(h["gc"]["total_count"]), "gc.total_count is memstats.NumGC")
            count = int(h["gc"]["pause"]["count"])
            if prev_numgc is None:
                self.assertEqual(min(numgc, 256), count, "first scrape: every GC since start")
            else:
                self.assertGreater(numgc, prev_numgc, "-gc: NumGC grows between scrapes")
                self.assertEqual(numgc - prev_numgc, count, "pause.count = NumGC delta between scrapes")
            expected, last = X.mb_heap_fields(body, last)
            d = X.diff_json(h, expected)
            self.assertEqual([], d, "heap document %d differs from the served memstats:\n  %s" %
                             (i, "\n  ".join(d)))
            prev_numgc = numgc

    def test_target_command(self):
        with X.GoTarget() as gt:
            url = gt.url()
            res = X.run_expvarbeat(["test", "target", url, "--namespace", NS, "--metricsets", "expvar,heap"])
            served = Served(gt.served())
        self.assertEqual(0, res.rc, res.describe())
        docs = res.docs()
        ex, heap = X.by_metricset(docs, "expvar"), X.by_metricset(docs, "heap")
        self.assertEqual((1, 1), (len(ex), len(heap)), res.describe())
        self.check_expvar_doc(served, ex[0], url, 10000)
        self.assertEqual([], X.check_envelope(heap[0], "heap", "golang.heap", url, 10000))
        expected, _ = X.mb_heap_fields(self.body_for_heap(served, heap[0]), 0)
        d = X.diff_json(heap[0]["golang"]["heap"], expected)
        self.assertEqual([], d, "\n".join(d))


if __name__ == "__main__":
    unittest.main(verbosity=2)
