/* walk.c - breadth-first lineage walks over the `edges` database. */
#include "query.h"
#include "format/grow.h"
#include "query/prefetch.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/resource.h>

const char *lin_edge_label(unsigned kind)
{
	switch (kind) {
	case LIN_EDGE_LOGGED:
	case LIN_EDGE_LOGGED_BY:
		return "logged";
	case LIN_EDGE_USED_BY:
	case LIN_EDGE_USES:
		return "used";
	case LIN_EDGE_RELOGGED:
	case LIN_EDGE_RELOGGED_BY:
		return "relogged";
	}
	return NULL;
}

unsigned lin_walk_last_kind(unsigned dir, int relogs)
{
	if (dir == LIN_WALK_DOWN)
		return relogs ? LIN_EDGE_RELOGGED : LIN_EDGE_USED_BY;
	return relogs ? LIN_EDGE_RELOGGED_BY : LIN_EDGE_USES;
}

void lin_nbrs_free(struct lin_nbrs *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int nbrs_push(struct lin_nbrs *l, uint64_t node, unsigned kind)
{
	if (LIN_GROW(l->v, l->cap, l->n + 1, 16))
		return LIN_ENOMEM;
	l->v[l->n].node = node;
	l->v[l->n].kind = kind;
	l->n++;
	return 0;
}

int lin_walk_neighbours(MDB_txn *txn, const struct lin_store *s,
			uint64_t node, unsigned first_kind,
			unsigned last_kind, struct lin_nbrs *out,
			struct lin_err *err)
{
	return lin_walk_neighbours_filtered(txn, s, node, first_kind,
					    last_kind, NULL, out, err);
}

static int neighbours(struct lin_edges *es, uint64_t node,
		      unsigned first_kind, unsigned last_kind,
		      const struct lin_edge_filter *f, struct lin_nbrs *out,
		      struct lin_err *err);

int lin_walk_neighbours_filtered(MDB_txn *txn, const struct lin_store *s,
				 uint64_t node, unsigned first_kind,
				 unsigned last_kind,
				 const struct lin_edge_filter *f,
				 struct lin_nbrs *out, struct lin_err *err)
{
	struct lin_edges es;
	int rc = lin_edges_open(&es, txn, s, err);

	if (rc)
		return rc;
	rc = neighbours(&es, node, first_kind, last_kind, f, out, err);
	lin_edges_close(&es);
	return rc;
}

/* The work of lin_walk_neighbours_filtered on an open edges iterator,
 * which stays open (a walk reuses one for every node). */
static int neighbours(struct lin_edges *es, uint64_t node,
		      unsigned first_kind, unsigned last_kind,
		      const struct lin_edge_filter *f, struct lin_nbrs *out,
		      struct lin_err *err)
{
	struct lin_edge e, prev = { 0, 0, 0 };
	int have_prev = 0, rc;

	lin_edges_seek(es, node, first_kind, last_kind);
	while ((rc = lin_edges_next(es, &e)) == 1) {
		/* One edge per fact: repeated uses are adjacent duplicates
		 * that differ only in the fact id. `prev` is the last edge
		 * reported, so a duplicate the filter skipped does not hide
		 * a later one it keeps. */
		if (!lin_edge_label(e.kind) ||
		    (have_prev && prev.kind == e.kind &&
		     prev.other == e.other))
			continue;
		int keep = f ? f->fn(f->ctx, node, &e, err) : 1;
		if (keep < 0)
			return keep;
		if (!keep)
			continue;
		unsigned want = e.kind == LIN_EDGE_LOGGED ||
				e.kind == LIN_EDGE_USES ||
				e.kind == LIN_EDGE_RELOGGED ?
				LIN_ID_VERSION : LIN_ID_RUN;
		if (LIN_ID_KIND(e.other) != want)
			return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
					   "edge of node %016llx names node "
					   "%016llx of the wrong kind",
					   (unsigned long long)node,
					   (unsigned long long)e.other);
		if (nbrs_push(out, e.other, e.kind))
			return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
					   "out of memory");
		prev = e;
		have_prev = 1;
	}
	return rc;
}

/* ---- a set of u64 keys (open addressing, 0 is the empty slot) ---- */

struct idset {
	uint64_t *slot;
	size_t cap, n;  /* cap is a power of two */
};

static size_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (size_t)x;
}

/* 1 when added, 0 when already there, LIN_ENOMEM. key must not be 0. */
static int idset_add(struct idset *h, uint64_t key)
{
	if ((h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		uint64_t *slot = calloc(cap, sizeof *slot);
		if (!slot)
			return LIN_ENOMEM;
		for (size_t i = 0; i < h->cap; i++) {
			if (!h->slot[i])
				continue;
			size_t j = mix(h->slot[i]) & (cap - 1);
			while (slot[j])
				j = (j + 1) & (cap - 1);
			slot[j] = h->slot[i];
		}
		free(h->slot);
		h->slot = slot;
		h->cap = cap;
	}
	size_t j = mix(key) & (h->cap - 1);
	while (h->slot[j]) {
		if (h->slot[j] == key)
			return 0;
		j = (j + 1) & (h->cap - 1);
	}
	h->slot[j] = key;
	h->n++;
	return 1;
}

/* ---- the walk ---- */

struct qitem {
	struct lin_walk_step step;
	unsigned dir;  /* directions still to expand from this node */
};

struct lin_walk {
	MDB_txn *txn;
	const struct lin_store *s;
	unsigned dir;
	uint32_t max_depth;
	struct qitem *q;
	size_t head, len, cap;
	struct idset seen;      /* (node, direction) pairs queued */
	struct idset reported;  /* nodes already returned */
	struct lin_nbrs nb;
	uint64_t count;
	const struct lin_edge_filter *filter;
	int relogs;             /* follow re-log edges too */
	struct lin_edges edges; /* opened at the first expand (open) */
	int open;
	/* reading ahead (lin_walk_set_prefetch) */
	enum { PF_OFF, PF_WATCH, PF_ON } pf_state;
	int pf_always;          /* LINEAGE_PREFETCH=always */
	long pf_faults;         /* this thread's major faults at the start */
	uint64_t pf_pops;       /* queue items taken since the start */
	struct lin_prefetch *pf;
	size_t pf_base;         /* queue index of the prefetcher's item 0 */
};

/* Check for disk reads after this many items, then every PF_EVERY. */
#define PF_FIRST 8
#define PF_EVERY 128
/* Major faults that say the store is cold (one may be the program's own
 * code paged in). Warm walks never start helpers: a thread and a reader
 * slot each would only cost there. */
#define PF_COLD 2

/* Node ids name their kind in the low byte with values below 0x40
 * (LIN_ID_*), so the byte's two top bits can tag the direction a node
 * was queued for. */
static uint64_t dir_key(uint64_t node, unsigned dir)
{
	return node | (dir == LIN_WALK_UP ? 0x80u : 0x40u);
}

int lin_walk_new(struct lin_walk **w, MDB_txn *txn,
		 const struct lin_store *s, unsigned dir, uint32_t max_depth,
		 struct lin_err *err)
{
	*w = NULL;
	if (dir < LIN_WALK_DOWN || dir > LIN_WALK_BOTH)
		return lin_err_set(err, LIN_EINVAL, LIN_NO_OFFSET,
				   "bad walk direction %u", dir);
	struct lin_walk *x = calloc(1, sizeof *x);
	if (!x)
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	x->txn = txn;
	x->s = s;
	x->dir = dir;
	x->max_depth = max_depth;
	*w = x;
	return 0;
}

/* The directions a queued node will be expanded in: none at the depth
 * limit (only its core is read then). */
static unsigned expands(const struct lin_walk *w,
			const struct lin_walk_step *st, unsigned dir)
{
	return st->depth < w->max_depth ? dir : 0;
}

static int push(struct lin_walk *w, const struct lin_walk_step *st,
		unsigned dir)
{
	if (LIN_GROW(w->q, w->cap, w->len + 1, 64))
		return LIN_ENOMEM;
	w->q[w->len].step = *st;
	w->q[w->len].dir = dir;
	w->len++;
	/* a dropped item only means one read not made ahead */
	if (w->pf)
		(void)lin_prefetch_add(w->pf, st->node, expands(w, st, dir));
	return 0;
}

/* Major page faults of the calling thread so far. */
static long thread_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_majflt : 0;
}

void lin_walk_set_prefetch(struct lin_walk *w, int on)
{
	enum lin_prefetch_mode m = on ? lin_prefetch_mode() : LIN_PREFETCH_OFF;

	w->pf_state = m == LIN_PREFETCH_OFF ? PF_OFF : PF_WATCH;
	w->pf_always = m == LIN_PREFETCH_ALWAYS;
	if (w->pf_state == PF_WATCH)
		w->pf_faults = thread_faults();
}

/* While watching: when this thread has waited for the disk since the
 * walk began, start the helpers on what is queued and not reached. */
static void watch_faults(struct lin_walk *w)
{
	w->pf_pops++;
	if (w->pf_state == PF_ON) {
		if (w->pf && w->pf_pops % 16 == 0)
			lin_prefetch_reached(w->pf, w->head - w->pf_base);
		return;
	}
	long faults = 0;
	if (!w->pf_always) {
		if (w->pf_pops != PF_FIRST && w->pf_pops % PF_EVERY != 0)
			return;
		faults = thread_faults() - w->pf_faults;
		if (faults < PF_COLD)
			return;
	}
	w->pf_state = PF_ON;  /* once, whether or not helpers start */
	w->pf = lin_prefetch_new(w->s);
	w->pf_base = w->head;
	if (w->pf && lin_prefetch_tracing())
		fprintf(stderr, "prefetch: helpers start at step %llu, %zu "
			"nodes queued, after %ld disk reads\n",
			(unsigned long long)w->pf_pops, w->len - w->head,
			faults);
	for (size_t i = w->head; w->pf && i < w->len; i++)
		(void)lin_prefetch_add(w->pf, w->q[i].step.node,
				       expands(w, &w->q[i].step, w->q[i].dir));
}

/* Queue `node` for direction d unless it was queued for d before. */
static int offer(struct lin_walk *w, const struct lin_walk_step *st,
		 unsigned d)
{
	unsigned todo = 0;
	int rc;

	for (unsigned bit = LIN_WALK_DOWN; bit <= LIN_WALK_UP; bit <<= 1) {
		if (!(d & bit))
			continue;
		rc = idset_add(&w->seen, dir_key(st->node, bit));
		if (rc < 0)
			return rc;
		if (rc)
			todo |= bit;
	}
	return todo ? push(w, st, todo) : 0;
}

void lin_walk_set_filter(struct lin_walk *w,
			 const struct lin_edge_filter *f)
{
	w->filter = f;
}

void lin_walk_set_relogs(struct lin_walk *w, int on)
{
	w->relogs = on;
}

int lin_walk_start(struct lin_walk *w, uint64_t node, struct lin_err *err)
{
	struct lin_walk_step st = { node, 0, 0, 0 };

	if (offer(w, &st, w->dir))
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	return 0;
}

static int by_node(const void *a, const void *b)
{
	const struct lin_nbr *x = a, *y = b;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

static int nbrs_sorted(const struct lin_nbrs *l)
{
	for (size_t i = 1; i < l->n; i++)
		if (by_node(&l->v[i - 1], &l->v[i]) > 0)
			return 0;
	return 1;
}

static int expand(struct lin_walk *w, const struct qitem *it,
		  struct lin_err *err)
{
	int rc;

	for (unsigned bit = LIN_WALK_DOWN; bit <= LIN_WALK_UP; bit <<= 1) {
		if (!(it->dir & bit))
			continue;
		w->nb.n = 0;
		if (!w->open) {
			if ((rc = lin_edges_open(&w->edges, w->txn, w->s,
						 err)))
				return rc;
			w->open = 1;
		}
		rc = neighbours(&w->edges, it->step.node,
				lin_walk_first_kind(bit),
				lin_walk_last_kind(bit, w->relogs),
				w->filter, &w->nb, err);
		if (rc)
			return rc;
		/* Edges of one kind come in node order; with several kinds
		 * (re-logs) they need sorting, so that the order is by node
		 * id whatever the kinds. */
		if (!nbrs_sorted(&w->nb))
			qsort(w->nb.v, w->nb.n, sizeof *w->nb.v, by_node);
		for (size_t i = 0; i < w->nb.n; i++) {
			struct lin_walk_step st = {
				w->nb.v[i].node, it->step.node,
				w->nb.v[i].kind, it->step.depth + 1
			};
			if (offer(w, &st, bit))
				return lin_err_set(err, LIN_ENOMEM,
						   LIN_NO_OFFSET,
						   "out of memory");
		}
	}
	return 0;
}

int lin_walk_next(struct lin_walk *w, struct lin_walk_step *step,
		  struct lin_err *err)
{
	while (w->head < w->len) {
		struct qitem it = w->q[w->head++];
		int rc;

		if (w->pf_state != PF_OFF)
			watch_faults(w);

		if (it.step.depth < w->max_depth) {
			rc = expand(w, &it, err);
			if (rc)
				return rc;
		}
		/* With BOTH, a node on a cycle may be queued once per
		 * direction; report it the first time only. One direction
		 * queues a node once (`seen`), so it needs no second set. */
		if (w->dir == LIN_WALK_BOTH) {
			rc = idset_add(&w->reported, it.step.node);
			if (rc < 0)
				return lin_err_set(err, LIN_ENOMEM,
						   LIN_NO_OFFSET,
						   "out of memory");
			if (rc == 0)
				continue;
		}
		*step = it.step;
		w->count++;
		return 1;
	}
	return 0;
}

uint64_t lin_walk_count(const struct lin_walk *w)
{
	return w->count;
}

void lin_walk_free(struct lin_walk *w)
{
	if (!w)
		return;
	lin_prefetch_free(w->pf);
	if (w->open)
		lin_edges_close(&w->edges);
	free(w->q);
	free(w->seen.slot);
	free(w->reported.slot);
	lin_nbrs_free(&w->nb);
	free(w);
}
