/* store.h - the LMDB environment, its named databases and the lookups
 * that both tools share. The byte layout is in schema.h. */
#ifndef LIN_STORE_H
#define LIN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <lmdb.h>

#include "err.h"
#include "keys.h"
#include "schema.h"

enum lin_db {
	LIN_DB_META, LIN_DB_SOURCES, LIN_DB_SOURCE_IDS, LIN_DB_FACTS,
	LIN_DB_NODES, LIN_DB_COLL_INFO,
	LIN_DB_COLL_VER, LIN_DB_COLL_DIG, LIN_DB_NODE_FACTS, LIN_DB_EDGES,
	LIN_DB_USE_SEL, LIN_DB_USE_RES, LIN_DB_PENDING, LIN_DB_ALIAS_EV,
	LIN_DB_ALIAS_TL, LIN_DB_NAMES, LIN_DB_SERVER_IDS, LIN_DB_NODE_CORE,
	LIN_DB_COUNT
};

/* The name of each database, indexed by enum lin_db. */
extern const char *const lin_db_names[LIN_DB_COUNT];

/* 1 for the databases that keep sorted duplicates (node_facts, edges). */
int lin_db_dupsort(enum lin_db db);
/* Whether the values of `db` are maps (or facts) whose attribute names
 * are stored as codes (attrs.h): the puts of cursor.c code them. */
int lin_db_coded(enum lin_db db);

/* The store's counters (meta "count.*", schema.h), kept by the indexer
 * in the transaction of the writes they count, so that `stats` reads
 * four keys instead of every node and edge. */
enum lin_count {
	LIN_COUNT_RUNS,      /* run nodes */
	LIN_COUNT_VERSIONS,  /* version nodes */
	LIN_COUNT_LOGGED,    /* LOGGED and RELOGGED edges (run side) */
	LIN_COUNT_USED,      /* USES edges (run side) */
	LIN_COUNT_N
};
/* Their meta keys, indexed by enum lin_count. */
extern const char *const lin_count_names[LIN_COUNT_N];

struct lin_store {
	MDB_env *env;
	MDB_dbi dbi[LIN_DB_COUNT];
	int readonly;
	int salvage;       /* LIN_STORE_SALVAGE: an older schema is read */
	int nolock;        /* opened without LMDB's lock file */
	size_t mapsize;
	char path[1024];
};

/* Reader slots of the lock file (LMDB's default is 126). */
#define LIN_MAX_READERS 1022

#define LIN_STORE_RDONLY 1  /* open read-only; the store must exist */
#define LIN_STORE_SALVAGE 2 /* open a store that failed validation as
			       LIN_ECORRUPT anyway (--rebuild reads what it
			       can of it); faults stay guarded */
#define LIN_STORE_RANDOM 4  /* read-only: the reader looks up and walks
			       rather than scans, so the kernel reads no
			       pages ahead (MDB_NORDAHEAD) */

/* What lin_store_validate learned from a store's header. */
struct lin_store_shape {
	uint64_t file_size;  /* bytes */
	unsigned page_size;  /* 0 for an empty file */
	size_t last_page;    /* last page number in use */
	size_t txnid;        /* the last committed transaction */
};

/* Check what can be checked of the store at `path` before any page of
 * its map is read: that LMDB recognises the header (read-only, no lock
 * file created), that the file is as long as its last page says, and
 * that the main database's record is plausible. An empty file passes
 * (shape->page_size 0). Errors: LIN_ENOTFOUND (no file), LIN_ESCHEMA
 * (not a store, or its header is unrecognisable), LIN_ECORRUPT (damaged:
 * the message says what, and what to do), LIN_EIO, LIN_ESTORE. */
int lin_store_validate(const char *path, struct lin_store_shape *shape,
		       struct lin_err *err);

/* The store path to use when none is given: $LINEAGE_STORE, else
 * "lineage.lmdb". Static storage. */
const char *lin_store_default_path(void);

/* Open (and with flags 0, create when missing) the store at `path`.
 * Read-only opens work on read-only media (retrying without the lock file
 * when it cannot be created) and see consistent snapshots while an
 * indexer writes. The store is validated first (lin_store_validate;
 * then every database record and the schema), and faults while it is
 * open are guarded (guard.h). Errors: LIN_ENOTFOUND (read-only and no
 * store), LIN_ESCHEMA (not a lineage store, or a newer schema),
 * LIN_ECORRUPT (damaged), LIN_ESTORE.
 * Release with lin_store_close(). */
int lin_store_open(struct lin_store *s, const char *path, int flags,
		   struct lin_err *err);

void lin_store_close(struct lin_store *s);

/* Empty every database of a store opened for writing and write the
 * schema record again: the store then holds what a new one holds (its
 * file keeps its size). For harnesses that index many inputs into one
 * store (tests/fuzz/fuzz_index.c) without opening a new one each time.
 * Errors: LIN_ESTORE (also for a read-only store). */
int lin_store_reset(struct lin_store *s, struct lin_err *err);

/* Double the map size after a write failed with MDB_MAP_FULL; call with
 * no transaction open, then retry the work. LIN_ESTORE on failure. */
int lin_store_grow(struct lin_store *s, struct lin_err *err);

/* Begin a transaction (read-only when `rdonly`). LIN_ESTORE on failure. */
int lin_store_begin(struct lin_store *s, int rdonly, MDB_txn **txn,
		    struct lin_err *err);

/* Set err from an LMDB return code `rc`, with `what` naming the action;
 * returns LIN_ESTORE. */
int lin_store_fail(struct lin_err *err, int rc, const char *what);

/* Read the value of `key` in `db`. 0 and *val set; LIN_ENOTFOUND;
 * LIN_ESTORE. The value is valid until the transaction ends. */
int lin_store_get(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		  const void *key, size_t klen, MDB_val *val,
		  struct lin_err *err);

/* Version node that is vN of `coll`. */
int lin_store_version(MDB_txn *txn, const struct lin_store *s,
		      uint64_t coll, uint32_t number, uint64_t *node,
		      struct lin_err *err);

/* Version node that alias `alias` (`len` bytes) of `coll` named at time
 * `t` (ns; INT64_MAX: now): the last timeline entry at or before t, or
 * for "latest" the highest-numbered version first logged at or before t.
 * *vid is 0 when it named none. The one place that reads alias_tl and
 * coll_ver times: the indexer resolves uses with it, the query tool
 * answers --as-of with it. Errors: LIN_ECORRUPT, LIN_ESTORE. */
int lin_store_alias_at(MDB_txn *txn, const struct lin_store *s,
		       uint64_t coll, const char *alias, size_t len,
		       int64_t t, uint64_t *vid, struct lin_err *err);

/* The version an alias_tl value (`n` bytes of timeline entries) names at
 * time `t` (*vid 0: none). LIN_ECORRUPT when n is not a multiple of 16. */
int lin_timeline_at(const void *tl, size_t n, int64_t t, uint64_t *vid,
		    struct lin_err *err);

/* Version node that alias `alias` of `coll` names now ("latest": the
 * highest-numbered version). LIN_ENOTFOUND when it names none. */
int lin_store_alias(MDB_txn *txn, const struct lin_store *s, uint64_t coll,
		    const char *alias, uint64_t *node, struct lin_err *err);

/* Tags of the `names` index (schema.h). */
#define LIN_NAME_COLL 'C'     /* collection name -> coll id */
#define LIN_NAME_RUN 'R'      /* run id -> run node */
#define LIN_NAME_DISPLAY 'N'  /* run display name -> run node */

/* Version vN of `coll` and the time key of its first log.
 * LIN_ENOTFOUND, LIN_ECORRUPT, LIN_ESTORE. */
int lin_store_coll_ver(MDB_txn *txn, const struct lin_store *s,
		       uint64_t coll, uint32_t number, struct lin_ver *v,
		       struct lin_err *err);

/* The timeline of alias `name` (`len` bytes) of `coll`: *n entries at
 * *tl. LIN_ENOTFOUND when the collection never had the alias,
 * LIN_ECORRUPT when the value is not whole entries. */
int lin_store_alias_tl(MDB_txn *txn, const struct lin_store *s,
		       uint64_t coll, const char *name, size_t len,
		       const void **tl, size_t *n, struct lin_err *err);

/* Read the counters into out[] (a counter not yet written is 0).
 * LIN_ECORRUPT for a value that is not 8 bytes, LIN_ESTORE. */
int lin_store_counts(MDB_txn *txn, const struct lin_store *s,
		     uint64_t out[LIN_COUNT_N], struct lin_err *err);

/* Write every database of the store to `out` as text, one entry a line
 * ("db NAME" headers, then "hex(key) hex(value)"), in key order, from one
 * read snapshot: two stores with equal content give equal dumps. Returns
 * 0, LIN_ESTORE or LIN_EIO (writing failed). */
int lin_store_dump(struct lin_store *s, FILE *out, struct lin_err *err);

/* The last entry a cursor moved to, to tell that the next one lies past
 * it. Keys (and the duplicates of a key) come in strictly increasing
 * order (strictly decreasing with `desc`) from a sound store; a damaged
 * branch page can point back to a page already read, and LMDB then
 * moves in a circle for ever. Every loop that moves a cursor until the
 * end checks its entries with lin_order_next. */
#define LIN_LMDB_MAX_KEY 511  /* LMDB's largest key, and largest
				 duplicate value (its MDB_MAXKEYSIZE) */
struct lin_order {
	unsigned char k[LIN_LMDB_MAX_KEY], v[LIN_LMDB_MAX_KEY];
	size_t kn, vn;
	int have, desc;
};
/* 0 when `k` (then `v`, for the duplicates of one key) lies past the
 * last entry, which it becomes; k NULL compares values alone (the
 * duplicates of one key), v NULL keys alone (a database without
 * duplicates). When it does not: LIN_ESTORE with err->sys
 * MDB_CORRUPTED (a damaged store, which stops the indexer too), the
 * message naming `db`. */
int lin_order_next(struct lin_order *o, const MDB_val *k, const MDB_val *v,
		   enum lin_db db, struct lin_err *err);

#endif
