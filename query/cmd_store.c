/* cmd_store.c - whole-store subcommands: ls, stats and check. */
#include "internal.h"
#include "format/view.h"
#include "format/grow.h"
#include "format/core.h"
#include "format/deep.h"

#include <assert.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Parse the common options and `cmd`'s own: the filters when `f` is not
 * NULL, and a long-only option sets *flag (NULL: none). -1 to go on. */
static int parse(struct lq *q, const struct lq_cmd *cmd, int argc,
		 char **argv, struct lq_filter *f, int *flag)
{
	struct lin_getopt go;
	int c, r;

	lq_getopt(&go, cmd->opts);
	while ((r = lq_next_opt(q, cmd->name, &go, argc, argv, f,
				&c)) == -1) {
		/* ls's options are all filters and stats has none: only
		 * check's --deep gets here */
		assert(flag);
		*flag = 1;
	}
	return r >= 0 ? r : -1;
}

/* A scan over every entry of `db`. */
static int cursor(struct lq *q, enum lin_db db, struct lin_scan *c)
{
	return lin_scan_open(c, q->txn, &q->store, db, NULL, 0, NULL, 0,
			     &q->e);
}


/* ---- ls ---- */

struct coll_sum {
	uint64_t coll, versions, last_vid;
};

/* Count the versions of `coll` (coll_ver) and find its newest. */
static int coll_versions(struct lq *q, uint64_t coll, struct coll_sum *cs,
			 int (*each)(struct lq *, uint64_t, void *), void *ctx)
{
	struct lin_scan sc;
	struct lin_ver ver;
	int rc = lin_store_versions(&sc, q->txn, &q->store, coll, &q->e);

	cs->coll = coll;
	cs->versions = 0;
	cs->last_vid = 0;
	while (rc == 0 && (rc = lin_versions_next(&sc, &ver)) == 1) {
		/* As of a past time: only the versions logged by then. */
		if ((rc = lq_exists(q, ver.vid)) <= 0)
			continue;  /* 0: not yet; < 0: the error ends it */
		rc = 0;
		cs->versions++;
		cs->last_vid = ver.vid;
		if (each)
			rc = each(q, cs->last_vid, ctx);
	}
	lin_scan_close(&sc);
	return rc;
}

struct lsctx {
	const struct lq_filter *f;
	struct lin_table t;
	struct lin_qnode n;
	struct typecount {
		char *type;
		uint64_t colls, versions;
	} *types;
	size_t ntypes, typecap;
};

static int print_node(struct lq *q, uint64_t id, void *arg)
{
	struct lsctx *x = arg;
	int rc = lq_exists(q, id);

	if (rc <= 0)  /* not there yet as of --as-of, or an error */
		return rc;
	rc = lq_node_load(q, id, &x->n);
	if (rc || !lq_wanted(x->f, &x->n))
		return rc;
	if (q->json) {
		putc('{', q->out);
		lin_json_node_fields(q->out, &x->n);
		fputs("}\n", q->out);
	} else if (lq_tabular(q)) {
		lq_fields_node(q, &x->n);
		lq_row_end(q);
	} else {
		lin_table_row(&x->t);
		lin_table_node(&x->t, &x->n);
	}
	return 0;
}

static int add_type(struct lsctx *x, struct lin_slice type,
		    uint64_t versions)
{
	size_t i;
	for (i = 0; i < x->ntypes; i++)
		if (strlen(x->types[i].type) == type.n &&
		    memcmp(x->types[i].type, type.p, type.n) == 0)
			break;
	if (i == x->ntypes) {
		if (LIN_GROW(x->types, x->typecap, x->ntypes + 1, 16))
			return LIN_ENOMEM;
		x->types[i].type = strndup(type.p, type.n);
		if (!x->types[i].type)
			return LIN_ENOMEM;
		x->types[i].colls = x->types[i].versions = 0;
		x->ntypes++;
	}
	x->types[i].colls++;
	x->types[i].versions += versions;
	return 0;
}

static int cmp_type(const void *a, const void *b)
{
	return strcmp(((const struct typecount *)a)->type,
		      ((const struct typecount *)b)->type);
}

/* One row of `ls collections`: the collection of x->n (its newest
 * version) with `versions` versions. 0 or LIN_ENOMEM (q->e set). */
static int print_collection(struct lq *q, struct lsctx *x,
			    uint64_t versions)
{
	const struct lin_qnode *n = &x->n;

	if (q->json) {
		char *vid = lin_qnode_id(n, 0), *cid = NULL;
		if (vid)
			*strrchr(vid, ':') = '\0';
		if (!vid || asprintf(&cid, "collection:%s", vid) < 0) {
			free(vid);
			return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					   "out of memory");
		}
		fputs("{\"id\":", q->out);
		lin_json_cstr(q->out, cid);
		fputs(",\"kind\":\"collection\",\"entity\":", q->out);
		lin_json_qstr(q->out, n->entity);
		fputs(",\"project\":", q->out);
		lin_json_qstr(q->out, n->project);
		fputs(",\"name\":", q->out);
		lin_json_qstr(q->out, n->name);
		fputs(",\"type\":", q->out);
		lin_json_qstr(q->out, n->type);
		fprintf(q->out, ",\"versions\":%llu}\n",
			(unsigned long long)versions);
		free(vid);
		free(cid);
	} else if (lq_tabular(q)) {
		lq_field_fmt(q, "collection:%.*s/%.*s/%.*s",
			     (int)n->entity.n, n->entity.p,
			     (int)n->project.n, n->project.p,
			     (int)n->name.n, n->name.p);
		lq_field_str(q, "collection");
		lq_field_fmt(q, "%.*s/%.*s", (int)n->entity.n, n->entity.p,
			     (int)n->project.n, n->project.p);
		lq_field_q(q, n->name);
		lq_field_q(q, n->type);
		lq_field_fmt(q, "%llu", (unsigned long long)versions);
		lq_row_end(q);
	} else {
		lin_table_row(&x->t);
		lin_table_cell(&x->t, "collection");
		lin_table_cellf(&x->t, "%.*s/%.*s/%.*s",
				(int)n->entity.n, n->entity.p,
				(int)n->project.n, n->project.p,
				(int)n->name.n, n->name.p);
		lin_table_cellq(&x->t, n->type);
		lin_table_cellf(&x->t, "versions=%llu",
				(unsigned long long)versions);
	}
	return 0;
}

/* The rows of `ls types`, sorted by type. */
static void print_types(struct lq *q, struct lsctx *x)
{
	if (x->ntypes)  /* qsort(NULL, 0, ...) is undefined */
		qsort(x->types, x->ntypes, sizeof *x->types, cmp_type);
	for (size_t i = 0; i < x->ntypes; i++) {
		const struct typecount *tc = &x->types[i];
		if (q->json) {
			fputs("{\"kind\":\"type\",\"type\":", q->out);
			lin_json_cstr(q->out, tc->type);
			fprintf(q->out, ",\"collections\":%llu,"
				"\"versions\":%llu}\n",
				(unsigned long long)tc->colls,
				(unsigned long long)tc->versions);
		} else if (lq_tabular(q)) {
			lq_field_str(q, tc->type);
			lq_field_fmt(q, "%llu", (unsigned long long)tc->colls);
			lq_field_fmt(q, "%llu",
				     (unsigned long long)tc->versions);
			lq_row_end(q);
		} else {
			lin_table_row(&x->t);
			lin_table_cell(&x->t, tc->type);
			lin_table_cellf(&x->t, "collections=%llu",
					(unsigned long long)tc->colls);
			lin_table_cellf(&x->t, "versions=%llu",
					(unsigned long long)tc->versions);
		}
	}
}

int lq_cmd_ls(struct lq *q, int argc, char **argv)
{
	const char *cmd = "ls", *what;
	struct lq_filter f;
	struct lsctx x;
	struct lin_scan c = { 0 };
	int rc;

	memset(&f, 0, sizeof f);
	if ((rc = parse(q, &lq_ls, argc, argv, &f, NULL)) >= 0)
		return rc;
	if (argc - optind != 1)
		return lq_usage(q, cmd, "expects one of runs, artifacts, "
				"collections, types");
	what = argv[optind];
	int runs = !strcmp(what, "runs"), arts = !strcmp(what, "artifacts");
	int colls = !strcmp(what, "collections"), types = !strcmp(what,
								   "types");
	if (!runs && !arts && !colls && !types)
		return lq_usage(q, cmd, "unknown list '%s': expected runs, "
				"artifacts, collections or types", what);
	q->scans = 1;
	if ((rc = lq_open(q)) != 0 || (rc = lq_filter_check(q, cmd, &f)))
		return rc;
	memset(&x, 0, sizeof x);
	x.f = &f;
	if (lq_tabular(q))
		lq_header(q, runs || arts ? lq_node_cols : colls ?
			  "id,kind,project,collection,type,versions" :
			  "type,collections,versions");
	lin_table_init(&x.t);
	lin_qnode_init(&x.n);
	rc = lin_view_open(&c, q->txn, &q->store, runs ? LIN_VIEW_RUNS :
			   LIN_VIEW_COLLS, NULL, 0, NULL, 0, &q->e);
	for (int r = rc ? 0 : lin_scan_next(&c); rc == 0 && r == 1;
	     r = lin_scan_next(&c)) {
		MDB_val v = c.v;
		struct coll_sum cs;
		if (v.mv_size != 8) {
			rc = lin_err_set(&q->e, LIN_ECORRUPT, LIN_NO_OFFSET,
					 "bad id value of a %s name in "
					 "'names'", runs ? "run" : "collection");
			break;
		}
		uint64_t id = lin_be64_get(v.mv_data);
		if (runs) {
			rc = print_node(q, id, &x);
			continue;
		}
		rc = coll_versions(q, id, &cs, arts ? print_node : NULL, &x);
		if (rc || arts || !cs.last_vid)
			continue;
		/* The newest version speaks for the collection. */
		rc = lin_qnode_load(q->txn, &q->store, cs.last_vid, &x.n,
				    &q->e);
		if (rc || !lq_wanted(&f, &x.n))
			continue;
		if (types) {
			rc = add_type(&x, x.n.type.p ? x.n.type :
				      (struct lin_slice){ "-", 1 },
				      cs.versions);
			if (rc)
				lin_err_set(&q->e, rc, LIN_NO_OFFSET,
					    "out of memory");
		} else {
			rc = print_collection(q, &x, cs.versions);
		}
	}
	lin_scan_close(&c);
	if (rc == 0 && types)
		print_types(q, &x);
	if (rc == 0 && lin_table_flush(&x.t, q->out))
		rc = LIN_ENOMEM;
	for (size_t i = 0; i < x.ntypes; i++)
		free(x.types[i].type);
	free(x.types);
	lin_table_release(&x.t);
	lin_qnode_release(&x.n);
	return rc ? lq_fail(q, rc) : LQ_OK;
}

/* ---- stats ---- */

static int entries(struct lq *q, enum lin_db db, uint64_t *n)
{
	return lin_store_count(q->txn, &q->store, db, n, &q->e);
}

/* Count node ids by kind and edge entries (one per fact) by kind. */
static int count_kinds(struct lq *q, uint64_t *runs, uint64_t *versions,
		       uint64_t *logged, uint64_t *used)
{
	struct lin_scan c;
	MDB_val k, v;
	int r, rc = cursor(q, LIN_DB_NODES, &c);

	*runs = *versions = *logged = *used = 0;
	if (rc)
		return rc;
	while ((r = lin_scan_next(&c)) == 1) {
		k = c.k;
		v = c.v;
		uint64_t id = k.mv_size == 8 ? lin_be64_get(k.mv_data) : 0;
		unsigned kind = LIN_ID_KIND(id);
		/* As of a past time: only what existed then. */
		if ((kind == LIN_ID_RUN || kind == LIN_ID_VERSION) &&
		    (rc = lq_exists(q, id)) <= 0) {
			if (rc == 0)
				continue;
			lin_scan_close(&c);
			return rc;
		}
		*runs += kind == LIN_ID_RUN;
		*versions += kind == LIN_ID_VERSION;
	}
	lin_scan_close(&c);
	if (r < 0)
		return r;
	rc = 0;
	if ((rc = cursor(q, LIN_DB_EDGES, &c)))
		return rc;
	while ((r = lin_scan_next(&c)) == 1) {
		k = c.k;
		v = c.v;
		unsigned kind = v.mv_size ? *(unsigned char *)v.mv_data : 0;
		/* a run's log edges: LOGGED when it produced the version,
		 * RELOGGED when it logged a digest another run had */
		int log = kind == LIN_EDGE_LOGGED || kind == LIN_EDGE_RELOGGED;
		if (q->at && (log || kind == LIN_EDGE_USES)
		    && k.mv_size == 8 && v.mv_size == LIN_EDGE_SIZE) {
			const struct lin_edge_filter *f;
			struct lin_edge e;
			f = lq_asof_filter(q->at);
			lin_edge_decode(v.mv_data, &e);
			rc = f->fn(f->ctx, lin_be64_get(k.mv_data), &e, &q->e);
			if (rc < 0) {
				lin_scan_close(&c);
				return rc;
			}
			if (!rc)
				continue;
			rc = 0;
		}
		*logged += log;
		*used += kind == LIN_EDGE_USES;
	}
	lin_scan_close(&c);
	if (r < 0)
		return r;
	return 0;
}

/* Collections with at least one version as of --as-of. */
static int live_colls(struct lq *q, uint64_t *n)
{
	struct lin_scan c;
	MDB_val v;
	struct coll_sum cs;
	int r, rc = lin_view_open(&c, q->txn, &q->store, LIN_VIEW_COLLS, NULL,
				  0, NULL, 0, &q->e);

	*n = 0;
	if (rc)
		return rc;
	while ((r = lin_scan_next(&c)) == 1) {
		v = c.v;
		if (v.mv_size != 8)
			continue;  /* check reports it */
		if ((rc = coll_versions(q, lin_be64_get(v.mv_data), &cs, NULL,
					NULL))) {
			lin_scan_close(&c);
			return rc;
		}
		*n += cs.versions > 0;
	}
	lin_scan_close(&c);
	return r < 0 ? r : 0;
}

int lq_cmd_stats(struct lq *q, int argc, char **argv)
{
	uint64_t runs = 0, versions = 0, logged = 0, used = 0, colls = 0,
		 sources = 0, facts = 0, pending = 0;
	MDB_val v;
	int64_t created = LIN_QNONE;
	unsigned schema = 0;
	int rc = parse(q, &lq_stats, argc, argv, NULL, NULL);

	if (rc >= 0)
		return rc;
	if (argc != optind)
		return lq_usage(q, "stats", "takes no arguments");
	q->scans = q->has_asof;   /* as of a time it counts by scanning */
	if ((rc = lq_open(q)) != 0)
		return rc;
	/* Now: the counters the indexer keeps; as of a past time, only a
	 * scan can tell what existed then. */
	uint64_t cnt[LIN_COUNT_N];
	if (!q->at) {
		if ((rc = lin_store_counts(q->txn, &q->store, cnt, &q->e)))
			return lq_fail(q, rc);
		runs = cnt[LIN_COUNT_RUNS];
		versions = cnt[LIN_COUNT_VERSIONS];
		logged = cnt[LIN_COUNT_LOGGED];
		used = cnt[LIN_COUNT_USED];
	}
	if ((q->at &&
	     (rc = count_kinds(q, &runs, &versions, &logged, &used))) ||
	    (rc = entries(q, LIN_DB_COLL_INFO, &colls)) ||
	    (rc = entries(q, LIN_DB_SOURCES, &sources)) ||
	    (rc = entries(q, LIN_DB_FACTS, &facts)) ||
	    (rc = entries(q, LIN_DB_PENDING, &pending)) ||
	    (q->at && (rc = live_colls(q, &colls))))
		return lq_fail(q, rc);
	if (lin_store_get(q->txn, &q->store, LIN_DB_META, LIN_META_SCHEMA,
			  strlen(LIN_META_SCHEMA), &v, &q->e) == 0 &&
	    v.mv_size == 4)
		schema = lin_be32_get(v.mv_data);
	if (lin_store_get(q->txn, &q->store, LIN_DB_META, LIN_META_CREATED,
			  strlen(LIN_META_CREATED), &v, &q->e) == 0 &&
	    v.mv_size == 8)
		created = (int64_t)lin_be64_get(v.mv_data);
	lin_err_clear(&q->e);

	/* The store file's size on disk, as `ls -l` shows it. */
	struct stat sb;
	int64_t size = stat(q->store_path, &sb) == 0 ? (int64_t)sb.st_size :
		       LIN_QNONE;

	const char *names[] = { "runs", "collections", "versions", "logged",
				"used", "pending", "sources", "facts" };
	uint64_t vals[] = { runs, colls, versions, logged, used, pending,
			    sources, facts };
	char tb[48];
	if (q->json) {
		fprintf(q->out, "{\"kind\":\"stats\",\"schema\":%u,"
			"\"created_at\":", schema);
		if (created == LIN_QNONE)
			fputs("null", q->out);
		else
			lin_json_cstr(q->out, lin_fmt_time(tb, created));
		if (q->has_asof) {
			fputs(",\"as_of\":", q->out);
			lin_json_cstr(q->out, lin_fmt_time(tb, q->asof));
		}
		for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
			fprintf(q->out, ",\"%s\":%llu", names[i],
				(unsigned long long)vals[i]);
		if (size == LIN_QNONE)
			fputs(",\"size_bytes\":null}\n", q->out);
		else
			fprintf(q->out, ",\"size_bytes\":%lld}\n",
				(long long)size);
		return LQ_OK;
	}
	struct lin_table t;
	lin_table_init(&t);
	lin_table_row(&t);
	lin_table_cell(&t, "schema");
	lin_table_cellf(&t, "%u", schema);
	lin_table_row(&t);
	lin_table_cell(&t, "created_at");
	lin_table_cell(&t, created == LIN_QNONE ? "-" :
		       lin_fmt_time(tb, created));
	if (q->has_asof) {
		lin_table_row(&t);
		lin_table_cell(&t, "as_of");
		lin_table_cell(&t, lin_fmt_time(tb, q->asof));
	}
	for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
		lin_table_row(&t);
		lin_table_cell(&t, names[i]);
		lin_table_cellf(&t, "%llu", (unsigned long long)vals[i]);
	}
	lin_table_row(&t);
	lin_table_cell(&t, "size");
	if (size == LIN_QNONE)
		lin_table_cell(&t, "-");
	else
		lin_table_cellf(&t, "%lld bytes (%.1f MiB)", (long long)size,
				(double)size / (1024.0 * 1024.0));
	return lin_table_flush(&t, q->out) ? lq_fail(q, LIN_ENOMEM) : LQ_OK;
}

/* ---- check ---- */

struct checker {
	struct lq *q;
	uint64_t problems, warnings, nodes, edges;
	uint64_t counted[LIN_COUNT_N];  /* what the counters must say */
	struct lin_qnode n;
};

/* One finding: "problem: ..." (an inconsistency) or "note: ..." (what
 * an audit should know), or a JSON object of that kind. */
static void finding(struct checker *k, int is_problem, const char *msg)
{
	const char *kind = is_problem ? "problem" : "note";

	if (is_problem)
		k->problems++;
	else
		k->warnings++;
	if (k->q->json) {
		fprintf(k->q->out, "{\"kind\":\"%s\",\"message\":", kind);
		lin_json_cstr(k->q->out, msg);
		fputs("}\n", k->q->out);
	} else {
		fprintf(k->q->out, "%s: ", kind);
		lin_text_str(k->q->out, msg, strlen(msg));
		putc('\n', k->q->out);
	}
}

static void audit_report(void *ctx, int is_problem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void audit_report(void *ctx, int is_problem, const char *fmt, ...)
{
	char buf[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	finding(ctx, is_problem, buf);
}

static void problem(struct checker *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct checker *k, const char *fmt, ...)
{
	char buf[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	finding(k, 1, buf);
}

/* Load node `id`; a data problem is reported, not fatal. 1 when
 * loaded, 0 when reported, <0 on store errors. */
static int check_load(struct checker *k, uint64_t id, const char *why)
{
	struct lq *q = k->q;
	int rc = lin_qnode_load(q->txn, &q->store, id, &k->n, &q->e);

	if (rc == 0)
		return 1;
	if (rc == LIN_ENOTFOUND || rc == LIN_ECORRUPT) {
		problem(k, "%s: %s", why, q->e.msg);
		lin_err_clear(&q->e);
		return 0;
	}
	return rc;
}

/* Every run id and collection name of `names`, as "entity/project/name"
 * (view.h), names a node or collection of that name. */
static int check_keys(struct checker *k, enum lin_view view)
{
	struct lq *q = k->q;
	struct lin_scan c;
	MDB_val key, v;
	int r, rc = lin_view_open(&c, q->txn, &q->store, view, NULL, 0, NULL,
				  0, &q->e);
	const char *what = view == LIN_VIEW_RUNS ? "run" : "collection";

	if (rc)
		return rc;
	while ((r = lin_scan_next(&c)) == 1 && rc >= 0) {
		key = c.k;
		v = c.v;
		int kn = key.mv_size > 200 ? 200 : (int)key.mv_size;
		const char *ks = key.mv_data;
		if (v.mv_size != 8) {
			problem(k, "%s name '%.*s': value is %zu bytes, not 8",
				what, kn, ks, v.mv_size);
			continue;
		}
		/* A view key is "entity/project/name" with exactly two
		 * slashes: fewer came from a names entry with no scope,
		 * more from a part holding a '/', which the indexer
		 * refuses (two runs would read as one). */
		size_t slashes = 0;
		for (size_t i = 0; i < key.mv_size; i++)
			slashes += ks[i] == '/';
		if (slashes != 2) {
			problem(k, "%s name '%.*s' %s in 'names'", what, kn,
				ks, slashes < 2 ? "has no entity/project" :
				"has a part holding a '/'");
			continue;
		}
		uint64_t id = lin_be64_get(v.mv_data);
		if (view == LIN_VIEW_COLLS) {
			if (LIN_ID_KIND(id) != LIN_ID_COLL)
				problem(k, "collection name '%.*s' names %016llx, "
					"not a collection id", kn, ks,
					(unsigned long long)id);
			continue;
		}
		char want[1600];
		rc = check_load(k, id, "run name");
		if (rc != 1)
			continue;
		snprintf(want, sizeof want, "%.*s/%.*s/%.*s",
			 (int)k->n.entity.n, k->n.entity.p,
			 (int)k->n.project.n, k->n.project.p,
			 (int)k->n.run_id.n, k->n.run_id.p);
		if (k->n.kind != LIN_ID_RUN || strlen(want) != key.mv_size ||
		    memcmp(want, ks, key.mv_size))
			problem(k, "run name '%.*s' names node %016llx, which "
				"is '%s'", kn, ks, (unsigned long long)id,
				want);
	}
	lin_scan_close(&c);
	if (rc < 0)
		return rc;
	return r < 0 ? r : 0;
}

static int check_versions(struct checker *k)
{
	struct lq *q = k->q;
	struct lin_scan c;
	MDB_val key, v;
	int r, rc = cursor(q, LIN_DB_COLL_VER, &c);

	if (rc)
		return rc;
	while ((r = lin_scan_next(&c)) == 1 && rc >= 0) {
		key = c.k;
		v = c.v;
		if (key.mv_size != 12 || v.mv_size < 8) {
			problem(k, "coll_ver entry of %zu/%zu bytes",
				key.mv_size, v.mv_size);
			continue;
		}
		uint64_t coll = lin_be64_get(key.mv_data);
		uint32_t num = lin_be32_get((unsigned char *)key.mv_data + 8);
		uint64_t vid = lin_be64_get(v.mv_data);
		rc = check_load(k, vid, "coll_ver entry");
		if (rc != 1)
			continue;
		if (k->n.kind != LIN_ID_VERSION ||
		    k->n.version != (int64_t)num ||
		    (k->n.coll && k->n.coll != coll))
			problem(k, "coll_ver %016llx v%u names node %016llx, "
				"which is v%lld of %016llx",
				(unsigned long long)coll, num,
				(unsigned long long)vid,
				(long long)k->n.version,
				(unsigned long long)k->n.coll);
	}
	lin_scan_close(&c);
	if (rc < 0)
		return rc;
	return r < 0 ? r : 0;
}

static unsigned reverse_kind(unsigned kind)
{
	switch (kind) {
	case LIN_EDGE_LOGGED: return LIN_EDGE_LOGGED_BY;
	case LIN_EDGE_LOGGED_BY: return LIN_EDGE_LOGGED;
	case LIN_EDGE_USES: return LIN_EDGE_USED_BY;
	case LIN_EDGE_USED_BY: return LIN_EDGE_USES;
	case LIN_EDGE_RELOGGED: return LIN_EDGE_RELOGGED_BY;
	case LIN_EDGE_RELOGGED_BY: return LIN_EDGE_RELOGGED;
	}
	return 0;
}

static int check_edges(struct checker *k)
{
	struct lq *q = k->q;
	struct lin_scan c;
	struct lin_edges rev;
	MDB_val key, v;
	int r, rc = cursor(q, LIN_DB_EDGES, &c);

	if (rc)
		return rc;
	if ((rc = lin_edges_open(&rev, q->txn, &q->store, &q->e))) {
		lin_scan_close(&c);
		return rc;
	}
	while ((r = lin_scan_next(&c)) == 1) {
		key = c.k;
		v = c.v;
		struct lin_edge e, back;
		k->edges++;
		if (key.mv_size != 8 || v.mv_size != LIN_EDGE_SIZE) {
			problem(k, "edge entry of %zu/%zu bytes", key.mv_size,
				v.mv_size);
			continue;
		}
		uint64_t node = lin_be64_get(key.mv_data);
		lin_edge_decode(v.mv_data, &e);
		k->counted[LIN_COUNT_LOGGED] += e.kind == LIN_EDGE_LOGGED ||
						e.kind == LIN_EDGE_RELOGGED;
		k->counted[LIN_COUNT_USED] += e.kind == LIN_EDGE_USES;
		back.kind = reverse_kind(e.kind);
		if (!back.kind)
			continue;  /* a kind from a newer schema */
		back.other = node;
		back.fact = e.fact;
		int g = lin_edges_has(&rev, e.other, &back);
		if (g == 0)
			problem(k, "edge %016llx -%s-> %016llx (fact %016llx) "
				"has no reverse edge",
				(unsigned long long)node,
				lin_edge_label(e.kind),
				(unsigned long long)e.other,
				(unsigned long long)e.fact);
		else if (g < 0) {
			rc = g;
			break;
		}
	}
	lin_scan_close(&c);
	lin_edges_close(&rev);
	if (rc)
		return rc;
	return r < 0 ? r : 0;
}

/* The counters `stats` reads against what check_nodes and check_edges
 * counted. */
static int check_counts(struct checker *k)
{
	uint64_t c[LIN_COUNT_N];
	int rc = lin_store_counts(k->q->txn, &k->q->store, c, &k->q->e);

	if (rc == LIN_ECORRUPT) {
		problem(k, "%s", k->q->e.msg);
		lin_err_clear(&k->q->e);
		return 0;
	}
	if (rc)
		return rc;
	for (int i = 0; i < LIN_COUNT_N; i++)
		if (c[i] != k->counted[i])
			problem(k, "meta '%s' says %llu, the store holds %llu",
				lin_count_names[i], (unsigned long long)c[i],
				(unsigned long long)k->counted[i]);
	return 0;
}

static int check_nodes(struct checker *k)
{
	struct lq *q = k->q;
	struct lin_scan c;
	MDB_val key;
	int r, rc = cursor(q, LIN_DB_NODES, &c);

	if (rc)
		return rc;
	while ((r = lin_scan_next(&c)) == 1 && rc >= 0) {
		key = c.k;
		k->nodes++;
		if (key.mv_size != 8) {
			problem(k, "nodes key of %zu bytes", key.mv_size);
			continue;
		}
		unsigned kind = LIN_ID_KIND(lin_be64_get(key.mv_data));
		k->counted[LIN_COUNT_RUNS] += kind == LIN_ID_RUN;
		k->counted[LIN_COUNT_VERSIONS] += kind == LIN_ID_VERSION;
		rc = check_load(k, lin_be64_get(key.mv_data), "node");
	}
	lin_scan_close(&c);
	if (rc < 0)
		return rc;
	return r < 0 ? r : 0;
}

static void core_problem(void *ctx, uint64_t id, const char *what)
{
	problem(ctx, "node %016llx: %s", (unsigned long long)id, what);
}

/* node_core mirrors nodes: every node's core record is the one its
 * attributes give, and no core record is without its node. */
static int check_cores(struct checker *k)
{
	return lin_core_check(k->q->txn, &k->q->store, core_problem, k,
			      &k->q->e);
}

/* 1 when `db` has key fact id `fid`, 0 when not, <0 on store errors. */
static int has_fact_key(struct lq *q, enum lin_db db, uint64_t fid)
{
	unsigned char kb[8];
	MDB_val v;
	int rc = lin_store_get(q->txn, &q->store, db, kb, lin_key_id(kb, fid),
			       &v, &q->e);

	if (rc == LIN_ENOTFOUND) {
		lin_err_clear(&q->e);
		return 0;
	}
	return rc ? rc : 1;
}

/* Every use fact of a node resolved (use_res) or pending, never both:
 * walks learn that a run has unresolved uses from `pending` alone. */
static int check_uses(struct checker *k)
{
	struct lq *q = k->q;
	struct lin_scan c;
	unsigned kind;
	uint64_t fid;
	int r, rc = cursor(q, LIN_DB_NODE_FACTS, &c);

	if (rc)
		return rc;
	while (rc >= 0 && (r = lin_scan_next(&c)) == 1) {
		if (c.k.mv_size != 8 ||
		    lin_val_node_fact(c.v.mv_data, c.v.mv_size, &kind, &fid,
				      NULL) || kind != LIN_FACT_USE)
			continue;  /* check --deep reports malformed entries */
		int res = has_fact_key(q, LIN_DB_USE_RES, fid);
		int pend = res < 0 ? 0 : has_fact_key(q, LIN_DB_PENDING, fid);
		if ((rc = res < 0 ? res : pend < 0 ? pend : 0))
			break;
		if (res == pend)
			problem(k, "use fact %016llx of node %016llx is in %s: "
				"each use is either resolved or pending",
				(unsigned long long)fid,
				(unsigned long long)lin_be64_get(c.k.mv_data),
				res ? "both use_res and pending" :
				"neither use_res nor pending");
	}
	lin_scan_close(&c);
	if (rc < 0)
		return rc;
	return r < 0 ? r : 0;
}

int lq_cmd_check(struct lq *q, int argc, char **argv)
{
	struct checker k;
	int deep = 0, rc;

	if ((rc = parse(q, &lq_check, argc, argv, NULL, &deep)) >= 0)
		return rc;
	if (argc != optind)
		return lq_usage(q, "check", "takes no arguments");
	q->scans = 1;
	if ((rc = lq_open(q)) != 0)
		return rc;
	memset(&k, 0, sizeof k);
	k.q = q;
	lin_qnode_init(&k.n);
	if ((rc = check_nodes(&k)) == 0 &&
	    (rc = check_cores(&k)) == 0 &&
	    (rc = check_keys(&k, LIN_VIEW_RUNS)) == 0 &&
	    (rc = check_keys(&k, LIN_VIEW_COLLS)) == 0 &&
	    (rc = check_versions(&k)) == 0 &&
	    (rc = check_edges(&k)) == 0 &&
	    (rc = check_uses(&k)) == 0 &&
	    (rc = check_counts(&k)) == 0 &&
	    (rc = lq_audit(q, audit_report, &k)) == 0 && deep)
		rc = lin_deep_check(q->txn, &q->store, audit_report, &k,
				    &q->e);
	lin_qnode_release(&k.n);
	if (rc)
		return lq_fail(q, rc);
	if (q->json)
		fprintf(q->out, "{\"kind\":\"summary\",\"nodes\":%llu,"
			"\"edges\":%llu,\"problems\":%llu,\"notes\":%llu}\n",
			(unsigned long long)k.nodes,
			(unsigned long long)k.edges,
			(unsigned long long)k.problems,
			(unsigned long long)k.warnings);
	else
		fprintf(q->out, "checked %llu nodes, %llu edges: %llu "
			"problem%s, %llu note%s\n", (unsigned long long)k.nodes,
			(unsigned long long)k.edges,
			(unsigned long long)k.problems,
			k.problems == 1 ? "" : "s",
			(unsigned long long)k.warnings,
			k.warnings == 1 ? "" : "s");
	return k.problems ? LQ_DATAERR : LQ_OK;
}

/* ---- the commands' options and help ---- */

static const struct lin_opt ls_opts[] = {
	{ 'p', "project", "P", "only project P (or entity/P)" },
	{ 't', "type", "T", "only artifacts (collections) of type T" },
	{ 'J', "job-type", "J", "only runs of job type J" },
	LIN_OPT_END
};

const struct lq_cmd lq_ls = {
	"ls", lq_cmd_ls, "ls runs|artifacts|collections|types "
	"[--project P]\n         [--type T] [--job-type J]",
	"list what the store holds", NULL, ls_opts,
	"Filters are repeatable and take comma-separated lists, as in\n"
	"lineage.\n"
};

static const struct lin_opt stats_opts[] = { LIN_OPT_END };

const struct lq_cmd lq_stats = {
	"stats", lq_cmd_stats, "stats",
	"counts of runs, collections, versions, edges and sources", NULL,
	stats_opts, NULL
};

static const struct lin_opt check_opts[] = {
	{ LIN_OPT_LONG_ONLY, "deep", NULL, "also read every entry of every "
	  "database: placed\ninside the file and in order, decoded, every "
	  "id\nit holds present, counts equal to LMDB's records,\nevery "
	  "node reachable from the indexes" },
	LIN_OPT_END
};

const struct lq_cmd lq_check = {
	"check", lq_cmd_check, "check [--deep]",
	"check the store's consistency; exit status 65 on problems",
	"Decodes every node and checks that run keys, version numbers,\n"
	"core records (node_core) and edges agree (every edge has its\n"
	"reverse; every use is resolved or pending, not both). One line\n"
	"per problem, then a summary line. Checks the whole store:\n"
	"--as-of is ignored.\n",
	check_opts, NULL
};
