/* rebuild.c - lineage-index --rebuild. A damaged store is read only as
 * far as its list of sources, with faults caught (format/guard.h); the
 * lineage is re-derived from the files themselves. */
#include "indexer/rebuild.h"
#include "format/grow.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/cursor.h"
#include "format/guard.h"
#include "format/store.h"
#include "format/txn.h"

struct list {
	char **p;
	size_t n, cap;
};

static int list_add(struct list *l, const char *s, size_t n)
{
	if (LIN_GROW(l->p, l->cap, l->n + 1, 64))
		return LIN_ENOMEM;
	if (!(l->p[l->n] = strndup(s, n)))
		return LIN_ENOMEM;
	l->n++;
	return 0;
}

static void list_release(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->p[i]);
	free(l->p);
	memset(l, 0, sizeof *l);
}

/* A stored source name that is a path: paths over 500 bytes are kept as
 * a prefix and a hash (ingest.c), which cannot be turned back. */
static int recoverable(const char *p, size_t n)
{
	return n > 0 && p[0] == '/' && !(n > 480 && p[480] == '#');
}

/* Read the source paths of database `db` (source_ids values, or sources
 * keys) into `l`. 1 when every entry the database's record counts was
 * read and recoverable, 0 when not (why says why), <0 out of memory. */
static int read_db(struct lin_store *s, MDB_txn *txn, enum lin_db db,
		   struct list *l, char *why, size_t wn)
{
	struct lin_scan sc;
	struct lin_err err;
	uint64_t entries = 0;
	size_t unrecoverable = 0;
	int r;

	if (lin_store_count(txn, s, db, &entries, &err) ||
	    lin_scan_open(&sc, txn, s, db, NULL, 0, NULL, 0, &err)) {
		snprintf(why, wn, "%s", err.msg);
		return 0;
	}
	while ((r = lin_scan_next(&sc)) == 1) {
		const MDB_val *name = db == LIN_DB_SOURCE_IDS ? &sc.v : &sc.k;
		if (!recoverable(name->mv_data, name->mv_size)) {
			unrecoverable++;
			continue;
		}
		if (list_add(l, name->mv_data, name->mv_size)) {
			lin_scan_close(&sc);
			return LIN_ENOMEM;
		}
	}
	lin_scan_close(&sc);
	if (r < 0) {
		snprintf(why, wn, "%s after %zu sources", err.msg, l->n);
		return 0;
	}
	if (unrecoverable) {
		snprintf(why, wn, "%zu source paths are stored shortened",
			 unrecoverable);
		return 0;
	}
	if ((uint64_t)l->n != entries) {
		snprintf(why, wn, "%zu sources read of the %llu recorded", l->n,
			 (unsigned long long)entries);
		return 0;
	}
	return 1;
}

/* The old store's sources, as far as they can be read. 1 complete, 0
 * not (why set), <0 out of memory. Faults are caught, not fatal. */
static int salvage(const char *path, struct list *l, char *why, size_t wn)
{
	static struct lin_store s;
	static MDB_txn *txn;
	static sigjmp_buf jb;
	static volatile int done;
	struct lin_err err;
	int sig;

	done = 0;
	txn = NULL;
	memset(&s, 0, sizeof s);
	/* The catch covers the open too: opening reads the catalogue. */
	if ((sig = sigsetjmp(jb, 1)) == 0) {
		lin_guard_catch(&jb);
		if (lin_store_open(&s, path, LIN_STORE_RDONLY |
				   LIN_STORE_SALVAGE, &err)) {
			snprintf(why, wn, "%s", err.msg);
		} else if (lin_store_begin(&s, 1, &txn, &err) == 0) {
			/* source_ids in id order: the order the files were
			 * first indexed in, so ids come out alike */
			done = read_db(&s, txn, LIN_DB_SOURCE_IDS, l, why, wn);
			if (done == 0) {
				for (size_t i = 0; i < l->n; i++)
					free(l->p[i]);
				l->n = 0;
				done = read_db(&s, txn, LIN_DB_SOURCES, l, why,
					       wn);
			}
		} else {
			snprintf(why, wn, "%s", err.msg);
		}
	} else {
		snprintf(why, wn, "store damaged (%s) after %zu sources",
			 lin_guard_why(sig), l->n);
		done = 0;
	}
	lin_guard_catch(NULL);
	lin_store_abort(txn);
	lin_store_close(&s);
	return done;
}

static void report(const struct lin_index_opts *o, enum lin_file_status st,
		   const char *path)
{
	if (o->report)
		o->report(o->report_ctx, st, path, NULL, 0);
}

/* Remove a store file and its lock file. */
static void remove_store(const char *path)
{
	char lock[1200];

	unlink(path);
	snprintf(lock, sizeof lock, "%s-lock", path);
	unlink(lock);
}

/* Flush the folder holding `path`, so the rename survives a crash. */
static void flush_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int lin_index_rebuild(const char *store_path, const char *const *paths,
		      size_t npaths, const struct lin_index_opts *opts,
		      struct lin_index_stats *st, struct lin_err *err)
{
	struct list l = { 0 }, keep = { 0 };
	struct stat sb;
	char why[600] = "", tmp[1100];
	uint64_t vanished = 0;
	int rc;

	lin_err_clear(err);
	memset(st, 0, sizeof *st);
	lin_err_path(err, store_path);
	if (stat(store_path, &sb) != 0)
		return lin_err_set(err, LIN_ENOTFOUND, LIN_NO_OFFSET,
				   "no store to rebuild: %s", strerror(errno));
	rc = salvage(store_path, &l, why, sizeof why);
	if (rc < 0) {
		list_release(&l);
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	}
	if (rc == 0 && npaths == 0) {
		list_release(&l);
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "cannot read the list of sources the store "
				   "was built from (%s); give the source paths "
				   "again: lineage-index --store %s --rebuild "
				   "PATH...", why, store_path);
	}
	for (size_t i = 0; i < l.n && rc >= 0; i++) {
		struct stat fs;
		if (lstat(l.p[i], &fs) != 0) {
			vanished++;
			report(opts, LIN_FILE_VANISHED, l.p[i]);
		} else if (list_add(&keep, l.p[i], strlen(l.p[i]))) {
			rc = -1;
		}
	}
	for (size_t i = 0; i < npaths && rc >= 0; i++)
		if (list_add(&keep, paths[i], strlen(paths[i])))
			rc = -1;
	list_release(&l);
	if (rc < 0) {
		list_release(&keep);
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	}
	if (keep.n == 0) {
		list_release(&keep);
		return lin_err_set(err, LIN_ENOTFOUND, LIN_NO_OFFSET,
				   "every source of the store has vanished; "
				   "the store is left as it was");
	}
	snprintf(tmp, sizeof tmp, "%s.rebuild-%ld", store_path,
		 (long)getpid());
	remove_store(tmp);
	rc = lin_index_paths(tmp, (const char *const *)keep.p, keep.n, opts,
			     st, err);
	list_release(&keep);
	st->vanished += vanished;
	if (rc == 0 && st->interrupted) {
		/* stopped by a signal: the old store stays */
		remove_store(tmp);
		return 0;
	}
	if (rc == 0 && st->sources == 0)
		rc = lin_err_set(err, LIN_ENOTFOUND, LIN_NO_OFFSET,
				 "no source could be indexed again; the store "
				 "is left as it was");
	if (rc) {
		remove_store(tmp);
		if (err->path[0] == 0 || strcmp(err->path, tmp) == 0)
			lin_err_path(err, store_path);
		return rc;
	}
	chmod(tmp, sb.st_mode & 07777);
	/* The swap: readers that have the old store open keep reading it;
	 * the next opener finds the new file and, the old lock file being
	 * gone, makes a fresh one (a lock file describes one store). */
	if (rename(tmp, store_path) != 0) {
		int e = errno;
		remove_store(tmp);
		lin_err_path(err, store_path);
		lin_err_set(err, LIN_EIO, LIN_NO_OFFSET, "cannot put the "
			    "rebuilt store in place: %s", strerror(e));
		err->sys = e;
		return LIN_EIO;
	}
	char lock[1200];
	snprintf(lock, sizeof lock, "%s-lock", store_path);
	unlink(lock);
	snprintf(lock, sizeof lock, "%s-lock", tmp);
	unlink(lock);
	flush_dir(store_path);
	return 0;
}
