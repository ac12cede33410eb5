/* node.c - decoding run and version nodes from the `nodes` database,
 * or what walks print of them from `node_core`. */
#include "internal.h"
#include "format/attrs.h"
#include "format/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lin_qnode_init(struct lin_qnode *n)
{
	memset(n, 0, sizeof *n);
	msgpack_unpacked_init(&n->up);
}

void lin_qnode_release(struct lin_qnode *n)
{
	msgpack_unpacked_destroy(&n->up);
	msgpack_unpacked_init(&n->up);
}

static int64_t int_of(const msgpack_object *o)
{
	int64_t v;

	/* INT64_MIN is LIN_QNONE either way */
	return lin_obj_i64(o, &v) ? LIN_QNONE : v;
}

static int is(const msgpack_object *k, const char *name)
{
	size_t n = strlen(name);
	return k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

static void clear_attrs(struct lin_qnode *n)
{
	msgpack_unpacked up = n->up;
	memset(n, 0, sizeof *n);
	n->up = up;
	n->started_at = n->ended_at = n->exit_code = LIN_QNONE;
	n->version = n->size = n->files = n->created_at = LIN_QNONE;
}

static void take_attr(struct lin_qnode *n, const msgpack_object *k,
		      const msgpack_object *v)
{
	/* Unknown attributes are skipped (schema.h); so are known ones of
	 * an unexpected type, which then read as absent. */
	if (is(k, "entity")) n->entity = lin_slice_of(v);
	else if (is(k, "project")) n->project = lin_slice_of(v);
	else if (is(k, "name")) n->name = lin_slice_of(v);
	else if (is(k, "run_id")) n->run_id = lin_slice_of(v);
	else if (is(k, "job_type")) n->job_type = lin_slice_of(v);
	else if (is(k, "group")) n->group = lin_slice_of(v);
	else if (is(k, "host")) n->host = lin_slice_of(v);
	else if (is(k, "notes")) n->notes = lin_slice_of(v);
	else if (is(k, "state")) n->state = lin_slice_of(v);
	else if (is(k, "type")) n->type = lin_slice_of(v);
	else if (is(k, "digest")) n->digest = lin_slice_of(v);
	else if (is(k, "description")) n->description = lin_slice_of(v);
	else if (is(k, "server_id")) n->server_id = lin_slice_of(v);
	else if (is(k, "tags"))
		n->tags = v->type == MSGPACK_OBJECT_ARRAY ? v : NULL;
	else if (is(k, "program")) n->program = lin_slice_of(v);
	else if (is(k, "git_remote")) n->git_remote = lin_slice_of(v);
	else if (is(k, "git_commit")) n->git_commit = lin_slice_of(v);
	else if (is(k, "args"))
		n->args = v->type == MSGPACK_OBJECT_ARRAY ? v : NULL;
	else if (is(k, "aliases"))
		n->aliases = v->type == MSGPACK_OBJECT_ARRAY ? v : NULL;
	else if (is(k, "metadata"))
		n->metadata = v->type == MSGPACK_OBJECT_NIL ? NULL : v;
	else if (is(k, "started_at")) n->started_at = int_of(v);
	else if (is(k, "ended_at")) n->ended_at = int_of(v);
	else if (is(k, "exit_code")) n->exit_code = int_of(v);
	else if (is(k, "version")) n->version = int_of(v);
	else if (is(k, "size")) n->size = int_of(v);
	else if (is(k, "files")) n->files = int_of(v);
	else if (is(k, "created_at")) n->created_at = int_of(v);
	else if (is(k, "coll") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		n->coll = v->via.u64;
}

static int bad(struct lin_err *err, uint64_t id, const char *why)
{
	return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
			   "node %016llx in the store is invalid: %s",
			   (unsigned long long)id, why);
}

int lin_qnode_load(MDB_txn *txn, const struct lin_store *s, uint64_t id,
		   struct lin_qnode *n, struct lin_err *err)
{
	unsigned char kb[8];
	MDB_val v;
	size_t off = 0;
	struct lin_slice kind = { NULL, 0 };
	int rc;

	clear_attrs(n);
	n->id = id;
	n->kind = LIN_ID_KIND(id);
	rc = lin_store_get(txn, s, LIN_DB_NODES, kb, lin_key_id(kb, id), &v,
			   err);
	/* Every id a query meets comes from the store itself: a node it
	 * names that is not there is damage, not an unknown name. */
	if (rc == LIN_ENOTFOUND)
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "node %016llx is missing from the store",
				   (unsigned long long)id);
	if (rc)
		return rc;
	if (lin_mp_check(v.mv_data, v.mv_size))
		return bad(err, id, "malformed msgpack");
	/* One zone serves every load of `n` (msgpack_unpack_next would
	 * free it and allocate a new 8 KiB one per node). */
	if (!n->up.zone &&
	    !(n->up.zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	msgpack_zone_clear(n->up.zone);
	if (msgpack_unpack(v.mv_data, v.mv_size, &off, n->up.zone,
			   &n->up.data) != MSGPACK_UNPACK_SUCCESS ||
	    off != v.mv_size)
		return bad(err, id, "malformed msgpack");
	lin_attrs_decode(&n->up.data);
	const msgpack_object *root = &n->up.data;
	if (root->type != MSGPACK_OBJECT_MAP)
		return bad(err, id, "not a map");
	for (uint32_t i = 0; i < root->via.map.size; i++) {
		const msgpack_object_kv *kv = &root->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			continue;
		if (is(&kv->key, "kind"))
			kind = lin_slice_of(&kv->val);
		else
			take_attr(n, &kv->key, &kv->val);
	}
	if (!n->entity.p || !n->project.p)
		return bad(err, id, "no entity or project");
	if (n->kind == LIN_ID_RUN) {
		if (!kind.p || kind.n != 3 || memcmp(kind.p, "run", 3))
			return bad(err, id,
				   "a run id whose kind is not 'run'");
		if (!n->run_id.p)
			return bad(err, id, "run without run_id");
	} else if (n->kind == LIN_ID_VERSION) {
		if (!kind.p || kind.n != 8 || memcmp(kind.p, "artifact", 8))
			return bad(err, id, "a version id whose kind is "
				   "not 'artifact'");
		if (!n->name.p)
			return bad(err, id, "version without name");
		if (n->version < 0 || n->version > (int64_t)UINT32_MAX)
			return bad(err, id, "version without a number");
	} else {
		return bad(err, id, "neither a run nor a version");
	}
	return 0;
}

/* Append p[0..n) at *o. */
static void put(char **o, const char *p, size_t n)
{
	if (n)
		memcpy(*o, p, n);
	*o += n;
}

/* Built by hand, not asprintf: walks print hundreds of thousands. */
char *lin_qnode_id(const struct lin_qnode *n, int with_kind)
{
	int run = n->kind == LIN_ID_RUN;
	const char *kind = !with_kind ? "" : run ? "run:" : "artifact:";
	const struct lin_slice *last = run ? &n->run_id : &n->name;
	char ver[24] = "";
	int vn = run ? 0 : snprintf(ver, sizeof ver, ":v%lld",
				    (long long)n->version);
	size_t len = strlen(kind) + n->entity.n + 1 + n->project.n + 1 +
		     last->n + (size_t)vn;
	char *s = malloc(len + 1), *o = s;

	if (!s)
		return NULL;
	put(&o, kind, strlen(kind));
	put(&o, n->entity.p, n->entity.n);
	*o++ = '/';
	put(&o, n->project.p, n->project.n);
	*o++ = '/';
	put(&o, last->p, last->n);
	put(&o, ver, (size_t)vn);
	*o = 0;
	return s;
}

void lin_qref_init(struct lin_qref *r)
{
	r->node = 0;
	r->ref = NULL;
	lin_qnode_init(&r->n);
}

void lin_qref_release(struct lin_qref *r)
{
	free(r->ref);
	lin_qnode_release(&r->n);
	r->ref = NULL;
	r->node = 0;
}

int lin_qref_get(MDB_txn *txn, const struct lin_store *s,
		 struct lin_qref *r, uint64_t node, const char **out,
		 struct lin_err *err)
{
	if (node != r->node || !r->ref) {
		free(r->ref);
		r->ref = NULL;
		r->node = 0;
		int rc = lin_qnode_load_core(txn, s, node, &r->n, err);
		if (rc)
			return rc;
		if (!(r->ref = lin_qnode_id(&r->n, 1)))
			return LIN_ENOMEM;
		r->node = node;
	}
	*out = r->ref;
	return 0;
}

/* The aliases of a core record as the msgpack array the printers read:
 * the array and its strings in n's zone, the bytes in the value. */
static int core_aliases(struct lin_qnode *n, const struct lin_core *c,
			struct lin_err *err)
{
	if (!(c->flags & LIN_CORE_ALIASES))
		return 0;
	if (!n->up.zone &&
	    !(n->up.zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	msgpack_zone_clear(n->up.zone);
	msgpack_object *a = msgpack_zone_malloc(n->up.zone,
		(1 + (size_t)c->naliases) * sizeof *a);
	if (!a)
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	a->type = MSGPACK_OBJECT_ARRAY;
	a->via.array.size = c->naliases;
	a->via.array.ptr = a + 1;
	const unsigned char *at = c->aliases;
	struct lin_slice s;
	for (uint32_t i = 0; i < c->naliases; i++) {
		if (!lin_core_alias_next(c, &at, &s))
			return bad(err, n->id, "core record aliases");
		a[1 + i].type = MSGPACK_OBJECT_STR;
		a[1 + i].via.str.ptr = s.p;
		a[1 + i].via.str.size = (uint32_t)s.n;
	}
	n->aliases = a;
	return 0;
}

int lin_qnode_load_core(MDB_txn *txn, const struct lin_store *s,
			uint64_t id, struct lin_qnode *n,
			struct lin_err *err)
{
	struct lin_core c;
	int rc = lin_core_get(txn, s, id, &c, err);

	/* A node without a core (damage `check` reports) or one whose
	 * attributes the core cannot hold exactly is read whole. */
	if (rc == LIN_ENOTFOUND || (rc == 0 && (c.flags & LIN_CORE_FULL)))
		return lin_qnode_load(txn, s, id, n, err);
	if (rc)
		return rc;
	clear_attrs(n);
	n->id = id;
	n->kind = c.kind;
	n->entity = c.entity;
	n->project = c.project;
	n->name = c.name;
	if (c.kind == LIN_ID_RUN) {
		n->run_id = c.run_id;
		n->job_type = c.job_type;
		n->state = c.state;
		n->git_commit = c.git_commit;
		if (c.flags & LIN_CORE_TIME)
			n->started_at = c.time;
		return 0;
	}
	n->type = c.type;
	n->version = c.version;
	if (c.flags & LIN_CORE_TIME)
		n->created_at = c.time;
	return core_aliases(n, &c, err);
}
