"""output.kafka under broker faults, with librdkafka's mock cluster (three
brokers on loopback) driven through tests/tools/kafka_mock's commands.  Each
test compares what the topic holds with the daemon's final counts:

* all brokers down for 20 s mid-run (as the issue states): everything
  scraped meanwhile arrives after recovery, nothing dropped;
* one broker down: its partitions wait, then deliver;
* retriable produce errors on every broker: delivered once recovered;
* a document above max_message_bytes, or a broker answering
  MSG_SIZE_TOO_LARGE: dropped, logged, counted; the others delivered;
* SIGTERM with messages in flight: flushed once the brokers return within
  shutdown_timeout, or reported as not delivered (exit 1)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eslib as E  # noqa: E402
import expvarlib as X  # noqa: E402
import kafkalib as K  # noqa: E402

TRANSPORT_LOG = r"(?i)(brokers? (are |is )?down|refused|disconnect|transport|unreachable|timed out)"
SIZE_LOG = r"(?i)(too large|MSG_SIZE_TOO_LARGE|max_message_bytes)"


class Base(unittest.TestCase):
    def setUp(self):
        X.require_binary()
        self.km = K.KafkaMock(topics={K.TOPIC: 3}).start()
        self.addCleanup(self.km.stop)
        self.srv, self.urls = E.target_server(("expvartarget",))
        self.addCleanup(self.srv.stop)
        self.tl = K.tail(self, self.km)

    def daemon(self, kafka_opts=None, **top):
        return K.daemon(self.km, self.urls, kafka_opts=kafka_opts, **top)

    def served(self):
        """Documents scraped: one fetch of /debug/vars makes expvar and heap."""
        return 2 * len(self.srv.requests_for("/t0/debug/vars"))

    def wait_scrapes(self, d, n, timeout=20):
        """n more scrapes (events accepted while the brokers are down)."""
        start = self.served()
        X.wait_until(lambda: d.running() and self.served() >= start + n, timeout, "%d more scrapes" % n)

    def assert_every_scrape_delivered(self, c):
        served = self.served()
        self.assertLessEqual(c.published, served)
        self.assertGreaterEqual(c.published, served - 2, "at most the scrapes in flight at SIGTERM are lost")


class TestOutages(Base):
    def test_all_brokers_down_for_20s(self):
        with self.daemon() as d:
            K.wait_messages(d, self.tl, 4, 30)
            since = len(d.stderr)
            self.km.down_between_requests(self.tl)
            self.km.up_after(20)
            before = self.tl.count()
            E.wait_log(d, TRANSPORT_LOG, 20, "a log line about the brokers being unreachable", since)
            self.wait_scrapes(d, 30, 25)  # accepted while every broker is down
            X.wait_until(lambda: not self.km.is_down(), 30, "the outage to end")
            K.wait_messages(d, self.tl, before + 30, 40)  # all of it arrives
            d.stop()
        c, _ = K.assert_exact(self, self.km, d)
        self.assert_every_scrape_delivered(c)

    def test_one_broker_down(self):
        with self.daemon() as d:
            K.wait_messages(d, self.tl, 2, 30)
            self.km.down_between_requests(self.tl, broker="1")
            self.km.up_after(6, broker="1")
            self.wait_scrapes(d, 8)
            X.wait_until(lambda: not self.km.is_down(), 20, "broker 1 to return")
            n = self.served()
            K.wait_messages(d, self.tl, n - 2, 30)
            d.stop()
        c, _ = K.assert_exact(self, self.km, d)
        self.assert_every_scrape_delivered(c)

    def test_reachable_only_skips_a_partition_without_leader(self):
        """partition.round_robin.reachable_only: broker 1 goes down and its
        partition 0 is left without a leader (a single-replica partition in
        real Kafka); events go to partitions 1 and 2 meanwhile, so delivery
        goes on during the outage, and nothing is lost."""
        opts = {"partition": {"round_robin": {"reachable_only": True}}}
        with self.daemon(opts) as d:
            K.wait_messages(d, self.tl, 3, 30)
            self.km.leader(K.TOPIC, 0, -1)
            self.km.down_between_requests(self.tl, broker="1")
            before = self.tl.count()
            K.wait_messages(d, self.tl, before + 6, 10)  # no stall behind partition 0
            self.km.leader(K.TOPIC, 0, 1)
            self.km.set_up("1")
            after = self.tl.count()
            K.wait_messages(d, self.tl, after + 6, 20)
            d.stop()
        c, _ = K.assert_exact(self, self.km, d)
        self.assert_every_scrape_delivered(c)


class TestProduceErrors(Base):
    def test_retriable_errors_are_delivered_once(self):
        with self.daemon() as d:
            K.wait_messages(d, self.tl, 2, 30)
            self.km.broker_errors("produce", 3, "REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION",
                                  "NOT_ENOUGH_REPLICAS")
            X.wait_until(lambda: self.km.pending("produce") == 0, 40,
                         "every broker to answer its 3 errors")
            K.wait_messages(d, self.tl, self.served() - 2, 30)
            d.stop()
        c, _ = K.assert_exact(self, self.km, d)
        self.assert_every_scrape_delivered(c)

    def test_message_above_max_message_bytes_is_dropped(self):
        """max_message_bytes 3000: expvar documents (~5 kB) are dropped,
        logged and counted; heap documents (~1 kB) are delivered."""
        port = X.free_port()
        with self.daemon({"max_message_bytes": 3000}, stats_port=port) as d:
            E.wait_log(d, SIZE_LOG, 20, "a log line for the oversized message")
            K.wait_messages(d, self.tl, 4, 30)
            X.wait_until(lambda: E.stats(port)["libbeat"]["output"]["events"]["dropped"] >= 2, 20,
                         "drops counted in /stats")
            d.stop()
        c = E.final_counts(d)
        self.assertGreaterEqual(c.dropped, 2, c)
        _, got = K.assert_exact(self, self.km, d, dropped=c.dropped)
        self.assertEqual({X.get(m.doc, "metricset", "name") for m in got}, {"heap"}, "only heap fits")
        self.assertTrue(all(len(m.value) <= 3000 for m in got))
        self.assertEqual(c.dropped + len(got), c.published)
        self.assert_every_scrape_delivered(c)

    def test_broker_refusing_as_too_large_drops(self):
        with self.daemon() as d:
            K.wait_messages(d, self.tl, 2, 30)
            since = len(d.stderr)
            self.km.cluster_errors("produce", 1, "MSG_SIZE_TOO_LARGE")
            E.wait_log(d, SIZE_LOG, 20, "a log line for the refused message", since)
            n = self.tl.count()
            K.wait_messages(d, self.tl, n + 4, 30)  # the next ones are delivered
            d.stop()
        c = E.final_counts(d)
        self.assertGreaterEqual(c.dropped, 1, c)
        K.assert_exact(self, self.km, d, dropped=c.dropped)


class TestShutdown(Base):
    def test_sigterm_flushes_messages_in_flight(self):
        """Brokers down, events waiting, SIGTERM; the brokers return 2 s
        later, within shutdown_timeout: everything is delivered, exit 0."""
        with self.daemon(shutdown_timeout="20s") as d:
            K.wait_messages(d, self.tl, 2, 30)
            since = len(d.stderr)
            self.km.down_between_requests(self.tl)
            self.wait_scrapes(d, 4)
            E.wait_log(d, TRANSPORT_LOG, 15, since=since)
            self.km.up_after(2)
            d.stop(timeout=30)
        c, _ = K.assert_exact(self, self.km, d)
        self.assertGreater(c.acked, 4)

    def test_sigterm_reports_what_was_not_delivered(self):
        d = E.started(self, self.daemon(shutdown_timeout="2s"))
        K.wait_messages(d, self.tl, 2, 30)
        since = len(d.stderr)
        self.km.down_between_requests(self.tl)
        self.wait_scrapes(d, 4)
        E.wait_log(d, TRANSPORT_LOG, 15, since=since)
        c = E.stop_lossy(self, d)  # exit 1, "N accepted events could not be delivered"
        self.assertEqual(c.dropped, 0)
        self.km.set_up()
        self.assertEqual(len(K.consume(self.km)), c.acked, "Kafka holds what was acked")


if __name__ == "__main__":
    unittest.main()
