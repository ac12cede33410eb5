/* text.h - the one check every string a reader passes on must pass:
 * valid UTF-8 without NUL bytes, so that a name is what it looks like
 * (C strings stop at a NUL; JSON cannot show other bytes) and can be
 * asked for again. */
#ifndef LIN_TEXT_H
#define LIN_TEXT_H

#include <stddef.h>

enum lin_text_problem {
	LIN_TEXT_OK = 0,
	LIN_TEXT_NUL = 1,       /* a NUL byte */
	LIN_TEXT_BAD_UTF8 = 2   /* not UTF-8: a stray, overlong, surrogate
				   or out-of-range sequence, or one cut
				   short by the end of the string */
};

/* Check the `n` bytes at `p` (RFC 3629 UTF-8, no NUL). Returns
 * LIN_TEXT_OK, or the problem with *at set to the index of the byte
 * where it starts (`at` may be NULL). */
enum lin_text_problem lin_text_check(const void *p, size_t n, size_t *at);

/* A short description of a problem: "a NUL byte", "invalid UTF-8". */
const char *lin_text_problem_str(enum lin_text_problem t);

#endif
