/* test_ingest.c - the indexer: version, alias and pending-use rules,
 * order independence, and incremental re-indexing. */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <msgpack.h>

#include "format/view.h"
#include "format/attrs.h"
#include "format/runlog.h"
#include "format/runlog_writer.h"
#include "format/store.h"
#include "format/facts.h"
#include "indexer/ingest.h"
#include "query/query.h"
#include "helpers.h"

TestSuite(ingest, .init = th_mkdir, .fini = th_rmdir);

/* ---- writing runlogs --------------------------------------------------- */

/* Through the shared builder (helpers.h); times in seconds. */
#define S(t) ((int64_t)(t) * 1000000000)
#define NS(t) ((t) == LIN_TIME_NONE ? (t) : S(t))

#define rl_open(path, gz) th_rl_file(path, gz, "acme", "mnist")
#define rl_close() th_rl_close()
#define put(r) th_rl_put(r)
#define rl_run(id, job, t) th_rl_run(id, id, job, NS(t))
#define rl_log(type, name, digest, t, alias) \
	th_rl_log(name, type, digest, NS(t), alias)
#define rl_use(ref, t, digest) th_rl_use(ref, NS(t), digest)
#define rl_alias(ref, add, rm, t) th_rl_alias(ref, add, rm, S(t))
#define rl_finish(state, code) th_rl_finish(state, code, LIN_TIME_NONE)

/* ---- indexing and reading back ---------------------------------------- */

static struct lin_index_stats st;
static char reports[8192];

static void on_report(void *ctx, enum lin_file_status s, const char *path,
		      const struct lin_err *e, uint64_t done)
{
	char buf[1200];
	(void)ctx;
	(void)done;
	if (s == LIN_FILE_INDEXED || s == LIN_FILE_UNCHANGED)
		return;
	size_t n = strlen(reports);
	snprintf(reports + n, sizeof reports - n, "%d %s\n", (int)s,
		 e ? lin_err_format(e, buf, sizeof buf) : path);
}

static void index_paths(const char *store, int prune, int n, ...)
{
	const char *paths[8];
	struct lin_index_opts o = { 0 };
	struct lin_err err;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		paths[i] = va_arg(ap, const char *);
	va_end(ap);
	o.prune = prune;
	o.report = on_report;
	reports[0] = 0;
	int rc = lin_index_paths(store, paths, (size_t)n, &o, &st, &err);
	cr_assert_eq(rc, 0, "index failed: %s", err.msg);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static msgpack_zone zone;

static msgpack_object node_attrs(MDB_txn *txn, struct lin_store *s,
				 uint64_t id)
{
	unsigned char k[8];
	MDB_val v;
	msgpack_object o;
	lin_be64_put(k, id);
	cr_assert_eq(lin_store_get(txn, s, LIN_DB_NODES, k, 8, &v, NULL), 0);
	cr_assert_eq(msgpack_unpack(v.mv_data, v.mv_size, NULL, &zone, &o),
		     MSGPACK_UNPACK_SUCCESS);
	lin_attrs_decode(&o);   /* attribute names, not their codes */
	return o;
}

static char *node_name(MDB_txn *txn, struct lin_store *s, uint64_t id)
{
	msgpack_object o = node_attrs(txn, s, id);
	struct lin_slice e, p, n;
	int64_t v;
	char *out;
	lin_map_str(&o, "entity", &e);
	lin_map_str(&o, "project", &p);
	if (LIN_ID_KIND(id) == LIN_ID_RUN) {
		lin_map_str(&o, "run_id", &n);
		cr_assert_gt(asprintf(&out, "%.*s/%.*s/%.*s", (int)e.n, e.p,
				      (int)p.n, p.p, (int)n.n, n.p), 0);
	} else {
		lin_map_str(&o, "name", &n);
		lin_map_i64(&o, "version", &v);
		cr_assert_gt(asprintf(&out, "%.*s/%.*s/%.*s:v%lld", (int)e.n,
				      e.p, (int)p.n, p.p, (int)n.n, n.p,
				      (long long)v), 0);
	}
	return out;
}

/* The lineage as sorted text lines, independent of internal ids. */
static char *canon(const char *store)
{
	struct lin_store s;
	struct lin_err err;
	struct th_lines l = { 0 };
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;

	cr_assert_eq(lin_store_open(&s, store, LIN_STORE_RDONLY, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &err), 0);
	msgpack_zone_init(&zone, 4096);
	/* versions with their aliases */
	cr_assert_eq(mdb_cursor_open(txn, s.dbi[LIN_DB_COLL_DIG], &c), 0);
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
		uint64_t vid = lin_be64_get(v.mv_data);
		msgpack_object o = node_attrs(txn, &s, vid);
		const msgpack_object *al = lin_map_get(&o, "aliases");
		char *nm = node_name(txn, &s, vid);
		char aliases[256] = "";
		for (uint32_t i = 0; al && i < al->via.array.size; i++) {
			size_t n = strlen(aliases);
			snprintf(aliases + n, sizeof aliases - n, "%s%.*s",
				 i ? "," : "", (int)al->via.array.ptr[i].via.str.size,
				 al->via.array.ptr[i].via.str.ptr);
		}
		th_lines_add(&l, "version %s digest=%.*s aliases=%s", nm,
			 (int)(k.mv_size - 8), (char *)k.mv_data + 8, aliases);
		free(nm);
	}
	mdb_cursor_close(c);
	/* edges, once per fact, by names */
	cr_assert_eq(mdb_cursor_open(txn, s.dbi[LIN_DB_EDGES], &c), 0);
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
		struct lin_edge e;
		lin_edge_decode(v.mv_data, &e);
		uint64_t from = lin_be64_get(k.mv_data);
		char *a = node_name(txn, &s, from), *b = node_name(txn, &s,
								   e.other);
		th_lines_add(&l, "edge %02x %s %s", e.kind, a, b);
		free(a);
		free(b);
	}
	mdb_cursor_close(c);
	/* runs */
	/* runs by name (view.h) */
	struct lin_scan rs;
	struct lin_err re;
	cr_assert_eq(lin_view_open(&rs, txn, &s, LIN_VIEW_RUNS, NULL, 0, NULL,
				   0, &re), 0);
	while (lin_scan_next(&rs) == 1) {
		k = rs.k;
		v = rs.v;
		msgpack_object o = node_attrs(txn, &s,
					      lin_be64_get(v.mv_data));
		struct lin_slice state = { "-", 1 };
		int64_t started = -1;
		lin_map_str(&o, "state", &state);
		lin_map_i64(&o, "started_at", &started);
		th_lines_add(&l, "run %.*s state=%.*s started=%lld",
			 (int)k.mv_size, (char *)k.mv_data, (int)state.n,
			 state.p, (long long)started);
	}
	lin_scan_close(&rs);
	MDB_stat ms;
	mdb_stat(txn, s.dbi[LIN_DB_PENDING], &ms);
	th_lines_add(&l, "pending %zu", ms.ms_entries);
	mdb_txn_abort(txn);
	lin_store_close(&s);
	msgpack_zone_destroy(&zone);

	qsort(l.v, l.n, sizeof *l.v, cmp_str);
	size_t total = 1;
	for (size_t i = 0; i < l.n; i++)
		total += strlen(l.v[i]) + 1;
	char *out = malloc(total);
	out[0] = 0;
	char *p = out;
	for (size_t i = 0; i < l.n; i++) {
		p += sprintf(p, "%s\n", l.v[i]);
		free(l.v[i]);
	}
	free(l.v);
	return out;
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

#define assert_line(text, line) \
	cr_assert(has_line(text, line), "missing line '%s' in:\n%s", line, text)
#define refute_line(text, line) \
	cr_assert(!has_line(text, line), "unexpected line '%s' in:\n%s", \
		  line, text)

static char *dump(const char *store)
{
	struct lin_store s;
	struct lin_err err;
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	cr_assert_eq(lin_store_open(&s, store, LIN_STORE_RDONLY, &err), 0);
	cr_assert_eq(lin_store_dump(&s, m, &err), 0);
	lin_store_close(&s);
	fclose(m);
	return buf;
}

/* ---- the sample used by several tests ---------------------------------- */

/* up (t100) logs ds d0 [prod]; train-a (t200) uses ds:prod and ds:latest,
 * logs model m1 [best]; up2 (t250) logs ds d1 [prod], fails. */
static void write_a(const char *path)
{
	rl_open(path, 0);
	rl_run("up", "upload", 100);
	rl_log("dataset", "ds", "d0", 101, "prod");
	rl_finish("finished", 0);
	rl_run("train-a", "train", 200);
	rl_use("ds:prod", LIN_TIME_NONE, NULL);
	rl_use("ds:latest", LIN_TIME_NONE, NULL);
	rl_log("model", "m", "m1", 210, "best");
	rl_finish("finished", 0);
	rl_run("up2", "upload", 250);
	rl_log("dataset", "ds", "d1", 251, "prod");
	rl_finish("failed", 1);
	rl_close();
}

/* train-b (t300) uses ds:prod, logs m2 [best]; also uses ds:v5 (never). */
static void write_b(const char *path, int gz)
{
	rl_open(path, gz);
	rl_run("train-b", "train", 300);
	rl_use("ds:prod", LIN_TIME_NONE, NULL);
	rl_use("ds:v5", LIN_TIME_NONE, NULL);
	rl_log("model", "m", "m2", 310, "best");
	rl_finish("finished", 0);
	rl_close();
}

#define DS "acme/mnist/ds"
#define M "acme/mnist/m"

Test(ingest, versions_aliases_and_time_resolution)
{
	const char *store = th_at("s.lmdb");
	write_a(th_at("arch/a.runlog"));
	write_b(th_at("arch/sub/b.runlog.gz"), 1);
	index_paths(store, 0, 1, th_at("arch"));
	cr_assert_eq(st.indexed, 2);
	cr_assert_eq(st.rejected, 0);
	cr_assert_eq(st.runs, 4);
	cr_assert_eq(st.versions, 4);
	cr_assert_eq(st.pending, 1);
	char *c = canon(store);
	assert_line(c, "version " DS ":v0 digest=d0 aliases=");
	assert_line(c, "version " DS ":v1 digest=d1 aliases=latest,prod");
	assert_line(c, "version " M ":v0 digest=m1 aliases=");
	assert_line(c, "version " M ":v1 digest=m2 aliases=latest,best");
	/* train-a at t200: prod and latest both named v0 then */
	assert_line(c, "edge 11 " DS ":v0 acme/mnist/train-a");
	refute_line(c, "edge 11 " DS ":v1 acme/mnist/train-a");
	/* train-b at t300: prod had moved to v1 */
	assert_line(c, "edge 11 " DS ":v1 acme/mnist/train-b");
	assert_line(c, "edge 21 acme/mnist/train-b " DS ":v1");
	assert_line(c, "edge 10 acme/mnist/up2 " DS ":v1");
	assert_line(c, "edge 20 " DS ":v1 acme/mnist/up2");
	assert_line(c, "run acme/mnist/up2 state=failed started=250000000000");
	assert_line(c, "pending 1");
	free(c);
}

Test(ingest, order_of_files_and_passes_does_not_matter)
{
	write_a(th_at("arch/a.runlog"));
	write_b(th_at("arch/sub/b.runlog.gz"), 1);
	index_paths(th_at("one.lmdb"), 0, 1, th_at("arch"));
	index_paths(th_at("two.lmdb"), 0, 1, th_at("arch/sub/b.runlog.gz"));
	cr_assert_eq(st.pending, 2, "prod and v5 wait for their versions");
	index_paths(th_at("two.lmdb"), 0, 1, th_at("arch/a.runlog"));
	char *a = canon(th_at("one.lmdb")), *b = canon(th_at("two.lmdb"));
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(ingest, out_of_order_versions_are_renumbered)
{
	/* the later digest is indexed first; the earlier one arrives after */
	rl_open(th_at("late.runlog"), 0);
	rl_run("r2", "train", 500);
	rl_log("model", "m", "second", 510, NULL);
	rl_close();
	rl_open(th_at("early.runlog"), 0);
	rl_run("r1", "train", 100);
	rl_log("model", "m", "first", 110, NULL);
	rl_use("m:v1", 120, NULL);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("late.runlog"));
	index_paths(th_at("s.lmdb"), 0, 1, th_at("early.runlog"));
	char *c = canon(th_at("s.lmdb"));
	assert_line(c, "version " M ":v0 digest=first aliases=");
	assert_line(c, "version " M ":v1 digest=second aliases=latest");
	assert_line(c, "edge 21 acme/mnist/r1 " M ":v1");
	free(c);
}

Test(ingest, pending_use_links_when_the_version_arrives)
{
	rl_open(th_at("use.runlog"), 0);
	rl_run("consumer", "train", 100);
	rl_use("other/proj/ds:v0", 100, NULL);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("use.runlog"));
	cr_assert_eq(st.pending, 1);
	rl_open(th_at("log.runlog"), 0);
	struct lin_record r;
	lin_record_clear(&r);
	r.kind = LIN_REC_RUN;
	r.run_id = "producer";
	r.entity = "other";
	r.project = "proj";
	r.started_at = S(50);
	put(&r);
	rl_log("dataset", "ds", "x", 50, NULL);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("log.runlog"));
	cr_assert_eq(st.pending, 0);
	char *c = canon(th_at("s.lmdb"));
	assert_line(c, "edge 11 other/proj/ds:v0 acme/mnist/consumer");
	free(c);
}

Test(ingest, digest_dedup_and_digest_pins)
{
	rl_open(th_at("a.runlog"), 0);
	rl_run("r1", "up", 100);
	rl_log("dataset", "ds", "same", 100, NULL);
	rl_run("r2", "up", 200);
	rl_log("dataset", "ds", "same", 200, NULL);
	rl_log("dataset", "ds", "new", 210, NULL);
	rl_run("r3", "train", 300);
	rl_use("ds:latest", 300, "same");
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("a.runlog"));
	cr_assert_eq(st.versions, 2);
	char *c = canon(th_at("s.lmdb"));
	assert_line(c, "version " DS ":v0 digest=same aliases=");
	/* r1 produced v0, r2 re-logged its digest */
	assert_line(c, "edge 20 " DS ":v0 acme/mnist/r1");
	assert_line(c, "edge 22 " DS ":v0 acme/mnist/r2");
	assert_line(c, "edge 12 acme/mnist/r2 " DS ":v0");
	/* the digest pins v0 although latest is v1 */
	assert_line(c, "edge 21 acme/mnist/r3 " DS ":v0");
	free(c);
}

Test(ingest, alias_records_move_and_remove)
{
	rl_open(th_at("a.runlog"), 0);
	rl_run("r1", "up", 100);
	rl_log("dataset", "ds", "d0", 100, NULL);
	rl_log("dataset", "ds", "d1", 110, NULL);
	rl_alias("ds:v0", "gold", NULL, 120);
	rl_run("r2", "train", 130);
	rl_use("ds:gold", 130, NULL);
	rl_alias("ds:v1", "gold", NULL, 140);
	rl_run("r3", "train", 150);
	rl_use("ds:gold", 150, NULL);
	rl_alias("ds:v1", NULL, "gold", 160);
	rl_run("r4", "train", 170);
	rl_use("ds:gold", 170, NULL);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("a.runlog"));
	char *c = canon(th_at("s.lmdb"));
	assert_line(c, "edge 21 acme/mnist/r2 " DS ":v0");
	assert_line(c, "edge 21 acme/mnist/r3 " DS ":v1");
	assert_line(c, "version " DS ":v1 digest=d1 aliases=latest");
	assert_line(c, "pending 1");   /* r4: gold names nothing at t170 */
	free(c);
}

Test(ingest, record_without_run_is_skipped_alone)
{
	rl_open(th_at("a.runlog"), 0);
	rl_log("dataset", "orphan", "x", 100, NULL);
	rl_run("r1", "up", 100);
	rl_log("dataset", "ds", "d0", 100, NULL);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("a.runlog"));
	cr_assert_eq(st.indexed, 1);
	cr_assert_eq(st.bad_records, 1);
	cr_assert(strstr(reports, "names no run"), "%s", reports);
	cr_assert(strstr(reports, "at byte "), "%s", reports);
	cr_assert_eq(st.versions, 1);
}

Test(ingest, resumed_run_merges)
{
	rl_open(th_at("part1.runlog"), 0);
	rl_run("r1", "train", 100);
	rl_log("model", "m", "a", 110, NULL);
	rl_close();
	rl_open(th_at("part2.runlog"), 0);
	rl_run("r1", "train", 200);
	rl_log("model", "m", "b", 210, NULL);
	rl_finish("finished", 0);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_dir);
	cr_assert_eq(st.runs, 1);
	char *c = canon(th_at("s.lmdb"));
	assert_line(c, "run acme/mnist/r1 state=finished started=100000000000");
	assert_line(c, "edge 10 acme/mnist/r1 " M ":v1");
	free(c);
}

/* A record naming another run of the same file by id: W&B-like writers
 * put a run's finish after the next run's record, and may log for a run
 * whose record comes later. */
static void rl_named(enum lin_rec_kind kind, const char *run,
		     const char *name_or_ref, const char *state)
{
	struct lin_record r;
	lin_record_clear(&r);
	r.kind = kind;
	r.run_id = run;
	if (kind == LIN_REC_LOG) {
		r.type = "dataset";
		r.coll = name_or_ref;
		r.digest = state;
	} else if (kind == LIN_REC_USE) {
		r.ref = name_or_ref;
	} else {
		r.state = state;
		r.exit_code = 3;
	}
	put(&r);
}

/* A file whose records name runs A, B and C by id, C's run record
 * coming after records that need it, and one record with a problem. */
static void write_named_runs(const char *path)
{
	struct lin_record r;

	rl_open(path, 0);
	rl_run("A", "upload", 100);
	rl_log("dataset", "ds", "d0", 101, NULL);
	rl_run("B", "train", 200);
	rl_log("dataset", "ds", NULL, 201, NULL);   /* no digest: skipped */
	/* A's finish after B's run record */
	rl_named(LIN_REC_FINISH, "A", NULL, "failed");
	/* C is declared further down, in another project */
	rl_named(LIN_REC_USE, "C", "acme/mnist/ds:v0", NULL);
	rl_named(LIN_REC_LOG, "C", "ds2", "e0");
	lin_record_clear(&r);
	r.kind = LIN_REC_RUN;
	r.run_id = "C";
	r.entity = "other";
	r.project = "proj";
	r.started_at = S(300);
	put(&r);
	rl_finish("finished", 0);
	rl_close();
}

/* What write_named_runs() must index to, read `times` times: the file
 * is read twice (C comes late), its problem reported and counted once. */
static void check_named_runs(const char *store, int times)
{
	const char *at = reports;

	cr_assert_eq(st.bad_records, (uint64_t)times, "%s", reports);
	for (int i = 0; i < times; i++) {
		at = strstr(at, "lacks required key 'digest'");
		cr_assert_not_null(at, "%s", reports);
		at++;
	}
	cr_assert_null(strstr(at, "lacks required key"), "%s", reports);
	cr_assert_eq(st.records, 8 * (uint64_t)times);
	cr_assert_eq(st.runs, 3);
	char *c = canon(store);
	assert_line(c, "run acme/mnist/A state=failed started=100000000000");
	assert_line(c, "run acme/mnist/B state=- started=200000000000");
	assert_line(c, "run other/proj/C state=finished started=300000000000");
	assert_line(c, "version other/proj/ds2:v0 digest=e0 aliases=latest");
	assert_line(c, "edge 10 other/proj/C other/proj/ds2:v0");
	assert_line(c, "edge 21 other/proj/C " DS ":v0");
	cr_assert_null(strstr(c, "local/default"), "phantom run in:\n%s", c);
	free(c);
}

Test(ingest, runs_named_by_id_resolve_within_the_file)
{
	write_named_runs(th_at("a.runlog"));
	index_paths(th_at("s.lmdb"), 0, 1, th_at("a.runlog"));
	check_named_runs(th_at("s.lmdb"), 1);
}

/* Write the archive `path` holding `file` as its member `name`. */
static void archive_one(const char *path, int gz, const char *name,
			const char *file)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char buf[65536];
	FILE *f = fopen(file, "rb");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof buf, f);
	cr_assert(n > 0 && n < sizeof buf && fclose(f) == 0);
	if (gz)
		cr_assert_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	cr_assert_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
	cr_assert_eq(archive_write_data(a, buf, n), (la_ssize_t)n);
	cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_free(a);
}

/* An archive member is read as a stream, once; it must still resolve a
 * record that comes before its run's record as the file does (ingest.c
 * reads it again from a copy), reporting its problem once. */
Test(ingest, archive_members_resolve_runs_named_by_id_like_files)
{
	write_named_runs(th_at("a.runlog"));
	archive_one(th_at("a.tar.gz"), 1, "logs/a.runlog", th_at("a.runlog"));
	index_paths(th_at("s.lmdb"), 0, 1, th_at("a.tar.gz"));
	check_named_runs(th_at("s.lmdb"), 1);
	cr_assert(strstr(reports, "a.tar.gz//logs/a.runlog"), "%s", reports);

	/* a member of an archive in an archive, and a member next to it */
	archive_one(th_at("in.tar"), 0, "a.runlog", th_at("a.runlog"));
	archive_one(th_at("out.tar.gz"), 1, "in.tar", th_at("in.tar"));
	index_paths(th_at("t.lmdb"), 0, 2, th_at("out.tar.gz"), th_at("a.tar.gz"));
	check_named_runs(th_at("t.lmdb"), 2);
	cr_assert(strstr(reports, "out.tar.gz//in.tar//a.runlog"), "%s",
		  reports);
}

/* A gzip'd tar is an archive whatever its name, though a gzip file met
 * in a folder is read as a runlog before anyone looks inside it for a
 * tar (sniff_head): found in a folder, named, and beside a gzip file
 * that is neither (ignored, as a file of no format found in a folder). */
Test(ingest, a_gzipped_tar_is_an_archive_whatever_its_name)
{
	static const unsigned char gz_hello[] = {  /* gzip of "hello\n" */
		0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
		0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00, 0x20, 0x30,
		0x3a, 0x36, 0x06, 0x00, 0x00, 0x00
	};

	write_named_runs(th_at("a.runlog"));
	cr_assert_eq(mkdir(th_at("arch"), 0755), 0);
	archive_one(th_at("arch/export-1"), 1, "logs/a.runlog",
		    th_at("a.runlog"));
	th_write_file(th_at("arch/notes"), gz_hello, sizeof gz_hello, "wb");
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	check_named_runs(th_at("s.lmdb"), 1);
	cr_assert(strstr(reports, "export-1//logs/a.runlog"), "%s", reports);
	cr_expect_eq(st.ignored, 1, "%s", reports);
	cr_expect_eq(st.rejected, 0, "%s", reports);

	index_paths(th_at("t.lmdb"), 0, 1, th_at("arch/export-1"));
	check_named_runs(th_at("t.lmdb"), 1);
	cr_assert(strstr(reports, "export-1//logs/a.runlog"), "%s", reports);
}

/* Write a gzip'd tar at `path` whose one member, named `name`, holds
 * the file `file`: the ustar header by hand, so that the name's bytes
 * are written as they are. */
static void crafted_tar_gz(const char *path, const char *name,
			   const char *file)
{
	unsigned char h[512] = { 0 };
	size_t n;
	char *data = th_read_file(file, &n);
	unsigned sum = 0;

	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)n);
	memcpy(h + 136, "00000000000", 11);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < sizeof h; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	gzFile gz = gzopen(path, "wb");
	cr_assert_not_null(gz);
	static const unsigned char zeros[1024];
	cr_assert_eq(gzwrite(gz, h, sizeof h), (int)sizeof h);
	cr_assert_eq(gzwrite(gz, data, (unsigned)n), (int)n);
	cr_assert_eq(gzwrite(gz, zeros, (unsigned)(511 - (n + 511) % 512)),
		     (int)(511 - (n + 511) % 512));
	cr_assert_eq(gzwrite(gz, zeros, sizeof zeros), (int)sizeof zeros);
	cr_assert_eq(gzclose(gz), Z_OK);
	free(data);
}

/* The runlog reader, given a gzip'd tar first, may accept its first
 * member's name as a runlog header (a fixmap naming "runlog"): the tar
 * header behind it still makes it an archive. */
Test(ingest, a_gzipped_tar_whose_first_name_reads_as_a_runlog_header)
{
	write_named_runs(th_at("a.runlog"));
	cr_assert_eq(mkdir(th_at("arch"), 0755), 0);
	crafted_tar_gz(th_at("arch/export.bin"), "\x81\xa6runlog\x01",
		       th_at("a.runlog"));
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	check_named_runs(th_at("s.lmdb"), 1);
	cr_expect_eq(st.rejected, 0, "%s", reports);
}

/* A RUN record skipped as invalid (here: an id that is not UTF-8) must
 * not let the records after it fall to the run before it. */
Test(ingest, records_after_a_skipped_run_record_belong_to_no_run)
{
	rl_open(th_at("a.runlog"), 0);
	rl_run("A", "upload", 100);
	rl_log("dataset", "ds", "d0", 101, NULL);
	rl_run("B\xff", "train", 200);
	rl_log("model", "m", "m0", 201, NULL);
	rl_finish("failed", 1);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("a.runlog"));
	cr_assert_eq(st.bad_records, 3, "%s", reports);
	cr_assert(strstr(reports, "is not valid UTF-8"), "%s", reports);
	cr_assert(strstr(reports, "follows a run record that was skipped (at "
			 "byte "), "%s", reports);
	char *c = canon(th_at("s.lmdb"));
	assert_line(c, "run acme/mnist/A state=- started=100000000000");
	cr_assert_null(strstr(c, M ":v0"), "m0 was filed under A:\n%s", c);
	free(c);
}

Test(ingest, unchanged_rerun_leaves_store_identical)
{
	write_a(th_at("arch/a.runlog"));
	write_b(th_at("arch/b.runlog.gz"), 1);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	char *before = dump(th_at("s.lmdb"));
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.unchanged, 2);
	cr_assert_eq(st.indexed, 0);
	char *after = dump(th_at("s.lmdb"));
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}

Test(ingest, changed_file_replaces_its_contribution)
{
	write_a(th_at("arch/a.runlog"));
	write_b(th_at("arch/b.runlog"), 0);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	/* b changes: train-b now uses ds:v0 and logs another model */
	sleep(0);
	rl_open(th_at("arch/b.runlog"), 0);
	rl_run("train-b", "train", 300);
	rl_use("ds:v0", LIN_TIME_NONE, NULL);
	rl_log("model", "m", "m3", 320, NULL);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.indexed, 1);
	cr_assert_eq(st.unchanged, 1);
	/* a fresh store of the same files must say the same */
	index_paths(th_at("fresh.lmdb"), 0, 1, th_at("arch"));
	char *inc = canon(th_at("s.lmdb")), *fresh = canon(th_at("fresh.lmdb"));
	cr_assert_str_eq(inc, fresh);
	refute_line(inc, "version " M ":v1 digest=m2 aliases=latest,best");
	assert_line(inc, "version " M ":v1 digest=m3 aliases=latest");
	assert_line(inc, "pending 0");
	free(inc);
	free(fresh);
}

Test(ingest, vanished_file_is_reported_then_pruned)
{
	write_a(th_at("arch/a.runlog"));
	write_b(th_at("arch/b.runlog"), 0);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(unlink(th_at("arch/b.runlog")), 0);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.vanished, 1);
	cr_assert_eq(st.runs, 4, "kept until pruned");
	index_paths(th_at("s.lmdb"), 1, 1, th_at("arch"));
	cr_assert_eq(st.pruned, 1);
	cr_assert_eq(st.runs, 3);
	index_paths(th_at("fresh.lmdb"), 0, 1, th_at("arch"));
	char *inc = canon(th_at("s.lmdb")), *fresh = canon(th_at("fresh.lmdb"));
	cr_assert_str_eq(inc, fresh);
	free(inc);
	free(fresh);
}

/* A file holding one RUN record of entity/project/id. */
static void write_scoped_run(const char *path, const char *entity,
			     const char *project, const char *id)
{
	struct lin_record r;

	th_rl_file(path, 0, entity, project);
	lin_record_clear(&r);
	r.kind = LIN_REC_RUN;
	r.run_id = id;
	r.started_at = S(100);
	put(&r);
	rl_close();
}

/* "entity/project/name" is read at its first two '/': entity "a/b" with
 * project "c" and entity "a" with project "b/c" would share a scope;
 * project "p/a" with run id "b" and project "p" with run id "a/b" would
 * both read "acme/p/a/b", two runs answered as one (by name, in `names`,
 * in diffs). Each such record is refused with its file and byte offset,
 * as is a collection named with a '/'; the other records are kept. */
Test(ingest, a_part_of_a_name_holding_a_slash_is_refused)
{
	static const char *const refused[][2] = {
		{ "a.runlog", "entity 'a/b' holds a '/'" },
		{ "b.runlog", "project 'b/c' holds a '/'" },
		{ "c.runlog", "project 'p/a' holds a '/'" },
		{ "d.runlog", "run id 'a/b' holds a '/'" },
		{ "e.runlog", "artifact name 'm/x' holds a '/'" },
	};

	write_scoped_run(th_at("arch/a.runlog"), "a/b", "c", "r");
	write_scoped_run(th_at("arch/b.runlog"), "a", "b/c", "r");
	write_scoped_run(th_at("arch/c.runlog"), "acme", "p/a", "b");
	write_scoped_run(th_at("arch/d.runlog"), "acme", "p", "a/b");
	rl_open(th_at("arch/e.runlog"), 0);
	rl_run("e1", "train", 100);
	rl_log("model", "m/x", "d1", 110, NULL);
	rl_log("model", "m", "d2", 120, NULL);
	rl_close();
	write_scoped_run(th_at("arch/f.runlog"), "a", "c", "r");
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.runs, 2, "%s", reports);
	cr_assert_eq(st.versions, 1, "%s", reports);
	cr_assert_eq(st.bad_records, 5, "%s", reports);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char where[64];
		snprintf(where, sizeof where, "%s: at byte ", refused[i][0]);
		cr_assert(strstr(reports, where) &&
			  strstr(reports, refused[i][1]), "%s: %s", where,
			  reports);
	}
}

/* A run's `names` entry holding 12 bytes is damage: the indexer, finding
 * the run again, stops with a store error instead of reading the first 8
 * bytes as the run's id, and the store keeps what it had. */
Test(ingest, a_names_value_not_8_bytes_stops_the_indexer)
{
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;
	unsigned char k[64], v[12] = { 0 };

	write_scoped_run(th_at("arch/a.runlog"), "acme", "p", "r1");
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.runs, 1, "%s", reports);
	size_t kn = lin_key_name(k, sizeof k, LIN_NAME_RUN, "r1", 2, "acme/p",
				 6);
	cr_assert_gt(kn, 0);
	cr_assert_eq(lin_store_open(&s, th_at("s.lmdb"), 0, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(lin_store_begin(&s, 0, &txn, &e), 0);
	MDB_val got;
	cr_assert_eq(lin_store_get(txn, &s, LIN_DB_NAMES, k, kn, &got, &e), 0);
	memcpy(v, got.mv_data, 8);
	cr_assert_eq(lin_store_put(txn, &s, LIN_DB_NAMES, k, kn, v, sizeof v,
				   &e), 0);
	cr_assert_eq(lin_store_commit(txn, &e), 0);
	lin_store_close(&s);
	char *before = canon(th_at("s.lmdb"));

	write_scoped_run(th_at("arch/b.runlog"), "acme", "p", "r1");
	const char *paths[] = { th_at("arch") };
	struct lin_index_opts o = { 0 };
	struct lin_err err;
	int rc = lin_index_paths(th_at("s.lmdb"), paths, 1, &o, &st, &err);
	cr_assert_eq(rc, LIN_ESTORE, "rc %d: %s", rc, err.msg);
	cr_assert(strstr(err.msg, "id value of 12 bytes, not 8, in 'names'"),
		  "%s", err.msg);
	char *after = canon(th_at("s.lmdb"));
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}

Test(ingest, broken_file_is_rejected_and_keeps_earlier_contribution)
{
	write_a(th_at("arch/a.runlog"));
	write_b(th_at("arch/b.runlog"), 0);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	char *before = canon(th_at("s.lmdb"));
	/* b gets a byte that starts no MessagePack type: the stream
	 * cannot go on, so the file is unreadable */
	FILE *f = fopen(th_at("arch/b.runlog"), "ab");
	cr_assert_not_null(f);
	fputc(0xc1, f);
	fclose(f);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.rejected, 1);
	cr_assert(strstr(reports, "b.runlog: at byte "), "%s", reports);
	char *after = canon(th_at("s.lmdb"));
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}

static long size_of(const char *path)
{
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0, "%s", path);
	return (long)sb.st_size;
}

/* A run still writing (or crashed): the file ends inside a record. What
 * came before is kept; when the file grows, indexing it again replaces
 * what it gave, and equals a fresh index of the whole file. */
Test(ingest, file_cut_inside_a_record_keeps_records_then_grows)
{
	/* the same records, the last one left out, give the cut point */
	write_b(th_at("whole.runlog"), 0);
	rl_open(th_at("head.runlog"), 0);
	rl_run("train-b", "train", 300);
	rl_use("ds:prod", LIN_TIME_NONE, NULL);
	rl_use("ds:v5", LIN_TIME_NONE, NULL);
	rl_log("model", "m", "m2", 310, "best");
	rl_close();
	long head = size_of(th_at("head.runlog"));
	long whole = size_of(th_at("whole.runlog"));
	cr_assert_gt(whole, head + 3);

	write_b(th_at("arch/b.runlog"), 0);
	cr_assert_eq(truncate(th_at("arch/b.runlog"), head + 3), 0);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.indexed, 1, "%s", reports);
	cr_assert_eq(st.rejected, 0);
	cr_assert_eq(st.partial, 1);
	cr_assert_eq(st.bad_records, 0, "a note, not a problem: %s", reports);
	cr_assert_eq(st.records, 4);
	cr_assert(strstr(reports, "file ends inside a record that started at "
			 "byte "), "%s", reports);
	char *c = canon(th_at("s.lmdb"));
	assert_line(c, "run acme/mnist/train-b state=- started=300000000000");
	assert_line(c, "version " M ":v0 digest=m2 aliases=latest,best");
	free(c);

	/* it grows to the whole file */
	write_b(th_at("arch/b.runlog"), 0);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.indexed, 1);
	cr_assert_eq(st.partial, 0);
	index_paths(th_at("fresh.lmdb"), 0, 1, th_at("arch"));
	char *inc = canon(th_at("s.lmdb")), *fresh = canon(th_at("fresh.lmdb"));
	cr_assert_str_eq(inc, fresh);
	assert_line(inc, "run acme/mnist/train-b state=finished "
		    "started=300000000000");
	free(inc);
	free(fresh);
}

/* A gzip stream cut short keeps the records before the cut too, but as
 * a problem (exit 65): nothing writes a gzip file in place. */
Test(ingest, gzip_cut_short_keeps_records_as_a_problem)
{
	/* every record whole, the gzip trailer (CRC and length) cut off */
	write_b(th_at("b.runlog.gz"), 1);
	long n = size_of(th_at("b.runlog.gz"));
	cr_assert_eq(truncate(th_at("b.runlog.gz"), n - 8), 0);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("b.runlog.gz"));
	cr_assert_eq(st.indexed, 1, "%s", reports);
	cr_assert_eq(st.bad_records, 1, "%s", reports);
	cr_assert(strstr(reports, "gzip stream ends without its trailer; the "
			 "records before it are kept"), "%s", reports);
	cr_assert_gt(st.records, 0);
	char *c = canon(th_at("s.lmdb"));
	assert_line(c, "run acme/mnist/train-b state=finished "
		    "started=300000000000");
	free(c);
}

Test(ingest, explicit_versions_are_kept)
{
	rl_open(th_at("a.runlog"), 0);
	rl_run("r1", "up", 100);
	struct lin_record r;
	lin_record_clear(&r);
	r.kind = LIN_REC_LOG;
	r.type = "dataset";
	r.coll = "ds";
	r.digest = "x";
	r.version = 3;
	r.at = S(100);
	put(&r);
	rl_log("dataset", "ds", "y", 200, NULL);
	rl_close();
	index_paths(th_at("s.lmdb"), 0, 1, th_at("a.runlog"));
	char *c = canon(th_at("s.lmdb"));
	/* "latest" is the highest number, explicit or not */
	assert_line(c, "version " DS ":v3 digest=x aliases=latest");
	assert_line(c, "version " DS ":v0 digest=y aliases=");
	free(c);
}

/* ---- generated archives, checked against the generator's own truth ----- */

static char *edges_as_csv(const char *store)
{
	struct lin_store s;
	struct lin_err err;
	struct th_lines l = { 0 };
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;

	cr_assert_eq(lin_store_open(&s, store, LIN_STORE_RDONLY, &err), 0);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &err), 0);
	msgpack_zone_init(&zone, 4096);
	cr_assert_eq(mdb_cursor_open(txn, s.dbi[LIN_DB_EDGES], &c), 0);
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
		struct lin_edge e;
		lin_edge_decode(v.mv_data, &e);
		if (e.kind != LIN_EDGE_LOGGED && e.kind != LIN_EDGE_USES &&
		    e.kind != LIN_EDGE_RELOGGED)
			continue;
		char *run = node_name(txn, &s, lin_be64_get(k.mv_data));
		char *art = node_name(txn, &s, e.other);
		th_lines_add(&l, "%s,%s,%s", e.kind == LIN_EDGE_LOGGED ? "logged"
				: e.kind == LIN_EDGE_USES ? "used" :
				"relogged", run, art);
		free(run);
		free(art);
		msgpack_zone_clear(&zone);
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	lin_store_close(&s);
	msgpack_zone_destroy(&zone);
	qsort(l.v, l.n, sizeof *l.v, cmp_str);
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	for (size_t i = 0; i < l.n; i++) {
		fprintf(m, "%s\n", l.v[i]);
		free(l.v[i]);
	}
	free(l.v);
	fclose(m);
	return buf;
}

static char *sorted_csv_body(const char *path)
{
	return th_sh(NULL, "tail -n +2 '%s' | LC_ALL=C sort", path);
}

static void gen_synth(int runs, int per_file)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "./lineage-gen synth --runs %d "
		 "--runs-per-file %d --seed 7 --edges '%s' '%s' >/dev/null",
		 runs, per_file, th_at("truth.csv"), th_at("arch"));
	cr_assert_eq(system(cmd), 0, "lineage-gen failed (run make first)");
}

Test(ingest, generated_archive_matches_generator_truth, .timeout = 120)
{
	gen_synth(3000, 50);
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.rejected, 0);
	cr_assert_eq(st.runs, 3000);
	char *got = edges_as_csv(th_at("s.lmdb"));
	char *want = sorted_csv_body(th_at("truth.csv"));
	cr_assert(strcmp(got, want) == 0, "lineage differs from the "
		  "generator's truth (%zu vs %zu bytes)", strlen(got),
		  strlen(want));
	free(got);
	free(want);
}

Test(ingest, generated_archive_in_reverse_file_order, .timeout = 120)
{
	char cmd[1200];
	gen_synth(1500, 30);
	/* index the files newest first, each in its own run: the worst case
	 * for pending uses and renumbering */
	snprintf(cmd, sizeof cmd, "find '%s' -type f | LC_ALL=C sort -r",
		 th_at("arch"));
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char line[1024];
	while (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = 0;
		index_paths(th_at("s.lmdb"), 0, 1, line);
	}
	pclose(p);
	char *got = edges_as_csv(th_at("s.lmdb"));
	char *want = sorted_csv_body(th_at("truth.csv"));
	cr_assert(strcmp(got, want) == 0, "lineage differs from the truth");
	free(got);
	free(want);
}

Test(ingest, store_grows_when_its_map_is_full, .timeout = 120)
{
	gen_synth(1000, 100);
	setenv("LINEAGE_MAP_MIN", "131072", 1);
	index_paths(th_at("small.lmdb"), 0, 1, th_at("arch"));
	unsetenv("LINEAGE_MAP_MIN");
	cr_assert_eq(st.indexed, 10);
	index_paths(th_at("big.lmdb"), 0, 1, th_at("arch"));
	char *a = canon(th_at("small.lmdb")), *b = canon(th_at("big.lmdb"));
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(ingest, generated_wandb_archive_matches_generator_truth, .timeout = 120)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "./lineage-gen synth --runs 600 --format "
		 "wandb --history-bytes 3000 --seed 3 --edges '%s' '%s' "
		 ">/dev/null", th_at("truth.csv"), th_at("arch"));
	cr_assert_eq(system(cmd), 0, "lineage-gen failed (run make first)");
	index_paths(th_at("s.lmdb"), 0, 1, th_at("arch"));
	cr_assert_eq(st.rejected, 0);
	cr_assert_eq(st.bad_records, 0);
	char *got = edges_as_csv(th_at("s.lmdb"));
	char *want = sorted_csv_body(th_at("truth.csv"));
	cr_assert(strcmp(got, want) == 0, "lineage differs from the truth");
	free(got);
	free(want);
}

/* ---- one store for many inputs (tests/fuzz/fuzz_index.c) -------------- */

/* `argv` (a NULL-terminated lineage-query command line) on the open
 * store `s` (NULL: the store its --store names): its output, or "exit N" when it fails. Caller frees. */
static char *query_on(struct lin_store *s, char **argv)
{
	char *buf = NULL;
	size_t n = 0;
	int argc = 0;
	FILE *out = open_memstream(&buf, &n);
	FILE *err = fopen("/dev/null", "w");

	while (argv[argc])
		argc++;
	int rc = s ? lin_query_run_store(s, argc, argv, out, err) :
		     lin_query_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	if (rc) {
		free(buf);
		buf = NULL;
		cr_assert(asprintf(&buf, "exit %d", rc) > 0);
	}
	return buf;
}

/* lin_store_dump of `s` without what records when things happened:
 * meta's created_at line and the entries of `sources` (each holds its
 * indexed_at; st.sources counts them). Caller frees. */
static char *timeless_dump(struct lin_store *s)
{
	static const char created[] = "637265617465645f6174 "; /* hex key */
	char *buf = NULL, *out = malloc(1), *p;
	size_t n = 0, o = 0;
	FILE *m = open_memstream(&buf, &n);
	struct lin_err err;
	int in_sources = 0;

	cr_assert_eq(lin_store_dump(s, m, &err), 0, "%s", err.msg);
	fclose(m);
	cr_assert_not_null(out);
	out = realloc(out, n + 1);
	for (char *line = strtok_r(buf, "\n", &p); line;
	     line = strtok_r(NULL, "\n", &p)) {
		if (!strncmp(line, "db ", 3))
			in_sources = !strcmp(line, "db sources");
		else if (in_sources || !strncmp(line, created,
						sizeof created - 1))
			continue;
		o += (size_t)sprintf(out + o, "%s\n", line);
	}
	out[o] = 0;
	free(buf);
	return out;
}

/* lin_store_reset empties a store so that indexing into it gives what
 * a new store gives; lin_index_store and lin_query_run_store work on
 * the open store and leave it open. */
Test(ingest, reset_store_answers_as_a_new_one)
{
	char *a = strdup(th_at("a.runlog")), *b = strdup(th_at("b.runlog"));
	char *fresh = strdup(th_at("fresh.lmdb"));
	char *reused = strdup(th_at("reused.lmdb"));
	const char *pa[] = { a }, *pb[] = { b };
	struct lin_index_opts o = { 0 };
	struct lin_store s;
	struct lin_err err;
	char *cmds[][6] = {
		{ "lineage-query", "--store", reused, "ls", "runs", NULL },
		{ "lineage-query", "--store", reused, "ls", "artifacts", NULL },
		{ "lineage-query", "--store", reused, "ls", "types", NULL },
		{ "lineage-query", "--store", reused, "check", NULL },
		{ "lineage-query", "--store", reused, "lineage", "acme/mnist/ds:v0",
		  NULL },
	};

	write_a(a);
	rl_open(b, 0);
	rl_run("other", "train", 300);
	rl_log("model", "m", "m9", 301, "best");
	rl_use("ds:prod", LIN_TIME_NONE, NULL);
	rl_finish("finished", 0);
	rl_close();
	index_paths(fresh, 0, 1, a);

	cr_assert_eq(lin_store_open(&s, reused, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(lin_index_store(&s, pb, 1, &o, &st, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(st.indexed, 1);
	char *before = query_on(&s, cmds[0]);
	cr_assert(strstr(before, "other"), "%s", before);
	free(before);
	cr_assert_eq(lin_store_reset(&s, &err), 0, "%s", err.msg);
	cr_assert_eq(lin_index_store(&s, pa, 1, &o, &st, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(st.indexed, 1);
	cr_assert_eq(st.sources, 1, "the reset store kept b's source");
	struct lin_store f;
	cr_assert_eq(lin_store_open(&f, fresh, LIN_STORE_RDONLY, &err), 0);
	char *dump_fresh = timeless_dump(&f), *dump_reused = timeless_dump(&s);
	lin_store_close(&f);
	cr_assert_str_eq(dump_reused, dump_fresh, "ids and all");
	free(dump_fresh);
	free(dump_reused);
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		char *got = query_on(&s, cmds[i]);
		cmds[i][2] = fresh;
		char *want = query_on(NULL, cmds[i]);
		cmds[i][2] = reused;
		cr_assert(strncmp(got, "exit ", 5), "%s %s: %s", cmds[i][3],
			  cmds[i][4] ? cmds[i][4] : "", got);
		cr_assert_str_eq(got, want, "%s %s", cmds[i][3],
				 cmds[i][4] ? cmds[i][4] : "");
		free(got);
		free(want);
	}
	lin_store_close(&s);
	free(a);
	free(b);
	free(fresh);
	free(reused);
}

/* ---- files undone inside a group commit (ingest.c, undo_file) ---------- */

static const char *const status_names[] = {
	"indexed", "unchanged", "rejected", "warning", "vanished", "pruned",
	"ignored", "partial", "moved"
};

/* Every report of the last run_grouped(), as "STATUS NAME DONE" (NAME
 * the path's last component), in the order made. */
static struct th_lines told;

static void on_any_report(void *ctx, enum lin_file_status s,
			  const char *path, const struct lin_err *e,
			  uint64_t done)
{
	const char *base = strrchr(path, '/');

	(void)ctx;
	(void)e;
	cr_assert_lt((size_t)s, sizeof status_names / sizeof *status_names);
	th_lines_add(&told, "%s %s %llu", status_names[s],
		     base ? base + 1 : path, (unsigned long long)done);
}

/* Index `path` into `store` in one run, every file in one group (each
 * alone when `sync`), so that an undone file always shares it. */
static void run_grouped(const char *store, int sync, const char *path)
{
	struct lin_index_opts o = { 0 };
	struct lin_err err;
	const char *paths[] = { path };

	o.sync = sync;
	o.report = on_any_report;
	th_lines_free(&told);
	setenv("LINEAGE_GROUP_MS", "600000", 1);
	int rc = lin_index_paths(store, paths, 1, &o, &st, &err);
	unsetenv("LINEAGE_GROUP_MS");
	cr_assert_eq(rc, 0, "index failed: %s", err.msg);
}

/* The reports were exactly `want` (NULL-terminated), in that order. */
static void assert_told(const char *const *want)
{
	size_t n = 0;
	char all[4096] = "";

	for (size_t i = 0; i < told.n; i++) {
		size_t k = strlen(all);
		snprintf(all + k, sizeof all - k, "%s\n", told.v[i]);
	}
	for (; want[n]; n++) {
		cr_assert_lt(n, told.n, "report '%s' missing in:\n%s", want[n],
			     all);
		cr_assert_str_eq(told.v[n], want[n], "reports:\n%s", all);
	}
	cr_assert_eq(told.n, n, "reports:\n%s", all);
}

/* b's records, then a byte that starts no MessagePack value: the file
 * is read and written into the store before it turns out unreadable. */
static void write_unreadable(const char *path)
{
	write_b(path, 0);
	FILE *f = fopen(path, "ab");
	cr_assert_not_null(f);
	fputc(0xc1, f);
	cr_assert_eq(fclose(f), 0);
}

static char *timeless_dump_at(const char *path)
{
	struct lin_store s;
	struct lin_err err;

	cr_assert_eq(lin_store_open(&s, path, LIN_STORE_RDONLY, &err), 0,
		     "%s", err.msg);
	char *d = timeless_dump(&s);
	lin_store_close(&s);
	return d;
}

/* In one group: a and b, then c, which is read twice (a record before
 * its run's record) and has a bad record, then d, rejected after its
 * records were written, then e. Undoing c's first reading and d takes
 * the group each shares: the files before are indexed again. The store
 * must equal one of the good files alone, ids included, every file be
 * counted and reported once, and the same with --sync (each file its
 * own transaction). */
Test(ingest, undone_files_in_a_group_leave_what_the_good_files_give)
{
	static const char *const want[] = {
		"indexed a.runlog 1", "indexed b.runlog.gz 2",
		"warning c.runlog 3", "indexed c.runlog 3",
		"rejected d.runlog 4", "indexed e.runlog 5", NULL
	};
	write_a(th_at("arch/a.runlog"));
	write_b(th_at("arch/b.runlog.gz"), 1);
	write_named_runs(th_at("arch/c.runlog"));
	rl_open(th_at("arch/e.runlog"), 0);
	rl_run("eval", "evaluate", 400);
	rl_use("m:best", LIN_TIME_NONE, NULL);
	rl_finish("finished", 0);
	rl_close();
	run_grouped(th_at("good.lmdb"), 0, th_at("arch"));
	struct lin_index_stats good = st;
	cr_assert_eq(good.indexed, 4);
	cr_assert_eq(good.bad_records, 1);
	char *want_dump = timeless_dump_at(th_at("good.lmdb"));

	write_unreadable(th_at("arch/d.runlog"));
	for (int sync = 0; sync < 2; sync++) {
		const char *store = th_at("mixed%d.lmdb", sync);
		run_grouped(store, sync, th_at("arch"));
		assert_told(want);
		cr_assert_eq(st.indexed, good.indexed);
		cr_assert_eq(st.rejected, 1);
		cr_assert_eq(st.records, good.records);
		cr_assert_eq(st.bad_records, good.bad_records);
		cr_assert_eq(st.skipped, good.skipped);
		cr_assert_eq(st.partial, good.partial);
		cr_assert_gt(st.bytes, good.bytes);
		cr_assert_leq(st.bytes, good.bytes +
			      th_file_size(th_at("arch/d.runlog")));
		cr_assert_eq(st.sources, good.sources);
		cr_assert_eq(st.runs, good.runs);
		cr_assert_eq(st.versions, good.versions);
		cr_assert_eq(st.edges, good.edges);
		cr_assert_eq(st.pending, good.pending);
		char *got = timeless_dump_at(store);
		cr_assert_str_eq(got, want_dump, "sync %d", sync);
		free(got);
	}
	free(want_dump);
	th_lines_free(&told);
}

/* A moved file re-keyed in a group that an undone file then drops is
 * matched again when the group is redone: still a move, nothing
 * vanished. */
Test(ingest, moved_file_in_an_undone_group_stays_a_move)
{
	static const char *const want[] = {
		"unchanged a.runlog 1", "moved b2.runlog 2",
		"rejected z.runlog 3", NULL
	};
	write_a(th_at("arch/a.runlog"));
	write_b(th_at("arch/b.runlog"), 0);
	run_grouped(th_at("s.lmdb"), 0, th_at("arch"));
	char *before = canon(th_at("s.lmdb"));
	cr_assert_eq(rename(th_at("arch/b.runlog"), th_at("arch/b2.runlog")),
		     0);
	write_unreadable(th_at("arch/z.runlog"));
	run_grouped(th_at("s.lmdb"), 0, th_at("arch"));
	assert_told(want);
	cr_assert_eq(st.moved, 1);
	cr_assert_eq(st.vanished, 0);
	cr_assert_eq(st.indexed, 0);
	cr_assert_eq(st.sources, 2);
	char *after = canon(th_at("s.lmdb"));
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	th_lines_free(&told);
}

/* With --sync every file commits alone; a map that fills up is grown
 * and the file redone, and the files committed before stay counted. */
Test(ingest, map_growth_under_sync_keeps_the_counts, .timeout = 120)
{
	gen_synth(1000, 100);
	run_grouped(th_at("big.lmdb"), 1, th_at("arch"));
	struct lin_index_stats big = st;
	setenv("LINEAGE_MAP_MIN", "131072", 1);
	run_grouped(th_at("small.lmdb"), 1, th_at("arch"));
	unsetenv("LINEAGE_MAP_MIN");
	cr_assert_eq(st.indexed, 10);
	cr_assert_eq(st.records, big.records);
	cr_assert_eq(told.n, 10, "each file reported once");
	char *a = canon(th_at("small.lmdb")), *b = canon(th_at("big.lmdb"));
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	th_lines_free(&told);
}
