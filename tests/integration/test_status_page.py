"""The live status page in a real headless Chromium.

A daemon with the HTTP endpoint on a free loopback port scrapes one good
target (a capture served by TargetServer) and one failing target (Go's 500
page).  Once /stats says the failing one has failed, Chromium loads / (a
browser asks for text/html, so / serves the page, not libbeat's JSON):
--dump-dom must show the failing target marked failing, first, and the good
one ok; --screenshot must give a 1280x900 PNG in which the failing red
actually appears.  The screenshot stays in the build directory and its path
is printed.  Chromium runs in its own process group, which is killed in
tearDown.
"""

import html.parser
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import unittest
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_TIMEOUT = 60
# The failing badge and row marker (status_page.c's style).
FAILING_RED = (0xC6, 0x28, 0x28)


class Rows(html.parser.HTMLParser):
    """Target rows of the status page: state, address and error text."""

    def __init__(self):
        super().__init__()
        self.rows = []
        self.summary = None
        self._row = None
        self._cell = None
        self._in_summary = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-state" in a:
            self._row = {"state": a["data-state"], "class": a.get("class", ""), "cells": []}
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "p" and a.get("id") == "summary":
            self._in_summary = True
            self.summary = ""

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "p":
            self._in_summary = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_summary:
            self.summary += data


def png_pixels(data):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("not a PNG (starts with %r)" % data[:8])
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise AssertionError("PNG chunk %r has a bad CRC" % kind)
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = ihdr
    if depth != 8 or colour not in (2, 6) or interlace:
        raise AssertionError("unexpected PNG format %r" % (ihdr,))
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    out = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        out.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return width, height, out


@unittest.skipUnless(os.path.exists(CHROMIUM), "Chromium is not installed at %s "
                     "(Debian package chromium; scripts/install-deps --test installs it)" % CHROMIUM)
class StatusPageInChromium(unittest.TestCase):
    def setUp(self):
        self.procs = []
        self.profile = tempfile.mkdtemp(prefix="expvarbeat-chromium-")
        self.srv = X.TargetServer()
        self.srv.route("/debug/vars", X.capture("expvartarget"))
        self.srv.route("/broken/debug/vars", X.GoStatus(500))
        self.srv.start()
        self.port = X.free_port()
        self.good = self.srv.url("/debug/vars")
        self.bad = self.srv.url("/broken/debug/vars")
        cfg = {"metricbeat.modules": [X.golang_module([self.good, self.bad], metricsets=("expvar",),
                                                      period="1s")],
               "http.enabled": True, "http.host": "127.0.0.1", "http.port": self.port}
        self.daemon = X.Daemon(cfg).start()

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)  # the group this test started
                except ProcessLookupError:
                    pass
            p.wait()
        try:
            self.daemon.stop()
        finally:
            if self.daemon.proc.running():
                self.daemon.proc.kill()
            shutil.rmtree(self.daemon.dir, ignore_errors=True)
            self.srv.stop()
            shutil.rmtree(self.profile, ignore_errors=True)

    def stats(self):
        url = "http://127.0.0.1:%d/stats" % self.port
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def wait_for_failure(self):
        def ready():
            try:
                s = self.stats()["expvarbeat"]["summary"]
            except OSError:
                return None  # the endpoint is not listening yet
            return s["failing"] >= 1 and s["ok"] >= 1
        X.wait_until(ready, 30, "one failing and one ok target in /stats")

    def chromium(self, *args):
        argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--user-data-dir=" + self.profile] + list(args)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        self.procs.append(p)
        try:
            out, err = p.communicate(timeout=CHROMIUM_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            self.fail("chromium did not finish within %ss: %s" % (CHROMIUM_TIMEOUT, argv))
        # The browser is gone; anything it left in its group goes with it.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.assertEqual(0, p.returncode, "chromium failed: %s" % err.decode("utf-8", "replace")[-2000:])
        return out.decode("utf-8", "replace")

    def test_page_in_chromium(self):
        self.wait_for_failure()
        page = "http://127.0.0.1:%d/" % self.port

        # An API client (urllib sends no Accept) still gets libbeat's JSON at /.
        with urllib.request.urlopen(page, timeout=5) as r:
            self.assertEqual("application/json; charset=utf-8", r.headers["Content-Type"])
            self.assertEqual("expvarbeat", json.load(r)["beat"])
        states = {t["address"]: t["state"] for t in self.stats()["expvarbeat"]["targets"]}
        self.assertEqual({self.good: "ok", self.bad: "failing"}, states)

        # (a) the DOM as Chromium built it from /
        dom = self.chromium("--dump-dom", page)
        parsed = Rows()
        parsed.feed(dom)
        self.assertEqual(2, len(parsed.rows), "two target rows in:\n%s" % dom[:3000])
        first, second = parsed.rows
        self.assertEqual("failing", first["state"], "the failing target comes first")
        self.assertIn(self.bad, first["cells"][1])
        self.assertIn("FAILING", first["cells"][0], "failing is said in words, not only colour")
        self.assertIn("500 Internal Server Error", first["cells"][-1])
        self.assertEqual("ok", second["state"])
        self.assertIn(self.good, second["cells"][1])
        self.assertIn("ok", second["cells"][0])
        self.assertEqual("", second["cells"][-1], "no error on the good target")
        self.assertIn("2 targets", parsed.summary)
        self.assertIn("1 failing", parsed.summary)
        self.assertIn("<svg", dom, "the sparklines are inline SVG")

        # (b) a screenshot of the same page
        out_dir = os.path.join(os.path.dirname(os.path.abspath(X.BIN)), "status-page")
        os.makedirs(out_dir, exist_ok=True)
        shot = os.path.join(out_dir, "status.png")
        if os.path.exists(shot):
            os.unlink(shot)
        self.chromium("--screenshot=" + shot, "--window-size=1280,900", page)
        with open(shot, "rb") as f:
            data = f.read()
        width, height, pixels = png_pixels(data)
        self.assertEqual((1280, 900), (width, height))
        red = sum(1 for row in pixels for px in row
                  if all(abs(px[i] - FAILING_RED[i]) <= 8 for i in range(3)))
        self.assertGreater(red, 50, "the failing badge's red is on the screenshot")
        print("status page screenshot: %s (%d bytes, %d failing-red pixels)" % (shot, len(data), red),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
