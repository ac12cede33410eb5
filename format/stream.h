/* stream.h - the one callback through which the readers take their bytes
 * from something other than a file descriptor (an archive member). */
#ifndef LIN_STREAM_H
#define LIN_STREAM_H

#include <stddef.h>
#include <sys/types.h>

/* Read up to `n` bytes into `buf`. Returns the count (> 0), 0 at the end
 * of the stream, or -1 after writing what went wrong (lower-case, no full
 * stop) into `msg`, a buffer of `mlen` bytes. A stream is read once, from
 * its start, in order. */
typedef ssize_t lin_read_fn(void *ctx, void *buf, size_t n, char *msg,
			    size_t mlen);

/* A stream: the callback and its context (borrowed by the readers). */
struct lin_stream {
	lin_read_fn *read;
	void *ctx;
};

#endif
