/* store.c - opening the LMDB environment and the shared lookups. */
#include "store.h"

#include "guard.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *const lin_db_names[LIN_DB_COUNT] = {
	"meta", "sources", "source_ids", "facts", "nodes",
	"coll_info", "coll_ver", "coll_dig", "node_facts", "edges",
	"use_sel", "use_res", "pending", "alias_ev", "alias_tl", "names",
	"server_ids", "node_core",
};

/* Address space reserved for the map at open: LMDB files are sparse, so
 * this costs nothing on disk; writers grow it (doubling) when half used
 * or full (lin_store_grow), readers map twice the file. Kept small so
 * that a process limited to 1 GiB of address space (ulimit -v) can index
 * and query archives of tens of thousands of runs. */
#define MAP_MIN ((size_t)64 << 20)

const char *lin_store_default_path(void)
{
	const char *p = getenv("LINEAGE_STORE");
	return p && *p ? p : "lineage.lmdb";
}

int lin_store_fail(struct lin_err *err, int rc, const char *what)
{
	lin_err_set(err, LIN_ESTORE, LIN_NO_OFFSET, "%s: %s", what,
		    mdb_strerror(rc));
	if (err)
		err->sys = rc;
	return LIN_ESTORE;
}

/* LMDB's default order: bytes, then the shorter first. */
static int cmp_bytes(const void *a, size_t an, const MDB_val *b)
{
	int c = memcmp(a, b->mv_data, an < b->mv_size ? an : b->mv_size);

	return c ? c : (an > b->mv_size) - (an < b->mv_size);
}

static int order_keep(unsigned char *buf, size_t *n, const MDB_val *x)
{
	if (x->mv_size > LIN_LMDB_MAX_KEY)
		return -1;
	memcpy(buf, x->mv_data, x->mv_size);
	*n = x->mv_size;
	return 0;
}

int lin_order_next(struct lin_order *o, const MDB_val *k, const MDB_val *v,
		   enum lin_db db, struct lin_err *err)
{
	int c = -1;

	if (o->have) {
		c = k ? cmp_bytes(o->k, o->kn, k) : 0;
		if (c == 0 && v)
			c = cmp_bytes(o->v, o->vn, v);
		if (o->desc)
			c = -c;
	}
	if (c < 0 && (!k || order_keep(o->k, &o->kn, k) == 0) &&
	    (!v || order_keep(o->v, &o->vn, v) == 0)) {
		o->have = 1;
		return 0;
	}
	lin_err_set(err, LIN_ESTORE, LIN_NO_OFFSET, "'%s' gives an entry "
		    "out of order (a damaged page)", lin_db_names[db]);
	if (err)
		err->sys = MDB_CORRUPTED;
	return LIN_ESTORE;
}

int lin_db_dupsort(enum lin_db db)
{
	return db == LIN_DB_NODE_FACTS || db == LIN_DB_EDGES;
}

int lin_db_coded(enum lin_db db)
{
	return db == LIN_DB_NODES || db == LIN_DB_FACTS ||
	       db == LIN_DB_SOURCES || db == LIN_DB_COLL_INFO;
}

static unsigned db_flags(enum lin_db db)
{
	return lin_db_dupsort(db) ? MDB_DUPSORT | MDB_DUPFIXED : 0;
}

const char *const lin_count_names[LIN_COUNT_N] = {
	LIN_META_COUNT_RUNS, LIN_META_COUNT_VERSIONS, LIN_META_COUNT_LOGGED,
	LIN_META_COUNT_USED
};

int lin_store_counts(MDB_txn *txn, const struct lin_store *s,
		     uint64_t out[LIN_COUNT_N], struct lin_err *err)
{
	for (int i = 0; i < LIN_COUNT_N; i++) {
		MDB_val v;
		int rc = lin_store_get(txn, s, LIN_DB_META, lin_count_names[i],
				       strlen(lin_count_names[i]), &v, err);
		out[i] = 0;
		if (rc == LIN_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		if (v.mv_size != 8)
			return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
					   "meta '%s' is %zu bytes, not 8",
					   lin_count_names[i], v.mv_size);
		out[i] = lin_be64_get(v.mv_data);
	}
	if (err)
		lin_err_clear(err);
	return 0;
}

static int check_schema(struct lin_store *s, MDB_txn *txn, int fresh,
			struct lin_err *err)
{
	MDB_val k = { strlen(LIN_META_SCHEMA), (void *)LIN_META_SCHEMA }, v;
	unsigned char buf[8];
	int rc = mdb_get(txn, s->dbi[LIN_DB_META], &k, &v);

	if (rc == MDB_NOTFOUND && fresh && !s->readonly) {
		lin_be32_put(buf, LIN_SCHEMA_VERSION);
		v.mv_data = buf;
		v.mv_size = 4;
		rc = mdb_put(txn, s->dbi[LIN_DB_META], &k, &v, 0);
		if (rc)
			return lin_store_fail(err, rc, "cannot write schema");
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		lin_be64_put(buf, (uint64_t)ts.tv_sec * 1000000000ull +
				  (uint64_t)ts.tv_nsec);
		MDB_val ck = { strlen(LIN_META_CREATED),
			       (void *)LIN_META_CREATED };
		v.mv_size = 8;
		rc = mdb_put(txn, s->dbi[LIN_DB_META], &ck, &v, 0);
		return rc ? lin_store_fail(err, rc, "cannot write meta") : 0;
	}
	if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != 4))
		return lin_err_set(err, LIN_ESCHEMA, LIN_NO_OFFSET,
				   "not a lineage store");
	if (rc)
		return lin_store_fail(err, rc, "cannot read schema");
	uint32_t ver = lin_be32_get(v.mv_data);
	if (ver > LIN_SCHEMA_VERSION)
		return lin_err_set(err, LIN_ESCHEMA, LIN_NO_OFFSET,
				   "store schema %u is newer than this "
				   "program's %u", ver, LIN_SCHEMA_VERSION);
	/* --rebuild reads an older store's sources, which every schema
	 * keeps alike, to index them again into this schema. */
	if (ver < LIN_SCHEMA_VERSION && !s->salvage)
		return lin_err_set(err, LIN_ESCHEMA, LIN_NO_OFFSET,
				   "store schema %u is older than this "
				   "program's %u; rebuild it from its "
				   "sources with 'lineage-index --store %s "
				   "--rebuild'", ver, LIN_SCHEMA_VERSION,
				   s->path);
	return 0;
}

static int check_dbs(struct lin_store *s, MDB_txn *txn,
		     struct lin_err *err);

/* Open database `i` (created when the store is writable). */
static int open_db(struct lin_store *s, MDB_txn *txn, int i,
		   struct lin_err *err)
{
	unsigned create = s->readonly ? 0 : MDB_CREATE;
	int rc = mdb_dbi_open(txn, lin_db_names[i], create | db_flags(i),
			      &s->dbi[i]);

	/* --rebuild of an older store reads only its list of sources;
	 * databases a later schema added are absent there (dbi 0: LMDB
	 * gives named databases ids from 2) */
	if (rc == MDB_NOTFOUND && s->salvage && i != LIN_DB_SOURCES &&
	    i != LIN_DB_SOURCE_IDS) {
		s->dbi[i] = 0;
		return 0;
	}
	if (rc == MDB_NOTFOUND)
		return lin_err_set(err, LIN_ESCHEMA, LIN_NO_OFFSET,
				   "not a lineage store (no '%s' database)",
				   lin_db_names[i]);
	return rc ? lin_store_fail(err, rc, "cannot open database") : 0;
}

static int open_dbs(struct lin_store *s, struct lin_err *err)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, s->readonly ? MDB_RDONLY : 0,
			       &txn);
	int fresh = 0;

	if (rc)
		return lin_store_fail(err, rc, "cannot begin transaction");
	/* The schema first: an older store lacks the databases a later
	 * schema added, and must be refused as older, not as no store. */
	MDB_stat st;
	rc = open_db(s, txn, LIN_DB_META, err);
	if (!rc && mdb_stat(txn, s->dbi[LIN_DB_META], &st) == 0 &&
	    st.ms_entries == 0)
		fresh = 1;
	if (!rc)
		rc = check_schema(s, txn, fresh, err);
	for (int i = 0; i < LIN_DB_COUNT && rc == 0; i++)
		if (i != LIN_DB_META)
			rc = open_db(s, txn, i, err);
	if (!rc)
		rc = check_dbs(s, txn, err);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_txn_commit(txn);
	return rc ? lin_store_fail(err, rc, "cannot commit") : 0;
}

/* v with thousands separators ("1,048,576"); returns buf. */
static const char *commas(char buf[32], uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	size_t o = 0;

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

/* A store found damaged at open: what is wrong and what to do. */
static int damaged(struct lin_err *err, const char *path, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));
static int damaged(struct lin_err *err, const char *path, const char *fmt,
		   ...)
{
	char what[300], advice[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET, "%s; %s", what,
			   lin_guard_advice(advice, sizeof advice, path));
}

/* The sanity every LMDB database record (from mdb_stat) must have in a
 * file whose last page is `last`: a B-tree is at most 32 deep (LMDB's
 * cursor stack) and holds fewer pages than the file. */
static int db_sane(const MDB_stat *ms, size_t last)
{
	uint64_t pages = (uint64_t)ms->ms_branch_pages + ms->ms_leaf_pages +
			 ms->ms_overflow_pages;
	if (ms->ms_depth > 32 || pages > last)
		return 0;
	return (ms->ms_depth == 0) == (pages == 0) &&
	       (ms->ms_entries == 0 || pages > 0);
}

int lin_store_validate(const char *path, struct lin_store_shape *shape,
		       struct lin_err *err)
{
	struct stat st;
	MDB_env *env;
	MDB_envinfo info;
	MDB_stat ms;
	char a[32], b[32];
	int rc;

	memset(shape, 0, sizeof *shape);
	lin_err_path(err, path);
	if (stat(path, &st) != 0) {
		int e = errno;
		lin_err_set(err, e == ENOENT ? LIN_ENOTFOUND : LIN_EIO,
			    LIN_NO_OFFSET, "cannot open store: %s",
			    strerror(e));
		if (err)
			err->sys = e;
		return err ? err->code : LIN_EIO;
	}
	if (S_ISDIR(st.st_mode))
		return lin_err_set(err, LIN_ESCHEMA, LIN_NO_OFFSET,
				   "not a lineage store (a folder)");
	shape->file_size = (uint64_t)st.st_size;
	if (st.st_size == 0)
		return 0;
	/* Read-only and without the lock: a path that is not a store gets
	 * no lock file, and nothing here touches a page of the map (LMDB
	 * reads the two meta pages with read(2)). */
	if ((rc = mdb_env_create(&env)))
		return lin_store_fail(err, rc, "cannot create env");
	rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK,
			  0);
	if (rc == 0) {
		mdb_env_info(env, &info);
		mdb_env_stat(env, &ms);
	}
	mdb_env_close(env);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		return lin_err_set(err, LIN_ESCHEMA, LIN_NO_OFFSET,
				   "not a lineage store, or its header is "
				   "damaged (%s)", mdb_strerror(rc));
	if (rc == EACCES || rc == EPERM || rc == ENOENT)
		return lin_store_fail(err, rc, "cannot open store");
	if (rc)
		return damaged(err, path, "cannot map the store (%s): its "
			       "header is damaged", mdb_strerror(rc));
	/* The size again, after the meta page was read: a writer may have
	 * committed (and grown the file) between the first stat and that
	 * read, and LMDB writes a commit's pages before its meta page, so
	 * only a size taken after the meta is comparable with it. The
	 * file never shrinks. */
	if (stat(path, &st) == 0 && (uint64_t)st.st_size > shape->file_size)
		shape->file_size = (uint64_t)st.st_size;
	shape->page_size = ms.ms_psize;
	shape->last_page = info.me_last_pgno;
	shape->txnid = info.me_last_txnid;
	if (ms.ms_psize < 512 || ms.ms_psize > 65536 ||
	    (ms.ms_psize & (ms.ms_psize - 1)))
		return damaged(err, path, "header names a page size of %u "
			       "bytes", ms.ms_psize);
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if (shape->file_size < need)
		return damaged(err, path, "truncated: %s of %s bytes",
			       commas(a, shape->file_size), commas(b, need));
	if (!db_sane(&ms, info.me_last_pgno))
		return damaged(err, path, "header is damaged (a main database "
			       "of depth %u with %s pages in a file of %s)",
			       ms.ms_depth, commas(a, (uint64_t)
			       ms.ms_branch_pages + ms.ms_leaf_pages +
			       ms.ms_overflow_pages),
			       commas(b, (uint64_t)info.me_last_pgno + 1));
	return 0;
}

/* After the databases are open: each one's record is sane. */
static int check_dbs(struct lin_store *s, MDB_txn *txn, struct lin_err *err)
{
	MDB_envinfo info;
	MDB_stat ms;

	mdb_env_info(s->env, &info);
	for (int i = 0; i < LIN_DB_COUNT; i++) {
		if (s->salvage && s->dbi[i] == 0)
			continue;  /* absent from an older schema (open_db) */
		int rc = mdb_stat(txn, s->dbi[i], &ms);
		if (rc)
			return lin_store_fail(err, rc, "cannot read databases");
		if (!db_sane(&ms, info.me_last_pgno))
			return damaged(err, s->path, "the record of database "
				       "'%s' is damaged (depth %u, %zu "
				       "pages)", lin_db_names[i], ms.ms_depth,
				       ms.ms_branch_pages + ms.ms_leaf_pages +
				       ms.ms_overflow_pages);
	}
	return 0;
}

int lin_store_open(struct lin_store *s, const char *path, int flags,
		   struct lin_err *err)
{
	struct lin_store_shape shape;
	unsigned envflags = MDB_NOSUBDIR;
	int rc;

	memset(s, 0, sizeof *s);
	s->readonly = !!(flags & LIN_STORE_RDONLY);
	s->salvage = !!(flags & LIN_STORE_SALVAGE);
	snprintf(s->path, sizeof s->path, "%s", path);
	lin_err_path(err, path);
	/* Validate before LMDB opens it for real: no lock file for what is
	 * not a store, no page touched in a file cut short. */
	rc = lin_store_validate(path, &shape, err);
	if (rc == LIN_ENOTFOUND && !s->readonly) {
		lin_err_clear(err);
		lin_err_path(err, path);
	} else if (rc == LIN_ENOTFOUND) {
		return lin_err_set(err, LIN_ENOTFOUND, LIN_NO_OFFSET,
				   "cannot open store: no such file (run "
				   "lineage-index first, or give --store)");
	} else if (rc && !(rc == LIN_ECORRUPT &&
			   (flags & LIN_STORE_SALVAGE))) {
		return rc;
	}
	if (s->readonly && rc == 0 && shape.file_size == 0)
		return lin_err_set(err, LIN_ENOTFOUND, LIN_NO_OFFSET,
				   "store is empty (the first lineage-index "
				   "run was interrupted?); index again");
	lin_err_clear(err);
	lin_err_path(err, path);
	if (s->readonly)
		envflags |= MDB_RDONLY;
	/* A cold walk of 1,000 nodes touched ~500 pages of a 300 MB store,
	 * and the kernel's read-ahead around each fault read 256 MB of it:
	 * look-ups and walks open without read-ahead, scans with it. */
	if (s->readonly && (flags & LIN_STORE_RANDOM))
		envflags |= MDB_NORDAHEAD;
	if (!s->readonly)
		/* LMDB zeroes every page it mallocs (a dirty page, and a
		 * copy in each nested transaction) only so that the unused
		 * tail written to the file is not old heap bytes, which
		 * nothing reads: under callgrind that memset is a third of
		 * the indexer's instructions (little of its time). */
		envflags |= MDB_NOMEMINIT;
	s->mapsize = MAP_MIN;
	/* For tests of growth: a smaller starting map. */
	const char *knob = getenv("LINEAGE_MAP_MIN");
	if (knob && strtoull(knob, NULL, 10) >= 65536)
		s->mapsize = (size_t)strtoull(knob, NULL, 10);
	if (shape.file_size * 2 > s->mapsize)
		s->mapsize = (size_t)shape.file_size * 2;
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = mdb_env_create(&s->env);
		if (rc)
			return lin_store_fail(err, rc, "cannot create env");
		lin_guard_env(s->env);
		mdb_env_set_maxdbs(s->env, LIN_DB_COUNT + 2);
		mdb_env_set_mapsize(s->env, s->mapsize);
		/* A walk that reads ahead holds a slot per helper thread
		 * (query/prefetch.h): a larger table than LMDB's 126, so
		 * that many concurrent cold queries do not fill it. LMDB
		 * grows the lock file to it when it is the first to open
		 * it (64 bytes a slot). */
		mdb_env_set_maxreaders(s->env, LIN_MAX_READERS);
		rc = mdb_env_open(s->env, path, envflags, 0644);
		if (rc == 0)
			break;
		mdb_env_close(s->env);
		s->env = NULL;
		/* Read-only media, or no write access to the lock file:
		 * read without LMDB's reader table (lin_store_nolock). */
		if (!(s->readonly && (rc == EACCES || rc == EROFS)) ||
		    (envflags & MDB_NOLOCK))
			break;
		envflags |= MDB_NOLOCK;
	}
	if (rc) {
		lin_store_fail(err, rc, "cannot open store");
		if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
			lin_err_set(err, LIN_ESCHEMA, LIN_NO_OFFSET,
				    "not a lineage store (%s)",
				    mdb_strerror(rc));
		return err ? err->code : LIN_ESTORE;
	}
	s->nolock = !!(envflags & MDB_NOLOCK);
	lin_guard_arm(path);
	rc = open_dbs(s, err);
	if (rc) {
		lin_store_close(s);
		/* LMDB's own word for a damaged page, with what to do. */
		if (rc == LIN_ESTORE && err &&
		    (err->sys == MDB_CORRUPTED || err->sys == MDB_PAGE_NOTFOUND
		     || err->sys == MDB_INVALID))
			rc = damaged(err, path, "%s", err->msg);
	}
	return rc;
}

int lin_store_grow(struct lin_store *s, struct lin_err *err)
{
	size_t next = s->mapsize * 2;
	int rc;

	if (next < s->mapsize)
		return lin_err_set(err, LIN_ESTORE, LIN_NO_OFFSET,
				   "store cannot grow further");
	rc = mdb_env_set_mapsize(s->env, next);
	if (rc)
		return lin_store_fail(err, rc, "cannot grow the store map");
	s->mapsize = next;
	return 0;
}

int lin_store_reset(struct lin_store *s, struct lin_err *err)
{
	MDB_txn *txn;
	int rc;

	if (s->readonly)
		return lin_err_set(err, LIN_ESTORE, LIN_NO_OFFSET,
				   "cannot reset a store opened read-only");
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return lin_store_fail(err, rc, "cannot begin transaction");
	for (int i = 0; i < LIN_DB_COUNT && rc == 0; i++)
		rc = mdb_drop(txn, s->dbi[i], 0);
	if (rc) {
		mdb_txn_abort(txn);
		return lin_store_fail(err, rc, "cannot empty database");
	}
	/* what open_dbs() writes into a new store */
	rc = check_schema(s, txn, 1, err);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_txn_commit(txn);
	return rc ? lin_store_fail(err, rc, "cannot commit") : 0;
}

void lin_store_close(struct lin_store *s)
{
	if (s && s->env) {
		mdb_env_close(s->env);
		s->env = NULL;
		lin_guard_disarm();
	}
}

int lin_store_begin(struct lin_store *s, int rdonly, MDB_txn **txn,
		    struct lin_err *err)
{
	unsigned flags = rdonly || s->readonly ? MDB_RDONLY : 0;
	int rc = mdb_txn_begin(s->env, NULL, flags, txn);

	/* A writer grew the store past this reader's map since it was
	 * opened: take the writer's size and try again. */
	if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(s->env, 0) == 0)
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	return rc ? lin_store_fail(err, rc, "cannot begin transaction") : 0;
}

int lin_store_get(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		  const void *key, size_t klen, MDB_val *val,
		  struct lin_err *err)
{
	MDB_val k = { klen, (void *)key };
	int rc = mdb_get(txn, s->dbi[db], &k, val);

	if (rc == MDB_NOTFOUND)
		return LIN_ENOTFOUND;
	return rc ? lin_store_fail(err, rc, "cannot read") : 0;
}

int lin_store_version(MDB_txn *txn, const struct lin_store *s,
		      uint64_t coll, uint32_t number, uint64_t *node,
		      struct lin_err *err)
{
	struct lin_ver v;
	int rc = lin_store_coll_ver(txn, s, coll, number, &v, err);

	if (rc == 0)
		*node = v.vid;
	return rc;
}

/* The highest-numbered version of `coll` first logged at or before the
 * time key tk: backwards from the highest number (coll_ver values carry
 * the first-log time key). */
static int latest_at(MDB_txn *txn, const struct lin_store *s, uint64_t coll,
		     uint64_t tk, uint64_t *vid, struct lin_err *err)
{
	unsigned char k[12];
	MDB_val key = { 12, k }, val;
	MDB_cursor *c;
	struct lin_order order;
	int rc;

	memset(&order, 0, sizeof order);
	order.desc = 1;
	lin_key_coll_num(k, coll, UINT32_MAX);
	rc = mdb_cursor_open(txn, s->dbi[LIN_DB_COLL_VER], &c);
	if (rc)
		return lin_store_fail(err, rc, "cannot open cursor");
	rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	rc = mdb_cursor_get(c, &key, &val, rc == 0 ? MDB_PREV : MDB_LAST);
	while (rc == 0 && key.mv_size == 12 &&
	       lin_be64_get(key.mv_data) == coll) {
		uint64_t v, t;
		if ((rc = lin_order_next(&order, &key, NULL, LIN_DB_COLL_VER,
					 err)) ||
		    (rc = lin_val_coll_ver(val.mv_data, val.mv_size, &v, &t,
					   err))) {
			mdb_cursor_close(c);
			return rc;
		}
		if (t <= tk) {
			*vid = v;
			break;
		}
		rc = mdb_cursor_get(c, &key, &val, MDB_PREV);
	}
	mdb_cursor_close(c);
	if (rc == 0 || rc == MDB_NOTFOUND)
		return 0;
	return lin_store_fail(err, rc, "cannot read versions");
}

int lin_timeline_at(const void *tl, size_t n, int64_t t, uint64_t *vid,
		    struct lin_err *err)
{
	const unsigned char *p = tl;
	uint64_t tk = lin_time_key(t);

	*vid = 0;
	if (n % 16)
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "alias timeline of %zu bytes, not a "
				   "multiple of 16", n);
	for (size_t i = 0; i + 16 <= n; i += 16) {
		if (lin_be64_get(p + i) > tk)
			break;
		*vid = lin_be64_get(p + i + 8);
	}
	return 0;
}

int lin_store_alias_at(MDB_txn *txn, const struct lin_store *s,
		       uint64_t coll, const char *alias, size_t len,
		       int64_t t, uint64_t *vid, struct lin_err *err)
{
	const void *tl;
	size_t n;
	int rc;

	*vid = 0;
	if (len == 6 && memcmp(alias, "latest", 6) == 0)
		return latest_at(txn, s, coll, lin_time_key(t), vid, err);
	rc = lin_store_alias_tl(txn, s, coll, alias, len, &tl, &n, err);
	if (rc == LIN_ENOTFOUND)
		return 0;
	return rc ? rc : lin_timeline_at(tl, n * LIN_TL_ENTRY, t, vid, err);
}

int lin_store_alias(MDB_txn *txn, const struct lin_store *s, uint64_t coll,
		    const char *alias, uint64_t *node, struct lin_err *err)
{
	int rc = lin_store_alias_at(txn, s, coll, alias, strlen(alias),
				    INT64_MAX, node, err);
	return rc == 0 && *node == 0 ? LIN_ENOTFOUND : rc;
}

static void hex(FILE *out, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", b[i]);
}

int lin_store_dump(struct lin_store *s, FILE *out, struct lin_err *err)
{
	MDB_txn *txn;
	int rc = lin_store_begin(s, 1, &txn, err);

	if (rc)
		return rc;
	for (int i = 0; i < LIN_DB_COUNT && rc == 0; i++) {
		MDB_cursor *c;
		MDB_val k, v;
		fprintf(out, "db %s\n", lin_db_names[i]);
		if ((rc = mdb_cursor_open(txn, s->dbi[i], &c))) {
			rc = lin_store_fail(err, rc, "cannot open cursor");
			break;
		}
		struct lin_order order;
		memset(&order, 0, sizeof order);
		while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
			if ((rc = lin_order_next(&order, &k, lin_db_dupsort(i)
						 ? &v : NULL, i, err)))
				break;
			hex(out, k.mv_data, k.mv_size);
			fputc(' ', out);
			hex(out, v.mv_data, v.mv_size);
			fputc('\n', out);
		}
		mdb_cursor_close(c);
		if (rc == LIN_ESTORE)
			break;
		rc = rc == MDB_NOTFOUND ? 0 :
		     lin_store_fail(err, rc, "cannot read store");
	}
	mdb_txn_abort(txn);
	if (!rc && (fflush(out) || ferror(out)))
		rc = lin_err_set(err, LIN_EIO, LIN_NO_OFFSET,
				 "cannot write the dump");
	return rc;
}

int lin_store_coll_ver(MDB_txn *txn, const struct lin_store *s,
		       uint64_t coll, uint32_t number, struct lin_ver *v,
		       struct lin_err *err)
{
	unsigned char k[12];
	MDB_val val;
	int rc = lin_store_get(txn, s, LIN_DB_COLL_VER, k,
			       lin_key_coll_num(k, coll, number), &val, err);

	if (rc)
		return rc;
	v->coll = coll;
	v->number = number;
	return lin_val_coll_ver(val.mv_data, val.mv_size, &v->vid, &v->tkey,
				err);
}

int lin_store_alias_tl(MDB_txn *txn, const struct lin_store *s,
		       uint64_t coll, const char *name, size_t len,
		       const void **tl, size_t *n, struct lin_err *err)
{
	unsigned char k[LIN_KEY_BUF];
	size_t kn = lin_key_coll_bytes(k, sizeof k, coll, name, len, 0);
	MDB_val v;
	int rc;

	if (!kn)
		return LIN_ENOTFOUND;
	if ((rc = lin_store_get(txn, s, LIN_DB_ALIAS_TL, k, kn, &v, err)))
		return rc;
	if (v.mv_size % LIN_TL_ENTRY)
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "alias timeline of '%.*s' is %zu bytes, "
				   "not a multiple of 16", (int)len, name,
				   v.mv_size);
	*tl = v.mv_data;
	*n = v.mv_size / LIN_TL_ENTRY;
	return 0;
}
