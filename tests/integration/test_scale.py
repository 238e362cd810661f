"""Scale, functional checks: with many targets each keeps one connection
alive across periods (no reconnect per scrape, even though only a few
scrapes are in flight at any time), one fetch serves both metricsets, and
start times are spread over max_start_delay instead of a burst."""

import os
import selectors
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

N_TARGETS = 200


class Farm:
    """N loopback listeners served by one thread: HTTP/1.1 keep-alive,
    a captured /debug/vars body; counts connections accepted and requests
    per port."""

    def __init__(self, n, body):
        self.body = body
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.accepted = {}
        self.requests = {}
        self.first_request = {}
        self.listeners = []
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(16)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, ("listen", s.getsockname()[1]))
            self.listeners.append(s)
        self.ports = [s.getsockname()[1] for s in self.listeners]
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.thread.join(10)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()

    def run(self):
        while not self.stopping:
            for key, _ in self.sel.select(0.1):
                kind, port = key.data[0], key.data[1]
                if kind == "listen":
                    conn, _ = key.fileobj.accept()
                    conn.setblocking(False)
                    with self.lock:
                        self.accepted[port] = self.accepted.get(port, 0) + 1
                    self.sel.register(conn, selectors.EVENT_READ, ("conn", port, bytearray()))
                else:
                    self.serve(key.fileobj, port, key.data[2])

    def serve(self, conn, port, pending):
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(conn)
            conn.close()
            return
        pending += data
        while b"\r\n\r\n" in pending:
            end = pending.index(b"\r\n\r\n") + 4
            del pending[:end]
            with self.lock:
                self.requests[port] = self.requests.get(port, 0) + 1
                self.first_request.setdefault(port, time.monotonic())
            conn.setblocking(True)  # small answers: write them whole
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(self.body), self.body))
            conn.setblocking(False)

    def counts(self):
        with self.lock:
            return dict(self.accepted), dict(self.requests), dict(self.first_request)


class TestScale(unittest.TestCase):
    def test_connections_kept_alive_and_starts_spread(self):
        with Farm(N_TARGETS, X.read_data("expvartarget.json")) as farm:
            urls = ["http://127.0.0.1:%d/debug/vars" % p for p in farm.ports]
            cfg = {"metricbeat.modules": [X.golang_module(urls, period="1s")],
                   "metricbeat.max_start_delay": "1s"}
            with X.Daemon(cfg) as d:
                X.wait_until(lambda: d.running() and len(farm.counts()[1]) == N_TARGETS
                             and all(n >= 4 for n in farm.counts()[1].values()), 30,
                             "four scrapes of every target")
                accepted, requests, first = farm.counts()
                docs = d.stop()
        # one connection per target for all its scrapes
        reconnects = {p: n for p, n in accepted.items() if n > 1}
        self.assertEqual({}, reconnects, "targets that reconnected (port: connections)")
        # one fetch, two documents; every answer became both
        self.assertEqual(2 * sum(requests.values()), len(docs))
        self.assertEqual(len(X.by_metricset(docs, "expvar")), len(X.by_metricset(docs, "heap")))
        # first scrapes spread over max_start_delay: no tenth of it holds a third of them
        t0 = min(first.values())
        buckets = [0] * 10
        for t in first.values():
            buckets[min(9, int((t - t0) * 10))] += 1
        self.assertLess(max(buckets), N_TARGETS / 3, buckets)


if __name__ == "__main__":
    unittest.main()
