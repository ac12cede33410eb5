/* cursor.c - point writes, prefix scans and typed iterators over the
 * store's databases (the tools' only way to LMDB). */
#include "cursor.h"

#include <stdlib.h>
#include <string.h>

#include "attrs.h"

/* A value as `db` stores it (lin_db_coded: attribute names as codes),
 * in `buf` when it fits, else in *heap (the caller frees it): 0, or
 * LIN_ENOMEM. A value the coder refuses (not one well-formed value) is
 * stored as given. */
#define CODED_BUF 2048
static int stored_value(enum lin_db db, MDB_val *val, unsigned char *buf,
			void **heap)
{
	size_t n;

	*heap = NULL;
	if (!lin_db_coded(db) ||
	    !(n = lin_attrs_encode(val->mv_data, val->mv_size, buf,
				   CODED_BUF)))
		return 0;
	if (n > CODED_BUF) {
		if (!(*heap = malloc(n)))
			return LIN_ENOMEM;
		lin_attrs_encode(val->mv_data, val->mv_size, *heap, n);
	}
	val->mv_data = *heap ? *heap : buf;
	val->mv_size = n;
	return 0;
}

static int nomem(struct lin_err *err)
{
	return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET, "out of memory");
}

int lin_store_put(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		  const void *k, size_t kn, const void *v, size_t vn,
		  struct lin_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	unsigned char buf[CODED_BUF];
	void *heap;
	int rc;

	if (stored_value(db, &val, buf, &heap))
		return nomem(err);
	rc = mdb_put(txn, s->dbi[db], &key, &val, 0);
	free(heap);
	return rc ? lin_store_fail(err, rc, "cannot write store") : 0;
}

int lin_store_put_last(MDB_txn *txn, const struct lin_store *s,
		       enum lin_db db, const void *k, size_t kn,
		       const void *v, size_t vn, struct lin_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	unsigned char buf[CODED_BUF];
	void *heap;
	int rc;

	if (stored_value(db, &val, buf, &heap))
		return nomem(err);
	/* MDB_APPEND skips the search and, when a page splits, leaves the
	 * full page full (a plain put halves it); LMDB refuses it with
	 * MDB_KEYEXIST when the key is not past the last one. */
	rc = mdb_put(txn, s->dbi[db], &key, &val, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(txn, s->dbi[db], &key, &val, 0);
	free(heap);
	return rc ? lin_store_fail(err, rc, "cannot write store") : 0;
}

int lin_store_del(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		  const void *k, size_t kn, const void *v, size_t vn,
		  struct lin_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc = mdb_del(txn, s->dbi[db], &key, v ? &val : NULL);

	if (rc == MDB_NOTFOUND)
		return 0;
	return rc ? lin_store_fail(err, rc, "cannot delete from store") : 0;
}

/* lin_store_put_new and lin_store_put_new_last: `last` tries MDB_APPEND
 * first, which inserts without a search when the key is past the last
 * one (so it is new) and is refused with MDB_KEYEXIST otherwise. */
static int put_new(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		   const void *k, size_t kn, const void *v, size_t vn,
		   int last, struct lin_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	unsigned char buf[CODED_BUF];
	void *heap;
	int dup = lin_db_dupsort(db), rc = MDB_KEYEXIST;

	if (stored_value(db, &val, buf, &heap))
		return nomem(err);
	MDB_val coded = val;
	if (last && !dup) {
		rc = mdb_put(txn, s->dbi[db], &key, &val, MDB_APPEND);
		val = coded;
	}
	/* One search either way: LMDB refuses with MDB_KEYEXIST what is
	 * there, which a dupsort put would skip silently anyway. */
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(txn, s->dbi[db], &key, &val,
			     dup ? MDB_NODUPDATA : MDB_NOOVERWRITE);
	if (rc == 0 || (rc == MDB_KEYEXIST && dup)) {
		free(heap);
		return rc == 0;
	}
	if (rc == MDB_KEYEXIST) {
		/* LMDB pointed val at the value found */
		val = coded;
		rc = mdb_put(txn, s->dbi[db], &key, &val, 0);
	}
	free(heap);
	return rc ? lin_store_fail(err, rc, "cannot write store") : 0;
}

int lin_store_put_new(MDB_txn *txn, const struct lin_store *s,
		      enum lin_db db, const void *k, size_t kn,
		      const void *v, size_t vn, struct lin_err *err)
{
	return put_new(txn, s, db, k, kn, v, vn, 0, err);
}

int lin_store_put_new_last(MDB_txn *txn, const struct lin_store *s,
			   enum lin_db db, const void *k, size_t kn,
			   const void *v, size_t vn, struct lin_err *err)
{
	return put_new(txn, s, db, k, kn, v, vn, 1, err);
}

int lin_store_del_found(MDB_txn *txn, const struct lin_store *s,
			enum lin_db db, const void *k, size_t kn,
			const void *v, size_t vn, struct lin_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc = mdb_del(txn, s->dbi[db], &key, v ? &val : NULL);

	if (rc == MDB_NOTFOUND)
		return 0;
	return rc ? lin_store_fail(err, rc, "cannot delete from store") : 1;
}

int lin_store_del_prefix(MDB_txn *txn, const struct lin_store *s,
			 enum lin_db db, const void *pre, size_t pn,
			 struct lin_err *err)
{
	MDB_cursor *c;
	MDB_val key = { pn, (void *)pre }, val;
	int rc = mdb_cursor_open(txn, s->dbi[db], &c);

	if (rc)
		return lin_store_fail(err, rc, "cannot open cursor");
	/* Seek afresh after each delete: the cursor then never depends on
	 * where LMDB leaves it after a deletion. */
	rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size >= pn &&
	       memcmp(key.mv_data, pre, pn) == 0) {
		if ((rc = mdb_cursor_del(c, 0)))
			break;
		key.mv_size = pn;
		key.mv_data = (void *)pre;
		rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 :
	       lin_store_fail(err, rc, "cannot delete from store");
}

size_t lin_store_entries(MDB_txn *txn, const struct lin_store *s,
			 enum lin_db db)
{
	uint64_t n = 0;

	return lin_store_count(txn, s, db, &n, NULL) ? 0 : (size_t)n;
}

int lin_store_count(MDB_txn *txn, const struct lin_store *s, enum lin_db db,
		    uint64_t *n, struct lin_err *err)
{
	MDB_stat ms;
	int rc = mdb_stat(txn, s->dbi[db], &ms);

	if (rc)
		return lin_store_fail(err, rc, "cannot stat database");
	*n = ms.ms_entries;
	return 0;
}

/* ---- scans ------------------------------------------------------------ */

static int scan_init(struct lin_scan *sc, MDB_txn *txn,
		     const struct lin_store *s, enum lin_db db,
		     const void *pre, size_t pn, struct lin_err *err)
{
	int rc;

	memset(sc, 0, sizeof *sc);
	sc->err = err;
	sc->db = db;
	/* Short prefixes (every key prefix) are copied, so callers may
	 * build them on the stack; a longer one (a path) is used in place. */
	sc->pre = pn <= sizeof sc->buf ? sc->buf : pre;
	if (pn && pn <= sizeof sc->buf)
		memcpy(sc->buf, pre, pn);
	sc->pn = pn;
	if ((rc = mdb_cursor_open(txn, s->dbi[db], &sc->c))) {
		sc->c = NULL;
		return lin_store_fail(err, rc, "cannot open cursor");
	}
	return 0;
}

int lin_scan_open(struct lin_scan *sc, MDB_txn *txn,
		  const struct lin_store *s, enum lin_db db, const void *pre,
		  size_t pn, const void *start, size_t sn,
		  struct lin_err *err)
{
	int rc = scan_init(sc, txn, s, db, pre, pn, err);

	if (rc)
		return rc;
	sc->start.mv_size = start ? sn : sc->pn;
	sc->start.mv_data = start ? (void *)start : (void *)sc->pre;
	return 0;
}

int lin_scan_dups(struct lin_scan *sc, MDB_txn *txn,
		  const struct lin_store *s, enum lin_db db, const void *k,
		  size_t kn, const void *from, size_t fn,
		  struct lin_err *err)
{
	int rc = scan_init(sc, txn, s, db, k, kn, err);

	if (rc)
		return rc;
	sc->dups = 1;
	sc->start.mv_size = from ? fn : 0;
	sc->start.mv_data = (void *)from;
	return 0;
}

int lin_scan_next(struct lin_scan *sc)
{
	int rc;

	if (sc->rows_next)
		return sc->rows_next(sc);
	if (!sc->c)
		return 0;
	if (sc->started) {
		rc = mdb_cursor_get(sc->c, &sc->k, &sc->v,
				    sc->dups ? MDB_NEXT_DUP : MDB_NEXT);
	} else if (sc->dups) {
		sc->k.mv_size = sc->pn;
		sc->k.mv_data = (void *)sc->pre;
		sc->v = sc->start;
		rc = mdb_cursor_get(sc->c, &sc->k, &sc->v,
				    sc->start.mv_data ? MDB_GET_BOTH_RANGE :
							MDB_SET_KEY);
	} else {
		sc->k = sc->start;
		rc = mdb_cursor_get(sc->c, &sc->k, &sc->v,
				    sc->k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
	}
	sc->started = 1;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return lin_store_fail(sc->err, rc, "cannot read store");
	if ((rc = lin_order_next(&sc->order, sc->dups ? NULL : &sc->k,
				 sc->dups || lin_db_dupsort(sc->db) ? &sc->v :
				 NULL, sc->db, sc->err)))
		return rc;
	if (sc->k.mv_size < sc->pn || memcmp(sc->k.mv_data, sc->pre, sc->pn))
		return 0;
	return 1;
}

void lin_scan_restart(struct lin_scan *sc)
{
	sc->started = 0;
}

void lin_scan_close(struct lin_scan *sc)
{
	if (sc->rows_free)
		sc->rows_free(sc);
	sc->rows_next = NULL;
	sc->rows_free = NULL;
	if (sc->c)
		mdb_cursor_close(sc->c);
	sc->c = NULL;
}

/* ---- versions, aliases, names ------------------------------------------ */

int lin_store_versions(struct lin_scan *sc, MDB_txn *txn,
		       const struct lin_store *s, uint64_t coll,
		       struct lin_err *err)
{
	unsigned char k[8];

	return lin_scan_open(sc, txn, s, LIN_DB_COLL_VER, k,
			     coll ? lin_key_id(k, coll) : 0, NULL, 0, err);
}

int lin_versions_next(struct lin_scan *sc, struct lin_ver *v)
{
	int rc;

	if ((rc = lin_scan_next(sc)) != 1)
		return rc;
	if (sc->k.mv_size != 12)
		return lin_err_set(sc->err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "coll_ver key of %zu bytes, not 12",
				   sc->k.mv_size);
	v->coll = lin_be64_get(sc->k.mv_data);
	v->number = lin_be32_get((unsigned char *)sc->k.mv_data + 8);
	rc = lin_val_coll_ver(sc->v.mv_data, sc->v.mv_size, &v->vid,
			      &v->tkey, sc->err);
	return rc ? rc : 1;
}

int lin_store_aliases(struct lin_scan *sc, MDB_txn *txn,
		      const struct lin_store *s, uint64_t coll,
		      struct lin_err *err)
{
	unsigned char k[8];

	return lin_scan_open(sc, txn, s, LIN_DB_ALIAS_TL, k,
			     lin_key_id(k, coll), NULL, 0, err);
}

int lin_aliases_next(struct lin_scan *sc, struct lin_alias *a)
{
	int rc = lin_scan_next(sc);

	if (rc != 1)
		return rc;
	a->name = (const char *)sc->k.mv_data + 8;
	a->len = sc->k.mv_size - 8;
	a->tl = sc->v.mv_data;
	a->n = sc->v.mv_size / LIN_TL_ENTRY;
	if (sc->v.mv_size % LIN_TL_ENTRY)
		return lin_err_set(sc->err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "alias timeline of '%.*s' is %zu bytes, "
				   "not a multiple of 16", (int)a->len,
				   a->name, sc->v.mv_size);
	return 1;
}

int lin_store_names(struct lin_scan *sc, MDB_txn *txn,
		    const struct lin_store *s, int tag, const char *name,
		    size_t len, struct lin_err *err)
{
	unsigned char pre[LIN_MAX_NAME_KEY];
	size_t pn = lin_key_name(pre, sizeof pre, tag, name, len, "", 0);

	memset(sc, 0, sizeof *sc);
	if (!pn)
		return 0;  /* sc->c NULL: the scan is empty */
	return lin_scan_open(sc, txn, s, LIN_DB_NAMES, pre, pn, NULL, 0,
			     err);
}

int lin_names_next(struct lin_scan *sc, struct lin_name *nm)
{
	int rc;

	while ((rc = lin_scan_next(sc)) == 1) {
		/* Not an id: no entry the indexer wrote; leave it out. */
		if (sc->v.mv_size != 8)
			continue;
		nm->scope = (const char *)sc->k.mv_data + sc->pn;
		nm->len = sc->k.mv_size - sc->pn;
		nm->id = lin_be64_get(sc->v.mv_data);
		return 1;
	}
	return rc;
}

/* ---- edges ---------------------------------------------------------- */

int lin_store_all_edges(struct lin_scan *sc, MDB_txn *txn,
			const struct lin_store *s, struct lin_err *err)
{
	return lin_scan_open(sc, txn, s, LIN_DB_EDGES, NULL, 0, NULL, 0, err);
}

int lin_all_edges_next(struct lin_scan *sc, uint64_t *node,
		       struct lin_edge *e)
{
	int rc = lin_scan_next(sc);

	if (rc != 1)
		return rc;
	if (sc->k.mv_size != 8 || sc->v.mv_size != LIN_EDGE_SIZE)
		return lin_err_set(sc->err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "edge entry of %zu/%zu bytes",
				   sc->k.mv_size, sc->v.mv_size);
	*node = lin_be64_get(sc->k.mv_data);
	lin_edge_decode(sc->v.mv_data, e);
	return 1;
}

int lin_edges_open(struct lin_edges *es, MDB_txn *txn,
		   const struct lin_store *s, struct lin_err *err)
{
	int rc;

	memset(es, 0, sizeof *es);
	es->err = err;
	es->rc = MDB_NOTFOUND;
	if ((rc = mdb_cursor_open(txn, s->dbi[LIN_DB_EDGES], &es->c))) {
		es->c = NULL;
		return lin_store_fail(err, rc, "cannot open edges cursor");
	}
	return 0;
}

void lin_edges_seek(struct lin_edges *es, uint64_t node, unsigned first,
		    unsigned last)
{
	unsigned char vb[1] = { (unsigned char)first };
	/* A one-byte search value sorts before every edge of that kind,
	 * whatever size the stored values have (a bad size is reported
	 * by _next rather than skipped by the seek). Values sort by kind
	 * first, so one direction is one contiguous run of duplicates. */
	MDB_val k = { lin_key_id(es->kb, node), es->kb };

	es->v.mv_size = sizeof vb;
	es->v.mv_data = vb;
	es->node = node;
	es->last = last;
	es->rc = mdb_cursor_get(es->c, &k, &es->v, MDB_GET_BOTH_RANGE);
	es->fresh = 1;
	es->order.have = 0;  /* a new range of duplicates */
}

int lin_edges_next(struct lin_edges *es, struct lin_edge *e)
{
	MDB_val k;

	/* The move gives the entry: no MDB_GET_CURRENT after it. */
	if (!es->fresh && es->rc == 0)
		es->rc = mdb_cursor_get(es->c, &k, &es->v, MDB_NEXT_DUP);
	es->fresh = 0;
	if (es->rc == MDB_NOTFOUND)
		return 0;
	if (es->rc)
		return lin_store_fail(es->err, es->rc, "cannot read edges");
	if (es->v.mv_size != LIN_EDGE_SIZE)
		return lin_err_set(es->err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "edge of node %016llx is %zu bytes, not %d",
				   (unsigned long long)es->node, es->v.mv_size,
				   LIN_EDGE_SIZE);
	int rc = lin_order_next(&es->order, NULL, &es->v, LIN_DB_EDGES,
				es->err);
	if (rc)
		return rc;
	lin_edge_decode(es->v.mv_data, e);
	if (e->kind > es->last) {
		es->rc = MDB_NOTFOUND;
		return 0;
	}
	return 1;
}

int lin_edges_has(struct lin_edges *es, uint64_t node,
		  const struct lin_edge *e)
{
	unsigned char vb[LIN_EDGE_SIZE];
	MDB_val k = { lin_key_id(es->kb, node), es->kb };
	MDB_val v = { sizeof vb, vb };

	lin_edge_encode(vb, e);
	es->rc = mdb_cursor_get(es->c, &k, &v, MDB_GET_BOTH);
	es->fresh = 0;
	if (es->rc == MDB_NOTFOUND)
		return 0;
	if (es->rc)
		return lin_store_fail(es->err, es->rc, "cannot read edges");
	return 1;
}

void lin_edges_close(struct lin_edges *es)
{
	if (es->c)
		mdb_cursor_close(es->c);
	es->c = NULL;
}
