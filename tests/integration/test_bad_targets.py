"""Targets that answer badly (or not at all) give one error document per
metricset with Metricbeat's error.message, never a crash: through
`expvarbeat test target` (exit 1) and in a daemon that scrapes all of them
plus one good target at once (the good one keeps its period, the daemon keeps
running, and each failure is logged)."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

NS = "bad"
MIB = 1024  # kB
RSS_LIMIT_KB = 100 * MIB  # the bomb inflates to 160 MiB: holding it would exceed this


def exact(text):
    def check(msg, url):
        return msg == text, "expected %r" % text
    return check


def transport(pattern, what):
    """error in http fetch: error making http request: Get "<url>": <...>"""
    rx = re.compile(pattern, re.I)

    def check(msg, url):
        head = 'error in http fetch: error making http request: Get "%s": ' % url
        ok = msg.startswith(head) and rx.search(msg[len(head):]) is not None
        return ok, "expected %r followed by %s" % (head, what)
    return check


def fetch_error(pattern, what, prefixes=("error in http fetch: ",)):
    rx = re.compile(pattern, re.I)

    def check(msg, url):
        ok = msg.startswith(prefixes) and rx.search(msg) is not None
        return ok, "expected a message starting with %s that %s" % (" or ".join(map(repr, prefixes)), what)
    return check


FETCH = "error in http fetch: "
UNMARSHAL = "error unmarshalling json: "
LIMIT = fetch_error(r"too (large|big)|exceed|limit|max", "says a size limit was hit")


def timeout_check():
    return fetch_error(r"time(d)? ?out|deadline", "mentions the timeout")


# name → (behaviour, expvar message check, heap message check)
def bad_cases():
    return {
        "html": (X.Html(),
                 exact(FETCH + "invalid character '<' looking for beginning of value"),
                 exact(UNMARSHAL + "invalid character '<' looking for beginning of value")),
        "status404": (X.GoStatus(404),
                      exact(FETCH + "HTTP error 404 in : 404 Not Found"),
                      exact(FETCH + "HTTP error 404 in : 404 Not Found")),
        "status500": (X.GoStatus(500),
                      exact(FETCH + "HTTP error 500 in : 500 Internal Server Error"),
                      exact(FETCH + "HTTP error 500 in : 500 Internal Server Error")),
        "truncated": (X.json_body(X.body_truncated()),
                      exact(FETCH + "unexpected end of JSON input"),
                      exact(UNMARSHAL + "unexpected end of JSON input")),
        "array": (X.json_body(X.body_top_level_array()),
                  exact(FETCH + "json: cannot unmarshal array into Go value of type map[string]interface {}"),
                  exact(UNMARSHAL + "json: cannot unmarshal array into Go value of type heap.Stats")),
        "nan": (X.json_body(X.body_nan()),
                exact(FETCH + "invalid character 'N' looking for beginning of value"),
                exact(UNMARSHAL + "invalid character 'N' looking for beginning of value")),
        "mapkey": (X.json_body(X.body_invalid_map_key()),
                   exact(FETCH + "invalid character 'x' in string escape code"),
                   exact(UNMARSHAL + "invalid character 'x' in string escape code")),
        "huge": (X.json_body(X.body_huge), LIMIT, LIMIT),
        "bomb": (X.json_body(X.body_gzip_bomb, content_encoding="gzip"), LIMIT, LIMIT),
        "deep": (X.json_body(X.body_deep()),
                 fetch_error(r"depth", "mentions the nesting depth"),
                 fetch_error(r"depth", "mentions the nesting depth", prefixes=(FETCH, UNMARSHAL))),
        "empty": (X.json_body(b""),
                  exact(FETCH + "unexpected end of JSON input"),
                  exact(UNMARSHAL + "unexpected end of JSON input")),
        "trailing": (X.json_body(b'{"a": 1}\n}'),
                     exact(FETCH + "invalid character '}' after top-level value"),
                     exact(UNMARSHAL + "invalid character '}' after top-level value")),
        "bom": (X.json_body(b"\xef\xbb\xbf" + X.read_data("etcd.json")),
                exact(FETCH + "invalid character '\u00ef' looking for beginning of value"),
                exact(UNMARSHAL + "invalid character '\u00ef' looking for beginning of value")),
        "status204": (X.Body(b"", status=204, reason="No Content", headers=[], chunked=False),
                      exact(FETCH + "HTTP error 204 in : 204 No Content"),
                      exact(FETCH + "HTTP error 204 in : 204 No Content")),
        "reset": (X.Reset(), transport(r".", "the reason"), transport(r".", "the reason")),
        "redirect": (X.Redirect(), transport(r"redirect", "mentions redirects"),
                     transport(r"redirect", "mentions redirects")),
    }


class TestTargetCommandBadAnswers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        X.require_binary()
        cls.srv = X.TargetServer().start()
        cls.cases = bad_cases()
        for name, (behaviour, _, _) in cls.cases.items():
            cls.srv.route("/%s/debug/vars" % name, behaviour)
        cls.srv.route("/hang/debug/vars", X.Hang())
        cls.srv.route("/utf8/debug/vars", X.json_body(X.body_invalid_utf8()))

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def run_target(self, url, timeout=60):
        return X.run_expvarbeat(["test", "target", url, "--namespace", NS, "--metricsets", "expvar,heap"],
                                timeout=timeout)

    def check_errors(self, res, url, expvar_check, heap_check):
        self.assertEqual(1, res.rc, "expected exit 1\n" + res.describe())
        self.assertEqual([], X.sanitizer_problems(res.stderr), res.describe())
        docs = res.docs()
        self.assertEqual(2, len(docs), "one error document per metricset\n" + res.describe())
        for ms, dataset, check in (("expvar", "golang.expvar", expvar_check), ("heap", "golang.heap", heap_check)):
            got = X.by_metricset(docs, ms)
            self.assertEqual(1, len(got), res.describe())
            doc = got[0]
            self.assertEqual([], X.check_envelope(doc, ms, dataset, url, 10000, error=True), res.describe())
            msg = X.error_message(doc)
            ok, why = check(msg, url)
            self.assertTrue(ok, "%s error.message %r: %s" % (ms, msg, why))
        return docs

    def test_bad_answers(self):
        for name, (_, ec, hc) in self.cases.items():
            with self.subTest(target=name):
                url = self.srv.url("/%s/debug/vars" % name)
                res = self.run_target(url)
                self.check_errors(res, url, ec, hc)

    def test_connection_refused(self):
        port = X.free_port()
        url = "http://127.0.0.1:%d/debug/vars" % port
        res = self.run_target(url)
        # Go's net/http words it exactly so, peer address included.
        chk = exact('error in http fetch: error making http request: Get "%s": '
                    'dial tcp 127.0.0.1:%d: connect: connection refused' % (url, port))
        self.check_errors(res, url, chk, chk)

    def test_never_answering_target_times_out(self):
        """Default timeout (10s, as Metricbeat's HTTP helper): the command
        ends with an error document instead of hanging."""
        url = self.srv.url("/hang/debug/vars")
        res = self.run_target(url, timeout=45)
        self.check_errors(res, url, timeout_check(), timeout_check())

    def test_invalid_utf8_becomes_replacement_characters(self):
        """Go replaces each invalid byte by U+FFFD, in values and keys; the
        document is otherwise the golden one.  Written raw, not escaped."""
        url = self.srv.url("/utf8/debug/vars")
        res = X.run_expvarbeat(["test", "target", url, "--namespace", NS, "--metricsets", "expvar,heap"])
        self.assertEqual(0, res.rc, res.describe())
        docs = res.docs()
        ex = X.by_metricset(docs, "expvar")
        heap = X.by_metricset(docs, "heap")
        self.assertEqual((1, 1), (len(ex), len(heap)), res.describe())
        expected = X.load_golden("expvartarget.golang-ns.expected.json")
        expected["status"] = X.INVALID_UTF8_VALUE_DECODED
        expected[X.INVALID_UTF8_KEY_DECODED] = X.Num("1")
        d = X.diff_json(ex[0]["golang"][NS], expected)
        self.assertEqual([], d, "\n".join(d))
        d = X.diff_json(heap[0]["golang"]["heap"], X.load_golden("expvartarget.golang-heap.scrape1.expected.json"))
        self.assertEqual([], d, "\n".join(d))
        self.assertIn("\ufffd", res.stdout)
        self.assertNotIn("\\ufffd", res.stdout.lower(), "U+FFFD must be written raw, as Metricbeat does")


class TestOddButValidBodies(unittest.TestCase):
    """Bodies a Go program can legitimately send that are easy to get wrong:
    each metricset succeeds or fails on its own, as in Metricbeat."""

    @classmethod
    def setUpClass(cls):
        X.require_binary()
        cls.srv = X.TargetServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def scrape(self, name, body):
        self.srv.route("/%s/debug/vars" % name, X.json_body(body))
        url = self.srv.url("/%s/debug/vars" % name)
        res = X.run_expvarbeat(["test", "target", url, "--namespace", NS, "--metricsets", "expvar,heap"])
        self.assertEqual([], X.sanitizer_problems(res.stderr), res.describe())
        docs = res.docs()  # fails on duplicate keys or invalid JSON
        ex, heap = X.by_metricset(docs, "expvar"), X.by_metricset(docs, "heap")
        self.assertEqual((1, 1), (len(ex), len(heap)), res.describe())
        return res, url, ex[0], heap[0]

    def test_numbers_written_as_go_writes_float64(self):
        body = (b'{"negzero": -0, "negzero_f": -0.0, "micro": 0.000001, "tiny": 1e-7, '
                b'"big": 100000000000000000000000, "upper": 1E3, "one": 1.0, "nine": 123456789, '
                b'"sub": 5e-324, "max": 1.7976931348623157e308, "frac": 0.1, "neg": -2.5e-5, '
                b'"int53": 9007199254740993, "million": 1000000, "justbelow": 999999.9, '
                b'"zero_f": 0.0, "zero_fff": 0.000, "zero_e": 0E-5, "negzero_e": -0.0e10, "ten": 10.00}')
        res, url, ex, heap = self.scrape("numbers", body)
        self.assertEqual(0, res.rc, res.describe())
        expected = X.mb_expvar_fields(X.loads(body))
        self.assertEqual(X.Num("-0"), expected["negzero_f"])  # the oracle itself
        d = X.diff_json(ex["golang"][NS], expected)
        self.assertEqual([], d, "\n".join(d))

    def test_duplicate_keys_last_one_wins(self):
        """Go decodes into a map: a repeated key keeps its last value.  The
        document must not repeat the key (Elasticsearch rejects that)."""
        body = b'{"a": 1, "b": 2, "a": 3, "m": {"x": 1, "x": {"y": 2}}}'
        res, url, ex, heap = self.scrape("dups", body)
        self.assertEqual(0, res.rc, res.describe())
        expected = {"a": X.Num("3"), "b": X.Num("2"), "m": {"x": {"y": X.Num("2")}}}
        d = X.diff_json(ex["golang"][NS], expected)
        self.assertEqual([], d, "\n".join(d))

    def test_number_beyond_float64(self):
        """expvar cannot hold 1e400 in a float64; heap ignores unknown keys."""
        body = b'{"huge": 1e400, "memstats": {"NumGC": 0}}'
        res, url, ex, heap = self.scrape("e400", body)
        self.assertEqual(1, res.rc, res.describe())
        self.assertEqual([], X.check_envelope(ex, "expvar", "golang.expvar", url, 10000, error=True))
        self.assertEqual(FETCH + "json: cannot unmarshal number 1e400 into Go value of type float64",
                         X.error_message(ex))
        self.assertEqual([], X.check_envelope(heap, "heap", "golang.heap", url, 10000))
        self.assertEqual(X.Num("0"), heap["golang"]["heap"]["gc"]["total_count"])

    def test_cmdline_string_and_integer_gccpufraction(self):
        """A string cmdline is kept by expvar and refused by heap (a []interface{}
        field); GCCPUFraction is the integer 0 before the first GC."""
        body = b'{"cmdline": "./app -x", "memstats": {"GCCPUFraction": 0, "NumGC": 0}}'
        res, url, ex, heap = self.scrape("cmdstr", body)
        self.assertEqual(1, res.rc, res.describe())
        self.assertEqual({"cmdline": "./app -x", "memstats": {"GCCPUFraction": X.Num("0"), "NumGC": X.Num("0")}},
                         ex["golang"][NS])
        self.assertEqual(UNMARSHAL + "json: cannot unmarshal string into Go struct field Stats.Cmdline "
                         "of type []interface {}", X.error_message(heap))
        body = b'{"cmdline": ["./app"], "memstats": {"GCCPUFraction": 0, "NumGC": 0}}'
        res, url, ex, heap = self.scrape("cpu0", body)
        self.assertEqual(0, res.rc, res.describe())
        self.assertEqual(X.Num("0"), heap["golang"]["heap"]["gc"]["cpu_fraction"])
        self.assertEqual("./app", heap["golang"]["heap"]["cmdline"])

    def test_memstats_field_types(self):
        for field, value, gotype in (("NumGC", b"1.5", "uint32"), ("Alloc", b"-1", "uint64"),
                                     ("NumGC", b"4294967296", "uint32"), ("LastGC", b"1.5e18", "uint64")):
            with self.subTest(field=field, value=value):
                body = b'{"memstats": {"' + field.encode() + b'": ' + value + b"}}"
                res, url, ex, heap = self.scrape("ms%s%s" % (field, abs(hash(value))), body)
                self.assertEqual(1, res.rc, res.describe())
                self.assertIn("golang", ex, "expvar takes any number")
                self.assertEqual(UNMARSHAL + "json: cannot unmarshal number %s into Go struct field "
                                 "MemStats.MemStats.%s of type %s" % (value.decode(), field, gotype),
                                 X.error_message(heap))


class TestDaemonWithBadTargets(unittest.TestCase):
    """All bad targets and one good one in one daemon, period 1s, timeout 1s."""

    def test_good_target_unaffected(self):
        cases = bad_cases()
        with X.TargetServer() as srv:
            srv.route("/good/debug/vars", X.capture("expvartarget"))
            srv.route("/hang/debug/vars", X.Hang())
            srv.route("/drip/debug/vars", X.capture("expvartarget", chunk_size=64, delay=0.1))
            good = srv.url("/good/debug/vars")
            modules = [X.golang_module([good], namespace="good", timeout="1s")]
            bad = {}
            for name, (behaviour, ec, hc) in cases.items():
                srv.route("/%s/debug/vars" % name, behaviour)
                bad[srv.url("/%s/debug/vars" % name)] = (name, ec, hc)
            bad[srv.url("/hang/debug/vars")] = ("hang", timeout_check(), timeout_check())
            # 4381 bytes in 64-byte chunks every 100ms: ~7s, far past the 1s timeout
            bad[srv.url("/drip/debug/vars")] = ("drip", timeout_check(), timeout_check())
            refused = "http://127.0.0.1:%d/debug/vars" % X.free_port()
            chk = transport(r"connection refused", "mentions connection refused")
            bad[refused] = ("refused", chk, chk)
            for url in bad:
                modules.append(X.golang_module([url], namespace=NS, timeout="1s"))

            def enough(docs):
                g = X.by_address(docs, good)
                if len(X.by_metricset(g, "expvar")) < 5 or len(X.by_metricset(g, "heap")) < 5:
                    return False
                for url in bad:
                    b = X.by_address(docs, url)
                    if len(X.by_metricset(b, "expvar")) < 2 or len(X.by_metricset(b, "heap")) < 2:
                        return False
                return True

            with X.Daemon({"metricbeat.modules": modules}) as d:
                d.wait_for(enough, 60, "5 good scrapes and 2 error documents per bad target and metricset")
                self.assertTrue(d.running())
                rss = d.peak_rss_kb()
                docs = d.stop()
                log = d.stderr

        # Peak RSS of the daemon's own address space (VmHWM).  Under ASan the
        # allocator quarantine keeps freed bodies resident, so only a plain
        # build says something about the caps.
        if not X.binary_is_sanitized():
            self.assertLess(rss, RSS_LIMIT_KB, "daemon peak RSS %d kB: a body was not capped" % rss)

        # The good target: every period, the golden documents.
        g = X.by_address(docs, good)
        gex = sorted(X.by_metricset(g, "expvar"), key=X.ts_ms)
        gheap = sorted(X.by_metricset(g, "heap"), key=X.ts_ms)
        golden_ns = X.load_golden("expvartarget.golang-ns.expected.json")
        for doc in gex:
            self.assertEqual([], X.check_envelope(doc, "expvar", "golang.good", good, 1000))
            self.assertEqual([], X.diff_json(doc["golang"]["good"], golden_ns))
        self.assertEqual([], X.diff_json(gheap[0]["golang"]["heap"],
                                         X.load_golden("expvartarget.golang-heap.scrape1.expected.json")))
        for series in (gex, gheap):
            gaps = [X.ts_ms(b) - X.ts_ms(a) for a, b in zip(series, series[1:])]
            self.assertTrue(all(500 <= gap <= 1600 for gap in gaps),
                            "the good target must be scraped every 1s despite the bad ones: gaps %s ms" % gaps)

        # Each bad target: only error documents, with the right messages, logged.
        for url, (name, ec, hc) in bad.items():
            b = X.by_address(docs, url)
            for ms, dataset, check in (("expvar", "golang.expvar", ec), ("heap", "golang.heap", hc)):
                for doc in X.by_metricset(b, ms):
                    probs = X.check_envelope(doc, ms, dataset, url, 1000, error=True)
                    self.assertEqual([], probs, "%s %s" % (name, ms))
                    msg = X.error_message(doc)
                    ok, why = check(msg, url)
                    self.assertTrue(ok, "%s %s error.message %r: %s" % (name, ms, msg, why))
                    self.assertTrue(any(msg in line for line in log.split("\n")),
                                    "no log line carries the %s %s failure %r" % (name, ms, msg))
                    if name == "hang":
                        dur = int(doc["event"]["duration"])
                        self.assertTrue(0.9e9 <= dur <= 3e9,
                                        "timeout 1s but the failed fetch took %d ns" % dur)


if __name__ == "__main__":
    unittest.main(verbosity=2)
