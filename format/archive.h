/* archive.h - reading the members of tar and zip archives (plain or
 * compressed) as streams, through libarchive, without writing them to
 * disk. */
#ifndef LIN_ARCHIVE_H
#define LIN_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "stream.h"

/* Bytes of a member's start that lin_archive_head() makes visible. */
#define LIN_ARCHIVE_HEAD 8192

/* Non-zero when `head` (the first `n` bytes of a file, at least 512 to
 * see a tar header; gzip data is inflated to look inside it) starts a
 * tar or zip archive, plain or gzip, bzip2, xz or zstd compressed. A
 * gzip'd runlog is not an archive. */
int lin_archive_sniff(const void *head, size_t n);

/* lin_archive_sniff in two halves: the signatures read as they are
 * (zip, tar, bzip2, xz, zstd), and a tar inside gzip, which costs an
 * inflate of the head (as much as reading a small gzip'd runlog whole),
 * so a caller that reads the file anyway may try it only when the
 * runlog reader refuses the file. */
int lin_archive_sniff_plain(const void *head, size_t n);
int lin_archive_sniff_gzip(const void *head, size_t n);

struct lin_archive;

/* Open the archive at `path`, or read it from `src` when that is not
 * NULL (a member of another archive; `path` then only names it). Errors:
 * LIN_EIO, LIN_EFORMAT (not an archive libarchive can read), LIN_ENOMEM;
 * err names `path`. Free with lin_archive_close(). */
int lin_archive_open(struct lin_archive **out, const char *path,
		     const struct lin_stream *src, struct lin_err *err);

struct lin_archive_member {
	const char *name;  /* path inside the archive, without a leading
			      "./" or "/"; valid until the next call */
	int64_t size;      /* bytes, -1 when the archive does not say */
	int64_t mtime;     /* ns since the epoch, 0 when unknown */
};

/* Move to the next regular file. Returns 1 with `m` filled, 0 at the end,
 * LIN_EDAMAGE when one member's header could not be read but the archive
 * goes on (err says why; call again), or a fatal LIN_ECORRUPT (the
 * archive cannot be read further; err->offset is the byte of the archive
 * file reached), LIN_ELIMIT (a likely decompression bomb) or LIN_ENOMEM.
 * Whatever of the previous member was not read is passed over. */
int lin_archive_next(struct lin_archive *a, struct lin_archive_member *m,
		     struct lin_err *err);

/* The first bytes of the current member (up to LIN_ARCHIVE_HEAD, fewer
 * when it is shorter), read ahead without consuming them: the stream
 * still starts at byte 0. Returns 0, or LIN_ECORRUPT with err set when
 * the member cannot be read. `*p` is valid until the next member. */
int lin_archive_head(struct lin_archive *a, const unsigned char **p,
		     size_t *n, struct lin_err *err);

/* The current member as a stream for the readers (format/stream.h). */
struct lin_stream lin_archive_stream(struct lin_archive *a);

/* Bytes of the archive file (compressed) read so far. */
uint64_t lin_archive_offset(const struct lin_archive *a);

void lin_archive_close(struct lin_archive *a);

#endif
