"""The command line: `version`, `test config` (good and bad configs: errors
name the file, the line and the key), the shipped default config
(conf/expvarbeat.yml scrapes expvarbeat's own endpoint and prints to the
console), clean shutdown on SIGTERM/SIGINT, and the agent identity."""

import os
import re
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

GOOD = """\
metricbeat.modules:
  - module: golang
    metricsets: [expvar, heap]
    period: 10s
    hosts: ["127.0.0.1:6060"]
    expvar.namespace: app
output.console:
  pretty: false
"""

# name → (config text, line the message must name or None, substrings the message must contain)
BAD = {
    "yaml_syntax": ("""\
metricbeat.modules:
  - module: golang
    hosts: ["127.0.0.1:6060"
    expvar.namespace: app
output.console:
  pretty: false
""", (3, 4, 5, 6), []),
    "wrong_type": ("""\
metricbeat.modules:
  - module: golang
    metricsets: [expvar, heap]
    period: [1]
    hosts: ["127.0.0.1:6060"]
    expvar.namespace: app
output.console:
  pretty: false
""", (4,), ["period"]),
    "unknown_output": ("""\
metricbeat.modules:
  - module: golang
    metricsets: [expvar, heap]
    hosts: ["127.0.0.1:6060"]
    expvar.namespace: app
output.foo:
  bar: 1
""", (6, 7), ["foo"]),
    "missing_namespace": ("""\
metricbeat.modules:
  - module: golang
    metricsets: [expvar, heap]
    period: 10s
    hosts: ["127.0.0.1:6060"]
output.console:
  pretty: false
""", (2, 3, 4, 5), ["expvar.namespace"]),
    "modules_dir_missing": ("""\
metricbeat.config.modules:
  path: /nonexistent-expvarbeat-dir/modules.d/*.yml
output.console:
  pretty: false
""", (1, 2), ["/nonexistent-expvarbeat-dir"]),
    "two_outputs": ("""\
metricbeat.modules:
  - module: golang
    metricsets: [heap]
    hosts: ["127.0.0.1:6060"]
output.console:
  pretty: false
output.file:
  path: /tmp
  filename: x
""", (5, 6, 7, 8, 9), ["output"]),
}


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="expvarbeat-cli-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
        return False


def write(dirpath, name, text):
    p = os.path.join(dirpath, name)
    with open(p, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(p, 0o600)
    return p


class TestCommands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        X.require_binary()

    def test_version(self):
        res = X.run_expvarbeat(["version"], timeout=20)
        self.assertEqual(0, res.rc, res.describe())
        self.assertRegex(res.stdout, r"^expvarbeat version \d+\.\d+\.\d+", res.describe())

    def test_unknown_command_fails(self):
        res = X.run_expvarbeat(["no-such-command"], timeout=20)
        self.assertNotEqual(0, res.rc, res.describe())
        self.assertIn("no-such-command", res.stderr, "the error names the command\n" + res.describe())

    def test_config_ok(self):
        with TempDir() as d:
            p = write(d, "good.yml", GOOD)
            res = X.run_expvarbeat(["test", "config", "-c", p], timeout=20, cwd=d)
        self.assertEqual(0, res.rc, res.describe())
        self.assertIn("Config OK", res.stdout, res.describe())

    def test_bad_configs(self):
        for name, (text, lines, needles) in BAD.items():
            with self.subTest(config=name), TempDir() as d:
                p = write(d, name + ".yml", text)
                res = X.run_expvarbeat(["test", "config", "-c", p], timeout=20, cwd=d)
                self.assertEqual(1, res.rc, res.describe())
                self.assertNotIn("Config OK", res.stdout)
                msg = res.stdout + res.stderr
                named = [int(m) for m in re.findall(re.escape(p) + r":(\d+)", msg)]
                self.assertTrue(named, "the message must name %s:LINE\n%s" % (p, res.describe()))
                self.assertTrue(any(n in lines for n in named),
                                "the message names line(s) %s, expected one of %s\n%s" %
                                (named, lines, res.describe()))
                for needle in needles:
                    self.assertIn(needle, msg, res.describe())

    def test_bad_config_stops_run(self):
        """`run` refuses a bad config at once, exit 1, without scraping."""
        with X.TargetServer() as srv, TempDir() as d:
            srv.route("/debug/vars", X.capture("etcd"))
            text = BAD["wrong_type"][0].replace("127.0.0.1:6060", srv.hostport)
            p = write(d, "bad.yml", text)
            res = X.run_expvarbeat(["-e", "-c", p, "--path.data", os.path.join(d, "data"),
                                    "--path.logs", os.path.join(d, "logs")], timeout=20, cwd=d)
            self.assertEqual(1, res.rc, res.describe())
            self.assertIn(p, res.stderr + res.stdout)
            self.assertEqual([], srv.requests_for("/debug/vars"), "a refused config must not scrape")

    def test_override_with_E(self):
        """-E key=value applies on top of the file: a bad value is refused."""
        with TempDir() as d:
            p = write(d, "good.yml", GOOD)
            res = X.run_expvarbeat(["test", "config", "-c", p, "-E", "http.port=notaport"], timeout=20, cwd=d)
            self.assertEqual(1, res.rc, res.describe())
            self.assertIn("http.port", res.stdout + res.stderr)
            res = X.run_expvarbeat(["test", "config", "-c", p, "-E", "http.port=5067"], timeout=20, cwd=d)
            self.assertEqual(0, res.rc, res.describe())
            self.assertIn("Config OK", res.stdout)


class TestRunning(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        X.require_binary()

    def test_default_config_scrapes_itself(self):
        src = os.path.join(X.SOURCE, "conf", "expvarbeat.yml")
        self.assertTrue(os.path.isfile(src), "the default config %s is missing" % src)
        with open(src, encoding="utf-8") as f:
            text = f.read()
        port = X.free_port()
        # The default scrapes the daemon's own endpoint on 5066; use a free port.
        text = text.replace("5066", str(port))
        d = X.Daemon(text, output=None, args=["-E", "http.port=%d" % port])
        with d:
            def both(docs):
                return X.by_metricset(docs, "expvar") and X.by_metricset(docs, "heap")
            # first fetch within max_start_delay (10s), plus margin
            d.wait_for(both, 30, "expvar and heap documents on stdout")
            docs = d.stop()
        ex = X.by_metricset(docs, "expvar")[0]
        heap = X.by_metricset(docs, "heap")[0]
        addr = X.get(ex, "service", "address")
        self.assertIsInstance(addr, str)
        self.assertRegex(addr, r"^http://(localhost|127\.0\.0\.1):%d/debug/vars$" % port)
        ns = X.get(ex, "event", "dataset")[len("golang."):]
        self.assertEqual([], X.check_envelope(ex, "expvar", "golang." + ns, addr, int(ex["metricset"]["period"])))
        self.assertEqual([], X.check_envelope(heap, "heap", "golang.heap", addr, int(heap["metricset"]["period"])))
        fields = ex["golang"]
        for part in ns.split("."):
            fields = fields[part]
        # the daemon's own /debug/vars is in expvar's shape
        self.assertIn("memstats", fields)
        self.assertEqual(X.Num("256"), X.Num(str(len(fields["memstats"]["PauseNs"]))))
        self.assertEqual(" ".join(d.argv), fields["cmdline"], "cmdline is the daemon's command line")
        self.assertEqual(" ".join(d.argv), heap["golang"]["heap"]["cmdline"])
        self.assertGreater(int(heap["golang"]["heap"]["system"]["total"]), 0)

    def small_config(self, srv):
        return {"metricbeat.modules": [X.golang_module([srv.url()], namespace="app")]}

    def test_sigint_clean_exit_and_complete_lines(self):
        with X.TargetServer() as srv:
            srv.route("/debug/vars", X.capture("ginexpvar"))
            with X.Daemon(self.small_config(srv), output="console") as d:
                d.wait_for(lambda docs: len(docs) >= 2, 20, "two documents")
                d.stop(sig=signal.SIGINT)
                raw = d.stdout
        self.assertTrue(raw.endswith(b"\n"), "the console output must end with a complete line")
        docs = X.parse_ndjson(raw)  # every line complete and valid
        self.assertGreaterEqual(len(docs), 2)

    def test_sigterm_while_a_scrape_hangs(self):
        """A fetch in flight must not hold up shutdown."""
        with X.TargetServer() as srv:
            srv.route("/debug/vars", X.Hang())
            cfg = {"metricbeat.modules": [X.golang_module([srv.url()], namespace="app", period="10s",
                                                          timeout="60s")]}
            with X.Daemon(cfg) as d:
                srv.wait_for_requests("/debug/vars", 1, 20)
                d.stop(timeout=10)

    def test_agent_id_persists_ephemeral_id_does_not(self):
        with X.TargetServer() as srv, TempDir() as data:
            srv.route("/debug/vars", X.capture("etcd"))
            ids = []
            for _ in range(2):
                with X.Daemon(self.small_config(srv), data_dir=data) as d:
                    d.wait_for(lambda docs: docs, 20, "a document")
                    docs = d.stop()
                ids.append((docs[0]["agent"]["id"], docs[0]["agent"]["ephemeral_id"]))
        self.assertEqual(ids[0][0], ids[1][0], "agent.id is kept in path.data across runs")
        self.assertNotEqual(ids[0][1], ids[1][1], "agent.ephemeral_id is new for every run")

    def test_name_sets_host_and_agent_name(self):
        with X.TargetServer() as srv:
            srv.route("/debug/vars", X.capture("etcd"))
            cfg = self.small_config(srv)
            cfg["name"] = "shipper-7"
            with X.Daemon(cfg) as d:
                d.wait_for(lambda docs: len(docs) >= 2, 20, "documents")
                docs = d.stop()
        for doc in docs:
            self.assertEqual({"name": "shipper-7"}, doc["host"])
            self.assertEqual("shipper-7", doc["agent"]["name"])

    def test_fields_and_tags(self):
        """Module and global `fields` go under `fields`, `tags` add up."""
        with X.TargetServer() as srv:
            srv.route("/debug/vars", X.capture("etcd"))
            cfg = {"metricbeat.modules": [X.golang_module([srv.url()], metricsets=["heap"],
                                                          fields={"env": "prod"}, tags=["t1"])],
                   "fields": {"team": "x"}, "tags": ["global"]}
            with X.Daemon(cfg) as d:
                d.wait_for(lambda docs: docs, 20, "a document")
                docs = d.stop()
        for doc in docs:
            self.assertEqual({"env": "prod", "team": "x"}, doc.get("fields"))
            self.assertEqual({"t1", "global"}, set(doc.get("tags") or []))
            rest = {k: v for k, v in doc.items() if k not in ("fields", "tags")}
            self.assertEqual([], X.check_envelope(rest, "heap", "golang.heap", srv.url(), 1000))


if __name__ == "__main__":
    unittest.main(verbosity=2)
