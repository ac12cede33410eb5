/* deep.h - the deep check of a store (`lineage-query check --deep`):
 * every page and entry of every database read, placed, ordered, decoded
 * and every reference followed (deep.c). Here because it reads the
 * store's pages and byte layout, which only format/ knows. */
#ifndef LIN_FORMAT_DEEP_H
#define LIN_FORMAT_DEEP_H

#include "format/store.h"

/* Called once per finding: problem 1 for damage or an inconsistency,
 * with where it is ("edges, entry 12 (key 0100...): ..."). */
typedef void lin_deep_report_fn(void *ctx, int problem, const char *fmt,
				...) __attribute__((format(printf, 3, 4)));

/* Walk every database of the snapshot `txn` of `s` (LMDB's free list and
 * catalogue too): each entry placed inside the file and in key order,
 * its value decoded, what it names present; entry counts equal to the
 * databases' records; every node reachable from the indexes; the pages
 * adding up to the file. `report` gets each problem. Returns 0 (also
 * when problems were reported), or LIN_ESTORE with `err` set when the
 * walk could not start. Lookups that fail on damage are reported, not
 * returned; `err` is left clear after them. */
int lin_deep_check(MDB_txn *txn, const struct lin_store *s,
		   lin_deep_report_fn *report, void *ctx,
		   struct lin_err *err);

#endif
