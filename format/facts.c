/* facts.c - MessagePack encoding of facts and node attributes. */
#include "facts.h"
#include "attrs.h"
#include "mpcheck.h"

#include <string.h>

void lin_packer_init(struct lin_packer *p)
{
	msgpack_sbuffer_init(&p->sb);
	msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

void lin_packer_reset(struct lin_packer *p)
{
	msgpack_sbuffer_clear(&p->sb);
}

void lin_packer_release(struct lin_packer *p)
{
	msgpack_sbuffer_destroy(&p->sb);
}

void lin_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void lin_pack_slice(msgpack_packer *pk, struct lin_slice s)
{
	msgpack_pack_str(pk, s.n);
	msgpack_pack_str_body(pk, s.p, s.n);
}

void lin_pack_time(msgpack_packer *pk, int64_t t)
{
	if (t == LIN_TIME_NONE)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_int64(pk, t);
}

void lin_pack_strv(msgpack_packer *pk, struct lin_strv v)
{
	msgpack_pack_array(pk, v.n);
	for (size_t i = 0; i < v.n; i++)
		lin_pack_cstr(pk, v.v[i]);
}

void lin_pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	lin_pack_cstr(pk, k);
	lin_pack_cstr(pk, v);
}

void lin_pack_kv_i64(msgpack_packer *pk, const char *k, int64_t v)
{
	lin_pack_cstr(pk, k);
	msgpack_pack_int64(pk, v);
}

static int obj_u64(const msgpack_object *o, uint64_t *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*out = o->via.u64;
		return 0;
	}
	return -1;
}

int lin_obj_i64(const msgpack_object *o, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= (uint64_t)INT64_MAX)
		*out = (int64_t)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = o->via.i64;
	else
		return -1;
	return 0;
}

static int obj_time(const msgpack_object *o, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_NIL) {
		*out = LIN_TIME_NONE;
		return 0;
	}
	return lin_obj_i64(o, out);
}

static int obj_slice(const msgpack_object *o, struct lin_slice *s)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return -1;
	s->p = o->via.str.ptr;
	s->n = o->via.str.size;
	return 0;
}

static int obj_array(const msgpack_object *o, msgpack_object_array *a)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	*a = o->via.array;
	return 0;
}

int lin_fact_decode(const void *p, size_t n, msgpack_zone *zone,
		    struct lin_fact *f)
{
	msgpack_object root;
	const msgpack_object *e;
	uint64_t kind;
	int bad = 0;

	memset(f, 0, sizeof *f);
	f->explicit_ver = -1;
	f->time = LIN_TIME_NONE;
	if (msgpack_unpack(p, n, NULL, zone, &root) != MSGPACK_UNPACK_SUCCESS
	    || root.type != MSGPACK_OBJECT_ARRAY || root.via.array.size < 4)
		return -1;
	lin_attrs_decode(&root);
	e = root.via.array.ptr;
	if (obj_u64(&e[0], &kind) || obj_u64(&e[1], &f->run) ||
	    obj_u64(&e[2], &f->pos))
		return -1;
	f->kind = (int)kind;
	switch (f->kind) {
	case 1: /* RUN */
		f->attrs = e[3];
		return 0;
	case 2: /* LOG */
		if (root.via.array.size != 10)
			return -1;
		bad |= obj_time(&e[3], &f->time) | obj_u64(&e[4], &f->vid) |
		       obj_u64(&e[5], &f->coll) | obj_slice(&e[6], &f->digest) |
		       obj_array(&e[8], &f->aliases);
		if (e[7].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			f->explicit_ver = (int64_t)e[7].via.u64;
		f->attrs = e[9];
		return bad ? -1 : 0;
	case 3: /* USE */
		if (root.via.array.size != 7)
			return -1;
		bad |= obj_time(&e[3], &f->time) | obj_u64(&e[4], &f->coll) |
		       obj_slice(&e[5], &f->sel);
		f->attrs = e[6];
		return bad ? -1 : 0;
	case 4: /* ALIAS */
		if (root.via.array.size != 8)
			return -1;
		bad |= obj_time(&e[3], &f->time) | obj_u64(&e[4], &f->coll) |
		       obj_slice(&e[5], &f->sel) | obj_array(&e[6], &f->add) |
		       obj_array(&e[7], &f->remove);
		return bad ? -1 : 0;
	case 5: /* FINISH */
		if (root.via.array.size != 5)
			return -1;
		bad |= obj_time(&e[3], &f->time);
		f->attrs = e[4];
		return bad ? -1 : 0;
	}
	return -1;
}

int lin_val_map(const void *p, size_t n, msgpack_zone *zone,
		msgpack_object *out)
{
	if (lin_mp_check(p, n) ||
	    msgpack_unpack(p, n, NULL, zone, out) != MSGPACK_UNPACK_SUCCESS ||
	    out->type != MSGPACK_OBJECT_MAP)
		return LIN_ECORRUPT;
	lin_attrs_decode(out);
	return 0;
}

int lin_store_fact(MDB_txn *txn, const struct lin_store *s, uint64_t id,
		   msgpack_zone *zone, struct lin_fact *f,
		   struct lin_err *err)
{
	unsigned char k[8];
	MDB_val v;
	int rc = lin_store_get(txn, s, LIN_DB_FACTS, k, lin_key_id(k, id), &v,
			       err);

	if (rc)
		return rc;
	if (lin_mp_check(v.mv_data, v.mv_size) ||
	    lin_fact_decode(v.mv_data, v.mv_size, zone, f))
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "fact %016llx is not a valid fact",
				   (unsigned long long)id);
	f->id = id;
	return 0;
}

const msgpack_object *lin_map_get(const msgpack_object *map, const char *key)
{
	size_t kn = strlen(key);

	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kn &&
		    memcmp(k->via.str.ptr, key, kn) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

int lin_map_str(const msgpack_object *map, const char *key,
		struct lin_slice *out)
{
	const msgpack_object *v = lin_map_get(map, key);
	return v && obj_slice(v, out) == 0;
}

int lin_map_i64(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *v = lin_map_get(map, key);
	return v && v->type != MSGPACK_OBJECT_NIL && obj_time(v, out) == 0;
}

int lin_slice_cmp(struct lin_slice a, struct lin_slice b)
{
	size_t n = a.n < b.n ? a.n : b.n;
	int c = n ? memcmp(a.p, b.p, n) : 0;
	if (c)
		return c;
	return a.n < b.n ? -1 : a.n > b.n;
}

int lin_slice_eq_cstr(struct lin_slice a, const char *s)
{
	size_t n = strlen(s);
	return a.n == n && memcmp(a.p, s, n) == 0;
}

struct lin_slice lin_slice_of(const msgpack_object *o)
{
	struct lin_slice s = { NULL, 0 };

	if (o->type == MSGPACK_OBJECT_STR) {
		s.p = o->via.str.size ? o->via.str.ptr : "";
		s.n = o->via.str.size;
	}
	return s;
}
