/* deep.c - `check --deep`: every entry of every database (LMDB's own
 * free list and catalogue included) read, its bytes placed inside the
 * file, its order checked, its value decoded, and every reference it
 * holds followed to what it names. Damage that the fast `check` cannot
 * see (a cut-short value, a key out of order, an id that names nothing,
 * pages that add up wrong) is found here; damage inside a value that
 * still decodes is not (STORE.md, "Checking a store"). */
#include "format/deep.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "format/core.h"
#include "format/keys.h"
#include "format/mpcheck.h"
#include "format/schema.h"

struct deep {
	const struct lin_store *s;
	struct lin_err *err;
	lin_deep_report_fn *report;
	void *ctx;
	const char *base;      /* the map */
	uint64_t psize, pages; /* page size, pages in the file's snapshot */
	uint64_t used;         /* pages the databases' records account for */
	uint64_t free_pages;   /* pages the free list names */
	uint64_t runs, versions; /* run and version nodes */
	uint64_t run_names;      /* names entries R (a run id each) */
	uint64_t entries[LIN_DB_COUNT];
	enum lin_db db;        /* the database being walked */
	uint64_t entry;        /* its entry number, from 0 */
	MDB_val key;           /* its key */
};

/* "db NAME, entry N (key HEX...)": where a problem is. */
static const char *where(struct deep *d, char *buf, size_t n, const char *db)
{
	const unsigned char *k = d->key.mv_data;
	size_t kn = d->key.mv_size < 24 ? d->key.mv_size : 24;
	int o = snprintf(buf, n, "%s, entry %llu (key ", db,
			 (unsigned long long)d->entry);

	for (size_t i = 0; i < kn && o > 0 && (size_t)o + 3 < n; i++)
		o += snprintf(buf + o, n - (size_t)o, "%02x", k[i]);
	if (o > 0 && (size_t)o + 5 < n)
		snprintf(buf + o, n - (size_t)o, "%s)",
			 d->key.mv_size > kn ? "..." : "");
	return buf;
}

static void bad(struct deep *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void bad(struct deep *d, const char *fmt, ...)
{
	char what[400], loc[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	d->report(d->ctx, 1, "%s: %s",
		  where(d, loc, sizeof loc, d->db < LIN_DB_COUNT ?
			lin_db_names[d->db] : d->db == LIN_DB_COUNT ?
			"(free list)" : "(catalogue)"), what);
}

/* Bytes p[0..n) lie in the snapshot's pages (past the two meta pages)
 * and, unless `multi` (an overflow value), inside one page. */
static int placed(struct deep *d, const void *p, size_t n, int multi)
{
	const char *c = p;

	if (n == 0 || !d->base)
		return 1;
	if (c < d->base + 2 * d->psize ||
	    (uint64_t)(c - d->base) + n > d->pages * d->psize)
		return 0;
	if (multi)
		return 1;
	return (uint64_t)(c - d->base) % d->psize + n <= d->psize;
}

/* The outcome of looking up what an entry names: 1 found, else 0 and
 * reported (a lookup that fails on damage is a problem too). */
static int found(struct deep *d, int rc, const char *what, uint64_t id)
{
	if (rc == 0)
		return 1;
	if (rc == LIN_ENOTFOUND)
		bad(d, "%s %016llx is missing from the store", what,
		    (unsigned long long)id);
	else
		bad(d, "cannot look up %s %016llx: %s", what,
		    (unsigned long long)id, d->err->msg);
	lin_err_clear(d->err);
	return 0;
}

/* A node that must exist, of kind `kind` (0: run or version). */
static int node_exists(struct deep *d, MDB_txn *txn, uint64_t id,
		       unsigned kind, const char *what)
{
	unsigned char k[8];
	MDB_val v;
	int rc;

	if ((kind && LIN_ID_KIND(id) != kind) ||
	    (!kind && LIN_ID_KIND(id) != LIN_ID_RUN &&
	     LIN_ID_KIND(id) != LIN_ID_VERSION)) {
		bad(d, "%s %016llx is not a %s id", what,
		    (unsigned long long)id, kind == LIN_ID_COLL ?
		    "collection" : kind == LIN_ID_VERSION ? "version" :
		    kind == LIN_ID_RUN ? "run" : "node");
		return 0;
	}
	rc = lin_store_get(txn, d->s, kind == LIN_ID_COLL ?
			   LIN_DB_COLL_INFO : LIN_DB_NODES, k,
			   lin_key_id(k, id), &v, d->err);
	return found(d, rc, what, id);
}

static int fact_exists(struct deep *d, MDB_txn *txn, uint64_t fact,
		       const char *what)
{
	unsigned char k[8];
	MDB_val v;
	int rc = lin_store_get(txn, d->s, LIN_DB_FACTS, k,
			       lin_key_id(k, fact), &v, d->err);
	char w[80];
	snprintf(w, sizeof w, "%s fact", what);
	return found(d, rc, w, fact);
}

static int msgpack_value(struct deep *d, const MDB_val *v, int want_type)
{
	const unsigned char *p = v->mv_data;

	if (v->mv_size == 0 || lin_mp_check(p, v->mv_size)) {
		bad(d, "value of %zu bytes is not one MessagePack value",
		    v->mv_size);
		return 0;
	}
	/* fixmap/map16/map32 or fixarray/array16/array32 */
	int is_map = (p[0] & 0xf0) == 0x80 || p[0] == 0xde || p[0] == 0xdf;
	int is_arr = (p[0] & 0xf0) == 0x90 || p[0] == 0xdc || p[0] == 0xdd;
	if ((want_type == 'm' && !is_map) || (want_type == 'a' && !is_arr)) {
		bad(d, "value is not a MessagePack %s",
		    want_type == 'm' ? "map" : "array");
		return 0;
	}
	return 1;
}

/* Sizes: exact key and value sizes per database (0: any). */
static int sizes(struct deep *d, const MDB_val *k, const MDB_val *v,
		 size_t kmin, size_t kmax, size_t vmin, size_t vmax)
{
	if (k->mv_size < kmin || k->mv_size > kmax || v->mv_size < vmin ||
	    v->mv_size > vmax) {
		bad(d, "entry of %zu/%zu bytes", k->mv_size, v->mv_size);
		return 0;
	}
	return 1;
}

/* A meta entry: the defaults map, the schema version, a counter. */
static int meta_entry(struct deep *d, const MDB_val *k, const MDB_val *v)
{
	const unsigned char *kb = k->mv_data;

	if (k->mv_size == strlen(LIN_META_DEFAULTS) &&
	    !memcmp(kb, LIN_META_DEFAULTS, k->mv_size))
		return msgpack_value(d, v, 'm');
	if (k->mv_size == strlen(LIN_META_SCHEMA) &&
	    !memcmp(kb, LIN_META_SCHEMA, k->mv_size))
		return sizes(d, k, v, 1, 511, 4, 4);
	return sizes(d, k, v, 1, 511, 4, 8);
}

/* An edge: a known kind, both ends and its fact present. */
static int edge_entry(struct deep *d, MDB_txn *txn, const MDB_val *k,
		      const MDB_val *v)
{
	struct lin_edge e;

	if (!sizes(d, k, v, 8, 8, LIN_EDGE_SIZE, LIN_EDGE_SIZE))
		return 0;
	lin_edge_decode(v->mv_data, &e);
	if (e.kind < LIN_EDGE_DOWN_FIRST || e.kind > LIN_EDGE_UP_LAST) {
		bad(d, "edge of kind 0x%02x", e.kind);
		return 0;
	}
	return node_exists(d, txn, lin_be64_get(k->mv_data), 0,
			   "edge's node") == 1 &&
	       node_exists(d, txn, e.other, 0, "edge's other node") == 1 &&
	       fact_exists(d, txn, e.fact, "edge's");
}

/* An alias timeline: (time, version) pairs in time order, each version
 * present (0: the alias named nothing). */
static int timeline_entry(struct deep *d, MDB_txn *txn, const MDB_val *k,
			  const MDB_val *v)
{
	const unsigned char *vb = v->mv_data;
	uint64_t last = 0;
	int rc = 1;

	if (!sizes(d, k, v, 9, 511, 16, SIZE_MAX))
		return 0;
	if (v->mv_size % 16) {
		bad(d, "alias timeline of %zu bytes", v->mv_size);
		return 0;
	}
	for (size_t i = 0; i < v->mv_size && rc == 1; i += 16) {
		uint64_t t = lin_be64_get(vb + i);
		uint64_t vid = lin_be64_get(vb + i + 8);
		if (t < last) {
			bad(d, "alias timeline out of time order");
			return 0;
		}
		last = t;
		if (vid)
			rc = node_exists(d, txn, vid, LIN_ID_VERSION,
					 "alias's version");
	}
	return rc;
}

/* A server_ids entry, id . 0 . kind . fact: LOG -> version, USE ->
 * empty; the fact exists, and a LOG entry's version too. */
static int server_id_entry(struct deep *d, MDB_txn *txn, const MDB_val *k,
			   const MDB_val *v)
{
	size_t sn;
	unsigned kind;
	uint64_t fact;

	if (!sizes(d, k, v, 11, LIN_MAX_SERVER_ID + 10, 0, 8))
		return 0;
	if (lin_key_server_id_split(k->mv_data, k->mv_size, &sn, &kind,
				    &fact) ||
	    (kind != LIN_FACT_LOG && kind != LIN_FACT_USE) ||
	    v->mv_size != (kind == LIN_FACT_LOG ? 8u : 0u)) {
		bad(d, "not a server id . 0 . log or use . fact entry");
		return 0;
	}
	if (kind == LIN_FACT_LOG &&
	    node_exists(d, txn, lin_be64_get(v->mv_data), LIN_ID_VERSION,
			"server id's version") != 1)
		return 0;
	return fact_exists(d, txn, fact, "server id's");
}

/* The references of one entry: what every id in it names exists. */
/* A node_core entry: a record that decodes, of its node's kind, whose
 * node exists (that it equals the node's attributes is plain check's). */
static int core_entry(struct deep *d, MDB_txn *txn, const MDB_val *k,
		      const MDB_val *v)
{
	struct lin_core c;

	if (!sizes(d, k, v, 8, 8, LIN_CORE_HEAD, SIZE_MAX))
		return 0;
	uint64_t id = lin_be64_get(k->mv_data);
	if (lin_core_decode(v->mv_data, v->mv_size, &c) ||
	    c.kind != LIN_ID_KIND(id)) {
		bad(d, "core record of node %016llx does not decode",
		    (unsigned long long)id);
		return 0;
	}
	return node_exists(d, txn, id, 0, "node of core record");
}

static int entry(struct deep *d, MDB_txn *txn, const MDB_val *k,
		 const MDB_val *v)
{
	const unsigned char *kb = k->mv_data, *vb = v->mv_data;
	int rc = 1;

	switch (d->db) {
	case LIN_DB_META:
		return meta_entry(d, k, v);
	case LIN_DB_SOURCES:
		return msgpack_value(d, v, 'm');
	case LIN_DB_SOURCE_IDS: {
		MDB_val sv;
		if (!sizes(d, k, v, 4, 4, 1, 511))
			return 0;
		rc = lin_store_get(txn, d->s, LIN_DB_SOURCES,
				   v->mv_data, v->mv_size, &sv, d->err);
		return found(d, rc, "source of id", lin_be32_get(kb));
	}
	case LIN_DB_FACTS: {
		unsigned char sk[4];
		MDB_val sv;
		if (!sizes(d, k, v, 8, 8, 1, SIZE_MAX) ||
		    !msgpack_value(d, v, 'a'))
			return 0;
		memcpy(sk, kb, 4);
		rc = lin_store_get(txn, d->s, LIN_DB_SOURCE_IDS, sk, 4,
				   &sv, d->err);
		return found(d, rc, "fact's source", lin_be32_get(kb));
	}
	case LIN_DB_NODES:
		if (!sizes(d, k, v, 8, 8, 1, SIZE_MAX))
			return 0;
		if (LIN_ID_KIND(lin_be64_get(kb)) == LIN_ID_RUN)
			d->runs++;
		else if (LIN_ID_KIND(lin_be64_get(kb)) == LIN_ID_VERSION)
			d->versions++;
		else
			bad(d, "node id of unknown kind");
		return msgpack_value(d, v, 'm');
	case LIN_DB_COLL_INFO:
		return sizes(d, k, v, 8, 8, 1, SIZE_MAX) &&
		       msgpack_value(d, v, 'm');
	case LIN_DB_COLL_VER:  /* coll . number -> version . time */
	case LIN_DB_COLL_DIG:  /* coll . digest -> version */
		if (d->db == LIN_DB_COLL_VER ? !sizes(d, k, v, 12, 12, 16, 16) :
		    !sizes(d, k, v, 9, 511, 8, 8))
			return 0;
		return node_exists(d, txn, lin_be64_get(kb), LIN_ID_COLL,
				   "collection") == 1 &&
		       node_exists(d, txn, lin_be64_get(vb), LIN_ID_VERSION,
				   "version");
	case LIN_DB_NODE_FACTS:
		return sizes(d, k, v, 8, 8, 9, 9) &&
		       node_exists(d, txn, lin_be64_get(kb), 0, "node") == 1 &&
		       fact_exists(d, txn, lin_be64_get(vb + 1), "node's");
	case LIN_DB_EDGES:
		return edge_entry(d, txn, k, v);
	case LIN_DB_USE_SEL:
	case LIN_DB_ALIAS_EV:
		/* coll . text . 0 . time key . fact id, empty value */
		if (!sizes(d, k, v, 8 + 1 + 16, 511, 0, 0))
			return 0;
		if (kb[k->mv_size - 17] != 0) {
			bad(d, "key does not end in 0 . time . fact");
			return 0;
		}
		return node_exists(d, txn, lin_be64_get(kb), LIN_ID_COLL,
				   "collection") == 1 &&
		       fact_exists(d, txn, lin_be64_get(kb + k->mv_size - 8),
				   "its");
	case LIN_DB_USE_RES:
		return sizes(d, k, v, 8, 8, 8, 8) &&
		       fact_exists(d, txn, lin_be64_get(kb), "use") == 1 &&
		       node_exists(d, txn, lin_be64_get(vb), LIN_ID_VERSION,
				   "resolved version");
	case LIN_DB_PENDING:
		return sizes(d, k, v, 8, 8, 0, 0) &&
		       fact_exists(d, txn, lin_be64_get(kb), "pending use");
	case LIN_DB_ALIAS_TL:
		return timeline_entry(d, txn, k, v);
	case LIN_DB_NAMES:
		if (!sizes(d, k, v, 3, 511, 8, 8))
			return 0;
		if (kb[0] != LIN_NAME_COLL && kb[0] != LIN_NAME_RUN &&
		    kb[0] != LIN_NAME_DISPLAY) {
			bad(d, "name of unknown tag 0x%02x", kb[0]);
			return 0;
		}
		if (!memchr(kb + 1, 0, k->mv_size - 1)) {
			bad(d, "name without the 0 before its scope");
			return 0;
		}
		d->run_names += kb[0] == LIN_NAME_RUN;
		return node_exists(d, txn, lin_be64_get(vb),
				   kb[0] == LIN_NAME_COLL ? LIN_ID_COLL :
				   LIN_ID_RUN, "named");
	case LIN_DB_SERVER_IDS:
		return server_id_entry(d, txn, k, v);
	case LIN_DB_NODE_CORE:
		return core_entry(d, txn, k, v);
	case LIN_DB_COUNT:
		break;
	}
	return 1;
}

/* Walk one database: placement and order of every entry, its count
 * against the database's record, then the entry's own rules (db <
 * LIN_DB_COUNT). dbi is LMDB's handle (0: the free list, 1: the
 * catalogue of named databases). */
static int walk(struct deep *d, MDB_txn *txn, MDB_dbi dbi, int dupsort)
{
	MDB_cursor *c;
	MDB_val k, v, pk = { 0, NULL }, pv = { 0, NULL };
	MDB_stat ms;
	int r, rc = mdb_cursor_open(txn, dbi, &c);

	if (rc)
		return lin_store_fail(d->err, rc, "cannot open cursor");
	if ((rc = mdb_stat(txn, dbi, &ms))) {
		mdb_cursor_close(c);
		return lin_store_fail(d->err, rc, "cannot read a database");
	}
	d->used += ms.ms_branch_pages + ms.ms_leaf_pages +
		   ms.ms_overflow_pages;
	d->entry = 0;
	rc = 0;
	for (r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0 && rc >= 0;
	     r = mdb_cursor_get(c, &k, &v, MDB_NEXT), d->entry++) {
		d->key = k;
		if (!placed(d, k.mv_data, k.mv_size, 0)) {
			d->key.mv_size = 0;
			bad(d, "key of %zu bytes lies outside its page",
			    k.mv_size);
			continue;
		}
		/* Values bigger than a page's share live on overflow
		 * pages; smaller ones inside the leaf. */
		if (!placed(d, v.mv_data, v.mv_size,
			    v.mv_size > d->psize / 4)) {
			bad(d, "value of %zu bytes lies outside the store's "
			    "pages", v.mv_size);
			continue;
		}
		int order = pk.mv_data ? mdb_cmp(txn, dbi, &pk, &k) : -1;
		/* Out of order, the cursor may be going round in a circle
		 * of damaged pages: the rest of the database is not read. */
		if (order > 0 || (order == 0 && !dupsort)) {
			bad(d, "key out of order (the rest of this database "
			    "is not read)");
			break;
		} else if (order == 0 && mdb_dcmp(txn, dbi, &pv, &v) >= 0) {
			bad(d, "duplicate value out of order (the rest of "
			    "this database is not read)");
			break;
		}
		pk = k;
		pv = v;
		if (dbi == 0) {
			/* free list: txn id -> count, page numbers */
			size_t n = v.mv_size / sizeof(size_t), pg;
			const char *p = v.mv_data;
			if (n)
				memcpy(&pg, p, sizeof pg);
			if (v.mv_size % sizeof(size_t) || n == 0 ||
			    pg != n - 1) {
				bad(d, "free list entry of %zu bytes",
				    v.mv_size);
				continue;
			}
			for (size_t i = 1; i < n; i++) {
				memcpy(&pg, p + i * sizeof pg, sizeof pg);
				if (pg < 2 || pg >= d->pages) {
					bad(d, "free page %zu is outside the "
					    "file", pg);
					break;
				}
			}
			d->free_pages += n - 1;
		} else if (dbi == 1) {
			/* each named database's record: LMDB's MDB_db */
			if (v.mv_size != 48)
				bad(d, "database record of %zu bytes",
				    v.mv_size);
		} else {
			entry(d, txn, &k, &v);  /* problems are reported */
		}
	}
	mdb_cursor_close(c);
	if (rc < 0)
		return rc;
	if (r != MDB_NOTFOUND) {
		bad(d, "cannot read on: %s", mdb_strerror(r));
		return 0;
	}
	if (d->db < LIN_DB_COUNT)
		d->entries[d->db] = d->entry;
	if (d->entry != ms.ms_entries) {
		d->key.mv_size = 0;
		bad(d, "%llu entries read, its record says %llu",
		    (unsigned long long)d->entry,
		    (unsigned long long)ms.ms_entries);
	}
	return 0;
}

/* Where the store's map starts: LMDB does not say (me_mapaddr is only
 * set for MDB_FIXEDMAP), so find the mapping of its file in
 * /proc/self/maps. NULL when not found: placement checks are skipped. */
static const char *map_base(MDB_env *env)
{
	struct stat st;
	char line[1024];
	int fd;
	const char *base = NULL;

	if (mdb_env_get_fd(env, &fd) || fstat(fd, &st))
		return NULL;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof line, f)) {
		unsigned long long start, off, ino;
		unsigned maj, mnr;
		if (sscanf(line, "%llx-%*x %*s %llx %x:%x %llu", &start, &off,
			   &maj, &mnr, &ino) == 5 && off == 0 &&
		    ino == (unsigned long long)st.st_ino &&
		    makedev(maj, mnr) == st.st_dev) {
			base = (const char *)(uintptr_t)start;
			break;
		}
	}
	fclose(f);
	return base;
}

int lin_deep_check(MDB_txn *txn, const struct lin_store *s,
		   lin_deep_report_fn *report, void *ctx,
		   struct lin_err *err)
{
	struct deep d;
	MDB_envinfo info;
	MDB_stat ms;
	int rc;

	memset(&d, 0, sizeof d);
	d.s = s;
	d.err = err;
	d.report = report;
	d.ctx = ctx;
	if ((rc = mdb_env_info(s->env, &info)) ||
	    (rc = mdb_env_stat(s->env, &ms)))
		return lin_store_fail(err, rc, "cannot read the store");
	d.base = map_base(s->env);
	d.psize = ms.ms_psize;
	/* the snapshot being read, not a newer commit's */
	d.pages = info.me_last_pgno + 1;
	d.db = LIN_DB_COUNT;
	if ((rc = walk(&d, txn, 0, 0)))
		return rc;
	d.db = LIN_DB_COUNT + 1;
	if ((rc = walk(&d, txn, 1, 0)))
		return rc;
	for (int i = 0; i < LIN_DB_COUNT; i++) {
		unsigned flags = 0;
		d.db = (enum lin_db)i;
		mdb_dbi_flags(txn, s->dbi[i], &flags);
		if ((rc = walk(&d, txn, s->dbi[i],
			       !!(flags & MDB_DUPSORT))))
			return rc;
	}
	/* Every node is reached from an index: each run id entry of
	 * `names` names a node with that id (check), so equal counts leave
	 * none out. */
	if (d.runs != d.run_names)
		report(ctx, 1, "nodes: %llu runs, but %llu run id names",
		       (unsigned long long)d.runs,
		       (unsigned long long)d.run_names);
	if (d.versions != d.entries[LIN_DB_COLL_VER] ||
	    d.versions != d.entries[LIN_DB_COLL_DIG])
		report(ctx, 1, "nodes: %llu versions, but %llu coll_ver and "
		       "%llu coll_dig entries", (unsigned long long)d.versions,
		       (unsigned long long)d.entries[LIN_DB_COLL_VER],
		       (unsigned long long)d.entries[LIN_DB_COLL_DIG]);
	/* Every page is a meta page, a database's or free. Sub-databases
	 * of duplicates are not in any record LMDB shows, so the sum may
	 * fall short, never exceed; only for the newest snapshot
	 * (me_last_pgno is the newest commit's). */
	if (info.me_last_txnid == mdb_txn_id(txn) &&
	    2 + d.used + d.free_pages > d.pages)
		report(ctx, 1, "pages: %llu in the file, but %llu meta, "
		       "%llu in databases and %llu free",
		       (unsigned long long)d.pages, 2ull,
		       (unsigned long long)d.used,
		       (unsigned long long)d.free_pages);
	return 0;
}
