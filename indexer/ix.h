/* ix.h - state shared by the indexer's modules while one file is
 * indexed inside one write transaction (internal to indexer/). */
#ifndef LIN_IX_H
#define LIN_IX_H

#include <stdint.h>
#include <lmdb.h>
#include <msgpack.h>

#include "format/record.h"
#include "format/cursor.h"
#include "format/store.h"
#include "format/facts.h"
#include "format/core.h"
#include "indexer/fileruns.h"
#include "indexer/idset.h"
#include "indexer/ingest.h"

/* Times of records without one sort after every timed record. */
#define LIN_TIME_LAST INT64_MAX
static inline int64_t lin_eff_time(int64_t t)
{
	return t == LIN_TIME_NONE ? LIN_TIME_LAST : t;
}


enum task_kind { TASK_SINGLE, TASK_SEL };

/* A use re-resolution request: one use fact, or every use of a selector
 * at or after a time. */
struct coll_task {
	enum task_kind kind;
	uint64_t fact;
	uint64_t run;    /* SINGLE: the use's run */
	char *sel;       /* SINGLE: the use's selector; SEL: the selector */
	char *sid;       /* SINGLE: the use's W&B server id, or NULL */
	int64_t from;    /* SINGLE: the use's time; SEL: from this time */
};

/* A collection whose facts changed in this transaction. */
struct touched_coll {
	uint64_t coll;
	struct lin_idset vids;   /* versions whose log facts changed */
	char **aliases;          /* aliases whose events changed */
	size_t naliases, capaliases;
	struct coll_task *tasks;
	size_t ntasks, captasks;
	int all_aliases;         /* recompute every alias timeline */
	int full;                /* re-resolve every use */
};

struct cur_run {
	int set;
	int skipped;             /* the latest RUN record was skipped (at
				    skipped_at): records that name no run
				    must not fall to the run before it */
	uint64_t skipped_at;
	uint64_t node;
	char entity[LIN_MAX_KEY], project[LIN_MAX_KEY], id[LIN_MAX_KEY];
	int64_t started_at;
};

struct src_path {
	uint32_t id;
	char *path;
};

#define IX_NSEQ 3  /* id sequences: seq_node, seq_coll, seq_src */

struct ix {
	struct lin_store *s;
	MDB_txn *txn;
	struct lin_err *err;
	const char *entity_default, *project_default;
	struct lin_packer pk;
	msgpack_zone zone;
	struct lin_core_enc core; /* ix_node_put's node_core records */

	uint32_t src;            /* source being indexed */
	const char *path;
	uint32_t seq;            /* next fact seq in this source */
	uint64_t seq_node, seq_coll; /* runs and versions share seq_node */
	uint64_t seq_src;        /* source ids are u32: checked on use */
	uint64_t seq_loaded[IX_NSEQ]; /* as ix_meta_load found them */
	uint64_t counts[LIN_COUNT_N];  /* the store's counters (store.h),
					  kept by ix_node_put/_del and the
					  edge writes */
	uint64_t counts_loaded[LIN_COUNT_N];
	/* In a group (ingest.c), the ids and counters are read once when
	 * it starts and written once when it commits, not per file:
	 * group_meta says the two sets below are valid. */
	int group_meta;
	uint64_t group_seq[IX_NSEQ], group_counts[LIN_COUNT_N];   /* as of the
					  last file committed into it */
	uint64_t start_seq[IX_NSEQ], start_counts[LIN_COUNT_N];   /* as the
					  group found them */

	struct cur_run cur;
	struct ix_fileruns fr;   /* the runs this file declares */
	int wandb;               /* the file is a .wandb log */
	struct lin_idset runs;   /* runs to rebuild */
	struct lin_idset newruns;/* runs created in this transaction: their
				    node is first written when rebuilt */
	char **newkeys;          /* their "entity\0project\0run_id" */
	size_t capnew;
	struct lin_idset colls;  /* touched collections, index into tc */
	struct touched_coll *tc;
	size_t ntc, captc;

	struct lin_idset numv;   /* versions numbered in this transaction */
	int64_t *nums;           /* their numbers, by position in numv */
	size_t capnums;

	char **sids;             /* server ids whose versions may have
				    changed: their uses are resolved again */
	size_t nsids, capsids;

	struct src_path *paths;  /* cache for tie-breaks by path */
	size_t npaths, cappaths;

	/* The producer edges of this transaction's log facts, which
	 * ix_derive writes after the uses it resolves (derive.c says
	 * why). */
	struct ix_log_edge {
		uint64_t run, vid, fact;
	} *logs;
	size_t nlogs, caplogs;
};

/* db.c: thin wrappers that fill ix->err on failure. */
int ix_get(struct ix *x, enum lin_db db, const void *k, size_t kn,
	   MDB_val *v);            /* 0, LIN_ENOTFOUND or LIN_ESTORE */
int ix_put(struct ix *x, enum lin_db db, const void *k, size_t kn,
	   const void *v, size_t vn);
/* As ix_put, for keys that usually come after every key in `db`
 * (new ids): appended when they do, put normally when not. */
int ix_put_last(struct ix *x, enum lin_db db, const void *k, size_t kn,
		const void *v, size_t vn);
int ix_del(struct ix *x, enum lin_db db, const void *k, size_t kn,
	   const void *v, size_t vn); /* v NULL: whole key; NOTFOUND is ok */
int ix_get_id(struct ix *x, enum lin_db db, const void *k, size_t kn,
	      uint64_t *id);
/* The id sequences and counters into x for one file's transaction:
 * from the store, or in a group (`group`) from what the group holds.
 * ix_meta_save writes what moved; in a group it writes nothing, and
 * ix_meta_keep takes the file's values into the group once its
 * transaction committed, ix_meta_flush writes the group's values into
 * the group's transaction `txn` before it commits, and
 * ix_meta_forget drops them (the group ended or was aborted). */
int ix_meta_load(struct ix *x, int group);
int ix_meta_save(struct ix *x, int group);
void ix_meta_keep(struct ix *x);
int ix_meta_flush(struct ix *x, MDB_txn *txn);
void ix_meta_forget(struct ix *x);
int ix_edge_put(struct ix *x, uint64_t node, unsigned kind, uint64_t other,
		uint64_t fact);
int ix_edge_del(struct ix *x, uint64_t node, unsigned kind, uint64_t other,
		uint64_t fact);
/* Write or delete the node of a run or version: through these only, so
 * that the node counters stay right. */
int ix_node_put(struct ix *x, uint64_t id, const void *v, size_t vn);
int ix_node_del(struct ix *x, uint64_t id);
int ix_node_fact(struct ix *x, uint64_t node, int kind, uint64_t fact,
		 int add);
const char *ix_src_path(struct ix *x, uint32_t src);
/* The id of `names` entry tag . name . 0 . scope: 0 or LIN_ENOTFOUND
 * (also for a key too long to be stored), or the error. */
int ix_name_get(struct ix *x, int tag, struct lin_slice name,
		struct lin_slice scope, uint64_t *id);
/* Add or remove a `names` entry (store.h LIN_NAME_*). */
int ix_name(struct ix *x, int tag, struct lin_slice name,
	    struct lin_slice scope, uint64_t id, int add);
void ix_release(struct ix *x);

/* Visit, in key order, the entries of `db` whose keys start with the
 * `plen` bytes at `prefix`, beginning at the first key >= `start` (slen
 * bytes, itself starting with the prefix; NULL: the prefix). `fn` gets
 * each key and value, valid during the call only (it must not write to
 * `db`), and returns 0 to go on or a LIN_E* code to stop with it. */
typedef int ix_visit_fn(void *ctx, const MDB_val *k, const MDB_val *v);
int ix_scan(struct ix *x, enum lin_db db, const void *prefix, size_t plen,
	    const void *start, size_t slen, ix_visit_fn *fn, void *ctx);

/* A growable list of u64. */
struct u64v {
	uint64_t *v;
	size_t n, cap;
};
int u64v_push(struct u64v *l, uint64_t id);  /* 0 or LIN_ENOMEM */

/* apply.c: facts in and out */
int ix_apply_record(struct ix *x, const struct lin_record *r);
/* A record that was skipped (unreadable, or refused by
 * ix_apply_record): when it was a RUN record, the records after it that
 * name no run belong to no run, not to the run before it. */
void ix_skipped_record(struct ix *x, const struct lin_record *r);
int ix_remove_source_facts(struct ix *x, uint32_t src);
struct touched_coll *ix_touch_coll(struct ix *x, uint64_t coll);
int ix_touch_alias(struct touched_coll *t, const char *a, size_t n);
int ix_add_task(struct touched_coll *t, enum task_kind k, uint64_t fact,
		const char *sel, size_t seln, int64_t from);
/* A use fact just added: resolved without reading it back. `sid`: its
 * W&B server id, or NULL. */
int ix_add_new_use(struct touched_coll *t, uint64_t fact, uint64_t run,
		   const char *sel, int64_t time, const char *sid);
/* The versions that carry server id `sid` (n bytes) changed: the uses
 * naming it are resolved again in ix_derive. */
int ix_touch_sid(struct ix *x, const char *sid, size_t n);
/* The `server_id` attribute of fact `f` (LOG or USE), or 0 when it has
 * none or one the store does not index. */
int ix_fact_sid(const struct lin_fact *f, struct lin_slice *sid);

/* derive.c: rebuild what follows from the facts of touched things */
int ix_derive(struct ix *x);

#endif
