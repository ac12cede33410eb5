/* test_readme.c - every `$ ...` line of README.md, run as pasted into a
 * shell after the README's own setup: the README shows what the tools
 * say. */
#include <criterion/criterion.h>

#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


/* The README's setup, in a scratch folder that looks like a clone after
 * `make demo`: the programs and fixtures (linked), and build/demo.lmdb. */
static void setup(void)
{
	char cmd[1024], cwd[512];

	cr_assert_not_null(getcwd(cwd, sizeof cwd));
	th_mkdir();
	snprintf(cmd, sizeof cmd, "cd %s && mkdir build && "
		 "for f in lineage-index lineage-query lineage-gen fixtures; "
		 "do ln -s '%s'/$f $f || exit 1; done && "
		 "./lineage-index -q --store build/demo.lmdb fixtures/sample",
		 th_dir, cwd);
	cr_assert_eq(system(cmd), 0, "setting up %s failed", th_dir);
}

TestSuite(readme, .init = setup, .fini = th_rmdir, .timeout = 120);


/* Run one README command line as a shell would after the README's
 * earlier `$ export` lines (`env`), in the scratch folder, without
 * LINEAGE_STORE from the test's own environment; stdout and stderr
 * merged, as a terminal shows them. */
static char *run_line(const char *env, const char *line)
{
	char *script = NULL, *cmd = NULL;
	cr_assert(asprintf(&script, "%s%s\n", env, line) > 0);
	FILE *f;
	char path[TH_PATH_MAX];
	snprintf(path, sizeof path, "%s/.line.sh", th_dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(script, f);
	fclose(f);
	cr_assert(asprintf(&cmd, "cd %s && env -u LINEAGE_STORE sh .line.sh "
			   "2>&1", th_dir) > 0);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char *out = th_slurp(p, NULL);
	pclose(p);
	free(script);
	free(cmd);
	return out;
}

static void strip_trailing_blank(char *s)
{
	size_t n = strlen(s);
	while (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n')
		s[--n] = 0;
}

/* Every `$ ...` line of README.md, pasted into a shell in order: its
 * output must be what the README shows under it (up to the next `$`
 * line, a "# " comment line or the end of the block). */
Test(readme, every_dollar_line_works_as_pasted)
{
	FILE *f = fopen("README.md", "r");
	char line[2048], cmd[2048] = "", want[65536] = "";
	char env[8192] = "";
	int in_code = 0, in_cmd = 0, checked = 0, skip_block = 0;

	cr_assert_not_null(f);
	for (;;) {
		int eof = !fgets(line, sizeof line, f);
		int fence = !eof && strncmp(line, "```", 3) == 0;
		/* "# " lines between commands are the demo's comments;
		 * "# total=" ends a walk's own output */
		int next_cmd = !eof && in_code &&
			       (strncmp(line, "$ ", 2) == 0 ||
				(strncmp(line, "# ", 2) == 0 &&
				 strncmp(line, "# total=", 8) != 0));
		if (in_cmd && (eof || fence || next_cmd)) {
			char *got = run_line(env, cmd);
			strip_trailing_blank(want);
			strip_trailing_blank(got);
			size_t gl = strlen(got);
			if (gl && got[gl - 1] != '\n')
				strcat(got, "\n");
			cr_expect_str_eq(got, want, "README line '$ %s' "
					 "differs", cmd);
			free(got);
			checked++;
			/* later lines see what an export set */
			if (strncmp(cmd, "export ", 7) == 0 &&
			    strlen(env) + strlen(cmd) + 2 < sizeof env) {
				strcat(env, cmd);
				strcat(env, "\n");
			}
			in_cmd = 0;
		}
		if (eof)
			break;
		if (fence) {
			in_code = !in_code;
			if (!in_code)
				skip_block = 0;
			continue;
		}
		/* blocks the Python tests run (tests/test_readme_py.py) */
		if (!in_code && (strstr(line, "<!-- readme-test: pipeline -->") ||
				 strstr(line, "<!-- readme-test: "
					"export-workflow -->")))
			skip_block = 1;
		if (in_code && skip_block)
			continue;
		if (in_code && strncmp(line, "$ ", 2) == 0) {
			snprintf(cmd, sizeof cmd, "%s", line + 2);
			cmd[strcspn(cmd, "\n")] = 0;
			want[0] = 0;
			in_cmd = 1;
			continue;
		}
		if (in_cmd && strlen(want) + strlen(line) < sizeof want)
			strcat(want, line);
	}
	fclose(f);
	cr_assert_geq(checked, 20, "only %d README lines found", checked);
}

/* "Neither program opens a socket": no object of the library or the
 * programs refers to a socket call. */
Test(readme, no_networking_code)
{
	FILE *p = popen("nm -u build/liblineage.a build/indexer/main.o "
			"build/query/main.o 2>&1", "r");
	char line[512];
	int symbols = 0;
	static const char *const net[] = {
		"socket", "connect", "bind", "listen", "accept",
		"getaddrinfo", "gethostbyname", "sendto", "recvfrom"
	};

	cr_assert_not_null(p);
	while (fgets(line, sizeof line, p)) {
		char *sym = strrchr(line, ' ');
		sym = sym ? sym + 1 : line;
		sym[strcspn(sym, "@\n")] = 0;
		symbols++;
		for (size_t i = 0; i < sizeof net / sizeof *net; i++)
			cr_expect_neq(strcmp(sym, net[i]), 0,
				      "'%s' is referenced", sym);
	}
	cr_assert_eq(pclose(p), 0, "nm failed");
	cr_assert_gt(symbols, 50, "nm listed only %d symbols", symbols);
}
