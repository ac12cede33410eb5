/* test_limits.c - the programs in a modest address space: with
 * `ulimit -v 1048576` (1 GiB) lineage-index and lineage-query index and
 * query the sample and a 10,000-run archive. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define INDEXER "./lineage-index"
#define QUERY "./lineage-query"
#define GEN "./lineage-gen"
#define SAMPLE "fixtures/sample"

static char dir[256];

static void mk_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/lin-limits-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_dir(void)
{
	char cmd[320];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(limits, .init = mk_dir, .fini = rm_dir);

/* Run argv with RLIMIT_AS of `limit` bytes (0: none), output to
 * files in the test folder; the exit status, or 1000 + signal. */
static int run_limited(rlim_t limit, char *const argv[])
{
	char out[320], err[320];
	pid_t pid;
	int st;

	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(err, sizeof err, "%s/err", dir);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { limit, limit };
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(127);
		if (limit && setrlimit(RLIMIT_AS, &rl))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		cr_assert_eq(errno, EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static const char *last_err(void)
{
	static char buf[2000];
	char path[320];
	snprintf(path, sizeof path, "%s/err", dir);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

#define GIB ((rlim_t)1 << 30)

static void index_and_query(const char *src, const char *name)
{
	char store[320];
	snprintf(store, sizeof store, "%s/%s.lmdb", dir, name);
	char *ix[] = { INDEXER, "--store", store, (char *)src, NULL };
	int rc = run_limited(GIB, ix);
	cr_expect_eq(rc, 0, "lineage-index on %s in 1 GiB: %d: %s", name, rc,
		     last_err());
	const char *const cmds[][3] = { { "stats" }, { "check" },
					{ "ls", "runs" } };
	for (size_t i = 0; i < 3; i++) {
		char *q[] = { QUERY, "--store", store, (char *)cmds[i][0],
			      (char *)cmds[i][1], NULL };
		rc = run_limited(GIB, q);
		cr_expect_eq(rc, 0, "%s on %s in 1 GiB: %d: %s", cmds[i][0],
			     name, rc, last_err());
	}
}

Test(limits, sample_in_one_gib)
{
	index_and_query(SAMPLE, "sample");
}

Test(limits, ten_thousand_runs_in_one_gib, .timeout = 300)
{
	char arch[320];
	snprintf(arch, sizeof arch, "%s/arch", dir);
	char *gen[] = { GEN, "synth", "--runs", "10000", "--runs-per-file",
			"20", "--seed", "4", arch, NULL };
	cr_assert_eq(run_limited(0, gen), 0, "lineage-gen: %s", last_err());
	index_and_query(arch, "ten-k");
}
