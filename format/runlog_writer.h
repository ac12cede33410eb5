/* runlog_writer.h - writes runlog v1 files (FORMAT.md) to a stdio
 * stream, plain or gzip. Used by the fixture generator and the tests. */
#ifndef LIN_RUNLOG_WRITER_H
#define LIN_RUNLOG_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "record.h"
#include "runlog.h"

/* Every function returns 0 or a negative LIN_E* code (LIN_EIO when the
 * stream fails). */
struct lin_runlog_writer;

/* Start a file on `fp` (not closed by the writer). `gzip` non-zero
 * compresses the whole file as one gzip member. Writes the header with
 * `producer` (may be NULL) and `created_at` (LIN_TIME_NONE to omit). */
int lin_runlog_writer_open(struct lin_runlog_writer **out, FILE *fp,
			   int gzip, const char *producer,
			   int64_t created_at);

/* Write one record from the fields of `rec` that are set (the same
 * absent-value conventions as the reader). */
int lin_runlog_write(struct lin_runlog_writer *w,
		     const struct lin_record *rec);

/* Write raw bytes as they are (for tests that build broken files). */
int lin_runlog_write_raw(struct lin_runlog_writer *w, const void *p,
			 size_t n);

/* Gzip only: finish the current gzip member and start a new one, so
 * the file becomes several concatenated members (RFC 1952 allows this;
 * readers must accept it). No header is repeated. A no-op when plain. */
int lin_runlog_writer_new_member(struct lin_runlog_writer *w);

/* Flush (and finish the gzip member), free the writer. */
int lin_runlog_writer_close(struct lin_runlog_writer *w);

#endif
