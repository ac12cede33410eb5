/* keys.h - the codec of every key and fixed-size value of the store.
 *
 * schema.h says what the bytes are; this module is the one place that
 * writes and reads them, so the indexer (write path) and the query tool
 * (read path) cannot disagree. Builders return the key length, or 0
 * when the key would not fit in the `n` bytes given (a name longer
 * than the store accepts: no such key can exist). */
#ifndef LIN_KEYS_H
#define LIN_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "schema.h"

/* An id (node, collection or fact) as a key or value: u64 big-endian. */
size_t lin_key_id(unsigned char out[8], uint64_t id);

/* A source id (source_ids key): u32 big-endian. */
size_t lin_key_src(unsigned char out[4], uint32_t src);

/* The first fact key of source `src` (fact ids are src << 32 | seq, so
 * a source's facts are one range starting here). */
size_t lin_key_src_facts(unsigned char out[8], uint32_t src);

/* The source a fact id belongs to. */
static inline uint32_t lin_fact_src(uint64_t fact)
{
	return (uint32_t)(fact >> 32);
}

/* coll_ver key: coll . number. */
size_t lin_key_coll_num(unsigned char out[12], uint64_t coll,
			uint32_t number);

/* coll . bytes: the key of coll_dig (bytes: digest) and alias_tl
 * (bytes: alias name), and the prefix of a collection's or a name's
 * entries in use_sel and alias_ev (with `zero`, a 0 byte after the
 * bytes). 0 when it does not fit in `n`. */
size_t lin_key_coll_bytes(unsigned char *out, size_t n, uint64_t coll,
			  const void *b, size_t bn, int zero);

/* use_sel and alias_ev key: coll . name . 0 . tkey . fact, where tkey
 * is a lin_time_key. 0 when it does not fit in `n`. */
size_t lin_key_coll_event(unsigned char *out, size_t n, uint64_t coll,
			  const void *name, size_t nl, uint64_t tkey,
			  uint64_t fact);

/* server_ids key: id . 0 . kind u8 . fact id u64 (kind LIN_FACT_LOG
 * or LIN_FACT_USE). The first `sn` + 2 bytes are the prefix of every
 * entry of that id and kind. 0 when the id is empty, longer than
 * LIN_MAX_SERVER_ID or does not fit in `n`. */
size_t lin_key_server_id(unsigned char *out, size_t n, const void *sid,
			 size_t sn, unsigned kind, uint64_t fact);

/* The parts of server_ids key k[0..kn): the id's length *sn, *kind and
 * *fact. -1 (nothing set) when it is not shaped as one: shorter than a
 * one-byte id, or no 0 after the id. The kind is not checked. */
int lin_key_server_id_split(const void *k, size_t kn, size_t *sn,
			    unsigned *kind, uint64_t *fact);

/* Room for the longest key any builder here makes. */
#define LIN_KEY_BUF (8 + LIN_MAX_KEY + 2 + 16)

/* a run's or collection's full name: "a/b/c" (entity/project/run_id or name) into
 * `out` (NUL-terminated). Returns the length without the NUL, or -1
 * when it is longer than LIN_MAX_KEY or `n` - 1. */
int lin_key_path(char *out, size_t n, const char *a, const char *b,
		 const char *c);

/* FNV-1a of `n` bytes at `p`, continuing from `h` (start with
 * LIN_FNV_OFFSET): the hash of long source keys, also used for
 * in-memory digests and name-derived ids. */
#define LIN_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t lin_fnv1a(uint64_t h, const void *p, size_t n);

/* sources key of file `path` into `out` (LIN_SOURCE_KEY bytes at
 * most, not NUL-terminated): the path, or for a path over 500 bytes
 * its first 480 bytes, '#' and 16 hex digits of an FNV-1a hash of the
 * whole path (LMDB keys are at most 511 bytes). Returns the length. */
#define LIN_SOURCE_KEY 497
size_t lin_key_source(char *out, const char *path);

/* lin_key_path from three slices of the given lengths. */
int lin_key_path_n(char *out, size_t n, const char *a, size_t an,
		   const char *b, size_t bn, const char *c, size_t cn);

/* names key: tag . name . 0 . scope ("entity/project" for C and R,
 * "entity/project/run_id" for N); 0 when it does not fit in `n` or in
 * LIN_MAX_NAME_KEY bytes. With an empty scope it is the prefix of every
 * entry for the name. */
size_t lin_key_name(unsigned char *out, size_t n, int tag, const char *name,
		    size_t name_len, const char *scope, size_t scope_len);

/* An 8-byte id value. LIN_ECORRUPT (naming `what`) when the value is
 * not 8 bytes. */
int lin_val_id(const void *v, size_t n, uint64_t *id, const char *what,
	       struct lin_err *err);

/* A meta u64 value (LIN_META_SEQ_*): 8 bytes big-endian. */
void lin_val_u64_put(unsigned char out[8], uint64_t v);

/* coll_ver value: version node id . time key of its first log. */
#define LIN_COLL_VER_SIZE 16
void lin_val_coll_ver_put(unsigned char out[16], uint64_t vid,
			  uint64_t tkey);
/* LIN_ECORRUPT when the value is not 16 bytes. */
int lin_val_coll_ver(const void *v, size_t n, uint64_t *vid, uint64_t *tkey,
		     struct lin_err *err);

/* A decoded coll_ver entry. */
struct lin_ver {
	uint64_t coll;
	uint32_t number;
	uint64_t vid;
	uint64_t tkey;   /* time key of its first log (schema.h) */
};

/* node_facts value: kind u8 . fact id u64. */
#define LIN_NODE_FACT_SIZE 9
void lin_val_node_fact_put(unsigned char out[9], unsigned kind,
			   uint64_t fact);
/* LIN_ECORRUPT when the value is not 9 bytes. */
int lin_val_node_fact(const void *v, size_t n, unsigned *kind,
		      uint64_t *fact, struct lin_err *err);

/* alias_tl timeline entry (16 bytes): time key . version id (0: alias
 * removed). */
#define LIN_TL_ENTRY 16
void lin_tl_entry_put(unsigned char out[16], uint64_t tkey, uint64_t vid);
void lin_tl_entry(const void *tl, size_t i, uint64_t *tkey, uint64_t *vid);

#endif
