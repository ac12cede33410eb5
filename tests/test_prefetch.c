/* test_prefetch.c - walks that read ahead with helper threads
 * (query/prefetch.c): the answers, exit codes and messages are those of
 * the walk alone, on a good store and on a damaged one (a helper that
 * faults stops quietly); helpers start when the walk's thread waits for
 * the disk, and never over a store in memory. LINEAGE_PREFETCH=always
 * starts them at a walk's first step, since a test's store is in the
 * page cache. The lock file has room for their reader slots. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/store.h"
#include "tests/helpers.h"

TestSuite(prefetch, .init = th_mkdir, .fini = th_rmdir, .timeout = 300);

/* A store of 2,000 runs of every generated shape (one file per run,
 * finishes after the next run, resumed and crashed runs, re-logs,
 * cross-project uses, names beyond ASCII, stated version numbers), and
 * the `n` most-used version refs (hubs: the widest walks) into refs[]. */
static void hub_store(char st[TH_PATH_MAX], char refs[][128], int n)
{
	int code;

	th_path(st, "s.lmdb");
	free(th_sh(&code, "./lineage-gen synth --runs 2000 --shape all "
		   "--seed 3 --edges '%s' '%s' >/dev/null && "
		   /* groups cut by record count only: the same pages
		    * however fast the indexer runs (sanitizers) */
		   "LINEAGE_GROUP_MS=600000 ./lineage-index "
		   "-q --store '%s' '%s'", th_at("truth.csv"), th_at("arch"),
		   st, th_at("arch")));
	cr_assert_eq(code, 0);
	char *top = th_sh(&code, "grep '^used,' '%s' | cut -d, -f3 | sort | "
			  "uniq -c | sort -k1,1nr -k2 | head -%d | "
			  "awk '{ print $2 }'", th_at("truth.csv"), n);
	const char *p = top;
	char *line;
	int i = 0;
	while (i < n && (line = th_line(&p))) {
		snprintf(refs[i++], 128, "%s", line);
		free(line);
	}
	free(top);
	cr_assert_eq(i, n, "only %d hubs", i);
}

/* `lineage-query --store st CMD REF` run as a program (its fault guard
 * on) with LINEAGE_PREFETCH set to `mode` (unset when NULL: the
 * default) and tracing on: the exit
 * code, stdout and stderr without the trace lines, in one string;
 * *traced says whether helpers started. */
static char *answer(const char *st, const char *mode, const char *cmd,
		    const char *ref, int *traced)
{
	int code;
	char *out = th_sh(&code, "%s%s LINEAGE_PREFETCH_TRACE=1 "
			  "./lineage-query --store '%s' %s '%s' 2>'%s'",
			  mode ? "LINEAGE_PREFETCH=" : "env -u LINEAGE_PREFETCH",
			  mode ? mode : "", st, cmd, ref, th_at("q.err"));
	char *err = th_read_file(th_at("q.err"), NULL);
	size_t cap = strlen(out) + strlen(err) + 64;
	char *all = malloc(cap), *o = all;
	o += snprintf(o, cap, "exit %d\n%s", code, out);
	*traced = 0;
	const char *p = err;
	char *line;
	while ((line = th_line(&p))) {
		if (strncmp(line, "prefetch: ", 10) == 0)
			*traced = 1;
		else
			o += snprintf(o, cap - (size_t)(o - all), "%s\n",
				      line);
		free(line);
	}
	free(out);
	free(err);
	return all;
}

static const char *const cmds[] = {
	"impact", "provenance", "lineage --both", "lineage --down --depth 2",
	"--json impact", "graph --format dot --both",
};
#define NCMDS (sizeof cmds / sizeof *cmds)

/* Every walk command answers the same with helpers reading ahead from
 * the first step as without them, and the helpers did run. */
Test(prefetch, the_same_answers_with_helpers)
{
	char st[TH_PATH_MAX], refs[6][128];
	int traced, started = 0;

	hub_store(st, refs, 6);
	for (int i = 0; i < 6; i++)
		for (size_t c = 0; c < NCMDS; c++) {
			char *off = answer(st, "off", cmds[c], refs[i],
					   &traced);
			cr_assert(!traced, "helpers with LINEAGE_PREFETCH=off");
			char *on = answer(st, "always", cmds[c], refs[i],
					  &traced);
			started += traced;
			cr_assert_str_eq(on, off, "%s %s", cmds[c], refs[i]);
			cr_assert(strncmp(off, "exit 0\n", 7) == 0, "%s", off);
			free(off);
			free(on);
		}
	cr_assert_eq(started, 6 * (int)NCMDS, "helpers started %d times",
		     started);
}

/* Overwrite `n` bytes at `at` of file `path` with `byte`. */
static void scribble(const char *path, off_t at, size_t n, int byte)
{
	char buf[4096];
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	memset(buf, byte, sizeof buf);
	while (n) {
		size_t k = n < sizeof buf ? n : sizeof buf;
		cr_assert_eq(pwrite(fd, buf, k, at), (ssize_t)k);
		at += (off_t)k;
		n -= k;
	}
	close(fd);
}

/* A store with damaged pages: whatever the walk meets (a clean answer,
 * an error, "store damaged"), it meets it the same with helpers, which
 * may fault first and must stop quietly. */
Test(prefetch, a_damaged_store_reads_the_same_with_helpers)
{
	char st[TH_PATH_MAX], copy[TH_PATH_MAX], refs[6][128];
	static const int strides[] = { 19, 17, 13, 11, 7, 5 };
	int traced, differ = 0, code;
	struct stat sb;

	hub_store(st, refs, 6);
	th_path(copy, "damaged.lmdb");
	cr_assert_eq(stat(st, &sb), 0);
	/* Pages in the second half of the file hold leaves of the big
	 * databases: zeros in some, 0xff (wild page numbers) in others.
	 * Which pages the walks read moves with the schema, so strides are
	 * tried from the sparsest until one meets a walk. */
	for (size_t t = 0; t < sizeof strides / sizeof *strides && !differ;
	     t++) {
		free(th_sh(&code, "cp '%s' '%s'", st, copy));
		cr_assert_eq(code, 0);
		for (off_t pg = sb.st_size / 8192; pg < sb.st_size / 4096;
		     pg += strides[t])
			scribble(copy, pg * 4096 + 16, 64,
				 pg % 2 ? 0xff : 0);
		for (int i = 0; i < 6; i++)
			for (size_t c = 0; c < NCMDS; c++) {
				char *off = answer(copy, "off", cmds[c],
						   refs[i], &traced);
				char *on = answer(copy, "always", cmds[c],
						  refs[i], &traced);
				cr_assert_str_eq(on, off, "%s %s", cmds[c],
						 refs[i]);
				differ += strncmp(off, "exit 0\n", 7) != 0;
				free(off);
				free(on);
			}
		cr_log_info("every %dth page: %d of %zu walks met the "
			    "damage", strides[t], differ, 6 * NCMDS);
	}
	cr_assert_gt(differ, 0, "the damage was never met");
}

/* Drop the store's pages from the page cache; skip the test where the
 * kernel keeps them. */
static void drop_from_cache(const char *st)
{
	int fd = open(st, O_RDONLY);
	cr_assert_geq(fd, 0);
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	struct stat sb;
	fstat(fd, &sb);
	void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(m, MAP_FAILED);
	size_t pages = ((size_t)sb.st_size + 4095) / 4096, resident = 0;
	unsigned char *vec = malloc(pages);
	cr_assert_eq(mincore(m, (size_t)sb.st_size, vec), 0);
	for (size_t i = 0; i < pages; i++)
		resident += vec[i] & 1;
	free(vec);
	munmap(m, (size_t)sb.st_size);
	close(fd);
	if (resident > pages / 2)
		cr_skip_test("the page cache kept %zu of %zu pages of the "
			     "store (POSIX_FADV_DONTNEED ignored here)",
			     resident, pages);
}

/* Over a store in memory a walk starts no helpers; once the store's
 * pages are out of the page cache, it does with LINEAGE_PREFETCH=auto,
 * and not by default (no longer worth it since schema 5). */
Test(prefetch, helpers_start_when_the_walk_waits_for_the_disk)
{
	char st[TH_PATH_MAX], refs[1][128];
	int traced;

	hub_store(st, refs, 1);
	char *warm = answer(st, "auto", "impact", refs[0], &traced);
	cr_assert(!traced, "helpers over a store in memory");
	setenv("LINEAGE_PREFETCH_THREADS", "0", 1);
	char *none = answer(st, "always", "impact", refs[0], &traced);
	unsetenv("LINEAGE_PREFETCH_THREADS");
	cr_assert(!traced, "helpers with LINEAGE_PREFETCH_THREADS=0");
	cr_assert_str_eq(none, warm);
	free(none);
	drop_from_cache(st);
	char *plain = answer(st, NULL, "impact", refs[0], &traced);
	cr_assert(!traced, "helpers by default");
	cr_assert_str_eq(plain, warm);
	free(plain);
	drop_from_cache(st);
	char *cold = answer(st, "auto", "impact", refs[0], &traced);
	cr_assert(traced, "no helpers over a cold store");
	cr_assert_str_eq(cold, warm);
	free(cold);
	free(warm);
}

/* Readers hold a slot of the lock file each, helpers too: the table
 * has room for LIN_MAX_READERS (LMDB's own default, 126, would be
 * filled by some 25 cold walks at once). 300 threads hold a read
 * transaction each at the same time. */
#define READERS 300
static pthread_barrier_t all_began;
static struct lin_store *shared_store;

static void *reader(void *arg)
{
	MDB_txn *txn = NULL;
	int *rc = arg;

	*rc = mdb_txn_begin(shared_store->env, NULL, MDB_RDONLY, &txn);
	pthread_barrier_wait(&all_began);
	if (txn)
		mdb_txn_abort(txn);
	return NULL;
}

Test(prefetch, the_lock_file_has_room_for_many_readers)
{
	char st[TH_PATH_MAX];
	struct lin_store s;
	struct lin_err e;
	pthread_t th[READERS];
	pthread_attr_t attr;
	int rc[READERS], code;

	th_path(st, "s.lmdb");
	free(th_sh(&code, "./lineage-index -q --store '%s' fixtures/sample",
		   st));
	cr_assert_eq(code, 0);
	cr_assert_eq(lin_store_open(&s, st, LIN_STORE_RDONLY, &e), 0, "%s",
		     e.msg);
	shared_store = &s;
	pthread_barrier_init(&all_began, NULL, READERS);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < READERS; i++)
		cr_assert_eq(pthread_create(&th[i], &attr, reader, &rc[i]), 0);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&all_began);
	pthread_attr_destroy(&attr);
	int failed = 0;
	for (int i = 0; i < READERS; i++)
		failed += rc[i] != 0;
	cr_assert_eq(failed, 0, "%d of %d readers found no slot (%s)", failed,
		     READERS, mdb_strerror(rc[0] ? rc[0] : rc[READERS - 1]));
	lin_store_close(&s);
}
