"""Logging as Metricbeat 8 does it: `run` without -e writes ECS JSON lines to
<path.logs>/expvarbeat-YYYYMMDD.ndjson (mode logging.files.permissions, the
directory created 0750), rotates by size keeping logging.files.keepfiles
files, writes a "Non-zero metrics in the last <period>" line every
logging.metrics.period and "Total metrics" at stop; -e keeps text lines on
stderr, logging.json makes them JSON; a log directory that cannot be created
stops start-up with exit 1.  No secret from a host URL reaches the log."""

import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

LOG_NAME = re.compile(r"^expvarbeat-(\d{8})(-(\d+))?\.ndjson$")
SECRET = "PLANTED-log-secret"


def config(url, **top):
    cfg = {"metricbeat.modules": [X.golang_module(url, period="200ms")],
           "logging.metrics.period": "300ms"}
    cfg.update(top)
    return cfg


def without_e(d):
    """The daemon as a service runs it: no -e, so logs go to files."""
    d.argv.remove("-e")
    return d


class LogDir:
    def __init__(self, path):
        self.path = path

    def files(self):
        if not os.path.isdir(self.path):
            return []
        return sorted(f for f in os.listdir(self.path) if LOG_NAME.match(f))

    def active(self):
        act = [f for f in self.files() if not LOG_NAME.match(f).group(2)]
        return os.path.join(self.path, act[0]) if act else None

    def lines(self):
        out = []
        for f in self.files():
            with open(os.path.join(self.path, f), encoding="utf-8") as fh:
                out.extend(json.loads(l) for l in fh.read().splitlines() if l)
        return out

    def text(self):
        out = []
        for f in self.files():
            with open(os.path.join(self.path, f), encoding="utf-8") as fh:
                out.append(fh.read())
        return "".join(out)


def metrics_lines(lines):
    return [l for l in lines if l.get("log.logger") == "monitoring"
            and l["message"].startswith("Non-zero metrics in the last")]


class TestLogFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = X.TargetServer({"/debug/vars": X.capture("ginexpvar")}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def url_with_secret(self):
        return "http://scraper:%s@%s/debug/vars" % (SECRET, self.srv.hostport)

    def test_run_writes_ecs_json_files_with_periodic_metrics(self):
        bad = "http://u:%s@127.0.0.1:%d/debug/vars" % (SECRET, X.free_port())
        cfg = config([self.url_with_secret(), bad])
        with without_e(X.Daemon(cfg)) as d:
            logs = LogDir(os.path.join(d.dir, "logs"))
            X.wait_until(lambda: any(
                X.get(l, "monitoring", "metrics", "libbeat", "pipeline", "events", "published")
                for l in metrics_lines(logs.lines())), 20, "a metrics line with published events")
            d.stop()
            lines = logs.lines()
            self.assertEqual("", d.stderr.strip(), "nothing on stderr without -e")
            self.assertEqual(1, len(logs.files()), logs.files())
            name = os.path.basename(logs.active())
            self.assertEqual(time.strftime("%Y%m%d"), LOG_NAME.match(name).group(1))
            self.assertEqual(0o600, stat.S_IMODE(os.stat(logs.active()).st_mode))
            self.assertEqual(0o750, stat.S_IMODE(os.stat(logs.path).st_mode))
            for l in lines:
                self.assertEqual("1.6.0", l["ecs.version"], l)
                self.assertEqual("expvarbeat", l["service.name"], l)
                self.assertIn(l["log.level"], ("error", "warn", "info", "debug"), l)
                self.assertRegex(l["@timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertTrue(lines[0]["message"].startswith("expvarbeat "), lines[0])
            self.assertIn("started", lines[0]["message"])
            self.assertTrue(any("Error fetching data for metricset golang.expvar" in l["message"]
                                for l in lines), "the failing host is logged")
            self.assertNotIn(SECRET, logs.text())
            m = metrics_lines(lines)[0]
            self.assertEqual("info", m["log.level"])
            self.assertEqual("Non-zero metrics in the last 300ms", m["message"])
            self.assertGreater(X.get(m, "monitoring", "metrics", "beat", "info", "uptime", "ms"), 0)
            total = [l for l in lines if l["message"] == "Total metrics"]
            self.assertEqual(1, len(total))
            acked = X.get(total[0], "monitoring", "metrics", "libbeat", "output", "events", "acked")
            self.assertEqual(len(d.docs()), acked, "the totals count what was written")
            self.assertTrue(lines[-1]["message"].startswith("expvarbeat stopped"))

    def test_rotation_keeps_keepfiles_files(self):
        cfg = config(self.srv.url(), **{"logging.files.rotateeverybytes": 1500,
                                         "logging.files.keepfiles": 2,
                                         "logging.files.permissions": "0640",
                                         "logging.metrics.period": "50ms"})
        with without_e(X.Daemon(cfg)) as d:
            logs = LogDir(os.path.join(d.dir, "logs"))

            def rotated_up_to():
                idx = [int(LOG_NAME.match(f).group(3) or 0) for f in logs.files()]
                return max(idx) if idx else 0
            X.wait_until(lambda: rotated_up_to() >= 4, 20, "four rotations")
            d.stop()
            files = logs.files()
            numbered = sorted(int(LOG_NAME.match(f).group(3)) for f in files if LOG_NAME.match(f).group(3))
            self.assertEqual(2, len(numbered), files)
            self.assertEqual(numbered[1] - 1, numbered[0], "the two newest are kept: %s" % files)
            for f in files:
                p = os.path.join(logs.path, f)
                self.assertEqual(0o640, stat.S_IMODE(os.stat(p).st_mode), f)
                self.assertLessEqual(os.path.getsize(p), 1500, f)
                with open(p, encoding="utf-8") as fh:
                    for l in fh.read().splitlines():
                        json.loads(l)  # every line whole

    def test_files_name_and_path(self):
        cfg = config(self.srv.url(), **{"logging.files.name": "mybeat",
                                         "logging.files.path": "${path.data}/../custom/logs"})
        with without_e(X.Daemon(cfg)) as d:
            path = os.path.join(d.dir, "custom", "logs")
            X.wait_until(lambda: os.path.isdir(path) and os.listdir(path), 10, "the log file")
            d.stop()
            self.assertEqual(["mybeat-%s.ndjson" % time.strftime("%Y%m%d")], os.listdir(path))

    def test_metrics_can_be_turned_off(self):
        cfg = config(self.srv.url(), **{"logging.metrics.enabled": False})
        with X.Daemon(cfg) as d:
            d.wait_for(lambda docs: len(docs) >= 4, 10, "four documents")
            d.stop()
            self.assertNotIn("metrics", d.stderr)


class TestStderr(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = X.TargetServer({"/debug/vars": X.capture("ginexpvar")}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_e_keeps_text_lines_with_metrics(self):
        with X.Daemon(config(self.srv.url())) as d:
            X.wait_until(lambda: "Non-zero metrics" in d.stderr, 10, "a metrics line")
            d.stop()
            self.assertFalse(os.path.exists(os.path.join(d.dir, "logs")), "-e: no log files")
            line = [l for l in d.log_lines() if "Non-zero metrics" in l][0]
            ts, level, logger, msg, extra = line.split("\t")
            self.assertEqual(("INFO", "[monitoring]", "Non-zero metrics in the last 300ms"),
                             (level, logger, msg))
            self.assertIn("metrics", json.loads(extra)["monitoring"])
            self.assertTrue(any("\tINFO\texpvarbeat stopped" in l for l in d.log_lines()))

    def test_json_on_stderr(self):
        with X.Daemon(config(self.srv.url(), **{"logging.json": True})) as d:
            X.wait_until(lambda: "Non-zero metrics" in d.stderr, 10, "a metrics line")
            d.stop()
            lines = [json.loads(l) for l in d.log_lines() if l.strip()]
            self.assertIn("started", lines[0]["message"])
            m = metrics_lines(lines)[0]
            self.assertIn("metricbeat", m["monitoring"]["metrics"], m)


class TestStartupErrors(unittest.TestCase):
    def test_log_dir_that_cannot_be_created(self):
        d = tempfile.mkdtemp(prefix="expvarbeat-it-")
        try:
            path = os.path.join(d, "expvarbeat.yml")
            with open(path, "w") as f:
                f.write(X.to_yaml(config("http://127.0.0.1:%d/debug/vars" % X.free_port())))
            os.chmod(path, 0o600)
            blocker = os.path.join(d, "not-a-dir")
            open(blocker, "w").close()
            res = X.run_expvarbeat(["-c", path, "--path.data", os.path.join(d, "data"),
                                    "--path.logs", os.path.join(blocker, "logs")], timeout=20)
            self.assertEqual(1, res.rc, res.describe())
            self.assertIn("Exiting: cannot create the log directory %s/logs" % blocker,
                          res.stderr, res.describe())
            self.assertEqual("", res.stdout)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
