/* compact.h - a compacted, consistent copy of a store for shipping. */
#ifndef LIN_COMPACT_H
#define LIN_COMPACT_H

#include <stdint.h>

#include "err.h"

/* Copy the store at `from` to a new file `to`: one read snapshot (an
 * indexer may keep writing), every database rewritten in key order with
 * MDB_APPEND, so its pages are full and free pages are left out. The
 * copy is written beside `to`, flushed, validated and only then renamed
 * to `to`, so `to` is a whole store or absent. It needs no lock file to
 * be read (open it read-only on read-only media: lin_store_open falls
 * back to MDB_NOLOCK). *from_size and *to_size get the two file sizes
 * (either may be NULL). Errors: LIN_ENOTFOUND (no store), LIN_EIO (`to` exists
 * or cannot be written; err.sys holds errno), LIN_ECORRUPT/LIN_ESCHEMA
 * (the store is damaged or not a store), LIN_ESTORE. */
int lin_store_compact(const char *from, const char *to,
		      uint64_t *from_size, uint64_t *to_size,
		      struct lin_err *err);

#endif
