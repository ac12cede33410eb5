/* cmd_graph.c - the graph subcommand: the walked subgraph of some nodes,
 * or a whole project (one box per artifact type and job type, or every
 * node with --explode), as Graphviz dot, Mermaid or one JSON object,
 * folded (fold.h) so that big neighbourhoods stay readable. */
#include "internal.h"
#include "format/grow.h"
#include "fold.h"
#include "unresolved.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_MIN 5     /* siblings of one kind folded from this many */
#define MAX_BOXES 60      /* default --max-nodes */

enum gfmt { G_DOT, G_MERMAID, G_JSON, G_TEXT };

struct gedge {
	size_t a, b;         /* node indexes, in data-flow direction */
	const char *label;   /* "logged" / "used" */
	unsigned via;        /* hidden nodes between a and b (0: direct) */
};

/* A class of nodes: one kind and one type or job type. */
struct gclass {
	char *name;          /* the type or job type, "-" when none */
	int is_run;
	int unres;           /* uses that never resolved, of that type */
	size_t count;
};

struct graph {
	struct lq *q;
	enum gfmt fmt;
	int overview;        /* one box per class */
	uint64_t *id;        /* drawn nodes, walk (or store) order */
	unsigned char *start;
	size_t n, cap;
	uint64_t *sorted;    /* ids sorted, for membership */
	size_t *sorted_ix;
	struct gedge *e;
	size_t ne, ecap;
	unsigned *cls;       /* class of each node */
	struct gclass *classes;
	size_t nclasses, classcap;
	long *cluster;       /* box number per node, or -1: its own box */
	size_t nclusters;
	char **clabel;       /* label per cluster */
	struct lin_qnode node;
	/* Uses that never resolved are nodes too, with ids UNRES_ID(k)
	 * (k indexes unres); ulink holds their edges as (run id, k). */
	struct lq_unres_list unres;
	uint64_t *ulink;
	size_t nulink, ulcap;
};

/* Stored ids name their kind in the low byte with the low LIN_ID_*
 * values: this kind cannot name a stored node. */
#define UNRES_KIND 0x7fu
#define UNRES_ID(k) LIN_ID_MAKE(UNRES_KIND, (uint64_t)(k))
#define IS_UNRES(id) (LIN_ID_KIND(id) == UNRES_KIND)
#define UNRES_OF(g, id) (&(g)->unres.v[(id) >> 8])

static int oom(struct graph *g)
{
	return lin_err_set(&g->q->e, LIN_ENOMEM, LIN_NO_OFFSET,
			   "out of memory");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static long index_of(const struct graph *g, uint64_t id)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (g->sorted[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < g->n && g->sorted[lo] == id ? (long)g->sorted_ix[lo] : -1;
}

static int add_node(struct graph *g, uint64_t id, int start)
{
	/* two arrays of one capacity: both grow alike from g->cap */
	size_t cap = g->cap, c2 = g->cap;
	if (LIN_GROW(g->id, cap, g->n + 1, 64) ||
	    LIN_GROW(g->start, c2, g->n + 1, 64))
		return oom(g);
	g->cap = cap;
	g->id[g->n] = id;
	g->start[g->n] = (unsigned char)start;
	g->n++;
	return 0;
}

/* Note the uses of run `run` that never resolved: one node per
 * collection and selector, one edge from each run that used it. */
static int add_unres(struct graph *g, uint64_t run)
{
	struct lq_unres_list un = { NULL, 0, 0 };
	int rc = lq_unresolved_of_run(g->q, run, &un);

	for (size_t i = 0; rc == 0 && i < un.n; i++) {
		size_t k = 0;
		while (k < g->unres.n &&
		       (strcmp(g->unres.v[k].coll, un.v[i].coll) ||
			strcmp(g->unres.v[k].sel, un.v[i].sel)))
			k++;
		if (k == g->unres.n) {
			if (LIN_GROW(g->unres.v, g->unres.cap,
				     g->unres.n + 1, 64)) {
				rc = oom(g);
				break;
			}
			/* the entry moves over; un keeps no copy */
			g->unres.v[g->unres.n++] = un.v[i];
			memset(&un.v[i], 0, sizeof un.v[i]);
		}
		if (LIN_GROW(g->ulink, g->ulcap, g->nulink + 2, 64)) {
			rc = oom(g);
			break;
		}
		g->ulink[g->nulink++] = run;
		g->ulink[g->nulink++] = k;
	}
	lq_unres_free(&un);
	return rc;
}

/* The unresolved nodes, after the others. */
static int add_unres_nodes(struct graph *g)
{
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < g->unres.n; k++)
		rc = add_node(g, UNRES_ID(k), 0);
	return rc;
}

/* The nodes reached from `roots`. */
static int collect_walk(struct graph *g, unsigned dir, uint32_t depth,
			char **roots, int nroots)
{
	struct lq *q = g->q;
	struct lin_walk *w = NULL;
	struct lin_walk_step st;
	int rc = lq_walk_new(q, &w, dir, depth);

	for (int i = 0; rc == 0 && i < nroots; i++) {
		uint64_t id;
		rc = lq_resolve_node(q, roots[i], &id);
		if (rc == 0)
			rc = lin_walk_start(w, id, &q->e);
	}
	while (rc == 0 && (rc = lin_walk_next(w, &st, &q->e)) == 1) {
		rc = add_node(g, st.node, st.depth == 0);
		if (rc == 0 && LIN_ID_KIND(st.node) == LIN_ID_RUN &&
		    st.depth < depth)
			rc = add_unres(g, st.node);
	}
	lin_walk_free(w);
	if (rc == 0)
		rc = add_unres_nodes(g);
	return rc == LIN_ENOMEM ? oom(g) : rc;
}

struct in_projects {
	struct graph *g;
	struct lq_filter pf;  /* the projects alone */
};

static int add_if_in(struct lq *q, uint64_t id, void *ctx)
{
	struct in_projects *p = ctx;
	int rc = lq_exists(q, id);

	if (rc <= 0 || (rc = lq_node_core(q, id, &p->g->node)))
		return rc;
	if (!lq_wanted(&p->pf, &p->g->node))
		return 0;
	rc = add_node(p->g, id, 0);
	if (rc == 0 && LIN_ID_KIND(id) == LIN_ID_RUN)
		rc = add_unres(p->g, id);
	return rc;
}

/* Every run and version of the projects `f` names (all: every one), as
 * of --as-of. */
static int collect_projects(struct graph *g, const struct lq_filter *f)
{
	struct in_projects p;

	memset(&p, 0, sizeof p);
	p.g = g;
	p.pf.project = f->project;
	int rc = lq_each_id(g->q, add_if_in, &p);
	return rc ? rc : add_unres_nodes(g);
}

static int sort_ids(struct graph *g)
{
	free(g->sorted);
	free(g->sorted_ix);
	g->sorted = malloc((g->n + 1) * sizeof *g->sorted);
	g->sorted_ix = malloc((g->n + 1) * sizeof *g->sorted_ix);
	uint64_t *pairs = malloc((g->n + 1) * 2 * sizeof *pairs);
	if (!g->sorted || !g->sorted_ix || !pairs) {
		free(pairs);
		return oom(g);
	}
	/* Sort (id, index) pairs: pack the index beside the id. */
	for (size_t i = 0; i < g->n; i++) {
		pairs[2 * i] = g->id[i];
		pairs[2 * i + 1] = i;
	}
	qsort(pairs, g->n, 2 * sizeof *pairs, cmp_u64);
	for (size_t i = 0; i < g->n; i++) {
		g->sorted[i] = pairs[2 * i];
		g->sorted_ix[i] = (size_t)pairs[2 * i + 1];
	}
	free(pairs);
	return 0;
}

static int add_edge(struct graph *g, size_t a, size_t b, const char *label,
		    unsigned via)
{
	if (LIN_GROW(g->e, g->ecap, g->ne + 1, 64))
		return oom(g);
	g->e[g->ne++] = (struct gedge){ a, b, label, via };
	return 0;
}

/* The edges among the collected nodes. */
static int collect_edges(struct graph *g)
{
	struct lin_nbrs nb = { NULL, 0, 0 };
	int rc = sort_ids(g);

	/* Every edge is a down edge on its source node: scanning only
	 * those gives each edge of the induced subgraph once. */
	for (size_t i = 0; rc == 0 && i < g->n; i++) {
		nb.n = 0;
		if (IS_UNRES(g->id[i]))
			continue;
		rc = lq_neighbours(g->q, g->id[i], LIN_EDGE_DOWN_FIRST,
				   lin_walk_last_kind(LIN_WALK_DOWN,
						      g->q->relogs), &nb);
		for (size_t k = 0; rc == 0 && k < nb.n; k++) {
			long j = index_of(g, nb.v[k].node);
			if (j >= 0)
				rc = add_edge(g, i, (size_t)j,
					      lin_edge_label(nb.v[k].kind), 0);
		}
	}
	lin_nbrs_free(&nb);
	/* data flows from a missing version into the run that used it */
	for (size_t k = 0; rc == 0 && k < g->nulink; k += 2) {
		long a = index_of(g, g->ulink[k]);
		long b = index_of(g, UNRES_ID(g->ulink[k + 1]));
		if (a >= 0 && b >= 0)
			rc = add_edge(g, (size_t)b, (size_t)a, "used", 0);
	}
	return rc;
}

/* Drop the nodes the type and job-type filters hide (never a start
 * node); two drawn nodes joined through hidden ones get an edge that
 * says how many it passes ("via 1 hidden"). */
static int hide(struct graph *g, const struct lq_filter *f)
{
	unsigned char *keep = calloc(g->n + 1, 1);
	size_t *first = calloc(g->n + 2, sizeof *first), *out = NULL;
	size_t *queue = NULL, *dist = NULL, *newix = NULL;
	struct gedge *old = g->e;
	size_t nold = g->ne;
	int rc = 0;

	if (!keep || !first)
		goto nomem;
	for (size_t i = 0; rc == 0 && i < g->n; i++) {
		if (IS_UNRES(g->id[i]))
			keep[i] = lq_unres_wanted(f, UNRES_OF(g, g->id[i]));
		else if (!(rc = lq_node_core(g->q, g->id[i], &g->node)))
			keep[i] = g->start[i] || lq_wanted(f, &g->node);
	}
	if (rc)
		goto done;
	/* Out-edges per node (CSR), for walks through hidden nodes. */
	out = malloc((nold + 1) * sizeof *out);
	queue = malloc((g->n + 1) * sizeof *queue);
	dist = malloc((g->n + 1) * sizeof *dist);
	newix = malloc((g->n + 1) * sizeof *newix);
	if (!out || !queue || !dist || !newix)
		goto nomem;
	for (size_t k = 0; k < nold; k++)
		first[old[k].a + 1]++;
	for (size_t i = 0; i < g->n; i++)
		first[i + 1] += first[i];
	{
		size_t *fill = queue;  /* borrowed as a cursor per node */
		for (size_t i = 0; i < g->n; i++)
			fill[i] = first[i];
		for (size_t k = 0; k < nold; k++)
			out[fill[old[k].a]++] = k;
	}
	size_t m = 0;
	for (size_t i = 0; i < g->n; i++) {
		newix[i] = keep[i] ? m++ : SIZE_MAX;
		dist[i] = SIZE_MAX;
	}
	g->e = NULL;
	g->ne = g->ecap = 0;
	for (size_t a = 0; rc == 0 && a < g->n; a++) {
		if (!keep[a])
			continue;
		/* Breadth-first from a through hidden nodes only; every
		 * node reached is queued once (kept ones are not expanded),
		 * so resetting dist[] costs what the search cost. */
		size_t qh = 0, qt = 0;
		dist[a] = 0;
		queue[qt++] = a;
		while (rc == 0 && qh < qt) {
			size_t u = queue[qh++];
			if (u != a && keep[u])
				continue;
			for (size_t x = first[u]; rc == 0 && x < first[u + 1];
			     x++) {
				const struct gedge *e = &old[out[x]];
				size_t b = e->b;
				if (dist[b] != SIZE_MAX)
					continue;
				dist[b] = dist[u] + 1;
				/* A path through hidden nodes has no one
				 * edge kind: "path". */
				if (keep[b])
					rc = add_edge(g, newix[a], newix[b],
						      dist[b] > 1 ? "path" :
						      e->label,
						      (unsigned)dist[b] - 1);
				queue[qt++] = b;
			}
		}
		while (qt > 0)
			dist[queue[--qt]] = SIZE_MAX;
	}
	if (rc)
		goto done;
	for (size_t i = 0; i < g->n; i++) {
		if (keep[i]) {
			g->id[newix[i]] = g->id[i];
			g->start[newix[i]] = g->start[i];
		}
	}
	g->n = m;
	rc = sort_ids(g);
	goto done;
nomem:
	rc = oom(g);
done:
	if (g->e != old)
		free(old);
	else if (rc)
		g->e = old;
	free(keep);
	free(first);
	free(out);
	free(queue);
	free(dist);
	free(newix);
	return rc;
}

/* Each node's class (kind and type or job type), and its count. */
static int classify(struct graph *g)
{
	struct lin_qnode *n = &g->node;

	g->cls = malloc((g->n + 1) * sizeof *g->cls);
	if (!g->cls)
		return oom(g);
	for (size_t i = 0; i < g->n; i++) {
		int run = 0, unres = IS_UNRES(g->id[i]);
		struct lin_slice t = { NULL, 0 };
		if (unres) {
			const struct lq_unres *u = UNRES_OF(g, g->id[i]);
			if (u->type)
				t = (struct lin_slice){ u->type,
						       strlen(u->type) };
		} else {
			int rc = lin_qnode_load_core(g->q->txn,
						     &g->q->store,
						     g->id[i], n, &g->q->e);
			if (rc)
				return rc;
			run = n->kind == LIN_ID_RUN;
			t = run ? n->job_type : n->type;
		}
		if (!t.p || !t.n)
			t = (struct lin_slice){ "-", 1 };
		size_t c;
		for (c = 0; c < g->nclasses; c++)
			if (g->classes[c].is_run == run &&
			    g->classes[c].unres == unres &&
			    strlen(g->classes[c].name) == t.n &&
			    memcmp(g->classes[c].name, t.p, t.n) == 0)
				break;
		if (c == g->nclasses) {
			if (LIN_GROW(g->classes, g->classcap,
				     g->nclasses + 1, 64))
				return oom(g);
			g->classes[c].name = strndup(t.p, t.n);
			if (!g->classes[c].name)
				return oom(g);
			g->classes[c].is_run = run;
			g->classes[c].unres = unres;
			g->classes[c].count = 0;
			g->nclasses++;
		}
		g->classes[c].count++;
		g->cls[i] = (unsigned)c;
	}
	return 0;
}

/* Fold (or, for the overview, one box per class); fills the note on
 * what the box budget folded. */
static int fold(struct graph *g, int explode, size_t max_boxes,
		char *note, size_t notesz)
{
	g->cluster = malloc((g->n + 1) * sizeof *g->cluster);
	if (!g->cluster)
		return oom(g);
	note[0] = '\0';
	if (g->overview) {
		for (size_t i = 0; i < g->n; i++)
			g->cluster[i] = (long)g->cls[i];
		g->nclusters = g->nclasses;
		return 0;
	}
	for (size_t i = 0; i < g->n; i++)
		g->cluster[i] = -1;
	if (explode)
		return 0;
	unsigned char *is_run = malloc(g->n + 1), *pinned = malloc(g->n + 1);
	struct lq_fedge *fe = malloc((g->ne + 1) * sizeof *fe);
	struct lq_fold_out fo;
	int rc = 0;
	if (!is_run || !pinned || !fe) {
		rc = oom(g);
		goto out;
	}
	for (size_t i = 0; i < g->n; i++) {
		is_run[i] = LIN_ID_KIND(g->id[i]) == LIN_ID_RUN;
		/* unresolved uses stay single: each names its own missing
		 * version and reason */
		pinned[i] = g->start[i] || IS_UNRES(g->id[i]);
	}
	for (size_t k = 0; k < g->ne; k++)
		fe[k] = (struct lq_fedge){ g->e[k].a, g->e[k].b };
	struct lq_fold_in fi = {
		g->n, g->cls, is_run, pinned, fe, g->ne, CLUSTER_MIN,
		max_boxes
	};
	memset(&fo, 0, sizeof fo);
	fo.cluster = g->cluster;
	if (lq_fold(&fi, &fo)) {
		rc = oom(g);
		goto out;
	}
	g->nclusters = fo.nclusters;
	if (fo.budget_folds || fo.over_budget)
		snprintf(note, notesz, "%zu nodes drawn as %zu box%s; "
			 "--max-nodes %zu folded %zu more nodes%s (--max-nodes"
			 " 0: no limit)", g->n, fo.boxes,
			 fo.boxes == 1 ? "" : "es", max_boxes,
			 fo.budget_folds, fo.over_budget ?
			 " and could not fold enough" : "");
out:
	free(is_run);
	free(pinned);
	free(fe);
	return rc;
}

/* Write s[0..n) for a quoted dot / Mermaid label, or JSON. */
static void label_str(FILE *f, enum gfmt fmt, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			putc(' ', f);
		else if (fmt == G_DOT && (c == '"' || c == '\\'))
			fprintf(f, "\\%c", c);
		else if (fmt == G_MERMAID && c == '"')
			fputs("#quot;", f);
		else
			putc(c, f);
	}
}

/* The label of node i: "type / name:vN" or "job_type / run name". */
static char *node_label(struct graph *g, size_t i, int *rc)
{
	struct lin_qnode *n = &g->node;
	char *s = NULL;
	int r;

	if (IS_UNRES(g->id[i])) {
		const struct lq_unres *u = UNRES_OF(g, g->id[i]);
		const char *name = strrchr(u->coll, '/');
		*rc = 0;
		if (asprintf(&s, "%s / %s:%s (unresolved)",
			     u->type ? u->type : "-", name ? name + 1 : u->coll,
			     u->sel) < 0) {
			*rc = oom(g);
			return NULL;
		}
		return s;
	}
	*rc = lin_qnode_load_core(g->q->txn, &g->q->store, g->id[i], n,
				  &g->q->e);
	if (*rc)
		return NULL;
	if (n->kind == LIN_ID_RUN) {
		struct lin_slice nm = n->name.p && n->name.n ? n->name :
				     n->run_id;
		r = asprintf(&s, "%.*s / %.*s",
			     n->job_type.p ? (int)n->job_type.n : 1,
			     n->job_type.p ? n->job_type.p : "-",
			     (int)nm.n, nm.p);
	} else {
		r = asprintf(&s, "%.*s / %.*s:v%lld",
			     n->type.p ? (int)n->type.n : 1,
			     n->type.p ? n->type.p : "-", (int)n->name.n,
			     n->name.p, (long long)n->version);
	}
	if (r < 0) {
		*rc = oom(g);
		return NULL;
	}
	return s;
}

/* Labels of every cluster: "12 runs (eval)", "3 artifacts" (mixed
 * types); in the overview "train / 4 runs", "model / 3 versions". */
static int cluster_labels(struct graph *g)
{
	size_t *count = calloc(g->nclusters + 1, sizeof *count);
	size_t *one = malloc((g->nclusters + 1) * sizeof *one);
	long *cls = malloc((g->nclusters + 1) * sizeof *cls);
	int rc = 0;

	g->clabel = calloc(g->nclusters + 1, sizeof *g->clabel);
	if (!count || !one || !cls || !g->clabel) {
		rc = oom(g);
		goto out;
	}
	for (size_t k = 0; k < g->nclusters; k++)
		cls[k] = -1;
	for (size_t i = 0; i < g->n; i++) {
		long k = g->cluster[i];
		if (k < 0)
			continue;
		if (count[k]++ == 0)
			one[k] = i;
		if (cls[k] == -1)
			cls[k] = (long)g->cls[i];
		else if (cls[k] != (long)g->cls[i])
			cls[k] = -2;  /* mixed types */
	}
	for (size_t k = 0; rc == 0 && k < g->nclusters; k++) {
		int run = LIN_ID_KIND(g->id[one[k]]) == LIN_ID_RUN;
		const char *t = cls[k] >= 0 ? g->classes[cls[k]].name : NULL;
		int r;
		if (g->overview && g->classes[cls[k]].unres)
			r = asprintf(&g->clabel[k], "%s / %zu unresolved "
				     "use%s", t, count[k],
				     count[k] == 1 ? "" : "s");
		else if (g->overview)
			r = asprintf(&g->clabel[k], "%s / %zu %s%s", t,
				     count[k], run ? "run" : "version",
				     count[k] == 1 ? "" : "s");
		else if (t)
			r = asprintf(&g->clabel[k], "%zu %s (%s)", count[k],
				     run ? "runs" : "artifacts", t);
		else
			r = asprintf(&g->clabel[k], "%zu %s", count[k],
				     run ? "runs" : "artifacts");
		if (r < 0) {
			g->clabel[k] = NULL;
			rc = oom(g);
		}
	}
out:
	free(count);
	free(one);
	free(cls);
	return rc;
}

/* Name of node i's box in the output (its own id, or its cluster's:
 * "cluster:K", in the overview "job_type:NAME" / "type:NAME"). With
 * own set, node i's own id even when it is folded. */
static void ref(struct graph *g, size_t i, int own)
{
	FILE *f = g->q->out;
	long cl = own ? -1 : g->cluster[i];
	char *id = NULL;

	if (g->fmt == G_MERMAID) {
		if (cl >= 0)
			fprintf(f, "c%ld", cl);
		else
			fprintf(f, "n%zu", i);
		return;
	}
	if (cl >= 0 && g->overview) {
		const struct gclass *c = &g->classes[cl];
		if (asprintf(&id, "%s:%s", c->unres ? "unresolved_type" :
			     c->is_run ? "job_type" : "type", c->name) < 0)
			id = NULL;
	} else if (cl >= 0) {
		if (asprintf(&id, "cluster:%ld", cl) < 0)
			id = NULL;
	} else if (IS_UNRES(g->id[i])) {
		id = lq_unres_id(UNRES_OF(g, g->id[i]));
	} else if (lin_qnode_load_core(g->q->txn, &g->q->store, g->id[i],
				       &g->node, &g->q->e) == 0) {
		id = lin_qnode_id(&g->node, 1);
	}
	if (!id) {
		fputs("\"?\"", f);
		return;
	}
	if (g->fmt == G_JSON) {
		lin_json_cstr(f, id);
	} else {
		putc('"', f);
		label_str(f, G_DOT, id, strlen(id));
		putc('"', f);
	}
	free(id);
}

static const char *const BLUE_FILL = "#cfe2ff", *const BLUE = "#1f5fbf";
static const char *const GREEN_FILL = "#d4edda", *const GREEN = "#2e7d32";
static const char *const GREY_FILL = "#eeeeee", *const GREY = "#6c757d";

static int emit_node(struct graph *g, size_t i, long cl, int first)
{
	FILE *f = g->q->out;
	int rc = 0, is_run = LIN_ID_KIND(g->id[i]) == LIN_ID_RUN;
	/* unresolved uses: grey and dashed, alone or as an overview box */
	int unres = IS_UNRES(g->id[i]);
	int dashed = (cl >= 0 && !g->overview) || unres;
	char *own = cl >= 0 ? NULL : node_label(g, i, &rc);
	const char *label = cl >= 0 ? g->clabel[cl] : own;

	if (!label)
		return rc;
	switch (g->fmt) {
	case G_DOT:
		fputs("  ", f);
		ref(g, i, 0);
		fputs(" [label=\"", f);
		label_str(f, G_DOT, label, strlen(label));
		fprintf(f, "\", fillcolor=\"%s\", color=\"%s\"%s%s];\n",
			unres ? GREY_FILL : is_run ? GREEN_FILL : BLUE_FILL,
			unres ? GREY : is_run ? GREEN : BLUE,
			dashed ? ", style=\"rounded,filled,dashed\"" : "",
			g->start[i] && cl < 0 ? ", penwidth=2" : "");
		break;
	case G_MERMAID:
		fputs("  ", f);
		ref(g, i, 0);
		fputs("[\"", f);
		label_str(f, G_MERMAID, label, strlen(label));
		fprintf(f, "\"]:::%s%s\n", unres ? "unresolved" :
			is_run ? "run" : "artifact",
			cl >= 0 && !g->overview ? "Cluster" : "");
		break;
	case G_TEXT:  /* emit_text() writes text */
		break;
	case G_JSON:
		fputs(first ? "" : ",", f);
		fputs("{\"id\":", f);
		ref(g, i, 0);
		if (g->overview && cl >= 0)
			fprintf(f, ",\"kind\":\"%s\",\"name\":",
				unres ? "unresolved_type" :
				is_run ? "job_type" : "type");
		if (g->overview && cl >= 0)
			lin_json_cstr(f, g->classes[cl].name);
		else
			fprintf(f, ",\"kind\":\"%s\"", cl >= 0 ? "cluster" :
				unres ? "unresolved" : is_run ? "run" :
				"artifact");
		if (cl >= 0)
			fprintf(f, ",\"of\":\"%s\"", unres ? "unresolved" :
				is_run ? "run" : "artifact");
		if (unres && cl < 0) {
			const struct lq_unres *u = UNRES_OF(g, g->id[i]);
			fputs(",\"ref\":", f);
			lin_json_cstr(f, u->ref);
			fprintf(f, ",\"reason\":\"%s\"",
				lq_unres_code(u->why));
		}
		fputs(",\"label\":", f);
		lin_json_cstr(f, label);
		if (cl >= 0) {
			fputs(",\"members\":[", f);
			int m = 0;
			for (size_t k = 0; k < g->n; k++) {
				if (g->cluster[k] != cl)
					continue;
				fputs(m++ ? "," : "", f);
				ref(g, k, 1);
			}
			putc(']', f);
		} else {
			fprintf(f, ",\"start\":%s", g->start[i] ? "true" :
				"false");
		}
		putc('}', f);
		break;
	}
	free(own);
	return 0;
}

/* One drawn edge between boxes, with how many node edges it stands
 * for. */
struct bedge {
	size_t a, b;         /* box numbers: node index or n + cluster */
	size_t na, nb;       /* a node of each box, for ref() */
	const char *label;
	unsigned via;
	size_t count, order;
};

static int cmp_bedge(const void *x, const void *y)
{
	const struct bedge *p = x, *q = y;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	if (p->via != q->via)
		return p->via < q->via ? -1 : 1;
	int c = strcmp(p->label, q->label);
	if (c)
		return c;
	return p->order < q->order ? -1 : p->order > q->order;
}

static int cmp_order(const void *x, const void *y)
{
	const struct bedge *p = x, *q = y;
	return p->order < q->order ? -1 : p->order > q->order;
}

/* The edges between boxes in first-seen order, merged with counts. */
static struct bedge *box_edges(struct graph *g, size_t *nout)
{
	struct bedge *be = malloc((g->ne + 1) * sizeof *be);
	size_t m = 0;

	if (!be)
		return NULL;
	for (size_t k = 0; k < g->ne; k++) {
		const struct gedge *e = &g->e[k];
		long ca = g->cluster[e->a], cb = g->cluster[e->b];
		be[k] = (struct bedge){
			ca >= 0 ? g->n + (size_t)ca : e->a,
			cb >= 0 ? g->n + (size_t)cb : e->b,
			e->a, e->b, e->label, e->via, 1, k
		};
	}
	if (g->ne)
		qsort(be, g->ne, sizeof *be, cmp_bedge);
	for (size_t k = 0; k < g->ne; k++) {
		if (m && be[m - 1].a == be[k].a && be[m - 1].b == be[k].b &&
		    be[m - 1].via == be[k].via &&
		    !strcmp(be[m - 1].label, be[k].label)) {
			be[m - 1].count++;
			continue;
		}
		be[m++] = be[k];
	}
	if (m)
		qsort(be, m, sizeof *be, cmp_order);
	*nout = m;
	return be;
}

/* "used", "used (3)", "via 1 hidden". */
static void edge_label(char *buf, size_t n, const struct bedge *e)
{
	int len = e->via ? snprintf(buf, n, "via %u hidden", e->via) :
		  snprintf(buf, n, "%s", e->label);
	if (e->count > 1 && len > 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, " (%zu)", e->count);
}

/* The label of node i's box (its own, or its cluster's); the caller
 * frees it. */
static char *box_label(struct graph *g, size_t i, int *rc)
{
	long cl = g->cluster[i];
	char *s;

	if (cl < 0)
		return node_label(g, i, rc);
	*rc = 0;
	if (!(s = strdup(g->clabel[cl])))
		*rc = oom(g);
	return s;
}

/* Text: one aligned line per drawn edge, "FROM  --label-->  TO", then
 * the boxes with no edge, each alone. */
static int emit_text(struct graph *g, const struct bedge *be, size_t nbe,
		     const char *note)
{
	struct lin_table t;
	unsigned char *linked = calloc(g->n + g->nclusters + 1, 1);
	unsigned char *shown = calloc(g->n + g->nclusters + 1, 1);
	char lab[128];
	int rc = 0;

	if (!linked || !shown) {
		free(linked);
		free(shown);
		return oom(g);
	}
	if (*note)
		fprintf(g->q->out, "# %s\n", note);
	lin_table_init(&t);
	for (size_t k = 0; rc == 0 && k < nbe; k++) {
		char *a = box_label(g, be[k].na, &rc), *b = NULL;
		if (a)
			b = box_label(g, be[k].nb, &rc);
		if (a && b) {
			edge_label(lab, sizeof lab, &be[k]);
			lin_table_row(&t);
			lin_table_cell(&t, a);
			lin_table_cellf(&t, "--%s-->", lab);
			lin_table_cell(&t, b);
			linked[be[k].a] = linked[be[k].b] = 1;
		}
		free(a);
		free(b);
	}
	for (size_t i = 0; rc == 0 && i < g->n; i++) {
		long cl = g->cluster[i];
		size_t box = cl >= 0 ? g->n + (size_t)cl : i;
		if (linked[box] || shown[box])
			continue;
		shown[box] = 1;
		char *a = box_label(g, i, &rc);
		if (a) {
			lin_table_row(&t);
			lin_table_cell(&t, a);
		}
		free(a);
	}
	if (rc == 0 && lin_table_flush(&t, g->q->out))
		rc = oom(g);
	lin_table_release(&t);
	free(linked);
	free(shown);
	return rc;
}

static int emit(struct graph *g, const char *note)
{
	FILE *f = g->q->out;
	unsigned char *done = calloc(g->nclusters + 1, 1);
	size_t nbe = 0;
	struct bedge *be = box_edges(g, &nbe);
	int rc = 0, first = 1;
	char lab[128];

	if (!done || !be) {
		free(done);
		free(be);
		return oom(g);
	}
	if (g->fmt == G_TEXT) {
		rc = emit_text(g, be, nbe, note);
		free(done);
		free(be);
		return rc;
	}
	if (g->fmt == G_DOT) {
		/* One sans-serif face throughout, muted edges so the
		 * coloured boxes carry the picture (W&B's lineage look). */
		fputs("digraph lineage {\n", f);
		if (*note)
			fprintf(f, "  // %s\n", note);
		fputs("  rankdir=LR;\n"
		      "  graph [fontname=\"Helvetica\", nodesep=0.3, "
		      "ranksep=0.5];\n"
		      "  node [shape=box, style=\"rounded,filled\", "
		      "fontname=\"Helvetica\", fontsize=11];\n"
		      "  edge [fontname=\"Helvetica\", fontsize=9, "
		      "color=\"#6c757d\", fontcolor=\"#6c757d\", "
		      "arrowsize=0.7];\n", f);
	} else if (g->fmt == G_MERMAID) {
		fputs("flowchart LR\n", f);
		if (*note)
			fprintf(f, "  %%%% %s\n", note);
	} else {
		fputs("{", f);
		if (*note) {
			fputs("\"note\":", f);
			lin_json_cstr(f, note);
			putc(',', f);
		}
		fputs("\"nodes\":[", f);
	}
	for (size_t i = 0; rc == 0 && i < g->n; i++) {
		long cl = g->cluster[i];
		if (cl >= 0 && done[cl])
			continue;
		if (cl >= 0)
			done[cl] = 1;
		rc = emit_node(g, i, cl, first);
		first = 0;
	}
	if (g->fmt == G_JSON)
		fputs("],\"edges\":[", f);
	first = 1;
	for (size_t k = 0; rc == 0 && k < nbe; k++) {
		const struct bedge *e = &be[k];
		edge_label(lab, sizeof lab, e);
		if (g->fmt == G_JSON) {
			fputs(first ? "{\"from\":" : ",{\"from\":", f);
			ref(g, e->na, 0);
			fputs(",\"to\":", f);
			ref(g, e->nb, 0);
			fprintf(f, ",\"edge\":\"%s\"", e->label);
			if (e->via)
				fprintf(f, ",\"via_hidden\":%u", e->via);
			if (e->count > 1)
				fprintf(f, ",\"count\":%zu", e->count);
			putc('}', f);
		} else {
			fputs("  ", f);
			ref(g, e->na, 0);
			if (g->fmt == G_DOT) {
				fputs(" -> ", f);
				ref(g, e->nb, 0);
				fprintf(f, " [label=\"%s\"%s];\n", lab,
					e->via ? ", style=dashed" : "");
			} else {
				fprintf(f, " %s|%s| ", e->via ? "-.->" : "-->",
					lab);
				ref(g, e->nb, 0);
				putc('\n', f);
			}
		}
		first = 0;
	}
	if (g->fmt == G_DOT)
		fputs("}\n", f);
	else if (g->fmt == G_MERMAID)
		fprintf(f, "  classDef artifact fill:%s,stroke:%s\n"
			"  classDef run fill:%s,stroke:%s\n"
			"  classDef artifactCluster fill:%s,stroke:%s,"
			"stroke-dasharray:5 5\n"
			"  classDef runCluster fill:%s,stroke:%s,"
			"stroke-dasharray:5 5\n",
			BLUE_FILL, BLUE, GREEN_FILL, GREEN, BLUE_FILL, BLUE,
			GREEN_FILL, GREEN);
	else
		fputs("]}\n", f);
	if (g->fmt == G_MERMAID && g->unres.n)
		fprintf(f, "  classDef unresolved fill:%s,stroke:%s,"
			"stroke-dasharray:5 5\n", GREY_FILL, GREY);
	free(done);
	free(be);
	return rc;
}

static void graph_release(struct graph *g)
{
	lin_qnode_release(&g->node);
	free(g->id);
	free(g->start);
	free(g->sorted);
	free(g->sorted_ix);
	free(g->e);
	free(g->cls);
	for (size_t c = 0; c < g->nclasses; c++)
		free(g->classes[c].name);
	free(g->classes);
	for (size_t k = 0; g->clabel && k < g->nclusters; k++)
		free(g->clabel[k]);
	free(g->clabel);
	free(g->cluster);
	free(g->ulink);
	lq_unres_free(&g->unres);
}

static const struct lin_opt graph_opts[] = {
	{ 'F', "format", "FMT", "dot (default), mermaid, json (also --json)"
	  "\nor text (one 'A --edge--> B' line per edge)" },
	{ 'd', "down", NULL, "towards consumers (default), as in lineage" },
	{ 'u', "up", NULL, "towards producers" },
	{ 'b', "both", NULL, "ancestors and descendants" },
	{ 'D', "depth", "N|all", "stop N edges from NODE" },
	{ 'm', "max-nodes", "N", "at most about N boxes (60; 0: no limit)" },
	{ 'x', "explode", NULL, "with NODE: never fold; without: every node" },
	{ 't', "type", "T", "draw only artifacts of T (and the start\n"
	  "nodes); nodes joined through hidden ones get\n"
	  "a dashed 'via N hidden' edge" },
	{ 'J', "job-type", "J", "draw only runs of J, as --type" },
	{ 'p', "project", "P", "with NODE: draw only nodes of P; without:\n"
	  "the projects to draw" },
	{ 'A', "all", NULL, "every project" },
	LIN_OPT_END
};

int lq_cmd_graph(struct lq *q, int argc, char **argv)
{
	struct lin_getopt go;
	const char *cmd = "graph", *format = NULL;
	unsigned dir = LIN_WALK_DOWN;
	uint32_t depth = LIN_WALK_ALL, max_nodes = MAX_BOXES;
	int c, r, rc, explode = 0, all = 0;
	struct lq_filter f;
	struct graph g;
	char note[256];

	memset(&f, 0, sizeof f);
	lq_getopt(&go, graph_opts);
	while ((r = lq_next_opt(q, cmd, &go, argc, argv, &f,
				  &c)) == -1) {
		switch (c) {
		case 'F': format = optarg; continue;
		case 'x': explode = 1; continue;
		case 'A': all = 1; continue;
		case 'm':
			if (lq_parse_count(optarg, 0, &max_nodes))
				return lq_usage(q, cmd, "bad --max-nodes '%s':"
						" expected a number (0: no "
						"limit)", optarg);
			continue;
		}
		if ((r = lq_walk_opt(q, cmd, c, optarg, &dir, &depth)))
			return r;
	}
	if (r >= 0)
		return r;
	memset(&g, 0, sizeof g);
	g.q = q;
	g.fmt = q->json ? G_JSON : G_DOT;
	if (format && strcmp(format, "dot") == 0)
		g.fmt = G_DOT;
	else if (format && strcmp(format, "mermaid") == 0)
		g.fmt = G_MERMAID;
	else if (format && strcmp(format, "json") == 0)
		g.fmt = G_JSON;
	else if (format && strcmp(format, "text") == 0)
		g.fmt = G_TEXT;
	else if (format)
		return lq_usage(q, cmd, "bad --format '%s': expected dot, "
				"mermaid, json or text", format);
	/* No NODE: the overview of the projects --project names, or of
	 * every project with --all. */
	int projects = optind == argc;
	if (projects && !all && !f.project.n)
		return lq_usage(q, cmd, "missing NODE (or --project P, or "
				"--all)");
	if (!projects && all)
		return lq_usage(q, cmd, "--all draws every project: give "
				"no NODE with it");
	q->scans = projects;
	if ((rc = lq_open(q)) != 0 || (rc = lq_filter_check(q, cmd, &f)))
		return rc;
	lin_qnode_init(&g.node);
	g.overview = projects && !explode;
	rc = projects ? collect_projects(&g, &f) :
	     collect_walk(&g, dir, depth, argv + optind, argc - optind);
	if (rc == 0)
		rc = collect_edges(&g);
	if (rc == 0 && (f.type.n || f.job_type.n ||
			(!projects && f.project.n)))
		rc = hide(&g, &f);
	if (rc == 0)
		rc = classify(&g);
	/* Explode means every node in the overview, folded as usual; on
	 * a node's graph it means no folding at all. */
	if (rc == 0)
		rc = fold(&g, explode && !projects, max_nodes, note,
			  sizeof note);
	if (rc == 0)
		rc = cluster_labels(&g);
	if (rc == 0)
		rc = emit(&g, note);
	if (rc == 0 && *note)
		lq_errf(q, "graph: %s", note);
	graph_release(&g);
	return rc ? lq_fail(q, rc) : LQ_OK;
}

const struct lq_cmd lq_graph = {
	"graph", lq_cmd_graph,
	"graph NODE... [--format dot|mermaid|json|text] [--down|--up|--both]"
	"\n"
	"         [--depth N|all] [--max-nodes N] [--explode]\n"
	"         [--type T] [--job-type J] [--project P]\n"
	"       graph --project P|--all [--explode] [--format ...]",
	"the walked subgraph, or a project's pipeline, as a picture",
	"Artifacts are blue boxes 'type / name:vN', runs green boxes\n"
	"'job_type / run name'; edges point the way data flows.\n"
	"Siblings (nodes of one kind and type or job type with the same\n"
	"producers, or the same consumers) fold into one dashed box once\n"
	"there are five ('12 runs (eval)'), at any depth: when 39 train\n"
	"runs fold, their 39 models fold too. An edge drawn for several\n"
	"is labelled with their number ('used (39)'). Beyond --max-nodes\n"
	"boxes, smaller sibling groups, siblings of mixed types and nodes\n"
	"with one neighbour fold as well, and a note on stderr (and in\n"
	"the output) says so.\n\n"
	"Without NODE, --project P (repeatable) or --all draws the\n"
	"pipeline overview: one box per job type ('train / 4 runs') and\n"
	"per artifact type ('model / 3 versions'), an edge where runs of\n"
	"that job type logged or used versions of that type, labelled\n"
	"with how many did. --explode draws every run and artifact of\n"
	"the projects instead, folded as above.\n",
	graph_opts, NULL
};
