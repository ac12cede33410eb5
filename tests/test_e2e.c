/* test_e2e.c - end-to-end tests: the built programs (./lineage-index,
 * ./lineage-query, ./lineage-gen, run from the repository root) on the
 * committed fixtures, with exact answers, exit codes and messages. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define INDEX "./lineage-index"
#define QUERY "./lineage-query"
#define GEN "./lineage-gen"
#define SAMPLE "fixtures/sample"
#define EXPECTED "fixtures/sample-expected"
#define BAD "fixtures/bad"
#define WSAMPLE "fixtures/wandb-sample"
#define WREAL "../shared/fixtures/wandb-real"
#define NOBODY 65534
/* The child's exit code when it could not become NOBODY or exec. */
#define CHILD_SETUP_FAILED 125

static void mk_tmp(void)
{
	th_mkdir();
	cr_assert_eq(access(INDEX, X_OK) | access(QUERY, X_OK) |
		     access(GEN, X_OK), 0,
		     "the programs are not built: run 'make' first (tests run "
		     "from the repository root)");
}

TestSuite(e2e, .init = mk_tmp, .fini = th_rmdir);

/* ---- running a program ------------------------------------------------ */

struct proc {
	char *out, *err;        /* NUL-terminated captures */
	size_t nout, nerr;
	int code;               /* exit status; 128 + N for signal N */
};

static void proc_free(struct proc *p)
{
	free(p->out);
	free(p->err);
	memset(p, 0, sizeof *p);
}

static void append(char **buf, size_t *n, const char *p, size_t k)
{
	*buf = realloc(*buf, *n + k + 1);
	cr_assert_not_null(*buf);
	memcpy(*buf + *n, p, k);
	*n += k;
	(*buf)[*n] = '\0';
}

/* Run argv (argv[0] a path) with stdin from /dev/null, capturing stdout
 * and stderr apart. With `as_nobody`, the child drops to uid/gid NOBODY
 * first. LINEAGE_STORE is removed so only --store names a store. */
static void run_argv(struct proc *p, char *const argv[], int as_nobody)
{
	int po[2], pe[2], status;
	struct pollfd fds[2];
	char buf[65536];
	pid_t pid;

	memset(p, 0, sizeof *p);
	append(&p->out, &p->nout, "", 0);
	append(&p->err, &p->nerr, "", 0);
	cr_assert_eq(pipe(po) | pipe(pe), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		unsetenv("LINEAGE_STORE");
		if (as_nobody && (setgroups(0, NULL) != 0 ||
				  setgid(NOBODY) != 0 ||
				  setuid(NOBODY) != 0 || chdir("/") != 0)) {
			dprintf(2, "e2e: cannot become nobody: %s\n",
				strerror(errno));
			_exit(CHILD_SETUP_FAILED);
		}
		execv(argv[0], argv);
		dprintf(2, "e2e: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(CHILD_SETUP_FAILED);
	}
	close(po[1]);
	close(pe[1]);
	fds[0] = (struct pollfd){ .fd = po[0], .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = pe[0], .events = POLLIN };
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		int i, rc = poll(fds, 2, 20000);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			kill(pid, SIGKILL);
			cr_assert_fail("%s: no output for 20 s (hung?)",
				       argv[0]);
		}
		for (i = 0; i < 2; i++) {
			ssize_t k;

			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			k = read(fds[i].fd, buf, sizeof buf);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
			} else if (i == 0) {
				append(&p->out, &p->nout, buf, (size_t)k);
			} else {
				append(&p->err, &p->nerr, buf, (size_t)k);
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	p->code = WIFEXITED(status) ? WEXITSTATUS(status)
				    : 128 + WTERMSIG(status);
}

/* Run "PROG ARGS..." where the words are split on spaces (no argument
 * here contains one). */
static void run_line(struct proc *p, int as_nobody, const char *fmt, ...)
{
	char line[4096], *argv[64], *save = NULL, *w;
	size_t n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (w = strtok_r(line, " ", &save); w && n < 63;
	     w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	cr_assert_gt(n, 0);
	run_argv(p, argv, as_nobody);
}

#define RUN(p, ...) run_line((p), 0, __VA_ARGS__)

/* ---- files and text --------------------------------------------------- */

/* Remove every line that starts with `prefix` (in place). */
static void drop_lines(char *s, size_t *n, const char *prefix)
{
	char *r = s, *w = s, *end = s + *n;

	while (r < end) {
		char *nl = memchr(r, '\n', (size_t)(end - r));
		size_t len = nl ? (size_t)(nl - r) + 1 : (size_t)(end - r);

		if (strncmp(r, prefix, strlen(prefix)) != 0) {
			memmove(w, r, len);
			w += len;
		}
		r += len;
	}
	*w = '\0';
	*n = (size_t)(w - s);
}

/* 1-based number of the first line where a and b differ, and that line
 * of each (copied into la/lb). */
static int first_diff(const char *a, const char *b, char *la, char *lb,
		      size_t cap)
{
	int line = 1;

	for (;;) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		size_t na = ea ? (size_t)(ea - a) : strlen(a);
		size_t nb = eb ? (size_t)(eb - b) : strlen(b);

		if (na != nb || memcmp(a, b, na) != 0 || !ea != !eb) {
			snprintf(la, cap, "%.*s%s", (int)na, a,
				 ea ? "" : " <no newline/end>");
			snprintf(lb, cap, "%.*s%s", (int)nb, b,
				 eb ? "" : " <no newline/end>");
			return line;
		}
		if (!ea)
			return 0;
		a = ea + 1;
		b = eb + 1;
		line++;
	}
}

/* Non-fatal check that `got` equals the file `path` byte for byte. */
static int expect_same_as_file(const char *what, const char *got,
			       size_t ngot, const char *path)
{
	char la[300], lb[300];
	size_t nexp;
	char *exp = th_slurp_path(path, &nexp);
	int ok, line;

	cr_expect_not_null(exp, "%s: cannot read %s", what, path);
	if (!exp)
		return 0;
	ok = nexp == ngot && memcmp(exp, got, ngot) == 0;
	if (!ok) {
		line = first_diff(exp, got, la, lb, sizeof la);
		cr_expect(ok, "%s: output differs from %s at line %d:\n"
			  "  expected: %s\n  got:      %s", what, path, line,
			  la, lb);
	}
	free(exp);
	return ok;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* How many lines of `s` start with `prefix`. */
static int count_prefix(const char *s, const char *prefix)
{
	int n = 0;

	for (; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : s)
		n += strncmp(s, prefix, strlen(prefix)) == 0;
	return n;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Index `what` into `store`; assert the exit status. */
static void index_into(const char *store, const char *what, int code)
{
	struct proc p;

	RUN(&p, INDEX " --store %s %s", store, what);
	cr_assert_eq(p.code, code, "lineage-index %s: exit %d, expected %d\n"
		     "stdout: %s\nstderr: %s", what, p.code, code, p.out,
		     p.err);
	proc_free(&p);
}

/* ---- 1. the sample project: exact answers ---------------------------- */

enum { F_DROP_CREATED = 1 };

struct qcase {
	const char *args;       /* lineage-query ARGS (after --store) */
	const char *file;       /* under fixtures/sample-expected/ */
	int code;
	unsigned flags;
};

/* Each expected file was produced once by the tools and then checked by
 * hand against fixtures/sample/expected.md (see sample-expected/README.md). */
static const struct qcase sample_cases[] = {
	{ "logged-by mnist-19pofeku:best",
	  "logged-by_mnist-19pofeku_best.txt", 0, 0 },
	{ "logged-by MNIST_raw:v1", "logged-by_MNIST_raw_v1.txt", 0, 0 },
	{ "logged-by mnist-processed:prod",
	  "logged-by_mnist-processed_prod.txt", 0, 0 },
	{ "logged-by acme/mnist-serving/mnist-deployment:live",
	  "logged-by_acme_mnist-serving_mnist-deployment_live.txt", 0, 0 },
	{ "used-by MNIST_raw:v0", "used-by_MNIST_raw_v0.txt", 0, 0 },
	{ "used-by MNIST_raw:v1", "used-by_MNIST_raw_v1.txt", 0, 0 },
	{ "used-by mnist-processed:v0", "used-by_mnist-processed_v0.txt",
	  0, 0 },
	{ "used-by mnist-processed:prod",
	  "used-by_mnist-processed_prod.txt", 0, 0 },
	{ "used-by mnist-19pofeku:v0", "used-by_mnist-19pofeku_v0.txt",
	  0, 0 },
	{ "used-by acme/mnist/mnist-19pofeku:v1",
	  "used-by_acme_mnist_mnist-19pofeku_v1.txt", 0, 0 },
	{ "used-by mnist-19pofeku:best", "used-by_mnist-19pofeku_best.txt",
	  0, 0 },
	{ "used-by eval-results", "used-by_eval-results.txt", 0, 0 },
	{ "artifact mnist-19pofeku:v1", "artifact_mnist-19pofeku_v1.txt",
	  0, 0 },
	{ "artifact MNIST_raw", "artifact_MNIST_raw.txt", 0, 0 },
	{ "artifact mnist-processed:prod",
	  "artifact_mnist-processed_prod.txt", 0, 0 },
	{ "run 19pofeku", "run_19pofeku.txt", 0, 0 },
	{ "run polar-wind-7", "run_polar-wind-7.txt", 0, 0 },
	{ "run acme/mnist-serving/k3v9d2qr",
	  "run_acme_mnist-serving_k3v9d2qr.txt", 0, 0 },
	{ "logged 19pofeku", "logged_19pofeku.txt", 0, 0 },
	{ "logged 7hy3p2gh", "logged_7hy3p2gh.txt", 0, 0 },
	{ "logged 6bx1k5kl", "logged_6bx1k5kl.txt", 0, 0 },
	{ "used 0ab5s8tu", "used_0ab5s8tu.txt", 0, 0 },
	{ "used 19pofeku", "used_19pofeku.txt", 0, 0 },
	{ "used k3v9d2qr", "used_k3v9d2qr.txt", 0, 0 },
	{ "used 9ev2q7op", "used_9ev2q7op.txt", 0, 0 },
	{ "lineage --down MNIST_raw:v0", "lineage_--down_MNIST_raw_v0.txt",
	  0, 0 },
	{ "lineage MNIST_raw:v1", "lineage_MNIST_raw_v1.txt", 0, 0 },
	{ "lineage --up acme/mnist-serving/mnist-deployment:v0",
	  "lineage_--up_acme_mnist-serving_mnist-deployment_v0.txt", 0, 0 },
	{ "lineage --both --depth 1 mnist-processed:v1",
	  "lineage_--both_--depth_1_mnist-processed_v1.txt", 0, 0 },
	{ "lineage --down --depth 2 MNIST_raw:v0",
	  "lineage_--down_--depth_2_MNIST_raw_v0.txt", 0, 0 },
	{ "path --all MNIST_raw:v0 acme/mnist-serving/mnist-deployment:v0",
	  "path_--all_MNIST_raw_v0_acme_mnist-serving_mnist-deployment_v0.txt",
	  0, 0 },
	{ "path MNIST_raw:v0 acme/mnist-serving/mnist-deployment:v0",
	  "path_MNIST_raw_v0_acme_mnist-serving_mnist-deployment_v0.txt",
	  0, 0 },
	{ "impact MNIST_raw:v1", "impact_MNIST_raw_v1.txt", 0, 0 },
	{ "impact --format csv MNIST_raw:v0",
	  "impact_--format_csv_MNIST_raw_v0.txt", 0, 0 },
	{ "provenance acme/mnist-serving/mnist-deployment:v0",
	  "provenance_acme_mnist-serving_mnist-deployment_v0.txt", 0, 0 },
	{ "graph --format dot MNIST_raw:v0",
	  "graph_--format_dot_MNIST_raw_v0.txt", 0, 0 },
	{ "graph --format mermaid MNIST_raw:v0",
	  "graph_--format_mermaid_MNIST_raw_v0.txt", 0, 0 },
	{ "graph --format json MNIST_raw:v1",
	  "graph_--format_json_MNIST_raw_v1.json", 0, 0 },
	{ "ls runs", "ls_runs.txt", 0, 0 },
	{ "ls artifacts", "ls_artifacts.txt", 0, 0 },
	{ "ls collections", "ls_collections.txt", 0, 0 },
	{ "ls types", "ls_types.txt", 0, 0 },
	{ "stats", "stats.txt", 0, F_DROP_CREATED },
	{ "check", "check.txt", 0, 0 },
	{ "--json logged-by mnist-19pofeku:best",
	  "logged-by_mnist-19pofeku_best.json", 0, 0 },
	{ "--json used-by MNIST_raw:v0", "used-by_MNIST_raw_v0.json", 0, 0 },
	{ "--json artifact mnist-19pofeku:v1",
	  "artifact_mnist-19pofeku_v1.json", 0, 0 },
	{ "--json run 19pofeku", "run_19pofeku.json", 0, 0 },
	{ "--json lineage --up acme/mnist-serving/mnist-deployment:v0",
	  "lineage_--up_acme_mnist-serving_mnist-deployment_v0.json", 0, 0 },
	{ "--json ls collections", "ls_collections.json", 0, 0 },
};

/* Answer every case of `cases` from `store`, non-fatally; returns the
 * number of mismatches. `as_nobody` runs the queries unprivileged. */
static int check_cases(const char *query, const char *store,
		       const struct qcase *cases, size_t n, int as_nobody)
{
	char path[512];
	int bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct qcase *c = &cases[i];
		struct proc p;

		run_line(&p, as_nobody, "%s --store %s %s", query, store,
			 c->args);
		if (c->flags & F_DROP_CREATED) {
			drop_lines(p.out, &p.nout, "created_at ");
			/* differs with the indexer's commit timing */
			drop_lines(p.out, &p.nout, "size ");
		}
		snprintf(path, sizeof path, EXPECTED "/%s", c->file);
		cr_expect_eq(p.code, c->code, "'%s': exit %d, expected %d; "
			     "stderr: %s", c->args, p.code, c->code, p.err);
		if (c->code == 0)
			cr_expect_str_empty(p.err, "'%s': stderr: %s",
					    c->args, p.err);
		if (!expect_same_as_file(c->args, p.out, p.nout, path) ||
		    p.code != c->code)
			bad++;
		proc_free(&p);
	}
	return bad;
}

Test(e2e, sample_answers_match_expected_files)
{
	const char *store = th_at("s.lmdb");

	index_into(store, SAMPLE, 0);
	cr_assert_eq(check_cases(QUERY, store, sample_cases,
				 sizeof sample_cases / sizeof sample_cases[0],
				 0), 0);
}

/* Every expected file is used by a case, so none goes stale unseen. */
Test(e2e, every_expected_file_has_a_case)
{
	struct proc p;
	char *line, *save = NULL;
	size_t i;
	int found;

	RUN(&p, "/bin/ls " EXPECTED);
	cr_assert_eq(p.code, 0);
	for (line = strtok_r(p.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "README.md"))
			continue;
		found = 0;
		for (i = 0; i < sizeof sample_cases / sizeof sample_cases[0];
		     i++)
			found |= !strcmp(sample_cases[i].file, line);
		cr_expect(found, "%s/%s is not used by any case", EXPECTED,
			  line);
	}
	proc_free(&p);
}

/* ---- the store's edges against expected-edges.csv --------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct rows {
	char *v[256];
	size_t n;
};

static void rows_add(struct rows *r, const char *s, size_t len)
{
	cr_assert_lt(r->n, 256);
	r->v[r->n] = strndup(s, len);
	cr_assert_not_null(r->v[r->n]);
	r->n++;
}

static void rows_free(struct rows *r)
{
	while (r->n)
		free(r->v[--r->n]);
}

/* The value of the first "id" key of each JSON line, with `strip`
 * (e.g. "run:") removed from its front; appended to `ids`. */
static void json_ids(const char *out, const char *strip, struct rows *ids)
{
	const char *line = out;

	while (*line) {
		const char *nl = strchr(line, '\n');
		const char *id = strstr(line, "\"id\":\"");
		const char *end;

		cr_assert_not_null(nl);
		cr_assert(id && id < nl, "no id in line: %.*s",
			  (int)(nl - line), line);
		id += 6;
		end = strchr(id, '"');
		cr_assert(strncmp(id, strip, strlen(strip)) == 0,
			  "id '%.*s' lacks '%s'", (int)(end - id), id, strip);
		id += strlen(strip);
		rows_add(ids, id, (size_t)(end - id));
		line = nl + 1;
	}
}

Test(e2e, store_edges_match_expected_edges_csv)
{
	const char *store = th_at("s.lmdb");
	struct rows want = { .n = 0 }, got = { .n = 0 }, runs = { .n = 0 };
	static const char *const kinds[] = { "logged", "used" };
	char *csv, *line, *save = NULL, row[600];
	struct proc p;
	size_t i, k;

	index_into(store, SAMPLE, 0);
	csv = th_slurp_path(SAMPLE "/expected-edges.csv", NULL);
	cr_assert_not_null(csv);
	for (line = strtok_r(csv, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strcmp(line, "kind,run,artifact") != 0)
			rows_add(&want, line, strlen(line));
	free(csv);
	cr_assert_eq(want.n, 22, "expected-edges.csv: %zu rows", want.n);

	RUN(&p, QUERY " --store %s --json ls runs", store);
	cr_assert_eq(p.code, 0);
	json_ids(p.out, "run:", &runs);
	proc_free(&p);
	cr_assert_eq(runs.n, 11);
	for (i = 0; i < runs.n; i++)
		for (k = 0; k < 2; k++) {
			struct rows arts = { .n = 0 };
			size_t j;

			RUN(&p, QUERY " --store %s --json %s %s", store,
			    kinds[k], runs.v[i]);
			cr_assert_eq(p.code, 0, "%s %s: %s", kinds[k],
				     runs.v[i], p.err);
			json_ids(p.out, "artifact:", &arts);
			proc_free(&p);
			for (j = 0; j < arts.n; j++) {
				snprintf(row, sizeof row, "%s,%s,%s",
					 kinds[k], runs.v[i], arts.v[j]);
				rows_add(&got, row, strlen(row));
			}
			rows_free(&arts);
		}
	qsort(want.v, want.n, sizeof want.v[0], cmp_str);
	qsort(got.v, got.n, sizeof got.v[0], cmp_str);
	for (i = 0; i < want.n || i < got.n; i++) {
		const char *w = i < want.n ? want.v[i] : "(none)";
		const char *g = i < got.n ? got.v[i] : "(none)";

		cr_expect_str_eq(g, w, "edge %zu: store has %s, csv has %s",
				 i, g, w);
	}
	cr_expect_eq(got.n, want.n);
	rows_free(&want);
	rows_free(&got);
	rows_free(&runs);
}

/* ---- 2. exit codes and messages --------------------------------------- */

struct ecase {
	const char *args;       /* after "./lineage-query --store S" */
	int code;
	const char *err;        /* exact standard error */
};

static const struct ecase query_errors[] = {
	{ "logged-by mnist-19pofeky:best", 1,
	  "lineage-query: no artifact collection 'mnist-19pofeky'; did you "
	  "mean 'acme/mnist/mnist-19pofeku'?\n" },
	{ "used-by mnist-19pofeku:v7", 1,
	  "lineage-query: no version v7 of 'acme/mnist/mnist-19pofeku'; it "
	  "has v0..v2, aliases: best, latest\n" },
	/* 'candidate' was removed from v2 at 12:30 (expected.md). */
	{ "used-by mnist-19pofeku:candidate", 1,
	  "lineage-query: no alias 'candidate' on "
	  "'acme/mnist/mnist-19pofeku'; it has v0..v2, aliases: best, "
	  "latest\n" },
	{ "run 19pofekx", 1,
	  "lineage-query: no run '19pofekx'; did you mean "
	  "'acme/mnist/19pofeku'?\n" },
	{ "logged nosuchrun", 1, "lineage-query: no run 'nosuchrun'\n" },
	{ "frobnicate", 64,
	  "lineage-query: unknown command 'frobnicate'\n"
	  "Try 'lineage-query --help'.\n" },
	{ "logged-by", 64,
	  "lineage-query: logged-by: missing REF\n"
	  "Try 'lineage-query logged-by --help'.\n" },
	{ "lineage --depth x MNIST_raw:v0", 64,
	  "lineage-query: lineage: bad --depth 'x': expected a number or "
	  "'all'\nTry 'lineage-query lineage --help'.\n" },
	{ "--bogus ls runs", 64,
	  "lineage-query: unknown option '--bogus'\n"
	  "Try 'lineage-query --help'.\n" },
	{ "logged-by a:b:c", 64,
	  "lineage-query: bad REF 'a:b:c': expected "
	  "[entity/project/]name[:alias|:vN]\n"
	  "Try 'lineage-query --help'.\n" },
};

Test(e2e, query_errors_exit_codes_and_messages)
{
	const char *store = th_at("s.lmdb");
	size_t i;

	index_into(store, SAMPLE, 0);
	for (i = 0; i < sizeof query_errors / sizeof query_errors[0]; i++) {
		const struct ecase *c = &query_errors[i];
		struct proc p;

		RUN(&p, QUERY " --store %s %s", store, c->args);
		cr_expect_eq(p.code, c->code, "'%s': exit %d, expected %d",
			     c->args, p.code, c->code);
		cr_expect_str_eq(p.err, c->err, "'%s': stderr", c->args);
		cr_expect_str_empty(p.out, "'%s': stdout: %s", c->args,
				    p.out);
		proc_free(&p);
	}
}

/* One unknown root: exit 1, the others are still answered. */
Test(e2e, impact_with_an_unknown_root)
{
	const char *store = th_at("s.lmdb");
	struct proc p;

	index_into(store, SAMPLE, 0);
	RUN(&p, QUERY " --store %s impact MNIST_raw:v1 nosuch:v0", store);
	cr_expect_eq(p.code, 1);
	cr_expect(strstr(p.err, "'nosuch'") != NULL, "stderr: %s", p.err);
	expect_same_as_file("impact with unknown root", p.out, p.nout,
			    EXPECTED "/impact_MNIST_raw_v1.txt");
	proc_free(&p);
}

Test(e2e, missing_store_exits_66_and_creates_nothing)
{
	const char *store = th_at("none.lmdb");
	struct proc p;

	RUN(&p, QUERY " --store %s ls runs", store);
	cr_expect_eq(p.code, 66);
	cr_expect(strstr(p.err, "none.lmdb: cannot open store") != NULL,
		  "stderr: %s", p.err);
	cr_expect_str_empty(p.out);
	cr_expect(!exists(store) && !exists(th_at("none.lmdb-lock")),
		  "a query created the store or its lock file");
	proc_free(&p);

	RUN(&p, INDEX " --store %s %s", store, th_at("no-such-folder"));
	cr_expect_eq(p.code, 66, "lineage-index, missing PATH: exit %d",
		     p.code);
	cr_expect(strstr(p.err, "no-such-folder") != NULL, "stderr: %s",
		  p.err);
	proc_free(&p);
}

Test(e2e, not_a_store_exits_65)
{
	struct proc p;

	th_write_file(th_at("junk.lmdb"), "not an lmdb file\n", 17, "wb");
	RUN(&p, QUERY " --store %s stats", th_at("junk.lmdb"));
	cr_expect_eq(p.code, 65);
	cr_expect(strstr(p.err, "not a lineage store") != NULL, "stderr: %s",
		  p.err);
	proc_free(&p);
}

Test(e2e, usage_errors_exit_64)
{
	static const char *const lines[] = {
		INDEX " --bogus",
		INDEX,
		INDEX " --store",
		INDEX " --entity a/b no-such-path",
		INDEX " --project p/a no-such-path",
		GEN,
		GEN " frobnicate",
		GEN " wandb-sample",
		GEN " sample --bogus x",
		QUERY,
	};
	size_t i;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct proc p;

		RUN(&p, "%s", lines[i]);
		cr_expect_eq(p.code, 64, "'%s': exit %d, expected 64",
			     lines[i], p.code);
		cr_expect(strstr(p.err, "--help") != NULL,
			  "'%s': no hint at --help: %s", lines[i], p.err);
		proc_free(&p);
	}
}

/* `line` exits 0, prints nothing on stderr, and "usage: ..." (or, for
 * --version, a name and a version) on stdout. */
static void expect_help(const char *line)
{
	int version = strstr(line, "--version") != NULL;
	struct proc p;

	/* No store exists: help must not need one. */
	RUN(&p, "%s", line);
	cr_expect_eq(p.code, 0, "'%s': exit %d", line, p.code);
	cr_expect_str_empty(p.err, "'%s': stderr: %s", line, p.err);
	if (version)
		cr_expect(p.nout > 0 && strchr(p.out, ' '), "'%s': stdout: %s",
			  line, p.out);
	else
		cr_expect(strncmp(p.out, "usage: ", 7) == 0,
			  "'%s': stdout: %s", line, p.out);
	proc_free(&p);
}

/* "PROG CMD --help" for every command that "PROG --help" lists under
 * "commands:", so a new command is covered without editing this file;
 * returns how many. */
static int help_of_each_command(const char *prog)
{
	struct proc p;
	const char *l;
	char line[256], cmd[64];
	int n = 0;

	RUN(&p, "%s --help", prog);
	l = strstr(p.out, "commands:\n");
	cr_assert_not_null(l, "%s --help lists no commands", prog);
	for (l = strchr(l, '\n') + 1; !strncmp(l, "  ", 2) &&
	     sscanf(l, " %63s", cmd) == 1; l = strchr(l, '\n') + 1) {
		if (l[2] == ' ')        /* a wrapped summary goes on */
			continue;
		snprintf(line, sizeof line, "%s %s --help", prog, cmd);
		expect_help(line);
		n++;
	}
	proc_free(&p);
	return n;
}

Test(e2e, help_exits_0_everywhere)
{
	static const char *const lines[] = {
		INDEX " --help", INDEX " -h", INDEX " --version",
		QUERY " --help", QUERY " -h", QUERY " --version",
		QUERY " lineage -h", QUERY " --json used --help",
		GEN " --help", GEN " -h", GEN " --version",
	};
	size_t i;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
		expect_help(lines[i]);
	/* At least the commands documented in the man pages. */
	cr_expect_geq(help_of_each_command(QUERY), 14);
	cr_expect_geq(help_of_each_command(GEN), 4);
}

/* ---- 3. fixtures/bad -------------------------------------------------- */

/* The offset each error names, checked by hand on the bytes (xxd): the
 * listed offset in expected.txt is where the broken part starts; the
 * reader reports the exact byte, at or after it. */
static const struct {
	const char *file;
	long long at;
	const char *msg;        /* part of the message (FORMAT.md) */
} bad_detail[] = {
	{ "not-a-runlog.runlog", 0,
	  "not a runlog file: the first object is not a map" },
	{ "empty.runlog", 0, "not a runlog file: the file is empty" },
	{ "header-not-map.runlog", 0,
	  "not a runlog file: the first object is not a map" },
	{ "future-version.runlog", 0,
	  "runlog version 2 is newer than supported version 1" },
	{ "truncated.runlog", 388,
	  "file ends inside a record that started at byte 353" },
	{ "truncated.runlog.gz", 353, "gzip stream ends without its trailer" },
	{ "corrupt.runlog.gz", 353, "corrupt data in gzip stream" },
	{ "reserved-byte.runlog", 170, "invalid MessagePack byte 0xc1" },
	{ "huge-string.runlog", 169,
	  "string of 3221225472 bytes exceeds the max_string limit" },
	{ "huge-array.runlog", 183,
	  "array of 4000000000 items exceeds the max_items limit" },
	{ "deep-nesting.runlog", 214,
	  "nesting exceeds the max_depth limit of 32 in record at byte 159" },
	{ "gzip-bomb.runlog.gz", 243,
	  "string of 1073741824 bytes exceeds the max_string limit" },
	{ "deep-middle.runlog", 375,
	  "nesting exceeds the max_depth limit of 32 in record at byte 253; "
	  "the record at byte 253 is skipped" },
	{ "bad-record.runlog", 258,
	  "'log' record at byte 258 lacks required key 'digest'" },
	{ "nul-name.runlog", 251, "key 'name' of 'log' record at byte 251 "
	  "contains a NUL byte (at byte 284)" },
	{ "bad-utf8.runlog", 258, "key 'name' of 'log' record at byte 258 "
	  "is not valid UTF-8 (byte 0xff at byte 293)" },
	{ "nul-name.wandb", 164, "name in the record at byte 164 contains a "
	  "NUL byte (at position 15 of the string)" },
	{ "bad-utf8.wandb", 165, "name in the record at byte 165 is not valid "
	  "UTF-8 (byte 0xff at position 6 of the string)" },
};

/* Whether `err` has a line about `file` that starts with `prefix` after
 * the program's name ("" for an error line, which has none). */
static int has_line_about(const char *err, const char *file,
			  const char *prefix)
{
	char key[300];
	const char *p = err;

	snprintf(key, sizeof key, "lineage-index: %s%s/", prefix, BAD);
	while ((p = strstr(p, key))) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *f = p + strlen(key);
		if (strncmp(f, file, strlen(file)) == 0 &&
		    f[strlen(file)] == ':' && (p == err || p[-1] == '\n'))
			return 1;
		p += n;
	}
	return 0;
}

/* The line of `err` about `file` (a path ending in "/file: "). */
static const char *line_about(const char *err, const char *file,
			      char *buf, size_t cap)
{
	char key[300];
	const char *hit, *start, *end;

	snprintf(key, sizeof key, "/%s: ", file);
	hit = strstr(err, key);
	if (!hit)
		return NULL;
	start = hit;
	while (start > err && start[-1] != '\n')
		start--;
	end = strchr(hit, '\n');
	if (!end)
		end = start + strlen(start);
	snprintf(buf, cap, "%.*s", (int)(end - start), start);
	return buf;
}

/* The checks of one line of bad/expected.txt against the indexer's
 * stderr `err`: a message naming the file, at the right byte, of the
 * right class; none for a good file. Counts the bad files in *checked. */
static void expect_bad_file_message(const char *err, char *line,
				    int *checked)
{
	char file[128], code[32], off[32], index[32];
	long long listed, at;
	const char *l, *a;
	char buf[1024];
	size_t i;
	int detail = -1, skipped;

	if (line[0] == '#' ||
	    sscanf(line, "%127s %31s %*d %d %31s %31s", file, code,
		   &skipped, off, index) != 5)
		return;
	l = line_about(err, file, buf, sizeof buf);
	if (!strcmp(index, "indexed") && !skipped) {
		cr_expect_null(l, "good file %s has a message: %s",
			       file, l);
		return;
	}
	cr_expect_not_null(l, "no message names %s; stderr:\n%s",
			   file, err);
	if (!l)
		return;
	(*checked)++;
	listed = strcmp(off, "-") ? atoll(off) : 0;
	a = strstr(l, ": at byte ");
	cr_expect_not_null(a, "%s: no 'at byte N': %s", file, l);
	if (!a)
		return;
	at = atoll(a + 10);
	cr_expect_geq(at, listed, "%s: at byte %lld, before the "
		      "broken part at %lld", file, at, listed);
	for (i = 0; i < sizeof bad_detail / sizeof bad_detail[0]; i++)
		if (!strcmp(bad_detail[i].file, file))
			detail = (int)i;
	cr_expect_geq(detail, 0, "%s: not in bad_detail", file);
	if (detail < 0)
		return;
	cr_expect_eq(at, bad_detail[detail].at, "%s: at byte %lld, "
		     "expected %lld", file, at, bad_detail[detail].at);
	cr_expect(strstr(l, bad_detail[detail].msg) != NULL,
		  "%s: message lacks '%s': %s", file,
		  bad_detail[detail].msg, l);
	/* a skipped record is a warning; a rejection an error line;
	 * a file that ends inside a record a note */
	cr_expect_eq(has_line_about(err, file, "warning: "),
		     skipped > 0 || !strcmp(index, "cut"),
		     "%s (%s): %s", file, index, err);
	cr_expect_eq(has_line_about(err, file, ""),
		     !strcmp(index, "rejected"),
		     "%s (%s): %s", file, index, err);
	cr_expect_eq(has_line_about(err, file, "note: "),
		     !strcmp(index, "partial"),
		     "%s (%s): %s", file, index, err);
}

/* What the store indexed from the bad fixtures answers. */
static void expect_bad_store_answers(const char *store)
{
	struct proc p;

	/* Names that are not text never reach the store: nul-model has one
	 * version, whose latest did not move; no name holds 0xff; a name
	 * in UTF-8 beyond ASCII is kept and can be asked for. */
	RUN(&p, QUERY " --store %s ls artifacts", store);
	cr_expect(strstr(p.out, "nul-model:v0 ") &&
		  !strstr(p.out, "nul-model:v1") &&
		  strstr(p.out, "nul-wandb-model:v0 ") &&
		  !strstr(p.out, "nul-wandb-model:v1") &&
		  strstr(p.out, "utf8-wandb-model:v0 ") &&
		  !strstr(p.out, "\xff") && !strstr(p.out, "\xef\xbf\xbd"),
		  "artifacts: %s", p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s logged-by utf8-mod\xc3\xa8le:v0", store);
	cr_expect_eq(p.code, 0, "stderr: %s", p.err);
	cr_expect(strstr(p.out, "acme/fixtures-bad/badutf81 ") != NULL, "%s",
		  p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s --json run nulname1", store);
	cr_expect(strstr(p.out, "\"state\":\"finished\"") &&
		  strstr(p.out, "\"logged\":1,"), "nulname1: %s", p.out);
	proc_free(&p);

	/* Good files and the good records of bad-record.runlog count. */
	RUN(&p, QUERY " --store %s ls runs", store);
	cr_expect_str_eq(p.out,
		"run  acme/fixtures-bad/badrec01  train     patchy-run     "
		"finished\n"
		"run  acme/fixtures-bad/badutf81  train     odd-bytes-run  "
		"finished\n"
		"run  acme/fixtures-bad/badutf8w  train     -              "
		"finished\n"
		"run  acme/fixtures-bad/deepmid1  train     deep-run       "
		"finished\n"
		"run  acme/fixtures-bad/deepnest  train     doomed-run     -\n"
		"run  acme/fixtures-bad/goodaaaa  train     steady-run     "
		"finished\n"
		"run  acme/fixtures-bad/goodbbbb  evaluate  steady-eval    "
		"finished\n"
		"run  acme/fixtures-bad/goodcccc  evaluate  steady-eval-2  "
		"finished\n"
		"run  acme/fixtures-bad/hugearr1  train     doomed-run     -\n"
		"run  acme/fixtures-bad/hugestr1  train     doomed-run     -\n"
		"run  acme/fixtures-bad/nulname1  train     nul-run        "
		"finished\n"
		"run  acme/fixtures-bad/nulwandb  train     -              "
		"finished\n"
		"run  acme/fixtures-bad/trunc001  train     steady-run     "
		"finished\n"
		"run  acme/fixtures-bad/trunc002  train     steady-run     "
		"finished\n");
	proc_free(&p);
	RUN(&p, QUERY " --store %s used-by fixture-model:v0", store);
	cr_expect_eq(p.code, 0);
	cr_expect_str_eq(p.out, "run  acme/fixtures-bad/goodbbbb  evaluate  "
			 "steady-eval  finished\n");
	proc_free(&p);
	RUN(&p, QUERY " --store %s used-by fixture-eval:latest", store);
	cr_expect_str_eq(p.out, "run  acme/fixtures-bad/goodcccc  evaluate  "
			 "steady-eval-2  finished\n");
	proc_free(&p);
	/* badrec01: run, the good log (v1: after goodaaaa's 09:05) and its
	 * finish; the use names fixture-data, which nobody logged. */
	RUN(&p, QUERY " --store %s --json run badrec01", store);
	cr_expect_eq(p.code, 0);
	cr_expect(strstr(p.out, "\"state\":\"finished\"") &&
		  strstr(p.out, "\"ended_at\":\"2024-03-01T11:20:00Z\"") &&
		  strstr(p.out, "\"logged\":1,\"relogged\":0,\"used\":0,"
			 "\"unresolved\":[{\"id\":\"unresolved:acme/"
			 "fixtures-bad/fixture-data:v0\",\"kind\":"
			 "\"unresolved\",\"ref\":\"fixture-data:v0\"") &&
		  strstr(p.out, "\"reason\":\"no-version\""),
		  "badrec01: %s", p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s logged-by fixture-model:v1", store);
	cr_expect_str_eq(p.out, "run  acme/fixtures-bad/badrec01  train  "
			 "patchy-run  finished\n");
	proc_free(&p);
	/* Nothing from the rejected files (their first records were good). */
	RUN(&p, QUERY " --store %s run reserv01", store);
	cr_expect_eq(p.code, 1);
	proc_free(&p);
	RUN(&p, QUERY " --store %s run bomb0001", store);
	cr_expect_eq(p.code, 1);
	proc_free(&p);
	/* The over-deep record between good ones is left out, the records
	 * after it kept: deep-model v1 is the digest logged after it. */
	RUN(&p, QUERY " --store %s --json artifact deep-model:v1", store);
	cr_expect(strstr(p.out, "\"digest\":\"d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2\""),
		  "%s", p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s --json artifact deep-model:v2", store);
	cr_expect_eq(p.code, 1, "%s", p.out);
	proc_free(&p);
}

Test(e2e, bad_fixtures_named_errors_and_good_files_indexed)
{
	const char *store = th_at("b.lmdb");
	char *exp, *line, *save = NULL;
	struct proc p;
	int checked = 0;

	RUN(&p, INDEX " --store %s " BAD, store);
	cr_expect_eq(p.code, 65, "exit %d, expected 65", p.code);
	cr_expect(strstr(p.out, "13 indexed, 0 unchanged, 7 rejected") !=
		  NULL, "summary: %s", p.out);

	exp = th_slurp_path(BAD "/expected.txt", NULL);
	cr_assert_not_null(exp);
	for (line = strtok_r(exp, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		expect_bad_file_message(p.err, line, &checked);
	free(exp);
	cr_expect_eq(checked, 18, "%d bad files checked", checked);
	proc_free(&p);
	expect_bad_store_answers(store);
}

/* ---- 4. incremental indexing ------------------------------------------ */

/* {"t":"alias","ref":"mnist-19pofeku:v0","add":["best"],
 *  "at":1709301600} (2024-03-01T14:00:00Z, integer seconds). */
static const unsigned char alias_rec[] = {
	0x84, 0xa1, 't', 0xa5, 'a', 'l', 'i', 'a', 's',
	0xa3, 'r', 'e', 'f', 0xb1, 'm', 'n', 'i', 's', 't', '-', '1', '9',
	'p', 'o', 'f', 'e', 'k', 'u', ':', 'v', '0',
	0xa3, 'a', 'd', 'd', 0x91, 0xa4, 'b', 'e', 's', 't',
	0xa2, 'a', 't', 0xce, 0x65, 0xe1, 0xdf, 0x60,
};

static void expect_summary(const struct proc *p, const char *files)
{
	cr_expect(strncmp(p->out, files, strlen(files)) == 0,
		  "summary starts '%.*s', expected '%s'",
		  (int)strcspn(p->out, "\n"), p->out, files);
}

Test(e2e, incremental_unchanged_changed_vanished_pruned)
{
	const char *store = th_at("i.lmdb"), *dir = th_at("sample");
	const char *sweep = th_at("sample/mnist/train/3-sweep.runlog");
	const char *upload = th_at("sample/mnist/01-upload.runlog");
	struct proc p;

	RUN(&p, "/bin/cp -R " SAMPLE " %s", dir);
	cr_assert_eq(p.code, 0, "cp: %s", p.err);
	proc_free(&p);

	RUN(&p, INDEX " --store %s %s", store, dir);
	cr_assert_eq(p.code, 0, "%s", p.err);
	expect_summary(&p, "files:  7 indexed, 0 unchanged, 0 rejected, "
		       "0 vanished, 0 pruned\n");
	proc_free(&p);

	RUN(&p, INDEX " --store %s %s", store, dir);
	cr_expect_eq(p.code, 0);
	expect_summary(&p, "files:  0 indexed, 7 unchanged, 0 rejected, "
		       "0 vanished, 0 pruned\n");
	cr_expect_str_empty(p.err);
	proc_free(&p);

	/* A new record at the end of one file: only that file is read. */
	th_write_file(sweep, alias_rec, sizeof alias_rec, "ab");
	RUN(&p, INDEX " --store %s -v %s", store, dir);
	cr_expect_eq(p.code, 0, "stderr: %s", p.err);
	cr_expect(strstr(p.out, "files:  1 indexed, 6 unchanged, 0 rejected, "
			 "0 vanished, 0 pruned\nrecords: 9 indexed,") != NULL,
		  "summary: %s", p.out);
	cr_expect_eq(count_prefix(p.out, "indexed "), 1, "-v: %s", p.out);
	cr_expect_eq(count_prefix(p.out, "unchanged "), 6, "-v: %s", p.out);
	{
		const char *l = strncmp(p.out, "indexed ", 8) == 0 ? p.out
				: strstr(p.out, "\nindexed ");
		const char *e = l ? strchr(l + 1, '\n') : NULL;
		const char *f = "/mnist/train/3-sweep.runlog";

		cr_expect(e && (size_t)(e - l) > strlen(f) &&
			  !strncmp(e - strlen(f), f, strlen(f)),
			  "the file indexed is not 3-sweep: %s", p.out);
	}
	proc_free(&p);
	/* best moved to v0 at 14:00; 0ab5s8tu's use at 13:02 stays v2. */
	RUN(&p, QUERY " --store %s logged-by mnist-19pofeku:best", store);
	cr_expect_str_eq(p.out, "run  acme/mnist/19pofeku  train  "
			 "vivid-snow-42  finished\n");
	proc_free(&p);
	RUN(&p, QUERY " --store %s used-by mnist-19pofeku:v2", store);
	cr_expect_str_eq(p.out,
		"run  acme/mnist/9ev2q7op  evaluate  wise-owl-9    "
		"finished\n"
		"run  acme/mnist/0ab5s8tu  analysis  late-star-11  "
		"finished\n");
	proc_free(&p);

	/* A deleted file is reported, its facts stay until --prune. */
	cr_assert_eq(unlink(upload), 0);
	RUN(&p, INDEX " --store %s %s", store, dir);
	cr_expect_eq(p.code, 0, "vanished file: exit %d", p.code);
	expect_summary(&p, "files:  0 indexed, 6 unchanged, 0 rejected, "
		       "1 vanished, 0 pruned\n");
	cr_expect(strstr(p.err, "01-upload.runlog: vanished") != NULL,
		  "stderr: %s", p.err);
	proc_free(&p);
	RUN(&p, QUERY " --store %s run 3kq7w1ab", store);
	cr_expect_eq(p.code, 0, "run of a vanished file, before --prune");
	proc_free(&p);

	RUN(&p, INDEX " --store %s --prune %s", store, dir);
	cr_expect_eq(p.code, 0);
	expect_summary(&p, "files:  0 indexed, 6 unchanged, 0 rejected, "
		       "0 vanished, 1 pruned\n");
	proc_free(&p);
	RUN(&p, QUERY " --store %s run 3kq7w1ab", store);
	cr_expect_eq(p.code, 1, "3kq7w1ab after --prune: exit %d", p.code);
	proc_free(&p);
	RUN(&p, QUERY " --store %s run 5tn8x0ef", store);
	cr_expect_eq(p.code, 1, "5tn8x0ef after --prune: exit %d", p.code);
	proc_free(&p);
	RUN(&p, QUERY " --store %s logged-by MNIST_raw:v0", store);
	cr_expect_eq(p.code, 1, "MNIST_raw:v0 after --prune: exit %d",
		     p.code);
	proc_free(&p);
	RUN(&p, QUERY " --store %s check", store);
	cr_expect_eq(p.code, 0, "check after --prune: %s", p.out);
	proc_free(&p);

	/* Put it back: the answers are whole again. */
	RUN(&p, "/bin/cp " SAMPLE "/mnist/01-upload.runlog %s", upload);
	proc_free(&p);
	RUN(&p, INDEX " --store %s %s", store, dir);
	cr_expect_eq(p.code, 0);
	expect_summary(&p, "files:  1 indexed, 6 unchanged, 0 rejected, "
		       "0 vanished, 0 pruned\n");
	proc_free(&p);
	RUN(&p, QUERY " --store %s logged-by MNIST_raw:v1", store);
	expect_same_as_file("logged-by MNIST_raw:v1 after re-adding",
			    p.out, p.nout,
			    EXPECTED "/logged-by_MNIST_raw_v1.txt");
	proc_free(&p);
	RUN(&p, QUERY " --store %s used-by MNIST_raw:v0", store);
	expect_same_as_file("used-by MNIST_raw:v0 after re-adding", p.out,
			    p.nout, EXPECTED "/used-by_MNIST_raw_v0.txt");
	proc_free(&p);
}

/* ---- 5. W&B ----------------------------------------------------------- */

#define W_RUNNING "wandb/run-20240301_110000-mn34op56/run-mn34op56.wandb"
#define W_OFFLINE \
	"wandb/offline-run-20240301_090000-ab12cd34/run-ab12cd34.wandb"

Test(e2e, wandb_sample_end_to_end)
{
	const char *store = th_at("w.lmdb");
	struct proc p;

	RUN(&p, INDEX " --store %s " WSAMPLE, store);
	/* 0: a run still writing is normal in a live wandb/ folder; the
	 * file is indexed up to its last complete record, with a note */
	cr_expect_eq(p.code, 0, "exit %d; stderr: %s", p.code, p.err);
	expect_summary(&p, "files:  3 indexed, 0 unchanged, 0 rejected, "
		       "0 vanished, 0 pruned (1 still being written)\n");
	cr_expect_eq(count_lines(p.err), 1, "stderr: %s", p.err);
	cr_expect(strstr(p.err, "lineage-index: note: ") == p.err &&
		  strstr(p.err, W_RUNNING ": at byte 5845: file ends inside "
			 "a record that started at byte 5845 (the run may "
			 "still be writing); complete records kept\n"),
		  "stderr: %s", p.err);
	proc_free(&p);

	RUN(&p, QUERY " --store %s logged-by the-model:latest", store);
	cr_expect_eq(p.code, 0);
	cr_expect_str_eq(p.out, "run  acme/wandb-demo/ab12cd34  train  "
			 "amber-wave-1  finished\n");
	proc_free(&p);
	RUN(&p, QUERY " --store %s used-by the-model:v0", store);
	cr_expect_eq(p.code, 0);
	cr_expect_str_eq(p.out,
		"run  acme/wandb-demo/ef56gh78  evaluate  crisp-dust-2  "
		"finished\n"
		"run  acme/wandb-demo/mn34op56  evaluate  swift-fog-3   -\n");
	proc_free(&p);
	RUN(&p, QUERY " --store %s --json artifact the-model:best", store);
	cr_expect_eq(p.code, 0);
	cr_expect(strstr(p.out, "\"id\":\"artifact:acme/wandb-demo/"
			 "the-model:v0\"") &&
		  strstr(p.out, "\"digest\":\"5f1c8e4b2a9d7c3e6b0a4f8d2c1e9b7a"
			 "\"") &&
		  strstr(p.out, "\"size\":4194816,\"files\":2") &&
		  /* W&B's JSON metadata is an object, as runlog's is */
		  strstr(p.out, "\"metadata\":{\"epochs\":10,\"val_acc\":"
			 "0.97}") &&
		  strstr(p.out, "\"logged_by\":[\"run:acme/wandb-demo/"
			 "ab12cd34\"],\"relogged_by\":[],\"used_by\":["
			 "\"run:acme/wandb-demo/ef56gh78\",\"run:acme/"
			 "wandb-demo/mn34op56\"],\"used_by_count\":2"),
		  "artifact: %s", p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s --json run ab12cd34", store);
	cr_expect(strstr(p.out, "\"state\":\"finished\",\"exit_code\":0,"
			 "\"started_at\":\"2024-03-01T09:00:00Z\","
			 "\"ended_at\":\"2024-03-01T09:30:00Z\""),
		  "ab12cd34: %s", p.out);
	proc_free(&p);
	/* The running file's complete records: its run and its use. */
	RUN(&p, QUERY " --store %s --json run mn34op56", store);
	cr_expect_eq(p.code, 0);
	cr_expect(strstr(p.out, "\"state\":null,\"exit_code\":null,"
			 "\"started_at\":\"2024-03-01T11:00:00Z\","
			 "\"ended_at\":null,\"logged\":0,\"relogged\":0,"
			 "\"used\":1"),
		  "mn34op56: %s", p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s check", store);
	cr_expect_eq(p.code, 0, "check: %s", p.out);
	proc_free(&p);
}

/* The committed fixture is what the generator writes today. */
Test(e2e, wandb_sample_is_regenerated_identically)
{
	static const char *const files[] = {
		"README.md",
		W_OFFLINE,
		"wandb/run-20240301_100000-ef56gh78/run-ef56gh78.wandb",
		W_RUNNING,
	};
	struct proc p;
	size_t i;

	RUN(&p, GEN " wandb-sample %s", th_at("ws"));
	cr_assert_eq(p.code, 0, "%s", p.err);
	proc_free(&p);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[512];
		size_t n;
		char *got = th_slurp_path(th_at("ws/%s", files[i]), &n);

		cr_assert_not_null(got, "%s not written", files[i]);
		snprintf(path, sizeof path, WSAMPLE "/%s", files[i]);
		expect_same_as_file(files[i], got, n, path);
		free(got);
	}
}

Test(e2e, wandb_real_file)
{
	const char *store = th_at("r.lmdb");
	struct proc p;

	if (!exists(WREAL))
		cr_skip_test("%s is absent: the real W&B log (and W&B identity) "
			     "not tested", WREAL);
	index_into(store, WREAL, 0);
	RUN(&p, QUERY " --store %s --json ls runs", store);
	cr_expect_eq(count_lines(p.out), 1, "runs: %s", p.out);
	cr_expect(strstr(p.out, "\"run_id\":\"g9dvvkua\"") != NULL, "%s",
		  p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s logged-by source-g9dvvkua:v0", store);
	cr_expect_eq(p.code, 0, "stderr: %s", p.err);
	cr_expect(strstr(p.out, "/code-toad/g9dvvkua ") != NULL, "%s",
		  p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s --json artifact source-g9dvvkua", store);
	cr_expect(strstr(p.out, "\"id\":\"artifact:vanpelt/code-toad/"
			 "source-g9dvvkua:v0\"") &&
		  strstr(p.out, "\"type\":\"code\""), "%s", p.out);
	proc_free(&p);
	/* The offline RunRecord names no entity; the run's own
	 * ArtifactRecord names vanpelt: the run is filed there, with its
	 * artifact, not under the default entity, even with --entity. */
	RUN(&p, QUERY " --store %s run vanpelt/code-toad/g9dvvkua", store);
	cr_expect_eq(p.code, 0, "stderr: %s", p.err);
	cr_expect(strstr(p.out, "run:vanpelt/code-toad/g9dvvkua\n") &&
		  strstr(p.out, "logged      1\n"), "%s", p.out);
	proc_free(&p);
	RUN(&p, QUERY " --store %s run local/code-toad/g9dvvkua", store);
	cr_expect_eq(p.code, 1, "a run under the default entity: %s", p.out);
	proc_free(&p);
	RUN(&p, INDEX " --store %s --entity someone " WREAL, th_at("e.lmdb"));
	cr_expect_eq(p.code, 0, "stderr: %s", p.err);
	proc_free(&p);
	RUN(&p, QUERY " --store %s ls runs", th_at("e.lmdb"));
	cr_expect(strstr(p.out, "vanpelt/code-toad/g9dvvkua") != NULL, "%s",
		  p.out);
	proc_free(&p);
}

/* ---- 6. read-only use ------------------------------------------------- */

static const struct qcase ro_cases[] = {
	{ "logged-by mnist-19pofeku:best",
	  "logged-by_mnist-19pofeku_best.txt", 0, 0 },
	{ "lineage --up acme/mnist-serving/mnist-deployment:v0",
	  "lineage_--up_acme_mnist-serving_mnist-deployment_v0.txt", 0, 0 },
	{ "stats", "stats.txt", 0, F_DROP_CREATED },
};

/* Root ignores permission bits, so as root the queries run as uid
 * 65534 (nobody), from a copy of the program in the temporary folder
 * (the checkout may not be reachable for nobody); otherwise as the user,
 * for whom chmod suffices. */
Test(e2e, query_on_a_read_only_store)
{
	const char *dir = th_at("ro"), *store = th_at("ro/s.lmdb");
	const char *lock = th_at("ro/s.lmdb-lock");
	char query[512];
	int as_nobody = geteuid() == 0;
	size_t nbefore, nafter, ncases = sizeof ro_cases / sizeof ro_cases[0];
	char *before, *after;
	struct proc p;

	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(query, sizeof query, "%s", th_at("lineage-query"));
	RUN(&p, "/bin/cp " QUERY " %s", query);
	cr_assert_eq(p.code, 0, "cp: %s", p.err);
	proc_free(&p);
	index_into(store, SAMPLE, 0);
	before = th_slurp_path(store, &nbefore);
	cr_assert_not_null(before);

	/* Read-only store, lock file and folder. */
	cr_assert_eq(chmod(store, 0444) | chmod(lock, 0444) |
		     chmod(dir, 0555), 0);
	run_line(&p, as_nobody, "%s --store %s stats", query, store);
	if (p.code == CHILD_SETUP_FAILED)
		cr_skip_test("cannot run as nobody here: %s", p.err);
	proc_free(&p);
	cr_expect_eq(check_cases(query, store, ro_cases, ncases, as_nobody),
		     0, "queries on a read-only store and lock file");

	/* No lock file, and none can be created in the folder. */
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(unlink(lock), 0);
	cr_assert_eq(chmod(dir, 0555), 0);
	cr_expect_eq(check_cases(query, store, ro_cases, ncases, as_nobody),
		     0, "queries on a store whose lock file cannot be made");
	cr_expect(!exists(lock), "a query created the lock file");

	after = th_slurp_path(store, &nafter);
	cr_assert_not_null(after);
	cr_expect(nbefore == nafter && !memcmp(before, after, nafter),
		  "queries changed the store file");
	free(before);
	free(after);
	chmod(dir, 0755);
}
