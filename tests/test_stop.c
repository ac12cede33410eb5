/* test_stop.c - lineage-index stopped by SIGINT, SIGTERM or SIGHUP: it
 * commits what it has, prints the summary and a line saying it was
 * interrupted, and exits 128+signal; a second SIGINT stops it at once.
 * Either way the store checks clean and holds what the summary says. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

extern char **environ;

#define INDEXER TH_INDEXER
#define QUERY TH_QUERY
#define GEN TH_GEN

TestSuite(stop, .init = th_mkdir, .fini = th_rmdir);

#define P(name) th_at("%s", name)
#define slurp(path) th_read_file(path, NULL)

static pid_t start(char *const argv[], const char *out, const char *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT |
					 O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT |
					 O_TRUNC, 0644);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Exit status, or 1000 + signal. */
static int finish(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		cr_assert_eq(errno, EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

/* `lineage-query --store S stats --json`'s "sources", or -1. */
static long sources(const char *store)
{
	char *argv[] = { (char *)QUERY, "--store", (char *)store, "stats",
			 "--json", NULL };
	const char *o = P("q.out"), *e = P("q.err");
	if (finish(start(argv, o, e)) != 0)
		return -1;
	char *s = slurp(o);
	char *p = strstr(s, "\"sources\":");
	long n = p ? strtol(p + 10, NULL, 10) : -1;
	free(s);
	return n;
}

static int check(const char *store)
{
	char *argv[] = { (char *)QUERY, "--store", (char *)store, "check",
			 NULL };
	return finish(start(argv, P("c.out"), P("c.err")));
}

static void make_archive(void)
{
	char *argv[] = { (char *)GEN, "synth", "--runs", "6000",
			 "--runs-per-file", "10", "--seed", "21",
			 (char *)P("arch"), NULL };
	cr_assert_eq(finish(start(argv, P("g.out"), P("g.err"))), 0);
}

/* Start indexing with --sync (a commit per file, so there is time to
 * act) and wait until some files are committed: robust to a loaded
 * machine, unlike a fixed delay. */
static pid_t index_started(const char *store)
{
	char *argv[] = { (char *)INDEXER, "--sync", "--store", (char *)store,
			 (char *)P("arch"), NULL };
	pid_t pid = start(argv, P("i.out"), P("i.err"));
	for (int i = 0; i < 3000; i++) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
		int st;
		cr_assert_eq(waitpid(pid, &st, WNOHANG), 0,
			     "the indexer ended before it was stopped");
		if (sources(store) >= 3)
			return pid;
	}
	cr_assert_fail("no file committed after 30 s");
	return pid;
}

static void stopped_by(int sig, const char *name)
{
	char store[512], want[80];
	snprintf(store, sizeof store, "%s", P("s.lmdb"));
	make_archive();
	pid_t pid = index_started(store);
	cr_assert_eq(kill(pid, sig), 0);
	int rc = finish(pid);
	char *out = slurp(P("i.out")), *err = slurp(P("i.err"));
	cr_expect_eq(rc, 128 + sig, "exit %d after %s; stderr: %s", rc, name,
		     err);
	snprintf(want, sizeof want, "interrupted by %s: ", name);
	cr_expect(strstr(err, want), "no interrupted line: %s", err);
	long indexed = -1;
	char *p = strstr(out, "files:");
	cr_expect(p && sscanf(p, "files: %ld indexed", &indexed) == 1,
		  "no summary: %s", out);
	cr_expect(strstr(err, "files indexed and committed"), "%s", err);
	cr_expect_eq(check(store), 0, "the store does not check clean");
	cr_expect_eq(sources(store), indexed, "the summary says %ld files, "
		     "the store holds %ld", indexed, sources(store));
	cr_expect_lt(indexed, 600, "the whole archive was indexed");
	free(out);
	free(err);
}

Test(stop, sigint_commits_and_says_so, .timeout = 120)
{
	stopped_by(SIGINT, "SIGINT");
}

Test(stop, sigterm_commits_and_says_so, .timeout = 120)
{
	stopped_by(SIGTERM, "SIGTERM");
}

Test(stop, sighup_commits_and_says_so, .timeout = 120)
{
	stopped_by(SIGHUP, "SIGHUP");
}

Test(stop, second_sigint_stops_at_once, .timeout = 120)
{
	char store[512];
	snprintf(store, sizeof store, "%s", P("s.lmdb"));
	make_archive();
	pid_t pid = index_started(store);
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(kill(pid, SIGINT), 0);
	int rc = finish(pid);
	char *err = slurp(P("i.err"));
	/* the second signal may land after the first already stopped it */
	cr_expect_eq(rc, 130, "exit %d; stderr: %s", rc, err);
	cr_expect(strstr(err, "stopped at once") ||
		  strstr(err, "interrupted by SIGINT"), "%s", err);
	cr_expect_eq(check(store), 0, "the store does not check clean");
	cr_expect_gt(sources(store), 0);
	free(err);
}

/* A full file system is named as such, and the store keeps what was
 * committed. Needs a small file system: a 2 MiB tmpfs, which only root
 * can mount (skipped elsewhere). */
Test(stop, full_disk_is_named, .timeout = 120)
{
	char mnt[512], store[600], cmd[1200];

	if (geteuid() != 0)
		cr_skip_test("mounting a small tmpfs needs root");
	snprintf(mnt, sizeof mnt, "%s", P("small"));
	cr_assert_eq(mkdir(mnt, 0755), 0);
	snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=2m tmpfs '%s' "
		 "2>/dev/null", mnt);
	if (system(cmd) != 0)
		cr_skip_test("cannot mount a tmpfs here");
	make_archive();
	snprintf(store, sizeof store, "%s/s.lmdb", mnt);
	char *argv[] = { (char *)INDEXER, "--store", store,
			 (char *)P("arch"), NULL };
	int rc = finish(start(argv, P("i.out"), P("i.err")));
	char *err = slurp(P("i.err"));
	long kept = sources(store);
	int checked = kept > 0 ? check(store) : 0;
	snprintf(cmd, sizeof cmd, "umount '%s'", mnt);
	cr_assert_eq(system(cmd), 0, "cannot unmount %s", mnt);
	cr_expect_eq(rc, 74, "exit %d on a full disk: %s", rc, err);
	cr_expect(strstr(err, "no space left on the file system holding "
			 "the store"), "the full disk is not named: %s", err);
	cr_expect_eq(checked, 0, "the store kept on a full disk does not "
		     "check clean");
	free(err);
}
