/* asof.c - answers as the archive stood at a past time (--as-of): which
 * nodes and edges existed then, what aliases named, and the wrappers
 * through which the subcommands apply it. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define NS 1000000000LL

/* ---- TIME ---- */

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard
 * Hinnant's algorithm: no time zone, no libc range limits). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n decimal digits at *p into *out. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* ".digits" (at least one) as nanoseconds; digits past the ninth are
 * dropped. */
static int fraction(const char **p, int64_t *ns)
{
	const char *s = *p;
	int64_t scale = NS / 10;

	*ns = 0;
	if (*s != '.' && *s != ',')
		return 0;
	s++;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		*ns += (*s - '0') * scale;
		scale /= 10;
	}
	*p = s;
	return 0;
}

/* sec * NS + frac without overflow; frac in [0, NS). */
static int combine(int64_t sec, int64_t frac, int64_t *ns)
{
	if (sec > (INT64_MAX - frac) / NS || sec < INT64_MIN / NS)
		return -1;
	*ns = sec * NS + frac;
	/* INT64_MIN is LIN_QNONE ("no time"); it is out of reach here. */
	return 0;
}

static int epoch_seconds(const char *s, int64_t *ns)
{
	int neg = *s == '-';
	int64_t sec = 0, frac;
	int n = 0;

	if (neg)
		s++;
	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (n == 12)  /* beyond year 33000: not a timestamp */
			return -1;
		sec = sec * 10 + (*s - '0');
	}
	if (!n || fraction(&s, &frac) || *s)
		return -1;
	if (!neg)
		return combine(sec, frac, ns);
	/* -1.5 is 1.5 s before the epoch: -(1 s + 0.5 s). */
	if (frac) {
		sec += 1;
		frac = NS - frac;
	}
	return combine(-sec, frac, ns);
}

int lq_parse_time(const char *s, int64_t *ns)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				     31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, zsign = 0;
	int64_t frac = 0;

	if (*s == '@')
		return epoch_seconds(s + 1, ns);
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return -1;
	if (*s) {
		if (*s != 'T' && *s != 't' && *s != ' ')
			return -1;
		s++;
		if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
			return -1;
		if (*s == ':' && (s++, digits(&s, 2, &sec) ||
				  fraction(&s, &frac)))
			return -1;
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		/* A time without a zone would be local time: refuse it
		 * rather than guess. */
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			zsign = *s++ == '-' ? -1 : 1;
			if (digits(&s, 2, &zh))
				return -1;
			if (*s == ':')
				s++;
			if (digits(&s, 2, &zm) || zh > 23 || zm > 59)
				return -1;
		} else {
			return -1;
		}
		if (*s)
			return -1;
	}
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
		    sec - zsign * (zh * 3600 + zm * 60);
	return combine(t, frac, ns);
}

const char *lq_time_why(const char *s, char *buf, size_t n)
{
	static const char generic[] = "expected ISO 8601 UTC "
		"(2024-03-01T10:30:00Z, 2024-03-01) or @SECONDS";
	char tmp[80], date[11];
	int64_t ns;
	int y, mo, d, h, mi;

	if (*s == '@')
		return "expected @SECONDS since the epoch (@1709287200)";
	/* the most common slip: a time of day without its zone */
	if (strlen(s) < sizeof tmp - 1) {
		snprintf(tmp, sizeof tmp, "%sZ", s);
		if (strchr(s, ':') && lq_parse_time(tmp, &ns) == 0) {
			snprintf(buf, n, "it has no time zone: add Z for UTC "
				 "(%s) or an offset (+01:00)", tmp);
			return buf;
		}
	}
	if (sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) == 3 && strlen(s) >= 10) {
		memcpy(date, s, 10);
		date[10] = '\0';
		if (lq_parse_time(date, &ns))
			return "no such date";
		if (sscanf(s + 10, "T%2d:%2d", &h, &mi) == 2 &&
		    (h > 23 || mi > 59))
			return "no such time of day";
	}
	return generic;
}

int lq_take_asof(struct lq *q, const char *cmd, int *argc, char **argv)
{
	static const char opt[] = "--as-of";
	int i = 1;

	static const char sopt[] = "--store";

	while (i < *argc && strcmp(argv[i], "--") != 0) {
		const char *val;
		int take;
		/* --store is global too, like --json: accepted after the
		 * command name (-s PATH, --store PATH, --store=PATH). */
		if (!strcmp(argv[i], sopt) || !strcmp(argv[i], "-s") ||
		    !strncmp(argv[i], "--store=", 8)) {
			take = argv[i][1] == 's' || argv[i][7] == '\0' ? 2 : 1;
			if (take == 2 && i + 1 >= *argc)
				return lq_usage(q, cmd, "option '%s' needs a "
						"value", argv[i]);
			q->store_path = take == 2 ? argv[i + 1] : argv[i] + 8;
			memmove(argv + i, argv + i + take,
				(size_t)(*argc - i - take) * sizeof *argv);
			*argc -= take;
			argv[*argc] = NULL;
			continue;
		}
		if (strcmp(argv[i], opt) == 0) {
			if (i + 1 >= *argc)
				return lq_usage(q, cmd, "option '%s' needs a "
						"value", opt);
			val = argv[i + 1];
			take = 2;
		} else if (strncmp(argv[i], opt, sizeof opt - 1) == 0 &&
			   argv[i][sizeof opt - 1] == '=') {
			val = argv[i] + sizeof opt;
			take = 1;
		} else {
			i++;
			continue;
		}
		char why[160];
		if (lq_parse_time(val, &q->asof))
			return lq_usage(q, cmd, "bad --as-of '%s': %s", val,
					lq_time_why(val, why, sizeof why));
		q->has_asof = 1;
		memmove(argv + i, argv + i + take,
			(size_t)(*argc - i - take) * sizeof *argv);
		*argc -= take;
		argv[*argc] = NULL;
	}
	return -1;
}

/* ---- existence ---- */

enum { UNKNOWN = 0, EXISTS = 1, ABSENT = 2 };

struct lq_asof {
	MDB_txn *txn;
	const struct lin_store *s;
	int64_t t;
	uint64_t *key;        /* open addressing; 0 is the empty slot */
	unsigned char *val;   /* EXISTS or ABSENT */
	size_t cap, n;
	struct lin_qnode node;
	msgpack_unpacked fact;
	struct lin_edge_filter filter;
};

static size_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	x ^= x >> 33;
	return (size_t)x;
}

static unsigned cache_get(const struct lq_asof *a, uint64_t id)
{
	if (!a->cap)
		return UNKNOWN;
	for (size_t j = mix(id) & (a->cap - 1); a->key[j];
	     j = (j + 1) & (a->cap - 1))
		if (a->key[j] == id)
			return a->val[j];
	return UNKNOWN;
}

static int cache_put(struct lq_asof *a, uint64_t id, unsigned char v)
{
	if ((a->n + 1) * 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		uint64_t *key = calloc(cap, sizeof *key);
		unsigned char *val = calloc(cap, 1);
		if (!key || !val) {
			free(key);
			free(val);
			return LIN_ENOMEM;
		}
		for (size_t i = 0; i < a->cap; i++) {
			if (!a->key[i])
				continue;
			size_t j = mix(a->key[i]) & (cap - 1);
			while (key[j])
				j = (j + 1) & (cap - 1);
			key[j] = a->key[i];
			val[j] = a->val[i];
		}
		free(a->key);
		free(a->val);
		a->key = key;
		a->val = val;
		a->cap = cap;
	}
	size_t j = mix(id) & (a->cap - 1);
	while (a->key[j] && a->key[j] != id)
		j = (j + 1) & (a->cap - 1);
	if (!a->key[j])
		a->n++;
	a->key[j] = id;
	a->val[j] = v;
	return 0;
}

static int edge_keep(void *ctx, uint64_t node, const struct lin_edge *e,
		     struct lin_err *err);

struct lq_asof *lq_asof_new(MDB_txn *txn, const struct lin_store *s,
			    int64_t t)
{
	struct lq_asof *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->txn = txn;
	a->s = s;
	a->t = t;
	lin_qnode_init(&a->node);
	msgpack_unpacked_init(&a->fact);
	a->filter.fn = edge_keep;
	a->filter.ctx = a;
	return a;
}

void lq_asof_free(struct lq_asof *a)
{
	if (!a)
		return;
	free(a->key);
	free(a->val);
	lin_qnode_release(&a->node);
	msgpack_unpacked_destroy(&a->fact);
	free(a);
}

const struct lin_edge_filter *lq_asof_filter(struct lq_asof *a)
{
	return &a->filter;
}

static int64_t obj_int(const msgpack_object *o)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= (uint64_t)INT64_MAX)
		return (int64_t)o->via.u64;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return o->via.i64;
	return LIN_QNONE;
}

/* The node's "first" attribute's time ([time, path, pos]). */
static int64_t first_attr(const struct lin_qnode *n)
{
	const msgpack_object *m = &n->up.data;

	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		const msgpack_object *v = &m->via.map.ptr[i].val;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 5 &&
		    memcmp(k->via.str.ptr, "first", 5) == 0 &&
		    v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size)
			return obj_int(&v->via.array.ptr[0]);
	}
	return LIN_QNONE;
}

/* When node n came to be: a run's started_at, a version's first
 * logging; LIN_QNONE when unknown. */
static int node_since(MDB_txn *txn, const struct lin_store *s,
		      const struct lin_qnode *n, int64_t *since,
		      struct lin_err *err)
{
	*since = LIN_QNONE;
	if (n->kind == LIN_ID_RUN) {
		*since = n->started_at;
		return 0;
	}
	if (n->coll) {
		unsigned char k[12];
		MDB_val v;
		int rc = lin_store_get(txn, s, LIN_DB_COLL_VER, k,
				       lin_key_coll_num(k, n->coll,
							(uint32_t)n->version),
				       &v, err);
		if (rc && rc != LIN_ENOTFOUND)
			return rc;
		lin_err_clear(err);
		if (rc == 0 && v.mv_size == 16 &&
		    lin_be64_get(v.mv_data) == n->id) {
			uint64_t tk = lin_be64_get((unsigned char *)v.mv_data +
						   8);
			/* The indexer keys an untimed first log last. */
			if (tk != UINT64_MAX)
				*since = lin_time_unkey(tk);
			return 0;
		}
	}
	*since = first_attr(n);
	if (*since == LIN_QNONE)
		*since = n->created_at;
	return 0;
}

int lq_asof_node(struct lq_asof *a, uint64_t id, int *exists,
		 struct lin_err *err)
{
	unsigned c = cache_get(a, id);
	int64_t since;
	int rc;

	if (c != UNKNOWN) {
		*exists = c == EXISTS;
		return 0;
	}
	if ((rc = lin_qnode_load(a->txn, a->s, id, &a->node, err)) ||
	    (rc = node_since(a->txn, a->s, &a->node, &since, err)))
		return rc;
	*exists = since == LIN_QNONE || since <= a->t;
	if (cache_put(a, id, *exists ? EXISTS : ABSENT))
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	return 0;
}

/* The time of LOG/USE fact `fact` (LIN_QNONE: nil). */
static int fact_time(struct lq_asof *a, uint64_t fact, int64_t *t,
		     struct lin_err *err)
{
	unsigned char k[8];
	MDB_val v;
	size_t off = 0;
	int rc = lin_store_get(a->txn, a->s, LIN_DB_FACTS, k,
			       lin_key_id(k, fact), &v, err);

	if (rc == LIN_ENOTFOUND)
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "fact %016llx, named by an edge, is "
				   "missing from the store",
				   (unsigned long long)fact);
	if (rc)
		return rc;
	if (lin_mp_check(v.mv_data, v.mv_size) ||
	    msgpack_unpack_next(&a->fact, v.mv_data, v.mv_size, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		goto bad;
	const msgpack_object *o = &a->fact.data;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 4)
		goto bad;
	int64_t kind = obj_int(&o->via.array.ptr[0]);
	const msgpack_object *tm = &o->via.array.ptr[3];
	if (kind != LIN_FACT_LOG && kind != LIN_FACT_USE)
		goto bad;
	if (tm->type == MSGPACK_OBJECT_NIL) {
		*t = LIN_QNONE;
		return 0;
	}
	*t = obj_int(tm);
	if (*t != LIN_QNONE)
		return 0;
bad:
	return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
			   "fact %016llx, named by an edge, is not a valid "
			   "LOG or USE fact", (unsigned long long)fact);
}

static int edge_keep(void *ctx, uint64_t node, const struct lin_edge *e,
		     struct lin_err *err)
{
	struct lq_asof *a = ctx;
	int64_t t = LIN_QNONE;
	int ok, rc;

	if ((rc = lq_asof_node(a, node, &ok, err)) || !ok ||
	    (rc = lq_asof_node(a, e->other, &ok, err)) || !ok)
		return rc ? rc : 0;
	if ((rc = fact_time(a, e->fact, &t, err)))
		return rc;
	return t == LIN_QNONE || t <= a->t;
}

/* ---- aliases ---- */


/* Replace version n's "aliases" with those naming it at time t:
 * "latest" first, then the others in byte order (as the indexer
 * writes them). The array lives in n's msgpack zone. */
static int aliases_at(struct lq *q, struct lin_qnode *n)
{
	MDB_cursor *c;
	unsigned char kb[8];
	MDB_val k = { lin_key_id(kb, n->coll), kb }, v;
	msgpack_object *names = NULL, *grown;
	size_t cnt = 0, cap = 0;
	uint64_t vid;
	int rc;

	if (!n->coll || !n->up.zone)
		return 0;
	if ((rc = lin_store_alias_at(q->txn, &q->store, n->coll, "latest", 6,
				     q->asof, &vid, &q->e)))
		return rc;
	rc = mdb_cursor_open(q->txn, q->store.dbi[LIN_DB_ALIAS_TL], &c);
	if (rc)
		return lin_store_fail(&q->e, rc, "cannot open cursor");
	int is_latest = vid == n->id;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= 8 || lin_be64_get(k.mv_data) != n->coll)
			break;
		const char *a = (const char *)k.mv_data + 8;
		size_t an = k.mv_size - 8;
		if (an == 6 && memcmp(a, "latest", 6) == 0)
			continue;
		if ((rc = lin_timeline_at(v.mv_data, v.mv_size, q->asof, &vid,
					  &q->e)))
			break;
		if (vid != n->id)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(names, cap * sizeof *names);
			if (!grown) {
				rc = LIN_ENOMEM;
				break;
			}
			names = grown;
		}
		names[cnt].type = MSGPACK_OBJECT_STR;
		names[cnt].via.str.ptr = a;  /* valid while the txn lives */
		names[cnt].via.str.size = (uint32_t)an;
		cnt++;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc > 0)
		rc = lin_store_fail(&q->e, rc, "cannot read aliases");
	size_t total = cnt + (size_t)is_latest;
	msgpack_object *arr = NULL, *items = NULL;
	if (rc == 0) {
		arr = msgpack_zone_malloc(n->up.zone, sizeof *arr);
		items = msgpack_zone_malloc(n->up.zone,
					    (total + 1) * sizeof *items);
		if (!arr || !items)
			rc = LIN_ENOMEM;
	}
	if (rc == 0) {
		if (is_latest) {
			items[0].type = MSGPACK_OBJECT_STR;
			items[0].via.str.ptr = "latest";
			items[0].via.str.size = 6;
		}
		for (size_t i = 0; i < cnt; i++)
			items[i + (size_t)is_latest] = names[i];
		arr->type = MSGPACK_OBJECT_ARRAY;
		arr->via.array.size = (uint32_t)total;
		arr->via.array.ptr = items;
		n->aliases = arr;
	}
	free(names);
	if (rc == LIN_ENOMEM)
		return lin_err_set(&q->e, rc, LIN_NO_OFFSET, "out of memory");
	return rc;
}

/* ---- the command-side wrappers ---- */

int lq_asof_open(struct lq *q)
{
	if (!q->has_asof || q->at)
		return 0;
	q->at = lq_asof_new(q->txn, &q->store, q->asof);
	if (!q->at)
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	return 0;
}

void lq_asof_close(struct lq *q)
{
	lq_asof_free(q->at);
	q->at = NULL;
}

int lq_exists(struct lq *q, uint64_t id)
{
	int ok, rc;

	if (!q->at)
		return 1;
	rc = lq_asof_node(q->at, id, &ok, &q->e);
	return rc ? rc : ok;
}

/* LIN_ENOTFOUND with "X not found as of T (...)" unless node id
 * existed at q->asof. */
static int check_exists(struct lq *q, uint64_t id)
{
	struct lin_qnode n;
	char tb[48], sb[48], *name;
	int64_t since;
	int rc = lq_exists(q, id);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	lin_qnode_init(&n);
	rc = lin_qnode_load(q->txn, &q->store, id, &n, &q->e);
	if (rc == 0)
		rc = node_since(q->txn, &q->store, &n, &since, &q->e);
	name = rc ? NULL : lin_qnode_id(&n, 1);
	if (rc == 0 && !name)
		rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				 "out of memory");
	if (rc == 0)
		rc = lin_err_set(&q->e, LIN_ENOTFOUND, LIN_NO_OFFSET,
				 "%s not found as of %s (%s %s)", name,
				 lin_fmt_time(tb, q->asof),
				 n.kind == LIN_ID_RUN ? "started" :
				 "first logged", lin_fmt_time(sb, since));
	free(name);
	lin_qnode_release(&n);
	return rc;
}

static const int64_t *asof_ptr(const struct lq *q)
{
	return q->has_asof ? &q->asof : NULL;
}

int lq_resolve_ref(struct lq *q, const char *ref, uint64_t *vid)
{
	int rc = lin_resolve_ref_at(q->txn, &q->store, ref, asof_ptr(q),
				    vid, &q->e);
	return rc ? rc : check_exists(q, *vid);
}

int lq_resolve_run(struct lq *q, const char *run, uint64_t *rid)
{
	int rc = lin_resolve_run(q->txn, &q->store, run, rid, &q->e);
	return rc ? rc : check_exists(q, *rid);
}

int lq_resolve_node(struct lq *q, const char *spec, uint64_t *node)
{
	int rc = lin_resolve_node_at(q->txn, &q->store, spec, asof_ptr(q),
				     node, &q->e);
	return rc ? rc : check_exists(q, *node);
}

int lq_node_load(struct lq *q, uint64_t id, struct lin_qnode *n)
{
	int rc = lin_qnode_load(q->txn, &q->store, id, n, &q->e);

	if (rc || !q->at)
		return rc;
	if (n->kind == LIN_ID_VERSION)
		return aliases_at(q, n);
	/* At T the run had not finished yet: no end state. */
	if (n->ended_at != LIN_QNONE && n->ended_at > q->asof) {
		n->state.p = NULL;
		n->state.n = 0;
		n->ended_at = n->exit_code = LIN_QNONE;
	}
	return 0;
}

int lq_neighbours(struct lq *q, uint64_t node, unsigned first_kind,
		  unsigned last_kind, struct lin_nbrs *out)
{
	return lin_walk_neighbours_filtered(q->txn, &q->store, node,
					    first_kind, last_kind,
					    q->at ? lq_asof_filter(q->at) :
					    NULL, out, &q->e);
}

int lq_walk_new(struct lq *q, struct lin_walk **w, unsigned dir,
		uint32_t max_depth)
{
	int rc = lin_walk_new(w, q->txn, &q->store, dir, max_depth, &q->e);

	if (rc == 0 && q->at)
		lin_walk_set_filter(*w, lq_asof_filter(q->at));
	if (rc == 0)
		lin_walk_set_relogs(*w, q->relogs);
	return rc;
}
