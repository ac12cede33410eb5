"""Archives read in place: lineage-index over tar, tar.gz/bz2/xz and zip
exports gives the same answers as the unpacked folder (tests built here,
and the sample project's fixtures/sample.tar.gz and .zip)."""

import io
import os
import shutil
import tarfile
import zipfile

from pyhelpers import (ROOT, TmpCase, answers, index, query, query_json,
                       run)
from lineage_runlog import RunlogWriter

SAMPLE = os.path.join(ROOT, "fixtures", "sample")
WANDB_SAMPLE = os.path.join(ROOT, "fixtures", "wandb-sample")


def files_under(folder):
    """(path relative to folder's parent, bytes) of every file, sorted."""
    base = os.path.dirname(folder)
    out = []
    for d, dirs, names in os.walk(folder):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out.append((os.path.relpath(p, base), f.read()))
    return out


def make_tar(path, members, mode="w"):
    with tarfile.open(path, mode) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            t.addfile(info, io.BytesIO(data))


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)


def unpack(members, folder):
    for name, data in members:
        p = os.path.join(folder, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


class ArchiveTest(TmpCase):
    def folder_answers(self, members):
        d = self.path("unpacked-%d" % len(os.listdir(self.tmp)))
        unpack(members, d)
        store = d + ".lmdb"
        index(store, d, code=None)
        return answers(store)

    def archive_answers(self, archive, code=0):
        store = archive + ".lmdb"
        out, err = index(store, archive, code=code)
        return answers(store), out, err

    def test_sample_fixtures_equal_the_folder(self):
        """The shipped sample.tar.gz and sample.zip hold exactly the
        sample folder, and index to the same answers."""
        want = files_under(SAMPLE)
        with tarfile.open(os.path.join(ROOT, "fixtures",
                                       "sample.tar.gz")) as t:
            got = sorted((m.name, t.extractfile(m).read())
                         for m in t if m.isfile())
        self.assertEqual(sorted(want), got)
        with zipfile.ZipFile(os.path.join(ROOT, "fixtures",
                                          "sample.zip")) as z:
            got = sorted((n, z.read(n)) for n in z.namelist()
                         if not n.endswith("/"))
        self.assertEqual(sorted(want), got)
        store = self.path("folder.lmdb")
        index(store, SAMPLE)
        folder = answers(store)
        self.assertGreater(len(folder), 100)
        for name in ("sample.tar.gz", "sample.zip"):
            store = self.path(name + ".lmdb")
            out, _ = index(store, os.path.join(ROOT, "fixtures", name))
            self.assertIn("files:  7 indexed", out)
            self.assertEqual(folder, answers(store), name)

    def test_every_kind_gives_the_folders_answers(self):
        members = files_under(SAMPLE) + files_under(WANDB_SAMPLE)
        want = self.folder_answers(members)
        for suffix, mode in ((".tar", "w"), (".tar.gz", "w:gz"),
                             (".tgz", "w:gz"), (".tar.bz2", "w:bz2"),
                             (".tar.xz", "w:xz")):
            a = self.path("export" + suffix)
            make_tar(a, members, mode)
            got, out, err = self.archive_answers(a)
            self.assertEqual(want, got, suffix)
            self.assertIn("10 indexed", out)
        a = self.path("export.zip")
        make_zip(a, members)
        self.assertEqual(want, self.archive_answers(a)[0])

    def test_members_are_named_archive_slash_slash_member(self):
        a = self.path("e.tar.gz")
        make_tar(a, files_under(SAMPLE), "w:gz")
        store = self.path("s.lmdb")
        out, _ = index(store, "-v", a)
        self.assertIn("indexed   %s//sample/mnist/01-upload.runlog" % a,
                      out)
        self.assertIn("ignored   %s//sample/README.md" % a, out)

    def test_nested_one_level(self):
        inner = self.path("inner.zip")
        make_zip(inner, files_under(SAMPLE))
        w = self.path("wandb.tar")
        make_tar(w, files_under(WANDB_SAMPLE))
        with open(inner, "rb") as f:
            zbytes = f.read()
        with open(w, "rb") as f:
            wbytes = f.read()
        outer = self.path("outer.tar.gz")
        make_tar(outer, [("a/inner.zip", zbytes), ("wandb.tar", wbytes)],
                 "w:gz")
        want = self.folder_answers(files_under(SAMPLE) +
                                   files_under(WANDB_SAMPLE))
        got, _, err = self.archive_answers(outer)
        self.assertEqual(want, got)
        self.assertIn("outer.tar.gz//wandb.tar//wandb-sample/wandb/run-",
                      err)  # the note of the run still writing
        # a third level is not read, and says so
        deep = self.path("deep.tar")
        with open(outer, "rb") as f:
            make_tar(deep, [("outer.tar.gz", f.read())])
        _, out, err = self.archive_answers(deep, code=0)
        self.assertIn("deep.tar//outer.tar.gz//a/inner.zip: not read: "
                      "an archive in an archive in an archive", err)
        self.assertIn("0 indexed", out)

    def test_damaged_member_reported_others_indexed(self):
        good = files_under(SAMPLE)
        runlogs = [m for m in good if m[0].endswith(".runlog")]
        # a member that is not a runlog past its first byte is rejected;
        # one cut inside a record (the log of a run that crashed, as a
        # file would be) keeps its complete records, with a note
        bad = ("sample/broken.runlog", b"\x82\xc1\xc1" + runlogs[1][1])
        cut = ("sample/cut.runlog", runlogs[1][1][:-7])
        members = runlogs[:2] + [bad, cut] + runlogs[2:]
        want = self.folder_answers(runlogs + [cut])
        for suffix in (".tar", ".tar.gz"):
            a = self.path("d" + suffix)
            make_tar(a, members, "w" + (":gz" if suffix != ".tar" else ""))
            got, out, err = self.archive_answers(a, code=65)
            self.assertEqual(want, got, suffix)
            self.assertIn("%s//sample/broken.runlog: at byte 1: invalid "
                          "MessagePack byte 0xc1" % a, err)
            self.assertIn("%s//sample/cut.runlog: at byte " % a, err)
            self.assertIn("file ends inside a record", err)
            self.assertIn("1 rejected", out)
            self.assertIn("(1 still being written)", out)
        members = runlogs[:2] + [("sample/broken.runlog",
                                  runlogs[1][1][:-7])] + runlogs[2:]
        want = self.folder_answers(runlogs)
        # zip: the member's deflate data itself damaged
        a = self.path("d.zip")
        make_zip(a, members)
        with open(a, "rb") as f:
            z = bytearray(f.read())
        at = z.index(b"sample/broken.runlog") + len("sample/broken.runlog")
        for i in range(at + 20, at + 40):
            z[i] ^= 0x55
        with open(a, "wb") as f:
            f.write(z)
        got, out, err = self.archive_answers(a, code=65)
        self.assertEqual(want, got)
        self.assertIn("%s//sample/broken.runlog: at byte " % a, err)
        self.assertIn("of the archive", err)

    def test_truncated_archive_keeps_members_before(self):
        # large enough that libarchive reads members before the cut
        big = self.path("big")
        run([os.path.join(ROOT, "lineage-gen"), "synth", "--runs", "3000",
             "--runs-per-file", "100", "--gzip-every", "0", big])
        members = files_under(big)
        a = self.path("t.tar.gz")
        make_tar(a, members, "w:gz")
        with open(a, "rb") as f:
            data = f.read()
        with open(a, "wb") as f:
            f.write(data[:len(data) // 2])
        store = self.path("t.lmdb")
        out, err = index(store, "-v", a, code=65)
        self.assertIn("%s: at byte " % a, err)
        n = out.count("indexed   ")
        self.assertGreater(n, 3)
        self.assertLess(n, len(members))
        # no entry for the archive: read again (and reported) next time
        out, err = index(store, a, code=65)
        self.assertNotIn("1 unchanged", out)

    def test_member_larger_than_the_memory_limits(self):
        """A 21 MiB member (over the reader's 16 MiB max_record and its
        256 KiB window) streams through."""
        src = self.path("big-src")
        os.makedirs(src)
        p = os.path.join(src, "big.runlog")
        with RunlogWriter(p) as w:
            for i in range(24):
                w.run(id="r%02d" % i, entity="e", project="p",
                      notes=("%02d" % i) * (450 << 10))
                w.log(type="blob", name="big", digest="d%02d" % i)
                w.finish("finished", exit_code=0)
        self.assertGreater(os.path.getsize(p), 21 << 20)
        with open(p, "rb") as f:
            members = [("big.runlog", f.read())]
        want = self.folder_answers(members)
        for suffix, mode in ((".tar.gz", "w:gz"), (".tar", "w")):
            a = self.path("big" + suffix)
            make_tar(a, members, mode)
            got, out, _ = self.archive_answers(a)
            self.assertEqual(want, got)
            self.assertIn("records: 72 indexed", out)

    def test_unchanged_skipped_changed_replaced(self):
        members = files_under(SAMPLE)
        a = self.path("x.tar.gz")
        make_tar(a, members, "w:gz")
        store = self.path("x.lmdb")
        index(store, a)
        out, _ = index(store, "-v", a)
        self.assertIn("unchanged %s" % a, out)
        self.assertIn("files:  0 indexed, 1 unchanged", out)
        # drop a member, change another: the archive replaces what it gave
        kept = [m for m in members if "evaluations" not in m[0]]
        os.unlink(a)
        make_tar(a, kept, "w:gz")
        out, _ = index(store, "-v", a)
        self.assertIn("pruned    %s//sample/mnist/eval/evaluations.runlog"
                      % a, out)
        self.assertEqual(self.folder_answers(kept), answers(store))

    def test_archives_found_in_folders_and_vanish(self):
        d = self.path("exports")
        os.makedirs(d)
        make_zip(os.path.join(d, "one.zip"), files_under(SAMPLE))
        store = self.path("f.lmdb")
        out, _ = index(store, d)
        self.assertIn("7 indexed", out)
        self.assertEqual(len(query_json(store, "ls", "runs")), 11)
        os.unlink(os.path.join(d, "one.zip"))
        out, err = index(store, d)
        self.assertIn("one.zip//sample/mnist/01-upload.runlog: vanished",
                      err)
        out, _ = index(store, "--prune", d)
        self.assertIn("8 pruned", out)   # 7 members and the archive
        self.assertEqual(query(store, "ls", "runs"), "")

    def test_not_an_archive_named_as_one(self):
        a = self.path("fake.zip")
        with open(a, "wb") as f:
            f.write(b"this is not a zip file at all\n" * 40)
        store = self.path("n.lmdb")
        _, err = index(store, a, code=65)
        self.assertIn("fake.zip: ", err)
        self.assertIn("cannot read archive", err)
        # in a folder, a file that only looks like one is ignored
        d = self.path("dir")
        os.makedirs(d)
        shutil.copy(a, os.path.join(d, "data.bin"))
        out, _ = index(store, "-v", d)
        self.assertIn("ignored", out)


class BombTest(TmpCase):
    def test_decompression_bomb_refused(self):
        """600 MiB of zeros in a 0.6 MiB .tar.gz: refused past 256 MiB at
        more than 500:1, without inflating it all."""
        import gzip
        a = self.path("bomb.tar.gz")
        size = 600 << 20
        info = tarfile.TarInfo("zeros.bin")
        info.size = size
        with gzip.open(a, "wb", compresslevel=9) as g:
            g.write(info.tobuf(tarfile.USTAR_FORMAT))
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                g.write(block)
            g.write(bytes(1024))
        self.assertLess(os.path.getsize(a), 1 << 20)
        store = self.path("b.lmdb")
        _, err = index(store, a, code=65)
        self.assertIn("refusing a likely decompression bomb", err)


class DamagedArchiveTest(TmpCase):
    def test_random_damage_never_crashes_or_hangs(self):
        """Seeded random byte damage to the sample archives (and cuts):
        lineage-index exits 0 or 65 within seconds, never by a signal,
        and the store stays readable."""
        import random
        import subprocess
        from pyhelpers import INDEX
        rnd = random.Random(11)
        for name in ("sample.tar.gz", "sample.zip"):
            with open(os.path.join(ROOT, "fixtures", name), "rb") as f:
                orig = f.read()
            for i in range(40):
                data = bytearray(orig)
                if i % 5 == 4:
                    data = data[:rnd.randrange(len(data))]
                else:
                    for _ in range(rnd.randrange(1, 8)):
                        data[rnd.randrange(len(data))] = rnd.randrange(256)
                a = self.path("%d-%s" % (i, name))
                with open(a, "wb") as f:
                    f.write(data)
                store = self.path("%d.lmdb" % i)
                p = subprocess.run([INDEX, "--store", store, a],
                                   capture_output=True, timeout=30)
                err = p.stderr.decode("utf-8")   # names shown as UTF-8
                self.assertIn(p.returncode, (0, 65), "%s: %s" % (a, err))
                query(store, "stats")
                os.unlink(a)


class ArchiveCrashTest(TmpCase):
    def test_killed_while_reading_an_archive(self):
        """kill -9 at random moments while an archive is indexed: the
        next run completes it, and the store answers as a clean index."""
        import random
        import signal
        import subprocess
        import time
        from pyhelpers import GEN, INDEX
        src = self.path("synth")
        run([GEN, "synth", "--runs", "3000", "--runs-per-file", "20",
             src])
        a = self.path("s.tar.gz")
        make_tar(a, files_under(src), "w:gz")
        clean = self.path("clean.lmdb")
        t0 = time.monotonic()
        index(clean, a)
        took = time.monotonic() - t0
        want = self.summary(clean)
        store = self.path("k.lmdb")
        env = dict(os.environ, LINEAGE_GROUP_MS="3")
        rnd = random.Random(7)
        killed = 0
        for i in range(8):
            # a changed archive is read whole again: kills land inside
            os.utime(a, (1700000000 + i, 1700000000 + i))
            p = subprocess.Popen([INDEX, "-q", "--store", store, a],
                                 env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0.1, 0.9) * took)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                killed += 1
            p.wait()
            query(store, "stats")        # readable after every kill
        self.assertGreater(killed, 0)
        index(store, a)
        self.assertEqual(want, self.summary(store))

    def summary(self, store):
        """Runs, versions and every version's downstream, in three
        processes (answers() asks per version, too slow here)."""
        import json
        arts = query(store, "--json", "ls", "artifacts")
        roots = self.path("roots")
        with open(roots, "w") as f:
            for line in arts.splitlines():
                f.write(json.loads(line)["id"] + "\n")
        impact = query(store, "impact", "--from", roots, "--format", "csv")
        # the edge that reached a node ("from") follows indexing order
        rows = sorted(",".join(r.split(",")[:5])
                      for r in impact.splitlines())
        return (sorted(arts.splitlines()),
                sorted(query(store, "--json", "ls", "runs").splitlines()),
                rows, query(store, "check"))


def pack_sample():
    """Write fixtures/sample.tar.gz and fixtures/sample.zip from
    fixtures/sample, byte for byte reproducibly (fixed times and owners):
    python3 tests/test_archive.py pack"""
    import gzip
    members = files_under(SAMPLE)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w",
                      format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1709251200, 0o644
            info.uname = info.gname = "root"
            t.addfile(info, io.BytesIO(data))
    with open(os.path.join(ROOT, "fixtures", "sample.tar.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=1709251200,
                           filename="") as g:
            g.write(buf.getvalue())
    with zipfile.ZipFile(os.path.join(ROOT, "fixtures", "sample.zip"), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["pack"]:
        pack_sample()
