/* table.c - --format tsv and csv: one header row, then one row per node
 * or edge with the same columns everywhere, for spreadsheets and awk.
 *
 * CSV follows RFC 4180's quoting: a field holding a comma, a double
 * quote, CR or LF is quoted, quotes doubled; lines end with LF. TSV
 * fields never hold a tab or a line break: those, and backslash, are
 * written \t, \n, \r and \\ (the convention of PostgreSQL's text
 * format and most TSV readers). */
#include "internal.h"
#include "unresolved.h"

#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int lq_format_parse(const char *s, enum lq_fmt *out)
{
	static const char *const names[] = { "text", "tsv", "csv", "json" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum lq_fmt)i;
			return 0;
		}
	}
	return -1;
}

int lq_tabular(const struct lq *q)
{
	/* --json anywhere wins over --format */
	return !q->json && (q->fmt == LQ_FMT_TSV || q->fmt == LQ_FMT_CSV);
}

static void sep(struct lq *q)
{
	if (q->row_fields++)
		putc(q->fmt == LQ_FMT_CSV ? ',' : '\t', q->out);
}

void lq_field(struct lq *q, const char *p, size_t n)
{
	FILE *f = q->out;

	sep(q);
	if (!p)
		return;
	if (q->fmt == LQ_FMT_TSV) {
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			if (c == '\t')
				fputs("\\t", f);
			else if (c == '\n')
				fputs("\\n", f);
			else if (c == '\r')
				fputs("\\r", f);
			else if (c == '\\')
				fputs("\\\\", f);
			else
				putc(c, f);
		}
		return;
	}
	int quote = 0;
	for (size_t i = 0; i < n && !quote; i++)
		quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' ||
			p[i] == '\n';
	if (!quote) {
		fwrite(p, 1, n, f);
		return;
	}
	putc('"', f);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"')
			putc('"', f);
		putc(p[i], f);
	}
	putc('"', f);
}

void lq_field_str(struct lq *q, const char *s)
{
	lq_field(q, s, s ? strlen(s) : 0);
}

void lq_field_q(struct lq *q, struct lin_slice s)
{
	lq_field(q, s.p, s.p ? s.n : 0);
}

void lq_field_fmt(struct lq *q, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	lq_field_str(q, buf);
}

void lq_row_end(struct lq *q)
{
	putc('\n', q->out);
	q->row_fields = 0;
}

int lq_header(struct lq *q, const char *cols)
{
	if (q->header_done)
		return 0;
	q->header_done = 1;
	for (const char *s = cols;;) {
		const char *e = strchr(s, ',');
		lq_field(q, s, e ? (size_t)(e - s) : strlen(s));
		if (!e)
			break;
		s = e + 1;
	}
	lq_row_end(q);
	return 1;
}

/* A string array as one field, items joined by ','. */
static void field_list(struct lq *q, const msgpack_object *a)
{
	size_t n = 0;
	char *buf = NULL;

	if (a && a->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < a->via.array.size; i++)
			if (a->via.array.ptr[i].type == MSGPACK_OBJECT_STR)
				n += a->via.array.ptr[i].via.str.size + 1;
		buf = malloc(n + 1);
	}
	if (!buf) {
		lq_field(q, "", 0);
		return;
	}
	size_t k = 0;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *o = &a->via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_STR)
			continue;
		if (k)
			buf[k++] = ',';
		memcpy(buf + k, o->via.str.ptr, o->via.str.size);
		k += o->via.str.size;
	}
	lq_field(q, buf, k);
	free(buf);
}

const char lq_node_cols[] =
	"id,kind,project,type,collection,version,aliases,name,state,time,"
	"git_commit";

void lq_fields_node(struct lq *q, const struct lin_qnode *n)
{
	char *id = lin_qnode_id(n, 1), tb[48];
	int run = n->kind == LIN_ID_RUN;
	int64_t t = run ? n->started_at : n->created_at;

	lq_field_str(q, id ? id : "");
	free(id);
	lq_field_str(q, run ? "run" : "artifact");
	lq_field_fmt(q, "%.*s/%.*s", (int)n->entity.n, n->entity.p,
		     (int)n->project.n, n->project.p);
	lq_field_q(q, run ? n->job_type : n->type);
	if (run) {
		lq_field(q, "", 0);   /* collection */
		lq_field(q, "", 0);   /* version */
		lq_field(q, "", 0);   /* aliases */
		lq_field_q(q, n->name);
		lq_field_q(q, n->state);
	} else {
		lq_field_q(q, n->name);
		lq_field_fmt(q, "v%lld", (long long)n->version);
		field_list(q, n->aliases);
		lq_field_fmt(q, "%.*s:v%lld", (int)n->name.n, n->name.p,
			     (long long)n->version);
		lq_field(q, "", 0);   /* state */
	}
	lq_field_str(q, t == LIN_QNONE ? "" : lin_fmt_time(tb, t));
	lq_field_q(q, run ? n->git_commit : (struct lin_slice){ NULL, 0 });
}

/* The commands whose --format (text, tsv, csv, json) is taken here; the
 * others parse a --format of their own (impact, provenance: the same
 * four; graph, export: pictures and events). */
static const char *const listing[] = {
	"logged-by", "used-by", "logged", "used", "ls", "lineage", "path",
	"diff", NULL
};

const struct lin_opt lq_format_opts[] = {
	{ 'F', "format", "FMT", "text (default), tsv, csv (a header row, "
	  "then\nid, kind, project, type, collection, version,\naliases, "
	  "name, state, time, git_commit) or json" },
	LIN_OPT_END
};

int lq_lists(const char *cmd)
{
	for (const char *const *c = listing; *c; c++)
		if (strcmp(*c, cmd) == 0)
			return 1;
	return 0;
}

int lq_take_format(struct lq *q, const char *cmd, int *argc, char **argv)
{
	int i = 1;

	if (!lq_lists(cmd))
		return 0;
	while (i < *argc && strcmp(argv[i], "--") != 0) {
		const char *val;
		int take;
		if (!strcmp(argv[i], "--format") || !strcmp(argv[i], "-F")) {
			if (i + 1 >= *argc)
				return lin_err_set(&q->e, LIN_EINVAL,
						   LIN_NO_OFFSET, "option "
						   "'%s' needs a value",
						   argv[i]);
			val = argv[i + 1];
			take = 2;
		} else if (!strncmp(argv[i], "--format=", 9)) {
			val = argv[i] + 9;
			take = 1;
		} else if (!strncmp(argv[i], "-F", 2)) {
			val = argv[i] + 2;   /* -Fcsv, as getopt allows */
			take = 1;
		} else {
			i++;
			continue;
		}
		if (lq_format_parse(val, &q->fmt))
			return lin_err_set(&q->e, LIN_EINVAL, LIN_NO_OFFSET,
					   "bad --format '%s': expected text, "
					   "tsv, csv or json", val);
		if (q->fmt == LQ_FMT_JSON)
			q->json = 1;
		memmove(argv + i, argv + i + take,
			(size_t)(*argc - i - take) * sizeof *argv);
		*argc -= take;
		argv[*argc] = NULL;
	}
	/* --json after --format csv: the last one wins, as usual */
	return 0;
}

void lq_fields_unres(struct lq *q, const struct lq_unres *u)
{
	/* u->coll is "entity/project/name" */
	const char *name = strrchr(u->coll, '/');
	char *id = lq_unres_id(u);

	lq_field_str(q, id ? id : "");
	free(id);
	lq_field_str(q, "unresolved");
	lq_field(q, u->coll, name ? (size_t)(name - u->coll) : 0);
	lq_field_str(q, u->type ? u->type : "");
	lq_field_str(q, name ? name + 1 : u->coll);
	lq_field_str(q, u->sel);       /* version: the selector as used */
	lq_field(q, "", 0);            /* aliases */
	lq_field_str(q, u->ref);       /* name: the ref as written */
	lq_field_str(q, lq_unres_code(u->why));  /* state: why */
	lq_field(q, "", 0);            /* time */
	lq_field(q, "", 0);            /* git_commit */
}
