/* fuzz_index.c - libFuzzer target: index the input as one run log into
 * an empty store, then check the store and walk it. Catches indexer
 * crashes and inconsistent derived state on weird but valid records.
 *
 * One store serves every input: it is opened once and emptied before
 * each input (lin_store_reset leaves what a new store holds), and the
 * queries run on it in-process (lin_query_run_store). Opening an LMDB
 * environment per input, and per query, cost more than the indexing
 * itself. The queries run once per distinct store (store_digest). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/keys.h"
#include "format/store.h"
#include "format/wandb.h"
#include "indexer/idset.h"
#include "indexer/ingest.h"
#include "query/query.h"
#include "tests/fuzz/fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], input[128], store_path[128];
static struct lin_store store;
static FILE *devnull;

static void remove_folder(void)
{
	char lock[160];

	snprintf(lock, sizeof lock, "%s-lock", store_path);
	lin_store_close(&store);
	unlink(input);
	unlink(store_path);
	unlink(lock);
	rmdir(dir);
}

/* The working folder and its store, made once, on tmpfs when there is
 * one; removed at exit (a crash leaves it behind, with the input). */
static void setup_once(void)
{
	struct lin_err err;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
			   "/tmp";

	if (devnull)
		return;
	snprintf(dir, sizeof dir, "%s/lin-fuzz-XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(input, sizeof input, "%s/in.runlog", dir);
	snprintf(store_path, sizeof store_path, "%s/s.lmdb", dir);
	if (!(devnull = fopen("/dev/null", "w")))
		abort();
	if (lin_store_open(&store, store_path, 0, &err)) {
		fprintf(stderr, "fuzz_index: %s\n", err.msg);
		abort();
	}
	atexit(remove_folder);
}

/* lineage-query with `args` must exit 0; on anything else its
 * diagnostics are shown again and the input counts as a crash. */
static void query_ok(const char *cmd, const char *arg)
{
	char *argv[] = { "lineage-query", "--store", store_path, (char *)cmd,
			 (char *)arg, NULL };
	int argc = arg ? 5 : 4;
	int rc = lin_query_run_store(&store, argc, argv, devnull, devnull);

	if (rc != 0) {
		fprintf(stderr, "fuzz_index: lineage-query %s%s%s exits %d:\n",
			cmd, arg ? " " : "", arg ? arg : "", rc);
		lin_query_run_store(&store, argc, argv, stderr, stderr);
		abort();
	}
}

/* Walk from every node in each direction: each node is reported at most
 * once and the walk ends. */
static void walk_all(void)
{
	static const unsigned dirs[] = { LIN_WALK_DOWN, LIN_WALK_UP,
					  LIN_WALK_BOTH };
	struct lin_store *s = &store;
	struct lin_err err;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t nodes = 0;

	if (lin_store_begin(s, 1, &txn, &err)) {
		fprintf(stderr, "fuzz_index: %s\n", err.msg);
		abort();
	}
	for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) {
		struct lin_walk *w;
		struct lin_walk_step step;
		int rc;
		if (lin_walk_new(&w, txn, s, dirs[d], LIN_WALK_ALL, &err) ||
		    mdb_cursor_open(txn, s->dbi[LIN_DB_NODES], &c))
			abort();
		nodes = 0;
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
			if (k.mv_size != 8 ||
			    lin_walk_start(w, lin_be64_get(k.mv_data), &err))
				abort();
			nodes++;
		}
		mdb_cursor_close(c);
		while ((rc = lin_walk_next(w, &step, &err)) == 1)
			;
		if (rc != 0) {
			fprintf(stderr, "fuzz_index: walk: %s\n", err.msg);
			abort();
		}
		if (lin_walk_count(w) != nodes) {
			fprintf(stderr, "fuzz_index: walk reached %llu of "
				"%llu nodes\n",
				(unsigned long long)lin_walk_count(w),
				(unsigned long long)nodes);
			abort();
		}
		lin_walk_free(w);
	}
	mdb_txn_abort(txn);
}

/* A digest of what the queries and walks answer from: every key and
 * value of the databases the indexer derives, and the file's counts of
 * records. `sources` and `meta` are left out: they hold the times and
 * the inode of the input file, which change with every input. */
static uint64_t store_digest(const struct lin_index_stats *st)
{
	struct lin_err err;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t h = LIN_FNV_OFFSET;
	const uint64_t counts[] = { st->records, st->bad_records, st->skipped,
				    st->partial };

	h = lin_fnv1a(h, counts, sizeof counts);
	if (lin_store_begin(&store, 1, &txn, &err))
		abort();
	for (int d = 0; d < LIN_DB_COUNT; d++) {
		if (d == LIN_DB_META || d == LIN_DB_SOURCES ||
		    d == LIN_DB_SOURCE_IDS)
			continue;
		if (mdb_cursor_open(txn, store.dbi[d], &c))
			abort();
		h = lin_fnv1a(h, &d, sizeof d);
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
			h = lin_fnv1a(h, &k.mv_size, sizeof k.mv_size);
			h = lin_fnv1a(h, k.mv_data, k.mv_size);
			h = lin_fnv1a(h, &v.mv_size, sizeof v.mv_size);
			h = lin_fnv1a(h, v.mv_data, v.mv_size);
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	return h;
}

/* Whether `h` was seen before in this process; remembers it. */
static int seen_before(uint64_t h)
{
	static struct lin_idset seen;
	int rc = lin_idset_add(&seen, h ? h : 1);   /* ids are non-zero */

	if (rc < 0)
		abort();
	return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lin_index_opts o;
	struct lin_index_stats st;
	struct lin_err err;
	const char *paths[1];

	setup_once();
	if (lin_store_reset(&store, &err)) {
		fprintf(stderr, "fuzz_index: %s\n", err.msg);
		abort();
	}
	/* .wandb inputs with right checksums, so that their records reach
	 * the indexer (fuzz_wandb covers damaged ones) */
	uint8_t *img = malloc(size ? size : 1);
	if (!img)
		abort();
	memcpy(img, data, size);
	if (lin_wandb_sniff(img, size))
		fuzz_wandb_fix_crcs(img, size);
	FILE *f = fopen(input, "wb");
	if (!f || fwrite(img, 1, size, f) != size || fclose(f) != 0) {
		perror(input);
		abort();
	}
	free(img);
	memset(&o, 0, sizeof o);
	paths[0] = input;
	/* A file's content may get the file rejected, never stop the run:
	 * anything but 0 here is a bug. */
	if (lin_index_store(&store, paths, 1, &o, &st, &err) != 0) {
		fprintf(stderr, "fuzz_index: indexing failed: %s\n", err.msg);
		abort();
	}
	if (st.indexed + st.rejected + st.ignored != 1) {
		fprintf(stderr, "fuzz_index: the file was counted %llu "
			"times\n", (unsigned long long)(st.indexed +
			st.rejected + st.ignored));
		abort();
	}
	/* The queries and walks answer from the store: on a store equal to
	 * one they have already run on (a rejected file leaves the empty
	 * store; many mutations change nothing that is kept) they would
	 * answer as they did, so they run once per distinct store (about
	 * 40% of executions from the seeds; the rest skip a third of the
	 * work). An input replayed alone always runs them. */
	if (seen_before(store_digest(&st))) {
		unlink(input);
		return 0;
	}
	query_ok("check", NULL);
	query_ok("stats", NULL);
	query_ok("ls", "runs");
	query_ok("ls", "artifacts");
	query_ok("ls", "types");
	walk_all();
	unlink(input);
	return 0;
}
