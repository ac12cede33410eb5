/* test_compact.c - lin_store_compact (`--compact-to`): the copy holds
 * exactly the store's entries, database by database (keys, values,
 * duplicates and database flags), and its pages are full, so it is
 * smaller than LMDB's own compacting copy, which keeps each page as
 * full as random inserts left it. Answers on the copy (read-only media,
 * no lock file) are in test_damage.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format/compact.h"
#include "format/store.h"
#include "tests/helpers.h"

TestSuite(compact, .init = th_mkdir, .fini = th_rmdir, .timeout = 240);

/* lin_store_dump of `s` (every entry of every database, in key order). */
static char *dump(struct lin_store *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	struct lin_err e;

	cr_assert_not_null(m);
	cr_assert_eq(lin_store_dump(s, m, &e), 0, "%s", e.msg);
	fclose(m);
	return buf;
}

/* The two stores hold the same entries, and each database was created
 * with the same flags (its key and duplicate order). */
static void same_store(struct lin_store *a, struct lin_store *b)
{
	MDB_txn *ta, *tb;

	cr_assert_eq(mdb_txn_begin(a->env, NULL, MDB_RDONLY, &ta), 0);
	cr_assert_eq(mdb_txn_begin(b->env, NULL, MDB_RDONLY, &tb), 0);
	for (int db = 0; db < LIN_DB_COUNT; db++) {
		unsigned fa, fb;
		cr_assert_eq(mdb_dbi_flags(ta, a->dbi[db], &fa), 0);
		cr_assert_eq(mdb_dbi_flags(tb, b->dbi[db], &fb), 0);
		cr_assert_eq(fa, fb, "%s: flags %x vs %x", lin_db_names[db],
			     fa, fb);
	}
	mdb_txn_abort(ta);
	mdb_txn_abort(tb);
	char *da = dump(a), *db = dump(b);
	cr_assert(strlen(da) > 1000, "%s", da);
	cr_assert_str_eq(da, db);
	free(da);
	free(db);
}

/* Leaf and branch pages of all the databases of store `s`. */
static size_t pages(struct lin_store *s, MDB_txn *txn)
{
	size_t n = 0;
	MDB_stat ms;

	for (int db = 0; db < LIN_DB_COUNT; db++) {
		cr_assert_eq(mdb_stat(txn, s->dbi[db], &ms), 0);
		n += ms.ms_leaf_pages + ms.ms_branch_pages +
		     ms.ms_overflow_pages;
	}
	return n;
}

Test(compact, copy_holds_every_entry_in_full_pages)
{
	char st[TH_PATH_MAX], copy[TH_PATH_MAX], lmdb[TH_PATH_MAX];
	struct lin_store a, b, c;
	struct lin_err e;
	uint64_t from_size = 0, to_size = 0;
	MDB_txn *ta, *tb, *tc;
	int code;

	/* every generated shape (one file per run, crashed and resumed
	 * runs, re-logs, cross-project uses, names beyond ASCII), files
	 * indexed in two passes: the B-trees get keys in no particular
	 * order, as real exports give them */
	th_path(st, "s.lmdb");
	free(th_sh(&code, "./lineage-gen synth --runs 3000 --shape all "
		   "--seed 9 '%s' && ./lineage-index -q --store '%s' "
		   "$(find '%s' -name '*5*' -type f) && ./lineage-index -q "
		   "--store '%s' '%s'", th_at("arch"), st, th_at("arch"), st,
		   th_at("arch")));
	cr_assert_eq(code, 0);
	cr_assert_eq(lin_store_compact(st, th_path(copy, "c.lmdb"),
				       &from_size, &to_size, &e), 0, "%s",
		     e.msg);
	struct stat sb;
	cr_assert_eq(stat(copy, &sb), 0);
	cr_assert_eq((uint64_t)sb.st_size, to_size);

	cr_assert_eq(lin_store_open(&a, st, LIN_STORE_RDONLY, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(lin_store_open(&b, copy, LIN_STORE_RDONLY, &e), 0, "%s",
		     e.msg);
	/* LMDB's compacting copy of the same store, as the baseline (before
	 * this thread holds a read transaction: LMDB allows one) */
	cr_assert_eq(mdb_env_copy2(a.env, th_path(lmdb, "l.lmdb"),
				   MDB_CP_COMPACT), 0);
	cr_assert_eq(mdb_txn_begin(a.env, NULL, MDB_RDONLY, &ta), 0);
	cr_assert_eq(mdb_txn_begin(b.env, NULL, MDB_RDONLY, &tb), 0);

	cr_assert_eq(lin_store_open(&c, lmdb, LIN_STORE_RDONLY, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(mdb_txn_begin(c.env, NULL, MDB_RDONLY, &tc), 0);
	size_t ours = pages(&b, tb), theirs = pages(&c, tc);
	cr_log_info("pages: store %zu, LMDB's copy %zu, ours %zu",
		    pages(&a, ta), theirs, ours);
	cr_assert_lt(ours * 100, theirs * 90, "%zu pages vs LMDB's %zu",
		     ours, theirs);
	mdb_txn_abort(ta);
	mdb_txn_abort(tb);
	mdb_txn_abort(tc);
	same_store(&a, &b);
	lin_store_close(&a);
	lin_store_close(&b);
	lin_store_close(&c);
}

/* A copy that cannot be written leaves nothing behind: no file, no
 * temporary, no lock file. */
Test(compact, a_failed_copy_leaves_nothing)
{
	char st[TH_PATH_MAX];
	struct lin_err e;
	int code;

	th_path(st, "s.lmdb");
	free(th_sh(&code, "./lineage-index -q --store '%s' fixtures/sample",
		   st));
	cr_assert_eq(code, 0);
	cr_assert_eq(lin_store_compact(st, th_at("no/such/dir/c.lmdb"), NULL,
				       NULL, &e), LIN_EIO);
	cr_assert(strstr(e.msg, "cannot write the copy"), "%s", e.msg);
	char *left = th_sh(&code, "ls -A '%s'", th_at("."));
	cr_assert_str_eq(left, "s.lmdb\ns.lmdb-lock\nstderr.log\n");
	free(left);
}
