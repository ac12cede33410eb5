/* test_core.c - node_core, the compact node record walks print from
 * (format/core.c, schema 4): records encoded from attribute maps decode
 * to the same values, maps the core cannot hold exactly defer to
 * `nodes`, the indexer keeps node_core equal to nodes, `check` reports a
 * damaged, missing or orphan core record with its node id, walks read
 * the core and --json the node, and a schema 3 store is refused with
 * the rebuild message. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "format/view.h"
#include "format/core.h"
#include "format/cursor.h"
#include "format/keys.h"
#include "format/store.h"
#include "format/txn.h"
#include "tests/helpers.h"

TestSuite(core, .init = th_mkdir, .fini = th_rmdir, .timeout = 240);

#define RUN_ID LIN_ID_MAKE(LIN_ID_RUN, 7)
#define VER_ID LIN_ID_MAKE(LIN_ID_VERSION, 9)

static void kv(msgpack_packer *pk, const char *k, const char *v)
{
	msgpack_pack_str_with_body(pk, k, strlen(k));
	if (v)
		msgpack_pack_str_with_body(pk, v, strlen(v));
	else
		msgpack_pack_nil(pk);
}

static int same(struct lin_slice s, const char *want)
{
	if (!want)
		return s.p == NULL;
	return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

Test(core, a_run_round_trips)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct lin_core_enc e = { 0 };
	struct lin_core c;
	char notes[300];

	memset(notes, 'x', sizeof notes - 1);
	notes[sizeof notes - 1] = '\0';
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 9);
	kv(&pk, "kind", "run");
	kv(&pk, "entity", "acme");
	kv(&pk, "project", "");
	kv(&pk, "run_id", "r1");
	kv(&pk, "name", notes);         /* a long string: u32 length */
	kv(&pk, "job_type", NULL);      /* nil: absent, as node.c reads */
	kv(&pk, "state", "preempted");  /* no code: kept as a string */
	kv(&pk, "notes", "not in the core");
	msgpack_pack_str_with_body(&pk, "started_at", 10);
	msgpack_pack_int64(&pk, -5);
	cr_assert_eq(lin_core_encode(&e, RUN_ID, sb.data, sb.size), 0);
	cr_assert_eq(lin_core_decode(e.buf, e.n, &c), 0);
	cr_assert_eq(c.kind, LIN_ID_RUN);
	cr_assert_eq(c.flags, LIN_CORE_TIME);
	cr_assert_eq(c.time, -5);
	cr_assert(same(c.entity, "acme") && same(c.project, "") &&
		  same(c.run_id, "r1") && same(c.name, notes) &&
		  same(c.job_type, NULL) && same(c.state, "preempted") &&
		  same(c.git_commit, NULL));
	/* every cut of the record is refused */
	for (size_t n = 0; n < e.n; n++)
		cr_assert_eq(lin_core_decode(e.buf, n, &c), LIN_ECORRUPT,
			     "%zu of %zu bytes", n, e.n);
	lin_core_enc_release(&e);
	msgpack_sbuffer_destroy(&sb);
}

/* A version with `aliases` packed by `pack_aliases`; returns the
 * encoder's flags, and the decoded record in *c. */
static unsigned version(struct lin_core_enc *e, struct lin_core *c,
			void (*pack_aliases)(msgpack_packer *))
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, pack_aliases ? 7 : 6);
	kv(&pk, "kind", "artifact");
	kv(&pk, "entity", "acme");
	kv(&pk, "project", "mnist");
	kv(&pk, "name", "model");
	kv(&pk, "type", "model");
	msgpack_pack_str_with_body(&pk, "version", 7);
	msgpack_pack_uint32(&pk, 70000);
	if (pack_aliases) {
		msgpack_pack_str_with_body(&pk, "aliases", 7);
		pack_aliases(&pk);
	}
	cr_assert_eq(lin_core_encode(e, VER_ID, sb.data, sb.size), 0);
	msgpack_sbuffer_destroy(&sb);
	cr_assert_eq(lin_core_decode(e->buf, e->n, c), 0);
	return c->flags;
}

static void two_aliases(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_str_with_body(pk, "latest", 6);
	msgpack_pack_str_with_body(pk, "", 0);
}

static void no_aliases(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void number_alias(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, 3);
}

Test(core, a_version_round_trips_and_odd_aliases_defer_to_nodes)
{
	struct lin_core_enc e = { 0 };
	struct lin_core c;
	struct lin_slice s;
	const unsigned char *at;

	cr_assert_eq(version(&e, &c, two_aliases), LIN_CORE_ALIASES);
	cr_assert_eq(c.kind, LIN_ID_VERSION);
	cr_assert_eq(c.version, 70000);
	cr_assert(same(c.name, "model") && same(c.type, "model") &&
		  same(c.project, "mnist"));
	cr_assert_eq(c.naliases, 2);
	at = c.aliases;
	cr_assert(lin_core_alias_next(&c, &at, &s) && same(s, "latest"));
	cr_assert(lin_core_alias_next(&c, &at, &s) && same(s, ""));
	cr_assert(!lin_core_alias_next(&c, &at, &s));
	/* an empty list and no list are told apart */
	cr_assert_eq(version(&e, &c, no_aliases), LIN_CORE_ALIASES);
	cr_assert_eq(c.naliases, 0);
	cr_assert_eq(version(&e, &c, NULL), 0);
	/* a number among the aliases: JSON would print it, tables not */
	cr_assert_eq(version(&e, &c, number_alias), LIN_CORE_FULL);
	cr_assert_eq(e.n, LIN_CORE_HEAD);
	/* what is not a node map at all defers too */
	cr_assert_eq(lin_core_encode(&e, VER_ID, "\x91\x01", 2), 0);
	cr_assert_eq(lin_core_decode(e.buf, e.n, &c), 0);
	cr_assert_eq(c.flags, LIN_CORE_FULL);
	lin_core_enc_release(&e);
}

/* ---- on a store ------------------------------------------------------ */

static void sample_store(char st[TH_PATH_MAX])
{
	th_path(st, "s.lmdb");
	int code = th_index("-q", "--store", st, "fixtures/sample", NULL);
	cr_assert_eq(code, 0, "lineage-index: exit %d", code);
}

/* The id of NODE, from `lineage --format tsv`'s root row. */
static uint64_t node_id(const char *st, const char *node)
{
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;
	const char *slash = strrchr(node, '/');
	char key[256];
	int n;

	/* "artifact:e/p/name:vN": coll_ver of colls["e/p/name"] . N */
	const char *colon = strrchr(node, ':');
	n = snprintf(key, sizeof key, "%.*s", (int)(colon - node - 9),
		     node + 9);
	cr_assert(slash && colon && n > 0);
	cr_assert_eq(lin_store_open(&s, st, LIN_STORE_RDONLY, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &e), 0, "%s", e.msg);
	const char *pslash = strchr(key, '/'), *nslash = strrchr(key, '/');
	cr_assert(pslash && nslash && pslash < nslash, "%s", key);
	uint64_t coll, vid;
	cr_assert_eq(lin_view_get(txn, &s, LIN_VIEW_COLLS, key,
				  (size_t)(pslash - key), pslash + 1,
				  (size_t)(nslash - pslash - 1), nslash + 1,
				  strlen(nslash + 1), &coll, &e), 0, "%s: %s",
		     key, e.msg);
	cr_assert_eq(lin_store_version(txn, &s, coll,
				       (uint32_t)atoi(colon + 2), &vid, &e),
		     0, "%s", e.msg);
	mdb_txn_abort(txn);
	lin_store_close(&s);
	return vid;
}

/* Put (val) or delete (val NULL) the node_core record of `id`. */
static void put_core(const char *st, uint64_t id, const void *val,
		     size_t n)
{
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;
	unsigned char k[8];

	cr_assert_eq(lin_store_open(&s, st, 0, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_begin(&s, 0, &txn, &e), 0, "%s", e.msg);
	lin_key_id(k, id);
	if (val)
		cr_assert_eq(lin_store_put(txn, &s, LIN_DB_NODE_CORE, k, 8,
					   val, n, &e), 0, "%s", e.msg);
	else
		cr_assert_eq(lin_store_del(txn, &s, LIN_DB_NODE_CORE, k, 8,
					   NULL, 0, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_commit(txn, &e), 0, "%s", e.msg);
	lin_store_close(&s);
}

/* The node_core value of `id` (malloc'd, *n bytes). */
static unsigned char *get_core(const char *st, uint64_t id, size_t *n)
{
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;
	MDB_val v;
	unsigned char k[8];

	cr_assert_eq(lin_store_open(&s, st, LIN_STORE_RDONLY, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_get(txn, &s, LIN_DB_NODE_CORE, k,
				   lin_key_id(k, id), &v, &e), 0, "%s", e.msg);
	unsigned char *copy = malloc(v.mv_size);
	cr_assert(copy);
	memcpy(copy, v.mv_data, v.mv_size);
	*n = v.mv_size;
	mdb_txn_abort(txn);
	lin_store_close(&s);
	return copy;
}

#define RAW "artifact:acme/mnist/MNIST_raw:v0"

/* A core record whose type reads "raw_datasex": a byte changed where
 * the record still decodes. */
static unsigned char *retyped(const char *st, uint64_t id, size_t *n)
{
	unsigned char *c = get_core(st, id, n);
	unsigned char *t = memmem(c, *n, "raw_dataset", 11);
	cr_assert(t, "no type in the core record");
	memcpy(t, "raw_datasex", 11);
	return c;
}

Test(core, check_reports_a_damaged_missing_or_orphan_core_record)
{
	char st[TH_PATH_MAX], want[200];
	size_t n;

	sample_store(st);
	struct th_res r = th_query(st, "check", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.out);
	uint64_t id = node_id(st, RAW);
	unsigned char *good = get_core(st, id, &n), *bad = retyped(st, id, &n);

	put_core(st, id, bad, n);
	r = th_query(st, "check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	snprintf(want, sizeof want, "problem: node %016llx: core record "
		 "(node_core) differs from its attributes (nodes)\n",
		 (unsigned long long)id);
	cr_assert(strstr(r.out, want), "%s", r.out);
	cr_assert(strstr(r.out, ": 1 problem, "), "%s", r.out);

	put_core(st, id, NULL, 0);
	r = th_query(st, "check", NULL);
	snprintf(want, sizeof want, "problem: node %016llx: no core record "
		 "(node_core)\n", (unsigned long long)id);
	cr_assert(strstr(r.out, want), "%s", r.out);

	uint64_t orphan = id + 1000;
	put_core(st, id, good, n);
	put_core(st, orphan, good, n);
	r = th_query(st, "check", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	snprintf(want, sizeof want, "problem: node %016llx: a core record "
		 "without a node\n", (unsigned long long)orphan);
	cr_assert(strstr(r.out, want), "%s", r.out);

	/* --deep reads the record itself: one that does not decode */
	put_core(st, orphan, NULL, 0);
	put_core(st, id, "\x12\x00\x00\x00\x00\x00\x00\xff\xff", 9);
	r = th_query(st, "check", "--deep", NULL);
	cr_assert_eq(r.rc, 65, "%s", r.out);
	cr_assert(strstr(r.out, "differs from its attributes"), "%s", r.out);
	snprintf(want, sizeof want, "(key %016llx): core record of node "
		 "%016llx does not decode\n", (unsigned long long)id,
		 (unsigned long long)id);
	cr_assert(strstr(r.out, want), "%s", r.out);
	/* and a walk that meets it stops: the store is damaged */
	r = th_query(st, "lineage", "--up", RAW, NULL);
	cr_assert_eq(r.rc, 65, "%s%s", r.out, r.err);
	cr_assert(strstr(r.err, "core record in the store is invalid"), "%s",
		  r.err);
	free(good);
	free(bad);
}

/* impact's tables read the core, its JSON the node: a core record whose
 * type differs shows where each one reads. */
Test(core, walks_print_from_the_core_and_json_from_the_node)
{
	char st[TH_PATH_MAX];
	size_t n;

	sample_store(st);
	uint64_t id = node_id(st, RAW);
	unsigned char *bad = retyped(st, id, &n);
	put_core(st, id, bad, n);
	free(bad);
	struct th_res r = th_query(st, "lineage", "--up", RAW, NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "raw_datasex"), "%s", r.out);
	r = th_query(st, "provenance", "--format", "tsv",
		     "artifact:acme/mnist/mnist-19pofeku:v0", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\traw_datasex\t"), "%s", r.out);
	r = th_query(st, "provenance", "--format", "json",
		     "artifact:acme/mnist/mnist-19pofeku:v0", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(!strstr(r.out, "raw_datasex"), "%s", r.out);
	cr_assert(strstr(r.out, "\"raw_dataset\""), "%s", r.out);
	/* artifact shows every attribute: from the node */
	r = th_query(st, "artifact", RAW, NULL);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(!strstr(r.out, "raw_datasex"), "%s", r.out);
}

/* A schema 3 store (no node_core) is refused by both programs with the
 * command that rebuilds it, even read-only; --rebuild writes the cores. */
Test(core, a_schema_3_store_is_refused_then_rebuilt)
{
	char st[TH_PATH_MAX], want[3 * TH_PATH_MAX];
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;
	unsigned char three[4] = { 0, 0, 0, 3 };

	sample_store(st);
	cr_assert_eq(lin_store_open(&s, st, 0, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_begin(&s, 0, &txn, &e), 0, "%s", e.msg);
	cr_assert_eq(mdb_drop(txn, s.dbi[LIN_DB_NODE_CORE], 1), 0);
	cr_assert_eq(lin_store_put(txn, &s, LIN_DB_META, LIN_META_SCHEMA, 6,
				   three, 4, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_commit(txn, &e), 0, "%s", e.msg);
	lin_store_close(&s);

	snprintf(want, sizeof want, "store schema 3 is older than this "
		 "program's %d; rebuild it from its sources with "
		 "'lineage-index --store %s --rebuild'", LIN_SCHEMA_VERSION,
		 st);
	struct th_res r = th_query(st, "impact", RAW, NULL);
	cr_assert_eq(r.rc, 65, "%s", r.err);
	cr_assert(strstr(r.err, want), "%s", r.err);
	int code = th_index("-q", "--store", st, "fixtures/sample", NULL);
	cr_assert_eq(code, 65, "exit %d", code);
	char *err = th_read_file(th_at("stderr.log"), NULL);
	cr_assert(strstr(err, want), "%s", err);
	free(err);
	code = th_index("-q", "--store", st, "--rebuild", NULL);
	cr_assert_eq(code, 0, "rebuild: exit %d", code);
	r = th_query(st, "stats", NULL);
	cr_assert(strstr(r.out, "schema       7\n"), "%s", r.out);
	r = th_query(st, "check", "--deep", NULL);
	cr_assert_eq(r.rc, 0, "%s", r.out);
	cr_assert(strstr(r.out, " 0 problems"), "%s", r.out);
}
