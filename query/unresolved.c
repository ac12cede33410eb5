/* unresolved.c - the uses of a run that name no version in the archive,
 * read from the run's use facts and the `pending` database, each with
 * the reason it could not be resolved. */
#include "unresolved.h"
#include "format/view.h"
#include "format/grow.h"

#include <stdlib.h>
#include <string.h>

#include "format/facts.h"
#include "format/keys.h"

const char *lq_unres_code(enum lq_unres_why why)
{
	switch (why) {
	case LQ_UNRES_OTHER_PROJECT: return "other-project";
	case LQ_UNRES_WANDB_ONLINE: return "wandb-online";
	case LQ_UNRES_LATER: return "later";
	case LQ_UNRES_NO_VERSION: break;
	}
	return "no-version";
}

const char *lq_unres_text(enum lq_unres_why why)
{
	switch (why) {
	case LQ_UNRES_OTHER_PROJECT:
		return "another project, not in the archive";
	case LQ_UNRES_WANDB_ONLINE:
		return "a W&B online log: its producer lives on the W&B "
		       "server";
	case LQ_UNRES_LATER:
		return "logged only after the --as-of time";
	case LQ_UNRES_NO_VERSION: break;
	}
	return "no such version in the archive";
}

void lq_unres_free(struct lq_unres_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].ref);
		free(l->v[i].coll);
		free(l->v[i].sel);
		free(l->v[i].type);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Decode a stored map value into `zone`; NULL when it is not one. */
static const msgpack_object *map_of(const MDB_val *v, msgpack_zone *zone,
				    msgpack_object *o)
{
	return lin_val_map(v->mv_data, v->mv_size, zone, o) ? NULL : o;
}

/* "entity/project/name" of `coll` (malloc'd) and the length of its
 * "entity/project/" prefix; NULL when out of memory or unreadable. */
static char *coll_name(struct lq *q, uint64_t coll, size_t *scope)
{
	unsigned char k[8];
	MDB_val v;
	msgpack_zone up;
	msgpack_object mo;
	struct lin_slice e, p, n;
	char *out = NULL;

	if (lin_store_get(q->txn, &q->store, LIN_DB_COLL_INFO, k,
			  lin_key_id(k, coll), &v, NULL))
		return NULL;
	msgpack_zone_init(&up, 512);
	const msgpack_object *m = map_of(&v, &up, &mo);
	if (m && lin_map_str(m, "entity", &e) &&
	    lin_map_str(m, "project", &p) && lin_map_str(m, "name", &n) &&
	    (out = malloc(e.n + p.n + n.n + 3))) {
		sprintf(out, "%.*s/%.*s/%.*s", (int)e.n, e.p, (int)p.n, p.p,
			(int)n.n, n.p);
		*scope = e.n + p.n + 2;
	}
	msgpack_zone_destroy(&up);
	return out;
}

/* 1 when some run of the archive is in `scope` ("entity/project/"). The
 * projects that hold runs are read once per snapshot (view.h). */
static int project_has_runs(struct lq *q, const char *scope, size_t n)
{
	if (!q->run_scopes_read) {
		if (lin_view_scopes(q->txn, &q->store, LIN_VIEW_RUNS,
				    &q->run_scopes, NULL))
			return 1;  /* unknown: do not claim it is absent */
		q->run_scopes_read = 1;
	}
	if (n && scope[n - 1] == '/')
		n--;
	return lin_scopes_has(&q->run_scopes, scope, n);
}

/* 1 when source `src` is a .wandb transaction log. */
static int source_is_wandb(struct lq *q, uint32_t src)
{
	unsigned char k[4];
	MDB_val path, v;
	msgpack_zone up;
	msgpack_object mo;
	struct lin_slice fmt;
	int yes = 0;

	lin_key_src(k, src);
	if (lin_store_get(q->txn, &q->store, LIN_DB_SOURCE_IDS, k, 4, &path,
			  NULL) ||
	    lin_store_get(q->txn, &q->store, LIN_DB_SOURCES, path.mv_data,
			  path.mv_size, &v, NULL))
		return 0;
	msgpack_zone_init(&up, 512);
	const msgpack_object *m = map_of(&v, &up, &mo);
	yes = m && lin_map_str(m, "format", &fmt) &&
	      lin_slice_eq_cstr(fmt, "wandb");
	msgpack_zone_destroy(&up);
	return yes;
}

/* Whether use fact `id` names a version (as of q->asof): 1 resolved,
 * 0 not (*later set when it names one logged after q->asof), or a
 * negative LIN_E* code. */
static int resolved(struct lq *q, uint64_t id, int *later)
{
	unsigned char k[8];
	MDB_val v;
	int rc;

	lin_key_id(k, id);
	rc = lin_store_get(q->txn, &q->store, LIN_DB_USE_RES, k, 8, &v,
			   &q->e);
	if (rc == LIN_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return lin_err_set(&q->e, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "use_res value of fact %016llx is %zu "
				   "bytes", (unsigned long long)id,
				   v.mv_size);
	/* as of a time, a version logged later did not exist yet */
	rc = lq_exists(q, lin_be64_get(v.mv_data));
	*later = rc == 0;
	return rc;
}

/* Whether use fact `id` is in `pending` (it resolved to no version):
 * 1 yes, 0 no, or a negative LIN_E* code. Every use fact is in exactly
 * one of use_res and pending (check verifies it). */
static int is_pending(struct lq *q, uint64_t id)
{
	unsigned char k[8];
	MDB_val v;
	int rc;

	lin_key_id(k, id);
	rc = lin_store_get(q->txn, &q->store, LIN_DB_PENDING, k, 8, &v,
			   &q->e);
	if (rc == LIN_ENOTFOUND) {
		lin_err_clear(&q->e);
		return 0;
	}
	return rc ? rc : 1;
}

/* The number of pending uses in the snapshot, read once per query. */
static int pending_count(struct lq *q, uint64_t *n)
{
	int rc = 0;

	if (!q->pending_read &&
	    (rc = lin_store_count(q->txn, &q->store, LIN_DB_PENDING,
				  &q->pending_uses, &q->e)) == 0)
		q->pending_read = 1;
	*n = q->pending_uses;
	return rc;
}

static char *dup_slice(struct lin_slice s)
{
	return strndup(s.p ? s.p : "", s.n);
}

static int seen(const struct lq_unres_list *l, size_t from,
		const char *coll, struct lin_slice sel)
{
	for (size_t i = from; i < l->n; i++)
		if (strcmp(l->v[i].coll, coll) == 0 &&
		    lin_slice_eq_cstr(sel, l->v[i].sel))
			return 1;
	return 0;
}

/* Add use fact `id` of run `rid` to `out` when it names no version. */
static int one_use(struct lq *q, uint64_t rid, uint64_t id,
		   struct lq_unres_list *out, size_t first,
		   msgpack_zone *zone)
{
	struct lin_fact f;
	struct lin_slice ref, type;
	size_t scope = 0;
	int rc;

	/* Without --as-of only a pending use is wanted, whatever its fact
	 * says: look there first, so that a walk reads (and decodes) the
	 * facts of the unresolved uses alone. `pending` is small where
	 * use_res holds every resolved use, so fewer pages are read. */
	int later = 0;
	if (!q->has_asof && (rc = is_pending(q, id)) != 1)
		return rc < 0 ? rc : 0;
	msgpack_zone_clear(zone);
	rc = lin_store_fact(q->txn, &q->store, id, zone, &f, &q->e);
	if (rc == LIN_ENOTFOUND || rc == LIN_ECORRUPT) {
		lin_err_clear(&q->e);
		return 0;  /* check reports missing and malformed facts */
	}
	if (rc)
		return rc;
	if (f.kind != LIN_FACT_USE)
		return 0;
	if (q->has_asof && f.time != LIN_TIME_NONE && f.time > q->asof)
		return 0;  /* not used yet then */
	if (q->has_asof && (rc = resolved(q, id, &later)) != 0)
		return rc < 0 ? rc : 0;
	char *coll = coll_name(q, f.coll, &scope);
	if (!coll)
		return lin_err_set(&q->e, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "use fact %016llx names collection "
				   "%016llx, which has no readable info",
				   (unsigned long long)id,
				   (unsigned long long)f.coll);
	if (seen(out, first, coll, f.sel)) {
		free(coll);
		return 0;
	}
	if (LIN_GROW(out->v, out->cap, out->n + 1, 8)) {
		free(coll);
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	}
	struct lq_unres *u = &out->v[out->n];
	memset(u, 0, sizeof *u);
	u->run = rid;
	u->coll = coll;
	u->sel = dup_slice(f.sel);
	u->ref = lin_map_str(&f.attrs, "ref", &ref) ? dup_slice(ref) : NULL;
	if (!u->ref && u->sel && (u->ref = malloc(strlen(coll) +
						  strlen(u->sel) + 2)))
		sprintf(u->ref, "%s:%s", coll, u->sel);
	if (lin_map_str(&f.attrs, "type", &type) &&
	    !(u->type = dup_slice(type)))
		u->sel = NULL;  /* reported as out of memory below */
	out->n++;
	if (!u->sel || !u->ref)
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	if (later)
		u->why = LQ_UNRES_LATER;
	else if (!project_has_runs(q, coll, scope))
		u->why = LQ_UNRES_OTHER_PROJECT;
	else if (source_is_wandb(q, (uint32_t)(id >> 32)))
		u->why = LQ_UNRES_WANDB_ONLINE;
	else
		u->why = LQ_UNRES_NO_VERSION;
	return 0;
}

int lq_unresolved_of_run(struct lq *q, uint64_t rid,
			 struct lq_unres_list *out)
{
	unsigned char kb[8], vb[1] = { LIN_FACT_USE };
	struct lin_scan sc;
	unsigned kind;
	uint64_t fid;
	struct { uint64_t *v; size_t n, cap; } ids = { NULL, 0, 0 };
	msgpack_zone zone;
	size_t first = out->n;
	uint64_t pending;
	int rc;

	/* Without --as-of an unresolved use is a pending one: with none in
	 * the store, no run has any, and the run's facts need no reading
	 * (a walk asks this of every run it reaches). */
	if (!q->has_asof) {
		if ((rc = pending_count(q, &pending)))
			return rc;
		if (pending == 0)
			return 0;
	}
	/* node_facts values sort by kind: the run's use facts are one
	 * contiguous run of duplicates */
	rc = lin_scan_dups(&sc, q->txn, &q->store, LIN_DB_NODE_FACTS, kb,
			   lin_key_id(kb, rid), vb, 1, &q->e);
	if (rc)
		return rc;
	while ((rc = lin_scan_next(&sc)) == 1 &&
	       lin_val_node_fact(sc.v.mv_data, sc.v.mv_size, &kind, &fid,
				 NULL) == 0 && kind == LIN_FACT_USE) {
		if (LIN_GROW(ids.v, ids.cap, ids.n + 1, 16)) {
			rc = LIN_ENOMEM;
			break;
		}
		ids.v[ids.n++] = fid;
	}
	lin_scan_close(&sc);
	if (rc == LIN_ENOMEM) {
		free(ids.v);
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	}
	if (rc < 0) {
		free(ids.v);
		return rc;
	}
	msgpack_zone_init(&zone, 1024);
	rc = 0;
	for (size_t i = 0; i < ids.n && rc == 0; i++)
		rc = one_use(q, rid, ids.v[i], out, first, &zone);
	msgpack_zone_destroy(&zone);
	free(ids.v);
	return rc;
}

char *lq_unres_id(const struct lq_unres *u)
{
	char *s = malloc(strlen(u->coll) + strlen(u->sel) + 13);

	if (s)
		sprintf(s, "unresolved:%s:%s", u->coll, u->sel);
	return s;
}

void lq_unres_json_fields(FILE *f, const struct lq_unres *u)
{
	char *id = lq_unres_id(u);

	fputs("\"id\":", f);
	lin_json_cstr(f, id ? id : "");
	free(id);
	fputs(",\"kind\":\"unresolved\",\"ref\":", f);
	lin_json_cstr(f, u->ref);
	fputs(",\"collection\":", f);
	lin_json_cstr(f, u->coll);
	fputs(",\"selector\":", f);
	lin_json_cstr(f, u->sel);
	fputs(",\"type\":", f);
	if (u->type)
		lin_json_cstr(f, u->type);
	else
		fputs("null", f);
	fprintf(f, ",\"reason\":\"%s\",\"why\":", lq_unres_code(u->why));
	lin_json_cstr(f, lq_unres_text(u->why));
}

void lq_unres_cells(struct lin_table *t, const struct lq_unres *u)
{
	struct lin_slice type = { u->type, u->type ? strlen(u->type) : 0 };
	size_t n = strlen(u->ref);

	lin_table_cell(t, "unresolved");
	lin_table_cellf(t, "%s:%s", u->coll, u->sel);
	lin_table_cellq(t, type);
	/* the ref as written, escaped like every other text cell */
	char *esc = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&esc, &len);
	if (m) {
		fputs("ref=", m);
		lin_text_str(m, u->ref, n);
		fclose(m);
	}
	lin_table_cell(t, esc ? esc : "ref=?");
	if (!esc)
		t->failed = 1;
	free(esc);
	lin_table_cellf(t, "(%s)", lq_unres_text(u->why));
}

int lq_unres_wanted(const struct lq_filter *f, const struct lq_unres *u)
{
	/* --type: the type the use stated; --job-type alone excludes it */
	if (f->type.n || f->job_type.n) {
		int ok = 0;
		for (size_t i = 0; u->type && i < f->type.n && !ok; i++)
			ok = strlen(u->type) == f->type.v[i].n &&
			     memcmp(u->type, f->type.v[i].p, f->type.v[i].n) ==
			     0;
		if (!ok)
			return 0;
	}
	if (f->project.n) {
		/* u->coll is "entity/project/name" */
		const char *slash = strchr(u->coll, '/');
		const char *end = slash ? strchr(slash + 1, '/') : NULL;
		if (!end)
			return 0;
		for (size_t i = 0; i < f->project.n; i++) {
			struct lin_slice p = f->project.v[i];
			if (memchr(p.p, '/', p.n) ?
			    (size_t)(end - u->coll) == p.n &&
			    memcmp(u->coll, p.p, p.n) == 0 :
			    (size_t)(end - slash - 1) == p.n &&
			    memcmp(slash + 1, p.p, p.n) == 0)
				return 1;
		}
		return 0;
	}
	return 1;
}

static uint64_t fnv(uint64_t h, const char *p)
{
	return lin_fnv1a(h, p, strlen(p));
}

int lq_unres_seen_add(struct lq_unres_seen *s, const struct lq_unres *u)
{
	/* collection and selector identify the entry; ':' cannot occur in
	 * a collection name, so the pair hashes unambiguously */
	uint64_t h = fnv(fnv(fnv(LIN_FNV_OFFSET, u->coll), ":"),
			 u->sel);
	int r = lin_idset_add(&s->set, h ? h : 1);

	return r < 0 ? LIN_ENOMEM : r;
}

void lq_unres_seen_free(struct lq_unres_seen *s)
{
	lin_idset_release(&s->set);
}

int lq_unres_each_new(struct lq *q, uint64_t rid, struct lq_unres_seen *seen,
		      const struct lq_filter *f,
		      int (*fn)(void *ctx, const struct lq_unres *u),
		      void *ctx)
{
	struct lq_unres_list un = { NULL, 0, 0 };
	int rc = lq_unresolved_of_run(q, rid, &un);

	for (size_t i = 0; i < un.n && rc == 0; i++) {
		int fresh = lq_unres_seen_add(seen, &un.v[i]);
		if (fresh < 0)
			rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					 "out of memory");
		else if (fresh && (!f || lq_unres_wanted(f, &un.v[i])))
			rc = fn(ctx, &un.v[i]);
	}
	lq_unres_free(&un);
	return rc;
}

/* 1 when a RUN fact of run `id` comes from an offline W&B log (a file
 * in an offline-run-* folder): W&B records no uses there, so an empty
 * input list means "unknown", not "none". 0 otherwise or on error. */
int lq_run_offline(struct lq *q, uint64_t id)
{
	struct lin_scan sc;
	unsigned char kb[8], vb[LIN_NODE_FACT_SIZE];
	MDB_val path;
	unsigned kind;
	uint64_t fact;
	int offline = 0;

	/* node_facts values sort by kind: the RUN facts are one run */
	lin_val_node_fact_put(vb, LIN_FACT_RUN, 0);
	if (lin_scan_dups(&sc, q->txn, &q->store, LIN_DB_NODE_FACTS, kb,
			  lin_key_id(kb, id), vb, sizeof vb, NULL))
		return 0;
	while (!offline && lin_scan_next(&sc) == 1 &&
	       lin_val_node_fact(sc.v.mv_data, sc.v.mv_size, &kind, &fact,
				 NULL) == 0 && kind == LIN_FACT_RUN) {
		unsigned char sk[4];
		if (lin_store_get(q->txn, &q->store, LIN_DB_SOURCE_IDS, sk,
				  lin_key_src(sk, lin_fact_src(fact)), &path,
				  NULL) == 0 &&
		    memmem(path.mv_data, path.mv_size, "/offline-run-", 13))
			offline = 1;
	}
	lin_scan_close(&sc);
	return offline;
}
