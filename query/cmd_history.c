/* cmd_history.c - `artifact REF --history`: every version an alias (or
 * `latest`) named, from when until when, from the alias timeline. */
#include "internal.h"
#include "format/grow.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define UNTIMED UINT64_MAX  /* time key of a record without a time */

struct hent {
	uint64_t tk;   /* time key the alias moved at */
	uint64_t vid;  /* what it named from then on; 0: nothing */
	uint32_t num;  /* version number (latest only) */
};

struct hist {
	struct hent *v;
	size_t n, cap;
};

static int hist_push(struct hist *h, uint64_t tk, uint64_t vid,
		     uint32_t num)
{
	if (LIN_GROW(h->v, h->cap, h->n + 1, 16))
		return LIN_ENOMEM;
	h->v[h->n].tk = tk;
	h->v[h->n].vid = vid;
	h->v[h->n].num = num;
	h->n++;
	return 0;
}

/* The timeline of a named alias, as stored. LIN_ENOTFOUND when the
 * collection never had the alias. */
static int alias_timeline(struct lq *q, uint64_t coll, const char *name,
			  struct hist *h)
{
	const void *tl;
	size_t n;
	int rc = lin_store_alias_tl(q->txn, &q->store, coll, name,
				    strlen(name), &tl, &n, &q->e);

	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		uint64_t tk, vid;
		lin_tl_entry(tl, i, &tk, &vid);
		if (hist_push(h, tk, vid, 0))
			return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					   "out of memory");
	}
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct hent *x = a, *y = b;
	if (x->tk != y->tk)
		return x->tk < y->tk ? -1 : 1;
	return x->num < y->num ? -1 : x->num > y->num;
}

/* `latest` over time: at each first logging, the highest-numbered
 * version logged so far. Versions logged without a time are left out
 * (they are never latest "at" a time; STORE.md). */
static int latest_timeline(struct lq *q, uint64_t coll, struct hist *h)
{
	struct hist all = { NULL, 0, 0 };
	struct lin_scan sc;
	struct lin_ver ver;
	int rc = lin_store_versions(&sc, q->txn, &q->store, coll, &q->e);

	while (rc == 0 && (rc = lin_versions_next(&sc, &ver)) == 1) {
		rc = 0;
		if (ver.tkey == UNTIMED)
			continue;
		if (hist_push(&all, ver.tkey, ver.vid, ver.number))
			rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					 "out of memory");
	}
	lin_scan_close(&sc);
	/* Explicit version numbers need not follow time order. */
	qsort(all.v, all.n, sizeof *all.v, by_time);
	int64_t top = -1;
	for (size_t i = 0; rc == 0 && i < all.n; i++) {
		if ((int64_t)all.v[i].num <= top)
			continue;
		top = all.v[i].num;
		/* Several versions at one instant: only the last counts. */
		if (h->n && h->v[h->n - 1].tk == all.v[i].tk)
			h->n--;
		if (hist_push(h, all.v[i].tk, all.v[i].vid, all.v[i].num))
			rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					 "out of memory");
	}
	free(all.v);
	return rc;
}

/* Drop entries that repeat the previous target, and (with --as-of)
 * those after the time asked about. */
static void hist_trim(struct lq *q, struct hist *h)
{
	size_t out = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (q->has_asof && h->v[i].tk > lin_time_key(q->asof))
			break;
		if (out && h->v[out - 1].vid == h->v[i].vid)
			continue;
		h->v[out++] = h->v[i];
	}
	h->n = out;
}

static void time_cell(struct lin_table *t, uint64_t tk)
{
	char b[48];
	lin_table_cell(t, tk == UNTIMED ? "-" :
		       lin_fmt_time(b, lin_time_unkey(tk)));
}

static void time_json(FILE *f, uint64_t tk)
{
	char b[48];
	if (tk == UNTIMED)
		fputs("null", f);
	else
		lin_json_cstr(f, lin_fmt_time(b, lin_time_unkey(tk)));
}

static int print_hist(struct lq *q, const char *alias, const struct hist *h)
{
	struct lin_table t;
	struct lin_qnode n;
	int rc = 0;

	lin_table_init(&t);
	lin_qnode_init(&n);
	for (size_t i = 0; rc == 0 && i < h->n; i++) {
		const struct hent *e = &h->v[i];
		uint64_t until = i + 1 < h->n ? h->v[i + 1].tk : 0;
		int has_until = i + 1 < h->n;
		char *id = NULL;
		if (e->vid) {
			rc = lin_qnode_load(q->txn, &q->store, e->vid, &n,
					    &q->e);
			if (rc == LIN_ENOTFOUND)  /* a timeline must not */
				rc = LIN_ECORRUPT;
			if (rc)
				break;
			if (!(id = lin_qnode_id(&n, !!q->json))) {
				rc = lin_err_set(&q->e, LIN_ENOMEM,
						 LIN_NO_OFFSET,
						 "out of memory");
				break;
			}
		}
		if (q->json) {
			fputs("{\"kind\":\"alias\",\"alias\":", q->out);
			lin_json_cstr(q->out, alias);
			fputs(",\"version\":", q->out);
			if (id)
				lin_json_cstr(q->out, id);
			else
				fputs("null", q->out);
			fputs(",\"from\":", q->out);
			time_json(q->out, e->tk);
			fputs(",\"until\":", q->out);
			if (has_until)
				time_json(q->out, until);
			else
				fputs("null", q->out);
			fputs("}\n", q->out);
		} else {
			lin_table_row(&t);
			lin_table_cellq(&t, (struct lin_slice){ alias,
						strlen(alias) });
			lin_table_cell(&t, id ? id : "(removed)");
			time_cell(&t, e->tk);
			if (has_until)
				time_cell(&t, until);
			else
				lin_table_cell(&t, "-");
		}
		free(id);
	}
	if (rc == 0 && lin_table_flush(&t, q->out))
		rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				 "out of memory");
	lin_table_release(&t);
	lin_qnode_release(&n);
	return rc;
}

static int is_version_sel(const char *s)
{
	if (s[0] == '#')
		return 1;
	if (s[0] != 'v' || !s[1])
		return 0;
	for (s++; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The options of `artifact` (lq_artifact in cmd_node.c, which sends
 * --history here): this answer's option is that command's only one. */
const struct lin_opt lq_artifact_opts[] = {
	{ 'H', "history", NULL, "the versions REF's alias (NAME:ALIAS, or "
	  "NAME\nfor latest) named, from when until when, oldest\n"
	  "first: rows ALIAS VERSION FROM UNTIL; VERSION is\n"
	  "'(removed)' while the alias named nothing, UNTIL\n"
	  "'-' while it still names it" },
	LIN_OPT_END
};

int lq_cmd_history(struct lq *q, int argc, char **argv)
{
	struct lin_getopt go;
	const char *cmd = "artifact", *sel;
	struct hist h = { NULL, 0, 0 };
	uint64_t coll, vid;
	int c, r, rc;

	lq_getopt(&go, lq_artifact_opts);
	/* -H, --history: what brought the command here */
	while ((r = lq_next_opt(q, cmd, &go, argc, argv, NULL,
				&c)) == -1)
		;
	if (r >= 0)
		return r;
	if (argc - optind != 1)
		return lq_usage(q, cmd, "--history expects one REF, "
				"NAME:ALIAS or NAME");
	const char *ref = argv[optind];
	if ((rc = lq_open(q)) != 0)
		return rc;
	rc = lin_resolve_coll(q->txn, &q->store, ref, &coll, &sel, &q->e);
	if (rc)
		return lq_fail(q, rc);
	if (is_version_sel(sel))
		return lq_usage(q, cmd, "--history follows an alias "
				"(NAME:ALIAS, or NAME for latest), not a "
				"version: '%s'", ref);
	if (strcmp(sel, "latest") == 0) {
		rc = latest_timeline(q, coll, &h);
	} else {
		rc = alias_timeline(q, coll, sel, &h);
		if (rc == LIN_ENOTFOUND) {
			/* Never had it: the usual message lists what
			 * the collection does have. */
			lin_err_clear(&q->e);
			rc = lin_resolve_ref(q->txn, &q->store, ref, &vid,
					     &q->e);
			if (rc == 0)  /* cannot happen: no timeline */
				rc = lin_err_set(&q->e, LIN_ENOTFOUND,
						 LIN_NO_OFFSET,
						 "no alias '%s'", sel);
		}
	}
	if (rc == 0) {
		hist_trim(q, &h);
		rc = print_hist(q, sel, &h);
	}
	free(h.v);
	return rc ? lq_fail(q, rc) : LQ_OK;
}
