/* test_audit.c - the lineage notes of `lineage-query check` on stores
 * built by the indexer: unresolved uses, offline W&B runs, uses before
 * logging, runs without a finish. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/cursor.h"
#include "format/keys.h"
#include "format/runlog.h"
#include "format/store.h"
#include "format/txn.h"
#include "format/runlog_writer.h"
#include "indexer/ingest.h"
#include "query/query.h"
#include "helpers.h"

TestSuite(audit, .init = th_mkdir, .fini = th_rmdir);

#define S(t) ((int64_t)(t) * 1000000000)

static struct lin_runlog_writer *w;

static void rec(enum lin_rec_kind kind, const char *id, const char *type,
		const char *name, const char *digest, const char *ref,
		int64_t t)
{
	struct lin_record r;
	lin_record_clear(&r);
	r.kind = kind;
	r.run_id = id;
	r.entity = kind == LIN_REC_RUN ? "acme" : NULL;
	r.project = kind == LIN_REC_RUN ? "p" : NULL;
	r.type = type;
	r.coll = name;
	r.digest = digest;
	r.ref = ref;
	if (kind == LIN_REC_RUN)
		r.started_at = S(t);
	else
		r.at = S(t);
	if (kind == LIN_REC_FINISH)
		r.state = "finished";
	cr_assert_eq(lin_runlog_write(w, &r), 0);
}

static void index_into(const char *store, const char *path)
{
	struct lin_index_opts o = { 0 };
	struct lin_index_stats st;
	struct lin_err err;
	const char *paths[1] = { path };
	cr_assert_eq(lin_index_paths(store, paths, 1, &o, &st, &err), 0,
		     "%s", err.msg);
}

static char *check(const char *store, int *rc)
{
	char *argv[] = { "lineage-query", "--store", (char *)store, "check",
			 NULL };
	char *buf = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&buf, &n), *err = fopen("/dev/null", "w");
	*rc = lin_query_run(4, argv, out, err);
	fclose(out);
	fclose(err);
	return buf;
}

#define HAS(text, s) cr_assert(strstr(text, s), "missing '%s' in:\n%s", s, text)

/* r1 uses a version no file logged (pending), r2 one that r3 logged
 * (use_res). */
static void write_archive(const char *path)
{
	FILE *fp;

	cr_assert_not_null(fp = fopen(path, "wb"));
	cr_assert_eq(lin_runlog_writer_open(&w, fp, 0, "t", LIN_TIME_NONE), 0);
	rec(LIN_REC_RUN, "r1", NULL, NULL, NULL, NULL, 100);
	rec(LIN_REC_USE, NULL, NULL, NULL, NULL, "other/q/ds:v0", 100);
	rec(LIN_REC_FINISH, NULL, NULL, NULL, NULL, NULL, 110);
	rec(LIN_REC_RUN, "r2", NULL, NULL, NULL, NULL, 200);
	rec(LIN_REC_USE, NULL, NULL, NULL, NULL, "m:v1", 210);
	rec(LIN_REC_RUN, "r3", NULL, NULL, NULL, NULL, 100);
	rec(LIN_REC_LOG, NULL, "model", "m", "a", NULL, 150);
	rec(LIN_REC_LOG, NULL, "model", "m", "b", NULL, 500);
	rec(LIN_REC_FINISH, NULL, NULL, NULL, NULL, NULL, 510);
	cr_assert_eq(lin_runlog_writer_close(w), 0);
	fclose(fp);
}

Test(audit, notes_on_a_runlog_archive)
{
	const char *path = th_at("a.runlog"), *store = th_at("s.lmdb");
	int rc;

	write_archive(path);
	index_into(store, path);

	char *out = check(store, &rc);
	cr_assert_eq(rc, 0, "%s", out);
	HAS(out, "note: use never resolved: run:acme/p/r1 used other/q/ds:v0,"
	    " which no file in the archive logged (another project, not in "
	    "the archive)\n");
	HAS(out, "note: run:acme/p/r2 has no finish record");
	HAS(out, "note: artifact:acme/p/m:v1 was used at "
	    "1970-01-01T00:03:30Z, before it was logged at "
	    "1970-01-01T00:08:20Z");
	HAS(out, "checked 5 nodes, 6 edges: 0 problems, 3 notes\n");
	free(out);
}

Test(audit, offline_wandb_runs_and_runs_still_writing)
{
	const char *store = th_at("w.lmdb");
	int rc;

	index_into(store, "fixtures/wandb-sample");
	char *out = check(store, &rc);
	cr_assert_eq(rc, 0, "%s", out);
	HAS(out, "note: run:acme/wandb-demo/ab12cd34 ran offline: W&B records "
	    "no uses in offline logs, so what it consumed is unknown\n");
	HAS(out, "note: run:acme/wandb-demo/mn34op56 has no finish record");
	free(out);
}

/* The first key of `db` as a fact id (the database must not be empty). */
static uint64_t first_fact(const char *store, enum lin_db db)
{
	struct lin_store s;
	struct lin_scan sc;
	struct lin_err e;
	MDB_txn *txn;
	uint64_t id = 0;

	cr_assert_eq(lin_store_open(&s, store, LIN_STORE_RDONLY, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_scan_open(&sc, txn, &s, db, NULL, 0, NULL, 0, &e), 0);
	cr_assert_eq(lin_scan_next(&sc), 1, "%s is empty", lin_db_names[db]);
	cr_assert_eq(lin_val_id(sc.k.mv_data, sc.k.mv_size, &id, "key", &e),
		     0);
	lin_scan_close(&sc);
	lin_store_abort(txn);
	lin_store_close(&s);
	return id;
}

/* Put fact id `fid` into `db` with value `val` (8 bytes, or none when
 * 0), or delete it (put 0). */
static void set_fact(const char *store, enum lin_db db, uint64_t fid,
		     int put, uint64_t val)
{
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;
	unsigned char k[8], v[8];

	cr_assert_eq(lin_store_open(&s, store, 0, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_begin(&s, 0, &txn, &e), 0, "%s", e.msg);
	lin_key_id(k, fid);
	lin_key_id(v, val);
	if (put)
		cr_assert_eq(lin_store_put(txn, &s, db, k, 8, v, val ? 8 : 0,
					   &e), 0, "%s", e.msg);
	else
		cr_assert_eq(lin_store_del(txn, &s, db, k, 8, NULL, 0, &e), 0,
			     "%s", e.msg);
	cr_assert_eq(lin_store_commit(txn, &e), 0, "%s", e.msg);
	lin_store_close(&s);
}

/* Walks learn a run's unresolved uses from `pending` alone (use_res is
 * not read for them), so check verifies that every use is in exactly
 * one of use_res and pending. */
Test(audit, each_use_is_resolved_or_pending_never_both)
{
	const char *path = th_at("a.runlog"), *store = th_at("s.lmdb");
	char want[200];

	write_archive(path);
	index_into(store, path);
	struct th_res r = th_query(store, "provenance", "run:acme/p/r1", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	HAS(r.out, "other/q/ds:v0");
	uint64_t pend = first_fact(store, LIN_DB_PENDING);
	uint64_t res = first_fact(store, LIN_DB_USE_RES);

	/* in neither: the walk no longer sees the use; check says so */
	set_fact(store, LIN_DB_PENDING, pend, 0, 0);
	r = th_query(store, "provenance", "run:acme/p/r1", NULL);
	cr_assert(!strstr(r.out, "other/q/ds:v0"), "%s", r.out);
	r = th_query(store, "check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	snprintf(want, sizeof want, "problem: use fact %016llx of node ",
		 (unsigned long long)pend);
	HAS(r.out, want);
	HAS(r.out, " is in neither use_res nor pending: each use is either "
	    "resolved or pending\n");
	HAS(r.out, ": 1 problem, ");

	/* in both */
	set_fact(store, LIN_DB_PENDING, pend, 1, 0);
	set_fact(store, LIN_DB_USE_RES, pend, 1, 1);
	r = th_query(store, "check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	HAS(r.out, want);
	HAS(r.out, " is in both use_res and pending");
	set_fact(store, LIN_DB_USE_RES, pend, 0, 0);
	r = th_query(store, "check", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.out);

	/* a resolved use lost from use_res, `pending` still holding one */
	set_fact(store, LIN_DB_USE_RES, res, 0, 0);
	r = th_query(store, "check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	snprintf(want, sizeof want, "problem: use fact %016llx of node ",
		 (unsigned long long)res);
	HAS(r.out, want);
}
