/* core.h - the compact node record of `node_core` (schema 4): what walks
 * and listings print of a run or version, encoded from the node's
 * attribute map and decoded by pointer arithmetic (core.c). STORE.md,
 * "Node core", gives the byte layout. */
#ifndef LIN_FORMAT_CORE_H
#define LIN_FORMAT_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "format/facts.h"
#include "format/store.h"

#define LIN_CORE_V1 0x10u       /* record version, in the high nibble of
				   byte 0; the node's id kind is the low */
#define LIN_CORE_FULL 0x01u     /* flag: the attributes do not fit the
				   core exactly (a value of an unexpected
				   type, a node that does not decode):
				   readers load the node from `nodes` */
#define LIN_CORE_TIME 0x02u     /* flag: the time field is present */
#define LIN_CORE_ALIASES 0x04u  /* flag: version: `aliases` is a list */
#define LIN_CORE_HEAD 7         /* bytes before the time and strings */

/* Run states held as a code in the header (byte 2); other states are a
 * string after the others (code LIN_CORE_STATE_STR), none is 0. */
#define LIN_CORE_STATE_NONE 0u
#define LIN_CORE_STATE_STR 0xffu

/* A decoded core record. Slices point into the value (valid until the
 * transaction ends); p == NULL is an absent attribute. */
struct lin_core {
	unsigned kind;       /* LIN_ID_RUN or LIN_ID_VERSION */
	unsigned flags;      /* LIN_CORE_* */
	uint32_t version;    /* version: N of vN */
	int64_t time;        /* started_at / created_at, with LIN_CORE_TIME */
	struct lin_slice entity, project;
	struct lin_slice name;      /* collection name / run display name */
	struct lin_slice run_id, job_type, state, git_commit;  /* run */
	struct lin_slice type;      /* version */
	uint32_t naliases;          /* version, with LIN_CORE_ALIASES */
	const unsigned char *aliases, *end;  /* lin_core_alias_next */
};

/* Reusable encoder state: a msgpack zone and the output buffer. Zeroed
 * memory is a valid empty encoder; lin_core_enc_release frees it. */
struct lin_core_enc {
	msgpack_zone *zone;
	unsigned char *buf;
	size_t n, cap;
};

void lin_core_enc_release(struct lin_core_enc *e);

/* Encode the core record of node `id` from its `nodes` value (`mp`, `n`
 * bytes) into e->buf (e->n bytes, valid until the next call). A value
 * the query tool's node decoder would refuse, or one it would read
 * differently from the core, gives a record with LIN_CORE_FULL. Returns
 * 0 or LIN_ENOMEM. */
int lin_core_encode(struct lin_core_enc *e, uint64_t id, const void *mp,
		    size_t n);

/* Decode a core record of `n` bytes: 0, or LIN_ECORRUPT when the bytes
 * are not one whole record (every string inside the value). */
int lin_core_decode(const void *p, size_t n, struct lin_core *c);

/* The next alias of a decoded record: 1 and *s set, 0 after the last.
 * Start with *at = c->aliases. */
int lin_core_alias_next(const struct lin_core *c, const unsigned char **at,
			struct lin_slice *s);

/* Read the core record of node `id`: 0 and *c set; LIN_ENOTFOUND when
 * the store holds none; LIN_ECORRUPT (named in err) when it does not
 * decode or names the other kind of node; LIN_ESTORE. */
int lin_core_get(MDB_txn *txn, const struct lin_store *s, uint64_t id,
		 struct lin_core *c, struct lin_err *err);

/* Called by lin_core_check with each node whose core record disagrees
 * with its attributes, and each core record without a node. */
typedef void lin_core_report_fn(void *ctx, uint64_t id, const char *what);

/* Compare `node_core` with `nodes` in one pass over both (key order):
 * every node has a core record equal to lin_core_encode of its value,
 * and no core record lacks its node. Keys that are not 8 bytes are
 * reported with id 0. Returns 0 (also when it reported), LIN_ENOMEM or
 * LIN_ESTORE. */
int lin_core_check(MDB_txn *txn, const struct lin_store *s,
		   lin_core_report_fn *report, void *ctx,
		   struct lin_err *err);

#endif
