"""shard.index / shard.count: three instances given the same 30 targets
scrape disjoint thirds that together cover every target, and each says
which share it took."""

import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

N_TARGETS = 30
N_SHARDS = 3


class TestShard(unittest.TestCase):
    def test_instances_split_the_targets(self):
        routes = ["/t%d/debug/vars" % i for i in range(N_TARGETS)]
        with X.TargetServer({r: X.capture("expvartarget") for r in routes}) as srv:
            urls = [srv.url(r) for r in routes]
            daemons = [X.Daemon({"metricbeat.modules": [X.golang_module(urls)],
                                 "shard.index": i, "shard.count": N_SHARDS})
                       for i in range(N_SHARDS)]
            try:
                for d in daemons:
                    d.start()
                X.wait_until(lambda: all(srv.requests_for(r) for r in routes), 20,
                             "every target scraped by some instance")
                for d in daemons:
                    d.wait_for(lambda docs: docs, 10, "documents")
                docs = [d.stop() for d in daemons]
                logs = [d.stderr for d in daemons]
            finally:
                for d in daemons:  # kill only what a failed test left running
                    if d.proc and d.proc.running():
                        d.proc.kill()
                    shutil.rmtree(d.dir, ignore_errors=True)
        owners = {u: [i for i in range(N_SHARDS) if X.by_address(docs[i], u)] for u in urls}
        self.assertEqual({u: 1 for u in urls}, {u: len(o) for u, o in owners.items()}, owners)
        took = []
        for i, log in enumerate(logs):
            m = re.search(r"shard %d/%d: (\d+) of %d targets" % (i, N_SHARDS, N_TARGETS), log)
            self.assertIsNotNone(m, log[-2000:])
            took.append(int(m.group(1)))
            self.assertEqual(took[-1], sum(1 for o in owners.values() if o == [i]))
        self.assertEqual(N_TARGETS, sum(took))
        self.assertTrue(all(k > 0 for k in took), took)


if __name__ == "__main__":
    unittest.main()
