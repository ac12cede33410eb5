/* view.c - runs and collections by "entity/project/name" over `names`
 * (see view.h). */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "store.h"

struct row {
	union {
		size_t off;     /* while rows->buf grows */
		const char *p;  /* once it is whole, to sort and read */
	} key;
	size_t n;
	size_t vn;              /* the value's size: 8 unless damaged */
	unsigned char id[8];    /* big-endian, as the databases held it */
};

struct lin_view_rows {
	char *buf;
	size_t bn, bcap;
	struct row *row;
	size_t n, cap, next;
	struct lin_view_rows *live_prev, *live_next;
};

/* The views this thread holds open. A query that meets a damaged page
 * jumps out of its command (lin_guard) past every lin_scan_close, and a
 * view holds a copy of every name of its kind: lin_view_abandon_all
 * frees them. */
static __thread struct lin_view_rows *live;
static __thread size_t nlive;

static void live_add(struct lin_view_rows *r)
{
	r->live_next = live;
	if (live)
		live->live_prev = r;
	live = r;
	nlive++;
}

static void rows_free(struct lin_view_rows *r)
{
	if (r->live_prev)
		r->live_prev->live_next = r->live_next;
	else
		live = r->live_next;
	if (r->live_next)
		r->live_next->live_prev = r->live_prev;
	nlive--;
	free(r->buf);
	free(r->row);
	free(r);
}

void lin_view_abandon_all(void)
{
	while (live)
		rows_free(live);
}

size_t lin_view_open_count(void)
{
	return nlive;
}

static int view_next(struct lin_scan *sc);
static void view_free(struct lin_scan *sc);

static int tag_of(enum lin_view view)
{
	return view == LIN_VIEW_RUNS ? LIN_NAME_RUN : LIN_NAME_COLL;
}

/* LMDB's order for keys: bytes, then the shorter first. */
static int key_cmp(const void *a, size_t an, const void *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : (an > bn) - (an < bn);
}

/* Key order, then id order: two runs whose "entity/project/name" read
 * the same (a '/' inside a part) list in a stable order. */
static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = key_cmp(x->key.p, x->n, y->key.p, y->n);

	return c ? c : memcmp(x->id, y->id, sizeof x->id);
}

/* Add the row of names entry k (tag . name . 0 . scope) as
 * "scope/name" when it lies in the range asked for. An entry the
 * indexer did not write (no scope, a value that is not an id) is kept
 * as it is, its key the bytes after the tag, so that readers which
 * report damage (`check`, `ls`) see it. */
static int add_row(struct lin_view_rows *r, const MDB_val *k,
		   const MDB_val *v, const void *pre, size_t pn,
		   const void *start, size_t sn)
{
	const char *key = k->mv_data;
	const char *nul = memchr(key + 1, 0, k->mv_size - 1);
	size_t nn = nul ? (size_t)(nul - key - 1) : k->mv_size - 1;
	size_t scn = nul ? k->mv_size - nn - 2 : 0;
	size_t tn = nul ? scn + 1 + nn : nn;

	if (LIN_GROW(r->buf, r->bcap, r->bn + tn + 1, 4096) ||
	    LIN_GROW(r->row, r->cap, r->n + 1, 256))
		return LIN_ENOMEM;
	char *t = r->buf + r->bn;
	if (nul) {
		memcpy(t, nul + 1, scn);
		t[scn] = '/';
		memcpy(t + scn + 1, key + 1, nn);
	} else if (nn) {
		memcpy(t, key + 1, nn);
	}
	if ((pn && (tn < pn || memcmp(t, pre, pn) != 0)) ||
	    (start && key_cmp(t, tn, start, sn) < 0))
		return 0;
	struct row *w = &r->row[r->n];
	w->key.off = r->bn;
	w->n = tn;
	w->vn = v->mv_size;
	memset(w->id, 0, sizeof w->id);
	memcpy(w->id, v->mv_data, v->mv_size < 8 ? v->mv_size : 8);
	r->n++;
	r->bn += tn;
	return 0;
}

int lin_view_open(struct lin_scan *sc, MDB_txn *txn,
		  const struct lin_store *s, enum lin_view view,
		  const void *pre, size_t pn, const void *start, size_t sn,
		  struct lin_err *err)
{
	unsigned char tag = (unsigned char)tag_of(view);
	struct lin_view_rows *r = calloc(1, sizeof *r);
	struct lin_scan names;
	int rc;

	memset(sc, 0, sizeof *sc);
	sc->err = err;
	sc->db = LIN_DB_NAMES;
	if (!r)
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	live_add(r);  /* from here on: the scan below may meet damage */
	rc = lin_scan_open(&names, txn, s, LIN_DB_NAMES, &tag, 1, NULL, 0,
			   err);
	while (rc == 0 && (rc = lin_scan_next(&names)) == 1)
		rc = add_row(r, &names.k, &names.v, pre, pn, start, sn);
	lin_scan_close(&names);
	if (rc == LIN_ENOMEM)
		rc = lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				 "out of memory");
	if (rc < 0) {
		rows_free(r);
		return rc;
	}
	for (size_t i = 0; i < r->n; i++)
		r->row[i].key.p = r->buf + r->row[i].key.off;
	if (r->n)  /* r->row is NULL when nothing matched */
		qsort(r->row, r->n, sizeof *r->row, row_cmp);
	sc->rows = r;
	sc->rows_next = view_next;
	sc->rows_free = view_free;
	return 0;
}

static int view_next(struct lin_scan *sc)
{
	struct lin_view_rows *r = sc->rows;

	if (r->next == r->n)
		return 0;
	struct row *w = &r->row[r->next++];
	sc->k.mv_data = (void *)w->key.p;
	sc->k.mv_size = w->n;
	sc->v.mv_data = w->id;
	sc->v.mv_size = w->vn;  /* readers check for 8; w->id holds 8 */
	return 1;
}

static void view_free(struct lin_scan *sc)
{
	struct lin_view_rows *r = sc->rows;

	if (!r)
		return;
	rows_free(r);
	sc->rows = NULL;
}

int lin_view_get(MDB_txn *txn, const struct lin_store *s,
		 enum lin_view view, const char *entity, size_t en,
		 const char *project, size_t pn, const char *name, size_t nn,
		 uint64_t *id, struct lin_err *err)
{
	char scope[2 * LIN_LMDB_MAX_KEY + 2];
	unsigned char k[LIN_MAX_NAME_KEY];
	MDB_val v;

	if (en + pn + 1 > sizeof scope)
		return LIN_ENOTFOUND;
	if (en)  /* memcpy from NULL is undefined even for no bytes */
		memcpy(scope, entity, en);
	scope[en] = '/';
	if (pn)
		memcpy(scope + en + 1, project, pn);
	size_t kn = lin_key_name(k, sizeof k, tag_of(view), name, nn, scope,
				 en + 1 + pn);
	if (!kn)
		return LIN_ENOTFOUND;
	int rc = lin_store_get(txn, s, LIN_DB_NAMES, k, kn, &v, err);
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return lin_err_set(err, LIN_ESTORE, LIN_NO_OFFSET,
				   "bad id value for '%.*s/%.*s/%.*s'",
				   (int)en, entity, (int)pn, project, (int)nn,
				   name);
	*id = lin_be64_get(v.mv_data);
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lin_view_scopes(MDB_txn *txn, const struct lin_store *s,
		    enum lin_view view, struct lin_scopes *out,
		    struct lin_err *err)
{
	unsigned char tag = (unsigned char)tag_of(view);
	struct lin_scan names;
	size_t cap = 0;
	int rc;

	memset(out, 0, sizeof *out);
	rc = lin_scan_open(&names, txn, s, LIN_DB_NAMES, &tag, 1, NULL, 0,
			   err);
	while (rc == 0 && (rc = lin_scan_next(&names)) == 1) {
		const char *key = names.k.mv_data;
		const char *nul = memchr(key + 1, 0, names.k.mv_size - 1);
		rc = 0;
		if (!nul || names.v.mv_size != 8)
			continue;
		size_t n = names.k.mv_size - (size_t)(nul + 1 - key);
		if (LIN_GROW(out->v, cap, out->n + 1, 64) ||
		    !(out->v[out->n] = strndup(nul + 1, n))) {
			rc = LIN_ENOMEM;
			break;
		}
		out->n++;
	}
	lin_scan_close(&names);
	if (rc < 0) {
		lin_scopes_free(out);
		return rc == LIN_ENOMEM ?
		       lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory") : rc;
	}
	if (out->n)  /* out->v is NULL when there is no entry */
		qsort(out->v, out->n, sizeof *out->v, str_cmp);
	size_t keep = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (keep && strcmp(out->v[keep - 1], out->v[i]) == 0)
			free(out->v[i]);
		else
			out->v[keep++] = out->v[i];
	}
	out->n = keep;
	return 0;
}

int lin_scopes_has(const struct lin_scopes *sc, const char *scope,
		   size_t n)
{
	size_t lo = 0, hi = sc->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = sc->v[mid];
		size_t mn = strlen(m);
		int c = memcmp(m, scope, mn < n ? mn : n);
		if (!c)
			c = (mn > n) - (mn < n);
		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void lin_scopes_free(struct lin_scopes *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->v[i]);
	free(sc->v);
	memset(sc, 0, sizeof *sc);
}
