"""Scheduling: a scrape still in flight when its next turn comes is skipped
and counted, never doubled; every period brings one document per target and
metricset otherwise."""

import json
import os
import sys
import threading
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402


class Counting(X.Behaviour):
    """Wraps a behaviour and records how many answers overlap in time."""

    def __init__(self, inner):
        self.inner = inner
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.started = 0

    def respond(self, ctx):
        with self.lock:
            self.active += 1
            self.started += 1
            self.max_active = max(self.max_active, self.active)
        try:
            return self.inner.respond(ctx)
        finally:
            with self.lock:
                self.active -= 1


def stats_of(port):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open("http://127.0.0.1:%d/stats" % port, timeout=5) as r:
        return json.loads(r.read())


class TestSchedule(unittest.TestCase):
    def test_slow_scrape_is_skipped_not_doubled(self):
        # About 4 s per answer (9 chunks, 0.5 s apart) against a 1 s period.
        slow = Counting(X.capture("expvartarget", chunk_size=512, delay=0.5))
        port = X.free_port()
        with X.TargetServer({"/debug/vars": slow}) as srv:
            cfg = {"http.enabled": True, "http.host": "127.0.0.1", "http.port": port,
                   "metricbeat.modules": [X.golang_module(srv.url(), metricsets=["expvar"],
                                                          timeout="20s")]}
            with X.Daemon(cfg) as d:
                d.wait_for(lambda docs: len(docs) >= 2, 20, "two documents from the slow target")
                st = X.wait_until(
                    lambda: (lambda s: s if s["metricbeat"]["golang"]["expvar"]["skipped"] >= 4
                             else None)(stats_of(port)), 10, "skipped turns counted in /stats")
                self.assertEqual(1, slow.max_active, "scrapes of one target overlapped")
                ms = st["metricbeat"]["golang"]["expvar"]
                # Every request the server saw became (or is becoming) a document.
                self.assertLessEqual(slow.started, ms["success"] + ms["failures"] + 1)
                docs = d.docs()
                self.assertTrue(all("error" not in doc for doc in docs), docs[:1])

    def test_one_document_per_period_per_metricset(self):
        with X.TargetServer({"/debug/vars": X.capture("ginexpvar")}) as srv:
            cfg = {"metricbeat.modules": [X.golang_module(srv.url(), period="1s")]}
            with X.Daemon(cfg) as d:
                d.wait_for(lambda docs: len(docs) >= 8, 20, "eight documents")
                docs = d.docs()
        stamps = {}
        for doc in docs:
            stamps.setdefault(doc["metricset"]["name"], []).append(X.ts_ms(doc))
        self.assertEqual({"expvar", "heap"}, set(stamps))
        for name, ts in stamps.items():
            gaps = [b - a for a, b in zip(ts, ts[1:])]
            # Ticks stay on a 1 s grid from the start: no doubles, no drift.
            self.assertTrue(all(700 <= g <= 1300 for g in gaps), "%s gaps %s" % (name, gaps))


if __name__ == "__main__":
    unittest.main()
