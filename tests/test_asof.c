/* test_asof.c - lineage-query --as-of, artifact --history and diff over
 * stores made by the real write path: run logs written here, indexed by
 * lineage-index in-process. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/record.h"
#include "format/store.h"
#include "query/internal.h"
#include "query/query.h"

#include "helpers.h"

/* ---- the fixture ----
 *
 * Times are seconds after T0 = 1700000000 (2023-11-14T22:13:20Z).
 *
 * acme/p/raw   (raw_dataset)  v0 first logged 10 by up   (started 0)
 *                             v1 first logged 100 by up2 (started 90)
 * acme/p/model (model)        v0 logged 30, v1 logged 60 by train
 *                             (started 20, ended 70, finished)
 * alias best: 30 -> v0, 60 -> v1, 80 removed, 120 -> v0
 * alias prod: 50 -> v0
 * train used raw:v0 at 25; eval (started 40, still running) used
 * model:v0 at 45 and model:v1 at 110; nostart (no started_at) used
 * raw:v0 with no time; late (started 200) used raw:v0 with no time.
 */

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)
#define NOTIME INT64_MIN

/* The stores are written by the real write path (helpers.h: run logs
 * written with the runlog writer, indexed by lineage-index). */
static char path[TH_PATH_MAX], path_b[TH_PATH_MAX];
static int nfile;

static int64_t at(int64_t s)
{
	return s == NOTIME ? LIN_TIME_NONE : T0 + s * SEC;
}

/* FOLDER/NN-RID.runlog, starting with run `rid` (started NOTIME: no
 * started_at). The files are numbered so that they are indexed in the
 * order written, which is the order of rows that tie. */
static void run(const char *folder, const char *rid, const char *name,
		const char *job, int64_t started)
{
	th_rl_open("acme", "p", "%s/%02d-%s.runlog", folder, ++nfile, rid);
	th_rl_run(rid, name, job, at(started));
}

#define end_file() th_rl_close()
#define finish(t) th_rl_finish("finished", 0, at(t))
#define logs(coll, type, digest, t, alias) \
	th_rl_log(coll, type, digest, at(t), alias)
#define uses(ref, t) th_rl_use(ref, at(t), NULL)
#define alias(ref, name, rm, t) \
	th_rl_alias(ref, rm ? NULL : name, rm ? name : NULL, at(t))

/* The fixture's run logs, in th_dir/logs. */
static void write_logs(void)
{
	run("logs", "up", "up-1", "upload", 0);
	logs("raw", "raw_dataset", "raw-0", 10, NULL);
	finish(11);
	end_file();
	run("logs", "train", "train-2", "train", 20);
	uses("raw:v0", 25);
	logs("model", "model", "model-0", 30, "best");
	logs("model", "model", "model-1", 60, "best");
	finish(70);
	end_file();
	run("logs", "up2", "up-3", "upload", 90);
	logs("raw", "raw_dataset", "raw-1", 100, NULL);
	finish(101);
	end_file();
	run("logs", "eval", "eval-4", "eval", 40);
	uses("model:v0", 45);
	alias("model:v0", "prod", 0, 50);
	alias("model:v1", "best", 1, 80);
	uses("model:v1", 110);
	alias("model:v0", "best", 0, 120);
	end_file();
	run("logs", "nostart", "nostart-5", "misc", NOTIME);
	uses("raw:v0", NOTIME);
	end_file();
	run("logs", "late", "late-6", "misc", 200);
	uses("raw:v0", NOTIME);
	end_file();
}

static void make_store(void)
{
	th_mkdir();
	th_path(path, "a.lmdb");
	th_path(path_b, "b.lmdb");
	write_logs();
	cr_assert_eq(th_index("-q", "--store", path, th_at("logs"), NULL), 0,
		     "see %s/stderr.log", th_dir);
}

TestSuite(asof, .init = make_store, .fini = th_rmdir);

/* ---- running the CLI in-process ---- */

/* lineage-query --store PATH ARGS... (NULL-terminated), in-process. */
#define q(...) th_query(path, __VA_ARGS__)

/* ---- TIME ---- */

Test(asof, time_forms)
{
	int64_t t;

	cr_assert_eq(lq_parse_time("2023-11-14T22:13:20Z", &t), 0);
	cr_assert_eq(t, T0);
	cr_assert_eq(lq_parse_time("2023-11-14t22:13:20.5z", &t), 0);
	cr_assert_eq(t, T0 + SEC / 2);
	cr_assert_eq(lq_parse_time("2023-11-14T22:13:20.000000001Z", &t), 0);
	cr_assert_eq(t, T0 + 1);
	cr_assert_eq(lq_parse_time("2023-11-14T22:13Z", &t), 0);
	cr_assert_eq(t, T0 - 20 * SEC);
	cr_assert_eq(lq_parse_time("2023-11-15T00:13:20+02:00", &t), 0);
	cr_assert_eq(t, T0);
	cr_assert_eq(lq_parse_time("2023-11-14T20:13:20-0200", &t), 0);
	cr_assert_eq(t, T0);
	cr_assert_eq(lq_parse_time("2024-03-01", &t), 0);
	cr_assert_eq(t, 1709251200LL * SEC);
	cr_assert_eq(lq_parse_time("2024-02-29", &t), 0);
	cr_assert_eq(lq_parse_time("1969-12-31T23:59:59Z", &t), 0);
	cr_assert_eq(t, -SEC);
	cr_assert_eq(lq_parse_time("@1700000000", &t), 0);
	cr_assert_eq(t, T0);
	cr_assert_eq(lq_parse_time("@1700000000.25", &t), 0);
	cr_assert_eq(t, T0 + SEC / 4);
	cr_assert_eq(lq_parse_time("@-1.5", &t), 0);
	cr_assert_eq(t, -3 * SEC / 2);
	cr_assert_eq(lq_parse_time("@0", &t), 0);
	cr_assert_eq(t, 0);

	static const char *const bad[] = {
		"", "@", "@x", "@1e9", "@1.", "@99999999999999", "2024-3-1",
		"2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10",
		"2024-03-01T10:30:00", "2024-03-01T24:00:00Z",
		"2024-03-01T10:60Z", "2024-03-01T10:30:00.Z",
		"2024-03-01T10:30:00Zjunk", "2024-03-01X", "yesterday",
		"2024-03-01T10:30:00+2", "9999-12-31T23:59:59Z"
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(lq_parse_time(bad[i], &t), -1, "'%s'", bad[i]);
}

/* ---- --as-of ---- */

Test(asof, ls_as_of)
{
	struct th_res r = q("--as-of", "@1700000050", "ls", "artifacts", NULL);
	TH_OK_OUT(r,
	"artifact  acme/p/model:v0  model        aliases=latest,best,prod\n"
	"artifact  acme/p/raw:v0    raw_dataset  aliases=latest\n");
	/* The same instant in ISO form, given after the command. */
	r = q("ls", "artifacts", "--as-of", "2023-11-14T22:14:10Z", NULL);
	TH_OK_OUT(r,
	"artifact  acme/p/model:v0  model        aliases=latest,best,prod\n"
	"artifact  acme/p/raw:v0    raw_dataset  aliases=latest\n");
	r = q("ls", "--as-of=@1700000085", "artifacts", NULL);
	TH_OK_OUT(r,
	"artifact  acme/p/model:v0  model        aliases=prod\n"
	"artifact  acme/p/model:v1  model        aliases=latest\n"
	"artifact  acme/p/raw:v0    raw_dataset  aliases=latest\n");
	r = q("ls", "artifacts", NULL);
	TH_OK_OUT(r,
	"artifact  acme/p/model:v0  model        aliases=best,prod\n"
	"artifact  acme/p/model:v1  model        aliases=latest\n"
	"artifact  acme/p/raw:v0    raw_dataset  aliases=-\n"
	"artifact  acme/p/raw:v1    raw_dataset  aliases=latest\n");
	/* No started_at: there at every time; train had not ended. */
	r = q("--as-of", "@1700000025", "ls", "runs", NULL);
	TH_OK_OUT(r,
	"run  acme/p/nostart  misc    nostart-5  -\n"
	"run  acme/p/train    train   train-2    -\n"
	"run  acme/p/up       upload  up-1       finished\n");
	r = q("--as-of", "@1700000015", "ls", "collections", NULL);
	TH_OK_OUT(r, "collection  acme/p/raw  raw_dataset  versions=1\n");
}

Test(asof, walks_skip_what_was_not_there)
{
	struct th_res r = q("lineage", "raw:v0", NULL);
	TH_OK_OUT(r,
	"0  artifact  acme/p/raw:v0    raw_dataset  aliases=-\n"
	"1  run       acme/p/train     train        train-2            "
	"finished  via=used    from=artifact:acme/p/raw:v0\n"
	"1  run       acme/p/nostart   misc         nostart-5          "
	"-         via=used    from=artifact:acme/p/raw:v0\n"
	"1  run       acme/p/late      misc         late-6             "
	"-         via=used    from=artifact:acme/p/raw:v0\n"
	"2  artifact  acme/p/model:v0  model        aliases=best,prod  "
	"          via=logged  from=run:acme/p/train\n"
	"2  artifact  acme/p/model:v1  model        aliases=latest     "
	"          via=logged  from=run:acme/p/train\n"
	"3  run       acme/p/eval      eval         eval-4             "
	"-         via=used    from=artifact:acme/p/model:v0\n"
	"# total=7 shown=7 truncated=no\n");
	/* At 50: model:v1 not logged yet; late not started, so its
	 * untimed use does not count either; train still running. */
	r = q("--as-of", "@1700000050", "lineage", "raw:v0", NULL);
	TH_OK_OUT(r,
	"0  artifact  acme/p/raw:v0    raw_dataset  aliases=latest\n"
	"1  run       acme/p/train     train        train-2                 "
	"  -  via=used    from=artifact:acme/p/raw:v0\n"
	"1  run       acme/p/nostart   misc         nostart-5               "
	"  -  via=used    from=artifact:acme/p/raw:v0\n"
	"2  artifact  acme/p/model:v0  model        aliases=latest,best,prod"
	"     via=logged  from=run:acme/p/train\n"
	"3  run       acme/p/eval      eval         eval-4                  "
	"  -  via=used    from=artifact:acme/p/model:v0\n"
	"# total=5 shown=5 truncated=no\n");
	/* eval's use of model:v1 came at 110, after v1 existed. */
	r = q("--as-of", "@1700000100", "used-by", "model:v1", NULL);
	TH_OK_OUT(r, "");
	r = q("--as-of", "@1700000110", "used-by", "model:v1", NULL);
	TH_OK_OUT(r, "run  acme/p/eval  eval  eval-4  -\n");
	r = q("--as-of", "@1700000065", "--json", "graph", "--up", "eval",
	      NULL);
	TH_OK_OUT(r,
	"{\"nodes\":[{\"id\":\"run:acme/p/eval\",\"kind\":\"run\","
	"\"label\":\"eval / eval-4\",\"start\":true},"
	"{\"id\":\"artifact:acme/p/model:v0\",\"kind\":\"artifact\","
	"\"label\":\"model / model:v0\",\"start\":false},"
	"{\"id\":\"run:acme/p/train\",\"kind\":\"run\","
	"\"label\":\"train / train-2\",\"start\":false},"
	"{\"id\":\"artifact:acme/p/raw:v0\",\"kind\":\"artifact\","
	"\"label\":\"raw_dataset / raw:v0\",\"start\":false},"
	"{\"id\":\"run:acme/p/up\",\"kind\":\"run\","
	"\"label\":\"upload / up-1\",\"start\":false}],\"edges\":["
	"{\"from\":\"artifact:acme/p/model:v0\",\"to\":\"run:acme/p/eval\","
	"\"edge\":\"used\"},"
	"{\"from\":\"run:acme/p/train\",\"to\":\"artifact:acme/p/model:v0\","
	"\"edge\":\"logged\"},"
	"{\"from\":\"artifact:acme/p/raw:v0\",\"to\":\"run:acme/p/train\","
	"\"edge\":\"used\"},"
	"{\"from\":\"run:acme/p/up\",\"to\":\"artifact:acme/p/raw:v0\","
	"\"edge\":\"logged\"}]}\n");
	r = q("--as-of", "@1700000050", "impact", "--format", "csv", "up",
	      NULL);
	TH_OK_OUT(r,
	"root,distance,id,kind,project,type,collection,version,aliases,name,"
	"state,time,git_commit,edge,from\n"
	"run:acme/p/up,1,artifact:acme/p/raw:v0,artifact,acme/p,raw_dataset,"
	"raw,v0,latest,raw:v0,,2023-11-14T22:13:30Z,,logged,run:acme/p/up\n"
	"run:acme/p/up,2,run:acme/p/train,run,acme/p,train,,,,train-2,,"
	"2023-11-14T22:13:40Z,,used,artifact:acme/p/raw:v0\n"
	"run:acme/p/up,2,run:acme/p/nostart,run,acme/p,misc,,,,nostart-5,,,,"
	"used,artifact:acme/p/raw:v0\n"
	"run:acme/p/up,3,artifact:acme/p/model:v0,artifact,acme/p,model,"
	"model,v0,\"latest,best,prod\",model:v0,,2023-11-14T22:13:50Z,,"
	"logged,run:acme/p/train\n"
	"run:acme/p/up,4,run:acme/p/eval,run,acme/p,eval,,,,eval-4,,"
	"2023-11-14T22:14:00Z,,used,artifact:acme/p/model:v0\n");
}

Test(asof, aliases_resolve_as_of)
{
	struct th_res r = q("--as-of", "@1700000035", "logged-by", "model:best",
			 NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	r = q("--as-of", "@1700000035", "--json", "artifact", "model:best",
	      NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strncmp(r.out, "{\"id\":\"artifact:acme/p/model:v0\"",
			  32) == 0, "%s", r.out);
	cr_assert(strstr(r.out, "\"aliases\":[\"latest\",\"best\"],"),
		  "%s", r.out);
	/* eval used model:v0 at 45: no user yet at 35. */
	cr_assert(strstr(r.out, "\"logged_by\":[\"run:acme/p/train\"],"
			 "\"relogged_by\":[],\"used_by\":[],"
			 "\"used_by_count\":0}\n"), "%s", r.out);
	r = q("--as-of", "@1700000065", "--json", "artifact", "model:best",
	      NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strncmp(r.out, "{\"id\":\"artifact:acme/p/model:v1\"",
			  32) == 0, "%s", r.out);
	r = q("--json", "artifact", "model:best", NULL);
	cr_assert(strncmp(r.out, "{\"id\":\"artifact:acme/p/model:v0\"",
			  32) == 0, "%s", r.out);
	r = q("--as-of", "@1700000090", "artifact", "model:best", NULL);
	TH_FAIL(r, 1, "lineage-query: alias 'best' of 'acme/p/model' named no "
	     "version as of 2023-11-14T22:14:50Z\n");
	r = q("--as-of", "@1700000029", "artifact", "model:best", NULL);
	TH_FAIL(r, 1, "lineage-query: alias 'best' of 'acme/p/model' named no "
	     "version as of 2023-11-14T22:13:49Z\n");
	r = q("--as-of", "@1700000009", "artifact", "raw", NULL);
	TH_FAIL(r, 1, "lineage-query: 'acme/p/raw' had no versions as of "
	     "2023-11-14T22:13:29Z\n");
	/* latest as of 99 is v0: v1 was logged at 100. */
	r = q("--as-of", "@1700000099", "used-by", "raw", NULL);
	TH_OK_OUT(r,
	"run  acme/p/train    train  train-2    finished\n"
	"run  acme/p/nostart  misc   nostart-5  -\n");
	r = q("--as-of", "@1700000099", "artifact", "raw:v1", NULL);
	TH_FAIL(r, 1, "lineage-query: artifact:acme/p/raw:v1 not found as of "
	     "2023-11-14T22:14:59Z (first logged 2023-11-14T22:15:00Z)\n");
	r = q("--as-of", "@1700000199", "run", "late", NULL);
	TH_FAIL(r, 1, "lineage-query: run:acme/p/late not found as of "
	     "2023-11-14T22:16:39Z (started 2023-11-14T22:16:40Z)\n");
	r = q("--as-of", "@1700000050", "path", "up", "eval", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "4  run       acme/p/eval"), "%s", r.out);
	r = q("--as-of", "@1700000044", "path", "up", "eval", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert_str_eq(r.err, "lineage-query: no producer/consumer path "
			 "between 'up' and 'eval'\n");
}

Test(asof, runs_had_not_ended)
{
	struct th_res r = q("--as-of", "@1700000065", "--json", "run", "train",
			 NULL);
	TH_OK_OUT(r,
	"{\"id\":\"run:acme/p/train\",\"kind\":\"run\",\"entity\":\"acme\","
	"\"project\":\"p\",\"run_id\":\"train\",\"name\":\"train-2\","
	"\"job_type\":\"train\",\"group\":null,\"host\":null,\"notes\":null,"
	"\"tags\":[],\"state\":null,\"exit_code\":null,"
	"\"started_at\":\"2023-11-14T22:13:40Z\",\"ended_at\":null,"
	"\"logged\":2,\"relogged\":0,\"used\":1,\"unresolved\":[],"
	"\"uses_recorded\":true}\n");
	r = q("--as-of", "@1700000070", "--json", "run", "train", NULL);
	cr_assert(strstr(r.out, "\"state\":\"finished\",\"exit_code\":0,"),
		  "%s", r.out);
	r = q("--as-of", "@1700000055", "--json", "run", "train", NULL);
	cr_assert(strstr(r.out, "\"logged\":1,\"relogged\":0,\"used\":1,"),
		  "%s", r.out);
}

Test(asof, stats_as_of)
{
	struct th_res r = q("--as-of", "@1700000050", "--json", "stats", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"as_of\":\"2023-11-14T22:14:10Z\","
			 "\"runs\":4,\"collections\":2,\"versions\":2,"
			 "\"logged\":2,\"used\":3,"), "%s", r.out);
	r = q("--json", "stats", NULL);
	cr_assert(strstr(r.out, "\"runs\":6,\"collections\":2,"
			 "\"versions\":4,\"logged\":4,\"used\":5,"), "%s",
		  r.out);
	cr_assert_null(strstr(r.out, "as_of"));
	/* check looks at the whole store whatever the time. */
	r = q("--as-of", "@0", "check", NULL);
	TH_OK_OUT(r,
	       "note: run:acme/p/eval has no finish record (still running, "
	       "or it crashed)\n"
	       "note: run:acme/p/nostart has no finish record (still "
	       "running, or it crashed)\n"
	       "note: run:acme/p/late has no finish record (still running, "
	       "or it crashed)\n"
	       "checked 10 nodes, 18 edges: 0 problems, 3 notes\n");
}

Test(asof, bad_as_of_is_usage)
{
	struct th_res r = q("--as-of", "yesterday", "ls", "runs", NULL);
	TH_FAIL(r, 64, "lineage-query: bad --as-of 'yesterday': expected ISO "
	     "8601 UTC (2024-03-01T10:30:00Z, 2024-03-01) or @SECONDS\n"
	     "Try 'lineage-query --help'.\n");
	r = q("ls", "runs", "--as-of", NULL);
	TH_FAIL(r, 64, "lineage-query: ls: option '--as-of' needs a value\n"
	     "Try 'lineage-query ls --help'.\n");
	r = q("run", "--as-of=2024-03-01T10:00", "up", NULL);
	cr_assert_eq(r.rc, 64);
	/* After "--" it is an argument, not an option. */
	r = q("run", "--", "--as-of", NULL);
	TH_FAIL(r, 1, "lineage-query: no run '--as-of'\n");
}

Test(asof, missing_fact_is_65)
{
	struct lin_store S;
	struct lin_err e;
	MDB_txn *T;
	unsigned char k[8];
	/* train's use of raw:v0 at 25: the fact after its run's (1) of the
	 * second file indexed (source 2) */
	MDB_val key = { lin_key_id(k, (2ull << 32) | 1), k };

	cr_assert_eq(lin_store_open(&S, path, 0, &e), 0, "open: %s", e.msg);
	cr_assert_eq(lin_store_begin(&S, 0, &T, &e), 0);
	cr_assert_eq(mdb_del(T, S.dbi[LIN_DB_FACTS], &key, NULL), 0);
	cr_assert_eq(mdb_txn_commit(T), 0);
	lin_store_close(&S);
	struct th_res r = q("--as-of", "@1700000050", "lineage", "raw:v0", NULL);
	cr_assert_eq(r.rc, 65, "rc %d: %s", r.rc, r.err);
	cr_assert(strstr(r.err, "fact 0000000200000001, named by an edge, "
			 "is missing from the store"), "%s", r.err);
	/* Without --as-of facts are not read. */
	r = q("lineage", "raw:v0", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
}

/* ---- artifact --history ---- */

Test(asof, alias_history)
{
	struct th_res r = q("artifact", "model:best", "--history", NULL);
	TH_OK_OUT(r,
	"best  acme/p/model:v0  2023-11-14T22:13:50Z  2023-11-14T22:14:20Z\n"
	"best  acme/p/model:v1  2023-11-14T22:14:20Z  2023-11-14T22:14:40Z\n"
	"best  (removed)        2023-11-14T22:14:40Z  2023-11-14T22:15:20Z\n"
	"best  acme/p/model:v0  2023-11-14T22:15:20Z  -\n");
	r = q("--json", "artifact", "--history", "acme/p/model:best", NULL);
	TH_OK_OUT(r,
	"{\"kind\":\"alias\",\"alias\":\"best\","
	"\"version\":\"artifact:acme/p/model:v0\","
	"\"from\":\"2023-11-14T22:13:50Z\","
	"\"until\":\"2023-11-14T22:14:20Z\"}\n"
	"{\"kind\":\"alias\",\"alias\":\"best\","
	"\"version\":\"artifact:acme/p/model:v1\","
	"\"from\":\"2023-11-14T22:14:20Z\","
	"\"until\":\"2023-11-14T22:14:40Z\"}\n"
	"{\"kind\":\"alias\",\"alias\":\"best\",\"version\":null,"
	"\"from\":\"2023-11-14T22:14:40Z\","
	"\"until\":\"2023-11-14T22:15:20Z\"}\n"
	"{\"kind\":\"alias\",\"alias\":\"best\","
	"\"version\":\"artifact:acme/p/model:v0\","
	"\"from\":\"2023-11-14T22:15:20Z\",\"until\":null}\n");
	/* As of 70: what was known then, the last row still open. */
	r = q("--as-of", "@1700000070", "artifact", "-H", "model:best", NULL);
	TH_OK_OUT(r,
	"best  acme/p/model:v0  2023-11-14T22:13:50Z  2023-11-14T22:14:20Z\n"
	"best  acme/p/model:v1  2023-11-14T22:14:20Z  -\n");
	r = q("artifact", "raw", "--history", NULL);
	TH_OK_OUT(r,
	"latest  acme/p/raw:v0  2023-11-14T22:13:30Z  2023-11-14T22:15:00Z\n"
	"latest  acme/p/raw:v1  2023-11-14T22:15:00Z  -\n");
	r = q("--as-of", "@1700000099", "--json", "artifact", "raw:latest",
	      "--history", NULL);
	TH_OK_OUT(r,
	"{\"kind\":\"alias\",\"alias\":\"latest\","
	"\"version\":\"artifact:acme/p/raw:v0\","
	"\"from\":\"2023-11-14T22:13:30Z\",\"until\":null}\n");
	r = q("--as-of", "@1700000000", "artifact", "raw", "--history", NULL);
	TH_OK_OUT(r, "");
	r = q("artifact", "model:v1", "--history", NULL);
	cr_assert_eq(r.rc, 64);
	cr_assert(strstr(r.err, "--history follows an alias"), "%s", r.err);
	r = q("artifact", "model:nope", "--history", NULL);
	TH_FAIL(r, 1, "lineage-query: no alias 'nope' on 'acme/p/model'; it has "
	     "v0, v1, aliases: best, latest, prod\n");
	r = q("artifact", "nosuch", "--history", NULL);
	cr_assert_eq(r.rc, 1);
	r = q("artifact", "--history", NULL);
	cr_assert_eq(r.rc, 64);
	r = q("artifact", "--history", "--help", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "--history"), "%s", r.out);
}

/* --history in the forms getopt accepts everywhere else: abbreviated,
 * and in a cluster of letters. */
Test(asof, alias_history_option_forms)
{
	struct th_res r = q("artifact", "model:best", "--history", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	char *want = strdup(r.out);
	r = q("artifact", "model:best", "--hist", NULL);
	TH_OK_OUT(r, want);
	r = q("--json", "artifact", "model:best", "-H", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	char *want_json = strdup(r.out);
	r = q("artifact", "-jH", "model:best", NULL);
	TH_OK_OUT(r, want_json);
	free(want);
	free(want_json);
}

/* ---- diff ---- */

Test(asof, diff_two_times)
{
	struct th_res r = q("diff", "--as-of-a", "@1700000050", "--as-of-b",
			 "@1700000105", NULL);
	cr_assert_eq(r.rc, 1, "%s", r.err);
	cr_assert_str_eq(r.out,
	"+ run acme/p/up2\n"
	"+ artifact acme/p/model:v1\n"
	"+ artifact acme/p/raw:v1\n"
	"+ edge run:acme/p/train logged artifact:acme/p/model:v1\n"
	"+ edge run:acme/p/up2 logged artifact:acme/p/raw:v1\n");
	cr_assert_str_eq(r.err, "");
	/* Backwards: the same lines removed; --from/--to spell it too. */
	r = q("--json", "diff", "--from", "2023-11-14T22:15:05Z", "--to",
	      "@1700000050", NULL);
	cr_assert_eq(r.rc, 1, "%s", r.err);
	cr_assert_str_eq(r.out,
	"{\"change\":\"removed\",\"kind\":\"run\","
	"\"id\":\"run:acme/p/up2\"}\n"
	"{\"change\":\"removed\",\"kind\":\"artifact\","
	"\"id\":\"artifact:acme/p/model:v1\"}\n"
	"{\"change\":\"removed\",\"kind\":\"artifact\","
	"\"id\":\"artifact:acme/p/raw:v1\"}\n"
	"{\"change\":\"removed\",\"kind\":\"edge\","
	"\"from\":\"run:acme/p/train\",\"edge\":\"logged\","
	"\"to\":\"artifact:acme/p/model:v1\"}\n"
	"{\"change\":\"removed\",\"kind\":\"edge\","
	"\"from\":\"run:acme/p/up2\",\"edge\":\"logged\","
	"\"to\":\"artifact:acme/p/raw:v1\"}\n");
	/* Only a time for side A: against the whole store. */
	r = q("diff", "--as-of-a", "@1700000150", NULL);
	cr_assert_eq(r.rc, 1, "%s", r.err);
	cr_assert_str_eq(r.out,
	"+ run acme/p/late\n"
	"+ edge run:acme/p/late used artifact:acme/p/raw:v0\n");
	r = q("diff", "--as-of-a", "@1700000300", NULL);
	TH_OK_OUT(r, "");
	r = q("diff", NULL);
	cr_assert_eq(r.rc, 64);
	cr_assert(strstr(r.err, "nothing to compare"), "%s", r.err);
	r = q("diff", "--as-of-a", "nonsense", "x", NULL);
	cr_assert_eq(r.rc, 64);
}

Test(asof, diff_two_stores_matches_by_name)
{
	/* Store B: the same archive under other ids (another run's file
	 * indexed first)... */
	cr_assert_eq(th_index("-q", "--store", path_b, th_at("logs/06-late.runlog"),
			      NULL), 0);
	cr_assert_eq(th_index("-q", "--store", path_b, th_at("logs"), NULL), 0);
	struct th_res r = q("diff", path, path_b, NULL);
	TH_OK_OUT(r, "");
	/* ...then one more run that used raw:v1, and a model:v2. */
	run("more", "extra", "extra-9", "eval", 300);
	uses("raw:v1", 301);
	logs("model", "model", "model-2", 310, NULL);
	end_file();
	cr_assert_eq(th_index("-q", "--store", path_b, th_at("more"), NULL),
		     0);
	r = q("diff", path, path_b, NULL);
	cr_assert_eq(r.rc, 1, "%s", r.err);
	cr_assert_str_eq(r.out,
	"+ run acme/p/extra\n"
	"+ artifact acme/p/model:v2\n"
	"+ edge run:acme/p/extra logged artifact:acme/p/model:v2\n"
	"+ edge run:acme/p/extra used artifact:acme/p/raw:v1\n");
	/* Each side at its own time: B before the extra run equals A. */
	r = q("diff", "--as-of-b", "@1700000299", path, path_b, NULL);
	TH_OK_OUT(r, "");
	r = q("--as-of", "@1700000050", "diff", path_b, path, NULL);
	TH_OK_OUT(r, "");
	r = q("diff", path, "/nonexistent/b.lmdb", NULL);
	cr_assert_eq(r.rc, 66, "%s", r.err);
	r = q("diff", path, path_b, path, NULL);
	cr_assert_eq(r.rc, 64);
}
