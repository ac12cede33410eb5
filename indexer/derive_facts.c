/* derive_facts.c - what the derive steps share: the first-logging
 * order of facts (okey), reading a node's facts and stored values, and
 * picking a version's first log (the producer rule). Called by
 * derive.c and by each step (derive_versions.c, derive_aliases.c,
 * derive_uses.c, materialize.c); it calls none of them. */
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
