/* moves.c - re-keying the sources of files that moved (moves.h). */
#include "indexer/moves.h"
#include "format/grow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Add bytes [from, to) of the file to *c: those below `headn` from
 * `head`, the others read with pread. */
static int span_crc(int fd, const unsigned char *head, size_t headn,
		    uint64_t from, uint64_t to, uLong *c)
{
	unsigned char buf[IX_CRC_SPAN];

	if (from < headn) {
		uint64_t end = to < headn ? to : headn;
		*c = crc32(*c, head + from, (uInt)(end - from));
		from = end;
	}
	while (from < to) {
		size_t want = to - from < sizeof buf ? (size_t)(to - from)
						     : sizeof buf;
		ssize_t n = pread(fd, buf, want, (off_t)from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*c = crc32(*c, buf, (uInt)n);
		from += (uint64_t)n;
	}
	return 0;
}

int ix_fd_crc(int fd, uint64_t size, const unsigned char *head,
	      size_t headn, uint32_t *crc)
{
	uLong c = crc32(0L, Z_NULL, 0);
	/* the first and last IX_CRC_SPAN bytes (the whole of a smaller
	 * file): a file's run record is at its start, its end records at
	 * its end, and reading whole .wandb files again would cost more
	 * than indexing them */
	uint64_t first = size < IX_CRC_SPAN ? size : IX_CRC_SPAN;
	uint64_t last = size > 2 * IX_CRC_SPAN ? size - IX_CRC_SPAN : first;

	if (span_crc(fd, head, headn, 0, first, &c) ||
	    span_crc(fd, head, headn, last, size, &c))
		return -1;
	*crc = (uint32_t)c;
	return 0;
}

int ix_file_crc(const char *path, uint32_t *crc)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) == 0)
		rc = ix_fd_crc(fd, (uint64_t)sb.st_size, NULL, 0, crc);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

void ix_orphans_free(struct ix_orphans *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].key);
	free(o->v);
	memset(o, 0, sizeof *o);
}

/* Add the source `key` (map value `val`) when its file is gone. */
static int consider(struct ix *x, const struct lin_idbits *seen,
		    struct ix_orphans *o, const MDB_val *key,
		    const MDB_val *val)
{
	msgpack_object m;
	int64_t id = -1, crc = 0;

	msgpack_zone_clear(&x->zone);
	if (lin_val_map(val->mv_data, val->mv_size, &x->zone, &m) ||
	    !lin_map_i64(&m, "id", &id) || id < 0 ||
	    lin_idbits_has(seen, (uint64_t)id))
		return 0;
	/* the full path: keys of long paths are hashed. Archive members
	 * ("ARCHIVE//MEMBER") and archives move with their archive file,
	 * which is read again: they are never re-keyed. */
	const char *path = ix_src_path(x, (uint32_t)id);
	struct lin_slice fmt;
	struct stat sb;
	if (!*path || strstr(path, "//") ||
	    (lin_map_str(&m, "format", &fmt) &&
	     lin_slice_eq_cstr(fmt, "archive")) ||
	    stat(path, &sb) == 0 || errno != ENOENT)
		return 0;
	if (LIN_GROW(o->v, o->cap, o->n + 1, 16))
		return LIN_ENOMEM;
	struct ix_orphan *or = &o->v[o->n];
	memset(or, 0, sizeof *or);
	if (!(or->key = malloc(key->mv_size)))
		return LIN_ENOMEM;
	memcpy(or->key, key->mv_data, key->mv_size);
	or->kn = key->mv_size;
	or->id = (uint32_t)id;
	lin_map_i64(&m, "size", &or->size);
	lin_map_i64(&m, "mtime", &or->mtime);
	lin_map_i64(&m, "ino", &or->ino);
	if (lin_map_i64(&m, "crc", &crc)) {
		or->has_crc = 1;
		or->crc = (uint32_t)crc;
	}
	o->n++;
	return 0;
}

int ix_orphans_build(struct ix *x, const struct lin_idbits *seen,
		     struct ix_orphans *o)
{
	struct lin_scan sc;
	int rc;

	o->built = 1;
	rc = lin_scan_open(&sc, x->txn, x->s, LIN_DB_SOURCES, NULL, 0, NULL,
			   0, x->err);
	/* consider() reads source_ids through the same transaction; the
	 * cursor over `sources` stays valid (nothing is written) */
	while (rc == 0 && (rc = lin_scan_next(&sc)) == 1)
		rc = consider(x, seen, o, &sc.k, &sc.v);
	lin_scan_close(&sc);
	return rc == LIN_ENOMEM ? lin_err_set(x->err, rc, LIN_NO_OFFSET,
					      "out of memory") : rc;
}

long ix_orphan_match(struct ix_orphans *o, const char *path,
		     const struct stat *sb, uint32_t *crc, int *has_crc)
{
	int64_t mtime = (int64_t)sb->st_mtim.tv_sec * 1000000000 +
			sb->st_mtim.tv_nsec;
	long by_content = -1;
	int ambiguous = 0;

	*has_crc = 0;
	for (size_t i = 0; i < o->n; i++) {
		struct ix_orphan *or = &o->v[i];
		if (or->used || or->size != (int64_t)sb->st_size)
			continue;
		/* rename(2) keeps the inode and mtime */
		if (or->ino == (int64_t)sb->st_ino && or->mtime == mtime)
			return (long)i;
		if (!or->has_crc)
			continue;
		/* a copy (cp, rsync, tar) has another inode: compare the
		 * content, reading the new file once */
		if (!*has_crc) {
			if (ix_file_crc(path, crc) != 0)
				return -1;
			*has_crc = 1;
		}
		if (or->crc == *crc) {
			/* two gone files alike at both ends: not a guess */
			if (by_content >= 0)
				ambiguous = 1;
			by_content = (long)i;
		}
	}
	return ambiguous ? -1 : by_content;
}

/* 1 when map key `k` is one repack() writes anew. */
static int fresh_key(const msgpack_object *k)
{
	static const char *const fresh[] = { "size", "mtime", "ino", "crc" };

	for (size_t j = 0; j < 4; j++)
		if (k->type == MSGPACK_OBJECT_STR &&
		    k->via.str.size == strlen(fresh[j]) &&
		    !memcmp(k->via.str.ptr, fresh[j], k->via.str.size))
			return 1;
	return 0;
}

/* The source map `old` with size, mtime, ino and crc replaced. */
static void repack(struct ix *x, const msgpack_object *old,
		   const struct stat *sb, uint32_t crc, int has_crc)
{
	msgpack_packer *pk = &x->pk.pk;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < old->via.map.size; i++)
		keep += !fresh_key(&old->via.map.ptr[i].key);
	lin_packer_reset(&x->pk);
	msgpack_pack_map(pk, keep + 3 + (has_crc != 0));
	for (uint32_t i = 0; i < old->via.map.size; i++) {
		if (fresh_key(&old->via.map.ptr[i].key))
			continue;
		msgpack_pack_object(pk, old->via.map.ptr[i].key);
		msgpack_pack_object(pk, old->via.map.ptr[i].val);
	}
	lin_pack_kv_i64(pk, "size", (int64_t)sb->st_size);
	lin_pack_kv_i64(pk, "mtime", (int64_t)sb->st_mtim.tv_sec * 1000000000
				     + sb->st_mtim.tv_nsec);
	lin_pack_kv_i64(pk, "ino", (int64_t)sb->st_ino);
	if (has_crc)
		lin_pack_kv_i64(pk, "crc", crc);
}

/* Touch what the source's facts feed that depends on its path: the
 * first logging of its versions (ties by path) and the order of alias
 * events (ties by path). */
static int touch_facts(struct ix *x, uint32_t src)
{
	unsigned char pre[4];
	struct lin_scan sc;
	int rc = lin_scan_open(&sc, x->txn, x->s, LIN_DB_FACTS, pre,
			       lin_key_src(pre, src), NULL, 0, x->err);

	while (rc == 0 && (rc = lin_scan_next(&sc)) == 1) {
		struct lin_fact f;
		struct touched_coll *t;
		rc = 0;
		msgpack_zone_clear(&x->zone);
		if (lin_fact_decode(sc.v.mv_data, sc.v.mv_size, &x->zone,
				    &f) ||
		    (f.kind != LIN_FACT_LOG && f.kind != LIN_FACT_ALIAS))
			continue;
		struct lin_slice sid;
		if (!(t = ix_touch_coll(x, f.coll)))
			rc = LIN_ENOMEM;
		else if (f.kind == LIN_FACT_LOG &&
			 lin_idset_add(&t->vids, f.vid) < 0)
			rc = LIN_ENOMEM;
		/* aliases in the same instant are ordered by path */
		else
			t->all_aliases = 1;
		/* so are two versions that carry one server id */
		if (!rc && f.kind == LIN_FACT_LOG && ix_fact_sid(&f, &sid))
			rc = ix_touch_sid(x, sid.p, sid.n);
	}
	lin_scan_close(&sc);
	return rc;
}

int ix_rekey_source(struct ix *x, struct ix_orphan *or, const char *key,
		    size_t kn, const char *stored, const struct stat *sb,
		    uint32_t crc, int has_crc)
{
	MDB_val v;
	msgpack_object m;
	unsigned char ik[4];
	int rc = ix_get(x, LIN_DB_SOURCES, or->key, or->kn, &v);

	if (rc)
		return rc == LIN_ENOTFOUND ?
		       lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "source %u vanished while re-keyed",
				   or->id) : rc;
	msgpack_zone_clear(&x->zone);
	if (lin_val_map(v.mv_data, v.mv_size, &x->zone, &m))
		return lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "bad source entry");
	repack(x, &m, sb, crc, has_crc);
	lin_key_src(ik, or->id);
	if ((rc = ix_del(x, LIN_DB_SOURCES, or->key, or->kn, NULL, 0)) ||
	    (rc = ix_put(x, LIN_DB_SOURCES, key, kn, x->pk.sb.data,
			 x->pk.sb.size)) ||
	    (rc = ix_put(x, LIN_DB_SOURCE_IDS, ik, 4, stored,
			 strlen(stored))))
		return rc;
	/* the path cache of tie-breaks must see the new path */
	for (size_t i = 0; i < x->npaths; i++) {
		if (x->paths[i].id != or->id)
			continue;
		char *p = strdup(stored);
		if (!p)
			return LIN_ENOMEM;
		free(x->paths[i].path);
		x->paths[i].path = p;
	}
	x->src = or->id;
	/* the caller's commit derives what was touched */
	if ((rc = touch_facts(x, or->id)))
		return rc;
	or->used = 1;
	return 0;
}

void ix_orphans_settle(struct ix_orphans *o, int kept)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].used == 1)
			o->v[i].used = kept ? 2 : 0;
}
