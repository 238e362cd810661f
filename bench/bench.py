#!/usr/bin/env python3
"""The benchmark suite behind bench/run.sh (which builds first).

Everything runs on loopback, as child processes of this script, in a temp
dir that is removed at the end:
  farm     nginx (its own config, foreground) serving the captures in
           tests/data under /t/<n>/debug/vars on a few ports, keep-alive on;
           bench/gotargets for live Go memstats.
  compare  collectd 5.12 (curl_json -> csv) and expvarbeat (file output) on
           the same 100 targets, period 1 s: CPU seconds, peak RSS, scrapes.
  scale    1,000 and 10,000 targets at period 10 s: missed periods,
           start-time lateness, CPU, peak RSS.
  decode   bench_decode: decode + document build vs raw yajl_parse.
  outputs  bench_es_bulk (encoder into a sink), the fake Elasticsearch
           (tests/integration/esserver.py) and librdkafka's mock cluster.
Prints one table; writes a Markdown report (bench/RESULTS.md for a full
run).  Benchmarks, not tests: figures, not assertions.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("EXPVARBEAT_BENCH_BUILD", os.path.join(ROOT, "build-bench"))
DATA = os.path.join(ROOT, "tests", "data")
CAPTURES = ["expvartarget", "expvartarget-t2", "ginexpvar", "ginexpvar-t2", "etcd"]
TICK = os.sysconf("SC_CLK_TCK")
NOFILE = 65536


# ---- processes --------------------------------------------------------------

class Children:
    """Every process this script starts; all are stopped at the end."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=20):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p, timeout=5)


def raise_nofile():
    """As many descriptors as allowed: 10,000 keep-alive connections need
    10,000 on each side."""
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_until(cond, deadline_s, what):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)  # polling a condition with a deadline
    raise RuntimeError("timed out waiting for " + what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def cpu_seconds(pid):
    """utime + stime of a live process, children excluded."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def peak_rss_kib(pid):
    return proc_status(pid, "VmHWM")


def rss_split(pid):
    """Current private (anonymous) and file-backed (shared libraries) KiB."""
    return proc_status(pid, "RssAnon"), proc_status(pid, "RssFile")


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def http_json(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


# ---- the target farm ----------------------------------------------------------

NGINX_CONF = """
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 19000; }}
http {{
    log_format bench '$msec $remote_addr:$remote_port $connection $connection_requests $request_uri $status';
    access_log {prefix}/access.log bench buffer=256k flush=1s;
    keepalive_requests 10000000;
    keepalive_timeout 600s;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    default_type application/json;
    server {{
{listens}
        root {prefix}/www;
        # /t/<n>/debug/vars: the capture chosen by n's last digit
        location ~ "^/t/\\d*(\\d)/debug/vars$" {{ try_files /s$1.json =404; }}
    }}
}}
"""


class Farm:
    """nginx serving the captures under any number of distinct paths."""

    def __init__(self, kids, work, nports=4):
        self.prefix = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.prefix, "www"))
        os.makedirs(os.path.join(self.prefix, "tmp"))
        for i in range(10):
            shutil.copy(os.path.join(DATA, CAPTURES[i % len(CAPTURES)] + ".json"),
                        os.path.join(self.prefix, "www", "s%d.json" % i))
        self.ports = [free_port() for _ in range(nports)]
        listens = "\n".join("        listen 127.0.0.1:%d;" % p for p in self.ports)
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            nofile = min(NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
            f.write(NGINX_CONF.format(prefix=self.prefix, listens=listens, nofile=nofile))
        self.log = os.path.join(self.prefix, "access.log")
        self.proc = kids.start(["nginx", "-c", conf, "-p", self.prefix, "-g", "daemon off;"],
                               preexec_fn=raise_nofile, stderr=subprocess.DEVNULL)
        for p in self.ports:
            wait_until(lambda: port_open(p), 20, "nginx on port %d" % p)

    def urls(self, n):
        return ["http://127.0.0.1:%d/t/%d/debug/vars" % (self.ports[i % len(self.ports)], i)
                for i in range(n)]

    def requests(self):
        """Requests logged so far (the log is flushed every second)."""
        try:
            with open(self.log, "rb") as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def settle(self):
        time.sleep(1.2)  # nginx flushes its access log buffer every second


def start_gotargets(kids, work, n):
    exe = os.path.join(work, "gotargets")
    env = dict(os.environ, GOPROXY="off", GO111MODULE="off", GOCACHE=os.path.join(work, "gocache"),
               GOFLAGS="")
    subprocess.run(["go", "build", "-o", exe, os.path.join(ROOT, "bench", "gotargets", "main.go")],
                   check=True, env=env)
    addrs = os.path.join(work, "go-addrs")
    out = open(addrs, "w")
    kids.start([exe, "-n", str(n)], stdout=out)
    wait_until(lambda: sum(1 for _ in open(addrs)) >= n, 30, "gotargets listeners")
    out.close()
    return ["http://%s/debug/vars" % a.strip() for a in open(addrs) if a.strip()]


# ---- expvarbeat -----------------------------------------------------------------

def beat_config(urls, period, out_yaml, http_port, extra="", start_delay="0s"):
    lines = [
        "metricbeat.max_start_delay: %s" % start_delay,
        "logging.level: warning",
        "http: {enabled: true, host: 127.0.0.1, port: %d}" % http_port,
        out_yaml,
        extra,
        "metricbeat.modules:",
        "  - module: golang",
        "    metricsets: [expvar, heap]",
        "    period: %s" % period,
        "    expvar.namespace: bench",
        "    hosts:",
    ]
    lines += ["      - %s" % u for u in urls]
    return "\n".join(lines) + "\n"


class Beat:
    def __init__(self, kids, work, name, urls, period, out_yaml=None, extra="", start_delay="0s"):
        self.kids = kids
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.out_dir = os.path.join(self.dir, "out")
        if out_yaml is None:
            out_yaml = ("output.file: {path: '%s', filename: docs, rotate_every_kb: 16777216, "
                        "number_of_files: 2}" % self.out_dir)
        self.http_port = free_port()
        conf = os.path.join(self.dir, "expvarbeat.yml")
        write_private(conf, beat_config(urls, period, out_yaml, self.http_port, extra, start_delay))
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.t0 = time.time()
        self.proc = kids.start([os.path.join(BUILD, "expvarbeat"), "-e", "-c", conf,
                                "--path.data", os.path.join(self.dir, "data")],
                               stdout=subprocess.DEVNULL, stderr=self.log,
                               preexec_fn=raise_nofile)
        wait_until(lambda: self.alive() and port_open(self.http_port), 60, "expvarbeat /stats")

    def alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError("expvarbeat exited; log: " + open(self.log.name).read()[-2000:])
        return True

    def stats(self):
        return http_json("http://127.0.0.1:%d/stats" % self.http_port)

    def finish(self):
        """CPU seconds and peak RSS at the end, /stats, then SIGTERM."""
        self.alive()
        st = self.stats()
        res = {"cpu_s": cpu_seconds(self.proc.pid), "rss_kib": peak_rss_kib(self.proc.pid),
               "anon_file": rss_split(self.proc.pid), "wall_s": time.time() - self.t0,
               "stats": st}
        self.kids.stop(self.proc)
        self.log.close()
        return res

    def documents(self):
        if not os.path.isdir(self.out_dir):
            return []
        return [os.path.join(self.out_dir, f) for f in sorted(os.listdir(self.out_dir))]


TS = re.compile(rb'"@timestamp":"([^"]+)"')
ADDR = re.compile(rb'"service":\{"address":"([^"]+)"')
MS = re.compile(rb'"metricset":\{"name":"([a-z]+)"')


def parse_ts(b):
    d = datetime.datetime.strptime(b.decode(), "%Y-%m-%dT%H:%M:%S.%fZ")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp()


def doc_series(paths):
    """(address, metricset) -> sorted document timestamps; error documents."""
    series, errors, total = {}, 0, 0
    for p in paths:
        with open(p, "rb") as f:
            for line in f:
                total += 1
                ts, addr, ms = TS.search(line), ADDR.search(line), MS.search(line)
                if not (ts and addr and ms):
                    continue
                if b'"error":{' in line:
                    errors += 1
                series.setdefault((addr.group(1), ms.group(1)), []).append(
                    parse_ts(ts.group(1)))
    for v in series.values():
        v.sort()
    return series, errors, total


def percentile(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def schedule_quality(series, period_s):
    """Missed periods (a gap of k periods between two documents of one
    target misses k-1) and lateness: each document's @timestamp against
    the target's ideal grid, first document + k periods."""
    missed, late = 0, []
    for ts in series.values():
        t0 = ts[0]
        for a, b in zip(ts, ts[1:]):
            missed += max(0, int(round((b - a) / period_s)) - 1)
        for t in ts:
            k = round((t - t0) / period_s)
            late.append((t - (t0 + k * period_s)) * 1000.0)
    return missed, late


def counters(st, key):
    """Sum of a per-metricset scrape counter (skipped, delayed, ...) in /stats."""
    total = 0
    for ms in ("expvar", "heap"):
        total += st.get("metricbeat", {}).get("golang", {}).get(ms, {}).get(key, 0) or 0
    return total


# ---- collectd -----------------------------------------------------------------

COLLECTD_KEYS = [("memstats/Alloc", "bytes"), ("memstats/HeapAlloc", "bytes"),
                 ("memstats/Sys", "bytes"), ("memstats/HeapInuse", "bytes"),
                 ("memstats/HeapObjects", "gauge"), ("memstats/Mallocs", "derive"),
                 ("memstats/Frees", "derive"), ("memstats/NumGC", "derive"),
                 ("memstats/PauseTotalNs", "derive"), ("memstats/NextGC", "bytes"),
                 ("goroutines", "gauge"), ("requests", "derive")]


def collectd_run(kids, work, urls, seconds):
    d = os.path.join(work, "collectd")
    os.makedirs(d)
    blocks = []
    for i, u in enumerate(urls):
        keys = "\n".join('    <Key "%s">\n      Type "%s"\n    </Key>' % k for k in COLLECTD_KEYS)
        blocks.append('  <URL "%s">\n    Instance "t%d"\n    Timeout 1000\n%s\n  </URL>'
                      % (u, i, keys))
    conf = os.path.join(d, "collectd.conf")
    write_private(conf, "\n".join([
        'Hostname "bench"', "FQDNLookup false", 'BaseDir "%s"' % d,
        'PIDFile "%s/collectd.pid"' % d, 'PluginDir "/usr/lib/collectd"',
        'TypesDB "/usr/share/collectd/types.db"', "Interval 1", "ReadThreads 5",
        "WriteThreads 1", "LoadPlugin curl_json", "LoadPlugin csv",
        '<Plugin csv>\n  DataDir "%s/csv"\n  StoreRates false\n</Plugin>' % d,
        "<Plugin curl_json>", "\n".join(blocks), "</Plugin>", ""]))
    log = open(os.path.join(d, "log"), "w")
    t0 = time.time()
    p = kids.start(["/usr/sbin/collectd", "-f", "-C", conf], stdout=log, stderr=log)
    time.sleep(seconds)  # the measurement window
    if p.poll() is not None:
        raise RuntimeError("collectd exited: " + open(log.name).read()[-2000:])
    res = {"cpu_s": cpu_seconds(p.pid), "rss_kib": peak_rss_kib(p.pid),
           "anon_file": rss_split(p.pid), "wall_s": time.time() - t0}
    kids.stop(p)
    log.close()
    rows = 0  # one csv row per scrape per key: count one key's rows
    for root, _, files in os.walk(os.path.join(d, "csv")):
        for f in files:
            if f.startswith("bytes-memstats_Alloc-") or f.startswith("bytes-memstats-Alloc-"):
                with open(os.path.join(root, f)) as fh:
                    rows += sum(1 for _ in fh) - 1
    res["stored"] = rows
    return res


# ---- sections -------------------------------------------------------------------

class Report:
    def __init__(self):
        self.rows = []  # (section, measure, value, goal, verdict)
        self.notes = []
        self.raw = []

    def add(self, section, measure, value, goal="", ok=None):
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        self.rows.append((section, measure, value, goal, verdict))
        print("  %-40s %-28s %s %s" % (measure, value, goal, verdict), flush=True)


def compare(kids, work, farm, rep, seconds, ngo):
    n = 100
    urls = farm.urls(n - ngo) + (start_gotargets(kids, work, ngo) if ngo else [])
    print("compare: collectd vs expvarbeat, %d targets (%d nginx, %d Go), period 1s, %ds"
          % (n, n - ngo, ngo, seconds), flush=True)
    before = farm.requests()
    cd = collectd_run(kids, work, urls, seconds)
    farm.settle()
    cd_req = farm.requests() - before
    before = farm.requests()
    # collectd's csv writer stores each value as it comes; the same for
    # expvarbeat means writing each second instead of holding up to 1600
    # documents for the default 10 s flush timeout.
    b = Beat(kids, work, "compare", urls, "1s", extra="queue.mem.flush.timeout: 1s")
    time.sleep(seconds)  # the measurement window
    eb = b.finish()
    farm.settle()
    eb_req = farm.requests() - before
    series, errors, docs = doc_series(b.documents())
    # Scrapes each one did: collectd stores one csv row per target and read
    # (counted for memstats/Alloc, which every target has); expvarbeat's
    # per-target counters.  nginx's log (its targets only) cross-checks both.
    cd_scrapes = cd["stored"]
    eb_scrapes = sum(t.get("scrapes", 0) for t in eb["stats"].get("expvarbeat", {})
                     .get("targets", []))
    rep.add("collectd", "CPU seconds", "%.2f" % cd["cpu_s"])
    rep.add("collectd", "peak RSS (now: private + shared libs)", "%.1f MiB (%.1f + %.1f)"
            % (cd["rss_kib"] / 1024.0, cd["anon_file"][0] / 1024.0, cd["anon_file"][1] / 1024.0))
    rep.add("collectd", "scrapes (nginx requests)", "%d (%d)" % (cd_scrapes, cd_req))
    rep.add("collectd", "CPU per scrape", "%.1f µs" % (cd["cpu_s"] / max(cd_scrapes, 1) * 1e6))
    rep.add("expvarbeat", "CPU seconds", "%.2f" % eb["cpu_s"])
    rep.add("expvarbeat", "peak RSS (now: private + shared libs)", "%.1f MiB (%.1f + %.1f)"
            % (eb["rss_kib"] / 1024.0, eb["anon_file"][0] / 1024.0, eb["anon_file"][1] / 1024.0))
    rep.add("expvarbeat", "scrapes (nginx requests)",
            "%d (%d); %d documents, %d errors" % (eb_scrapes, eb_req, docs, errors))
    rep.add("expvarbeat", "CPU per scrape", "%.1f µs" % (eb["cpu_s"] / max(eb_scrapes, 1) * 1e6))
    cpu_ratio = eb["cpu_s"] / cd["cpu_s"] if cd["cpu_s"] else float("nan")
    per_scrape = ((eb["cpu_s"] / max(eb_scrapes, 1)) / (cd["cpu_s"] / max(cd_scrapes, 1))
                  if cd["cpu_s"] else float("nan"))
    rss_ratio = eb["rss_kib"] / float(cd["rss_kib"])
    rep.add("100 targets", "CPU expvarbeat / collectd", "%.2f×" % cpu_ratio, "≤ 0.3×",
            cpu_ratio <= 0.3)
    rep.add("100 targets", "CPU per scrape, ratio", "%.2f×" % per_scrape, "≤ 0.3×",
            per_scrape <= 0.3)
    rep.add("100 targets", "peak RSS expvarbeat / collectd", "%.2f×" % rss_ratio, "≤ 0.3×",
            rss_ratio <= 0.3)
    anon = eb["anon_file"][0] / float(max(cd["anon_file"][0], 1))
    rep.add("100 targets", "private memory expvarbeat / collectd", "%.2f×" % anon)
    rep.raw.append(("compare", {"collectd": cd, "expvarbeat": {k: v for k, v in eb.items()
                                                                if k != "stats"},
                                "collectd_requests": cd_req, "expvarbeat_requests": eb_req,
                                "expvarbeat_docs": docs}))


def scale(kids, work, farm, rep, n, seconds):
    period = 10
    print("scale: %d targets, period %ds, %ds" % (n, period, seconds), flush=True)
    before = farm.requests()
    # As deployed: first scrapes spread over the period (max_start_delay).
    b = Beat(kids, work, "scale-%d" % n, farm.urls(n), "%ds" % period,
             start_delay="%ds" % period)
    time.sleep(seconds)  # the measurement window
    r = b.finish()
    farm.settle()
    req = farm.requests() - before
    series, errors, docs = doc_series(b.documents())
    # the first period is the start-up spread; judge whole periods after it
    steady = {k: [t for t in v if t >= b.t0 + period] for k, v in series.items()}
    steady = {k: v for k, v in steady.items() if v}
    missed, late = schedule_quality(steady, period)
    skipped, delayed = counters(r["stats"], "skipped"), counters(r["stats"], "delayed")
    targets_seen = len({a for a, _ in series})
    sec = "%d targets" % n
    rep.add(sec, "targets with documents", "%d of %d" % (targets_seen, n), "all",
            targets_seen == n)
    rep.add(sec, "documents (errors)", "%d (%d); %d HTTP requests" % (docs, errors, req))
    rep.add(sec, "missed periods", "%d (skipped %d, delayed %d)" % (missed, skipped, delayed),
            "0", missed == 0 and skipped == 0 and errors == 0)
    rep.add(sec, "start lateness p50 / p99",
            "%.1f / %.1f ms" % (percentile(late, 50), percentile(late, 99)))
    cpu_pct = 100.0 * r["cpu_s"] / r["wall_s"]
    rep.add(sec, "CPU", "%.1f%% of one core (%.2f s)" % (cpu_pct, r["cpu_s"]),
            "< 50%" if n >= 10000 else "", cpu_pct < 50 if n >= 10000 else None)
    rep.add(sec, "peak RSS (now: private + shared libs)", "%.1f MiB (%.1f + %.1f)"
            % (r["rss_kib"] / 1024.0, r["anon_file"][0] / 1024.0, r["anon_file"][1] / 1024.0),
            "≤ 64 MiB" if n >= 10000 else "", r["rss_kib"] <= 64 * 1024 if n >= 10000 else None)
    shutil.rmtree(b.out_dir, ignore_errors=True)


def decode(rep, quick):
    exe = os.path.join(BUILD, "bench", "bench_decode")
    out = subprocess.run([exe, DATA, "300" if quick else "2000", "3" if quick else "7"],
                         check=True, capture_output=True, text=True).stdout
    print(out, flush=True)
    rep.notes.append("bench_decode (MB/s of body; CPU time, best of interleaved rounds):\n\n"
                     "```\n" + out.rstrip() + "\n```")
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "all":
            rep.add("decode", "expvar decode / raw yajl_parse", "%s×" % f[6], "≥ 0.5×",
                    float(f[6]) >= 0.5)
            rep.add("decode", "heap decode / raw yajl_parse", "%s×" % f[7], "≥ 0.5×",
                    float(f[7]) >= 0.5)
            rep.add("decode", "raw yajl / expvar / heap", "%s / %s / %s MB/s" % (f[2], f[4], f[5]))
            if len(f) > 10:
                rep.add("decode", "expvar+heap of one body: two passes / one pass",
                        "%s / %s MB/s (one pass takes %s× the time)" % (f[8], f[9], f[10]))


def es_encoder(rep, quick):
    exe = os.path.join(BUILD, "bench", "bench_es_bulk")
    out = subprocess.run([exe, DATA, "50000" if quick else "400000"], check=True,
                         capture_output=True, text=True).stdout
    print(out, flush=True)
    for line in out.splitlines():
        m = re.match(r"es_bulk encoder( \+ gzip level 1)?: (\d+) docs/s", line)
        if m:
            v = int(m.group(2))
            if m.group(1):
                rep.add("outputs", "ES bulk encoder + gzip, into a sink", "%d docs/s" % v,
                        "≥ 50,000", v >= 50000)
            else:
                rep.add("outputs", "ES bulk encoder (no gzip), into a sink", "%d docs/s" % v)


def backlog_drain(kids, work, farm, rep, kind, outage):
    """Documents held during an outage of the output, then the time to
    deliver them once it is back: the output's rate against that server."""
    urls = farm.urls(100)
    extra = "queue.mem: {events: 20000, flush: {min_events: 1600, timeout: 1s}}"
    if kind == "elasticsearch":
        port = free_port()
        out = ("output.elasticsearch: {hosts: ['http://127.0.0.1:%d'], backoff: {max: 1s}}"
               % port)
    else:
        mout = open(os.path.join(work, "mock.out"), "w")
        mock = kids.start([os.path.join(BUILD, "tests", "tools", "kafka_mock"), "-t", "bench:6"],
                          stdin=subprocess.PIPE, stdout=mout, stderr=subprocess.DEVNULL,
                          text=True)
        ctl = mock.stdin
        boot = wait_until(lambda: re.search(r"^bootstrap (\S+)", open(mout.name).read(), re.M),
                          30, "kafka mock").group(1)
        ctl.write("down all\n")
        ctl.flush()
        out = ("output.kafka: {hosts: ['%s'], topic: bench, compression: gzip, "
               "backoff: {max: 1s}}" % boot.split(",")[0])
    b = Beat(kids, work, "drain-" + kind, urls, "1s", out_yaml=out,
             extra=extra + "\nlogging.level: error")
    time.sleep(outage)  # the outage
    held = b.stats()["libbeat"]["pipeline"]["events"]["active"]
    if kind == "elasticsearch":
        es = kids.start([sys.executable, os.path.join(ROOT, "tests", "integration", "esserver.py"),
                         "--port", str(port), "--no-record", "--no-sources"],
                        stdout=subprocess.DEVNULL)
        wait_until(lambda: port_open(port), 20, "fake Elasticsearch")
    else:
        ctl.write("up all\n")
        ctl.flush()
    t0 = time.monotonic()
    acked = lambda: b.stats()["libbeat"]["output"]["events"]["acked"]  # noqa: E731
    wait_until(lambda: acked() >= held, 300, "the backlog to drain")
    dt = time.monotonic() - t0
    n = acked()
    r = b.finish()
    if kind == "elasticsearch":
        kids.stop(es)
        rep.add("outputs", "fake Elasticsearch (Python), backlog", "%d docs/s (%d in %.2fs)"
                % (n / dt, n, dt))
    else:
        kids.stop(mock)
        mout.close()
        rep.add("outputs", "Kafka mock cluster, gzip, backlog", "%d msg/s (%d in %.2fs)"
                % (n / dt, n, dt))
    rep.add("outputs", "  peak RSS holding %d documents" % held, "%.1f MiB" % (r["rss_kib"] / 1024.0))


# ---- report ---------------------------------------------------------------------

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024.0 / 1024.0
    return "%d CPUs (nproc), %s, %.1f GiB RAM, %s %s" % (
        os.cpu_count(), model, mem, platform.system(), platform.release())


def git_commit():
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return c + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(rows):
    out = ["| section | measure | value | goal | |", "|---|---|---|---|---|"]
    out += ["| %s | %s | %s | %s | %s |" % r for r in rows]
    return "\n".join(out)


def write_report(path, rep, args, started):
    notes_file = os.path.join(ROOT, "bench", "NOTES.md")
    notes = open(notes_file).read().strip() if os.path.exists(notes_file) else ""
    text = ["# expvarbeat benchmark results", "",
            "Written by `bench/run.sh%s`; do not edit by hand (notes come from"
            " `bench/NOTES.md`)." % (" " + " ".join(args) if args else ""), "",
            "- machine: " + machine(),
            "- date: " + started.strftime("%Y-%m-%d %H:%M UTC"),
            "- commit: " + git_commit(),
            "- collectd: " + collectd_version(), "",
            "## Results", "", table(rep.rows), ""]
    if rep.notes:
        text += ["## Raw output", ""] + rep.notes + [""]
    if notes:
        text += [notes, ""]
    with open(path, "w") as f:
        f.write("\n".join(text))


def collectd_version():
    try:
        out = subprocess.run(["/usr/sbin/collectd", "-h"], capture_output=True, text=True).stdout
        m = re.search(r"collectd (\S+),", out)
        return m.group(1) if m else "?"
    except OSError:
        return "not installed"


def main():
    ap = argparse.ArgumentParser(description="expvarbeat benchmarks (see bench/README in run.sh)")
    ap.add_argument("--quick", action="store_true", help="short smoke run (about 2 minutes)")
    ap.add_argument("--only", default="decode,outputs,compare,scale",
                    help="comma-separated subset of: decode,outputs,compare,scale")
    ap.add_argument("--seconds", type=int, help="length of each timed run")
    ap.add_argument("--scale", default="1000,10000", help="target counts for the scale runs")
    ap.add_argument("--go-targets", type=int, default=10,
                    help="of the 100 compared targets, how many are live Go processes' endpoints")
    ap.add_argument("--out", help="report path (default: bench/RESULTS.md for a full run, "
                    "else build-bench/bench-results.md)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    full = not args.quick and only == {"decode", "outputs", "compare", "scale"} and not args.seconds
    out = args.out or (os.path.join(ROOT, "bench", "RESULTS.md") if full
                       else os.path.join(BUILD, "bench-results.md"))
    secs = args.seconds or (15 if args.quick else 60)
    started = datetime.datetime.now(datetime.timezone.utc)
    rep = Report()
    kids = Children()
    work = tempfile.mkdtemp(prefix="expvarbeat-bench-")
    os.chmod(work, 0o755)  # nginx workers drop root and must read the captures
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    try:
        raise_nofile()
        if "decode" in only:
            print("decode:", flush=True)
            decode(rep, args.quick)
        if "outputs" in only:
            print("outputs:", flush=True)
            es_encoder(rep, args.quick)
        farm = Farm(kids, work) if only & {"outputs", "compare", "scale"} else None
        if "outputs" in only:
            backlog_drain(kids, work, farm, rep, "elasticsearch", 10 if args.quick else 30)
            backlog_drain(kids, work, farm, rep, "kafka", 10 if args.quick else 30)
        if "compare" in only:
            compare(kids, work, farm, rep, secs, args.go_targets)
        if "scale" in only:
            for n in [int(x) for x in args.scale.split(",") if x]:
                scale(kids, work, farm, rep, n, max(secs, 25))
    finally:
        kids.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(rep.rows))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_report(out, rep, sys.argv[1:], started)
    print("\nwritten: " + os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
