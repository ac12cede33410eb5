/* test_view.c - runs and collections by "entity/project/name" read from
 * `names` (format/view.c, schema 7, which dropped the `runs` and `colls`
 * databases): a view scan gives every run of the store, as its core
 * record names it, in byte order, with its id; prefixes and start keys
 * narrow it as a database scan would; point look-ups find every run and
 * every version's collection; the projects that hold runs are those of
 * the runs. Expected values come from node_core, not from `names`. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "format/core.h"
#include "format/cursor.h"
#include "format/store.h"
#include "format/view.h"
#include "tests/helpers.h"

TestSuite(view, .init = th_mkdir, .fini = th_rmdir, .timeout = 240);

struct want {
	char *key;      /* entity/project/run_id */
	size_t scope;   /* length of entity/project */
	uint64_t id;
};

static int want_cmp(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
	size_t xn = strlen(x->key), yn = strlen(y->key);
	int c = memcmp(x->key, y->key, xn < yn ? xn : yn);

	return c ? c : (xn > yn) - (xn < yn);
}

/* Every run node of the store as its core record names it, sorted. */
static struct want *runs_from_cores(MDB_txn *txn, struct lin_store *s,
				    size_t *n)
{
	struct lin_scan sc;
	struct lin_err e;
	struct want *w = NULL;
	size_t cap = 0;

	*n = 0;
	cr_assert_eq(lin_scan_open(&sc, txn, s, LIN_DB_NODE_CORE, NULL, 0,
				   NULL, 0, &e), 0);
	while (lin_scan_next(&sc) == 1) {
		struct lin_core c;
		uint64_t id = lin_be64_get(sc.k.mv_data);
		if (LIN_ID_KIND(id) != LIN_ID_RUN)
			continue;
		cr_assert_eq(lin_core_decode(sc.v.mv_data, sc.v.mv_size, &c),
			     0);
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			w = realloc(w, cap * sizeof *w);
			cr_assert(w);
		}
		cr_assert(asprintf(&w[*n].key, "%.*s/%.*s/%.*s",
				   (int)c.entity.n, c.entity.p,
				   (int)c.project.n, c.project.p,
				   (int)c.run_id.n, c.run_id.p) > 0);
		w[*n].scope = c.entity.n + 1 + c.project.n;
		w[*n].id = id;
		(*n)++;
	}
	lin_scan_close(&sc);
	qsort(w, *n, sizeof *w, want_cmp);
	return w;
}

/* The view from `pre`/`start` gives exactly want[from..to). */
static void expect_rows(MDB_txn *txn, struct lin_store *s, const char *pre,
			const char *start, const struct want *w, size_t from,
			size_t to)
{
	struct lin_scan sc;
	struct lin_err e;
	size_t i = from;

	cr_assert_eq(lin_view_open(&sc, txn, s, LIN_VIEW_RUNS, pre,
				   pre ? strlen(pre) : 0, start,
				   start ? strlen(start) : 0, &e), 0, "%s",
		     e.msg);
	while (lin_scan_next(&sc) == 1) {
		cr_assert_lt(i, to, "more rows than runs (pre %s)", pre);
		cr_assert(sc.k.mv_size == strlen(w[i].key) &&
			  memcmp(sc.k.mv_data, w[i].key, sc.k.mv_size) == 0,
			  "row %zu is '%.*s', not '%s'", i,
			  (int)sc.k.mv_size, (char *)sc.k.mv_data, w[i].key);
		cr_assert_eq(sc.v.mv_size, 8);
		cr_assert_eq(lin_be64_get(sc.v.mv_data), w[i].id);
		i++;
	}
	lin_scan_close(&sc);
	cr_assert_eq(i, to, "%zu rows, not %zu", i - from, to - from);
}

Test(view, runs_and_collections_read_from_names)
{
	char arch[TH_PATH_MAX], st[TH_PATH_MAX];
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;
	int code;
	size_t n;

	th_path(arch, "arch");
	th_path(st, "s.lmdb");
	free(th_sh(&code, "./lineage-gen synth --runs 80 --runs-per-file 4 "
		   "--seed 7 --shape cross-project,resumed,utf8 '%s' "
		   ">/dev/null", arch));
	cr_assert_eq(code, 0);
	cr_assert_eq(th_index("-q", "--store", st, arch, NULL), 0);
	cr_assert_eq(lin_store_open(&s, st, LIN_STORE_RDONLY, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &e), 0, "%s", e.msg);

	struct want *w = runs_from_cores(txn, &s, &n);
	cr_assert_gt(n, 40);
	expect_rows(txn, &s, NULL, NULL, w, 0, n);

	/* one project's runs: a prefix; then from a run's key onwards */
	char pre[512];
	snprintf(pre, sizeof pre, "%.*s/", (int)w[n / 2].scope, w[n / 2].key);
	size_t lo = 0, hi;
	while (strncmp(w[lo].key, pre, strlen(pre)) != 0)
		lo++;
	for (hi = lo; hi < n && strncmp(w[hi].key, pre, strlen(pre)) == 0;
	     hi++)
		;
	expect_rows(txn, &s, pre, NULL, w, lo, hi);
	expect_rows(txn, &s, NULL, w[n / 3].key, w, n / 3, n);

	/* point look-ups, and the projects that hold runs */
	struct lin_scopes scopes;
	size_t projects = 0;
	cr_assert_eq(lin_view_scopes(txn, &s, LIN_VIEW_RUNS, &scopes, &e), 0);
	for (size_t i = 0; i < n; i++) {
		const char *k = w[i].key, *p = strchr(k, '/');
		const char *r = k + w[i].scope + 1;
		uint64_t id = 0;
		cr_assert_eq(lin_view_get(txn, &s, LIN_VIEW_RUNS, k,
					  (size_t)(p - k), p + 1,
					  w[i].scope - (size_t)(p - k) - 1, r,
					  strlen(r), &id, &e), 0, "%s", k);
		cr_assert_eq(id, w[i].id, "%s", k);
		cr_assert(lin_scopes_has(&scopes, k, w[i].scope), "%s", k);
		projects += i == 0 || w[i - 1].scope != w[i].scope ||
			    strncmp(w[i - 1].key, k, w[i].scope) != 0;
	}
	cr_assert_geq(scopes.n, 2, "cross-project: several projects");
	cr_assert_leq(scopes.n, projects);
	cr_assert(!lin_scopes_has(&scopes, "no/such", 7));
	uint64_t none;
	cr_assert_eq(lin_view_get(txn, &s, LIN_VIEW_RUNS, "no", 2, "such", 4,
				  "run", 3, &none, &e), LIN_ENOTFOUND);
	lin_scopes_free(&scopes);

	/* every version is version N of the collection its core names */
	struct lin_scan sc;
	size_t versions = 0;
	cr_assert_eq(lin_scan_open(&sc, txn, &s, LIN_DB_NODE_CORE, NULL, 0,
				   NULL, 0, &e), 0);
	while (lin_scan_next(&sc) == 1) {
		struct lin_core c;
		uint64_t id = lin_be64_get(sc.k.mv_data), coll, vid;
		if (LIN_ID_KIND(id) != LIN_ID_VERSION)
			continue;
		cr_assert_eq(lin_core_decode(sc.v.mv_data, sc.v.mv_size, &c),
			     0);
		cr_assert_eq(lin_view_get(txn, &s, LIN_VIEW_COLLS, c.entity.p,
					  c.entity.n, c.project.p,
					  c.project.n, c.name.p, c.name.n,
					  &coll, &e), 0, "%.*s", (int)c.name.n,
			     c.name.p);
		cr_assert_eq(LIN_ID_KIND(coll), LIN_ID_COLL);
		cr_assert_eq(lin_store_version(txn, &s, coll, c.version, &vid,
					       &e), 0);
		cr_assert_eq(vid, id);
		versions++;
	}
	lin_scan_close(&sc);
	cr_assert_gt(versions, 0);
	for (size_t i = 0; i < n; i++)
		free(w[i].key);
	free(w);
	mdb_txn_abort(txn);
	lin_store_close(&s);
}

/* A names entry the indexer did not write is listed, not dropped:
 * `ls runs` and `check` report it as damage (as they did for the old
 * `runs` database) instead of answering as if it were not there. */
Test(view, damaged_names_entries_are_listed_and_reported)
{
	char st[TH_PATH_MAX];
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;

	th_path(st, "s.lmdb");
	th_rl_open("acme", "p", "logs/a.runlog");
	th_rl_run("r1", "one", "train", 1000000000);
	th_rl_close();
	cr_assert_eq(th_index("-q", "--store", st, th_at("logs"), NULL), 0);
	struct th_res r = th_query(st, "check", NULL);
	cr_assert_eq(r.rc, 0, "a sound store first: %s", r.err);

	/* a run name whose value is 3 bytes; one with no scope */
	cr_assert_eq(lin_store_open(&s, st, 0, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_store_begin(&s, 0, &txn, &e), 0, "%s", e.msg);
	MDB_val k = { 10, "Rghost\0a/p" }, v = { 3, "abc" };
	cr_assert_eq(mdb_put(txn, s.dbi[LIN_DB_NAMES], &k, &v, 0), 0);
	MDB_val k2 = { 5, "Rzzzz" }, v2 = { 8, "\0\0\0\0\0\0\0\1" };
	cr_assert_eq(mdb_put(txn, s.dbi[LIN_DB_NAMES], &k2, &v2, 0), 0);
	/* a collection name holding a '/': "a/p/x/y", which the indexer
	 * never writes */
	MDB_val k3 = { 8, "Cx/y\0a/p" };
	cr_assert_eq(mdb_put(txn, s.dbi[LIN_DB_NAMES], &k3, &v2, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);

	struct lin_scan sc;
	size_t n = 0, bad = 0, noscope = 0;
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &e), 0, "%s", e.msg);
	cr_assert_eq(lin_view_open(&sc, txn, &s, LIN_VIEW_RUNS, NULL, 0, NULL,
				   0, &e), 0);
	while (lin_scan_next(&sc) == 1) {
		n++;
		bad += sc.v.mv_size == 3 && sc.k.mv_size == 9 &&
		       !memcmp(sc.k.mv_data, "a/p/ghost", 9);
		noscope += sc.k.mv_size == 4 &&
			   !memcmp(sc.k.mv_data, "zzzz", 4);
	}
	lin_scan_close(&sc);
	mdb_txn_abort(txn);
	lin_store_close(&s);
	cr_assert_eq(n, 3);
	cr_assert_eq(bad, 1);
	cr_assert_eq(noscope, 1);

	r = th_query(st, "ls", "runs", NULL);
	cr_assert_eq(r.rc, 65, "rc %d: %s", r.rc, r.err);
	cr_assert(strstr(r.err, "bad id value of a run name"), "%s", r.err);
	r = th_query(st, "check", NULL);
	cr_assert_neq(r.rc, 0);
	cr_assert(strstr(r.out, "value is 3 bytes, not 8") ||
		  strstr(r.err, "value is 3 bytes, not 8"), "%s%s", r.out,
		  r.err);
	cr_assert(strstr(r.out, "run name 'zzzz' has no entity/project") ||
		  strstr(r.err, "run name 'zzzz' has no entity/project"),
		  "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "collection name 'a/p/x/y' has a part "
			 "holding a '/'") ||
		  strstr(r.err, "collection name 'a/p/x/y' has a part "
			 "holding a '/'"), "%s%s", r.out, r.err);
}

/* A query that meets a damaged page jumps past lin_scan_close:
 * lin_view_abandon_all frees the views it left open (cli.c calls it on
 * such a jump), and a view closed as usual is no longer counted. */
Test(view, views_left_open_by_a_jump_are_freed)
{
	char st[TH_PATH_MAX];
	struct lin_store s;
	struct lin_err e;
	struct lin_scan a, b, c;
	MDB_txn *txn;

	th_path(st, "s.lmdb");
	th_rl_open("acme", "p", "logs/a.runlog");
	th_rl_run("r1", "one", "train", 1000000000);
	th_rl_log("data", "dataset", "d1", 1000000001, NULL);
	th_rl_close();
	cr_assert_eq(th_index("-q", "--store", st, th_at("logs"), NULL), 0);
	cr_assert_eq(lin_store_open(&s, st, LIN_STORE_RDONLY, &e), 0);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &e), 0);
	size_t base = lin_view_open_count();
	cr_assert_eq(lin_view_open(&a, txn, &s, LIN_VIEW_RUNS, NULL, 0, NULL,
				   0, &e), 0);
	cr_assert_eq(lin_view_open(&b, txn, &s, LIN_VIEW_COLLS, NULL, 0, NULL,
				   0, &e), 0);
	cr_assert_eq(lin_view_open(&c, txn, &s, LIN_VIEW_RUNS, NULL, 0, NULL,
				   0, &e), 0);
	cr_assert_eq(lin_view_open_count(), base + 3);
	lin_scan_close(&b);  /* the middle one, closed as usual */
	cr_assert_eq(lin_view_open_count(), base + 2);
	lin_view_abandon_all();  /* a and c, as after a jump */
	cr_assert_eq(lin_view_open_count(), 0);
	mdb_txn_abort(txn);
	lin_store_close(&s);
}
