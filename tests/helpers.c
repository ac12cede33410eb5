/* helpers.c - shared test helpers (helpers.h). */
#include "helpers.h"

#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

char th_dir[256];

void th_mkdir(void)
{
	snprintf(th_dir, sizeof th_dir, "/tmp/lin-test-XXXXXX");
	cr_assert_not_null(mkdtemp(th_dir));
}

void th_rmdir(void)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s'; rm -rf '%s'", th_dir,
		 th_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", th_dir);
}

const char *th_path(const char *fmt, ...)
{
	static char buf[8][512];
	static int i;
	char name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof buf[i], "%s/%s", th_dir, name);
	return buf[i];
}

char *th_sh(int *code, const char *fmt, ...)
{
	char cmd[8192], full[8192 + 300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "{ %s ; } 2>>'%s/stderr.log'", cmd,
		 th_dir);
	FILE *p = popen(full, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	char *out = NULL;
	size_t n = 0, cap = 0, got;
	char chunk[65536];
	while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) {
		if (n + got + 1 > cap) {
			cap = (n + got + 1) * 2;
			out = realloc(out, cap);
			cr_assert_not_null(out);
		}
		memcpy(out + n, chunk, got);
		n += got;
	}
	int st = pclose(p);
	if (!out)
		out = calloc(1, 1);
	out[n] = 0;
	if (code)
		*code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

size_t th_count(const char *s, const char *needle)
{
	size_t c = 0;

	while (s && *s) {
		const char *end = strchr(s, '\n');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		if (memmem(s, len, needle, strlen(needle)))
			c++;
		s += len + (end != NULL);
	}
	return c;
}
