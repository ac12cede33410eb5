/* opts.h - one declaration per command-line option. A command declares
 * one table of its options (letter, long name, argument name, help
 * line); getopt_long's short string and `struct option` array and the
 * option lines of its --help are generated from that table here, so an
 * option cannot be parsed without being documented or the other way
 * round. It lives in format/ because format/ is the library both
 * programs link (format/exit.h, their exit statuses, is here too); it
 * knows nothing of files or the store. */
#ifndef LIN_OPTS_H
#define LIN_OPTS_H

#include <getopt.h>
#include <stdio.h>

/* Codes from here on are long-only options (no short letter); below it
 * a code is the option's letter. */
#define LIN_OPT_LONG_ONLY 0x100

struct lin_opt {
	int code;          /* what getopt_long returns for the option */
	const char *name;  /* long name, without "--" */
	const char *arg;   /* the argument's name in --help; NULL: a flag */
	const char *help;  /* help text, lines separated by '\n'; NULL: the
			      option is another name of the one above it
			      (same code) and is shown on that one's line */
};

/* Ends every table. */
#define LIN_OPT_END { 0, NULL, NULL, NULL }

/* The most options one parse combines (the tables together). */
#define LIN_OPTS_MAX 40

/* What getopt_long takes, generated from tables. */
struct lin_getopt {
	char shorts[3 * LIN_OPTS_MAX + 4];
	struct option longs[LIN_OPTS_MAX + 1];
};

/* Fill `g` from `prefix` (getopt's leading flags, e.g. ":" or "+:") and
 * the tables in `tables` (a NULL-terminated list), in order. A letter
 * is listed once even when aliases share it. Returns 0, or -1 when the
 * tables hold more than LIN_OPTS_MAX options or the prefix is longer
 * than 3 characters (a mistake in the program: `g` is then a valid empty
 * parse). */
int lin_getopt_build(struct lin_getopt *g, const char *prefix,
		     const struct lin_opt *const *tables);

/* The column lin_opts_help starts help text in for `t`: two after its
 * widest option, at most LIN_OPTS_COL_MAX. Several tables printed
 * together take the largest of theirs. */
#define LIN_OPTS_COL_MAX 24
int lin_opts_col(const struct lin_opt *t);

/* Write the --help lines of `t`: "  -x, --name ARG  help", the help
 * text starting in column `col` (0: lin_opts_col(t)), its further lines
 * indented to it; a longer option puts its help two spaces after it.
 * Aliases (help NULL) join the line of the option above. */
void lin_opts_help(FILE *f, const struct lin_opt *t, int col);

/* The entry of `t` whose long name is `name`, or NULL. */
const struct lin_opt *lin_opts_find(const struct lin_opt *t,
				    const char *name);

/* The entry of `t` whose code is `code` and whose help is not NULL (the
 * option itself, not an alias), or NULL. */
const struct lin_opt *lin_opts_by_code(const struct lin_opt *t, int code);

/* The option getopt_long has just refused (it returned '?' or ':'), as
 * the user wrote it, for the usage error: "-Z" for a letter, also when
 * it sat in a cluster ("-qZ") or had its value attached; "--name" for a
 * long option, without any "=value". Written to `buf` (its size `cap`)
 * and returned. Reads getopt's optind and optopt. */
const char *lin_opt_culprit(int argc, char *const argv[], char *buf,
			    size_t cap);

#endif
