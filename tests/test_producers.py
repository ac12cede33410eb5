"""Producers, re-logs and unresolved uses on runlogs written with the
Python writer: the producer is the first logger by time whatever the
order files are indexed in, and a use shows why it did not resolve,
also as of a time before its version was logged."""

import os
import unittest

from pyhelpers import TmpCase, index, query, query_json
from lineage_runlog import RunlogWriter

T0 = 1709283600  # 2024-03-01T09:00:00Z


class ProducerTest(TmpCase):
    def write(self):
        """early.runlog: run `use1` uses x:v0 at T0+100; run `late`
        re-logs x's digest at T0+300. late.runlog (a path that sorts
        after): run `prod` logs it first, at T0+200."""
        with RunlogWriter(self.path("a", "early.runlog")) as w:
            w.run(id="use1", entity="acme", project="p", job_type="eval",
                  started_at=T0 + 100)
            w.use("x:v0", type="dataset", at=T0 + 100)
            w.finish("finished", ended_at=T0 + 110)
            w.run(id="late", entity="acme", project="p", job_type="upload",
                  started_at=T0 + 300)
            w.log(type="dataset", name="x", digest="d0", created_at=T0 + 300)
            w.finish("finished", ended_at=T0 + 310)
        with RunlogWriter(self.path("b", "late.runlog")) as w:
            w.run(id="prod", entity="acme", project="p", job_type="upload",
                  started_at=T0 + 200)
            w.log(type="dataset", name="x", digest="d0", created_at=T0 + 200)
            w.finish("finished", ended_at=T0 + 210)

    def test_producer_is_first_by_time_in_any_order(self):
        os.makedirs(self.path("a"))
        os.makedirs(self.path("b"))
        self.write()
        for order in (("a", "b"), ("b", "a")):
            store = self.path("s-%s.lmdb" % "".join(order))
            for d in order:
                index(store, self.path(d))
            rows = query_json(store, "logged-by", "x:v0")
            self.assertEqual([(r["run_id"], r["edge"]) for r in rows],
                             [("prod", "logged"), ("late", "relogged")],
                             order)
            self.assertIn("re-logged", query(store, "logged", "late"))
            self.assertEqual(query(store, "logged", "prod").count(
                "re-logged"), 0)
            # the re-logger is upstream only with --with-relogs
            up = query(store, "provenance", "x:v0")
            self.assertNotIn("run:acme/p/late", up)
            up = query(store, "--with-relogs", "provenance", "x:v0")
            self.assertIn("run:acme/p/late  relogged", up)

    def test_use_before_its_version_as_of_then(self):
        os.makedirs(self.path("a"))
        os.makedirs(self.path("b"))
        self.write()
        store = self.path("s.lmdb")
        index(store, self.path("a"), self.path("b"))
        self.assertEqual([r["id"] for r in query_json(store, "used",
                                                      "use1")],
                         ["artifact:acme/p/x:v0"])
        then = query_json(store, "--as-of", "@%d" % (T0 + 150), "used",
                          "use1")
        self.assertEqual(len(then), 1)
        self.assertEqual(then[0]["kind"], "unresolved")
        self.assertEqual(then[0]["ref"], "x:v0")
        self.assertEqual(then[0]["reason"], "later")
        # with only the using run's file, nothing logged it
        store2 = self.path("s2.lmdb")
        with RunlogWriter(self.path("only.runlog")) as w:
            w.run(id="use1", entity="acme", project="p", started_at=T0)
            w.use("x:v0", at=T0)
            w.use("acme/elsewhere/y:latest", at=T0)
        index(store2, self.path("only.runlog"))
        got = {u["collection"]: u["reason"]
               for u in query_json(store2, "used", "use1")}
        self.assertEqual(got, {"acme/p/x": "no-version",
                               "acme/elsewhere/y": "other-project"})


if __name__ == "__main__":
    unittest.main()
