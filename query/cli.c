/* cli.c - lineage-query's global options, subcommand table and exit
 * statuses.
 *
 * Exit statuses (also in --help and the man page; never renumbered):
 *   0   ok: the query ran (an empty answer is still 0); diff: the two
 *       sides are the same
 *   1   not found: a REF, RUN or NODE names nothing (unknown or
 *       ambiguous, or not yet there as of --as-of); batch commands: at
 *       least one root was unknown; diff: the sides differ
 *   64  usage error (bad option, argument or REF syntax)
 *   65  the store's data is invalid (not a lineage store, bad schema,
 *       malformed node or edge)
 *   66  the store is missing or cannot be opened
 *   70  internal error (out of memory)
 *   74  I/O error: writing the output or reading the store failed
 *   75  the store was read without its lock file and a writer kept
 *       committing meanwhile (every attempt could have been torn)
 */
#include "internal.h"
#include "format/guard.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "lineage-query"

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

const struct lq_cmd lq_cmds[] = {
	{ "artifact", lq_cmd_artifact, "artifact REF [--history]",
	  "a version's attributes, aliases, producer and user count",
	  "options:\n"
	  "  -H, --history   the versions REF's alias (NAME:ALIAS, or NAME\n"
	  "                  for latest) named, from when until when, oldest"
	  "\n                  first: rows ALIAS VERSION FROM UNTIL; VERSION"
	  " is\n                  '(removed)' while the alias named nothing,"
	  " UNTIL\n                  '-' while it still names it\n" },
	{ "logged-by", lq_cmd_logged_by, "logged-by REF",
	  "the run(s) that logged a version", NULL },
	{ "used-by", lq_cmd_used_by, "used-by REF",
	  "the runs that used a version", NULL },
	{ "run", lq_cmd_run, "run RUN",
	  "a run's attributes and counts of what it logged and used", NULL },
	{ "logged", lq_cmd_logged, "logged RUN",
	  "the versions a run logged", NULL },
	{ "used", lq_cmd_used, "used RUN",
	  "the versions a run used", NULL },
	{ "lineage", lq_cmd_lineage,
	  "lineage NODE... [--down|--up|--both] [--depth N|all]\n"
	  "         [--type T] [--job-type J] [--project P]\n"
	  "         [--limit N] [--after CURSOR]",
	  "walk from NODE: descendants (default), ancestors or both",
	  "Breadth-first walk over logged/used edges. Each reached node is\n"
	  "reported once with its depth and the edge it was first reached\n"
	  "by. Neighbours are visited in node id order, so the order is\n"
	  "stable for a given store.\n\n"
	  "options:\n"
	  "  -d, --down         towards consumers: what was made from NODE"
	  " (default)\n"
	  "  -u, --up           towards producers: what NODE was made from\n"
	  "  -b, --both         ancestors and descendants\n"
	  "  -D, --depth N|all  stop N edges from NODE (default: all)\n"
	  "  -t, --type T       report only artifacts of type T\n"
	  "  -J, --job-type J   report only runs of job type J\n"
	  "                     (with --type: artifacts of T and runs of J)\n"
	  "  -p, --project P    report only nodes in project P "
	  "(or entity/P)\n"
	  "  Each filter may be repeated or take a comma-separated list\n"
	  "  (--type model,deployment); a value the store has never seen\n"
	  "  is an error (exit status 1) naming the nearest ones.\n"
	  "  -n, --limit N      report at most N nodes, then a summary\n"
	  "  -a, --after CURSOR continue after the node a summary named\n"
	  "Filters choose what is reported, never what is walked.\n" },
	{ "path", lq_cmd_path,
	  "path FROM TO [--all [--depth N] [--limit N]]",
	  "the shortest producer/consumer chain between two NODEs",
	  "Looks downstream from FROM first, then upstream. Prints the chain\n"
	  "like lineage does, FROM first; nothing (and a note on stderr)\n"
	  "when the two are not connected that way.\n\n"
	  "options:\n"
	  "  -A, --all        every simple path instead, each after a\n"
	  "                   '# path K: L edges' line, then a summary\n"
	  "  -D, --depth N    with --all: paths of at most N edges (12)\n"
	  "  -n, --limit N    with --all: at most N paths (100)\n" },
	{ "impact", lq_cmd_impact,
	  "impact REF... [--from FILE|-] [--format text|tsv|csv|json]\n"
	  "         [--depth N|all] [--type T] [--job-type J] [--project P]",
	  "everything downstream of each root, one row per reached node",
	  "Rows are (root, distance, kind, node, edge, from); the root\n"
	  "itself is not a row. Unknown roots are reported on stderr and\n"
	  "give exit status 1; the others are still answered.\n\n"
	  "options:\n"
	  "  -f, --from FILE     also read roots (NODEs), one per line; '-' is"
	  "\n                      stdin; blank and '#' lines are skipped\n"
	  "  -F, --format FMT    text (default), tsv, csv or json; tsv and csv"
	  "\n                      have a header row and every node column\n"
	  "  -D, --depth N|all   stop N edges from each root\n"
	  "  -t, --type T, -J, --job-type J, -p, --project P   as in lineage"
	  "\n" },
	{ "provenance", lq_cmd_provenance,
	  "provenance REF... [--from FILE|-] [--format text|tsv|csv|json]\n"
	  "         [--depth N|all] [--type T] [--job-type J] [--project P]",
	  "everything upstream of each root, one row per reached node",
	  "The upstream twin of impact; the same options and rows.\n" },
	{ "graph", lq_cmd_graph,
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
	  "the projects instead, folded as above.\n\n"
	  "options:\n"
	  "  -F, --format FMT   dot (default), mermaid, json (also --json)\n"
	  "                     or text (one 'A --edge--> B' line per edge)"
	  "\n"
	  "  -d, -u, -b         down (default), up, both, as in lineage\n"
	  "  -D, --depth N|all  stop N edges from NODE\n"
	  "  -m, --max-nodes N  at most about N boxes (60; 0: no limit)\n"
	  "  -x, --explode      with NODE: never fold; without: every node\n"
	  "  -t, --type T, -J, --job-type J\n"
	  "                     draw only artifacts of T and runs of J (and"
	  "\n"
	  "                     the start nodes); nodes joined through\n"
	  "                     hidden ones get a dashed 'via N hidden' edge"
	  "\n"
	  "  -p, --project P    with NODE: draw only nodes of P; without:\n"
	  "                     the projects to draw\n"
	  "  -A, --all          every project\n" },
	{ "ls", lq_cmd_ls, "ls runs|artifacts|collections|types "
	  "[--project P]\n         [--type T] [--job-type J]",
	  "list what the store holds",
	  "options:\n"
	  "  -p, --project P   only project P (or entity/P)\n"
	  "  -t, --type T      only artifacts (collections) of type T\n"
	  "  -J, --job-type J  only runs of job type J\n"
	  "Filters are repeatable and take comma-separated lists, as in\n"
	  "lineage.\n" },
	{ "stats", lq_cmd_stats, "stats",
	  "counts of runs, collections, versions, edges and sources", NULL },
	{ "check", lq_cmd_check, "check [--deep]",
	  "check the store's consistency; exit status 65 on problems",
	  "Decodes every node and checks that run keys, version numbers and\n"
	  "edges agree (every edge has its reverse). One line per problem,\n"
	  "then a summary line. Checks the whole store: --as-of is "
	  "ignored.\n\n"
	  "options:\n"
	  "      --deep   also read every entry of every database: placed\n"
	  "               inside the file and in order, decoded, every id\n"
	  "               it holds present, counts equal to LMDB's records,\n"
	  "               every node reachable from the indexes\n" },
	{ "diff", lq_cmd_diff,
	  "diff [--as-of-a T1] [--as-of-b T2] [STORE_A [STORE_B]]",
	  "runs, versions and edges added or removed between two stores or "
	  "times",
	  "Side A is STORE_A (default: --store) as of T1, side B is STORE_B\n"
	  "(default: STORE_A) as of T2; a time left out is the global\n"
	  "--as-of, else the whole store. Nodes are matched by name\n"
	  "(run e/p/id, artifact e/p/name:vN), not by internal id. Lines:\n"
	  "  - run e/p/id\n"
	  "  + artifact e/p/name:vN\n"
	  "  + edge run:e/p/id logged|relogged|used artifact:e/p/name:vN\n"
	  "runs first, then artifacts, then edges, each sorted by name.\n"
	  "Exit status 0: no differences, 1: differences (like diff(1)).\n\n"
	  "options:\n"
	  "  -a, --as-of-a T1, --from T1   side A as of T1\n"
	  "  -b, --as-of-b T2, --to T2     side B as of T2\n" },
	{ "export", lq_cmd_export,
	  "export --format openlineage NODE...|--all",
	  "runs with their inputs and outputs as OpenLineage RunEvents",
	  "One OpenLineage 2-0-2 RunEvent per line (NDJSON), for Marquez,\n"
	  "DataHub or any OpenLineage consumer. A run NODE exports that\n"
	  "run, an artifact NODE the runs that logged and used it, --all\n"
	  "every run. Each run gives a START event at its start time with\n"
	  "its inputs (the versions it used) and, when it ended, COMPLETE\n"
	  "(finished), FAIL (failed, crashed) or ABORT (killed) at its end\n"
	  "time with inputs and outputs (the versions it logged, re-logs\n"
	  "too); uses that never resolved are inputs with the selector as\n"
	  "datasetVersion and why as 'unresolved'. runId is\n"
	  "a UUID derived from entity/project/run_id; the job is\n"
	  "lineage://entity/project with the job type as its name; a\n"
	  "dataset is lineage://entity/project with the collection as its\n"
	  "name and a version facet ('v3', digest, type). Runs without a\n"
	  "start time are left out with a note on stderr; runs of offline\n"
	  "W&B logs, which record no uses, say \"inputs_unknown\": true.\n\n"
	  "options:\n"
	  "  -F, --format openlineage   the only format (required)\n"
	  "  -A, --all                  every run (as of --as-of)\n" },
	{ NULL, NULL, NULL, NULL, NULL }
};

void lq_errf(struct lq *q, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", q->err);
	va_start(ap, fmt);
	vfprintf(q->err, fmt, ap);
	va_end(ap);
	putc('\n', q->err);
}

int lq_usage(struct lq *q, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", q->err);
	if (cmd)
		fprintf(q->err, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(q->err, fmt, ap);
	va_end(ap);
	fprintf(q->err, "\nTry '" PROG "%s%s --help'.\n", cmd ? " " : "",
		cmd ? cmd : "");
	return LQ_USAGE;
}

static void version(struct lq *q)
{
	fprintf(q->out, PROG " " LIN_VERSION " (store schema %d)\n",
		LIN_SCHEMA_VERSION);
}

static void help(struct lq *q)
{
	fputs("usage: " PROG " [--store PATH] [--json] [--as-of TIME] "
	      "[--with-relogs] COMMAND [ARGS]\n\n"
	      "Answer lineage questions from a store written by "
	      "lineage-index.\n\ncommands:\n", q->out);
	for (const struct lq_cmd *c = lq_cmds; c->name; c++)
		fprintf(q->out, "  %-11s%s\n", c->name, c->summary);
	fputs("\noptions:\n"
	      "  -s, --store PATH  the store (default: $LINEAGE_STORE, else "
	      "./lineage.lmdb);\n"
	      "                    also accepted after COMMAND\n"
	      "  -j, --json        one JSON object per line\n"
	      "      --as-of TIME  answer as the archive stood at TIME: "
	      "ISO 8601\n"
	      "                    UTC (2024-03-01T10:30:00Z, 2024-03-01) "
	      "or @SECONDS;\n"
	      "                    also accepted after COMMAND\n"
	      "      --with-relogs walks, impact, provenance, path and "
	      "graph also follow\n"
	      "                    re-logs (a run that logged a digest "
	      "another run\n"
	      "                    logged first); also accepted after "
	      "COMMAND\n"
	      "  -h, --help        this help; COMMAND --help for a "
	      "command's\n"
	      "  -V, --version     print the version\n\n", q->out);
	fputs(arg_forms, q->out);
	putc('\n', q->out);
	fputs(exit_table, q->out);
}

void lq_cmd_help(struct lq *q, const char *name)
{
	for (const struct lq_cmd *c = lq_cmds; c->name; c++) {
		if (strcmp(c->name, name))
			continue;
		fprintf(q->out, "usage: " PROG " [--store PATH] [--json] "
			"%s\n\n%s.\n\n", c->synopsis, c->summary);
		if (c->help)
			fprintf(q->out, "%s\n", c->help);
		if (lq_lists(name))
			fputs("  -F, --format FMT  text (default), tsv, csv (a header"
			      " row, then\n"
			      "                  id, kind, project, type, "
			      "collection, version,\n"
			      "                  aliases, name, state, time, "
			      "git_commit) or json\n\n", q->out);
		fputs("common options:\n"
		      "  -s, --store PATH  the store (also before COMMAND)\n"
		      "  -j, --json      one JSON object per line\n"
		      "  --as-of TIME    answer as the archive stood at TIME"
		      "\n                  (ISO 8601 UTC or @SECONDS)\n"
		      "  --with-relogs   walks also follow re-log edges\n"
		      "  -h, --help      this help\n"
		      "  -V, --version   print the version\n\n", q->out);
		fputs(arg_forms, q->out);
		putc('\n', q->out);
		fputs(exit_table, q->out);
		return;
	}
}

int lq_common_opt(struct lq *q, const char *cmd, int c, char **argv)
{
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
				argv[optind - 1]);
	default:
		return lq_usage(q, cmd, "unknown option '%s'",
				argv[optind - 1]);
	}
}

/* Without the lock file a writer may reuse the pages being read: hold
 * the answer in memory until lin_query_run knows whether a commit
 * happened meanwhile. Nothing was written to q->out before the store was
 * opened; what went to q->err so far stays there. */
static int hold_output(struct lq *q)
{
	FILE *o = open_memstream(&q->obuf, &q->olen);
	FILE *e = o ? open_memstream(&q->ebuf, &q->elen) : NULL;

	if (!e) {
		if (o)
			fclose(o);
		free(q->obuf);
		q->obuf = NULL;
		return -1;
	}
	q->held_out = q->out;
	q->held_err = q->err;
	q->out = o;
	q->err = e;
	return 0;
}

/* Close the store lq_open opened; a borrowed one stays open. */
static void close_store(struct lq *q)
{
	if (q->borrowed)
		memset(&q->store, 0, sizeof q->store);
	else
		lin_store_close(&q->store);
}

int lq_open(struct lq *q)
{
	int rc = 0;

	if (q->opened)
		return 0;
	lin_err_clear(&q->e);
	if (q->borrowed)
		q->store = *q->borrowed;
	else
		rc = lin_store_open(&q->store, q->store_path, LIN_STORE_RDONLY,
				    &q->e);
	if (rc == 0) {
		/* One read transaction: every answer comes from one
		 * consistent snapshot even while an indexer writes. */
		rc = lin_store_begin(&q->store, 1, &q->txn, &q->e);
		if (rc)
			close_store(q);
	}
	if (rc == 0) {
		q->txnid = lin_store_txn_id(q->txn);
		if (q->store.nolock && !q->held_out && hold_output(q)) {
			lin_store_abort(q->txn);
			close_store(q);
			lq_errf(q, "out of memory");
			return LQ_SOFTWARE;
		}
	}
	if (rc == 0 && (rc = lq_asof_open(q)) != 0) {
		lin_store_abort(q->txn);
		close_store(q);
		lq_errf(q, "%s", q->e.msg);
		return LQ_SOFTWARE;
	}
	if (rc) {
		char buf[1200];
		lq_errf(q, "%s", lin_err_format(&q->e, buf, sizeof buf));
		return rc == LIN_ESCHEMA || rc == LIN_ECORRUPT ? LQ_DATAERR :
		       LQ_NOINPUT;
	}
	q->opened = 1;
	lin_err_clear(&q->e);
	return 0;
}

int lq_fail(struct lq *q, int rc)
{
	char buf[1200];

	if (q->e.code == 0)
		lin_err_set(&q->e, rc, LIN_NO_OFFSET, "%s", lin_strerror(rc));
	switch (rc) {
	case LIN_ENOTFOUND:
		lq_errf(q, "%s", q->e.msg);
		return LQ_NOTFOUND;
	case LIN_EINVAL:
		return lq_usage(q, NULL, "%s", q->e.msg);
	default:
		break;
	}
	lin_err_path(&q->e, q->store_path);
	/* MDB_BAD_TXN: an earlier read in this (read-only) snapshot failed
	 * on a damaged page, and LMDB refuses every read after it. */
	int damaged = rc == LIN_ECORRUPT ||
		      (rc == LIN_ESTORE && (q->e.sys == MDB_CORRUPTED ||
					    q->e.sys == MDB_PAGE_NOTFOUND ||
					    q->e.sys == MDB_INVALID ||
					    q->e.sys == MDB_BAD_TXN));
	if (damaged && !strstr(q->e.msg, "--rebuild")) {
		/* Never a partial answer that looks complete: say the store
		 * is damaged and what to do about it. */
		char advice[1100];
		lq_errf(q, "%s; store damaged: %s",
			lin_err_format(&q->e, buf, sizeof buf),
			lin_guard_advice(advice, sizeof advice,
					 q->store_path));
	} else {
		lq_errf(q, "%s", lin_err_format(&q->e, buf, sizeof buf));
	}
	if (damaged)
		return LQ_DATAERR;
	switch (rc) {
	case LIN_ESCHEMA: case LIN_EFORMAT:
		return LQ_DATAERR;
	case LIN_ESTORE:
		return LQ_IOERR;
	case LIN_EIO:
		return LQ_IOERR;
	default:
		return LQ_SOFTWARE;
	}
}

/* Remove every `flag` before a "--" from a command's argv (argv[0] is
 * the command name); 1 when there was one. Global flags are accepted
 * among every command's own options, like --as-of. */
static int take_flag(const char *flag, int *argc, char **argv)
{
	int found = 0;

	for (int i = 1; i < *argc && strcmp(argv[i], "--") != 0;) {
		if (strcmp(argv[i], flag)) {
			i++;
			continue;
		}
		memmove(argv + i, argv + i + 1,
			(size_t)(*argc - i - 1) * sizeof *argv);
		argv[--*argc] = NULL;
		found = 1;
	}
	return found;
}

static int dispatch(struct lq *q, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "as-of", required_argument, NULL, 'T' },
		{ "with-relogs", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 0;
	opterr = 0;
	/* '+': the command's own options come after its name. */
	while ((c = getopt_long(argc, argv, "+:s:jhV", opts, NULL)) != -1) {
		if (c == 's') {
			q->store_path = optarg;
			continue;
		}
		if (c == 'R') {
			q->relogs = 1;
			continue;
		}
		if (c == 'T') {
			char why[160];
			if (lq_parse_time(optarg, &q->asof))
				return lq_usage(q, NULL, "bad --as-of '%s': "
						"%s", optarg,
						lq_time_why(optarg, why,
							    sizeof why));
			q->has_asof = 1;
			continue;
		}
		int r = lq_common_opt(q, NULL, c, argv);
		if (r >= 0)
			return r;
	}
	if (optind >= argc)
		return lq_usage(q, NULL, "no command given");
	const char *name = argv[optind];
	for (const struct lq_cmd *cmd = lq_cmds; cmd->name; cmd++) {
		if (strcmp(cmd->name, name))
			continue;
		/* --as-of is global: every command takes it among its
		 * own options too. */
		int cargc = argc - optind;
		if (lq_take_asof(q, &cargc, argv + optind) ||
		    lq_take_format(q, name, &cargc, argv + optind))
			return lq_usage(q, name, "%s", q->e.msg);
		q->relogs |= take_flag("--with-relogs", &cargc,
				       argv + optind);
		return cmd->fn(q, cargc, argv + optind);
	}

	const char *best = NULL;
	size_t bd = 3;
	for (const struct lq_cmd *cmd = lq_cmds; cmd->name; cmd++) {
		size_t d = lin_edit_distance(name, strlen(name), cmd->name,
					     strlen(cmd->name), 2);
		if (d < bd) {
			bd = d;
			best = cmd->name;
		}
	}
	if (best)
		return lq_usage(q, NULL, "unknown command '%s'; did you mean "
				"'%s'?", name, best);
	return lq_usage(q, NULL, "unknown command '%s'", name);
}

/* Release what one attempt opened. */
static void finish(struct lq *q)
{
	lq_asof_close(q);
	if (q->store.env) {
		if (q->txn)
			lin_store_abort(q->txn);
		q->txn = NULL;
		close_store(q);
	}
	q->opened = 0;
}

/* 1 when the store was read without its lock file and a writer
 * committed since the snapshot began: what was read may be torn. */
static int torn(struct lq *q)
{
	if (!q->store.env || !q->store.nolock || !q->txnid)
		return 0;
	return lin_store_changed_since(&q->store, q->txnid);
}

/* Hand held output on, or drop it. */
static void release_held(struct lq *q, int keep)
{
	if (!q->held_out)
		return;
	fclose(q->out);
	fclose(q->err);
	if (keep) {
		fwrite(q->obuf, 1, q->olen, q->held_out);
		fwrite(q->ebuf, 1, q->elen, q->held_err);
	}
	free(q->obuf);
	free(q->ebuf);
	q->out = q->held_out;
	q->err = q->held_err;
	q->held_out = q->held_err = NULL;
	q->obuf = q->ebuf = NULL;
}

/* Attempts of a query on a store read without its lock file while a
 * writer commits, and the pause before the first retry (doubling). */
#define NOLOCK_ATTEMPTS 12
#define NOLOCK_PAUSE_US 2000

/* lin_query_run, on `borrowed` when it is not NULL. */
static int query_run(struct lin_store *borrowed, int argc, char **argv,
		     FILE *out, FILE *errf)
{
	struct lq *q = calloc(1, sizeof *q);
	char **av = calloc((size_t)argc + 1, sizeof *av);
	sigjmp_buf jb;
	volatile int rc = LQ_SOFTWARE;

	if (!q || !av) {
		fprintf(errf, PROG ": out of memory\n");
		free(q);
		free(av);
		return LQ_SOFTWARE;
	}
	for (int attempt = 1;; attempt++) {
		memset(q, 0, sizeof *q);
		q->out = out;
		q->err = errf;
		q->prog = PROG;
		q->store_path = lin_store_default_path();
		q->borrowed = borrowed;
		/* --as-of is taken out of argv in place: each attempt
		 * parses a fresh copy. */
		memcpy(av, argv, (size_t)argc * sizeof *av);
		int sig = sigsetjmp(jb, 1);
		if (sig == 0) {
			lin_guard_catch(&jb);
			rc = dispatch(q, argc, av);
		}
		lin_guard_catch(NULL);
		int nolock = q->store.env && q->store.nolock;
		int retry = nolock && (sig || torn(q));
		if (sig && !nolock) {
			/* No writer can have changed what was read: the
			 * store itself is damaged. */
			char advice[1100];
			release_held(q, 1);
			lq_errf(q, "%s: store damaged (%s); %s", q->store_path,
				lin_guard_why(sig),
				lin_guard_advice(advice, sizeof advice,
						 q->store_path));
			rc = LQ_DATAERR;
		}
		finish(q);
		release_held(q, !retry);
		if (!retry)
			break;
		if (attempt == NOLOCK_ATTEMPTS) {
			char lock[1100];
			snprintf(lock, sizeof lock, "%s-lock", q->store_path);
			lq_errf(q, "%s: the store changed %d times while this "
				"query read it without its lock file ('%s' "
				"cannot be opened for writing), so the answer "
				"could be torn; give readers write access to "
				"the lock file, as LMDB requires, or query a "
				"copy made with lineage-index --compact-to",
				q->store_path, attempt, lock);
			rc = LQ_TEMPFAIL;
			break;
		}
		usleep((useconds_t)NOLOCK_PAUSE_US << (attempt < 6 ? attempt :
							6));
	}
	free(av);
	/* A full disk or a closed pipe must not look like success. */
	if (fflush(out) != 0 || ferror(out)) {
		int e = errno;
		lq_errf(q, "cannot write output: %s",
			e ? strerror(e) : "write error");
		rc = LQ_IOERR;
	}
	fflush(errf);
	free(q);
	return rc;
}

int lin_query_run(int argc, char **argv, FILE *out, FILE *errf)
{
	return query_run(NULL, argc, argv, out, errf);
}

int lin_query_run_store(struct lin_store *s, int argc, char **argv,
			FILE *out, FILE *errf)
{
	return query_run(s, argc, argv, out, errf);
}

int lin_query_main(int argc, char **argv)
{
	/* A damaged store ends with a message, never a signal. */
	lin_guard_init(PROG);
	int rc = lin_query_run(argc, argv, stdout, stderr);
	if (lin_guard_caught()) {
		/* an attempt was abandoned mid-way: end without running
		 * exit handlers over what it left allocated */
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	return rc;
}
