/* test_nolock.c - queries by a reader that cannot use the store's lock
 * file (another user; as root, uid 65534) while lineage-index writes
 * with --sync. LMDB's reader table is then out of reach and the writer
 * reuses pages such a reader may be reading; lineage-query must notice
 * (the snapshot's transaction id against the newest) and retry, or stop
 * with exit 75 and a message: never a signal, a false `check` problem or
 * an answer from a torn snapshot. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

extern char **environ;

#define INDEXER TH_INDEXER
#define QUERY TH_QUERY
#define GEN TH_GEN

TestSuite(nolock, .init = th_mkdir, .fini = th_rmdir);

/* "sources" of a stats --json answer, or -1. */
static long sources_of(const char *json)
{
	const char *p = strstr(json, "\"sources\":");
	return p ? strtol(p + 10, NULL, 10) : -1;
}

Test(nolock, queries_without_the_lock_while_indexing_with_sync,
     .timeout = 600)
{
	char arch[320], store[320], lock[330], prog[320];
	struct th_child_opts me = { 120, 0, 0 }, reader = { 120, 1, 0 };
	int nobody = geteuid() == 0;

	snprintf(arch, sizeof arch, "%s/arch", th_dir);
	snprintf(store, sizeof store, "%s/s.lmdb", th_dir);
	snprintf(lock, sizeof lock, "%s-lock", store);
	snprintf(prog, sizeof prog, "%s/lineage-query", th_dir);
	char *gen[] = { GEN, "synth", "--runs", "4000", "--runs-per-file",
			"10", "--seed", "33", arch, NULL };
	struct th_child c = th_child_run(gen, &me);
	cr_assert_eq(c.status, 0, "%s", c.err);
	th_child_free(&c);
	/* the reader's own copy: the checkout may be closed to nobody */
	char *cp[] = { "/bin/cp", QUERY, prog, NULL };
	c = th_child_run(cp, &me);
	cr_assert_eq(c.status, 0);
	th_child_free(&c);
	cr_assert_eq(chmod(th_dir, 0755), 0);

	posix_spawn_file_actions_t fa;
	char iout[320];
	snprintf(iout, sizeof iout, "%s/index.log", th_dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, iout, O_WRONLY | O_CREAT |
					 O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	char *ix[] = { INDEXER, "--sync", "--store", store, arch, NULL };
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, INDEXER, &fa, NULL, ix, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	/* Once the writer has the lock file open, take write access to it
	 * from everyone else (the user's own queries, when not root). */
	while (access(lock, F_OK) != 0)
		usleep(1000);
	usleep(20000);
	if (!nobody)
		cr_assert_eq(chmod(lock, 0444), 0);

	int answered = 0, stopped = 0, done = 0, st;
	long last = 0;
	const char *const cmds[][3] = { { "stats", "--json" }, { "check" },
					{ "ls", "collections" } };
	for (int round = 0; !done; round++) {
		done = waitpid(pid, &st, WNOHANG) == pid;
		for (size_t i = 0; i < 3; i++) {
			char *q[] = { prog, "--store", store,
				      (char *)cmds[i][0], (char *)cmds[i][1],
				      NULL };
			c = th_child_run(q, &reader);
			if (c.setup)
				cr_skip_test("cannot run as nobody here");
			cr_assert(!c.hung, "%s hung", cmds[i][0]);
			cr_assert_eq(c.sig, 0, "%s died by signal %d: %s",
				     cmds[i][0], c.sig, c.err);
			if (c.status == 75) {
				stopped++;
				cr_expect(strstr(c.err, "without its lock file")
					  && strstr(c.err, "--compact-to"),
					  "exit 75 without the reason: %s",
					  c.err);
			} else {
				cr_assert_eq(c.status, 0, "%s (round %d) exit "
					     "%d: %s%s", cmds[i][0], round,
					     c.status, c.out, c.err);
				answered++;
			}
			if (c.status == 0 && i == 0) {
				long n = sources_of(c.out);
				cr_assert_geq(n, last, "sources went from %ld "
					      "to %ld", last, n);
				last = n;
			}
			th_child_free(&c);
		}
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the indexer failed");
	cr_log_info("nolock: %d answers, %d stops (exit 75); last snapshot "
		    "had %ld sources", answered, stopped, last);
	cr_expect_gt(answered, 0, "no query answered");
	/* the finished store, read without the lock */
	char *fin[] = { prog, "--store", store, "stats", "--json", NULL };
	c = th_child_run(fin, &reader);
	cr_expect_eq(c.status, 0, "%s", c.err);
	cr_expect_eq(sources_of(c.out), 400, "%s", c.out);
	th_child_free(&c);
	chmod(lock, 0644);
}
