"""--help for every command (cobra's layout, as Metricbeat prints it), `help
CMD`, the man page built from the same table (build/expvarbeat.1) and
`export config` with its secrets masked."""

import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

COMMANDS = ["run", "test", "test config", "test output", "test target", "setup", "export",
            "export config", "export template", "export ilm-policy", "export dashboards",
            "modules", "modules list", "modules enable", "modules disable", "version", "help"]
GROUPS = {"test": ["config", "output", "target"],
          "export": ["config", "template", "ilm-policy", "dashboards"],
          "modules": ["list", "enable", "disable"]}
GLOBAL_FLAGS = ["-E setting=value", "-c string", "-e", "--path.config string", "--path.data string",
                "--path.home string", "--path.logs string", "--strict.perms"]


def help_of(*words):
    res = X.run_expvarbeat(list(words) + ["--help"], timeout=20)
    assert res.rc == 0, res.describe()
    assert res.stderr == "", res.describe()
    return res.stdout


class TestHelp(unittest.TestCase):
    def test_root(self):
        out = help_of()
        self.assertIn("\nUsage:\n  expvarbeat [flags]\n  expvarbeat [command]\n", out)
        commands = out.split("Available Commands:\n")[1].split("\n\n")[0]
        names = [l.split()[0] for l in commands.splitlines()]
        self.assertEqual(sorted(["run", "test", "setup", "export", "modules", "version", "help"]),
                         sorted(names))
        flags = out.split("\nFlags:\n")[1]
        for f in GLOBAL_FLAGS + ["-h, --help"]:
            self.assertIn("  " + f, flags)
        self.assertEqual(out, X.run_expvarbeat(["-h"], timeout=20).stdout)
        self.assertEqual(out, X.run_expvarbeat(["help"], timeout=20).stdout)

    def test_every_command(self):
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                out = help_of(*cmd.split())
                usage = out.split("Usage:\n")[1].split("\n\n")[0]
                self.assertIn("  expvarbeat " + cmd, usage)
                self.assertIn("help for " + cmd.split()[-1], out)
                global_flags = out.split("\nGlobal Flags:\n")[1]
                for f in GLOBAL_FLAGS:
                    self.assertIn("  " + f, global_flags)
                for sub in GROUPS.get(cmd, []):
                    self.assertRegex(out, r"\n  %s +\S" % sub)
                self.assertEqual(out, X.run_expvarbeat(["help"] + cmd.split(), timeout=20).stdout)

    def test_command_flags(self):
        self.assertIn("--namespace string", help_of("test", "target"))
        self.assertIn("  expvarbeat test target URL [flags]", help_of("test", "target"))
        self.assertIn("--noilm", help_of("export", "template"))
        self.assertIn("--index-management", help_of("setup"))

    def test_help_wins_over_running(self):
        # with --help nothing is loaded or started, even with a bad config
        res = X.run_expvarbeat(["run", "-c", "/nonexistent.yml", "--help"], timeout=20)
        self.assertEqual(0, res.rc, res.describe())
        self.assertIn("\n  expvarbeat run [flags]\n", res.stdout)

    def test_unknown_command_still_fails(self):
        res = X.run_expvarbeat(["frobnicate"], timeout=20)
        self.assertEqual(1, res.rc)
        self.assertIn("unknown command 'frobnicate'", res.stderr)


class TestManPage(unittest.TestCase):
    def test_built_man_page_mentions_every_command(self):
        path = os.path.join(os.path.dirname(X.BIN), "expvarbeat.1")
        self.assertTrue(os.path.exists(path), "the build generates %s" % path)
        with open(path, encoding="utf-8") as f:
            roff = f.read()
        self.assertTrue(roff.startswith(".TH EXPVARBEAT 1 "), roff[:80])
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL FLAGS"):
            self.assertIn("\n.SH %s\n" % section, roff)
        for cmd in COMMANDS:
            self.assertIn('\n.SS "expvarbeat %s' % cmd.replace("-", "\\-"), roff)
        self.assertIn("\\fB\\-\\-path.logs\\fR", roff)
        for line in roff.splitlines():
            self.assertFalse(line.startswith(".") and line[1:2] in ("", " "), line)
        res = X.run_expvarbeat(["--man", "-"], timeout=20)
        self.assertEqual(roff, res.stdout, "the installed page is what the binary renders")


SECRET_CONFIG = """\
metricbeat.modules:
  - module: golang
    hosts: ["http://scrape:PLANT-1@127.0.0.1:6060"]
    expvar.namespace: app
    password: PLANT-2
    headers:
      Authorization: "Bearer PLANT-3"
output.elasticsearch:
  hosts: ["https://127.0.0.1:9200"]
  api_key: "PLANT-4:PLANT-5"
  ssl.key: /etc/PLANT-6.key
setup.kibana:
  host: "http://kb:PLANT-7@127.0.0.1:5601"
"""


class TestExportConfig(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="expvarbeat-it-")
        self.cfg = os.path.join(self.dir, "expvarbeat.yml")
        with open(self.cfg, "w") as f:
            f.write(SECRET_CONFIG)
        os.chmod(self.cfg, 0o600)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_secrets_are_masked(self):
        res = X.run_expvarbeat(["export", "config", "-c", self.cfg,
                                "-E", "output.elasticsearch.headers.Cookie=PLANT-8"], timeout=20)
        self.assertEqual(0, res.rc, res.describe())
        self.assertNotIn("PLANT", res.stdout)
        for want in ("- 'http://[redacted]@127.0.0.1:6060'", "password: '[redacted]'",
                     "Authorization: '[redacted]'", "api_key: '[redacted]'",
                     "key: '[redacted]'", "host: 'http://[redacted]@127.0.0.1:5601'",
                     "Cookie: '[redacted]'", "namespace: app", "- 'https://127.0.0.1:9200'"):
            self.assertIn(want, res.stdout)
        # and what was printed loads again as a config
        again = os.path.join(self.dir, "again.yml")
        with open(again, "w") as f:
            f.write(res.stdout.replace("'[redacted]'", "id:key").replace("[redacted]@", ""))
        os.chmod(again, 0o600)
        res = X.run_expvarbeat(["test", "config", "-c", again], timeout=20)
        self.assertEqual(0, res.rc, res.describe())

    def test_invalid_config_is_refused(self):
        res = X.run_expvarbeat(["export", "config", "-c", self.cfg, "-E", "http.port=notaport"],
                               timeout=20)
        self.assertEqual(1, res.rc)
        self.assertIn("http.port", res.stderr)


if __name__ == "__main__":
    unittest.main()
