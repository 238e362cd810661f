"""The hostile-target matrix: one daemon scrapes a good target (a real
capture) beside 28 bad or odd ones, all at once, period 1s, for about a
minute.  Every target is a real loopback server (raw sockets where HTTP
itself must be broken).  What a user relies on:

* each bad target yields error documents whose error.message says what went
  wrong (Metricbeat's words where it has them);
* odd but valid answers (invalid UTF-8 inside strings, uint64 max, 100,000
  keys, HTTP/1.0 without Content-Length) are documents, not errors;
* the log does not grow by one line per failed scrape: an identical failure
  is logged once, then at most once a minute with a count;
* the daemon's peak memory stays bounded (bodies are capped by
  max_body_size, the gzip bomb is not inflated past it);
* the good target's documents are all there: one per period, none missing;
* a redirect to another host never carries the module's credentials there.
"""

import collections
import http.server
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

NS = "hostile"
RUN_S = 60
PERIOD_MS = 1000
# Peak RSS bound (plain build).  The daemon holds at most one body per
# target in flight; bodies are capped at max_body_size (10 MiB default), and
# only the 20 MiB and gzip-bomb targets get near it, so the worst case is two
# capped bodies in buffers grown by doubling (2 x 16 MiB), the 100,000-key
# document and its queued copy (~2 x 2.5 MiB), plus the ~15 MiB the idle
# daemon needs: ~55 MiB.  Holding the 20 MiB body or any part of the 1 GiB
# bomb beyond the cap would exceed this.
RSS_LIMIT_KB = 64 * 1024
# An identical failure may be logged at most once per minute after the first:
# over a RUN_S run, 2 lines (first, and one "repeated N times"), 3 with slack
# for the scrapes during shutdown.
MAX_LINES_PER_FAILURE = 3

HEAVY = {"huge20mib": "2s", "gzipbomb1gib": "2s", "keys100000": "10s", "drip1bps": "2s"}

FETCH = "error in http fetch: "
UNMARSHAL = "error unmarshalling json: "
U64_MAX = 18446744073709551615


def exact(text):
    return lambda msg, url: (msg == text, "expected %r" % text)


def matches(pattern, what, prefixes=(FETCH,)):
    rx = re.compile(pattern, re.I)

    def check(msg, url):
        return msg.startswith(prefixes) and rx.search(msg) is not None, \
            "expected a message starting with %s that %s" % (" or ".join(prefixes), what)
    return check


def transport(pattern, what):
    rx = re.compile(pattern, re.I)

    def check(msg, url):
        head = FETCH + 'error making http request: Get "%s": ' % url
        return msg.startswith(head) and rx.search(msg[len(head):]) is not None, \
            "expected %r followed by a reason that %s" % (head, what)
    return check


def both(text_expvar, text_heap):
    return exact(FETCH + text_expvar), exact(UNMARSHAL + text_heap)


def same(check):
    return check, check


LIMIT = matches(r"larger than|too (large|big)|exceed|limit|max", "says a size limit was hit")
TIMEOUT = matches(r"time(d)? ?out|deadline exceeded", "mentions the timeout")


# ---------------------------------------------------------------------------
# Behaviours that need raw control of the connection


class ResetMidBody(X.Behaviour):
    """Announces the whole capture, sends half of it, then resets (RST)."""

    def __init__(self, body):
        self.body = body

    def respond(self, ctx):
        ctx.head(200, "OK", X.JSON_HEADERS, length=len(self.body))
        ctx.send(self.body[: len(self.body) // 2])
        ctx.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False


class Http10(X.Behaviour):
    """HTTP/1.0 without Content-Length: the body ends when the server closes
    (valid HTTP).  cut: close after half the body."""

    def __init__(self, body, cut=False):
        self.body = body[: len(body) // 2] if cut else body

    def respond(self, ctx):
        ctx.send(b"HTTP/1.0 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n" + self.body)
        return False


class Drip(X.Behaviour):
    """Headers at once, then the body one byte per second."""

    def __init__(self, body):
        self.body = body

    def respond(self, ctx):
        ctx.head(200, "OK", X.JSON_HEADERS, length=len(self.body))
        for i in range(len(self.body)):
            ctx.send(self.body[i:i + 1])
            if ctx.wait_stopped(1.0):
                return False
        return True


class RecordingServer(X.TargetServer):
    """A TargetServer on another loopback address (another host)."""

    def __init__(self, host):
        self._sock = None
        super().__init__()
        self._sock.close()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.host = host

    def url(self, path="/debug/vars"):
        return "http://%s:%d%s" % (self.host, self.port, path)


class BadCertServer:
    """HTTPS with a certificate from the test CA, which the daemon is not
    told to trust: the chain cannot be verified."""

    def __init__(self, body):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # the client refusing our certificate is the point

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls = X.data_path("tls")
        ctx.load_cert_chain(os.path.join(tls, "server.pem"), os.path.join(tls, "server.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self):
        return "https://127.0.0.1:%d/debug/vars" % self.httpd.server_address[1]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


# The good target runs in its own process: the bad ones keep this process's
# threads busy (20 MiB bodies, drips), and the good target's schedule must
# measure the daemon, not the Python interpreter's lock.
GOOD_SERVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
import expvarlib as X
srv = X.TargetServer().start()
srv.route("/good/debug/vars", X.capture("expvartarget"))
print(srv.port, flush=True)
sys.stdin.read()
srv.stop()
"""


class GoodServer:
    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", GOOD_SERVER, os.path.dirname(os.path.abspath(__file__))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=X.base_env())
        self.port = int(self.proc.stdout.readline())
        return self

    def url(self):
        return "http://127.0.0.1:%d/good/debug/vars" % self.port

    def __exit__(self, *exc):
        try:
            self.proc.stdin.close()
            self.proc.wait(15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
        return False


# ---------------------------------------------------------------------------
# Bodies


def body_inf():
    """Go's expvar.Float writes +Inf bare (strconv 'g'), which is not JSON."""
    b = X.read_data("expvartarget.json")
    new, n = re.subn(rb'"temperature": [0-9.]+', b'"temperature": +Inf', b)
    assert n == 1
    return new


def body_u64():
    return (b'{"cmdline": ["./app"], "big": %d, "memstats": {"HeapAlloc": %d, "NumGC": 0}}'
            % (U64_MAX, U64_MAX))


def body_many_keys(n=100000):
    return b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(n)) + b"}"


def check_u64(doc_ex, doc_heap):
    big = doc_ex["golang"][NS]["big"]
    allocated = doc_heap["golang"]["heap"]["allocations"]["allocated"]
    # libbeat's normaliser clears bit 63 of every uint64 (spec 1.5).
    want = U64_MAX & ~(1 << 63)
    ok = big == X.Num("1.8446744073709552e+19") and allocated == X.Num(str(want))
    return ok, "uint64 max: expvar %s, want it as a float64 (1.8446744073709552e+19); heap %s, want %d" % (
        big, allocated, want)


def check_many_keys(doc_ex, doc_heap):
    fields = doc_ex["golang"][NS]
    return (len(fields) == 100000 and fields["k99999"] == X.Num("99999"),
            "all 100,000 keys, as Metricbeat keeps them")


def check_utf8(doc_ex, doc_heap):
    return (doc_ex["golang"][NS]["status"] == X.INVALID_UTF8_VALUE_DECODED and
            doc_ex["golang"][NS][X.INVALID_UTF8_KEY_DECODED] == X.Num("1"),
            "invalid bytes replaced by U+FFFD in values and keys")


def check_golden(doc_ex, doc_heap):
    d = X.diff_json(doc_ex["golang"][NS], X.load_golden("expvartarget.golang-ns.expected.json"))
    return d == [], "the golden document: %s" % d[:3]


class TestHostileTargets(unittest.TestCase):
    def test_matrix(self):
        X.require_binary()
        capture = X.read_data("expvartarget.json")
        srv = X.TargetServer().start()
        other = RecordingServer("127.0.0.2").start()
        tls = BadCertServer(capture).start()
        try:
            with GoodServer() as good:
                self.run_matrix(srv, other, tls, capture, good.url())
        finally:
            tls.stop()
            other.stop()
            srv.stop()

    def run_matrix(self, srv, other, tls, capture, good):
        other.route("/debug/vars", X.capture("expvartarget"))
        # name → (behaviour, expvar check, heap check)
        bad = {
            "html": (X.Html(),) + both("invalid character '<' looking for beginning of value",
                                       "invalid character '<' looking for beginning of value"),
            "status404": (X.GoStatus(404),) + same(exact(FETCH + "HTTP error 404 in : 404 Not Found")),
            "status500": (X.GoStatus(500),) + same(exact(FETCH + "HTTP error 500 in : 500 Internal Server Error")),
            "status401": (X.GoStatus(401),) + same(exact(FETCH + "HTTP error 401 in : 401 Unauthorized")),
            "truncated": (X.json_body(X.body_truncated()),) + both("unexpected end of JSON input",
                                                                   "unexpected end of JSON input"),
            "array": (X.json_body(X.body_top_level_array()),) + both(
                "json: cannot unmarshal array into Go value of type map[string]interface {}",
                "json: cannot unmarshal array into Go value of type heap.Stats"),
            "huge20mib": (X.json_body(X.body_huge),) + same(LIMIT),
            "gzipbomb1gib": (X.json_body(lambda: X.body_gzip_bomb(1024), content_encoding="gzip"),)
            + same(LIMIT),
            "deep10000": (X.json_body(X.body_deep()),) + (
                matches(r"depth|nest", "mentions the nesting depth"),
                matches(r"depth|nest", "mentions the nesting depth", prefixes=(FETCH, UNMARSHAL))),
            "nan": (X.json_body(X.body_nan()),) + both("invalid character 'N' looking for beginning of value",
                                                       "invalid character 'N' looking for beginning of value"),
            "inf": (X.json_body(body_inf()),) + both("invalid character '+' looking for beginning of value",
                                                     "invalid character '+' looking for beginning of value"),
            "drip1bps": (Drip(capture),) + same(TIMEOUT),
            "hang": (X.Hang(),) + same(TIMEOUT),
            "resetmidbody": (ResetMidBody(capture),) + same(
                transport(r"reset|EOF|closed|recv", "says the connection broke")),
            # Eleven requests per scrape: on a busy machine the 2 s timeout may
            # come first (at least one "stopped after" is required below).
            "redirectloop": (X.Redirect(),) + same(transport(r"stopped after 10 redirects|deadline exceeded",
                                                             "counts redirects or says it timed out")),
            "http10cut": (Http10(capture, cut=True),) + both("unexpected end of JSON input",
                                                            "unexpected end of JSON input"),
            "empty": (X.json_body(b""),) + both("unexpected end of JSON input", "unexpected end of JSON input"),
            "trailing": (X.json_body(b'{"a": 1}\n}'),) + both("invalid character '}' after top-level value",
                                                              "invalid character '}' after top-level value"),
            "bom": (X.json_body(b"\xef\xbb\xbf" + capture),) + both(
                "invalid character '\u00ef' looking for beginning of value",
                "invalid character '\u00ef' looking for beginning of value"),
            "status204": (X.Body(b"", status=204, reason="No Content", headers=[], chunked=False),)
            + same(exact(FETCH + "HTTP error 204 in : 204 No Content")),
            # Followed, as Go follows it; the other host answers 404 there.
            "redirectotherhost": (X.Redirect(other.url("/elsewhere/debug/vars")),)
            + same(exact(FETCH + "HTTP error 404 in : 404 Not Found")),
            "redirectotherhost2": (X.Redirect(other.url("/elsewhere/debug/vars")),)
            + same(exact(FETCH + "HTTP error 404 in : 404 Not Found")),
        }
        odd = {
            "invalidutf8": (X.json_body(X.body_invalid_utf8()), check_utf8),
            "u64max": (X.json_body(body_u64()), check_u64),
            "keys100000": (X.json_body(body_many_keys()), check_many_keys),
            "http10": (Http10(capture), check_golden),
        }
        modules = []
        modules.append(X.golang_module([good], namespace="good", timeout="2s"))
        urls = {}
        for name, spec in list(bad.items()) + list(odd.items()):
            srv.route("/%s/debug/vars" % name, spec[0])
            urls[name] = srv.url("/%s/debug/vars" % name)
            # Heavy answers every few seconds: enough repeats, less test-side CPU.
            extra = {"timeout": "2s", "period": HEAVY.get(name, "1s")}
            if name == "redirectotherhost":
                extra.update({"username": "matrixuser", "password": "matrix-secret-pw"})
            if name == "redirectotherhost2":
                extra["headers"] = {"Authorization": "Bearer matrix-secret-token"}
            modules.append(X.golang_module([urls[name]], namespace=NS, **extra))
        # Not a server at all, and a server whose certificate cannot be verified.
        refused = "http://127.0.0.1:%d/debug/vars" % X.closed_port()
        urls["refused"] = refused
        bad["refused"] = (None,) + same(transport(r"connection refused", "says connection refused"))
        urls["badcert"] = tls.url()
        bad["badcert"] = (None,) + same(transport(r"x509: certificate signed by unknown authority",
                                                  "says the certificate is not trusted"))
        for name in ("refused", "badcert"):
            modules.append(X.golang_module([urls[name]], namespace=NS, timeout="2s"))
        self.assertGreaterEqual(len(bad), 20)

        X.body_gzip_bomb(1024)  # build the 1 MiB → 1 GiB bomb before the clock starts
        cfg = {"metricbeat.modules": modules, "queue.mem.events": 4096}
        with X.Daemon(cfg) as d:
            started = time.time()
            wake = threading.Event()
            peak_kb = 0
            while time.time() - started < RUN_S:  # the run length is the test's parameter
                self.assertTrue(d.running(), d.describe())
                peak_kb = max(peak_kb, d.peak_rss_kb() or 0)
                wake.wait(1.0)
            peak_kb = max(peak_kb, d.peak_rss_kb() or 0)
            stopped = time.time()
            docs = d.stop(timeout=30)
            log = d.stderr

        by_url = collections.defaultdict(list)
        for doc in docs:
            by_url[X.get(doc, "service.address")].append(doc)
        report = ["peak RSS %d kB (VmHWM), %d documents, %d log lines" %
                  (peak_kb, len(docs), len(log.splitlines()))]

        # The good target: golden documents, one per period, none missing.
        g = by_url[good]
        for ms in ("expvar", "heap"):
            series = sorted(X.by_metricset(g, ms), key=X.ts_ms)
            self.assertTrue(series, "no %s documents from the good target" % ms)
            for doc in series:
                self.assertNotIn("error", doc)
            times = [X.ts_ms(x) / 1000.0 for x in series]
            gaps = [b - a for a, b in zip(times, times[1:])]
            # A late scrape (a busy machine) is followed by an early one on the
            # fixed schedule; a missing one leaves a gap of two periods.
            self.assertTrue(all(0.25 <= gap <= 1.9 for gap in gaps),
                            "good %s: a period was missed or doubled: gaps %s" % (ms, gaps))
            self.assertGreaterEqual(len(series), round(times[-1] - times[0]) + 1,
                                    "good %s: fewer documents than periods" % ms)
            self.assertLess(times[0] - started, 3.0, "good %s: first document late" % ms)
            self.assertLess(stopped - times[-1], 3.0, "good %s: documents stopped early" % ms)
            report.append("good %s: %d documents in %.0f s, largest gap %.2f s" %
                          (ms, len(series), stopped - started, max(gaps)))
        d0 = X.diff_json(X.by_metricset(g, "expvar")[0]["golang"]["good"],
                         X.load_golden("expvartarget.golang-ns.expected.json"))
        self.assertEqual([], d0, "\n".join(d0))

        # Each bad target: error documents only, sensible messages, a log
        # line for each distinct failure, and not one per scrape.
        lines = log.splitlines()
        for name, (_, ec, hc) in bad.items():
            url = urls[name]
            got = by_url[url]
            with self.subTest(target=name):
                msgs = collections.Counter()
                for ms, check in (("expvar", ec), ("heap", hc)):
                    series = X.by_metricset(got, ms)
                    self.assertGreaterEqual(len(series), 2, "%s: %s error documents" % (name, ms))
                    for doc in series:
                        msg = X.error_message(doc)
                        self.assertIsNotNone(msg, "%s %s: a document without error.message: %s" % (name, ms, doc))
                        ok, why = check(msg, url)
                        self.assertTrue(ok, "%s %s error.message %r: %s" % (name, ms, msg, why))
                        msgs[(ms, msg)] += 1
                for (ms, msg), n in msgs.items():
                    logged = [ln for ln in lines if msg in ln and "golang.%s (%s)" % (ms, url) in ln]
                    self.assertGreaterEqual(len(logged), 1, "%s %s: failure %r never logged" % (name, ms, msg))
                    self.assertLessEqual(len(logged), MAX_LINES_PER_FAILURE,
                                         "%s %s: %d scrapes failed with %r and %d lines were logged: "
                                         "not rate-limited" % (name, ms, n, msg, len(logged)))
                    if n > len(logged) + 1 and len(logged) > 1:
                        self.assertTrue(any("repeated" in ln for ln in logged),
                                        "%s: a later line should count the repeats" % name)
                report.append("%-18s %3d error docs, %d log lines: %s" %
                              (name, sum(msgs.values()), sum(1 for ln in lines if url in ln),
                               sorted(set(m for _, m in msgs))[0][:90]))

        # Odd but valid: documents, not errors.
        for name, (_, check) in odd.items():
            with self.subTest(target=name):
                got = by_url[urls[name]]
                ex, heap = X.by_metricset(got, "expvar"), X.by_metricset(got, "heap")
                self.assertTrue(ex and heap, "%s: no documents" % name)
                for a, b in zip(ex, heap):
                    self.assertNotIn("error", a, "%s: %s" % (name, X.error_message(a)))
                    self.assertNotIn("error", b, "%s: %s" % (name, X.error_message(b)))
                    ok, why = check(a, b)
                    self.assertTrue(ok, "%s: %s" % (name, why))
                report.append("%-18s %3d documents, no error" % (name, len(ex) + len(heap)))

        loop = [X.error_message(x) for x in by_url[urls["redirectloop"]]]
        self.assertTrue(any("stopped after 10 redirects" in m for m in loop), set(loop))

        # The other host saw the redirected requests, without credentials.
        seen = other.requests_for("/elsewhere/debug/vars")
        self.assertTrue(seen, "the redirect to 127.0.0.2 was not followed")
        self.assertEqual([], [r.header("Authorization") for r in seen if r.header("Authorization")],
                         "credentials were sent to another host after a redirect")
        self.assertNotIn("matrix-secret-pw", log)
        self.assertNotIn("matrix-secret-token", log)
        # ... while the first host did get them.
        first = srv.requests_for("/redirectotherhost2/debug/vars")
        self.assertIn("Bearer matrix-secret-token", [r.header("Authorization") for r in first])

        if X.binary_is_sanitized():
            report.append("(ASan build: RSS not checked, the allocator quarantine holds freed bodies)")
        else:
            self.assertLess(peak_kb, RSS_LIMIT_KB, "daemon peak RSS %d kB" % peak_kb)
        sys.stderr.write("\n" + "\n".join(report) + "\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
