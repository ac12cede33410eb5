/* moves.h - files that moved: an indexed file whose path no longer
 * exists (an orphan source) is matched to a file met at a new path by
 * inode, size and modification time, or by size and a checksum of the
 * file's first and last 4 KiB,
 * and its source is re-keyed to the new path without reading the file
 * again (internal to indexer/). */
#ifndef LIN_MOVES_H
#define LIN_MOVES_H

#include <stdint.h>
#include <sys/stat.h>

#include "indexer/idbits.h"
#include "indexer/ix.h"

struct ix_orphan {
	char *key;           /* its `sources` key (the old path) */
	size_t kn;
	uint32_t id;
	int64_t size, mtime, ino;
	int has_crc;
	uint32_t crc;        /* ix_file_crc of the file as indexed */
	int used;            /* re-keyed in this run: 1 in the open
				transaction, 2 committed (ix_orphans_settle) */
};

/* The orphan sources of one indexer run, found once (when the first
 * file without a source entry is met). Zero-initialise; release with
 * ix_orphans_free(). */
struct ix_orphans {
	struct ix_orphan *v;
	size_t n, cap;
	int built;
};

/* Find the sources whose file is gone (stat fails with ENOENT) among
 * those this run has not met (`seen`). Sources whose key is a hashed
 * long path cannot be checked and are left out.
 * 0, LIN_ESTORE or LIN_ENOMEM (x->err set). */
int ix_orphans_build(struct ix *x, const struct lin_idbits *seen,
		     struct ix_orphans *o);

/* The orphan that the file at `path` (stat `sb`) is, or -1: same size,
 * and the same inode and mtime, or else the same ix_file_crc when only
 * one orphan has it (the file's ends are then read once; *crc and
 * *has_crc are set when they were). */
long ix_orphan_match(struct ix_orphans *o, const char *path,
		     const struct stat *sb, uint32_t *crc, int *has_crc);

/* Re-key orphan `or` to the new source key `key` (kn bytes) and stored
 * path `stored`, with the new file's stat and CRC, inside x->txn, and
 * touch what depends on the path (first-logging order, alias order):
 * ix_derive, which commits call, rebuilds it. 0 or a LIN_E* code
 * (x->err set). */
int ix_rekey_source(struct ix *x, struct ix_orphan *or, const char *key,
		    size_t kn, const char *stored, const struct stat *sb,
		    uint32_t crc, int has_crc);

/* The transaction that re-keyed orphans committed (`kept`), or was
 * aborted: they stay re-keyed, or can be matched again (a group redone
 * after an abort meets the same files). */
void ix_orphans_settle(struct ix_orphans *o, int kept);

void ix_orphans_free(struct ix_orphans *o);

/* Bytes read at each end of a file for its checksum. */
#define IX_CRC_SPAN 4096

/* CRC-32 (zlib) of the first and last IX_CRC_SPAN bytes of the file at
 * `path` (of all of it when shorter than twice that): with the size,
 * what recognises a copy. 0, or -1 with errno. */
int ix_file_crc(const char *path, uint32_t *crc);
/* The same checksum of the open file `fd` of `size` bytes, whose first
 * `headn` bytes are already in `head` (not read again). 0, or -1 with
 * errno. */
int ix_fd_crc(int fd, uint64_t size, const unsigned char *head,
	      size_t headn, uint32_t *crc);

#endif
