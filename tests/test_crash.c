/* test_crash.c - crash safety: lineage-index killed with SIGKILL at random
 * moments leaves a store that opens and checks clean, and finishing the
 * run gives the same store as one uninterrupted run. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <msgpack.h>

#include "format/view.h"
#include "format/attrs.h"
#include "format/schema.h"
#include "format/store.h"
#include "format/facts.h"
#include "helpers.h"

extern char **environ;

#define INDEXER "./lineage-index"
#define QUERY "./lineage-query"
#define GEN "./lineage-gen"

TestSuite(crash, .init = th_mkdir, .fini = th_rmdir);

/* ---- time, randomness, child processes ------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000), (long)(t % 1000000000) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* splitmix64: the seed makes a failing schedule of kills repeatable. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* LIN_CRASH_SEED overrides the fixed seed to explore other schedules. */
static uint64_t rng_seed(void)
{
	const char *s = getenv("LIN_CRASH_SEED");
	rng_state = s && *s ? strtoull(s, NULL, 0) : 20261126;
	return rng_state;
}

/* Start argv[0] with stdout to /dev/null and stderr appended to the
 * test's log file (kept for diagnosis while the folder exists). */
/* Start `argv`. `killable`: it may be killed at any moment, even while
 * LeakSanitizer checks it on its way out (under check-san), where the
 * kill makes the checker write "Unable to get registers" as a report of
 * its own: such a child runs without the leak check, which it could
 * not finish anyway, and the runs that end on their own keep it. */
static pid_t spawn(char *const argv[], int killable)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	size_t n = 0;
	char **env, *asan = NULL;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof *env);
	cr_assert_not_null(env);
	for (size_t i = 0; i < n; i++) {
		env[i] = environ[i];
		if (killable && !strncmp(environ[i], "ASAN_OPTIONS=", 13)) {
			cr_assert_gt(asprintf(&asan, "%s:detect_leaks=0",
					      environ[i]), 0);
			env[i] = asan;
		}
	}
	cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, th_at("children.log"),
					 O_WRONLY | O_CREAT | O_APPEND, 0644);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(asan);
	free(env);
	cr_assert_eq(rc, 0, "cannot start %s: %s (run make first)", argv[0],
		     strerror(rc));
	return pid;
}

static int wait_child(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	return status;
}

/* Exit status of a program run to its end; -1 when killed by a signal. */
static int run(char *const argv[])
{
	int status = wait_child(spawn(argv, 0));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run argv with stdout into a malloc'd string; *code gets the exit
 * status (-1: killed by a signal). */
static char *run_out(char *const argv[], int *code)
{
	int fds[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char *buf = NULL;
	size_t n = 0;

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	posix_spawn_file_actions_addopen(&fa, 2, th_at("children.log"),
					 O_WRONLY | O_CREAT | O_APPEND, 0644);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	cr_assert_eq(rc, 0, "cannot start %s: %s (run make first)", argv[0],
		     strerror(rc));
	FILE *m = open_memstream(&buf, &n);
	FILE *in = fdopen(fds[0], "r");
	cr_assert(m && in);
	char chunk[8192];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, in)) > 0)
		fwrite(chunk, 1, got, m);
	fclose(in);
	fclose(m);
	int status = wait_child(pid);
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return buf;
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char chunk[65536];
	size_t got;

	cr_assert(in && out, "cannot copy %s to %s", from, to);
	while ((got = fread(chunk, 1, sizeof chunk, in)) > 0)
		cr_assert_eq(fwrite(chunk, 1, got, out), got);
	cr_assert_eq(ferror(in), 0);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
}

/* Remove a store and its lock file. */
static void rm_store(const char *store)
{
	char lock[600];
	snprintf(lock, sizeof lock, "%s-lock", store);
	unlink(store);
	unlink(lock);
}

static void gen_synth(const char *arch)
{
	char *argv[] = { GEN, "synth", "--runs", "3000", "--runs-per-file",
			 "30", "--seed", "7", (char *)arch, NULL };
	int code;
	free(run_out(argv, &code));
	cr_assert_eq(code, 0, "lineage-gen failed (run make first)");
}

/* ---- canonical views of a store --------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines and join them into one string; frees `l`. */
static char *join_sorted(struct th_lines *l)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	cr_assert_not_null(m);
	qsort(l->v, l->n, sizeof *l->v, cmp_str);
	for (size_t i = 0; i < l->n; i++) {
		fprintf(m, "%s\n", l->v[i]);
		free(l->v[i]);
	}
	free(l->v);
	fclose(m);
	return buf;
}

static msgpack_zone zone;

static msgpack_object unpack(const MDB_val *v, const char *what)
{
	msgpack_object o;
	cr_assert_eq(msgpack_unpack(v->mv_data, v->mv_size, NULL, &zone, &o),
		     MSGPACK_UNPACK_SUCCESS, "bad MessagePack in %s", what);
	lin_attrs_decode(&o);   /* attribute names, not their codes */
	return o;
}

static msgpack_object node_attrs(MDB_txn *txn, struct lin_store *s,
				 uint64_t id)
{
	unsigned char k[8];
	MDB_val v;
	lin_be64_put(k, id);
	cr_assert_eq(lin_store_get(txn, s, LIN_DB_NODES, k, 8, &v, NULL), 0,
		     "node %016llx is missing", (unsigned long long)id);
	return unpack(&v, "nodes");
}

static int64_t attr_i64(const msgpack_object *o, const char *key)
{
	int64_t v = -1;
	lin_map_i64(o, key, &v);
	return v;
}

static struct lin_slice attr_str(const msgpack_object *o, const char *key)
{
	struct lin_slice s = { "-", 1 };
	lin_map_str(o, key, &s);
	return s;
}

/* A node by the names users see (entity/project/run_id or
 * entity/project/name:vN), never by its internal id. */
static char *node_name(MDB_txn *txn, struct lin_store *s, uint64_t id)
{
	msgpack_object o = node_attrs(txn, s, id);
	struct lin_slice e = attr_str(&o, "entity"),
			 p = attr_str(&o, "project");
	char *out;

	if (LIN_ID_KIND(id) == LIN_ID_RUN) {
		struct lin_slice r = attr_str(&o, "run_id");
		cr_assert_gt(asprintf(&out, "%.*s/%.*s/%.*s", (int)e.n, e.p,
				      (int)p.n, p.p, (int)r.n, r.p), 0);
	} else {
		struct lin_slice n = attr_str(&o, "name");
		cr_assert_gt(asprintf(&out, "%.*s/%.*s/%.*s:v%lld", (int)e.n,
				      e.p, (int)p.n, p.p, (int)n.n, n.p,
				      (long long)attr_i64(&o, "version")),
			     0);
	}
	return out;
}

static void str_array(char *out, size_t cap, const msgpack_object *a)
{
	out[0] = '\0';
	if (!a || a->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *x = &a->via.array.ptr[i];
		size_t n = strlen(out);
		if (x->type == MSGPACK_OBJECT_STR)
			snprintf(out + n, cap - n, "%s%.*s", i ? "," : "",
				 (int)x->via.str.size, x->via.str.ptr);
	}
}

/* The lineage as sorted lines that name nodes, so two stores built in
 * different histories (other ids) compare equal when their answers are
 * equal: versions with digest and aliases, every edge entry (one per
 * fact, both directions), runs with their state, sources with their
 * counts, and the number of pending uses. */
static char *canon_lineage(const char *store)
{
	struct lin_store s;
	struct lin_err err;
	struct th_lines l = { 0 };
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	char al[1024];

	cr_assert_eq(lin_store_open(&s, store, LIN_STORE_RDONLY, &err), 0,
		     "%s: %s", store, err.msg);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &err), 0);
	msgpack_zone_init(&zone, 4096);

	cr_assert_eq(mdb_cursor_open(txn, s.dbi[LIN_DB_COLL_DIG], &c), 0);
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
		cr_assert_eq(v.mv_size, 8);
		uint64_t vid = lin_be64_get(v.mv_data);
		msgpack_object o = node_attrs(txn, &s, vid);
		struct lin_slice type = attr_str(&o, "type");
		char *nm = node_name(txn, &s, vid);
		str_array(al, sizeof al, lin_map_get(&o, "aliases"));
		th_lines_add(&l, "version %s type=%.*s digest=%.*s aliases=%s",
			 nm, (int)type.n, type.p, (int)(k.mv_size - 8),
			 (char *)k.mv_data + 8, al);
		free(nm);
		msgpack_zone_clear(&zone);
	}
	mdb_cursor_close(c);

	cr_assert_eq(mdb_cursor_open(txn, s.dbi[LIN_DB_EDGES], &c), 0);
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
		struct lin_edge e;
		cr_assert_eq(v.mv_size, LIN_EDGE_SIZE);
		lin_edge_decode(v.mv_data, &e);
		char *a = node_name(txn, &s, lin_be64_get(k.mv_data));
		char *b = node_name(txn, &s, e.other);
		th_lines_add(&l, "edge %02x %s %s", e.kind, a, b);
		free(a);
		free(b);
		msgpack_zone_clear(&zone);
	}
	mdb_cursor_close(c);

	/* runs by name (view.h) */
	struct lin_scan rs;
	struct lin_err re;
	cr_assert_eq(lin_view_open(&rs, txn, &s, LIN_VIEW_RUNS, NULL, 0, NULL,
				   0, &re), 0);
	while (lin_scan_next(&rs) == 1) {
		k = rs.k;
		v = rs.v;
		cr_assert_eq(v.mv_size, 8);
		msgpack_object o = node_attrs(txn, &s,
					      lin_be64_get(v.mv_data));
		struct lin_slice state = attr_str(&o, "state");
		th_lines_add(&l, "run %.*s state=%.*s started=%lld ended=%lld "
			 "exit=%lld", (int)k.mv_size, (char *)k.mv_data,
			 (int)state.n, state.p,
			 (long long)attr_i64(&o, "started_at"),
			 (long long)attr_i64(&o, "ended_at"),
			 (long long)attr_i64(&o, "exit_code"));
		msgpack_zone_clear(&zone);
	}
	lin_scan_close(&rs);

	cr_assert_eq(mdb_cursor_open(txn, s.dbi[LIN_DB_SOURCES], &c), 0);
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
		msgpack_object o = unpack(&v, "sources");
		th_lines_add(&l, "source %.*s records=%lld facts=%lld "
			 "skipped=%lld", (int)k.mv_size, (char *)k.mv_data,
			 (long long)attr_i64(&o, "records"),
			 (long long)attr_i64(&o, "facts"),
			 (long long)attr_i64(&o, "skipped"));
		msgpack_zone_clear(&zone);
	}
	mdb_cursor_close(c);

	MDB_stat ms;
	cr_assert_eq(mdb_stat(txn, s.dbi[LIN_DB_PENDING], &ms), 0);
	th_lines_add(&l, "pending %zu", ms.ms_entries);
	mdb_txn_abort(txn);
	lin_store_close(&s);
	msgpack_zone_destroy(&zone);
	return join_sorted(&l);
}

static void hex(FILE *f, const MDB_val *v)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = v->mv_data;
	char buf[512];
	size_t n = 0;

	/* by hand: fprintf per byte made the dumps the slowest step */
	for (size_t i = 0; i < v->mv_size; i++) {
		buf[n++] = digits[p[i] >> 4];
		buf[n++] = digits[p[i] & 15];
		if (n == sizeof buf) {
			fwrite(buf, 1, n, f);
			n = 0;
		}
	}
	fwrite(buf, 1, n, f);
}

/* Every entry of every database in key order, as lin_store_dump writes
 * them, except what records when things happened: meta's created_at and
 * each source's indexed_at (the source maps are printed decoded, without
 * that key). Two runs that commit the same files in the same order give
 * equal text, ids included. */
static char *full_dump(const char *store)
{
	struct lin_store s;
	struct lin_err err;
	MDB_txn *txn;
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	cr_assert_not_null(m);
	cr_assert_eq(lin_store_open(&s, store, LIN_STORE_RDONLY, &err), 0,
		     "%s: %s", store, err.msg);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &err), 0);
	msgpack_zone_init(&zone, 4096);
	for (int db = 0; db < LIN_DB_COUNT; db++) {
		MDB_cursor *c;
		MDB_val k, v;
		fprintf(m, "db %s\n", lin_db_names[db]);
		cr_assert_eq(mdb_cursor_open(txn, s.dbi[db], &c), 0);
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
			if (db == LIN_DB_META &&
			    k.mv_size == strlen(LIN_META_CREATED) &&
			    !memcmp(k.mv_data, LIN_META_CREATED, k.mv_size))
				continue;
			hex(m, &k);
			putc(' ', m);
			if (db != LIN_DB_SOURCES) {
				hex(m, &v);
				putc('\n', m);
				continue;
			}
			msgpack_object o = unpack(&v, "sources");
			cr_assert_eq(o.type, MSGPACK_OBJECT_MAP);
			for (uint32_t i = 0; i < o.via.map.size; i++) {
				const msgpack_object_kv *kv =
					&o.via.map.ptr[i];
				if (kv->key.type == MSGPACK_OBJECT_STR &&
				    kv->key.via.str.size == 10 &&
				    !memcmp(kv->key.via.str.ptr,
					    "indexed_at", 10))
					continue;
				msgpack_object_print(m, kv->key);
				putc('=', m);
				msgpack_object_print(m, kv->val);
				putc(' ', m);
			}
			putc('\n', m);
			msgpack_zone_clear(&zone);
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	lin_store_close(&s);
	msgpack_zone_destroy(&zone);
	fclose(m);
	return buf;
}

/* First differing line of two texts, for failure messages. */
static const char *first_diff(const char *a, const char *b, char *out,
			      size_t cap)
{
	size_t i = 0, line = 0;
	while (a[i] && a[i] == b[i])
		i++;
	while (i > 0 && a[i - 1] != '\n')
		i--;
	for (size_t j = 0; j < i; j++)
		line += a[j] == '\n';
	snprintf(out, cap, "line %zu: '%.*s' vs '%.*s'", line + 1,
		 (int)strcspn(a + i, "\n"), a + i, (int)strcspn(b + i, "\n"),
		 b + i);
	return out;
}

static void assert_same(const char *what, const char *got,
			const char *want, uint64_t seed)
{
	char d[1400];
	cr_assert(strcmp(got, want) == 0, "%s differs (seed %llu): %s", what,
		  (unsigned long long)seed, first_diff(got, want, d, sizeof d));
}

/* The store at `store` must equal the reference: its full dump (ids
 * included) is compared; on a difference the id-free lineage is compared
 * first, since its first differing line says more. */
static void assert_store(const char *what, const char *store,
			 const char *want_dump, const char *ref,
			 uint64_t seed)
{
	char *got = full_dump(store);
	if (strcmp(got, want_dump) != 0) {
		char *a = canon_lineage(store), *b = canon_lineage(ref);
		assert_same(what, a, b, seed);
		free(a);
		free(b);
	}
	assert_same(what, got, want_dump, seed);
	free(got);
}

/* ---- the state a killed indexer leaves ------------------------------- */

/* 0: no store file, or a store whose creation was cut before its first
 * commit (an empty file, or an LMDB file with no databases yet), which
 * the next lineage-index run simply initialises; 1: an initialised
 * store. */
static int store_initialised(const char *store)
{
	struct stat st;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi main_db;
	MDB_stat ms;
	int rc;

	if (stat(store, &st) != 0 || st.st_size == 0)
		return 0;
	cr_assert_eq(mdb_env_create(&env), 0);
	rc = mdb_env_open(env, store, MDB_NOSUBDIR | MDB_RDONLY, 0644);
	cr_assert_eq(rc, 0, "%s: cannot open: %s", store, mdb_strerror(rc));
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &main_db), 0);
	cr_assert_eq(mdb_stat(txn, main_db, &ms), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return ms.ms_entries > 0;
}

/* "sources":N of stats --json. */
static long long stats_sources(const char *out)
{
	const char *p = strstr(out, "\"sources\":");
	cr_assert_not_null(p, "stats --json printed no sources: %s", out);
	return strtoll(p + strlen("\"sources\":"), NULL, 10);
}

/* After a kill: the store opens, `check` finds no problem, `stats`
 * works, and no committed file was lost (sources never shrink below
 * `*floor` within one history; `shrinking` allows pruning). Returns
 * the number of sources, -1 when the store is not initialised yet. */
static long long check_after_kill(const char *store, long long *floor,
				  int shrinking, uint64_t seed, int kill_no)
{
	char *check[] = { QUERY, "--store", (char *)store, "check", NULL };
	char *stats[] = { QUERY, "--store", (char *)store, "--json", "stats",
			  NULL };
	int code;

	if (!store_initialised(store))
		return -1;
	char *out = run_out(check, &code);
	cr_assert_eq(code, 0, "kill %d (seed %llu): check exits %d: %s",
		     kill_no, (unsigned long long)seed, code, out);
	free(out);
	out = run_out(stats, &code);
	cr_assert_eq(code, 0, "kill %d (seed %llu): stats exits %d", kill_no,
		     (unsigned long long)seed, code);
	long long n = stats_sources(out);
	free(out);
	if (!shrinking)
		cr_assert_geq(n, *floor, "kill %d (seed %llu): %lld sources, "
			      "%lld were committed before", kill_no,
			      (unsigned long long)seed, n, *floor);
	*floor = n;
	return n;
}

/* Start `argv`, SIGKILL it `delay` ns later. 1 when it was killed, 0 when
 * it had finished (then it must have succeeded). */
static int run_and_kill(char *const argv[], int64_t delay, uint64_t seed)
{
	int64_t t0 = now_ns();
	pid_t pid = spawn(argv, 1);

	sleep_until(t0 + delay);
	kill(pid, SIGKILL);
	int status = wait_child(pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return 1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "(seed %llu) %s exited with status %d on its own", 
		  (unsigned long long)seed, argv[0], status);
	return 0;
}

static int64_t timed_run(char *const argv[])
{
	int64_t t0 = now_ns();
	cr_assert_eq(run(argv), 0, "%s failed", argv[0]);
	return now_ns() - t0;
}

/* ---- tests ------------------------------------------------------------ */

#define MAX_KILLS 25
#define BUDGET_NS ((int64_t)20 * 1000000000)
/* Past its budget a test goes on until it has its minimum of kills, up
 * to this much: on a loaded machine a round (a killed run, its checks)
 * can take seconds, and a fixed budget then failed for want of kills
 * rather than for anything the store did. */
#define HARD_BUDGET_NS ((int64_t)150 * 1000000000)

/* Whether a kill loop goes on: under its cap, and within its budget or,
 * short of its minimum, within the hard budget. */
static int keep_killing(int kills, int max, int min, int64_t start,
			int64_t budget)
{
	int64_t spent = now_ns() - start;
	if (kills >= max)
		return 0;
	return spent < budget || (kills < min && spent < HARD_BUDGET_NS);
}

/* Rounds of: index into a fresh store, killed at random moments over the
 * time an uninterrupted run takes, re-started on the same store until a
 * run finishes; then the store must equal the uninterrupted one. */
Test(crash, sigkill_during_indexing_then_resume, .timeout = 240)
{
	uint64_t seed = rng_seed();
	/* groups of a few ms, so that kills land between group commits */
	setenv("LINEAGE_GROUP_MS", "3", 1);
	gen_synth(th_at("arch"));
	char ref[512], arch[512], st[512];
	snprintf(ref, sizeof ref, "%s", th_at("ref.lmdb"));
	snprintf(arch, sizeof arch, "%s", th_at("arch"));
	char *ref_argv[] = { INDEXER, "-q", "--store", ref, arch, NULL };
	int64_t t = timed_run(ref_argv);
	char *want_lin = canon_lineage(ref), *want_dump = full_dump(ref);
	cr_assert(strstr(want_lin, "source "), "nothing was indexed");

	int64_t start = now_ns();
	int kills = 0, mid = 0, rounds = 0, fresh = 1;
	long long floor = 0;
	snprintf(st, sizeof st, "%s", th_at("s.lmdb"));
	char *argv[] = { INDEXER, "-q", "--store", st, arch, NULL };
	while (keep_killing(kills, MAX_KILLS, mid < 3 ? MAX_KILLS : 5, start,
			    BUDGET_NS)) {
		int64_t delay = (int64_t)(rng_next() % (uint64_t)t);
		if (run_and_kill(argv, delay, seed)) {
			kills++;
			long long n = check_after_kill(st, &floor, 0, seed,
						       kills);
			mid += n > 0 && n < 100;
			fresh = 0;
			continue;
		}
		/* A run finished: this history is complete. */
		assert_store("store after kills", st, want_dump, ref, seed);
		if (!fresh)
			rounds++;
		rm_store(st);
		floor = 0;
		fresh = 1;
	}
	/* Finish the last history and compare it too. */
	cr_assert_eq(run(argv), 0);
	char *got = canon_lineage(st);
	assert_same("lineage after kills", got, want_lin, seed);
	free(got);
	assert_store("store after kills", st, want_dump, ref, seed);
	if (!fresh)
		rounds++;
	free(want_lin);
	free(want_dump);
	cr_log_info("crash: %d kills (%d mid-archive) in %d histories, "
		    "indexer run %.0f ms, seed %llu", kills, mid, rounds,
		    t / 1e6, (unsigned long long)seed);
	cr_assert_geq(kills, 5, "too few kills landed (%d): the budget is "
		      "too small for this machine", kills);
	cr_assert_geq(mid, 3, "only %d of %d kills landed while files were "
		      "being indexed", mid, kills);
}

/* Remove every other file of the archive (in path order); returns how
 * many were removed. */
static int remove_half(const char *arch)
{
	char cmd[700], line[1024];
	int i = 0, removed = 0;
	snprintf(cmd, sizeof cmd, "find '%s' -type f | LC_ALL=C sort", arch);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		if (i++ % 2)
			continue;
		cr_assert_eq(unlink(line), 0, "cannot remove %s", line);
		removed++;
	}
	pclose(p);
	return removed;
}

#define MAX_PRUNE_KILLS 15
#define PRUNE_BUDGET_NS ((int64_t)10 * 1000000000)

/* lineage-index --prune after half the files vanished, killed at random
 * moments and then finished: the same store as an uninterrupted prune,
 * and the same lineage as indexing only the remaining files. */
Test(crash, sigkill_during_prune_then_resume, .timeout = 240)
{
	uint64_t seed = rng_seed() + 1;
	char arch[512], base[512], ref[512], st[512], fresh[512];
	rng_state = seed;
	snprintf(arch, sizeof arch, "%s", th_at("arch"));
	snprintf(base, sizeof base, "%s", th_at("base.lmdb"));
	snprintf(ref, sizeof ref, "%s", th_at("ref.lmdb"));
	snprintf(st, sizeof st, "%s", th_at("s.lmdb"));
	snprintf(fresh, sizeof fresh, "%s", th_at("fresh.lmdb"));
	gen_synth(arch);
	char *base_argv[] = { INDEXER, "-q", "--store", base, arch, NULL };
	cr_assert_eq(run(base_argv), 0);
	int removed = remove_half(arch);
	cr_assert_gt(removed, 10);

	copy_file(base, ref);
	char *ref_argv[] = { INDEXER, "-q", "--prune", "--store", ref, arch,
			     NULL };
	int64_t t = timed_run(ref_argv);
	char *want_lin = canon_lineage(ref), *want_dump = full_dump(ref);
	char *fresh_argv[] = { INDEXER, "-q", "--store", fresh, arch, NULL };
	cr_assert_eq(run(fresh_argv), 0);
	char *fresh_lin = canon_lineage(fresh);
	assert_same("pruned lineage vs indexing only the remaining files",
		    want_lin, fresh_lin, seed);
	free(fresh_lin);

	char *argv[] = { INDEXER, "-q", "--prune", "--store", st, arch,
			 NULL };
	int64_t start = now_ns();
	int kills = 0, mid = 0;
	while (keep_killing(kills, MAX_PRUNE_KILLS, 3, start,
			    PRUNE_BUDGET_NS)) {
		long long floor = 0;
		rm_store(st);
		copy_file(base, st);
		int64_t delay = (int64_t)(rng_next() % (uint64_t)t);
		if (run_and_kill(argv, delay, seed)) {
			kills++;
			long long n = check_after_kill(st, &floor, 1, seed,
						       kills);
			mid += n > 100 - removed && n < 100;
		}
		cr_assert_eq(run(argv), 0);
		assert_store("store after a killed prune", st, want_dump, ref,
			     seed);
	}
	free(want_lin);
	free(want_dump);
	cr_log_info("crash: %d kills during --prune (%d mid-prune), prune "
		    "run %.0f ms, seed %llu", kills, mid, t / 1e6,
		    (unsigned long long)seed);
	cr_assert_geq(kills, 3, "too few kills landed (%d)", kills);
}

/* Readers while an indexer writes: every `check` and `stats` taken
 * during the run sees a consistent snapshot (LMDB read transactions). */
Test(crash, queries_while_indexing_see_consistent_snapshots,
     .timeout = 120)
{
	char arch[512], st[512];
	snprintf(arch, sizeof arch, "%s", th_at("arch"));
	snprintf(st, sizeof st, "%s", th_at("s.lmdb"));
	gen_synth(arch);
	/* groups of a few ms, so that commits happen during the queries */
	setenv("LINEAGE_GROUP_MS", "3", 1);
	char *idx[] = { INDEXER, "-q", "--store", st, arch, NULL };
	char *check[] = { QUERY, "--store", st, "check", NULL };
	char *stats[] = { QUERY, "--store", st, "--json", "stats", NULL };
	pid_t pid = spawn(idx, 0);
	int done = 0, checks = 0;
	long long last = -1;

	while (!done) {
		int status, code;
		done = waitpid(pid, &status, WNOHANG) == pid;
		if (done)
			cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				  "indexer failed");
		if (!store_initialised(st))
			continue;
		char *out = run_out(check, &code);
		cr_assert_eq(code, 0, "check during indexing: %s", out);
		free(out);
		out = run_out(stats, &code);
		cr_assert_eq(code, 0, "stats during indexing");
		long long n = stats_sources(out);
		free(out);
		cr_assert_geq(n, last, "sources went from %lld to %lld", last,
			      n);
		last = n;
		checks++;
	}
	cr_assert_geq(checks, 2, "only %d queries ran during indexing",
		      checks);
	cr_assert_eq(last, 100, "the final snapshot has %lld sources", last);
}
