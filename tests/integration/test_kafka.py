"""output.kafka: real targets scraped into librdkafka's mock cluster (three
brokers on loopback, the real protocol) and read back with a librdkafka
consumer.  Each test stops the daemon with SIGTERM and compares what the
topics hold with the daemon's own final counts ("expvarbeat stopped: N events
published, N acked, N dropped"): messages == acked == published, each
document once.  Message values are Metricbeat's: the document with @metadata
right after @timestamp; keys, partitions, topics, headers, compression and
acks as configured; `expvarbeat test output` reports its steps.

Broker faults (outage, request errors, oversized messages, SIGTERM in
flight) are in test_kafka_faults.py."""

import contextlib
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eslib as E  # noqa: E402
import expvarlib as X  # noqa: E402
import kafkalib as K  # noqa: E402

NS = "app"


class Base(unittest.TestCase):
    partitions = 3

    def setUp(self):
        X.require_binary()
        self.km = K.KafkaMock(topics={K.TOPIC: self.partitions}).start()
        self.addCleanup(self.km.stop)

    def targets(self, names=("expvartarget",), t2=True):
        srv, urls = E.target_server(names, t2=t2)
        self.addCleanup(srv.stop)
        return srv, urls

    def run_daemons(self, specs, n, timeout=30):
        """Runs one daemon per (config kwargs, topics) until each set of
        topics holds n messages, then stops them all (exit 0 checked).
        Returns the daemons."""
        ds = []
        with contextlib.ExitStack() as stack:
            for kw, topics in specs:
                d = stack.enter_context(K.daemon(self.km, **kw))
                ds.append((d, K.tail(self, self.km, topics)))
            for d, tl in ds:
                K.wait_messages(d, tl, n, timeout)
        return [d for d, _ in ds]

    def assertNoProblems(self, problems, msg, what=""):
        self.assertEqual([], problems, "%s %r: %s" % (what, msg, problems))


class TestMessages(Base):
    def test_clean_run(self):
        """Every scrape becomes one message whose value is the document
        Metricbeat would send: the golden fields, @metadata after
        @timestamp, the message timestamp = @timestamp, no key, no
        headers."""
        srv, urls = self.targets(t2=False)
        (d,) = self.run_daemons([({"urls": urls}, K.TOPIC)], 6)
        c, msgs = K.assert_exact(self, self.km, d)
        # one fetch of /debug/vars makes the expvar and the heap document
        served = 2 * len(srv.requests_for("/t0/debug/vars"))
        self.assertLessEqual(c.published, served)
        self.assertGreaterEqual(c.published, served - 2, "at most the scrapes in flight at SIGTERM are lost")
        gold_ns = X.load_golden("expvartarget.golang-ns.expected.json")
        gold_heap = X.load_golden("expvartarget.golang-heap.scrape1.expected.json")
        heaps = []
        for m in msgs:
            doc = m.doc
            self.assertNoProblems(K.value_problems(m), m)
            name = X.get(doc, "metricset", "name")
            dataset = "golang.heap" if name == "heap" else "golang." + NS
            self.assertNoProblems(X.check_envelope(K.without_metadata(doc), name, dataset, urls[0], 1000), m)
            self.assertEqual((m.topic, m.key, m.headers), (K.TOPIC, None, {}), m)
            self.assertEqual(m.timestamp, round(X.ts_ms(doc)), "message timestamp = @timestamp (%r)" % m)
            if name == "expvar":
                self.assertEqual([], X.diff_json(doc["golang"][NS], gold_ns), m)
            else:
                heaps.append(doc)
        self.assertTrue(heaps and len(heaps) < len(msgs), "both metricsets delivered")
        first = min(heaps, key=X.ts_ms)
        self.assertEqual([], X.diff_json(first["golang"]["heap"], gold_heap), "first heap document")

    def test_key_picks_the_partition_as_metricbeat_does(self):
        """key: '%{[service.address]}' → the key is the target's address,
        and the partition is libbeat's hash of it: same key, same
        partition."""
        self.km.topic("keyed", 5)
        _, urls = self.targets(("expvartarget", "etcd", "ginexpvar"))
        (d,) = self.run_daemons([({"urls": urls, "topic": "keyed",
                                   "kafka_opts": {"key": "%{[service.address]}"}}, "keyed")], 12)
        _, msgs = K.assert_exact(self, self.km, d, topics=("keyed",))
        by_key = {}
        for m in msgs:
            addr = X.get(m.doc, "service", "address")
            self.assertEqual(m.key, addr, "the key is the event's service.address")
            self.assertEqual(m.partition, K.mb_hash_partition(m.key.encode(), 5),
                             "FNV-1a partition of %r" % m.key)
            by_key.setdefault(m.key, set()).add(m.partition)
        self.assertEqual(sorted(by_key), sorted(urls))
        self.assertTrue(all(len(p) == 1 for p in by_key.values()), by_key)

    def test_hash_fields_and_pretty_json(self):
        """partition.hash.hash: [service.address] hashes the field without a
        key; codec.json.pretty indents the value as Go's json.Indent."""
        self.km.topic("hashed", 5)
        _, urls = self.targets(("expvartarget", "etcd"))
        opts = {"partition": {"hash": {"hash": ["service.address"]}}, "codec.json.pretty": True}
        (d,) = self.run_daemons([({"urls": urls, "topic": "hashed", "kafka_opts": opts}, "hashed")], 8)
        _, msgs = K.assert_exact(self, self.km, d, topics=("hashed",))
        for m in msgs:
            addr = X.get(m.doc, "service", "address")
            self.assertIsNone(m.key)
            self.assertEqual(m.partition, K.mb_hash_partition(addr.encode(), 5), "hash of %r" % addr)
            self.assertTrue(m.value.startswith('{\n  "@timestamp": "'), m.value[:80])
            self.assertIn('\n  "@metadata": {\n    "beat": "expvarbeat",', m.value)
            self.assertNoProblems(K.value_problems(m), m)

    def test_round_robin_and_random(self):
        """round_robin (group_events 1) puts one event on each partition in
        turn; random spreads them too."""
        self.km.topic("random", 3)
        _, urls = self.targets(("expvartarget", "etcd"))
        rr = {"urls": urls, "kafka_opts": {"partition": {"round_robin": {"group_events": 1}}}}
        rnd = {"urls": urls, "topic": "random", "kafka_opts": {"partition": {"random": {}}}}
        d_rr, d_rnd = self.run_daemons([(rr, K.TOPIC), (rnd, "random")], 12)
        _, msgs = K.assert_exact(self, self.km, d_rr)
        per = [sum(1 for m in msgs if m.partition == p) for p in range(self.partitions)]
        self.assertTrue(all(per), "every partition used: %s" % per)
        self.assertLessEqual(max(per) - min(per), 1, "one event per partition in turn: %s" % per)
        _, msgs = K.assert_exact(self, self.km, d_rnd, topics=("random",))
        self.assertGreater(len({m.partition for m in msgs}), 1, "12+ random draws, one partition")

    def test_topic_format_rules_and_headers(self):
        """topic: '%{[metricset.name]}' picks a topic per event; `topics`
        rules with when.equals pick theirs, `topic` the rest; configured
        headers ride on every message."""
        for t in ("expvar", "heap", "rule-heap", "rule-other"):
            self.km.topic(t, 2)
        _, urls = self.targets()
        fmt = {"urls": urls, "topic": "%{[metricset.name]}",
               "kafka_opts": {"headers": [{"key": "x-source", "value": "expvarbeat-it"}]}}
        rules = {"urls": urls, "topic": "rule-other",
                 "kafka_opts": {"topics": [{"topic": "rule-heap", "when": {"equals": {"metricset.name": "heap"}}}]}}
        d_fmt, d_rules = self.run_daemons([(fmt, ("expvar", "heap")), (rules, ("rule-heap", "rule-other"))], 6)

        _, msgs = K.assert_exact(self, self.km, d_fmt, topics=("expvar", "heap"))
        for m in msgs:
            self.assertEqual(m.topic, X.get(m.doc, "metricset", "name"), m)
            self.assertEqual(m.headers, {"x-source": "expvarbeat-it"}, m)
        self.assertEqual({m.topic for m in msgs}, {"expvar", "heap"})

        _, msgs = K.assert_exact(self, self.km, d_rules, topics=("rule-heap", "rule-other"))
        for m in msgs:
            want = "rule-heap" if X.get(m.doc, "metricset", "name") == "heap" else "rule-other"
            self.assertEqual(m.topic, want, m)
            self.assertEqual(m.headers, {}, m)
        self.assertEqual({m.topic for m in msgs}, {"rule-heap", "rule-other"})

    def test_every_compression_codec_round_trips(self):
        """Each codec delivers the documents intact, and every codec but
        none moves fewer bytes than none (the consumer's byte count)."""
        for codec in K.COMPRESSIONS:
            self.km.topic("c-" + codec, 1)
        _, urls = self.targets(t2=False)
        specs = [({"urls": urls, "topic": "c-" + codec, "metricsets": ("expvar",),
                   "kafka_opts": {"compression": codec}}, "c-" + codec) for codec in K.COMPRESSIONS]
        daemons = self.run_daemons(specs, 6)
        gold = X.load_golden("expvartarget.golang-ns.expected.json")
        per_msg = {}
        for codec, d in zip(K.COMPRESSIONS, daemons):
            _, got = K.assert_exact(self, self.km, d, topics=("c-" + codec,))
            for m in got:
                self.assertNoProblems(K.value_problems(m), m, codec)
                self.assertEqual([], X.diff_json(m.doc["golang"][NS], gold), "%s: %r" % (codec, m))
            per_msg[codec] = got.rx_bytes / len(got)
            if codec == "none":
                avg_value = sum(len(m.value) for m in got) / len(got)
                self.assertGreater(per_msg[codec], avg_value, "uncompressed: every byte crosses the wire")
        for codec in K.COMPRESSIONS[1:]:
            self.assertLess(per_msg[codec], 0.75 * per_msg["none"],
                            "%s compresses (bytes received per message: %s)" % (codec, per_msg))

    def test_required_acks_and_idempotence(self):
        """required_acks -1 with idempotent: true (enable.idempotence), and
        required_acks 0 (no acknowledgement awaited): both deliver every
        event once."""
        self.km.topic("acks-all", 3)
        self.km.topic("acks-none", 3)
        _, urls = self.targets()
        specs = [({"urls": urls, "topic": "acks-all", "kafka_opts": {"required_acks": -1, "idempotent": True}},
                  "acks-all"),
                 ({"urls": urls, "topic": "acks-none", "kafka_opts": {"required_acks": 0}}, "acks-none")]
        d_all, d_none = self.run_daemons(specs, 6)
        K.assert_exact(self, self.km, d_all, topics=("acks-all",))
        K.assert_exact(self, self.km, d_none, topics=("acks-none",))


class TestTestOutput(Base):
    def write_config(self, hosts, **opts):
        d = tempfile.mkdtemp(prefix="expvarbeat-kafka-")
        self.addCleanup(lambda: __import__("shutil").rmtree(d, ignore_errors=True))
        out = {"hosts": hosts, "topic": K.TOPIC}
        out.update(opts)
        path = os.path.join(d, "expvarbeat.yml")
        with open(path, "w") as f:
            f.write(X.to_yaml({"metricbeat.modules": [X.golang_module(["http://127.0.0.1:1/debug/vars"])],
                               "output.kafka": out}))
        os.chmod(path, 0o600)
        return path

    def test_config_ok(self):
        res = X.run_expvarbeat(["test", "config", "-c", self.write_config(self.km.hosts)], timeout=30)
        self.assertEqual((res.rc, res.stdout.strip()), (0, "Config OK"), res.describe())

    def test_reports_each_step(self):
        res = K.run_test_output(self.write_config(self.km.hosts))
        self.assertEqual(res.rc, 0, res.describe())
        out = res.stdout
        self.assertNotIn("ERROR", out, res.describe())
        self.assertTrue(any(h in out for h in self.km.hosts), "names the bootstrap broker\n" + res.describe())
        self.assertRegex(out, r"(?i)metadata", res.describe())
        self.assertRegex(out, r"(?i)leader", res.describe())
        self.assertIn(K.TOPIC, out, res.describe())
        self.assertGreaterEqual(out.count("OK"), 3, "step by step\n" + res.describe())
        self.assertEqual([], X.sanitizer_problems(res.stderr))

    def test_unreachable_brokers_fail(self):
        port = X.free_port()
        res = K.run_test_output(self.write_config(["127.0.0.1:%d" % port], timeout="3s"))
        self.assertEqual(res.rc, 1, res.describe())
        self.assertIn("ERROR", res.stdout, res.describe())
        self.assertLess(res.elapsed, 45, "bounded by timeout\n" + res.describe())

    def test_brokers_down_fail(self):
        self.km.set_down()
        res = K.run_test_output(self.write_config(self.km.hosts, timeout="3s"))
        self.assertEqual(res.rc, 1, res.describe())
        self.assertIn("ERROR", res.stdout, res.describe())


if __name__ == "__main__":
    unittest.main()
