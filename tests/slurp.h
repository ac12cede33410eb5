/* slurp.h - reading whole streams and files, for the test suites
 * (linked into the one test binary with every test file). */
#ifndef LIN_TEST_SLURP_H
#define LIN_TEST_SLURP_H

#include <stdio.h>

/* Everything left in `f`, NUL-terminated (the caller frees it); asserts
 * on out of memory. */
char *lt_slurp(FILE *f);

/* The whole file at `path` as lt_slurp gives it, or NULL when it cannot
 * be opened. */
char *lt_slurp_path(const char *path);

#endif
