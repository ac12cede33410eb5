/* compact.c - lin_store_compact: every database of one read snapshot
 * written in key order into a new environment with MDB_APPEND (full
 * pages), in a temporary file, then rename(2). */
#include "compact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static int io_fail(struct lin_err *err, const char *path, const char *what)
{
	int e = errno;

	lin_err_path(err, path);
	lin_err_set(err, LIN_EIO, LIN_NO_OFFSET, "%s: %s", what, strerror(e));
	if (err)
		err->sys = e;
	return LIN_EIO;
}

/* Puts per write transaction of the copy: appends dirty only the pages
 * they fill, so a transaction stays small whatever the store's size. */
#define PUTS_PER_TXN 131072

/* The flags LMDB keeps with a database (its key and duplicate order),
 * which the copy's database must be created with. */
#define DB_FLAGS (MDB_REVERSEKEY | MDB_DUPSORT | MDB_INTEGERKEY | \
		  MDB_DUPFIXED | MDB_INTEGERDUP | MDB_REVERSEDUP)

/* The copy being written: its environment, open transaction, and the
 * puts made in that transaction. */
struct copy {
	MDB_env *env;
	MDB_txn *txn;
	size_t puts;
};

/* Append every entry of database `db` of `s`, read in `rtxn`, to the
 * same-named database of the copy. Keys come in order, so each is put
 * with MDB_APPEND (LMDB then splits a page only at its end and leaves
 * it full, where random inserts leave pages about two thirds full);
 * further duplicates of a key with MDB_APPENDDUP. */
static int append_db(struct lin_store *s, MDB_txn *rtxn, enum lin_db db,
		     struct copy *c)
{
	unsigned flags = 0;
	MDB_dbi to;
	MDB_cursor *from, *into = NULL;
	MDB_val k, v, last = { 0, NULL };
	int rc = mdb_dbi_flags(rtxn, s->dbi[db], &flags);

	if (rc == 0)
		rc = mdb_dbi_open(c->txn, lin_db_names[db],
				  (flags & DB_FLAGS) | MDB_CREATE, &to);
	if (rc == 0)
		rc = mdb_cursor_open(rtxn, s->dbi[db], &from);
	if (rc)
		return rc;
	int dup = !!(flags & MDB_DUPSORT);
	for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
		rc = mdb_cursor_get(from, &k, &v, op);
		if (rc)
			break;
		if (!into && (rc = mdb_cursor_open(c->txn, to, &into)))
			break;
		int same = dup && last.mv_data && k.mv_size == last.mv_size &&
			   !memcmp(k.mv_data, last.mv_data, k.mv_size);
		rc = mdb_cursor_put(into, &k, &v, same ? MDB_APPENDDUP :
				    MDB_APPEND);
		last = k;  /* the read snapshot's bytes stay valid */
		if (rc == 0 && ++c->puts >= PUTS_PER_TXN) {
			mdb_cursor_close(into);
			into = NULL;
			c->puts = 0;
			rc = mdb_txn_commit(c->txn);
			c->txn = NULL;
			if (rc == 0)
				rc = mdb_txn_begin(c->env, NULL, 0, &c->txn);
		}
	}
	if (into)
		mdb_cursor_close(into);
	mdb_cursor_close(from);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Write every database of store `s` (one read snapshot) to a new
 * environment at `tmp`, with the source's map size (the copy is never
 * larger). Returns an LMDB or errno code. */
static int append_copy(struct lin_store *s, const char *tmp)
{
	struct copy c = { NULL, NULL, 0 };
	MDB_txn *rtxn = NULL;
	int rc = mdb_env_create(&c.env);

	if (rc)
		return rc;
	mdb_env_set_maxdbs(c.env, LIN_DB_COUNT + 2);
	mdb_env_set_mapsize(c.env, s->mapsize);
	/* no sync per transaction: the whole file is flushed once, and
	 * is renamed into place only then */
	rc = mdb_env_open(c.env, tmp, MDB_NOSUBDIR | MDB_NOSYNC |
			  MDB_NOMEMINIT, 0644);
	if (rc == 0)
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &rtxn);
	if (rc == 0)
		rc = mdb_txn_begin(c.env, NULL, 0, &c.txn);
	for (int db = 0; db < LIN_DB_COUNT && rc == 0; db++)
		rc = append_db(s, rtxn, (enum lin_db)db, &c);
	if (c.txn) {
		if (rc == 0)
			rc = mdb_txn_commit(c.txn);
		else
			mdb_txn_abort(c.txn);
	}
	if (rtxn)
		mdb_txn_abort(rtxn);
	mdb_env_close(c.env);
	return rc;
}

/* Remove the lock file LMDB made beside `tmp` while writing it (the
 * copy is read without one). */
static void unlink_lock(const char *tmp)
{
	char lock[1200];

	snprintf(lock, sizeof lock, "%s-lock", tmp);
	unlink(lock);
}

/* Remove an unfinished copy and its lock file. */
static void discard(const char *tmp)
{
	unlink(tmp);
	unlink_lock(tmp);
}

/* Flush file `path` to disk. */
static int flush(const char *path)
{
	int fd = open(path, O_RDONLY);
	int rc = fd < 0 ? -1 : fsync(fd);

	if (fd >= 0)
		close(fd);
	return rc;
}

int lin_store_compact(const char *from, const char *to,
		      uint64_t *from_size, uint64_t *to_size,
		      struct lin_err *err)
{
	struct lin_store s;
	struct stat st;
	char tmp[1100];
	int rc;

	lin_err_clear(err);
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return io_fail(err, to, "cannot write the copy");
	}
	if ((rc = lin_store_open(&s, from, LIN_STORE_RDONLY, err)))
		return rc;
	if (from_size)
		*from_size = stat(from, &st) == 0 ? (uint64_t)st.st_size : 0;
	snprintf(tmp, sizeof tmp, "%s.tmp-%ld", to, (long)getpid());
	discard(tmp);
	rc = append_copy(&s, tmp);
	lin_store_close(&s);
	if (rc) {
		discard(tmp);
		lin_err_path(err, to);
		if (rc > 0) {
			errno = rc;
			return io_fail(err, to, "cannot write the copy");
		}
		return lin_store_fail(err, rc, "cannot copy the store");
	}
	if (flush(tmp)) {
		rc = io_fail(err, to, "cannot flush the copy");
		discard(tmp);
		return rc;
	}
	/* What was written must open as a store before it takes the name. */
	struct lin_store check;
	if ((rc = lin_store_open(&check, tmp, LIN_STORE_RDONLY, err))) {
		discard(tmp);
		lin_err_path(err, to);
		return rc;
	}
	lin_store_close(&check);
	unlink_lock(tmp);
	if (to_size)
		*to_size = stat(tmp, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (rename(tmp, to)) {
		rc = io_fail(err, to, "cannot rename the copy into place");
		discard(tmp);
		return rc;
	}
	return 0;
}
