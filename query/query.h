/* query.h - lineage-query: the callable CLI and the lineage walk API.
 *
 * The walk reads the `edges` database (schema.h) inside a caller's read
 * transaction; it never prints. All memory it returns is owned by the
 * walk or by the caller as stated per function. */
#ifndef LIN_QUERY_H
#define LIN_QUERY_H

#include <stdint.h>
#include <stdio.h>
#include <lmdb.h>

#include "format/err.h"
#include "format/cursor.h"
#include "format/store.h"

/* Run lineage-query with `argv` (argv[0] is the program name) and return
 * its exit status (the table is in query/cli.c and in --help). Results go
 * to stdout, diagnostics to stderr; stdout is flushed and checked before
 * returning (a failed write gives 74). */
int lin_query_main(int argc, char **argv);

/* The same, writing results to `out` and diagnostics to `errf` (both
 * flushed and checked, not closed). For tests and embedding. */
int lin_query_run(int argc, char **argv, FILE *out, FILE *errf);

/* The same on `s`, a store the caller has open (read-only or for
 * writing, with no write transaction active), which the commands read
 * in their own read transaction and leave open; --store names it in
 * messages only. For harnesses that run many queries on one store
 * (tests/fuzz/fuzz_index.c); opening and validating the store is then
 * the caller's. */
int lin_query_run_store(struct lin_store *s, int argc, char **argv,
			FILE *out, FILE *errf);

/* Walk directions. DOWN follows LOGGED (run -> version it produced) and
 * USED_BY (version -> run that used it); UP follows LOGGED_BY and USES.
 * Re-log edges (RELOGGED, RELOGGED_BY: a run logged a digest another
 * run produced first) are followed only when asked for
 * (lin_walk_set_relogs).
 * BOTH walks up and down from each start node: a node reached going up
 * keeps going up, one reached going down keeps going down (ancestors and
 * descendants, not the whole connected component). */
#define LIN_WALK_DOWN 1u
#define LIN_WALK_UP   2u
#define LIN_WALK_BOTH 3u

/* max_depth value for "no limit". */
#define LIN_WALK_ALL UINT32_MAX

/* One neighbour of a node: the other node and the edge kind (LIN_EDGE_*)
 * as stored on the node the scan started from. */
struct lin_nbr {
	uint64_t node;
	unsigned kind;
};

/* A growable list of neighbours; zero-initialise, release with
 * lin_nbrs_free(). */
struct lin_nbrs {
	struct lin_nbr *v;
	size_t n, cap;
};

/* Append to `out` the neighbours of `node` over edges whose kind lies in
 * [first_kind, last_kind], in stored order (kind, then node id). Only
 * that range of the node's duplicates is read (MDB_GET_BOTH_RANGE).
 * Several facts giving the same (kind, node) are reported once; kinds
 * this program does not know are skipped. Errors: LIN_ECORRUPT (an edge
 * value is not 17 bytes or names no run/version), LIN_ESTORE,
 * LIN_ENOMEM. On error `out` keeps what was appended. */
int lin_walk_neighbours(MDB_txn *txn, const struct lin_store *s,
			uint64_t node, unsigned first_kind,
			unsigned last_kind, struct lin_nbrs *out,
			struct lin_err *err);

/* An edge predicate for answers about the past (--as-of): called with
 * the node a scan started from and the decoded edge; returns 1 to keep
 * the edge, 0 to skip it, or a negative LIN_E* code (after filling err)
 * to stop the scan. */
struct lin_edge_filter {
	int (*fn)(void *ctx, uint64_t node, const struct lin_edge *e,
		  struct lin_err *err);
	void *ctx;
};

/* lin_walk_neighbours, reporting only edges that `f` keeps (f NULL:
 * all). Of several facts giving the same (kind, node), the neighbour is
 * reported once when `f` keeps any of them. Errors: those of `f`, and
 * those of lin_walk_neighbours. */
int lin_walk_neighbours_filtered(MDB_txn *txn, const struct lin_store *s,
				 uint64_t node, unsigned first_kind,
				 unsigned last_kind,
				 const struct lin_edge_filter *f,
				 struct lin_nbrs *out, struct lin_err *err);

/* Release the list's memory and zero it. */
void lin_nbrs_free(struct lin_nbrs *l);

/* "logged" for LOGGED/LOGGED_BY, "used" for USES/USED_BY, "relogged"
 * for RELOGGED/RELOGGED_BY, else NULL. Static storage. */
const char *lin_edge_label(unsigned kind);

/* The first edge kind of direction `dir` (LIN_WALK_DOWN or LIN_WALK_UP):
 * each direction is one contiguous range of kinds (schema.h). */
static inline unsigned lin_walk_first_kind(unsigned dir)
{
	return dir == LIN_WALK_DOWN ? LIN_EDGE_DOWN_FIRST : LIN_EDGE_UP_FIRST;
}

/* The last edge kind of direction `dir` (LIN_WALK_DOWN or LIN_WALK_UP)
 * that a walk follows: the range from LIN_EDGE_DOWN_FIRST/UP_FIRST up to
 * it holds the producer and use edges, and the re-log edges too when
 * `relogs` is set. */
unsigned lin_walk_last_kind(unsigned dir, int relogs);

/* One reached node. A start node has depth 0, from 0 and edge 0. */
struct lin_walk_step {
	uint64_t node;
	uint64_t from;    /* the node it was first reached from */
	unsigned edge;    /* LIN_EDGE_* kind on `from` that reached it */
	uint32_t depth;   /* edges from the nearest start node */
};

struct lin_walk;

/* Start a breadth-first walk in direction `dir` (LIN_WALK_*) that expands
 * nodes up to `max_depth` edges from a start node (LIN_WALK_ALL: no
 * limit). The walk borrows `txn` and `s`, which must outlive it. Each
 * level is visited in increasing node id order per parent, so the order
 * is stable for a given store. Errors: LIN_EINVAL (bad dir), LIN_ENOMEM.
 * Release with lin_walk_free(). */
int lin_walk_new(struct lin_walk **w, MDB_txn *txn,
		 const struct lin_store *s, unsigned dir, uint32_t max_depth,
		 struct lin_err *err);

/* Follow only the edges `f` keeps (before the first lin_walk_next; f
 * NULL: all). The filter is borrowed and must outlive the walk. */
void lin_walk_set_filter(struct lin_walk *w,
			 const struct lin_edge_filter *f);

/* Follow re-log edges too when `on` (before the first lin_walk_next;
 * default: producer and use edges only). */
void lin_walk_set_relogs(struct lin_walk *w, int on);

/* Read ahead when the walk finds the store cold (`on`; default off):
 * once its own thread has waited for disk reads (major page faults),
 * helper threads look up the nodes it has queued but not reached
 * (query/prefetch.h), so that the reads overlap. A walk over pages in
 * memory never starts them. */
void lin_walk_set_prefetch(struct lin_walk *w, int on);

/* Add a start node (before the first lin_walk_next). Adding a node
 * twice is harmless. Errors: LIN_ENOMEM. */
int lin_walk_start(struct lin_walk *w, uint64_t node, struct lin_err *err);

/* The next reached node, start nodes first, each node once. Returns 1
 * and fills `step`, 0 when the walk is over, or a negative LIN_E* code
 * (from lin_walk_neighbours, or LIN_ENOMEM). */
int lin_walk_next(struct lin_walk *w, struct lin_walk_step *step,
		  struct lin_err *err);

/* Number of nodes reported so far. */
uint64_t lin_walk_count(const struct lin_walk *w);

/* Release the walk (NULL is fine). */
void lin_walk_free(struct lin_walk *w);

#endif
