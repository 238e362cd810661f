"""Targets share a small pool of curl handles (lent per scrape) and the
multi handle's connection pool: nothing of one target's request may reach
another's.  Four targets on one loopback server (so handles and kept-alive
connections pass between them), each with its own credentials and headers
or none; every request the server recorded must carry exactly its own
target's Authorization and headers, scrape after scrape."""

import base64
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

SCRAPES = 4  # per target: enough for handles and connections to change hands


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


class TestLeaseIsolation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        X.require_binary()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="expvarbeat-lease-")
        self.srv = X.TargetServer().start()

    def tearDown(self):
        self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_credentials_and_headers_stay_with_their_target(self):
        token = os.path.join(self.tmp, "token")
        with open(token, "w") as f:
            f.write("carol-token\n")
        for name in ("alice", "bob", "carol", "anon"):
            self.srv.route("/%s/debug/vars" % name, X.capture("expvartarget"))
        url = lambda name: "http://%s/%s/debug/vars" % (self.srv.hostport, name)  # noqa: E731
        # name → (module settings, Authorization expected, headers expected)
        cases = {
            "alice": ({"username": "alice", "password": "a-secret",
                       "headers": {"X-Tenant": "alice"}},
                      [basic("alice", "a-secret")], {"X-Tenant": "alice"}),
            "bob": ({"hosts": ["http://bob:b-secret@%s/bob/debug/vars" % self.srv.hostport],
                     "headers": {"X-Api-Key": "bob-key"}},
                    [basic("bob", "b-secret")], {"X-Api-Key": "bob-key"}),
            "carol": ({"bearer_token_file": token}, ["Bearer carol-token"], {}),
            "anon": ({}, [], {}),
        }
        modules = []
        for name, (settings, _, _) in cases.items():
            settings = dict(settings)
            m = X.golang_module(settings.pop("hosts", [url(name)]), metricsets=["expvar"],
                                namespace=name, period="500ms")
            m.update(settings)
            modules.append(m)

        def per_path():
            got = {}
            for r in list(self.srv.requests):
                got.setdefault(r.path, []).append(r)
            return got

        with X.Daemon({"metricbeat.modules": modules, "metricbeat.max_start_delay": "500ms"}) as d:
            X.wait_until(lambda: d.running() and all(
                len(per_path().get("/%s/debug/vars" % n, [])) >= SCRAPES for n in cases), 30,
                "%d scrapes of every target" % SCRAPES)
            d.stop()

        reqs = per_path()
        custom = {h.lower() for _, _, hdrs in cases.values() for h in hdrs}
        for name, (_, auth, headers) in cases.items():
            with self.subTest(target=name):
                mine = reqs["/%s/debug/vars" % name]
                self.assertGreaterEqual(len(mine), SCRAPES)
                for r in mine:
                    self.assertEqual(auth, r.header_all("Authorization"), r.headers)
                    sent = {k.lower(): v for k, v in r.headers if k.lower() in custom}
                    self.assertEqual({k.lower(): v for k, v in headers.items()}, sent, r.headers)
        # the scrapes really did share connections across targets (one server,
        # kept-alive): otherwise this test would prove nothing about reuse
        owners = {}
        for path, rs in reqs.items():
            for r in rs:
                owners.setdefault(r.peer, set()).add(path)
        self.assertTrue(any(len(paths) > 1 for paths in owners.values()),
                        "no connection carried requests of two targets: %s" % owners)


if __name__ == "__main__":
    unittest.main(verbosity=2)
