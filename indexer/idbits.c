/* idbits.c - bitmap set of ids (see idbits.h). */
#include "indexer/idbits.h"

#include <stdlib.h>
#include <string.h>

void lin_idbits_init(struct lin_idbits *s)
{
	memset(s, 0, sizeof *s);
	lin_idset_init(&s->sparse);
}

void lin_idbits_release(struct lin_idbits *s)
{
	free(s->w);
	lin_idset_release(&s->sparse);
	memset(s, 0, sizeof *s);
}

/* Make word `i` addressable: double the bitmap (at least to i + 1). */
static int reach(struct lin_idbits *s, size_t i)
{
	size_t nw = s->nw ? s->nw : 64;
	while (nw <= i)
		nw *= 2;
	uint64_t *w = realloc(s->w, nw * sizeof *w);
	if (!w)
		return -1;
	memset(w + s->nw, 0, (nw - s->nw) * sizeof *w);
	s->w = w;
	s->nw = nw;
	return 0;
}

int lin_idbits_add(struct lin_idbits *s, uint64_t id)
{
	if (id == UINT64_MAX)
		return -1;
	if (id >= LIN_IDBITS_DENSE)
		return lin_idset_add(&s->sparse, id + 1) < 0 ? -1 : 0;
	size_t i = id / 64;
	if (i >= s->nw && reach(s, i))
		return -1;
	s->w[i] |= (uint64_t)1 << (id % 64);
	return 0;
}

int lin_idbits_has(const struct lin_idbits *s, uint64_t id)
{
	if (id == UINT64_MAX)
		return 0;  /* a negative id read from a damaged store */
	if (id >= LIN_IDBITS_DENSE)
		return lin_idset_has(&s->sparse, id + 1);
	size_t i = id / 64;
	return i < s->nw && (s->w[i] >> (id % 64) & 1);
}
