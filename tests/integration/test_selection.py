"""Metric selection (expvar.include / exclude / drop_memstats / max_fields)
and the heap extras (heap.restart_reset / pause_percentiles / rates) in a
running daemon against the real captures served on loopback.

The selected documents are checked against the same daemon's unselected
document of the same body, filtered by this file's own reading of the
selection rules (README "Selecting expvar fields"), so a field kept or
dropped wrongly, a value changed, or an object left empty shows up.  The
field counts with and without selection on every sample are printed."""

import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

SAMPLES = ["expvartarget", "expvartarget-t2", "ginexpvar", "ginexpvar-t2", "etcd", "etcd-t2"]

# (name, module options); "all" is the unselected reference.
SELECTIONS = [
    ("all", {}),
    ("nomem", {"expvar.drop_memstats": True}),
    ("pick", {"expvar.include": ["cmdline", "memstats.Heap*", "memstats.NumGC", "stats.**",
                                 "routes", "raft\\.status", "运行*"],
              "expvar.exclude": ["memstats.HeapReleased", "**.misses", "routes./debug/vars"]}),
    ("deep", {"expvar.include": ["**.hits", "**.term", "build.labels.*"]}),
]


def leaves(obj, prefix=()):
    """{path tuple: value} of a golang.<ns> object: arrays are one field;
    an empty object is kept as a leaf {} (it is in the document)."""
    out = {}
    for k, v in obj.items():
        p = prefix + (k,)
        if isinstance(v, dict) and v:
            out.update(leaves(v, p))
        else:
            out[p] = v
    return out


def field_count(obj):
    return sum(1 for v in leaves(obj).values() if v != {})


# -- the selection rules, restated -------------------------------------------

def split_pattern(p):
    segs, cur, i = [], "", 0
    while i < len(p):
        if p[i] == "\\":
            cur += "\\" + p[i + 1]
            i += 2
            continue
        if p[i] == ".":
            segs.append(cur)
            cur = ""
        else:
            cur += p[i]
        i += 1
    return segs + [cur]


def seg_regex(seg):
    out, i = "", 0
    while i < len(seg):
        if seg[i] == "\\":
            out += re.escape(seg[i + 1])
            i += 2
        elif seg[i] == "*":
            out += ".*"
            i += 1
        else:
            out += re.escape(seg[i])
            i += 1
    return re.compile(out + r"\Z", re.S)


def matches(segs, path):
    """The pattern matches path itself (not only a path below it)."""
    if not segs:
        return not path
    if segs[0] == "**":
        return any(matches(segs[1:], path[i:]) for i in range(len(path) + 1))
    return bool(path) and bool(seg_regex(segs[0]).match(path[0])) and matches(segs[1:], path[1:])


def selected(path, include, exclude):
    """A pattern selects its path and everything below it; exclude wins."""
    prefixes = [path[:i] for i in range(1, len(path) + 1)]
    inc = [split_pattern(p) for p in include]
    exc = [split_pattern(p) for p in exclude]
    if any(matches(e, q) for e in exc for q in prefixes):
        return False
    return not inc or any(matches(i, q) for i in inc for q in prefixes)


def expected(reference, opts):
    include = opts.get("expvar.include", [])
    exclude = list(opts.get("expvar.exclude", []))
    if opts.get("expvar.drop_memstats"):
        exclude.append("memstats")
    return {p: v for p, v in leaves(reference).items() if selected(p, include, exclude)}


def ns(sample, sel):
    return "%s_%s" % (sample.replace("-", "_"), sel)


def expvar_docs(docs, namespace):
    return [d for d in docs if "error" not in d and namespace in d.get("golang", {})]


class TestSelection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """One daemon: every sample × every selection, expvar only."""
        with X.TargetServer() as srv:
            modules = []
            for s in SAMPLES:
                srv.route("/" + s, X.capture(s))
                for name, opts in SELECTIONS:
                    modules.append(X.golang_module(srv.url("/" + s), metricsets=("expvar",),
                                                   namespace=ns(s, name), period="10s", **opts))
            wanted = [ns(s, n) for s in SAMPLES for n, _ in SELECTIONS]
            with X.Daemon({"metricbeat.modules": modules}) as d:
                d.wait_for(lambda docs: all(expvar_docs(docs, w) for w in wanted), 20,
                           "a document for every sample and selection")
                cls.docs = d.stop()

    def doc(self, sample, sel):
        return expvar_docs(self.docs, ns(sample, sel))[0]["golang"][ns(sample, sel)]

    def test_documents_have_exactly_the_selected_fields(self):
        for s in SAMPLES:
            ref = self.doc(s, "all")
            for name, opts in SELECTIONS[1:]:
                with self.subTest(sample=s, selection=name):
                    got = leaves(self.doc(s, name))
                    want = expected(ref, opts)
                    # Objects emptied by the selection disappear: only
                    # objects empty in the body remain as {}.
                    self.assertEqual(sorted(want), sorted(got))
                    self.assertEqual(want, got)

    def test_escapes_reach_keys_with_dots_and_slashes(self):
        etcd = self.doc("etcd", "pick")
        self.assertIn("raft.status", etcd)
        gin = self.doc("ginexpvar", "pick")
        self.assertIn("/ping", gin["routes"])
        self.assertNotIn("/debug/vars", gin["routes"])

    def test_drop_memstats(self):
        for s in SAMPLES:
            self.assertIn("memstats", self.doc(s, "all"))
            self.assertNotIn("memstats", self.doc(s, "nomem"))

    def test_field_counts(self):
        print("\nfield counts under golang.<namespace> (arrays count as one field):",
              file=sys.stderr)
        print("%-18s %6s %14s %6s %6s" % ("sample", "all", "drop_memstats", "pick", "deep"),
              file=sys.stderr)
        for s in SAMPLES:
            counts = [field_count(self.doc(s, n)) for n, _ in SELECTIONS]
            print("%-18s %6d %14d %6d %6d" % tuple([s] + counts), file=sys.stderr)
            self.assertGreater(counts[0], counts[1])
            self.assertGreater(counts[1], 0)


class TestMaxFields(unittest.TestCase):
    def test_one_error_document_per_change_of_the_count(self):
        # expvartarget and ginexpvar have different field counts, both > cap.
        bodies = ["expvartarget"] * 3 + ["ginexpvar"] * 3 + ["expvartarget"] * 3
        cap = 10
        with X.TargetServer() as srv:
            srv.route("/vars", X.Sequence(*[X.capture(b) for b in bodies]))
            m = X.golang_module(srv.url("/vars"), metricsets=("expvar",), namespace="app",
                                period="200ms", **{"expvar.max_fields": cap})
            with X.Daemon({"metricbeat.modules": [m]}) as d:
                d.wait_for(lambda docs: len([x for x in docs if "error" not in x]) >= len(bodies),
                           20, "a document for every body")
                docs = d.stop()
        ok = [x for x in docs if "error" not in x][:len(bodies)]
        errors = [x for x in docs if "error" in x]
        for i in range(len(bodies)):
            self.assertEqual(cap, field_count(ok[i]["golang"]["app"]), ok[i])
        # One error per change: expvartarget, ginexpvar, expvartarget again.
        msgs = [X.error_message(e) for e in errors]
        self.assertEqual(3, len(msgs), msgs)
        for e in errors:
            self.assertEqual([], X.check_envelope(e, "expvar", "golang.expvar", srv.url("/vars"),
                                                  200, error=True))
        n = [int(re.match(r"expvar\.max_fields: (\d+) fields, 10 kept\Z", m).group(1))
             for m in msgs]
        self.assertEqual(n[0], n[2])
        self.assertNotEqual(n[0], n[1])
        print("\nmax_fields %d: %s" % (cap, msgs), file=sys.stderr)
        # The kept fields are the first ones of the document, in order.
        self.assertEqual(["big", "build"], list(ok[0]["golang"]["app"])[:2])


def nearest_rank(values, pct):
    s = sorted(values)
    k = -(-pct * len(s) // 100)  # ceil without floats for integer pct
    return s[max(1, k) - 1]


class TestHeapExtras(unittest.TestCase):
    def test_restart_reset_percentiles_and_rates(self):
        # t2 twice (146 GCs), then the target "restarts" (expvartarget: 4 GCs).
        bodies = ["expvartarget-t2", "expvartarget-t2", "expvartarget", "expvartarget"]
        opts = {"heap.restart_reset": True, "heap.pause_percentiles": [50, 90, 99],
                "heap.rates": True}
        with X.TargetServer() as srv:
            srv.route("/vars", X.Sequence(*[X.capture(b) for b in bodies]))
            m = X.golang_module(srv.url("/vars"), metricsets=("heap",), period="300ms", **opts)
            with X.Daemon({"metricbeat.modules": [m]}) as d:
                d.wait_for(lambda docs: len(docs) >= len(bodies), 20, "four heap documents")
                docs = d.stop()
        heap = [X.to_plain(x["golang"]["heap"]) for x in docs[:len(bodies)]]
        mem = [X.loads(X.read_data(b + ".json"))["memstats"] for b in bodies]

        def ring(i):
            return [int(v) for v in mem[i]["PauseNs"][:int(mem[i]["NumGC"])]]
        # 1st: the whole window (146 pauses), percentiles, no rates yet.
        self.assertEqual(146, heap[0]["gc"]["pause"]["count"])
        for p in (50, 90, 99):
            self.assertEqual(nearest_rank(ring(0), p), heap[0]["gc"]["pause"]["p%d" % p]["ns"])
        self.assertNotIn("rate", heap[0]["gc"])
        self.assertNotIn("rate", heap[0]["allocations"])
        # 2nd: same body: no GC, no percentiles, rates of zero.
        self.assertEqual(0, heap[1]["gc"]["pause"]["count"])
        self.assertNotIn("p50", heap[1]["gc"]["pause"])
        self.assertEqual(0, heap[1]["gc"]["rate"]["per_sec"])
        self.assertEqual(0, heap[1]["allocations"]["rate"]["bytes_per_sec"])
        # 3rd: restarted: a new window at once (Metricbeat would say 0), no rates.
        self.assertEqual(4, heap[2]["gc"]["pause"]["count"])
        self.assertEqual(nearest_rank(ring(2), 50), heap[2]["gc"]["pause"]["p50"]["ns"])
        self.assertNotIn("rate", heap[2]["gc"])
        # 4th: rates again.
        self.assertIn("per_sec", heap[3]["gc"]["rate"])
        print("\nheap extras: p50/p90/p99 of the t2 window = %s ns" %
              [heap[0]["gc"]["pause"]["p%d" % p]["ns"] for p in (50, 90, 99)], file=sys.stderr)

    def test_bad_pattern_is_a_config_error(self):
        m = X.golang_module("http://127.0.0.1:1/", metricsets=("expvar",),
                            **{"expvar.include": ["a..b"]})
        d = X.Daemon({"metricbeat.modules": [m]}).start()
        try:
            self.assertTrue(d.proc.wait(10), "the daemon ran with a bad pattern")
            self.assertEqual(1, d.proc.rc)
            self.assertIn("expvar pattern 'a..b': empty path segment", d.stderr)
        finally:
            if d.running():
                d.proc.kill()
            shutil.rmtree(d.dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
