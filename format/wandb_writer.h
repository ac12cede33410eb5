/* wandb_writer.h - writes .wandb transaction logs (header, LevelDB-style
 * block framing, protobuf Records) for fixtures, tests and benchmarks,
 * including deliberately damaged ones. */
#ifndef LIN_WANDB_WRITER_H
#define LIN_WANDB_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"

/* Chunk types of the framing (LevelDB log format). */
enum {
	LIN_WANDB_FULL = 1,
	LIN_WANDB_FIRST = 2,
	LIN_WANDB_MIDDLE = 3,
	LIN_WANDB_LAST = 4
};

#define LIN_WANDB_HEADER_LEN 7  /* ":W&B", u16 LE 0xBEE1, u8 version */
#define LIN_WANDB_CHUNK_HEADER 7 /* u32 crc, u16 length, u8 type */

/* Record field numbers (wandb_internal.proto) the writer can produce. */
enum {
	LIN_WANDB_F_HISTORY = 2, LIN_WANDB_F_SUMMARY = 3,
	LIN_WANDB_F_CONFIG = 5, LIN_WANDB_F_FILES = 6, LIN_WANDB_F_STATS = 7,
	LIN_WANDB_F_ARTIFACT = 8, LIN_WANDB_F_TELEMETRY = 11,
	LIN_WANDB_F_RUN = 17, LIN_WANDB_F_EXIT = 18, LIN_WANDB_F_FINAL = 20,
	LIN_WANDB_F_HEADER = 21, LIN_WANDB_F_FOOTER = 22,
	LIN_WANDB_F_USE_ARTIFACT = 25
};

/* The checksum of a chunk: crc32 of the type byte, continued over the
 * data (not masked: that is what W&B writes). */
uint32_t lin_wandb_chunk_crc(unsigned type, const void *data, size_t len);

/* One manifest entry of an artifact. */
struct lin_wandb_entry {
	const char *path;
	const char *digest;
	int64_t size;
};

/* An ArtifactRecord. NULL/empty strings are left out. */
struct lin_wandb_artifact {
	const char *run_id;
	const char *entity;
	const char *project;
	const char *type;
	const char *name;          /* collection name */
	const char *digest;
	const char *description;
	const char *metadata_json; /* JSON text, as W&B stores it */
	const char *const *aliases;
	size_t naliases;
	const struct lin_wandb_entry *entries;  /* the manifest contents */
	size_t nentries;
	int manifest;              /* non-zero: write a manifest (even empty) */
};

struct lin_wandb_writer;

/* Start a .wandb file on `fp` (not closed by the writer) and write the
 * 7-byte header. The stream must be at offset 0: blocks are counted from
 * the start of the file. Errors: LIN_ENOMEM, LIN_EIO. */
int lin_wandb_writer_open(struct lin_wandb_writer **out, FILE *fp);

/* Offset in the file where the next record or chunk starts (after any
 * block padding that it would need). */
uint64_t lin_wandb_writer_offset(const struct lin_wandb_writer *w);

/* Frame one encoded Record: FULL when it fits in the current block, else
 * FIRST, MIDDLE..., LAST; pads a block end too short for a chunk header
 * with zeros. Every write function returns 0, LIN_EIO or LIN_ENOMEM. */
int lin_wandb_write_record(struct lin_wandb_writer *w, const void *pb,
			   size_t n);

/* Like lin_wandb_write_record, but stop after `keep` bytes of the framed
 * output (padding and chunk headers included), as a writer that died
 * mid-record would. */
int lin_wandb_write_record_cut(struct lin_wandb_writer *w, const void *pb,
			       size_t n, size_t keep);

/* RunRecord from a record's RUN fields: run_id, entity, project, name
 * (display_name), job_type, group (run_group), notes, tags, host,
 * started_at (start_time, when not LIN_TIME_NONE). */
int lin_wandb_write_run(struct lin_wandb_writer *w,
			const struct lin_record *run);

int lin_wandb_write_artifact(struct lin_wandb_writer *w,
			     const struct lin_wandb_artifact *a);

/* UseArtifactRecord: W&B's artifact id, type, "collection:vN". */
int lin_wandb_write_use(struct lin_wandb_writer *w, const char *id,
			const char *type, const char *name);

/* RunExitRecord. `runtime` seconds; 0 is left out, as proto3 does. */
int lin_wandb_write_exit(struct lin_wandb_writer *w, int32_t exit_code,
			 int32_t runtime);

/* A record of kind `field` (e.g. LIN_WANDB_F_HISTORY) whose encoding is
 * exactly `size` bytes: a nested message of filler bytes. `size` must be
 * at least lin_pb_tag_len(field) + 1. Errors also: LIN_EINVAL. */
int lin_wandb_write_filler(struct lin_wandb_writer *w, unsigned field,
			   size_t size);

/* ---- damage hooks ---------------------------------------------------- */

#define LIN_WANDB_BAD_CRC 1u   /* flip the checksum's bits */

/* One chunk of any type (0..255) holding `len` data bytes, after padding
 * a too-short block end as usual. LIN_EINVAL when it does not fit in the
 * rest of the block. */
int lin_wandb_write_chunk(struct lin_wandb_writer *w, unsigned type,
			  const void *data, size_t len, unsigned flags);

/* A chunk header with any length and checksum, no data, no padding. */
int lin_wandb_write_chunk_header(struct lin_wandb_writer *w, uint32_t crc,
				 uint16_t len, uint8_t type);

/* Raw bytes as they are. */
int lin_wandb_write_raw(struct lin_wandb_writer *w, const void *p,
			size_t n);

/* Zeros up to the end of the current block (a preallocated area). */
int lin_wandb_write_zero_block(struct lin_wandb_writer *w);

/* Flush the stream and free the writer. LIN_EIO when any write failed. */
int lin_wandb_writer_close(struct lin_wandb_writer *w);

#endif
