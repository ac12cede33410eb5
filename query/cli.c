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

/* The commands, in the order --help lists them; each declares its
 * options and help in its own cmd_*.c. */
const struct lq_cmd *const lq_cmds[] = {
	&lq_artifact, &lq_logged_by, &lq_used_by, &lq_run, &lq_logged,
	&lq_used, &lq_lineage, &lq_path, &lq_impact, &lq_provenance,
	&lq_graph, &lq_ls, &lq_stats, &lq_check, &lq_diff, &lq_export,
	NULL
};

/* Codes of the long-only options. */
enum { OPT_ASOF = LIN_OPT_LONG_ONLY, OPT_RELOGS };

const struct lin_opt lq_head_opts[] = {
	{ 'j', "json", NULL, "one JSON object per line" },
	{ 'h', "help", NULL, "this help; after COMMAND, that command's" },
	{ 'V', "version", NULL, "print the version" },
	LIN_OPT_END
};

const struct lin_opt lq_global_opts[] = {
	{ 's', "store", "PATH", "the store (default: $LINEAGE_STORE, else\n"
	  "./lineage.lmdb); also accepted after COMMAND" },
	{ OPT_ASOF, "as-of", "TIME", "answer as the archive stood at TIME: "
	  "ISO 8601\nUTC (2024-03-01T10:30:00Z, 2024-03-01) or "
	  "@SECONDS;\nalso accepted after COMMAND" },
	{ OPT_RELOGS, "with-relogs", NULL, "walks, impact, provenance, path "
	  "and graph also\nfollow re-logs (a run that logged a digest "
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
		if ((r = lq_common_opt(q, cmd, *c, argv)) >= 0)
			return r;
	}
	return -2;
}

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
	fputs("usage: " PROG " [--store PATH] [--json] [--as-of TIME] "
	      "[--with-relogs] COMMAND [ARGS]\n\n"
	      "Answer lineage questions from a store written by "
	      "lineage-index.\n\ncommands:\n", q->out);
	for (const struct lq_cmd *const *c = lq_cmds; *c; c++)
		fprintf(q->out, "  %-11s%s\n", (*c)->name, (*c)->summary);
	fputs("\noptions:\n", q->out);
	help_tail(q);
}

void lq_cmd_help(struct lq *q, const char *name)
{
	const struct lq_cmd *c = NULL;

	for (const struct lq_cmd *const *p = lq_cmds; *p && !c; p++)
		if (strcmp((*p)->name, name) == 0)
			c = *p;
	if (!c)
		return;
	fprintf(q->out, "usage: " PROG " [--store PATH] [--json] %s\n\n"
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
	const struct lin_opt *const tables[] = { lq_global_opts,
						 lq_head_opts, NULL };
	struct lin_getopt go;
	int c;

	/* '+': the command's own options come after its name. */
	lin_getopt_build(&go, "+:", tables);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shorts, go.longs,
				NULL)) != -1) {
		if (c == 's') {
			q->store_path = optarg;
			continue;
		}
		if (c == OPT_RELOGS) {
			q->relogs = 1;
			continue;
		}
		if (c == OPT_ASOF) {
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
	for (const struct lq_cmd *const *p = lq_cmds; *p; p++) {
		const struct lq_cmd *cmd = *p;
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
	for (const struct lq_cmd *const *p = lq_cmds; *p; p++) {
		const char *cn = (*p)->name;
		size_t d = lin_edit_distance(name, strlen(name), cn,
					     strlen(cn), 2);
		if (d < bd) {
			bd = d;
			best = cn;
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
