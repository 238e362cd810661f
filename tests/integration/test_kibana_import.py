"""`expvarbeat setup --dashboards` and `export dashboards` against the Kibana
test server: what a user sees when the import works (a data view and every
dashboard stored with every reference resolved, in the right space), and
when it cannot (bad credentials, Kibana down or too old, objects Kibana
refuses): exit 1 with a message that says why."""

import base64
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402
import kibanaserver as K  # noqa: E402

DASHBOARD_TITLES = ("[expvarbeat Golang] Overview", "[expvarbeat Golang] Targets", "[expvarbeat] Self-monitoring")
LOADING = "Loading dashboards (Kibana must be running and reachable)"
LOADED = "Loaded dashboards"


def base_config(kibana, **es):
    """A config whose only reachable service is the Kibana server: the
    Elasticsearch output points at a closed loopback port."""
    out = {"hosts": ["http://127.0.0.1:%d" % X.free_port()]}
    out.update(es)
    return {"metricbeat.modules": [X.golang_module("http://127.0.0.1:1/debug/vars")],
            "output.elasticsearch": out, "setup.kibana": kibana}


def all_objects(server, space="default"):
    return server.objects(space)


def unresolved(objs):
    """References of stored objects that point at nothing stored."""
    return [(k, r) for k, o in objs.items() for r in o.get("references", [])
            if (r["type"], r["id"]) not in objs]


class Base(unittest.TestCase):
    def setUp(self):
        X.require_binary()
        self.dir = tempfile.mkdtemp(prefix="expvarbeat-kb-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def server(self, **kw):
        kb = K.KibanaServer(**kw).start()
        self.addCleanup(kb.stop)
        self.addCleanup(lambda: self.assertEqual(kb.errors, [], "kibana test server raised"))
        return kb

    def run_setup(self, cfg, args=("setup", "--dashboards")):
        path = os.path.join(self.dir, "expvarbeat.yml")
        with open(path, "w") as f:
            f.write(X.to_yaml(cfg))
        os.chmod(path, 0o600)
        return X.run_expvarbeat(list(args) + ["-c", path, "--path.data", os.path.join(self.dir, "data"),
                                              "--path.logs", os.path.join(self.dir, "logs")],
                                timeout=60, cwd=self.dir)

    def export(self):
        res = X.run_expvarbeat(["export", "dashboards"], timeout=30, cwd=self.dir)
        self.assertEqual(res.rc, 0, res.describe())
        return res

    def assert_fails(self, res, *needles):
        self.assertEqual(res.rc, 1, res.describe())
        self.assertNotIn(LOADED, res.stdout)
        text = res.stdout + res.stderr
        for n in needles:
            self.assertIn(n, text, res.describe())

    def assert_imported(self, kb, space="default"):
        objs = all_objects(kb, space)
        views = [o for (t, _), o in objs.items() if t == "index-pattern"]
        self.assertTrue(any("expvarbeat-*" in o["attributes"]["title"] for o in views),
                        "a data view matching expvarbeat-* is stored: %s" % [o["attributes"]["title"] for o in views])
        titles = sorted(o["attributes"]["title"] for (t, _), o in objs.items() if t == "dashboard")
        for want in DASHBOARD_TITLES:
            self.assertIn(want, titles)
        self.assertEqual(unresolved(objs), [], "every reference resolves")
        return objs


class TestSetupDashboards(Base):
    def test_success(self):
        kb = self.server()
        res = self.run_setup(base_config({"host": kb.hostport}))
        self.assertEqual(res.rc, 0, res.describe())
        self.assertIn(LOADING, res.stdout)
        self.assertIn(LOADED, res.stdout)
        objs = self.assert_imported(kb)
        # What setup imports is exactly what `export dashboards` prints.
        exported = {(o["type"], o["id"]) for o in X.to_plain(self.export().docs())}
        self.assertEqual(set(objs), exported)
        paths = [(r.method, r.path) for r in kb.requests]
        self.assertEqual(paths[0], ("GET", "/api/status"), "version check first")
        imports = kb.requests_for("/api/saved_objects/_import")
        self.assertEqual([r.query for r in imports], ["overwrite=true"])
        self.assertTrue(all(r.status == 200 for r in kb.requests), kb.requests)

    def test_second_run_overwrites(self):
        kb = self.server()
        cfg = base_config({"host": kb.hostport})
        self.assertEqual(self.run_setup(cfg).rc, 0)
        res = self.run_setup(cfg)
        self.assertEqual(res.rc, 0, res.describe())
        self.assertIn(LOADED, res.stdout)
        last = kb.requests_for("/api/saved_objects/_import")[-1].response
        self.assertTrue(last["success"])
        self.assertTrue(all(r.get("overwrite") for r in last["successResults"]))

    def test_space(self):
        kb = self.server(spaces=["team-a"])
        res = self.run_setup(base_config({"host": kb.hostport, "space.id": "team-a"}))
        self.assertEqual(res.rc, 0, res.describe())
        self.assert_imported(kb, "team-a")
        self.assertEqual(kb.objects("default"), {}, "nothing lands in the default space")
        self.assertTrue(all(r.path.startswith("/s/team-a/") for r in kb.requests_for("_import")))

    def test_unknown_space_fails(self):
        kb = self.server()
        res = self.run_setup(base_config({"host": kb.hostport, "space.id": "team-b"}))
        self.assert_fails(res, "team-b")

    def test_url_parts_and_headers(self):
        kb = self.server(base_path="/kibana")
        res = self.run_setup(base_config({"host": "127.0.0.1:%d" % kb.port, "protocol": "http",
                                          "path": "/kibana", "headers": {"X-Team": "ops"}}))
        self.assertEqual(res.rc, 0, res.describe())
        self.assert_imported(kb)
        self.assertTrue(kb.requests)
        self.assertTrue(all(r.header("X-Team") == "ops" for r in kb.requests), "custom headers on every request")


class TestCredentials(Base):
    USERS = {"elastic": "changeme"}

    def test_username_password(self):
        kb = self.server(users=self.USERS)
        res = self.run_setup(base_config({"host": kb.hostport, "username": "elastic", "password": "changeme"}))
        self.assertEqual(res.rc, 0, res.describe())
        self.assert_imported(kb)

    def test_wrong_credentials(self):
        kb = self.server(users=self.USERS)
        res = self.run_setup(base_config({"host": kb.hostport, "username": "elastic", "password": "wrong"}))
        self.assert_fails(res, "401")
        self.assertEqual(kb.objects(), {})

    def test_no_credentials(self):
        kb = self.server(users=self.USERS)
        res = self.run_setup(base_config({"host": kb.hostport}))
        self.assert_fails(res, "401")

    def test_default_from_elasticsearch_output(self):
        kb = self.server(users=self.USERS)
        res = self.run_setup(base_config({"host": kb.hostport}, username="elastic", password="changeme"))
        self.assertEqual(res.rc, 0, res.describe())
        self.assert_imported(kb)
        auth = "Basic " + base64.b64encode(b"elastic:changeme").decode()
        self.assertTrue(all(r.header("Authorization") == auth for r in kb.requests))

    def test_api_key(self):
        kb = self.server(api_keys={"kid": "ksecret"})
        res = self.run_setup(base_config({"host": kb.hostport, "api_key": "kid:ksecret"}))
        self.assertEqual(res.rc, 0, res.describe())
        self.assert_imported(kb)


class TestKibanaProblems(Base):
    def test_down(self):
        port = X.free_port()
        res = self.run_setup(base_config({"host": "127.0.0.1:%d" % port}))
        self.assert_fails(res, "http://127.0.0.1:%d" % port)

    def test_went_down(self):
        kb = self.server()
        kb.down()
        res = self.run_setup(base_config({"host": kb.hostport}))
        self.assert_fails(res, kb.url)

    def test_too_old(self):
        kb = self.server(version="7.10.0")
        res = self.run_setup(base_config({"host": kb.hostport}))
        self.assert_fails(res, "7.10.0")
        self.assertEqual(kb.requests_for("_import"), [], "no import is attempted")

    def test_objects_refused_are_named(self):
        # A Kibana that does not know the dashboard type (as one without the
        # plugin that registers it) refuses every dashboard of the bundle.
        kb = self.server(types=[t for t in K.TYPES if t != "dashboard"])
        res = self.run_setup(base_config({"host": kb.hostport}))
        self.assert_fails(res, "unsupported_type")
        answer = kb.requests_for("_import")[-1].response
        refused = [e for e in answer["errors"] if e["error"]["type"] == "unsupported_type"]
        self.assertEqual(len(refused), len(DASHBOARD_TITLES))
        text = res.stdout + res.stderr
        for e in refused:
            self.assertIn(e["id"], text, "each refused object is named")


class TestExportDashboards(Base):
    def test_manual_import(self):
        res = self.export()
        docs = X.to_plain(res.docs())
        self.assertTrue(docs)
        self.assertTrue(res.stdout.endswith("\n"))
        kb = self.server()
        status, answer = K.post_import(kb.url, res.stdout_bytes, filename="expvarbeat.ndjson")
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer["success"], answer.get("errors"))
        self.assertEqual(answer["successCount"], len(docs))
        self.assert_imported(kb)


if __name__ == "__main__":
    unittest.main()
