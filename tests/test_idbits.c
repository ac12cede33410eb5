/* test_idbits.c - the indexer's set of met source ids (lin_idbits): a
 * bitmap for dense ids with a hash set beyond LIN_IDBITS_DENSE, so a
 * damaged store's huge id costs one entry, not a 512 MiB bitmap. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "indexer/idbits.h"

Test(idbits, holds_exactly_the_ids_added)
{
	struct lin_idbits s;
	lin_idbits_init(&s);
	cr_assert(!lin_idbits_has(&s, 0), "empty set");
	/* every third id up to past several doublings of the bitmap */
	for (uint64_t id = 0; id < 100000; id += 3)
		cr_assert_eq(lin_idbits_add(&s, id), 0);
	for (uint64_t id = 0; id < 100010; id++)
		cr_assert_eq(lin_idbits_has(&s, id), id % 3 == 0 && id < 100000,
			     "id %llu", (unsigned long long)id);
	cr_assert_eq(lin_idbits_add(&s, 3), 0, "adding twice is harmless");
	cr_assert(lin_idbits_has(&s, 3));
	lin_idbits_release(&s);
}

Test(idbits, huge_ids_do_not_grow_the_bitmap)
{
	struct lin_idbits s;
	lin_idbits_init(&s);
	cr_assert_eq(lin_idbits_add(&s, 5), 0);
	size_t words = s.nw;
	uint64_t big[] = { LIN_IDBITS_DENSE, UINT32_MAX, (uint64_t)1 << 40,
			   UINT64_MAX - 1 };
	for (size_t i = 0; i < sizeof big / sizeof *big; i++)
		cr_assert_eq(lin_idbits_add(&s, big[i]), 0);
	cr_assert_eq(s.nw, words, "the bitmap stayed at %zu words", words);
	for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
		cr_assert(lin_idbits_has(&s, big[i]), "id %llu",
			  (unsigned long long)big[i]);
		cr_assert(!lin_idbits_has(&s, big[i] - 1), "id %llu - 1",
			  (unsigned long long)big[i]);
	}
	cr_assert(lin_idbits_has(&s, 5));
	cr_assert(!lin_idbits_has(&s, LIN_IDBITS_DENSE - 1));
	/* a negative id read from a damaged store, cast: never present */
	cr_assert_eq(lin_idbits_add(&s, UINT64_MAX), -1);
	cr_assert(!lin_idbits_has(&s, UINT64_MAX));
	lin_idbits_release(&s);
}
