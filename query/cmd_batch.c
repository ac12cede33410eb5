/* cmd_batch.c - impact and provenance: walks from many roots at once,
 * one row per (root, reached node, distance, via). */
#include "internal.h"
#include "unresolved.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 4096  /* longest root line read from --from */

struct batch {
	struct lq *q;
	unsigned dir;
	uint32_t depth;
	struct lq_filter f;
	struct lin_table t;
	struct lin_qnode n;
	struct lin_qref from;
	int unknown;       /* some roots did not resolve */
};

/* One row: the node in b->n reached from `from_node` over `edge` at
 * `depth`, or, with `u`, that unresolved use of run `from_node`. */
static int row(struct batch *b, const char *root, uint32_t depth,
	       uint64_t from_node, const char *edge, const struct lq_unres *u)
{
	struct lq *q = b->q;
	char *id = u ? lq_unres_id(u) : lin_qnode_id(&b->n, 1);
	const char *from = NULL;
	int rc = lin_qref_get(q->txn, &q->store, &b->from, from_node, &from,
			      &q->e);

	if (rc == 0 && !id)
		rc = LIN_ENOMEM;
	if (rc)
		goto out;
	const char *kind = u ? "unresolved" :
			   b->n.kind == LIN_ID_RUN ? "run" : "artifact";
	switch (q->json ? LQ_FMT_JSON : q->fmt) {
	case LQ_FMT_JSON:
		fputs("{\"root\":", q->out);
		lin_json_cstr(q->out, root);
		putc(',', q->out);
		if (u)
			lq_unres_json_fields(q->out, u);
		else
			lin_json_node_fields(q->out, &b->n);
		fprintf(q->out, ",\"distance\":%u,\"via\":{\"from\":",
			(unsigned)depth);
		lin_json_cstr(q->out, from);
		fprintf(q->out, ",\"edge\":\"%s\"}}\n", edge);
		break;
	case LQ_FMT_CSV:
	case LQ_FMT_TSV:
		lq_field_str(q, root);
		lq_field_fmt(q, "%u", (unsigned)depth);
		if (u)
			lq_fields_unres(q, u);
		else
			lq_fields_node(q, &b->n);
		lq_field_str(q, edge);
		lq_field_str(q, from);
		lq_row_end(q);
		break;
	case LQ_FMT_TEXT:
		lin_table_row(&b->t);
		lin_table_cell(&b->t, root);
		lin_table_cellf(&b->t, "%u", (unsigned)depth);
		lin_table_cell(&b->t, kind);
		lin_table_cell(&b->t, id);
		lin_table_cell(&b->t, edge);
		lin_table_cell(&b->t, from);
		if (u)
			lin_table_cellf(&b->t, "(%s)", lq_unres_text(u->why));
		break;
	}
out:
	free(id);
	return rc;
}

/* The context of unres_row: rows of one root at one distance. */
struct unres_rows {
	struct batch *b;
	const char *root;
	uint32_t depth;
};

/* An unresolved use of run u->run: the run's input the archive lacks,
 * one edge further than the run. */
static int unres_row(void *ctx, const struct lq_unres *u)
{
	struct unres_rows *r = ctx;

	return row(r->b, r->root, r->depth + 1, u->run, "used", u);
}

/* Answer one root; unknown roots are reported and counted, not fatal. */
static int one_root(struct batch *b, const char *spec)
{
	struct lq *q = b->q;
	struct lin_walk *w = NULL;
	struct lin_walk_step st;
	struct lq_unres_seen seen = { { NULL, NULL, 0, NULL, 0 } };
	char *root = NULL;
	uint64_t id;
	int rc;

	lin_err_clear(&q->e);
	rc = lq_resolve_node(q, spec, &id);
	if (rc == LIN_ENOTFOUND || rc == LIN_EINVAL) {
		lq_errf(q, "%s", q->e.msg);
		b->unknown = 1;
		return 0;
	}
	if (rc)
		return rc;
	if ((rc = lin_qnode_load_core(q->txn, &q->store, id, &b->n,
				      &q->e)))
		return rc;
	if (!(root = lin_qnode_id(&b->n, 1)))
		return LIN_ENOMEM;
	rc = lq_walk_new(q, &w, b->dir, b->depth);
	if (rc == 0)
		rc = lin_walk_start(w, id, &q->e);
	while (rc == 0 && (rc = lin_walk_next(w, &st, &q->e)) == 1) {
		rc = lq_node_row(q, st.node, &b->n);
		if (rc == 0 && st.depth > 0 && lq_wanted(&b->f, &b->n))
			rc = row(b, root, st.depth, st.from,
				 lin_edge_label(st.edge), NULL);
		struct unres_rows ur = { b, root, st.depth };
		if (rc == 0 && LIN_ID_KIND(st.node) == LIN_ID_RUN &&
		    st.depth < b->depth)
			rc = lq_unres_each_new(q, st.node, &seen, &b->f,
					       unres_row, &ur);
	}
	lq_unres_seen_free(&seen);
	lin_walk_free(w);
	free(root);
	return rc;
}

/* Roots from FILE ("-": stdin), one per line; blank lines and lines
 * starting with '#' are skipped. */
static int roots_from(struct batch *b, const char *file)
{
	struct lq *q = b->q;
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int rc = 0;

	if (!f) {
		lq_errf(q, "cannot open '%s': %s", file, strerror(errno));
		return -LQ_NOINPUT;
	}
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && strchr(" \t\r\n", line[n - 1]))
			line[--n] = '\0';
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		if (n > LINE_MAX_LEN ||
		    strlen(s) != (size_t)(n - (s - line))) {
			lq_errf(q, "%s: line %lu: not a NODE (too long or "
				"contains NUL)", file, lineno);
			b->unknown = 1;
			continue;
		}
		rc = one_root(b, s);
	}
	if (rc == 0 && ferror(f)) {
		lq_errf(q, "cannot read '%s': %s", file, strerror(errno));
		rc = -LQ_IOERR;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* impact's and provenance's options: the same for both. */
static const struct lin_opt batch_opts[] = {
	{ 'f', "from", "FILE", "also read roots (NODEs), one per line; '-' "
	  "is\nstdin; blank and '#' lines are skipped" },
	{ 'F', "format", "FMT", "text (default), tsv, csv or json; tsv and "
	  "csv\nhave a header row and every node column" },
	{ 'D', "depth", "N|all", "stop N edges from each root" },
	{ 't', "type", "T", "report only artifacts of type T" },
	{ 'J', "job-type", "J", "report only runs of job type J" },
	{ 'p', "project", "P", "report only nodes in project P (or "
	  "entity/P)" },
	LIN_OPT_END
};

static int batch_cmd(struct lq *q, const char *cmd, unsigned dir, int argc,
		     char **argv)
{
	struct lin_getopt go;
	struct batch b;
	const char *from = NULL, *format = NULL;
	int c, r, rc;

	memset(&b, 0, sizeof b);
	b.q = q;
	b.dir = dir;
	b.depth = LIN_WALK_ALL;
	lq_getopt(&go, batch_opts);
	while ((r = lq_next_opt(q, cmd, &go, argc, argv, &b.f,
				  &c)) == -1) {
		switch (c) {
		case 'f': from = optarg; continue;
		case 'F': format = optarg; continue;
		case 'D':
			if ((r = lq_parse_depth(q, cmd, optarg, &b.depth)))
				return r;
			continue;
		}
	}
	if (r >= 0)
		return r;
	if (format && lq_format_parse(format, &q->fmt))
		return lq_usage(q, cmd, "bad --format '%s': expected text, "
				"tsv, csv or json", format);
	if (q->fmt == LQ_FMT_JSON)
		q->json = 1;
	if (optind == argc && !from)
		return lq_usage(q, cmd, "missing REF (or --from FILE)");
	if ((rc = lq_open(q)) != 0 || (rc = lq_filter_check(q, cmd, &b.f)))
		return rc;
	lin_table_init(&b.t);
	lin_qnode_init(&b.n);
	lin_qref_init(&b.from);
	if (lq_tabular(q)) {
		char cols[256];
		snprintf(cols, sizeof cols, "root,distance,%s,edge,from",
			 lq_node_cols);
		lq_header(q, cols);
	}
	rc = 0;
	for (int i = optind; rc == 0 && i < argc; i++)
		rc = one_root(&b, argv[i]);
	if (rc == 0 && from)
		rc = roots_from(&b, from);
	if (rc == 0 && lin_table_flush(&b.t, q->out))
		rc = LIN_ENOMEM;
	lin_table_release(&b.t);
	lin_qnode_release(&b.n);
	lin_qref_release(&b.from);
	if (rc <= -LQ_USAGE)  /* an exit status, already printed */
		return -rc;
	if (rc)
		return lq_fail(q, rc);
	return b.unknown ? LQ_NOTFOUND : LQ_OK;
}

int lq_cmd_impact(struct lq *q, int argc, char **argv)
{
	return batch_cmd(q, "impact", LIN_WALK_DOWN, argc, argv);
}

int lq_cmd_provenance(struct lq *q, int argc, char **argv)
{
	return batch_cmd(q, "provenance", LIN_WALK_UP, argc, argv);
}

const struct lq_cmd lq_impact = {
	"impact", lq_cmd_impact,
	"impact REF... [--from FILE|-] [--format text|tsv|csv|json]\n"
	"         [--depth N|all] [--type T] [--job-type J] [--project P]",
	"everything downstream of each root, one row per reached node",
	"Rows are (root, distance, kind, node, edge, from); the root\n"
	"itself is not a row. Unknown roots are reported on stderr and\n"
	"give exit status 1; the others are still answered.\n",
	batch_opts,
	"Filters are repeatable and take comma-separated lists, as in\n"
	"lineage.\n"
};

const struct lq_cmd lq_provenance = {
	"provenance", lq_cmd_provenance,
	"provenance REF... [--from FILE|-] [--format text|tsv|csv|json]\n"
	"         [--depth N|all] [--type T] [--job-type J] [--project P]",
	"everything upstream of each root, one row per reached node",
	"The upstream twin of impact; the same options and rows.\n",
	batch_opts,
	"Filters are repeatable and take comma-separated lists, as in\n"
	"lineage.\n"
};
