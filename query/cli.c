/* cli.c - lineage-query's entry points: the subcommand table, the
 * program's own options and the dispatch to a command, the retries of a
 * read without the lock file, and the exit statuses. What the commands
 * share lives below it (cmdkit.c, cmdopts.c), never calling back.
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
#include "query/prefetch.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The commands, in the order --help lists them; each declares its
 * options and help in its own cmd_*.c. */
const struct lq_cmd *const lq_cmds[] = {
	&lq_artifact, &lq_logged_by, &lq_used_by, &lq_run, &lq_logged,
	&lq_used, &lq_lineage, &lq_path, &lq_impact, &lq_provenance,
	&lq_graph, &lq_ls, &lq_stats, &lq_check, &lq_diff, &lq_export,
	NULL
};

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
		if (c == LQ_OPT_RELOGS) {
			q->relogs = 1;
			continue;
		}
		if (c == LQ_OPT_ASOF) {
			char why[160];
			if (lq_parse_time(optarg, &q->asof))
				return lq_usage(q, NULL, "bad --as-of '%s': "
						"%s", optarg,
						lq_time_why(optarg, why,
							    sizeof why));
			q->has_asof = 1;
			continue;
		}
		int r = lq_common_opt(q, NULL, c, argc, argv);
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
		lq_close_store(q);
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
		fprintf(errf, LQ_PROG ": out of memory\n");
		free(q);
		free(av);
		return LQ_SOFTWARE;
	}
	for (int attempt = 1;; attempt++) {
		memset(q, 0, sizeof *q);
		q->out = out;
		q->err = errf;
		q->prog = LQ_PROG;
		q->cmds = lq_cmds;
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
		if (sig) {  /* helpers of abandoned walks, before the store
			       closes; views the jump went past */
			lin_prefetch_abandon_all();
			lin_view_abandon_all();
		}
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
	lin_guard_init(LQ_PROG);
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
