/* test_opts.c - format/opts.c (getopt inputs and --help lines from one
 * table of options) and the agreement of every command's table with its
 * man page: an option in a table and not in the man page, or the other
 * way round, fails here. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "format/opts.h"
#include "helpers.h"
#include "indexer/cli.h"
#include "query/internal.h"

enum { T_LONG = LIN_OPT_LONG_ONLY };

static const struct lin_opt demo[] = {
	{ 'a', "all", NULL, "every one" },
	{ 'd', "depth", "N", "stop after N\nedges" },
	{ 'd', "max-depth", "N", NULL },
	{ T_LONG, "deep", NULL, "read it all" },
	LIN_OPT_END
};

static const struct lin_opt head_demo[] = {
	{ 'h', "help", NULL, "this help" },
	LIN_OPT_END
};

Test(opts, getopt_inputs_from_the_tables)
{
	const struct lin_opt *const tables[] = { head_demo, demo, NULL };
	struct lin_getopt g;

	cr_assert_eq(lin_getopt_build(&g, "+:", tables), 0);
	/* an alias's letter once, a long-only option with no letter */
	cr_assert_str_eq(g.shorts, "+:had:");
	const char *names[] = { "help", "all", "depth", "max-depth", "deep" };
	int vals[] = { 'h', 'a', 'd', 'd', T_LONG };
	int args[] = { no_argument, no_argument, required_argument,
		       required_argument, no_argument };
	for (int i = 0; i < 5; i++) {
		cr_assert_str_eq(g.longs[i].name, names[i]);
		cr_assert_eq(g.longs[i].val, vals[i], "%s", names[i]);
		cr_assert_eq(g.longs[i].has_arg, args[i], "%s", names[i]);
		cr_assert_null(g.longs[i].flag);
	}
	cr_assert_null(g.longs[5].name);
}

Test(opts, too_many_options_is_an_error)
{
	static struct lin_opt many[LIN_OPTS_MAX + 2];
	const struct lin_opt *const tables[] = { many, NULL };
	struct lin_getopt g;

	for (int i = 0; i <= LIN_OPTS_MAX; i++)
		many[i] = (struct lin_opt){ T_LONG + i, "x", NULL, "x" };
	cr_assert_eq(lin_getopt_build(&g, ":", tables), -1);
	cr_assert_null(g.longs[0].name);
	cr_assert_str_eq(g.shorts, "");
}

Test(opts, help_lines)
{
	char *buf = NULL;
	size_t n;
	FILE *f = open_memstream(&buf, &n);

	/* the widest option is over the column's cap: its text follows it
	 * after two spaces, the others start at the cap */
	lin_opts_help(f, demo, 0);
	lin_opts_help(f, head_demo, 8);
	fclose(f);
	cr_assert_str_eq(buf,
	"  -a, --all             every one\n"
	"  -d, --depth N, --max-depth N  stop after N\n"
	"                        edges\n"
	"      --deep            read it all\n"
	"  -h, --help  this help\n");
	free(buf);
	cr_assert_eq(lin_opts_col(head_demo), 2 + 10 + 2);
	cr_assert_eq(lin_opts_find(demo, "max-depth"), &demo[2]);
	cr_assert_eq(lin_opts_by_code(demo, 'd'), &demo[1]);
	cr_assert_null(lin_opts_find(demo, "dep"));
}

/* ---- the man pages ---- */

/* The options a stretch of roff text mentions: "\-\-name" and "\-x". */
struct mentioned {
	struct th_lines longs;
	char shorts[128];
};

static void scan_options(const char *p, const char *end,
			 struct mentioned *m)
{
	while (p + 2 < end) {
		if (strncmp(p, "\\-", 2)) {
			p++;
			continue;
		}
		p += 2;
		if (p + 2 <= end && !strncmp(p, "\\-", 2)) {
			const char *s = p + 2, *e = s;
			while (e < end && (((*e | 32) >= 'a' && (*e | 32) <= 'z')
					   || (*e >= '0' && *e <= '9') ||
					   *e == '-'))
				e++;
			/* "\-\-edge\-\->" is an arrow, not an option */
			if (e > s && (end - e < 2 || strncmp(e, "\\-", 2)))
				th_lines_addn(&m->longs, s, (size_t)(e - s));
			p = e;
			continue;
		}
		int alnum_next = p + 1 < end &&
			(((p[1] | 32) >= 'a' && (p[1] | 32) <= 'z') ||
			 (p[1] >= '0' && p[1] <= '9'));
		if ((((*p | 32) >= 'a' && (*p | 32) <= 'z')) && !alnum_next)
			m->shorts[(unsigned char)*p & 127] = 1;
	}
}

static int has_long(const struct mentioned *m, const char *name)
{
	for (size_t i = 0; i < m->longs.n; i++)
		if (!strcmp(m->longs.v[i], name))
			return 1;
	return 0;
}

/* The text of section `sh` (".SH NAME" up to the next .SH). */
static const char *section(const char *man, const char *sh,
			   const char **end)
{
	char head[64];
	snprintf(head, sizeof head, "\n.SH %s\n", sh);
	const char *p = strstr(man, head);
	cr_assert_not_null(p, "no section %s", sh);
	p += strlen(head);
	*end = strstr(p, "\n.SH ");
	if (!*end)
		*end = p + strlen(p);
	return p;
}

/* The first word of a .TP entry's head line, roff stripped:
 * ".BI artifact \" REF\"", "\\fBpath\\fR \\fIFROM..." -> the command. */
static void head_word(const char *line, char *out, size_t cap)
{
	size_t n = 0;

	if (*line == '.')
		while (*line && *line != ' ' && *line != '\n')
			line++;
	while (*line && *line != '\n' && n + 1 < cap) {
		if (*line == '\\' && line[1] == 'f' && line[2]) {
			line += 3;
			continue;
		}
		if (*line == '"' || (*line == ' ' && n == 0)) {
			line++;
			continue;
		}
		if (*line == ' ' || *line == '\\')
			break;
		out[n++] = *line++;
	}
	out[n] = 0;
}

/* What the man page's COMMANDS entries of `cmd` mention. */
static void command_entries(const char *man, const char *cmd,
			    struct mentioned *m)
{
	const char *end, *p = section(man, "COMMANDS", &end);
	int found = 0;

	while ((p = strstr(p, "\n.TP\n")) && p < end) {
		const char *h = p + 5;
		const char *next = strstr(h, "\n.TP\n");
		if (!next || next > end)
			next = end;
		char word[64];
		head_word(h, word, sizeof word);
		if (!strcmp(word, cmd)) {
			scan_options(h, next, m);
			found = 1;
		}
		p = next;
	}
	cr_assert(found, "lineage-query(1) has no entry for '%s'", cmd);
}

/* Every option of `t` is in `m` (its long name, and its letter). */
static void expect_listed(const struct lin_opt *t, const struct mentioned *m,
			  const char *where)
{
	for (; t && t->name; t++) {
		cr_expect(has_long(m, t->name), "%s: --%s is in the option "
			  "table but not in the man page", where, t->name);
		if (t->code < LIN_OPT_LONG_ONLY && t->help)
			cr_expect(m->shorts[t->code & 127], "%s: -%c is in the "
				  "option table but not in the man page",
				  where, t->code);
	}
}

/* Every option `m` mentions is in one of `tables` (NULL-terminated). */
static void expect_declared(const struct mentioned *m,
			    const struct lin_opt *const *tables,
			    const char *where)
{
	for (size_t i = 0; i < m->longs.n; i++) {
		int ok = 0;
		for (const struct lin_opt *const *t = tables; *t && !ok; t++)
			ok = lin_opts_find(*t, m->longs.v[i]) != NULL;
		cr_expect(ok, "%s: the man page has --%s, no option table "
			  "does", where, m->longs.v[i]);
	}
	for (int c = 0; c < 128; c++) {
		if (!m->shorts[c])
			continue;
		int ok = 0;
		for (const struct lin_opt *const *t = tables; *t && !ok; t++)
			ok = lin_opts_by_code(*t, c) != NULL;
		cr_expect(ok, "%s: the man page has -%c, no option table "
			  "does", where, c);
	}
}

static void mentioned_free(struct mentioned *m)
{
	th_lines_free(&m->longs);
}

Test(opts, query_man_page_lists_each_commands_options)
{
	char *man = th_read_file("man/lineage-query.1", NULL);
	int n = 0;

	for (const struct lq_cmd *const *c = lq_cmds; *c; c++, n++) {
		struct mentioned m;

		memset(&m, 0, sizeof m);
		const struct lin_opt *const tables[] = {
			(*c)->opts ? (*c)->opts : lq_head_opts, lq_head_opts,
			lq_global_opts,
			lq_lists((*c)->name) ? lq_format_opts : lq_head_opts,
			NULL };
		command_entries(man, (*c)->name, &m);
		expect_listed((*c)->opts, &m, (*c)->name);
		expect_declared(&m, tables, (*c)->name);
		mentioned_free(&m);
	}
	cr_expect_geq(n, 16);

	/* the options every command takes, in OPTIONS */
	struct mentioned m;
	memset(&m, 0, sizeof m);
	const char *end, *p = section(man, "OPTIONS", &end);
	const struct lin_opt *const tables[] = { lq_head_opts,
						 lq_global_opts,
						 lq_format_opts, NULL };
	scan_options(p, end, &m);
	expect_listed(lq_head_opts, &m, "OPTIONS");
	expect_listed(lq_global_opts, &m, "OPTIONS");
	expect_listed(lq_format_opts, &m, "OPTIONS");
	expect_declared(&m, tables, "OPTIONS");
	mentioned_free(&m);
	free(man);
}

Test(opts, index_man_page_lists_its_options)
{
	char *man = th_read_file("man/lineage-index.1", NULL);
	struct mentioned m;
	const char *end, *p = section(man, "OPTIONS", &end);
	const struct lin_opt *const tables[] = { lin_index_opts, NULL };

	memset(&m, 0, sizeof m);
	scan_options(p, end, &m);
	expect_listed(lin_index_opts, &m, "lineage-index");
	expect_declared(&m, tables, "lineage-index");
	mentioned_free(&m);
	free(man);
}
