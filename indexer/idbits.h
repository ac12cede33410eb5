/* idbits.h - a set of ids (source ids) as a bitmap.
 *
 * The indexer remembers every source it met in a run, to tell vanished
 * files from present ones at the end. Source ids are dense (the store
 * hands them out in sequence), so one bit per id costs 125 KB at a
 * million files where a hash set cost 40 MB. The bitmap stops growing at
 * LIN_IDBITS_DENSE ids (16 MiB); ids beyond it, which only a damaged or
 * hostile store can hold, go to a hash set instead, so memory stays
 * bounded by the ids actually added. */
#ifndef LIN_IDBITS_H
#define LIN_IDBITS_H

#include <stddef.h>
#include <stdint.h>

#include "indexer/idset.h"

#define LIN_IDBITS_DENSE (1u << 27)

struct lin_idbits {
	uint64_t *w;             /* bit i of word i / 64 set: id i present */
	size_t nw;               /* words allocated */
	struct lin_idset sparse; /* ids >= LIN_IDBITS_DENSE, stored id + 1 */
};

void lin_idbits_init(struct lin_idbits *s);
void lin_idbits_release(struct lin_idbits *s);
/* Ids below UINT64_MAX. Returns 0, or -1 on allocation failure or id
 * UINT64_MAX (the set is unchanged). */
int lin_idbits_add(struct lin_idbits *s, uint64_t id);
int lin_idbits_has(const struct lin_idbits *s, uint64_t id);

#endif
