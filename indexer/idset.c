/* idset.c - open-addressing u64 set (see idset.h). */
#include "idset.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(uint64_t id, size_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (size_t)id & (cap - 1);
}

void lin_idset_init(struct lin_idset *s)
{
	memset(s, 0, sizeof *s);
}

void lin_idset_release(struct lin_idset *s)
{
	free(s->slots);
	free(s->pos);
	free(s->order);
	memset(s, 0, sizeof *s);
}

long lin_idset_find(const struct lin_idset *s, uint64_t id)
{
	if (!s->cap)
		return -1;
	for (size_t i = slot_of(id, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (s->slots[i] == id)
			return (long)s->pos[i];
		if (!s->slots[i])
			return -1;
	}
}

int lin_idset_has(const struct lin_idset *s, uint64_t id)
{
	return lin_idset_find(s, id) >= 0;
}

static int grow(struct lin_idset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	uint64_t *slots = calloc(cap, sizeof *slots);
	size_t *pos = calloc(cap, sizeof *pos);
	uint64_t *order = realloc(s->order, cap / 2 * sizeof *order);

	if (!slots || !pos || !order) {
		free(slots);
		free(pos);
		if (order)
			s->order = order;
		return -1;
	}
	s->order = order;
	for (size_t k = 0; k < s->n; k++) {
		size_t i = slot_of(order[k], cap);
		while (slots[i])
			i = (i + 1) & (cap - 1);
		slots[i] = order[k];
		pos[i] = k;
	}
	free(s->slots);
	free(s->pos);
	s->slots = slots;
	s->pos = pos;
	s->cap = cap;
	return 0;
}

int lin_idset_add(struct lin_idset *s, uint64_t id)
{
	if ((s->n + 1) * 2 > s->cap && grow(s))
		return -1;
	size_t i = slot_of(id, s->cap);
	while (s->slots[i]) {
		if (s->slots[i] == id)
			return 0;
		i = (i + 1) & (s->cap - 1);
	}
	s->slots[i] = id;
	s->pos[i] = s->n;
	s->order[s->n++] = id;
	return 1;
}
