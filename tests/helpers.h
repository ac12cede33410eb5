/* helpers.h - what the test suites share (linked into the one test
 * binary with every test file): a temporary folder per test, paths in
 * it, reading and writing whole files, running a shell command with its
 * output captured, running a built program as a child (with a timeout,
 * as another user or in a smaller address space), and running
 * lineage-index and lineage-query in-process. */
#ifndef LIN_TEST_HELPERS_H
#define LIN_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

/* The test's temporary folder, made by th_mkdir (a suite's .init) and
 * removed with everything in it by th_rmdir (its .fini; kept, its path
 * printed, when TH_KEEP is set). */
extern char th_dir[256];
void th_mkdir(void);
void th_rmdir(void);

/* The path under th_dir named by fmt, in one of eight rotating static
 * buffers (so that a call can take several). */
const char *th_at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

/* Run lineage-index in-process (lin_index_main) with the arguments
 * given, up to a NULL, after "lineage-index"; its stdout and stderr are
 * appended to th_dir/stderr.log. Returns its exit code. */
int th_index(const char *arg, ...) __attribute__((sentinel));

/* ---- a store through the real write path ----
 * Run logs written with the runlog writer (runlog_writer.h), one file
 * at a time, then indexed with th_index: the store is what the indexer
 * makes of them, never a copy of the schema. Times are nanoseconds
 * (LIN_TIME_NONE: absent). */

/* Start the runlog at `path` (its folders made when missing), gzip'd
 * when `gz`; RUN records that name no entity and project get `entity`
 * and `project`, the others are the file's run's. */
void th_rl_file(const char *path, int gz, const char *entity,
		const char *project);
/* th_rl_file of th_dir/FMT, plain. */
void th_rl_open(const char *entity, const char *project, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));
void th_rl_close(void);
/* Write a record as it is (entity and project set as th_rl_file says). */
struct lin_record;
void th_rl_put(struct lin_record *r);
void th_rl_run(const char *rid, const char *name, const char *job,
	       int64_t started);
/* th_rl_run with tags (NULL-terminated; NULL: none). */
void th_rl_run_tagged(const char *rid, const char *name, const char *job,
		      int64_t started, const char *const *tags);
/* LOG of a version of `coll`, with one alias when `alias` is not NULL. */
void th_rl_log(const char *coll, const char *type, const char *digest,
	       int64_t at, const char *alias);
/* `digest` (may be NULL) pins the exact version. */
void th_rl_use(const char *ref, int64_t at, const char *digest);
/* Add alias `add` to `ref` and/or remove alias `rm` (either NULL). */
void th_rl_alias(const char *ref, const char *add, const char *rm,
		 int64_t at);
void th_rl_finish(const char *state, int exit_code, int64_t at);

/* What lineage-query answered: exit code, stdout, stderr. */
struct th_res {
	int rc;
	char *out, *err;
};

/* Run `lineage-query --store STORE ARGS...` (up to a NULL) in-process
 * (lin_query_run) with its output captured. The strings stay valid
 * until the next call, which frees them. */
struct th_res th_query(const char *store, ...)
	__attribute__((sentinel));

/* The query succeeded with exactly `want` on stdout and nothing on
 * stderr. */
#define TH_OK_OUT(r, want) do { \
	cr_assert_eq((r).rc, 0, "rc %d, stderr: %s", (r).rc, (r).err); \
	cr_assert_str_eq((r).out, want); \
	cr_assert_str_eq((r).err, ""); \
} while (0)

/* The query failed with `code`, nothing on stdout and exactly `msg` on
 * stderr. */
#define TH_FAIL(r, code, msg) do { \
	cr_assert_eq((r).rc, code, "rc %d, stderr: %s", (r).rc, (r).err); \
	cr_assert_str_eq((r).out, ""); \
	cr_assert_str_eq((r).err, msg); \
} while (0)

/* A growable set of malloc'd lines. */
struct th_lines {
	char **v;
	size_t n, cap;
};
void th_lines_add(struct th_lines *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void th_lines_addn(struct th_lines *l, const char *s, size_t n);
void th_lines_sort(struct th_lines *l);
void th_lines_free(struct th_lines *l);

/* The next line of *p (malloc'd, without its newline; the caller
 * frees), moving *p past it; NULL at the end. */
char *th_line(const char **p);

/* The number of lines of `s` that contain `needle`. */
size_t th_count(const char *s, const char *needle);

/* Everything left in `f`, NUL-terminated (the caller frees it); its
 * length without the NUL in *len when len is not NULL. Asserts on out of
 * memory. */
char *th_slurp(FILE *f, size_t *len);

/* The whole file at `path` as th_slurp gives it, or NULL when it cannot
 * be opened. */
char *th_slurp_path(const char *path, size_t *len);

/* th_slurp_path that asserts the file can be read. */
char *th_read_file(const char *path, size_t *len);

/* Write `n` bytes to `path` opened with `mode` ("wb", "ab"); asserts
 * that every byte was written. */
void th_write_file(const char *path, const void *p, size_t n,
		   const char *mode);

/* The size of the file at `path` (asserts that it exists). */
size_t th_file_size(const char *path);

/* ---- the built programs as children ---- */

/* The programs under test, run from the repository root (make check
 * builds them first). */
#define TH_INDEXER "./lineage-index"
#define TH_QUERY "./lineage-query"
#define TH_GEN "./lineage-gen"

/* What one child did. `out` and `err` are its whole stdout and stderr
 * (NUL-terminated, owned: th_child_free). */
struct th_child {
	int status;  /* exit status, or -1 when it did not exit */
	int sig;     /* the signal that ended it, or 0 */
	int hung;    /* killed after the timeout */
	int setup;   /* 1 when it could not be started as asked (setuid) */
	char *out, *err;
};

struct th_child_opts {
	int timeout_s;   /* 0: none */
	int as_nobody;   /* run as uid/gid 65534 (only when root) */
	rlim_t as_limit; /* RLIMIT_AS in bytes; 0: none */
};

/* Run argv (NULL-terminated; argv[0] a path) with stdout and stderr
 * going to th_dir/child.out and child.err; never fails the test by
 * itself. `o` may be NULL. */
struct th_child th_child_run(char *const argv[],
			     const struct th_child_opts *o);

void th_child_free(struct th_child *c);

#endif
