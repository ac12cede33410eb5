/* deep.h - check --deep: every page and entry of the store read and
 * every reference followed (deep.c). */
#ifndef LIN_QUERY_DEEP_H
#define LIN_QUERY_DEEP_H

#include "internal.h"

/* Walk every database of q's open snapshot (LMDB's free list and
 * catalogue too): each entry placed inside the file and in key order,
 * its value decoded, what it names present; entry counts equal to the
 * databases' records; every node reachable from the indexes; the pages
 * adding up to the file. `report` gets each problem (problem 1) with
 * its location ("edges, entry 12 (key 0100...): ..."). Returns 0, or a
 * LIN_E* code with q->e set when the walk could not start. */
int lq_deep(struct lq *q, lq_report_fn *report, void *ctx);

#endif
