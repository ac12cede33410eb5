/* bench.c - lineage-bench: the measuring half of `make bench` (bench/run.sh
 * orchestrates). Each subcommand prints one line of "key value" pairs.
 *
 *   parse DIR          read every runlog with the reader, store nothing
 *   crc DIR            zlib crc32 over every .wandb file's bytes
 *   wandb-read DIR     read every .wandb file with the reader only
 *   starts CSV N SEED  sample N artifacts of a truth CSV, one per line
 *   lineage STORE STARTS   in-process point and k-hop queries
 *   sqlite DB STARTS       the same queries through SQLite's C API
 *   spawn N STARTS CMD...  run CMD N times, "{}" replaced by start i;
 *                      process latencies with the page cache as it is
 *   spawn-cold N STARTS CMD...  the same, dropping the page cache before
 *                      each process when allowed (root); "cold 0" says
 *                      it was not, and the figures are warm
 *   hubs CSV N         the N versions of a truth CSV with the most uses
 *   rss CMD...         run CMD once: wall seconds, peak RSS and peak
 *                      anonymous (heap) RSS
 *   dbsize STORE       per database: entries, pages (branch, leaf,
 *                      overflow), bytes of pages and of values
 * The cold-start floor is bare.c (lineage-bare).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sqlite3.h>
#include <zlib.h>

#include "format/grow.h"
#include "format/runlog.h"
#include "format/store.h"
#include "format/view.h"
#include "format/wandb.h"
#include "query/query.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
	fprintf(stderr, "lineage-bench: %s\n", msg);
	exit(70);
}

/* ---- file lists -------------------------------------------------------- */

static char **files;
static size_t nfiles, capfiles;
static const char *want_suffix;

static int collect(const char *path, const struct stat *sb, int type,
		   struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	size_t n = strlen(path), m = strlen(want_suffix);
	if (want_suffix[0] && (n < m || strstr(path, want_suffix) == NULL))
		return 0;
	if (LIN_GROW(files, capfiles, nfiles + 1, 1024))
		die("out of memory");
	files[nfiles++] = strdup(path);
	return 0;
}

static void list_files(const char *dir, const char *suffix)
{
	want_suffix = suffix;
	nfiles = 0;
	if (nftw(dir, collect, 32, FTW_PHYS) != 0)
		die("cannot walk folder");
}

/* ---- floors ------------------------------------------------------------- */

static int cmd_parse(const char *dir)
{
	uint64_t records = 0, bytes = 0, disk = 0;
	struct lin_record rec;
	struct lin_err err;
	struct stat sb;

	list_files(dir, ".runlog");
	double t0 = now();
	for (size_t i = 0; i < nfiles; i++) {
		struct lin_runlog *r;
		if (lin_runlog_open(&r, files[i], NULL, &err))
			continue;
		int rc;
		while ((rc = lin_runlog_next(r, &rec, &err)) != 0)
			if (rc == 1)
				records++;
			else if (rc != LIN_ERECORD)
				break;
		bytes += lin_runlog_bytes(r);
		lin_runlog_close(r);
		if (stat(files[i], &sb) == 0)
			disk += (uint64_t)sb.st_size;
	}
	double t = now() - t0;
	printf("files %zu records %llu bytes %llu disk_bytes %llu seconds "
	       "%.6f\n", nfiles, (unsigned long long)records,
	       (unsigned long long)bytes, (unsigned long long)disk, t);
	return 0;
}

static int cmd_crc(const char *dir)
{
	static unsigned char buf[1 << 20];
	uint64_t bytes = 0;
	uLong crc = 0;

	list_files(dir, ".wandb");
	double t0 = now();
	for (size_t i = 0; i < nfiles; i++) {
		int fd = open(files[i], O_RDONLY);
		ssize_t n;
		if (fd < 0)
			continue;
		uLong c = crc32(0, Z_NULL, 0);
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			c = crc32(c, buf, (uInt)n);
			bytes += (uint64_t)n;
		}
		crc ^= c;
		close(fd);
	}
	double t = now() - t0;
	printf("files %zu bytes %llu seconds %.6f crc %08lx\n", nfiles,
	       (unsigned long long)bytes, t, crc);
	return 0;
}

static int cmd_wandb_read(const char *dir)
{
	uint64_t records = 0, bytes = 0;
	struct lin_record rec;
	struct lin_err err;

	list_files(dir, ".wandb");
	double t0 = now();
	for (size_t i = 0; i < nfiles; i++) {
		struct lin_wandb *w;
		if (lin_wandb_open(&w, files[i], NULL, &err))
			continue;
		int rc;
		while ((rc = lin_wandb_next(w, &rec, &err)) != 0)
			if (rc == 1)
				records++;
			else if (rc != LIN_ERECORD && rc != LIN_EDAMAGE)
				break;
		bytes += lin_wandb_bytes(w);
		lin_wandb_close(w);
	}
	printf("files %zu records %llu bytes %llu seconds %.6f\n", nfiles,
	       (unsigned long long)records, (unsigned long long)bytes,
	       now() - t0);
	return 0;
}

/* ---- start nodes -------------------------------------------------------- */

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The artifact column of a truth CSV's rows whose kind starts with
 * `kind` ("" for all), sorted, with repeats; their count in *n. */
static char **csv_artifacts(const char *csv, const char *kind, size_t *n)
{
	FILE *f = fopen(csv, "r");
	char line[2048];
	char **arts = NULL;
	size_t na = 0, cap = 0;

	if (!f)
		die("cannot open csv");
	while (fgets(line, sizeof line, f)) {
		char *a = strrchr(line, ',');
		if (!a || strncmp(line, "kind,", 5) == 0 ||
		    strncmp(line, kind, strlen(kind)) != 0)
			continue;
		a[strcspn(a, "\r\n")] = 0;
		if (LIN_GROW(arts, cap, na + 1, 4096))
			die("out of memory");
		if (!(arts[na++] = strdup(a + 1)))
			die("out of memory");
	}
	fclose(f);
	qsort(arts, na, sizeof *arts, str_cmp);
	*n = na;
	return arts;
}

/* Distinct artifacts of the CSV, sorted, then N drawn with the seed. */
static int cmd_starts(const char *csv, long n, uint64_t seed)
{
	size_t na;
	char **arts = csv_artifacts(csv, "", &na);
	size_t u = 0;
	for (size_t i = 0; i < na; i++)
		if (u == 0 || strcmp(arts[i], arts[u - 1]))
			arts[u++] = arts[i];
	for (long i = 0; i < n && u; i++)
		printf("%s\n", arts[mix(&seed) % u]);
	return 0;
}

struct hub {
	char *ref;
	long uses;
};

static int hub_cmp(const void *a, const void *b)
{
	const struct hub *x = a, *y = b;
	if (x->uses != y->uses)
		return x->uses < y->uses ? 1 : -1;
	return strcmp(x->ref, y->ref);
}

/* The N most-used versions: "used" rows counted by version, most first,
 * ties by name. Prints "ref uses" lines. */
static int cmd_hubs(const char *csv, long n)
{
	size_t na;
	char **arts = csv_artifacts(csv, "used,", &na);
	struct hub *h = calloc(na + 1, sizeof *h);
	size_t nh = 0;
	if (!h)
		die("out of memory");
	for (size_t i = 0; i < na; i++)
		if (nh && !strcmp(arts[i], h[nh - 1].ref))
			h[nh - 1].uses++;
		else
			h[nh++] = (struct hub){ arts[i], 1 };
	qsort(h, nh, sizeof *h, hub_cmp);
	for (size_t i = 0; i < nh && (long)i < n; i++)
		printf("%s %ld\n", h[i].ref, h[i].uses);
	return 0;
}

static char **read_starts(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char line[2048], **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!f)
		die("cannot open starts");
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0])
			continue;
		if (LIN_GROW(v, cap, *n + 1, 1024))
			die("out of memory");
		v[(*n)++] = strdup(line);
	}
	fclose(f);
	return v;
}

/* ---- query latencies ---------------------------------------------------- */

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, double *lat, size_t n, uint64_t sum)
{
	qsort(lat, n, sizeof *lat, dbl_cmp);
	double total = 0;
	for (size_t i = 0; i < n; i++)
		total += lat[i];
	printf("%s median_us %.3f p99_us %.3f total_s %.6f answers %llu\n",
	       name, lat[n / 2] * 1e6, lat[(n * 99) / 100] * 1e6, total,
	       (unsigned long long)sum);
}

/* "entity/project/name:vN" -> version node id */
static int version_node(MDB_txn *txn, struct lin_store *s, const char *ref,
			uint64_t *node)
{
	char buf[1024], *e, *p, *nm, *colon;
	uint64_t coll;

	snprintf(buf, sizeof buf, "%s", ref);
	e = buf;
	if (!(p = strchr(e, '/')))
		return -1;
	*p++ = 0;
	if (!(nm = strchr(p, '/')))
		return -1;
	*nm++ = 0;
	if (!(colon = strrchr(nm, ':')) || colon[1] != 'v')
		return -1;
	*colon = 0;
	if (lin_view_get(txn, s, LIN_VIEW_COLLS, e, strlen(e), p, strlen(p),
			 nm, strlen(nm), &coll, NULL))
		return -1;
	return lin_store_version(txn, s, coll,
				 (uint32_t)strtoul(colon + 2, NULL, 10), node,
				 NULL);
}

struct qdef {
	const char *name;
	unsigned dir;      /* 0: point query */
	unsigned kind;     /* point: edge kind */
	uint32_t depth;
};

static const struct qdef queries[] = {
	{ "logged_by", 0, LIN_EDGE_LOGGED_BY, 1 },
	{ "used_by", 0, LIN_EDGE_USED_BY, 1 },
	{ "down_1", LIN_WALK_DOWN, 0, 1 },
	{ "down_3", LIN_WALK_DOWN, 0, 3 },
	{ "down_all", LIN_WALK_DOWN, 0, LIN_WALK_ALL },
	{ "up_1", LIN_WALK_UP, 0, 1 },
	{ "up_3", LIN_WALK_UP, 0, 3 },
	{ "up_all", LIN_WALK_UP, 0, LIN_WALK_ALL },
};
#define NQ (sizeof queries / sizeof *queries)

/* One untimed pass warms the caches (both systems get one); then TIMED
 * passes whose latencies are pooled: single passes over 1,000 queries
 * of a few microseconds vary too much on a shared machine. */
#define TIMED 5

static int cmd_lineage(const char *store, const char *starts_path)
{
	struct lin_store s;
	struct lin_err err;
	MDB_txn *txn;
	size_t n;
	char **starts = read_starts(starts_path, &n);
	uint64_t *ids = calloc(n, sizeof *ids);
	double *lat = calloc(n * TIMED, sizeof *lat);

	if (lin_store_open(&s, store, LIN_STORE_RDONLY, &err) ||
	    lin_store_begin(&s, 1, &txn, &err))
		die(err.msg);
	for (size_t i = 0; i < n; i++)
		if (version_node(txn, &s, starts[i], &ids[i]))
			die("start node not in the store");
	for (size_t q = 0; q < NQ; q++)
	for (int pass = 0; pass <= TIMED; pass++) {
		uint64_t sum = 0;
		for (size_t i = 0; i < n; i++) {
			double t0 = now();
			uint64_t count = 0;
			if (queries[q].dir == 0) {
				struct lin_nbrs nb = { 0 };
				if (lin_walk_neighbours(txn, &s, ids[i],
							queries[q].kind,
							queries[q].kind, &nb,
							&err))
					die(err.msg);
				count = nb.n;
				lin_nbrs_free(&nb);
			} else {
				struct lin_walk *w;
				struct lin_walk_step step;
				int rc;
				if (lin_walk_new(&w, txn, &s, queries[q].dir,
						 queries[q].depth, &err) ||
				    lin_walk_start(w, ids[i], &err))
					die(err.msg);
				while ((rc = lin_walk_next(w, &step, &err)) == 1)
					;
				if (rc < 0)
					die(err.msg);
				count = lin_walk_count(w) - 1;
				lin_walk_free(w);
			}
			if (pass)
				lat[(size_t)(pass - 1) * n + i] = now() - t0;
			sum += count;
		}
		if (pass == TIMED)
			report(queries[q].name, lat, n * TIMED, sum);
	}
	mdb_txn_abort(txn);
	lin_store_close(&s);
	return 0;
}

static const char *sql_for(const struct qdef *q)
{
	if (q->dir == 0)
		return q->kind == LIN_EDGE_LOGGED_BY ?
		       "SELECT count(DISTINCT src) FROM g WHERE dst = ?1 "
		       "AND kind = 'logged'" :
		       "SELECT count(DISTINCT dst) FROM g WHERE src = ?1 "
		       "AND kind = 'used'";
	if (q->depth == LIN_WALK_ALL)
		return q->dir == LIN_WALK_DOWN ?
		       "WITH RECURSIVE r(n) AS (SELECT ?1 UNION "
		       "SELECT g.dst FROM g JOIN r ON g.src = r.n) "
		       "SELECT count(*) - 1 FROM r" :
		       "WITH RECURSIVE r(n) AS (SELECT ?1 UNION "
		       "SELECT g.src FROM g JOIN r ON g.dst = r.n) "
		       "SELECT count(*) - 1 FROM r";
	return q->dir == LIN_WALK_DOWN ?
	       "WITH RECURSIVE r(n, d) AS (SELECT ?1, 0 UNION "
	       "SELECT g.dst, r.d + 1 FROM g JOIN r ON g.src = r.n "
	       "WHERE r.d < ?2) SELECT count(DISTINCT n) - 1 FROM r" :
	       "WITH RECURSIVE r(n, d) AS (SELECT ?1, 0 UNION "
	       "SELECT g.src, r.d + 1 FROM g JOIN r ON g.dst = r.n "
	       "WHERE r.d < ?2) SELECT count(DISTINCT n) - 1 FROM r";
}

static int cmd_sqlite(const char *dbpath, const char *starts_path)
{
	sqlite3 *db;
	size_t n;
	char **starts = read_starts(starts_path, &n);
	double *lat = calloc(n * TIMED, sizeof *lat);

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL))
		die("cannot open sqlite db");
	for (size_t q = 0; q < NQ; q++) {
		sqlite3_stmt *st;
		uint64_t sum = 0;
		if (sqlite3_prepare_v2(db, sql_for(&queries[q]), -1, &st,
				       NULL))
			die(sqlite3_errmsg(db));
		for (size_t i = 0; i < (TIMED + 1) * n; i++) {
			if (i % n == 0)  /* answers of the last pass */
				sum = 0;
			double t0 = now();
			sqlite3_bind_text(st, 1, starts[i % n], -1,
					  SQLITE_STATIC);
			if (queries[q].dir && queries[q].depth != LIN_WALK_ALL)
				sqlite3_bind_int(st, 2, (int)queries[q].depth);
			if (sqlite3_step(st) != SQLITE_ROW)
				die(sqlite3_errmsg(db));
			sum += (uint64_t)sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			if (i >= n)
				lat[i - n] = now() - t0;
		}
		sqlite3_finalize(st);
		report(queries[q].name, lat, n * TIMED, sum);
	}
	sqlite3_close(db);
	return 0;
}

/* ---- processes ---------------------------------------------------------- */

/* RssAnon of `pid` in KiB (heap and stacks, without the mapped store
 * file, whose pages the kernel counts in ru_maxrss too), or -1. */
static long rss_anon(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static long peak_anon;

/* Run argv with stdout to /dev/null: wall seconds; its peak RSS into
 * *maxrss_kb. `sample`: poll RssAnon every 2 ms into peak_anon (which
 * adds up to 2 ms to the time: for long runs only). */
static double run_child(char **argv, long *maxrss_kb, int sample)
{
	struct rusage ru;
	int status;
	double t0 = now();
	pid_t pid = fork();

	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	peak_anon = 0;
	for (;;) {
		pid_t w = wait4(pid, &status, sample ? WNOHANG : 0, &ru);
		if (w < 0)
			die("wait failed");
		if (w == pid)
			break;
		long a = rss_anon(pid);
		if (a > peak_anon)
			peak_anon = a;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
	double t = now() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
		die("child failed to run");
	if (maxrss_kb)
		*maxrss_kb = ru.ru_maxrss;
	return t;
}

/* argv with every "{}" inside each argument replaced by `start`; the
 * strings are leaked on purpose (a few per spawned process). */
static char **subst(char **argv, int argc, const char *start)
{
	char **v = calloc((size_t)argc + 1, sizeof *v);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *hit;
		size_t cap = strlen(a) + 1, n = 0;
		for (hit = a; (hit = strstr(hit, "{}")); hit += 2)
			cap += strlen(start);
		char *out = malloc(cap);
		if (!out)
			die("out of memory");
		while ((hit = strstr(a, "{}"))) {
			memcpy(out + n, a, (size_t)(hit - a));
			n += (size_t)(hit - a);
			memcpy(out + n, start, strlen(start));
			n += strlen(start);
			a = hit + 2;
		}
		strcpy(out + n, a);
		v[i] = out;
	}
	return v;
}

/* Drop the page cache (clean pages only: sync first). 1 when done. */
static int drop_cache(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return 0;
	int ok = write(fd, "1\n", 2) == 2;
	close(fd);
	return ok;
}

/* A start line may carry more after a space (hubs' use counts): the
 * first word is the start. */
static int cmd_spawn(long n, const char *starts_path, int cold, int argc,
		     char **argv)
{
	size_t ns;
	char **starts = read_starts(starts_path, &ns);
	double *lat = calloc((size_t)n, sizeof *lat);
	long maxrss = 0;
	int dropped = 1;

	if (!ns)
		die("no starts");
	for (long i = 0; i < n; i++) {
		char *st = starts[(size_t)i % ns];
		st[strcspn(st, " ")] = 0;
		char **v = subst(argv, argc, st);
		long kb = 0;
		if (cold)
			dropped &= drop_cache();
		lat[i] = run_child(v, &kb, 0);
		if (kb > maxrss)
			maxrss = kb;
		free(v);
	}
	qsort(lat, (size_t)n, sizeof *lat, dbl_cmp);
	printf("spawn median_us %.3f p99_us %.3f min_us %.3f max_us %.3f "
	       "maxrss_kb %ld cold %d\n", lat[n / 2] * 1e6,
	       lat[((size_t)n * 99) / 100] * 1e6, lat[0] * 1e6,
	       lat[n - 1] * 1e6, maxrss, cold && dropped);
	return 0;
}

static int cmd_rss(int argc, char **argv)
{
	long kb = 0;
	char **v = subst(argv, argc, "");
	double t = run_child(v, &kb, 1);
	printf("seconds %.6f maxrss_kb %ld anon_kb %ld\n", t, kb, peak_anon);
	free(v);
	return 0;
}

/* One line per database of STORE: what it holds and what it costs. */
static int cmd_dbsize(const char *store)
{
	struct lin_store s;
	struct lin_err err;
	MDB_txn *txn;

	if (lin_store_open(&s, store, LIN_STORE_RDONLY, &err) ||
	    lin_store_begin(&s, 1, &txn, &err)) {
		fprintf(stderr, "lineage-bench: %s\n", err.msg);
		return 66;
	}
	for (int i = 0; i < LIN_DB_COUNT; i++) {
		MDB_stat st;
		MDB_cursor *c;
		MDB_val k, v;
		unsigned long long vbytes = 0, kbytes = 0;
		if (mdb_stat(txn, s.dbi[i], &st) ||
		    mdb_cursor_open(txn, s.dbi[i], &c))
			return 70;
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
			kbytes += k.mv_size;
			vbytes += v.mv_size;
		}
		mdb_cursor_close(c);
		size_t pages = st.ms_branch_pages + st.ms_leaf_pages +
			       st.ms_overflow_pages;
		printf("db %s entries %zu branch %zu leaf %zu overflow %zu "
		       "page_bytes %zu key_bytes %llu value_bytes %llu\n",
		       lin_db_names[i], st.ms_entries, st.ms_branch_pages,
		       st.ms_leaf_pages, st.ms_overflow_pages,
		       pages * st.ms_psize, kbytes, vbytes);
	}
	mdb_txn_abort(txn);
	lin_store_close(&s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "parse") == 0)
		return cmd_parse(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "crc") == 0)
		return cmd_crc(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "wandb-read") == 0)
		return cmd_wandb_read(argv[2]);
	if (argc >= 5 && strcmp(argv[1], "starts") == 0)
		return cmd_starts(argv[2], atol(argv[3]),
				  strtoull(argv[4], NULL, 10));
	if (argc >= 4 && strcmp(argv[1], "lineage") == 0)
		return cmd_lineage(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "sqlite") == 0)
		return cmd_sqlite(argv[2], argv[3]);
	if (argc >= 5 && strcmp(argv[1], "spawn") == 0)
		return cmd_spawn(atol(argv[2]), argv[3], 0, argc - 4, argv + 4);
	if (argc >= 5 && strcmp(argv[1], "spawn-cold") == 0)
		return cmd_spawn(atol(argv[2]), argv[3], 1, argc - 4, argv + 4);
	if (argc >= 4 && strcmp(argv[1], "hubs") == 0)
		return cmd_hubs(argv[2], atol(argv[3]));
	if (argc >= 3 && strcmp(argv[1], "rss") == 0)
		return cmd_rss(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "dbsize") == 0)
		return cmd_dbsize(argv[2]);
	fprintf(stderr, "usage: lineage-bench parse|crc|wandb-read DIR | "
		"starts CSV N SEED | lineage STORE STARTS | sqlite DB STARTS | "
		"spawn|spawn-cold N STARTS CMD... | hubs CSV N | rss CMD... | "
		"dbsize STORE\n");
	return 64;
}
