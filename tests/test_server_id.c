/* test_server_id.c - uses from online W&B .wandb logs linked to exported
 * versions by W&B's server id (issue 11, item 3): the export's runlogs
 * carry each version's `server_id` (as lineage-export-wandb writes
 * them), the .wandb log's use records carry the same id; indexed in any
 * order, with the export later pruned or replaced, the answers are
 * those of a fresh index of the files present. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/record.h"
#include "format/schema.h"
#include "format/wandb_writer.h"
#include <lmdb.h>

#include "helpers.h"

TestSuite(server_id, .init = th_mkdir, .fini = th_rmdir);

#define T(h) ((int64_t)(1709251200 + (h) * 3600) * 1000000000LL)

#define SID_M0 "QXJ0aWZhY3Q6MTAx"   /* acme/proj/model:v0 */
#define SID_M1 "QXJ0aWZhY3Q6MTAy"   /* acme/proj/model:v1 */
#define SID_TOK "QXJ0aWZhY3Q6MjAx"  /* acme/shared/tokenizer:v0 */
#define SID_GHOST "QXJ0aWZhY3Q6OTk5" /* on the server only */

/* A LOG as lineage-export-wandb writes it: explicit version, server id. */
static void log_exported(const char *coll, const char *type,
			 const char *digest, int version, const char *sid,
			 int64_t at)
{
	struct lin_record r;

	lin_record_clear(&r);
	r.kind = LIN_REC_LOG;
	r.coll = coll;
	r.type = type;
	r.digest = digest;
	r.version = version;
	r.server_id = sid;
	r.at = at;
	th_rl_put(&r);
}

/* The export of project acme/proj: a training run that logged two
 * model versions. `sid0`: the id its v0 carries (NULL: none). */
static void write_proj_export(const char *sid0)
{
	th_rl_open("acme", "proj", "export/acme/proj/tr01.runlog");
	th_rl_run("tr01", "train-1", "train", T(0));
	log_exported("model", "model", "d0", 0, sid0, T(1));
	log_exported("model", "model", "d1", 1, SID_M1, T(2));
	th_rl_finish("finished", 0, T(3));
	th_rl_close();
}

/* The export of acme/shared: the tokenizer the online run uses. */
static void write_shared_export(void)
{
	th_rl_open("acme", "shared", "export/acme/shared/sh01.runlog");
	th_rl_run("sh01", "tok-build", "build", T(0));
	log_exported("tokenizer", "tokenizer", "t0", 0, SID_TOK, T(1));
	th_rl_finish("finished", 0, T(2));
	th_rl_close();
}

/* An online run's .wandb log in acme/proj: only its uses, each naming
 * the version by server id and by W&B's "collection[:vN]" (no project). */
static void write_online_log(void)
{
	struct lin_wandb_writer *w;
	struct lin_record run;
	char dir[TH_PATH_MAX], path[TH_PATH_MAX];

	th_path(dir, "wandb");
	cr_assert(mkdir(dir, 0777) == 0);
	th_path(dir, "wandb/run-20240301_100000-ev01");
	cr_assert(mkdir(dir, 0777) == 0);
	th_path(path, "wandb/run-20240301_100000-ev01/run-ev01.wandb");
	FILE *fp = fopen(path, "wb");
	cr_assert_not_null(fp);
	cr_assert_eq(lin_wandb_writer_open(&w, fp), 0);
	lin_record_clear(&run);
	run.kind = LIN_REC_RUN;
	run.run_id = "ev01";
	run.entity = "acme";
	run.project = "proj";
	run.name = "eval-1";
	run.job_type = "evaluate";
	run.started_at = T(10);
	cr_assert_eq(lin_wandb_write_run(w, &run), 0);
	/* name and id agree */
	cr_assert_eq(lin_wandb_write_use(w, SID_M0, "model", "model:v0"), 0);
	/* another project's version: the name alone names acme/proj */
	cr_assert_eq(lin_wandb_write_use(w, SID_TOK, "tokenizer",
					 "tokenizer:v0"), 0);
	/* a name without version (latest: v1 then) and the id of v0 */
	cr_assert_eq(lin_wandb_write_use(w, SID_M0, "model", "model"), 0);
	/* a version the export does not hold */
	cr_assert_eq(lin_wandb_write_use(w, SID_GHOST, "dataset",
					 "ghost:v0"), 0);
	cr_assert_eq(lin_wandb_write_exit(w, 0, 60), 0);
	cr_assert_eq(lin_wandb_writer_close(w), 0);
	cr_assert_eq(fclose(fp), 0);
}

/* Index `paths` (NULL-terminated, relative to th_dir) into `store`, one
 * lineage-index run each. */
static void index_each(const char *store, const char *const *paths,
		       const char *opt)
{
	for (size_t i = 0; paths[i]; i++) {
		const char *p = th_at("%s", paths[i]);
		int code = opt ? th_index("-q", opt, "--store", store, p, NULL)
			       : th_index("-q", "--store", store, p, NULL);
		cr_assert_eq(code, 0, "indexing %s: exit %d", p, code);
	}
}

/* Every answer the links change, as one text; the rows of each sorted,
 * since their order follows the ids, which follow indexing order. */
static char *answers(const char *store)
{
	static const char *const qs[][4] = {
		{ "used-by", "acme/proj/model:v0", NULL },
		{ "used-by", "acme/proj/model:v1", NULL },
		{ "used-by", "acme/shared/tokenizer:v0", NULL },
		{ "used", "run:acme/proj/ev01", NULL },
		{ "impact", "acme/shared/tokenizer:v0", NULL },
		{ "--json", "artifact", "acme/proj/model:v0", NULL },
		{ "check", NULL },
	};
	char *all = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&all, &n);

	cr_assert_not_null(f);
	for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
		struct th_res r = th_query(store, qs[i][0], qs[i][1], qs[i][2],
					   qs[i][3], NULL);
		struct th_lines l = { 0 };
		const char *p = r.out;
		for (char *line; (line = th_line(&p));) {
			th_lines_add(&l, "%s", line);
			free(line);
		}
		th_lines_sort(&l);
		fprintf(f, "$ %s %s %s -> %d\n", qs[i][0],
			qs[i][1] ? qs[i][1] : "", qs[i][2] ? qs[i][2] : "",
			r.rc);
		for (size_t j = 0; j < l.n; j++)
			fprintf(f, "%s\n", l.v[j]);
		/* not stderr: a pruned store keeps the collections its
		 * versions left ("it has no versions"), a fresh one never
		 * had them ("no artifact collection") */
		th_lines_free(&l);
	}
	fclose(f);
	return all;
}

static void write_all(void)
{
	write_proj_export(SID_M0);
	write_shared_export();
	write_online_log();
}

#define PROJ "export/acme/proj/tr01.runlog"
#define SHARED "export/acme/shared/sh01.runlog"
#define ONLINE "wandb"

Test(server_id, online_uses_link_to_exported_versions_in_any_order)
{
	static const char *const fwd[] = { PROJ, SHARED, ONLINE, NULL };
	static const char *const back[] = { ONLINE, SHARED, PROJ, NULL };
	static const char *const one[] = { "export", ONLINE, NULL };
	char sa[TH_PATH_MAX], sb[TH_PATH_MAX], sc[TH_PATH_MAX];

	write_all();
	index_each(th_path(sa, "fwd.lmdb"), fwd, NULL);
	index_each(th_path(sb, "back.lmdb"), back, NULL);
	index_each(th_path(sc, "one.lmdb"), one, NULL);

	struct th_res r = th_query(sa, "used-by", "acme/shared/tokenizer:v0",
				   NULL);
	TH_OK_OUT(r, "run  acme/proj/ev01  evaluate  eval-1  finished\n");
	/* both uses of v0 (by name and id, and by id alone) */
	r = th_query(sa, "--json", "used", "run:acme/proj/ev01", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_expect(strstr(r.out, "\"id\":\"artifact:acme/proj/model:v0\""),
		  "%s", r.out);
	cr_expect(strstr(r.out, "\"id\":\"artifact:acme/shared/tokenizer:"
			 "v0\""), "%s", r.out);
	/* the id wins over the name: "model" alone named v1 then */
	cr_expect(!strstr(r.out, "model:v1"), "%s", r.out);
	/* only the version the server alone holds stays unresolved */
	cr_expect_eq(th_count(r.out, "\"kind\":\"unresolved\""), 1, "%s",
		     r.out);
	cr_expect(strstr(r.out, "\"id\":\"unresolved:acme/proj/ghost:v0\""
			 ",\"kind\":\"unresolved\",\"ref\":\"ghost:v0\""),
		  "%s", r.out);
	cr_expect(strstr(r.out, "\"reason\":\"wandb-online\""), "%s", r.out);
	r = th_query(sa, "used-by", "acme/proj/model:v1", NULL);
	TH_OK_OUT(r, "");
	r = th_query(sa, "impact", "acme/shared/tokenizer:v0", NULL);
	cr_expect(strstr(r.out, "run:acme/proj/ev01"), "%s", r.out);
	/* the version keeps W&B's id as an attribute */
	r = th_query(sa, "artifact", "acme/shared/tokenizer:v0", NULL);
	cr_expect(strstr(r.out, "\nserver_id    " SID_TOK "\n"), "%s", r.out);
	r = th_query(sa, "check", "--deep", NULL);
	cr_expect_eq(r.rc, 0, "check --deep: %s%s", r.out, r.err);
	/* check notes the use whose name said otherwise, and only it (the
	 * cross-project name names nothing: no conflict) */
	r = th_query(sa, "check", NULL);
	cr_expect_eq(r.rc, 0);
	cr_expect(strstr(r.out, "note: use linked by its W&B server id, not "
			 "its name: run:acme/proj/ev01 used 'model' (server "
			 "id " SID_M0 "), which by name is artifact:acme/"
			 "proj/model:v1; the id names artifact:acme/proj/"
			 "model:v0\n"), "%s", r.out);
	cr_expect_eq(th_count(r.out, "not its name"), 1, "%s", r.out);

	char *a = answers(sa), *b = answers(sb), *c = answers(sc);
	cr_expect_str_eq(b, a);
	cr_expect_str_eq(c, a);
	free(a);
	free(b);
	free(c);
}

/* Without the export, the same uses stay unresolved, each with W&B's
 * reason (the name-only answer of before). */
Test(server_id, without_the_export_the_uses_stay_unresolved)
{
	static const char *const only[] = { ONLINE, NULL };
	char s[TH_PATH_MAX];

	write_online_log();
	index_each(th_path(s, "s.lmdb"), only, NULL);
	struct th_res r = th_query(s, "--json", "used", "run:acme/proj/ev01",
				   NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_expect_eq(th_count(r.out, "\"kind\":\"unresolved\""), 4, "%s",
		     r.out);
	cr_expect_eq(th_count(r.out, "\"reason\":\"wandb-online\""), 4, "%s",
		     r.out);
}

Test(server_id, pruned_or_replaced_export_answers_as_a_fresh_index)
{
	static const char *const fwd[] = { PROJ, SHARED, ONLINE, NULL };
	static const char *const left[] = { PROJ, ONLINE, NULL };
	static const char *const all[] = { "export", ONLINE, NULL };
	char s[TH_PATH_MAX], f[TH_PATH_MAX];

	write_all();
	index_each(th_path(s, "s.lmdb"), fwd, NULL);

	/* the shared project's export goes: its use is unresolved again */
	cr_assert_eq(unlink(th_at(SHARED)), 0);
	index_each(s, all, "--prune");
	index_each(th_path(f, "fresh1.lmdb"), left, NULL);
	struct th_res r = th_query(s, "--json", "used", "run:acme/proj/ev01",
				   NULL);
	cr_expect_eq(th_count(r.out, "\"kind\":\"unresolved\""), 2, "%s",
		     r.out);
	cr_expect(strstr(r.out, "unresolved:acme/proj/tokenizer:v0"), "%s",
		  r.out);
	char *a = answers(s), *b = answers(f);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);

	/* the project's export replaced: v0 no longer carries the id, so
	 * "model" (no version) falls back to its name (latest: v1) */
	write_proj_export(NULL);
	index_each(s, all, NULL);
	index_each(th_path(f, "fresh2.lmdb"), left, NULL);
	r = th_query(s, "used-by", "acme/proj/model:v1", NULL);
	TH_OK_OUT(r, "run  acme/proj/ev01  evaluate  eval-1  finished\n");
	r = th_query(s, "check", "--deep", NULL);
	cr_expect_eq(r.rc, 0, "check --deep: %s%s", r.out, r.err);
	a = answers(s);
	b = answers(f);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);

	/* and back: the shared export returns */
	write_shared_export();
	write_proj_export(SID_M0);
	index_each(s, all, NULL);
	index_each(th_path(f, "fresh3.lmdb"), all, NULL);
	a = answers(s);
	b = answers(f);
	cr_expect_str_eq(a, b);
	cr_expect(strstr(a, "$ used-by acme/shared/tokenizer:v0  -> 0\n"
			 "run  acme/proj/ev01"), "%s", a);
	free(a);
	free(b);
}

/* Two versions carrying one server id (two servers' exports put
 * together): the version whose log came first wins (by time before
 * path), in any order, and the names of the uses do not matter. */
Test(server_id, one_id_on_two_versions_goes_to_the_first_logged)
{
	static const char *const fwd[] = { "export", ONLINE, NULL };
	static const char *const back[] = { ONLINE, "export/b.runlog",
					    "export/a.runlog", NULL };
	char sa[TH_PATH_MAX], sb[TH_PATH_MAX];

	th_rl_open("acme", "other", "export/b.runlog");
	th_rl_run("ot01", "other-1", "train", T(0));
	log_exported("model", "model", "x0", 0, SID_M0, T(1));
	th_rl_close();
	th_rl_open("acme", "proj", "export/a.runlog");
	th_rl_run("tr01", "train-1", "train", T(0));
	log_exported("model", "model", "d0", 0, SID_M0, T(2));
	th_rl_close();
	write_online_log();
	index_each(th_path(sa, "a.lmdb"), fwd, NULL);
	index_each(th_path(sb, "b.lmdb"), back, NULL);
	const char *const stores[] = { sa, sb };
	for (int i = 0; i < 2; i++) {
		struct th_res r = th_query(stores[i], "used-by",
					   "acme/other/model:v0", NULL);
		TH_OK_OUT(r, "run  acme/proj/ev01  evaluate  eval-1  "
			  "finished\n");
		r = th_query(stores[i], "used-by", "acme/proj/model:v0", NULL);
		TH_OK_OUT(r, "");
		r = th_query(stores[i], "check", NULL);
		cr_expect(strstr(r.out, "used 'model:v0' (server id " SID_M0
				 "), which by name is artifact:acme/proj/"
				 "model:v0; the id names artifact:acme/other/"
				 "model:v0\n"), "%s", r.out);
	}
	char *a = answers(sa), *b = answers(sb);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);
}

Test(server_id, a_server_id_too_long_is_refused_with_its_offset)
{
	char s[TH_PATH_MAX], sid[LIN_MAX_SERVER_ID + 2];

	memset(sid, 'A', sizeof sid - 1);
	sid[sizeof sid - 1] = 0;
	th_rl_open("acme", "proj", "long.runlog");
	th_rl_run("tr01", "train-1", "train", T(0));
	log_exported("model", "model", "d0", 0, sid, T(1));
	th_rl_close();
	int code = th_index("-q", "--store", th_path(s, "s.lmdb"),
			    th_at("long.runlog"), NULL);
	cr_expect_eq(code, 65);
	char *err = th_read_file(th_at("stderr.log"), NULL);
	cr_expect(strstr(err, "long.runlog") && strstr(err, "server_id "
			 "'AAAA") && strstr(err, "longer than 200 bytes"),
		  "%s", err);
	free(err);
}

/* A store of schema 2 (before server_ids) is refused as older, by both
 * programs, even read-only where the missing database cannot be made:
 * its uses of server ids were never entered, so it must be re-indexed. */
Test(server_id, an_older_store_is_refused_with_the_rebuild_message)
{
	static const char *const fwd[] = { "export", ONLINE, NULL };
	char s[TH_PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, sids;
	unsigned char two[4] = { 0, 0, 0, 2 };
	MDB_val k = { 6, "schema" }, v = { 4, two };

	write_all();
	index_each(th_path(s, "s.lmdb"), fwd, NULL);
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
	cr_assert_eq(mdb_env_open(env, s, MDB_NOSUBDIR, 0644), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	cr_assert_eq(mdb_dbi_open(txn, "server_ids", 0, &sids), 0);
	cr_assert_eq(mdb_drop(txn, sids, 1), 0);
	cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	char msg[128];
	snprintf(msg, sizeof msg, "store schema 2 is older than this "
		 "program's %d; rebuild it from its sources",
		 LIN_SCHEMA_VERSION);
	struct th_res r = th_query(s, "stats", NULL);
	cr_expect_eq(r.rc, 65);
	cr_expect(strstr(r.err, msg), "%s", r.err);
	cr_assert_eq(chmod(s, 0444), 0);
	r = th_query(s, "stats", NULL);
	cr_expect(strstr(r.err, msg), "read-only: %s", r.err);
	cr_assert_eq(chmod(s, 0644), 0);
	int code = th_index("-q", "--store", s, th_at("export"), NULL);
	cr_expect_eq(code, 65, "exit %d", code);
	char *err = th_read_file(th_at("stderr.log"), NULL);
	cr_expect(strstr(err, msg), "%s", err);
	free(err);
	/* --rebuild reads its sources although `server_ids` is absent */
	code = th_index("-q", "--store", s, "--rebuild", NULL);
	cr_expect_eq(code, 0, "rebuild: exit %d", code);
	r = th_query(s, "stats", NULL);
	cr_expect_eq(r.rc, 0, "rebuilt: %s", r.err);
	cr_expect(strstr(r.out, "schema       7\n"), "%s", r.out);
}
