/* fold.c - cluster boxes for big graphs (fold.h): groups of nodes are
 * merged by relabelling, level by level, until nothing more folds. */
#include "fold.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct st {
	const struct lq_fold_in *in;
	size_t *grp;       /* representative node of each node's group */
	size_t *size;      /* members, at the representative */
	size_t ngroups;
	/* scratch */
	size_t (*pair)[2];
	size_t npair;
	size_t *rep;       /* representatives being bucketed */
	size_t *to;        /* group each group merges into this pass */
	size_t *adj_at, *adj_n;  /* per node: slice of pair[] */
	int by_class;
};

static int cmp_pair(const void *x, const void *y)
{
	const size_t *a = x, *b = y;
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* The qsort comparators need the state: one fold runs at a time. */
static struct st *cur;

static unsigned key_class(const struct st *s, size_t r)
{
	return s->by_class ? s->in->cls[r] : s->in->is_run[r];
}

static int cmp_rep(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	unsigned ca = key_class(cur, a), cb = key_class(cur, b);
	if (ca != cb)
		return ca < cb ? -1 : 1;
	size_t na = cur->adj_n[a], nb = cur->adj_n[b];
	for (size_t i = 0; i < na && i < nb; i++) {
		size_t u = cur->pair[cur->adj_at[a] + i][1];
		size_t v = cur->pair[cur->adj_at[b] + i][1];
		if (u != v)
			return u < v ? -1 : 1;
	}
	if (na != nb)
		return na < nb ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int same_key(const struct st *s, size_t a, size_t b)
{
	if (key_class(s, a) != key_class(s, b) ||
	    s->adj_n[a] != s->adj_n[b])
		return 0;
	for (size_t i = 0; i < s->adj_n[a]; i++)
		if (s->pair[s->adj_at[a] + i][1] !=
		    s->pair[s->adj_at[b] + i][1])
			return 0;
	return 1;
}

/* Group `from` joins `into`; members are relabelled once per pass
 * (relabel), so a pass stays linear however many groups merge. */
static void merge(struct st *s, size_t into, size_t from)
{
	s->to[from] = into;
	s->size[into] += s->size[from];
	s->ngroups--;
}

static void relabel(struct st *s)
{
	for (size_t i = 0; i < s->in->n; i++)
		s->grp[i] = s->to[s->grp[i]];
}

/* Pairs (group, neighbouring group) over edges: side 0 the producers
 * of each group, side 1 its consumers, side 2 both. */
static void neighbours(struct st *s, int side)
{
	const struct lq_fold_in *in = s->in;
	size_t n = 0;

	for (size_t k = 0; k < in->ne; k++) {
		size_t a = s->grp[in->e[k].a], b = s->grp[in->e[k].b];
		if (a == b)
			continue;
		if (side != 1) {
			s->pair[n][0] = b;
			s->pair[n++][1] = a;
		}
		if (side != 0) {
			s->pair[n][0] = a;
			s->pair[n++][1] = b;
		}
	}
	if (n)
		qsort(s->pair, n, sizeof *s->pair, cmp_pair);
	/* unique */
	size_t m = 0;
	for (size_t k = 0; k < n; k++)
		if (m == 0 || cmp_pair(s->pair[m - 1], s->pair[k]))
			memcpy(s->pair[m++], s->pair[k], sizeof *s->pair);
	s->npair = m;
	for (size_t i = 0; i < in->n; i++)
		s->adj_n[i] = 0;
	for (size_t k = 0; k < m; k++) {
		size_t g = s->pair[k][0];
		if (s->adj_n[g]++ == 0)
			s->adj_at[g] = k;
	}
}

/* One pass: bucket foldable groups by key and merge buckets of at least
 * `min` nodes. With leaves_only, only groups with one neighbour. Returns
 * the number of nodes that joined another group. */
static size_t pass(struct st *s, int side, size_t min, int leaves_only)
{
	const struct lq_fold_in *in = s->in;
	size_t nrep = 0, moved = 0;

	neighbours(s, side);
	for (size_t i = 0; i < in->n; i++)
		s->to[i] = i;
	for (size_t i = 0; i < in->n; i++) {
		if (s->grp[i] != i || in->pinned[i])
			continue;
		/* siblings share a neighbour; the least connected have one
		 * neighbour or none (those fold by kind alone) */
		if (leaves_only ? s->adj_n[i] > 1 : s->adj_n[i] == 0)
			continue;
		s->rep[nrep++] = i;
	}
	cur = s;
	if (nrep)
		qsort(s->rep, nrep, sizeof *s->rep, cmp_rep);
	for (size_t i = 0; i < nrep;) {
		size_t j = i + 1, total = s->size[s->rep[i]];
		while (j < nrep && same_key(s, s->rep[i], s->rep[j]))
			total += s->size[s->rep[j++]];
		if (j - i >= 2 && total >= min) {
			for (size_t k = i + 1; k < j; k++) {
				moved += s->size[s->rep[k]];
				merge(s, s->rep[i], s->rep[k]);
			}
		}
		i = j;
	}
	relabel(s);
	return moved;
}

/* Producers' side, then consumers', until nothing folds. */
static size_t siblings(struct st *s, size_t min)
{
	size_t moved = 0, m;
	do {
		m = pass(s, 0, min, 0);
		m += pass(s, 1, min, 0);
		moved += m;
	} while (m);
	return moved;
}

static int over(const struct st *s)
{
	return s->in->max_boxes && s->ngroups > s->in->max_boxes;
}

int lq_fold(const struct lq_fold_in *in, struct lq_fold_out *out)
{
	struct st s;
	int rc = -1;

	memset(&s, 0, sizeof s);
	s.in = in;
	s.ngroups = in->n;
	s.by_class = 1;
	s.grp = malloc((in->n + 1) * sizeof *s.grp);
	s.size = malloc((in->n + 1) * sizeof *s.size);
	s.rep = malloc((in->n + 1) * sizeof *s.rep);
	s.to = malloc((in->n + 1) * sizeof *s.to);
	s.adj_at = malloc((in->n + 1) * sizeof *s.adj_at);
	s.adj_n = malloc((in->n + 1) * sizeof *s.adj_n);
	s.pair = malloc((2 * in->ne + 1) * sizeof *s.pair);
	if (!s.grp || !s.size || !s.rep || !s.to || !s.adj_at || !s.adj_n || !s.pair)
		goto out;
	for (size_t i = 0; i < in->n; i++) {
		s.grp[i] = i;
		s.size[i] = 1;
	}
	siblings(&s, in->min_group);
	/* The budget: ever smaller sibling groups, then siblings of one
	 * kind whatever their type, then the least connected. */
	for (size_t min = in->min_group; min > 2 && over(&s);)
		out->budget_folds += siblings(&s, --min);
	if (over(&s)) {
		s.by_class = 0;
		out->budget_folds += siblings(&s, 2);
	}
	while (over(&s)) {
		size_t m = pass(&s, 2, 2, 1);
		if (!m)
			break;
		out->budget_folds += m;
	}
	out->over_budget = over(&s);
	out->boxes = s.ngroups;
	/* Number the clusters in node order. */
	for (size_t i = 0; i < in->n; i++)
		s.rep[i] = SIZE_MAX;
	out->nclusters = 0;
	for (size_t i = 0; i < in->n; i++) {
		size_t g = s.grp[i];
		if (s.size[g] < 2) {
			out->cluster[i] = -1;
			continue;
		}
		if (s.rep[g] == SIZE_MAX)
			s.rep[g] = out->nclusters++;
		out->cluster[i] = (long)s.rep[g];
	}
	rc = 0;
out:
	free(s.grp);
	free(s.size);
	free(s.rep);
	free(s.to);
	free(s.adj_at);
	free(s.adj_n);
	free(s.pair);
	return rc;
}
