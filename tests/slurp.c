/* slurp.c - reading whole streams and files (slurp.h). */
#include "slurp.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

char *lt_slurp(FILE *f)
{
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	char chunk[4096];

	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (n + got + 1 > cap) {
			cap = (n + got + 1) * 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		memcpy(buf + n, chunk, got);
		n += got;
	}
	if (!buf)
		buf = calloc(1, 1);
	cr_assert_not_null(buf);
	buf[n] = 0;
	return buf;
}

char *lt_slurp_path(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *s = lt_slurp(f);
	fclose(f);
	return s;
}
