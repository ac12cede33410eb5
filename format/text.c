/* text.c - UTF-8 and NUL check for strings read from logs (text.h). */
#include "text.h"

#include <stdint.h>
#include <string.h>

enum lin_text_problem lin_text_check(const void *p, size_t n, size_t *at)
{
	const unsigned char *s = p;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp, min;

		if (c >= 0x01 && c <= 0x7f) {   /* ASCII, the usual */
			i++;
			continue;
		}
		if (c == 0) {
			if (at)
				*at = i;
			return LIN_TEXT_NUL;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			goto bad;       /* continuation, 0xc0/0xc1, > 0xf4 */
		}
		if (len > n - i)
			goto bad;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp > 0x10ffff)
			goto bad;
		i += len;
	}
	return LIN_TEXT_OK;
bad:
	if (at)
		*at = i;
	return LIN_TEXT_BAD_UTF8;
}

const char *lin_text_problem_str(enum lin_text_problem t)
{
	switch (t) {
	case LIN_TEXT_OK: return "valid text";
	case LIN_TEXT_NUL: return "a NUL byte";
	case LIN_TEXT_BAD_UTF8: return "invalid UTF-8";
	}
	return "?";
}
