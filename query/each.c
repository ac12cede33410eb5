/* each.c - visit every run or node id of the store in key order, for
 * the commands that scan the whole store (export, graph --project, the
 * filter check). */
#include "internal.h"

int lq_each_id(struct lq *q, enum lin_db db, lq_each_fn *fn, void *ctx)
{
	struct lin_scan sc;
	int r, rc = lin_scan_open(&sc, q->txn, &q->store, db, NULL, 0, NULL,
				  0, &q->e);

	while (rc == 0 && (r = lin_scan_next(&sc)) != 0) {
		if (r < 0) {
			rc = r;
			break;
		}
		/* `runs` maps names to ids; `nodes` is keyed by id */
		const MDB_val *idv = db == LIN_DB_NODES ? &sc.k : &sc.v;
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
	lin_scan_close(&sc);
	return rc > 0 ? 0 : rc;  /* > 0: the visitor asked to stop */
}
