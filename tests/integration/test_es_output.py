"""output.elasticsearch delivery: real targets scraped into the Elasticsearch
test server, with the faults the issue lists.  Each test quiesces the daemon
with SIGTERM and compares what the server indexed with the daemon's own
final counts ("expvarbeat stopped: N events published, N acked, N dropped"):
documents indexed == published - dropped, each document once, and a drop
only where Elasticsearch refused an item for good.

The outage lasts 30 s and the 429 storm 20 s, as the issue asks."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eslib as E  # noqa: E402
import expvarlib as X  # noqa: E402
from esserver import ESServer  # noqa: E402


class Base(unittest.TestCase):
    targets = ("expvartarget",)

    def setUp(self):
        X.require_binary()
        self.DS = E.data_stream()
        self.es = ESServer().start()
        self.addCleanup(self.es.stop)
        self.srv, self.urls = E.target_server(self.targets)
        self.addCleanup(self.srv.stop)

    def tearDown(self):
        self.assertEqual(self.es.errors, [], "test server handler exceptions")

    def daemon(self, es_opts=None, **top):
        d = X.Daemon(E.es_config(self.es, self.urls, es_opts=es_opts, **top), output=None)
        return d

    def run_until(self, d, n, timeout=30):
        E.wait_indexed(d, self.es, n, timeout)


class TestDelivery(Base):
    def test_clean_run(self):
        with self.daemon() as d:
            self.run_until(d, 6)
            d.stop()
        c = E.assert_exact(self, self.es, d)
        self.assertEqual(c.acked, c.published)
        self.assertEqual(set(self.es.statuses()), {201})
        # every scrape became a document: target requests answered vs events
        # (one fetch of /debug/vars makes the expvar and the heap document)
        served = 2 * len(self.srv.requests_for("/t0/debug/vars"))
        self.assertLessEqual(c.published, served)
        self.assertGreaterEqual(c.published, served - 2, "at most the scrapes in flight at SIGTERM are lost")
        bulks = self.es.recorded("bulk")
        self.assertTrue(all(r.header("content-encoding") == "gzip" for r in bulks), "compression_level 1")
        self.assertTrue(all(r.ndjson()[0] == {"create": {"_index": self.DS}} for r in bulks))
        self.assertEqual(bulks[0].query.get("filter_path"), "errors,items.*.error,items.*.status")
        doc = self.es.docs(self.DS)[0]
        self.assertIn("@timestamp", doc)
        self.assertEqual(X.get(doc, "agent", "version"), E.beat_version())

    def test_outage_mid_run(self):
        with self.daemon() as d:
            self.run_until(d, 4)
            before = self.es.count(self.DS)
            since = len(d.stderr)
            self.es.outage(30)
            E.wait_log(d, r"(?i)(connect|refused|fail)", 15, "a log line about the failed connection", since)
            X.wait_until(lambda: not self.es.is_down(), 45, "the outage to end")
            self.run_until(d, before + 20, 40)  # everything scraped during the outage arrives
            d.stop()
        E.assert_exact(self, self.es, d)

    def test_half_the_items_429_for_a_while(self):
        with self.daemon() as d:
            self.run_until(d, 2)
            self.es.reject_items(0.5, status=429, seconds=20)
            X.wait_until(lambda: self.es.statuses().get(429, 0) >= 4, 20, "429s to be answered")
            X.wait_until(lambda: not self.es.fault_active("items"), 35, "the 429 period to end")
            n = self.es.count(self.DS)
            self.run_until(d, n + 4)
            d.stop()
        E.assert_exact(self, self.es, d)
        # the rejected items were sent again, and only those: no 201 item was ever re-sent
        sent = [src for _, docs in E.bulk_sources(self.es) for src in docs]
        self.assertGreater(len(sent), self.es.count(self.DS))
        self.assertEqual(len(sent) - len(set(sent)), self.es.statuses()[429])

    def test_mixed_item_statuses_in_one_response(self):
        self.srv.stop()
        self.srv, self.urls = E.target_server(["expvartarget", "etcd", "ginexpvar"])  # 6 events a period
        self.es.script_items([201, 409, 429, 400, 503])
        port = X.free_port()
        with self.daemon(stats_port=port, **{"queue.mem.flush.min_events": 6, "queue.mem.flush.timeout": "3s"}) as d:
            X.wait_until(lambda: self.es.recorded("bulk"), 30, "a bulk request")
            E.wait_log(d, r"400", 20, "a log line for the dropped item")
            self.run_until(d, 8)
            out = E.stats(port)["libbeat"]["output"]["events"]
            self.assertEqual((out["duplicates"], out["dropped"]), (1, 1), out)
            d.stop()
        c = E.assert_exact(self, self.es, d, dropped=1)
        first_status, first = E.bulk_sources(self.es)[0]
        self.assertEqual((first_status, len(first) >= 5), (200, True), "the script needs >= 5 items")
        later = [src for _, docs in E.bulk_sources(self.es)[1:] for src in docs]
        self.assertEqual(later.count(first[0]), 0, "201: acked, not re-sent")
        self.assertEqual(later.count(first[1]), 0, "409: a duplicate, not re-sent")
        self.assertEqual(later.count(first[2]), 1, "429: re-sent")
        self.assertEqual(later.count(first[3]), 0, "400: dropped, not re-sent")
        self.assertEqual(later.count(first[4]), 1, "503: re-sent")
        drop_lines = [l for l in d.log_lines() if "400" in l and "injected" in l]
        self.assertTrue(drop_lines, "a log line naming the status and Elasticsearch's reason\n%s" % d.describe())
        self.assertTrue(any(".ds-" + self.DS in l or self.DS in l for l in drop_lines),
                        "the log line names the index: %s" % drop_lines)
        self.assertEqual(c.acked, c.published - c.dropped, "the 409 is delivered (already there): %s" % c)

    def test_dead_letter_index(self):
        self.es.script_items([400])
        with self.daemon({"non_indexable_policy": {"dead_letter_index": {"index": "dead-letters"}}}) as d:
            X.wait_until(lambda: self.es.count("dead-letters") == 1, 30, "the dead letter")
            self.run_until(d, 4)
            d.stop()
        c = E.final_counts(d)
        self.assertEqual(c.dropped, 0, "dead-lettered, not dropped")
        self.assertEqual(self.es.count(self.DS) + self.es.count("dead-letters"), c.published)
        (dl,) = self.es.docs("dead-letters")
        original = self.es.recorded("bulk")[0].ndjson()[1]
        self.assertEqual(json.loads(dl["message"]), original, "the original document, as a string")
        err = dl.get("error") or {}
        self.assertIn("injected", str(err.get("message", dl.get("error.message"))), dl)

    def test_413_splits_batches(self):
        self.targets_many()
        self.es.limit_body(64 * 1024)
        with self.daemon(**{"queue.mem.flush.min_events": 40, "queue.mem.flush.timeout": "2s"}) as d:
            X.wait_until(lambda: any(r.status == 413 for r in self.es.recorded("bulk")), 30, "a 413")
            self.run_until(d, 60, 40)
            d.stop()
        E.assert_exact(self, self.es, d)
        ok = [r for r in self.es.recorded("bulk") if r.status == 200]
        self.assertTrue(all(len(r.decoded) <= 64 * 1024 for r in ok))
        self.assertGreater(max(len(r.ndjson()) // 2 for r in ok), 1, "split in halves, not down to single events")

    def test_413_for_a_single_event_drops_it(self):
        self.es.limit_body(600)  # smaller than any one document
        with self.daemon() as d:
            E.wait_log(d, r"413", 20, "a log line for the event too large to index")
            X.wait_until(lambda: sum(1 for r in self.es.recorded("bulk") if r.status == 413) >= 4, 20, "413s")
            d.stop()
        c = E.final_counts(d)
        self.assertEqual(self.es.count(self.DS), 0)
        self.assertEqual((c.dropped, c.acked), (c.published, 0), c)
        singles = [r for r in self.es.recorded("bulk") if len(r.ndjson()) == 2]
        self.assertTrue(singles, "split down to one event before giving up")

    def test_whole_request_errors_are_retried(self):
        with self.daemon() as d:
            self.run_until(d, 2)
            self.es.fail_requests(503, count=2)
            X.wait_until(lambda: not self.es.fault_active("status"), 20, "two 503s")
            self.es.fail_requests(500, count=1)
            X.wait_until(lambda: not self.es.fault_active("status"), 20, "a 500")
            n = self.es.count(self.DS)
            self.run_until(d, n + 4)
            d.stop()
        E.assert_exact(self, self.es, d)

    def test_answer_slower_than_timeout_is_retried(self):
        with self.daemon({"timeout": "1s"}) as d:
            self.run_until(d, 2)
            self.es.delay(2.5, count=1, kinds=("bulk",))
            E.wait_log(d, r"(?i)time", 20, "a timeout in the log")
            n = self.es.count(self.DS)
            self.run_until(d, n + 4)
            d.stop()
        c = E.final_counts(d)
        self.assertEqual(c.dropped, 0)
        (slow,) = [r for r in self.es.recorded("bulk") if r.delayed]
        X.wait_until(lambda: slow.status is not None, 10, "the slow request to be processed")
        # ES indexed the slow batch after the client gave up, and the client
        # sent it again: at-least-once, exactly that batch twice
        self.assertEqual(self.es.count(self.DS), c.published + len(slow.ndjson()) // 2)

    def targets_many(self):
        self.srv.stop()
        self.srv, self.urls = E.target_server(["expvartarget", "etcd", "ginexpvar"] * 4)

    def test_connection_resets(self):
        with self.daemon() as d:
            self.run_until(d, 2)
            self.es.reset_connections(count=3)
            X.wait_until(lambda: len([r for r in self.es.recorded("bulk") if r.status == "reset"]) >= 3, 30,
                         "three resets")
            n = self.es.count(self.DS)
            self.run_until(d, n + 4)
            d.stop()
        E.assert_exact(self, self.es, d)

    def test_reset_after_indexing_is_at_least_once(self):
        """ES indexed the bulk but the answer was lost: the events are sent
        again (at-least-once), never dropped."""
        with self.daemon() as d:
            self.run_until(d, 2)
            self.es.reset_connections(count=1, after_processing=True)
            X.wait_until(lambda: any(r.status == "reset" for r in self.es.recorded("bulk")), 30, "a reset")
            n = self.es.count(self.DS)
            self.run_until(d, n + 4)
            d.stop()
        c = E.final_counts(d)
        self.assertEqual(c.dropped, 0)
        reset = [r for r in self.es.recorded("bulk") if r.status == "reset"][0]
        self.assertEqual(self.es.count(self.DS), c.published + len(reset.ndjson()) // 2,
                         "exactly the reset batch is indexed twice")

    def test_sigterm_flushes_queued_events(self):
        with self.daemon(**{"shutdown_timeout": "15s"}) as d:
            self.run_until(d, 2)
            since = len(d.stderr)
            self.es.outage(3)
            E.wait_log(d, r"(?i)(connect|refused|fail)", 15, since=since)
            d.stop(timeout=25)  # SIGTERM while the server is down: the queue waits for it
        E.assert_exact(self, self.es, d)

    def test_sigterm_reports_what_was_not_delivered(self):
        d = E.started(self, self.daemon(**{"shutdown_timeout": "1s"}))
        self.run_until(d, 2)
        since = len(d.stderr)
        self.es.begin_outage()
        self.addCleanup(self.es.end_outage)
        E.wait_log(d, r"(?i)(connect|refused|fail)", 15, since=since)
        n = self.es.count(self.DS)
        served = len(self.srv.requests_for("/t0/debug/vars"))
        X.wait_until(lambda: len(self.srv.requests_for("/t0/debug/vars")) >= served + 4, 15,
                     "scrapes while the server is down")
        c = E.stop_lossy(self, d)  # checks the "N accepted events could not be delivered" line
        self.assertEqual(c.dropped, 0)
        self.assertEqual(self.es.count(self.DS), n)


if __name__ == "__main__":
    unittest.main()
