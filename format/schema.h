/* schema.h - the store's byte layout, written as a specification.
 *
 * The store is one LMDB environment (MDB_NOSUBDIR: a single file plus its
 * "-lock" file) holding the named databases below. STORE.md explains the
 * design; this header is the normative list.
 *
 * Conventions
 *  - Integers in keys are big-endian so byte order == numeric order.
 *  - Ids are u64. The low byte says what an id names (LIN_ID_*), the high
 *    56 bits are a sequence number: runs and versions share meta
 *    "seq.node" (schema 5), so the versions a run logged get the ids
 *    right after the run's and sit on the same pages of `node_core`,
 *    `nodes` and `edges`; collections count in "seq.coll".
 *  - Times in keys are signed ns since the epoch stored as u64 with the
 *    sign bit flipped (lin_time_key), so they sort in time order.
 *  - Values with attributes are one MessagePack map (attribute names
 *    below). Unknown attributes must be ignored by readers. In the
 *    values of sources, facts (their attribute maps), nodes and
 *    coll_info, a name of format/attrs.c's table is stored as its code,
 *    a positive fixint, instead of its string (schema 6); decoders give
 *    the string back.
 *
 * Database        key                                  value
 * --------------  -----------------------------------  --------------------
 * meta            ascii name                           see LIN_META_*
 * sources         file path (as given, no NUL)         msgpack map, source
 * source_ids      src id u32                           file path
 * facts           fact id u64 = src<<32 | seq          msgpack array, fact
 * nodes           node id u64                          msgpack map, node
 * coll_info       coll id u64                          msgpack map, coll
 * coll_ver        coll id u64 . number u32             vid u64 . tkey u64
 * coll_dig        coll id u64 . digest bytes           version node id u64
 * node_facts      node id u64 (DUPSORT, DUPFIXED)      kind u8 . fact id u64
 * edges           node id u64 (DUPSORT, DUPFIXED)      edge, 17 bytes
 * use_sel         coll u64 . selector . 0 . time . fact    (empty)
 * use_res         use fact id u64                      version node id u64
 * pending         use fact id u64                      (empty)
 * alias_ev        coll u64 . alias . 0 . time . fact   (empty)
 * alias_tl        coll u64 . alias                     timeline entries
 * names           tag . name . 0 . scope               id u64
 *                 (R: a run by id, C: a collection, N: a run by its
 *                 display name; runs and collections have no other
 *                 index by name since schema 7: format/view.h)
 * server_ids      server id . 0 . kind u8 . fact id u64  LOG: version id u64;
 *                                                      USE: (empty)
 * node_core       node id u64                          core record (core.h)
 *
 * edge value: kind u8 . other node id u64 . fact id u64. Kinds are
 * numbered so that each direction is one contiguous range:
 *   down (towards consumers/descendants): LOGGED (run -> version it
 *   produced), USED_BY (version -> run that used it), RELOGGED (run ->
 *   version whose digest another run logged first);
 *   up (towards producers/ancestors): LOGGED_BY (version -> its
 *   producer), USES (run -> version it used), RELOGGED_BY (version ->
 *   a run that re-logged it).
 * The producer of a version is the run of its first log fact (time, then
 * source path, then position); every log fact of that run gives LOGGED /
 * LOGGED_BY, a log fact of any other run RELOGGED / RELOGGED_BY.
 * coll_ver value: the version node id, then the time key of its first
 * log (so "latest at time t" is a backward scan without node reads).
 * names: a lookup of bare names. Tags: 'C' collection name, scope
 * "entity/project", value coll id; 'R' run id, scope "entity/project",
 * value run node; 'N' run display name, scope "entity/project/run_id",
 * value run node. A prefix scan of tag . name . 0 lists every match.
 * timeline entry: time key u64 . version node id u64 (0: alias removed),
 * 16 bytes each, in time order; the alias names at time t the vid of the
 * last entry whose time <= t.
 * node_core: a compact record of what walks print of a node (format/core.h,
 * STORE.md "Node core"), equal to lin_core_encode of its `nodes` value:
 * written and deleted with the node, never alone.
 * One edge per fact: a run that used a version twice has two entries with
 * the same kind and other id (adjacent, since values are sorted).
 * server_ids: W&B's id of a version (a LOG fact's `server_id`, from an
 * export) and of what a use names (a USE fact's `server_id`, from an
 * online .wandb log); kind is LIN_FACT_LOG or LIN_FACT_USE. A prefix scan
 * of id . 0 . LOG lists the versions that carry the id, one of id . 0 .
 * USE the uses to resolve again when those change. Ids hold no NUL
 * (every string read from a log is checked), so id . 0 is a prefix of
 * that id's entries only.
 */
#ifndef LIN_SCHEMA_H
#define LIN_SCHEMA_H

#include <stdint.h>
#include <string.h>

#define LIN_SCHEMA_VERSION 7

/* Limits on names stored in keys. A record naming something longer is
 * refused by the indexer (LIN_ERECORD), so readers treat a longer name
 * as one the store cannot hold. */
#define LIN_MAX_KEY 480       /* "entity/project/name" of a run or a
				 collection (the scope and name of its
				 names entry, joined) and
				 a digest or selector after a coll id */
#define LIN_MAX_ALIAS 200     /* an alias name, or a selector in a list */
#define LIN_MAX_SERVER_ID 200 /* a W&B server id (server_id); W&B's are
				 base64 of "Artifact:<number>", about 30 */
#define LIN_MAX_NAME_KEY 511  /* a whole names key (tag . name . 0 .
				 scope); longer names are not indexed */

/* id kinds, in the low byte (schema 5; the top byte until schema 4) */
#define LIN_ID_RUN     0x01u
#define LIN_ID_VERSION 0x02u
#define LIN_ID_COLL    0x03u
#define LIN_ID_KIND(id) ((unsigned)((id) & 0xffu))
#define LIN_ID_MAKE(kind, seq) (((uint64_t)(seq) << 8) | (kind))
#define LIN_ID_SEQ_MAX ((UINT64_C(1) << 56) - 1)

/* edge kinds */
#define LIN_EDGE_LOGGED    0x10u  /* down: run -> version it produced */
#define LIN_EDGE_USED_BY   0x11u  /* down: version -> run */
#define LIN_EDGE_RELOGGED  0x12u  /* down: run -> version it re-logged */
#define LIN_EDGE_LOGGED_BY 0x20u  /* up:   version -> its producer run */
#define LIN_EDGE_USES      0x21u  /* up:   run -> version */
#define LIN_EDGE_RELOGGED_BY 0x22u /* up:  version -> a re-logging run */
#define LIN_EDGE_DOWN_FIRST 0x10u
#define LIN_EDGE_DOWN_LAST  0x1fu
#define LIN_EDGE_UP_FIRST   0x20u
#define LIN_EDGE_UP_LAST    0x2fu
#define LIN_EDGE_SIZE 17

/* meta keys */
#define LIN_META_SCHEMA "schema"      /* u32: LIN_SCHEMA_VERSION */
#define LIN_META_CREATED "created_at" /* i64 ns */
#define LIN_META_SEQ_NODE "seq.node"  /* u64: last run or version seq */
#define LIN_META_SEQ_COLL "seq.coll"
#define LIN_META_SEQ_SRC "seq.source" /* u32 */
#define LIN_META_DEFAULTS "defaults"  /* msgpack {entity, project} last used */
/* Counters (schema 3), u64 each, written in the transaction of the
 * writes they count (absent: 0): */
#define LIN_META_COUNT_RUNS "count.runs"         /* run nodes */
#define LIN_META_COUNT_VERSIONS "count.versions" /* version nodes */
#define LIN_META_COUNT_LOGGED "count.logged"     /* LOGGED + RELOGGED
						    edges */
#define LIN_META_COUNT_USED "count.used"         /* USES edges */

/* Fact kinds (first element of a fact array). Layouts, all msgpack:
 * RUN:    [1, run, pos, attrs-map]         attrs as given by the record
 * LOG:    [2, run, pos, time, version, coll, digest, explicit|nil,
 *          aliases[], attrs-map]
 * USE:    [3, run, pos, time, coll, selector, attrs-map]
 * ALIAS:  [4, 0, pos, time, coll, selector, add[], remove[]]
 * FINISH: [5, run, pos, time, attrs-map]
 * run/version/coll are ids; pos is the record's byte offset in its file;
 * time is i64 ns or nil. */
#define LIN_FACT_RUN 1
#define LIN_FACT_LOG 2
#define LIN_FACT_USE 3
#define LIN_FACT_ALIAS 4
#define LIN_FACT_FINISH 5

/* Node attribute names (nodes database).
 * run:      kind="run", entity, project, run_id, name, job_type, group,
 *           host, notes, tags[], started_at, state, exit_code, ended_at
 * version:  kind="artifact", entity, project, name (collection), coll
 *           (coll id), type, version (N of vN), digest, aliases[] (current,
 *           "latest" included), size, files, description, metadata,
 *           created_at (first logged), server_id (W&B's id, from the
 *           first log that has one), first [time, path, pos]
 * coll_info: entity, project, name, type, count (highest number + 1),
 *           explicit (1 when a version states its number; absent: 0), last
 *           ([time, path, pos] of the highest-numbered version)
 * source:   id, format ("runlog"|"wandb"), size, mtime (ns), ino, crc,
 *           indexed_at (ns), records, facts, skipped, warnings
 * Times are i64 ns since the epoch, UTC. */

/* One load or store and a byte swap (the byte loops they replace were
 * compiled as loops: 9% of a hub walk's instructions went to decoding
 * edges). */
static inline uint64_t lin_be64_of_host(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return v;
#else
	return __builtin_bswap64(v);
#endif
}

static inline void lin_be64_put(unsigned char *p, uint64_t v)
{
	v = lin_be64_of_host(v);
	memcpy(p, &v, 8);
}

static inline uint64_t lin_be64_get(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return lin_be64_of_host(v);
}

static inline void lin_be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline uint32_t lin_be32_get(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Signed time -> order-preserving unsigned key. */
static inline uint64_t lin_time_key(int64_t t)
{
	return (uint64_t)t ^ 0x8000000000000000ull;
}

static inline int64_t lin_time_unkey(uint64_t k)
{
	return (int64_t)(k ^ 0x8000000000000000ull);
}

/* Decoded edge value. */
struct lin_edge {
	unsigned kind;
	uint64_t other;
	uint64_t fact;
};

static inline void lin_edge_decode(const void *v, struct lin_edge *e)
{
	const unsigned char *p = v;
	e->kind = p[0];
	e->other = lin_be64_get(p + 1);
	e->fact = lin_be64_get(p + 9);
}

static inline void lin_edge_encode(unsigned char *p, const struct lin_edge *e)
{
	p[0] = (unsigned char)e->kind;
	lin_be64_put(p + 1, e->other);
	lin_be64_put(p + 9, e->fact);
}

#endif
