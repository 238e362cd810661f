"""Index management against the Elasticsearch test server: `export
ilm-policy`/`export template` produce bodies Elasticsearch accepts, `setup
--index-management` installs policy, template and data stream, `test output`
talks to the server, and the installed template accepts every document the
samples produce -- including a field that is 0 in one scrape and 0.25 in the
next, which must not end up truncated in a long field."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eslib as E  # noqa: E402
import expvarlib as X  # noqa: E402
from esserver import ESServer  # noqa: E402

SAMPLES = ("expvartarget", "etcd", "ginexpvar")
FLOAT_TYPES = ("double", "float", "half_float", "scaled_float")


def write_config(test, cfg):
    d = tempfile.mkdtemp(prefix="expvarbeat-es-")
    test.addCleanup(lambda: __import__("shutil").rmtree(d, ignore_errors=True))
    path = os.path.join(d, "expvarbeat.yml")
    with open(path, "w") as f:
        f.write(X.to_yaml(cfg))
    return d, path


def put_json(es, path, body):
    import urllib.request
    req = urllib.request.Request(es.url + path, data=body.encode() if isinstance(body, str) else body, method="PUT",
                                 headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def mapping_node(mapping, path):
    node = {"properties": mapping.get("properties", {})}
    for p in path.split("."):
        node = node.get("properties", {}).get(p)
        if node is None:
            return None
    return node


class TestExport(unittest.TestCase):
    def setUp(self):
        X.require_binary()
        self.es = ESServer().start()
        self.addCleanup(self.es.stop)

    def test_ilm_policy_is_accepted(self):
        res = X.run_expvarbeat(["export", "ilm-policy"], timeout=20)
        self.assertEqual(res.rc, 0, res.describe())
        body = json.loads(res.stdout)
        self.assertEqual(body["policy"]["phases"]["hot"]["actions"]["rollover"],
                         {"max_primary_shard_size": "50gb", "max_age": "30d"})
        status, answer = put_json(self.es, "/_ilm/policy/expvarbeat", res.stdout)
        self.assertEqual((status, answer), (200, {"acknowledged": True}))

    def test_template_is_accepted(self):
        res = X.run_expvarbeat(["export", "template"], timeout=20)
        self.assertEqual(res.rc, 0, res.describe())
        t = json.loads(res.stdout)
        ds = E.data_stream()
        self.assertEqual(t["index_patterns"], [ds])
        self.assertEqual(t["priority"], 150)
        self.assertEqual(t["data_stream"], {})
        self.assertIs(t["template"]["mappings"]["date_detection"], False)
        status, answer = put_json(self.es, "/_index_template/" + ds, res.stdout)
        self.assertEqual((status, answer), (200, {"acknowledged": True}))


class TestSetupCommand(unittest.TestCase):
    def setUp(self):
        X.require_binary()
        self.es = ESServer().start()
        self.addCleanup(self.es.stop)
        self.DS = E.data_stream()
        self.dir, self.cfg = write_config(self, E.es_config(self.es, ["http://127.0.0.1:1/debug/vars"]))

    def setup(self):
        return X.run_expvarbeat(["setup", "--index-management", "-c", self.cfg, "--path.data",
                                 os.path.join(self.dir, "data"), "--path.logs", os.path.join(self.dir, "logs")],
                                timeout=60, cwd=self.dir)

    def test_installs_policy_template_and_data_stream(self):
        res = self.setup()
        self.assertEqual(res.rc, 0, res.describe())
        self.assertIn("Index setup finished.", res.stdout)
        self.assertEqual(self.es.recorded()[0].path, "/", "GET / first")
        self.assertIn("expvarbeat", self.es.policies)
        t = self.es.templates.get(self.DS)
        self.assertIsNotNone(t, "template %s installed" % self.DS)
        self.assertEqual((t["index_patterns"], t["priority"]), ([self.DS], 150))
        self.assertIn("data_stream", t)
        self.assertEqual(t["template"]["settings"]["index"]["lifecycle"]["name"], "expvarbeat")
        self.assertEqual([r for r in self.es.recorded() if r.status not in (200, 404)], [],
                         "every request accepted")

    def test_second_setup_keeps_what_exists(self):
        self.assertEqual(self.setup().rc, 0)
        n = len(self.es.recorded())
        res = self.setup()
        self.assertEqual(res.rc, 0, res.describe())
        again = self.es.recorded()[n:]
        # As Metricbeat's setup command: the template is always (re)loaded
        # (LoadModeOverwrite), an existing ILM policy is kept.
        puts = [r.target for r in again if r.method == "PUT"]
        self.assertIn("/_index_template/%s" % E.data_stream(), puts)
        self.assertFalse([t for t in puts if t.startswith("/_ilm/")], puts)

    def test_unreachable(self):
        self.es.stop()
        res = self.setup()
        self.assertNotEqual(res.rc, 0)
        self.assertNotIn("Index setup finished.", res.stdout)


class TestTestOutput(unittest.TestCase):
    def setUp(self):
        X.require_binary()
        self.es = ESServer().start()
        self.addCleanup(self.es.stop)

    def run_test_output(self, url):
        _, cfg = write_config(self, E.es_config(url, ["http://127.0.0.1:1/debug/vars"]))
        return X.run_expvarbeat(["test", "output", "-c", cfg], timeout=60)

    def test_reports_version(self):
        res = self.run_test_output(self.es.url)
        self.assertEqual(res.rc, 0, res.describe())
        out = res.stdout
        self.assertIn("talk to server... OK", out)
        self.assertIn("version: 8.11.0", out)

    def test_unreachable_fails(self):
        res = self.run_test_output("http://127.0.0.1:%d" % X.free_port())
        self.assertEqual(res.rc, 1, res.describe())
        self.assertIn("ERROR", res.stdout + res.stderr)


class TestTemplateAcceptsSamples(unittest.TestCase):
    def test_every_sample_document_is_indexed(self):
        X.require_binary()
        es = ESServer().start()
        self.addCleanup(es.stop)
        ds = E.data_stream()
        srv, urls = E.target_server(SAMPLES)
        self.addCleanup(srv.stop)
        for name in ("syncgateway.expvar-input.json", "fleet.heap-input.json"):
            path = "/%s/debug/vars" % name.split(".")[0]
            srv.route(path, X.json_body(X.read_data(os.path.join("golden", name))))
            urls.append(srv.url(path))
        # 0 in the first scrapes, 0.25 afterwards: both metricsets read this route
        zero = X.json_body(b'{"cmdline":["./app"],"ratio":0,"memstats":{"NumGC":0}}')
        quarter = X.json_body(b'{"cmdline":["./app"],"ratio":0.25,"memstats":{"NumGC":0}}')
        srv.route("/flip/debug/vars", X.Sequence(zero, zero, quarter))
        urls.append(srv.url("/flip/debug/vars"))
        with X.Daemon(E.es_config(es, urls), output=None) as d:
            E.wait_indexed(d, es, 4 * len(urls), 40)
            X.wait_until(lambda: any(X.get(doc, "golang", "app", "ratio") == 0.25 for doc in es.docs(ds)),
                         20, "the 0.25 scrape")
            d.stop()
        self.assertEqual(set(es.statuses()), {201}, "every document accepted: %s" % es.statuses())
        E.assert_exact(self, es, d)
        m = es.mapping(ds)
        ratio = mapping_node(m, "golang.app.ratio")
        self.assertIsNotNone(ratio)
        self.assertIn(ratio.get("type"), FLOAT_TYPES, "0 then 0.25 must not map as long: %s" % ratio)
        for leaf in ("PauseNs", "PauseEnd", "BySize"):
            node = mapping_node(m, "golang.app.memstats." + leaf)
            self.assertIsNotNone(node, leaf)
            self.assertTrue(node.get("enabled") is False or node.get("index") is False,
                            "%s kept in _source but not indexed: %s" % (leaf, node))
        self.assertTrue(any(X.get(doc, "golang", "app", "memstats", "PauseNs") for doc in es.docs(ds)),
                        "PauseNs still in _source")
        cmd = mapping_node(m, "golang.app.cmdline")
        self.assertEqual((cmd.get("type"), cmd.get("ignore_above")), ("keyword", 1024))
        heap = mapping_node(m, "golang.heap.allocations.total")
        self.assertEqual(heap.get("type"), "long", "golang.heap.* keep Metricbeat's types")


if __name__ == "__main__":
    unittest.main()
