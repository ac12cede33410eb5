/* test_query.c - lineage-query over a small store made by the real
 * write path: run logs written here with the runlog writer, indexed by
 * lineage-index in-process (helpers.h). Damage is injected afterwards
 * through format/'s store API. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/attrs.h"
#include "format/core.h"
#include "format/cursor.h"
#include "format/keys.h"
#include "format/record.h"
#include "format/store.h"
#include "format/txn.h"
#include "query/internal.h"
#include "query/query.h"

#include "helpers.h"

/* ---- the fixture ----
 *
 * Times are seconds after T0 = 1700000000 (2023-11-14T22:13:20Z); every
 * run starts at T0, finished and failed ones end at T0 + 123.5.
 *
 * acme/mnist/mnist-raw (raw_dataset)        v0            <- up1
 * acme/mnist/mnist-processed (dataset)      v0 v1(prod) v2 <- prep1
 *                                           v2 re-logged  <- prep2
 * acme/mnist/mnist-19pofeku (model)         v0 v1(best)   <- 2x9k1
 * acme/other/mnist-raw (raw_dataset)        v0            <- other/ev01
 * A version vN is logged at N with digest dK (K its place in this
 * list, 1..7) and size 1024 * (N + 1). prep1 uses mnist-raw:v0 twice,
 * prep2 once; 2x9k1 uses processed:v1; mnist/ev01 and other/ev01 use
 * model:v1. other/x1, other/x2 are both named "twin". Alias "old" named
 * processed:v0 from 1 to 7, "prod" processed:v1 from 5, "best" model:v1
 * from 9.
 */

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

static char path[TH_PATH_MAX];
static struct lin_store S;
static int nfile;

/* th_dir/logs/NN-PROJECT-RID.runlog, starting with the RUN record;
 * numbered so that files are indexed in the order written (rows that
 * tie keep that order). `tags` may be NULL. */
static void run_file(const char *project, const char *rid,
		     const char *name, const char *job,
		     const char *const *tags)
{
	th_rl_open("acme", project, "logs/%02d-%s-%s.runlog", ++nfile,
		   project, rid);
	th_rl_run_tagged(rid, name, job, T0, tags);
}

/* The end of a run: exit code 0 when finished, else 1. */
static void finish(const char *state)
{
	th_rl_finish(state, strcmp(state, "finished") ? 1 : 0,
		     T0 + 123 * SEC + SEC / 2);
}

/* LOG of version `num` of `coll` with `digest`, logged at `num`;
 * `meta`: with the metadata map {lr, layers, note}. */
static void logv(const char *coll, const char *type, const char *digest,
		 int num, int meta)
{
	struct lin_record r;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "lr", 2);
	msgpack_pack_double(&pk, 0.001);
	msgpack_pack_str_with_body(&pk, "layers", 6);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 64);
	msgpack_pack_int(&pk, -1);
	msgpack_pack_str_with_body(&pk, "note", 4);
	msgpack_pack_str_with_body(&pk, "a \"q\"\n\x01", 7);
	lin_record_clear(&r);
	r.kind = LIN_REC_LOG;
	r.coll = coll;
	r.type = type;
	r.digest = digest;
	r.at = T0 + num * SEC;
	r.size = 1024 * (num + 1);
	if (meta) {
		r.metadata = sb.data;
		r.metadata_len = sb.size;
	}
	th_rl_put(&r);
	msgpack_sbuffer_destroy(&sb);
}

#define uses(ref) th_rl_use(ref, T0 + 10 * SEC, NULL)

/* Index (again) every run log in th_dir/logs into the store. */
static void index_logs(void)
{
	cr_assert_eq(th_index("-q", "--store", path, th_at("logs"), NULL), 0,
		     "see %s/stderr.log", th_dir);
}

static void make_store(void)
{
	static const char *const tags[] = { "baseline", "gpu", NULL };

	th_mkdir();
	th_path(path, "store.lmdb");
	nfile = 0;
	run_file("mnist", "up1", "quiet-dawn-1", "upload", NULL);
	logv("mnist-raw", "raw_dataset", "d1", 0, 0);
	finish("finished");
	th_rl_close();
	run_file("mnist", "prep1", "calm-river-2", "preprocess", NULL);
	uses("mnist-raw:v0");
	uses("mnist-raw:v0");  /* a second use: a second fact, one answer */
	logv("mnist-processed", "dataset", "d2", 0, 0);
	logv("mnist-processed", "dataset", "d3", 1, 0);
	logv("mnist-processed", "dataset", "d4", 2, 0);
	th_rl_alias("mnist-processed:v0", "old", NULL, T0 + 1 * SEC);
	th_rl_alias("mnist-processed:v1", "prod", NULL, T0 + 5 * SEC);
	th_rl_alias("mnist-processed:v0", NULL, "old", T0 + 7 * SEC);
	finish("finished");
	th_rl_close();
	run_file("mnist", "prep2", "calm-river-3", "preprocess", NULL);
	uses("mnist-raw:v0");
	/* the digest prep1 logged, at the same time: a re-log */
	logv("mnist-processed", "dataset", "d4", 2, 0);
	finish("finished");
	th_rl_close();
	run_file("mnist", "2x9k1", "vivid-snow-42", "train", tags);
	uses("mnist-processed:v1");
	logv("mnist-19pofeku", "model", "d5", 0, 0);
	logv("mnist-19pofeku", "model", "d6", 1, 1);
	th_rl_alias("mnist-19pofeku:v1", "best", NULL, T0 + 9 * SEC);
	finish("finished");
	th_rl_close();
	run_file("mnist", "ev01", "eval-5", "eval", NULL);
	uses("mnist-19pofeku:v1");
	finish("failed");
	th_rl_close();
	run_file("other", "ev01", "eval-6", "eval", NULL);
	uses("acme/mnist/mnist-19pofeku:v1");
	logv("mnist-raw", "raw_dataset", "d7", 0, 0);
	th_rl_close();
	run_file("other", "x1", "twin", "misc", NULL);
	th_rl_close();
	run_file("other", "x2", "twin", "misc", NULL);
	th_rl_close();
	index_logs();
}

TestSuite(query, .init = make_store, .fini = th_rmdir);

/* ---- the store itself, for the walk API and injected damage ---- */

static MDB_txn *open_txn(int rdonly)
{
	struct lin_err e;
	MDB_txn *t;
	cr_assert_eq(lin_store_open(&S, path, rdonly ? LIN_STORE_RDONLY : 0,
				    &e), 0, "open: %s", e.msg);
	cr_assert_eq(lin_store_begin(&S, rdonly, &t, &e), 0);
	return t;
}

static void close_txn(MDB_txn *t, int commit)
{
	struct lin_err e;
	if (commit)
		cr_assert_eq(lin_store_commit(t, &e), 0, "%s", e.msg);
	else
		lin_store_abort(t);
	lin_store_close(&S);
}

/* The node id of a RUN or of a REF's version, as the indexer gave it. */
static uint64_t id_of(const char *spec)
{
	struct lin_err e;
	MDB_txn *t = open_txn(1);
	uint64_t id;
	int rc = strchr(spec, ':') ? lin_resolve_ref(t, &S, spec, &id, &e) :
		 lin_resolve_run(t, &S, spec, &id, &e);

	cr_assert_eq(rc, 0, "%s: %s", spec, e.msg);
	close_txn(t, 0);
	return id;
}

/* Write k -> v into `db` as it is (damage the indexer never writes). */
static void put_raw(enum lin_db db, const void *k, size_t kn,
		    const void *v, size_t vn)
{
	struct lin_err e;
	MDB_txn *t = open_txn(0);
	cr_assert_eq(lin_store_put(t, &S, db, k, kn, v, vn, &e), 0, "%s",
		     e.msg);
	close_txn(t, 1);
}

/* Rewrite node `id`'s attribute map with `alias` as its only alias (an
 * inconsistency the indexer never writes): the node's own map, every
 * other key kept as it is. */
static int is_aliases(const msgpack_object *key)
{
	return key->type == MSGPACK_OBJECT_STR && key->via.str.size == 7 &&
	       !memcmp(key->via.str.ptr, "aliases", 7);
}

static void set_alias(uint64_t id, const char *alias)
{
	struct lin_err e;
	unsigned char k[8];
	MDB_val v;
	msgpack_unpacked up;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	MDB_txn *t = open_txn(0);

	cr_assert_eq(lin_store_get(t, &S, LIN_DB_NODES, k, lin_key_id(k, id),
				   &v, &e), 0, "%s", e.msg);
	msgpack_unpacked_init(&up);
	cr_assert_eq(msgpack_unpack_next(&up, v.mv_data, v.mv_size, NULL),
		     MSGPACK_UNPACK_SUCCESS);
	lin_attrs_decode(&up.data);   /* attribute names, not their codes */
	cr_assert_eq(up.data.type, MSGPACK_OBJECT_MAP);
	const msgpack_object_map *m = &up.data.via.map;
	int had = 0;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (uint32_t i = 0; i < m->size; i++)
		had |= is_aliases(&m->ptr[i].key);
	msgpack_pack_map(&pk, m->size + !had);
	for (uint32_t i = 0; i < m->size; i++) {
		if (is_aliases(&m->ptr[i].key))
			continue;
		msgpack_pack_object(&pk, m->ptr[i].key);
		msgpack_pack_object(&pk, m->ptr[i].val);
	}
	msgpack_pack_str_with_body(&pk, "aliases", 7);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str_with_body(&pk, alias, strlen(alias));
	cr_assert_eq(lin_store_put(t, &S, LIN_DB_NODES, k, 8, sb.data,
				   sb.size, &e), 0, "%s", e.msg);
	/* and its core record, as the indexer writes them together */
	struct lin_core_enc ce = { 0 };
	cr_assert_eq(lin_core_encode(&ce, id, sb.data, sb.size), 0);
	cr_assert_eq(lin_store_put(t, &S, LIN_DB_NODE_CORE, k, 8, ce.buf,
				   ce.n, &e), 0, "%s", e.msg);
	lin_core_enc_release(&ce);
	msgpack_sbuffer_destroy(&sb);
	msgpack_unpacked_destroy(&up);
	close_txn(t, 1);
}

/* ---- running the CLI in-process ---- */

/* lineage-query --store PATH ARGS... (NULL-terminated), in-process. */
#define q(...) th_query(path, __VA_ARGS__)

/* ---- resolution ---- */

Test(query, artifact_text)
{
	struct th_res r = q("artifact", "mnist-19pofeku:best", NULL);
	TH_OK_OUT(r,
	"id           artifact:acme/mnist/mnist-19pofeku:v1\n"
	"collection   acme/mnist/mnist-19pofeku\n"
	"type         model\n"
	"version      v1\n"
	"digest       d6\n"
	"aliases      latest, best\n"
	"size         2048\n"
	"files        -\n"
	"description  -\n"
	"created_at   2023-11-14T22:13:21Z\n"
	"metadata     {\"lr\":0.001,\"layers\":[64,-1],"
	"\"note\":\"a \\\"q\\\"\\n\\u0001\"}\n"
	"logged_by    acme/mnist/2x9k1 (vivid-snow-42)\n"
	"users        2\n");
}

Test(query, artifact_json)
{
	struct th_res r = q("--json", "artifact", "acme/mnist/mnist-processed:v2",
			 NULL);
	TH_OK_OUT(r,
	"{\"id\":\"artifact:acme/mnist/mnist-processed:v2\","
	"\"kind\":\"artifact\",\"entity\":\"acme\",\"project\":\"mnist\","
	"\"name\":\"mnist-processed\",\"version\":\"v2\","
	"\"qualified_name\":\"acme/mnist/mnist-processed:v2\","
	"\"type\":\"dataset\","
	"\"digest\":\"d4\",\"aliases\":[\"latest\"],\"size\":3072,"
	"\"files\":null,\"description\":null,\"metadata\":null,"
	"\"created_at\":\"2023-11-14T22:13:22Z\","
	"\"collection\":\"acme/mnist/mnist-processed\","
	"\"logged_by\":[\"run:acme/mnist/prep1\"],"
	"\"relogged_by\":[\"run:acme/mnist/prep2\"],\"used_by\":[],"
	"\"used_by_count\":0}\n");
}

Test(query, ref_forms_resolve_alike)
{
	static const char *const forms[] = {
		"mnist-processed:v1", "mnist-processed:prod",
		"mnist/mnist-processed:v1", "acme/mnist/mnist-processed:prod",
		"artifact:acme/mnist/mnist-processed:v1",
	};
	for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
		struct th_res r = q("--json", "logged-by", forms[i], NULL);
		cr_assert_eq(r.rc, 0, "%s: %s", forms[i], r.err);
		cr_assert(strstr(r.out, "\"id\":\"run:acme/mnist/prep1\""),
			  "%s: %s", forms[i], r.out);
	}
	/* A bare name is name:latest. */
	struct th_res r = q("--json", "artifact", "mnist-processed", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "mnist-processed:v2\""));
}

Test(query, unknown_version_lists_what_exists)
{
	struct th_res r = q("artifact", "mnist-processed:v7", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.out, "");
	cr_assert_str_eq(r.err, "lineage-query: no version v7 of "
			 "'acme/mnist/mnist-processed'; it has v0..v2, "
			 "aliases: latest, prod\n");
	r = q("artifact", "mnist-processed:staging", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: no alias 'staging' on "
			 "'acme/mnist/mnist-processed'; it has v0..v2, "
			 "aliases: latest, prod\n");
}

Test(query, unknown_collection_suggests)
{
	struct th_res r = q("artifact", "mnist-procesed:v1", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: no artifact collection "
			 "'mnist-procesed'; did you mean "
			 "'acme/mnist/mnist-processed'?\n");
	r = q("artifact", "acme/mnist/mnist-rav", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: no artifact collection "
			 "'acme/mnist/mnist-rav'; did you mean one of "
			 "'acme/mnist/mnist-raw', 'acme/other/mnist-raw'?\n");
	r = q("artifact", "zzzzzzzzzzzz", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: no artifact collection "
			 "'zzzzzzzzzzzz'\n");
}

Test(query, ambiguous_collection_lists_projects)
{
	struct th_res r = q("artifact", "mnist-raw:v0", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: artifact name 'mnist-raw' is "
			 "ambiguous: it is in 'acme/mnist', 'acme/other'; "
			 "give entity/project/mnist-raw\n");
	r = q("--json", "artifact", "other/mnist-raw:v0", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"id\":\"artifact:acme/other/mnist-raw:v0"));
}

Test(query, bad_ref_syntax_is_usage)
{
	struct th_res r = q("artifact", "a/b/c/d:v1", NULL);
	cr_assert_eq(r.rc, 64);
	cr_assert(strstr(r.err, "bad REF 'a/b/c/d:v1': expected "
			 "[entity/project/]name[:alias|:vN]"), "%s", r.err);
	r = q("artifact", "name:", NULL);
	cr_assert_eq(r.rc, 64);
	r = q("artifact", "/x", NULL);
	cr_assert_eq(r.rc, 64);
}

Test(query, run_text_and_json)
{
	struct th_res r = q("run", "2x9k1", NULL);
	TH_OK_OUT(r,
	"id          run:acme/mnist/2x9k1\n"
	"name        vivid-snow-42\n"
	"job_type    train\n"
	"group       -\n"
	"host        -\n"
	"notes       -\n"
	"tags        baseline, gpu\n"
	"state       finished\n"
	"exit_code   0\n"
	"started_at  2023-11-14T22:13:20Z\n"
	"ended_at    2023-11-14T22:15:23.500000000Z\n"
	"logged      2\n"
	"used        1\n");
	r = q("run", "--json", "acme/other/ev01", NULL);
	TH_OK_OUT(r,
	"{\"id\":\"run:acme/other/ev01\",\"kind\":\"run\",\"entity\":\"acme\","
	"\"project\":\"other\",\"run_id\":\"ev01\",\"name\":\"eval-6\","
	"\"job_type\":\"eval\",\"group\":null,\"host\":null,\"notes\":null,"
	"\"tags\":[],\"state\":null,\"exit_code\":null,"
	"\"started_at\":\"2023-11-14T22:13:20Z\",\"ended_at\":null,"
	"\"logged\":1,\"relogged\":0,\"used\":1,\"unresolved\":[],"
	"\"uses_recorded\":true}\n");
}

Test(query, run_by_display_name)
{
	struct th_res r = q("--json", "run", "vivid-snow-42", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"id\":\"run:acme/mnist/2x9k1\""));
	r = q("run", "twin", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: run name 'twin' is ambiguous:"
			 " runs 'acme/other/x1', 'acme/other/x2' have it; "
			 "give the run id\n");
}

Test(query, ambiguous_and_unknown_runs)
{
	struct th_res r = q("run", "ev01", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: run id 'ev01' is ambiguous: "
			 "it is in 'acme/mnist', 'acme/other'; give "
			 "entity/project/ev01\n");
	r = q("run", "2x9k", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: no run '2x9k'; did you mean "
			 "'acme/mnist/2x9k1'?\n");
	r = q("run", "acme/mnst/prep1", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: no run 'acme/mnst/prep1'; did "
			 "you mean one of 'acme/mnist/prep1', "
			 "'acme/mnist/prep2', 'acme/mnist/up1'?\n");
}

/* ---- list commands ---- */

/* The producer, then the run that logged the same digest after it. */
Test(query, logged_by_reports_both_runs)
{
	struct th_res r = q("logged-by", "mnist-processed:latest", NULL);
	TH_OK_OUT(r,
	"run  acme/mnist/prep1  preprocess  calm-river-2  finished\n"
	"run  acme/mnist/prep2  preprocess  calm-river-3  finished  "
	"re-logged\n");
}

Test(query, used_by_dedups_repeated_use)
{
	struct th_res r = q("used-by", "acme/mnist/mnist-raw:v0", NULL);
	TH_OK_OUT(r,
	"run  acme/mnist/prep1  preprocess  calm-river-2  finished\n"
	"run  acme/mnist/prep2  preprocess  calm-river-3  finished\n");
	/* An empty answer is still a success. */
	r = q("used-by", "mnist-processed:v0", NULL);
	TH_OK_OUT(r, "");
	r = q("--json", "used-by", "mnist-processed:v0", NULL);
	TH_OK_OUT(r, "");
}

Test(query, logged_and_used)
{
	struct th_res r = q("logged", "prep1", NULL);
	TH_OK_OUT(r,
	"artifact  acme/mnist/mnist-processed:v0  dataset  aliases=-\n"
	"artifact  acme/mnist/mnist-processed:v1  dataset  aliases=prod\n"
	"artifact  acme/mnist/mnist-processed:v2  dataset  aliases=latest\n");
	r = q("used", "acme/mnist/prep1", NULL);
	TH_OK_OUT(r,
	"artifact  acme/mnist/mnist-raw:v0  raw_dataset  aliases=latest\n");
	r = q("--json", "used", "prep2", NULL);
	TH_OK_OUT(r,
	"{\"id\":\"artifact:acme/mnist/mnist-raw:v0\",\"kind\":\"artifact\","
	"\"entity\":\"acme\",\"project\":\"mnist\",\"name\":\"mnist-raw\","
	"\"version\":\"v0\",\"qualified_name\":\"acme/mnist/mnist-raw:v0\","
	"\"type\":\"raw_dataset\",\"digest\":\"d1\","
	"\"aliases\":[\"latest\"],\"size\":1024,\"files\":null,"
	"\"description\":null,\"metadata\":null,"
	"\"created_at\":\"2023-11-14T22:13:20Z\"}\n");
}

/* ---- lineage ---- */

Test(query, lineage_down_text)
{
	struct th_res r = q("lineage", "mnist-processed:v1", NULL);
	TH_OK_OUT(r,
	"0  artifact  acme/mnist/mnist-processed:v1  dataset      "
	"aliases=prod\n"
	"1  run       acme/mnist/2x9k1               train        "
	"vivid-snow-42        finished  via=used    "
	"from=artifact:acme/mnist/mnist-processed:v1\n"
	"2  artifact  acme/mnist/mnist-19pofeku:v0   model        "
	"aliases=-                      via=logged  "
	"from=run:acme/mnist/2x9k1\n"
	"2  artifact  acme/mnist/mnist-19pofeku:v1   model        "
	"aliases=latest,best            via=logged  "
	"from=run:acme/mnist/2x9k1\n"
	"3  run       acme/mnist/ev01                eval         "
	"eval-5               failed    via=used    "
	"from=artifact:acme/mnist/mnist-19pofeku:v1\n"
	"3  run       acme/other/ev01                eval         "
	"eval-6               -         via=used    "
	"from=artifact:acme/mnist/mnist-19pofeku:v1\n"
	"4  artifact  acme/other/mnist-raw:v0        raw_dataset  "
	"aliases=latest                 via=logged  "
	"from=run:acme/other/ev01\n"
	"# total=7 shown=7 truncated=no\n");
}

Test(query, lineage_up_json)
{
	struct th_res r = q("--json", "lineage", "--up", "run:acme/mnist/2x9k1",
			 NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	const char *want[] = {
		"\"id\":\"run:acme/mnist/2x9k1\"", "\"depth\":0,\"via\":null}",
		"\"id\":\"artifact:acme/mnist/mnist-processed:v1\"",
		"\"depth\":1,\"via\":{\"from\":\"run:acme/mnist/2x9k1\","
		"\"edge\":\"used\"}}",
		"\"id\":\"run:acme/mnist/prep1\"",
		"\"depth\":2,\"via\":{\"from\":"
		"\"artifact:acme/mnist/mnist-processed:v1\","
		"\"edge\":\"logged\"}}",
		"\"id\":\"artifact:acme/mnist/mnist-raw:v0\"", "\"depth\":3,",
		"\"id\":\"run:acme/mnist/up1\"", "\"depth\":4,",
	};
	char *line = r.out;
	for (size_t i = 0; i < sizeof want / sizeof *want; i += 2) {
		char *nl = strchr(line, '\n');
		cr_assert(nl, "line %zu missing in %s", i / 2, r.out);
		*nl = '\0';
		cr_assert(line[0] == '{' && strstr(line, want[i]) &&
			  strstr(line, want[i + 1]), "line %zu: %s", i / 2,
			  line);
		line = nl + 1;
	}
	cr_assert_str_eq(line, "{\"kind\":\"summary\",\"total\":5,"
			 "\"returned\":5,\"truncated\":false,"
			 "\"next\":null}\n");
}

Test(query, lineage_depth_and_both)
{
	struct th_res r = q("--json", "lineage", "--depth", "1", "--both",
			 "mnist-processed:v1", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	/* Itself, its producer and its user; not the producer's other
	 * outputs (--both is ancestors + descendants). */
	int lines = 0;
	for (char *p = r.out; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 4, "%s", r.out);  /* and the summary */
	cr_assert(strstr(r.out, "run:acme/mnist/prep1"));
	cr_assert(strstr(r.out, "run:acme/mnist/2x9k1"));
	r = q("lineage", "-D", "0", "2x9k1", NULL);
	TH_OK_OUT(r,
	       "0  run  acme/mnist/2x9k1  train  vivid-snow-42  finished\n"
	       "# total=1 shown=1 truncated=no\n");
	r = q("lineage", "--depth", "x", "2x9k1", NULL);
	cr_assert_eq(r.rc, 64);
}

Test(query, lineage_node_forms)
{
	/* No ':' and no such run: an artifact name means name:latest. */
	struct th_res r = q("lineage", "--depth", "0", "mnist-19pofeku", NULL);
	TH_OK_OUT(r, "0  artifact  acme/mnist/mnist-19pofeku:v1  model  "
	       "aliases=latest,best\n"
	       "# total=1 shown=1 truncated=no\n");
	r = q("lineage", "nothing-like-it", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.err, "lineage-query: no run 'nothing-like-it'\n");
}

Test(query, lineage_filters_and_paging)
{
	struct th_res r = q("lineage", "--type", "model", "mnist-raw:v0", NULL);
	cr_assert_eq(r.rc, 1);  /* ambiguous */
	r = q("lineage", "--type", "model", "acme/mnist/mnist-raw:v0", NULL);
	TH_OK_OUT(r,
	"4  artifact  acme/mnist/mnist-19pofeku:v0  model  "
	"aliases=-              via=logged  from=run:acme/mnist/2x9k1\n"
	"4  artifact  acme/mnist/mnist-19pofeku:v1  model  "
	"aliases=latest,best    via=logged  from=run:acme/mnist/2x9k1\n"
	"# total=2 shown=2 truncated=no\n");
	r = q("--json", "lineage", "--job-type", "eval", "--project", "other",
	      "acme/mnist/mnist-raw:v0", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "run:acme/other/ev01"));
	cr_assert_null(strstr(r.out, "run:acme/mnist/ev01"));

	r = q("--json", "lineage", "--limit", "2", "acme/mnist/mnist-raw:v0",
	      NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "{\"kind\":\"summary\",\"total\":12,"
			 "\"returned\":2,\"truncated\":true,"
			 "\"next\":\"run:acme/mnist/prep1\"}\n"), "%s", r.out);
	r = q("lineage", "--limit", "2", "--after", "run:acme/mnist/prep1",
	      "acme/mnist/mnist-raw:v0", NULL);
	TH_OK_OUT(r,
	"1  run       acme/mnist/prep2               preprocess  "
	"calm-river-3  finished  via=used    "
	"from=artifact:acme/mnist/mnist-raw:v0\n"
	"2  artifact  acme/mnist/mnist-processed:v0  dataset     "
	"aliases=-               via=logged  from=run:acme/mnist/prep1\n"
	"# total=12 shown=2 truncated=yes "
	"next=artifact:acme/mnist/mnist-processed:v0\n");
	r = q("lineage", "--after", "run:nope", "acme/mnist/mnist-raw:v0",
	      NULL);
	cr_assert_eq(r.rc, 1);
}

/* ---- the walk API ---- */

Test(query, walk_order_depth_and_dedup)
{
	uint64_t raw = id_of("acme/mnist/mnist-raw:v0");
	uint64_t prep1 = id_of("prep1"), prep2 = id_of("prep2");
	const struct { uint64_t node, from; unsigned edge, depth; } want[] = {
		{ raw, 0, 0, 0 },
		{ prep1, raw, LIN_EDGE_USED_BY, 1 },
		{ prep2, raw, LIN_EDGE_USED_BY, 1 },
		{ id_of("mnist-processed:v0"), prep1, LIN_EDGE_LOGGED, 2 },
		{ id_of("mnist-processed:v1"), prep1, LIN_EDGE_LOGGED, 2 },
		{ id_of("mnist-processed:v2"), prep1, LIN_EDGE_LOGGED, 2 },
	};
	struct lin_err e;
	MDB_txn *t = open_txn(1);
	struct lin_walk *w;
	struct lin_walk_step st;
	size_t i = 0;
	int rc;

	cr_assert_eq(lin_walk_new(&w, t, &S, LIN_WALK_DOWN, 2, &e), 0);
	cr_assert_eq(lin_walk_start(w, raw, &e), 0);
	cr_assert_eq(lin_walk_start(w, raw, &e), 0);  /* harmless */
	while ((rc = lin_walk_next(w, &st, &e)) == 1) {
		cr_assert_lt(i, sizeof want / sizeof *want);
		cr_assert_eq(st.node, want[i].node, "step %zu", i);
		cr_assert_eq(st.from, want[i].from, "step %zu", i);
		cr_assert_eq(st.edge, want[i].edge, "step %zu", i);
		cr_assert_eq(st.depth, want[i].depth, "step %zu", i);
		i++;
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(i, sizeof want / sizeof *want);
	cr_assert_eq(lin_walk_count(w), i);
	lin_walk_free(w);

	/* Two facts, one neighbour; only the asked direction is read. */
	struct lin_nbrs nb = { NULL, 0, 0 };
	cr_assert_eq(lin_walk_neighbours(t, &S, prep1, LIN_EDGE_UP_FIRST,
					 LIN_EDGE_UP_LAST, &nb, &e), 0);
	cr_assert_eq(nb.n, 1);
	cr_assert_eq(nb.v[0].node, raw);
	cr_assert_eq(nb.v[0].kind, LIN_EDGE_USES);
	nb.n = 0;
	cr_assert_eq(lin_walk_neighbours(t, &S, prep1, LIN_EDGE_DOWN_FIRST,
					 LIN_EDGE_DOWN_LAST, &nb, &e), 0);
	cr_assert_eq(nb.n, 3);
	lin_nbrs_free(&nb);
	cr_assert_eq(lin_walk_new(&w, t, &S, 7, LIN_WALK_ALL, &e),
		     LIN_EINVAL);
	close_txn(t, 0);
}

Test(query, walk_handles_cycles)
{
	struct lin_err e;
	struct lin_walk *w;
	struct lin_walk_step st;
	int n = 0;

	/* A run that logs the version it used: mnist/ev01 logs the digest
	 * of the model it uses (d6) before 2x9k1 did, so it becomes its
	 * producer (and d6 becomes v0, the first logged). */
	run_file("mnist", "ev01", "eval-5", "eval", NULL);
	th_rl_use("mnist-19pofeku:v1", T0 + 10 * SEC, "d6");
	th_rl_log("mnist-19pofeku", "model", "d6", T0 - 10 * SEC, NULL);
	th_rl_close();
	index_logs();
	uint64_t ev01 = id_of("acme/mnist/ev01");
	struct th_res r = q("logged-by", "mnist-19pofeku:v0", NULL);
	cr_assert_str_eq(r.out, "run  acme/mnist/ev01   eval   eval-5         "
			 "failed\n"
			 "run  acme/mnist/2x9k1  train  vivid-snow-42  "
			 "finished  re-logged\n");
	/* (v1 by its first file, v0 by this one) */
	r = q("used", "acme/mnist/ev01", NULL);
	cr_assert_str_eq(r.out, "artifact  acme/mnist/mnist-19pofeku:v1  "
			 "model  aliases=latest,best\n"
			 "artifact  acme/mnist/mnist-19pofeku:v0  "
			 "model  aliases=-\n");
	MDB_txn *t = open_txn(1);
	cr_assert_eq(lin_walk_new(&w, t, &S, LIN_WALK_BOTH, LIN_WALK_ALL,
				  &e), 0);
	cr_assert_eq(lin_walk_start(w, ev01, &e), 0);
	uint64_t seen[64];
	while (lin_walk_next(w, &st, &e) == 1) {
		for (int i = 0; i < n; i++)
			cr_assert_neq(seen[i], st.node, "reported twice");
		cr_assert_lt(n, 64);
		seen[n++] = st.node;
	}
	cr_assert_gt(n, 3);
	lin_walk_free(w);
	close_txn(t, 0);
}

/* ---- errors and exit statuses ---- */

Test(query, usage_errors)
{
	struct th_res r = q(NULL);
	cr_assert_eq(r.rc, 64);
	cr_assert_str_eq(r.err, "lineage-query: no command given\n"
			 "Try 'lineage-query --help'.\n");
	r = q("artifacts", "x", NULL);
	cr_assert_eq(r.rc, 64);
	cr_assert_str_eq(r.err, "lineage-query: unknown command 'artifacts'; "
			 "did you mean 'artifact'?\nTry 'lineage-query "
			 "--help'.\n");
	r = q("run", "--bogus", "x", NULL);
	cr_assert_eq(r.rc, 64);
	cr_assert_str_eq(r.err, "lineage-query: run: unknown option "
			 "'--bogus'\nTry 'lineage-query run --help'.\n");
	r = q("run", NULL);
	cr_assert_eq(r.rc, 64);
	r = q("run", "a", "b", NULL);
	cr_assert_eq(r.rc, 64);
	r = q("lineage", "--depth", NULL);
	cr_assert_eq(r.rc, 64);
	cr_assert(strstr(r.err, "option '--depth' needs a value"));
}

Test(query, help_and_version_everywhere)
{
	const char *cmds[] = { "artifact", "logged-by", "used-by", "run",
			       "logged", "used", "lineage", "path", "impact",
			       "provenance", "graph", "ls", "stats", "check",
			       "diff" };
	struct th_res r = q("--help", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "usage: lineage-query"));
	cr_assert(strstr(r.out, "  66  the store is missing"));
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		r = q(cmds[i], "--help", NULL);
		cr_assert_eq(r.rc, 0);
		cr_assert(strstr(r.out, cmds[i]));
		cr_assert_str_eq(r.err, "");
		r = q(cmds[i], "-V", NULL);
		cr_assert_eq(r.rc, 0);
		cr_assert(strncmp(r.out, "lineage-query ", 14) == 0);
	}
}

Test(query, missing_store_is_66)
{
	char *argv[] = { "lineage-query", "--store", "/nonexistent/x.lmdb",
			 "run", "x", NULL };
	char *o = NULL, *e = NULL;
	size_t on, en;
	FILE *of = open_memstream(&o, &on), *ef = open_memstream(&e, &en);
	cr_assert_eq(lin_query_run(5, argv, of, ef), 66);
	fclose(of);
	fclose(ef);
	cr_assert(strstr(e, "lineage-query: /nonexistent/x.lmdb: cannot open"
			 " store"), "%s", e);
	free(o);
	free(e);
}

Test(query, not_a_store_is_65)
{
	char p2[TH_PATH_MAX];
	th_path(p2, "junk.lmdb");
	FILE *f = fopen(p2, "w");
	for (int i = 0; i < 5000; i++)
		fputs("not an lmdb file ", f);
	fclose(f);
	char *argv[] = { "lineage-query", "--store", p2, "run", "x", NULL };
	char *o = NULL, *e = NULL;
	size_t on, en;
	FILE *of = open_memstream(&o, &on), *ef = open_memstream(&e, &en);
	int rc = lin_query_run(5, argv, of, ef);
	fclose(of);
	fclose(ef);
	cr_assert_eq(rc, 65, "rc %d: %s", rc, e);
	free(o);
	free(e);
	unlink(p2);
	unlink(th_path(p2, "junk.lmdb-lock"));
}

Test(query, bad_node_data_is_65)
{
	static const unsigned char junk[] = { 0x82, 0xa4, 'k', 'i', 'n',
					      'd', 0xdd, 0xff, 0xff, 0xff };
	uint64_t id = id_of("2x9k1");
	unsigned char k[8];
	char want[80];

	put_raw(LIN_DB_NODES, k, lin_key_id(k, id), junk, sizeof junk);
	struct th_res r = q("run", "2x9k1", NULL);
	cr_assert_eq(r.rc, 65, "rc %d: %s", r.rc, r.err);
	snprintf(want, sizeof want, "node %016llx in the store is invalid: "
		 "malformed msgpack", (unsigned long long)id);
	cr_assert(strstr(r.err, want), "%s", r.err);
}

Test(query, bad_edge_is_65)
{
	unsigned char k[8], v[16] = { LIN_EDGE_LOGGED };
	put_raw(LIN_DB_EDGES, k, lin_key_id(k, id_of("acme/other/x1")), v,
		sizeof v);
	struct th_res r = q("logged", "acme/other/x1", NULL);
	cr_assert_eq(r.rc, 65, "rc %d: %s", r.rc, r.err);
	cr_assert(strstr(r.err, "is 16 bytes, not 17"), "%s", r.err);
}

Test(query, write_failure_is_74)
{
	char *argv[] = { "lineage-query", "--store", path, "run", "2x9k1",
			 NULL };
	FILE *full = fopen("/dev/full", "w");
	char *e = NULL;
	size_t en;
	FILE *ef = open_memstream(&e, &en);

	cr_assert(full);
	cr_assert_eq(lin_query_run(5, argv, full, ef), 74);
	fclose(full);
	fclose(ef);
	cr_assert(strstr(e, "lineage-query: cannot write output"), "%s", e);
	free(e);
}

Test(query, main_writes_stdout)
{
	char *argv[] = { "lineage-query", "--store", path, "--json", "used",
			 "2x9k1", NULL };
	cr_redirect_stdout();
	cr_assert_eq(lin_query_main(6, argv), 0);
	fflush(stdout);
	cr_assert_stdout_eq_str(
	"{\"id\":\"artifact:acme/mnist/mnist-processed:v1\","
	"\"kind\":\"artifact\",\"entity\":\"acme\",\"project\":\"mnist\","
	"\"name\":\"mnist-processed\",\"version\":\"v1\","
	"\"qualified_name\":\"acme/mnist/mnist-processed:v1\","
	"\"type\":\"dataset\","
	"\"digest\":\"d3\",\"aliases\":[\"prod\"],\"size\":2048,"
	"\"files\":null,\"description\":null,\"metadata\":null,"
	"\"created_at\":\"2023-11-14T22:13:21Z\"}\n");
}

/* ---- writers ---- */

Test(query, time_format)
{
	char b[48];
	cr_assert_str_eq(lin_fmt_time(b, 0), "1970-01-01T00:00:00Z");
	cr_assert_str_eq(lin_fmt_time(b, T0 + 5), "2023-11-14T22:13:20."
			 "000000005Z");
	cr_assert_str_eq(lin_fmt_time(b, -1), "1969-12-31T23:59:59."
			 "999999999Z");
}

Test(query, json_escaping)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	lin_json_str(f, "a\"\\\n\x1f\xc3\xa9\xff\xed\xa0\x80z", 12);
	fclose(f);
	cr_assert_str_eq(s, "\"a\\\"\\\\\\n\\u001f\xc3\xa9\xef\xbf\xbd"
			 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\"");
	free(s);
}

Test(query, msgpack_check_bounds)
{
	/* array32 claiming 4G elements in 5 bytes */
	static const unsigned char big[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	static const unsigned char ok[] = { 0x81, 0xa1, 'a', 0x92, 1, 0xc0 };
	static const unsigned char trail[] = { 0x01, 0x02 };
	unsigned char deep[40];
	memset(deep, 0x91, sizeof deep);
	deep[39] = 0;
	cr_assert_eq(lin_mp_check(big, sizeof big), LIN_ECORRUPT);
	cr_assert_eq(lin_mp_check(ok, sizeof ok), 0);
	cr_assert_eq(lin_mp_check(ok, sizeof ok - 1), LIN_ECORRUPT);
	cr_assert_eq(lin_mp_check(trail, sizeof trail), LIN_ECORRUPT);
	cr_assert_eq(lin_mp_check(deep, sizeof deep), LIN_ECORRUPT);
	cr_assert_eq(lin_mp_check(deep + 10, sizeof deep - 10), 0);
}

Test(query, edit_distance)
{
	cr_assert_eq(lin_edit_distance("kitten", 6, "sitting", 7, 5), 3);
	cr_assert_eq(lin_edit_distance("abc", 3, "abc", 3, 0), 0);
	cr_assert_eq(lin_edit_distance("abc", 3, "xyz", 3, 1), 2);
}

/* ---- issue 4 commands ---- */

Test(query, path_both_ways)
{
	struct th_res r = q("--json", "path", "acme/mnist/mnist-raw:v0", "2x9k1",
			 NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	const char *ids[] = { "artifact:acme/mnist/mnist-raw:v0",
			      "run:acme/mnist/prep1",
			      "artifact:acme/mnist/mnist-processed:v1",
			      "run:acme/mnist/2x9k1" };
	char *line = r.out;
	for (size_t i = 0; i < 4; i++) {
		char want[96];
		snprintf(want, sizeof want, "{\"id\":\"%s\"", ids[i]);
		cr_assert(strncmp(line, want, strlen(want)) == 0, "%zu: %s",
			  i, line);
		line = strchr(line, '\n') + 1;
	}
	cr_assert_str_eq(line, "");
	/* TO upstream of FROM: the chain is found walking up. */
	r = q("path", "2x9k1", "up1", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "4  run       acme/mnist/up1"), "%s", r.out);
	r = q("path", "prep2", "2x9k1", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert_str_eq(r.out, "");
	cr_assert_str_eq(r.err, "lineage-query: no producer/consumer path "
			 "between 'prep2' and '2x9k1'\n");
	r = q("path", "prep2", NULL);
	cr_assert_eq(r.rc, 64);
}

Test(query, impact_csv_and_unknown_roots)
{
	struct th_res r = q("impact", "--format", "csv", "--depth", "2",
			 "acme/mnist/mnist-processed:v1", "nosuch:v1", NULL);
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.out,
	"root,distance,id,kind,project,type,collection,version,aliases,name,"
	"state,time,git_commit,edge,from\n"
	"artifact:acme/mnist/mnist-processed:v1,1,run:acme/mnist/2x9k1,run,"
	"acme/mnist,train,,,,vivid-snow-42,finished,2023-11-14T22:13:20Z,,"
	"used,artifact:acme/mnist/mnist-processed:v1\n"
	"artifact:acme/mnist/mnist-processed:v1,2,"
	"artifact:acme/mnist/mnist-19pofeku:v0,artifact,acme/mnist,model,"
	"mnist-19pofeku,v0,,mnist-19pofeku:v0,,2023-11-14T22:13:20Z,,logged,"
	"run:acme/mnist/2x9k1\n"
	"artifact:acme/mnist/mnist-processed:v1,2,"
	"artifact:acme/mnist/mnist-19pofeku:v1,artifact,acme/mnist,model,"
	"mnist-19pofeku,v1,\"latest,best\",mnist-19pofeku:v1,,"
	"2023-11-14T22:13:21Z,,logged,run:acme/mnist/2x9k1\n");
	cr_assert_str_eq(r.err, "lineage-query: no artifact collection "
			 "'nosuch'\n");
	r = q("impact", "--format", "xml", "x", NULL);
	cr_assert_eq(r.rc, 64);
}

/* The four spellings getopt users expect of a listing's --format give
 * the same answer; "-Fcsv" used to fail as "unknown option 'ls'". */
Test(query, format_spellings_agree)
{
	struct th_res r = q("ls", "--format", "csv", "runs", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	char *want = strdup(r.out);
	cr_assert(strncmp(want, "id,kind,", 8) == 0, "%s", want);
	const char *const spell[][2] = {
		{ "-F", "csv" }, { "-Fcsv", NULL }, { "--format=csv", NULL },
	};
	for (size_t i = 0; i < sizeof spell / sizeof spell[0]; i++) {
		r = spell[i][1] ? q("ls", spell[i][0], spell[i][1], "runs",
				    NULL)
				: q("ls", spell[i][0], "runs", NULL);
		cr_assert_eq(r.rc, 0, "%s: %s", spell[i][0], r.err);
		cr_assert_str_eq(r.out, want, "%s", spell[i][0]);
	}
	r = q("ls", "-Fxml", "runs", NULL);
	TH_FAIL(r, 64, "lineage-query: ls: bad --format 'xml': expected "
		"text, tsv, csv or json\nTry 'lineage-query ls --help'.\n");
	free(want);
}

/* Roots from a file; prep2 only re-logged processed:v2, which walks
 * do not follow without --with-relogs. */
Test(query, provenance_from_file)
{
	char file[TH_PATH_MAX];
	th_path(file, "roots.txt");
	FILE *f = fopen(file, "w");
	fputs("# roots\n\n  acme/mnist/mnist-processed:v2  \nprep1\n", f);
	fclose(f);
	struct th_res r = q("provenance", "--from", file, NULL);
	TH_OK_OUT(r,
	"artifact:acme/mnist/mnist-processed:v2  1  run       "
	"run:acme/mnist/prep1" "              logged  "
	"artifact:acme/mnist/mnist-processed:v2\n"
	"artifact:acme/mnist/mnist-processed:v2  2  artifact  "
	"artifact:acme/mnist/mnist-raw:v0  used    run:acme/mnist/prep1\n"
	"artifact:acme/mnist/mnist-processed:v2  3  run       "
	"run:acme/mnist/up1" "                logged  "
	"artifact:acme/mnist/mnist-raw:v0\n"
	"run:acme/mnist/prep1                    1  artifact  "
	"artifact:acme/mnist/mnist-raw:v0  used    run:acme/mnist/prep1\n"
	"run:acme/mnist/prep1                    2  run       "
	"run:acme/mnist/up1" "                logged  "
	"artifact:acme/mnist/mnist-raw:v0\n");
	unlink(file);
	r = q("provenance", "--from", "/nonexistent/roots", NULL);
	cr_assert_eq(r.rc, 66);
}

Test(query, graph_formats_and_clusters)
{
	/* Six shards logged by one run: collapsed unless --explode. x1's
	 * file written again with them, and indexed again. */
	nfile = 6;
	run_file("other", "x1", "twin", "misc", NULL);
	for (int i = 0; i < 6; i++) {
		char digest[24];
		snprintf(digest, sizeof digest, "shard-%d", i);
		logv("shard", "shard", digest, i, 0);
	}
	th_rl_close();
	index_logs();
	struct th_res r = q("graph", "acme/other/x1", NULL);
	TH_OK_OUT(r,
	"digraph lineage {\n  rankdir=LR;\n"
	"  graph [fontname=\"Helvetica\", nodesep=0.3, ranksep=0.5];\n"
	"  node [shape=box, style=\"rounded,filled\", "
	"fontname=\"Helvetica\", fontsize=11];\n"
	"  edge [fontname=\"Helvetica\", fontsize=9, color=\"#6c757d\", "
	"fontcolor=\"#6c757d\", arrowsize=0.7];\n"
	"  \"run:acme/other/x1\" [label=\"misc / twin\", "
	"fillcolor=\"#d4edda\", color=\"#2e7d32\", penwidth=2];\n"
	"  \"cluster:0\" [label=\"6 artifacts (shard)\", "
	"fillcolor=\"#cfe2ff\", color=\"#1f5fbf\", "
	"style=\"rounded,filled,dashed\"];\n"
	"  \"run:acme/other/x1\" -> \"cluster:0\" [label=\"logged (6)\"];\n}\n");
	r = q("graph", "--explode", "--format", "mermaid", "acme/other/x1",
	      NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "flowchart LR\n  n0[\"misc / twin\"]:::run\n"
			 "  n1[\"shard / shard:v0\"]:::artifact\n"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "  n0 -->|logged| n6\n"), "%s", r.out);
	r = q("--json", "graph", "--up", "--depth", "1", "2x9k1", NULL);
	TH_OK_OUT(r,
	"{\"nodes\":[{\"id\":\"run:acme/mnist/2x9k1\",\"kind\":\"run\","
	"\"label\":\"train / vivid-snow-42\",\"start\":true},"
	"{\"id\":\"artifact:acme/mnist/mnist-processed:v1\","
	"\"kind\":\"artifact\",\"label\":\"dataset / mnist-processed:v1\","
	"\"start\":false}],\"edges\":[{\"from\":"
	"\"artifact:acme/mnist/mnist-processed:v1\",\"to\":"
	"\"run:acme/mnist/2x9k1\",\"edge\":\"used\"}]}\n");
}

/* Is `prog` an executable file in a $PATH folder? */
static int on_path(const char *prog)
{
	const char *p = getenv("PATH");
	char buf[4096];

	while (p && *p) {
		size_t n = strcspn(p, ":");
		if (n && n + strlen(prog) + 2 <= sizeof buf) {
			snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
			if (access(buf, X_OK) == 0)
				return 1;
		}
		p += n + (p[n] == ':');
	}
	return 0;
}

/* dot -Tsvg on the graph output: 0 and the SVG text, or the failure. */
static char *render_svg(const char *dotsrc)
{
	char in[TH_PATH_MAX], out[TH_PATH_MAX], cmd[2 * TH_PATH_MAX + 32];
	static char svg[1 << 16];

	th_path(in, "g.dot");
	th_path(out, "g.svg");
	FILE *f = fopen(in, "w");
	cr_assert(f);
	fputs(dotsrc, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o '%s'", in, out);
	int st = system(cmd);
	cr_assert_eq(st, 0, "dot failed (%d) on:\n%s", st, dotsrc);
	f = fopen(out, "r");
	cr_assert(f);
	size_t n = fread(svg, 1, sizeof svg - 1, f);
	svg[n] = '\0';
	fclose(f);
	unlink(in);
	unlink(out);
	return svg;
}

Test(query, graph_dot_renders_with_graphviz)
{
	if (!on_path("dot"))
		cr_skip_test("Graphviz 'dot' is not on PATH");
	/* Labels that need escaping, and a collapsed cluster. */
	run_file("other", "q1", "say \"hi\" \\o/ {x}", "mi|sc", NULL);
	for (int i = 0; i < 6; i++) {
		char digest[24];
		snprintf(digest, sizeof digest, "shard-%d", i);
		logv("shard", "shard", digest, i, 0);
	}
	uses("acme/other/mnist-raw:v0");
	th_rl_close();
	index_logs();
	struct th_res r = q("graph", "--both", "acme/mnist/mnist-processed:v1",
			 NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	char *svg = render_svg(r.out);
	cr_assert(strstr(svg, "<svg"), "%s", svg);
	cr_assert(strstr(svg, ">train / vivid&#45;snow&#45;42<") ||
		  strstr(svg, ">train / vivid-snow-42<"), "%s", svg);
	cr_assert(strstr(svg, ">dataset / mnist&#45;processed:v1<") ||
		  strstr(svg, ">dataset / mnist-processed:v1<"), "%s", svg);
	r = q("graph", "--up", "acme/other/shard:v3", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	svg = render_svg(r.out);
	cr_assert(strstr(svg, "say &quot;hi&quot; \\o/ {x}"), "%s", svg);
	r = q("graph", "acme/other/q1", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	svg = render_svg(r.out);
	cr_assert(strstr(svg, ">6 artifacts (shard)<"), "%s", svg);
}

Test(query, ls_lists)
{
	struct th_res r = q("ls", "collections", NULL);
	TH_OK_OUT(r,
	"collection  acme/mnist/mnist-19pofeku   model        versions=2\n"
	"collection  acme/mnist/mnist-processed  dataset      versions=3\n"
	"collection  acme/mnist/mnist-raw        raw_dataset  versions=1\n"
	"collection  acme/other/mnist-raw        raw_dataset  versions=1\n");
	r = q("ls", "types", NULL);
	TH_OK_OUT(r,
	"dataset      collections=1  versions=3\n"
	"model        collections=1  versions=2\n"
	"raw_dataset  collections=2  versions=2\n");
	r = q("ls", "--project", "other", "runs", NULL);
	TH_OK_OUT(r,
	"run  acme/other/ev01  eval  eval-6  -\n"
	"run  acme/other/x1    misc  twin    -\n"
	"run  acme/other/x2    misc  twin    -\n");
	r = q("--json", "ls", "artifacts", "--project", "acme/other", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strncmp(r.out,
			  "{\"id\":\"artifact:acme/other/mnist-raw:v0\"",
			  40) == 0, "%s", r.out);
	r = q("ls", "things", NULL);
	cr_assert_eq(r.rc, 64);
}

Test(query, stats_counts)
{
	struct th_res r = q("--json", "stats", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "\"runs\":8,\"collections\":4,\"versions\":7,"
			 "\"logged\":8,\"used\":6,\"pending\":0"),
		  "%s", r.out);
}

Test(query, check_finds_missing_reverse_edge)
{
#define NOTES \
	"note: run:acme/other/ev01 has no finish record (still running, " \
	"or it crashed)\n" \
	"note: run:acme/other/x1 has no finish record (still running, " \
	"or it crashed)\n" \
	"note: run:acme/other/x2 has no finish record (still running, " \
	"or it crashed)\n"
	struct th_res r = q("check", NULL);
	TH_OK_OUT(r, NOTES "checked 15 nodes, 28 edges: 0 problems, 3 notes\n");
	/* x2 uses raw:v0 by fact 999, without the USED_BY twin (and
	 * without the indexer, so the count of uses disagrees too) */
	uint64_t x2 = id_of("acme/other/x2");
	uint64_t raw = id_of("acme/mnist/mnist-raw:v0");
	struct lin_edge ed = { LIN_EDGE_USES, raw, 999 };
	unsigned char k[8], v[LIN_EDGE_SIZE];
	char want[600];
	lin_edge_encode(v, &ed);
	put_raw(LIN_DB_EDGES, k, lin_key_id(k, x2), v, sizeof v);
	r = q("check", NULL);
	cr_assert_eq(r.rc, 65);
	snprintf(want, sizeof want, "problem: edge %016llx -used-> %016llx "
		 "(fact 00000000000003e7) has no reverse edge\n"
		 "problem: meta 'count.used' says 6, the store holds 7\n"
		 NOTES "checked 15 nodes, 29 edges: 2 problems, 3 notes\n",
		 (unsigned long long)x2, (unsigned long long)raw);
	cr_assert_str_eq(r.out, want);
#undef NOTES
}

Test(query, check_finds_an_alias_on_two_versions)
{
	/* v0 of mnist-19pofeku claims "best" too, which v1 holds */
	uint64_t v0 = id_of("mnist-19pofeku:v0");
	uint64_t v1 = id_of("mnist-19pofeku:v1");
	char want[200];
	set_alias(v0, "best");
	struct th_res r = q("check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	snprintf(want, sizeof want, "problem: alias 'best' names two versions "
		 "at once: nodes %016llx and %016llx\n",
		 (unsigned long long)(v0 < v1 ? v0 : v1),
		 (unsigned long long)(v0 < v1 ? v1 : v0));
	cr_assert(strstr(r.out, want), "%s", r.out);
}

Test(query, path_all_lists_every_simple_path_within_bounds)
{
	struct th_res r = q("path", "--all", "acme/mnist/mnist-raw:v0",
			 "mnist-19pofeku:v1", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "# path 1: "), "%s", r.out);
	cr_assert(strstr(r.out, "# paths="), "%s", r.out);
	r = q("path", "--all", "--depth", "1", "acme/mnist/mnist-raw:v0",
	      "mnist-19pofeku:v1", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert_str_eq(r.out, "# paths=0 truncated=no\n");
	r = q("path", "--all", "--depth", "0", "a", "b", NULL);
	cr_assert_eq(r.rc, 64);
}

/* Table cells show control bytes escaped (\n, \t, \xHH) and every other
 * byte as it is (out.c, append_escaped); a store of its own. */
Test(query_cells, control_bytes_are_escaped, .init = th_mkdir,
     .fini = th_rmdir)
{
	char store[TH_PATH_MAX];

	th_path(store, "c.lmdb");
	th_rl_open("acme", "p", "logs/c.runlog");
	th_rl_run("r1", "a\nb\tc\x01" "d\x7f" "e\xc3\xa9", "train", T0);
	th_rl_close();
	cr_assert_eq(th_index("-q", "--store", store, th_at("logs"), NULL), 0);
	struct th_res r = th_query(store, "ls", "runs", NULL);
	TH_OK_OUT(r, "run  acme/p/r1  train  "
		  "a\\nb\\tc\\x01d\\x7fe\xc3\xa9  -\n");
}

/* Columns are padded to their widest cell in code points, not bytes: a
 * job type of 5 code points in 7 bytes and an escaped control byte (1
 * byte shown as 4) line the next column up with ASCII cells. */
Test(query_cells, columns_align_by_code_points, .init = th_mkdir,
     .fini = th_rmdir)
{
	char store[TH_PATH_MAX];

	th_path(store, "c.lmdb");
	th_rl_open("acme", "p", "logs/c.runlog");
	th_rl_run("r1", "one", "\xc3\xa9t\xc3\xa9" "es", T0);
	th_rl_run("r2", "two", "evalx", T0 + 1);
	th_rl_run("r3", "three", "a\x01", T0 + 2);
	th_rl_close();
	cr_assert_eq(th_index("-q", "--store", store, th_at("logs"), NULL), 0);
	struct th_res r = th_query(store, "ls", "runs", NULL);
	TH_OK_OUT(r, "run  acme/p/r1  \xc3\xa9t\xc3\xa9" "es  one    -\n"
		  "run  acme/p/r2  evalx  two    -\n"
		  "run  acme/p/r3  a\\x01  three  -\n");
}

/* A run's display name makes a `names` key of up to 511 bytes (LMDB's
 * largest): scans that check the order of what they read keep keys
 * that long (a 506-byte buffer called this sound store damaged). */
Test(query_cells, the_longest_names_keys_read_back, .init = th_mkdir,
     .fini = th_rmdir)
{
	char store[TH_PATH_MAX], name[499];

	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';  /* key: N . 498 . 0 . acme/p/r1 */
	th_path(store, "c.lmdb");
	th_rl_open("acme", "p", "logs/c.runlog");
	th_rl_run("r1", name, "train", T0);
	th_rl_log("data", "dataset", "d1", T0 + 1, NULL);
	th_rl_close();
	cr_assert_eq(th_index("-q", "--store", store, th_at("logs"), NULL), 0);
	struct th_res r = th_query(store, "logged", name, NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	cr_assert(strstr(r.out, "acme/p/data:v0"), "%s", r.out);
	r = th_query(store, "check", "--deep", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s%s", r.rc, r.out, r.err);
}

/* ---- entries in order (lin_order_next) ---- */

static int order_step(struct lin_order *o, const char *k, const char *v)
{
	MDB_val kv = { k ? strlen(k) : 0, (void *)k };
	MDB_val vv = { v ? strlen(v) : 0, (void *)v };
	struct lin_err e = { 0 };

	return lin_order_next(o, k ? &kv : NULL, v ? &vv : NULL,
			      LIN_DB_EDGES, &e);
}

/* What a cursor gives must come after what it gave before: keys in
 * LMDB's byte order (a shorter key first), a key's duplicates in the
 * same order; anything else is a damaged page, named as such. */
Test(query, entries_out_of_order_are_refused)
{
	struct lin_order o;

	memset(&o, 0, sizeof o);
	cr_assert_eq(order_step(&o, "ab", NULL), 0);
	cr_assert_eq(order_step(&o, "abc", NULL), 0);
	cr_assert_eq(order_step(&o, "b", NULL), 0);
	cr_assert_eq(order_step(&o, "b", NULL), LIN_ESTORE);
	cr_assert_eq(order_step(&o, "a", NULL), LIN_ESTORE);
	cr_assert_eq(order_step(&o, "ba", NULL), 0, "a refusal keeps the "
		     "last entry given");

	memset(&o, 0, sizeof o);  /* keys with duplicates */
	cr_assert_eq(order_step(&o, "k", "1"), 0);
	cr_assert_eq(order_step(&o, "k", "2"), 0);
	cr_assert_eq(order_step(&o, "k", "2"), LIN_ESTORE);
	cr_assert_eq(order_step(&o, "k", "10"), LIN_ESTORE);
	cr_assert_eq(order_step(&o, "l", "0"), 0);

	memset(&o, 0, sizeof o);  /* the duplicates of one key */
	cr_assert_eq(order_step(&o, NULL, "a"), 0);
	cr_assert_eq(order_step(&o, NULL, "b"), 0);
	cr_assert_eq(order_step(&o, NULL, "a"), LIN_ESTORE);

	memset(&o, 0, sizeof o);  /* backwards */
	o.desc = 1;
	cr_assert_eq(order_step(&o, "c", NULL), 0);
	cr_assert_eq(order_step(&o, "b", NULL), 0);
	cr_assert_eq(order_step(&o, "bb", NULL), LIN_ESTORE);
	cr_assert_eq(order_step(&o, "a", NULL), 0);

	struct lin_err e = { 0 };
	MDB_val k = { 1, (void *)"a" };
	memset(&o, 0, sizeof o);
	lin_order_next(&o, &k, NULL, LIN_DB_NODES, &e);
	cr_assert_eq(lin_order_next(&o, &k, NULL, LIN_DB_NODES, &e),
		     LIN_ESTORE);
	cr_assert_eq(e.sys, MDB_CORRUPTED, "a damaged store, not a bad file");
	cr_assert(strstr(e.msg, "'nodes' gives an entry out of order"),
		  "%s", e.msg);
}
