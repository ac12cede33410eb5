/* cmdopts.c - the options every lineage-query command shares and how a
 * command reads its own: the common option tables, getopt_long's inputs
 * from a command's table, the loop that handles -j, -h, -V, the filters
 * and usage errors, and --help (the program's and each command's, from
 * the command table the query context carries, q->cmds, so that this
 * file never calls cli.c, which calls it). */
#include "internal.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char exit_table[] =
	"exit status:\n"
	"  0   ok (an empty answer is ok too); diff: no differences\n"
	"  1   a REF, RUN or NODE names nothing (unknown, ambiguous, or not"
	"\n      there yet as of --as-of); diff: differences found\n"
	"  64  usage error\n"
	"  65  the store's data is invalid\n"
	"  66  the store is missing or cannot be opened\n"
	"  70  internal error\n"
	"  74  I/O error (writing the output or reading the store)\n"
	"  75  the store kept changing while read without its lock file\n";

static const char arg_forms[] =
	"arguments:\n"
	"  REF   [entity/project/]name[:alias|:vN]; name alone means "
	"name:latest\n"
	"  RUN   [entity/project/]run_id, or a run's display name\n"
	"  NODE  run:entity/project/run_id, "
	"artifact:entity/project/name:vN,\n"
	"        a REF (contains ':') or a RUN\n"
	"  entity/project may be left out when only one project has the "
	"name.\n";

const struct lin_opt lq_head_opts[] = {
	{ 'j', "json", NULL, "one JSON object per line" },
	{ 'h', "help", NULL, "this help; after COMMAND, that command's" },
	{ 'V', "version", NULL, "print the version" },
	LIN_OPT_END
};

const struct lin_opt lq_global_opts[] = {
	{ 's', "store", "PATH", "the store (default: $LINEAGE_STORE, else\n"
	  "./lineage.lmdb); also accepted after COMMAND" },
	{ LQ_OPT_ASOF, "as-of", "TIME", "answer as the archive stood at TIME: "
	  "ISO 8601\nUTC (2024-03-01T10:30:00Z, 2024-03-01) or "
	  "@SECONDS;\nalso accepted after COMMAND" },
	{ LQ_OPT_RELOGS, "with-relogs", NULL, "walks, impact, provenance, "
	  "path and graph also\nfollow re-logs (a run that logged a digest "
	  "another\nrun logged first); also accepted after COMMAND" },
	LIN_OPT_END
};

/* The column of the help text in the common options' lines. */
#define COMMON_COL 22

void lq_getopt(struct lin_getopt *g, const struct lin_opt *opts)
{
	const struct lin_opt *const tables[] = { lq_head_opts, opts, NULL };

	lin_getopt_build(g, ":", tables);
	optind = 0;  /* a full rescan: one process runs many queries */
	opterr = 0;  /* our own messages */
}

int lq_next_opt(struct lq *q, const char *cmd, const struct lin_getopt *g,
		int argc, char **argv, struct lq_filter *f, int *c)
{
	while ((*c = getopt_long(argc, argv, g->shorts, g->longs,
				 NULL)) != -1) {
		int r = f ? lq_filter_opt(q, cmd, f, *c, optarg) : -2;
		if (r >= 0)
			return r;
		if (r == -1)
			continue;
		if (!lin_opts_by_code(lq_head_opts, *c) && *c != ':' &&
		    *c != '?')
			return -1;
		if ((r = lq_common_opt(q, cmd, *c, argc, argv)) >= 0)
			return r;
	}
	return -2;
}

int lq_parse_count(const char *s, uint32_t all, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (all && strcmp(s, "all") == 0) {
		*out = all;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v >= UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int lq_parse_limit(struct lq *q, const char *cmd, const char *arg,
		   uint32_t *out)
{
	if (lq_parse_count(arg, 0, out) || !*out)
		return lq_usage(q, cmd, "bad --limit '%s': expected a number "
				"> 0", arg);
	return 0;
}

int lq_parse_depth(struct lq *q, const char *cmd, const char *arg,
		   uint32_t *out)
{
	if (lq_parse_count(arg, LIN_WALK_ALL, out))
		return lq_usage(q, cmd, "bad --depth '%s': expected a number "
				"or 'all'", arg);
	return 0;
}

int lq_walk_opt(struct lq *q, const char *cmd, int c, const char *arg,
		unsigned *dir, uint32_t *depth)
{
	switch (c) {
	case 'd': *dir = LIN_WALK_DOWN; return 0;
	case 'u': *dir = LIN_WALK_UP; return 0;
	case 'b': *dir = LIN_WALK_BOTH; return 0;
	case 'D': return lq_parse_depth(q, cmd, arg, depth);
	default: return 0;
	}
}

static void version(struct lq *q)
{
	fprintf(q->out, LQ_PROG " " LIN_VERSION " (store schema %d)\n",
		LIN_SCHEMA_VERSION);
}

/* The end of every --help: the options every command takes, the forms
 * of the arguments, the exit statuses. */
static void help_tail(struct lq *q)
{
	lin_opts_help(q->out, lq_global_opts, COMMON_COL);
	lin_opts_help(q->out, lq_head_opts, COMMON_COL);
	putc('\n', q->out);
	fputs(arg_forms, q->out);
	putc('\n', q->out);
	fputs(exit_table, q->out);
}

static void help(struct lq *q)
{
	fputs("usage: " LQ_PROG " [--store PATH] [--json] [--as-of TIME] "
	      "[--with-relogs] COMMAND [ARGS]\n\n"
	      "Answer lineage questions from a store written by "
	      "lineage-index.\n\ncommands:\n", q->out);
	for (const struct lq_cmd *const *c = q->cmds; *c; c++)
		fprintf(q->out, "  %-11s%s\n", (*c)->name, (*c)->summary);
	fputs("\noptions:\n", q->out);
	help_tail(q);
}

void lq_cmd_help(struct lq *q, const char *name)
{
	const struct lq_cmd *c = NULL;

	for (const struct lq_cmd *const *p = q->cmds; *p && !c; p++)
		if (strcmp((*p)->name, name) == 0)
			c = *p;
	if (!c)
		return;
	fprintf(q->out, "usage: " LQ_PROG " [--store PATH] [--json] %s\n\n"
		"%s.\n\n", c->synopsis, c->summary);
	if (c->about)
		fprintf(q->out, "%s\n", c->about);
	int listing = lq_lists(c->name);
	if ((c->opts && c->opts->name) || listing) {
		int col = c->opts ? lin_opts_col(c->opts) : 0;
		if (listing && lin_opts_col(lq_format_opts) > col)
			col = lin_opts_col(lq_format_opts);
		fputs("options:\n", q->out);
		if (c->opts)
			lin_opts_help(q->out, c->opts, col);
		if (listing)
			lin_opts_help(q->out, lq_format_opts, col);
		if (c->notes)
			fprintf(q->out, "\n%s", c->notes);
		putc('\n', q->out);
	}
	fputs("common options:\n", q->out);
	help_tail(q);
}

int lq_common_opt(struct lq *q, const char *cmd, int c, int argc,
		  char **argv)
{
	char bad[64];

	switch (c) {
	case 'h':
		if (cmd)
			lq_cmd_help(q, cmd);
		else
			help(q);
		return LQ_OK;
	case 'V':
		version(q);
		return LQ_OK;
	case 'j':
		q->json = 1;
		return -1;
	case ':':
		return lq_usage(q, cmd, "option '%s' needs a value",
				lin_opt_culprit(argc, argv, bad, sizeof bad));
	default:
		return lq_usage(q, cmd, "unknown option '%s'",
				lin_opt_culprit(argc, argv, bad, sizeof bad));
	}
}
