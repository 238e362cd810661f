"""eslib: helpers shared by the tests that run expvarbeat against the
Elasticsearch test server (esserver.py): the daemon's config with
output.elasticsearch, its final counts (the "expvarbeat stopped" line), the
/stats endpoint, and the exactly-once checks every delivery test makes."""

import json
import os
import re
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import esserver  # noqa: E402,F401  (re-exported for the tests)
import expvarlib as X  # noqa: E402

STOPPED_RE = re.compile(r"expvarbeat stopped: (\d+) events published, (\d+) acked, (\d+) dropped")


def beat_version():
    """The version `expvarbeat version` prints ("expvarbeat version X ...")."""
    def get():
        res = X.run_expvarbeat(["version"], timeout=20)
        m = re.match(r"expvarbeat version (\S+)", res.stdout)
        if not m:
            raise AssertionError("unexpected `expvarbeat version` output: %r" % res.stdout)
        return m.group(1)
    return X._cached("beat-version", get)


def data_stream():
    """The default index: the data stream expvarbeat-<version>."""
    return "expvarbeat-" + beat_version()


def target_server(names, t2=True):
    """A TargetServer with one route per capture name (/<i>/debug/vars),
    each serving the capture then its -t2 sibling.  Returns (server, urls)."""
    srv = X.TargetServer()
    urls = []
    for i, name in enumerate(names):
        path = "/t%d/debug/vars" % i
        b = X.capture(name)
        srv.route(path, X.Sequence(b, X.capture(name + "-t2")) if t2 else b)
        urls.append(srv.url(path))
    return srv.start(), urls


def es_config(es, hosts, es_opts=None, period="1s", metricsets=("expvar", "heap"), namespace="app",
              stats_port=None, **top):
    """A daemon config: the golang module on `hosts`, output.elasticsearch to
    `es` with short backoffs, a queue that flushes quickly.  Keys in top
    (dotted, e.g. "setup.ilm.enabled") override."""
    out = {"hosts": [es.url] if not isinstance(es, str) else [es], "backoff.init": "200ms", "backoff.max": "1s"}
    out.update(es_opts or {})
    return X.output_config("elasticsearch", out, hosts, period, metricsets, namespace, stats_port, top)


class Counts:
    def __init__(self, published, acked, dropped):
        self.published, self.acked, self.dropped = published, acked, dropped

    def __repr__(self):
        return "published=%d acked=%d dropped=%d" % (self.published, self.acked, self.dropped)


def final_counts(daemon):
    """The counts of the daemon's last "expvarbeat stopped" line."""
    m = None
    for m in STOPPED_RE.finditer(daemon.stderr):
        pass
    if m is None:
        raise AssertionError("no 'expvarbeat stopped' line\n%s" % daemon.describe())
    return Counts(*(int(x) for x in m.groups()))


def stats(port):
    """The daemon's /stats document."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open("http://127.0.0.1:%d/stats" % port, timeout=5) as r:
        return json.loads(r.read())


def wait_indexed(daemon, es, n, timeout, index=None):
    """Polls until the server holds >= n documents; fails early if the
    daemon exits."""
    index = index or data_stream()

    def ready():
        if not daemon.running():
            raise AssertionError("expvarbeat exited (%s) while waiting for %d documents\n%s" %
                                 (daemon.proc.rc, n, daemon.describe()))
        return es.count(index) >= n
    try:
        X.wait_until(ready, timeout, "%d documents in %s" % (n, index))
    except AssertionError as e:
        raise AssertionError("%s (have %d; item statuses %s)\n%s" % (e, es.count(index), es.statuses(),
                                                                      daemon.describe())) from None


def wait_log(daemon, pattern, timeout, what=None, since=0):
    """Polls the daemon's stderr (from offset `since`) for a regex; returns
    the match."""
    rx = re.compile(pattern)

    def found():
        return rx.search(daemon.stderr, since)
    try:
        return X.wait_until(found, timeout, what or "a log line matching %r" % pattern)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, daemon.describe())) from None


def doc_keys(docs):
    return [(X.get(d, "metricset", "name"), X.get(d, "service", "address"), d.get("@timestamp")) for d in docs]


def assert_exact(test, es, daemon, dropped=0, index=None):
    """After a clean stop: nothing lost, nothing doubled.  Elasticsearch
    holds exactly the events published minus those dropped (and the daemon
    says so), each document once."""
    index = index or data_stream()
    c = final_counts(daemon)
    test.assertGreater(c.published, 0, "no events published\n%s" % daemon.describe())
    test.assertEqual(c.dropped, dropped, "%s\n%s" % (c, daemon.describe()))
    test.assertEqual(es.count(index), c.published - c.dropped,
                     "documents in Elasticsearch vs events published-dropped (%s; item statuses %s)\n%s"
                     % (c, es.statuses(), daemon.describe()))
    keys = doc_keys(es.docs(index))
    dups = sorted({k for k in keys if keys.count(k) > 1})
    test.assertEqual(dups, [], "documents indexed twice")
    return c


def bulk_sources(es):
    """Every document line of every bulk request received, in order, with
    the status the request got (for "was it re-sent?" questions)."""
    out = []
    for req in es.recorded("bulk"):
        lines = req.decoded.split(b"\n")
        out.append((req.status, [lines[i] for i in range(1, len(lines) - 1, 2)]))
    return out


def started(test, daemon):
    """Starts a daemon whose exit is checked by the test itself (not the
    exit-0 check of `with Daemon`); killed and cleaned up at the end."""
    daemon.start()
    test.addCleanup(daemon.__exit__, RuntimeError, None, None)
    return daemon


def stop_lossy(test, daemon, timeout=15):
    """SIGTERM while events cannot be delivered: the daemon gives up after
    shutdown_timeout, says how many were lost and exits 1.  Returns its
    final counts."""
    import signal
    daemon.proc.signal(signal.SIGTERM)
    test.assertTrue(daemon.proc.wait(timeout), "exit after shutdown_timeout\n%s" % daemon.describe())
    test.assertEqual(daemon.proc.rc, 1, "exit status 1: accepted events were lost\n%s" % daemon.describe())
    test.assertEqual(X.sanitizer_problems(daemon.stderr), [])
    c = final_counts(daemon)
    lost = c.published - c.acked - c.dropped
    test.assertGreater(lost, 0, str(c))
    test.assertRegex(daemon.stderr, r"\b%d accepted events could not be delivered" % lost)
    return c
