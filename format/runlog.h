/* runlog.h - streaming reader for runlog v1 files (FORMAT.md):
 * concatenated MessagePack objects, optionally gzip. The writer is
 * runlog_writer.h. */
#ifndef LIN_RUNLOG_H
#define LIN_RUNLOG_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "record.h"
#include "stream.h"

#define LIN_RUNLOG_VERSION 1

/* Hard limits that bound memory on hostile input. A record that exceeds
 * one is reported as LIN_ELIMIT with its offset. */
struct lin_runlog_limits {
	size_t max_record;   /* bytes of one MessagePack object (16 MiB) */
	size_t max_string;   /* bytes of one str/bin/ext (1 MiB) */
	size_t max_items;    /* entries of one array or map (65536) */
	unsigned max_depth;  /* nesting of arrays and maps (32) */
	uint64_t max_inflated; /* total uncompressed bytes (64 GiB); stops
				  gzip bombs from running forever */
};

/* The defaults given in parentheses above. */
void lin_runlog_limits_default(struct lin_runlog_limits *l);

struct lin_runlog;

/* Open `path` for reading (gzip detected by magic bytes 1f 8b) and read
 * the header. `limits` may be NULL for the defaults; a zero field in it
 * also means that limit's default.
 * Errors: LIN_EIO (cannot open/read), LIN_EFORMAT (first object is not a
 * runlog header map), LIN_EVERSION (runlog version newer than ours),
 * LIN_ECORRUPT, LIN_ETRUNC, LIN_ELIMIT, LIN_ENOMEM. On error *out is NULL
 * and `err` names the file and offset. The caller frees with
 * lin_runlog_close(). */
int lin_runlog_open(struct lin_runlog **out, const char *path,
		    const struct lin_runlog_limits *limits,
		    struct lin_err *err);

/* The same over a stream (an archive member) read once from its start;
 * `name` is what errors call it (e.g. "a.tar.gz//x.runlog"). `src` is
 * copied; its context must outlive the reader. A failing read is
 * LIN_EIO with the stream's message. */
int lin_runlog_open_stream(struct lin_runlog **out, const char *name,
			   const struct lin_stream *src,
			   const struct lin_runlog_limits *limits,
			   struct lin_err *err);

/* Read the next lineage record into `rec` (whose strings borrow from the
 * reader until the next call). Records of unknown kind are skipped and
 * counted (lin_runlog_skipped). Returns 1 with a record, 0 at a clean end
 * of input, LIN_ERECORD for one invalid record (err says which key; the
 * next call continues after it; rec->kind and rec->offset are set when
 * known) or one over the string, collection, nesting or record size
 * limits (stepped over without being kept), or a fatal code
 * (LIN_ECORRUPT, LIN_ETRUNC, LIN_ELIMIT for max_inflated and gzip bombs,
 * LIN_EIO, LIN_ENOMEM, or LIN_EVERSION for the header of a newer file
 * concatenated onto this one) after which the stream cannot go on: later
 * calls return the same code and error. Every complete record before a
 * fatal error has been returned. `err` may be NULL. */
int lin_runlog_next(struct lin_runlog *r, struct lin_record *rec,
		    struct lin_err *err);

/* Header fields; NULL/LIN_TIME_NONE when absent. Valid until close. */
const char *lin_runlog_producer(const struct lin_runlog *r);
int64_t lin_runlog_created_at(const struct lin_runlog *r);

/* Records of unknown kind skipped so far. */
uint64_t lin_runlog_skipped(const struct lin_runlog *r);

/* Non-zero when the file is gzip-compressed. */
int lin_runlog_gzip(const struct lin_runlog *r);

/* 1 when the reader, opened on gzip data, inflated the header of a tar
 * archive (its first member's name happened to read as a runlog
 * header): the caller that took gzip for a runlog without looking
 * inside reads it as an archive instead. */
int lin_runlog_tar_inside(const struct lin_runlog *r);

/* Uncompressed bytes consumed so far (== file size when not gzip). */
uint64_t lin_runlog_bytes(const struct lin_runlog *r);

void lin_runlog_close(struct lin_runlog *r);

#endif
