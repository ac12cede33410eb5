/* txn.c - transactions and environment upkeep for the indexer. */
#include "txn.h"

int lin_store_begin_nested(struct lin_store *s, MDB_txn *parent,
			   MDB_txn **txn, struct lin_err *err)
{
	int rc = mdb_txn_begin(s->env, parent, 0, txn);

	if (rc) {
		*txn = NULL;
		return lin_store_fail(err, rc, "cannot begin transaction");
	}
	return 0;
}

int lin_store_commit(MDB_txn *txn, struct lin_err *err)
{
	int rc = mdb_txn_commit(txn);

	return rc ? lin_store_fail(err, rc, "cannot commit") : 0;
}

void lin_store_abort(MDB_txn *txn)
{
	if (txn)
		mdb_txn_abort(txn);
}

int lin_store_sync(struct lin_store *s, struct lin_err *err)
{
	int rc = mdb_env_sync(s->env, 1);

	return rc ? lin_store_fail(err, rc, "cannot sync store") : 0;
}

void lin_store_lazy_sync(struct lin_store *s)
{
	mdb_env_set_flags(s->env, MDB_NOSYNC, 1);
}

size_t lin_store_used(struct lin_store *s)
{
	MDB_envinfo info;
	MDB_stat ms;

	if (mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &ms))
		return 0;
	return (size_t)(info.me_last_pgno + 1) * ms.ms_psize;
}

uint64_t lin_store_txn_id(MDB_txn *txn)
{
	return (uint64_t)mdb_txn_id(txn);
}

int lin_store_changed_since(struct lin_store *s, uint64_t txnid)
{
	MDB_envinfo info;

	return mdb_env_info(s->env, &info) != 0 ||
	       (uint64_t)info.me_last_txnid != txnid;
}
