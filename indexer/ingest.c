/* ingest.c - finding run logs, and indexing each one together with its
 * bookkeeping (the `sources` database), whole or not at all, in group
 * commits. */
#include "format/grow.h"
#include "indexer/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/statvfs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/archive.h"
#include "format/runlog.h"
#include "format/wandb.h"
#include "format/wmeta.h"
#include "indexer/idbits.h"
#include "indexer/ix.h"
#include "indexer/moves.h"
#include "indexer/replay.h"

#define MAX_REPORTS_PER_FILE 20

enum fmt { FMT_NONE, FMT_RUNLOG, FMT_WANDB, FMT_ARCHIVE };

struct ctx {
	struct lin_store s;
	const struct lin_index_opts *o;
	struct lin_index_stats *st;
	struct lin_err *err;
	struct ix x;
	struct lin_idbits seen;  /* source ids met in this run */
	uint64_t done;
	double last_sync;
	/* Group commit: files are written into `group`, committed
	 * GROUP_INTERVAL apart (unless opts->sync: each file alone). LMDB
	 * cannot undo a part of a transaction short of a nested one, which
	 * costs a page-list allocation per file and a copy of every page the
	 * file writes; so a file that has to be undone after it wrote takes
	 * its group with it, and the group's earlier files are indexed
	 * again (undo_file, redo_group). Archive members are the exception
	 * (`nest`): they cannot be read again, so each is still a nested
	 * transaction. */
	MDB_txn *group;
	int nest;
	double group_start, group_interval;
	uint64_t group_records;
	/* Files handled since the last group commit, and the counters as
	 * they were then: a group that finds the map full, or that a file
	 * had to be undone from, is redone whole. */
	struct group_file { char *path; int named; } *gfiles;
	size_t ngfiles, capgfiles;
	struct lin_index_stats gstats;
	uint64_t gdone;
	int undo;                /* the file was undone with its group */
	int quiet;               /* files indexed again: reported before */
	/* Paths are shown as given and stored absolute: the root being
	 * walked, in both forms. */
	const char *given, *abs;
	/* A file's warnings and notes, held until the file is done: a file
	 * read twice (fileruns.h) reports only its last reading. */
	struct held { enum lin_file_status st; struct lin_err e; }
		held[MAX_REPORTS_PER_FILE + 2];
	size_t nheld;
	int redo;                /* the file must be read again */
	struct ix_orphans orphans; /* sources whose file is gone (moves.h) */
	/* The archive member being read is copied here for a second
	 * reading; NULL for a file, which is simply opened again. */
	struct ix_replay *copy;
	struct file_head *fh;    /* the file being read (index_file_once) */
};

/* `path` with its prefix `from` replaced by `to` (in `buf`), or `path`
 * itself when it does not start with `from`. */
static const char *swap_prefix(const char *path, const char *from,
			       const char *to, char *buf, size_t n)
{
	size_t fl = strlen(from);

	if (strncmp(path, from, fl) != 0)
		return path;
	snprintf(buf, n, "%s%s", to, path + fl);
	return buf;
}

/* The absolute form of `path`, a path under the current root. */
static const char *stored_path(const struct ctx *c, const char *path,
			       char *buf, size_t n)
{
	return swap_prefix(path, c->given, c->abs, buf, n);
}

/* The form to show of a stored path under the current root. */
static const char *shown_path(const struct ctx *c, const char *stored,
			      char *buf, size_t n)
{
	return swap_prefix(stored, c->abs, c->given, buf, n);
}

#define SYNC_INTERVAL 1.0  /* seconds between flushes without --sync */
#define GROUP_INTERVAL 0.5 /* seconds of files per group commit */
#define GROUP_RECORDS 8192 /* records per group: LMDB keeps a group's
			      dirty pages in memory until it commits */

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(struct ctx *c, enum lin_file_status st, const char *path,
		   const struct lin_err *e)
{
	if (c->o->report && !c->quiet)
		c->o->report(c->o->report_ctx, st, path, e, c->done);
}

/* Hold a warning or note of the file being read. */
static void hold(struct ctx *c, enum lin_file_status st,
		 const struct lin_err *e)
{
	if (c->nheld < sizeof c->held / sizeof c->held[0]) {
		c->held[c->nheld].st = st;
		c->held[c->nheld++].e = *e;
	}
}

/* Report what the file's reading held, before its own outcome. */
static void flush_held(struct ctx *c, const char *path)
{
	for (size_t i = 0; i < c->nheld; i++)
		report(c, c->held[i].st, path, &c->held[i].e);
	c->nheld = 0;
}

/* ---- paths ------------------------------------------------------------ */

/* Absolute, symlink-free path when it exists; else made absolute. */
static char *abs_path(const char *p)
{
	char *r = realpath(p, NULL);
	char cwd[PATH_MAX];

	if (r || p[0] == '/')
		return r ? r : strdup(p);
	if (!getcwd(cwd, sizeof cwd))
		return strdup(p);
	size_t n = strlen(cwd) + strlen(p) + 2;
	r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", cwd, p);
	return r;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Names that say "archive" when the content does not (an empty tar). */
static int archive_named(const char *name)
{
	static const char *const suf[] = {
		".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst",
		".zip"
	};

	for (size_t i = 0; i < sizeof suf / sizeof *suf; i++)
		if (has_suffix(name, suf[i]))
			return 1;
	return 0;
}

/* What the first `n` bytes of a file (or archive member) named `name`
 * say it is; `named` when the user named it. With `gz_later`, gzip is
 * taken for a runlog without inflating the head to look for a tar: the
 * caller looks only when the runlog reader refuses the file (on 100,000
 * small gzip'd runlogs, the look cost as much as reading them). */
static enum fmt sniff_head(const unsigned char *h, size_t n,
			   const char *name, int named, int gz_later)
{
	if (lin_wandb_sniff(h, n))
		return FMT_WANDB;
	/* a runlog header is a small map (fixmap), which no tar or zip
	 * starts with; gzip is a runlog unless a tar is inside */
	if (n >= 1 && (h[0] & 0xf0) == 0x80)
		return FMT_RUNLOG;
	if (lin_archive_sniff_plain(h, n) ||
	    (!gz_later && lin_archive_sniff_gzip(h, n)))
		return FMT_ARCHIVE;
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return FMT_RUNLOG;
	if (n >= 1 && (h[0] == 0xde || h[0] == 0xdf))
		return FMT_RUNLOG;
	if (archive_named(name))
		return FMT_ARCHIVE;
	if (named || has_suffix(name, ".runlog") ||
	    has_suffix(name, ".runlog.gz"))
		return FMT_RUNLOG;
	if (has_suffix(name, ".wandb"))
		return FMT_WANDB;
	return FMT_NONE;
}

/* A file opened once for all its per-file work: its first bytes tell
 * its format, feed its checksum and then the runlog reader, which goes
 * on reading from the same descriptor (three opens and reads of every
 * small file made it to one). */
struct file_head {
	int fd;                  /* -1: the file could not be opened */
	unsigned char h[LIN_ARCHIVE_HEAD];
	size_t n, pos;           /* bytes in h, and handed to the reader */
	int eof;                 /* h holds the whole file (as it was when
				    read: a log still being written is
				    read as of that moment) */
};

static void file_head_open(struct file_head *f, const char *path)
{
	f->n = f->pos = 0;
	f->eof = 0;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	while (f->fd >= 0 && f->n < sizeof f->h) {
		ssize_t k = read(f->fd, f->h + f->n, sizeof f->h - f->n);
		if (k < 0 && errno == EINTR)
			continue;
		f->eof = k == 0;
		if (k <= 0)
			break;   /* an error shows again when the reader reads */
		f->n += (size_t)k;
	}
}

static void file_head_close(struct file_head *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* lin_read_fn over a file_head: the head, then the rest of the file.
 * A read that starts in the head is filled up from the file, so the
 * reader gets the chunks read(2) would give it (its gzip-bomb check
 * counts input by chunk). */
static ssize_t file_head_read(void *ctx, void *buf, size_t n, char *msg,
			      size_t mlen)
{
	struct file_head *f = ctx;
	size_t m = 0;
	ssize_t k;

	if (f->pos < f->n) {
		m = f->n - f->pos < n ? f->n - f->pos : n;
		memcpy(buf, f->h + f->pos, m);
		f->pos += m;
		if (m == n || f->eof)
			return (ssize_t)m;
	}
	if (f->eof)
		return 0;
	do
		k = read(f->fd, (char *)buf + m, n - m);
	while (k < 0 && errno == EINTR);
	if (k < 0 && m)
		return (ssize_t)m;   /* the error shows on the next read */
	if (k < 0)
		snprintf(msg, mlen, "%s", strerror(errno));
	return k < 0 ? k : (ssize_t)m + k;
}

/* W&B keeps a run's log in wandb/[offline-]run-DATE_TIME-ID/run-ID.wandb;
 * the run id comes from there when the log holds no run record. */
static void wandb_run_id(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/');
	const char *dir_end = base;
	out[0] = 0;
	base = base ? base + 1 : path;
	if (dir_end) {
		const char *d = dir_end;
		while (d > path && d[-1] != '/')
			d--;
		const char *dash = memrchr(d, '-', (size_t)(dir_end - d));
		if (dash && (strncmp(d, "offline-run-", 12) == 0 ||
			     strncmp(d, "run-", 4) == 0) && dash + 1 < dir_end) {
			snprintf(out, n, "%.*s", (int)(dir_end - dash - 1),
				 dash + 1);
			return;
		}
	}
	if (strncmp(base, "run-", 4) == 0 && has_suffix(base, ".wandb"))
		snprintf(out, n, "%.*s", (int)(strlen(base) - 10), base + 4);
}

/* ---- readers ---------------------------------------------------------- */

struct reader {
	enum fmt fmt;
	struct lin_runlog *rl;
	struct lin_wandb *wb;
	struct lin_wmeta meta;  /* .wandb: files/wandb-metadata.json */
};

/* Open `path`, or read `src` (an archive member named `path`). */
static int reader_open(struct reader *r, enum fmt fmt, const char *path,
		       const struct lin_stream *src, struct lin_err *err)
{
	char runid[256];

	memset(r, 0, sizeof *r);
	r->fmt = fmt;
	if (fmt == FMT_WANDB) {
		wandb_run_id(path, runid, sizeof runid);
		return src ? lin_wandb_open_stream(&r->wb, path,
						   runid[0] ? runid : NULL,
						   src, err)
			   : lin_wandb_open(&r->wb, path,
					    runid[0] ? runid : NULL, err);
	}
	return src ? lin_runlog_open_stream(&r->rl, path, src, NULL, err)
		   : lin_runlog_open(&r->rl, path, NULL, err);
}

static int reader_next(struct reader *r, struct lin_record *rec,
		       struct lin_err *err)
{
	if (r->fmt != FMT_WANDB)
		return lin_runlog_next(r->rl, rec, err);
	int rc = lin_wandb_next(r->wb, rec, err);
	/* The run's code context lives beside its log, not in it. */
	if (rc == 1 && rec->kind == LIN_REC_RUN && r->meta.found) {
		const struct lin_wmeta *m = &r->meta;
		if (!rec->program)
			rec->program = m->program;
		if (!rec->git_remote)
			rec->git_remote = m->git_remote;
		if (!rec->git_commit)
			rec->git_commit = m->git_commit;
		if (!rec->host)
			rec->host = m->host;
		if (!rec->args.n && m->nargs) {
			rec->args.v = (const char *const *)m->args;
			rec->args.n = m->nargs;
		}
	}
	return rc;
}

static uint64_t reader_bytes(const struct reader *r)
{
	return r->fmt == FMT_WANDB ? lin_wandb_bytes(r->wb)
				   : lin_runlog_bytes(r->rl);
}

static uint64_t reader_skipped(const struct reader *r)
{
	return r->fmt == FMT_RUNLOG ? lin_runlog_skipped(r->rl) : 0;
}

static void reader_close(struct reader *r)
{
	if (r->rl)
		lin_runlog_close(r->rl);
	if (r->wb)
		lin_wandb_close(r->wb);
	lin_wmeta_release(&r->meta);
}

/* ---- sources ---------------------------------------------------------- */

struct source {
	int known;
	int archive;             /* the entry of an archive, not a log */
	uint32_t id;
	int64_t size, mtime, ino;
};

static int source_get(struct ix *x, const char *key, size_t kn,
		      struct source *src)
{
	MDB_val v;
	msgpack_object o;
	int64_t id = 0;
	int rc = ix_get(x, LIN_DB_SOURCES, key, kn, &v);

	memset(src, 0, sizeof *src);
	if (rc == LIN_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	msgpack_zone_clear(&x->zone);
	if (lin_val_map(v.mv_data, v.mv_size, &x->zone, &o))
		return lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "bad source entry");
	src->known = 1;
	lin_map_i64(&o, "id", &id);
	src->id = (uint32_t)id;
	lin_map_i64(&o, "size", &src->size);
	lin_map_i64(&o, "mtime", &src->mtime);
	lin_map_i64(&o, "ino", &src->ino);
	struct lin_slice fmt;
	src->archive = lin_map_str(&o, "format", &fmt) &&
		       lin_slice_eq_cstr(fmt, "archive");
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int source_put(struct ix *x, const char *key, size_t kn,
		      enum fmt fmt, const struct stat *sb, uint64_t records,
		      uint64_t skipped, uint64_t problems,
		      const struct file_head *fh)
{
	msgpack_packer *pk = &x->pk.pk;
	uint32_t crc;
	struct stat now;
	/* the content's checksum finds the file again when it is copied
	 * elsewhere and the original removed (moves.h); fh NULL: an
	 * archive member, which moves with its archive. Its size now: a
	 * run still writing may have made it longer since it was read. */
	int has_crc = fh && fh->fd >= 0 && fstat(fh->fd, &now) == 0 &&
		      ix_fd_crc(fh->fd, (uint64_t)now.st_size, fh->h, fh->n,
				&crc) == 0;

	lin_packer_reset(&x->pk);
	msgpack_pack_map(pk, 10 + has_crc);
	lin_pack_kv_i64(pk, "id", x->src);
	lin_pack_kv_str(pk, "format", fmt == FMT_WANDB ? "wandb" :
				      fmt == FMT_ARCHIVE ? "archive" :
				      "runlog");
	lin_pack_kv_i64(pk, "size", (int64_t)sb->st_size);
	lin_pack_kv_i64(pk, "mtime", (int64_t)sb->st_mtim.tv_sec * 1000000000
				     + sb->st_mtim.tv_nsec);
	lin_pack_kv_i64(pk, "ino", (int64_t)sb->st_ino);
	lin_pack_kv_i64(pk, "indexed_at", now_ns());
	lin_pack_kv_i64(pk, "records", (int64_t)records);
	lin_pack_kv_i64(pk, "facts", x->seq);
	lin_pack_kv_i64(pk, "skipped", (int64_t)skipped);
	lin_pack_kv_i64(pk, "problems", (int64_t)problems);
	if (has_crc)
		lin_pack_kv_i64(pk, "crc", crc);
	return ix_put(x, LIN_DB_SOURCES, key, kn, x->pk.sb.data,
		      x->pk.sb.size);
}

/* ---- one transaction -------------------------------------------------- */

static void ix_reset(struct ix *x)
{
	ix_release(x);
	memset(&x->cur, 0, sizeof x->cur);
	x->seq = 0;
	x->src = 0;
}

/* What the run did so far is final (committed, or dropped and counted):
 * the next group starts from it. */
static void forget_group(struct ctx *c)
{
	ix_meta_forget(&c->x);   /* committed, or aborted: read again */
	for (size_t i = 0; i < c->ngfiles; i++)
		free(c->gfiles[i].path);
	c->ngfiles = 0;
	c->gstats = *c->st;
	c->gdone = c->done;
}

static int remember_file(struct ctx *c, const char *path, int named)
{
	if (LIN_GROW(c->gfiles, c->capgfiles, c->ngfiles + 1, 64) < 0)
		return LIN_ENOMEM;
	if (!(c->gfiles[c->ngfiles].path = strdup(path)))
		return LIN_ENOMEM;
	c->gfiles[c->ngfiles++].named = named;
	return 0;
}

/* A commit failed. LMDB reports a short write as EIO; when the file
 * system holding the store is (nearly) full, say so, and what was kept:
 * the store as of the last commit. */
static int commit_failed(struct ctx *c, int rc)
{
	char *copy = strdup(c->s.path);
	struct statvfs vfs;
	int full = rc == ENOSPC || rc == EDQUOT;

	if (!full && (rc == EIO || rc == EFBIG) && copy &&
	    statvfs(dirname(copy), &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < (uint64_t)64 << 20)
		full = 1;
	free(copy);
	if (!full)
		return lin_store_fail(c->err, rc, "cannot commit");
	lin_err_set(c->err, LIN_EIO, LIN_NO_OFFSET, "cannot commit: no space "
		    "left on the file system holding the store; it keeps "
		    "what was committed before (%llu files indexed in this "
		    "run); free some space and run again",
		    (unsigned long long)(c->o->sync ? c->st->indexed :
					 c->gstats.indexed));
	c->err->sys = ENOSPC;
	return LIN_EIO;
}

/* Commit the group of files indexed so far (if any); flush it to disk
 * when the last flush is SYNC_INTERVAL old; grow the map when it is
 * half used, so that a group never finds it full. */
static int end_group(struct ctx *c)
{
	int rc;

	if (!c->group)
		return 0;
	rc = ix_meta_flush(&c->x, c->group);
	ix_meta_forget(&c->x);
	if (rc) {
		lin_store_abort(c->group);
		c->group = NULL;
		return rc;
	}
	rc = lin_store_commit(c->group, c->err);
	c->group = NULL;
	if (rc)
		return commit_failed(c, c->err->sys);
	ix_orphans_settle(&c->orphans, 1);
	forget_group(c);
	if (!c->o->sync && mono_now() - c->last_sync > SYNC_INTERVAL) {
		if ((rc = lin_store_sync(&c->s, c->err)))
			return rc;
		c->last_sync = mono_now();
	}
	if (lin_store_used(&c->s) > c->s.mapsize / 2)
		return lin_store_grow(&c->s, c->err);
	return 0;
}

/* Abort the open group: the store stays as of the last commit. */
static void drop_group(struct ctx *c)
{
	lin_store_abort(c->group);
	c->group = NULL;
	ix_meta_forget(&c->x);
	ix_orphans_settle(&c->orphans, 0);
}

/* Start one file's transaction: the current group itself (see struct
 * ctx), a transaction nested in it for an archive member, or with
 * opts->sync one of its own. */
static int begin(struct ctx *c)
{
	int rc = 0;

	ix_reset(&c->x);
	if (!c->o->sync && !c->group) {
		rc = lin_store_begin_nested(&c->s, NULL, &c->group, c->err);
		if (rc)
			return rc;
		c->group_start = mono_now();
		c->group_records = 0;
	}
	if (c->group && !c->nest)
		c->x.txn = c->group;
	else if ((rc = lin_store_begin_nested(&c->s, c->group, &c->x.txn,
					      c->err)))
		return rc;
	rc = ix_meta_load(&c->x, c->group != NULL);
	if (rc) {
		if (c->x.txn != c->group)
			lin_store_abort(c->x.txn);
		c->x.txn = NULL;
	}
	return rc;
}

/* End a file's transaction in which nothing was written. */
static void end_read(struct ctx *c)
{
	if (c->x.txn != c->group)
		lin_store_abort(c->x.txn);
	c->x.txn = NULL;
	ix_reset(&c->x);
}

/* Throw away what the file wrote: its own transaction, or the group it
 * wrote into, whatever else that holds (callers that go on use
 * undo_file, which redoes the rest; on a fatal error nothing is
 * committed any more). */
static void abort_txn(struct ctx *c)
{
	if (c->x.txn && c->x.txn == c->group) {
		drop_group(c);
	} else {
		lin_store_abort(c->x.txn);
		if (!c->group)
			ix_orphans_settle(&c->orphans, 0);
	}
	c->x.txn = NULL;
	ix_reset(&c->x);
}

/* Undo the file being read, which wrote and must not stay (rejected,
 * or to be read again). Alone in its transaction (its own, nested, or
 * the first of its group) it is simply aborted: returns 0. When it
 * wrote into a group that holds earlier files, the group goes with it
 * and c->undo is set: index_file_now indexes those files again, commits
 * them, and then this one first in a group of its own. Returns 1 then;
 * the file is neither counted nor reported yet. */
static int undo_file(struct ctx *c)
{
	int shared = c->x.txn == c->group && c->ngfiles > 0;

	abort_txn(c);
	if (shared) {
		c->undo = 1;
		c->nheld = 0;
	}
	return shared;
}

static int commit(struct ctx *c)
{
	int rc = ix_derive(&c->x);

	if (!rc)
		rc = ix_meta_save(&c->x, c->group != NULL);
	if (rc) {
		abort_txn(c);
		return rc;
	}
	/* written into the group: kept when the group commits */
	if (c->x.txn != c->group)
		rc = lin_store_commit(c->x.txn, c->err);
	c->x.txn = NULL;
	if (!rc)
		ix_meta_keep(&c->x);
	ix_reset(&c->x);
	if (rc)
		return commit_failed(c, c->err->sys);
	if (!c->group)
		ix_orphans_settle(&c->orphans, 1);
	if (!c->group || c->group_records >= GROUP_RECORDS ||
	    mono_now() - c->group_start > c->group_interval)
		return end_group(c);
	return 0;
}

/* Allocate the source id of a new path. */
static int new_source(struct ix *x, const char *path)
{
	unsigned char k[4];

	if (x->seq_src == UINT32_MAX)
		return lin_err_set(x->err, LIN_ELIMIT, LIN_NO_OFFSET,
				   "too many source files");
	x->src = (uint32_t)++x->seq_src;
	lin_key_src(k, x->src);
	return ix_put(x, LIN_DB_SOURCE_IDS, k, 4, path, strlen(path));
}

/* Read every record of an open reader into the transaction. Returns 0,
 * a fatal reader code (the file is rejected) or a store code. A file
 * that ends inside a record (its run is still writing, or crashed) sets
 * *partial and keeps what came before; a gzip stream cut short keeps it
 * too, as a problem. */
static int read_records(struct ctx *c, struct reader *r, const char *path,
			uint64_t *records, uint64_t *problems, int *partial)
{
	struct lin_record rec;
	struct lin_err e;
	int rc;

	for (;;) {
		lin_err_clear(&e);
		lin_record_clear(&rec);
		rc = reader_next(r, &rec, &e);
		if (rc == 1) {
			c->x.err = &e;
			rc = ix_apply_record(&c->x, &rec);
			c->x.err = c->err;
			if (rc == 0) {
				(*records)++;
				continue;
			}
			if (rc != LIN_ERECORD) {
				if (e.code)
					*c->err = e;
				return rc;
			}
			ix_skipped_record(&c->x, &rec);
		} else if (rc == 0) {
			return 0;
		} else if (rc == LIN_ETRUNC && r->fmt == FMT_WANDB) {
			lin_err_path(&e, path);
			*partial = 1;
			hold(c, LIN_FILE_PARTIAL, &e);
			continue;
		} else if (rc == LIN_ETRUNC && !lin_runlog_gzip(r->rl)) {
			/* A plain runlog that ends inside a record: a run
			 * still writing, or one that crashed. Every record
			 * before is whole: keep them, as for .wandb. */
			lin_err_path(&e, path);
			*partial = 1;
			hold(c, LIN_FILE_PARTIAL, &e);
			return 0;
		} else if (rc == LIN_ETRUNC) {
			/* A gzip stream cut short: nothing writes gzip in
			 * place, so this is damage (a copy cut short, a full
			 * disk), and a warning; the records before the cut
			 * are whole and kept. */
			size_t n = strlen(e.msg);
			snprintf(e.msg + n, sizeof e.msg - n, "; the records "
				 "before it are kept");
			(*problems)++;
			lin_err_path(&e, path);
			hold(c, LIN_FILE_WARNING, &e);
			return 0;
		} else if (rc != LIN_ERECORD && rc != LIN_EDAMAGE) {
			lin_err_path(&e, path);
			*c->err = e;
			return rc;
		} else if (rc == LIN_ERECORD) {
			ix_skipped_record(&c->x, &rec);
		}
		/* one bad record or damaged stretch: report, go on */
		lin_err_path(&e, path);
		if (e.code == 0)
			e.code = rc;
		(*problems)++;
		if (*problems <= MAX_REPORTS_PER_FILE)
			hold(c, LIN_FILE_WARNING, &e);
		else if (*problems == MAX_REPORTS_PER_FILE + 1) {
			lin_err_set(&e, rc, LIN_NO_OFFSET,
				    "more problems in this file not shown");
			hold(c, LIN_FILE_WARNING, &e);
		}
	}
}

/* A reader could not be opened on `path`: a file that only looked like
 * a run log is ignored, anything else rejected. Returns 0 or LIN_ENOMEM. */
static int open_failed(struct ctx *c, enum fmt fmt, int rc, const char *path,
		       int named, struct lin_err *e)
{
	if (fmt == FMT_NONE || (rc == LIN_EFORMAT && !named &&
	    !has_suffix(path, ".runlog") &&
	    !has_suffix(path, ".runlog.gz") &&
	    !has_suffix(path, ".wandb") && !archive_named(path))) {
		c->st->ignored++;
		report(c, LIN_FILE_IGNORED, path, NULL);
		return 0;
	}
	if (rc == LIN_ENOMEM)
		return rc;
	lin_err_path(e, path);
	c->st->rejected++;
	report(c, LIN_FILE_REJECTED, path, e);
	return 0;
}

/* A file without a source entry may be one that moved: re-key the gone
 * file's source to it instead of reading it. 1 when it did (committed),
 * 0 when the file is new, or a fatal code (the transaction aborted). */
static int try_move(struct ctx *c, const char *path, const char *spath,
		    const char *key, size_t kn, const struct stat *sb)
{
	uint32_t crc = 0;
	int has_crc = 0, rc;
	long i;

	if (!c->orphans.built &&
	    (rc = ix_orphans_build(&c->x, &c->seen, &c->orphans)))
		return rc;
	if (!c->orphans.n ||
	    (i = ix_orphan_match(&c->orphans, path, sb, &crc, &has_crc)) < 0)
		return 0;
	struct ix_orphan *or = &c->orphans.v[i];
	if (!has_crc && or->has_crc) {
		/* same inode, size and mtime: the same content */
		crc = or->crc;
		has_crc = 1;
	}
	if ((rc = ix_rekey_source(&c->x, or, key, kn, spath, sb, crc,
				  has_crc)))
		return rc;
	if (lin_idbits_add(&c->seen, or->id) < 0)
		return LIN_ENOMEM;
	if ((rc = commit(c)))
		return rc;
	c->st->moved++;
	report(c, LIN_FILE_MOVED, path, NULL);
	return 1;
}

/* How index_open() reads: the first of two possible readings, or the
 * second. */
enum pass { PASS_FIRST, PASS_AGAIN };

/* Read an open reader into the transaction begun for the source `key`
 * (`src` as found there), replacing what that source said before, and
 * commit. `path` is shown, `spath` stored; `file` is the file on disk,
 * opened (NULL for an archive member), whose checksum is kept
 * (moves.h). Closes
 * the reader. Returns 0
 * (also when the input was rejected: that is reported and counted) or a
 * fatal store code. On PASS_FIRST, a record met before the run record it
 * needed aborts the transaction and sets c->redo instead: the caller
 * reads the input again. */
static int index_open(struct ctx *c, struct reader *r, const char *path,
		      const char *spath, const char *key, size_t kn,
		      const struct source *src, const struct stat *sb,
		      enum pass pass, const struct file_head *file)
{
	uint64_t records = 0, problems = 0;
	int rc, partial = 0;

	if (src->known) {
		c->x.src = src->id;
		rc = ix_remove_source_facts(&c->x, src->id);
	} else {
		rc = new_source(&c->x, spath);
		if (!rc && lin_idbits_add(&c->seen, c->x.src) < 0)
			rc = LIN_ENOMEM;
	}
	c->x.path = path;
	c->x.wandb = r->fmt == FMT_WANDB;
	if (!rc)
		rc = read_records(c, r, path, &records, &problems, &partial);
	uint64_t bytes = reader_bytes(r);
	uint64_t skipped = reader_skipped(r);
	enum fmt fmt = r->fmt;
	reader_close(r);
	if (rc == LIN_ESTORE || rc == LIN_ENOMEM) {
		abort_txn(c);
		return rc;
	}
	if (rc) {
		/* Unreadable: keep what the file gave before. */
		if (undo_file(c))
			return 0;
		c->st->bytes += bytes;
		c->st->rejected++;
		flush_held(c, path);
		report(c, LIN_FILE_REJECTED, path, c->err);
		lin_err_clear(c->err);
		return 0;
	}
	if (c->x.fr.redo && pass == PASS_FIRST &&
	    (!c->copy || ix_replay_finish(c->copy))) {
		/* A record met before the run record it needed: read the
		 * input again, knowing every run it declares. */
		if (undo_file(c))
			return 0;
		c->nheld = 0;
		c->redo = 1;
		return 0;
	}
	c->st->bytes += bytes;
	if (c->x.fr.redo && pass == PASS_FIRST) {
		/* An archive member that could not be kept for a second
		 * reading: say what was not resolved. */
		struct lin_err e;

		lin_err_set(&e, LIN_ELIMIT, LIN_NO_OFFSET, "a record names "
			    "a run whose run record comes later, and the "
			    "member could not be kept for a second reading "
			    "(over %zu MiB): such records took their run's "
			    "entity and project from themselves or the "
			    "defaults", IX_REPLAY_MAX >> 20);
		lin_err_path(&e, path);
		problems++;
		hold(c, LIN_FILE_WARNING, &e);
	}
	rc = source_put(&c->x, key, kn, fmt, sb, records, skipped, problems,
			file);
	c->group_records += records;
	if (!rc)
		rc = commit(c);
	else
		abort_txn(c);
	if (rc)
		return rc;
	c->st->records += records;
	c->st->skipped += skipped;
	c->st->bad_records += problems;
	c->st->partial += (uint64_t)partial;
	c->st->indexed++;
	flush_held(c, path);
	report(c, LIN_FILE_INDEXED, path, NULL);
	return 0;
}

static int index_archive(struct ctx *c, const char *path, const char *spath,
			 const struct stat *sb, int named);
static int archive_seen(struct ctx *c, const char *spath);

/* One reading of a file (see index_file_once). */
static int index_file_pass(struct ctx *c, const char *path, int named,
			   enum pass pass, struct file_head *fh)
{
	struct stat sb;
	struct source src;
	struct reader r;
	struct lin_err e;
	char key[512];
	size_t kn;
	enum fmt fmt;
	int rc;

	if (stat(path, &sb) != 0) {
		lin_err_clear(&e);
		lin_err_path(&e, path);
		lin_err_set(&e, errno == ENOENT ? LIN_ENOTFOUND : LIN_EIO,
			    LIN_NO_OFFSET, "cannot read: %s", strerror(errno));
		c->st->rejected++;
		report(c, LIN_FILE_REJECTED, path, &e);
		return 0;
	}
	char full[PATH_MAX + 512];
	const char *spath = stored_path(c, path, full, sizeof full);
	kn = lin_key_source(key, spath);
	if ((rc = begin(c)))
		return rc;
	if ((rc = source_get(&c->x, key, kn, &src))) {
		abort_txn(c);
		return rc;
	}
	if (!src.known && pass == PASS_FIRST) {
		rc = try_move(c, path, spath, key, kn, &sb);
		if (rc) {
			if (rc < 0)
				abort_txn(c);
			return rc < 0 ? rc : 0;
		}
	}
	if (src.known) {
		if (lin_idbits_add(&c->seen, src.id) < 0) {
			abort_txn(c);
			return LIN_ENOMEM;
		}
		if (src.size == (int64_t)sb.st_size &&
		    src.ino == (int64_t)sb.st_ino &&
		    src.mtime == (int64_t)sb.st_mtim.tv_sec * 1000000000 +
				 sb.st_mtim.tv_nsec) {
			end_read(c);
			/* an unchanged archive: its members are still there */
			if (src.archive && (rc = archive_seen(c, spath)))
				return rc;
			c->st->unchanged++;
			report(c, LIN_FILE_UNCHANGED, path, NULL);
			return 0;
		}
	}
	file_head_open(fh, path);
	fmt = sniff_head(fh->h, fh->n, path, named, 1);
	if (fmt == FMT_ARCHIVE) {
		end_read(c);
		return index_archive(c, path, spath, &sb, named);
	}
	lin_err_clear(&e);
	/* A runlog is read on from the head; a file that could not be
	 * opened is tried again by the reader, which says why it fails. */
	struct lin_stream in = { file_head_read, fh };
	const struct lin_stream *head_in = fmt == FMT_RUNLOG &&
					   fh->fd >= 0 ? &in : NULL;
	if (fmt == FMT_NONE ||
	    (rc = reader_open(&r, fmt, path, head_in, &e)) != 0) {
		end_read(c);
		/* gzip was taken for a runlog unlooked (sniff_head) */
		if (fmt == FMT_RUNLOG && rc != LIN_ENOMEM &&
		    lin_archive_sniff_gzip(fh->h, fh->n))
			return index_archive(c, path, spath, &sb, named);
		return open_failed(c, fmt, rc, path, named, &e);
	}
	if (fmt == FMT_RUNLOG && lin_runlog_tar_inside(r.rl)) {
		reader_close(&r);
		end_read(c);
		return index_archive(c, path, spath, &sb, named);
	}
	if (fmt == FMT_WANDB) {
		/* The run folder's files/wandb-metadata.json (plain files
		 * only: an archive member has no folder to look in). A bad
		 * metadata file costs the code context, not the log; it is
		 * reported once, not again on a second pass. */
		lin_err_clear(&e);
		int mr = lin_wmeta_load(path, &r.meta, &e);
		if (mr == LIN_ENOMEM) {
			reader_close(&r);
			abort_txn(c);
			return mr;
		}
		if (mr && pass == PASS_FIRST)
			report(c, LIN_FILE_WARNING, path, &e);
	}
	return index_open(c, &r, path, spath, key, kn, &src, &sb, pass, fh);
}

/* Index one file. Returns 0 (also when the file was rejected: that is
 * reported and counted) or a fatal store code. A file in which a record
 * names a run whose RUN record comes later, or a .wandb run that learns
 * its entity from its artifact records, is read a second time. */
static int index_file_once(struct ctx *c, const char *path, int named)
{
	int rc;

	c->done++;
	c->nheld = 0;
	c->redo = 0;
	ix_fileruns_clear(&c->x.fr);
	if (!c->fh && !(c->fh = malloc(sizeof *c->fh)))
		return LIN_ENOMEM;
	struct file_head *fh = c->fh;
	fh->fd = -1;
	rc = index_file_pass(c, path, named, PASS_FIRST, fh);
	file_head_close(fh);
	if (rc == 0 && c->redo) {
		c->redo = 0;
		if ((rc = ix_fileruns_new_pass(&c->x.fr)) == 0)
			rc = index_file_pass(c, path, named, PASS_AGAIN, fh);
		file_head_close(fh);
	}
	return rc;
}

/* 1 once a stop was asked for (opts->stop): no new file is started. */
static int stopping(struct ctx *c)
{
	if (c->o->stop && *c->o->stop && !c->st->interrupted)
		c->st->interrupted = *c->o->stop;
	return c->st->interrupted != 0;
}

static int index_file_now(struct ctx *c, const char *path, int named);

/* Drop the open group and index its files again into a new one (after
 * growing the map when `grow`), from the counters as they were when it
 * began, so that nothing is counted twice; quietly, since their reports
 * were made. A stop asked for meanwhile does not skip them: they were
 * handled before it. */
static int redo_group(struct ctx *c, int grow)
{
	struct group_file *redo = c->gfiles;
	size_t n = c->ngfiles;
	int quiet = c->quiet, rc = 0;

	c->gfiles = NULL;
	c->ngfiles = c->capgfiles = 0;
	drop_group(c);
	*c->st = c->gstats;
	c->done = c->gdone;
	lin_err_clear(c->err);
	if (grow)
		rc = lin_store_grow(&c->s, c->err);
	c->quiet = 1;
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = index_file_now(c, redo[i].path, redo[i].named);
		free(redo[i].path);
	}
	c->quiet = quiet;
	free(redo);
	return rc;
}

/* index_file_once, and what its outcome asks of the group. */
static int index_file_now(struct ctx *c, const char *path, int named)
{
	int rc = index_file_once(c, path, named);

	if (rc == 0 && c->undo) {
		/* Undone with the group it shared (undo_file): the group's
		 * other files are indexed again and committed, then this
		 * file, first in a group that holds nothing else. */
		c->undo = 0;
		if (!(rc = redo_group(c, 0)) && !(rc = end_group(c)))
			return index_file_now(c, path, named);
	} else if (rc == 0) {
		if (c->group)
			return remember_file(c, path, named);
		/* committed, or undone with a group of its own */
		forget_group(c);
		return 0;
	}
	if (rc != LIN_ESTORE || c->err->sys != MDB_MAP_FULL)
		return rc;
	/* The map is full: grow it, redo the group and this file. */
	if ((rc = redo_group(c, 1)))
		return rc;
	return index_file_now(c, path, named);
}

static int index_file(struct ctx *c, const char *path, int named)
{
	return stopping(c) ? 0 : index_file_now(c, path, named);
}

/* ---- archives ---------------------------------------------------------
 * An archive's members are sources of their own, stored as
 * "ARCHIVE//MEMBER" (a member of an archive inside it as
 * "ARCHIVE//INNER//MEMBER"), each indexed in its own transaction like a
 * file, read as a stream and never written to disk. The archive itself
 * has an entry of format "archive" without facts, written last: its size,
 * mtime and inode let an unchanged archive be skipped, and an archive that
 * could not be read to its end has none, so it is read again next time. */

/* Calls fn() with the id of every source whose key starts with `spath`
 * + "//", in a nested transaction of its own. */
typedef int member_fn(struct ctx *c, uint32_t id, void *arg);

struct member_scan {
	struct ctx *c;
	member_fn *fn;
	void *arg;
};

static int member_visit(void *ctx, const MDB_val *k, const MDB_val *v)
{
	struct member_scan *m = ctx;
	msgpack_object o;
	int64_t id = 0;

	(void)k;
	msgpack_zone_clear(&m->c->x.zone);
	if (lin_val_map(v->mv_data, v->mv_size, &m->c->x.zone, &o) ||
	    !lin_map_i64(&o, "id", &id))
		return 0;
	return m->fn(m->c, (uint32_t)id, m->arg);
}

static int each_member_source(struct ctx *c, const char *spath,
			      member_fn *fn, void *arg)
{
	struct member_scan m = { c, fn, arg };
	char pre[512];
	int rc;

	snprintf(pre, sizeof pre, "%s//", spath);
	if ((rc = begin(c)))
		return rc;
	rc = ix_scan(&c->x, LIN_DB_SOURCES, pre, strlen(pre), NULL, 0,
		     member_visit, &m);
	end_read(c);
	return rc;
}

static int mark_seen(struct ctx *c, uint32_t id, void *arg)
{
	(void)arg;
	return lin_idbits_add(&c->seen, id) < 0 ? LIN_ENOMEM : 0;
}

/* An unchanged archive: its members count as met. */
static int archive_seen(struct ctx *c, const char *spath)
{
	return each_member_source(c, spath, mark_seen, NULL);
}

/* Member sources an archive no longer holds. */
static int note_gone(struct ctx *c, uint32_t id, void *arg)
{
	return lin_idbits_has(&c->seen, (uint64_t)id) ? 0
	       : u64v_push(arg, id);
}

/* The stored path of source `id`, from `source_ids`. */
static int source_path(struct ctx *c, uint32_t id, char *out, size_t n)
{
	unsigned char k[4];
	MDB_val v;
	int rc;

	if ((rc = begin(c)))
		return rc;
	lin_key_src(k, id);
	if (!(rc = ix_get(&c->x, LIN_DB_SOURCE_IDS, k, 4, &v)))
		snprintf(out, n, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
	end_read(c);
	return rc;
}

static int prune_source(struct ctx *c, const char *key, size_t kn,
			uint32_t id);

/* A changed archive read to its end: members it no longer holds are
 * removed, as a changed file's old records are. */
static int members_gone(struct ctx *c, const char *path, const char *spath)
{
	struct u64v gone = { NULL, 0, 0 };
	size_t sl = strlen(spath);
	int rc = each_member_source(c, spath, note_gone, &gone);

	for (size_t i = 0; i < gone.n && rc == 0; i++) {
		char stored[PATH_MAX + 512], shown[PATH_MAX + 512], key[512];
		uint32_t id = (uint32_t)gone.v[i];

		if ((rc = source_path(c, id, stored, sizeof stored)) ||
		    (rc = prune_source(c, key, lin_key_source(key, stored),
				       id)))
			break;
		snprintf(shown, sizeof shown, "%s%s", path,
			 strlen(stored) > sl ? stored + sl : "");
		c->st->pruned++;
		report(c, LIN_FILE_PRUNED, shown, NULL);
	}
	free(gone.v);
	return rc;
}

static int hidden_member(const char *name)
{
	for (const char *p = name; p; p = strchr(p, '/'))
		if (*(p += *p == '/') == '.')
			return 1;
	return 0;
}

static int read_members(struct ctx *c, struct lin_archive *a,
			const char *path, const char *spath, unsigned depth,
			int *fatal);

/* One reading of an archive member (run log `fmt`) from `in`. */
static int member_pass(struct ctx *c, enum fmt fmt, const char *mpath,
		       const char *smpath, const char *key, size_t kn,
		       const struct stat *sb, const struct lin_stream *in,
		       enum pass pass)
{
	struct source src;
	struct reader r;
	struct lin_err e;
	int rc;

	if ((rc = begin(c)))
		return rc;
	if ((rc = source_get(&c->x, key, kn, &src))) {
		abort_txn(c);
		return rc;
	}
	if (src.known && lin_idbits_add(&c->seen, src.id) < 0) {
		abort_txn(c);
		return LIN_ENOMEM;
	}
	lin_err_clear(&e);
	if ((rc = reader_open(&r, fmt, mpath, in, &e)) != 0) {
		end_read(c);
		return open_failed(c, fmt, rc, mpath, 0, &e);
	}
	return index_open(c, &r, mpath, smpath, key, kn, &src, sb, pass,
			  NULL);
}

/* Index the archive's current member `m`. */
static int index_member(struct ctx *c, struct lin_archive *a,
			const struct lin_archive_member *m, const char *mpath,
			const char *smpath, unsigned depth, int *fatal)
{
	const unsigned char *h;
	size_t hn, kn;
	struct lin_stream in = lin_archive_stream(a);
	struct ix_replay copy;
	struct lin_err e;
	struct stat sb;
	char key[512];
	enum fmt fmt;
	int rc;

	c->done++;
	lin_err_clear(&e);
	if ((rc = lin_archive_head(a, &h, &hn, &e)) != 0) {
		char why[sizeof e.msg];

		snprintf(why, sizeof why, "%s", e.msg);
		lin_err_set(&e, rc, e.offset, "cannot read: %.480s", why);
		lin_err_path(&e, mpath);
		c->st->rejected++;
		report(c, LIN_FILE_REJECTED, mpath, &e);
		return 0;
	}
	fmt = sniff_head(h, hn, m->name, 0, 0);
	if (fmt == FMT_NONE)
		return open_failed(c, fmt, 0, mpath, 0, &e);
	if (fmt == FMT_ARCHIVE) {
		struct lin_archive *inner;

		if (depth > 0) {
			lin_err_set(&e, LIN_EFORMAT, LIN_NO_OFFSET, "not read: "
				    "an archive in an archive in an archive "
				    "(archives are read one level deep)");
			lin_err_path(&e, mpath);
			c->st->ignored++;
			report(c, LIN_FILE_WARNING, mpath, &e);
			return 0;
		}
		c->done--;  /* its members are the files */
		if ((rc = lin_archive_open(&inner, mpath, &in, &e)) != 0)
			return open_failed(c, fmt, rc, mpath, 0, &e);
		rc = read_members(c, inner, mpath, smpath, depth + 1, fatal);
		lin_archive_close(inner);
		return rc;
	}
	kn = lin_key_source(key, smpath);
	/* what the archive says of the member; it has no inode */
	memset(&sb, 0, sizeof sb);
	sb.st_size = m->size >= 0 ? m->size : 0;
	sb.st_mtim.tv_sec = m->mtime / 1000000000;
	sb.st_mtim.tv_nsec = m->mtime % 1000000000;
	/* Read it as a file is (index_file_once), twice when a record
	 * comes before the run record it needs: the second reading is
	 * from a copy kept in memory while the first went by (replay.h). */
	c->nheld = 0;
	c->redo = 0;
	ix_fileruns_clear(&c->x.fr);
	ix_replay_init(&copy, &in, m->size, IX_REPLAY_MAX);
	in = ix_replay_tee(&copy);
	c->copy = &copy;
	rc = member_pass(c, fmt, mpath, smpath, key, kn, &sb, &in,
			 PASS_FIRST);
	if (rc == 0 && c->redo) {
		c->redo = 0;
		in = ix_replay_again(&copy);
		if ((rc = ix_fileruns_new_pass(&c->x.fr)) == 0)
			rc = member_pass(c, fmt, mpath, smpath, key, kn, &sb,
					 &in, PASS_AGAIN);
	}
	c->copy = NULL;
	ix_replay_release(&copy);
	return rc;
}

/* Every member of `a` (shown under `path`, stored under `spath`). Sets
 * *fatal when the archive could not be read to its end. */
static int read_members(struct ctx *c, struct lin_archive *a,
			const char *path, const char *spath, unsigned depth,
			int *fatal)
{
	struct lin_archive_member m;
	struct lin_err e;
	char mpath[PATH_MAX + 512], smpath[PATH_MAX + 512];
	int rc;

	for (;;) {
		lin_err_clear(&e);
		rc = lin_archive_next(a, &m, &e);
		if (rc == 0)
			return 0;
		if (rc == LIN_ENOMEM)
			return rc;
		if (rc < 0) {
			/* a member lost, or the rest of the archive */
			lin_err_path(&e, path);
			c->st->rejected++;
			report(c, LIN_FILE_REJECTED, path, &e);
			if (rc == LIN_EDAMAGE)
				continue;
			*fatal = 1;
			return 0;
		}
		if (hidden_member(m.name) || !m.name[0])
			continue;  /* as hidden files in folders */
		snprintf(mpath, sizeof mpath, "%s//%s", path, m.name);
		snprintf(smpath, sizeof smpath, "%s//%s", spath, m.name);
		if ((rc = index_member(c, a, &m, mpath, smpath, depth, fatal)))
			return rc;
	}
}

/* One reading of the archive at `path`. */
static int archive_pass(struct ctx *c, const char *path, const char *spath,
			const struct stat *sb, int named)
{
	struct lin_archive *a;
	struct source src;
	struct lin_err e;
	char key[512];
	size_t kn;
	int rc, fatal = 0;

	lin_err_clear(&e);
	if ((rc = lin_archive_open(&a, path, NULL, &e)) != 0)
		return open_failed(c, FMT_ARCHIVE, rc, path, named, &e);
	rc = read_members(c, a, path, spath, 0, &fatal);
	lin_archive_close(a);
	if (rc || fatal)
		return rc;  /* unfinished: what it gave before is kept */
	if ((rc = members_gone(c, path, spath)))
		return rc;
	kn = lin_key_source(key, spath);
	if ((rc = begin(c)))
		return rc;
	if (!(rc = source_get(&c->x, key, kn, &src))) {
		if (src.known)
			c->x.src = src.id;
		else if (!(rc = new_source(&c->x, spath)) &&
			 lin_idbits_add(&c->seen, c->x.src) < 0)
			rc = LIN_ENOMEM;
	}
	if (!rc)
		rc = source_put(&c->x, key, kn, FMT_ARCHIVE, sb, 0, 0, 0, NULL);
	if (rc) {
		abort_txn(c);
		return rc;
	}
	return commit(c);
}

/* Index the archive at `path`: each member a file. Earlier files are
 * committed first, and the archive's last group after it, so that a full
 * map redoes only this archive (index_file() redoes groups of files). */
static int index_archive(struct ctx *c, const char *path, const char *spath,
			 const struct stat *sb, int named)
{
	struct lin_index_stats snap;
	uint64_t done0;
	int rc = end_group(c);

	if (rc)
		return rc;
	snap = *c->st;
	done0 = c->done;
	c->nest = 1;
	for (;;) {
		rc = archive_pass(c, path, spath, sb, named);
		if (rc != LIN_ESTORE || c->err->sys != MDB_MAP_FULL)
			break;
		drop_group(c);
		*c->st = snap;
		c->done = done0;
		forget_group(c);
		lin_err_clear(c->err);
		if ((rc = lin_store_grow(&c->s, c->err)))
			break;
	}
	c->nest = 0;
	return rc ? rc : end_group(c);
}

/* ---- folders ---------------------------------------------------------- */

/* A folder's entry: its path and what readdir said it is. */
struct dir_entry {
	char *path;
	unsigned char type;   /* d_type: DT_UNKNOWN when the file system
				 does not say */
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dir_entry *)a)->path,
		      ((const struct dir_entry *)b)->path);
}

static int index_tree(struct ctx *c, const char *path, int named,
		      unsigned depth);

static int index_dir(struct ctx *c, const char *dir, unsigned depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct dir_entry *ents = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		struct lin_err e;
		lin_err_clear(&e);
		lin_err_path(&e, dir);
		lin_err_set(&e, LIN_EIO, LIN_NO_OFFSET, "cannot open folder: %s",
			    strerror(errno));
		c->st->rejected++;
		report(c, LIN_FILE_REJECTED, dir, &e);
		return 0;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;  /* ".", "..", and hidden entries */
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			struct dir_entry *p = realloc(ents, cap * sizeof *p);
			if (!p) {
				rc = LIN_ENOMEM;
				break;
			}
			ents = p;
		}
		size_t len = strlen(dir) + strlen(de->d_name) + 2;
		if (!(ents[n].path = malloc(len))) {
			rc = LIN_ENOMEM;
			break;
		}
		snprintf(ents[n].path, len, "%s/%s", dir, de->d_name);
		ents[n++].type = de->d_type;
	}
	closedir(d);
	/* sorted, so runs are reproducible whatever readdir's order */
	if (n)
		qsort(ents, n, sizeof *ents, entry_cmp);
	for (size_t i = 0; i < n; i++) {
		/* A regular file as readdir says goes straight to the
		 * file's own stat: an lstat here first would walk its
		 * path once more (a tenth of a first index of 100,000
		 * per-run files was path walks). */
		if (!rc)
			rc = ents[i].type == DT_REG
				? index_file(c, ents[i].path, 0)
				: index_tree(c, ents[i].path, 0, depth + 1);
		free(ents[i].path);
	}
	free(ents);
	return rc;
}

static int index_tree(struct ctx *c, const char *path, int named,
		      unsigned depth)
{
	struct stat lsb, sb;

	if (lstat(path, &lsb) != 0)
		return index_file(c, path, named);
	/* Symlinked folders are not followed inside a tree: no loops. */
	if (S_ISLNK(lsb.st_mode) && !named) {
		if (stat(path, &sb) != 0 || S_ISDIR(sb.st_mode))
			return 0;
	} else if (!S_ISLNK(lsb.st_mode)) {
		sb = lsb;   /* no link: stat would say the same */
	} else if (stat(path, &sb) != 0) {
		return index_file(c, path, named);
	}
	if (S_ISDIR(sb.st_mode))
		return depth > 64 ? 0 : index_dir(c, path, depth);
	if (!S_ISREG(sb.st_mode))
		return 0;
	return index_file(c, path, named);
}

/* ---- vanished files --------------------------------------------------- */

static int prune_source(struct ctx *c, const char *key, size_t kn,
			uint32_t id)
{
	unsigned char ik[4];
	int rc = begin(c);

	if (rc)
		return rc;
	c->x.src = id;
	lin_key_src(ik, id);
	if (!(rc = ix_remove_source_facts(&c->x, id)) &&
	    !(rc = ix_del(&c->x, LIN_DB_SOURCES, key, kn, NULL, 0)) &&
	    !(rc = ix_del(&c->x, LIN_DB_SOURCE_IDS, ik, 4, NULL, 0)))
		return commit(c);
	abort_txn(c);
	return rc;
}

/* 1 when the stored key `kp` (kn bytes) is `root` or below it. */
static int under(const char *kp, size_t kn, const char *root)
{
	char pre[512];
	size_t pn = lin_key_source(pre, root);

	return kn >= pn && memcmp(kp, pre, pn) == 0 &&
	       (kn == pn || kp[pn] == '/' || (pn && pre[pn - 1] == '/'));
}

/* Sources this run did not meet that are gone: those under one of the
 * `n` roots (the walk did not find them), and those anywhere else whose
 * file no longer exists (a folder not named this time, or an archive
 * that moved away). */
static int find_vanished(struct ctx *c, char **roots, char **given,
			 size_t nroots)
{
	MDB_txn *txn;
	struct lin_scan sc;
	struct { char key[512]; size_t kn; uint32_t id; long root; } *gone =
		NULL;
	size_t n = 0, cap = 0;
	int rc;

	if ((rc = lin_store_begin(&c->s, 1, &txn, c->err)))
		return rc;
	rc = lin_scan_open(&sc, txn, &c->s, LIN_DB_SOURCES, NULL, 0, NULL, 0,
			   c->err);
	while (rc == 0 && (rc = lin_scan_next(&sc)) == 1) {
		MDB_val k = sc.k, v = sc.v;
		const char *kp = k.mv_data;
		rc = 0;
		msgpack_zone_clear(&c->x.zone);
		msgpack_object o;
		int64_t id = 0;
		long root = -1;
		if (lin_val_map(v.mv_data, v.mv_size, &c->x.zone, &o) ||
		    !lin_map_i64(&o, "id", &id) ||
		    lin_idbits_has(&c->seen, (uint64_t)id) ||
		    k.mv_size > 512)
			continue;
		for (size_t i = 0; i < nroots && root < 0; i++)
			if (under(kp, k.mv_size, roots[i]))
				root = (long)i;
		if (root < 0) {
			/* outside this run's folders: gone when its file is */
			unsigned char ik[4];
			MDB_val pv;
			struct stat sb;
			char full[PATH_MAX + 1];
			if (lin_store_get(txn, &c->s, LIN_DB_SOURCE_IDS, ik,
					  lin_key_src(ik, (uint32_t)id), &pv,
					  NULL) != 0 || pv.mv_size > PATH_MAX)
				continue;
			memcpy(full, pv.mv_data, pv.mv_size);
			full[pv.mv_size] = 0;
			/* a member of an archive ("ARCHIVE//MEMBER") is
			 * there while its archive file is */
			char *member = strstr(full, "//");
			if (member)
				*member = 0;
			if (stat(full, &sb) == 0 || errno != ENOENT)
				continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			void *p = realloc(gone, cap * sizeof *gone);
			if (!p) {
				rc = LIN_ENOMEM;
				break;
			}
			gone = p;
		}
		memcpy(gone[n].key, kp, k.mv_size);
		gone[n].kn = k.mv_size;
		gone[n].id = (uint32_t)id;
		gone[n].root = root;
		n++;
	}
	lin_scan_close(&sc);
	lin_store_abort(txn);
	for (size_t i = 0; i < n && rc == 0 && !stopping(c); i++) {
		char stored[513], buf[PATH_MAX + 512];
		snprintf(stored, sizeof stored, "%.*s", (int)gone[i].kn,
			 gone[i].key);
		const char *path = stored;
		if (gone[i].root >= 0) {
			/* shown as given on the command line */
			c->given = given[gone[i].root];
			c->abs = roots[gone[i].root];
			path = shown_path(c, stored, buf, sizeof buf);
		}
		if (!c->o->prune) {
			c->st->vanished++;
			report(c, LIN_FILE_VANISHED, path, NULL);
			continue;
		}
		rc = prune_source(c, gone[i].key, gone[i].kn, gone[i].id);
		if (!rc)
			rc = end_group(c);
		if (rc == LIN_ESTORE && c->err->sys == MDB_MAP_FULL) {
			/* the group holds only this prune: drop it, grow */
			drop_group(c);
			forget_group(c);
			if (lin_store_grow(&c->s, c->err))
				break;
			lin_err_clear(c->err);
			i--;
			continue;
		}
		if (!rc) {
			c->st->pruned++;
			report(c, LIN_FILE_PRUNED, path, NULL);
		}
	}
	free(gone);
	return rc;
}

static uint64_t db_entries(struct ctx *c, MDB_txn *txn, enum lin_db db)
{
	return lin_store_entries(txn, &c->s, db);
}

static int totals(struct ctx *c)
{
	MDB_txn *txn;
	int rc = lin_store_begin(&c->s, 1, &txn, c->err);

	if (rc)
		return rc;
	uint64_t cnt[LIN_COUNT_N];
	c->st->runs = lin_store_counts(txn, &c->s, cnt, NULL) == 0 ?
		      cnt[LIN_COUNT_RUNS] : 0;
	c->st->versions = db_entries(c, txn, LIN_DB_COLL_DIG);
	c->st->edges = db_entries(c, txn, LIN_DB_EDGES) / 2;
	c->st->pending = db_entries(c, txn, LIN_DB_PENDING);
	c->st->sources = db_entries(c, txn, LIN_DB_SOURCES);
	lin_store_abort(txn);
	return 0;
}

/* 1 when the store does not exist and none of the paths does: each is
 * reported missing and no store is created for nothing. */
static int nothing_to_index(struct ctx *c, const char *store_path,
			    const char *const *paths, size_t npaths)
{
	struct stat sb;

	if (lstat(store_path, &sb) == 0 || errno != ENOENT)
		return 0;
	for (size_t i = 0; i < npaths; i++)
		if (lstat(paths[i], &sb) == 0 || errno != ENOENT)
			return 0;
	for (size_t i = 0; i < npaths; i++) {
		struct lin_err e;
		lin_err_clear(&e);
		lin_err_path(&e, paths[i]);
		lin_err_set(&e, LIN_ENOTFOUND, LIN_NO_OFFSET, "cannot read: %s",
			    strerror(ENOENT));
		c->done++;
		c->st->rejected++;
		report(c, LIN_FILE_REJECTED, paths[i], &e);
	}
	return 1;
}

/* lin_index_paths on the store in c->s, open for writing; the store
 * stays open. */
static int index_into(struct ctx *c, const char *const *paths,
		      size_t npaths)
{
	const struct lin_index_opts *opts = c->o;
	struct lin_index_stats *st = c->st;
	struct lin_err *err = c->err;
	int rc = 0;

	/* Every file is its own (nested) transaction. Committing and
	 * flushing each one would cost more than indexing small files, so
	 * unless opts->sync asks for that, files are committed in groups
	 * GROUP_INTERVAL apart and flushed at most SYNC_INTERVAL apart and
	 * at the end: killing the indexer loses at most the last group,
	 * a power failure the last second; never a part of a file. */
	if (!opts->sync)
		lin_store_lazy_sync(&c->s);
	c->last_sync = mono_now();
	c->gstats = *st;
	c->group_interval = GROUP_INTERVAL;
	/* For crash tests: shorter groups, so kills land between them. */
	const char *gms = getenv("LINEAGE_GROUP_MS");
	if (gms && atoi(gms) > 0)
		c->group_interval = atoi(gms) / 1000.0;
	c->x.s = &c->s;
	c->x.err = err;
	c->x.entity_default = opts->entity ? opts->entity : "local";
	c->x.project_default = opts->project ? opts->project : "default";
	lin_packer_init(&c->x.pk);
	msgpack_zone_init(&c->x.zone, 4096);
	lin_idbits_init(&c->seen);
	ix_fileruns_init(&c->x.fr);

	char **roots = calloc(npaths ? npaths : 1, sizeof *roots);
	if (!roots)
		rc = LIN_ENOMEM;
	char **given = calloc(npaths ? npaths : 1, sizeof *given);
	if (!given)
		rc = LIN_ENOMEM;
	for (size_t i = 0; i < npaths && rc == 0; i++) {
		/* "dir/" and "dir" are the same root */
		size_t n = strlen(paths[i]);
		while (n > 1 && paths[i][n - 1] == '/')
			n--;
		if (!(given[i] = strndup(paths[i], n)) ||
		    !(roots[i] = abs_path(given[i]))) {
			rc = LIN_ENOMEM;
			break;
		}
		c->given = given[i];
		c->abs = roots[i];
		rc = index_tree(c, given[i], 1, 0);
	}
	/* the read transactions below need the group committed */
	if (!rc)
		rc = end_group(c);
	/* Vanished files are only known after a whole walk. */
	if (!rc && !stopping(c))
		rc = find_vanished(c, roots, given, npaths);
	if (!rc)
		rc = end_group(c);
	for (size_t i = 0; roots && given && i < npaths; i++) {
		free(roots[i]);
		free(given[i]);
	}
	free(roots);
	free(given);
	if (!rc)
		rc = totals(c);
	if (!rc)
		rc = lin_store_sync(&c->s, err);
	if (c->group)  /* only after an error: keep the last group out */
		drop_group(c);
	c->st = st;
	forget_group(c);
	free(c->gfiles);
	ix_release(&c->x);
	lin_idbits_release(&c->seen);
	ix_orphans_free(&c->orphans);
	free(c->fh);
	ix_fileruns_release(&c->x.fr);
	lin_packer_release(&c->x.pk);
	msgpack_zone_destroy(&c->x.zone);
	return rc;
}

/* A run's context, before its store is known. */
static void ctx_init(struct ctx *c, const struct lin_index_opts *opts,
		     struct lin_index_stats *st, struct lin_err *err)
{
	memset(c, 0, sizeof *c);
	memset(st, 0, sizeof *st);
	c->o = opts;
	c->st = st;
	c->err = err;
	lin_err_clear(err);
}

int lin_index_paths(const char *store_path, const char *const *paths,
		    size_t npaths, const struct lin_index_opts *opts,
		    struct lin_index_stats *st, struct lin_err *err)
{
	struct ctx c;
	int rc;

	ctx_init(&c, opts, st, err);
	if (nothing_to_index(&c, store_path, paths, npaths))
		return 0;
	if ((rc = lin_store_open(&c.s, store_path, 0, err)))
		return rc;
	rc = index_into(&c, paths, npaths);
	lin_store_close(&c.s);
	return rc;
}

int lin_index_store(struct lin_store *s, const char *const *paths,
		    size_t npaths, const struct lin_index_opts *opts,
		    struct lin_index_stats *st, struct lin_err *err)
{
	struct ctx c;
	int rc;

	ctx_init(&c, opts, st, err);
	c.s = *s;
	rc = index_into(&c, paths, npaths);
	*s = c.s;
	return rc;
}
