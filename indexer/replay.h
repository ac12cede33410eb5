/* replay.h - a stream that keeps a copy of what it passes on, so that an
 * archive member (read once, in order, never written to disk) can be
 * read a second time from memory when it fits a bound.
 *
 * Why memory and not a second trip through the archive: reaching a
 * member again means inflating everything before it again (and, for a
 * member of a nested archive, the outer member too), a cost that grows
 * with the square of the archive when many members need it, and the
 * archive may have changed in between. A copy costs at most
 * IX_REPLAY_MAX bytes, one member at a time; a member over it is read
 * once and says so (ingest.c). */
#ifndef LIN_REPLAY_H
#define LIN_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "format/stream.h"

/* The largest member kept for a second reading: 64 MiB. */
#define IX_REPLAY_MAX ((size_t)64 << 20)

struct ix_replay {
	struct lin_stream in;  /* the member (borrowed) */
	unsigned char *buf;    /* what `in` gave, while it fits */
	size_t n, cap, pos;
	size_t max;            /* the bound, IX_REPLAY_MAX unless a test */
	int over;              /* `in` gave more than `max`: buf dropped */
};

/* Start copying `in`; `size` is the member's size when the archive says
 * (-1 when not): a member known to be too large is not copied at all. */
void ix_replay_init(struct ix_replay *r, const struct lin_stream *in,
		    int64_t size, size_t max);
/* Free the copy. */
void ix_replay_release(struct ix_replay *r);

/* The stream to read the first time: `in`, copied as it passes. Running
 * out of memory for the copy drops it (as `over`), not the reading. */
struct lin_stream ix_replay_tee(struct ix_replay *r);

/* Read what the first reading left of the member (a reader may stop
 * before the end) through the copy, and return non-zero when the copy
 * then holds the whole member, 0 when it is over the bound or the
 * member could not be read to its end. */
int ix_replay_finish(struct ix_replay *r);

/* The copy as a stream from its first byte (ix_replay_finish() must
 * have returned non-zero). Each call starts again at byte 0. */
struct lin_stream ix_replay_again(struct ix_replay *r);

#endif
