"""Secrets stay secret.  Distinct secrets are planted in every place a config
can hold one (a module's password, URL userinfo, a bearer_token_file, a
module Authorization header, the Elasticsearch password and API key, the
Kafka password, the Kibana password); the daemon runs at debug level against
loopback targets that fail (401, 500, refused) and a fake Elasticsearch; then
EVERY output is searched for them (and for their base64 forms, as they travel
in Authorization headers): the log, the documents Elasticsearch received,
`/`, `/stats`, `/state` and `/debug/vars` of the HTTP endpoint, `test config`,
`test output`, `test target` and `export config`.

Also the rules around them: config files (and modules.d files) writable by
group or others are refused unless --strict.perms=false;
ssl.verification_mode: none is warned about; the HTTP endpoint binds
localhost by default."""

import base64
import json
import os
import socket
import stat
import sys
import shutil
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eslib as E  # noqa: E402
import expvarlib as X  # noqa: E402
from esserver import ESServer  # noqa: E402

SECRETS = {
    "module password": "modpass-Zq81xK",
    "URL userinfo (good target)": "urlpass-Hh27Lm",
    "URL userinfo (failing target)": "urlpass-Jj39Gg",
    "bearer_token_file": "bearer-Pp93Vv",
    "module Authorization header": "hdrtoken-Ee88Ff",
    "Elasticsearch password": "espass-Ww44Tt",
    "Elasticsearch api_key": "apikey-Rr55Ss",
    "Kafka password": "kafkapass-Nn66Bb",
    "Kibana password": "kibanapass-Cc77Dd",
}
S = {k: v for k, v in SECRETS.items()}
ES_USER, MOD_USER, URL_USER, KIBANA_USER, KAFKA_USER = "elastic", "scraper", "urluser", "kibana", "producer"
API_KEY_ID = "keyid42"


def needles():
    """Each secret as text and as it appears base64-encoded in a header."""
    out = dict(SECRETS)
    for name, user, secret in (
            ("module password", MOD_USER, S["module password"]),
            ("URL userinfo (good target)", URL_USER, S["URL userinfo (good target)"]),
            ("URL userinfo (failing target)", URL_USER, S["URL userinfo (failing target)"]),
            ("Elasticsearch password", ES_USER, S["Elasticsearch password"]),
            ("Elasticsearch api_key", API_KEY_ID, S["Elasticsearch api_key"]),
            ("Kibana password", KIBANA_USER, S["Kibana password"])):
        out[name + " (base64)"] = base64.b64encode(("%s:%s" % (user, secret)).encode()).decode()
    return out


def leaks(text):
    """The planted secrets found in text."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return sorted(name for name, s in needles().items() if s in text)


def http_get(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as r:
            return r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.read().decode("utf-8", "replace")


def endpoint_up(port):
    try:
        return http_get("http://127.0.0.1:%d/stats" % port)
    except OSError:  # not listening yet
        return None


def write_config(path, text, mode=0o600):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def non_loopback_ipv4():
    """This machine's own IPv4 addresses that are not loopback (from the
    kernel's local routing table; nothing is sent anywhere)."""
    addrs = set()
    try:
        with open("/proc/net/fib_trie") as f:
            lines = f.read().split("\n")
    except OSError:
        return []
    for prev, line in zip(lines, lines[1:]):
        if "/32 host LOCAL" in line:
            ip = prev.strip().split()[-1]
            if not ip.startswith("127."):
                addrs.add(ip)
    return sorted(addrs)


class SecretsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        X.require_binary()
        cls.dir = tempfile.mkdtemp(prefix="expvarbeat-secrets-")
        cls.srv = X.TargetServer().start()
        cls.srv.route("/good/debug/vars", X.capture("expvartarget"))
        cls.srv.route("/auth/debug/vars", X.GoStatus(401))
        cls.srv.route("/broken/debug/vars", X.GoStatus(500))
        cls.es = ESServer(users={ES_USER: S["Elasticsearch password"]},
                          api_keys={API_KEY_ID: S["Elasticsearch api_key"]}).start()
        cls.token_file = os.path.join(cls.dir, "token")
        write_config(cls.token_file, S["bearer_token_file"] + "\n")
        cls.refused_port = X.closed_port()

    @classmethod
    def tearDownClass(cls):
        cls.es.stop()
        cls.srv.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def modules(self):
        p = self.srv.port
        refused = "127.0.0.1:%d" % self.refused_port
        return [
            X.golang_module(["http://%s:%s@127.0.0.1:%d/good/debug/vars" % (URL_USER, S["URL userinfo (good target)"], p)],
                            namespace="good"),
            X.golang_module([self.srv.url("/auth/debug/vars")], namespace="auth",
                            username=MOD_USER, password=S["module password"]),
            X.golang_module([self.srv.url("/broken/debug/vars")], namespace="bearer",
                            bearer_token_file=self.token_file),
            X.golang_module(["http://%s/debug/vars" % refused], namespace="hdr",
                            headers={"Authorization": "Bearer " + S["module Authorization header"]}),
            X.golang_module(["http://%s:%s@%s/other/debug/vars" % (URL_USER, S["URL userinfo (failing target)"],
                                                                   refused)], namespace="userinfo"),
        ]

    def es_kibana(self, api_key=False):
        out = {"hosts": [self.es.url], "backoff.init": "200ms", "backoff.max": "1s"}
        if api_key:
            out["api_key"] = "%s:%s" % (API_KEY_ID, S["Elasticsearch api_key"])
        else:
            out.update({"username": ES_USER, "password": S["Elasticsearch password"]})
        return {"output.elasticsearch": out,
                "setup.kibana": {"host": "127.0.0.1:%d" % self.refused_port, "username": KIBANA_USER,
                                 "password": S["Kibana password"]}}

    def kafka_output(self):
        return {"output.kafka": {"hosts": ["127.0.0.1:%d" % self.refused_port], "topic": "expvar",
                                 "username": KAFKA_USER, "password": S["Kafka password"],
                                 "sasl.mechanism": "PLAIN", "timeout": "2s"}}

    def config_file(self, name, top, mode=0o600):
        cfg = {"metricbeat.modules": self.modules(), "metricbeat.max_start_delay": "0s",
               "logging.level": "debug", "shutdown_timeout": "5s"}
        cfg.update(top)
        return write_config(os.path.join(self.dir, name), X.to_yaml(cfg), mode)

    def assert_no_leak(self, where, text):
        found = leaks(text)
        self.assertEqual([], found, "%s shows %s:\n%s" % (where, found, str(text)[-3000:]))

    # -- the daemon

    def test_daemon_outputs(self):
        port = X.free_port()
        cfg = {"metricbeat.modules": self.modules(), "logging.level": "debug",
               "http.enabled": True, "http.port": port, "queue.mem.flush.timeout": "200ms"}
        cfg.update(self.es_kibana())
        ds = E.data_stream()
        with X.Daemon(cfg, output=None) as d:
            X.wait_until(lambda: endpoint_up(port), 20, "the HTTP endpoint")
            def enough():
                docs = self.es.docs(ds) if self.es.count(ds) else []
                ns = {X.get(doc, "service.address") for doc in docs}
                errs = [doc for doc in docs if "error" in doc]
                return len(ns) >= 5 and len(errs) >= 16 and docs  # two rounds at least
            docs = X.wait_until(enough, 60, "documents (and error documents) from all five targets")
            pages = {path: http_get("http://127.0.0.1:%d%s" % (port, path))
                     for path in ("/", "/stats", "/state", "/debug/vars", "/?pretty", "/status")}
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            req = urllib.request.Request("http://127.0.0.1:%d/" % port, headers={"Accept": "text/html"})
            with opener.open(req, timeout=10) as r:  # the status page a browser gets
                pages["/ (browser)"] = r.read().decode("utf-8", "replace")
            d.stop()
            log = d.stderr
        sys.stderr.write("\nchecked: %d log lines, %d documents (%d errors), pages %s\n" % (
            len(log.splitlines()), len(docs), sum(1 for x in docs if "error" in x),
            {p: len(b) for p, b in pages.items()}))
        self.assertIn("Error fetching data", log, "the failures must be logged (else the check is empty)")
        self.assertIn("401", log)
        self.assert_no_leak("the log (debug level)", log)
        for path, body in pages.items():
            self.assertTrue(body, "%s answered nothing" % path)
            self.assert_no_leak("GET %s" % path, body)
        self.assert_no_leak("the documents Elasticsearch received", json.dumps(docs))
        addresses = sorted({X.get(doc, "service.address") for doc in docs})
        for a in addresses:
            self.assertNotIn("@", a, "service.address keeps userinfo: %s" % a)
        # The secrets did reach who they are for (the test plants real ones).
        sent = [r.header("authorization") for r in self.srv.requests_for("/auth/debug/vars")]
        self.assertIn("Basic " + needles()["module password (base64)"], sent)
        sent = [r.header("authorization") for r in self.srv.requests_for("/broken/debug/vars")]
        self.assertIn("Bearer " + S["bearer_token_file"], sent)

    # -- the one-shot commands

    def run_cmd(self, args, timeout=60):
        res = X.run_expvarbeat(args, timeout=timeout, cwd=self.dir)
        self.assertEqual([], X.sanitizer_problems(res.stderr), res.describe())
        return res

    def check_cmd(self, args, timeout=60, rc=None):
        res = self.run_cmd(args, timeout)
        if rc is not None:
            self.assertEqual(rc, res.rc, res.describe())
        self.assert_no_leak(" ".join(args[:2]) + " stdout", res.stdout)
        self.assert_no_leak(" ".join(args[:2]) + " stderr", res.stderr)
        return res

    def has_export_config(self):
        res = self.run_cmd(["export", "config", "-c", os.devnull])
        usage = self.run_cmd(["--no-such-flag"]).stderr
        return "export config" in usage or res.rc == 0

    def test_commands(self):
        es_pw = self.config_file("es-password.yml", self.es_kibana())
        es_key = self.config_file("es-apikey.yml", self.es_kibana(api_key=True))
        kafka = self.config_file("kafka.yml", self.kafka_output())
        export = self.has_export_config()
        for path in (es_pw, es_key, kafka):
            with self.subTest(config=os.path.basename(path)):
                self.check_cmd(["test", "config", "-c", path], rc=0)
                if export:
                    res = self.check_cmd(["export", "config", "-c", path], rc=0)
                    self.assertIn("modules:", res.stdout)
                    self.assertIn("[redacted]", res.stdout, "secrets are redacted, not dropped")
        if not export:
            sys.stderr.write("\nskipped `export config`: this binary has no such command\n")
        for path in (es_pw, es_key):
            res = self.check_cmd(["test", "output", "-c", path])
            self.assertEqual(0, res.rc, "the fake Elasticsearch accepts these credentials\n" + res.describe())
        # Kafka: nothing listens; the failure must not show the password either.
        self.check_cmd(["test", "output", "-c", kafka], timeout=90)

    def test_target_command(self):
        p = self.srv.port
        for url in ("http://%s:%s@127.0.0.1:%d/good/debug/vars" % (URL_USER, S["URL userinfo (good target)"], p),
                    "http://%s:%s@127.0.0.1:%d/auth/debug/vars" % (URL_USER, S["URL userinfo (failing target)"], p),
                    "http://%s:%s@127.0.0.1:%d/debug/vars" % (URL_USER, S["URL userinfo (failing target)"],
                                                             self.refused_port)):
            with self.subTest(url=url.split("@")[1]):
                res = self.check_cmd(["test", "target", url, "--namespace", "t"])
                for doc in res.docs():
                    self.assertNotIn("@", X.get(doc, "service.address"))

    def test_unencoded_characters_in_url_password(self):
        """A password written into a URL without percent-encoding: '/', '?'
        and '#' make the host invalid (the daemon refuses to start, and says
        so without quoting it); a space or a quote is kept in the host.
        Neither the refusal, the log nor `export config` shows it."""
        for ch in "/?# \"":
            secret = "raw%spw-Kk12" % ch
            with self.subTest(char=ch):
                m = X.golang_module(["http://%s:%s@127.0.0.1:%d/debug/vars" % (URL_USER, secret, self.refused_port)])
                path = write_config(os.path.join(self.dir, "raw.yml"),
                                    X.to_yaml({"metricbeat.modules": [m], "output.console": {"pretty": False},
                                               "metricbeat.max_start_delay": "0s", "shutdown_timeout": "1s"}))
                outputs = [self.run_cmd(["test", "config", "-c", path])]
                if self.has_export_config():
                    outputs.append(self.run_cmd(["export", "config", "-c", path]))
                if ch in "/?#":
                    res = self.run_cmd(["-e", "-c", path, "--path.data", os.path.join(self.dir, "data")])
                    self.assertNotEqual(0, res.rc, res.describe())
                    self.assertIn("percent-encoded", res.stderr)
                    outputs.append(res)
                for res in outputs:
                    for where, text in (("stdout", res.stdout), ("stderr", res.stderr)):
                        self.assertNotIn(secret, text, "%s %s" % (" ".join(res.argv[1:3]), where))
                        self.assertNotIn("raw%s" % ch, text, "a prefix of the password in %s" % where)

    # -- file permissions (Metricbeat's strict.perms)

    def test_config_writable_by_others_refused(self):
        for mode in (0o664, 0o646):
            with self.subTest(mode=oct(mode)):
                path = self.config_file("perm-%o.yml" % mode, self.kafka_output(), mode)
                res = self.check_cmd(["test", "config", "-c", path])
                self.assertNotEqual(0, res.rc, res.describe())
                self.assertIn("can only be writable by the owner", res.stderr)
                self.assertIn(stat.filemode(os.stat(path).st_mode), res.stderr)
                res = self.check_cmd(["test", "config", "-c", path, "--strict.perms=false"], rc=0)

    def test_modules_d_file_writable_by_others_refused(self):
        mdir = os.path.join(self.dir, "modules.d")
        os.makedirs(mdir, exist_ok=True)
        mod = write_config(os.path.join(mdir, "golang.yml"),
                           X.to_yaml([X.golang_module([self.srv.url("/good/debug/vars")])]), 0o666)
        os.chmod(mod, 0o666)  # the umask may have cleared bits
        cfg = write_config(os.path.join(self.dir, "with-modules-d.yml"),
                           X.to_yaml({"metricbeat.config.modules": {"path": os.path.join(mdir, "*.yml")},
                                      "output.console": {"pretty": False}}))
        res = self.check_cmd(["test", "config", "-c", cfg])
        self.assertNotEqual(0, res.rc, res.describe())
        self.assertIn(mod, res.stderr)
        self.assertIn("can only be writable by the owner", res.stderr)
        self.check_cmd(["test", "config", "-c", cfg, "--strict.perms=false"], rc=0)
        os.chmod(mod, 0o644)
        self.check_cmd(["test", "config", "-c", cfg], rc=0)

    # -- TLS and the endpoint's address

    def test_verification_none_warns(self):
        m = X.golang_module(["https://127.0.0.1:%d/debug/vars" % self.refused_port])
        m["ssl.verification_mode"] = "none"
        path = write_config(os.path.join(self.dir, "verify-none.yml"),
                            X.to_yaml({"metricbeat.modules": [m], "output.console": {"pretty": False}}))
        res = self.check_cmd(["test", "config", "-c", path], rc=0)
        warn = [ln for ln in res.stderr.split("\n") if "verification_mode" in ln and "not verified" in ln]
        self.assertTrue(warn, "no warning about ssl.verification_mode: none\n" + res.describe())
        self.assertIn("WARN", warn[0])
        # And the default verifies: no warning without the key.
        del m["ssl.verification_mode"]
        write_config(path, X.to_yaml({"metricbeat.modules": [m], "output.console": {"pretty": False}}))
        res = self.check_cmd(["test", "config", "-c", path], rc=0)
        self.assertNotIn("not verified", res.stderr)

    def test_http_endpoint_binds_localhost_by_default(self):
        port = X.free_port()
        cfg = {"metricbeat.modules": [X.golang_module([self.srv.url("/good/debug/vars")])],
               "http.enabled": True, "http.port": port}
        with X.Daemon(cfg) as d:
            X.wait_until(lambda: endpoint_up(port), 20,
                         "the endpoint on 127.0.0.1")
            others = non_loopback_ipv4()
            for ip in others:  # this machine's own address: the connection stays on it
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(5)
                try:
                    rc = s.connect_ex((ip, port))
                finally:
                    s.close()
                self.assertNotEqual(0, rc, "the endpoint answers on %s:%d: it must bind localhost" % (ip, port))
            self.assertTrue(d.running())
        if not others:
            sys.stderr.write("\nno non-loopback address on this machine: only 127.0.0.1 was checked\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
