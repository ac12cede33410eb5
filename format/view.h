/* view.h - runs and collections by "entity/project/name", read from
 * `names` (schema 7).
 *
 * Until schema 6 two databases, `runs` and `colls`, held that key for
 * every run and collection, beside the `names` entries R (run id) and C
 * (collection name) that hold the same pairs keyed name first. Their keys
 * are random (W&B run ids), so each new run dirtied a page of each in
 * every group commit: at 1,000,000 runs dropping them took the first
 * index from 43.3-49.8 s to 34.0-36.0 s (STORE.md "Runs and collections
 * by name"). A view gives readers the old
 * key order over `names` alone: it reads the tag's entries, builds each
 * "scope/name" key and sorts them. It costs a read of every entry of the
 * tag per open, so it serves listings, checks and look-ups of names
 * that the name index cannot answer, not point look-ups (for those,
 * lin_view_get). */
#ifndef LIN_VIEW_H
#define LIN_VIEW_H

#include "cursor.h"

enum lin_view { LIN_VIEW_RUNS, LIN_VIEW_COLLS };

/* lin_scan_open for a view: keys "entity/project/name" starting with
 * `pre` (`pn` bytes), from the first at or after `start` (`sn` bytes;
 * NULL: every one), in byte order (shorter first), each with its id as
 * an 8-byte big-endian value; lin_scan_next and lin_scan_close as for a
 * database. Equal keys (a '/' inside an entity, project or name) come
 * in id order. A damaged entry is not left out: one with no scope has
 * its name alone as key, one whose value is not 8 bytes gives a value
 * of its size (whose bytes must not be read), so readers report it as
 * they did for the old databases. LIN_ENOMEM, LIN_ESTORE. */
int lin_view_open(struct lin_scan *sc, MDB_txn *txn,
		  const struct lin_store *s, enum lin_view view,
		  const void *pre, size_t pn, const void *start, size_t sn,
		  struct lin_err *err);

/* The id of the run `project`'s run `name` of `entity` (LIN_VIEW_RUNS)
 * or of that collection (LIN_VIEW_COLLS): 0, LIN_ENOTFOUND (also for a
 * name too long to be stored), LIN_ESTORE. */
int lin_view_get(MDB_txn *txn, const struct lin_store *s,
		 enum lin_view view, const char *entity, size_t en,
		 const char *project, size_t pn, const char *name, size_t nn,
		 uint64_t *id, struct lin_err *err);

/* The distinct scopes ("entity/project") of a view's entries, sorted:
 * for "has this project any run", asked once per use of a listing. */
struct lin_scopes {
	char **v;
	size_t n;
};
/* 0, LIN_ENOMEM or LIN_ESTORE. */
int lin_view_scopes(MDB_txn *txn, const struct lin_store *s,
		    enum lin_view view, struct lin_scopes *out,
		    struct lin_err *err);
/* 1 when `scope` (`n` bytes, no trailing '/') is one of them. */
int lin_scopes_has(const struct lin_scopes *sc, const char *scope,
		   size_t n);
void lin_scopes_free(struct lin_scopes *sc);

/* Free every view this thread holds open, after a fault (lin_guard)
 * jumped past their lin_scan_close; the scans that held them are dead. */
void lin_view_abandon_all(void);
/* How many views this thread holds open. */
size_t lin_view_open_count(void);

#endif
