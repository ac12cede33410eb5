/* filter.c - the report filters --type, --job-type and --project: values
 * repeatable and comma-separated, checked against what the store holds so
 * that a misspelt filter is an error instead of an empty answer. */
#include "internal.h"
#include "format/view.h"
#include "format/grow.h"
#include "format/facts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SUGGEST 3     /* nearest existing values offered */
#define SHOW_MAX 8    /* existing values listed when none is near */

static int qstr_eq(struct lin_slice a, struct lin_slice b)
{
	return a.p && b.p && a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

static int in_list(const struct lq_flist *l, struct lin_slice s)
{
	for (size_t i = 0; i < l->n; i++)
		if (qstr_eq(l->v[i], s))
			return 1;
	return 0;
}

/* "P" matches the project, "E/P" entity and project. */
static int project_match(struct lin_slice want, const struct lin_qnode *n)
{
	const char *slash = memchr(want.p, '/', want.n);
	if (!slash)
		return qstr_eq(want, n->project);
	struct lin_slice e = { want.p, (size_t)(slash - want.p) };
	struct lin_slice p = { slash + 1, want.n - e.n - 1 };
	return qstr_eq(e, n->entity) && qstr_eq(p, n->project);
}

int lq_wanted(const struct lq_filter *f, const struct lin_qnode *n)
{
	/* With a type or job type given, a node passes when its kind's
	 * list names it: --type alone reports no runs, and the reverse. */
	if (f->type.n || f->job_type.n) {
		int ok = n->kind == LIN_ID_RUN ? in_list(&f->job_type,
							 n->job_type) :
			 in_list(&f->type, n->type);
		if (!ok)
			return 0;
	}
	if (f->project.n) {
		for (size_t i = 0; i < f->project.n; i++)
			if (project_match(f->project.v[i], n))
				return 1;
		return 0;
	}
	return 1;
}

int lq_filter_active(const struct lq_filter *f)
{
	return f->type.n || f->job_type.n || f->project.n;
}

int lq_filter_opt(struct lq *q, const char *cmd, struct lq_filter *f,
		  int c, const char *arg)
{
	struct lq_flist *l = c == 't' ? &f->type : c == 'J' ? &f->job_type :
			     c == 'p' ? &f->project : NULL;
	const char *opt = c == 't' ? "--type" : c == 'J' ? "--job-type" :
			  "--project";

	if (!l)
		return -2;
	/* Slices of argv: nothing to allocate or free. */
	for (const char *s = arg;;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0)
			return lq_usage(q, cmd, "empty value in %s '%s'", opt,
					arg);
		if (l->n == LQ_FILTER_MAX)
			return lq_usage(q, cmd, "more than %d values of %s",
					LQ_FILTER_MAX, opt);
		l->v[l->n++] = (struct lin_slice){ s, n };
		if (!e)
			break;
		s = e + 1;
	}
	return -1;
}

/* What the store holds: distinct values per filter, and which of the
 * wanted ones were seen. */
struct seen {
	struct lq_flist *want;
	unsigned char found[LQ_FILTER_MAX];
	size_t nfound;
	char **have;          /* distinct values seen, for suggestions */
	size_t nhave, cap;
	int failed;           /* out of memory */
};

static void see(struct seen *s, struct lin_slice v)
{
	if (!v.p || !s->want->n)
		return;
	for (size_t i = 0; i < s->want->n; i++) {
		if (!s->found[i] && qstr_eq(s->want->v[i], v)) {
			s->found[i] = 1;
			s->nfound++;
		}
	}
	for (size_t i = 0; i < s->nhave; i++)
		if (strlen(s->have[i]) == v.n &&
		    memcmp(s->have[i], v.p, v.n) == 0)
			return;
	if (LIN_GROW(s->have, s->cap, s->nhave + 1, 16)) {
		s->failed = 1;
		return;
	}
	if (!(s->have[s->nhave] = strndup(v.p, v.n)))
		s->failed = 1;
	else
		s->nhave++;
}

static int done(const struct seen *s)
{
	return s->nfound == s->want->n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "no TYPE 'x' in the store; did you mean 'y'? (existing: a, b, ...)" */
static void unknown(struct lq *q, const char *cmd, const char *what,
		    struct lin_slice v, struct seen *s)
{
	char near[SUGGEST][256];
	size_t dist[SUGGEST];
	int nn = 0;
	size_t cap = v.n / 3 > 2 ? v.n / 3 : 2;

	if (s->nhave)
		qsort(s->have, s->nhave, sizeof *s->have, cmp_str);
	for (size_t i = 0; i < s->nhave; i++) {
		size_t d = lin_edit_distance(v.p, v.n, s->have[i],
					     strlen(s->have[i]), cap);
		/* a value that only differs in case or is a prefix is
		 * near too */
		if (d > cap && strncasecmp(v.p, s->have[i], v.n) == 0)
			d = cap;
		if (d > cap || strlen(s->have[i]) >= sizeof near[0])
			continue;
		int k = nn < SUGGEST ? nn : SUGGEST;
		while (k > 0 && dist[k - 1] > d)
			k--;
		if (k >= SUGGEST)
			continue;
		for (int j = (nn < SUGGEST ? nn : SUGGEST - 1); j > k; j--) {
			memcpy(near[j], near[j - 1], sizeof near[j]);
			dist[j] = dist[j - 1];
		}
		strcpy(near[k], s->have[i]);
		dist[k] = d;
		if (nn < SUGGEST)
			nn++;
	}
	fprintf(q->err, "%s: %s: no %s '", q->prog, cmd, what);
	lin_text_str(q->err, v.p, v.n);
	fputs("' in the store", q->err);
	if (nn) {
		fputs("; did you mean ", q->err);
		for (int i = 0; i < nn; i++)
			fprintf(q->err, "%s'%s'", i == 0 ? "" :
				i + 1 == nn ? " or " : ", ", near[i]);
		putc('?', q->err);
	} else if (s->nhave) {
		fprintf(q->err, "; it has ");
		for (size_t i = 0; i < s->nhave && i < SHOW_MAX; i++) {
			fputs(i ? ", " : "", q->err);
			lin_text_str(q->err, s->have[i], strlen(s->have[i]));
		}
		if (s->nhave > SHOW_MAX)
			fprintf(q->err, " and %zu more", s->nhave - SHOW_MAX);
	} else {
		fprintf(q->err, "; it has none");
	}
	putc('\n', q->err);
}

struct seen_all {
	struct seen s[3];     /* types, job types, projects */
	struct lin_qnode n;
};

static int see_node(struct lq *q, uint64_t id, void *ctx)
{
	struct seen_all *a = ctx;
	int rc = lin_qnode_load(q->txn, &q->store, id, &a->n, &q->e);

	if (rc)
		return rc;
	int run = a->n.kind == LIN_ID_RUN;
	see(&a->s[run ? 1 : 0], run ? a->n.job_type : a->n.type);
	see(&a->s[2], a->n.project);
	/* "entity/project" is a value of --project too */
	char ep[1024];
	int len = snprintf(ep, sizeof ep, "%.*s/%.*s", (int)a->n.entity.n,
			   a->n.entity.p, (int)a->n.project.n,
			   a->n.project.p);
	if (len > 0 && (size_t)len < sizeof ep)
		see(&a->s[2], (struct lin_slice){ ep, (size_t)len });
	return done(&a->s[0]) && done(&a->s[1]) && done(&a->s[2]);
}

/* What uses that never resolved name: the types they stated (pending
 * use facts) and the projects of collections with no version yet
 * (collection names "entity/project/name", format/view.h). Read only when a value was not
 * found among the nodes. */
static int see_unresolved(struct lq *q, struct seen_all *a)
{
	struct lin_scan sc;
	msgpack_zone zone;
	int rc = 0;

	if (!done(&a->s[0])) {
		if ((rc = lin_scan_open(&sc, q->txn, &q->store,
					LIN_DB_PENDING, NULL, 0, NULL, 0,
					&q->e)))
			return rc;
		msgpack_zone_init(&zone, 1024);
		while ((rc = lin_scan_next(&sc)) == 1) {
			struct lin_fact fact;
			struct lin_slice type;
			uint64_t id;
			msgpack_zone_clear(&zone);
			if (lin_val_id(sc.k.mv_data, sc.k.mv_size, &id,
				       "pending", NULL) == 0 &&
			    lin_store_fact(q->txn, &q->store, id, &zone,
					   &fact, NULL) == 0 &&
			    lin_map_str(&fact.attrs, "type", &type))
				see(&a->s[0], (struct lin_slice){ type.p,
								 type.n });
		}
		msgpack_zone_destroy(&zone);
		lin_scan_close(&sc);
		if (rc < 0)  /* a damaged store: no partial suggestions */
			return rc;
	}
	if (!done(&a->s[2])) {
		if ((rc = lin_view_open(&sc, q->txn, &q->store, LIN_VIEW_COLLS,
					NULL, 0, NULL, 0, &q->e)))
			return rc;
		while ((rc = lin_scan_next(&sc)) == 1) {
			MDB_val k = sc.k;
			const char *p = k.mv_data, *e = p + k.mv_size;
			const char *s1 = memchr(p, '/', k.mv_size);
			const char *s2 = s1 ? memchr(s1 + 1, '/',
						     (size_t)(e - s1 - 1))
					    : NULL;
			if (!s2)
				continue;
			see(&a->s[2], (struct lin_slice){ s1 + 1,
					(size_t)(s2 - s1 - 1) });
			see(&a->s[2], (struct lin_slice){ p,
					(size_t)(s2 - p) });
		}
		lin_scan_close(&sc);
	}
	return rc;
}

int lq_filter_check(struct lq *q, const char *cmd,
		    const struct lq_filter *f)
{
	struct lq_flist *lists[3] = {
		(struct lq_flist *)&f->type, (struct lq_flist *)&f->job_type,
		(struct lq_flist *)&f->project
	};
	static const char *const what[3] = {
		"artifact type", "job type", "project"
	};
	struct seen_all a;
	int rc = 0, bad = 0;

	if (!lq_filter_active(f))
		return 0;
	memset(&a, 0, sizeof a);
	for (int i = 0; i < 3; i++)
		a.s[i].want = lists[i];
	lin_qnode_init(&a.n);
	/* Every node once, stopping as soon as each wanted value was seen:
	 * a correct filter costs a few node reads, a wrong one one scan
	 * (the whole store, never --as-of: "never seen" means never). */
	rc = lq_each_id(q, see_node, &a);
	if (rc == 0 && !(done(&a.s[0]) && done(&a.s[2])))
		rc = see_unresolved(q, &a);
	struct seen *s = a.s;
	for (int i = 0; i < 3; i++)
		if (s[i].failed && rc == 0)
			rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					 "out of memory");
	for (int i = 0; rc == 0 && i < 3; i++) {
		for (size_t j = 0; j < s[i].want->n; j++) {
			if (s[i].found[j])
				continue;
			unknown(q, cmd, what[i], s[i].want->v[j], &s[i]);
			bad = 1;
		}
	}
	for (int i = 0; i < 3; i++) {
		for (size_t j = 0; j < s[i].nhave; j++)
			free(s[i].have[j]);
		free(s[i].have);
	}
	lin_qnode_release(&a.n);
	if (rc)
		return lq_fail(q, rc);
	return bad ? LQ_NOTFOUND : 0;
}
