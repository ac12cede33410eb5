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

/* Point the use `fact` (of `run`, selector `sel` at time t) at what its
 * selector names now. `fresh`: the use was just added, so it has neither
 * a resolution nor a pending mark yet. */
static int set_use(struct ix *x, uint64_t coll, uint64_t fact, uint64_t run,
		   struct lin_slice sel, int64_t t, int fresh)
{
	unsigned char fk[8], vv[8];
	uint64_t old = 0, now;
	int rc;

	lin_key_id(fk, fact);
	if ((rc = lookup_sel(x, coll, sel, lin_eff_time(t), &now)))
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
	int rc;

	lin_key_id(fk, fact);
	msgpack_zone_clear(&x->zone);
	if ((rc = ix_get(x, LIN_DB_FACTS, fk, 8, &fv)))
		return rc == LIN_ENOTFOUND ? 0 : rc;
	if (lin_fact_decode(fv.mv_data, fv.mv_size, &x->zone, &f) ||
	    f.kind != LIN_FACT_USE)
		return 0;
	return set_use(x, f.coll, fact, f.run, f.sel, f.time, 0);
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
		rc = set_use(x, t->coll, task->fact, task->run, sel,
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
