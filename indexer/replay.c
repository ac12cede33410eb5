/* replay.c - a stream copied as it is read, and read again from the
 * copy (see replay.h). */
#include "indexer/replay.h"

#include <stdlib.h>
#include <string.h>

void ix_replay_init(struct ix_replay *r, const struct lin_stream *in,
		    int64_t size, size_t max)
{
	memset(r, 0, sizeof *r);
	r->in = *in;
	r->max = max;
	r->over = size > 0 && (uint64_t)size > max;
}

void ix_replay_release(struct ix_replay *r)
{
	free(r->buf);
	r->buf = NULL;
	r->n = r->cap = r->pos = 0;
}

/* Append `k` bytes to the copy, or drop it when it would pass the bound
 * or memory runs out. */
static void keep(struct ix_replay *r, const void *p, size_t k)
{
	if (r->over)
		return;
	if (k > r->max - r->n) {
		r->over = 1;
		ix_replay_release(r);
		return;
	}
	if (r->n + k > r->cap) {
		size_t cap = r->cap ? r->cap : r->max < 65536 ? r->max : 65536;
		unsigned char *b;

		while (cap < r->n + k)
			cap = cap > r->max / 2 ? r->max : cap * 2;
		if (!(b = realloc(r->buf, cap))) {
			r->over = 1;
			ix_replay_release(r);
			return;
		}
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->n, p, k);
	r->n += k;
}

static ssize_t tee_read(void *ctx, void *buf, size_t n, char *msg,
			size_t mlen)
{
	struct ix_replay *r = ctx;
	ssize_t k = r->in.read(r->in.ctx, buf, n, msg, mlen);

	if (k > 0)
		keep(r, buf, (size_t)k);
	return k;
}

struct lin_stream ix_replay_tee(struct ix_replay *r)
{
	struct lin_stream s = { tee_read, r };

	return s;
}

int ix_replay_finish(struct ix_replay *r)
{
	char b[65536], m[256];
	ssize_t k;

	while (!r->over && (k = tee_read(r, b, sizeof b, m, sizeof m)) != 0)
		if (k < 0) {
			r->over = 1;
			ix_replay_release(r);
		}
	return !r->over;
}

static ssize_t again_read(void *ctx, void *buf, size_t n, char *msg,
			  size_t mlen)
{
	struct ix_replay *r = ctx;
	size_t k = r->n - r->pos;

	(void)msg;
	(void)mlen;
	if (k > n)
		k = n;
	if (k)
		memcpy(buf, r->buf + r->pos, k);
	r->pos += k;
	return (ssize_t)k;
}

struct lin_stream ix_replay_again(struct ix_replay *r)
{
	struct lin_stream s = { again_read, r };

	r->pos = 0;
	return s;
}
