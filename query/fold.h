/* fold.h - folding a drawn graph into cluster boxes so that large
 * neighbourhoods stay readable: siblings first, then, under a box
 * budget, smaller sibling groups and the least-connected nodes. Pure
 * computation on node indexes; it never reads the store or prints. */
#ifndef LQ_FOLD_H
#define LQ_FOLD_H

#include <stddef.h>

/* An edge between node indexes, in data-flow direction. */
struct lq_fedge {
	size_t a, b;
};

struct lq_fold_in {
	size_t n;                     /* nodes */
	const unsigned *cls;          /* per node: same value = same kind
				       * and same type or job type */
	const unsigned char *is_run;  /* per node: 1 run, 0 artifact */
	const unsigned char *pinned;  /* per node: never folded (starts) */
	const struct lq_fedge *e;
	size_t ne;
	size_t min_group;             /* siblings folded from this many */
	size_t max_boxes;             /* box budget; 0: none */
};

/* What folding did, for the note the caller prints. */
struct lq_fold_out {
	long *cluster;         /* per node: cluster number, or -1 */
	size_t nclusters;
	size_t boxes;          /* nodes plus clusters drawn */
	size_t budget_folds;   /* nodes folded only to meet max_boxes */
	int over_budget;       /* still more than max_boxes boxes */
};

/* Fold `in` into `out` (out->cluster: in->n entries, caller-allocated).
 *
 * Siblings are nodes of one class with the same neighbours on one side
 * (the same producers, or the same consumers), counted after earlier
 * folds, so a fold at one level lets the level below fold too (39 train
 * runs of one dataset fold, then their 39 models). Groups of at least
 * min_group nodes fold. Then, while more than max_boxes boxes remain:
 * sibling groups down to two nodes, siblings of one kind whatever their
 * type, and nodes with one neighbour (per neighbour and kind) or none
 * (per kind). Pinned
 * nodes never fold. Returns 0 or -1 when out of memory. */
int lq_fold(const struct lq_fold_in *in, struct lq_fold_out *out);

#endif
