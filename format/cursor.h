/* cursor.h - reading and writing the store's databases: point writes,
 * prefix scans and the typed iterators over versions, aliases, names
 * and edges. With store.h and keys.h the only code that calls LMDB; the
 * tools use these and never mdb_* directly.
 *
 * Iterators are structs the caller owns (_open/_close). A _next call
 * returns 1 with the next entry, 0 at the end, or a negative LIN_E*
 * code with `err` set (LIN_ECORRUPT for an entry of the wrong size,
 * LIN_ESTORE when LMDB fails). Pointers into entries are valid until
 * the next call or the end of the transaction. */
#ifndef LIN_CURSOR_H
#define LIN_CURSOR_H

#include "store.h"
#include "txn.h"

/* Write `v` under `k` in `db` (dupsort databases: add the value).
 * LIN_ESTORE on failure. */
int lin_store_put(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		  const void *k, size_t kn, const void *v, size_t vn,
		  struct lin_err *err);

/* lin_store_put for a key expected past every key of `db`: appends
 * without a search and keeps split pages full; falls back to a plain
 * put when the key is not the last. */
int lin_store_put_last(MDB_txn *txn, const struct lin_store *s,
		       enum lin_db db, const void *k, size_t kn,
		       const void *v, size_t vn, struct lin_err *err);

/* Delete `k` (with `v`: only that duplicate). A missing key is not an
 * error. LIN_ESTORE on failure. */
int lin_store_del(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		  const void *k, size_t kn, const void *v, size_t vn,
		  struct lin_err *err);

/* lin_store_put that says whether it added: 1 when `k` (dupsort
 * databases: `k` with `v`) was not there, 0 when it was (dupsort: nothing
 * written; else its value replaced). The store's counters
 * (LIN_META_COUNT_*) are kept from this. LIN_ESTORE on failure. */
int lin_store_put_new(MDB_txn *txn, const struct lin_store *s,
		      enum lin_db db, const void *k, size_t kn,
		      const void *v, size_t vn, struct lin_err *err);

/* lin_store_put_new for a key that is usually past every key of `db`
 * when it is new (node ids come from a counter): such a key is appended
 * without a search, and split pages stay full (put_last). Not for
 * dupsort databases, where it is lin_store_put_new. */
int lin_store_put_new_last(MDB_txn *txn, const struct lin_store *s,
			   enum lin_db db, const void *k, size_t kn,
			   const void *v, size_t vn, struct lin_err *err);

/* lin_store_del that says whether it deleted: 1, or 0 when there was
 * nothing to delete. LIN_ESTORE on failure. */
int lin_store_del_found(MDB_txn *txn, const struct lin_store *s,
			enum lin_db db, const void *k, size_t kn,
			const void *v, size_t vn, struct lin_err *err);

/* Delete every key of `db` starting with the `pn` bytes of `pre`. */
int lin_store_del_prefix(MDB_txn *txn, const struct lin_store *s,
			 enum lin_db db, const void *pre, size_t pn,
			 struct lin_err *err);

/* Number of entries in `db` (0 when it cannot be read). */
size_t lin_store_entries(MDB_txn *txn, const struct lin_store *s,
			 enum lin_db db);

/* Number of entries in `db` into *n. LIN_ESTORE on failure. */
int lin_store_count(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		    uint64_t *n, struct lin_err *err);

/* A scan over the keys of one database that start with a prefix, in
 * key order; with a dupsort database every duplicate is visited. */
struct lin_scan {
	MDB_cursor *c;
	const void *pre;
	unsigned char buf[LIN_LMDB_MAX_KEY + 1];
	size_t pn;
	int started, dups;
	MDB_val start;
	struct lin_err *err;
	MDB_val k, v;   /* the current entry, after _next returned 1 */
	enum lin_db db;
	struct lin_order order;
	/* a scan over rows held in memory (view.h) instead of a cursor:
	 * _next and _close call these */
	void *rows;
	int (*rows_next)(struct lin_scan *sc);
	void (*rows_free)(struct lin_scan *sc);
};

/* Scan `db` for keys starting with `pre` (`pn` bytes; 0: every key),
 * from the first key at or after `start` (NULL: the prefix). A prefix
 * of up to LIN_LMDB_MAX_KEY + 1 bytes (any prefix a key can have) is
 * copied; a longer one, and `start`, must
 * stay valid while the scan is open.
 * LIN_ESTORE when no cursor can be opened. */
int lin_scan_open(struct lin_scan *sc, MDB_txn *txn,
		  const struct lin_store *s, enum lin_db db, const void *pre,
		  size_t pn, const void *start, size_t sn,
		  struct lin_err *err);

/* Scan the duplicates of key `k` (`kn` bytes) of a dupsort `db`, from
 * the first value at or after `from` (`fn` bytes; NULL: the first). */
int lin_scan_dups(struct lin_scan *sc, MDB_txn *txn,
		  const struct lin_store *s, enum lin_db db, const void *k,
		  size_t kn, const void *from, size_t fn,
		  struct lin_err *err);

/* 1 with the next entry in sc->k, sc->v; 0 at the end of the range;
 * below 0 when the store cannot be read, LIN_ESTORE with err->sys
 * MDB_CORRUPTED too when an entry does not come after the one before
 * (lin_order_next). */
int lin_scan_next(struct lin_scan *sc);

/* Make the next _next seek afresh (to `start`, or the prefix): after
 * writes to the database, where a cursor stands is not to be trusted.
 * The entries found then must still come after the last one given (the
 * caller deleted what it read): a scan that would give an entry twice
 * stops with a damaged-store error instead of going round. */
void lin_scan_restart(struct lin_scan *sc);

void lin_scan_close(struct lin_scan *sc);

/* coll_ver: the versions of collection `coll` in number order (coll 0:
 * of every collection, in collection id order). */
int lin_store_versions(struct lin_scan *sc, MDB_txn *txn,
		       const struct lin_store *s, uint64_t coll,
		       struct lin_err *err);
int lin_versions_next(struct lin_scan *sc, struct lin_ver *v);

/* alias_tl: the aliases of a collection in name order, each with its
 * timeline (`n` entries of LIN_TL_ENTRY bytes, see lin_tl_entry). */
struct lin_alias {
	const char *name;   /* not NUL-terminated */
	size_t len;
	const void *tl;
	size_t n;
};
int lin_store_aliases(struct lin_scan *sc, MDB_txn *txn,
		      const struct lin_store *s, uint64_t coll,
		      struct lin_err *err);
int lin_aliases_next(struct lin_scan *sc, struct lin_alias *a);

/* names: every entry for bare name `name` of kind `tag` (LIN_NAME_*),
 * in scope order. An entry whose name is too long to index yields
 * nothing. */
struct lin_name {
	const char *scope;  /* not NUL-terminated */
	size_t len;
	uint64_t id;
};
int lin_store_names(struct lin_scan *sc, MDB_txn *txn,
		    const struct lin_store *s, int tag, const char *name,
		    size_t len, struct lin_err *err);
int lin_names_next(struct lin_scan *sc, struct lin_name *nm);

/* edges, whole: every edge of every node, in node order. */
int lin_store_all_edges(struct lin_scan *sc, MDB_txn *txn,
			const struct lin_store *s, struct lin_err *err);
int lin_all_edges_next(struct lin_scan *sc, uint64_t *node,
		       struct lin_edge *e);

/* edges: the edges of nodes, one direction at a time. One cursor serves
 * many nodes (a walk seeks it once per node). */
struct lin_edges {
	MDB_cursor *c;
	uint64_t node;
	unsigned last;
	int rc;           /* of the last cursor move */
	int fresh;        /* the current entry is not yet returned */
	MDB_val v;        /* the current entry's value, as the move gave it */
	unsigned char kb[8];
	struct lin_order order; /* the edges returned since the seek */
	struct lin_err *err;
};
int lin_edges_open(struct lin_edges *es, MDB_txn *txn,
		   const struct lin_store *s, struct lin_err *err);
/* Position at the first edge of `node` with a kind in [first, last];
 * the next _next returns it. */
void lin_edges_seek(struct lin_edges *es, uint64_t node, unsigned first,
		    unsigned last);
int lin_edges_next(struct lin_edges *es, struct lin_edge *e);
/* 1 when `node` has edge `e` exactly, 0 when not, LIN_ESTORE. Moves
 * the iterator: seek again before the next _next. */
int lin_edges_has(struct lin_edges *es, uint64_t node,
		  const struct lin_edge *e);
void lin_edges_close(struct lin_edges *es);

#endif
