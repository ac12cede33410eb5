/* cli.c - lineage-index: options, progress and the summary (cli.h). The
 * work is in ingest.c. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/guard.h"
#include "format/exit.h"
#include "format/opts.h"
#include "format/store.h"
#include "indexer/cli.h"
#include "format/compact.h"
#include "indexer/ingest.h"
#include "indexer/rebuild.h"

#define PROG "lineage-index"


struct cli {
	int verbose, quiet, json, tty, progress_shown;
	int missing;
	int rebuild;  /* --rebuild: vanished sources are left out */
};

/* Codes of the long-only options. */
enum { OPT_PRUNE = LIN_OPT_LONG_ONLY, OPT_SYNC, OPT_REBUILD, OPT_COMPACT,
       OPT_JSON };

const struct lin_opt lin_index_opts[] = {
	{ 's', "store", "PATH", "store file (default $LINEAGE_STORE, else\n"
	  "./lineage.lmdb); created when missing" },
	{ 'e', "entity", "E", "entity for records that name none (default "
	  "local)" },
	{ 'p', "project", "P", "project for records that name none "
	  "(default\ndefault)" },
	{ OPT_PRUNE, "prune", NULL, "remove what vanished files "
	  "contributed" },
	{ OPT_SYNC, "sync", NULL, "commit and flush each file on its own "
	  "(default:\ncommits every half second, flushes every second)" },
	{ OPT_REBUILD, "rebuild", NULL, "re-index every source the store "
	  "names (and the\nPATHs) into a new store, then swap it in; for a"
	  "\ndamaged store (give the PATHs again when its\nlist of sources "
	  "cannot be read)" },
	{ OPT_COMPACT, "compact-to", "COPY", "write a compacted copy of the "
	  "store to COPY\n(a new file) for shipping; it can be read on\n"
	  "read-only media without a lock file" },
	{ OPT_JSON, "json", NULL, "print the summary as one JSON object" },
	{ 'v', "verbose", NULL, "list every file and what happened to it" },
	{ 'q', "quiet", NULL, "print nothing but errors" },
	{ 'h', "help", NULL, "show this help" },
	{ 'V', "version", NULL, "show the version" },
	LIN_OPT_END
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [--store PATH] [--entity E] [--project P] [--prune]\n"
"                     [--sync] [--json] [-v|-q] PATH...\n"
"       " PROG " [--store PATH] --rebuild [PATH...]\n"
"       " PROG " [--store PATH] [PATH...] --compact-to COPY\n"
"\n"
"Index run logs (runlog files, plain or gzip, and W&B .wandb transaction\n"
"logs) into a lineage store. PATHs are files or folders (searched\n"
"recursively; files are recognised by their content). Archives (.tar,\n"
".tar.gz, .tar.bz2, .tar.xz, .tar.zst, .zip) are read in place; their\n"
"members are named ARCHIVE//MEMBER. Re-running skips unchanged files,\n"
"re-reads changed ones, re-keys moved ones (a file whose old path is\n"
"gone, with the same size and inode and mtime, or the same checksum)\n"
"and reports vanished ones (also those outside the PATHs given).\n"
"\n");
	/* the column of the text --help has always had */
	lin_opts_help(f, lin_index_opts, 22);
	fprintf(f,
"\n"
"exit status: 0 all indexed, 65 a file rejected or records skipped,\n"
"66 a PATH does not exist, 64 usage error, 70 internal error,\n"
"74 store cannot be opened or written\n");
}

static void clear_progress(struct cli *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = 0;
	}
}

/* A path or message with control bytes shown as \n, \t or \xNN, so a
 * file name holding a newline cannot forge or split a line. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			putc(ch, f);
	}
}

static void on_file(void *ctx, enum lin_file_status st, const char *path,
		    const struct lin_err *err, uint64_t done)
{
	struct cli *c = ctx;
	char buf[1200];
	static const char *const verb[] = {
		"indexed", "unchanged", "rejected", "warning", "vanished",
		"pruned", "ignored", "partial", "moved"
	};

	if (st == LIN_FILE_REJECTED || st == LIN_FILE_WARNING ||
	    st == LIN_FILE_PARTIAL) {
		clear_progress(c);
		if (err && err->code == LIN_ENOTFOUND)
			c->missing = 1;
		if (st == LIN_FILE_PARTIAL && c->quiet)
			return;
		fprintf(stderr, PROG ": %s", st == LIN_FILE_WARNING ?
			"warning: " : st == LIN_FILE_PARTIAL ? "note: " : "");
		put_escaped(stderr, err ? lin_err_format(err, buf, sizeof buf)
					: path);
		fprintf(stderr, "%s\n", st == LIN_FILE_PARTIAL ?
			"; complete records kept" : "");
		return;
	}
	if (st == LIN_FILE_VANISHED && !c->quiet) {
		clear_progress(c);
		fputs(PROG ": ", stderr);
		put_escaped(stderr, path);
		fputs(c->rebuild ? ": vanished since it was indexed (left out "
		      "of the rebuilt store)\n" : ": vanished since it was "
		      "indexed (--prune removes what it contributed)\n",
		      stderr);
		return;
	}
	if (c->verbose && !c->json) {
		clear_progress(c);
		printf("%-9s ", verb[st]);
		put_escaped(stdout, path);
		putchar('\n');
		return;
	}
	if (c->tty && !c->quiet && (st == LIN_FILE_INDEXED ||
				    st == LIN_FILE_UNCHANGED)) {
		const char *shown = path;
		size_t n = strlen(path);
		if (n > 60)
			shown = path + n - 60;
		fprintf(stderr, "\r\033[K%llu files  %s",
			(unsigned long long)done, n > 60 ? "..." : "");
		put_escaped(stderr, shown);
		c->progress_shown = 1;
	}
}

static void print_summary(const struct lin_index_stats *s, int json)
{
	if (json) {
		printf("{\"indexed\":%llu,\"unchanged\":%llu,\"rejected\":%llu,"
		       "\"vanished\":%llu,\"pruned\":%llu,\"ignored\":%llu,"
		       "\"records\":%llu,\"bad_records\":%llu,"
		       "\"unknown_records\":%llu,\"bytes\":%llu,"
		       "\"runs\":%llu,\"versions\":%llu,\"edges\":%llu,"
		       "\"pending\":%llu,\"sources\":%llu,\"partial\":%llu,"
		       "\"moved\":%llu}\n",
		       (unsigned long long)s->indexed,
		       (unsigned long long)s->unchanged,
		       (unsigned long long)s->rejected,
		       (unsigned long long)s->vanished,
		       (unsigned long long)s->pruned,
		       (unsigned long long)s->ignored,
		       (unsigned long long)s->records,
		       (unsigned long long)s->bad_records,
		       (unsigned long long)s->skipped,
		       (unsigned long long)s->bytes,
		       (unsigned long long)s->runs,
		       (unsigned long long)s->versions,
		       (unsigned long long)s->edges,
		       (unsigned long long)s->pending,
		       (unsigned long long)s->sources,
		       (unsigned long long)s->partial,
		       (unsigned long long)s->moved);
		return;
	}
	printf("files:  %llu indexed, %llu unchanged, %llu rejected, "
	       "%llu vanished, %llu pruned",
	       (unsigned long long)s->indexed,
	       (unsigned long long)s->unchanged,
	       (unsigned long long)s->rejected,
	       (unsigned long long)s->vanished,
	       (unsigned long long)s->pruned);
	if (s->moved)  /* rare: shown only when it happened */
		printf(", %llu moved", (unsigned long long)s->moved);
	if (s->partial)
		printf(" (%llu still being written)",
		       (unsigned long long)s->partial);
	putchar('\n');
	printf("records: %llu indexed, %llu skipped as invalid, "
	       "%llu of unknown kind\n",
	       (unsigned long long)s->records,
	       (unsigned long long)s->bad_records,
	       (unsigned long long)s->skipped);
	printf("store:  %llu runs, %llu versions, %llu edges, "
	       "%llu pending uses\n",
	       (unsigned long long)s->runs,
	       (unsigned long long)s->versions,
	       (unsigned long long)s->edges,
	       (unsigned long long)s->pending);
}

/* "lineage-index: MSG" and the pointer to --help; returns 64. */
static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry '" PROG " --help'.\n", stderr);
	return LIN_EXIT_USAGE;
}


/* Print why the run could not go on (escaped like the per-file
 * messages: it names the store path); its exit status. */
static int failed(const struct lin_err *err, int rc)
{
	char buf[1200];

	fputs(PROG ": ", stderr);
	put_escaped(stderr, lin_err_format(err, buf, sizeof buf));
	fputc('\n', stderr);
	return rc == LIN_ENOMEM ? LIN_EXIT_SOFTWARE :
	       rc == LIN_ESCHEMA || rc == LIN_ECORRUPT ? LIN_EXIT_DATA :
	       rc == LIN_ENOTFOUND ? LIN_EXIT_NOINPUT : LIN_EXIT_IO;
}

/* ---- stopping on a signal ---- */

static volatile sig_atomic_t stop_sig;

/* First SIGINT/SIGTERM/SIGHUP: finish the current file, commit, print
 * the summary (ingest.c polls stop_sig). A second one: stop at once;
 * the store stays as of its last commit (every commit is whole). */
static void on_stop(int sig)
{
	if (stop_sig) {
		static const char msg[] = PROG ": stopped at once; the store "
			"keeps what was committed before\n";
		(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
		_exit(128 + sig);
	}
	stop_sig = sig;
}

static void catch_stops(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* --compact-to: the copy, after indexing when PATHs were given (st is
 * then that run's summary). */
static int compact(const char *store, const char *to, struct cli *c,
		   const struct lin_index_stats *st)
{
	struct lin_err err;
	uint64_t from_size = 0, to_size = 0;
	int rc;

	if (st && !c->quiet)
		print_summary(st, c->json);
	rc = lin_store_compact(store, to, &from_size, &to_size, &err);
	if (rc)
		return failed(&err, rc);
	if (c->json) {
		fputs("{\"compacted\":\"", stdout);
		for (const unsigned char *p = (const unsigned char *)to; *p;
		     p++) {
			if (*p == '"' || *p == '\\')
				printf("\\%c", *p);
			else if (*p < 0x20)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
		printf("\",\"bytes\":%llu,\"copy_bytes\":%llu}\n",
		       (unsigned long long)from_size,
		       (unsigned long long)to_size);
	}
	else if (!c->quiet) {
		fputs("compact: ", stdout);
		put_escaped(stdout, store);
		printf(" (%llu bytes) -> ", (unsigned long long)from_size);
		put_escaped(stdout, to);
		printf(" (%llu bytes)\n", (unsigned long long)to_size);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write output: %s\n",
			strerror(errno));
		return LIN_EXIT_IO;
	}
	if (c->missing)
		return LIN_EXIT_NOINPUT;
	return st && (st->rejected || st->bad_records) ? LIN_EXIT_DATA
							 : LIN_EXIT_OK;
}



int lin_index_main(int argc, char **argv)
{
	const struct lin_opt *const tables[] = { lin_index_opts, NULL };
	struct lin_getopt go;
	struct lin_index_opts o = { 0 };
	struct lin_index_stats st;
	struct lin_err err;
	struct cli c = { 0 };
	const char *store = NULL, *compact_to = NULL;
	int ch, rc, rebuild = 0;
	char bad[64];

	lin_guard_init(PROG);
	opterr = 0;  /* our own message, with the program's name */
	optind = 0;  /* a full rescan: the tests call this more than once */
	lin_getopt_build(&go, ":", tables);
	while ((ch = getopt_long(argc, argv, go.shorts, go.longs, NULL)) !=
	       -1) {
		switch (ch) {
		case 's': store = optarg; break;
		case 'e': o.entity = optarg; break;
		case 'p': o.project = optarg; break;
		case OPT_PRUNE: o.prune = 1; break;
		case OPT_SYNC: o.sync = 1; break;
		case OPT_REBUILD: rebuild = c.rebuild = 1; break;
		case OPT_COMPACT: compact_to = optarg; break;
		case OPT_JSON: c.json = 1; break;
		case 'v': c.verbose = 1; break;
		case 'q': c.quiet = 1; break;
		case 'h': usage(stdout); return LIN_EXIT_OK;
		case 'V': printf(PROG " %s\n", LIN_VERSION);
			  return LIN_EXIT_OK;
		/* The same wording as lineage-query's usage errors. */
		case ':':
			return usage_error("option '%s' needs a value",
					   lin_opt_culprit(argc, argv, bad,
							   sizeof bad));
		default:
			return usage_error("unknown option '%s'",
					   lin_opt_culprit(argc, argv, bad,
							   sizeof bad));
		}
	}
	if (compact_to && !*compact_to)
		return usage_error("--compact-to needs a file name");
	if (optind >= argc && !rebuild && !compact_to)
		return usage_error("no PATH to index");
	if ((o.entity && !*o.entity) || (o.project && !*o.project))
		return usage_error("--entity and --project cannot be empty");
	if (o.entity && strchr(o.entity, '/'))
		return usage_error("--entity cannot hold a '/'");
	if (o.project && strchr(o.project, '/'))
		return usage_error("--project cannot hold a '/'");
	if (!store)
		store = lin_store_default_path();
	c.tty = isatty(STDERR_FILENO);
	catch_stops();
	o.stop = &stop_sig;
	o.report = on_file;
	o.report_ctx = &c;
	memset(&st, 0, sizeof st);
	if (rebuild)
		rc = lin_index_rebuild(store, (const char *const *)argv +
				       optind, (size_t)(argc - optind), &o,
				       &st, &err);
	else if (optind < argc)
		rc = lin_index_paths(store, (const char *const *)argv + optind,
				     (size_t)(argc - optind), &o, &st, &err);
	else
		rc = 0;
	clear_progress(&c);
	if (rc == 0 && compact_to && !st.interrupted)
		return compact(store, compact_to, &c,
			       rebuild || optind < argc ? &st : NULL);
	if (rc)
		return failed(&err, rc);
	if (!c.quiet)
		print_summary(&st, c.json);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write output: %s\n",
			strerror(errno));
		return LIN_EXIT_IO;
	}
	if (st.interrupted) {
		const char *name = sigabbrev_np(st.interrupted);
		if (rebuild)
			fprintf(stderr, PROG ": interrupted by SIG%s: the "
				"rebuild was abandoned; the store is left as "
				"it was\n", name ? name : "NAL");
		else
			fprintf(stderr, PROG ": interrupted by SIG%s: %llu "
				"files indexed and committed; run the same "
				"command again to finish\n",
				name ? name : "NAL",
				(unsigned long long)st.indexed);
		return 128 + st.interrupted;
	}
	if (c.missing)
		return LIN_EXIT_NOINPUT;
	return st.rejected || st.bad_records ? LIN_EXIT_DATA : LIN_EXIT_OK;
}
