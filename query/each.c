/* each.c - visit every run or node id of the store in key order, for
 * the commands that scan the whole store (export, graph --project, the
 * filter check). */
#include "internal.h"
#include "format/view.h"

/* The ids of an open scan: in the key for `nodes`, else in the value. */
static int each(struct lq *q, struct lin_scan *sc, int id_in_key,
		lq_each_fn *fn, void *ctx)
{
	int r, rc = 0;

	while ((r = lin_scan_next(sc)) != 0) {
		if (r < 0) {
			rc = r;
			break;
		}
		const MDB_val *idv = id_in_key ? &sc->k : &sc->v;
		if (idv->mv_size != 8) {
			rc = lin_err_set(&q->e, LIN_ECORRUPT, LIN_NO_OFFSET,
					 "bad id in '%s'",
					 lin_db_names[sc->db]);
			break;
		}
		uint64_t id = lin_be64_get(idv->mv_data);
		unsigned kind = LIN_ID_KIND(id);
		if (kind != LIN_ID_RUN && kind != LIN_ID_VERSION)
			continue;
		if ((rc = fn(q, id, ctx)) != 0)
			break;
	}
	lin_scan_close(sc);
	return rc > 0 ? 0 : rc;  /* > 0: the visitor asked to stop */
}

int lq_each_id(struct lq *q, lq_each_fn *fn, void *ctx)
{
	struct lin_scan sc;
	int rc = lin_scan_open(&sc, q->txn, &q->store, LIN_DB_NODES, NULL, 0,
			       NULL, 0, &q->e);

	return rc ? rc : each(q, &sc, 1, fn, ctx);
}

int lq_each_run(struct lq *q, lq_each_fn *fn, void *ctx)
{
	struct lin_scan sc;
	int rc = lin_view_open(&sc, q->txn, &q->store, LIN_VIEW_RUNS, NULL, 0,
			       NULL, 0, &q->e);

	return rc ? rc : each(q, &sc, 0, fn, ctx);
}
