"""output.elasticsearch against bad Elasticsearch endpoints: unreachable
hosts, wrong credentials (401) and a user that may not write (403), TLS that
cannot be verified, a non-JSON bulk answer, a version older than allowed and
an invalid index format string.  Whatever goes wrong, an event the daemon
accepted is never dropped for it: when the problem is fixed, everything
arrives."""

import base64
import os
import re
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eslib as E  # noqa: E402
import expvarlib as X  # noqa: E402
from esserver import ESServer  # noqa: E402


class Base(unittest.TestCase):
    def setUp(self):
        X.require_binary()
        self.DS = E.data_stream()
        self.srv, self.urls = E.target_server(["expvartarget"])
        self.addCleanup(self.srv.stop)

    def server(self, **kw):
        es = ESServer(**kw).start()
        self.addCleanup(es.stop)
        return es

    def daemon(self, es, es_opts=None, **top):
        return X.Daemon(E.es_config(es, self.urls, es_opts=es_opts, **top), output=None)

    def scrapes_since(self, n0, k, timeout=20):
        X.wait_until(lambda: len(self.srv.requests_for("/t0/debug/vars")) >= n0 + k, timeout, "%d scrapes" % k)

    def served(self):
        return len(self.srv.requests_for("/t0/debug/vars"))


class TestUnreachable(Base):
    def test_unreachable_then_up_delivers_everything(self):
        port = X.free_port()
        url = "http://127.0.0.1:%d" % port
        with self.daemon(url) as d:
            E.wait_log(d, r"(?i)(refused|connect)", 20, "a connection error in the log")
            self.scrapes_since(0, 6)
            es = self.server(port=port)
            E.wait_indexed(d, es, 6, 30)
            d.stop()
        E.assert_exact(self, es, d)


class TestCredentials(Base):
    def test_401_is_retried_and_nothing_dropped(self):
        es = self.server(users={"elastic": "right"})
        with self.daemon(es, {"username": "elastic", "password": "wrong"}) as d:
            E.wait_log(d, r"401", 20, "the 401 in the log")
            X.wait_until(lambda: len([r for r in es.recorded() if r.status == 401]) >= 2, 20, "a retry")
            self.scrapes_since(0, 4)
            self.assertEqual(es.count(), 0)
            with es.lock:
                es.users["elastic"] = "wrong"  # the operator fixes the password on the ES side
            E.wait_indexed(d, es, 4, 30)
            d.stop()
        E.assert_exact(self, es, d)
        line = [l for l in d.log_lines() if "401" in l][0]
        self.assertRegex(line, r"(?i)(auth|credential|security_exception)", "a clear error: %s" % line)

    def test_api_key_header(self):
        es = self.server(api_keys={"kid": "secret"})
        with self.daemon(es, {"api_key": "kid:secret"}) as d:
            E.wait_indexed(d, es, 2, 30)
            d.stop()
        E.assert_exact(self, es, d)
        want = "ApiKey " + base64.b64encode(b"kid:secret").decode()
        self.assertTrue(all(r.header("authorization") == want for r in es.recorded()))

    def test_403_is_retried_and_nothing_dropped(self):
        es = self.server(readonly_users={"beat": "pw"})
        cfg = {"setup.ilm.enabled": False, "setup.template.enabled": False}
        # no template: create into a plain index, as a 403 hits the bulk itself
        with self.daemon(es, {"username": "beat", "password": "pw", "index": "plain-events"}, **{
                "setup.template.name": "plain", "setup.template.pattern": "plain-*", **cfg}) as d:
            X.wait_until(lambda: len([r for r in es.recorded("bulk") if r.status == 403]) >= 2, 30,
                         "the bulk refused twice")
            E.wait_log(d, r"403", 10, "the 403 in the log")
            with es.lock:
                es.users["beat"] = es.readonly_users.pop("beat")  # granted write access
            E.wait_indexed(d, es, 4, 30, index="plain-events")
            d.stop()
        E.assert_exact(self, es, d, index="plain-events")


class TestTls(Base):
    def tls_server(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(X.data_path("tls/server.pem"), X.data_path("tls/server.key"))
        return self.server(ssl_context=ctx)

    def test_untrusted_certificate_fails_clearly(self):
        es = self.tls_server()
        d = E.started(self, self.daemon(es, shutdown_timeout="1s"))
        E.wait_log(d, r"(?i)(certificate|x509|ssl|tls)", 20, "a TLS error in the log")
        self.scrapes_since(0, 2)
        c = E.stop_lossy(self, d)
        self.assertEqual(es.recorded(), [], "no request got through the failed handshake")
        self.assertEqual(c.dropped, 0)
        _, cfg = self.write(es, {})
        res = X.run_expvarbeat(["test", "output", "-c", cfg], timeout=60)
        self.assertEqual(res.rc, 1, res.describe())
        self.assertRegex(res.stdout + res.stderr, r"(?i)certificate", res.describe())

    def test_trusted_ca_delivers(self):
        es = self.tls_server()
        with self.daemon(es, {"ssl.certificate_authorities": [X.data_path("tls/ca.pem")]}) as d:
            E.wait_indexed(d, es, 4, 30)
            d.stop()
        E.assert_exact(self, es, d)

    def write(self, es, opts):
        import tempfile
        d = tempfile.mkdtemp(prefix="expvarbeat-es-")
        self.addCleanup(lambda: __import__("shutil").rmtree(d, ignore_errors=True))
        path = os.path.join(d, "expvarbeat.yml")
        with open(path, "w") as f:
            f.write(X.to_yaml(E.es_config(es, self.urls, es_opts=opts)))
        return d, path


class TestBadAnswers(Base):
    def test_non_json_bulk_answer_is_retried(self):
        es = self.server()
        es.non_json_bulk(count=2)
        with self.daemon(es) as d:
            X.wait_until(lambda: len(es.recorded("bulk")) >= 3, 30, "the batch sent again")
            E.wait_indexed(d, es, 4, 30)
            d.stop()
        E.assert_exact(self, es, d)
        self.assertTrue(any(re.search(r"(?i)(json|pars|invalid|unexpected)", l) for l in d.log_lines()),
                        "a log line about the unreadable answer\n%s" % d.describe())

    def test_older_elasticsearch_is_refused(self):
        es = self.server(version="7.17.0")
        d = E.started(self, self.daemon(es, shutdown_timeout="1s"))
        E.wait_log(d, r"7\.17\.0.*allow_older_versions", 20, "the version and the way out in the log")
        self.scrapes_since(0, 4)
        self.assertEqual(es.recorded("bulk"), [], "nothing sent to a too-old Elasticsearch")
        self.assertEqual(E.stop_lossy(self, d).dropped, 0)

    def test_older_elasticsearch_allowed_when_configured(self):
        es = self.server(version="7.17.0")
        with self.daemon(es, {"allow_older_versions": True}) as d:
            E.wait_indexed(d, es, 2, 30)
            d.stop()
        E.assert_exact(self, es, d)


class TestConfig(Base):
    def test_invalid_index_format_names_file_and_line(self):
        cfg = E.es_config("http://127.0.0.1:9200", self.urls, es_opts={"index": "expvarbeat-%{[agent.version"},
                          **{"setup.template.name": "x", "setup.template.pattern": "x-*"})
        text = X.to_yaml(cfg)
        line = [i + 1 for i, l in enumerate(text.split("\n")) if l.strip().startswith("index:")][0]
        d = X.Daemon(text, output=None)
        try:
            res = X.run_expvarbeat(["test", "config", "-c", d.config_path], timeout=20)
            self.assertNotEqual(res.rc, 0, res.describe())
            msg = (res.stdout + res.stderr)
            self.assertIn("%s:%d:" % (d.config_path, line), msg)
            self.assertIn("index", msg)
            d.start()
            self.assertTrue(d.proc.wait(20), "the daemon refuses to start")
            self.assertNotEqual(d.proc.rc, 0)
            self.assertIn("%s:%d:" % (d.config_path, line), d.stderr)
        finally:
            if d.proc and d.proc.running():
                d.proc.kill()
            __import__("shutil").rmtree(d.dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
