/* test_readme.c - every `$ lineage-query ...` example in README.md,
 * run against the sample project: the README shows what the tools say. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
	char cmd[256];

	snprintf(dir, sizeof dir, "/tmp/lin-readme-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof cmd, "./lineage-index -q --store %s/s.lmdb "
		 "fixtures/sample", dir);
	cr_assert_eq(system(cmd), 0, "indexing the sample failed");
	/* the W&B examples run against their own store */
	snprintf(cmd, sizeof cmd, "./lineage-index -q --store %s/w.lmdb "
		 "fixtures/wandb-sample 2>/dev/null", dir);
	cr_assert_eq(system(cmd), 0, "indexing the W&B sample failed");
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(readme, .init = setup, .fini = teardown);

static char *slurp(FILE *f)
{
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	char chunk[4096];

	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (n + got + 1 > cap) {
			cap = (n + got + 1) * 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		memcpy(buf + n, chunk, got);
		n += got;
	}
	if (!buf)
		buf = calloc(1, 1);
	buf[n] = 0;
	return buf;
}

/* Output of `args` (stdout then stderr, as a terminal shows them when
 * only one of the two is used). */
static char *run_query(const char *store, const char *args)
{
	char cmd[2400];
	snprintf(cmd, sizeof cmd, "./lineage-query --store %s/%s %s "
		 "2>%s/err", dir, store, args, dir);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char *out = slurp(p);
	pclose(p);
	snprintf(cmd, sizeof cmd, "%s/err", dir);
	FILE *e = fopen(cmd, "r");
	cr_assert_not_null(e);
	char *err = slurp(e);
	fclose(e);
	char *all = malloc(strlen(out) + strlen(err) + 1);
	strcpy(all, out);
	strcat(all, err);
	free(out);
	free(err);
	return all;
}

static void strip_trailing_blank(char *s)
{
	size_t n = strlen(s);
	while (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n')
		s[--n] = 0;
}

Test(readme, examples_match_the_tools)
{
	FILE *f = fopen("README.md", "r");
	char line[2048], args[2048] = "", want[65536] = "";
	int in_code = 0, in_cmd = 0, checked = 0;
	/* A "<!-- readme-test: store fixtures/wandb-sample -->" line before
	 * a block runs it against the W&B sample instead of the sample
	 * project. */
	const char *store = "s.lmdb";

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
			char *got = run_query(store, args);
			strip_trailing_blank(want);
			strip_trailing_blank(got);
			size_t gl = strlen(got);
			if (gl && got[gl - 1] != '\n')
				strcat(got, "\n");
			cr_expect_str_eq(got, want, "README example "
					 "'lineage-query %s' differs", args);
			free(got);
			checked++;
			in_cmd = 0;
		}
		if (eof)
			break;
		if (fence) {
			in_code = !in_code;
			if (!in_code)
				store = "s.lmdb";
			continue;
		}
		if (!in_code && strstr(line, "<!-- readme-test: store "
				       "fixtures/wandb-sample -->"))
			store = "w.lmdb";
		/* blocks the Python tests run (tests/test_readme_py.py) */
		if (!in_code && strstr(line, "<!-- readme-test: pipeline -->"))
			store = NULL;
		if (in_code && !store)
			continue;
		if (in_code && strncmp(line, "$ lineage-query ", 16) == 0) {
			snprintf(args, sizeof args, "%s", line + 16);
			args[strcspn(args, "\n")] = 0;
			want[0] = 0;
			in_cmd = 1;
			continue;
		}
		if (in_cmd && strlen(want) + strlen(line) < sizeof want)
			strcat(want, line);
	}
	fclose(f);
	cr_assert_geq(checked, 10, "only %d README examples found", checked);
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
