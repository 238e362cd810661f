"""kafkalib: the Kafka side of expvarbeat's integration tests (stdlib only).

* KafkaMock: runs tests/tools/kafka_mock (librdkafka's mock cluster, three
  brokers on loopback TCP speaking the real protocol) and drives its fault
  commands: all or one broker down/up (optionally for a while), partition
  leaders (or none), request
  errors pushed on the cluster or on every broker (with a count of those not
  hit yet), topics with N partitions.
* consume(): reads topics back from the beginning with tests/tools/
  kafka_consume (librdkafka) and returns the messages, each with its value
  parsed strictly (numbers as text, duplicate keys refused, key order kept),
  and the bytes the consumer received (compressed batches are smaller).
* Tail: the same consumer left running, for "wait until N messages".
* kafka_config(): a daemon config with output.kafka, short backoffs and a
  queue that flushes quickly; assert_exact(): after a clean stop, the topic
  holds exactly what the daemon says it acked, each document once.

Waiting is always "poll a condition until a deadline".  Only processes
started here are ever signalled.
"""

import os
import queue
import re
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eslib as E  # noqa: E402  (final counts, logs, version)
import expvarlib as X  # noqa: E402

TOOLS = os.environ.get("EXPVARBEAT_TOOLS") or os.path.join(os.path.dirname(X.BIN), "tests", "tools")
TOPIC = "expvarbeat-it"
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
CMD_TIMEOUT = 10


def tool(name):
    """A built test tool: missing is a failure, never a skip."""
    path = os.path.join(TOOLS, name)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("test tool not found: %s (set EXPVARBEAT_TOOLS)" % path)
    return path


def fnv1a32(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def mb_hash_partition(key, n):
    """The partition libbeat's hash partitioner picks for key bytes among n
    (spec §4.2: FNV-1a 32, (int32(h) & 0x7fffffff) % N)."""
    return (fnv1a32(key) & 0x7FFFFFFF) % n


# ---------------------------------------------------------------------------
# The mock cluster


class KafkaMock:
    """kafka_mock as a child process.

        with KafkaMock(topics={"t": 3}) as km:
            km.bootstrap          # "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"
            km.command("down all")
    """

    def __init__(self, brokers=3, topics=None):
        self.argv = [tool("kafka_mock"), "-n", str(brokers)]
        for name, parts in (topics or {}).items():
            self.argv += ["-t", "%s:%d" % (name, parts)]
        self.brokers = brokers
        self.proc = None
        self.bootstrap = None
        self._lines = queue.Queue()
        self._err = bytearray()
        self._lock = threading.Lock()  # one command/answer exchange at a time
        self._timers = []
        self.down = set()  # broker ids the test has taken down

    @property
    def hosts(self):
        return self.bootstrap.split(",")

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=X.base_env(),
                                     preexec_fn=X._die_with_parent)
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        line = self._answer(30, "the bootstrap line")
        m = re.fullmatch(r"bootstrap ((?:127\.0\.0\.1:\d+,?)+)", line)
        if not m:
            self.stop()
            raise AssertionError("unexpected first line from kafka_mock: %r" % line)
        self.bootstrap = m.group(1)
        return self

    def _read_out(self):
        for raw in self.proc.stdout:
            self._lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.proc.stdout.close()
        self._lines.put(None)

    def _read_err(self):
        while True:
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                self.proc.stderr.close()
                return
            self._err.extend(chunk)

    def _answer(self, timeout, what):
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("kafka_mock: no answer within %ss for %s\n%s" %
                                 (timeout, what, self.stderr())) from None
        if line is None:
            raise AssertionError("kafka_mock exited (%s) before %s\n%s" %
                                 (self.proc.poll(), what, self.stderr()))
        return line

    def stderr(self):
        return bytes(self._err).decode("utf-8", "replace")[-3000:]

    def command(self, line):
        """Sends one command; returns what follows "ok" (fails on "error")."""
        with self._lock:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
            ans = self._answer(CMD_TIMEOUT, repr(line))
        if ans != "ok" and not ans.startswith("ok "):
            raise AssertionError("kafka_mock %r: %s" % (line, ans))
        return ans[3:]

    # -- faults
    def set_down(self, broker="all"):
        self.command("down %s" % broker)
        self.down |= set(range(1, self.brokers + 1)) if broker == "all" else {int(broker)}

    def set_up(self, broker="all"):
        self.command("up %s" % broker)
        self.down -= set(range(1, self.brokers + 1)) if broker == "all" else {int(broker)}

    def down_for(self, seconds, broker="all"):
        """Takes brokers down now and back up after `seconds` (a timer, like
        the Elasticsearch server's outage); is_down() tells when it ended."""
        self.set_down(broker)
        self.up_after(seconds, broker)

    def up_after(self, seconds, broker="all"):
        t = threading.Timer(seconds, self.set_up, args=(broker,))
        t.daemon = True
        self._timers.append(t)
        t.start()

    def down_between_requests(self, tl, timeout=30, broker="all"):
        """Takes brokers down just after a message has arrived (tl: a Tail),
        when the daemon has nothing in flight: a produce request cut in half
        could be stored and then sent again, which is at-least-once, not a
        bug, and would make exact counts flaky."""
        n = tl.count()
        X.wait_until(lambda: tl.count() > n, timeout, "a message to arrive", interval=0.01)
        self.set_down(broker)

    def is_down(self):
        return bool(self.down)

    def broker_errors(self, api, count, *errors):
        """`count` errors on every broker's stack for `api` (cycling through
        `errors`); pending() tells how many are still to be hit."""
        self.command("broker-errors all %s %d %s" % (api, count, " ".join(errors)))

    def pending(self, api="produce"):
        return int(self.command("pending all %s" % api))

    def cluster_errors(self, api, count, *errors):
        """The next `count` requests of `api`, to any broker, fail."""
        self.command("errors %s %d %s" % (api, count, " ".join(errors)))

    def topic(self, name, partitions):
        """Creates a topic; partition p is led by broker p % brokers + 1."""
        self.command("topic %s %d" % (name, partitions))

    def leader(self, topic, partition, broker):
        """Moves a partition's leadership; -1 leaves it without a leader."""
        self.command("leader %s %d %d" % (topic, partition, broker))

    # -- lifecycle
    def stop(self):
        for t in self._timers:
            t.cancel()
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            with self._lock:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            raise AssertionError("kafka_mock did not exit after quit\n%s" % self.stderr())
        bad = X.sanitizer_problems(self.stderr())
        if bad:
            raise AssertionError("kafka_mock sanitizer reports:\n%s" % "\n".join(bad[:20]))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# ---------------------------------------------------------------------------
# Consuming


class Message:
    """One consumed message; .doc is its value parsed (strict)."""

    def __init__(self, obj):
        self.topic = obj["topic"]
        self.partition = int(obj["partition"])
        self.offset = int(obj["offset"])
        self.timestamp = int(obj["timestamp"])
        self.key = obj["key"]
        self.value = obj["value"]
        self.headers = obj["headers"]
        self._doc = None

    @property
    def doc(self):
        if self._doc is None:
            try:
                self._doc = X.loads(self.value)
            except ValueError as e:
                raise AssertionError("message %s/%d@%d is not one JSON document (%s): %r" %
                                     (self.topic, self.partition, self.offset, e, self.value[:300]))
            if not isinstance(self._doc, dict):
                raise AssertionError("message value is not a JSON object: %r" % self.value[:300])
        return self._doc

    def ident(self):
        """What tells two documents apart: metricset, target, time."""
        d = self.doc
        return (X.get(d, "metricset", "name"), X.get(d, "service", "address"), d.get("@timestamp"))

    def __repr__(self):
        return "<%s/%d@%d key=%r>" % (self.topic, self.partition, self.offset, self.key)


class Consumed:
    def __init__(self, messages, rx_bytes, stderr):
        self.messages, self.rx_bytes, self.stderr = messages, rx_bytes, stderr

    def __len__(self):
        return len(self.messages)

    def __iter__(self):
        return iter(self.messages)


_SUMMARY_RE = re.compile(r"kafka_consume: (\d+) messages, (\d+) bytes received")


def _plain(o):
    """The consumer's envelope with numbers as ints (values stay text)."""
    return {k: (int(v) if isinstance(v, X.Num) else v) for k, v in o.items()}


def consume(mock, topics=(TOPIC,), idle_ms=10000, timeout=60):
    """Everything the topics hold right now (every partition read to its
    end).  Fails if the consumer fails or prints a line that is not JSON."""
    if isinstance(topics, str):
        topics = (topics,)
    argv = [tool("kafka_consume"), "-b", mock.bootstrap, "-e", "-w", str(idle_ms)]
    for t in topics:
        argv += ["-t", t]
    res = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=X.base_env(), timeout=timeout, preexec_fn=X._die_with_parent)
    err = res.stderr.decode("utf-8", "replace")
    m = _SUMMARY_RE.search(err)
    if res.returncode != 0 or not m:
        raise AssertionError("kafka_consume %s failed (exit %d)\n%s" % (topics, res.returncode, err[-3000:]))
    msgs = [Message(_plain(o)) for o in X.parse_ndjson(res.stdout)]
    if int(m.group(1)) != len(msgs):
        raise AssertionError("kafka_consume says %s messages, printed %d" % (m.group(1), len(msgs)))
    if X.sanitizer_problems(err):
        raise AssertionError("kafka_consume sanitizer reports:\n%s" % err[-3000:])
    return Consumed(msgs, int(m.group(2)), err)


class Tail:
    """kafka_consume left running on topics: count() is how many messages
    have arrived so far (for waits while the daemon runs)."""

    def __init__(self, mock, topics=(TOPIC,)):
        if isinstance(topics, str):
            topics = (topics,)
        argv = [tool("kafka_consume"), "-b", mock.bootstrap, "-w", str(3600 * 1000)]
        for t in topics:
            argv += ["-t", t]
        self.proc = X._Proc(argv)

    def count(self):
        with self.proc.cond:
            return bytes(self.proc.out).count(b"\n")

    def stop(self):
        self.proc.signal(signal.SIGTERM)
        if not self.proc.wait(10):
            self.proc.kill()


def tail(test, mock, topics=(TOPIC,)):
    t = Tail(mock, topics)
    test.addCleanup(t.stop)
    return t


def wait_messages(daemon, tl, n, timeout):
    """Polls until the topic holds >= n messages; fails early if the daemon
    exits."""
    def ready():
        if not daemon.running():
            raise AssertionError("expvarbeat exited (%s) while waiting for %d messages\n%s" %
                                 (daemon.proc.rc, n, daemon.describe()))
        return tl.count() >= n
    try:
        X.wait_until(ready, timeout, "%d messages in Kafka" % n)
    except AssertionError as e:
        raise AssertionError("%s (have %d)\n%s" % (e, tl.count(), daemon.describe())) from None


# ---------------------------------------------------------------------------
# Daemon configs and checks


def kafka_config(mock, urls, topic=TOPIC, kafka_opts=None, period="1s", metricsets=("expvar", "heap"),
                 namespace="app", stats_port=None, **top):
    """A daemon config: the golang module on `urls`, output.kafka to the
    mock with short backoffs, a queue that flushes quickly.  kafka_opts are
    merged into output.kafka (None values remove a key); keys in top
    (dotted, e.g. "shutdown_timeout") override."""
    out = {"hosts": mock.hosts if hasattr(mock, "hosts") else list(mock), "topic": topic,
           "backoff.init": "200ms", "backoff.max": "1s"}
    for k, v in (kafka_opts or {}).items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return X.output_config("kafka", out, urls, period, metricsets, namespace, stats_port, top)


def daemon(mock, urls, **kw):
    return X.Daemon(kafka_config(mock, urls, **kw), output=None)


def metadata():
    """@metadata as Metricbeat's JSON codec writes it for expvarbeat."""
    return {"beat": "expvarbeat", "type": "_doc", "version": E.beat_version()}


def value_problems(msg):
    """What is wrong with a message value as Metricbeat writes it: the
    document with @metadata right after @timestamp.  Empty = fine."""
    d = msg.doc
    keys = list(d.keys())
    p = []
    if keys[:2] != ["@timestamp", "@metadata"]:
        p.append("first keys %s, expected ['@timestamp', '@metadata']" % keys[:3])
    if d.get("@metadata") != metadata():
        p.append("@metadata %s, expected %s" % (d.get("@metadata"), metadata()))
    return p


def without_metadata(doc):
    return {k: v for k, v in doc.items() if k != "@metadata"}


def duplicates(messages):
    ids = [m.ident() for m in messages]
    seen, dups = set(), set()
    for i in ids:
        (dups if i in seen else seen).add(i)
    return sorted(dups, key=str)


def assert_exact(test, mock, daemon, topics=(TOPIC,), dropped=0):
    """After a clean stop: the topics hold exactly the events the daemon
    acked, which is every event published but those dropped, each once.
    Returns (final counts, the Consumed messages)."""
    c = E.final_counts(daemon)
    got = consume(mock, topics)
    test.assertGreater(c.published, 0, "no events published\n%s" % daemon.describe())
    test.assertEqual(c.dropped, dropped, "%s\n%s" % (c, daemon.describe()))
    test.assertEqual(c.acked, c.published - c.dropped, "every event acked or dropped: %s\n%s" %
                     (c, daemon.describe()))
    test.assertEqual(len(got), c.acked, "messages in Kafka vs events acked (%s)\n%s" % (c, daemon.describe()))
    test.assertEqual(duplicates(got.messages), [], "documents delivered twice")
    return c, got


def run_test_output(config_path, timeout=60):
    """`expvarbeat test output -c FILE`."""
    return X.run_expvarbeat(["test", "output", "-c", config_path], timeout=timeout)
