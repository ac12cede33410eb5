/* idset.h - an open-addressing set of non-zero u64 ids with insertion
 * order kept, for "touched" nodes and visited sets. */
#ifndef LIN_IDSET_H
#define LIN_IDSET_H

#include <stddef.h>
#include <stdint.h>

struct lin_idset {
	uint64_t *slots;   /* hash table, 0 = empty */
	size_t *pos;       /* per slot: index into order */
	size_t cap;        /* power of two */
	uint64_t *order;   /* ids in insertion order */
	size_t n;
};

void lin_idset_init(struct lin_idset *s);
void lin_idset_release(struct lin_idset *s);
/* Add `id` (non-zero). Returns 1 when added, 0 when present, -1 on
 * allocation failure. */
int lin_idset_add(struct lin_idset *s, uint64_t id);
int lin_idset_has(const struct lin_idset *s, uint64_t id);
/* Position of `id` in insertion order, or -1 when absent. */
long lin_idset_find(const struct lin_idset *s, uint64_t id);

#endif
