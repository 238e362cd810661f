"""Reload without a restart: modules.d files watched with
config.modules.reload.enabled, and SIGHUP.  Targets are added, replaced
and removed; the others keep their schedule; a bad file is rejected with
its file:line and the running targets go on; no accepted document is lost
(every request a target answered became its two documents: expvar and
heap from one fetch)."""

import json
import os
import re
import signal
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

ROUTES = ("a", "b", "c")


def module_yaml(url, ns, period="1s"):
    return X.to_yaml([X.golang_module(url, namespace=ns, period=period)])


class Base(unittest.TestCase):
    def setUp(self):
        self.srv = X.TargetServer({"/%s/debug/vars" % r: X.capture("expvartarget") for r in ROUTES})
        self.srv.start()
        self.addCleanup(self.srv.stop)

    def url(self, r):
        return self.srv.url("/%s/debug/vars" % r)

    def served(self, r):
        return len(self.srv.requests_for("/%s/debug/vars" % r))

    def docs_of(self, docs, r):
        return X.by_address(docs, self.url(r))

    def wait_docs(self, d, r, n, timeout=20):
        d.wait_for(lambda docs: len(self.docs_of(docs, r)) >= n, timeout,
                   "%d documents of target %s" % (n, r))

    def wait_log(self, d, pattern, timeout=20, since=0):
        rx = re.compile(pattern)
        return X.wait_until(lambda: rx.search(d.stderr, since), timeout, "log line /%s/" % pattern)

    def assert_nothing_lost(self, docs, r, in_flight_ok):
        """Two documents (expvar, heap) per answered request; a scrape in
        flight at SIGTERM is never accepted, so it may be missing."""
        mine = self.docs_of(docs, r)
        served = self.served(r)
        self.assertTrue(all("error" not in doc for doc in mine), [d.get("error") for d in mine][:3])
        self.assertEqual(len(X.by_metricset(mine, "expvar")), len(X.by_metricset(mine, "heap")))
        self.assertLessEqual(len(mine), 2 * served)
        self.assertGreaterEqual(len(mine), 2 * (served - (1 if in_flight_ok else 0)),
                                "target %s: %d documents for %d requests" % (r, len(mine), served))


class ModulesDirBase(Base):
    def write(self, name, text):
        path = os.path.join(self.mdir, name)
        tmp = path + ".tmp"  # as config management tools write: whole file, then rename
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)

    def daemon(self):
        d = X.Daemon({"metricbeat.config.modules": {"path": "modules.d/*.yml",
                                                    "reload.enabled": True, "reload.period": "200ms"},
                      "http.enabled": True, "http.host": "127.0.0.1", "http.port": X.free_port()},
                     args=("--path.config", "."))
        self.mdir = os.path.join(d.dir, "modules.d")
        os.mkdir(self.mdir)
        return d


class TestModulesDir(ModulesDirBase):
    def test_add_change_remove(self):
        d = self.daemon()
        self.write("a.yml", module_yaml(self.url("a"), "a"))
        self.write("b.yml", module_yaml(self.url("b"), "b"))
        with d:
            self.wait_docs(d, "a", 4)
            self.wait_docs(d, "b", 4)
            since = len(d.stderr)
            os.unlink(os.path.join(self.mdir, "b.yml"))
            self.write("c.yml", module_yaml(self.url("c"), "c"))
            self.wait_log(d, r"reload: 1 targets added, 1 removed, 1 unchanged", since=since)
            b_at_reload = self.served("b")
            self.wait_docs(d, "c", 6)
            # the server may read a request sent just before the reload after it
            self.assertLessEqual(self.served("b"), b_at_reload + 1, "the removed target was scraped again")
            # a changed target (period and namespace) is replaced
            since = len(d.stderr)
            self.write("c.yml", module_yaml(self.url("c"), "c2", period="500ms"))
            self.wait_log(d, r"reload: 1 targets added, 1 removed, 1 unchanged", since=since)
            d.wait_for(lambda docs: len([x for x in self.docs_of(docs, "c")
                                         if X.get(x, "event", "dataset") == "golang.c2"]) >= 4,
                       20, "documents of the changed target")
            docs = d.stop()
        self.assertFalse(d.running())
        self.assert_nothing_lost(docs, "a", in_flight_ok=True)
        self.assert_nothing_lost(docs, "b", in_flight_ok=False)
        self.assert_nothing_lost(docs, "c", in_flight_ok=True)
        c2 = [x for x in self.docs_of(docs, "c") if X.get(x, "event", "dataset") == "golang.c2"]
        self.assertTrue(all(int(X.get(x, "metricset", "period")) == 500 for x in c2))
        # the unchanged target kept its 1 s grid through both reloads
        ts = [X.ts_ms(x) for x in X.by_metricset(self.docs_of(docs, "a"), "expvar")]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        self.assertTrue(all(700 <= g <= 1300 for g in gaps), gaps)

    def test_bad_file_is_rejected_and_old_targets_go_on(self):
        d = self.daemon()
        self.write("a.yml", module_yaml(self.url("a"), "a"))
        with d:
            self.wait_docs(d, "a", 2)
            since = len(d.stderr)
            self.write("b.yml", module_yaml(self.url("b"), "b").replace('"1s"', '"soon"'))
            m = self.wait_log(d, r"reload: new configuration rejected, the running configuration "
                                 r"is kept: \S*b\.yml:\d+", since=since)
            n = len(self.docs_of(d.docs(), "a"))
            self.wait_docs(d, "a", n + 4)  # the old target goes on
            self.assertEqual(0, self.served("b"))
            # logged once per change, not every period
            self.assertEqual(1, d.stderr.count("rejected", since), m.group(0))
            stats = X.wait_until(lambda: stats_of(d), 5, "/stats")
            self.assertEqual(1, stats["failed"])
            # fixed: applied
            self.write("b.yml", module_yaml(self.url("b"), "b"))
            self.wait_docs(d, "b", 2)
            self.assertEqual(1, stats_of(d)["applied"])
            docs = d.stop()
        self.assert_nothing_lost(docs, "a", in_flight_ok=True)


class TestInFlight(ModulesDirBase):
    def setUp(self):
        super().setUp()
        # about 2.5 s per answer: a reload lands while it is in flight
        self.srv.route("/slow/debug/vars", X.capture("expvartarget", chunk_size=512, delay=0.3))

    def test_removed_target_finishes_its_scrape(self):
        d = self.daemon()
        slow = self.srv.url("/slow/debug/vars")
        self.write("a.yml", module_yaml(self.url("a"), "a"))
        self.write("slow.yml", module_yaml(slow, "slow", period="10s"))
        with d:
            X.wait_until(lambda: self.srv.requests_for("/slow/debug/vars"), 10, "the slow scrape")
            self.assertEqual([], X.by_address(d.docs(), slow))
            since = len(d.stderr)
            os.unlink(os.path.join(self.mdir, "slow.yml"))
            self.wait_log(d, r"reload: 0 targets added, 1 removed, 1 unchanged \(1 scrapes", since=since)
            # two more reloads while it is still in flight: the config it reads stays alive
            since = len(d.stderr)
            self.write("b.yml", module_yaml(self.url("b"), "b"))
            self.wait_log(d, r"reload: 1 targets added", since=since)
            self.write("a.yml", module_yaml(self.url("a"), "a", period="500ms"))
            d.wait_for(lambda docs: len(X.by_address(docs, slow)) == 2, 15,
                       "the removed target's documents")
            docs = d.stop()
        mine = X.by_address(docs, slow)
        self.assertEqual(["expvar", "heap"], sorted(X.get(x, "metricset", "name") for x in mine))
        self.assertTrue(all("error" not in x for x in mine), mine[:1])
        self.assertEqual(1, len(self.srv.requests_for("/slow/debug/vars")))


def stats_of(d):
    """The reload counters from /stats (port read back from the config)."""
    port = int(re.search(r'"?http\.port"?: (\d+)', d.config_text).group(1))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open("http://127.0.0.1:%d/stats" % port, timeout=5) as r:
        s = json.loads(r.read())
    return X.get(s, "expvarbeat", "reload")


class TestSighup(Base):
    def config(self, d, hosts, ns="app"):
        text = X.to_yaml({"metricbeat.modules": [X.golang_module([self.url(h) for h in hosts],
                                                                 namespace=ns)],
                          "metricbeat.max_start_delay": "0s",
                          "queue.mem.flush.timeout": "50ms",
                          "output.file": {"path": d.out_dir, "filename": "out"}})
        with open(d.config_path + ".tmp", "w") as f:
            f.write(text)
        os.chmod(d.config_path + ".tmp", 0o600)
        os.rename(d.config_path + ".tmp", d.config_path)

    def test_sighup_reloads_main_config(self):
        d = X.Daemon({"metricbeat.modules": [X.golang_module([self.url("a"), self.url("b")])]})
        with d:
            self.wait_docs(d, "a", 2)
            self.wait_docs(d, "b", 2)
            self.config(d, ["a", "c"])  # reload is off: nothing happens until SIGHUP
            since = len(d.stderr)
            d.proc.signal(signal.SIGHUP)
            self.wait_log(d, r"reload: 1 targets added, 1 removed, 1 unchanged", since=since)
            b_at_reload = self.served("b")
            self.wait_docs(d, "c", 4)
            # the server may read a request sent just before the reload after it
            self.assertLessEqual(self.served("b"), b_at_reload + 1)
            # a broken main config: rejected with its line, the rest goes on
            with open(d.config_path, "a") as f:
                f.write("output.file: [\n")
            since = len(d.stderr)
            d.proc.signal(signal.SIGHUP)
            self.wait_log(d, r"rejected, the running configuration is kept: \S*expvarbeat\.yml:\d+",
                          since=since)
            n = len(self.docs_of(d.docs(), "c"))
            self.wait_docs(d, "c", n + 2)
            docs = d.stop()
        self.assert_nothing_lost(docs, "a", in_flight_ok=True)
        self.assert_nothing_lost(docs, "b", in_flight_ok=False)
        self.assert_nothing_lost(docs, "c", in_flight_ok=True)


if __name__ == "__main__":
    unittest.main()
