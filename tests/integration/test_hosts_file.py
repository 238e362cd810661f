"""hosts_file: a module entry's targets from a generated list (YAML or one
URL per line), re-read when it changes even with reload off; a bad list is
reported with its file:line and the old one is kept; a missing one at
start stops the daemon with a clear error."""

import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402


class TestHostsFile(unittest.TestCase):
    def setUp(self):
        self.srv = X.TargetServer({"/%s/debug/vars" % r: X.capture("expvartarget") for r in "abc"})
        self.srv.start()
        self.addCleanup(self.srv.stop)

    def url(self, r):
        return self.srv.url("/%s/debug/vars" % r)

    def served(self, r):
        return len(self.srv.requests_for("/%s/debug/vars" % r))

    def write(self, d, text):
        path = os.path.join(d.dir, "targets.txt")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)

    def daemon(self):
        module = X.golang_module([], hosts_file="targets.txt")
        del module["hosts"]
        return X.Daemon({"metricbeat.modules": [module],
                         "metricbeat.config.modules.reload.period": "200ms"},
                        args=("--path.config", "."))

    def wait_log(self, d, pattern, since):
        rx = re.compile(pattern)
        return X.wait_until(lambda: rx.search(d.stderr, since), 20, "log line /%s/" % pattern)

    def count(self, d, r):
        return len(X.by_address(d.docs(), self.url(r)))

    def test_list_changes_are_applied(self):
        d = self.daemon()
        self.write(d, "# generated\n%s\n" % self.url("a"))
        with d:
            d.wait_for(lambda docs: len(X.by_address(docs, self.url("a"))) >= 2, 20, "target a")
            since = len(d.stderr)
            self.write(d, "- %s\n- %s\n" % (self.url("a"), self.url("b")))  # now YAML
            self.wait_log(d, r"reload: 1 targets added, 0 removed, 1 unchanged", since)
            d.wait_for(lambda docs: len(X.by_address(docs, self.url("b"))) >= 2, 20, "target b")
            # a broken list: the error names its line, both targets go on
            since = len(d.stderr)
            self.write(d, "%s\n%s extra words\n" % (self.url("a"), self.url("b")))
            self.wait_log(d, r"reload: changed hosts_file rejected, the running configuration is "
                             r"kept: \S*targets\.txt:2: hosts_file: one URL per line", since)
            n = self.count(d, "b")
            d.wait_for(lambda docs: len(X.by_address(docs, self.url("b"))) >= n + 4, 20,
                       "target b still scraped")
            # b removed, c added
            since = len(d.stderr)
            self.write(d, "%s\n%s\n" % (self.url("a"), self.url("c")))
            self.wait_log(d, r"reload: 1 targets added, 1 removed, 1 unchanged", since)
            b_at_reload = self.served("b")
            d.wait_for(lambda docs: len(X.by_address(docs, self.url("c"))) >= 4, 20, "target c")
            self.assertLessEqual(self.served("b"), b_at_reload + 1)
            docs = d.stop()
        for r in "abc":
            mine = X.by_address(docs, self.url(r))
            self.assertTrue(mine and all("error" not in x for x in mine), r)
        # nothing the removed target answered was lost: two documents a request
        self.assertEqual(len(X.by_address(docs, self.url("b"))), 2 * self.served("b"))

    def test_missing_file_at_start(self):
        d = self.daemon()
        self.addCleanup(shutil.rmtree, d.dir, True)
        d.start()
        try:
            X.wait_until(lambda: not d.running(), 15, "the daemon to exit")
        finally:
            if d.running():
                d.proc.kill()
        self.assertEqual(1, d.proc.rc)
        self.assertRegex(d.stderr, r"expvarbeat\.yml:\d+: hosts_file: cannot read \S*targets\.txt: "
                                   r"No such file or directory")


if __name__ == "__main__":
    unittest.main()
