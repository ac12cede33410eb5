"""lineage_runlog - write runlog v1 files (FORMAT.md) from Python.

Any pipeline can record its lineage with it: which artifact versions a
run used and logged, and how it ended. lineage-index reads the files.

    from lineage_runlog import RunlogWriter

    with RunlogWriter("train.runlog.gz", gzip=True) as w:
        w.run(id="2x9k1", entity="acme", project="mnist",
              job_type="train", started_at=time.time())
        w.use("mnist-raw:v0", type="raw_dataset")
        w.log(type="model", name="mnist-cnn", digest="5f2c0a...",
              aliases=["best"])
        w.finish("finished", exit_code=0)

Every method checks its record the way lineage-index does and raises
RunlogError (a ValueError) for what the indexer would reject: a missing
or empty required key, a wrong type, a bad artifact ref, a record that
names no run, a name or value past the indexer's limits. Nothing of a
rejected record is written.

Times are datetime objects (naive ones are taken as UTC) or int/float
seconds since the Unix epoch; they are written as MessagePack
timestamps. The file is written under a hidden temporary name in the
same folder and renamed into place by close(), so an indexer never sees
half of it; abort() drops it instead.

Needs only the standard library and msgpack (Debian: python3-msgpack).
"""

import datetime as _dt
import gzip as _gzip
import os
import re

import msgpack

__all__ = ["RunlogWriter", "RunlogError", "RUNLOG_VERSION"]

RUNLOG_VERSION = 1

# The reader's and the indexer's limits (FORMAT.md "Hard limits",
# indexer/apply.c): a record past them would be rejected.
MAX_RECORD = 16 << 20     # encoded bytes of one record
MAX_STRING = 1 << 20      # bytes of one str/bin
MAX_ITEMS = 65536         # entries of one array or map
MAX_DEPTH = 32            # nesting, the record's own map being 1
MAX_KEY = 480             # entity/project/name, refs
MAX_NAME = 200            # aliases and ref selectors
MAX_SERVER_ID = 200       # a W&B server id (server_id)
_NS_MIN, _NS_MAX = -(1 << 63), (1 << 63) - 1


class RunlogError(ValueError):
    """A record lineage-index would reject; nothing of it was written."""


_VERSION_RE = re.compile(r"^v[0-9]+$")


def _utf8_len(s):
    return len(s.encode("utf-8"))


class RunlogWriter:
    """Writes one runlog v1 file.

    path: where the file goes (renamed there by close()).
    gzip: compress the whole file (one gzip member).
    producer: the header's free-text producer name.
    created_at: the header's time (default: now).
    """

    def __init__(self, path, gzip=False, producer="lineage_runlog.py",
                 created_at=None):
        self.path = os.fspath(path)
        folder, base = os.path.split(os.path.abspath(self.path))
        # hidden, so that lineage-index walking the folder passes it over
        self._tmp = os.path.join(folder, ".%s.tmp-%d" % (base, os.getpid()))
        self._raw = open(self._tmp, "wb")
        self._out = (_gzip.GzipFile(fileobj=self._raw, mode="wb", mtime=0)
                     if gzip else self._raw)
        self._packer = msgpack.Packer(use_bin_type=True, datetime=False)
        self._run = None          # the file's current run id
        self._types = {}          # collection -> type, as the indexer keeps
        self._closed = False
        self.records = 0
        header = {"runlog": RUNLOG_VERSION}
        if producer is not None:
            header["producer"] = self._str(producer, "producer", "header")
        header["created_at"] = self._time(
            created_at if created_at is not None
            else _dt.datetime.now(_dt.timezone.utc), "created_at", "header")
        self._emit(header)

    # ---- context manager -------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # The records written so far are whole: keep them even when the
        # pipeline failed (a run without `finish` shows as unfinished).
        self.close()
        return False

    # ---- records ----------------------------------------------------------

    def run(self, id, entity=None, project=None, name=None, job_type=None,
            group=None, host=None, notes=None, tags=None, started_at=None,
            program=None, git_remote=None, git_commit=None, args=None):
        """A run starts, or its attributes change (resumed runs repeat
        it). Later records without `run` belong to this run. `program`,
        `git_remote`, `git_commit` and `args` are the code behind it."""
        rec = {"t": "run", "id": self._run_id(id, "id", "run")}
        self._opt_strs(rec, "run", entity=entity, project=project,
                       name=name, job_type=job_type, group=group,
                       host=host, notes=notes)
        if tags is not None:
            rec["tags"] = self._strs(tags, "tags", "run")
        if started_at is not None:
            rec["started_at"] = self._time(started_at, "started_at", "run")
        self._opt_strs(rec, "run", program=program, git_remote=git_remote,
                       git_commit=git_commit)
        if args is not None:
            rec["args"] = self._strs(args, "args", "run")
        self._key_len(entity, project, id, "run")
        self._emit(rec)
        self._run = id
        return self

    def log(self, type, name, digest, run=None, entity=None, project=None,
            version=None, aliases=None, size=None, files=None,
            description=None, metadata=None, created_at=None,
            server_id=None):
        """The run produced (logged) an artifact version: `name` is the
        collection, `digest` its content hash. `entity`/`project` name
        the collection's project when it is not the run's. `server_id`
        is the version's id on a W&B server, when it came from one."""
        rec = {"t": "log",
               "type": self._name(type, "type", "log"),
               "name": self._coll_name(name, "log"),
               "digest": self._name(digest, "digest", "log")}
        if _utf8_len(digest) > MAX_KEY - 8:
            raise RunlogError("'log' record: digest longer than %d bytes"
                              % (MAX_KEY - 8))
        self._run_key(rec, run, "log")
        self._opt_strs(rec, "log", entity=entity, project=project)
        if version is not None:
            rec["version"] = self._version(version)
        if aliases is not None:
            rec["aliases"] = [self._alias(a, "log")
                              for a in self._strs(aliases, "aliases", "log")]
        if size is not None:
            rec["size"] = self._count(size, "size", "log")
        if files is not None:
            rec["files"] = self._count(files, "files", "log")
        self._opt_str(rec, "description", description, "log")
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise RunlogError("key 'metadata' of 'log' record must be "
                                  "a dict")
            self._check_value(metadata, "metadata", 2)
            rec["metadata"] = metadata
        if created_at is not None:
            rec["created_at"] = self._time(created_at, "created_at", "log")
        self._opt_str(rec, "server_id", server_id, "log")
        if server_id is not None and _utf8_len(server_id) > MAX_SERVER_ID:
            raise RunlogError("'log' record: server_id longer than %d "
                              "bytes" % MAX_SERVER_ID)
        self._key_len(entity, project, name, "log")
        key = (entity, project, name)
        if self._types.setdefault(key, type) != type:
            raise RunlogError("'log' record: artifact '%s' has type '%s' in "
                              "this file; this record says '%s'"
                              % (name, self._types[key], type))
        self._emit(rec)
        return self

    def use(self, ref, type=None, digest=None, run=None, entity=None,
            project=None, at=None):
        """The run used (consumed) an artifact version: `ref` is
        'name:alias', 'name:vN' or 'entity/project/name:...'; `digest`
        pins the exact version."""
        rec = {"t": "use", "ref": self._ref(ref, "use")}
        self._run_key(rec, run, "use")
        self._opt_strs(rec, "use", type=type, digest=digest, entity=entity,
                       project=project)
        if at is not None:
            rec["at"] = self._time(at, "at", "use")
        self._emit(rec)
        return self

    def alias(self, ref, add=None, remove=None, at=None):
        """Aliases move outside a run: `ref` names a version
        ('name:vN', 'name:#DIGEST', or with 'entity/project/')."""
        rec = {"t": "alias", "ref": self._ref(ref, "alias")}
        sel = ref.rsplit(":", 1)[1] if ":" in ref else ""
        if not (_VERSION_RE.match(sel) or sel.startswith("#")):
            raise RunlogError("'alias' record: ref '%s' must name a version "
                              "(name:vN)" % ref)
        if add is not None:
            rec["add"] = [self._alias(a, "alias")
                          for a in self._strs(add, "add", "alias")]
        if remove is not None:
            rec["remove"] = [self._alias(a, "alias")
                             for a in self._strs(remove, "remove", "alias")]
        if at is not None:
            rec["at"] = self._time(at, "at", "alias")
        self._emit(rec)
        return self

    def finish(self, state=None, exit_code=None, ended_at=None, run=None,
               entity=None, project=None):
        """The run ended: `state` is 'finished', 'failed' or 'crashed'."""
        rec = {"t": "finish"}
        self._run_key(rec, run, "finish")
        self._opt_strs(rec, "finish", state=state)
        if exit_code is not None:
            if (not isinstance(exit_code, int) or isinstance(exit_code, bool)
                    or not _NS_MIN <= exit_code <= _NS_MAX):
                raise RunlogError("key 'exit_code' of 'finish' record must "
                                  "be a 64-bit integer")
            rec["exit_code"] = exit_code
        if ended_at is not None:
            rec["ended_at"] = self._time(ended_at, "ended_at", "finish")
        self._opt_strs(rec, "finish", entity=entity, project=project)
        self._emit(rec)
        return self

    # ---- end --------------------------------------------------------------

    def close(self):
        """Finish the file and rename it into place."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._out is not self._raw:
                self._out.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self._drop()
            raise

    def abort(self):
        """Drop the file: nothing is written at `path`."""
        if self._closed:
            return
        self._closed = True
        self._drop()

    def _drop(self):
        try:
            self._raw.close()
        finally:
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass

    # ---- checks -----------------------------------------------------------

    def _emit(self, obj):
        if self._closed:
            raise RunlogError("the writer is closed")
        data = self._packer.pack(obj)
        if len(data) > MAX_RECORD:
            raise RunlogError("'%s' record of %d bytes exceeds the "
                              "max_record limit of %d bytes"
                              % (obj.get("t", "header"), len(data),
                                 MAX_RECORD))
        self._out.write(data)
        self.records += 1

    def _str(self, v, key, kind):
        if not isinstance(v, str):
            raise RunlogError("key '%s' of '%s' record must be a string"
                              % (key, kind))
        if _utf8_len(v) > MAX_STRING:
            raise RunlogError("key '%s' of '%s' record exceeds the "
                              "max_string limit of %d bytes"
                              % (key, kind, MAX_STRING))
        return v

    def _name(self, v, key, kind):
        if v is None:
            raise RunlogError("'%s' record lacks required key '%s'"
                              % (kind, key))
        self._str(v, key, kind)
        if not v:
            raise RunlogError("'%s' record: key '%s' is empty" % (kind, key))
        return v

    def _opt_str(self, rec, key, v, kind):
        if v is not None:
            rec[key] = self._str(v, key, kind)

    def _opt_strs(self, rec, kind, **values):
        """The optional string keys of a record, in the order given."""
        for key, v in values.items():
            self._opt_str(rec, key, v, kind)

    def _strs(self, v, key, kind):
        if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
            raise RunlogError("key '%s' of '%s' record must be a list of "
                              "strings" % (key, kind))
        if len(v) > MAX_ITEMS:
            raise RunlogError("key '%s' of '%s' record has more than %d "
                              "items" % (key, kind, MAX_ITEMS))
        return [self._str(s, key, kind) for s in v]

    def _short(self, v, what, kind):
        """Aliases and artifact names: non-empty, at most MAX_NAME."""
        if not v:
            raise RunlogError("'%s' record: empty %s" % (kind, what))
        if _utf8_len(v) > MAX_NAME:
            raise RunlogError("'%s' record: %s '%.40s...' is longer than "
                              "%d bytes" % (kind, what, v, MAX_NAME))
        return v

    def _alias(self, a, kind):
        return self._short(a, "alias", kind)

    def _coll_name(self, name, kind):
        self._name(name, "name", kind)
        if "/" in name or ":" in name:
            raise RunlogError("'%s' record: artifact name '%s' must not "
                              "hold '/' or ':'" % (kind, name))
        return self._short(name, "artifact name", kind)

    def _ref(self, ref, kind):
        """[entity/project/]name[:sel], as the indexer splits it."""
        self._name(ref, "ref", kind)
        if _utf8_len(ref) > MAX_KEY:
            raise RunlogError("'%s' record: ref '%.40s...' is too long"
                              % (kind, ref))
        body, colon, sel = ref.rpartition(":")
        if not colon:
            body, sel = ref, "latest"
        parts = body.split("/")
        if (len(parts) > 3 or any(not p for p in parts) or not sel):
            raise RunlogError("'%s' record: bad artifact ref '%s' (expected "
                              "[entity/project/]name:alias)" % (kind, ref))
        self._alias(sel, kind)
        return ref

    def _run_key(self, rec, run, kind):
        if run is not None:
            rec["run"] = self._run_id(run, "run", kind)
        elif self._run is None:
            raise RunlogError("'%s' record names no run and follows no run "
                              "record" % kind)

    def _run_id(self, v, key, kind):
        """A run id (`id` of a run record, `run` of the others): no '/',
        as "entity/project/run_id" is read at its first two."""
        self._name(v, key, kind)
        if "/" in v:
            raise RunlogError("'%s' record: run id '%s' must not hold '/'"
                              % (kind, v))
        return v

    def _key_len(self, entity, project, name, kind):
        # "entity/project/name" is read at its first two '/' (the name
        # is checked as a run id or an artifact name already)
        for what, v in (("entity", entity), ("project", project)):
            if v and "/" in v:
                raise RunlogError("'%s' record: %s '%s' must not hold '/'"
                                  % (kind, what, v))
        key = "%s/%s/%s" % (entity or "", project or "", name)
        if _utf8_len(key) > MAX_KEY:
            raise RunlogError("'%s' record: entity/project/name is longer "
                              "than %d bytes" % (kind, MAX_KEY))

    def _version(self, v):
        if isinstance(v, bool) or not (
                (isinstance(v, int) and 0 <= v <= _NS_MAX) or
                (isinstance(v, str) and _VERSION_RE.match(v))):
            raise RunlogError("key 'version' of 'log' record must be a "
                              "non-negative integer or 'vN'")
        return v

    def _count(self, v, key, kind):
        if isinstance(v, bool) or not isinstance(v, int) or \
                not 0 <= v <= _NS_MAX:
            raise RunlogError("key '%s' of '%s' record must be a "
                              "non-negative integer" % (key, kind))
        return v

    def _time(self, v, key, kind):
        """A msgpack Timestamp in the reader's int64 nanosecond range."""
        if isinstance(v, _dt.datetime):
            if v.tzinfo is None:
                v = v.replace(tzinfo=_dt.timezone.utc)
            delta = v - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
            ns = (delta.days * 86400 + delta.seconds) * 10**9 + \
                delta.microseconds * 1000
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise RunlogError("key '%s' of '%s' record must be a time "
                              "(datetime or seconds)" % (key, kind))
        elif isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise RunlogError("key '%s' of '%s' record must be a finite "
                                  "time" % (key, kind))
            ns = round(v * 1e9)
        else:
            ns = v * 10**9
        if not _NS_MIN <= ns <= _NS_MAX:
            raise RunlogError("key '%s' of '%s' record must be a time within "
                              "the 64-bit nanosecond range" % (key, kind))
        return msgpack.Timestamp.from_unix_nano(ns)

    def _check_value(self, v, key, depth):
        """Metadata: plain msgpack values within the reader's limits."""
        if depth > MAX_DEPTH:
            raise RunlogError("key '%s': nesting exceeds the max_depth "
                              "limit of %d" % (key, MAX_DEPTH))
        if isinstance(v, dict):
            if len(v) > MAX_ITEMS:
                raise RunlogError("key '%s': map of %d entries exceeds the "
                                  "max_items limit of %d"
                                  % (key, len(v), MAX_ITEMS))
            for k, x in v.items():
                self._check_value(k, key, depth + 1)
                self._check_value(x, key, depth + 1)
        elif isinstance(v, (list, tuple)):
            if len(v) > MAX_ITEMS:
                raise RunlogError("key '%s': array of %d items exceeds the "
                                  "max_items limit of %d"
                                  % (key, len(v), MAX_ITEMS))
            for x in v:
                self._check_value(x, key, depth + 1)
        elif isinstance(v, str):
            if _utf8_len(v) > MAX_STRING:
                raise RunlogError("key '%s': string exceeds the max_string "
                                  "limit of %d" % (key, MAX_STRING))
        elif isinstance(v, (bytes, bytearray)):
            if len(v) > MAX_STRING:
                raise RunlogError("key '%s': bytes exceed the max_string "
                                  "limit of %d" % (key, MAX_STRING))
        elif isinstance(v, int) and not isinstance(v, bool):
            if not -(1 << 63) <= v < (1 << 64):
                raise RunlogError("key '%s': integer out of the 64-bit "
                                  "range" % key)
        elif not (v is None or isinstance(v, (bool, float))):
            raise RunlogError("key '%s': values must be maps, lists, "
                              "strings, bytes, numbers, booleans or None, "
                              "not %s" % (key, type(v).__name__))
