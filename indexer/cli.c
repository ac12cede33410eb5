/* cli.c - lineage-index: options, progress and the summary (cli.h). The
 * work is in ingest.c. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/exit.h"
#include "format/store.h"
#include "indexer/cli.h"
#include "indexer/ingest.h"

#define PROG "lineage-index"

struct cli {
	int verbose, quiet, json, tty, progress_shown;
	int missing;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [--store PATH] [--entity E] [--project P] [--prune]\n"
"                     [--sync] [--json] [-v|-q] PATH...\n"
"\n"
"Index run logs (runlog files, plain or gzip, and W&B .wandb transaction\n"
"logs) into a lineage store. PATHs are files or folders (searched\n"
"recursively; files are recognised by their content). Archives (.tar,\n"
".tar.gz, .tar.bz2, .tar.xz, .tar.zst, .zip) are read in place; their\n"
"members are named ARCHIVE//MEMBER. Re-running skips unchanged files,\n"
"re-reads changed ones, re-keys moved ones (a file whose old path is\n"
"gone, with the same size and inode and mtime, or the same checksum)\n"
"and reports vanished ones (also those outside the PATHs given).\n"
"\n"
"  -s, --store PATH    store file (default $LINEAGE_STORE, else\n"
"                      ./lineage.lmdb); created when missing\n"
"  -e, --entity E      entity for records that name none (default local)\n"
"  -p, --project P     project for records that name none (default\n"
"                      default)\n"
"      --prune         remove what vanished files contributed\n"
"      --sync          commit and flush each file on its own (default:\n"
"                      commits every half second, flushes every second)\n"
"      --json          print the summary as one JSON object\n"
"  -v, --verbose       list every file and what happened to it\n"
"  -q, --quiet         print nothing but errors\n"
"  -h, --help          show this help\n"
"  -V, --version       show the version\n"
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
		fputs(": vanished since it was indexed (--prune removes what "
		      "it contributed)\n", stderr);
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

int lin_index_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "entity", required_argument, NULL, 'e' },
		{ "project", required_argument, NULL, 'p' },
		{ "prune", no_argument, NULL, 'P' },
		{ "sync", no_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct lin_index_opts o = { 0 };
	struct lin_index_stats st;
	struct lin_err err;
	struct cli c = { 0 };
	const char *store = NULL;
	int ch, rc;

	opterr = 0;  /* our own message, with the program's name */
	optind = 0;  /* a full rescan: the tests call this more than once */
	while ((ch = getopt_long(argc, argv, ":s:e:p:vqhV", opts, NULL)) !=
	       -1) {
		switch (ch) {
		case 's': store = optarg; break;
		case 'e': o.entity = optarg; break;
		case 'p': o.project = optarg; break;
		case 'P': o.prune = 1; break;
		case 'S': o.sync = 1; break;
		case 'j': c.json = 1; break;
		case 'v': c.verbose = 1; break;
		case 'q': c.quiet = 1; break;
		case 'h': usage(stdout); return LIN_EXIT_OK;
		case 'V': printf(PROG " %s\n", LIN_VERSION);
			  return LIN_EXIT_OK;
		/* The same wording as lineage-query's usage errors. */
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no PATH to index");
	if ((o.entity && !*o.entity) || (o.project && !*o.project))
		return usage_error("--entity and --project cannot be empty");
	if (!store)
		store = lin_store_default_path();
	c.tty = isatty(STDERR_FILENO);
	o.report = on_file;
	o.report_ctx = &c;
	rc = lin_index_paths(store, (const char *const *)argv + optind,
			     (size_t)(argc - optind), &o, &st, &err);
	clear_progress(&c);
	if (rc) {
		char buf[1200];
		fprintf(stderr, PROG ": %s\n",
			lin_err_format(&err, buf, sizeof buf));
		return rc == LIN_ENOMEM ? LIN_EXIT_SOFTWARE :
		       rc == LIN_ESCHEMA ? LIN_EXIT_DATA : LIN_EXIT_IO;
	}
	if (!c.quiet)
		print_summary(&st, c.json);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write output: %s\n",
			strerror(errno));
		return LIN_EXIT_IO;
	}
	if (c.missing)
		return LIN_EXIT_NOINPUT;
	return st.rejected || st.bad_records ? LIN_EXIT_DATA : LIN_EXIT_OK;
}
