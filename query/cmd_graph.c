/* cmd_graph.c - the graph subcommand: the walked subgraph as Graphviz
 * dot, Mermaid or one JSON object, with large sibling groups collapsed. */
#include "internal.h"
#include "unresolved.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_MIN 5  /* siblings of one kind collapsed from this many */

enum gfmt { G_DOT, G_MERMAID, G_JSON };

struct gedge {
	size_t a, b;         /* node indexes, in data-flow direction */
	const char *label;   /* "logged" / "used" */
};

struct graph {
	struct lq *q;
	enum gfmt fmt;
	uint64_t *id;        /* reached nodes, walk order */
	unsigned char *start;
	size_t n, cap;
	uint64_t *sorted;    /* ids sorted, for membership */
	size_t *sorted_ix;
	struct gedge *e;
	size_t ne, ecap;
	size_t *deg;
	long *cluster;       /* cluster number per node, or -1 */
	size_t nclusters;
	struct lin_qnode node;
	/* Uses that never resolved are nodes too, with ids UNRES_TAG | k
	 * (k indexes unres); ulink holds their edges as (run id, k). */
	struct lq_unres_list unres;
	uint64_t *ulink;
	size_t nulink, ulcap;
};

/* Node ids use the low values of the top byte (LIN_ID_*): this tag
 * cannot name a stored node. */
#define UNRES_TAG (0x7full << 56)
#define IS_UNRES(id) (((id) >> 56) == 0x7f)

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

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	void *x = realloc(*p, c * size);
	if (!x)
		return LIN_ENOMEM;
	*p = x;
	*cap = c;
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
			if ((rc = grow((void **)&g->unres.v, &g->unres.cap,
				       g->unres.n, sizeof *g->unres.v)))
				break;
			/* the entry moves over; un keeps no copy */
			g->unres.v[g->unres.n++] = un.v[i];
			memset(&un.v[i], 0, sizeof un.v[i]);
		}
		if ((rc = grow((void **)&g->ulink, &g->ulcap, g->nulink + 1,
			       sizeof *g->ulink)))
			break;
		g->ulink[g->nulink++] = run;
		g->ulink[g->nulink++] = k;
	}
	lq_unres_free(&un);
	return rc;
}

static int collect(struct graph *g, unsigned dir, uint32_t depth,
		   char **roots, int nroots)
{
	struct lq *q = g->q;
	struct lin_walk *w = NULL;
	struct lin_walk_step st;
	struct lin_nbrs nb = { NULL, 0, 0 };
	int rc = lq_walk_new(q, &w, dir, depth);

	for (int i = 0; rc == 0 && i < nroots; i++) {
		uint64_t id;
		rc = lq_resolve_node(q, roots[i], &id);
		if (rc == 0)
			rc = lin_walk_start(w, id, &q->e);
	}
	while (rc == 0 && (rc = lin_walk_next(w, &st, &q->e)) == 1) {
		size_t cap = g->cap;
		rc = grow((void **)&g->id, &cap, g->n, sizeof *g->id);
		if (rc == 0) {
			size_t c2 = g->cap;
			rc = grow((void **)&g->start, &c2, g->n, 1);
		}
		if (rc)
			break;
		g->cap = cap;
		g->id[g->n] = st.node;
		g->start[g->n] = st.depth == 0;
		g->n++;
		if (LIN_ID_KIND(st.node) == LIN_ID_RUN && st.depth < depth)
			rc = add_unres(g, st.node);
	}
	lin_walk_free(w);
	/* the unresolved nodes after the walked ones */
	for (size_t k = 0; rc == 0 && k < g->unres.n; k++) {
		size_t cap = g->cap, c2 = g->cap;
		if ((rc = grow((void **)&g->id, &cap, g->n, sizeof *g->id)) ||
		    (rc = grow((void **)&g->start, &c2, g->n, 1)))
			break;
		g->cap = cap;
		g->id[g->n] = UNRES_TAG | k;
		g->start[g->n] = 0;
		g->n++;
	}
	if (rc)
		return rc == LIN_ENOMEM ? lin_err_set(&q->e, rc, LIN_NO_OFFSET,
						      "out of memory") : rc;
	g->sorted = malloc((g->n + 1) * sizeof *g->sorted);
	g->sorted_ix = malloc((g->n + 1) * sizeof *g->sorted_ix);
	g->deg = calloc(g->n + 1, sizeof *g->deg);
	g->cluster = malloc((g->n + 1) * sizeof *g->cluster);
	if (!g->sorted || !g->sorted_ix || !g->deg || !g->cluster)
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	/* Sort (id, index) pairs: pack the index beside the id. */
	uint64_t *pairs = malloc((g->n + 1) * 2 * sizeof *pairs);
	if (!pairs)
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	for (size_t i = 0; i < g->n; i++) {
		pairs[2 * i] = g->id[i];
		pairs[2 * i + 1] = i;
		g->cluster[i] = -1;
	}
	qsort(pairs, g->n, 2 * sizeof *pairs, cmp_u64);
	for (size_t i = 0; i < g->n; i++) {
		g->sorted[i] = pairs[2 * i];
		g->sorted_ix[i] = (size_t)pairs[2 * i + 1];
	}
	free(pairs);
	/* Every edge is a down edge on its source node: scanning only
	 * those gives each edge of the induced subgraph once. */
	for (size_t i = 0; rc == 0 && i < g->n; i++) {
		nb.n = 0;
		rc = lq_neighbours(q, g->id[i], LIN_EDGE_DOWN_FIRST,
				   lin_walk_last_kind(LIN_WALK_DOWN,
						      q->relogs), &nb);
		for (size_t k = 0; rc == 0 && k < nb.n; k++) {
			long j = index_of(g, nb.v[k].node);
			if (j < 0)
				continue;
			if (grow((void **)&g->e, &g->ecap, g->ne,
				 sizeof *g->e)) {
				rc = lin_err_set(&q->e, LIN_ENOMEM,
						 LIN_NO_OFFSET,
						 "out of memory");
				break;
			}
			g->e[g->ne].a = i;
			g->e[g->ne].b = (size_t)j;
			g->e[g->ne].label = lin_edge_label(nb.v[k].kind);
			g->ne++;
			g->deg[i]++;
			g->deg[j]++;
		}
	}
	lin_nbrs_free(&nb);
	for (size_t k = 0; rc == 0 && k < g->nulink; k += 2) {
		long a = index_of(g, g->ulink[k]);
		long b = index_of(g, UNRES_TAG | g->ulink[k + 1]);
		if (a < 0 || b < 0)
			continue;
		if (grow((void **)&g->e, &g->ecap, g->ne, sizeof *g->e)) {
			rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					 "out of memory");
			break;
		}
		/* data flows from the missing version into the run */
		g->e[g->ne].a = (size_t)b;
		g->e[g->ne].b = (size_t)a;
		g->e[g->ne].label = "used";
		g->ne++;
		g->deg[a]++;
		g->deg[b]++;
	}
	return rc;
}

/* A leaf (one edge, not a start node) grouped by its neighbour, its
 * side of the edge, the edge label and its own kind. */
struct leaf {
	size_t node, other;
	int side;
	const char *label;
	unsigned kind;
};

static int cmp_leaf(const void *x, const void *y)
{
	const struct leaf *a = x, *b = y;
	if (a->other != b->other)
		return a->other < b->other ? -1 : 1;
	if (a->side != b->side)
		return a->side - b->side;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	int c = strcmp(a->label, b->label);
	if (c)
		return c;
	return a->node < b->node ? -1 : a->node > b->node;
}

static int same_group(const struct leaf *a, const struct leaf *b)
{
	return a->other == b->other && a->side == b->side &&
	       a->kind == b->kind && strcmp(a->label, b->label) == 0;
}

static int clusters(struct graph *g)
{
	struct leaf *l = malloc((g->ne + 1) * sizeof *l);
	size_t n = 0;

	if (!l)
		return LIN_ENOMEM;
	for (size_t i = 0; i < g->ne; i++) {
		const struct gedge *e = &g->e[i];
		for (int side = 0; side < 2; side++) {
			size_t c = side ? e->b : e->a, o = side ? e->a : e->b;
			/* unresolved uses stay single: each names its own
			 * missing version and reason */
			if (g->deg[c] != 1 || g->start[c] || c == o ||
			    IS_UNRES(g->id[c]))
				continue;
			l[n].node = c;
			l[n].other = o;
			l[n].side = side;
			l[n].label = e->label;
			l[n].kind = LIN_ID_KIND(g->id[c]);
			n++;
		}
	}
	qsort(l, n, sizeof *l, cmp_leaf);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && same_group(&l[i], &l[j]))
			j++;
		if (j - i >= CLUSTER_MIN) {
			for (size_t k = i; k < j; k++)
				g->cluster[l[k].node] = (long)g->nclusters;
			g->nclusters++;
		}
		i = j;
	}
	free(l);
	return 0;
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
		const struct lq_unres *u = &g->unres.v[g->id[i] & 0xffffffff];
		const char *name = strrchr(u->coll, '/');
		*rc = 0;
		if (asprintf(&s, "%s / %s:%s (unresolved)",
			     u->type ? u->type : "-", name ? name + 1 : u->coll,
			     u->sel) < 0) {
			*rc = lin_err_set(&g->q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					  "out of memory");
			return NULL;
		}
		return s;
	}
	*rc = lin_qnode_load(g->q->txn, &g->q->store, g->id[i], n, &g->q->e);
	if (*rc)
		return NULL;
	if (n->kind == LIN_ID_RUN) {
		struct lin_qstr nm = n->name.p && n->name.n ? n->name :
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
		*rc = lin_err_set(&g->q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				  "out of memory");
		return NULL;
	}
	return s;
}

/* The label of cluster k: "N runs (eval)", "N artifacts (model)". */
static char *cluster_label(struct graph *g, size_t k, int *rc)
{
	struct lin_qnode *n = &g->node;
	size_t count = 0;
	char common[256] = "";
	int mixed = 0, run = 0;
	char *s = NULL;

	*rc = 0;
	for (size_t i = 0; i < g->n; i++) {
		if (g->cluster[i] != (long)k)
			continue;
		if ((*rc = lin_qnode_load(g->q->txn, &g->q->store, g->id[i], n,
					  &g->q->e)))
			return NULL;
		run = n->kind == LIN_ID_RUN;
		struct lin_qstr t = run ? n->job_type : n->type;
		char cur[256];
		snprintf(cur, sizeof cur, "%.*s", t.p ? (int)t.n : 0,
			 t.p ? t.p : "");
		if (count == 0)
			memcpy(common, cur, sizeof common);
		else if (strcmp(common, cur))
			mixed = 1;
		count++;
	}
	if (asprintf(&s, "%zu %s%s%s%s", count, run ? "runs" : "artifacts",
		     mixed || !common[0] ? "" : " (", mixed ? "" : common,
		     mixed || !common[0] ? "" : ")") < 0) {
		*rc = lin_err_set(&g->q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				  "out of memory");
		return NULL;
	}
	return s;
}

/* Name of node i (or of its cluster) in the output. */
static void ref(struct graph *g, size_t i)
{
	FILE *f = g->q->out;

	if (g->fmt == G_MERMAID) {
		if (g->cluster[i] >= 0)
			fprintf(f, "c%ld", g->cluster[i]);
		else
			fprintf(f, "n%zu", i);
		return;
	}
	if (g->cluster[i] >= 0) {
		fprintf(f, "\"cluster:%ld\"", g->cluster[i]);
		return;
	}
	int rc = 0;
	char *id;
	if (IS_UNRES(g->id[i]))
		id = lq_unres_id(&g->unres.v[g->id[i] & 0xffffffff]);
	else if (!(rc = lin_qnode_load(g->q->txn, &g->q->store, g->id[i],
				       &g->node, &g->q->e)))
		id = lin_qnode_id(&g->node, 1);
	if (rc || !id) {
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
	int rc, is_run = LIN_ID_KIND(g->id[i]) == LIN_ID_RUN;
	int unres = IS_UNRES(g->id[i]) && cl < 0;
	char *label = cl >= 0 ? cluster_label(g, (size_t)cl, &rc) :
		      node_label(g, i, &rc);

	if (!label)
		return rc;
	switch (g->fmt) {
	case G_DOT:
		fputs("  ", f);
		ref(g, i);
		fputs(" [label=\"", f);
		label_str(f, G_DOT, label, strlen(label));
		fprintf(f, "\", fillcolor=\"%s\", color=\"%s\"%s%s];\n",
			unres ? GREY_FILL : is_run ? GREEN_FILL : BLUE_FILL,
			unres ? GREY : is_run ? GREEN : BLUE,
			cl >= 0 || unres ? ", style=\"rounded,filled,dashed\""
					 : "",
			g->start[i] && cl < 0 ? ", penwidth=2" : "");
		break;
	case G_MERMAID:
		fputs("  ", f);
		ref(g, i);
		fputs("[\"", f);
		label_str(f, G_MERMAID, label, strlen(label));
		fprintf(f, "\"]:::%s%s\n", unres ? "unresolved" :
			is_run ? "run" : "artifact",
			cl >= 0 ? "Cluster" : "");
		break;
	case G_JSON:
		fputs(first ? "" : ",", f);
		fputs("{\"id\":", f);
		ref(g, i);
		fprintf(f, ",\"kind\":\"%s\"", cl >= 0 ? "cluster" :
			unres ? "unresolved" : is_run ? "run" : "artifact");
		if (cl >= 0)
			fprintf(f, ",\"of\":\"%s\"", is_run ? "run" :
				"artifact");
		if (unres) {
			const struct lq_unres *u =
				&g->unres.v[g->id[i] & 0xffffffff];
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
				long save = g->cluster[k];
				g->cluster[k] = -1;  /* print its own id */
				fputs(m++ ? "," : "", f);
				ref(g, k);
				g->cluster[k] = save;
			}
			putc(']', f);
		} else {
			fprintf(f, ",\"start\":%s", g->start[i] ? "true" :
				"false");
		}
		putc('}', f);
		break;
	}
	free(label);
	return 0;
}

static int emit(struct graph *g)
{
	FILE *f = g->q->out;
	unsigned char *done = calloc(g->nclusters + 1, 1);
	int rc = 0, first = 1;

	if (!done)
		return lin_err_set(&g->q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	if (g->fmt == G_DOT)
		/* One sans-serif face throughout, muted edges so the
		 * coloured boxes carry the picture (W&B's lineage look). */
		fputs("digraph lineage {\n  rankdir=LR;\n"
		      "  graph [fontname=\"Helvetica\", nodesep=0.3, "
		      "ranksep=0.5];\n"
		      "  node [shape=box, style=\"rounded,filled\", "
		      "fontname=\"Helvetica\", fontsize=11];\n"
		      "  edge [fontname=\"Helvetica\", fontsize=9, "
		      "color=\"#6c757d\", fontcolor=\"#6c757d\", "
		      "arrowsize=0.7];\n", f);
	else if (g->fmt == G_MERMAID)
		fputs("flowchart LR\n", f);
	else
		fputs("{\"nodes\":[", f);
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
	memset(done, 0, g->nclusters + 1);
	for (size_t k = 0; rc == 0 && k < g->ne; k++) {
		const struct gedge *e = &g->e[k];
		long cl = g->cluster[e->a] >= 0 ? g->cluster[e->a] :
			  g->cluster[e->b];
		/* A cluster's members share one edge to their neighbour. */
		if (cl >= 0 && done[cl]++)
			continue;
		if (g->fmt == G_JSON) {
			fputs(first ? "{\"from\":" : ",{\"from\":", f);
			ref(g, e->a);
			fputs(",\"to\":", f);
			ref(g, e->b);
			fprintf(f, ",\"edge\":\"%s\"}", e->label);
		} else {
			fputs("  ", f);
			ref(g, e->a);
			if (g->fmt == G_DOT) {
				fputs(" -> ", f);
				ref(g, e->b);
				fprintf(f, " [label=\"%s\"];\n", e->label);
			} else {
				fprintf(f, " -->|%s| ", e->label);
				ref(g, e->b);
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
	return rc;
}

int lq_cmd_graph(struct lq *q, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'F' },
		{ "down", no_argument, NULL, 'd' },
		{ "up", no_argument, NULL, 'u' },
		{ "both", no_argument, NULL, 'b' },
		{ "depth", required_argument, NULL, 'D' },
		{ "explode", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd = "graph", *format = NULL;
	unsigned dir = LIN_WALK_DOWN;
	uint32_t depth = LIN_WALK_ALL;
	int c, rc, explode = 0;
	struct graph g;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hVjF:dubD:x", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'F': format = optarg; continue;
		case 'd': dir = LIN_WALK_DOWN; continue;
		case 'u': dir = LIN_WALK_UP; continue;
		case 'b': dir = LIN_WALK_BOTH; continue;
		case 'x': explode = 1; continue;
		case 'D':
			if (lq_parse_count(optarg, LIN_WALK_ALL, &depth))
				return lq_usage(q, cmd, "bad --depth '%s': "
						"expected a number or 'all'",
						optarg);
			continue;
		}
		int r = lq_common_opt(q, cmd, c, argv);
		if (r >= 0)
			return r;
	}
	memset(&g, 0, sizeof g);
	g.q = q;
	g.fmt = q->json ? G_JSON : G_DOT;
	if (format && strcmp(format, "dot") == 0)
		g.fmt = G_DOT;
	else if (format && strcmp(format, "mermaid") == 0)
		g.fmt = G_MERMAID;
	else if (format && strcmp(format, "json") == 0)
		g.fmt = G_JSON;
	else if (format)
		return lq_usage(q, cmd, "bad --format '%s': expected dot, "
				"mermaid or json", format);
	if (optind == argc)
		return lq_usage(q, cmd, "missing NODE");
	if ((rc = lq_open(q)) != 0)
		return rc;
	lin_qnode_init(&g.node);
	rc = collect(&g, dir, depth, argv + optind, argc - optind);
	if (rc == 0 && !explode && clusters(&g))
		rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				 "out of memory");
	if (rc == 0)
		rc = emit(&g);
	lin_qnode_release(&g.node);
	free(g.id);
	free(g.start);
	free(g.sorted);
	free(g.sorted_ix);
	free(g.e);
	free(g.deg);
	free(g.cluster);
	free(g.ulink);
	lq_unres_free(&g.unres);
	return rc ? lq_fail(q, rc) : LQ_OK;
}
