/* derive.h - what the modules that rebuild derived state share
 * (internal to indexer/): the order of first logging, a collection's
 * state, reading a node's facts, and each module's entry point.
 * derive.c drives them per touched collection (ix_derive in ix.h). */
#ifndef LIN_DERIVE_H
#define LIN_DERIVE_H

#include "indexer/ix.h"

/* Order of first logging: time, then file path, then position. */
struct okey {
	int64_t time;        /* effective (LIN_TIME_LAST when none) */
	const char *path;
	uint64_t pos;
};
int ix_okey_cmp(const struct okey *a, const struct okey *b);

/* A collection's `coll_info`, loaded and saved by derive.c. */
struct coll_state {
	char *entity, *project, *name, *type;
	int64_t count;
	int64_t explicit;    /* a version was logged with its number: the
				numbers may have holes */
	int has_last;
	struct okey last;
	char *last_path;
	int dirty;
};

/* The first log fact of a version (ix_pick_first's context). */
struct first_log {
	int found;
	struct okey key;
	struct lin_fact fact;
};

/* ---- derive.c: shared helpers ---------------------------------------- */

/* A malloc'ed NUL-terminated copy of s (NULL when out of memory). */
char *ix_slice_dup(struct lin_slice s);
/* Decode the map stored under `id` in `db` into *o; the copy lives in
 * x->zone until it is cleared. *found says whether the key exists. */
int ix_decode_value(struct ix *x, enum lin_db db, uint64_t id,
		    msgpack_object *o, int *found);
/* Read the okey array `name` of map m into *k; the path is malloc'ed
 * into *path_out. Returns 1 when present, 0 when not, or LIN_ENOMEM. */
int ix_get_okey(const msgpack_object *m, const char *name, struct okey *k,
		char **path_out);
void ix_pack_okey(msgpack_packer *pk, const struct okey *k);

typedef int ix_fact_fn(struct ix *x, const struct lin_fact *f, void *ctx);
/* Call fn for every fact of `node` whose kind is in `kinds` (a bit per
 * LIN_FACT_*), decoded into x->zone; *total (when not NULL) counts all
 * facts of the node. */
int ix_each_fact(struct ix *x, uint64_t node, unsigned kinds,
		 ix_fact_fn *fn, void *ctx, size_t *total);
/* ix_fact_fn keeping the first log fact in a struct first_log. */
int ix_pick_first(struct ix *x, const struct lin_fact *f, void *ctx);

/* ---- derive_versions.c ----------------------------------------------- */

/* Point the producer and re-log edges of every log fact of `vid`. */
int ix_set_log_edges(struct ix *x, uint64_t vid);
/* Number the versions of t (appending, or renumbering the collection
 * whole); every version whose node must be rebuilt goes into `mat`. */
int ix_derive_versions(struct ix *x, struct touched_coll *t,
		       struct coll_state *cs, struct lin_idset *mat);

/* ---- derive_aliases.c ------------------------------------------------ */

/* The version a "vN" or "#digest" selector names now (*vid 0: none). */
int ix_version_of_sel(struct ix *x, uint64_t coll, struct lin_slice sel,
		      uint64_t *vid);
/* The version at the end of a timeline value (0: none). */
uint64_t ix_tl_final(const unsigned char *p, size_t n);
/* Rebuild the timeline of alias `name`; versions it named or names go
 * into `mat`, and the uses it may move become tasks of t. */
int ix_derive_alias(struct ix *x, struct touched_coll *t, const char *name,
		    struct lin_idset *mat);
/* Touch every alias name with events or a timeline in t's collection. */
int ix_collect_alias_names(struct ix *x, struct touched_coll *t);

/* ---- derive_uses.c --------------------------------------------------- */

/* Resolve t's new uses, then the uses its tasks may have moved. */
int ix_run_tasks(struct ix *x, struct touched_coll *t);

/* Resolve again every use carrying W&B server id `sid` (the versions
 * that carry it changed); after every touched collection is derived. */
int ix_resolve_sid_uses(struct ix *x, const char *sid);

/* ---- materialize.c --------------------------------------------------- */

/* Rewrite the node of version `vid` of `coll`; `names` is scratch. */
int ix_materialize_version(struct ix *x, const struct coll_state *cs,
			   uint64_t coll, uint64_t vid,
			   struct lin_packer *names);
/* Rewrite (or delete, when it has no facts left) the node of `run`. */
int ix_materialize_run(struct ix *x, uint64_t run);

#endif
