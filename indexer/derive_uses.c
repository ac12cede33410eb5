/* derive_uses.c - resolving the uses of a touched collection: new uses,
 * and the uses whose selector may name another version now. */
#include "indexer/derive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The version a use's selector names at time t (0: none yet). */
static int lookup_sel(struct ix *x, uint64_t coll, struct lin_slice sel,
		      int64_t t, uint64_t *vid)
{
	if (sel.n && (sel.p[0] == '#' || (sel.p[0] == 'v' && sel.n > 1 &&
	    sel.p[1] >= '0' && sel.p[1] <= '9')))
		return ix_version_of_sel(x, coll, sel, vid);
	return lin_store_alias_at(x->txn, x->s, coll, sel.p, sel.n, t, vid,
				  x->err);
}

/* The server_ids entries of one id and kind: fact ids, and for LOG
 * entries the version each names. */
struct sid_hits {
	struct u64v facts, vids;
};

static int add_sid_hit(void *ctx, const MDB_val *k, const MDB_val *v)
{
	struct sid_hits *h = ctx;
	uint64_t vid = v->mv_size == 8 ? lin_be64_get(v->mv_data) : 0;
	size_t sn;
	unsigned kind;
	uint64_t fact;
	int rc = lin_key_server_id_split(k->mv_data, k->mv_size, &sn, &kind,
					 &fact) ? LIN_ECORRUPT : 0;

	if (!rc)
		rc = u64v_push(&h->facts, fact);
	return rc ? rc : u64v_push(&h->vids, vid);
}

static int sid_hits(struct ix *x, struct lin_slice sid, unsigned kind,
		    struct sid_hits *h)
{
	unsigned char k[LIN_MAX_SERVER_ID + 10];
	size_t kn = lin_key_server_id(k, sizeof k, sid.p, sid.n, kind, 0);

	memset(h, 0, sizeof *h);
	return kn ? ix_scan(x, LIN_DB_SERVER_IDS, k, kn - 8, NULL, 0,
			    add_sid_hit, h) : 0;
}

static void sid_hits_free(struct sid_hits *h)
{
	free(h->facts.v);
	free(h->vids.v);
}

/* The version that W&B server id `sid` names (0: none in the store).
 * Every log of one version carries the same id; should two versions
 * carry it (an archive put together from two servers), the one whose
 * log carrying it came first (time, path, position: the producer rule)
 * wins, so the answer does not depend on the order of indexing. */
static int sid_version(struct ix *x, struct lin_slice sid, uint64_t *vid)
{
	struct sid_hits h;
	int rc = sid_hits(x, sid, LIN_FACT_LOG, &h);
	size_t i;
	struct okey bk = { 0 };
	msgpack_zone zone;

	*vid = 0;
	for (i = 1; i < h.vids.n && h.vids.v[i] == h.vids.v[0]; i++)
		;
	if (rc || h.vids.n == 0 || i == h.vids.n) {
		if (!rc && h.vids.n)
			*vid = h.vids.v[0];
		sid_hits_free(&h);
		return rc;
	}
	msgpack_zone_init(&zone, 1024);
	for (i = 0; i < h.facts.n && rc == 0; i++) {
		unsigned char fk[8];
		MDB_val fv;
		struct lin_fact f;
		lin_key_id(fk, h.facts.v[i]);
		msgpack_zone_clear(&zone);
		if ((rc = ix_get(x, LIN_DB_FACTS, fk, 8, &fv)) ||
		    lin_fact_decode(fv.mv_data, fv.mv_size, &zone, &f)) {
			rc = rc == LIN_ENOTFOUND ? 0 : rc;
			continue;
		}
		struct okey k = { lin_eff_time(f.time),
				  ix_src_path(x, lin_fact_src(h.facts.v[i])),
				  f.pos };
		if (!*vid || ix_okey_cmp(&k, &bk) < 0) {
			*vid = h.vids.v[i];
			bk = k;
		}
	}
	msgpack_zone_destroy(&zone);
	sid_hits_free(&h);
	return rc;
}

/* Point the use `fact` (of `run`, selector `sel` at time t, W&B server
 * id `sid` when sid.n) at what it names now: the version carrying its
 * server id when one does, else what its selector names (the id is
 * W&B's own name of the exact version; the name of a .wandb use is
 * "collection:vN" without a project, so it may name another project's
 * collection or number). `fresh`: the use was just added, so it has
 * neither a resolution nor a pending mark yet. */
static int set_use(struct ix *x, uint64_t coll, uint64_t fact, uint64_t run,
		   struct lin_slice sel, struct lin_slice sid, int64_t t,
		   int fresh)
{
	unsigned char fk[8], vv[8];
	uint64_t old = 0, now = 0;
	int rc;

	lin_key_id(fk, fact);
	if (sid.n && (rc = sid_version(x, sid, &now)))
		return rc;
	if (!now && (rc = lookup_sel(x, coll, sel, lin_eff_time(t), &now)))
		return rc;
	if (!fresh) {
		rc = ix_get_id(x, LIN_DB_USE_RES, fk, 8, &old);
		if (rc == LIN_ENOTFOUND)
			old = 0;
		else if (rc)
			return rc;
		if (old == now)
			return 0;
		if (old) {
			if ((rc = ix_edge_del(x, old, LIN_EDGE_USED_BY, run,
					      fact)) ||
			    (rc = ix_edge_del(x, run, LIN_EDGE_USES, old, fact)))
				return rc;
		} else if ((rc = ix_del(x, LIN_DB_PENDING, fk, 8, NULL, 0))) {
			return rc;
		}
	}
	if (!now) {
		if (old && (rc = ix_del(x, LIN_DB_USE_RES, fk, 8, NULL, 0)))
			return rc;
		return ix_put(x, LIN_DB_PENDING, fk, 8, "", 0);
	}
	lin_key_id(vv, now);  /* use_res value: the version id */
	if ((rc = ix_edge_put(x, now, LIN_EDGE_USED_BY, run, fact)) ||
	    (rc = ix_edge_put(x, run, LIN_EDGE_USES, now, fact)))
		return rc;
	return ix_put(x, LIN_DB_USE_RES, fk, 8, vv, 8);
}

static int resolve_use(struct ix *x, uint64_t fact)
{
	unsigned char fk[8];
	MDB_val fv;
	struct lin_fact f;
	struct lin_slice sid = { NULL, 0 };
	int rc;

	lin_key_id(fk, fact);
	msgpack_zone_clear(&x->zone);
	if ((rc = ix_get(x, LIN_DB_FACTS, fk, 8, &fv)))
		return rc == LIN_ENOTFOUND ? 0 : rc;
	if (lin_fact_decode(fv.mv_data, fv.mv_size, &x->zone, &f) ||
	    f.kind != LIN_FACT_USE)
		return 0;
	if (!ix_fact_sid(&f, &sid))
		sid.n = 0;
	return set_use(x, f.coll, fact, f.run, f.sel, sid, f.time, 0);
}

static int add_use_fact(void *ctx, const MDB_val *k, const MDB_val *v)
{
	(void)v;
	return u64v_push(ctx, lin_be64_get((unsigned char *)k->mv_data +
					   k->mv_size - 8));
}

/* Facts of the uses of `coll` with selector `sel` (every selector when
 * NULL) at or after `from`. */
static int uses_of(struct ix *x, uint64_t coll, const char *sel,
		   int64_t from, uint64_t **out, size_t *nout)
{
	size_t sn = sel ? strlen(sel) : 0;
	unsigned char k[LIN_KEY_BUF];
	struct u64v ids = { NULL, 0, 0 };
	size_t kn;
	int rc;

	*out = NULL;
	*nout = 0;
	if (sel) {
		/* From the first entry at `from` (fact ids are > 0). */
		if (!(kn = lin_key_coll_event(k, sizeof k, coll, sel, sn,
					      lin_time_key(from), 0)))
			return 0;
		rc = ix_scan(x, LIN_DB_USE_SEL, k, kn - 16, k, kn,
			     add_use_fact, &ids);
	} else {
		rc = ix_scan(x, LIN_DB_USE_SEL, k, lin_key_id(k, coll), NULL,
			     0, add_use_fact, &ids);
	}
	*out = ids.v;
	*nout = ids.n;
	return rc;
}

/* Resolve again the uses of `coll` that uses_of() selects. */
static int resolve_range(struct ix *x, uint64_t coll, const char *sel,
			 int64_t from)
{
	uint64_t *ids;
	size_t n;
	int rc = uses_of(x, coll, sel, from, &ids, &n);

	/* Uses of the file being indexed were resolved against the final
	 * state already (ix_run_tasks does them first). */
	for (size_t j = 0; j < n && rc == 0; j++)
		if (ids[j] >> 32 != x->src)
			rc = resolve_use(x, ids[j]);
	free(ids);
	return rc;
}

int ix_run_tasks(struct ix *x, struct touched_coll *t)
{
	int rc = 0;

	/* New uses first: they then have a resolution or a pending mark,
	 * which the scans below expect of every use. */
	for (size_t i = 0; i < t->ntasks && rc == 0; i++) {
		struct coll_task *task = &t->tasks[i];
		if (task->kind != TASK_SINGLE)
			continue;
		struct lin_slice sel = { task->sel, strlen(task->sel) };
		struct lin_slice sid = { task->sid,
					 task->sid ? strlen(task->sid) : 0 };
		rc = set_use(x, t->coll, task->fact, task->run, sel, sid,
			     task->from, 1);
	}
	if (rc || t->full)
		return rc ? rc : resolve_range(x, t->coll, NULL, 0);
	for (size_t i = 0; i < t->ntasks && rc == 0; i++)
		if (t->tasks[i].kind == TASK_SEL)
			rc = resolve_range(x, t->coll, t->tasks[i].sel,
					   t->tasks[i].from);
	return rc;
}

/* Resolve again every use that names server id `sid`: the versions
 * carrying it changed. Runs after every collection is derived, so each
 * use has its resolution or pending mark. */
int ix_resolve_sid_uses(struct ix *x, const char *sid)
{
	struct lin_slice s = { sid, strlen(sid) };
	struct sid_hits h;
	int rc = sid_hits(x, s, LIN_FACT_USE, &h);

	for (size_t i = 0; i < h.facts.n && rc == 0; i++)
		rc = resolve_use(x, h.facts.v[i]);
	sid_hits_free(&h);
	return rc;
}
