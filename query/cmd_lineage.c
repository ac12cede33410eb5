/* cmd_lineage.c - the walk subcommands: lineage (a BFS from one or more
 * nodes, with report filters and paging) and path (the shortest
 * producer/consumer chain between two nodes). */
#include "internal.h"
#include "format/grow.h"
#include "unresolved.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct lineage {
	struct lq *q;
	struct lin_table t;
	struct lin_qnode n;
	struct lin_qref from;
	unsigned path;      /* path --all: the path's number (tsv/csv) */
};

/* The tsv/csv columns of walks: the node's, with its depth before and
 * the edge that reached it after. */
static void walk_header(struct lq *q, int paths)
{
	char cols[256];
	snprintf(cols, sizeof cols, "%sdepth,%s,edge,from",
		 paths ? "path," : "", lq_node_cols);
	lq_header(q, cols);
}

/* The id text of the node a step came from (loaded once per parent). */
static int from_id(struct lineage *l, uint64_t node, const char **out)
{
	return lin_qref_get(l->q->txn, &l->q->store, &l->from, node, out,
			    &l->q->e);
}

static int report(struct lineage *l, const struct lin_walk_step *st)
{
	struct lq *q = l->q;
	const char *from = NULL;
	int rc;

	if (st->from && (rc = from_id(l, st->from, &from)))
		return rc;
	if (lq_tabular(q)) {
		if (l->path)
			lq_field_fmt(q, "%u", l->path);
		lq_field_fmt(q, "%u", (unsigned)st->depth);
		lq_fields_node(q, &l->n);
		lq_field_str(q, from ? lin_edge_label(st->edge) : "");
		lq_field_str(q, from ? from : "");
		lq_row_end(q);
		return 0;
	}
	if (q->json) {
		putc('{', q->out);
		lin_json_node_fields(q->out, &l->n);
		fprintf(q->out, ",\"depth\":%u,\"via\":", (unsigned)st->depth);
		if (from) {
			fputs("{\"from\":", q->out);
			lin_json_cstr(q->out, from);
			fprintf(q->out, ",\"edge\":\"%s\"}",
				lin_edge_label(st->edge));
		} else {
			fputs("null", q->out);
		}
		fputs("}\n", q->out);
		return 0;
	}
	lin_table_row(&l->t);
	lin_table_cellf(&l->t, "%u", (unsigned)st->depth);
	lin_table_node(&l->t, &l->n);
	if (from) {
		if (l->n.kind != LIN_ID_RUN)  /* runs have one more column */
			lin_table_cell(&l->t, "");
		lin_table_cellf(&l->t, "via=%s", lin_edge_label(st->edge));
		lin_table_cellf(&l->t, "from=%s", from);
	}
	return 0;
}

/* An unresolved use of run `run` (at depth run_depth), one level
 * further, reached over a "used" edge. */
static int report_unres(struct lineage *l, const struct lq_unres *u,
			uint64_t run, uint32_t depth)
{
	struct lq *q = l->q;
	const char *from = NULL;
	int rc = from_id(l, run, &from);

	if (rc)
		return rc;
	if (lq_tabular(q)) {
		if (l->path)
			lq_field_fmt(q, "%u", l->path);
		lq_field_fmt(q, "%u", (unsigned)depth);
		lq_fields_unres(q, u);
		lq_field_str(q, "used");
		lq_field_str(q, from);
		lq_row_end(q);
		return 0;
	}
	if (q->json) {
		putc('{', q->out);
		lq_unres_json_fields(q->out, u);
		fprintf(q->out, ",\"depth\":%u,\"via\":{\"from\":",
			(unsigned)depth);
		lin_json_cstr(q->out, from);
		fputs(",\"edge\":\"used\"}}\n", q->out);
		return 0;
	}
	lin_table_row(&l->t);
	lin_table_cellf(&l->t, "%u", (unsigned)depth);
	lq_unres_cells(&l->t, u);
	lin_table_cell(&l->t, "via=used");
	lin_table_cellf(&l->t, "from=%s", from);
	return 0;
}

/* Paging over a walk's reported entries: `id` is the entry's id text
 * (taken). 1 when the entry is to be printed now, 0 when not. */
struct pager {
	const char *after;
	int skipping, truncated;
	uint32_t limit;
	uint64_t total, shown;
	char *last;
};

static int page(struct pager *p, char *id)
{
	p->total++;
	if (p->skipping) {
		/* Page after the cursor: the order is stable. */
		if (strcmp(id, p->after) == 0)
			p->skipping = 0;
		free(id);
		return 0;
	}
	if (p->limit && p->shown == p->limit) {
		p->truncated = 1;
		free(id);
		return 0;
	}
	p->shown++;
	free(p->last);
	p->last = id;
	return 1;
}

/* The context of unres_step: one walk's pager, one level. */
struct unres_step {
	struct lineage *l;
	struct pager *pg;
	uint32_t depth;
};

/* An unresolved use of run u->run, one level further than the run. */
static int unres_step(void *ctx, const struct lq_unres *u)
{
	struct unres_step *us = ctx;
	char *id = lq_unres_id(u);

	if (!id)
		return LIN_ENOMEM;
	if (!page(us->pg, id))
		return 0;
	return report_unres(us->l, u, u->run, us->depth + 1);
}

/* The line that ends a walk: its total, what was shown, and the cursor
 * of the next page (`next`, NULL when the walk was not cut). */
static void summary(struct lq *q, const struct pager *pg, const char *next)
{
	if (q->json) {
		fprintf(q->out, "{\"kind\":\"summary\",\"total\":%llu,"
			"\"returned\":%llu,\"truncated\":%s,\"next\":",
			(unsigned long long)pg->total,
			(unsigned long long)pg->shown,
			pg->truncated ? "true" : "false");
		if (next)
			lin_json_cstr(q->out, next);
		else
			fputs("null", q->out);
		fputs("}\n", q->out);
		return;
	}
	/* A table stays a table: its total goes to stderr. */
	FILE *sf = lq_tabular(q) ? q->err : q->out;
	fprintf(sf, "# total=%llu shown=%llu truncated=%s",
		(unsigned long long)pg->total, (unsigned long long)pg->shown,
		pg->truncated ? "yes" : "no");
	if (next) {
		fputs(" next=", sf);
		lin_text_str(sf, next, strlen(next));
	}
	putc('\n', sf);
}

int lq_cmd_lineage(struct lq *q, int argc, char **argv)
{
	struct lin_getopt go;
	const char *cmd = "lineage", *after = NULL;
	struct lq_filter f;
	unsigned dir = LIN_WALK_DOWN;
	uint32_t depth = LIN_WALK_ALL, limit = 0;
	int c, r;

	memset(&f, 0, sizeof f);
	lq_getopt(&go, lq_lineage.opts);
	while ((r = lq_next_opt(q, cmd, &go, argc, argv, &f,
				  &c)) == -1) {
		if (c == 'a') {
			after = optarg;
			continue;
		}
		r = c == 'n' ? lq_parse_limit(q, cmd, optarg, &limit) :
		    lq_walk_opt(q, cmd, c, optarg, &dir, &depth);
		if (r)
			return r;
	}
	if (r >= 0)
		return r;
	if (optind == argc)
		return lq_usage(q, cmd, "missing NODE");
	int rc = lq_open(q);
	if (rc || (rc = lq_filter_check(q, cmd, &f)))
		return rc;

	struct lineage l;
	struct lin_walk *w = NULL;
	struct lin_walk_step st;
	struct pager pg = { after, after != NULL, 0, limit, 0, 0, NULL };
	struct lq_unres_seen seen = { { NULL, NULL, 0, NULL, 0 } };
	char *next = NULL;

	memset(&l, 0, sizeof l);
	l.q = q;
	lin_table_init(&l.t);
	lin_qnode_init(&l.n);
	lin_qref_init(&l.from);
	rc = lq_walk_new(q, &w, dir, depth);
	for (int i = optind; rc == 0 && i < argc; i++) {
		uint64_t id;
		rc = lq_resolve_node(q, argv[i], &id);
		if (rc == 0)
			rc = lin_walk_start(w, id, &q->e);
	}
	if (rc == 0 && lq_tabular(q))
		walk_header(q, 0);
	while (rc == 0 && (rc = lin_walk_next(w, &st, &q->e)) == 1) {
		rc = lq_node_row(q, st.node, &l.n);
		if (rc)
			break;
		int is_run = l.n.kind == LIN_ID_RUN;
		if (lq_wanted(&f, &l.n)) {
			char *id = lin_qnode_id(&l.n, 1);
			if (!id) {
				rc = LIN_ENOMEM;
				break;
			}
			if (page(&pg, id) && (rc = report(&l, &st)))
				break;
		}
		/* A run's uses that never resolved are its inputs too: shown
		 * after it, one level further, whatever the direction. */
		struct unres_step us = { &l, &pg, st.depth };
		if (is_run && st.depth < depth)
			rc = lq_unres_each_new(q, st.node, &seen, &f,
					       unres_step, &us);
	}
	if (rc == 0 && pg.skipping) {
		lin_err_set(&q->e, LIN_ENOTFOUND, LIN_NO_OFFSET,
			    "cursor '%s' is not in this walk", after);
		rc = LIN_ENOTFOUND;
	}
	if (rc == 0 && pg.truncated)
		next = pg.last;
	if (rc == 0 && lin_table_flush(&l.t, q->out))
		rc = LIN_ENOMEM;
	/* Every answer states its total (issue: paging with totals). */
	if (rc == 0)
		summary(q, &pg, next);
	lq_unres_seen_free(&seen);
	free(pg.last);
	lin_table_release(&l.t);
	lin_qnode_release(&l.n);
	lin_qref_release(&l.from);
	lin_walk_free(w);
	return rc ? lq_fail(q, rc) : LQ_OK;
}

/* ---- path ---- */

/* Walk from `a` in direction `dir` until `b`; on success *chain holds the
 * steps from a to b (a first) and *len their number. 0, LIN_ENOTFOUND
 * (b not reached), or an error. */
static int find_path(struct lq *q, uint64_t a, uint64_t b, unsigned dir,
		     struct lin_walk_step **chain, size_t *len)
{
	struct lin_walk *w = NULL;
	struct lin_walk_step st, *seen = NULL;
	size_t n = 0, cap = 0;
	int rc = lq_walk_new(q, &w, dir, LIN_WALK_ALL);

	if (rc == 0)
		rc = lin_walk_start(w, a, &q->e);
	while (rc == 0 && (rc = lin_walk_next(w, &st, &q->e)) == 1) {
		rc = 0;
		if (LIN_GROW(seen, cap, n + 1, 64)) {
			rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					 "out of memory");
			break;
		}
		seen[n++] = st;
		if (st.node == b)
			break;
	}
	lin_walk_free(w);
	if (rc < 0 || n == 0 || seen[n - 1].node != b) {
		free(seen);
		return rc < 0 ? rc : LIN_ENOTFOUND;
	}
	/* Follow `from` back to a: each parent was reported before its
	 * child, so search backwards from the child. */
	size_t k = n - 1, out = 0;
	struct lin_walk_step *path = malloc((seen[k].depth + 1) *
					    sizeof *path);
	if (!path) {
		free(seen);
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	}
	for (;;) {
		path[out++] = seen[k];
		if (!seen[k].from)
			break;
		size_t j = k;
		while (j > 0 && seen[j - 1].node != seen[k].from)
			j--;
		if (j == 0 || out > seen[n - 1].depth)
			break;  /* cannot happen: parents come first */
		k = j - 1;
	}
	for (size_t i = 0; i < out / 2; i++) {
		struct lin_walk_step t = path[i];
		path[i] = path[out - 1 - i];
		path[out - 1 - i] = t;
	}
	free(seen);
	*chain = path;
	*len = out;
	return 0;
}

/* ---- every simple path (path --all) ---- */

#define ALL_MAX_VISITS 1000000u  /* bound on the search itself */

struct allpaths {
	struct lq *q;
	struct lineage *l;
	uint64_t target;
	unsigned dir;
	uint32_t max_len, max_paths;
	struct lin_walk_step *cur;  /* the path being extended */
	size_t len;
	uint32_t found;
	uint64_t visits;
	int truncated;
};

static int emit_path(struct allpaths *p)
{
	struct lq *q = p->q;
	int rc = 0;

	p->found++;
	p->l->path = p->found;
	if (lq_tabular(q))
		;  /* the path column numbers the rows */
	else if (q->json)
		fprintf(q->out, "{\"kind\":\"path\",\"path\":%u,"
			"\"length\":%zu}\n", p->found, p->len - 1);
	else
		fprintf(q->out, "# path %u: %zu edge%s\n", p->found, p->len - 1,
			p->len == 2 ? "" : "s");
	for (size_t i = 0; rc == 0 && i < p->len; i++) {
		rc = lq_node_row(q, p->cur[i].node, &p->l->n);
		if (rc == 0)
			rc = report(p->l, &p->cur[i]);
	}
	if (rc == 0 && lin_table_flush(&p->l->t, q->out))
		rc = LIN_ENOMEM;
	return rc;
}

static int on_path(const struct allpaths *p, uint64_t node)
{
	for (size_t i = 0; i < p->len; i++)
		if (p->cur[i].node == node)
			return 1;
	return 0;
}

/* Depth-first: extend the current path by every neighbour not on it. */
static int extend(struct allpaths *p)
{
	const struct lin_walk_step *last = &p->cur[p->len - 1];
	struct lin_nbrs nb = { 0 };
	int rc;

	if (last->node == p->target)
		return emit_path(p);
	if (p->len - 1 >= p->max_len)
		return 0;
	if (p->found >= p->max_paths || ++p->visits > ALL_MAX_VISITS) {
		p->truncated = 1;
		return 0;
	}
	rc = lq_neighbours(p->q, last->node, lin_walk_first_kind(p->dir),
			   lin_walk_last_kind(p->dir, p->q->relogs), &nb);
	for (size_t i = 0; rc == 0 && i < nb.n; i++) {
		if (on_path(p, nb.v[i].node))
			continue;
		if (p->found >= p->max_paths) {
			p->truncated = 1;
			break;
		}
		struct lin_walk_step st = { nb.v[i].node, last->node,
					    nb.v[i].kind,
					    (uint32_t)p->len };
		p->cur[p->len++] = st;
		rc = extend(p);
		p->len--;
		last = &p->cur[p->len - 1];
	}
	lin_nbrs_free(&nb);
	return rc;
}

static int all_paths(struct lq *q, uint64_t a, uint64_t b, uint32_t max_len,
		     uint32_t max_paths)
{
	struct lineage l;
	struct allpaths p;
	int rc = 0;

	memset(&l, 0, sizeof l);
	l.q = q;
	lin_table_init(&l.t);
	lin_qnode_init(&l.n);
	lin_qref_init(&l.from);
	memset(&p, 0, sizeof p);
	p.q = q;
	p.l = &l;
	p.target = b;
	p.max_len = max_len;
	p.max_paths = max_paths;
	p.cur = calloc((size_t)max_len + 2, sizeof *p.cur);
	if (!p.cur)
		rc = LIN_ENOMEM;
	if (rc == 0 && lq_tabular(q))
		walk_header(q, 1);
	/* FROM upstream of TO first, as for the shortest path */
	for (int d = 0; rc == 0 && d < 2 && p.found == 0; d++) {
		p.dir = d == 0 ? LIN_WALK_DOWN : LIN_WALK_UP;
		p.cur[0] = (struct lin_walk_step){ a, 0, 0, 0 };
		p.len = 1;
		rc = extend(&p);
	}
	if (rc == 0 && q->json)
		fprintf(q->out, "{\"kind\":\"summary\",\"paths\":%u,"
			"\"truncated\":%s}\n", p.found,
			p.truncated ? "true" : "false");
	else if (rc == 0)
		fprintf(lq_tabular(q) ? q->err : q->out,
			"# paths=%u truncated=%s\n", p.found,
			p.truncated ? "yes" : "no");
	free(p.cur);
	lin_table_release(&l.t);
	lin_qnode_release(&l.n);
	lin_qref_release(&l.from);
	return rc;
}

int lq_cmd_path(struct lq *q, int argc, char **argv)
{
	struct lin_getopt go;
	const char *cmd = "path";
	struct lin_walk_step *chain = NULL;
	size_t len = 0;
	uint64_t a, b;
	uint32_t max_len = 12, max_paths = 100;
	int c, r, rc, all = 0;

	lq_getopt(&go, lq_path.opts);
	while ((r = lq_next_opt(q, cmd, &go, argc, argv, NULL,
				  &c)) == -1) {
		switch (c) {
		case 'A': all = 1; continue;
		case 'D':
			if (lq_parse_count(optarg, 0, &max_len) || !max_len ||
			    max_len > 64)
				return lq_usage(q, cmd, "bad --depth '%s': "
						"expected 1 to 64", optarg);
			continue;
		case 'n':
			if ((r = lq_parse_limit(q, cmd, optarg, &max_paths)))
				return r;
			continue;
		}
	}
	if (r >= 0)
		return r;
	if (argc - optind != 2)
		return lq_usage(q, cmd, "expects two NODEs, FROM and TO");
	if ((rc = lq_open(q)) != 0)
		return rc;
	if ((rc = lq_resolve_node(q, argv[optind], &a)) ||
	    (rc = lq_resolve_node(q, argv[optind + 1], &b)))
		return lq_fail(q, rc);
	if (all) {
		rc = all_paths(q, a, b, max_len, max_paths);
		return rc ? lq_fail(q, rc) : LQ_OK;
	}
	/* FROM upstream of TO (downwards) is the usual question; else TO
	 * may be upstream of FROM. */
	rc = find_path(q, a, b, LIN_WALK_DOWN, &chain, &len);
	if (rc == LIN_ENOTFOUND)
		rc = find_path(q, a, b, LIN_WALK_UP, &chain, &len);
	if (rc == LIN_ENOTFOUND) {
		lq_errf(q, "no producer/consumer path between '%s' and '%s'",
			argv[optind], argv[optind + 1]);
		return LQ_OK;
	}
	if (rc)
		return lq_fail(q, rc);

	struct lineage l;
	memset(&l, 0, sizeof l);
	l.q = q;
	lin_table_init(&l.t);
	lin_qnode_init(&l.n);
	lin_qref_init(&l.from);
	if (lq_tabular(q))
		walk_header(q, 0);
	for (size_t i = 0; rc == 0 && i < len; i++) {
		rc = lq_node_row(q, chain[i].node, &l.n);
		if (rc == 0)
			rc = report(&l, &chain[i]);
	}
	if (rc == 0 && lin_table_flush(&l.t, q->out))
		rc = LIN_ENOMEM;
	free(chain);
	lin_table_release(&l.t);
	lin_qnode_release(&l.n);
	lin_qref_release(&l.from);
	return rc ? lq_fail(q, rc) : LQ_OK;
}

/* ---- the commands' options and help ---- */

static const struct lin_opt lineage_opts[] = {
	{ 'd', "down", NULL, "towards consumers: what was made from NODE "
	  "(default)" },
	{ 'u', "up", NULL, "towards producers: what NODE was made from" },
	{ 'b', "both", NULL, "ancestors and descendants" },
	{ 'D', "depth", "N|all", "stop N edges from NODE (default: all)" },
	{ 't', "type", "T", "report only artifacts of type T" },
	{ 'J', "job-type", "J", "report only runs of job type J\n"
	  "(with --type: artifacts of T and runs of J)" },
	{ 'p', "project", "P", "report only nodes in project P (or "
	  "entity/P)" },
	{ 'n', "limit", "N", "report at most N nodes, then a summary" },
	{ 'a', "after", "CURSOR", "continue after the node a summary named" },
	LIN_OPT_END
};

const struct lq_cmd lq_lineage = {
	"lineage", lq_cmd_lineage,
	"lineage NODE... [--down|--up|--both] [--depth N|all]\n"
	"         [--type T] [--job-type J] [--project P]\n"
	"         [--limit N] [--after CURSOR]",
	"walk from NODE: descendants (default), ancestors or both",
	"Breadth-first walk over logged/used edges. Each reached node is\n"
	"reported once with its depth and the edge it was first reached\n"
	"by. Neighbours are visited in node id order, so the order is\n"
	"stable for a given store.\n",
	lineage_opts,
	"Each filter may be repeated or take a comma-separated list\n"
	"(--type model,deployment); a value the store has never seen\n"
	"is an error (exit status 1) naming the nearest ones.\n"
	"Filters choose what is reported, never what is walked.\n"
};

static const struct lin_opt path_opts[] = {
	{ 'A', "all", NULL, "every simple path instead, each after a\n"
	  "'# path K: L edges' line, then a summary" },
	{ 'D', "depth", "N", "with --all: paths of at most N edges (12)" },
	{ 'n', "limit", "N", "with --all: at most N paths (100)" },
	LIN_OPT_END
};

const struct lq_cmd lq_path = {
	"path", lq_cmd_path,
	"path FROM TO [--all [--depth N] [--limit N]]",
	"the shortest producer/consumer chain between two NODEs",
	"Looks downstream from FROM first, then upstream. Prints the chain\n"
	"like lineage does, FROM first; nothing (and a note on stderr)\n"
	"when the two are not connected that way.\n",
	path_opts, NULL
};
