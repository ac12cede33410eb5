/* test_counts.c - the store's counters (meta "count.*", schema 3) that
 * `stats` reads instead of scanning: kept right by the indexer through
 * batches, replaced files and prunes (`check` counts the nodes and edges
 * and compares), read by `stats`, and a store of the older schema,
 * which has none, refused with the way to rebuild it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/cursor.h"
#include "format/store.h"
#include "format/txn.h"
#include "tests/helpers.h"

TestSuite(counts, .init = th_mkdir, .fini = th_rmdir, .timeout = 240);

/* The "runs" .. "used" lines of `stats` (the counted figures). */
static char *counted(const char *store)
{
	struct th_res r = th_query(store, "stats", NULL);
	cr_assert_eq(r.rc, 0, "stats: %s", r.err);
	char *keep = strstr(r.out, "runs ");
	char *end = keep ? strstr(keep, "pending") : NULL;
	cr_assert(keep && end, "%s", r.out);
	return strndup(keep, (size_t)(end - keep));
}

/* `check` finds nothing wrong (the counters among what it compares). */
static void check_clean(const char *store, const char *when)
{
	struct th_res r = th_query(store, "check", NULL);
	cr_assert_eq(r.rc, 0, "%s: %s%s", when, r.out, r.err);
	cr_assert(!strstr(r.out, "problem:"), "%s: %s", when, r.out);
}

static void index_sh(const char *args)
{
	int code;
	free(th_sh(&code, "./lineage-index -q %s", args));
	cr_assert_eq(code, 0, "lineage-index %s", args);
}

/* The counters of a store indexed file by file, newest first, after a
 * file was replaced and after a prune, equal what check counts and what
 * a fresh index of the same files says. */
Test(counts, kept_through_batches_replacements_and_prunes)
{
	char arch[TH_PATH_MAX], st[TH_PATH_MAX], fresh[TH_PATH_MAX];
	char args[3 * TH_PATH_MAX];
	int code;

	th_path(arch, "arch");
	th_path(st, "s.lmdb");
	free(th_sh(&code, "./lineage-gen synth --runs 120 --runs-per-file 4 "
		   "--seed 5 --shape late-finish,relogs,cross-project,resumed,"
		   "explicit,crashed '%s' && find '%s' -type f | LC_ALL=C "
		   "sort -r > '%s'", arch, arch, th_at("files")));
	cr_assert_eq(code, 0);
	/* newest file first, one at a time: versions renumbered, edges
	 * turned from producer to re-log and back */
	char *list = th_sh(&code, "cat '%s'", th_at("files"));
	const char *p = list;
	char *line;
	int n = 0;
	while ((line = th_line(&p))) {
		snprintf(args, sizeof args, "--store '%s' '%s'", st, line);
		index_sh(args);
		if (++n % 8 == 0)
			check_clean(st, line);
		free(line);
	}
	free(list);
	cr_assert_gt(n, 20);
	check_clean(st, "all files");
	snprintf(args, sizeof args, "--store '%s' '%s'", th_path(fresh,
		 "f0.lmdb"), arch);
	index_sh(args);
	char *a = counted(st), *b = counted(fresh);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);

	/* a file replaced by another's content: its facts go, others come */
	free(th_sh(&code, "a=$(sed -n 3p '%s'); b=$(sed -n 9p '%s'); "
		   "cp \"$b\" \"$a\"", th_at("files"), th_at("files")));
	cr_assert_eq(code, 0);
	/* a quarter of the files gone, pruned */
	free(th_sh(&code, "sed -n '1~4p' '%s' | xargs rm -f",
		   th_at("files")));
	cr_assert_eq(code, 0);
	snprintf(args, sizeof args, "--prune --store '%s' '%s'", st, arch);
	index_sh(args);
	check_clean(st, "after the prune");
	snprintf(args, sizeof args, "--store '%s' '%s'", th_path(fresh,
		 "f1.lmdb"), arch);
	index_sh(args);
	a = counted(st);
	b = counted(fresh);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

/* Write `val` under meta key `name` of the store at `path`. */
static void put_meta(const char *path, const char *name, const void *val,
		     size_t n)
{
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;

	cr_assert_eq(lin_store_open(&s, path, 0, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_begin(&s, 0, &txn, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_put(txn, &s, LIN_DB_META, name, strlen(name),
				   val, n, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_commit(txn, &e), 0, "%s", e.msg);
	lin_store_close(&s);
}

static void small_store(const char *store)
{
	char args[2 * TH_PATH_MAX];
	int code;

	free(th_sh(&code, "./lineage-gen synth --runs 30 --runs-per-file 3 "
		   "--seed 2 '%s'", th_at("arch")));
	cr_assert_eq(code, 0);
	snprintf(args, sizeof args, "--store '%s' '%s'", store, th_at("arch"));
	index_sh(args);
}

/* stats reads the counter (no scan), and check tells a counter that
 * disagrees with the store. */
Test(counts, stats_reads_them_and_check_verifies_them)
{
	char st[TH_PATH_MAX];
	unsigned char v[8];

	small_store(th_path(st, "s.lmdb"));
	check_clean(st, "indexed");
	struct th_res r = th_query(st, "stats", NULL);
	cr_assert(strstr(r.out, "runs         30\n"), "%s", r.out);
	lin_be64_put(v, 12345);
	put_meta(st, LIN_META_COUNT_RUNS, v, 8);
	r = th_query(st, "stats", NULL);
	cr_assert(strstr(r.out, "runs         12345\n"), "%s", r.out);
	/* as of a time, stats scans: the nodes themselves */
	r = th_query(st, "--as-of", "2100-01-01", "stats", NULL);
	cr_assert(strstr(r.out, "runs         30\n"), "%s", r.out);
	r = th_query(st, "check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	cr_assert(strstr(r.out, "problem: meta 'count.runs' says 12345, the "
			 "store holds 30\n"), "%s", r.out);
	put_meta(st, LIN_META_COUNT_USED, "abc", 3);
	r = th_query(st, "check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	cr_assert(strstr(r.out, "problem: meta 'count.used' is 3 bytes, "
			 "not 8\n"), "%s", r.out);
}

/* A store of schema 2 (no counters) is refused by both programs with
 * the command that rebuilds it, and --rebuild makes it whole. */
Test(counts, schema_2_store_refused_then_rebuilt)
{
	char st[TH_PATH_MAX], want[3 * TH_PATH_MAX];
	unsigned char v[4];
	int code;

	small_store(th_path(st, "s.lmdb"));
	char *before = counted(st);
	lin_be32_put(v, 2);
	put_meta(st, LIN_META_SCHEMA, v, 4);
	snprintf(want, sizeof want, "store schema 2 is older than this "
		 "program's %d; rebuild it from its sources with "
		 "'lineage-index --store %s --rebuild'", LIN_SCHEMA_VERSION,
		 st);
	struct th_res r = th_query(st, "stats", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.err);
	cr_assert(strstr(r.err, want), "%s", r.err);
	char *o = th_sh(&code, "./lineage-index --store '%s' '%s' 2>&1", st,
			th_at("arch"));
	cr_assert_eq(code, 65, "%s", o);
	cr_assert(strstr(o, want), "%s", o);
	free(o);
	free(th_sh(&code, "./lineage-index -q --store '%s' --rebuild", st));
	cr_assert_eq(code, 0);
	r = th_query(st, "stats", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "schema       7\n"), "%s", r.out);
	check_clean(st, "rebuilt");
	char *after = counted(st);
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}

/* Look-ups and walks open a store without the kernel's read-ahead (a
 * cold walk otherwise read most of a large store); writers and scans
 * keep it. */
Test(counts, readers_that_walk_open_without_read_ahead)
{
	const char *store = th_at("s.lmdb");
	struct { unsigned flags; int want; } cases[] = {
		{ LIN_STORE_RDONLY | LIN_STORE_RANDOM, 1 },
		{ LIN_STORE_RDONLY, 0 },
		{ 0, 0 },
		{ LIN_STORE_RANDOM, 0 },   /* a writer reads ahead as before */
	};

	small_store(store);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct lin_store s;
		struct lin_err e;
		unsigned envflags = 0;

		cr_assert_eq(lin_store_open(&s, store, cases[i].flags, &e), 0,
			     "%s", e.msg);
		cr_assert_eq(mdb_env_get_flags(s.env, &envflags), 0);
		cr_assert_eq(!!(envflags & MDB_NORDAHEAD), cases[i].want,
			     "case %zu: flags 0x%x", i, envflags);
		lin_store_close(&s);
	}
}

/* A real schema-1 store, written by the schema-1 indexer (e5c5ca9) from
 * fixtures/sample copied to FIX_SRC (the store names its sources by
 * absolute path): every command refuses it with the rebuild command,
 * before any of the databases it lacks is looked for; while its sources
 * are gone the rebuild says so and leaves it as it was; with them back
 * the rebuild gives what a fresh index gives. */
#define FIX_SRC "/tmp/lineage-schema-1"
Test(counts, a_real_schema_1_store_is_refused_then_rebuilt)
{
	char st[TH_PATH_MAX], fresh[TH_PATH_MAX], want[3 * TH_PATH_MAX];
	int code;

	th_path(st, "schema-1.lmdb");
	free(th_sh(&code, "gzip -dc fixtures/stores/schema-1.lmdb.gz > '%s'",
		   st));
	cr_assert_eq(code, 0);
	snprintf(want, sizeof want, "store schema 1 is older than this "
		 "program's %d; rebuild it from its sources with "
		 "'lineage-index --store %s --rebuild'", LIN_SCHEMA_VERSION,
		 st);
	const char *cmds[][2] = {
		{ "stats", NULL }, { "check", NULL }, { "ls", "runs" },
		{ "impact", "dataset/mnist-raw:v0" },
		{ "used", "dataset/mnist-raw:v0" },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		struct th_res r = th_query(st, cmds[i][0], cmds[i][1], NULL);
		cr_assert_eq(r.rc, 65, "%s: %s", cmds[i][0], r.err);
		cr_assert(strstr(r.err, want), "%s: %s", cmds[i][0], r.err);
	}
	char *o = th_sh(&code, "./lineage-index --store '%s' fixtures/sample "
			"2>&1", st);
	cr_assert_eq(code, 65, "%s", o);
	cr_assert(strstr(o, want), "%s", o);
	free(o);

	free(th_sh(&code, "rm -rf " FIX_SRC));
	o = th_sh(&code, "./lineage-index --store '%s' --rebuild 2>&1", st);
	cr_assert_eq(code, 66, "%s", o);
	cr_assert(strstr(o, FIX_SRC "/sample/mnist/01-upload.runlog: vanished"
			 " since it was indexed"), "%s", o);
	cr_assert(strstr(o, "every source of the store has vanished; the "
			 "store is left as it was"), "%s", o);
	free(o);
	struct th_res r = th_query(st, "stats", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.err);

	free(th_sh(&code, "mkdir -p " FIX_SRC " && cp -r fixtures/sample "
		   FIX_SRC "/"));
	cr_assert_eq(code, 0);
	free(th_sh(&code, "./lineage-index -q --store '%s' --rebuild", st));
	free(th_sh(NULL, "rm -rf " FIX_SRC));
	cr_assert_eq(code, 0);
	r = th_query(st, "stats", NULL);
	cr_assert(strstr(r.out, "schema       7\n"), "%s", r.out);
	check_clean(st, "rebuilt");
	char args[2 * TH_PATH_MAX];
	snprintf(args, sizeof args, "--store '%s' fixtures/sample",
		 th_path(fresh, "fresh.lmdb"));
	index_sh(args);
	char *a = counted(st), *b = counted(fresh);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

/* lin_store_put_new_last (what puts a node): a key past the last one is
 * appended and counted as new; a new key before it, and a key that is
 * there, go the usual way, so the answer (new or replaced) and the
 * values are those of lin_store_put_new whatever the order. */
Test(counts, put_new_last_answers_as_put_new_in_any_order)
{
	struct lin_store s;
	struct lin_err err;
	MDB_txn *txn;
	static const struct { unsigned char key; char val; int added; } put[] = {
		{ 2, 'a', 1 }, { 5, 'b', 1 }, { 3, 'c', 1 }, { 5, 'd', 0 },
		{ 3, 'e', 0 }, { 9, 'f', 1 }, { 1, 'g', 1 }, { 9, 'h', 0 },
	};
	static const char want[10] = { 0, 'g', 'a', 'e', 0, 'd', 0, 0, 0,
				       'h' };

	cr_assert_eq(lin_store_open(&s, th_at("s.lmdb"), 0, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(lin_store_begin(&s, 0, &txn, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < sizeof put / sizeof *put; i++) {
		unsigned char k[8] = { 0, 0, 0, 0, 0, 0, 0, put[i].key };
		int rc = lin_store_put_new_last(txn, &s, LIN_DB_USE_RES, k, 8,
						&put[i].val, 1, &err);
		cr_assert_eq(rc, put[i].added, "put %zu (key %u): %d", i,
			     put[i].key, rc);
	}
	for (unsigned key = 0; key < 10; key++) {
		unsigned char k[8] = { 0, 0, 0, 0, 0, 0, 0,
				       (unsigned char)key };
		MDB_val v;
		int rc = lin_store_get(txn, &s, LIN_DB_USE_RES, k, 8, &v, &err);
		if (!want[key]) {
			cr_assert_neq(rc, 0, "key %u should be absent", key);
			continue;
		}
		cr_assert_eq(rc, 0, "key %u: %s", key, err.msg);
		cr_assert(v.mv_size == 1 && *(char *)v.mv_data == want[key],
			  "key %u holds '%.*s', not '%c'", key, (int)v.mv_size,
			  (char *)v.mv_data, want[key]);
	}
	cr_assert_eq(lin_store_entries(txn, &s, LIN_DB_USE_RES), 5);
	mdb_txn_abort(txn);
	lin_store_close(&s);
}
