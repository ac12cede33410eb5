/* mpcheck.h - bounds check of stored MessagePack before decoding. */
#ifndef LIN_MPCHECK_H
#define LIN_MPCHECK_H

#include <stddef.h>

/* Check that `p[0..len)` is exactly one well-formed msgpack value whose
 * containers never claim more elements than bytes remain and nest at
 * most 32 deep, so decoding it cannot allocate without bound.
 * 0 or LIN_ECORRUPT. */
int lin_mp_check(const void *p, size_t len);

/* The bytes of the first value at `p` that passes the same checks
 * (more may follow it), or 0 when there is none. */
size_t lin_mp_len(const void *p, size_t len);

/* lin_mp_len of a value found inside `depth` containers, so that the
 * whole value's nesting stays within the same bound. */
size_t lin_mp_len_at(const void *p, size_t len, unsigned depth);

#endif
