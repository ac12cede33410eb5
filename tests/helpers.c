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

char *th_path(char out[TH_PATH_MAX], const char *fmt, ...)
{
	int n = snprintf(out, TH_PATH_MAX, "%s/", th_dir);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + n, TH_PATH_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return out;
}

char *th_line(const char **p)
{
	if (!**p)
		return NULL;
	size_t n = strcspn(*p, "\n");
	char *line = strndup(*p, n);
	cr_assert_not_null(line);
	*p += n + ((*p)[n] == '\n');
	return line;
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
	/* the programs never print a NUL: read up to the end at once */
	char *out = NULL;
	size_t cap = 0;
	if (getdelim(&out, &cap, '\0', p) < 0) {
		free(out);
		out = NULL;
	}
	int st = pclose(p);
	if (!out)
		out = calloc(1, 1);
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
