"""The captured /debug/vars answers of real Go programs, served byte for byte
(chunked, with their captured headers) by a loopback server, must give the
documents Metricbeat 8.x gives: tests/data/golden/*.expected.json, numbers
compared as text.  Checked through `expvarbeat test target` and through the
daemon (two scrapes: the heap GC pause window)."""

import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

CAPTURES = ("expvartarget", "ginexpvar", "etcd")
NS = "myapp"


def golden(name):
    return X.load_golden(name)


class TestTargetCommand(unittest.TestCase):
    """`expvarbeat test target URL --namespace NS --metricsets expvar,heap`."""

    @classmethod
    def setUpClass(cls):
        X.require_binary()
        cls.srv = X.TargetServer().start()
        for c in CAPTURES:
            cls.srv.route("/%s/debug/vars" % c, X.capture(c))
        cls.srv.route("/gzip/debug/vars", X.capture("etcd", gzip=True))
        # 7-byte chunks: multi-byte UTF-8, escapes and numbers split across reads
        cls.srv.route("/drip/debug/vars", X.capture("expvartarget", chunk_size=7, delay=0.001))

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def target(self, url, namespace=NS, metricsets="expvar,heap", extra=()):
        args = ["test", "target", url]
        if namespace is not None:
            args += ["--namespace", namespace]
        args += ["--metricsets", metricsets] + list(extra)
        res = X.run_expvarbeat(args, timeout=60)
        self.assertEqual(0, res.rc, "expected exit 0\n" + res.describe())
        self.assertEqual([], X.sanitizer_problems(res.stderr), res.describe())
        return res, res.docs()

    def one(self, docs, metricset, res):
        got = X.by_metricset(docs, metricset)
        self.assertEqual(1, len(got), "expected one %s document\n%s" % (metricset, res.describe()))
        return got[0]

    def assertNoDiff(self, actual, expected, what):
        d = X.diff_json(actual, expected)
        self.assertEqual([], d, "%s differs from the golden file:\n  %s" % (what, "\n  ".join(d)))

    def check_capture(self, name, path, ns=NS):
        url = self.srv.url(path)
        res, docs = self.target(url, namespace=ns)
        self.assertEqual(2, len(docs), res.describe())
        ex, heap = self.one(docs, "expvar", res), self.one(docs, "heap", res)
        self.assertEqual([], X.check_envelope(ex, "expvar", "golang." + ns, url, 10000))
        self.assertEqual([], X.check_envelope(heap, "heap", "golang.heap", url, 10000))
        # one process, one identity
        self.assertEqual(ex["agent"], heap["agent"])
        nested = ex["golang"]
        for part in ns.split("."):
            self.assertEqual([part], list(nested.keys()), "golang.%s must nest by dots" % ns)
            nested = nested[part]
        self.assertNoDiff(nested, golden(name + ".golang-ns.expected.json"), "golang.%s of %s" % (ns, name))
        self.assertEqual(["heap"], list(heap["golang"].keys()))
        self.assertNoDiff(heap["golang"]["heap"], golden(name + ".golang-heap.scrape1.expected.json"),
                          "golang.heap of %s" % name)
        reqs = self.srv.requests_for(path)
        self.assertGreaterEqual(len(reqs), 1)
        for r in reqs:
            self.assertEqual(("GET", path), (r.method, r.target))
        return res, ex, heap

    def test_expvartarget(self):
        res, ex, _ = self.check_capture("expvartarget", "/expvartarget/debug/vars")
        # Written as Go writes it: non-ASCII raw (not \u-escaped), the
        # string's quote/backslash/tab escaped, é raw, uint64 > INT64_MAX as
        # a float64 in exponent form.
        line = [l for l in res.stdout.split("\n") if '"expvar"' in l][0]
        self.assertRegex(line, r'"运行时间":\s*1\b')
        self.assertRegex(line, r'"status":\s*"ok \\"quoted\\" \\\\ tab\\t é"')
        self.assertRegex(line, r'"big":\s*9\.223372036854788e\+18\b')
        self.assertRegex(line, r'"tiny":\s*1\.5e-300\b')
        self.assertEqual(X.Num("9.223372036854788e+18"), ex["golang"][NS]["big"])

    def test_ginexpvar(self):
        self.check_capture("ginexpvar", "/ginexpvar/debug/vars")

    def test_etcd(self):
        _, ex, _ = self.check_capture("etcd", "/etcd/debug/vars")
        # a top-level key with a dot stays one literal key
        self.assertIn("raft.status", ex["golang"][NS])

    def test_dotted_namespace_nests(self):
        self.check_capture("expvartarget", "/expvartarget/debug/vars", ns="a.b")

    def test_gzip_answer(self):
        """A target that gzips when asked: the client asks (as Go's client
        does) and the decoded document is the same."""
        self.check_capture("etcd", "/gzip/debug/vars")
        reqs = self.srv.requests_for("/gzip/debug/vars")
        for r in reqs:
            self.assertEqual("gzip", r.note,
                             "expvarbeat did not accept gzip (Accept-Encoding: %r)" % r.header("Accept-Encoding"))

    def test_slow_drip_in_tiny_chunks(self):
        self.check_capture("expvartarget", "/drip/debug/vars")

    def test_heap_only_needs_no_namespace(self):
        url = self.srv.url("/etcd/debug/vars")
        res, docs = self.target(url, namespace=None, metricsets="heap")
        self.assertEqual(1, len(docs), res.describe())
        self.assertEqual([], X.check_envelope(docs[0], "heap", "golang.heap", url, 10000))
        self.assertNoDiff(docs[0]["golang"]["heap"], golden("etcd.golang-heap.scrape1.expected.json"), "heap")

    def test_expvar_only(self):
        url = self.srv.url("/ginexpvar/debug/vars")
        res, docs = self.target(url, metricsets="expvar")
        self.assertEqual(1, len(docs), res.describe())
        self.assertEqual([], X.check_envelope(docs[0], "expvar", "golang." + NS, url, 10000))
        self.assertNoDiff(docs[0]["golang"][NS], golden("ginexpvar.golang-ns.expected.json"), "expvar")


class TestDaemonTwoScrapes(unittest.TestCase):
    """The daemon, period 1s: expvar documents equal the golden files, and the
    heap metricset's second scrape of the same target reports only the GCs
    since the first (X then X-t2), the third none."""

    def test_captures_over_three_periods(self):
        with X.TargetServer() as srv:
            modules = []
            for c in CAPTURES:
                srv.route("/%s/heap" % c, X.Sequence(X.capture(c), X.capture(c + "-t2")))
                srv.route("/%s/expvar" % c, X.capture(c))
                modules.append(X.golang_module([srv.url("/%s/heap" % c)], metricsets=["heap"]))
                modules.append(X.golang_module([srv.url("/%s/expvar" % c)], metricsets=["expvar"],
                                               namespace=c))
            # one module, two hosts: each host keeps its own GC window
            multi = {}
            for c in ("etcd", "ginexpvar"):
                srv.route("/multi/%s" % c, X.Sequence(X.capture(c), X.capture(c + "-t2")))
                multi[srv.url("/multi/%s" % c)] = c
            modules.append(X.golang_module(list(multi), metricsets=["heap"]))
            # a restarted target (NumGC goes down): Metricbeat reports empty
            # windows until NumGC passes the old value (elastic/beats#6543)
            restart_seq = ("expvartarget-t2", "expvartarget", "expvartarget-t2")
            srv.route("/restart", X.Sequence(*[X.capture(c) for c in restart_seq]))
            restart = srv.url("/restart")
            modules.append(X.golang_module([restart], metricsets=["heap"]))
            heap_urls = [srv.url("/%s/heap" % c) for c in CAPTURES]
            exp_urls = [srv.url("/%s/expvar" % c) for c in CAPTURES]

            def enough(docs):
                return (all(len(X.by_address(docs, u)) >= 3 for u in heap_urls + list(multi) + [restart])
                        and all(len(X.by_address(docs, u)) >= 1 for u in exp_urls))

            with X.Daemon({"metricbeat.modules": modules}) as d:
                d.wait_for(enough, 30, "3 heap documents and 1 expvar document per capture")
                docs = d.stop()

        known = set(heap_urls) | set(exp_urls) | set(multi) | {restart}
        for doc in docs:
            self.assertIn(X.get(doc, "service", "address"), known)
        for c, hu, eu in zip(CAPTURES, heap_urls, exp_urls):
            heaps = sorted(X.by_address(docs, hu), key=X.ts_ms)
            for h in heaps:
                self.assertEqual([], X.check_envelope(h, "heap", "golang.heap", hu, 1000))
            first = X.diff_json(heaps[0]["golang"]["heap"], golden(c + ".golang-heap.scrape1.expected.json"))
            self.assertEqual([], first, "%s first scrape:\n  %s" % (c, "\n  ".join(first)))
            second = X.diff_json(heaps[1]["golang"]["heap"],
                                 golden(c + "-t2.golang-heap.after-scrape1.expected.json"))
            self.assertEqual([], second, "%s second scrape (t2 after t1):\n  %s" % (c, "\n  ".join(second)))
            # no GC since the previous scrape: the window is empty
            third_expected = copy.deepcopy(golden(c + "-t2.golang-heap.after-scrape1.expected.json"))
            zero = X.Num("0")
            third_expected["gc"]["pause"] = {"count": zero, "sum": {"ns": zero}, "avg": {"ns": zero},
                                             "max": {"ns": zero}}
            third = X.diff_json(heaps[2]["golang"]["heap"], third_expected)
            self.assertEqual([], third, "%s third scrape (t2 again):\n  %s" % (c, "\n  ".join(third)))
            for e in X.by_address(docs, eu):
                self.assertEqual([], X.check_envelope(e, "expvar", "golang." + c, eu, 1000))
                diff = X.diff_json(e["golang"][c], golden(c + ".golang-ns.expected.json"))
                self.assertEqual([], diff, "%s expvar:\n  %s" % (c, "\n  ".join(diff)))
        for url, c in multi.items():
            heaps = sorted(X.by_address(docs, url), key=X.ts_ms)
            self.assertEqual([], X.diff_json(heaps[0]["golang"]["heap"],
                                             golden(c + ".golang-heap.scrape1.expected.json")), url)
            self.assertEqual([], X.diff_json(heaps[1]["golang"]["heap"],
                                             golden(c + "-t2.golang-heap.after-scrape1.expected.json")), url)
        heaps = sorted(X.by_address(docs, restart), key=X.ts_ms)
        last = 0
        for i, c in enumerate(restart_seq):
            expected, last = X.mb_heap_fields(X.loads(X.read_data(c + ".json")), last)
            d = X.diff_json(heaps[i]["golang"]["heap"], expected)
            self.assertEqual([], d, "restarted target, scrape %d (%s):\n  %s" % (i + 1, c, "\n  ".join(d)))
        self.assertEqual(X.Num("0"), heaps[2]["golang"]["heap"]["gc"]["pause"]["count"])
        # the daemon's documents all come from one agent
        self.assertEqual(1, len({(d["agent"]["id"], d["agent"]["ephemeral_id"]) for d in docs}))


if __name__ == "__main__":
    unittest.main(verbosity=2)
