"""Shared helpers of the Python tests (python3 -m unittest in tests/):
the built programs, temporary folders, indexing and querying."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYDIR = os.path.join(ROOT, "python")
INDEX = os.path.join(ROOT, "lineage-index")
QUERY = os.path.join(ROOT, "lineage-query")
GEN = os.path.join(ROOT, "lineage-gen")
sys.path.insert(0, PYDIR)


class TmpCase(unittest.TestCase):
    """A fresh temporary folder per test, as self.tmp."""

    def setUp(self):
        for prog in (INDEX, QUERY, GEN):
            if not os.access(prog, os.X_OK):
                self.fail("%s is not built (make all)" % prog)
        self.tmp = tempfile.mkdtemp(prefix="lineage-pytest-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)


def run(argv, code=0, env=None, cwd=None):
    """Run a program; check its exit status; return (stdout, stderr)."""
    p = subprocess.run(argv, capture_output=True, text=True, env=env,
                       cwd=cwd)
    if code is not None and p.returncode != code:
        raise AssertionError("%s exited %d, not %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(argv), p.returncode, code,
                                p.stdout, p.stderr))
    return p.stdout, p.stderr


def index(store, *paths, code=0, extra=()):
    return run([INDEX, "--store", store, *extra, *paths], code=code)


def query(store, *args, code=0):
    return run([QUERY, "--store", store, *args], code=code)[0]


def query_json(store, *args, code=0):
    return [json.loads(line) for line in
            query(store, "--json", *args, code=code).splitlines() if line]


def versions(store):
    """Every version in the store: {id: artifact JSON}."""
    return {a["id"]: a for a in query_json(store, "ls", "artifacts")}


def answers(store):
    """What the store answers about every version and run, as a sorted
    list of lines: attributes, producers, consumers, aliases, the full
    walk both ways and the audit. Internal ids and the order of rows
    (which follows indexing order) are left out."""
    out = []
    for vid, a in sorted(versions(store).items()):
        ref = vid[len("artifact:"):]
        out.append("version %s" % json.dumps(a, sort_keys=True))
        for cmd in ("logged-by", "used-by"):
            for r in query_json(store, cmd, ref):
                out.append("%s %s %s" % (cmd, ref, r["id"]))
        # which of two equally near nodes reached a node first follows
        # the ids, so a walk is compared by node and depth
        for r in query_json(store, "lineage", vid, "--both", "--depth",
                            "all"):
            if r.get("kind") != "summary":
                out.append("walk %s %s %d" % (ref, r["id"], r["depth"]))
    for r in query_json(store, "ls", "runs"):
        out.append("run %s" % json.dumps(r, sort_keys=True))
    out.extend(query(store, "check").splitlines())
    return sorted(out)
