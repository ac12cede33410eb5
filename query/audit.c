/* audit.c - the lineage half of `check`: what the store says that a
 * person auditing the archive should know (uses that never resolved,
 * runs whose inputs W&B could not record, versions used before they were
 * logged, runs without a finish) and what must never happen (an alias
 * naming two versions at once). */
#include "internal.h"
#include "format/grow.h"

#include <stdlib.h>
#include <string.h>

struct audit {
	struct lq *q;
	lq_report_fn *report;
	void *ctx;
	struct lin_qnode n;
	msgpack_zone zone;
	struct lin_fact fact;
};

/* Decode fact `id` into a->fact (storage in a->zone, until the next
 * call); NULL when it is missing or malformed (the structural checks
 * report those). */
static const struct lin_fact *fact(struct audit *a, uint64_t id)
{
	msgpack_zone_clear(&a->zone);
	if (lin_store_fact(a->q->txn, &a->q->store, id, &a->zone, &a->fact,
			   NULL))
		return NULL;
	return &a->fact;
}

/* "e/p/name" of collection `coll` into buf. */
static void coll_text(struct audit *a, uint64_t coll, char *buf, size_t n)
{
	unsigned char k[8];
	MDB_val v;
	msgpack_zone zone;
	msgpack_object m;
	struct lin_slice e, p, nm;

	snprintf(buf, n, "collection %016llx", (unsigned long long)coll);
	if (lin_store_get(a->q->txn, &a->q->store, LIN_DB_COLL_INFO, k,
			  lin_key_id(k, coll), &v, NULL))
		return;
	msgpack_zone_init(&zone, 512);
	if (lin_val_map(v.mv_data, v.mv_size, &zone, &m) == 0 &&
	    lin_map_str(&m, "entity", &e) && lin_map_str(&m, "project", &p) &&
	    lin_map_str(&m, "name", &nm))
		snprintf(buf, n, "%.*s/%.*s/%.*s", (int)e.n, e.p, (int)p.n,
			 p.p, (int)nm.n, nm.p);
	msgpack_zone_destroy(&zone);
}

static int source_is(struct audit *a, uint64_t fact_id, const char *what)
{
	unsigned char k[4];
	MDB_val v;

	lin_key_src(k, lin_fact_src(fact_id));
	if (lin_store_get(a->q->txn, &a->q->store, LIN_DB_SOURCE_IDS, k, 4,
			  &v, NULL))
		return 0;
	return memmem(v.mv_data, v.mv_size, what, strlen(what)) != NULL;
}

/* Uses that no indexed file has resolved. */
static int pending_uses(struct audit *a)
{
	struct lin_scan sc;
	int r = lin_scan_open(&sc, a->q->txn, &a->q->store, LIN_DB_PENDING,
			      NULL, 0, NULL, 0, &a->q->e);

	while (r == 0 && (r = lin_scan_next(&sc)) == 1) {
		uint64_t id = 0;
		r = 0;
		lin_val_id(sc.k.mv_data, sc.k.mv_size, &id, "pending", NULL);
		const struct lin_fact *f = fact(a, id);
		char coll[600], *run = NULL;
		if (!f || f->kind != LIN_FACT_USE)
			continue;
		uint64_t rid = f->run;
		coll_text(a, f->coll, coll, sizeof coll);
		if (lin_qnode_load(a->q->txn, &a->q->store, rid, &a->n,
				   NULL) == 0)
			run = lin_qnode_id(&a->n, 1);
		const char *slash = strchr(coll, '/');
		int other = run && slash && a->n.project.p &&
			    !(strncmp(slash + 1, a->n.project.p,
				      a->n.project.n) == 0 &&
			      slash[1 + a->n.project.n] == '/');
		a->report(a->ctx, 0, "use never resolved: %s used %s:%.*s, "
			  "which no file in the archive logged%s%s",
			  run ? run : "a run", coll,
			  (int)f->sel.n, f->sel.p,
			  other ? " (another project, not in the archive)" :
			  "",
			  source_is(a, id, ".wandb") ? "; W&B keeps what "
			  "online runs log on its server, not in .wandb "
			  "files" : "");
		free(run);
	}
	lin_scan_close(&sc);
	return r;
}

static int has_edge_kind(struct audit *a, uint64_t node, unsigned kind)
{
	struct lin_nbrs nb = { 0 };
	int rc = lin_walk_neighbours(a->q->txn, &a->q->store, node, kind,
				     kind, &nb, NULL);
	int has = rc == 0 && nb.n > 0;
	lin_nbrs_free(&nb);
	return has;
}

/* The RUN facts of source `src` whose runs recorded no use. */
static int offline_source(struct audit *a, uint32_t src)
{
	unsigned char pre[4];
	struct lin_scan sc;
	int r = lin_scan_open(&sc, a->q->txn, &a->q->store, LIN_DB_FACTS, pre,
			      lin_key_src(pre, src), NULL, 0, &a->q->e);

	while (r == 0 && (r = lin_scan_next(&sc)) == 1) {
		/* a RUN fact's value starts fixarray, 1 */
		const unsigned char *p = sc.v.mv_data;
		uint64_t fid;
		r = 0;
		if (sc.v.mv_size < 2 || p[1] != LIN_FACT_RUN ||
		    lin_val_id(sc.k.mv_data, sc.k.mv_size, &fid, "facts",
			       NULL))
			continue;
		const struct lin_fact *f = fact(a, fid);
		if (!f)
			continue;
		uint64_t rid = f->run;
		if (has_edge_kind(a, rid, LIN_EDGE_USES) ||
		    lin_qnode_load(a->q->txn, &a->q->store, rid, &a->n, NULL))
			continue;
		char *run = lin_qnode_id(&a->n, 1);
		a->report(a->ctx, 0, "%s ran offline: W&B records no uses in "
			  "offline logs, so what it consumed is unknown",
			  run ? run : "a run");
		free(run);
	}
	lin_scan_close(&sc);
	return r;
}

/* Runs from offline W&B logs, which record no uses, that have none:
 * only the facts of sources in offline-run-* folders are read. */
static int offline_runs(struct audit *a)
{
	struct lin_scan sc;
	int r = lin_scan_open(&sc, a->q->txn, &a->q->store,
			      LIN_DB_SOURCE_IDS, NULL, 0, NULL, 0, &a->q->e);

	while (r == 0 && (r = lin_scan_next(&sc)) == 1) {
		r = 0;
		if (sc.k.mv_size == 4 && memmem(sc.v.mv_data, sc.v.mv_size,
						"/offline-run-", 13))
			r = offline_source(a, lin_be32_get(sc.k.mv_data));
	}
	lin_scan_close(&sc);
	return r;
}

struct alias_of {
	uint64_t coll, vid;
	char *alias;
};

static int alias_cmp(const void *x, const void *y)
{
	const struct alias_of *a = x, *b = y;
	if (a->coll != b->coll)
		return a->coll < b->coll ? -1 : 1;
	return strcmp(a->alias, b->alias);
}

/* One pass over the nodes: runs without a finish, versions used before
 * they were logged, and aliases on two versions of one collection. */
static int nodes(struct audit *a)
{
	struct lin_scan sc;
	struct lin_edges es;  /* for the uses of each version */
	struct alias_of *al = NULL;
	size_t nal = 0, cap = 0;
	uint64_t node;
	int rc = 0;
	int r = lin_scan_open(&sc, a->q->txn, &a->q->store, LIN_DB_NODES,
			      NULL, 0, NULL, 0, &a->q->e);

	if (r)
		return r;
	if ((r = lin_edges_open(&es, a->q->txn, &a->q->store, &a->q->e))) {
		lin_scan_close(&sc);
		return r;
	}
	while (rc == 0 && (r = lin_scan_next(&sc)) == 1) {
		if (lin_val_id(sc.k.mv_data, sc.k.mv_size, &node, "nodes",
			       NULL) ||
		    lin_qnode_load(a->q->txn, &a->q->store, node, &a->n,
				   NULL))
			continue;
		char *id = lin_qnode_id(&a->n, 1);
		if (!id) {
			rc = LIN_ENOMEM;
			break;
		}
		if (a->n.kind == LIN_ID_RUN && !a->n.state.p)
			a->report(a->ctx, 0, "%s has no finish record (still "
				  "running, or it crashed)", id);
		if (a->n.kind == LIN_ID_VERSION && a->n.aliases) {
			const msgpack_object_array *arr =
				&a->n.aliases->via.array;
			for (uint32_t i = 0; i < arr->size; i++) {
				const msgpack_object *s = &arr->ptr[i];
				if (s->type != MSGPACK_OBJECT_STR)
					continue;
				if (LIN_GROW(al, cap, nal + 1, 64)) {
					rc = LIN_ENOMEM;
					break;
				}
				al[nal].coll = a->n.coll;
				al[nal].vid = a->n.id;
				al[nal].alias = strndup(s->via.str.ptr,
							s->via.str.size);
				if (!al[nal].alias) {
					rc = LIN_ENOMEM;
					break;
				}
				nal++;
			}
		}
		if (a->n.kind == LIN_ID_VERSION &&
		    a->n.created_at != LIN_QNONE) {
			/* every use of it that is timed earlier */
			int64_t logged = a->n.created_at;
			struct lin_edge ed;
			/* a damaged edge ends the list: other checks say so */
			lin_edges_seek(&es, node, LIN_EDGE_USED_BY,
				       LIN_EDGE_USED_BY);
			while (lin_edges_next(&es, &ed) == 1) {
				const struct lin_fact *f = fact(a, ed.fact);
				int64_t t = f ? f->time : LIN_QNONE;
				if (t == LIN_QNONE || t >= logged)
					continue;
				char tu[48], tl[48];
				lin_fmt_time(tu, t);
				lin_fmt_time(tl, logged);
				a->report(a->ctx, 0, "%s was used at %s, before "
					  "it was logged at %s (run node "
					  "%016llx)", id, tu, tl,
					  (unsigned long long)ed.other);
			}
		}
		free(id);
	}
	lin_edges_close(&es);
	lin_scan_close(&sc);
	if (rc == 0 && r < 0)
		rc = r;
	if (rc == 0 && nal)
		qsort(al, nal, sizeof *al, alias_cmp);
	for (size_t i = 1; rc == 0 && i < nal; i++)
		if (al[i].coll == al[i - 1].coll &&
		    strcmp(al[i].alias, al[i - 1].alias) == 0 &&
		    al[i].vid != al[i - 1].vid)
			a->report(a->ctx, 1, "alias '%s' names two versions "
				  "at once: nodes %016llx and %016llx",
				  al[i].alias,
				  (unsigned long long)al[i - 1].vid,
				  (unsigned long long)al[i].vid);
	for (size_t i = 0; i < nal; i++)
		free(al[i].alias);
	free(al);
	return rc;
}

/* The version the selector of use `f` names, ignoring any server id
 * (0: none), as derive.c resolves a use without one. */
static uint64_t named_version(struct audit *a, const struct lin_fact *f)
{
	MDB_txn *txn = a->q->txn;
	const struct lin_store *s = &a->q->store;
	struct lin_slice sel = f->sel;
	uint64_t vid = 0, num = 0;
	char buf[LIN_MAX_ALIAS + 1];

	if (sel.n > 1 && sel.p[0] == '#') {
		unsigned char k[LIN_KEY_BUF];
		MDB_val v;
		size_t kn = lin_key_coll_bytes(k, sizeof k, f->coll, sel.p + 1,
					       sel.n - 1, 0);
		if (kn && lin_store_get(txn, s, LIN_DB_COLL_DIG, k, kn, &v,
					NULL) == 0 && v.mv_size == 8)
			vid = lin_be64_get(v.mv_data);
		return vid;
	}
	if (sel.n > 1 && sel.n < 12 && sel.p[0] == 'v' &&
	    strspn(sel.p + 1, "0123456789") >= sel.n - 1) {
		for (size_t i = 1; i < sel.n; i++)
			num = num * 10 + (uint64_t)(sel.p[i] - '0');
		if (num < UINT32_MAX &&
		    lin_store_version(txn, s, f->coll, (uint32_t)num, &vid,
				      NULL))
			vid = 0;
		return vid;
	}
	if (sel.n == 0 || sel.n > LIN_MAX_ALIAS)
		return 0;
	memcpy(buf, sel.p, sel.n);
	buf[sel.n] = 0;
	if (lin_store_alias_at(txn, s, f->coll, buf, sel.n,
			       f->time == LIN_TIME_NONE ? INT64_MAX : f->time,
			       &vid, NULL))
		vid = 0;
	return vid;
}

/* Uses linked by W&B server id whose name says something else (another
 * collection name, or a version of the collection other than the id's):
 * the id wins (derive.c), and the note shows what the name said. A
 * name that names nothing (W&B leaves out the project, so another
 * project's artifact is looked for in the run's own) is no conflict. */
static int server_id_conflicts(struct audit *a)
{
	struct lin_scan sc;
	int r = lin_scan_open(&sc, a->q->txn, &a->q->store,
			      LIN_DB_SERVER_IDS, NULL, 0, NULL, 0, &a->q->e);

	while (r == 0 && (r = lin_scan_next(&sc)) == 1) {
		size_t sn;
		unsigned kind;
		uint64_t fid;
		unsigned char fk[8];
		MDB_val v;
		r = 0;
		if (lin_key_server_id_split(sc.k.mv_data, sc.k.mv_size, &sn,
					    &kind, &fid) ||
		    kind != LIN_FACT_USE)
			continue;
		if (lin_store_get(a->q->txn, &a->q->store, LIN_DB_USE_RES, fk,
				  lin_key_id(fk, fid), &v, NULL) ||
		    v.mv_size != 8)
			continue;
		uint64_t vid = lin_be64_get(v.mv_data);
		const struct lin_fact *f = fact(a, fid);
		struct lin_slice ref;
		char coll[600];
		if (!f || f->kind != LIN_FACT_USE)
			continue;
		coll_text(a, f->coll, coll, sizeof coll);
		const char *cname = strrchr(coll, '/');
		cname = cname ? cname + 1 : coll;
		uint64_t byname = named_version(a, f);
		if (lin_qnode_load(a->q->txn, &a->q->store, vid, &a->n, NULL))
			continue;
		int same_name = strlen(cname) == a->n.name.n &&
				!memcmp(cname, a->n.name.p, a->n.name.n);
		if (same_name && (!byname || byname == vid))
			continue;
		char *ver = lin_qnode_id(&a->n, 1), *named = NULL, *run = NULL;
		if (byname && lin_qnode_load(a->q->txn, &a->q->store, byname,
					     &a->n, NULL) == 0)
			named = lin_qnode_id(&a->n, 1);
		if (lin_qnode_load(a->q->txn, &a->q->store, f->run, &a->n,
				   NULL) == 0)
			run = lin_qnode_id(&a->n, 1);
		if (!lin_map_str(&f->attrs, "ref", &ref))
			ref = f->sel;
		a->report(a->ctx, 0, "use linked by its W&B server id, not "
			  "its name: %s used '%.*s' (server id %.*s), which "
			  "by name is %s; the id names %s", run ? run : "a run",
			  (int)ref.n, ref.p, (int)sn, (const char *)sc.k.mv_data,
			  named ? named : "no version in the store",
			  ver ? ver : "a version");
		free(ver);
		free(named);
		free(run);
	}
	lin_scan_close(&sc);
	return r;
}

int lq_audit(struct lq *q, lq_report_fn *report, void *ctx)
{
	struct audit a = { .q = q, .report = report, .ctx = ctx };
	int rc;

	lin_qnode_init(&a.n);
	msgpack_zone_init(&a.zone, 1024);
	rc = pending_uses(&a);
	if (!rc)
		rc = server_id_conflicts(&a);
	if (!rc)
		rc = offline_runs(&a);
	if (!rc)
		rc = nodes(&a);
	msgpack_zone_destroy(&a.zone);
	lin_qnode_release(&a.n);
	return rc;
}
