/* grow.c - the growable-array helper (grow.h). */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int lin_grow(void *pp, size_t *cap, size_t need, size_t size, size_t min)
{
	void *old, *p;
	size_t n;

	if (need <= *cap)
		return 0;
	n = *cap > SIZE_MAX / 2 ? need : *cap * 2;
	if (n < need)
		n = need;
	if (n < min)
		n = min;
	if (size && n > SIZE_MAX / size)
		return -1;
	/* The array pointer may be of any object type: copy it through
	 * memcpy rather than read it as a void *. */
	memcpy(&old, pp, sizeof old);
	p = realloc(old, n * size);
	if (!p)
		return -1;
	memcpy(pp, &p, sizeof p);
	*cap = n;
	return 0;
}
