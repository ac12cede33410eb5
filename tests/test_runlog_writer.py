"""python/lineage_runlog.py: what it writes reads back through the C
reader (lineage-index) unchanged, and what it refuses the indexer
refuses too."""

import datetime as dt
import gzip
import os

import msgpack

from pyhelpers import TmpCase, index, query_json
from lineage_runlog import RunlogError, RunlogWriter

T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def as_given(kind, **keys):
    """A bad record whose writer call takes exactly the record's keys:
    the call, and the record as written raw."""
    return (lambda w: getattr(w, kind)(**keys), dict(t=kind, **keys))


class WriterTest(TmpCase):
    def write_project(self, gz):
        d = self.path("logs")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "a.runlog" + (".gz" if gz else ""))
        with RunlogWriter(p, gzip=gz, producer="test") as w:
            w.run(id="up1", entity="acme", project="cv", name="first-up",
                  job_type="upload", group="g1", host="h1", notes="n1",
                  tags=["a", "b"], started_at=at(0), program="up.py",
                  git_remote="git@example.org:cv.git", git_commit="c0ffee",
                  args=["--all", "x y"])
            w.log(type="raw_dataset", name="imgs", digest="d0",
                  aliases=["gold"], size=100, files=3, description="raw",
                  metadata={"rows": 7, "nested": {"k": [1, 2.5, None]}},
                  created_at=at(1), server_id="QXJ0aWZhY3Q6Nw==")
            w.finish("finished", exit_code=0, ended_at=at(2))
            w.run(id="tr1", entity="acme", project="cv", job_type="train",
                  started_at=1709284200)          # int seconds: 09:10
            w.use("imgs:gold", type="raw_dataset", at=at(11))
            w.use("other/data/labels:v0", digest="L0")
            w.log(type="model", name="net", digest="m0",
                  created_at=1709284800.5)        # float seconds
            w.log(type="model", name="net", digest="m1", version="v1",
                  created_at=at(21))
            w.alias("net:v0", add=["best"], at=at(30))
            w.finish("failed", exit_code=-3, ended_at=at(40))
        with RunlogWriter(os.path.join(d, "b.runlog")) as w:
            w.run(id="lb1", entity="other", project="data")
            w.log(type="labels", name="labels", digest="L0")
            w.finish()
        self.assertFalse([n for n in os.listdir(d) if n.startswith(".")])
        return d

    def check_project(self, d):
        store = self.path("s.lmdb")
        out, err = index(store, d)
        self.assertIn("2 indexed", out)
        self.assertEqual(err, "")
        runs = {r["id"]: r for r in query_json(store, "ls", "runs")}
        up = runs["run:acme/cv/up1"]
        self.assertEqual(
            (up["name"], up["job_type"], up["group"], up["host"],
             up["notes"], up["tags"], up["state"], up["exit_code"],
             up["started_at"], up["ended_at"]),
            ("first-up", "upload", "g1", "h1", "n1", ["a", "b"],
             "finished", 0, "2024-03-01T09:00:00Z", "2024-03-01T09:02:00Z"))
        self.assertEqual(
            (up["program"], up["git_remote"], up["git_commit"], up["args"]),
            ("up.py", "git@example.org:cv.git", "c0ffee", ["--all", "x y"]))
        tr = runs["run:acme/cv/tr1"]
        self.assertEqual((tr["started_at"], tr["state"], tr["exit_code"]),
                         ("2024-03-01T09:10:00Z", "failed", -3))
        self.assertIsNone(runs["run:other/data/lb1"]["state"])
        [img] = query_json(store, "artifact", "acme/cv/imgs:v0")
        self.assertEqual(
            (img["type"], img["digest"], img["size"], img["files"],
             img["description"], img["metadata"], img["created_at"],
             sorted(img["aliases"]), img["server_id"]),
            ("raw_dataset", "d0", 100, 3, "raw",
             {"rows": 7, "nested": {"k": [1, 2.5, None]}},
             "2024-03-01T09:01:00Z", ["gold", "latest"], "QXJ0aWZhY3Q6Nw=="))
        [m0] = query_json(store, "artifact", "acme/cv/net:v0")
        self.assertEqual((m0["created_at"], sorted(m0["aliases"])),
                         ("2024-03-01T09:20:00.500000000Z", ["best"]))
        self.assertEqual(
            [r["id"] for r in query_json(store, "used-by", "acme/cv/imgs:v0")],
            ["run:acme/cv/tr1"])
        self.assertEqual(
            [r["id"] for r in query_json(store, "used-by",
                                         "other/data/labels:v0")],
            ["run:acme/cv/tr1"])
        self.assertEqual(
            [r["id"] for r in query_json(store, "logged-by",
                                         "acme/cv/net:latest")],
            ["run:acme/cv/tr1"])

    def test_round_trip_plain(self):
        self.check_project(self.write_project(False))

    def test_round_trip_gzip(self):
        d = self.write_project(True)
        with open(os.path.join(d, "a.runlog.gz"), "rb") as f:
            self.assertEqual(f.read(2), b"\x1f\x8b")
        self.check_project(d)

    def test_header(self):
        p = self.path("h.runlog")
        with RunlogWriter(p, producer="me", created_at=at(0)):
            pass
        with open(p, "rb") as f:
            [h] = list(msgpack.Unpacker(f, raw=False, timestamp=3))
        self.assertEqual(h, {"runlog": 1, "producer": "me",
                             "created_at": at(0)})

    def test_abort_writes_nothing(self):
        p = self.path("x.runlog")
        w = RunlogWriter(p)
        w.run(id="r")
        w.abort()
        self.assertEqual(os.listdir(self.tmp), [])

    # Each bad record: the writer raises, and written anyway (raw), the
    # indexer skips it as invalid.
    BAD = [
        ("run without id", lambda w: w.run(id=None),
         {"t": "run"}),
        ("empty run id", lambda w: w.run(id=""), {"t": "run", "id": ""}),
        ("log without digest",
         lambda w: w.log(type="m", name="n", digest=None),
         {"t": "log", "type": "m", "name": "n"}),
        ("log with empty digest",
         lambda w: w.log(type="m", name="n", digest=""),
         {"t": "log", "type": "m", "name": "n", "digest": ""}),
        ("negative size",
         lambda w: w.log(type="m", name="n", digest="d", size=-1),
         {"t": "log", "type": "m", "name": "n", "digest": "d", "size": -1}),
        ("bad version",
         lambda w: w.log(type="m", name="n", digest="d", version="x1"),
         {"t": "log", "type": "m", "name": "n", "digest": "d",
          "version": "x1"}),
        ("entity with a slash",
         *as_given("run", id="r2", entity="a/b", project="p")),
        ("artifact entity with a slash",
         *as_given("log", type="m", name="n", digest="d", entity="a/b")),
        ("project with a slash",
         *as_given("run", id="r2", entity="e", project="p/a")),
        ("run id with a slash",
         *as_given("run", id="a/b", entity="e", project="p")),
        ("artifact project with a slash",
         *as_given("log", type="m", name="n", digest="d", project="p/a")),
        ("artifact name with a slash",
         *as_given("log", type="m", name="a/b", digest="d")),
        ("run named with a slash",
         *as_given("log", type="m", name="n", digest="d", run="a/b")),
        ("tags not strings", lambda w: w.run(id="r2", tags=[1]),
         {"t": "run", "id": "r2", "tags": [1]}),
        ("bad ref", lambda w: w.use("a/b/c/d:v0"),
         {"t": "use", "ref": "a/b/c/d:v0"}),
        ("empty alias in ref", lambda w: w.use("n:"),
         {"t": "use", "ref": "n:"}),
        ("alias record not naming a version",
         lambda w: w.alias("n:prod", add=["x"]),
         {"t": "alias", "ref": "n:prod", "add": ["x"]}),
        ("long alias",
         lambda w: w.log(type="m", name="n", digest="d", aliases=["a" * 201]),
         {"t": "log", "type": "m", "name": "n", "digest": "d",
          "aliases": ["a" * 201]}),
        ("long server id",
         lambda w: w.log(type="m", name="n", digest="d",
                         server_id="A" * 201),
         {"t": "log", "type": "m", "name": "n", "digest": "d",
          "server_id": "A" * 201}),
        ("time out of range", lambda w: w.finish(ended_at=1e12),
         {"t": "finish", "ended_at": msgpack.Timestamp(10**12)}),
        ("type changes",
         lambda w: (w.log(type="a", name="tc", digest="1"),
                    w.log(type="b", name="tc", digest="2")),
         {"t": "log", "type": "b", "name": "tc", "digest": "2"}),
    ]

    def test_refuses_what_the_indexer_rejects(self):
        for what, call, raw in self.BAD:
            with self.subTest(what):
                p = self.path("bad.runlog")
                w = RunlogWriter(p)
                w.run(id="r1", entity="e", project="p")
                if what == "type changes":
                    w.log(type="a", name="tc", digest="1")
                with self.assertRaises(RunlogError):
                    call(w)
                w.close()
                # the same record written anyway is skipped as invalid
                with open(p, "ab") as f:
                    f.write(msgpack.packb(raw, use_bin_type=True))
                store = self.path("bad-%d.lmdb" % self.BAD.index(
                    (what, call, raw)))
                out, err = index(store, p, code=65)
                self.assertIn("1 skipped as invalid", out, err)
                os.unlink(p)

    def test_use_before_any_run(self):
        w = RunlogWriter(self.path("n.runlog"))
        with self.assertRaises(RunlogError):
            w.use("n:v0")
        with self.assertRaises(RunlogError):
            w.finish("finished")
        w.use("n:v0", run="elsewhere")   # naming its run is fine
        w.close()

    def test_big_metadata_limits(self):
        w = RunlogWriter(self.path("m.runlog"))
        w.run(id="r")
        deep = {}
        cur = deep
        for _ in range(40):
            cur["x"] = {}
            cur = cur["x"]
        with self.assertRaises(RunlogError):
            w.log(type="t", name="n", digest="d", metadata=deep)
        with self.assertRaises(RunlogError):
            w.log(type="t", name="n", digest="d",
                  metadata={"s": "x" * (2 << 20)})
        with self.assertRaises(RunlogError):
            w.log(type="t", name="n", digest="d", metadata={"o": object()})
        w.abort()

    def test_gzip_is_one_member(self):
        p = self.path("g.runlog.gz")
        with RunlogWriter(p, gzip=True) as w:
            w.run(id="r")
        with gzip.open(p, "rb") as f:
            objs = list(msgpack.Unpacker(f, raw=False, timestamp=3))
        self.assertEqual(objs[1], {"t": "run", "id": "r"})
