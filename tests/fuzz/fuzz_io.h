/* fuzz_io.h - helpers shared by the libFuzzer targets: the input as a
 * file the readers can open by path, and .wandb inputs with their chunk
 * checksums made right. Header-only, static inline functions. */
#ifndef LIN_FUZZ_IO_H
#define LIN_FUZZ_IO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "format/wandb.h"

/* Put `data` into an anonymous memory file and write a path that opens
 * it ("/proc/self/fd/N") into `path`. One memory file serves every
 * input (emptied and rewritten each time: creating one per input cost a
 * syscall and a fresh page); the readers open their own descriptor on
 * the path. Aborts when the file cannot be written, since every later
 * result would be meaningless. */
static inline void fuzz_memfile(const uint8_t *data, size_t size,
				char *path, size_t cap)
{
	static int fd = -1;
	size_t done = 0;

	if (fd < 0 && (fd = memfd_create("fuzz-input", MFD_CLOEXEC)) < 0) {
		perror("memfd_create");
		abort();
	}
	if (ftruncate(fd, 0) != 0) {
		perror("ftruncate");
		abort();
	}
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
		if (n <= 0) {
			perror("pwrite");
			abort();
		}
		done += (size_t)n;
	}
	snprintf(path, cap, "/proc/self/fd/%d", fd);
}

/* Recompute the checksum of every chunk of a .wandb image in place
 * (crc32 seeded with the crc32 of the type byte, unmasked, as
 * format/wandb.c checks it). Mutated payloads then get past the
 * checksum and reach the record decoder, which random bytes almost
 * never would. Chunks are walked as the reader walks them: a 7-byte file
 * header, then 7-byte chunk headers inside LIN_WANDB_BLOCK blocks. */
static inline void fuzz_wandb_fix_crcs(uint8_t *buf, size_t n)
{
	size_t pos = 7;

	while (pos + 7 <= n) {
		size_t left = LIN_WANDB_BLOCK - pos % LIN_WANDB_BLOCK;
		if (left < 7) {
			pos += left;
			continue;
		}
		size_t len = (size_t)buf[pos + 4] | (size_t)buf[pos + 5] << 8;
		unsigned char type = buf[pos + 6];
		if ((type == 0 && len == 0) || 7 + len > left) {
			pos += left;   /* padding, or the reader skips it */
			continue;
		}
		if (pos + 7 + len > n)
			break;
		if (type >= 1 && type <= 4) {
			uLong crc = crc32(crc32(0, &type, 1), buf + pos + 7,
					  (uInt)len);
			buf[pos] = (uint8_t)crc;
			buf[pos + 1] = (uint8_t)(crc >> 8);
			buf[pos + 2] = (uint8_t)(crc >> 16);
			buf[pos + 3] = (uint8_t)(crc >> 24);
		}
		pos += 7 + len;
	}
}

/* AddressSanitizer's defaults for every target (ASAN_OPTIONS still
 * overrides them). clear_shadow_mmap_threshold: ASan clears the shadow of
 * a large block (LMDB allocates 3 MiB for each nested transaction, which
 * the indexer still opens per archive member) by mapping it anew above
 * this size, and each such mmap flushes the TLB of every CPU, which on
 * this kind of virtual machine cost more than the work itself; memset
 * clears it instead. What ASan detects is the same.
 * quarantine_size_mb: freed blocks wait there before they are reused
 * (256 MiB by default), so nearly every allocation took fresh memory and
 * a page fault; 16 MiB still holds the frees of the last several
 * executions (one frees a few MiB), so a use after free within an
 * execution is still caught, and a replay of the fuzz_index corpus costs
 * about a third less CPU. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "clear_shadow_mmap_threshold=1099511627776:"
	       "quarantine_size_mb=16";
}

#endif
