/* asof.c - the as-of view: which nodes and edges of a store existed at
 * a past time. Below the subcommands; asof_cmd.c applies it to them. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- existence ---- */

enum { UNKNOWN = 0, EXISTS = 1, ABSENT = 2 };

struct lq_asof {
	MDB_txn *txn;
	const struct lin_store *s;
	int64_t t;
	uint64_t *key;        /* open addressing; 0 is the empty slot */
	unsigned char *val;   /* EXISTS or ABSENT */
	size_t cap, n;
	struct lin_qnode node;
	msgpack_zone zone;     /* for the fact last read */
	struct lin_edge_filter filter;
};

static size_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	x ^= x >> 33;
	return (size_t)x;
}

static unsigned cache_get(const struct lq_asof *a, uint64_t id)
{
	if (!a->cap)
		return UNKNOWN;
	for (size_t j = mix(id) & (a->cap - 1); a->key[j];
	     j = (j + 1) & (a->cap - 1))
		if (a->key[j] == id)
			return a->val[j];
	return UNKNOWN;
}

static int cache_put(struct lq_asof *a, uint64_t id, unsigned char v)
{
	if ((a->n + 1) * 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		uint64_t *key = calloc(cap, sizeof *key);
		unsigned char *val = calloc(cap, 1);
		if (!key || !val) {
			free(key);
			free(val);
			return LIN_ENOMEM;
		}
		for (size_t i = 0; i < a->cap; i++) {
			if (!a->key[i])
				continue;
			size_t j = mix(a->key[i]) & (cap - 1);
			while (key[j])
				j = (j + 1) & (cap - 1);
			key[j] = a->key[i];
			val[j] = a->val[i];
		}
		free(a->key);
		free(a->val);
		a->key = key;
		a->val = val;
		a->cap = cap;
	}
	size_t j = mix(id) & (a->cap - 1);
	while (a->key[j] && a->key[j] != id)
		j = (j + 1) & (a->cap - 1);
	if (!a->key[j])
		a->n++;
	a->key[j] = id;
	a->val[j] = v;
	return 0;
}

static int edge_keep(void *ctx, uint64_t node, const struct lin_edge *e,
		     struct lin_err *err);

struct lq_asof *lq_asof_new(MDB_txn *txn, const struct lin_store *s,
			    int64_t t)
{
	struct lq_asof *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->txn = txn;
	a->s = s;
	a->t = t;
	lin_qnode_init(&a->node);
	msgpack_zone_init(&a->zone, 1024);
	a->filter.fn = edge_keep;
	a->filter.ctx = a;
	return a;
}

void lq_asof_free(struct lq_asof *a)
{
	if (!a)
		return;
	free(a->key);
	free(a->val);
	lin_qnode_release(&a->node);
	msgpack_zone_destroy(&a->zone);
	free(a);
}

const struct lin_edge_filter *lq_asof_filter(struct lq_asof *a)
{
	return &a->filter;
}

static int64_t obj_int(const msgpack_object *o)
{
	int64_t v;

	return lin_obj_i64(o, &v) ? LIN_QNONE : v;
}

/* The node's "first" attribute's time ([time, path, pos]). */
static int64_t first_attr(const struct lin_qnode *n)
{
	const msgpack_object *m = &n->up.data;

	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		const msgpack_object *v = &m->via.map.ptr[i].val;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 5 &&
		    memcmp(k->via.str.ptr, "first", 5) == 0 &&
		    v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size)
			return obj_int(&v->via.array.ptr[0]);
	}
	return LIN_QNONE;
}

/* When node n came to be: a run's started_at, a version's first
 * logging; LIN_QNONE when unknown. */
int lq_asof_since(MDB_txn *txn, const struct lin_store *s,
		  const struct lin_qnode *n, int64_t *since,
		  struct lin_err *err)
{
	*since = LIN_QNONE;
	if (n->kind == LIN_ID_RUN) {
		*since = n->started_at;
		return 0;
	}
	if (n->coll) {
		struct lin_ver ver;
		int rc = lin_store_coll_ver(txn, s, n->coll,
					    (uint32_t)n->version, &ver, err);
		if (rc && rc != LIN_ENOTFOUND)
			return rc;
		lin_err_clear(err);
		if (rc == 0 && ver.vid == n->id) {
			/* The indexer keys an untimed first log last. */
			if (ver.tkey != UINT64_MAX)
				*since = lin_time_unkey(ver.tkey);
			return 0;
		}
	}
	*since = first_attr(n);
	if (*since == LIN_QNONE)
		*since = n->created_at;
	return 0;
}

int lq_asof_node(struct lq_asof *a, uint64_t id, int *exists,
		 struct lin_err *err)
{
	unsigned c = cache_get(a, id);
	int64_t since;
	int rc;

	if (c != UNKNOWN) {
		*exists = c == EXISTS;
		return 0;
	}
	if ((rc = lin_qnode_load(a->txn, a->s, id, &a->node, err)) ||
	    (rc = lq_asof_since(a->txn, a->s, &a->node, &since, err)))
		return rc;
	*exists = since == LIN_QNONE || since <= a->t;
	if (cache_put(a, id, *exists ? EXISTS : ABSENT))
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	return 0;
}

/* The time of LOG/USE fact `fact` (LIN_QNONE: nil). */
static int fact_time(struct lq_asof *a, uint64_t fact, int64_t *t,
		     struct lin_err *err)
{
	struct lin_fact f;
	int rc;

	msgpack_zone_clear(&a->zone);
	rc = lin_store_fact(a->txn, a->s, fact, &a->zone, &f, err);
	if (rc == LIN_ENOTFOUND)
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "fact %016llx, named by an edge, is "
				   "missing from the store",
				   (unsigned long long)fact);
	if (rc && rc != LIN_ECORRUPT)
		return rc;
	if (rc == 0 && (f.kind == LIN_FACT_LOG || f.kind == LIN_FACT_USE)) {
		/* LIN_TIME_NONE and LIN_QNONE are both INT64_MIN */
		*t = f.time == LIN_TIME_NONE ? LIN_QNONE : f.time;
		return 0;
	}
	return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
			   "fact %016llx, named by an edge, is not a valid "
			   "LOG or USE fact", (unsigned long long)fact);
}

static int edge_keep(void *ctx, uint64_t node, const struct lin_edge *e,
		     struct lin_err *err)
{
	struct lq_asof *a = ctx;
	int64_t t = LIN_QNONE;
	int ok, rc;

	if ((rc = lq_asof_node(a, node, &ok, err)) || !ok ||
	    (rc = lq_asof_node(a, e->other, &ok, err)) || !ok)
		return rc ? rc : 0;
	if ((rc = fact_time(a, e->fact, &t, err)))
		return rc;
	return t == LIN_QNONE || t <= a->t;
}

/* ---- aliases ---- */
