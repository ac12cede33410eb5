/* child.c - running the built programs from the tests (child.h). */
#include "child.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void child_mkdir(char *dir, const char *name)
{
	snprintf(dir, 256, "/tmp/lin-%s-XXXXXX", name);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

void child_rmdir(const char *dir)
{
	char cmd[320];
	snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' 2>/dev/null; "
		 "rm -rf '%s'", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

const char *child_path(const char *dir, const char *fmt, ...)
{
	static char buf[8][512];
	static int i;
	char name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
	return buf[i];
}

char *child_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

void child_free(struct child *c)
{
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
}

/* In the child: become nobody, limit the address space; exit 126 when
 * that cannot be done (reported as setup). */
static void prepare(const struct child_opts *o)
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

struct child child_run(const char *dir, char *const argv[],
		       const struct child_opts *o)
{
	static const struct child_opts none = { 0, 0, 0 };
	struct child c = { -1, 0, 0, 0, NULL, NULL };
	char out[320], err[320];
	pid_t pid;
	int st;

	if (!o)
		o = &none;
	snprintf(out, sizeof out, "%s/child.out", dir);
	snprintf(err, sizeof err, "%s/child.err", dir);
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
	c.out = child_slurp(out);
	c.err = child_slurp(err);
	return c;
}
