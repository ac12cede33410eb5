/* opts.c - getopt_long's inputs and --help lines generated from one
 * table of options per command (opts.h). */
#include "format/opts.h"

#include <string.h>

static int has_letter(int code)
{
	return code > 0 && code < LIN_OPT_LONG_ONLY;
}

int lin_getopt_build(struct lin_getopt *g, const char *prefix,
		     const struct lin_opt *const *tables)
{
	size_t ns = strlen(prefix), nl = 0;

	memset(g, 0, sizeof *g);
	if (ns > 3)
		return -1;
	memcpy(g->shorts, prefix, ns);
	for (; *tables; tables++) {
		for (const struct lin_opt *o = *tables; o->name; o++) {
			if (nl == LIN_OPTS_MAX) {
				memset(g, 0, sizeof *g);
				return -1;
			}
			g->longs[nl].name = o->name;
			g->longs[nl].has_arg = o->arg ? required_argument :
					       no_argument;
			g->longs[nl].flag = NULL;
			g->longs[nl].val = o->code;
			nl++;
			/* an alias shares its letter: list it once */
			if (!has_letter(o->code) ||
			    memchr(g->shorts, o->code, ns))
				continue;
			g->shorts[ns++] = (char)o->code;
			if (o->arg)
				g->shorts[ns++] = ':';
		}
	}
	return 0;
}

/* The left column of option `o` and its aliases after it: "-x, --name
 * ARG, --other ARG". Returns its width; writes it to `f` when not NULL. */
static int left(FILE *f, const struct lin_opt *o)
{
	char buf[256];
	int n;

	if (has_letter(o->code))
		n = snprintf(buf, sizeof buf, "-%c, --%s", o->code, o->name);
	else
		n = snprintf(buf, sizeof buf, "    --%s", o->name);
	if (o->arg)
		n += snprintf(buf + n, sizeof buf - (size_t)n, " %s", o->arg);
	for (const struct lin_opt *a = o + 1; a->name && !a->help; a++) {
		n += snprintf(buf + n, sizeof buf - (size_t)n, ", --%s",
			      a->name);
		if (a->arg)
			n += snprintf(buf + n, sizeof buf - (size_t)n, " %s",
				      a->arg);
	}
	if (f)
		fputs(buf, f);
	return n;
}

int lin_opts_col(const struct lin_opt *t)
{
	int col = 0;

	for (const struct lin_opt *o = t; o->name; o++) {
		int w = o->help ? 2 + left(NULL, o) + 2 : 0;
		if (w > col)
			col = w;
	}
	return col > LIN_OPTS_COL_MAX ? LIN_OPTS_COL_MAX : col;
}

void lin_opts_help(FILE *f, const struct lin_opt *t, int col)
{
	if (col <= 0)
		col = lin_opts_col(t);
	for (const struct lin_opt *o = t; o->name; o++) {
		if (!o->help)
			continue;
		fputs("  ", f);
		int w = 2 + left(f, o);
		const char *s = o->help;
		fprintf(f, "%*s", w + 2 > col ? 2 : col - w, "");
		for (;;) {
			const char *nl = strchr(s, '\n');
			if (!nl) {
				fprintf(f, "%s\n", s);
				break;
			}
			fprintf(f, "%.*s\n%*s", (int)(nl - s), s, col, "");
			s = nl + 1;
		}
	}
}

const struct lin_opt *lin_opts_find(const struct lin_opt *t,
				    const char *name)
{
	for (; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

const struct lin_opt *lin_opts_by_code(const struct lin_opt *t, int code)
{
	for (; t->name; t++)
		if (t->code == code && t->help)
			return t;
	return NULL;
}

const char *lin_opt_culprit(int argc, char *const argv[], char *buf,
			    size_t cap)
{
	int letter = optopt > 0 && optopt < 0x7f && optopt != '-';
	const char *cur = optind < argc ? argv[optind] : NULL;
	const char *prev = optind > 0 ? argv[optind - 1] : "";

	/* getopt leaves optind on a cluster until its last letter */
	if (letter && cur && cur[0] == '-' && cur[1] != '-' &&
	    strchr(cur + 1, optopt))
		snprintf(buf, cap, "-%c", optopt);
	else if (prev[0] == '-' && prev[1] == '-')
		snprintf(buf, cap, "%.*s", (int)strcspn(prev, "="), prev);
	else if (letter)
		snprintf(buf, cap, "-%c", optopt);
	else
		snprintf(buf, cap, "%s", prev);
	return buf;
}
