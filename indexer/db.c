/* db.c - the indexer's LMDB access helpers (errors into ix->err). */
#include "format/grow.h"
#include "indexer/ix.h"

#include <stdlib.h>
#include <string.h>

int ix_get(struct ix *x, enum lin_db db, const void *k, size_t kn,
	   MDB_val *v)
{
	return lin_store_get(x->txn, x->s, db, k, kn, v, x->err);
}

int ix_put(struct ix *x, enum lin_db db, const void *k, size_t kn,
	   const void *v, size_t vn)
{
	return lin_store_put(x->txn, x->s, db, k, kn, v, vn, x->err);
}

int ix_put_last(struct ix *x, enum lin_db db, const void *k, size_t kn,
		const void *v, size_t vn)
{
	return lin_store_put_last(x->txn, x->s, db, k, kn, v, vn, x->err);
}

int ix_del(struct ix *x, enum lin_db db, const void *k, size_t kn,
	   const void *v, size_t vn)
{
	return lin_store_del(x->txn, x->s, db, k, kn, v, vn, x->err);
}

int ix_get_id(struct ix *x, enum lin_db db, const void *k, size_t kn,
	      uint64_t *id)
{
	MDB_val v;
	int rc = ix_get(x, db, k, kn, &v);

	if (rc)
		return rc;
	/* every id value is 8 bytes: another size is damage, not an id */
	if (v.mv_size != 8)
		return lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "id value of %zu bytes, not 8, in '%s'",
				   v.mv_size, lin_db_names[db]);
	*id = lin_be64_get(v.mv_data);
	return 0;
}

static int meta_u64(struct ix *x, const char *name, uint64_t *out)
{
	MDB_val v;
	int rc = ix_get(x, LIN_DB_META, name, strlen(name), &v);

	*out = 0;
	if (rc == LIN_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	/* another size: no counter of ours; start from 0 */
	lin_val_id(v.mv_data, v.mv_size, out, "meta", NULL);
	return 0;
}

static int meta_put_u64(struct ix *x, const char *name, uint64_t val)
{
	unsigned char b[8];
	lin_val_u64_put(b, val);
	return ix_put(x, LIN_DB_META, name, strlen(name), b, 8);
}

static const char *const seq_names[IX_NSEQ] = {
	LIN_META_SEQ_NODE, LIN_META_SEQ_COLL, LIN_META_SEQ_SRC
};

static uint64_t *seq_field(struct ix *x, int i)
{
	uint64_t *f[IX_NSEQ] = { &x->seq_node, &x->seq_coll, &x->seq_src };
	return f[i];
}

int ix_meta_load(struct ix *x, int group)
{
	int rc = 0;

	if (group && x->group_meta) {
		for (int i = 0; i < IX_NSEQ; i++)
			*seq_field(x, i) = x->seq_loaded[i] = x->group_seq[i];
		memcpy(x->counts, x->group_counts, sizeof x->counts);
		memcpy(x->counts_loaded, x->counts, sizeof x->counts);
		return 0;
	}
	for (int i = 0; i < IX_NSEQ && rc == 0; i++) {
		rc = meta_u64(x, seq_names[i], seq_field(x, i));
		x->seq_loaded[i] = *seq_field(x, i);
	}
	if (!rc)
		rc = lin_store_counts(x->txn, x->s, x->counts, x->err);
	memcpy(x->counts_loaded, x->counts, sizeof x->counts);
	if (!rc && group) {
		memcpy(x->start_seq, x->seq_loaded, sizeof x->start_seq);
		memcpy(x->group_seq, x->seq_loaded, sizeof x->group_seq);
		memcpy(x->start_counts, x->counts, sizeof x->start_counts);
		memcpy(x->group_counts, x->counts, sizeof x->group_counts);
		x->group_meta = 1;
	}
	return rc;
}

/* Write the values of `seq` and `counts` that differ from `seq0` and
 * `counts0`: a run that changes nothing leaves the store byte-for-byte
 * as it was. */
static int meta_write(struct ix *x, const uint64_t *seq,
		      const uint64_t *seq0, const uint64_t *counts,
		      const uint64_t *counts0)
{
	int rc = 0;

	for (int i = 0; i < IX_NSEQ && rc == 0; i++)
		if (seq[i] != seq0[i])
			rc = meta_put_u64(x, seq_names[i], seq[i]);
	for (int i = 0; i < LIN_COUNT_N && rc == 0; i++)
		if (counts[i] != counts0[i])
			rc = meta_put_u64(x, lin_count_names[i], counts[i]);
	return rc;
}

int ix_meta_save(struct ix *x, int group)
{
	uint64_t seq[IX_NSEQ];

	if (group)
		return 0;   /* ix_meta_keep, then ix_meta_flush */
	for (int i = 0; i < IX_NSEQ; i++)
		seq[i] = *seq_field(x, i);
	return meta_write(x, seq, x->seq_loaded, x->counts,
			  x->counts_loaded);
}

void ix_meta_keep(struct ix *x)
{
	if (!x->group_meta)
		return;
	for (int i = 0; i < IX_NSEQ; i++)
		x->group_seq[i] = *seq_field(x, i);
	memcpy(x->group_counts, x->counts, sizeof x->counts);
}

int ix_meta_flush(struct ix *x, MDB_txn *txn)
{
	MDB_txn *own = x->txn;
	int rc;

	if (!x->group_meta)
		return 0;
	x->txn = txn;
	rc = meta_write(x, x->group_seq, x->start_seq, x->group_counts,
			x->start_counts);
	x->txn = own;
	return rc;
}

void ix_meta_forget(struct ix *x)
{
	x->group_meta = 0;
}

/* The counter an edge of `kind` feeds (stats counts the run side), or
 * -1. */
static int edge_counter(unsigned kind)
{
	return kind == LIN_EDGE_LOGGED || kind == LIN_EDGE_RELOGGED ?
	       LIN_COUNT_LOGGED : kind == LIN_EDGE_USES ? LIN_COUNT_USED : -1;
}

static int node_counter(uint64_t id)
{
	unsigned kind = LIN_ID_KIND(id);
	return kind == LIN_ID_RUN ? LIN_COUNT_RUNS :
	       kind == LIN_ID_VERSION ? LIN_COUNT_VERSIONS : -1;
}

/* rc from lin_store_put_new/_del_found: 1 moves counter i by `dir`. */
static int count(struct ix *x, int i, int rc, int dir)
{
	if (rc == 1 && i >= 0)
		x->counts[i] += (uint64_t)(int64_t)dir;
	return rc < 0 ? rc : 0;
}

/* A node's core record (node_core) is written and deleted with it: it
 * mirrors `nodes`, so every put of a node puts its core again. */
int ix_node_put(struct ix *x, uint64_t id, const void *v, size_t vn)
{
	unsigned char k[8];
	int rc = lin_store_put_new_last(x->txn, x->s, LIN_DB_NODES, k,
					lin_key_id(k, id), v, vn, x->err);

	if (rc < 0)
		return rc;
	if (lin_core_encode(&x->core, id, v, vn))
		return lin_err_set(x->err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	int rc2 = ix_put_last(x, LIN_DB_NODE_CORE, k, 8, x->core.buf,
			      x->core.n);
	return rc2 ? rc2 : count(x, node_counter(id), rc, 1);
}

int ix_node_del(struct ix *x, uint64_t id)
{
	unsigned char k[8];
	int rc = lin_store_del_found(x->txn, x->s, LIN_DB_NODES, k,
				     lin_key_id(k, id), NULL, 0, x->err);

	if (rc < 0)
		return rc;
	int rc2 = ix_del(x, LIN_DB_NODE_CORE, k, 8, NULL, 0);
	return rc2 ? rc2 : count(x, node_counter(id), rc, -1);
}

static int edge_op(struct ix *x, uint64_t node, unsigned kind,
		   uint64_t other, uint64_t fact, int add)
{
	unsigned char k[8], v[LIN_EDGE_SIZE];
	struct lin_edge e = { kind, other, fact };

	lin_key_id(k, node);
	lin_edge_encode(v, &e);
	int i = edge_counter(kind);
	if (i < 0)
		return add ? ix_put(x, LIN_DB_EDGES, k, 8, v, sizeof v)
			   : ix_del(x, LIN_DB_EDGES, k, 8, v, sizeof v);
	int rc = add ? lin_store_put_new(x->txn, x->s, LIN_DB_EDGES, k, 8, v,
					 sizeof v, x->err)
		     : lin_store_del_found(x->txn, x->s, LIN_DB_EDGES, k, 8,
					   v, sizeof v, x->err);
	return count(x, i, rc, add ? 1 : -1);
}

int ix_edge_put(struct ix *x, uint64_t node, unsigned kind, uint64_t other,
		uint64_t fact)
{
	return edge_op(x, node, kind, other, fact, 1);
}

int ix_edge_del(struct ix *x, uint64_t node, unsigned kind, uint64_t other,
		uint64_t fact)
{
	return edge_op(x, node, kind, other, fact, 0);
}

int ix_node_fact(struct ix *x, uint64_t node, int kind, uint64_t fact,
		 int add)
{
	unsigned char k[8], v[LIN_NODE_FACT_SIZE];

	lin_key_id(k, node);
	lin_val_node_fact_put(v, (unsigned)kind, fact);
	return add ? ix_put(x, LIN_DB_NODE_FACTS, k, 8, v, 9)
		   : ix_del(x, LIN_DB_NODE_FACTS, k, 8, v, 9);
}

const char *ix_src_path(struct ix *x, uint32_t src)
{
	unsigned char k[4];
	MDB_val v;

	for (size_t i = 0; i < x->npaths; i++)
		if (x->paths[i].id == src)
			return x->paths[i].path;
	if (ix_get(x, LIN_DB_SOURCE_IDS, k, lin_key_src(k, src), &v))
		return "";
	if (LIN_GROW(x->paths, x->cappaths, x->npaths + 1, 16) < 0)
		return "";
	char *s = strndup(v.mv_data, v.mv_size);
	if (!s)
		return "";
	x->paths[x->npaths].id = src;
	x->paths[x->npaths].path = s;
	return x->paths[x->npaths++].path;
}

static void release_touched(struct touched_coll *t)
{
	lin_idset_release(&t->vids);
	for (size_t i = 0; i < t->naliases; i++)
		free(t->aliases[i]);
	free(t->aliases);
	for (size_t i = 0; i < t->ntasks; i++) {
		free(t->tasks[i].sel);
		free(t->tasks[i].sid);
	}
	free(t->tasks);
}

void ix_release(struct ix *x)
{
	lin_core_enc_release(&x->core);
	for (size_t i = 0; i < x->ntc; i++)
		release_touched(&x->tc[i]);
	free(x->tc);
	x->tc = NULL;
	x->ntc = x->captc = 0;
	lin_idset_release(&x->colls);
	lin_idset_release(&x->runs);
	for (size_t i = 0; i < x->newruns.n; i++)
		free(x->newkeys[i]);
	free(x->newkeys);
	x->newkeys = NULL;
	x->capnew = 0;
	lin_idset_release(&x->newruns);
	lin_idset_release(&x->numv);
	free(x->nums);
	x->nums = NULL;
	x->capnums = 0;
	for (size_t i = 0; i < x->nsids; i++)
		free(x->sids[i]);
	free(x->sids);
	x->sids = NULL;
	x->nsids = x->capsids = 0;
	for (size_t i = 0; i < x->npaths; i++)
		free(x->paths[i].path);
	free(x->paths);
	x->paths = NULL;
	x->npaths = x->cappaths = 0;
	free(x->logs);
	x->logs = NULL;
	x->nlogs = x->caplogs = 0;
}

int ix_name_get(struct ix *x, int tag, struct lin_slice name,
		struct lin_slice scope, uint64_t *id)
{
	unsigned char k[LIN_MAX_NAME_KEY];
	size_t kn = lin_key_name(k, sizeof k, tag, name.p, name.n, scope.p,
				 scope.n);

	return kn ? ix_get_id(x, LIN_DB_NAMES, k, kn, id) : LIN_ENOTFOUND;
}

int ix_name(struct ix *x, int tag, struct lin_slice name,
	    struct lin_slice scope, uint64_t id, int add)
{
	unsigned char k[LIN_MAX_NAME_KEY], v[8];
	size_t kn = lin_key_name(k, sizeof k, tag, name.p, name.n, scope.p,
				 scope.n);

	if (!kn)
		return 0;  /* too long to index: found by scanning instead */
	if (!add)
		return ix_del(x, LIN_DB_NAMES, k, kn, NULL, 0);
	return ix_put(x, LIN_DB_NAMES, k, kn, v, lin_key_id(v, id));
}

int ix_scan(struct ix *x, enum lin_db db, const void *prefix, size_t plen,
	    const void *start, size_t slen, ix_visit_fn *fn, void *ctx)
{
	struct lin_scan sc;
	int rc = lin_scan_open(&sc, x->txn, x->s, db, prefix, plen, start,
			       slen, x->err);

	while (rc == 0 && (rc = lin_scan_next(&sc)) == 1)
		rc = fn(ctx, &sc.k, &sc.v);
	lin_scan_close(&sc);
	return rc;
}

int u64v_push(struct u64v *l, uint64_t id)
{
	if (LIN_GROW(l->v, l->cap, l->n + 1, 16) < 0)
		return LIN_ENOMEM;
	l->v[l->n++] = id;
	return 0;
}
