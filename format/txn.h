/* txn.h - transactions and environment upkeep for the indexer's writes:
 * nested transactions, commit, flush, map use. With store.h the only
 * code that drives LMDB's environment. */
#ifndef LIN_TXN_H
#define LIN_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Begin a write transaction inside `parent` (NULL: a top-level one), so
 * that it can be undone alone. LIN_ESTORE on failure (*txn NULL). */
int lin_store_begin_nested(struct lin_store *s, MDB_txn *parent,
			   MDB_txn **txn, struct lin_err *err);

/* Commit (LIN_ESTORE on failure; the transaction is gone either way)
 * or abort a transaction. Abort ignores NULL. */
int lin_store_commit(MDB_txn *txn, struct lin_err *err);
void lin_store_abort(MDB_txn *txn);

/* Flush committed transactions to disk. LIN_ESTORE on failure. */
int lin_store_sync(struct lin_store *s, struct lin_err *err);

/* Leave flushing to lin_store_sync (commits no longer wait for the
 * disk; a crash loses the commits since the last sync, never a part of
 * one). */
void lin_store_lazy_sync(struct lin_store *s);

/* Bytes of the map in use (0 when unknown). */
size_t lin_store_used(struct lin_store *s);

/* The id of the snapshot `txn` reads. */
uint64_t lin_store_txn_id(MDB_txn *txn);

/* 1 when a writer committed after snapshot `txnid` (or that cannot be
 * told), 0 when the store is still at it: a reader without the lock
 * file uses it to know whether what it read may be torn. */
int lin_store_changed_since(struct lin_store *s, uint64_t txnid);

#endif
