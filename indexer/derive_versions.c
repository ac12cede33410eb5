/* derive_versions.c - version numbers of a touched collection and the
 * producer and re-log edges of its versions. A collection is renumbered
 * whole only when a version arrives out of time order or disappears;
 * otherwise new versions are appended. */
#include "format/grow.h"
#include "indexer/derive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vinfo {
	uint64_t vid;
	int exists;
	struct okey first;
	char *path;          /* owned copy backing first.path */
	int64_t explicit_ver;
	int64_t old_number;  /* -1: never numbered */
	int64_t number;
	char *digest;        /* owned, known in full renumbering */
};

static void vinfo_free(struct vinfo *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].digest);
	}
	free(v);
}

/* ---- producer and re-logs ---------------------------------------- */

struct log_facts {
	struct first_log first;
	struct u64v ids, runs;
};

static int collect_log(struct ix *x, const struct lin_fact *f, void *ctx)
{
	struct log_facts *l = ctx;
	int rc = ix_pick_first(x, f, &l->first);

	if (!rc && !(rc = u64v_push(&l->ids, f->id)))
		rc = u64v_push(&l->runs, f->run);
	return rc;
}

/* Point the edges of every log fact of `vid` the right way: the run of
 * the first log fact is the producer (LOGGED/LOGGED_BY, as W&B's
 * logged_by()), any other run that logged the same digest re-logged it
 * (RELOGGED/RELOGGED_BY). The first log can move when a file comes or
 * goes, so this runs for every version whose log facts changed. */
int ix_set_log_edges(struct ix *x, uint64_t vid)
{
	struct log_facts l;
	int rc;

	memset(&l, 0, sizeof l);
	msgpack_zone_clear(&x->zone);
	rc = ix_each_fact(x, vid, 1u << LIN_FACT_LOG, collect_log, &l, NULL);
	/* One fact written by this file: ix_derive made it the producer
	 * already (put_log_edges, from apply_log's queue), and no other
	 * fact can be one. */
	int fresh = l.ids.n == 1 && (l.ids.v[0] >> 32) == x->src;
	for (size_t i = 0; i < l.ids.n && rc == 0 && !fresh; i++) {
		uint64_t run = l.runs.v[i], f = l.ids.v[i];
		int prod = run == l.first.fact.run;
		/* at the run and at the version: the kinds to put, and
		 * the other pair to take away */
		unsigned on = prod ? LIN_EDGE_LOGGED : LIN_EDGE_RELOGGED;
		unsigned onv = prod ? LIN_EDGE_LOGGED_BY
				    : LIN_EDGE_RELOGGED_BY;
		unsigned off = prod ? LIN_EDGE_RELOGGED : LIN_EDGE_LOGGED;
		unsigned offv = prod ? LIN_EDGE_RELOGGED_BY
				     : LIN_EDGE_LOGGED_BY;
		if (!(rc = ix_edge_del(x, run, off, vid, f)) &&
		    !(rc = ix_edge_del(x, vid, offv, run, f)) &&
		    !(rc = ix_edge_put(x, run, on, vid, f)))
			rc = ix_edge_put(x, vid, onv, run, f);
	}
	free(l.ids.v);
	free(l.runs.v);
	return rc;
}

/* Fill v from the version's log facts and its stored node. */
static int inspect_version(struct ix *x, struct vinfo *v)
{
	struct first_log fl = { 0 };
	msgpack_object o;
	int found, rc;
	int64_t num;

	msgpack_zone_clear(&x->zone);
	rc = ix_each_fact(x, v->vid, 1u << LIN_FACT_LOG, ix_pick_first, &fl,
			  NULL);
	if (rc)
		return rc;
	v->exists = fl.found;
	v->explicit_ver = -1;
	if (fl.found) {
		v->explicit_ver = fl.fact.explicit_ver;
		v->path = strdup(fl.key.path);
		if (!v->path)
			return LIN_ENOMEM;
		v->first = fl.key;
		v->first.path = v->path;
		if (!v->digest && !(v->digest = ix_slice_dup(fl.fact.digest)))
			return LIN_ENOMEM;
	}
	v->old_number = -1;
	if ((rc = ix_decode_value(x, LIN_DB_NODES, v->vid, &o, &found)))
		return rc;
	if (found && lin_map_i64(&o, "version", &num))
		v->old_number = num;
	v->number = v->old_number;
	return 0;
}

/* Numbers given in this transaction, for materialising. */
static int set_number(struct ix *x, uint64_t vid, int64_t number)
{
	long i = lin_idset_find(&x->numv, vid);

	if (i < 0) {
		if (lin_idset_add(&x->numv, vid) < 0)
			return LIN_ENOMEM;
		i = (long)x->numv.n - 1;
		if (LIN_GROW(x->nums, x->capnums, (size_t)i + 1, 64) < 0)
			return LIN_ENOMEM;
	}
	x->nums[i] = number;
	return 0;
}

static int vinfo_cmp(const void *a, const void *b)
{
	const struct vinfo *va = a, *vb = b;
	return ix_okey_cmp(&va->first, &vb->first);
}

static int put_coll_ver(struct ix *x, uint64_t coll, const struct vinfo *v)
{
	unsigned char k[12], val[16];

	lin_key_coll_num(k, coll, (uint32_t)v->number);
	lin_val_coll_ver_put(val, v->vid, lin_time_key(v->first.time));
	return ix_put(x, LIN_DB_COLL_VER, k, 12, val, 16);
}

static int sel_task(struct touched_coll *t, const char *fmt, long long n,
		    int64_t from)
{
	char sel[32];
	int len = snprintf(sel, sizeof sel, fmt, n);
	return ix_add_task(t, TASK_SEL, 0, sel, (size_t)len, from);
}

struct version_list {
	struct vinfo *v;
	size_t n, cap;
};

static int add_version(void *ctx, const MDB_val *k, const MDB_val *val)
{
	struct version_list *l = ctx;

	if (LIN_GROW(l->v, l->cap, l->n + 1, 16) < 0)
		return LIN_ENOMEM;
	struct vinfo *vi = &l->v[l->n];
	memset(vi, 0, sizeof *vi);
	vi->vid = lin_be64_get(val->mv_data);
	vi->digest = strndup((char *)k->mv_data + 8, k->mv_size - 8);
	if (!vi->digest)
		return LIN_ENOMEM;
	l->n++;
	return 0;
}

/* Every version of the collection, for renumbering. */
static int load_all_versions(struct ix *x, uint64_t coll,
			     struct vinfo **out, size_t *nout)
{
	unsigned char k[8];
	struct version_list l = { NULL, 0, 0 };
	int rc;

	lin_key_id(k, coll);
	rc = ix_scan(x, LIN_DB_COLL_DIG, k, 8, NULL, 0, add_version, &l);
	struct vinfo *v = l.v;
	size_t n = l.n;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = inspect_version(x, &v[i]);
	*out = v;
	*nout = n;
	return rc;
}

static int del_prefix(struct ix *x, enum lin_db db, uint64_t coll)
{
	unsigned char k[8];

	return lin_store_del_prefix(x->txn, x->s, db, k, lin_key_id(k, coll),
				    x->err);
}

/* Renumber the whole collection: explicit numbers are claimed first,
 * the others are given in first-logged order, skipping claimed ones. */
static int renumber(struct ix *x, struct touched_coll *t,
		    struct coll_state *cs, struct lin_idset *mat)
{
	struct vinfo *v;
	size_t n, live = 0;
	int rc = load_all_versions(x, t->coll, &v, &n);
	size_t reached = 0;  /* entries the loop has dealt with */

	for (size_t i = 0; i < n && rc == 0; i++) {
		reached = i + 1;
		if (v[i].exists) {
			v[live] = v[i];
			live++;
			continue;
		}
		/* gone: its last log fact went with a re-indexed file */
		unsigned char k[LIN_KEY_BUF];
		size_t kn = lin_key_coll_bytes(k, sizeof k, t->coll,
					       v[i].digest,
					       strlen(v[i].digest), 0);
		if (!(rc = ix_del(x, LIN_DB_COLL_DIG, k, kn, NULL, 0))) {
			rc = ix_node_del(x, v[i].vid);
		}
		free(v[i].path);
		free(v[i].digest);
	}
	if (rc) {
		/* the ones the loop did not reach, then the kept ones */
		for (size_t j = reached; j < n; j++) {
			free(v[j].path);
			free(v[j].digest);
		}
		vinfo_free(v, live);
		return rc;
	}
	qsort(v, live, sizeof *v, vinfo_cmp);
	unsigned char *taken = calloc(live + 1, 1);
	if (!taken && live) {
		vinfo_free(v, live);
		return LIN_ENOMEM;
	}
	/* Explicit numbers are honoured when unique; a clash goes to the
	 * earlier version and the later one is numbered normally. */
	cs->explicit = 0;
	for (size_t i = 0; i < live; i++) {
		v[i].number = -1;
		int64_t e = v[i].explicit_ver;
		if (e >= 0)
			cs->explicit = 1;
		if (e >= 0 && e <= UINT32_MAX - 1) {
			int clash = 0;
			for (size_t j = 0; j < i; j++)
				clash |= v[j].number == e;
			if (!clash) {
				v[i].number = e;
				if ((size_t)e < live)
					taken[e] = 1;
			}
		}
	}
	int64_t next = 0;
	for (size_t i = 0; i < live; i++) {
		if (v[i].number >= 0)
			continue;
		while ((size_t)next < live && taken[next])
			next++;
		v[i].number = next++;
	}
	free(taken);
	rc = del_prefix(x, LIN_DB_COLL_VER, t->coll);
	int64_t max = -1;
	for (size_t i = 0; i < live && rc == 0; i++) {
		if (!(rc = put_coll_ver(x, t->coll, &v[i])))
			rc = set_number(x, v[i].vid, v[i].number);
		if (v[i].number != v[i].old_number ||
		    lin_idset_has(&t->vids, v[i].vid))
			if (lin_idset_add(mat, v[i].vid) < 0)
				rc = LIN_ENOMEM;
		if (v[i].number > max)
			max = v[i].number;
	}
	/* "latest" may have moved: rebuild every version's aliases */
	for (size_t i = 0; i < live && rc == 0; i++)
		if (lin_idset_add(mat, v[i].vid) < 0)
			rc = LIN_ENOMEM;
	cs->count = max + 1;
	cs->has_last = live > 0;
	if (live) {
		free(cs->last_path);
		cs->last_path = strdup(v[live - 1].first.path);
		cs->last = v[live - 1].first;
		cs->last.path = cs->last_path;
	}
	cs->dirty = 1;
	t->full = 1;
	t->all_aliases = 1;
	vinfo_free(v, live);
	return rc;
}

int ix_derive_versions(struct ix *x, struct touched_coll *t,
		       struct coll_state *cs, struct lin_idset *mat)
{
	size_t n = t->vids.n, nnew = 0;
	struct vinfo *v = calloc(n ? n : 1, sizeof *v);
	int full = 0, rc = 0;

	if (!v)
		return LIN_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		v[i].vid = t->vids.order[i];
		rc = inspect_version(x, &v[i]);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!v[i].exists) {
			full = 1;   /* a version disappeared */
			continue;
		}
		if (lin_idset_add(mat, v[i].vid) < 0)
			rc = LIN_ENOMEM;
		if (v[i].old_number >= 0) {
			/* known version: did its first logging move? */
			struct vinfo cur = v[i];
			msgpack_object o;
			int found;
			char *p = NULL;
			struct okey old;
			msgpack_zone_clear(&x->zone);
			rc = ix_decode_value(x, LIN_DB_NODES, v[i].vid, &o,
					     &found);
			if (rc)
				break;
			int has = found ?
				ix_get_okey(&o, "first", &old, &p) : 0;
			if (has < 0) {
				rc = has;
				break;
			}
			if (!has || ix_okey_cmp(&old, &cur.first) != 0)
				full = 1;
			free(p);
			continue;
		}
		nnew++;
		/* Appending numbers count, count+1, ... is what renumbering
		 * would give only when the numbers 0..count-1 are all taken:
		 * explicit numbers leave holes that the next versions fill
		 * (in any indexing order). */
		if (v[i].explicit_ver >= 0 || cs->explicit ||
		    (cs->has_last && ix_okey_cmp(&v[i].first, &cs->last) <= 0))
			full = 1;
	}
	if (rc || (!full && nnew == 0)) {
		vinfo_free(v, n);
		return rc;
	}
	if (full) {
		vinfo_free(v, n);
		return renumber(x, t, cs, mat);
	}
	/* Appended in time order: number the new ones after the others. */
	qsort(v, n, sizeof *v, vinfo_cmp);
	/* An alias record may name this vN or digest before any file
	 * logged it (its timeline skipped it then): build the timelines
	 * again, as a full renumbering does, so the answer does not depend
	 * on which file came first. */
	t->all_aliases = 1;
	int64_t old_latest = cs->count - 1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!v[i].exists || v[i].old_number >= 0)
			continue;
		v[i].number = cs->count++;
		if ((rc = put_coll_ver(x, t->coll, &v[i])) ||
		    (rc = sel_task(t, "v%lld", v[i].number, INT64_MIN)) ||
		    (rc = sel_task(t, "latest", 0, v[i].first.time)))
			break;
		char dsel[LIN_MAX_KEY + 2];
		int dn = snprintf(dsel, sizeof dsel, "#%s", v[i].digest);
		if ((rc = ix_add_task(t, TASK_SEL, 0, dsel, (size_t)dn,
				      INT64_MIN)) ||
		    (rc = set_number(x, v[i].vid, v[i].number)))
			break;
		free(cs->last_path);
		cs->last_path = strdup(v[i].first.path);
		cs->last = v[i].first;
		cs->last.path = cs->last_path;
		cs->has_last = 1;
		cs->dirty = 1;
	}
	if (!rc && old_latest >= 0) {
		uint64_t ov;
		unsigned char k[12];
		MDB_val val;
		lin_key_coll_num(k, t->coll, (uint32_t)old_latest);
		if (ix_get(x, LIN_DB_COLL_VER, k, 12, &val) == 0) {
			ov = lin_be64_get(val.mv_data);
			if (lin_idset_add(mat, ov) < 0)
				rc = LIN_ENOMEM;
		}
	}
	vinfo_free(v, n);
	return rc;
}
