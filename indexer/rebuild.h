/* rebuild.h - lineage-index --rebuild: a fresh store from the sources a
 * store names, swapped in with rename(2). */
#ifndef LIN_REBUILD_H
#define LIN_REBUILD_H

#include "indexer/ingest.h"

/* Re-index every source the store at `store_path` names (read from its
 * source_ids, else its sources database, as far as they can be read:
 * faults are caught), plus `paths`, into a new store beside it
 * ("STORE.rebuild-PID"), then rename it over the old one and remove the
 * old lock file. Sources that no longer exist are reported as
 * LIN_FILE_VANISHED and counted in st->vanished. When the old store's
 * list of sources cannot be read whole, the user must give the paths
 * again (`paths`); without them nothing is changed and LIN_ECORRUPT says
 * so. Returns 0 or a LIN_E* code with `err` set (the old store is then
 * untouched). */
int lin_index_rebuild(const char *store_path, const char *const *paths,
		      size_t npaths, const struct lin_index_opts *opts,
		      struct lin_index_stats *st, struct lin_err *err);

#endif
