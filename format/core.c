/* core.c - the compact node record of `node_core`: encoded from a node's
 * attribute map, decoded without MessagePack, and checked against
 * `nodes` (core.h; the layout is in STORE.md, "Node core"). */
#include "core.h"

#include "attrs.h"
#include "grow.h"
#include "mpcheck.h"

#include <string.h>

/* Run states kept as a one-byte code (index + 1); the list may only
 * grow at its end, since codes are stored. */
static const char *const states[] = {
	"finished", "failed", "crashed", "running", "killed",
};
#define NSTATES (sizeof states / sizeof *states)

/* String lengths: one byte up to LEN_SHORT_MAX, else LEN_LONG and a
 * u32; LEN_ABSENT for an attribute the node lacks. */
#define LEN_SHORT_MAX 0xfdu
#define LEN_LONG 0xfeu
#define LEN_ABSENT 0xffu

void lin_core_enc_release(struct lin_core_enc *e)
{
	if (e->zone)
		msgpack_zone_free(e->zone);
	free(e->buf);
	memset(e, 0, sizeof *e);
}

static int room(struct lin_core_enc *e, size_t more)
{
	if (more > SIZE_MAX - e->n)
		return LIN_ENOMEM;
	return LIN_GROW(e->buf, e->cap, e->n + more, 256) ? LIN_ENOMEM : 0;
}

static int put_len(struct lin_core_enc *e, size_t n, int absent)
{
	if (room(e, 5))
		return LIN_ENOMEM;
	if (absent) {
		e->buf[e->n++] = LEN_ABSENT;
	} else if (n <= LEN_SHORT_MAX) {
		e->buf[e->n++] = (unsigned char)n;
	} else {
		e->buf[e->n++] = LEN_LONG;
		lin_be32_put(e->buf + e->n, (uint32_t)n);
		e->n += 4;
	}
	return 0;
}

static int put_str(struct lin_core_enc *e, struct lin_slice s)
{
	if (put_len(e, s.n, s.p == NULL) || room(e, s.n))
		return LIN_ENOMEM;
	if (s.n)
		memcpy(e->buf + e->n, s.p, s.n);
	e->n += s.n;
	return 0;
}

/* What the node decoder (query/node.c) reads of a map, with its rules:
 * the last of repeated keys wins, a string of another type is absent. */
struct attrs {
	struct lin_slice kind, entity, project, name, run_id, job_type;
	struct lin_slice state, git_commit, type;
	const msgpack_object *version, *time_run, *time_ver, *aliases;
	int aliases_set;
};

static int key_is(const msgpack_object *k, const char *name)
{
	size_t n = strlen(name);
	return k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

static void take(struct attrs *a, const msgpack_object *k,
		 const msgpack_object *v)
{
	/* lengths kept beside the names: a strlen per name per key was a
	 * tenth of the indexer's node writes */
#define STR_ATTR(name, field) \
	{ name, sizeof name - 1, offsetof(struct attrs, field) }
	static const struct {
		const char *name;
		size_t len, off;
	} strs[] = {
		STR_ATTR("kind", kind),
		STR_ATTR("entity", entity),
		STR_ATTR("project", project),
		STR_ATTR("name", name),
		STR_ATTR("run_id", run_id),
		STR_ATTR("job_type", job_type),
		STR_ATTR("state", state),
		STR_ATTR("git_commit", git_commit),
		STR_ATTR("type", type),
	};
#undef STR_ATTR
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
		if (k->via.str.size == strs[i].len &&
		    memcmp(k->via.str.ptr, strs[i].name, strs[i].len) == 0) {
			*(struct lin_slice *)((char *)a + strs[i].off) =
				lin_slice_of(v);
			return;
		}
	if (key_is(k, "version"))
		a->version = v;
	else if (key_is(k, "started_at"))
		a->time_run = v;
	else if (key_is(k, "created_at"))
		a->time_ver = v;
	else if (key_is(k, "aliases")) {
		a->aliases = v->type == MSGPACK_OBJECT_ARRAY ? v : NULL;
		a->aliases_set = 1;
	}
}

/* A time or number as the node decoder reads it: 1 and *out when it is
 * an integer that fits int64 (INT64_MIN reads as absent there). */
static int int_of(const msgpack_object *o, int64_t *out)
{
	return o && lin_obj_i64(o, out) == 0 && *out != INT64_MIN;
}

/* 1 when the attributes hold what the node decoder needs and every
 * value the core keeps reads back the same from the core. */
static int fits(const struct attrs *a, unsigned kind)
{
	int64_t v;

	if (!a->entity.p || !a->project.p)
		return 0;
	if (kind == LIN_ID_RUN)
		return lin_slice_eq_cstr(a->kind, "run") && a->run_id.p;
	if (kind != LIN_ID_VERSION || !lin_slice_eq_cstr(a->kind, "artifact")
	    || !a->name.p || !int_of(a->version, &v) || v < 0 ||
	    v > (int64_t)UINT32_MAX)
		return 0;
	if (a->aliases) {
		/* Tables skip aliases that are not strings; JSON prints
		 * them: such a list is left to `nodes`. */
		for (uint32_t i = 0; i < a->aliases->via.array.size; i++)
			if (a->aliases->via.array.ptr[i].type !=
			    MSGPACK_OBJECT_STR)
				return 0;
	}
	return 1;
}

static unsigned state_code(struct lin_slice s)
{
	if (!s.p)
		return LIN_CORE_STATE_NONE;
	for (size_t i = 0; i < NSTATES; i++)
		if (lin_slice_eq_cstr(s, states[i]))
			return (unsigned)i + 1;
	return LIN_CORE_STATE_STR;
}

static int put_strings(struct lin_core_enc *e, const struct attrs *a,
		       unsigned kind, unsigned state)
{
	int rc = put_str(e, a->entity) || put_str(e, a->project) ||
		 put_str(e, a->name);

	if (rc)
		return LIN_ENOMEM;
	if (kind == LIN_ID_RUN) {
		if (put_str(e, a->run_id) || put_str(e, a->job_type) ||
		    put_str(e, a->git_commit) ||
		    (state == LIN_CORE_STATE_STR && put_str(e, a->state)))
			return LIN_ENOMEM;
		return 0;
	}
	if (put_str(e, a->type))
		return LIN_ENOMEM;
	if (!a->aliases)
		return 0;
	const msgpack_object_array *al = &a->aliases->via.array;
	if (put_len(e, al->size, 0))
		return LIN_ENOMEM;
	for (uint32_t i = 0; i < al->size; i++)
		if (put_str(e, lin_slice_of(&al->ptr[i])))
			return LIN_ENOMEM;
	return 0;
}

/* Decode the map into `a`: 0, or -1 when it is not one map. */
static int read_map(struct lin_core_enc *e, const void *mp, size_t n,
		    struct attrs *a)
{
	msgpack_object root;
	size_t off = 0;

	memset(a, 0, sizeof *a);
	if (lin_mp_check(mp, n))
		return -1;
	msgpack_zone_clear(e->zone);
	if (msgpack_unpack(mp, n, &off, e->zone, &root) !=
	    MSGPACK_UNPACK_SUCCESS || off != n ||
	    root.type != MSGPACK_OBJECT_MAP)
		return -1;
	lin_attrs_decode(&root);
	for (uint32_t i = 0; i < root.via.map.size; i++) {
		const msgpack_object_kv *kv = &root.via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR)
			take(a, &kv->key, &kv->val);
	}
	return 0;
}

int lin_core_encode(struct lin_core_enc *e, uint64_t id, const void *mp,
		    size_t n)
{
	unsigned kind = LIN_ID_KIND(id);
	struct attrs a;
	int64_t t = 0, ver = 0;

	if (!e->zone && !(e->zone = msgpack_zone_new(4096)))
		return LIN_ENOMEM;
	e->n = 0;
	if (room(e, LIN_CORE_HEAD + 8))
		return LIN_ENOMEM;
	memset(e->buf, 0, LIN_CORE_HEAD);
	e->buf[0] = (unsigned char)(LIN_CORE_V1 | (kind & 0x0fu));
	e->n = LIN_CORE_HEAD;
	if (read_map(e, mp, n, &a) || !fits(&a, kind)) {
		e->buf[1] = LIN_CORE_FULL;
		return 0;
	}
	unsigned state = kind == LIN_ID_RUN ? state_code(a.state) : 0;
	int timed = int_of(kind == LIN_ID_RUN ? a.time_run : a.time_ver, &t);
	if (kind == LIN_ID_VERSION)
		int_of(a.version, &ver);
	e->buf[1] = (unsigned char)((timed ? LIN_CORE_TIME : 0) |
				    (a.aliases ? LIN_CORE_ALIASES : 0));
	e->buf[2] = (unsigned char)state;
	lin_be32_put(e->buf + 3, (uint32_t)ver);
	if (timed) {
		lin_be64_put(e->buf + e->n, (uint64_t)t);
		e->n += 8;
	}
	return put_strings(e, &a, kind, state);
}

/* Take one length-prefixed string at *p (before `end`): 0, or -1 when
 * it runs past the end. */
static int get_str(const unsigned char **p, const unsigned char *end,
		   struct lin_slice *s)
{
	size_t n;

	if (*p >= end)
		return -1;
	unsigned b = *(*p)++;
	if (b == LEN_ABSENT) {
		s->p = NULL;
		s->n = 0;
		return 0;
	}
	if (b == LEN_LONG) {
		if (end - *p < 4)
			return -1;
		n = lin_be32_get(*p);
		*p += 4;
	} else {
		n = b;
	}
	if ((size_t)(end - *p) < n)
		return -1;
	/* "" keeps a non-NULL pointer so that it reads as present */
	s->p = n ? (const char *)*p : "";
	s->n = n;
	*p += n;
	return 0;
}

static int get_run(struct lin_core *c, const unsigned char **p,
		   unsigned state)
{
	if (get_str(p, c->end, &c->run_id) ||
	    get_str(p, c->end, &c->job_type) ||
	    get_str(p, c->end, &c->git_commit))
		return -1;
	if (state == LIN_CORE_STATE_STR)
		return get_str(p, c->end, &c->state) || !c->state.p ? -1 : 0;
	if (state > NSTATES)
		return -1;
	if (state)
		c->state = (struct lin_slice){ states[state - 1],
					       strlen(states[state - 1]) };
	return 0;
}

static int get_aliases(struct lin_core *c, const unsigned char **p)
{
	struct lin_slice s;

	if (!(c->flags & LIN_CORE_ALIASES))
		return 0;
	if (get_str(p, c->end, &s) || !s.p)
		return -1;
	/* the count is a length whose "string" is not there: step back */
	*p -= s.n;
	c->naliases = (uint32_t)s.n;
	c->aliases = *p;
	for (uint32_t i = 0; i < c->naliases; i++)
		if (get_str(p, c->end, &s) || !s.p)
			return -1;
	return 0;
}

int lin_core_decode(const void *v, size_t n, struct lin_core *c)
{
	const unsigned char *p = v;

	memset(c, 0, sizeof *c);
	if (n < LIN_CORE_HEAD || (p[0] & 0xf0u) != LIN_CORE_V1)
		return LIN_ECORRUPT;
	c->kind = p[0] & 0x0fu;
	c->flags = p[1];
	unsigned state = p[2];
	c->version = lin_be32_get(p + 3);
	c->end = p + n;
	p += LIN_CORE_HEAD;
	if (c->flags & LIN_CORE_FULL)
		return p == c->end ? 0 : LIN_ECORRUPT;
	if (c->kind != LIN_ID_RUN && c->kind != LIN_ID_VERSION)
		return LIN_ECORRUPT;
	if (c->flags & LIN_CORE_TIME) {
		if (c->end - p < 8)
			return LIN_ECORRUPT;
		c->time = (int64_t)lin_be64_get(p);
		p += 8;
	}
	if (get_str(&p, c->end, &c->entity) ||
	    get_str(&p, c->end, &c->project) ||
	    get_str(&p, c->end, &c->name))
		return LIN_ECORRUPT;
	int bad = c->kind == LIN_ID_RUN ? get_run(c, &p, state) :
		  state || get_str(&p, c->end, &c->type) ||
		  get_aliases(c, &p);
	return bad || p != c->end ? LIN_ECORRUPT : 0;
}

int lin_core_alias_next(const struct lin_core *c, const unsigned char **at,
			struct lin_slice *s)
{
	if (!c->aliases || *at >= c->end || !*at)
		return 0;
	if (get_str(at, c->end, s)) {
		*at = c->end;
		return 0;
	}
	return 1;
}

int lin_core_get(MDB_txn *txn, const struct lin_store *s, uint64_t id,
		 struct lin_core *c, struct lin_err *err)
{
	unsigned char k[8];
	MDB_val v;
	int rc = lin_store_get(txn, s, LIN_DB_NODE_CORE, k, lin_key_id(k, id),
			       &v, err);

	if (rc)
		return rc;
	if (lin_core_decode(v.mv_data, v.mv_size, c) ||
	    c->kind != LIN_ID_KIND(id))
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "node %016llx: its core record in the "
				   "store is invalid",
				   (unsigned long long)id);
	return 0;
}

/* The two cursors of lin_core_check, each on its current entry. */
struct pair {
	MDB_cursor *node, *core;
	MDB_val nk, nv, ck, cv;
	int nrc, crc;   /* 0: on an entry; MDB_NOTFOUND: past the end */
};

static uint64_t key_id(const MDB_val *k)
{
	return k->mv_size == 8 ? lin_be64_get(k->mv_data) : 0;
}

/* Compare the node at p->node with the core record at p->core (same
 * key), or report the one of the two that is alone. */
static int compare(struct pair *p, struct lin_core_enc *e,
		   lin_core_report_fn *report, void *ctx, int *step)
{
	int cmp = p->nrc ? 1 : p->crc ? -1 :
		  mdb_cmp(mdb_cursor_txn(p->node), mdb_cursor_dbi(p->node),
			  &p->nk, &p->ck);

	*step = cmp < 0 ? 1 : cmp > 0 ? 2 : 3;
	if (cmp > 0) {
		report(ctx, key_id(&p->ck), "a core record without a node");
		return 0;
	}
	uint64_t id = key_id(&p->nk);
	if (cmp < 0) {
		report(ctx, id, "no core record (node_core)");
		return 0;
	}
	if (p->nk.mv_size != 8)
		return 0;  /* reported as a bad nodes key by check */
	if (lin_core_encode(e, id, p->nv.mv_data, p->nv.mv_size))
		return LIN_ENOMEM;
	if (e->n != p->cv.mv_size || memcmp(e->buf, p->cv.mv_data, e->n))
		report(ctx, id, "core record (node_core) differs from its "
		       "attributes (nodes)");
	return 0;
}

int lin_core_check(MDB_txn *txn, const struct lin_store *s,
		   lin_core_report_fn *report, void *ctx,
		   struct lin_err *err)
{
	struct pair p = { NULL, NULL, { 0, NULL }, { 0, NULL }, { 0, NULL },
			  { 0, NULL }, 0, 0 };
	struct lin_core_enc e = { NULL, NULL, 0, 0 };
	struct lin_order no, co;
	int rc = mdb_cursor_open(txn, s->dbi[LIN_DB_NODES], &p.node);

	memset(&no, 0, sizeof no);
	memset(&co, 0, sizeof co);

	if (rc == 0)
		rc = mdb_cursor_open(txn, s->dbi[LIN_DB_NODE_CORE], &p.core);
	if (rc)
		goto out;
	p.nrc = mdb_cursor_get(p.node, &p.nk, &p.nv, MDB_FIRST);
	p.crc = mdb_cursor_get(p.core, &p.ck, &p.cv, MDB_FIRST);
	while ((p.nrc == 0 || p.crc == 0) && rc == 0) {
		int step;
		if ((p.nrc && p.nrc != MDB_NOTFOUND) ||
		    (p.crc && p.crc != MDB_NOTFOUND)) {
			rc = p.nrc && p.nrc != MDB_NOTFOUND ? p.nrc : p.crc;
			break;
		}
		if ((rc = compare(&p, &e, report, ctx, &step)))
			break;
		if (step & 1)
			p.nrc = mdb_cursor_get(p.node, &p.nk, &p.nv, MDB_NEXT);
		if (step & 2)
			p.crc = mdb_cursor_get(p.core, &p.ck, &p.cv, MDB_NEXT);
		if (((step & 1) && p.nrc == 0 &&
		     (rc = lin_order_next(&no, &p.nk, NULL, LIN_DB_NODES,
					  err))) ||
		    ((step & 2) && p.crc == 0 &&
		     (rc = lin_order_next(&co, &p.ck, NULL, LIN_DB_NODE_CORE,
					  err))))
			break;
	}
	if (rc == 0 && ((p.nrc && p.nrc != MDB_NOTFOUND) ||
			(p.crc && p.crc != MDB_NOTFOUND)))
		rc = p.nrc && p.nrc != MDB_NOTFOUND ? p.nrc : p.crc;
out:
	if (p.node)
		mdb_cursor_close(p.node);
	if (p.core)
		mdb_cursor_close(p.core);
	lin_core_enc_release(&e);
	if (rc == LIN_ENOMEM)
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	if (rc == LIN_ESTORE)  /* an entry out of order: err says so */
		return rc;
	return rc ? lin_store_fail(err, rc, "cannot read node_core") : 0;
}
