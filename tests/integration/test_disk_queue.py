"""queue.disk: what a user relies on when Elasticsearch is away and the
daemon dies.  A real target is scraped every 250 ms into the Elasticsearch
test server; the server goes down, the daemon is killed with SIGKILL (or
stopped), segment files are damaged the way a crash or a bad disk would
damage them, and a second daemon on the same spool must deliver every
document the first one accepted -- checked against the target's own request
log and the records found in the spool files -- skip exactly the damaged
records with a log line per segment, and hold the spool within max_size
(scrapes wait) while the output is down."""

import json
import os
import shutil
import struct
import sys
import tempfile
import threading
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eslib as E  # noqa: E402
import expvarlib as X  # noqa: E402
from esserver import ESServer  # noqa: E402

PERIOD_MS = 250
TARGET_PATH = "/t0/debug/vars"
# The record framing of bridge/spool.h: magic, payload length, sequence
# number, CRC-32 of (length, sequence, payload); little-endian.
HDR = struct.Struct("<IIQI")
MAGIC = 0x52425645


def read_segment(path):
    """[(offset, payload)] of an undamaged segment file."""
    with open(path, "rb") as f:
        data = f.read()
    out, off = [], 0
    while off < len(data):
        magic, length, _seq, crc = HDR.unpack_from(data, off)
        payload = data[off + HDR.size: off + HDR.size + length]
        if magic != MAGIC or len(payload) != length or \
                zlib.crc32(payload, zlib.crc32(data[off + 4: off + 16])) != crc:
            raise AssertionError("%s: bad record at %d" % (path, off))
        out.append((off, payload))
        off += HDR.size + length
    return out


def segments(spool):
    names = [n for n in os.listdir(spool) if n.endswith(".seg")]
    return [os.path.join(spool, n) for n in sorted(names, key=lambda n: int(n[:-4]))]


def spool_bytes(spool):
    total = 0
    for p in segments(spool):
        try:
            total += os.path.getsize(p)
        except FileNotFoundError:  # deleted between listing and stat
            pass
    return total


def key(doc):
    return (X.get(doc, "metricset", "name"), doc["@timestamp"])


def hold_for(seconds, check):
    """Asserts check() (which raises) at every poll for `seconds`: an
    invariant observed over time, not a wait for something to happen."""
    dl = X.Deadline(seconds)
    ev = threading.Event()
    while not dl.expired():
        check()
        ev.wait(min(0.1, dl.remaining()))
    check()


class DiskQueue(unittest.TestCase):
    def setUp(self):
        X.require_binary()
        self.DS = E.data_stream()
        self.es = ESServer().start()
        self.addCleanup(self.es.stop)
        self.srv, self.urls = E.target_server(("expvartarget",))
        self.addCleanup(self.srv.stop)
        self.spool = tempfile.mkdtemp(prefix="expvarbeat-spool-")
        self.addCleanup(shutil.rmtree, self.spool, True)

    def tearDown(self):
        self.assertEqual(self.es.errors, [], "test server handler exceptions")

    def daemon(self, max_size="50MB", segment_size=16384, **top):
        cfg = E.es_config(self.es, self.urls, period="%dms" % PERIOD_MS)
        for k in ("queue.mem.flush.timeout", "queue.mem.flush.min_events"):
            cfg.pop(k)  # queue.mem and queue.disk are exclusive
        cfg["queue.disk"] = {"path": self.spool, "max_size": max_size, "segment_size": segment_size}
        cfg["metricbeat.max_start_delay"] = "0s"
        cfg.update(top)
        return X.Daemon(cfg, output=None, keep_defaults=True)

    def served(self):
        return len(self.srv.requests_for(TARGET_PATH))

    def indexed_before(self, t_ms):
        if self.es.count(self.DS) == 0:  # the data stream is created by the first document
            return []
        return [d for d in self.es.docs(self.DS) if X.ts_ms(d) < t_ms]

    def wait_keys(self, d, keys, before_ms, timeout):
        def arrived():
            if not d.running():
                raise AssertionError("expvarbeat exited\n%s" % d.describe())
            return keys <= {key(x) for x in self.indexed_before(before_ms)}
        try:
            X.wait_until(arrived, timeout, "%d documents of the first run" % len(keys))
        except AssertionError as e:
            have = {key(x) for x in self.indexed_before(before_ms)}
            raise AssertionError("%s: %d missing\n%s" % (e, len(keys - have), d.describe())) from None

    def test_kill_9_in_an_outage_loses_nothing_accepted(self):
        d1 = E.started(self, self.daemon())
        E.wait_indexed(d1, self.es, 4, 20)
        self.es.begin_outage()
        n0 = self.served()
        X.wait_until(lambda: self.served() >= n0 + 30, 30, "30 scrapes while Elasticsearch is down")
        d1.proc.kill()  # SIGKILL: no shutdown, no flush
        served1 = self.served()
        self.assertGreater(spool_bytes(self.spool), 0, "documents on disk")
        restart_ms = time.time() * 1000
        self.es.end_outage()

        d2 = E.started(self, self.daemon())
        E.wait_log(d2, r"disk queue \S+: [1-9]\d* events \(\d+ bytes\) waiting from earlier runs", 10)

        def run1_done():
            if not d2.running():
                raise AssertionError("expvarbeat exited\n%s" % d2.describe())
            return len({key(x) for x in self.indexed_before(restart_ms)}) >= 2 * (served1 - 1)
        # One fetch makes both documents; only the fetch in flight at the kill
        # was never accepted.
        X.wait_until(run1_done, 40, "every scrape of the first run in Elasticsearch")
        d2.stop()

        docs = self.indexed_before(restart_ms)
        keys = [key(x) for x in docs]
        self.assertLessEqual(len(set(keys)), 2 * served1)
        # At-least-once: a batch in flight at the kill may come twice, no more.
        self.assertLessEqual(len(keys) - len(set(keys)), 64, "duplicates")
        for ms in ("expvar", "heap"):
            ts = sorted(X.ts_ms(x) for x in docs if X.get(x, "metricset", "name") == ms)
            gaps = [b - a for a, b in zip(ts, ts[1:]) if b - a > 2 * PERIOD_MS]
            self.assertEqual(gaps, [], "%s: a document is missing between two others" % ms)
            self.assertGreaterEqual(len(ts), 10, ms)

    def test_damaged_segments_are_skipped_the_rest_delivered(self):
        self.es.begin_outage()  # nothing is delivered in the first run
        d1 = E.started(self, self.daemon(segment_size=65536, shutdown_timeout="1s"))
        X.wait_until(lambda: len(segments(self.spool)) >= 4, 40, "four segments on disk")
        d1.stop()  # events stay on disk: exit 0
        self.assertRegex(d1.stderr, r"\d+ events stay in the disk queue")
        segs = segments(self.spool)
        records = {p: read_segment(p) for p in segs}
        # A flipped byte in the middle of the second segment, and a last
        # segment cut inside its last record (a crash in the middle of a write).
        victim, last = segs[1], segs[-1]
        mid_off, mid_payload = records[victim][len(records[victim]) // 2]
        with open(victim, "r+b") as f:
            f.seek(mid_off + HDR.size + len(mid_payload) // 2)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0x40]))
        tail_off, tail_payload = records[last][-1]
        os.truncate(last, tail_off + HDR.size + len(tail_payload) - 10)
        lost = {key(json.loads(mid_payload)), key(json.loads(tail_payload))}
        kept = {key(json.loads(p)) for recs in records.values() for _, p in recs} - lost
        self.assertGreaterEqual(len(kept), 10)

        self.es.end_outage()
        restart_ms = time.time() * 1000
        d2 = E.started(self, self.daemon(segment_size=65536))
        self.wait_keys(d2, kept, restart_ms, 40)
        d2.stop()
        delivered = {key(x) for x in self.indexed_before(restart_ms)}
        self.assertEqual(delivered & lost, set(), "damaged records are not delivered")
        self.assertEqual(delivered, kept)
        for p in (victim, last):
            self.assertRegex(d2.stderr, r"WARN\tdisk queue: segment %s is damaged \(bad checksum or "
                             r"truncated\): 1 events skipped, \d+ recovered" % p)
        self.assertEqual(len([l for l in d2.log_lines() if "is damaged" in l]), 2, "one line per segment")
        self.assertFalse(os.path.exists(victim), "a segment is deleted once delivered")
        self.assertFalse(os.path.exists(last))

    def test_full_spool_holds_scrapes_back(self):
        max_size = 64 * 1024
        self.es.begin_outage()
        d = E.started(self, self.daemon(max_size=max_size))
        E.wait_log(d, r"disk queue is full \(\d+ bytes in \d+ events, max_size %d\)" % max_size, 40)
        n_full = self.served()

        def within_bounds():
            self.assertLessEqual(spool_bytes(self.spool), max_size)
            self.assertLessEqual(self.served(), n_full + 2, "scrapes wait while the spool is full")
        hold_for(3, within_bounds)
        self.es.end_outage()
        X.wait_until(lambda: self.served() > n_full + 8, 30, "scrapes to resume after delivery")
        d.stop()
        c = E.assert_exact(self, self.es, d)  # nothing lost, nothing doubled
        self.assertEqual(c.acked, c.published)


if __name__ == "__main__":
    unittest.main()
