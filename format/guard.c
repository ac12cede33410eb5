/* guard.c - faults while reading a damaged store become a message and
 * exit 65 (see guard.h). Everything the handlers do is async-signal-safe:
 * the message is formatted when the guard is armed, and the handler only
 * calls write(2) and _exit(2). */
#include "guard.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "lineage";
static int installed;
static volatile sig_atomic_t armed;
/* Per thread: a reader's helper threads (query/prefetch.c) catch their
 * own faults. Initial-exec TLS (the library is linked statically), so
 * the handler may read it. */
static __thread sigjmp_buf *volatile catcher;
static volatile sig_atomic_t caught;  /* atomic adds: several threads */
/* Two prepared messages, one per signal name; the handler picks one. */
static char msg_bus[1400], msg_segv[1400], msg_head[700], msg_tail[1200];
static size_t len_bus, len_segv, len_head, len_tail;

const char *lin_guard_advice(char *buf, size_t n, const char *path)
{
	snprintf(buf, n, "restore a copy, or rebuild it: lineage-index "
		 "--store %s --rebuild", path);
	return buf;
}

static void put(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (!armed) {
		/* Not a store read: the default action (a core dump) when
		 * the faulting instruction runs again. */
		signal(sig, SIG_DFL);
		return;
	}
	if (catcher) {
		__atomic_add_fetch(&caught, 1, __ATOMIC_RELAXED);
		siglongjmp(*catcher, sig);
	}
	if (sig == SIGBUS)
		put(msg_bus, len_bus);
	else
		put(msg_segv, len_segv);
	_exit(LIN_GUARD_EXIT);
}

void lin_guard_init(const char *name)
{
	static char altstack[64 * 1024];
	stack_t ss;
	struct sigaction sa;

	if (name)
		prog = name;
	if (installed)
		return;
	/* An alternate stack: a damaged store must not turn a deep
	 * recursion's stack overflow into a silent death either. */
	ss.ss_sp = altstack;
	ss.ss_size = sizeof altstack;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	installed = 1;
}

static size_t prepare(char *buf, size_t n, const char *path,
		      const char *why)
{
	char advice[1100];
	int len = snprintf(buf, n, "%s: %s: store damaged (%s); %s\n", prog,
			   path, why, lin_guard_advice(advice, sizeof advice,
						       path));
	return len < 0 ? 0 : (size_t)len >= n ? n - 1 : (size_t)len;
}

void lin_guard_arm(const char *path)
{
	/* Prepare before arming: the handler must never see a message
	 * being written. */
	if (armed == 0 || path) {
		sig_atomic_t was = armed;
		armed = 0;
		len_bus = prepare(msg_bus, sizeof msg_bus, path,
				  lin_guard_why(SIGBUS));
		len_segv = prepare(msg_segv, sizeof msg_segv, path,
				   lin_guard_why(SIGSEGV));
		/* An assertion: LMDB's words go between head and tail. */
		int n = snprintf(msg_head, sizeof msg_head, "%s: %s: store "
				 "damaged (LMDB found an impossible page: ",
				 prog, path);
		len_head = n < 0 ? 0 : strlen(msg_head);
		char advice[1100];
		n = snprintf(msg_tail, sizeof msg_tail, "); %s\n",
			     lin_guard_advice(advice, sizeof advice, path));
		len_tail = n < 0 ? 0 : strlen(msg_tail);
		armed = was;
	}
	armed++;
}

void lin_guard_disarm(void)
{
	if (armed > 0)
		armed--;
}

static void on_assert(MDB_env *env, const char *what)
{
	(void)env;
	if (catcher) {
		__atomic_add_fetch(&caught, 1, __ATOMIC_RELAXED);
		siglongjmp(*catcher, SIGABRT);
	}
	if (len_head) {
		put(msg_head, len_head);
		put(what, strlen(what));
		put(msg_tail, len_tail);
	} else {
		put(prog, strlen(prog));
		{
			const char *m = ": store damaged (LMDB found an "
					"impossible page: ";
			put(m, strlen(m));
		}
		put(what, strlen(what));
		put(")\n", 2);
	}
	_exit(LIN_GUARD_EXIT);
}

const char *lin_guard_why(int sig)
{
	switch (sig) {
	case SIGBUS:
		return "SIGBUS while reading it: the file is shorter than its "
		       "pages say";
	case SIGSEGV:
		return "SIGSEGV while reading it: a page points outside the "
		       "store";
	default:
		return "LMDB found an impossible page";
	}
}

int lin_guard_caught(void)
{
	return __atomic_load_n(&caught, __ATOMIC_RELAXED);
}

void lin_guard_catch(sigjmp_buf *jb)
{
	catcher = jb;
}

void lin_guard_env(MDB_env *env)
{
	mdb_env_set_assert(env, on_assert);
}
