/* test_replay.c - indexer/replay.c: a member copied as it is read, and
 * read again from the copy within a bound. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "indexer/replay.h"

/* A source giving `n` bytes of `p` at most `step` at a time, then an
 * error at byte `fail_at` when that is below `n`. */
struct src {
	const unsigned char *p;
	size_t n, pos, step, fail_at;
};

static ssize_t src_read(void *ctx, void *buf, size_t n, char *msg,
			size_t mlen)
{
	struct src *s = ctx;
	size_t k = s->n - s->pos;

	if (s->pos >= s->fail_at) {
		snprintf(msg, mlen, "damaged member");
		return -1;
	}
	if (k > n)
		k = n;
	if (k > s->step)
		k = s->step;
	memcpy(buf, s->p + s->pos, k);
	s->pos += k;
	return (ssize_t)k;
}

static unsigned char data[200000];

static void fill(void)
{
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 31 + i / 251);
}

/* Read `s` to its end (or `upto` bytes) into `out`; returns the count. */
static size_t drain(struct lin_stream s, unsigned char *out, size_t upto)
{
	char m[256];
	size_t got = 0;
	ssize_t k;

	while (got < upto &&
	       (k = s.read(s.ctx, out + got, upto - got < 1000 ? upto - got
					       : 1000, m, sizeof m)) > 0)
		got += (size_t)k;
	return got;
}

static unsigned char out[sizeof data];

Test(replay, copy_read_part_way_is_finished_and_read_again_twice)
{
	struct src s = { data, sizeof data, 0, 777, (size_t)-1 };
	struct lin_stream in = { src_read, &s };
	struct ix_replay r;

	fill();
	ix_replay_init(&r, &in, -1, sizeof data);
	/* the first reader stops a third of the way in */
	cr_assert_eq(drain(ix_replay_tee(&r), out, 70000), 70000);
	cr_assert_eq(memcmp(out, data, 70000), 0);
	cr_assert(ix_replay_finish(&r));
	for (int i = 0; i < 2; i++) {
		memset(out, 0, sizeof out);
		cr_assert_eq(drain(ix_replay_again(&r), out, sizeof out),
			     sizeof data);
		cr_assert_eq(memcmp(out, data, sizeof data), 0);
	}
	ix_replay_release(&r);
}

Test(replay, a_member_over_the_bound_is_not_kept)
{
	struct src s = { data, sizeof data, 0, 4096, (size_t)-1 };
	struct lin_stream in = { src_read, &s };
	struct ix_replay r;

	fill();
	/* size unknown: found out while reading, the reading goes on */
	ix_replay_init(&r, &in, -1, sizeof data - 1);
	cr_assert_eq(drain(ix_replay_tee(&r), out, sizeof out), sizeof data);
	cr_assert_eq(memcmp(out, data, sizeof data), 0);
	cr_assert_not(ix_replay_finish(&r));
	cr_assert_null(r.buf);
	ix_replay_release(&r);

	/* size known: not copied at all */
	s.pos = 0;
	ix_replay_init(&r, &in, (int64_t)sizeof data, sizeof data - 1);
	cr_assert_eq(drain(ix_replay_tee(&r), out, 10), 10);
	cr_assert_null(r.buf);
	cr_assert_not(ix_replay_finish(&r));
	ix_replay_release(&r);

	/* exactly at the bound: kept */
	s.pos = 0;
	ix_replay_init(&r, &in, (int64_t)sizeof data, sizeof data);
	cr_assert(ix_replay_finish(&r));
	cr_assert_eq(r.n, sizeof data);
	ix_replay_release(&r);
}

Test(replay, a_member_that_fails_after_the_reader_stopped_is_not_kept)
{
	struct src s = { data, sizeof data, 0, 1000, 5000 };
	struct lin_stream in = { src_read, &s };
	struct ix_replay r;

	fill();
	ix_replay_init(&r, &in, -1, sizeof data);
	cr_assert_eq(drain(ix_replay_tee(&r), out, 3000), 3000);
	cr_assert_not(ix_replay_finish(&r));
	ix_replay_release(&r);
}
