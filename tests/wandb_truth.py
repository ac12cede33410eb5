"""A W&B server's view of a generated archive, for the stub wandb API:
the runs of `lineage-gen synth`, what each logged and used (the resolved
versions from the generator's --edges truth CSV), and each version's
attributes and aliases as they stand at the end."""

import csv
import datetime as dt
import glob
import gzip
import os

import msgpack


def iso(t):
    """W&B's timestamp strings: ISO 8601 without a zone, in UTC."""
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() \
        if t is not None else None


def records(folder):
    """(file, record) of every runlog under folder, files sorted."""
    for p in sorted(glob.glob(os.path.join(folder, "**", "*.runlog*"),
                              recursive=True)):
        f = gzip.open(p) if p.endswith(".gz") else open(p, "rb")
        with f:
            for i, r in enumerate(msgpack.Unpacker(f, raw=False,
                                                   timestamp=3)):
                if i:
                    yield p, r


def build(folder, edges_csv):
    """{"projects": {e/p: [run]}, "artifacts": {e/p/n:vN: attrs}}."""
    rows = {}
    with open(edges_csv) as f:
        for row in csv.DictReader(f):
            # a re-log is a log record too; rows keep the file's order
            kind = "logged" if row["kind"] == "relogged" else row["kind"]
            rows.setdefault((kind, row["run"]), []).append(
                row["artifact"])
    runs, order, arts, events = {}, [], {}, []
    cur = None
    for seq, (path, r) in enumerate(records(folder)):
        t = r.get("t")
        if t == "run":
            key = "%s/%s/%s" % (r["entity"], r["project"], r["id"])
            cur = runs.get(key)
            if cur is None:
                cur = runs[key] = {
                    "id": r["id"], "logged": [], "used": [],
                    "project": "%s/%s" % (r["entity"], r["project"]),
                    "_logs": iter(rows.get(("logged", key), [])),
                    "_uses": iter(rows.get(("used", key), []))}
                order.append(key)
            for k in ("name", "job_type", "group", "host", "tags"):
                if r.get(k) is not None:
                    cur[k] = r[k]
            if r.get("started_at") and "created_at" not in cur:
                cur["created_at"] = iso(r["started_at"])
                cur["_start"] = r["started_at"]
            cur["state"] = "running"
            cur["heartbeat_at"] = cur["created_at"]
        elif t == "log":
            q = next(cur["_logs"])
            if q not in cur["logged"]:
                cur["logged"].append(q)
            a = arts.setdefault(q, {
                "id": "QXJ0aWZhY3Q6%06d" % (len(arts) + 1),
                "type": r["type"], "digest": r["digest"],
                "size": r.get("size"), "file_count": r.get("files"),
                "description": r.get("description"),
                "metadata": r.get("metadata"),
                "created_at": iso(r.get("created_at") or cur["_start"]),
                "aliases": []})
            if r.get("aliases"):
                events.append((r.get("created_at") or cur["_start"], seq,
                               q, r["aliases"], []))
        elif t == "use":
            q = next(cur["_uses"])
            if q not in cur["used"]:
                cur["used"].append(q)
        elif t == "alias":
            coll, _, ver = r["ref"].rpartition(":")
            q = "%s/%s:%s" % (cur["project"], coll, ver)
            events.append((r.get("at"), seq, q, r.get("add") or [],
                           r.get("remove") or []))
        elif t == "finish":
            cur["state"] = r.get("state", "finished")
            if r.get("ended_at"):
                cur["heartbeat_at"] = iso(r["ended_at"])
    # aliases as they stand at the end: an alias names one version of a
    # collection at a time; untimed alias records come after timed ones
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    for _, _, q, add, remove in sorted(events, key=lambda e: (e[0] or far,
                                                              e[1])):
        coll = q.rpartition(":")[0]
        for alias in add:
            for other, a in arts.items():
                if other.rpartition(":")[0] == coll and alias in a["aliases"]:
                    a["aliases"].remove(alias)
            arts[q]["aliases"].append(alias)
        for alias in remove:
            if alias in arts[q]["aliases"]:
                arts[q]["aliases"].remove(alias)
    newest = {}
    for q in arts:
        coll, _, ver = q.rpartition(":")
        if int(ver[1:]) >= newest.get(coll, (-1, ""))[0]:
            newest[coll] = (int(ver[1:]), q)
    for _, q in newest.values():
        arts[q]["aliases"].insert(0, "latest")
    projects = {}
    for key in order:
        r = runs[key]
        projects.setdefault(r["project"], []).append(
            {k: v for k, v in r.items() if not k.startswith("_")})
    return {"projects": projects, "artifacts": arts}


if __name__ == "__main__":
    # python3 tests/wandb_truth.py DIR EDGES.csv > truth.json: what the
    # stub API (tests/stub_wandb) serves for a runlog folder.
    import json
    import sys
    json.dump(build(sys.argv[1], sys.argv[2]), sys.stdout, indent=1)
    sys.stdout.write("\n")
