/* derive_aliases.c - alias timelines of a touched collection, rebuilt
 * from its alias events and log facts, and what a "vN" or "#digest"
 * selector names. */
#include "indexer/derive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The version a "vN" or "#digest" selector names now (0: none). */
int ix_version_of_sel(struct ix *x, uint64_t coll, struct lin_slice sel,
		      uint64_t *vid)
{
	unsigned char k[LIN_KEY_BUF];
	MDB_val v;
	int rc;

	*vid = 0;
	if (sel.n > 1 && sel.p[0] == '#' && sel.n - 1 <= LIN_MAX_KEY) {
		size_t kn = lin_key_coll_bytes(k, sizeof k, coll, sel.p + 1,
					       sel.n - 1, 0);
		rc = ix_get(x, LIN_DB_COLL_DIG, k, kn, &v);
	} else if (sel.n > 1 && sel.n < 12 && sel.p[0] == 'v') {
		uint64_t num = 0;
		for (size_t i = 1; i < sel.n; i++) {
			if (sel.p[i] < '0' || sel.p[i] > '9')
				return 0;
			num = num * 10 + (uint64_t)(sel.p[i] - '0');
		}
		if (num >= UINT32_MAX)
			return 0;
		lin_key_coll_num(k, coll, (uint32_t)num);
		rc = ix_get(x, LIN_DB_COLL_VER, k, 12, &v);
	} else {
		return 0;
	}
	if (rc == LIN_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	*vid = lin_be64_get(v.mv_data);
	return 0;
}

struct aev {
	struct okey key;
	uint64_t target;   /* version the event points the alias at */
	int op;            /* 1 add (or log), 0 remove */
};

static int has_name(const msgpack_object_array *a, const char *name)
{
	for (uint32_t i = 0; i < a->size; i++)
		if (a->ptr[i].type == MSGPACK_OBJECT_STR &&
		    lin_slice_eq_cstr((struct lin_slice){ a->ptr[i].via.str.ptr,
				      a->ptr[i].via.str.size }, name))
			return 1;
	return 0;
}

static int aev_cmp(const void *a, const void *b)
{
	return ix_okey_cmp(&((const struct aev *)a)->key,
			&((const struct aev *)b)->key);
}

struct alias_facts {
	struct u64v ids;
	size_t keylen;   /* coll . name . 0 . time . fact */
};

static int add_alias_fact(void *ctx, const MDB_val *k, const MDB_val *v)
{
	struct alias_facts *a = ctx;
	(void)v;
	if (k->mv_size != a->keylen)
		return 0;  /* a longer alias name sharing this prefix */
	return u64v_push(&a->ids, lin_be64_get((unsigned char *)k->mv_data +
					       k->mv_size - 8));
}

/* Build the timeline of alias `name` of `coll` from its events into a
 * malloc'ed array of 16-byte entries. */
static int build_timeline(struct ix *x, uint64_t coll, const char *name,
			  unsigned char **out, size_t *outn)
{
	size_t nl = strlen(name), ne = 0;
	unsigned char k[LIN_KEY_BUF];
	struct alias_facts af = { { NULL, 0, 0 }, 25 + nl };
	struct aev *ev = NULL;
	unsigned char *ents = NULL;
	int rc;

	*out = NULL;
	*outn = 0;
	rc = ix_scan(x, LIN_DB_ALIAS_EV, k,
		     lin_key_coll_bytes(k, sizeof k, coll, name, nl, 1), NULL,
		     0, add_alias_fact, &af);
	uint64_t *facts = af.ids.v;
	size_t n = af.ids.n;
	if (!rc && n && !(ev = calloc(n, sizeof *ev)))
		rc = LIN_ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char fk[8];
		MDB_val fv;
		struct lin_fact f;
		lin_key_id(fk, facts[i]);
		if (ix_get(x, LIN_DB_FACTS, fk, 8, &fv) ||
		    lin_fact_decode(fv.mv_data, fv.mv_size, &x->zone, &f))
			continue;
		ev[m].key.time = lin_eff_time(f.time);
		ev[m].key.path = ix_src_path(x, (uint32_t)(facts[i] >> 32));
		ev[m].key.pos = f.pos;
		if (f.kind == LIN_FACT_LOG) {
			ev[m].target = f.vid;
			ev[m].op = 1;
		} else if (f.kind == LIN_FACT_ALIAS) {
			rc = ix_version_of_sel(x, coll, f.sel, &ev[m].target);
			if (rc || !ev[m].target)
				continue; /* names no version (yet) */
			ev[m].op = has_name(&f.add, name) ? 1 : 0;
		} else {
			continue;
		}
		m++;
	}
	free(facts);
	if (rc) {
		free(ev);
		return rc;
	}
	if (m)  /* qsort(NULL, 0, ...) is undefined */
		qsort(ev, m, sizeof *ev, aev_cmp);
	if (m && !(ents = malloc(m * 16))) {
		free(ev);
		return LIN_ENOMEM;
	}
	uint64_t state = 0;
	for (size_t i = 0; i < m; i++) {
		uint64_t next = state;
		uint64_t tk = lin_time_key(ev[i].key.time);
		if (ev[i].op)
			next = ev[i].target;
		else if (state == ev[i].target)
			next = 0;
		state = next;
		if (ne && lin_be64_get(ents + (ne - 1) * 16) == tk) {
			/* same instant: the later event wins */
			lin_tl_entry_put(ents + (ne - 1) * 16, tk, next);
			uint64_t prev = ne > 1 ?
				lin_be64_get(ents + (ne - 2) * 16 + 8) : 0;
			if (prev == next)
				ne--;
		} else {
			uint64_t prev = ne ?
				lin_be64_get(ents + (ne - 1) * 16 + 8) : 0;
			if (prev != next) {
				lin_tl_entry_put(ents + ne * 16, tk, next);
				ne++;
			}
		}
	}
	free(ev);
	*out = ents;
	*outn = ne * 16;
	return 0;
}

uint64_t ix_tl_final(const unsigned char *p, size_t n)
{
	return n >= 16 ? lin_be64_get(p + n - 8) : 0;
}

int ix_derive_alias(struct ix *x, struct touched_coll *t,
		    const char *name, struct lin_idset *mat)
{
	unsigned char k[LIN_KEY_BUF], *tl;
	size_t nl = strlen(name), tn, on = 0, i, kn;
	const unsigned char *old = NULL;
	MDB_val v;
	int rc;

	/* Longer names are refused on input (LIN_MAX_ALIAS). */
	if (!(kn = lin_key_coll_bytes(k, sizeof k, t->coll, name, nl, 0)))
		return 0;
	if ((rc = build_timeline(x, t->coll, name, &tl, &tn)))
		return rc;
	rc = ix_get(x, LIN_DB_ALIAS_TL, k, kn, &v);
	if (rc == 0) {
		old = v.mv_data;
		on = v.mv_size;
	} else if (rc != LIN_ENOTFOUND) {
		free(tl);
		return rc;
	}
	rc = 0;
	if (on == tn && (tn == 0 || memcmp(old, tl, tn) == 0)) {
		free(tl);
		return 0;
	}
	for (i = 0; i + 16 <= on && i + 16 <= tn; i += 16)
		if (memcmp(old + i, tl + i, 16))
			break;
	uint64_t from = UINT64_MAX;
	if (i + 16 <= on)
		from = lin_be64_get(old + i);
	if (i + 16 <= tn && lin_be64_get(tl + i) < from)
		from = lin_be64_get(tl + i);
	uint64_t was = ix_tl_final(old, on), now = ix_tl_final(tl, tn);
	if ((was && lin_idset_add(mat, was) < 0) ||
	    (now && lin_idset_add(mat, now) < 0))
		rc = LIN_ENOMEM;
	if (!rc)
		rc = tn ? ix_put(x, LIN_DB_ALIAS_TL, k, kn, tl, tn)
			: ix_del(x, LIN_DB_ALIAS_TL, k, kn, NULL, 0);
	free(tl);
	if (!rc)
		rc = ix_add_task(t, TASK_SEL, 0, name, nl, lin_time_unkey(from));
	return rc;
}

static int touch_alias_key(void *ctx, const MDB_val *k, const MDB_val *v)
{
	const char *nm = (const char *)k->mv_data + 8;
	size_t nn = k->mv_size - 8;
	const char *z = memchr(nm, 0, nn);
	(void)v;
	return ix_touch_alias(ctx, nm, z ? (size_t)(z - nm) : nn);
}

/* Every alias name with events or a timeline in the collection. */
int ix_collect_alias_names(struct ix *x, struct touched_coll *t)
{
	unsigned char k[8];
	int rc;

	lin_key_id(k, t->coll);
	rc = ix_scan(x, LIN_DB_ALIAS_EV, k, 8, NULL, 0, touch_alias_key, t);
	return rc ? rc : ix_scan(x, LIN_DB_ALIAS_TL, k, 8, NULL, 0,
				 touch_alias_key, t);
}
