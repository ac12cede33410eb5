/* grow.h - the one growable-array helper (like git's ALLOC_GROW): room
 * for `need` items, growing by doubling, with overflow checked. */
#ifndef LIN_GROW_H
#define LIN_GROW_H

#include <stddef.h>

/* `pp` points to an array pointer with room for *cap items of `size`
 * bytes. When *cap < need, realloc it to the largest of need, twice
 * *cap and `min` items. Returns 0, or -1 (size overflow or out of
 * memory) leaving the array and *cap as they were. */
int lin_grow(void *pp, size_t *cap, size_t need, size_t size, size_t min);

/* lin_grow for an array `p` (any pointer type) and its capacity `cap`. */
#define LIN_GROW(p, cap, need, min) \
	lin_grow(&(p), &(cap), (need), sizeof *(p), (min))

#endif
