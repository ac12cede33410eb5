/* resolve.c - REF, RUN and NODE arguments to node ids, with messages
 * that name what does exist when they do not resolve. */
#include "internal.h"
#include "format/view.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 511  /* longest key part considered */
#define SUGGEST 3         /* nearest names offered */
#define LIST_MAX 8        /* places named in an ambiguity message */

size_t lin_edit_distance(const char *a, size_t an, const char *b,
			 size_t bn, size_t cap)
{
	size_t row[NAME_MAX_LEN + 2], diag, up;

	if (an > NAME_MAX_LEN || bn > NAME_MAX_LEN)
		return cap + 1;
	if ((an > bn ? an - bn : bn - an) > cap)
		return cap + 1;
	for (size_t j = 0; j <= bn; j++)
		row[j] = j;
	for (size_t i = 1; i <= an; i++) {
		size_t best = row[0] = i;
		diag = i - 1;
		for (size_t j = 1; j <= bn; j++) {
			up = row[j];
			size_t v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > cap)  /* every path is already too long */
			return cap + 1;
	}
	return row[bn] > cap ? cap + 1 : row[bn];
}

/* ---- a small message builder over a fixed buffer ---- */

struct msg {
	char buf[sizeof ((struct lin_err *)0)->msg];
	size_t n;
};

static void msg_add(struct msg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void msg_add(struct msg *m, const char *fmt, ...)
{
	va_list ap;

	if (m->n >= sizeof m->buf - 1)
		return;
	va_start(ap, fmt);
	int r = vsnprintf(m->buf + m->n, sizeof m->buf - m->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		m->n += (size_t)r;
	if (m->n > sizeof m->buf - 1)
		m->n = sizeof m->buf - 1;
}

static int msg_fail(struct lin_err *err, int code, const struct msg *m)
{
	return lin_err_set(err, code, LIN_NO_OFFSET, "%s", m->buf);
}

/* ---- nearest names ---- */

struct sugg {
	char name[SUGGEST][NAME_MAX_LEN + 1];
	size_t dist[SUGGEST];
	int n;
};

/* Offer `full` (what to show) scored by the distance between `want` and
 * `cand`. Keeps the SUGGEST nearest, earlier ones first on ties. */
static void sugg_offer(struct sugg *s, const char *want, const char *cand,
		       size_t cn, const char *full, size_t fn)
{
	size_t wl = strlen(want);
	size_t cap = wl / 3 > 2 ? wl / 3 : 2;
	size_t d = lin_edit_distance(want, wl, cand, cn, cap);
	int i;

	if (d > cap || fn > NAME_MAX_LEN)
		return;
	for (i = 0; i < s->n; i++) {
		if (strlen(s->name[i]) == fn &&
		    memcmp(s->name[i], full, fn) == 0)
			return;
	}
	for (i = s->n; i > 0 && s->dist[i - 1] > d; i--)
		;
	if (i >= SUGGEST)
		return;
	int last = s->n < SUGGEST ? s->n : SUGGEST - 1;
	for (int j = last; j > i; j--) {
		memcpy(s->name[j], s->name[j - 1], sizeof s->name[j]);
		s->dist[j] = s->dist[j - 1];
	}
	memcpy(s->name[i], full, fn);
	s->name[i][fn] = '\0';
	s->dist[i] = d;
	if (s->n < SUGGEST)
		s->n++;
}

static void sugg_write(const struct sugg *s, struct msg *m)
{
	if (!s->n)
		return;
	msg_add(m, "; did you mean %s", s->n > 1 ? "one of " : "");
	for (int i = 0; i < s->n; i++)
		msg_add(m, "%s'%s'", i ? ", " : "", s->name[i]);
	msg_add(m, "?");
}

/* ---- "entity/project/last" keys (the views of runs and collections) ---- */

struct path {
	const char *entity, *project, *last;  /* NULL: any */
	size_t en, pn, ln;
};

/* Split "a/b/c", "b/c" or "c" (right-aligned); LIN_EINVAL otherwise. */
static int split_path(const char *s, size_t n, struct path *p)
{
	const char *part[3] = { NULL, NULL, NULL };
	size_t len[3] = { 0, 0, 0 };
	int k = 0;
	const char *start = s, *end = s + n;

	memset(p, 0, sizeof *p);
	for (const char *c = s; c <= end; c++) {
		if (c == end || *c == '/') {
			if (k == 3)
				return LIN_EINVAL;
			part[k] = start;
			len[k] = (size_t)(c - start);
			if (!len[k])
				return LIN_EINVAL;
			k++;
			start = c + 1;
		}
	}
	p->last = part[k - 1];
	p->ln = len[k - 1];
	if (k >= 2) {
		p->project = part[k - 2];
		p->pn = len[k - 2];
	}
	if (k == 3) {
		p->entity = part[0];
		p->en = len[0];
	}
	return 0;
}

/* Split a stored key into its three parts; 0 or -1 if malformed. */
static int split_key(const MDB_val *k, struct path *p)
{
	const char *s = k->mv_data, *a, *b;
	size_t n = k->mv_size;

	a = memchr(s, '/', n);
	if (!a)
		return -1;
	b = memchr(a + 1, '/', n - (size_t)(a + 1 - s));
	if (!b)
		return -1;
	p->entity = s;
	p->en = (size_t)(a - s);
	p->project = a + 1;
	p->pn = (size_t)(b - a - 1);
	p->last = b + 1;
	p->ln = n - (size_t)(b + 1 - s);
	return 0;
}

static int part_eq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* Does key `k` match the (possibly partial) path `want`? */
static int path_match(const struct path *k, const struct path *want)
{
	if (want->entity && !part_eq(k->entity, k->en, want->entity,
				     want->en))
		return 0;
	if (want->project && !part_eq(k->project, k->pn, want->project,
				      want->pn))
		return 0;
	return !want->last || part_eq(k->last, k->ln, want->last, want->ln);
}

struct found {
	int n;
	uint64_t id;
	char full[NAME_MAX_LEN + 1];  /* "e/p/last" of the first match */
	struct msg where;  /* "e/p, e/p" of the matches, for ambiguity */
};

static void found_add(struct found *f, uint64_t id, const struct path *k,
		      int with_last)
{
	if (f->n == 0) {
		f->id = id;
		snprintf(f->full, sizeof f->full, "%.*s/%.*s/%.*s",
			 (int)k->en, k->entity, (int)k->pn, k->project,
			 (int)k->ln, k->last);
	}
	if (f->n < LIST_MAX) {
		msg_add(&f->where, "%s'%.*s/%.*s", f->n ? ", " : "",
			(int)k->en, k->entity, (int)k->pn, k->project);
		if (with_last)
			msg_add(&f->where, "/%.*s", (int)k->ln, k->last);
		msg_add(&f->where, "'");
	} else if (f->n == LIST_MAX) {
		msg_add(&f->where, ", ...");
	}
	f->n++;
}

/* Visit every key of `db` ("entity/project/last" -> id u64). */
typedef int (*key_fn)(void *ctx, const struct path *k, uint64_t id);

static int scan_keys(MDB_txn *txn, const struct lin_store *s,
		     enum lin_view view, key_fn fn, void *ctx,
		     struct lin_err *err)
{
	struct lin_scan sc;
	struct path kp;
	int rc = lin_view_open(&sc, txn, s, view, NULL, 0, NULL, 0, err);

	while (rc == 0 && (rc = lin_scan_next(&sc)) == 1) {
		if (sc.v.mv_size != 8 || split_key(&sc.k, &kp)) {
			rc = lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
					 "malformed %s name in 'names'",
					 view == LIN_VIEW_RUNS ? "run" :
					 "collection");
			break;
		}
		rc = fn(ctx, &kp, lin_be64_get(sc.v.mv_data));
	}
	lin_scan_close(&sc);
	return rc;
}

/* Matches of a bare name in the `names` index (schema.h): one prefix
 * scan of tag . name . 0, keeping entries whose scope matches `want`.
 * For run display names (LIN_NAME_DISPLAY) the scope is the run's key
 * and the match is reported with it. */
static int scan_names(MDB_txn *txn, const struct lin_store *s, int tag,
		      const struct path *want, struct found *f,
		      struct lin_err *err)
{
	struct lin_scan sc;
	struct lin_name nm;
	int rc = lin_store_names(&sc, txn, s, tag, want->last, want->ln, err);

	while (rc == 0 && (rc = lin_names_next(&sc, &nm)) == 1) {
		MDB_val scope = { nm.len, (char *)nm.scope };
		rc = 0;
		struct path kp;
		if (tag == LIN_NAME_DISPLAY) {
			if (split_key(&scope, &kp))
				continue;
		} else {
			const char *sp = scope.mv_data;
			const char *sl = memchr(sp, '/', scope.mv_size);
			if (!sl)
				continue;
			kp.entity = sp;
			kp.en = (size_t)(sl - sp);
			kp.project = sl + 1;
			kp.pn = scope.mv_size - kp.en - 1;
			kp.last = want->last;
			kp.ln = want->ln;
		}
		struct path in_scope = *want;
		in_scope.last = NULL;
		if (path_match(&kp, &in_scope))
			found_add(f, nm.id, &kp, tag == LIN_NAME_DISPLAY);
	}
	lin_scan_close(&sc);
	return rc;
}

struct lookup {
	const struct path *want;
	const char *wanted;  /* the text the user gave, for distances */
	struct found found;
	struct sugg sugg;
};

static int lookup_key(void *ctx, const struct path *k, uint64_t id)
{
	struct lookup *l = ctx;
	char full[NAME_MAX_LEN * 3 + 3];
	int fn = snprintf(full, sizeof full, "%.*s/%.*s/%.*s", (int)k->en,
			  k->entity, (int)k->pn, k->project, (int)k->ln,
			  k->last);

	if (path_match(k, l->want)) {
		found_add(&l->found, id, k, 0);
		return 0;
	}
	if (fn < 0 || (size_t)fn >= sizeof full)
		return 0;
	/* Compare like with like: the last part when only a name was
	 * given, the whole key when the user gave a path. */
	if (l->want->project)
		sugg_offer(&l->sugg, l->wanted, full + (l->want->entity ? 0 :
			   k->en + 1), (size_t)fn - (l->want->entity ? 0 :
			   k->en + 1), full, (size_t)fn);
	else
		sugg_offer(&l->sugg, l->wanted, k->last, k->ln, full,
			   (size_t)fn);
	return 0;
}

/* ---- versions and aliases of a collection, for messages ---- */

static int list_versions(MDB_txn *txn, const struct lin_store *s,
			 uint64_t coll, struct msg *m, struct lin_err *err)
{
	struct lin_scan sc;
	struct lin_ver ver;
	long long first = -1, prev = -1;
	int segs = 0, rc = lin_store_versions(&sc, txn, s, coll, err);

	for (;;) {
		long long num = -1;
		if (rc == 0 && (rc = lin_versions_next(&sc, &ver)) == 1) {
			rc = 0;
			num = ver.number;
		}
		if (num >= 0 && num == prev + 1 && first >= 0) {
			prev = num;
			continue;
		}
		if (first >= 0 && segs < 6) {
			msg_add(m, "%sv%lld", segs ? ", " : "", first);
			if (prev > first)
				msg_add(m, "%sv%lld",
					prev == first + 1 ? ", " : "..", prev);
		} else if (first >= 0 && segs == 6) {
			msg_add(m, ", ...");
		}
		if (first >= 0)
			segs++;
		if (num < 0)
			break;
		first = prev = num;
	}
	lin_scan_close(&sc);
	if (rc)
		return rc;
	if (!segs)
		msg_add(m, "no versions");
	return segs;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define ALIAS_LIST 12

static int list_aliases(MDB_txn *txn, const struct lin_store *s,
			uint64_t coll, int has_versions, struct msg *m,
			struct lin_err *err)
{
	struct lin_scan sc;
	struct lin_alias al;
	char *names[ALIAS_LIST + 1];
	int n = 0, more = 0;
	int rc = lin_store_aliases(&sc, txn, s, coll, err);

	if (rc)
		return rc;
	if (has_versions)
		names[n++] = strdup("latest");
	while ((rc = lin_aliases_next(&sc, &al)) != 0) {
		uint64_t tk, vid = 0;
		if (rc < 0)
			break;
		/* Only aliases that name a version now. */
		if (al.n)
			lin_tl_entry(al.tl, al.n - 1, &tk, &vid);
		if (!vid)
			continue;
		if (al.len == 6 && memcmp(al.name, "latest", 6) == 0)
			continue;
		if (n == ALIAS_LIST) {
			more = 1;
			break;
		}
		names[n++] = strndup(al.name, al.len);
	}
	lin_scan_close(&sc);
	for (int i = 0; i < n; i++)
		if (!names[i])
			names[i] = strdup("?");
	qsort(names, (size_t)n, sizeof *names, cmp_str);
	if (n) {
		msg_add(m, ", aliases: ");
		for (int i = 0; i < n; i++)
			msg_add(m, "%s%s", i ? ", " : "",
				names[i] ? names[i] : "?");
		if (more)
			msg_add(m, ", ...");
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	return rc < 0 ? rc : 0;
}

/* ---- REF ---- */

static int is_vnum(const char *s, uint32_t *num)
{
	unsigned long long v = 0;

	if (s[0] != 'v' || !s[1] || strlen(s) > 11)
		return 0;
	for (const char *p = s + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > UINT32_MAX)
		return 0;
	*num = (uint32_t)v;
	return 1;
}

static int ref_syntax(struct lin_err *err, const char *what,
		      const char *ref, const char *form)
{
	return lin_err_set(err, LIN_EINVAL, LIN_NO_OFFSET,
			   "bad %s '%s': expected %s", what, ref, form);
}

#define REF_FORM "[entity/project/]name[:alias|:vN]"
#define RUN_FORM "[entity/project/]run_id, or a run's name"

/* The collection that `p` names; exactly one, or an error message. */
static int find_coll(MDB_txn *txn, const struct lin_store *s,
		     const char *text, const struct path *p, uint64_t *coll,
		     char *full, int *no_coll, struct lin_err *err)
{
	struct lookup *l = calloc(1, sizeof *l);
	struct msg m = { .n = 0 };
	int rc;

	if (!l)
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	l->want = p;
	l->wanted = text;
	/* The index answers; the scan is for names it cannot hold and for
	 * suggestions when nothing matched. */
	rc = scan_names(txn, s, LIN_NAME_COLL, p, &l->found, err);
	if (!rc && l->found.n == 0)
		rc = scan_keys(txn, s, LIN_VIEW_COLLS, lookup_key, l, err);
	if (rc)
		goto out;
	if (l->found.n == 1) {
		*coll = l->found.id;
		if (full)
			snprintf(full, NAME_MAX_LEN + 1, "%s", l->found.full);
		goto out;
	}
	if (l->found.n > 1) {
		msg_add(&m, "artifact name '%s' is ambiguous: it is in %s; "
			"give entity/project/%.*s", text, l->found.where.buf,
			(int)p->ln, p->last);
	} else {
		*no_coll = 1;
		msg_add(&m, "no artifact collection '%s'", text);
		sugg_write(&l->sugg, &m);
	}
	rc = msg_fail(err, LIN_ENOTFOUND, &m);
out:
	free(l);
	return rc;
}

/* Split REF and find its collection: *sel points into `ref` (or is
 * "latest"), `p` holds the path parts. *no_coll is set when no
 * collection matched at all (rather than an ambiguous name). */
static int ref_coll(MDB_txn *txn, const struct lin_store *s,
		    const char *ref, struct path *p, uint64_t *coll,
		    char *full, const char **sel, int *no_coll,
		    struct lin_err *err)
{
	const char *body = ref, *colon, *slash;
	char name[NAME_MAX_LEN * 3 + 3];

	*sel = "latest";
	if (strncmp(body, "artifact:", 9) == 0)
		body += 9;
	slash = strrchr(body, '/');
	colon = strchr(slash ? slash : body, ':');
	size_t n = colon ? (size_t)(colon - body) : strlen(body);
	if (colon) {
		*sel = colon + 1;
		if (!**sel || strchr(*sel, ':'))
			return ref_syntax(err, "REF", ref, REF_FORM);
	}
	if (n >= sizeof name || split_path(body, n, p))
		return ref_syntax(err, "REF", ref, REF_FORM);
	memcpy(name, body, n);
	name[n] = '\0';
	return find_coll(txn, s, name, p, coll, full, no_coll, err);
}

int lin_resolve_coll(MDB_txn *txn, const struct lin_store *s,
		     const char *ref, uint64_t *coll, const char **sel,
		     struct lin_err *err)
{
	struct path p;
	int no_coll = 0;
	return ref_coll(txn, s, ref, &p, coll, NULL, sel, &no_coll, err);
}

/* As lin_resolve_ref_at; *no_coll is set when no collection matched at
 * all (rather than an ambiguous name or a missing version). */
static int resolve_ref(MDB_txn *txn, const struct lin_store *s,
		       const char *ref, const int64_t *at, uint64_t *vid,
		       int *no_coll, struct lin_err *err)
{
	const char *sel;
	struct path p;
	struct msg m = { .n = 0 }, full = { .n = 0 };
	uint64_t coll = 0;
	uint32_t num;
	int rc;

	rc = ref_coll(txn, s, ref, &p, &coll, full.buf, &sel, no_coll, err);
	if (rc)
		return rc;
	if (is_vnum(sel, &num)) {
		rc = lin_store_version(txn, s, coll, num, vid, err);
		if (rc != LIN_ENOTFOUND)
			return rc;
		msg_add(&m, "no version %s of '%s'; it has ", sel, full.buf);
	} else if (at) {
		/* As of a past time: what the alias named then. */
		char tb[48];
		const void *tl;
		size_t ntl;
		rc = lin_store_alias_at(txn, s, coll, sel, strlen(sel), *at,
					vid, err);
		if (rc || *vid)
			return rc;
		/* Tell "not yet (or no longer)" from "never". */
		rc = lin_store_alias_tl(txn, s, coll, sel, strlen(sel), &tl,
					&ntl, err);
		if (rc && rc != LIN_ENOTFOUND)
			return rc;
		lin_err_clear(err);
		if (rc == 0 || strcmp(sel, "latest") == 0) {
			lin_fmt_time(tb, *at);
			if (strcmp(sel, "latest") == 0)
				msg_add(&m, "'%s' had no versions as of %s",
					full.buf, tb);
			else
				msg_add(&m, "alias '%s' of '%s' named no "
					"version as of %s", sel, full.buf,
					tb);
			return msg_fail(err, LIN_ENOTFOUND, &m);
		}
		msg_add(&m, "no alias '%s' on '%s'; it has ", sel, full.buf);
	} else {
		rc = lin_store_alias(txn, s, coll, sel, vid, err);
		if (rc != LIN_ENOTFOUND)
			return rc;
		msg_add(&m, "no alias '%s' on '%s'; it has ", sel, full.buf);
	}
	rc = list_versions(txn, s, coll, &m, err);
	if (rc < 0)
		return rc;
	rc = list_aliases(txn, s, coll, rc > 0, &m, err);
	if (rc < 0)
		return rc;
	return msg_fail(err, LIN_ENOTFOUND, &m);
}

int lin_resolve_ref_at(MDB_txn *txn, const struct lin_store *s,
		       const char *ref, const int64_t *at, uint64_t *vid,
		       struct lin_err *err)
{
	int no_coll = 0;
	return resolve_ref(txn, s, ref, at, vid, &no_coll, err);
}

int lin_resolve_ref(MDB_txn *txn, const struct lin_store *s,
		    const char *ref, uint64_t *vid, struct lin_err *err)
{
	return lin_resolve_ref_at(txn, s, ref, NULL, vid, err);
}

/* ---- RUN ---- */

struct runfind {
	MDB_txn *txn;
	const struct lin_store *s;
	const struct path *want;  /* entity/project filter; last unused */
	const char *wanted;
	struct found found;
	struct sugg sugg;
	struct lin_qnode node;
	struct lin_err *err;
};

/* Match runs by display name (the ids did not match). */
static int name_key(void *ctx, const struct path *k, uint64_t id)
{
	struct runfind *r = ctx;
	struct path scope = *r->want;
	char full[NAME_MAX_LEN * 3 + 3];

	scope.last = NULL;
	if (!path_match(k, &scope))
		return 0;
	int rc = lin_qnode_load(r->txn, r->s, id, &r->node, r->err);
	if (rc)
		return rc;
	int fn = snprintf(full, sizeof full, "%.*s/%.*s/%.*s", (int)k->en,
			  k->entity, (int)k->pn, k->project, (int)k->ln,
			  k->last);
	if (r->node.name.p && part_eq(r->node.name.p, r->node.name.n,
				      r->want->last, r->want->ln)) {
		found_add(&r->found, id, k, 1);
		return 0;
	}
	if (fn < 0 || (size_t)fn >= sizeof full)
		return 0;
	sugg_offer(&r->sugg, r->wanted, k->last, k->ln, full, (size_t)fn);
	if (r->node.name.p && r->node.name.n <= NAME_MAX_LEN)
		sugg_offer(&r->sugg, r->wanted, r->node.name.p,
			   r->node.name.n, r->node.name.p, r->node.name.n);
	return 0;
}

static int find_run(MDB_txn *txn, const struct lin_store *s,
		    const char *run, uint64_t *rid, int *ambiguous,
		    struct lin_err *err)
{
	const char *body = run;
	struct path p;
	struct msg m = { .n = 0 };
	int rc;

	*ambiguous = 0;
	if (strncmp(body, "run:", 4) == 0)
		body += 4;
	if (split_path(body, strlen(body), &p))
		return ref_syntax(err, "RUN", run, RUN_FORM);
	struct lookup *l = calloc(1, sizeof *l);
	struct runfind *r = calloc(1, sizeof *r);
	if (!l || !r) {
		rc = lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				 "out of memory");
		goto out;
	}
	l->want = &p;
	l->wanted = body;
	rc = scan_names(txn, s, LIN_NAME_RUN, &p, &l->found, err);
	if (!rc && l->found.n == 0)
		rc = scan_names(txn, s, LIN_NAME_DISPLAY, &p, &r->found, err);
	if (!rc && l->found.n == 0 && r->found.n == 1) {
		*rid = r->found.id;
		goto out;
	}
	if (!rc && l->found.n == 0 && r->found.n == 0)
		rc = scan_keys(txn, s, LIN_VIEW_RUNS, lookup_key, l, err);
	if (rc)
		goto out;
	if (l->found.n == 1) {
		*rid = l->found.id;
		goto out;
	}
	if (l->found.n > 1) {
		*ambiguous = 1;
		msg_add(&m, "run id '%s' is ambiguous: it is in %s; give "
			"entity/project/%.*s", body, l->found.where.buf,
			(int)p.ln, p.last);
		rc = msg_fail(err, LIN_ENOTFOUND, &m);
		goto out;
	}
	/* No run has that id: try display names. */
	memset(&r->found, 0, sizeof r->found);
	r->txn = txn;
	r->s = s;
	r->want = &p;
	r->wanted = p.last;
	r->err = err;
	lin_qnode_init(&r->node);
	rc = scan_keys(txn, s, LIN_VIEW_RUNS, name_key, r, err);
	lin_qnode_release(&r->node);
	if (rc)
		goto out;
	if (r->found.n == 1) {
		*rid = r->found.id;
		goto out;
	}
	if (r->found.n > 1) {
		*ambiguous = 1;
		msg_add(&m, "run name '%s' is ambiguous: runs %s have it; "
			"give the run id", body, r->found.where.buf);
	} else {
		msg_add(&m, "no run '%s'", body);
		/* Runs in scope, by id and name, else any run by id. */
		sugg_write(r->sugg.n ? &r->sugg : &l->sugg, &m);
	}
	rc = msg_fail(err, LIN_ENOTFOUND, &m);
out:
	free(l);
	free(r);
	return rc;
}

int lin_resolve_run(MDB_txn *txn, const struct lin_store *s,
		    const char *run, uint64_t *rid, struct lin_err *err)
{
	int ambiguous;
	return find_run(txn, s, run, rid, &ambiguous, err);
}

int lin_resolve_node_at(MDB_txn *txn, const struct lin_store *s,
			const char *spec, const int64_t *at, uint64_t *node,
			struct lin_err *err)
{
	struct lin_err saved;
	int ambiguous, no_coll = 0, rc;

	if (strncmp(spec, "run:", 4) == 0)
		return lin_resolve_run(txn, s, spec, node, err);
	if (strncmp(spec, "artifact:", 9) == 0 || strchr(spec, ':'))
		return lin_resolve_ref_at(txn, s, spec, at, node, err);
	rc = find_run(txn, s, spec, node, &ambiguous, err);
	if (rc != LIN_ENOTFOUND || ambiguous)
		return rc;
	saved = *err;
	lin_err_clear(err);
	rc = resolve_ref(txn, s, spec, at, node, &no_coll, err);
	/* Report the artifact side only when a collection has the name:
	 * otherwise the spec was most likely meant as a run. */
	if (rc == 0 || (rc != LIN_ENOTFOUND && rc != LIN_EINVAL) ||
	    (rc == LIN_ENOTFOUND && !no_coll))
		return rc;
	*err = saved;
	return LIN_ENOTFOUND;
}
