/* derive.c - rebuilding derived state from facts after a file's facts
 * went in or out: version numbers, alias timelines, use resolution and
 * the materialised node attributes. Only touched things are rebuilt; a
 * collection is renumbered whole only when a version arrives out of time
 * order or disappears. */
#include "indexer/ix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Order of first logging: time, then file path, then position. */
struct okey {
	int64_t time;        /* effective (LIN_TIME_LAST when none) */
	const char *path;
	uint64_t pos;
};

static int okey_cmp(const struct okey *a, const struct okey *b)
{
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	int c = strcmp(a->path, b->path);
	if (c)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

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

static void vinfo_free(struct vinfo *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].digest);
	}
	free(v);
}

static char *slice_dup(struct lin_slice s)
{
	return strndup(s.p ? s.p : "", s.n);
}

/* ---- reading node and collection values ------------------------------ */

static int decode_value(struct ix *x, enum lin_db db, uint64_t id,
			msgpack_object *o, int *found)
{
	unsigned char k[8];
	MDB_val v;
	int rc;

	lin_key_id(k, id);
	rc = ix_get(x, db, k, 8, &v);
	*found = rc == 0;
	if (rc == LIN_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	/* Copy: the page may move when we write. The zone owns the copy. */
	void *copy = msgpack_zone_malloc(&x->zone, v.mv_size ? v.mv_size : 1);
	if (!copy)
		return LIN_ENOMEM;
	memcpy(copy, v.mv_data, v.mv_size);
	if (lin_val_map(copy, v.mv_size, &x->zone, o))
		return lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "bad value for id %016llx in '%s'",
				   (unsigned long long)id, lin_db_names[db]);
	return 0;
}

static int get_okey(const msgpack_object *m, const char *name,
		    struct okey *k, char **path_out)
{
	const msgpack_object *f = lin_map_get(m, name);

	if (!f || f->type != MSGPACK_OBJECT_ARRAY || f->via.array.size != 3)
		return 0;
	const msgpack_object *e = f->via.array.ptr;
	if (lin_obj_i64(&e[0], &k->time))
		k->time = LIN_TIME_LAST;
	k->pos = e[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER ? e[2].via.u64
							      : 0;
	if (e[1].type != MSGPACK_OBJECT_STR)
		return 0;
	*path_out = strndup(e[1].via.str.ptr, e[1].via.str.size);
	if (!*path_out)
		return LIN_ENOMEM;
	k->path = *path_out;
	return 1;
}

static void coll_state_free(struct coll_state *c)
{
	free(c->entity);
	free(c->project);
	free(c->name);
	free(c->type);
	free(c->last_path);
}

static int load_coll(struct ix *x, uint64_t coll, struct coll_state *c)
{
	msgpack_object o;
	struct lin_slice s;
	int found, rc;

	memset(c, 0, sizeof *c);
	msgpack_zone_clear(&x->zone);
	if ((rc = decode_value(x, LIN_DB_COLL_INFO, coll, &o, &found)))
		return rc;
	if (!found)
		return lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "collection %016llx has no info",
				   (unsigned long long)coll);
	if (lin_map_str(&o, "entity", &s))
		c->entity = slice_dup(s);
	if (lin_map_str(&o, "project", &s))
		c->project = slice_dup(s);
	if (lin_map_str(&o, "name", &s))
		c->name = slice_dup(s);
	if (lin_map_str(&o, "type", &s))
		c->type = slice_dup(s);
	lin_map_i64(&o, "count", &c->count);
	lin_map_i64(&o, "explicit", &c->explicit);
	rc = get_okey(&o, "last", &c->last, &c->last_path);
	if (rc < 0)
		return rc;
	c->has_last = rc;
	if (!c->entity || !c->project || !c->name)
		return LIN_ENOMEM;
	return 0;
}

static void pack_okey(msgpack_packer *pk, const struct okey *k)
{
	msgpack_pack_array(pk, 3);
	if (k->time == LIN_TIME_LAST)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_int64(pk, k->time);
	lin_pack_cstr(pk, k->path);
	msgpack_pack_uint64(pk, k->pos);
}

static int save_coll(struct ix *x, uint64_t coll, const struct coll_state *c)
{
	unsigned char k[8];

	lin_packer_reset(&x->pk);
	msgpack_pack_map(&x->pk.pk, c->explicit ? 7 : 6);
	lin_pack_kv_str(&x->pk.pk, "entity", c->entity);
	lin_pack_kv_str(&x->pk.pk, "project", c->project);
	lin_pack_kv_str(&x->pk.pk, "name", c->name);
	lin_pack_cstr(&x->pk.pk, "type");
	if (c->type)
		lin_pack_cstr(&x->pk.pk, c->type);
	else
		msgpack_pack_nil(&x->pk.pk);
	lin_pack_kv_i64(&x->pk.pk, "count", c->count);
	if (c->explicit)
		lin_pack_kv_i64(&x->pk.pk, "explicit", 1);
	lin_pack_cstr(&x->pk.pk, "last");
	if (c->has_last)
		pack_okey(&x->pk.pk, &c->last);
	else
		msgpack_pack_nil(&x->pk.pk);
	lin_key_id(k, coll);
	return ix_put(x, LIN_DB_COLL_INFO, k, 8, x->pk.sb.data, x->pk.sb.size);
}

/* ---- facts of a node ------------------------------------------------- */

typedef int fact_fn(struct ix *x, const struct lin_fact *f, void *ctx);

/* Call fn for every fact of `node` whose kind is in `kinds` (a bit per
 * LIN_FACT_*). *total counts all facts of the node. node_facts values
 * carry the kind, so facts of other kinds are not read. */
static int each_fact(struct ix *x, uint64_t node, unsigned kinds,
		     fact_fn *fn, void *ctx, size_t *total)
{
	unsigned char k[8];
	struct lin_scan sc;
	struct u64v ids = { NULL, 0, 0 };
	size_t all = 0;
	unsigned kind;
	uint64_t fact;
	int rc = lin_scan_dups(&sc, x->txn, x->s, LIN_DB_NODE_FACTS, k,
			       lin_key_id(k, node), NULL, 0, x->err);

	while (rc == 0 && (rc = lin_scan_next(&sc)) == 1) {
		rc = 0;
		all++;
		/* A value of another size is no fact of ours: skipped. */
		if (lin_val_node_fact(sc.v.mv_data, sc.v.mv_size, &kind,
				      &fact, NULL) == 0 &&
		    kind < 32 && (kinds & (1u << kind)))
			rc = u64v_push(&ids, fact);
	}
	lin_scan_close(&sc);
	if (total)
		*total = all;
	for (size_t i = 0; i < ids.n && rc == 0; i++) {
		unsigned char fk[8];
		MDB_val v;
		struct lin_fact f;
		lin_key_id(fk, ids.v[i]);
		if ((rc = ix_get(x, LIN_DB_FACTS, fk, 8, &v))) {
			if (rc == LIN_ENOTFOUND)
				rc = 0;
			continue;
		}
		if (lin_fact_decode(v.mv_data, v.mv_size, &x->zone, &f))
			continue;
		f.id = ids.v[i];
		rc = fn(x, &f, ctx);
	}
	free(ids.v);
	return rc;
}

/* ---- versions ---------------------------------------------------------- */

struct first_log {
	int found;
	struct okey key;
	struct lin_fact fact;
};

static int pick_first(struct ix *x, const struct lin_fact *f, void *ctx)
{
	struct first_log *fl = ctx;
	struct okey k = { lin_eff_time(f->time), ix_src_path(x, f->id >> 32),
			  f->pos };

	if (!fl->found || okey_cmp(&k, &fl->key) < 0) {
		fl->found = 1;
		fl->key = k;
		fl->fact = *f;
	}
	return 0;
}

/* ---- producer and re-logs ---------------------------------------- */

struct log_facts {
	struct first_log first;
	struct u64v ids, runs;
};

static int collect_log(struct ix *x, const struct lin_fact *f, void *ctx)
{
	struct log_facts *l = ctx;
	int rc = pick_first(x, f, &l->first);

	if (!rc && !(rc = u64v_push(&l->ids, f->id)))
		rc = u64v_push(&l->runs, f->run);
	return rc;
}

/* Point the edges of every log fact of `vid` the right way: the run of
 * the first log fact is the producer (LOGGED/LOGGED_BY, as W&B's
 * logged_by()), any other run that logged the same digest re-logged it
 * (RELOGGED/RELOGGED_BY). The first log can move when a file comes or
 * goes, so this runs for every version whose log facts changed. */
static int set_log_edges(struct ix *x, uint64_t vid)
{
	struct log_facts l;
	int rc;

	memset(&l, 0, sizeof l);
	msgpack_zone_clear(&x->zone);
	rc = each_fact(x, vid, 1u << LIN_FACT_LOG, collect_log, &l, NULL);
	/* One fact written by this file: apply_log made it the producer
	 * already, and no other fact can be one. */
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
	rc = each_fact(x, v->vid, 1u << LIN_FACT_LOG, pick_first, &fl, NULL);
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
		if (!v->digest && !(v->digest = slice_dup(fl.fact.digest)))
			return LIN_ENOMEM;
	}
	v->old_number = -1;
	if ((rc = decode_value(x, LIN_DB_NODES, v->vid, &o, &found)))
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
		if ((size_t)i >= x->capnums) {
			size_t cap = x->capnums ? x->capnums * 2 : 64;
			int64_t *p = realloc(x->nums, cap * sizeof *p);
			if (!p)
				return LIN_ENOMEM;
			x->nums = p;
			x->capnums = cap;
		}
	}
	x->nums[i] = number;
	return 0;
}

static int vinfo_cmp(const void *a, const void *b)
{
	const struct vinfo *va = a, *vb = b;
	return okey_cmp(&va->first, &vb->first);
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

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct vinfo *p = realloc(l->v, cap * sizeof *p);
		if (!p)
			return LIN_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
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
			lin_key_id(k, v[i].vid);
			rc = ix_del(x, LIN_DB_NODES, k, 8, NULL, 0);
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

static int derive_versions(struct ix *x, struct touched_coll *t,
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
			rc = decode_value(x, LIN_DB_NODES, v[i].vid, &o, &found);
			if (rc)
				break;
			int has = found ? get_okey(&o, "first", &old, &p) : 0;
			if (has < 0) {
				rc = has;
				break;
			}
			if (!has || okey_cmp(&old, &cur.first) != 0)
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
		    (cs->has_last && okey_cmp(&v[i].first, &cs->last) <= 0))
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

/* ---- alias timelines ------------------------------------------------- */

/* The version a "vN" or "#digest" selector names now (0: none). */
static int version_of_sel(struct ix *x, uint64_t coll, struct lin_slice sel,
			  uint64_t *vid)
{
	unsigned char k[LIN_KEY_BUF];
	MDB_val v;
	int rc;

	*vid = 0;
	if (sel.n > 1 && sel.p[0] == '#' && sel.n - 1 <= LIN_MAX_KEY) {
		size_t kn = lin_key_coll_bytes(k, sizeof k, coll, sel.p + 1,
					       sel.n - 1, 0);
		rc = ix_get(x, LIN_DB_COLL_DIG, k, kn, &v);
	} else if (sel.n > 1 && sel.n < 12 && sel.p[0] == 'v') {
		uint64_t num = 0;
		for (size_t i = 1; i < sel.n; i++) {
			if (sel.p[i] < '0' || sel.p[i] > '9')
				return 0;
			num = num * 10 + (uint64_t)(sel.p[i] - '0');
		}
		if (num >= UINT32_MAX)
			return 0;
		lin_key_coll_num(k, coll, (uint32_t)num);
		rc = ix_get(x, LIN_DB_COLL_VER, k, 12, &v);
	} else {
		return 0;
	}
	if (rc == LIN_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	*vid = lin_be64_get(v.mv_data);
	return 0;
}

struct aev {
	struct okey key;
	uint64_t target;   /* version the event points the alias at */
	int op;            /* 1 add (or log), 0 remove */
};

static int has_name(const msgpack_object_array *a, const char *name)
{
	for (uint32_t i = 0; i < a->size; i++)
		if (a->ptr[i].type == MSGPACK_OBJECT_STR &&
		    lin_slice_eq_cstr((struct lin_slice){ a->ptr[i].via.str.ptr,
				      a->ptr[i].via.str.size }, name))
			return 1;
	return 0;
}

static int aev_cmp(const void *a, const void *b)
{
	return okey_cmp(&((const struct aev *)a)->key,
			&((const struct aev *)b)->key);
}

struct alias_facts {
	struct u64v ids;
	size_t keylen;   /* coll . name . 0 . time . fact */
};

static int add_alias_fact(void *ctx, const MDB_val *k, const MDB_val *v)
{
	struct alias_facts *a = ctx;
	(void)v;
	if (k->mv_size != a->keylen)
		return 0;  /* a longer alias name sharing this prefix */
	return u64v_push(&a->ids, lin_be64_get((unsigned char *)k->mv_data +
					       k->mv_size - 8));
}

/* Build the timeline of alias `name` of `coll` from its events into a
 * malloc'ed array of 16-byte entries. */
static int build_timeline(struct ix *x, uint64_t coll, const char *name,
			  unsigned char **out, size_t *outn)
{
	size_t nl = strlen(name), ne = 0;
	unsigned char k[LIN_KEY_BUF];
	struct alias_facts af = { { NULL, 0, 0 }, 25 + nl };
	struct aev *ev = NULL;
	unsigned char *ents = NULL;
	int rc;

	*out = NULL;
	*outn = 0;
	rc = ix_scan(x, LIN_DB_ALIAS_EV, k,
		     lin_key_coll_bytes(k, sizeof k, coll, name, nl, 1), NULL,
		     0, add_alias_fact, &af);
	uint64_t *facts = af.ids.v;
	size_t n = af.ids.n;
	if (!rc && n && !(ev = calloc(n, sizeof *ev)))
		rc = LIN_ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char fk[8];
		MDB_val fv;
		struct lin_fact f;
		lin_key_id(fk, facts[i]);
		if (ix_get(x, LIN_DB_FACTS, fk, 8, &fv) ||
		    lin_fact_decode(fv.mv_data, fv.mv_size, &x->zone, &f))
			continue;
		ev[m].key.time = lin_eff_time(f.time);
		ev[m].key.path = ix_src_path(x, (uint32_t)(facts[i] >> 32));
		ev[m].key.pos = f.pos;
		if (f.kind == LIN_FACT_LOG) {
			ev[m].target = f.vid;
			ev[m].op = 1;
		} else if (f.kind == LIN_FACT_ALIAS) {
			rc = version_of_sel(x, coll, f.sel, &ev[m].target);
			if (rc || !ev[m].target)
				continue; /* names no version (yet) */
			ev[m].op = has_name(&f.add, name) ? 1 : 0;
		} else {
			continue;
		}
		m++;
	}
	free(facts);
	if (rc) {
		free(ev);
		return rc;
	}
	if (m)  /* qsort(NULL, 0, ...) is undefined */
		qsort(ev, m, sizeof *ev, aev_cmp);
	if (m && !(ents = malloc(m * 16))) {
		free(ev);
		return LIN_ENOMEM;
	}
	uint64_t state = 0;
	for (size_t i = 0; i < m; i++) {
		uint64_t next = state;
		uint64_t tk = lin_time_key(ev[i].key.time);
		if (ev[i].op)
			next = ev[i].target;
		else if (state == ev[i].target)
			next = 0;
		state = next;
		if (ne && lin_be64_get(ents + (ne - 1) * 16) == tk) {
			/* same instant: the later event wins */
			lin_tl_entry_put(ents + (ne - 1) * 16, tk, next);
			uint64_t prev = ne > 1 ?
				lin_be64_get(ents + (ne - 2) * 16 + 8) : 0;
			if (prev == next)
				ne--;
		} else {
			uint64_t prev = ne ?
				lin_be64_get(ents + (ne - 1) * 16 + 8) : 0;
			if (prev != next) {
				lin_tl_entry_put(ents + ne * 16, tk, next);
				ne++;
			}
		}
	}
	free(ev);
	*out = ents;
	*outn = ne * 16;
	return 0;
}

static uint64_t tl_final(const unsigned char *p, size_t n)
{
	return n >= 16 ? lin_be64_get(p + n - 8) : 0;
}

static int derive_alias(struct ix *x, struct touched_coll *t,
			const char *name, struct lin_idset *mat)
{
	unsigned char k[LIN_KEY_BUF], *tl;
	size_t nl = strlen(name), tn, on = 0, i, kn;
	const unsigned char *old = NULL;
	MDB_val v;
	int rc;

	/* Longer names are refused on input (LIN_MAX_ALIAS). */
	if (!(kn = lin_key_coll_bytes(k, sizeof k, t->coll, name, nl, 0)))
		return 0;
	if ((rc = build_timeline(x, t->coll, name, &tl, &tn)))
		return rc;
	rc = ix_get(x, LIN_DB_ALIAS_TL, k, kn, &v);
	if (rc == 0) {
		old = v.mv_data;
		on = v.mv_size;
	} else if (rc != LIN_ENOTFOUND) {
		free(tl);
		return rc;
	}
	rc = 0;
	if (on == tn && (tn == 0 || memcmp(old, tl, tn) == 0)) {
		free(tl);
		return 0;
	}
	for (i = 0; i + 16 <= on && i + 16 <= tn; i += 16)
		if (memcmp(old + i, tl + i, 16))
			break;
	uint64_t from = UINT64_MAX;
	if (i + 16 <= on)
		from = lin_be64_get(old + i);
	if (i + 16 <= tn && lin_be64_get(tl + i) < from)
		from = lin_be64_get(tl + i);
	uint64_t was = tl_final(old, on), now = tl_final(tl, tn);
	if ((was && lin_idset_add(mat, was) < 0) ||
	    (now && lin_idset_add(mat, now) < 0))
		rc = LIN_ENOMEM;
	if (!rc)
		rc = tn ? ix_put(x, LIN_DB_ALIAS_TL, k, kn, tl, tn)
			: ix_del(x, LIN_DB_ALIAS_TL, k, kn, NULL, 0);
	free(tl);
	if (!rc)
		rc = ix_add_task(t, TASK_SEL, 0, name, nl, lin_time_unkey(from));
	return rc;
}

static int touch_alias_key(void *ctx, const MDB_val *k, const MDB_val *v)
{
	const char *nm = (const char *)k->mv_data + 8;
	size_t nn = k->mv_size - 8;
	const char *z = memchr(nm, 0, nn);
	(void)v;
	return ix_touch_alias(ctx, nm, z ? (size_t)(z - nm) : nn);
}

/* Every alias name with events or a timeline in the collection. */
static int collect_alias_names(struct ix *x, struct touched_coll *t)
{
	unsigned char k[8];
	int rc;

	lin_key_id(k, t->coll);
	rc = ix_scan(x, LIN_DB_ALIAS_EV, k, 8, NULL, 0, touch_alias_key, t);
	return rc ? rc : ix_scan(x, LIN_DB_ALIAS_TL, k, 8, NULL, 0,
				 touch_alias_key, t);
}

/* ---- uses ------------------------------------------------------------ */

/* The version a use's selector names at time t (0: none yet). */
static int lookup_sel(struct ix *x, uint64_t coll, struct lin_slice sel,
		      int64_t t, uint64_t *vid)
{
	if (sel.n && (sel.p[0] == '#' || (sel.p[0] == 'v' && sel.n > 1 &&
	    sel.p[1] >= '0' && sel.p[1] <= '9')))
		return version_of_sel(x, coll, sel, vid);
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
	const unsigned char *kb = k->mv_data;
	uint64_t vid = v->mv_size == 8 ? lin_be64_get(v->mv_data) : 0;
	int rc = u64v_push(&h->facts, lin_be64_get(kb + k->mv_size - 8));

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
		if (!*vid || okey_cmp(&k, &bk) < 0) {
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
	 * state already (run_tasks does them first). */
	for (size_t j = 0; j < n && rc == 0; j++)
		if (ids[j] >> 32 != x->src)
			rc = resolve_use(x, ids[j]);
	free(ids);
	return rc;
}

static int run_tasks(struct ix *x, struct touched_coll *t)
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
static int resolve_sid_uses(struct ix *x, const char *sid)
{
	struct lin_slice s = { sid, strlen(sid) };
	struct sid_hits h;
	int rc = sid_hits(x, s, LIN_FACT_USE, &h);

	for (size_t i = 0; i < h.facts.n && rc == 0; i++)
		rc = resolve_use(x, h.facts.v[i]);
	sid_hits_free(&h);
	return rc;
}

/* ---- materialised nodes ---------------------------------------------- */

static int version_number(struct ix *x, uint64_t vid, int64_t *num)
{
	long i = lin_idset_find(&x->numv, vid);
	msgpack_object o;
	int found, rc;

	*num = -1;
	if (i >= 0) {
		*num = x->nums[i];
		return 0;
	}
	if ((rc = decode_value(x, LIN_DB_NODES, vid, &o, &found)))
		return rc;
	if (found)
		lin_map_i64(&o, "version", num);
	return 0;
}

struct alias_names {
	uint64_t vid;
	struct lin_packer *names;
	unsigned count;
};

static int add_alias_name(void *ctx, const MDB_val *k, const MDB_val *v)
{
	struct alias_names *a = ctx;

	if (tl_final(v->mv_data, v->mv_size) != a->vid)
		return 0;
	msgpack_pack_str(&a->names->pk, k->mv_size - 8);
	msgpack_pack_str_body(&a->names->pk, (char *)k->mv_data + 8,
			      k->mv_size - 8);
	a->count++;
	return 0;
}

/* Current aliases naming `vid` (their timelines end at it). */
static int current_aliases(struct ix *x, uint64_t coll, uint64_t vid,
			   struct lin_packer *names, unsigned *count)
{
	unsigned char k[8];
	struct alias_names a = { vid, names, 0 };
	int rc;

	rc = ix_scan(x, LIN_DB_ALIAS_TL, k, lin_key_id(k, coll), NULL, 0,
		     add_alias_name, &a);
	*count = a.count;
	return rc;
}

static void pack_attr(msgpack_packer *pk, const msgpack_object *attrs,
		      const char *key, unsigned *n, int count_only)
{
	const msgpack_object *v = lin_map_get(attrs, key);

	if (!v || v->type == MSGPACK_OBJECT_NIL)
		return;
	(*n)++;
	if (count_only)
		return;
	lin_pack_cstr(pk, key);
	msgpack_pack_object(pk, *v);
}

static const char *const version_attrs[] = {
	"size", "files", "description", "metadata", "created_at"
};

/* The first log fact (by the producer rule) that carries a server id. */
static int pick_first_sid(struct ix *x, const struct lin_fact *f, void *ctx)
{
	struct lin_slice sid;

	return ix_fact_sid(f, &sid) ? pick_first(x, f, ctx) : 0;
}

static int materialize_version(struct ix *x, const struct coll_state *cs,
			       uint64_t coll, uint64_t vid,
			       struct lin_packer *names)
{
	struct first_log fl = { 0 };
	unsigned char k[8];
	unsigned nal = 0, nattr = 0;
	int64_t num;
	int rc;

	msgpack_zone_clear(&x->zone);
	rc = each_fact(x, vid, 1u << LIN_FACT_LOG, pick_first, &fl, NULL);
	if (rc || !fl.found)
		return rc;   /* removed versions were deleted by renumber */
	if ((rc = version_number(x, vid, &num)))
		return rc;
	lin_packer_reset(names);
	if ((rc = current_aliases(x, coll, vid, names, &nal)))
		return rc;
	int is_latest = num >= 0 && num == cs->count - 1;
	const msgpack_object *attrs = &fl.fact.attrs;
	struct lin_slice type = { "", 0 };
	lin_map_str(attrs, "type", &type);
	for (size_t i = 0; i < sizeof version_attrs / sizeof *version_attrs;
	     i++)
		pack_attr(NULL, attrs, version_attrs[i], &nattr, 1);
	/* W&B's id, from the first log that has one: a re-log written
	 * elsewhere (an offline .wandb log) may come first without it */
	struct first_log fs = { 0 };
	struct lin_slice sid = { NULL, 0 };
	if (!ix_fact_sid(&fl.fact, &sid)) {
		sid.n = 0;
		rc = each_fact(x, vid, 1u << LIN_FACT_LOG, pick_first_sid,
			       &fs, NULL);
		if (rc)
			return rc;
		if (fs.found && !ix_fact_sid(&fs.fact, &sid))
			sid.n = 0;
	}
	nattr += sid.n > 0;

	msgpack_packer *pk = &x->pk.pk;
	lin_packer_reset(&x->pk);
	msgpack_pack_map(pk, 10 + nattr);
	lin_pack_kv_str(pk, "kind", "artifact");
	lin_pack_kv_str(pk, "entity", cs->entity);
	lin_pack_kv_str(pk, "project", cs->project);
	lin_pack_kv_str(pk, "name", cs->name);
	lin_pack_cstr(pk, "coll");
	msgpack_pack_uint64(pk, coll);
	lin_pack_cstr(pk, "type");
	lin_pack_slice(pk, type);
	lin_pack_cstr(pk, "version");
	msgpack_pack_int64(pk, num);
	lin_pack_cstr(pk, "digest");
	lin_pack_slice(pk, fl.fact.digest);
	lin_pack_cstr(pk, "aliases");
	msgpack_pack_array(pk, nal + (unsigned)is_latest);
	if (is_latest)
		lin_pack_cstr(pk, "latest");
	msgpack_sbuffer_write(&x->pk.sb, names->sb.data, names->sb.size);
	lin_pack_cstr(pk, "first");
	pack_okey(pk, &fl.key);
	for (size_t i = 0; i < sizeof version_attrs / sizeof *version_attrs;
	     i++)
		pack_attr(pk, attrs, version_attrs[i], &nattr, 0);
	if (sid.n) {
		lin_pack_cstr(pk, "server_id");
		lin_pack_slice(pk, sid);
	}
	lin_key_id(k, vid);
	return ix_put(x, LIN_DB_NODES, k, 8, x->pk.sb.data, x->pk.sb.size);
}

struct run_facts {
	struct lin_fact *f;
	struct okey *key;
	size_t n, cap;
};

static int collect_run_fact(struct ix *x, const struct lin_fact *f, void *ctx)
{
	struct run_facts *rf = ctx;

	if (rf->n == rf->cap) {
		size_t cap = rf->cap ? rf->cap * 2 : 8;
		struct lin_fact *nf = realloc(rf->f, cap * sizeof *nf);
		if (!nf)
			return LIN_ENOMEM;
		rf->f = nf;
		struct okey *nk = realloc(rf->key, cap * sizeof *nk);
		if (!nk)
			return LIN_ENOMEM;
		rf->key = nk;
		rf->cap = cap;
	}
	rf->f[rf->n] = *f;
	/* RUN facts fold in file order; FINISH facts by end time. */
	rf->key[rf->n].time = f->kind == LIN_FACT_FINISH ?
			      lin_eff_time(f->time) : 0;
	rf->key[rf->n].path = ix_src_path(x, (uint32_t)(f->id >> 32));
	rf->key[rf->n].pos = f->pos;
	rf->n++;
	return 0;
}

static const char *const run_str_attrs[] = {
	"name", "job_type", "group", "host", "notes", "tags", "program",
	"git_remote", "git_commit", "args"
};
static const char *const finish_attrs[] = {
	"state", "exit_code", "ended_at"
};
#define NRUNSTR (sizeof run_str_attrs / sizeof *run_str_attrs)
#define NFINISH (sizeof finish_attrs / sizeof *finish_attrs)

/* Keep the display-name entry of `run` in `names` in step. */
static int rename_run(struct ix *x, uint64_t run, const msgpack_object *o,
		      const msgpack_object *now)
{
	struct lin_slice e, p, id, old = { NULL, 0 }, nw = { NULL, 0 };
	char scope[3 * LIN_MAX_KEY + 3];
	int has_old, has_new, rc = 0;

	if (!lin_map_str(o, "entity", &e) || !lin_map_str(o, "project", &p) ||
	    !lin_map_str(o, "run_id", &id))
		return 0;
	has_old = lin_map_str(o, "name", &old);
	has_new = now && now->type == MSGPACK_OBJECT_STR;
	if (has_new) {
		nw.p = now->via.str.ptr;
		nw.n = now->via.str.size;
	}
	if (has_old == has_new && (!has_old || lin_slice_cmp(old, nw) == 0))
		return 0;
	int n = snprintf(scope, sizeof scope, "%.*s/%.*s/%.*s", (int)e.n, e.p,
			 (int)p.n, p.p, (int)id.n, id.p);
	struct lin_slice sc = { scope, (size_t)n };
	if (has_old)
		rc = ix_name(x, LIN_NAME_DISPLAY, old, sc, run, 0);
	if (!rc && has_new)
		rc = ix_name(x, LIN_NAME_DISPLAY, nw, sc, run, 1);
	return rc;
}

static int delete_run(struct ix *x, uint64_t run, const msgpack_object *o)
{
	struct lin_slice e, p, id;
	unsigned char k[8];
	char key[3 * LIN_MAX_KEY + 3];
	int rc = rename_run(x, run, o, NULL);

	if (!rc && lin_map_str(o, "entity", &e) &&
	    lin_map_str(o, "project", &p) && lin_map_str(o, "run_id", &id)) {
		int n = lin_key_path_n(key, sizeof key, e.p, e.n, p.p, p.n,
				       id.p, id.n);
		/* n < 0: too long, refused on input, so never stored */
		if (n >= 0) {
			struct lin_slice scope = { key,
						   (size_t)n - id.n - 1 };
			rc = ix_del(x, LIN_DB_RUNS, key, (size_t)n, NULL, 0);
			if (!rc)
				rc = ix_name(x, LIN_NAME_RUN, id, scope, run,
					     0);
		}
	}
	lin_key_id(k, run);
	return rc ? rc : ix_del(x, LIN_DB_NODES, k, 8, NULL, 0);
}

/* The identity of a run created in this transaction, as a node map. */
static int new_run_node(struct ix *x, uint64_t run, msgpack_object *o,
			int *found)
{
	long i = lin_idset_find(&x->newruns, run);
	const char *key, *s1, *s2;
	struct lin_packer pk;
	int rc = 0;

	*found = 0;
	if (i < 0)
		return 0;
	key = x->newkeys[i];
	if (!(s1 = strchr(key, '/')) || !(s2 = strchr(s1 + 1, '/')))
		return 0;
	lin_packer_init(&pk);
	msgpack_pack_map(&pk.pk, 3);
	lin_pack_cstr(&pk.pk, "entity");
	lin_pack_slice(&pk.pk, (struct lin_slice){ key, (size_t)(s1 - key) });
	lin_pack_cstr(&pk.pk, "project");
	lin_pack_slice(&pk.pk, (struct lin_slice){ s1 + 1,
					(size_t)(s2 - s1 - 1) });
	lin_pack_kv_str(&pk.pk, "run_id", s2 + 1);
	void *copy = msgpack_zone_malloc(&x->zone, pk.sb.size);
	if (!copy)
		rc = LIN_ENOMEM;
	else {
		memcpy(copy, pk.sb.data, pk.sb.size);
		if (msgpack_unpack(copy, pk.sb.size, NULL, &x->zone, o) ==
		    MSGPACK_UNPACK_SUCCESS)
			*found = 1;
	}
	lin_packer_release(&pk);
	return rc;
}

static int materialize_run(struct ix *x, uint64_t run)
{
	struct run_facts rf = { 0 };
	msgpack_object node;
	const msgpack_object *val[NRUNSTR + NFINISH] = { 0 };
	struct lin_slice e = { "", 0 }, p = { "", 0 }, id = { "", 0 };
	int64_t started = LIN_TIME_NONE, t;
	size_t total = 0;
	unsigned char k[8];
	int found, rc;

	msgpack_zone_clear(&x->zone);
	if ((rc = decode_value(x, LIN_DB_NODES, run, &node, &found)))
		return rc;
	if (!found && (rc = new_run_node(x, run, &node, &found)))
		return rc;
	if (!found)
		return 0;
	rc = each_fact(x, run, 1u << LIN_FACT_RUN | 1u << LIN_FACT_FINISH,
		       collect_run_fact, &rf, &total);
	if (!rc && total == 0)
		rc = delete_run(x, run, &node);
	if (rc || total == 0)
		goto out;
	lin_map_str(&node, "entity", &e);
	lin_map_str(&node, "project", &p);
	lin_map_str(&node, "run_id", &id);
	/* Insertion sort: a run has few RUN/FINISH facts. */
	for (size_t i = 1; i < rf.n; i++)
		for (size_t j = i; j > 0 &&
		     okey_cmp(&rf.key[j], &rf.key[j - 1]) < 0; j--) {
			struct lin_fact tf = rf.f[j];
			struct okey tk = rf.key[j];
			rf.f[j] = rf.f[j - 1];
			rf.key[j] = rf.key[j - 1];
			rf.f[j - 1] = tf;
			rf.key[j - 1] = tk;
		}
	for (size_t i = 0; i < rf.n; i++) {
		const msgpack_object *a = &rf.f[i].attrs;
		int fin = rf.f[i].kind == LIN_FACT_FINISH;
		size_t base = fin ? NRUNSTR : 0;
		size_t cnt = fin ? NFINISH : NRUNSTR;
		for (size_t j = 0; j < cnt; j++) {
			const msgpack_object *v = lin_map_get(a,
				fin ? finish_attrs[j] : run_str_attrs[j]);
			if (v && v->type != MSGPACK_OBJECT_NIL)
				val[base + j] = v;
		}
		/* a resumed run keeps its first start */
		if (!fin && lin_map_i64(a, "started_at", &t) &&
		    (started == LIN_TIME_NONE || t < started))
			started = t;
	}
	unsigned n = 4 + (started != LIN_TIME_NONE);
	for (size_t j = 0; j < NRUNSTR + NFINISH; j++)
		n += val[j] != NULL;
	msgpack_packer *pk = &x->pk.pk;
	lin_packer_reset(&x->pk);
	msgpack_pack_map(pk, n);
	lin_pack_kv_str(pk, "kind", "run");
	lin_pack_cstr(pk, "entity");
	lin_pack_slice(pk, e);
	lin_pack_cstr(pk, "project");
	lin_pack_slice(pk, p);
	lin_pack_cstr(pk, "run_id");
	lin_pack_slice(pk, id);
	for (size_t j = 0; j < NRUNSTR + NFINISH; j++) {
		if (!val[j])
			continue;
		lin_pack_cstr(pk, j < NRUNSTR ? run_str_attrs[j]
					      : finish_attrs[j - NRUNSTR]);
		msgpack_pack_object(pk, *val[j]);
	}
	if (started != LIN_TIME_NONE)
		lin_pack_kv_i64(pk, "started_at", started);
	if ((rc = rename_run(x, run, &node, val[0])))
		goto out;
	lin_key_id(k, run);
	rc = ix_put(x, LIN_DB_NODES, k, 8, x->pk.sb.data, x->pk.sb.size);
out:
	free(rf.f);
	free(rf.key);
	return rc;
}

/* ---- entry ------------------------------------------------------------ */

static int derive_coll(struct ix *x, struct touched_coll *t,
		       struct lin_packer *names)
{
	struct coll_state cs;
	struct lin_idset mat;
	int rc;

	lin_idset_init(&mat);
	rc = load_coll(x, t->coll, &cs);
	for (size_t i = 0; i < t->vids.n && rc == 0; i++)
		rc = set_log_edges(x, t->vids.order[i]);
	if (!rc && t->vids.n)
		rc = derive_versions(x, t, &cs, &mat);
	if (!rc && t->all_aliases)
		rc = collect_alias_names(x, t);
	for (size_t i = 0; i < t->naliases && rc == 0; i++)
		rc = derive_alias(x, t, t->aliases[i], &mat);
	if (!rc)
		rc = run_tasks(x, t);
	for (size_t i = 0; i < mat.n && rc == 0; i++)
		rc = materialize_version(x, &cs, t->coll, mat.order[i], names);
	if (!rc && cs.dirty)
		rc = save_coll(x, t->coll, &cs);
	coll_state_free(&cs);
	lin_idset_release(&mat);
	return rc;
}

int ix_derive(struct ix *x)
{
	struct lin_packer names;
	int rc = 0;

	lin_packer_init(&names);
	/* derive_coll may touch no new collections, so ntc is stable */
	for (size_t i = 0; i < x->ntc && rc == 0; i++)
		rc = derive_coll(x, &x->tc[i], &names);
	for (size_t i = 0; i < x->nsids && rc == 0; i++)
		rc = resolve_sid_uses(x, x->sids[i]);
	for (size_t i = 0; i < x->runs.n && rc == 0; i++)
		rc = materialize_run(x, x->runs.order[i]);
	lin_packer_release(&names);
	return rc;
}
