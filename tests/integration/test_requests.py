"""What expvarbeat sends: hosts → URL as Metricbeat builds it (default scheme
and path, an explicit path wins, basepath, query), credentials (config,
URL userinfo wins, bearer token file), extra headers, and service.address
(the full URL without credentials).  One daemon, one loopback server per
case, so each request is attributable."""

import base64
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


class TestRequests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        X.require_binary()

    def test_url_building_auth_and_headers(self):
        servers = {}
        token_dir = tempfile.mkdtemp(prefix="expvarbeat-tok-")
        token_file = os.path.join(token_dir, "token")
        with open(token_file, "w") as f:
            f.write("tok-123\n")
        try:
            for name in ("plain", "root", "custom", "basepath", "query", "auth", "userinfo", "headers", "bearer"):
                srv = X.TargetServer().start()
                for path in ("/debug/vars", "/", "/custom/vars", "/api/debug/vars"):
                    srv.route(path, X.capture("ginexpvar"))
                servers[name] = srv
            hp = {k: s.hostport for k, s in servers.items()}
            # name → (module settings, expected request target, expected service.address)
            cases = {
                "plain": ({"hosts": [hp["plain"]]}, "/debug/vars",
                          "http://%s/debug/vars" % hp["plain"]),
                "root": ({"hosts": ["http://%s/" % hp["root"]]}, "/", "http://%s/" % hp["root"]),
                "custom": ({"hosts": ["http://%s/custom/vars" % hp["custom"]]}, "/custom/vars",
                           "http://%s/custom/vars" % hp["custom"]),
                "basepath": ({"hosts": [hp["basepath"]], "basepath": "/api"}, "/api/debug/vars",
                             "http://%s/api/debug/vars" % hp["basepath"]),
                "query": ({"hosts": [hp["query"]], "query": {"b": "x y", "a": "1"}}, "/debug/vars?a=1&b=x+y",
                          "http://%s/debug/vars?a=1&b=x+y" % hp["query"]),
                "auth": ({"hosts": [hp["auth"]], "username": "bob", "password": "p@ss:word"}, "/debug/vars",
                         "http://%s/debug/vars" % hp["auth"]),
                "userinfo": ({"hosts": ["http://alice:s3cret@%s/debug/vars" % hp["userinfo"]],
                              "username": "bob", "password": "nope"}, "/debug/vars",
                             "http://%s/debug/vars" % hp["userinfo"]),
                "headers": ({"hosts": [hp["headers"]], "headers": {"X-Api-Key": "k1", "X-Tenant": "blue"}},
                            "/debug/vars", "http://%s/debug/vars" % hp["headers"]),
                "bearer": ({"hosts": [hp["bearer"]], "bearer_token_file": token_file}, "/debug/vars",
                           "http://%s/debug/vars" % hp["bearer"]),
            }
            modules = []
            for name, (settings, _, _) in cases.items():
                m = X.golang_module(settings.pop("hosts"), metricsets=["expvar"], namespace=name)
                m.update(settings)
                modules.append(m)

            def all_there(docs):
                return all(X.by_address(docs, addr) for _, _, addr in cases.values())

            with X.Daemon({"metricbeat.modules": modules}) as d:
                d.wait_for(all_there, 30, "a document for every case")
                docs = d.stop()
            for srv in servers.values():
                srv.stop()

            golden = X.load_golden("ginexpvar.golang-ns.expected.json")
            for name, (_, target, addr) in cases.items():
                with self.subTest(case=name):
                    got = X.by_address(docs, addr)
                    self.assertTrue(got, "no document with service.address %s; addresses seen: %s" %
                                    (addr, sorted({X.get(x, "service", "address") for x in docs})))
                    for doc in got:
                        self.assertEqual([], X.check_envelope(doc, "expvar", "golang." + name, addr, 1000))
                        self.assertEqual([], X.diff_json(doc["golang"][name], golden))
                    reqs = servers[name].requests
                    self.assertTrue(reqs)
                    for r in reqs:
                        self.assertEqual("GET", r.method)
                        self.assertEqual(target, r.target)
                        self.assertTrue(r.header("User-Agent"), "a User-Agent is sent")
                        self.assertIn("gzip", (r.header("Accept-Encoding") or ""), "gzip is accepted, as Go does")
                        self.assertEqual(hp[name], r.header("Host"))
                        auth = r.header_all("Authorization")
                        if name == "auth":
                            self.assertEqual([basic("bob", "p@ss:word")], auth)
                        elif name == "userinfo":
                            self.assertEqual([basic("alice", "s3cret")], auth, "URL userinfo wins over the config")
                        elif name == "bearer":
                            self.assertEqual(["Bearer tok-123"], auth, "one trailing newline is stripped")
                        else:
                            self.assertEqual([], auth)
                        if name == "headers":
                            self.assertEqual("k1", r.header("X-Api-Key"))
                            self.assertEqual("blue", r.header("X-Tenant"))
        finally:
            for srv in servers.values():
                srv.stop()
            shutil.rmtree(token_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
