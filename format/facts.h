/* facts.h - encoding and decoding of facts and node attribute maps
 * (the MessagePack layouts listed in format/schema.h). */
#ifndef LIN_FACTS_H
#define LIN_FACTS_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "format/record.h"
#include "format/store.h"

/* A borrowed string slice (not NUL-terminated). */
struct lin_slice {
	const char *p;
	size_t n;
};

/* The string `o` holds, borrowed; {NULL, 0} when it is not a string.
 * An empty string keeps a non-NULL pointer, so it reads as present. */
struct lin_slice lin_slice_of(const msgpack_object *o);

/* A decoded fact; slices and objects borrow from the zone and the value
 * it was decoded from. Fields that the kind lacks are zero/NONE. */
struct lin_fact {
	int kind;
	uint64_t id;
	uint64_t run;
	uint64_t pos;
	int64_t time;           /* LIN_TIME_NONE when the record had none */
	uint64_t vid;           /* LOG */
	uint64_t coll;          /* LOG, USE, ALIAS */
	struct lin_slice digest;/* LOG */
	struct lin_slice sel;   /* USE, ALIAS: selector */
	int64_t explicit_ver;   /* LOG: -1 when none */
	msgpack_object_array aliases; /* LOG */
	msgpack_object_array add, remove; /* ALIAS */
	msgpack_object attrs;   /* RUN, LOG, USE, FINISH: a map (or nil) */
};

/* A reusable packing buffer. */
struct lin_packer {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

void lin_packer_init(struct lin_packer *p);
void lin_packer_reset(struct lin_packer *p);
void lin_packer_release(struct lin_packer *p);

/* Pack helpers: a NUL-terminated string, a slice, a time (nil when
 * LIN_TIME_NONE), a string array. */
void lin_pack_cstr(msgpack_packer *pk, const char *s);
void lin_pack_slice(msgpack_packer *pk, struct lin_slice s);
void lin_pack_time(msgpack_packer *pk, int64_t t);
void lin_pack_strv(msgpack_packer *pk, struct lin_strv v);
/* "key": value pairs for optional values; each returns 1 when it packed
 * (so callers can count map entries first with the same predicates). */
void lin_pack_kv_str(msgpack_packer *pk, const char *k, const char *v);
void lin_pack_kv_i64(msgpack_packer *pk, const char *k, int64_t v);

/* Decode a fact value of `n` bytes into `f`, using `zone` for storage.
 * Returns 0, or -1 when the bytes are not a valid fact. */
int lin_fact_decode(const void *p, size_t n, msgpack_zone *zone,
		    struct lin_fact *f);

/* Decode a stored map value (node, coll_info, source) of `n` bytes into
 * `out`, storage from `zone`: 0, or LIN_ECORRUPT when it is not one
 * bounded (lin_mp_check) MessagePack map. */
int lin_val_map(const void *p, size_t n, msgpack_zone *zone,
		msgpack_object *out);

/* Read fact `id` from the store and decode it into `f` (storage from
 * `zone`, and the value: valid until the zone is cleared or the
 * transaction ends). LIN_ENOTFOUND; LIN_ECORRUPT (the value is not a
 * fact, named in err); LIN_ESTORE. The read path's one fact decoder: the
 * indexer wrote the value with the packers above. */
int lin_store_fact(MDB_txn *txn, const struct lin_store *s, uint64_t id,
		   msgpack_zone *zone, struct lin_fact *f,
		   struct lin_err *err);

/* The one reader of stored integers: 0 and *out set when `o` is an
 * integer that fits in int64, else -1. */
int lin_obj_i64(const msgpack_object *o, int64_t *out);

/* Look up `key` in a msgpack map object; NULL when absent or not a map. */
const msgpack_object *lin_map_get(const msgpack_object *map, const char *key);

/* Accessors on optional map entries: return 1 and fill *out when the key
 * is present with the right type. */
int lin_map_str(const msgpack_object *map, const char *key,
		struct lin_slice *out);
int lin_map_i64(const msgpack_object *map, const char *key, int64_t *out);

/* Compare slices like strcmp. */
int lin_slice_cmp(struct lin_slice a, struct lin_slice b);
int lin_slice_eq_cstr(struct lin_slice a, const char *s);

#endif
