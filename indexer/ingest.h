/* ingest.h - indexing run logs into the store: the work behind
 * lineage-index. Library code: reports through a callback, never prints. */
#ifndef LIN_INGEST_H
#define LIN_INGEST_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "format/err.h"
#include "format/store.h"

enum lin_file_status {
	LIN_FILE_INDEXED,   /* read and committed */
	LIN_FILE_UNCHANGED, /* same size, mtime and inode as last time */
	LIN_FILE_REJECTED,  /* unreadable: nothing of it committed, what it
			       contributed before is kept */
	LIN_FILE_WARNING,   /* one record or damaged part skipped; the file
			       is indexed (reported once per problem) */
	LIN_FILE_VANISHED,  /* indexed before, gone now (kept) */
	LIN_FILE_PRUNED,    /* vanished, and its contribution removed */
	LIN_FILE_IGNORED,   /* found in a folder, not a run log */
	LIN_FILE_PARTIAL,   /* a .wandb or plain runlog file ends inside a
			       record (its run is still writing, or
			       crashed): indexed up to there */
	LIN_FILE_MOVED      /* a file indexed under another path that is
			       gone (same inode, size and mtime, or same
			       content): its source now names this path */
};

/* Called for every file and every problem. `err` is NULL for INDEXED,
 * UNCHANGED, PRUNED, VANISHED and MOVED; `done` counts files handled so far. */
typedef void lin_index_report_fn(void *ctx, enum lin_file_status st,
				 const char *path, const struct lin_err *err,
				 uint64_t done);

struct lin_index_opts {
	const char *entity;   /* default entity; NULL: "local" */
	const char *project;  /* default project; NULL: "default" */
	int prune;            /* remove what vanished files contributed */
	int sync;             /* flush every file's commit to disk */
	/* When set and *stop becomes non-zero (a signal handler stores the
	 * signal number), no new file is started: the current group is
	 * committed and the run ends with st->interrupted set. */
	volatile sig_atomic_t *stop;
	lin_index_report_fn *report;
	void *report_ctx;
};

struct lin_index_stats {
	uint64_t indexed, unchanged, rejected, vanished, pruned, ignored;
	uint64_t partial;     /* indexed files that end inside a record */
	uint64_t moved;       /* files re-keyed to their new path */
	uint64_t records;     /* lineage records committed */
	uint64_t bad_records; /* records skipped as invalid or damaged */
	uint64_t skipped;     /* records of unknown kind */
	uint64_t bytes;       /* input bytes read (uncompressed) */
	int interrupted;      /* *opts->stop when the run was stopped */
	/* store totals after the run */
	uint64_t runs, versions, edges, pending, sources;
};

/* Index every path (files, or folders searched recursively) into the
 * store at `store_path` (created when missing), one transaction per file.
 * Returns 0 when the store could be used (per-file problems are counted
 * in `st` and reported), else a negative LIN_E* code with `err` set. */
int lin_index_paths(const char *store_path, const char *const *paths,
		    size_t npaths, const struct lin_index_opts *opts,
		    struct lin_index_stats *st, struct lin_err *err);

/* lin_index_paths into `s`, a store already open for writing (not
 * closed; its map may have grown). For harnesses that index many inputs
 * into one store (tests/fuzz/fuzz_index.c). */
int lin_index_store(struct lin_store *s, const char *const *paths,
		    size_t npaths, const struct lin_index_opts *opts,
		    struct lin_index_stats *st, struct lin_err *err);

#endif
