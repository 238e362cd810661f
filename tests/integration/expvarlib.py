"""expvarlib: shared helpers for expvarbeat's integration tests (stdlib only).

* TargetServer: a real threaded HTTP/1.1 server on 127.0.0.1 that plays Go
  services: capture bodies sent byte for byte with chunked encoding and the
  captured headers, optional gzip, and every kind of bad answer (HTML, Go's
  404/500 pages, truncated JSON, huge bodies, a gzip bomb, deep nesting,
  invalid UTF-8, bare NaN, never answering, redirect loops, resets, slow
  drips).  Every request is recorded for assertions on paths and headers.
* run_expvarbeat / Daemon: run the binary named by EXPVARBEAT_BIN, either once
  (`test target`, `test config`, `version`) or as a daemon with a generated
  config, collecting its NDJSON documents and logs.
* JSON helpers that keep number TEXT (Num), so documents are compared with the
  golden files token for token, plus oracles for what Metricbeat writes
  (Go's float formatting, the expvar transform and the heap GC window).

Waiting is always "poll a predicate until a deadline"; nothing sleeps to let
something happen.  Only processes started here are ever signalled.
"""

import datetime
import gzip
import json
import math
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib

# ---------------------------------------------------------------------------
# Environment

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("EXPVARBEAT_SOURCE") or os.path.dirname(os.path.dirname(_HERE))
DATA = os.environ.get("EXPVARBEAT_TEST_DATA") or os.path.join(SOURCE, "tests", "data")
GOLDEN = os.path.join(DATA, "golden")
BIN = os.environ.get("EXPVARBEAT_BIN") or os.path.join(SOURCE, "build", "expvarbeat")
GOTARGET = os.environ.get("EXPVARBEAT_GOTARGET") or os.path.join(SOURCE, "build", "tests", "gotarget")

# A zone far from UTC: a daemon that writes local time with a 'Z' suffix is
# then off by 5h30 and the timestamp checks catch it.
TEST_TZ = "XST-5:30"

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def require_binary():
    """The daemon must exist: a missing binary is a failure, never a skip."""
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        raise AssertionError("expvarbeat binary not found or not executable: %s "
                             "(set EXPVARBEAT_BIN)" % BIN)


def data_path(name):
    return os.path.join(DATA, name)


def read_data(name):
    with open(data_path(name), "rb") as f:
        return f.read()


def free_port():
    """A loopback port that nothing listens on right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def closed_port():
    """A loopback port nothing listens on, below the ephemeral port range.
    (free_port's answer lies inside that range, where it can become the
    source port of a connection attempt to itself: Linux then connects the
    socket to itself and "connection refused" never comes.)"""
    lo = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError):
        pass
    for port in range(max(1024, lo - 5000), lo):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port below the ephemeral range")


# ---------------------------------------------------------------------------
# Deadlines


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls predicate() until it returns something truthy or the deadline
    passes; returns that value or raises AssertionError naming `what`."""
    dl = Deadline(timeout)
    ev = threading.Event()
    while True:
        v = predicate()
        if v:
            return v
        if dl.expired():
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        ev.wait(min(interval, dl.remaining()))


# ---------------------------------------------------------------------------
# JSON with number text


class Num:
    """A JSON number kept as its exact token text."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Num) and other.text == self.text

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("Num", self.text))

    def __repr__(self):
        return self.text

    def is_int(self):
        return re.fullmatch(r"-?(0|[1-9][0-9]*)", self.text) is not None

    def __int__(self):
        if not self.is_int():
            raise ValueError("not an integer token: %s" % self.text)
        return int(self.text)

    def __float__(self):
        return float(self.text)


def _reject_constant(name):
    raise ValueError("non-JSON constant %s" % name)


def _pairs_no_dups(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r in object" % k)
        d[k] = v
    return d


def loads(text):
    """Strict JSON → Python, numbers as Num, duplicate keys rejected,
    object key order kept."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")  # strict: invalid UTF-8 raises
    return json.loads(text, parse_int=Num, parse_float=Num,
                      parse_constant=_reject_constant, object_pairs_hook=_pairs_no_dups)


def load_golden(name):
    with open(os.path.join(GOLDEN, name), "rb") as f:
        return loads(f.read())


def parse_ndjson(data, allow_partial_tail=False):
    """Splits NDJSON bytes into documents.  Every complete line must be one
    JSON object.  With allow_partial_tail, an unterminated last line (a file
    being written) is ignored; otherwise it must parse too."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last '\n' ('' when terminated)
    if tail and not allow_partial_tail:
        lines.append(tail)
    docs = []
    for i, line in enumerate(lines):
        if line.endswith(b"\r"):
            raise AssertionError("NDJSON line %d ends with CR" % (i + 1))
        try:
            doc = loads(line)
        except (ValueError, UnicodeDecodeError) as e:
            pos = getattr(e, "pos", None)
            if pos is None:
                pos = getattr(e, "start", 0)
            if isinstance(e, json.JSONDecodeError):  # pos counts characters
                pos = len(line.decode("utf-8")[:pos].encode("utf-8"))
            raise AssertionError("NDJSON line %d is not valid JSON (%s); near byte %d: %r" %
                                 (i + 1, e, pos, line[max(0, pos - 120): pos + 120])) from None
        if not isinstance(doc, dict):
            raise AssertionError("NDJSON line %d is not a JSON object: %r" % (i + 1, line[:300]))
        docs.append(doc)
    return docs


def to_plain(v):
    """Num → int/float, recursively (for printing and arithmetic)."""
    if isinstance(v, Num):
        return int(v) if v.is_int() else float(v)
    if isinstance(v, dict):
        return {k: to_plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_plain(x) for x in v]
    return v


def _typename(v):
    if isinstance(v, Num):
        return "number"
    if v is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "bool"}.get(type(v), type(v).__name__)


def diff_json(actual, expected, path="$", out=None, limit=30):
    """Differences between two parsed JSON values (key order ignored, numbers
    compared as token text).  Returns a list of human-readable lines."""
    if out is None:
        out = []
    if len(out) >= limit:
        return out
    ta, te = _typename(actual), _typename(expected)
    if ta != te:
        out.append("%s: type %s %s, expected %s %s" % (path, ta, _short(actual), te, _short(expected)))
    elif isinstance(expected, dict):
        for k in expected:
            if k not in actual:
                out.append("%s: missing key %r (expected %s)" % (path, k, _short(expected[k])))
        for k in actual:
            if k not in expected:
                out.append("%s: unexpected key %r = %s" % (path, k, _short(actual[k])))
        for k in expected:
            if k in actual:
                diff_json(actual[k], expected[k], "%s[%r]" % (path, k), out, limit)
    elif isinstance(expected, list):
        if len(actual) != len(expected):
            out.append("%s: array length %d, expected %d" % (path, len(actual), len(expected)))
        for i, (a, e) in enumerate(zip(actual, expected)):
            diff_json(a, e, "%s[%d]" % (path, i), out, limit)
    elif actual != expected:
        out.append("%s: %s, expected %s" % (path, _short(actual), _short(expected)))
    return out


def _short(v):
    if isinstance(v, Num):
        return v.text
    if isinstance(v, (dict, list)):
        s = json.dumps(to_plain(v), ensure_ascii=False)
        return s if len(s) < 120 else s[:120] + "..."
    return repr(v)


def get(doc, *path):
    """doc[p0][p1]...; each element of path is a key (keys may contain dots).
    A single dotted string is split on dots.  Returns None if absent."""
    if len(path) == 1 and isinstance(path[0], str) and "." in path[0]:
        path = tuple(path[0].split("."))
    cur = doc
    for p in path:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and isinstance(p, int) and 0 <= p < len(cur):
            cur = cur[p]
        else:
            return None
    return cur


# ---------------------------------------------------------------------------
# Oracles: what Metricbeat writes


def go_float(f):
    """Go's strconv.FormatFloat(f, 'g', -1, 64): shortest round-trip digits,
    exponent form when the decimal exponent is < -4 or >= 6, at least two
    exponent digits."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError("not finite: %r" % f)
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    r = repr(f)  # Python's repr is also the shortest round-trip digit string
    sign = ""
    if r.startswith("-"):
        sign, r = "-", r[1:]
    mant, _, exp = r.partition("e")
    exp = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    lead = len(digits) - len(digits.lstrip("0"))
    digits = digits.lstrip("0")
    dp = len(ip) - lead + exp  # value = 0.<digits> * 10**dp
    digits = digits.rstrip("0")
    e10 = dp - 1
    if e10 < -4 or e10 >= 6:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return "%s%se%s%02d" % (sign, m, "-" if e10 < 0 else "+", abs(e10))
    if dp <= 0:
        return sign + "0." + "0" * (-dp) + digits
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return sign + digits[:dp] + "." + digits[dp:]


def go_number_text(token):
    """A JSON number token → the text Metricbeat writes after decoding it
    into a float64."""
    return go_float(float(token))


def go_cmdline(v):
    """Metricbeat's GetCmdStr: array → elements joined by spaces, trailing
    spaces trimmed; anything else unchanged."""
    if isinstance(v, list):
        return "".join("%s " % x for x in v).rstrip(" ")
    return v


def mb_expvar_fields(body):
    """The object Metricbeat puts under golang.<namespace> for a parsed
    /debug/vars body (numbers as Num): cmdline joined, nulls dropped from
    objects (kept in arrays), every number re-encoded as a Go float64."""
    def conv(v, in_array=False):
        if isinstance(v, Num):
            return Num(go_number_text(v.text))
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [conv(x, True) for x in v]
        return v
    b = dict(body)
    if "cmdline" in b:
        b["cmdline"] = go_cmdline(b["cmdline"])
    return conv(b)


def mb_gc_window(last_num_gc, num_gc, pause_ns):
    """Metricbeat's heap GC pause window (spec §1.3.3).  Returns
    (count, sum, avg, max, new_last_num_gc)."""
    if last_num_gc < num_gc:
        delta, start = num_gc - last_num_gc, last_num_gc
        if delta > 256:
            start, delta = num_gc - 256, 256
        vals = [pause_ns[i % 256] for i in range(start, start + delta)]
        return len(vals), sum(vals), sum(vals) // len(vals), max(vals), num_gc
    return 0, 0, 0, 0, last_num_gc


def mb_heap_fields(body, last_num_gc):
    """golang.heap for a parsed body (numbers as Num) given the previous
    NumGC; returns (fields, new_last_num_gc)."""
    ms = body.get("memstats") or {}

    def u(k):
        return int(ms.get(k, Num("0")))

    count, s, avg, mx, last = mb_gc_window(last_num_gc, u("NumGC"),
                                           [int(x) for x in ms.get("PauseNs", [])] + [0] * 256)
    cpu = ms.get("GCCPUFraction", Num("0"))
    n = lambda i: Num(str(i))  # noqa: E731
    fields = {
        "cmdline": go_cmdline(body.get("cmdline")) if isinstance(body.get("cmdline"), list) else "",
        "allocations": {"mallocs": n(u("Mallocs")), "frees": n(u("Frees")), "objects": n(u("HeapObjects")),
                        "total": n(u("TotalAlloc")), "allocated": n(u("HeapAlloc")),
                        "idle": n(u("HeapIdle")), "active": n(u("HeapInuse"))},
        "system": {"total": n(u("Sys")), "obtained": n(u("HeapSys")), "stack": n(u("StackSys")),
                   "released": n(u("HeapReleased"))},
        "gc": {"next_gc_limit": n(u("NextGC")), "total_count": n(u("NumGC")),
               "cpu_fraction": Num(go_number_text(cpu.text)), "total_pause": {"ns": n(u("PauseTotalNs"))},
               "pause": {"count": n(count), "sum": {"ns": n(s)}, "avg": {"ns": n(avg)}, "max": {"ns": n(mx)}}},
    }
    return fields, last


# ---------------------------------------------------------------------------
# Document checks


ENVELOPE_KEYS_OK = {"@timestamp", "event", "metricset", "service", "golang", "ecs", "host", "agent"}
ENVELOPE_KEYS_ERR = {"@timestamp", "error", "event", "metricset", "service", "ecs", "host", "agent"}


def parse_timestamp(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def ts_ms(doc):
    return parse_timestamp(doc["@timestamp"]).timestamp() * 1000.0


def check_envelope(doc, metricset, dataset, address, period_ms, error=False, hostname=None,
                   max_skew_s=300):
    """Everything Metricbeat 8.x puts around the metricset fields.  Returns a
    list of problems (empty = fine)."""
    p = []
    keys = list(doc.keys())
    if not keys or keys[0] != "@timestamp":
        p.append("@timestamp is not the first key: %s" % keys[:3])
    want = ENVELOPE_KEYS_ERR if error else ENVELOPE_KEYS_OK
    if set(keys) != want:
        p.append("top-level keys %s, expected %s" % (sorted(keys), sorted(want)))
    ts = doc.get("@timestamp")
    if not isinstance(ts, str) or not TIMESTAMP_RE.match(ts):
        p.append("@timestamp %r is not yyyy-MM-ddTHH:mm:ss.SSSZ" % (ts,))
    else:
        skew = abs(parse_timestamp(ts).timestamp() - time.time())
        if skew > max_skew_s:
            p.append("@timestamp %s is %.0fs away from now (UTC expected)" % (ts, skew))
    ev = doc.get("event")
    if not isinstance(ev, dict):
        p.append("event is %r" % (ev,))
    else:
        if set(ev) != {"dataset", "module", "duration"}:
            p.append("event keys %s" % sorted(ev))
        if ev.get("dataset") != dataset:
            p.append("event.dataset %r, expected %r" % (ev.get("dataset"), dataset))
        if ev.get("module") != "golang":
            p.append("event.module %r" % (ev.get("module"),))
        d = ev.get("duration")
        if not (isinstance(d, Num) and d.is_int() and int(d) > 0):
            p.append("event.duration %r is not an integer > 0 (ns)" % (d,))
    ms = doc.get("metricset")
    if ms != {"name": metricset, "period": Num(str(period_ms))}:
        p.append("metricset %s, expected name %s period %d" % (_short(ms), metricset, period_ms))
    svc = doc.get("service")
    if svc != {"address": address, "type": "golang"}:
        p.append("service %s, expected address %r type golang" % (_short(svc), address))
    if doc.get("ecs") != {"version": "8.0.0"}:
        p.append("ecs %s" % _short(doc.get("ecs")))
    host = doc.get("host")
    hn = hostname or socket.gethostname()
    if host != {"name": hn}:
        p.append("host %s, expected {'name': %r}" % (_short(host), hn))
    ag = doc.get("agent")
    if not isinstance(ag, dict):
        p.append("agent is %r" % (ag,))
    else:
        if set(ag) != {"ephemeral_id", "id", "name", "type", "version"}:
            p.append("agent keys %s" % sorted(ag))
        if ag.get("type") != "expvarbeat":
            p.append("agent.type %r" % (ag.get("type"),))
        if ag.get("name") != hn:
            p.append("agent.name %r, expected %r" % (ag.get("name"), hn))
        for k in ("id", "ephemeral_id"):
            if not (isinstance(ag.get(k), str) and UUID_RE.match(ag.get(k))):
                p.append("agent.%s %r is not a UUID" % (k, ag.get(k)))
        if not (isinstance(ag.get("version"), str) and re.match(r"^\d+\.\d+\.\d+", ag["version"])):
            p.append("agent.version %r" % (ag.get("version"),))
    if error:
        err = doc.get("error")
        if not (isinstance(err, dict) and set(err) == {"message"} and isinstance(err["message"], str)
                and err["message"]):
            p.append("error is %s, expected {'message': <non-empty string>}" % _short(err))
        if "golang" in doc:
            p.append("error document carries golang fields")
    return p


def by_metricset(docs, name):
    return [d for d in docs if get(d, "metricset", "name") == name]


def by_address(docs, address):
    return [d for d in docs if get(d, "service", "address") == address]


def error_message(doc):
    return get(doc, "error", "message")


# ---------------------------------------------------------------------------
# Bodies for bad targets


def go_http_date():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def capture_headers(name):
    """Header lines of tests/data/<name>.headers, without Date and
    Transfer-Encoding (the server writes its own)."""
    raw = read_data(name + ".headers").decode("latin-1")
    out = []
    for line in raw.split("\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        if k.lower() in ("date", "transfer-encoding", "content-length"):
            continue
        out.append((k, v.strip()))
    return out


JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]

_cache = {}
_cache_lock = threading.Lock()


def _cached(key, make):
    with _cache_lock:
        if key not in _cache:
            _cache[key] = make()
        return _cache[key]


def body_truncated():
    b = read_data("expvartarget.json")
    return b[: len(b) // 2]


def body_top_level_array():
    return b"[\n1,\n2,\n3\n]\n"


def body_huge(size=20 << 20):
    """A valid JSON object of `size` bytes (one long string)."""
    def make():
        head, tail = b'{\n"blob": "', b'"\n}\n'
        return head + b"x" * (size - len(head) - len(tail)) + tail
    return _cached(("huge", size), make)


def body_gzip_bomb(inflated_mib=160):
    """A gzip stream of ~160 KB that inflates to a > 100 MiB JSON object."""
    def make():
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        parts = [c.compress(b'{\n"bomb": "')]
        mib = b"0" * (1 << 20)
        for _ in range(inflated_mib):
            parts.append(c.compress(mib))
        parts.append(c.compress(b'"\n}\n'))
        parts.append(c.flush())
        return b"".join(parts)
    return _cached(("bomb", inflated_mib), make)


def body_deep(levels=10000):
    """An object holding `levels` nested arrays (levels+1 nesting levels in
    all, beyond Go's encoding/json limit of 10000)."""
    return b'{\n"deep": ' + b"[" * levels + b"]" * levels + b"\n}\n"


INVALID_UTF8_VALUE = b"ok\xffz\xe4\xb8x"       # Go: each bad byte → U+FFFD
INVALID_UTF8_VALUE_DECODED = "ok\ufffdz\ufffd\ufffdx"
INVALID_UTF8_KEY = b"k\xfe"
INVALID_UTF8_KEY_DECODED = "k\ufffd"


def body_invalid_utf8():
    """expvartarget.json with invalid UTF-8 in the `status` string and an
    extra key with invalid UTF-8.  Otherwise a valid body."""
    b = read_data("expvartarget.json")
    old = b'"status": "ok \\"quoted\\" \\\\ tab\\t \xc3\xa9",'
    assert old in b, "expvartarget.json changed"
    return b.replace(old, b'"status": "' + INVALID_UTF8_VALUE + b'",\n"' + INVALID_UTF8_KEY + b'": 1,')


def body_nan():
    """expvartarget.json where the expvar.Float `temperature` is NaN, as Go's
    expvar writes it (bare, invalid JSON)."""
    b = read_data("expvartarget.json")
    new, n = re.subn(rb'"temperature": [0-9.]+', b'"temperature": NaN', b)
    assert n == 1
    return new


def body_invalid_map_key():
    """A body whose map var has keys Go wrote with %q escapes (\\a, \\xff)."""
    m = read_data("expvar-invalid-map-key.txt").strip()
    return b'{\n"cmdline": ["./app"],\n"m": ' + m + b"\n}\n"


def html_page():
    return (b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head>\n"
            b"<body><h1>It works!</h1></body></html>\n")


# ---------------------------------------------------------------------------
# HTTP test server


class Request:
    def __init__(self, method, target, version, headers, body, peer):
        self.method = method
        self.target = target
        self.path, _, self.query = target.partition("?")
        self.version = version
        self.headers = headers  # list of (name, value), as received
        self.body = body
        self.peer = peer
        self.time = time.time()
        self.note = None  # what the behaviour did (e.g. "gzip")

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<%s %s>" % (self.method, self.target)


class _Ctx:
    """What a behaviour gets: the connection, the request and the server."""

    def __init__(self, server, conn, req):
        self.server, self.conn, self.req = server, conn, req

    def send(self, data):
        self.conn.sendall(data)

    def head(self, status, reason, headers, chunked=False, length=None):
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        if not any(k.lower() == "date" for k, _ in headers):
            lines.append("Date: " + go_http_date())
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif length is not None:
            lines.append("Content-Length: %d" % length)
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def wait_stopped(self, seconds=None):
        """Blocks until the server stops (True) or `seconds` pass (False)."""
        return self.server._stopping.wait(seconds)

    def accepts_gzip(self):
        ae = self.req.header("Accept-Encoding") or ""
        return any(t.strip().split(";")[0].strip().lower() == "gzip" for t in ae.split(","))


class Behaviour:
    def respond(self, ctx):
        """Writes the answer; returns True to keep the connection alive."""
        raise NotImplementedError


class Body(Behaviour):
    """Serves `body` bytes exactly.  chunked: Transfer-Encoding chunked in
    pieces of chunk_size (the way Go's expvar handler answers); gzip: compress
    when the client accepts it; content_encoding: send the bytes as they are
    but labelled (for pre-compressed bodies like the gzip bomb); delay: pause
    between chunks (a slow drip)."""

    def __init__(self, body, status=200, reason="OK", headers=None, chunked=True, chunk_size=4096,
                 gzip=False, content_encoding=None, delay=0.0):
        self.body = body
        self.status, self.reason = status, reason
        self.headers = list(JSON_HEADERS if headers is None else headers)
        self.chunked, self.chunk_size = chunked, chunk_size
        self.gzip, self.content_encoding, self.delay = gzip, content_encoding, delay

    def respond(self, ctx):
        body = self.body() if callable(self.body) else self.body
        headers = list(self.headers)
        if self.gzip and ctx.accepts_gzip():
            body = gzip.compress(body, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
            headers.append(("Vary", "Accept-Encoding"))
            ctx.req.note = "gzip"
        elif self.content_encoding:
            headers.append(("Content-Encoding", self.content_encoding))
            ctx.req.note = self.content_encoding
        if not self.chunked:
            ctx.head(self.status, self.reason, headers, length=len(body))
            self._drip(ctx, body, raw=True)
            return True
        ctx.head(self.status, self.reason, headers, chunked=True)
        if not self._drip(ctx, body, raw=False):
            return False
        ctx.send(b"0\r\n\r\n")
        return True

    def _drip(self, ctx, body, raw):
        for off in range(0, len(body), self.chunk_size):
            piece = body[off: off + self.chunk_size]
            ctx.send(piece if raw else b"%x\r\n%s\r\n" % (len(piece), piece))
            if self.delay and off + self.chunk_size < len(body):
                if ctx.wait_stopped(self.delay):
                    return False
        return True


def capture(name, **kw):
    """tests/data/<name>.json with the headers of its capture, chunked."""
    base = name[:-3] if name.endswith("-t2") else name
    return Body(read_data(name + ".json"), headers=capture_headers(base), **kw)


def json_body(body, **kw):
    """Any bytes served as a Go JSON answer (capture headers, chunked)."""
    return Body(body, headers=capture_headers("expvartarget"), **kw)


class GoStatus(Behaviour):
    """What Go's net/http sends for http.NotFound / http.Error."""

    TEXT = {404: "404 page not found", 500: "Internal Server Error", 503: "Service Unavailable",
            401: "Unauthorized"}
    REASON = {404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable",
              401: "Unauthorized"}

    def __init__(self, status):
        self.status = status

    def respond(self, ctx):
        body = (self.TEXT[self.status] + "\n").encode()
        ctx.head(self.status, self.REASON[self.status],
                 [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")],
                 length=len(body))
        ctx.send(body)
        return True


class Html(Body):
    def __init__(self):
        super().__init__(html_page(), headers=[("Content-Type", "text/html; charset=utf-8")], chunked=False)


class Hang(Behaviour):
    """Reads the request, never answers; holds the connection open until the
    client goes away or the server stops."""

    def respond(self, ctx):
        ctx.req.note = "hang"
        wake = ctx.server._wake_r
        while True:
            r, _, _ = select.select([ctx.conn, wake], [], [])
            if wake in r:
                return False
            try:
                if not ctx.conn.recv(4096):
                    return False  # client closed
            except OSError:
                return False


class Reset(Behaviour):
    """Reads the request and resets the connection (RST, no answer)."""

    def respond(self, ctx):
        ctx.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ctx.req.note = "reset"
        return False


class Redirect(Behaviour):
    """302 Found to `location` (default: the request's own absolute URL, an
    endless loop), with Go's http.Redirect body."""

    def __init__(self, location=None):
        self.location = location

    def respond(self, ctx):
        loc = self.location or ctx.server.url(ctx.req.target)
        body = ('<a href="%s">Found</a>.\n\n' % loc).encode()
        ctx.head(302, "Found", [("Content-Type", "text/html; charset=utf-8"), ("Location", loc)],
                 length=len(body))
        ctx.send(body)
        return True


class Sequence(Behaviour):
    """The n-th request to this route gets behaviours[n] (the last repeats)."""

    def __init__(self, *behaviours):
        self.behaviours = behaviours
        self.n = 0
        self.lock = threading.Lock()

    def respond(self, ctx):
        with self.lock:
            b = self.behaviours[min(self.n, len(self.behaviours) - 1)]
            self.n += 1
        return b.respond(ctx)


class TargetServer:
    """A real HTTP/1.1 server on 127.0.0.1 (a thread per connection,
    keep-alive) serving per-path behaviours and recording every request.

        with TargetServer() as srv:
            srv.route("/debug/vars", capture("etcd"))
            url = srv.url("/debug/vars")
    """

    def __init__(self, routes=None):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self.port = self._sock.getsockname()[1]
        self.routes = dict(routes or {})
        self.requests = []
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._conns = set()
        self._threads = []
        self._accept_thread = None
        self.errors = []  # unexpected exceptions in handlers

    # -- configuration
    def route(self, path, behaviour):
        self.routes[path] = behaviour
        return self

    def url(self, path="/debug/vars"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    @property
    def hostport(self):
        return "127.0.0.1:%d" % self.port

    # -- lifecycle
    def start(self):
        self._accept_thread = threading.Thread(target=self._accept_loop, name="srv-accept", daemon=True)
        self._accept_thread.start()
        return self

    def stop(self, timeout=10):
        if self._stopping.is_set():
            return
        self._stopping.set()
        os.write(self._wake_w, b"x")
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        dl = Deadline(timeout)
        if self._accept_thread:
            self._accept_thread.join(dl.remaining())
        for t in list(self._threads):
            t.join(dl.remaining())
        alive = [t.name for t in self._threads if t.is_alive()]
        self._sock.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        if alive:
            raise AssertionError("test server threads did not stop: %s" % alive)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- observation
    def requests_for(self, path):
        with self._cond:
            return [r for r in self.requests if r.path == path]

    def wait_for_requests(self, path, n, timeout):
        dl = Deadline(timeout)
        with self._cond:
            while True:
                got = [r for r in self.requests if r.path == path]
                if len(got) >= n:
                    return got
                if dl.expired():
                    raise AssertionError("timed out waiting for %d requests to %s (got %d)" %
                                         (n, path, len(got)))
                self._cond.wait(dl.remaining())

    # -- internals
    def _accept_loop(self):
        while not self._stopping.is_set():
            r, _, _ = select.select([self._sock, self._wake_r], [], [])
            if self._wake_r in r:
                return
            try:
                conn, peer = self._sock.accept()
            except OSError:
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve_conn, args=(conn, peer), daemon=True,
                                 name="srv-conn-%d" % peer[1])
            with self._cond:
                self._conns.add(conn)
                self._threads = [x for x in self._threads if x.is_alive()]
                self._threads.append(t)
            t.start()

    def _read_request(self, rfile, peer):
        line = rfile.readline(65537)
        if not line:
            return None
        if not line.endswith(b"\n"):
            raise ValueError("request line too long or incomplete")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            raise ValueError("bad request line %r" % line)
        method, target, version = parts
        headers = []
        while True:
            h = rfile.readline(65537)
            if not h:
                return None
            h = h.decode("latin-1").rstrip("\r\n")
            if not h:
                break
            k, _, v = h.partition(":")
            headers.append((k.strip(), v.strip()))
            if len(headers) > 200:
                raise ValueError("too many headers")
        body = b""
        for k, v in headers:
            if k.lower() == "content-length" and int(v) > 0:
                body = rfile.read(int(v))
        return Request(method, target, version, headers, body, peer)

    def _serve_conn(self, conn, peer):
        rfile = conn.makefile("rb")
        try:
            while not self._stopping.is_set():
                try:
                    req = self._read_request(rfile, peer)
                except (OSError, ValueError):
                    return
                if req is None:
                    return
                behaviour = self.routes.get(req.path, GoStatus(404))
                with self._cond:
                    self.requests.append(req)
                    self._cond.notify_all()
                try:
                    keep = behaviour.respond(_Ctx(self, conn, req))
                except (BrokenPipeError, ConnectionResetError):
                    return
                except OSError:
                    return
                except Exception as e:  # a bug in the test server itself
                    self.errors.append("%s: %r" % (req, e))
                    return
                if not keep or (req.header("Connection") or "").lower() == "close" \
                        or req.version != "HTTP/1.1":
                    return
        finally:
            with self._cond:
                self._conns.discard(conn)
            try:
                rfile.close()
                conn.close()
            except OSError:
                pass


# ---------------------------------------------------------------------------
# Running the binary


def base_env(extra=None):
    env = dict(os.environ)
    env["TZ"] = TEST_TZ
    env.setdefault("LC_ALL", "C")
    # Never let a proxy setting send test traffic anywhere but loopback.
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "*"
    if extra:
        env.update(extra)
    return env


class Completed:
    """Result of run_expvarbeat; unpacks as (rc, stdout, stderr)."""

    def __init__(self, argv, rc, stdout, stderr, elapsed):
        self.argv, self.rc, self.stdout_bytes, self.elapsed = argv, rc, stdout, elapsed
        self.stderr = stderr.decode("utf-8", "replace")
        try:
            self.stdout = stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError("stdout of %s is not valid UTF-8: %s" % (argv, e)) from None

    def __iter__(self):
        return iter((self.rc, self.stdout, self.stderr))

    def docs(self):
        return parse_ndjson(self.stdout_bytes)

    def describe(self):
        return "command %s\nexit %s after %.1fs\n--- stdout (%d bytes) ---\n%s\n--- stderr ---\n%s" % (
            " ".join(self.argv), self.rc, self.elapsed, len(self.stdout_bytes),
            self.stdout[:3000], self.stderr[-3000:])


def _die_with_parent():
    """In the child before exec: get SIGKILL when the test process dies, so
    a test killed by ctest's timeout leaves no daemon behind (Linux)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class _Proc:
    """A child process whose pipes are drained by threads and which is
    reaped by a thread (so waits can have deadlines)."""

    def __init__(self, argv, env=None, cwd=None):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=base_env(env), cwd=cwd,
                                  preexec_fn=_die_with_parent)
        self.pid = self.p.pid
        try:
            self.pidfd = os.pidfd_open(self.pid)  # signals can never hit a reused pid
        except (AttributeError, OSError):
            self.pidfd = None
        self.cond = threading.Condition()
        self.out = bytearray()
        self.err = bytearray()
        self.rc = None
        self.started = time.monotonic()
        self.ended = None
        self._threads = [threading.Thread(target=self._drain, args=(self.p.stdout, self.out), daemon=True),
                         threading.Thread(target=self._drain, args=(self.p.stderr, self.err), daemon=True),
                         threading.Thread(target=self._reap, daemon=True)]
        for t in self._threads:
            t.start()

    def _drain(self, f, buf):
        while True:
            chunk = os.read(f.fileno(), 65536)
            if not chunk:
                break
            with self.cond:
                buf.extend(chunk)
                self.cond.notify_all()
        f.close()

    def _reap(self):
        _, status, _ = os.wait4(self.pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        self.p.returncode = rc  # so Popen never waits for it again
        with self.cond:
            if self.pidfd is not None:
                os.close(self.pidfd)
                self.pidfd = None
            self.rc, self.ended = rc, time.monotonic()
            self.cond.notify_all()

    def running(self):
        with self.cond:
            return self.rc is None

    def signal(self, sig):
        """Signals this child only; a no-op once it has been reaped."""
        with self.cond:
            if self.rc is not None:
                return
            try:
                if self.pidfd is not None:
                    signal.pidfd_send_signal(self.pidfd, sig)
                else:  # not reaped yet (checked under the lock), so the pid is ours
                    os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        """Waits for exit and for the pipes to drain; False on timeout."""
        dl = Deadline(timeout)
        with self.cond:
            while self.rc is None:
                if dl.expired():
                    return False
                self.cond.wait(dl.remaining())
        for t in self._threads:
            t.join(dl.remaining() + 2)
        return True

    def kill(self):
        self.signal(signal.SIGKILL)
        self.wait(10)


def run_expvarbeat(args, timeout=60, env=None, cwd=None):
    """Runs `expvarbeat ARGS...` to completion; returns a Completed, which
    unpacks as (rc, stdout, stderr).  Kills it and fails after `timeout`."""
    require_binary()
    argv = [BIN] + list(args)
    proc = _Proc(argv, env=env, cwd=cwd)
    if not proc.wait(timeout):
        proc.kill()
        raise AssertionError("%s did not finish within %ss\nstderr:\n%s" %
                             (" ".join(argv), timeout, proc.err.decode("utf-8", "replace")[-3000:]))
    return Completed(argv, proc.rc, bytes(proc.out), bytes(proc.err), proc.ended - proc.started)


def binary_is_sanitized(path=None):
    """True when the binary was built with AddressSanitizer."""
    def scan():
        with open(path or BIN, "rb") as f:
            return b"__asan_init" in f.read()
    return _cached(("asan", path or BIN), scan)


def sanitizer_problems(stderr_text):
    """Lines that show memory errors or undefined behaviour (ASan/UBSan)."""
    pats = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")
    return [l for l in stderr_text.split("\n") if any(p in l for p in pats)]


# ---------------------------------------------------------------------------
# Config files


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _yaml_scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)


def _yaml_key(k):
    return k if _PLAIN_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts/lists/scalars (strings double-quoted)."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        if not obj:
            return pad + "{}\n"
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:\n%s" % (pad, _yaml_key(k), to_yaml(v, indent + 2)))
            elif isinstance(v, dict):
                lines.append("%s%s: {}\n" % (pad, _yaml_key(k)))
            elif isinstance(v, list):
                lines.append("%s%s: []\n" % (pad, _yaml_key(k)))
            else:
                lines.append("%s%s: %s\n" % (pad, _yaml_key(k), _yaml_scalar(v)))
        return "".join(lines)
    if isinstance(obj, list):
        for v in obj:
            if isinstance(v, (dict, list)) and v:
                inner = to_yaml(v, indent + 2)
                lines.append("%s- %s" % (pad, inner[indent + 2:]))
            else:
                lines.append("%s- %s\n" % (pad, _yaml_scalar(v) if not isinstance(v, (dict, list))
                                          else ("{}" if isinstance(v, dict) else "[]")))
        return "".join(lines)
    return pad + _yaml_scalar(obj) + "\n"


def golang_module(hosts, metricsets=("expvar", "heap"), namespace="app", period="1s", **extra):
    m = {"module": "golang", "metricsets": list(metricsets), "period": period,
         "hosts": list(hosts) if isinstance(hosts, (list, tuple)) else [hosts]}
    if namespace is not None and "expvar" in metricsets:
        m["expvar.namespace"] = namespace
    m.update(extra)
    return m


def output_config(output, out, hosts, period="1s", metricsets=("expvar", "heap"), namespace="app",
                  stats_port=None, top=None):
    """A daemon config for an output test: the golang module on `hosts`,
    output.<output> = out, a queue that flushes quickly, a 5 s shutdown
    budget, the stats endpoint when stats_port is given; `top` (dotted keys)
    overrides."""
    cfg = {"metricbeat.modules": [golang_module(hosts, metricsets=metricsets, namespace=namespace,
                                                period=period)],
           "output." + output: out,
           "queue.mem.flush.timeout": "200ms",
           "queue.mem.flush.min_events": 64,
           "shutdown_timeout": "5s"}
    if stats_port:
        cfg.update({"http.enabled": True, "http.host": "127.0.0.1", "http.port": stats_port})
    cfg.update(top or {})
    return cfg


class Daemon:
    """expvarbeat running as a daemon with a generated config.

        with Daemon({"metricbeat.modules": [golang_module(url)]}) as d:
            d.wait_for(lambda docs: len(docs) >= 2, 10, "two documents")
        # leaving the block sends SIGTERM and asserts exit 0

    output="file" (default) adds output.file into the temp dir and reads
    out*.ndjson; output="console" adds output.console and reads stdout;
    output=None leaves the config's output alone (docs() then reads stdout).
    """

    def __init__(self, config, output="file", args=(), env=None, keep_defaults=False, data_dir=None):
        require_binary()
        self.dir = tempfile.mkdtemp(prefix="expvarbeat-it-")
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        self.out_dir = os.path.join(self.dir, "out")
        self.output = output
        if isinstance(config, dict):
            config = dict(config)
            if not keep_defaults:
                config.setdefault("metricbeat.max_start_delay", "0s")
                # 8.12+ waits up to 10s to fill a batch; tests want documents now.
                config.setdefault("queue.mem.flush.timeout", "50ms")
            if output == "file":
                config["output.file"] = {"path": self.out_dir, "filename": "out"}
            elif output == "console":
                config["output.console"] = {"pretty": False}
            text = to_yaml(config)
        else:
            text = config
        self.config_text = text
        self.config_path = os.path.join(self.dir, "expvarbeat.yml")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(self.config_path, 0o600)
        self.argv = [BIN, "-e", "-c", self.config_path,
                     "--path.data", self.data_dir,
                     "--path.logs", os.path.join(self.dir, "logs")] + list(args)
        self.env = env
        self.proc = None
        self.rc = None
        self.final_docs = None  # what stop() found, kept after the temp dir is gone

    # -- lifecycle
    def start(self):
        self.proc = _Proc(self.argv, env=self.env, cwd=self.dir)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.stop()
        finally:
            if self.proc and self.proc.running():
                self.proc.kill()
            if not os.environ.get("EXPVARBEAT_KEEP_TMP"):
                shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Sends sig and asserts a clean exit (status 0) within timeout.
        Returns the documents written."""
        if self.proc.running():
            self.proc.signal(sig)
        if not self.proc.wait(timeout):
            self.proc.kill()
            raise AssertionError("expvarbeat did not exit within %ss of %s\n%s" %
                                 (timeout, signal.Signals(sig).name, self.describe()))
        self.rc = self.proc.rc
        if self.rc != 0:
            raise AssertionError("expvarbeat exited with %s after %s (expected 0)\n%s" %
                                 (self.rc, signal.Signals(sig).name, self.describe()))
        bad = sanitizer_problems(self.stderr)
        if bad:
            raise AssertionError("sanitizer reports:\n%s\n%s" % ("\n".join(bad[:20]), self.describe()))
        if self.final_docs is None:
            self.final_docs = self.docs()
        return self.final_docs

    # -- observation
    @property
    def pid(self):
        return self.proc.pid

    @property
    def stdout(self):
        with self.proc.cond:
            return bytes(self.proc.out)

    @property
    def stderr(self):
        with self.proc.cond:
            return self.proc.err.decode("utf-8", "replace")

    def log_lines(self):
        return self.stderr.split("\n")

    def running(self):
        return self.proc.running()

    def output_files(self):
        if not os.path.isdir(self.out_dir):
            return []
        return sorted(os.path.join(self.out_dir, f) for f in os.listdir(self.out_dir)
                      if f.startswith("out") and f.endswith(".ndjson"))

    def docs(self):
        """All complete documents written so far."""
        if self.final_docs is not None:
            return self.final_docs
        if self.output == "file":
            docs = []
            for path in self.output_files():
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except FileNotFoundError:  # rotated away between listing and reading
                    continue
                docs.extend(parse_ndjson(data, allow_partial_tail=True))
            return docs
        return parse_ndjson(self.stdout, allow_partial_tail=True)

    def wait_for(self, predicate, timeout, what):
        """Polls predicate(docs) until truthy; fails if the daemon exits or
        the deadline passes.  Returns the predicate's value."""
        dl = Deadline(timeout)
        ev = threading.Event()
        while True:
            if not self.proc.running():
                raise AssertionError("expvarbeat exited (%s) while waiting for %s\n%s" %
                                     (self.proc.rc, what, self.describe()))
            v = predicate(self.docs())
            if v:
                return v
            if dl.expired():
                raise AssertionError("timed out after %.0fs waiting for %s\n%s" %
                                     (timeout, what, self.describe()))
            ev.wait(min(0.05, dl.remaining()))

    def peak_rss_kb(self):
        """VmHWM of the running daemon (kB)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def describe(self):
        docs = "?"
        try:
            docs = len(self.docs())
        except AssertionError as e:
            docs = "unparsable: %s" % e
        return ("command: %s\nconfig:\n%s\ndocuments: %s\n--- stderr (tail) ---\n%s" %
                (" ".join(self.argv), self.config_text, docs, self.stderr[-4000:]))


# ---------------------------------------------------------------------------
# The real Go service (tests/gotarget/main.go)


class GoTarget:
    """Runs the built Go expvar program on a loopback port.

        with GoTarget(gc=True) as gt:
            gt.url()        # http://127.0.0.1:PORT/debug/vars
            gt.served()     # every body it served, in order (raw text)
    """

    def __init__(self, gc=False, path=None):
        self.path = path or GOTARGET
        self.argv = [self.path, "-addr", "127.0.0.1:0"] + (["-gc"] if gc else [])
        self.proc = None
        self.addr = None

    @staticmethod
    def available(path=None):
        p = path or GOTARGET
        return os.path.isfile(p) and os.access(p, os.X_OK)

    def start(self):
        self.proc = _Proc(self.argv)

        def listening():
            with self.proc.cond:
                out = bytes(self.proc.out)
            if not self.proc.running():
                raise AssertionError("gotarget exited (%s): %s" %
                                     (self.proc.rc, self.proc.err.decode("utf-8", "replace")))
            if b"\n" in out:
                return out.split(b"\n", 1)[0].decode()
            return None
        line = wait_until(listening, 30, "gotarget to print its address")
        m = re.fullmatch(r"listening (127\.0\.0\.1:\d+)", line)
        if not m:
            self.stop()
            raise AssertionError("unexpected first line from gotarget: %r" % line)
        self.addr = m.group(1)
        return self

    def url(self, path="/debug/vars"):
        return "http://%s%s" % (self.addr, path)

    def get(self, path):
        import urllib.request
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.url(path), timeout=10) as r:
            return r.read()

    def served(self):
        """The bodies served on /debug/vars so far, in order."""
        return json.loads(self.get("/served"))

    def stop(self):
        if self.proc and self.proc.running():
            self.proc.signal(signal.SIGTERM)
            if not self.proc.wait(10):
                self.proc.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
