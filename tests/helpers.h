/* helpers.h - what the newer test suites share: a temporary folder per
 * test and running a shell command with its output captured. */
#ifndef LIN_TEST_HELPERS_H
#define LIN_TEST_HELPERS_H

#include <stddef.h>

/* The test's temporary folder, made by th_mkdir (a suite's .init) and
 * removed with everything in it by th_rmdir (its .fini). */
extern char th_dir[256];
void th_mkdir(void);
void th_rmdir(void);

/* Write into `out` the path under th_dir named by fmt; returns out. */
#define TH_PATH_MAX 600
char *th_path(char out[TH_PATH_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Run `sh -c CMD` (formatted) from the repository root; returns its
 * stdout (malloc'd, NUL-terminated; the caller frees) and sets *code to
 * its exit status (-1 when it did not exit normally). stderr goes to
 * th_dir/stderr.log. */
char *th_sh(int *code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The next line of *p (malloc'd, without its newline; the caller
 * frees), moving *p past it; NULL at the end. */
char *th_line(const char **p);

/* The number of lines of `s` that contain `needle`. */
size_t th_count(const char *s, const char *needle);

#endif
