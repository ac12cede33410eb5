/* each.c - visit every run or node id of the store in key order, for
 * the commands that scan the whole store (export, graph --project, the
 * filter check). */
#include "internal.h"

int lq_each_id(struct lq *q, enum lin_db db, lq_each_fn *fn, void *ctx)
{
	MDB_cursor *c;
	MDB_val k, v;
	int r, rc = 0;

	if ((r = mdb_cursor_open(q->txn, q->store.dbi[db], &c)))
		return lin_store_fail(&q->e, r, "cannot open cursor");
	for (r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0 && rc == 0;
	     r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		/* `runs` maps names to ids; `nodes` is keyed by id */
		const MDB_val *idv = db == LIN_DB_NODES ? &k : &v;
		if (idv->mv_size != 8) {
			rc = lin_err_set(&q->e, LIN_ECORRUPT, LIN_NO_OFFSET,
					 "bad id in '%s'", lin_db_names[db]);
			break;
		}
		uint64_t id = lin_be64_get(idv->mv_data);
		unsigned kind = LIN_ID_KIND(id);
		if (kind != LIN_ID_RUN && kind != LIN_ID_VERSION)
			continue;
		rc = fn(q, id, ctx);
	}
	mdb_cursor_close(c);
	if (rc > 0)  /* the visitor asked to stop */
		rc = 0;
	else if (rc == 0 && r != 0 && r != MDB_NOTFOUND)
		rc = lin_store_fail(&q->e, r, "cannot read the store");
	return rc;
}
