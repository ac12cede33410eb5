"""python/lineage-export-wandb against a stub of W&B's public API
(tests/stub_wandb) serving a generated archive's truth: paging, a
transient error, an artifact of another project, a run still running.
The export, indexed, must give every version's producer, consumers and
aliases as the truth has them; a second export writes nothing new."""

import json
import os
import sys

from pyhelpers import (GEN, PYDIR, ROOT, TmpCase, answers, index,
                       query_json, run)
from wandb_log import WandbLog
import wandb_truth

EXPORT = os.path.join(PYDIR, "lineage-export-wandb")
STUB = os.path.join(ROOT, "tests", "stub_wandb")


def snapshot(folder):
    """(path, size, mtime_ns, inode) of every file under folder."""
    out = []
    for d, _, names in os.walk(folder):
        for n in names:
            st = os.stat(os.path.join(d, n))
            out.append((os.path.join(d, n), st.st_size, st.st_mtime_ns,
                        st.st_ino))
    return sorted(out)


class ExportTest(TmpCase):
    def setUp(self):
        super().setUp()
        syn = self.path("synth")
        run([GEN, "synth", "--runs", "300", "--runs-per-file", "50",
             "--seed", "5", "--edges", self.path("edges.csv"), syn])
        self.synth = syn
        t = wandb_truth.build(syn, self.path("edges.csv"))
        runs = t["projects"]["acme/synth"]
        # an artifact of another project, used across projects
        t["projects"]["acme/shared"] = [{
            "id": "sh01", "name": "tok-build", "job_type": "build",
            "state": "finished", "created_at": "2024-02-01T00:00:00",
            "heartbeat_at": "2024-02-01T00:10:00", "host": "ci",
            "program": "build_tok.py", "args": ["--vocab", "32k"],
            "git": {"remote": "https://example.org/tok.git",
                    "commit": "feedbeef"},
            "logged": ["acme/shared/tokenizer:v0"], "used": []}]
        t["artifacts"]["acme/shared/tokenizer:v0"] = {
            "id": "QXJ0aWZhY3Q6c2hhcmVk", "type": "tokenizer",
            "digest": "tok0", "aliases": ["latest", "stable"],
            "created_at": "2024-02-01T00:05:00", "size": 10,
            "file_count": 1, "description": None, "metadata": {}}
        for r in runs[10:13]:
            r["used"].append("acme/shared/tokenizer:v0")
        # the last run is still running
        runs[-1]["state"] = "running"
        self.running = runs[-1]["id"]
        t["faults"] = {"runs_page": 2, "logged_artifacts": runs[4]["id"]}
        self.truth = t
        self.save_truth()
        self.env = dict(os.environ, PYTHONPATH=STUB,
                        LINEAGE_STUB_WANDB=self.path("truth.json"),
                        LINEAGE_STUB_LOG=self.path("stub.log"))

    def save_truth(self):
        with open(self.path("truth.json"), "w") as f:
            json.dump(self.truth, f)

    def export(self, out, *extra, code=0):
        return run([sys.executable, EXPORT, "acme/synth", "acme/shared",
                    "--out", out, "--per-page", "7", "--backoff", "0.01",
                    *extra],
                   code=code, env=self.env)

    def expected(self):
        """{version: (producers, consumers, aliases, type, digest)}."""
        want = {}
        for path, runs in self.truth["projects"].items():
            for r in runs:
                rid = "run:%s/%s" % (path, r["id"])
                for q in r["logged"]:
                    want.setdefault(q, [set(), set()])[0].add(rid)
                for q in r["used"]:
                    want.setdefault(q, [set(), set()])[1].add(rid)
        return {q: (p, c, set(self.truth["artifacts"][q]["aliases"]),
                    self.truth["artifacts"][q]["type"],
                    self.truth["artifacts"][q]["digest"])
                for q, (p, c) in want.items()}

    def got(self, store):
        got = {}
        for a in query_json(store, "ls", "artifacts"):
            q = a["id"][len("artifact:"):]
            got[q] = ({r["id"] for r in query_json(store, "logged-by", q)},
                      {r["id"] for r in query_json(store, "used-by", q)},
                      set(a["aliases"]), a["type"], a["digest"])
        return got

    def test_export_matches_the_truth(self):
        out = self.path("export")
        stdout, err = self.export(out)
        self.assertIn("runs: 301 exported, 0 unchanged", stdout)
        self.assertIn("transient error", err)       # retried, said so
        with open(self.path("stub.log")) as f:
            pages = [line.split() for line in f]
        run_pages = [int(n) for what, n in pages if what == "runs"]
        self.assertEqual(sum(run_pages), 301)
        self.assertTrue(all(n <= 7 for n in run_pages))
        self.assertGreater(len(run_pages), 40)

        store = self.path("export.lmdb")
        index(store, out)
        want = self.expected()
        self.assertEqual(len(want), len(self.truth["artifacts"]))
        got = self.got(store)
        self.assertEqual(sorted(want), sorted(got))
        for q in want:
            self.assertEqual(want[q], got[q], q)
        # the truth itself agrees with indexing the generated archive
        orig = self.path("orig.lmdb")
        index(orig, self.synth)
        for q, (p, c, aliases, _, _) in self.got(orig).items():
            self.assertEqual((p, c, aliases), want[q][:3], q)
        # the running run has no finish; the others have their state
        runs = {r["id"]: r for r in query_json(store, "ls", "runs")}
        self.assertIsNone(runs["run:acme/synth/" + self.running]["state"])
        sh = runs["run:acme/shared/sh01"]
        self.assertEqual(sh["state"], "finished")
        # the code behind it, from run.metadata (wandb-metadata.json)
        self.assertEqual(
            (sh["host"], sh["program"], sh["git_remote"], sh["git_commit"],
             sh["args"]),
            ("ci", "build_tok.py", "https://example.org/tok.git", "feedbeef",
             ["--vocab", "32k"]))
        self.assertEqual(len(runs), 301)

        # a second export writes nothing, and downloads no run metadata
        before = snapshot(out)
        os.unlink(self.path("stub.log"))
        stdout, _ = self.export(out)
        self.assertIn("runs: 0 exported, 301 unchanged", stdout)
        self.assertEqual(before, snapshot(out))
        with open(self.path("stub.log")) as f:
            fetched = [line.split()[0] for line in f]
        self.assertNotIn("metadata", fetched)
        self.assertNotIn("logged", fetched)
        stdout, _ = index(store, out)
        self.assertIn("0 indexed, 301 unchanged", stdout)

        # a changed run and a new one: exactly those are written
        runs = self.truth["projects"]["acme/synth"]
        runs[0]["heartbeat_at"] = "2024-06-01T00:00:00"
        runs[0]["tags"] = ["re-tagged"]
        runs.append(dict(runs[1], id="newrun01", logged=[], used=[]))
        self.save_truth()
        stdout, _ = self.export(out)
        self.assertIn("runs: 2 exported, 300 unchanged", stdout)
        stdout, _ = index(store, out)
        self.assertIn("2 indexed, 300 unchanged", stdout)
        [r] = [r for r in query_json(store, "ls", "runs")
               if r["id"] == "run:acme/synth/" + runs[0]["id"]]
        self.assertEqual(r["tags"], ["re-tagged"])

    def test_online_wandb_log_links_by_server_id(self):
        """An online run's .wandb log holds only its uses, each naming the
        version by W&B's server id and by "collection[:vN]" without a
        project. Indexed with the export (which keeps each version's
        server id), they link to the exported versions by that id, in
        either order."""
        out = self.path("export")
        self.export(out)
        arts = self.truth["artifacts"]
        # a synth version that is not its collection's latest: W&B's
        # name without a version would name the latest
        old = sorted(q for q, a in arts.items()
                     if q.startswith("acme/synth/") and
                     "latest" not in a["aliases"])[0]
        coll = old.rpartition(":")[0]
        [newest] = [q for q, a in arts.items()
                    if q.rpartition(":")[0] == coll and
                    "latest" in a["aliases"]]
        tok = "acme/shared/tokenizer:v0"
        folder = self.path("wandb", "run-20300101_000000-onl01")
        os.makedirs(folder)
        with WandbLog(os.path.join(folder, "run-onl01.wandb")) as w:
            w.run("onl01", "acme", "synth", name="online-1",
                  job_type="evaluate", start=1893456000)  # 2030
            w.use(arts[old]["id"], arts[old]["type"],
                  coll.rpartition("/")[2])
            w.use(arts[tok]["id"], "tokenizer", "tokenizer:v0")
            w.use("QXJ0aWZhY3Q6c2VydmVyb25seQ==", "dataset", "ghost:v0")
            w.exit(0, 60)
        run_id = "run:acme/synth/onl01"
        together = self.path("together.lmdb")
        index(together, out, self.path("wandb"))
        online_first = self.path("online-first.lmdb")
        index(online_first, self.path("wandb"))
        index(online_first, out)
        for store in (together, online_first):
            self.assertIn(run_id, {r["id"] for r in
                                   query_json(store, "used-by", old)})
            self.assertIn(run_id, {r["id"] for r in
                                   query_json(store, "used-by", tok)})
            self.assertNotIn(run_id, {r["id"] for r in
                                      query_json(store, "used-by", newest)})
            used = query_json(store, "used", run_id)
            self.assertEqual(
                sorted(u["id"] for u in used),
                sorted(["artifact:" + old, "artifact:" + tok,
                        "unresolved:acme/synth/ghost:v0"]))
            [u] = [u for u in used if u["kind"] == "unresolved"]
            self.assertEqual(u["reason"], "wandb-online")
            a = query_json(store, "artifact", tok)[0]
            self.assertEqual(a["server_id"], arts[tok]["id"])
        self.assertEqual(answers(together), answers(online_first))
        # without the export the same uses are unresolved, W&B's reason
        alone = self.path("alone.lmdb")
        index(alone, self.path("wandb"))
        used = query_json(alone, "used", run_id)
        self.assertEqual([u["reason"] for u in used], ["wandb-online"] * 3)

    def test_tar_gz_out_equals_folder_out(self):
        d = self.path("dir-export")
        self.export(d)
        a = self.path("export.tar.gz")
        stdout, _ = self.export(a)
        self.assertIn("301 exported", stdout)
        sa, sd = self.path("a.lmdb"), self.path("d.lmdb")
        index(sa, a)
        index(sd, d)
        self.assertEqual(answers(sd), answers(sa))
        st = os.stat(a)
        with open(a, "rb") as f:
            data = f.read()
        stdout, _ = self.export(a)
        self.assertIn("0 exported, 301 unchanged", stdout)
        st2 = os.stat(a)
        self.assertEqual((st.st_ino, st.st_size, st.st_mtime_ns),
                         (st2.st_ino, st2.st_size, st2.st_mtime_ns))
        with open(a, "rb") as f:
            self.assertEqual(data, f.read())
        # one changed run rebuilds the archive with the others kept
        self.truth["projects"]["acme/synth"][3]["state"] = "crashed"
        self.save_truth()
        stdout, _ = self.export(a)
        self.assertIn("1 exported, 300 unchanged", stdout)
        stdout, _ = index(sa, a)
        self.assertIn("301 indexed", stdout)
        rid = "run:acme/synth/" + self.truth["projects"]["acme/synth"][3]["id"]
        [r] = [r for r in query_json(sa, "ls", "runs") if r["id"] == rid]
        self.assertEqual(r["state"], "crashed")

    def test_failing_run_reported_others_exported(self):
        victim = self.truth["projects"]["acme/synth"][7]["id"]
        self.truth["faults"]["always_fail"] = victim
        self.save_truth()
        out = self.path("export")
        stdout, err = self.export(out, "--retries", "2", code=69)
        self.assertIn("runs: 300 exported", stdout)
        self.assertIn("acme/synth/%s: failed:" % victim, err)
        self.assertFalse(any(victim in p for p, *_ in snapshot(out)))
        # the next export tries it again
        del self.truth["faults"]["always_fail"]
        self.save_truth()
        stdout, _ = self.export(out, "--json")
        self.assertEqual(json.loads(stdout), {
            "exported": 1, "unchanged": 300, "before_since": 0,
            "failed": []})

    def test_since_and_filters(self):
        out = self.path("export")
        stdout, _ = self.export(out, "--since", "2024-03-01T03:00:00Z")
        n = int(stdout.split("runs: ")[1].split()[0])
        self.assertGreater(n, 0)
        self.assertLess(n, 301)
        stdout, _ = self.export(self.path("f"), "--runs",
                                '{"state": "running"}')
        self.assertIn("runs: 1 exported", stdout)

    def test_damaged_previous_export(self):
        a = self.path("x.tar.gz")
        with open(a, "wb") as f:
            f.write(b"\x1f\x8b garbage")
        _, err = self.export(a, code=74)
        self.assertIn("cannot read the previous export", err)
        with open(a, "rb") as f:
            self.assertEqual(f.read(), b"\x1f\x8b garbage")  # untouched
        d = self.path("d")
        os.makedirs(d)
        with open(os.path.join(d, ".lineage-export-wandb.json"), "w") as f:
            f.write("{not json")
        stdout, err = self.export(d)
        self.assertIn("exporting every run again", err)
        self.assertIn("301 exported", stdout)

    def test_usage(self):
        _, err = run([sys.executable, EXPORT, "nonsense", "--out",
                      self.path("x")], code=64, env=self.env)
        self.assertIn("'nonsense' is not ENTITY/PROJECT", err)
        out, _ = run([sys.executable, EXPORT, "--help"], env=self.env)
        self.assertIn("ENTITY/PROJECT", out)
