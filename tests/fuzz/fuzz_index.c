/* fuzz_index.c - libFuzzer target: index the input as one run log into
 * a fresh store, then check the store and walk it. Catches indexer
 * crashes and inconsistent derived state on weird but valid records. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/store.h"
#include "format/wandb.h"
#include "indexer/ingest.h"
#include "query/query.h"
#include "tests/fuzz/fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], input[128], store[128], lock[160];
static FILE *devnull;

/* A working folder per input, on tmpfs when there is one (every input
 * creates a store); removed again when the input is done, so only a
 * crashing input leaves its folder behind. */
static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
			   "/tmp";
	snprintf(dir, sizeof dir, "%s/lin-fuzz-XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(input, sizeof input, "%s/in.runlog", dir);
	snprintf(store, sizeof store, "%s/s.lmdb", dir);
	snprintf(lock, sizeof lock, "%s-lock", store);
	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
}

static void cleanup(void)
{
	unlink(input);
	unlink(store);
	unlink(lock);
	rmdir(dir);
}

/* lineage-query with `args` must exit 0; on anything else its
 * diagnostics are shown again and the input counts as a crash. */
static void query_ok(const char *cmd, const char *arg)
{
	char *argv[] = { "lineage-query", "--store", store, (char *)cmd,
			 (char *)arg, NULL };
	int argc = arg ? 5 : 4;
	int rc = lin_query_run(argc, argv, devnull, devnull);

	if (rc != 0) {
		fprintf(stderr, "fuzz_index: lineage-query %s%s%s exits %d:\n",
			cmd, arg ? " " : "", arg ? arg : "", rc);
		lin_query_run(argc, argv, stderr, stderr);
		abort();
	}
}

/* Walk from every node in each direction: each node is reported at most
 * once and the walk ends. */
static void walk_all(void)
{
	static const unsigned dirs[] = { LIN_WALK_DOWN, LIN_WALK_UP,
					  LIN_WALK_BOTH };
	struct lin_store s;
	struct lin_err err;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t nodes = 0;

	if (lin_store_open(&s, store, LIN_STORE_RDONLY, &err) ||
	    lin_store_begin(&s, 1, &txn, &err)) {
		fprintf(stderr, "fuzz_index: %s\n", err.msg);
		abort();
	}
	for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) {
		struct lin_walk *w;
		struct lin_walk_step step;
		int rc;
		if (lin_walk_new(&w, txn, &s, dirs[d], LIN_WALK_ALL, &err) ||
		    mdb_cursor_open(txn, s.dbi[LIN_DB_NODES], &c))
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
	lin_store_close(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lin_index_opts o;
	struct lin_index_stats st;
	struct lin_err err;
	const char *paths[1];

	setup();
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
	if (lin_index_paths(store, paths, 1, &o, &st, &err) != 0) {
		fprintf(stderr, "fuzz_index: indexing failed: %s\n", err.msg);
		abort();
	}
	if (st.indexed + st.rejected + st.ignored != 1) {
		fprintf(stderr, "fuzz_index: the file was counted %llu "
			"times\n", (unsigned long long)(st.indexed +
			st.rejected + st.ignored));
		abort();
	}
	query_ok("check", NULL);
	query_ok("stats", NULL);
	query_ok("ls", "runs");
	query_ok("ls", "artifacts");
	query_ok("ls", "types");
	walk_all();
	cleanup();
	return 0;
}
