/* child.h - test helpers shared by the suites that run the built
 * programs as child processes: a temporary folder, running a child with
 * a timeout (optionally as another user or in a smaller address space),
 * and reading files back. */
#ifndef LIN_TEST_CHILD_H
#define LIN_TEST_CHILD_H

#include <stddef.h>
#include <sys/resource.h>

/* What one child did. `out` and `err` are its whole stdout and stderr
 * (NUL-terminated, owned: child_free). */
struct child {
	int status;  /* exit status, or -1 when it did not exit */
	int sig;     /* the signal that ended it, or 0 */
	int hung;    /* killed after the timeout */
	int setup;   /* 1 when it could not be started as asked (setuid) */
	char *out, *err;
};

struct child_opts {
	int timeout_s;   /* 0: none */
	int as_nobody;   /* run as uid/gid 65534 (only when root) */
	rlim_t as_limit; /* RLIMIT_AS in bytes; 0: none */
};

/* The programs under test, run from the repository root (make check
 * builds them first). */
#define CHILD_INDEXER "./lineage-index"
#define CHILD_QUERY "./lineage-query"
#define CHILD_GEN "./lineage-gen"

/* A Criterion suite NAME with a fresh folder `dir` per test. */
#define CHILD_SUITE(name) \
	static char dir[256]; \
	static void mk_dir(void) { child_mkdir(dir, #name); } \
	static void rm_dir(void) { child_rmdir(dir); } \
	TestSuite(name, .init = mk_dir, .fini = rm_dir)

/* "DIR/NAME" with NAME printf-formatted, in one of 8 rotating buffers
 * (so several can be used in one expression; copy one to keep it). */
const char *child_path(const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Make a fresh folder /tmp/lin-NAME-XXXXXX into `dir` (256 bytes), and
 * remove it with everything in it. */
void child_mkdir(char *dir, const char *name);
void child_rmdir(const char *dir);

/* Run argv (NULL-terminated; argv[0] a path) with stdout and stderr
 * going to files in `dir`; never fails the test by itself. */
struct child child_run(const char *dir, char *const argv[],
		       const struct child_opts *o);

void child_free(struct child *c);

/* The whole file at `path`, NUL-terminated (fails the test when it
 * cannot be read). The caller frees it. */
char *child_slurp(const char *path);

#endif
