/* test_limits.c - the programs in a modest address space: with
 * `ulimit -v 1048576` (1 GiB) lineage-index and lineage-query index and
 * query the sample and a 10,000-run archive. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#define INDEXER TH_INDEXER
#define QUERY TH_QUERY
#define GEN TH_GEN
#define SAMPLE "fixtures/sample"

TestSuite(limits, .init = th_mkdir, .fini = th_rmdir);

/* Run argv in `limit` bytes of address space (0: no limit); 0 when it
 * exited 0, else fails the test with its stderr. */
static void run_limited(rlim_t limit, char *const argv[])
{
	struct th_child_opts o = { 600, 0, limit };
	struct th_child c = th_child_run(argv, &o);
	cr_expect(c.status == 0, "%s %s in %llu bytes: exit %d, signal %d: "
		  "%s", argv[0], argv[3] ? argv[3] : "",
		  (unsigned long long)limit, c.status, c.sig, c.err);
	th_child_free(&c);
}

#define GIB ((rlim_t)1 << 30)

/* AddressSanitizer reserves terabytes of address space for its shadow:
 * sanitized programs cannot run under RLIMIT_AS at all. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void index_and_query(const char *src, const char *name)
{
#ifdef UNDER_ASAN
	cr_skip_test("address space limits do not apply under ASan");
#endif
	char store[320];
	snprintf(store, sizeof store, "%s/%s.lmdb", th_dir, name);
	char *ix[] = { INDEXER, "--store", store, (char *)src, NULL };
	run_limited(GIB, ix);
	const char *const cmds[][3] = { { "stats" }, { "check" },
					{ "ls", "runs" } };
	for (size_t i = 0; i < 3; i++) {
		char *q[] = { QUERY, "--store", store, (char *)cmds[i][0],
			      (char *)cmds[i][1], NULL };
		run_limited(GIB, q);
	}
}

Test(limits, sample_in_one_gib)
{
	index_and_query(SAMPLE, "sample");
}

Test(limits, ten_thousand_runs_in_one_gib, .timeout = 300)
{
	char arch[320];
	snprintf(arch, sizeof arch, "%s/arch", th_dir);
	char *gen[] = { GEN, "synth", "--runs", "10000", "--runs-per-file",
			"20", "--seed", "4", arch, NULL };
	run_limited(0, gen);
	index_and_query(arch, "ten-k");
}
