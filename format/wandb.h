/* wandb.h - reader for Weights & Biases .wandb transaction logs:
 * LevelDB-style log framing over protobuf Record messages. */
#ifndef LIN_WANDB_H
#define LIN_WANDB_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "record.h"
#include "stream.h"

#define LIN_WANDB_BLOCK 32768

/* Non-zero when the first bytes (at least 7) are a .wandb header. */
int lin_wandb_sniff(const void *head, size_t n);

struct lin_wandb;

/* Open `path`, check the header. `fallback_run_id` (may be NULL) is used
 * when the file holds no RunRecord (W&B folder name's run id).
 * Errors: LIN_EIO, LIN_EFORMAT (no :W&B header), LIN_EVERSION, LIN_ENOMEM.
 * Free with lin_wandb_close(). */
int lin_wandb_open(struct lin_wandb **out, const char *path,
		   const char *fallback_run_id, struct lin_err *err);

/* The same over a stream (an archive member) read once, in order;
 * `name` is what errors call it. `src` is copied; its context must
 * outlive the reader. A failing read is LIN_EIO with its message. */
int lin_wandb_open_stream(struct lin_wandb **out, const char *name,
			  const char *fallback_run_id,
			  const struct lin_stream *src, struct lin_err *err);

/* Read the next lineage record (run, log, use, finish) into `rec`;
 * strings borrow from the reader until the next call. Records of kinds
 * without lineage are skipped undecoded. Returns 1 with a record, 0 at the
 * end, LIN_EDAMAGE when damage was skipped (bad checksum, bad length,
 * broken chunk sequence: err has the offset; the next call resumes at the
 * next block), LIN_ETRUNC when the file ends inside a record (a run still
 * writing, or one that crashed: err has the record's start; the next call
 * returns 0), LIN_ERECORD for one undecodable record (skipped), or a fatal
 * LIN_EIO/LIN_ENOMEM.
 * err->offset of LIN_EDAMAGE: the bad chunk for a bad checksum, length or
 * type (the rest of its block is skipped) and for a MIDDLE/LAST without a
 * FIRST (that chunk is dropped); the start of the record for a record
 * left unfinished by a FULL/FIRST chunk (which is then read normally), cut
 * by zeros, or over the size limit; LIN_ETRUNC's is the start of the
 * record cut by the end of the file. A
 * record's `offset` is that of its first chunk header. */
int lin_wandb_next(struct lin_wandb *w, struct lin_record *rec,
		   struct lin_err *err);

/* Bytes of the file consumed so far. */
uint64_t lin_wandb_bytes(const struct lin_wandb *w);

/* Records (of any kind) read whole so far, lineage or not. */
uint64_t lin_wandb_records(const struct lin_wandb *w);

/* Largest record the reader reassembles from FIRST/MIDDLE/LAST chunks
 * (memory bound); a longer lineage record is reported as LIN_EDAMAGE and
 * skipped. Records of other kinds are skipped without being buffered,
 * whatever their size. Default LIN_WANDB_MAX_RECORD; 0 restores it. */
#ifdef LIN_FUZZ_LIMITS
#define LIN_WANDB_MAX_RECORD (1u << 20)  /* fuzz builds: small and fast */
#else
#define LIN_WANDB_MAX_RECORD (64u << 20)
#endif
void lin_wandb_set_max_record(struct lin_wandb *w, size_t bytes);

void lin_wandb_close(struct lin_wandb *w);

#endif
