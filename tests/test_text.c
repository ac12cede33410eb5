/* test_text.c - the UTF-8 and NUL check every string read from a log
 * passes (format/text.c). */
#include <criterion/criterion.h>

#include <string.h>

#include "format/text.h"

static void expect(const char *s, size_t n, enum lin_text_problem want,
		   size_t want_at)
{
	size_t at = 12345;
	enum lin_text_problem t = lin_text_check(s, n, &at);

	cr_assert_eq(t, want, "'%.*s': %d, want %d", (int)n, s, t, want);
	if (want != LIN_TEXT_OK)
		cr_assert_eq(at, want_at, "'%.*s': at %zu, want %zu", (int)n,
			     s, at, want_at);
}

Test(text, accepts_utf8_of_every_length)
{
	expect("", 0, LIN_TEXT_OK, 0);
	expect("mnist-raw", 9, LIN_TEXT_OK, 0);
	expect("mod\xc3\xa8le", 7, LIN_TEXT_OK, 0);            /* U+00E8 */
	expect("\xe2\x82\xac", 3, LIN_TEXT_OK, 0);             /* U+20AC */
	expect("\xef\xbf\xbd", 3, LIN_TEXT_OK, 0);             /* U+FFFD */
	expect("\xf0\x9f\x98\x80", 4, LIN_TEXT_OK, 0);         /* U+1F600 */
	expect("\xf4\x8f\xbf\xbf", 4, LIN_TEXT_OK, 0);         /* U+10FFFF */
	expect("\xed\x9f\xbf", 3, LIN_TEXT_OK, 0);             /* U+D7FF */
}

Test(text, refuses_nul_and_what_is_not_utf8)
{
	expect("mnist\0bad", 9, LIN_TEXT_NUL, 5);
	expect("\0", 1, LIN_TEXT_NUL, 0);
	expect("mnist-\xff\xfe-raw", 12, LIN_TEXT_BAD_UTF8, 6);
	expect("a\x80", 2, LIN_TEXT_BAD_UTF8, 1);        /* stray byte */
	expect("\xc0\x80", 2, LIN_TEXT_BAD_UTF8, 0);     /* overlong NUL */
	expect("\xc1\xbf", 2, LIN_TEXT_BAD_UTF8, 0);     /* overlong */
	expect("\xe0\x80\xaf", 3, LIN_TEXT_BAD_UTF8, 0); /* overlong '/' */
	expect("\xf0\x8f\xbf\xbf", 4, LIN_TEXT_BAD_UTF8, 0); /* overlong */
	expect("x\xed\xa0\x80", 4, LIN_TEXT_BAD_UTF8, 1); /* surrogate */
	expect("\xf4\x90\x80\x80", 4, LIN_TEXT_BAD_UTF8, 0); /* > 10FFFF */
	expect("\xf5\x80\x80\x80", 4, LIN_TEXT_BAD_UTF8, 0);
	expect("ab\xe2\x82", 4, LIN_TEXT_BAD_UTF8, 2);   /* cut short */
	expect("\xe2\x28\xa1", 3, LIN_TEXT_BAD_UTF8, 0); /* bad follower */
	cr_assert_eq(lin_text_check("ok\0", 2, NULL), LIN_TEXT_OK);
	cr_assert_str_eq(lin_text_problem_str(LIN_TEXT_NUL), "a NUL byte");
}
