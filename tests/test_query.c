/* test_query.c - lineage-query over a small store written here exactly as
 * format/schema.h lays it out (a test-only writer, independent of the
 * indexer). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/store.h"
#include "query/internal.h"
#include "query/query.h"

#include "helpers.h"

/* ---- the fixture store ----
 *
 * acme/mnist/mnist-raw (raw_dataset)        v0            <- up1
 * acme/mnist/mnist-processed (dataset)      v0 v1(prod) v2 <- prep1
 *                                           v2 also       <- prep2
 * acme/mnist/mnist-19pofeku (model)         v0 v1(best)   <- 2x9k1
 * acme/other/mnist-raw (raw_dataset)        v0            <- other/ev01
 * prep1 uses mnist-raw:v0 twice, prep2 once; 2x9k1 uses processed:v1;
 * mnist/ev01 and other/ev01 use model:v1. other/x1, other/x2 are both
 * named "twin".
 */

#define R(n) LIN_ID_MAKE(LIN_ID_RUN, n)
#define V(n) LIN_ID_MAKE(LIN_ID_VERSION, n)
#define C(n) LIN_ID_MAKE(LIN_ID_COLL, n)
#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

static char dir[64], path[128];
static struct lin_store S;
static MDB_txn *T;
static uint64_t fact_seq = 100;
/* The store's counters (store.h), kept as the indexer keeps them: read
 * at begin(), moved by put_node() and edge(), written at commit(). */
static uint64_t counts[LIN_COUNT_N];

static void put(enum lin_db db, const void *k, size_t kn, const void *v,
		size_t vn)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc = mdb_put(T, S.dbi[db], &key, &val, 0);
	cr_assert_eq(rc, 0, "mdb_put %s: %s", lin_db_names[db],
		     mdb_strerror(rc));
}

static void pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void pk_kv(msgpack_packer *pk, const char *k, const char *v)
{
	pk_str(pk, k);
	pk_str(pk, v);
}

static void pk_strs(msgpack_packer *pk, const char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		pk_str(pk, v[i]);
}

static void put_node(uint64_t id, const msgpack_sbuffer *sb)
{
	unsigned char k[8];
	put(LIN_DB_NODES, k, lin_key_id(k, id), sb->data, sb->size);
	counts[LIN_COUNT_RUNS] += LIN_ID_KIND(id) == LIN_ID_RUN;
	counts[LIN_COUNT_VERSIONS] += LIN_ID_KIND(id) == LIN_ID_VERSION;
}

static void put_key(enum lin_db db, const char *key, uint64_t id)
{
	unsigned char v[8];
	lin_be64_put(v, id);
	put(db, key, strlen(key), v, 8);
}

/* A run node; state may be NULL (still running), tags NULL-terminated. */
static void run(uint64_t id, const char *e, const char *p, const char *rid,
		const char *name, const char *job, const char *state,
		const char *const *tags)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char key[256];
	static const char *const none[] = { NULL };

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 9 + (state ? 3 : 0));
	pk_kv(&pk, "kind", "run");
	pk_kv(&pk, "entity", e);
	pk_kv(&pk, "project", p);
	pk_kv(&pk, "run_id", rid);
	pk_kv(&pk, "name", name);
	pk_kv(&pk, "job_type", job);
	pk_str(&pk, "tags");
	pk_strs(&pk, tags ? tags : none);
	pk_str(&pk, "started_at");
	msgpack_pack_int64(&pk, T0);
	pk_str(&pk, "future_attr");  /* readers must ignore it */
	msgpack_pack_true(&pk);
	if (state) {
		pk_kv(&pk, "state", state);
		pk_str(&pk, "exit_code");
		msgpack_pack_int64(&pk, strcmp(state, "finished") ? 1 : 0);
		pk_str(&pk, "ended_at");
		msgpack_pack_int64(&pk, T0 + 123 * SEC + SEC / 2);
	}
	put_node(id, &sb);
	msgpack_sbuffer_destroy(&sb);
	snprintf(key, sizeof key, "%s/%s/%s", e, p, rid);
	put_key(LIN_DB_RUNS, key, id);
}

static void coll(uint64_t id, const char *e, const char *p,
		 const char *name)
{
	char key[256];
	snprintf(key, sizeof key, "%s/%s/%s", e, p, name);
	put_key(LIN_DB_COLLS, key, id);
}

static void version(uint64_t id, uint64_t cid, const char *e,
		    const char *p, const char *name, const char *type,
		    uint32_t num, const char *const *aliases, int meta)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned char k[12], v[16];
	char digest[32];

	snprintf(digest, sizeof digest, "d%llx",
		 (unsigned long long)(id & 0xffff));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 11 + (meta ? 1 : 0));
	pk_kv(&pk, "kind", "artifact");
	pk_kv(&pk, "entity", e);
	pk_kv(&pk, "project", p);
	pk_kv(&pk, "name", name);
	pk_str(&pk, "coll");
	msgpack_pack_uint64(&pk, cid);
	pk_kv(&pk, "type", type);
	pk_str(&pk, "version");
	msgpack_pack_uint32(&pk, num);
	pk_kv(&pk, "digest", digest);
	pk_str(&pk, "aliases");
	pk_strs(&pk, aliases);
	pk_str(&pk, "size");
	msgpack_pack_int64(&pk, 1024 * (num + 1));
	pk_str(&pk, "created_at");
	msgpack_pack_int64(&pk, T0 + num * SEC);
	if (meta) {
		pk_str(&pk, "metadata");
		msgpack_pack_map(&pk, 3);
		pk_str(&pk, "lr");
		msgpack_pack_double(&pk, 0.001);
		pk_str(&pk, "layers");
		msgpack_pack_array(&pk, 2);
		msgpack_pack_int(&pk, 64);
		msgpack_pack_int(&pk, -1);
		pk_str(&pk, "note");
		pk_str(&pk, "a \"q\"\n\x01");
	}
	put_node(id, &sb);
	msgpack_sbuffer_destroy(&sb);
	lin_be64_put(v, id);
	lin_be64_put(v + 8, lin_time_key(T0 + num * SEC));
	put(LIN_DB_COLL_VER, k, lin_key_coll_num(k, cid, num), v, 16);
}

static void edge(uint64_t a, unsigned kind, uint64_t b, uint64_t fact)
{
	unsigned char k[8], v[LIN_EDGE_SIZE];
	struct lin_edge e = { kind, b, fact };

	lin_edge_encode(v, &e);
	put(LIN_DB_EDGES, k, lin_key_id(k, a), v, sizeof v);
	counts[LIN_COUNT_LOGGED] += kind == LIN_EDGE_LOGGED ||
				    kind == LIN_EDGE_RELOGGED;
	counts[LIN_COUNT_USED] += kind == LIN_EDGE_USES;
}

static void logs(uint64_t r, uint64_t v)
{
	uint64_t f = fact_seq++;
	edge(r, LIN_EDGE_LOGGED, v, f);
	edge(v, LIN_EDGE_LOGGED_BY, r, f);
}

static void uses(uint64_t r, uint64_t v)
{
	uint64_t f = fact_seq++;
	edge(r, LIN_EDGE_USES, v, f);
	edge(v, LIN_EDGE_USED_BY, r, f);
}

/* Alias timeline: pairs (time offset s, vid), vid 0 = removed. */
static void alias(uint64_t cid, const char *name, int n, ...)
{
	unsigned char k[64], v[16 * 4];
	va_list ap;
	size_t an = strlen(name);

	lin_be64_put(k, cid);
	memcpy(k + 8, name, an);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		long long t = va_arg(ap, long long);
		uint64_t vid = va_arg(ap, uint64_t);
		lin_be64_put(v + 16 * i, lin_time_key(T0 + t * SEC));
		lin_be64_put(v + 16 * i + 8, vid);
	}
	va_end(ap);
	put(LIN_DB_ALIAS_TL, k, 8 + an, v, 16 * (size_t)n);
}

static void begin(void)
{
	struct lin_err e;
	int rc = lin_store_open(&S, path, 0, &e);
	cr_assert_eq(rc, 0, "open: %s", e.msg);
	cr_assert_eq(lin_store_begin(&S, 0, &T, &e), 0);
	cr_assert_eq(lin_store_counts(T, &S, counts, &e), 0, "%s", e.msg);
}

static void commit(void)
{
	for (int i = 0; i < LIN_COUNT_N; i++) {
		unsigned char v[8];
		lin_be64_put(v, counts[i]);
		put(LIN_DB_META, lin_count_names[i],
		    strlen(lin_count_names[i]), v, 8);
	}
	cr_assert_eq(mdb_txn_commit(T), 0);
	lin_store_close(&S);
}

static void make_store(void)
{
	static const char *const latest[] = { "latest", NULL };
	static const char *const prod[] = { "prod", NULL };
	static const char *const none[] = { NULL };
	static const char *const best[] = { "best", "latest", NULL };
	static const char *const tags[] = { "baseline", "gpu", NULL };

	snprintf(dir, sizeof dir, "/tmp/lq-test-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/store.lmdb", dir);
	begin();
	run(R(1), "acme", "mnist", "up1", "quiet-dawn-1", "upload",
	    "finished", NULL);
	run(R(2), "acme", "mnist", "prep1", "calm-river-2", "preprocess",
	    "finished", NULL);
	run(R(3), "acme", "mnist", "prep2", "calm-river-3", "preprocess",
	    "finished", NULL);
	run(R(4), "acme", "mnist", "2x9k1", "vivid-snow-42", "train",
	    "finished", tags);
	run(R(5), "acme", "mnist", "ev01", "eval-5", "eval", "failed",
	    NULL);
	run(R(6), "acme", "other", "ev01", "eval-6", "eval", NULL, NULL);
	run(R(7), "acme", "other", "x1", "twin", "misc", NULL, NULL);
	run(R(8), "acme", "other", "x2", "twin", "misc", NULL, NULL);

	coll(C(1), "acme", "mnist", "mnist-raw");
	coll(C(2), "acme", "mnist", "mnist-processed");
	coll(C(3), "acme", "mnist", "mnist-19pofeku");
	coll(C(4), "acme", "other", "mnist-raw");
	version(V(1), C(1), "acme", "mnist", "mnist-raw", "raw_dataset", 0,
		latest, 0);
	version(V(2), C(2), "acme", "mnist", "mnist-processed", "dataset",
		0, none, 0);
	version(V(3), C(2), "acme", "mnist", "mnist-processed", "dataset",
		1, prod, 0);
	version(V(4), C(2), "acme", "mnist", "mnist-processed", "dataset",
		2, latest, 0);
	version(V(5), C(3), "acme", "mnist", "mnist-19pofeku", "model", 0,
		none, 0);
	version(V(6), C(3), "acme", "mnist", "mnist-19pofeku", "model", 1,
		best, 1);
	version(V(7), C(4), "acme", "other", "mnist-raw", "raw_dataset", 0,
		latest, 0);
	alias(C(2), "prod", 1, 5LL, V(3));
	alias(C(2), "old", 2, 1LL, V(2), 7LL, (uint64_t)0);
	alias(C(3), "best", 1, 9LL, V(6));

	logs(R(1), V(1));
	uses(R(2), V(1));
	uses(R(2), V(1));  /* a second use: a second fact, one answer */
	uses(R(3), V(1));
	logs(R(2), V(2));
	logs(R(2), V(3));
	logs(R(2), V(4));
	logs(R(3), V(4));  /* same digest logged by a second run */
	uses(R(4), V(3));
	logs(R(4), V(5));
	logs(R(4), V(6));
	uses(R(5), V(6));
	uses(R(6), V(6));
	logs(R(6), V(7));
	commit();
}

/* LQ_TEST_KEEP=1 keeps the store (path printed) to try the CLI on it. */
static void remove_store(void)
{
	char lock[160];

	if (getenv("LQ_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", path);
		return;
	}
	snprintf(lock, sizeof lock, "%s-lock", path);
	unlink(path);
	unlink(lock);
	rmdir(dir);
}

TestSuite(query, .init = make_store, .fini = remove_store);

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
	"aliases      best, latest\n"
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
	"\"logged_by\":[\"run:acme/mnist/prep1\",\"run:acme/mnist/prep2\"],"
	"\"relogged_by\":[],\"used_by\":[],\"used_by_count\":0}\n");
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

Test(query, logged_by_reports_both_runs)
{
	struct th_res r = q("logged-by", "mnist-processed:latest", NULL);
	TH_OK_OUT(r,
	"run  acme/mnist/prep1  preprocess  calm-river-2  finished\n"
	"run  acme/mnist/prep2  preprocess  calm-river-3  finished\n");
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
	"aliases=best,latest            via=logged  "
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
	       "aliases=best,latest\n"
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
	"aliases=best,latest    via=logged  from=run:acme/mnist/2x9k1\n"
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

static MDB_txn *rtxn(void)
{
	struct lin_err e;
	MDB_txn *t;
	cr_assert_eq(lin_store_open(&S, path, LIN_STORE_RDONLY, &e), 0);
	cr_assert_eq(lin_store_begin(&S, 1, &t, &e), 0);
	return t;
}

Test(query, walk_order_depth_and_dedup)
{
	struct lin_err e;
	MDB_txn *t = rtxn();
	struct lin_walk *w;
	struct lin_walk_step st;
	const struct { uint64_t node, from; unsigned edge, depth; } want[] = {
		{ V(1), 0, 0, 0 },
		{ R(2), V(1), LIN_EDGE_USED_BY, 1 },
		{ R(3), V(1), LIN_EDGE_USED_BY, 1 },
		{ V(2), R(2), LIN_EDGE_LOGGED, 2 },
		{ V(3), R(2), LIN_EDGE_LOGGED, 2 },
		{ V(4), R(2), LIN_EDGE_LOGGED, 2 },
	};
	size_t i = 0;
	int rc;

	cr_assert_eq(lin_walk_new(&w, t, &S, LIN_WALK_DOWN, 2, &e), 0);
	cr_assert_eq(lin_walk_start(w, V(1), &e), 0);
	cr_assert_eq(lin_walk_start(w, V(1), &e), 0);  /* harmless */
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
	cr_assert_eq(lin_walk_neighbours(t, &S, R(2), LIN_EDGE_UP_FIRST,
					 LIN_EDGE_UP_LAST, &nb, &e), 0);
	cr_assert_eq(nb.n, 1);
	cr_assert_eq(nb.v[0].node, V(1));
	cr_assert_eq(nb.v[0].kind, LIN_EDGE_USES);
	nb.n = 0;
	cr_assert_eq(lin_walk_neighbours(t, &S, R(2), LIN_EDGE_DOWN_FIRST,
					 LIN_EDGE_DOWN_LAST, &nb, &e), 0);
	cr_assert_eq(nb.n, 3);
	lin_nbrs_free(&nb);
	cr_assert_eq(lin_walk_new(&w, t, &S, 7, LIN_WALK_ALL, &e),
		     LIN_EINVAL);
	mdb_txn_abort(t);
	lin_store_close(&S);
}

Test(query, walk_handles_cycles)
{
	struct lin_err e;
	struct lin_walk *w;
	struct lin_walk_step st;
	int n = 0;

	/* A run that logs the version it used: a cycle. */
	begin();
	logs(R(5), V(6));
	commit();
	MDB_txn *t = rtxn();
	cr_assert_eq(lin_walk_new(&w, t, &S, LIN_WALK_BOTH, LIN_WALK_ALL,
				  &e), 0);
	cr_assert_eq(lin_walk_start(w, R(5), &e), 0);
	uint64_t seen[64];
	while (lin_walk_next(w, &st, &e) == 1) {
		for (int i = 0; i < n; i++)
			cr_assert_neq(seen[i], st.node, "reported twice");
		cr_assert_lt(n, 64);
		seen[n++] = st.node;
	}
	cr_assert_gt(n, 3);
	lin_walk_free(w);
	mdb_txn_abort(t);
	lin_store_close(&S);
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
	char p2[160];
	snprintf(p2, sizeof p2, "%s/junk.lmdb", dir);
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
	snprintf(p2, sizeof p2, "%s/junk.lmdb-lock", dir);
	unlink(p2);
}

Test(query, bad_node_data_is_65)
{
	static const unsigned char junk[] = { 0x82, 0xa4, 'k', 'i', 'n',
					      'd', 0xdd, 0xff, 0xff, 0xff };
	begin();
	put(LIN_DB_NODES, (unsigned char[8]){ 1, 0, 0, 0, 0, 0, 0, 4 }, 8,
	    junk, sizeof junk);
	commit();
	struct th_res r = q("run", "2x9k1", NULL);
	cr_assert_eq(r.rc, 65, "rc %d: %s", r.rc, r.err);
	cr_assert(strstr(r.err, "node 0100000000000004 in the store is "
			 "invalid: malformed msgpack"), "%s", r.err);
}

Test(query, bad_edge_is_65)
{
	unsigned char k[8], v[16] = { LIN_EDGE_LOGGED };
	begin();
	put(LIN_DB_EDGES, k, lin_key_id(k, R(7)), v, sizeof v);
	commit();
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
	"mnist-19pofeku,v1,\"best,latest\",mnist-19pofeku:v1,,"
	"2023-11-14T22:13:21Z,,logged,run:acme/mnist/2x9k1\n");
	cr_assert_str_eq(r.err, "lineage-query: no artifact collection "
			 "'nosuch'\n");
	r = q("impact", "--format", "xml", "x", NULL);
	cr_assert_eq(r.rc, 64);
}

Test(query, provenance_from_file)
{
	char file[160];
	snprintf(file, sizeof file, "%s/roots.txt", dir);
	FILE *f = fopen(file, "w");
	fputs("# roots\n\n  acme/mnist/mnist-processed:v2  \nprep1\n", f);
	fclose(f);
	struct th_res r = q("provenance", "--from", file, NULL);
	TH_OK_OUT(r,
	"artifact:acme/mnist/mnist-processed:v2  1  run       "
	"run:acme/mnist/prep1" "              logged  "
	"artifact:acme/mnist/mnist-processed:v2\n"
	"artifact:acme/mnist/mnist-processed:v2  1  run       "
	"run:acme/mnist/prep2" "              logged  "
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
	static const char *const none[] = { NULL };
	/* Six shards logged by one run: collapsed unless --explode. */
	begin();
	coll(C(9), "acme", "mnist", "shard");
	for (uint32_t i = 0; i < 6; i++) {
		version(V(20 + i), C(9), "acme", "mnist", "shard", "shard", i,
			none, 0);
		logs(R(7), V(20 + i));
	}
	commit();
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
	char in[160], out[160], cmd[512];
	static char svg[1 << 16];

	snprintf(in, sizeof in, "%s/g.dot", dir);
	snprintf(out, sizeof out, "%s/g.svg", dir);
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
	static const char *const none[] = { NULL };

	if (!on_path("dot"))
		cr_skip_test("Graphviz 'dot' is not on PATH");
	/* Labels that need escaping, and a collapsed cluster. */
	begin();
	run(R(9), "acme", "other", "q1", "say \"hi\" \\o/ {x}", "mi|sc",
	    NULL, NULL);
	coll(C(9), "acme", "other", "shard");
	for (uint32_t i = 0; i < 6; i++) {
		version(V(20 + i), C(9), "acme", "other", "shard", "shard", i,
			none, 0);
		logs(R(9), V(20 + i));
	}
	uses(R(9), V(7));
	commit();
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
	begin();
	edge(R(8), LIN_EDGE_USES, V(1), 999);  /* no USED_BY twin */
	commit();
	r = q("check", NULL);
	cr_assert_eq(r.rc, 65);
	cr_assert_str_eq(r.out, "problem: edge 0100000000000008 -used-> "
			 "0200000000000001 (fact 00000000000003e7) has no "
			 "reverse edge\n" NOTES "checked 15 nodes, 29 edges: "
			 "1 problem, 3 notes\n");
#undef NOTES
}

Test(query, check_finds_an_alias_on_two_versions)
{
	static const char *const claim[] = { "best", NULL };
	begin();
	/* v0 of mnist-19pofeku claims "best" too, which v1 holds */
	version(V(5), C(3), "acme", "mnist", "mnist-19pofeku", "model", 0,
		claim, 0);
	commit();
	struct th_res r = q("check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	cr_assert(strstr(r.out, "problem: alias 'best' names two versions at "
			 "once: nodes 0200000000000005 and "
			 "0200000000000006\n"), "%s", r.out);
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
