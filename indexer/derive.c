/* derive.c - rebuilding derived state from facts after a file's facts
 * went in or out: for each touched collection its versions
 * (derive_versions.c), alias timelines (derive_aliases.c) and use
 * resolutions (derive_uses.c), and the materialised nodes
 * (materialize.c), runs first (ix_derive says why). This file holds
 * the collection state they work on and the order of the steps; what
 * the steps share (first-logging order, a node's facts) is in
 * derive_facts.c. Only touched things are rebuilt. */
#include "indexer/derive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ix_scan visitor: any entry at all. */
static int found_one(void *ctx, const MDB_val *k, const MDB_val *v)
{
	(void)ctx;
	(void)k;
	(void)v;
	return 1;
}

/* 1 when some key of `db` starts with the collection id `ck`, else 0 or
 * a store code. */
static int coll_has(struct ix *x, enum lin_db db, const unsigned char ck[8])
{
	return ix_scan(x, db, ck, 8, ck, 8, found_one, NULL);
}

/* A collection that nothing names any more (its last version, use and
 * alias went with a replaced or pruned file) leaves `coll_info` and
 * `names`, as a run does when its last fact goes: otherwise stats
 * counts it and a REF naming it finds a collection "with no versions"
 * where a fresh index of the same files knows none. Its id is never
 * reused (seq.coll only grows). */
static int drop_if_empty(struct ix *x, uint64_t coll,
			 const struct coll_state *cs)
{
	char key[LIN_MAX_KEY + 1];
	unsigned char ck[8];
	int rc, n;

	if (cs->count != 0)
		return 0;
	lin_key_id(ck, coll);
	if ((rc = coll_has(x, LIN_DB_USE_SEL, ck)) != 0 ||
	    (rc = coll_has(x, LIN_DB_ALIAS_EV, ck)) != 0 ||
	    (rc = coll_has(x, LIN_DB_COLL_VER, ck)) != 0)
		return rc < 0 ? rc : 0;
	n = lin_key_path(key, sizeof key, cs->entity, cs->project, cs->name);
	if (n < 0)  /* too long: refused on input, so never stored */
		return 0;
	struct lin_slice nm = { cs->name, strlen(cs->name) };
	struct lin_slice scope = { key, (size_t)n - nm.n - 1 };
	if ((rc = ix_del(x, LIN_DB_COLL_INFO, ck, 8, NULL, 0)))
		return rc;
	return ix_name(x, LIN_NAME_COLL, nm, scope, coll, 0);
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
	if (!rc)
		rc = drop_if_empty(x, t->coll, &cs);
	coll_state_free(&cs);
	lin_idset_release(&mat);
	return rc;
}

/* A log fact's edges, as if its run produced the version
 * (ix_set_log_edges turns a re-log around). */
static int put_log_edges(struct ix *x, const struct ix_log_edge *l)
{
	int rc = ix_edge_put(x, l->run, LIN_EDGE_LOGGED, l->vid, l->fact);

	return rc ? rc : ix_edge_put(x, l->vid, LIN_EDGE_LOGGED_BY, l->run,
				     l->fact);
}

int ix_derive(struct ix *x)
{
	struct lin_packer names;
	int rc = 0;

	lin_packer_init(&names);
	/* Writes go in id order where they can, so LMDB adds keys at the
	 * end of a page and leaves full pages behind (a key added before
	 * the last one splits its page in the middle). A file's new run
	 * has the id before the versions it logged (one sequence): its
	 * node and its use edges first (collections without new
	 * versions), then its log edges, then the collections that gained
	 * versions, whose edges and nodes sit after it. Runs and
	 * collections are derived independently of each other. */
	for (size_t i = 0; i < x->runs.n && rc == 0; i++)
		rc = ix_materialize_run(x, x->runs.order[i]);
	/* derive_coll may touch no new collections, so ntc is stable */
	for (size_t i = 0; i < x->ntc && rc == 0; i++)
		if (x->tc[i].vids.n == 0)
			rc = derive_coll(x, &x->tc[i], &names);
	for (size_t i = 0; i < x->nlogs && rc == 0; i++)
		rc = put_log_edges(x, &x->logs[i]);
	x->nlogs = 0;
	for (size_t i = 0; i < x->ntc && rc == 0; i++)
		if (x->tc[i].vids.n != 0)
			rc = derive_coll(x, &x->tc[i], &names);
	for (size_t i = 0; i < x->nsids && rc == 0; i++)
		rc = ix_resolve_sid_uses(x, x->sids[i]);
	lin_packer_release(&names);
	return rc;
}
