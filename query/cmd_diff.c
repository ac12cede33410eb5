/* cmd_diff.c - the diff subcommand: runs, versions and edges added or
 * removed between two stores, or one store at two times, matched by
 * name (internal ids differ between stores). */
#include "internal.h"
#include "format/view.h"
#include "format/grow.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { S_RUN, S_ARTIFACT, S_EDGE };

static const char *const sect_name[] = { "run", "artifact", "edge" };

/* One run, version or edge of a side. For nodes `a` is the name
 * ("e/p/id", "e/p/name:vN"); for edges `a` and `b` are the ends
 * ("run:...", "artifact:...") and `label` the edge. */
struct item {
	int sect;
	char *a, *b;
	const char *label;
};

/* A node id and its name, for naming edge ends. */
struct named {
	uint64_t id;
	const char *name;  /* borrowed from an item */
};

struct side {
	const char *path;
	int has_time;
	int64_t t;
	struct lin_store store, *s;  /* s: this side's or the other's */
	MDB_txn *txn;
	int opened, borrowed;
	struct lq_asof *at;
	struct item *v;
	size_t n, cap;
	struct named *names;
	size_t nn, ncap;
};

static int oom(struct lq *q)
{
	return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
			   "out of memory");
}

static struct item *add_item(struct side *d, int sect)
{
	if (LIN_GROW(d->v, d->cap, d->n + 1, 64))
		return NULL;
	struct item *it = &d->v[d->n++];
	memset(it, 0, sizeof *it);
	it->sect = sect;
	return it;
}

static int add_name(struct side *d, uint64_t id, const char *name)
{
	if (LIN_GROW(d->names, d->ncap, d->nn + 1, 64))
		return -1;
	d->names[d->nn].id = id;
	d->names[d->nn].name = name;
	d->nn++;
	return 0;
}

static int cmp_named(const void *x, const void *y)
{
	const struct named *a = x, *b = y;
	return a->id < b->id ? -1 : a->id > b->id;
}

static const char *name_of(const struct side *d, uint64_t id)
{
	struct named key = { id, NULL };
	const struct named *f = bsearch(&key, d->names, d->nn,
					sizeof *d->names, cmp_named);
	return f ? f->name : NULL;
}

/* 1 when node id existed at the side's time (always without one). */
static int exists(struct lq *q, struct side *d, uint64_t id)
{
	int ok, rc;

	if (!d->at)
		return 1;
	rc = lq_asof_node(d->at, id, &ok, &q->e);
	return rc ? rc : ok;
}

static int collect_runs(struct lq *q, struct side *d)
{
	struct lin_scan sc;
	uint64_t id;
	int rc = lin_view_open(&sc, d->txn, d->s, LIN_VIEW_RUNS, NULL, 0, NULL,
			       0, &q->e);

	while (rc == 0 && (rc = lin_scan_next(&sc)) == 1) {
		if ((rc = lin_val_id(sc.v.mv_data, sc.v.mv_size, &id, "run name",
				     &q->e)))
			break;
		if ((rc = exists(q, d, id)) <= 0)
			continue;
		rc = 0;
		struct item *it = add_item(d, S_RUN);
		/* The key is the run's name: "entity/project/run_id". */
		if (!it || !(it->a = strndup(sc.k.mv_data, sc.k.mv_size)) ||
		    add_name(d, id, it->a))
			rc = oom(q);
	}
	lin_scan_close(&sc);
	return rc;
}

/* Collection ids and names ("e/p/name"), sorted by id. */
static int coll_names(struct lq *q, struct side *d, struct named **out,
		      size_t *nout, char ***keep)
{
	struct lin_scan sc;
	struct named *l = NULL;
	char **strs = NULL;
	size_t n = 0, cap = 0, scap = 0;
	uint64_t id;
	int rc = lin_view_open(&sc, d->txn, d->s, LIN_VIEW_COLLS, NULL, 0, NULL,
			       0, &q->e);

	while (rc == 0 && (rc = lin_scan_next(&sc)) == 1) {
		if ((rc = lin_val_id(sc.v.mv_data, sc.v.mv_size, &id, "collection name",
				     &q->e)))
			break;
		rc = 0;
		char *s = strndup(sc.k.mv_data, sc.k.mv_size);
		if (!s || LIN_GROW(l, cap, n + 1, 64) ||
		    LIN_GROW(strs, scap, n + 1, 64)) {
			free(s);
			rc = oom(q);
			break;
		}
		strs[n] = s;
		l[n].id = id;
		l[n].name = s;
		n++;
	}
	lin_scan_close(&sc);
	if (n)
		qsort(l, n, sizeof *l, cmp_named);
	*out = l;
	*nout = n;
	*keep = strs;
	return rc;
}

static int collect_versions(struct lq *q, struct side *d)
{
	struct named *colls = NULL;
	char **strs = NULL;
	size_t ncolls = 0;
	struct lin_scan sc = { 0 };
	struct lin_ver ver;
	int rc;

	rc = coll_names(q, d, &colls, &ncolls, &strs);
	if (rc == 0)
		rc = lin_store_versions(&sc, d->txn, d->s, 0, &q->e);
	while (rc == 0 && (rc = lin_versions_next(&sc, &ver)) == 1) {
		uint64_t vid = ver.vid;
		struct named key = { ver.coll, NULL };
		const struct named *cn = bsearch(&key, colls, ncolls,
						 sizeof *colls, cmp_named);
		if (!cn) {
			rc = lin_err_set(&q->e, LIN_ECORRUPT, LIN_NO_OFFSET,
					 "version %016llx belongs to no "
					 "collection in 'names'",
					 (unsigned long long)vid);
			break;
		}
		if ((rc = exists(q, d, vid)) <= 0)
			continue;
		rc = 0;
		struct item *it = add_item(d, S_ARTIFACT);
		if (!it || asprintf(&it->a, "%s:v%u", cn->name,
				    ver.number) < 0) {
			if (it)
				it->a = NULL;
			rc = oom(q);
		} else if (add_name(d, vid, it->a)) {
			rc = oom(q);
		}
	}
	lin_scan_close(&sc);
	for (size_t i = 0; i < ncolls; i++)
		free(strs[i]);
	free(strs);
	free(colls);
	return rc;
}

/* One item per (run, logged|used, version) edge; repeated uses are
 * removed later with the other duplicates. */
static int collect_edges(struct lq *q, struct side *d)
{
	struct lin_scan sc;
	struct lin_edge e;
	uint64_t run;
	const struct lin_edge_filter *f = d->at ? lq_asof_filter(d->at) :
					  NULL;
	int rc = lin_store_all_edges(&sc, d->txn, d->s, &q->e);

	if (d->nn)  /* qsort(NULL, 0, ...) is undefined */
		qsort(d->names, d->nn, sizeof *d->names, cmp_named);
	while (rc == 0 && (rc = lin_all_edges_next(&sc, &run, &e)) == 1) {
		rc = 0;
		/* The run side holds one entry per fact of each edge. */
		if (e.kind != LIN_EDGE_LOGGED && e.kind != LIN_EDGE_USES &&
		    e.kind != LIN_EDGE_RELOGGED)
			continue;
		if (f && (rc = f->fn(f->ctx, run, &e, &q->e)) <= 0)
			continue;
		rc = 0;
		const char *rn = name_of(d, run), *vn = name_of(d, e.other);
		if (!rn || !vn) {
			rc = lin_err_set(&q->e, LIN_ECORRUPT, LIN_NO_OFFSET,
					 "edge %016llx -%s-> %016llx names a "
					 "node that is not in the store",
					 (unsigned long long)run,
					 lin_edge_label(e.kind),
					 (unsigned long long)e.other);
			break;
		}
		struct item *it = add_item(d, S_EDGE);
		if (!it)
			rc = oom(q);
		else if (asprintf(&it->a, "run:%s", rn) < 0)
			it->a = NULL, rc = oom(q);
		else if (asprintf(&it->b, "artifact:%s", vn) < 0)
			it->b = NULL, rc = oom(q);
		else
			it->label = lin_edge_label(e.kind);
	}
	lin_scan_close(&sc);
	return rc;
}

static int cmp_item(const struct item *x, const struct item *y)
{
	int c;

	if (x->sect != y->sect)
		return x->sect - y->sect;
	if ((c = strcmp(x->a, y->a)))
		return c;
	if (x->sect != S_EDGE)
		return 0;
	if ((c = strcmp(x->label, y->label)))
		return c;
	return strcmp(x->b, y->b);
}

static int cmp_items(const void *x, const void *y)
{
	return cmp_item(x, y);
}

static void free_item(struct item *it)
{
	free(it->a);
	free(it->b);
}

/* Sort and drop duplicates (a run that used a version twice). */
static void sort_side(struct side *d)
{
	size_t out = 0;

	if (d->n)  /* qsort(NULL, 0, ...) is undefined */
		qsort(d->v, d->n, sizeof *d->v, cmp_items);
	for (size_t i = 0; i < d->n; i++) {
		if (out && cmp_item(&d->v[out - 1], &d->v[i]) == 0) {
			free_item(&d->v[i]);
			continue;
		}
		d->v[out++] = d->v[i];
	}
	d->n = out;
}

static void print_change(struct lq *q, int added, const struct item *it)
{
	FILE *f = q->out;

	if (q->json) {
		fprintf(f, "{\"change\":\"%s\",\"kind\":\"%s\",",
			added ? "added" : "removed", sect_name[it->sect]);
		if (it->sect == S_EDGE) {
			fputs("\"from\":", f);
			lin_json_cstr(f, it->a);
			fprintf(f, ",\"edge\":\"%s\",\"to\":", it->label);
			lin_json_cstr(f, it->b);
		} else {
			char *id = NULL;
			fputs("\"id\":", f);
			if (asprintf(&id, "%s:%s", sect_name[it->sect],
				     it->a) < 0)
				id = NULL;
			lin_json_cstr(f, id ? id : it->a);
			free(id);
		}
		fputs("}\n", f);
		return;
	}
	if (lq_tabular(q)) {
		/* change,kind,id,from,edge,to: id for nodes, the rest for
		 * edges */
		lq_field_str(q, added ? "added" : "removed");
		lq_field_str(q, sect_name[it->sect]);
		if (it->sect == S_EDGE) {
			lq_field_str(q, "");
			lq_field_str(q, it->a);
			lq_field_str(q, it->label);
			lq_field_str(q, it->b);
		} else {
			char *id = NULL;
			if (asprintf(&id, "%s:%s", sect_name[it->sect],
				     it->a) < 0)
				id = NULL;
			lq_field_str(q, id ? id : it->a);
			free(id);
			lq_field_str(q, "");
			lq_field_str(q, "");
			lq_field_str(q, "");
		}
		lq_row_end(q);
		return;
	}
	fprintf(f, "%c %s ", added ? '+' : '-', sect_name[it->sect]);
	lin_text_str(f, it->a, strlen(it->a));
	if (it->sect == S_EDGE) {
		fprintf(f, " %s ", it->label);
		lin_text_str(f, it->b, strlen(it->b));
	}
	putc('\n', f);
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return 1;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Open side d (sharing `other`'s store when it is the same file). 0 or
 * an exit status after printing why. */
static int open_side(struct lq *q, struct side *d, struct side *other)
{
	int rc = 0;

	if (other && other->opened && same_file(d->path, other->path)) {
		/* LMDB forbids opening one environment twice in a
		 * process; one snapshot serves both sides. */
		d->s = other->s;
		d->txn = other->txn;
		d->borrowed = 1;
	} else {
		rc = lin_store_open(&d->store, d->path, LIN_STORE_RDONLY,
				    &q->e);
		if (rc == 0) {
			rc = lin_store_begin(&d->store, 1, &d->txn, &q->e);
			if (rc)
				lin_store_close(&d->store);
		}
		if (rc) {
			char buf[1200];
			lq_errf(q, "%s", lin_err_format(&q->e, buf,
							sizeof buf));
			return rc == LIN_ESCHEMA || rc == LIN_ECORRUPT ?
			       LQ_DATAERR : LQ_NOINPUT;
		}
		d->s = &d->store;
	}
	d->opened = 1;
	if (d->has_time && !(d->at = lq_asof_new(d->txn, d->s, d->t))) {
		lq_errf(q, "out of memory");
		return LQ_SOFTWARE;
	}
	return 0;
}

static void close_side(struct side *d)
{
	lq_asof_free(d->at);
	for (size_t i = 0; i < d->n; i++)
		free_item(&d->v[i]);
	free(d->v);
	free(d->names);
	if (d->opened && !d->borrowed) {
		lin_store_abort(d->txn);
		lin_store_close(&d->store);
	}
}

static int collect(struct lq *q, struct side *d)
{
	int rc;

	if ((rc = collect_runs(q, d)) || (rc = collect_versions(q, d)) ||
	    (rc = collect_edges(q, d)))
		return rc;
	sort_side(d);
	return 0;
}

/* --from and --to are other names of --as-of-a and --as-of-b. */
static const struct lin_opt diff_opts[] = {
	{ 'a', "as-of-a", "T1", "side A as of T1" },
	{ 'a', "from", "T1", NULL },
	{ 'b', "as-of-b", "T2", "side B as of T2" },
	{ 'b', "to", "T2", NULL },
	LIN_OPT_END
};

int lq_cmd_diff(struct lq *q, int argc, char **argv)
{
	struct lin_getopt go;
	const char *cmd = "diff";
	struct side sa, sb;
	int c, r, rc, differ = 0;

	memset(&sa, 0, sizeof sa);
	memset(&sb, 0, sizeof sb);
	/* The global --as-of is the default time of both sides. */
	sa.has_time = sb.has_time = q->has_asof;
	sa.t = sb.t = q->asof;
	lq_getopt(&go, diff_opts);
	while ((r = lq_next_opt(q, cmd, &go, argc, argv, NULL,
				  &c)) == -1) {
		if (c == 'a' || c == 'b') {
			struct side *d = c == 'a' ? &sa : &sb;
			char why[160];
			if (lq_parse_time(optarg, &d->t))
				return lq_usage(q, cmd, "bad time '%s': %s",
						optarg, lq_time_why(optarg, why,
								    sizeof why));
			d->has_time = 1;
			continue;
		}
	}
	if (r >= 0)
		return r;
	int nstores = argc - optind;
	if (nstores > 2)
		return lq_usage(q, cmd, "expects at most two stores, got %d",
				nstores);
	sa.path = nstores >= 1 ? argv[optind] : q->store_path;
	sb.path = nstores == 2 ? argv[optind + 1] : sa.path;
	if (nstores < 2 && sa.has_time == sb.has_time && sa.t == sb.t)
		return lq_usage(q, cmd, "nothing to compare: give two "
				"stores, or --as-of-a and/or --as-of-b");
	rc = open_side(q, &sa, NULL);
	if (rc == 0)
		rc = open_side(q, &sb, &sa);
	if (rc == 0) {
		const char *failed = sa.path;
		int crc = collect(q, &sa);
		if (crc == 0) {
			failed = sb.path;
			crc = collect(q, &sb);
		}
		if (crc) {
			/* lq_fail names q->store_path: the failed side. */
			q->store_path = failed;
			rc = lq_fail(q, crc);
		}
	}
	if (rc == 0 && lq_tabular(q))
		lq_header(q, "change,kind,id,from,edge,to");
	for (size_t i = 0, j = 0; rc == 0 && (i < sa.n || j < sb.n);) {
		int k = i == sa.n ? 1 : j == sb.n ? -1 :
			cmp_item(&sa.v[i], &sb.v[j]);
		if (k == 0) {
			i++;
			j++;
			continue;
		}
		differ = 1;
		if (k < 0)
			print_change(q, 0, &sa.v[i++]);
		else
			print_change(q, 1, &sb.v[j++]);
	}
	close_side(&sb);
	close_side(&sa);
	if (rc)
		return rc;
	return differ ? LQ_NOTFOUND : LQ_OK;
}

const struct lq_cmd lq_diff = {
	"diff", lq_cmd_diff,
	"diff [--as-of-a T1] [--as-of-b T2] [STORE_A [STORE_B]]",
	"runs, versions and edges added or removed between two stores or "
	"times",
	"Side A is STORE_A (default: --store) as of T1, side B is STORE_B\n"
	"(default: STORE_A) as of T2; a time left out is the global\n"
	"--as-of, else the whole store. Nodes are matched by name\n"
	"(run e/p/id, artifact e/p/name:vN), not by internal id. Lines:\n"
	"  - run e/p/id\n"
	"  + artifact e/p/name:vN\n"
	"  + edge run:e/p/id logged|relogged|used artifact:e/p/name:vN\n"
	"runs first, then artifacts, then edges, each sorted by name.\n"
	"Exit status 0: no differences, 1: differences (like diff(1)).\n",
	diff_opts, NULL
};
