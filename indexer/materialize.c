/* materialize.c - the materialised node of a version or run, rebuilt
 * from its facts: what queries read without folding facts. */
#include "indexer/derive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if ((rc = ix_decode_value(x, LIN_DB_NODES, vid, &o, &found)))
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

	if (ix_tl_final(v->mv_data, v->mv_size) != a->vid)
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

/* The first log fact by the producer rule (ctx[0]), and the first that
 * carries a server id (ctx[1]), in one reading of the version's facts. */
static int pick_firsts(struct ix *x, const struct lin_fact *f, void *ctx)
{
	struct first_log *fl = ctx;
	struct lin_slice sid;
	int rc = ix_pick_first(x, f, &fl[0]);

	return rc || !ix_fact_sid(f, &sid) ? rc : ix_pick_first(x, f, &fl[1]);
}

int ix_materialize_version(struct ix *x, const struct coll_state *cs,
			   uint64_t coll, uint64_t vid,
			   struct lin_packer *names)
{
	struct first_log firsts[2] = { { 0 }, { 0 } };
	struct first_log *fl = &firsts[0], *fs = &firsts[1];
	unsigned nal = 0, nattr = 0;
	int64_t num;
	int rc;

	msgpack_zone_clear(&x->zone);
	rc = ix_each_fact(x, vid, 1u << LIN_FACT_LOG, pick_firsts, firsts,
			  NULL);
	if (rc || !fl->found)
		return rc;   /* removed versions were deleted by renumber */
	if ((rc = version_number(x, vid, &num)))
		return rc;
	lin_packer_reset(names);
	if ((rc = current_aliases(x, coll, vid, names, &nal)))
		return rc;
	int is_latest = num >= 0 && num == cs->count - 1;
	const msgpack_object *attrs = &fl->fact.attrs;
	struct lin_slice type = { "", 0 };
	lin_map_str(attrs, "type", &type);
	for (size_t i = 0; i < sizeof version_attrs / sizeof *version_attrs;
	     i++)
		pack_attr(NULL, attrs, version_attrs[i], &nattr, 1);
	/* W&B's id, from the first log that has one: a re-log written
	 * elsewhere (an offline .wandb log) may come first without it */
	struct lin_slice sid = { NULL, 0 };
	if (!fs->found || !ix_fact_sid(&fs->fact, &sid))
		sid.n = 0;
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
	lin_pack_slice(pk, fl->fact.digest);
	lin_pack_cstr(pk, "aliases");
	msgpack_pack_array(pk, nal + (unsigned)is_latest);
	if (is_latest)
		lin_pack_cstr(pk, "latest");
	msgpack_sbuffer_write(&x->pk.sb, names->sb.data, names->sb.size);
	lin_pack_cstr(pk, "first");
	ix_pack_okey(pk, &fl->key);
	for (size_t i = 0; i < sizeof version_attrs / sizeof *version_attrs;
	     i++)
		pack_attr(pk, attrs, version_attrs[i], &nattr, 0);
	if (sid.n) {
		lin_pack_cstr(pk, "server_id");
		lin_pack_slice(pk, sid);
	}
	return ix_node_put(x, vid, x->pk.sb.data, x->pk.sb.size);
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
			rc = ix_name(x, LIN_NAME_RUN, id, scope, run, 0);
		}
	}
	return rc ? rc : ix_node_del(x, run);
}

/* The identity of a run created in this transaction, as a node map. */
static int new_run_node(struct ix *x, uint64_t run, msgpack_object *o,
			int *found)
{
	long i = lin_idset_find(&x->newruns, run);
	const char *e, *p, *id;
	struct lin_packer pk;
	int rc = 0;

	*found = 0;
	if (i < 0)
		return 0;
	e = x->newkeys[i];
	p = e + strlen(e) + 1;
	id = p + strlen(p) + 1;
	lin_packer_init(&pk);
	msgpack_pack_map(&pk.pk, 3);
	lin_pack_kv_str(&pk.pk, "entity", e);
	lin_pack_kv_str(&pk.pk, "project", p);
	lin_pack_kv_str(&pk.pk, "run_id", id);
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

int ix_materialize_run(struct ix *x, uint64_t run)
{
	struct run_facts rf = { 0 };
	msgpack_object node;
	const msgpack_object *val[NRUNSTR + NFINISH] = { 0 };
	struct lin_slice e = { "", 0 }, p = { "", 0 }, id = { "", 0 };
	int64_t started = LIN_TIME_NONE, t;
	size_t total = 0;
	int found, rc;

	msgpack_zone_clear(&x->zone);
	if ((rc = ix_decode_value(x, LIN_DB_NODES, run, &node, &found)))
		return rc;
	if (!found && (rc = new_run_node(x, run, &node, &found)))
		return rc;
	if (!found)
		return 0;
	rc = ix_each_fact(x, run, 1u << LIN_FACT_RUN | 1u << LIN_FACT_FINISH,
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
		     ix_okey_cmp(&rf.key[j], &rf.key[j - 1]) < 0; j--) {
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
	rc = ix_node_put(x, run, x->pk.sb.data, x->pk.sb.size);
out:
	free(rf.f);
	free(rf.key);
	return rc;
}
