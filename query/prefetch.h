/* prefetch.h - reading ahead of a walk over a store that is not in the
 * page cache. A cold walk waits for one 4 KB disk read per store page
 * it touches, one after the other; the disk serves several at once
 * (4,000 random page faults over a 287 MB store: 331 ms from one
 * thread, 130 ms from four, on the benchmark machine; STORE.md
 * "Read-ahead"). Helper threads look up the nodes a walk has queued but
 * not reached yet, as the walk will (their edges and node core), so
 * that those reads overlap and the walk finds the pages in memory.
 *
 * The helpers only read: the walk's answers come from its own reads. A
 * helper that cannot begin a transaction, or faults on a damaged page
 * (caught by its own guard, guard.h), stops quietly and the walk meets
 * the damage itself. */
#ifndef LIN_PREFETCH_H
#define LIN_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "format/store.h"

struct lin_prefetch;

/* Helper threads when LINEAGE_PREFETCH_THREADS does not say (0 there
 * turns reading ahead off; at most 16). */
#define LIN_PREFETCH_THREADS 4

/* When walks read ahead, from the environment: LINEAGE_PREFETCH unset,
 * "off" or anything else: never (since schema 5 put a run and its
 * versions on the same pages, helpers no longer paid: at 1,000,000 runs
 * they made cold hub walks 14-59% slower on two cores, STORE.md
 * "Read-ahead"); "auto": once the walk's thread has waited for the
 * disk; "always": from a walk's first step (for tests: stores that the
 * page cache holds never start helpers otherwise). */
enum lin_prefetch_mode {
	LIN_PREFETCH_OFF, LIN_PREFETCH_AUTO, LIN_PREFETCH_ALWAYS
};
enum lin_prefetch_mode lin_prefetch_mode(void);

/* 1 when LINEAGE_PREFETCH_TRACE is set (not "0"): walks say on stderr
 * when helpers start, and how much they read ahead. A diagnostic. */
int lin_prefetch_tracing(void);

/* Start the helpers for store `s` (open, and left open until
 * lin_prefetch_free). NULL when reading ahead is off, or no thread
 * could be started: the walk then goes on alone. */
struct lin_prefetch *lin_prefetch_new(const struct lin_store *s);

/* Queue `node` for reading ahead, with the walk's directions `dirs`
 * (LIN_WALK_DOWN / LIN_WALK_UP bits). Items are numbered from 0 in the
 * order they are queued. 0, or LIN_ENOMEM (the item is dropped; the
 * walk does not depend on it). */
int lin_prefetch_add(struct lin_prefetch *p, uint64_t node, unsigned dirs);

/* The walk has reached item `i`: helpers skip the items before it. */
void lin_prefetch_reached(struct lin_prefetch *p, size_t i);

/* Stop the helpers, wait for them, and free everything. NULL is
 * accepted. */
void lin_prefetch_free(struct lin_prefetch *p);

/* After a fault abandoned the walks of this process (guard.h): stop and
 * wait for every helper still running, before the store is closed;
 * what they allocated is left (the process ends soon). */
void lin_prefetch_abandon_all(void);

#endif
