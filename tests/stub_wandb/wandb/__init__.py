"""A stand-in for the `wandb` package's public API, for testing
lineage-export-wandb without a network.

It follows the documented public API (wandb/apis/public: Api.runs(path,
filters, order, per_page); Runs and Run.logged_artifacts()/
used_artifacts() as paginators that behave as W&B's do; Run attributes
id, name, entity, project, job_type, group, tags, state, created_at,
heartbeat_at, notes, metadata (a download per run: counted); Artifact
attributes id, entity, project, name, qualified_name, version, source_*
(the same: no links here), type, digest, aliases, created_at, size,
file_count, description, metadata) and serves what the JSON file named
by $LINEAGE_STUB_WANDB says: {"projects": {"e/p": [run, ...]},
"artifacts": {"e/p/n:vN": {...}}, "faults": {...}}. Every page it
serves is counted in $LINEAGE_STUB_LOG.

Faults, each raised once per process as wandb.errors.CommError:
"runs_page": N (the N-th page of run listings), "logged_artifacts": RUN
(the first page of that run's logged artifacts), "always_fail": RUN
(every call for that run's used artifacts).
"""

import json
import os

from . import errors

__version__ = "0.0-stub"

_raised = set()


def _log(what, n):
    path = os.environ.get("LINEAGE_STUB_LOG")
    if path:
        with open(path, "a") as f:
            f.write("%s %d\n" % (what, n))


def _fault(key):
    if key in _raised:
        return
    _raised.add(key)
    raise errors.CommError("stub: transient error fetching %s" % key)


class _Paginator:
    """As wandb.apis.paginator.Paginator: `objects` holds what was
    fetched; __next__ counts the item before fetching its page (so a
    failed fetch followed by next() skips one, as in the real one);
    __getitem__ fetches pages until the index is there, else IndexError.
    """

    def __init__(self, items, per_page, what, fault=None):
        self._items = items
        self.per_page = per_page
        self._what = what
        self._fault = fault          # (key, page) to fail once
        self.objects = []
        self.index = -1
        self._pages = 0

    @property
    def more(self):
        return self._pages * self.per_page < len(self._items)

    def _load_page(self):
        if not self.more:
            return False
        if self._fault and self._fault[1] == self._pages + 1:
            _fault(self._fault[0])
        start = self._pages * self.per_page
        page = self._items[start:start + self.per_page]
        self._pages += 1
        self.objects.extend(page)
        _log(self._what, len(page))
        return True

    def __iter__(self):
        self.index = -1
        return self

    def __next__(self):
        self.index += 1
        if len(self.objects) <= self.index:
            if not self._load_page():
                raise StopIteration
            if len(self.objects) <= self.index:
                raise StopIteration
        return self.objects[self.index]

    def __getitem__(self, index):
        loaded = True
        while loaded and index > len(self.objects) - 1:
            loaded = self._load_page()
        return self.objects[index]

    def __len__(self):
        return len(self._items)


class Artifact:
    def __init__(self, qualified, attrs):
        body, _, version = qualified.rpartition(":")
        entity, project, name = body.split("/")
        self.id = attrs["id"]
        self.entity = entity
        self.project = project
        self.name = "%s:%s" % (name, version)
        self.qualified_name = qualified
        self.version = version
        # not reached through a link: the source is the version itself
        self.source_entity = entity
        self.source_project = project
        self.source_name = self.name
        self.source_qualified_name = qualified
        self.source_version = version
        self.type = attrs["type"]
        self.digest = attrs["digest"]
        self.aliases = list(attrs.get("aliases", []))
        self.created_at = attrs.get("created_at")
        self.size = attrs.get("size")
        self.file_count = attrs.get("file_count")
        self.description = attrs.get("description")
        self.metadata = attrs.get("metadata") or {}


class Run:
    def __init__(self, api, entity, project, attrs):
        self._api = api
        self._attrs = attrs
        self.entity = entity
        self.project = project
        self.id = attrs["id"]
        self.path = [entity, project, self.id]
        self.name = attrs.get("name")
        self.job_type = attrs.get("job_type")
        self.group = attrs.get("group")
        self.tags = list(attrs.get("tags") or [])
        self.state = attrs.get("state")
        self.created_at = attrs.get("created_at")
        self.heartbeat_at = attrs.get("heartbeat_at")
        self.notes = attrs.get("notes")

    @property
    def metadata(self):
        """wandb-metadata.json, downloaded per run by the real API."""
        _log("metadata", 1)
        md = {k: self._attrs[k] for k in ("host", "program", "git", "args")
              if self._attrs.get(k)}
        return md

    def _artifacts(self, key, per_page, fault=None):
        arts = self._api._truth["artifacts"]
        items = [Artifact(q, arts[q]) for q in self._attrs.get(key, [])]
        return _Paginator(items, per_page, key, fault)

    def logged_artifacts(self, per_page=100):
        faults = self._api._truth.get("faults", {})
        fault = None
        if faults.get("logged_artifacts") == self.id:
            fault = ("logged_artifacts/" + self.id, 1)
        return self._artifacts("logged", per_page, fault)

    def used_artifacts(self, per_page=100):
        if self._api._truth.get("faults", {}).get("always_fail") == self.id:
            raise errors.CommError("stub: %s is unreachable" % self.id)
        return self._artifacts("used", per_page)


class Api:
    def __init__(self, overrides=None, timeout=None, api_key=None):
        with open(os.environ["LINEAGE_STUB_WANDB"]) as f:
            self._truth = json.load(f)

    def runs(self, path=None, filters=None, order="+created_at",
             per_page=50, include_sweeps=True):
        entity, project = path.split("/")
        runs = self._truth["projects"].get(path)
        if runs is None:
            raise ValueError("Could not find project %s" % path)
        items = [Run(self, entity, project, r) for r in runs
                 if all(r.get(k) == v for k, v in (filters or {}).items())]
        fault = None
        page = self._truth.get("faults", {}).get("runs_page")
        if page:
            fault = ("runs_page/%s" % path, page)
        return _Paginator(items, per_page, "runs", fault)
