/* helpers.c - shared test helpers (helpers.h). */
#include "helpers.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "format/grow.h"
#include "format/runlog_writer.h"
#include "indexer/cli.h"
#include "query/query.h"

char th_dir[256];

void th_mkdir(void)
{
	snprintf(th_dir, sizeof th_dir, "/tmp/lin-test-XXXXXX");
	cr_assert_not_null(mkdtemp(th_dir));
	/* Let an unprivileged child (e2e's read-only test) reach it. */
	chmod(th_dir, 0755);
}

void th_rmdir(void)
{
	char cmd[600];

	if (getenv("TH_KEEP")) {    /* to try the programs on what is left */
		fprintf(stderr, "kept %s\n", th_dir);
		return;
	}

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

const char *th_at(const char *fmt, ...)
{
	static char buf[8][TH_PATH_MAX];
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

int th_index(const char *arg, ...)
{
	char *argv[64] = { "lineage-index" };
	int argc = 1, saved[2], rc;
	char log[TH_PATH_MAX];
	va_list ap;

	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		cr_assert_lt(argc, 63, "th_index: too many arguments");
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	/* The program writes to the process's stdout and stderr: point
	 * both at the log for the call, as th_sh does for a child. */
	int fd = open(th_path(log, "stderr.log"),
		      O_WRONLY | O_CREAT | O_APPEND, 0644);
	cr_assert_geq(fd, 0, "%s: %s", log, strerror(errno));
	fflush(stdout);
	fflush(stderr);
	saved[0] = dup(STDOUT_FILENO);
	saved[1] = dup(STDERR_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rc = lin_index_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved[0], STDOUT_FILENO);
	dup2(saved[1], STDERR_FILENO);
	close(saved[0]);
	close(saved[1]);
	return rc;
}

static FILE *rl_fp;
static struct lin_runlog_writer *rl_w;
static const char *rl_entity, *rl_project;

void th_rl_file(const char *path, int gz, const char *entity,
		const char *project)
{
	char dir[TH_PATH_MAX];

	snprintf(dir, sizeof dir, "%s", path);
	for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		mkdir(dir, 0755);
		*s = '/';
	}
	rl_fp = fopen(path, "wb");
	cr_assert_not_null(rl_fp, "%s: %s", path, strerror(errno));
	cr_assert_eq(lin_runlog_writer_open(&rl_w, rl_fp, gz, "test",
					    LIN_TIME_NONE), 0);
	rl_entity = entity;
	rl_project = project;
}

void th_rl_open(const char *entity, const char *project, const char *fmt,
		...)
{
	char name[256], file[TH_PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	th_rl_file(th_path(file, "%s", name), 0, entity, project);
}

void th_rl_close(void)
{
	cr_assert_eq(lin_runlog_writer_close(rl_w), 0);
	cr_assert_eq(fclose(rl_fp), 0);
	rl_w = NULL;
	rl_fp = NULL;
}

void th_rl_put(struct lin_record *r)
{
	/* the other records are the file's run's */
	if (r->kind == LIN_REC_RUN && !r->entity && !r->project) {
		r->entity = rl_entity;
		r->project = rl_project;
	}
	cr_assert_eq(lin_runlog_write(rl_w, r), 0);
}

void th_rl_run(const char *rid, const char *name, const char *job,
	       int64_t started)
{
	th_rl_run_tagged(rid, name, job, started, NULL);
}

void th_rl_run_tagged(const char *rid, const char *name, const char *job,
		      int64_t started, const char *const *tags)
{
	struct lin_record r;
	size_t n = 0;

	while (tags && tags[n])
		n++;
	lin_record_clear(&r);
	r.kind = LIN_REC_RUN;
	r.run_id = rid;
	r.name = name;
	r.job_type = job;
	r.started_at = started;
	r.tags = (struct lin_strv){ tags, n };
	th_rl_put(&r);
}

void th_rl_log(const char *coll, const char *type, const char *digest,
	       int64_t at, const char *alias)
{
	struct lin_record r;
	const char *a[1] = { alias };

	lin_record_clear(&r);
	r.kind = LIN_REC_LOG;
	r.coll = coll;
	r.type = type;
	r.digest = digest;
	r.at = at;
	if (alias) {
		r.aliases.v = a;
		r.aliases.n = 1;
	}
	th_rl_put(&r);
}

void th_rl_use(const char *ref, int64_t at, const char *digest)
{
	struct lin_record r;

	lin_record_clear(&r);
	r.kind = LIN_REC_USE;
	r.ref = ref;
	r.digest = digest;
	r.at = at;
	th_rl_put(&r);
}

void th_rl_alias(const char *ref, const char *add, const char *rm,
		 int64_t at)
{
	struct lin_record r;
	const char *a[1] = { add }, *b[1] = { rm };

	lin_record_clear(&r);
	r.kind = LIN_REC_ALIAS;
	r.ref = ref;
	if (add)
		r.add = (struct lin_strv){ a, 1 };
	if (rm)
		r.remove = (struct lin_strv){ b, 1 };
	r.at = at;
	th_rl_put(&r);
}

void th_rl_finish(const char *state, int exit_code, int64_t at)
{
	struct lin_record r;

	lin_record_clear(&r);
	r.kind = LIN_REC_FINISH;
	r.state = state;
	r.exit_code = exit_code;
	r.at = at;
	th_rl_put(&r);
}

struct th_res th_query(const char *store, ...)
{
	static char *out, *err;
	char *argv[40] = { "lineage-query", "--store", (char *)store };
	int argc = 3;
	size_t on = 0, en = 0;
	struct th_res r;
	va_list ap;

	free(out);
	free(err);
	out = err = NULL;
	va_start(ap, store);
	for (const char *a; (a = va_arg(ap, const char *));) {
		cr_assert_lt(argc, 39, "th_query: too many arguments");
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	FILE *o = open_memstream(&out, &on);
	FILE *e = open_memstream(&err, &en);
	cr_assert(o && e);
	r.rc = lin_query_run(argc, argv, o, e);
	fclose(o);
	fclose(e);
	r.out = out;
	r.err = err;
	return r;
}

static void lines_room(struct th_lines *l)
{
	cr_assert_eq(LIN_GROW(l->v, l->cap, l->n + 1, 64), 0);
}

void th_lines_add(struct th_lines *l, const char *fmt, ...)
{
	va_list ap;

	lines_room(l);
	va_start(ap, fmt);
	cr_assert_gt(vasprintf(&l->v[l->n++], fmt, ap), 0);
	va_end(ap);
}

void th_lines_addn(struct th_lines *l, const char *s, size_t n)
{
	lines_room(l);
	l->v[l->n] = strndup(s, n);
	cr_assert_not_null(l->v[l->n]);
	l->n++;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void th_lines_sort(struct th_lines *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_line);
}

void th_lines_free(struct th_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
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

char *th_slurp(FILE *f, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	char chunk[4096];

	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		cr_assert_eq(LIN_GROW(buf, cap, n + got + 1, 0), 0);
		memcpy(buf + n, chunk, got);
		n += got;
	}
	if (!buf)
		buf = calloc(1, 1);
	cr_assert_not_null(buf);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

char *th_slurp_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *s = th_slurp(f, len);
	fclose(f);
	return s;
}

char *th_read_file(const char *path, size_t *len)
{
	char *s = th_slurp_path(path, len);

	cr_assert_not_null(s, "cannot open %s: %s", path, strerror(errno));
	return s;
}

void th_write_file(const char *path, const void *p, size_t n,
		   const char *mode)
{
	FILE *fp = fopen(path, mode);

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(p, 1, n, fp), n, "%s: short write", path);
	cr_assert_eq(fclose(fp), 0, "%s: %s", path, strerror(errno));
}

size_t th_file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return (size_t)st.st_size;
}

/* ---- the built programs as children ---- */

void th_child_free(struct th_child *c)
{
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
}

/* In the child: become nobody, limit the address space; exit 126 when
 * that cannot be done (reported as setup). */
static void prepare(const struct th_child_opts *o)
{
	if (o->as_limit) {
		struct rlimit rl = { o->as_limit, o->as_limit };
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(126);
	}
	if (o->as_nobody && geteuid() == 0 &&
	    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
		_exit(126);
}

struct th_child th_child_run(char *const argv[],
			     const struct th_child_opts *o)
{
	static const struct th_child_opts none = { 0, 0, 0 };
	struct th_child c = { -1, 0, 0, 0, NULL, NULL };
	char out[TH_PATH_MAX], err[TH_PATH_MAX];
	pid_t pid;
	int st;

	if (!o)
		o = &none;
	th_path(out, "child.out");
	th_path(err, "child.err");
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		prepare(o);
		execv(argv[0], argv);
		_exit(127);
	}
	time_t start = time(NULL);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		cr_assert(w == 0 || errno == EINTR);
		if (o->timeout_s && time(NULL) - start > o->timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			c.hung = 1;
			break;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(st))
		c.status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		c.sig = WTERMSIG(st);
	c.setup = c.status == 126;
	c.out = th_read_file(out, NULL);
	c.err = th_read_file(err, NULL);
	return c;
}
