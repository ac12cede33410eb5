/* derive.c - rebuilding derived state from facts after a file's facts
 * went in or out: for each touched collection its versions
 * (ix_derive_versions.c), alias timelines (derive_aliases.c) and use
 * resolutions (derive_uses.c), then the materialised nodes
 * (materialize.c). This file holds what they share: the first-logging
 * order, collection state, and reading a node's facts. Only touched
 * things are rebuilt. */
#include "indexer/derive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ix_okey_cmp(const struct okey *a, const struct okey *b)
{
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	int c = strcmp(a->path, b->path);
	if (c)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

char *ix_slice_dup(struct lin_slice s)
{
	return strndup(s.p ? s.p : "", s.n);
}

/* ---- reading node and collection values ------------------------------ */

int ix_decode_value(struct ix *x, enum lin_db db, uint64_t id,
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

int ix_get_okey(const msgpack_object *m, const char *name,
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
	if ((rc = ix_decode_value(x, LIN_DB_COLL_INFO, coll, &o, &found)))
		return rc;
	if (!found)
		return lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "collection %016llx has no info",
				   (unsigned long long)coll);
	if (lin_map_str(&o, "entity", &s))
		c->entity = ix_slice_dup(s);
	if (lin_map_str(&o, "project", &s))
		c->project = ix_slice_dup(s);
	if (lin_map_str(&o, "name", &s))
		c->name = ix_slice_dup(s);
	if (lin_map_str(&o, "type", &s))
		c->type = ix_slice_dup(s);
	lin_map_i64(&o, "count", &c->count);
	lin_map_i64(&o, "explicit", &c->explicit);
	rc = ix_get_okey(&o, "last", &c->last, &c->last_path);
	if (rc < 0)
		return rc;
	c->has_last = rc;
	if (!c->entity || !c->project || !c->name)
		return LIN_ENOMEM;
	return 0;
}

void ix_pack_okey(msgpack_packer *pk, const struct okey *k)
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
		ix_pack_okey(&x->pk.pk, &c->last);
	else
		msgpack_pack_nil(&x->pk.pk);
	lin_key_id(k, coll);
	return ix_put(x, LIN_DB_COLL_INFO, k, 8, x->pk.sb.data, x->pk.sb.size);
}

/* ---- facts of a node ------------------------------------------------- */

/* Call fn for every fact of `node` whose kind is in `kinds` (a bit per
 * LIN_FACT_*). *total counts all facts of the node. node_facts values
 * carry the kind, so facts of other kinds are not read. */
int ix_each_fact(struct ix *x, uint64_t node, unsigned kinds,
		 ix_fact_fn *fn, void *ctx, size_t *total)
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

int ix_pick_first(struct ix *x, const struct lin_fact *f, void *ctx)
{
	struct first_log *fl = ctx;
	struct okey k = { lin_eff_time(f->time), ix_src_path(x, f->id >> 32),
			  f->pos };

	if (!fl->found || ix_okey_cmp(&k, &fl->key) < 0) {
		fl->found = 1;
		fl->key = k;
		fl->fact = *f;
	}
	return 0;
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
		rc = ix_set_log_edges(x, t->vids.order[i]);
	if (!rc && t->vids.n)
		rc = ix_derive_versions(x, t, &cs, &mat);
	if (!rc && t->all_aliases)
		rc = ix_collect_alias_names(x, t);
	for (size_t i = 0; i < t->naliases && rc == 0; i++)
		rc = ix_derive_alias(x, t, t->aliases[i], &mat);
	if (!rc)
		rc = ix_run_tasks(x, t);
	for (size_t i = 0; i < mat.n && rc == 0; i++)
		rc = ix_materialize_version(x, &cs, t->coll, mat.order[i],
					    names);
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
		rc = ix_resolve_sid_uses(x, x->sids[i]);
	for (size_t i = 0; i < x->runs.n && rc == 0; i++)
		rc = ix_materialize_run(x, x->runs.order[i]);
	lin_packer_release(&names);
	return rc;
}
