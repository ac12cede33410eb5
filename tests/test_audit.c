/* test_audit.c - the lineage notes of `lineage-query check` on stores
 * built by the indexer: unresolved uses, offline W&B runs, uses before
 * logging, runs without a finish. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/runlog.h"
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

Test(audit, notes_on_a_runlog_archive)
{
	const char *path = th_at("a.runlog"), *store = th_at("s.lmdb");
	FILE *fp;
	int rc;

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
