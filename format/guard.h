/* guard.h - a damaged store ends a program with a message, never a
 * signal: faults (SIGBUS, SIGSEGV) while a store is open and LMDB's own
 * assertions become "store damaged" on stderr and exit status 65.
 *
 * LMDB keeps no page checksums and reads the map in place, so a copy
 * that was cut short (SIGBUS past the end of the file) or whose bytes
 * were damaged (wild page numbers and node offsets: SIGSEGV, or an
 * assertion and abort()) cannot be made safe by checking return codes.
 * The programs opt in with lin_guard_init(); library users (the tests)
 * keep their own signal handling unless they call it. */
#ifndef LIN_GUARD_H
#define LIN_GUARD_H

#include <setjmp.h>

#include <lmdb.h>

/* The exit status a guarded fault ends the program with (the programs'
 * "bad data"). */
#define LIN_GUARD_EXIT 65

/* Install the handlers for SIGBUS and SIGSEGV (on an alternate stack)
 * for program `prog` (the message prefix; static storage). Idempotent.
 * Faults outside an armed period keep their default action. */
void lin_guard_init(const char *prog);

/* Arm the guard for the store at `path` (copied): a fault from now on
 * writes "PROG: PATH: store damaged (SIGBUS while reading it); restore a
 * copy, or rebuild it: lineage-index --store PATH --rebuild" and ends
 * the process with LIN_GUARD_EXIT. Nested arms are counted; the message
 * names the last store armed. Without lin_guard_init only counts. */
void lin_guard_arm(const char *path);

/* Undo one lin_guard_arm. */
void lin_guard_disarm(void);

/* While `jb` is set (not NULL) by a thread, a guarded fault or an LMDB
 * assertion in that thread jumps there (siglongjmp(*jb, SIGNAL); SIGABRT
 * for an assertion) instead of ending the process: for a reader that can
 * tell damage from a writer's concurrent commit (a store read without
 * its lock file), that can go on without the store (--rebuild reading
 * what it can), or whose thread only reads ahead (query/prefetch.c).
 * After the jump the caller must only abort the store's transactions and
 * close it, and must not use anything it read from it. */
void lin_guard_catch(sigjmp_buf *jb);

/* How many faults were caught by lin_guard_catch so far. What the
 * abandoned work had allocated is never freed: the programs end with
 * _exit(2) after one, so that no leak checker mistakes it for a leak. */
int lin_guard_caught(void);

/* What a fault `sig` (SIGBUS, SIGSEGV, or SIGABRT for an assertion)
 * says about the store, for "store damaged (...)". Static text. */
const char *lin_guard_why(int sig);

/* Route LMDB's assertion failures in `env` through the same exit
 * (they otherwise call abort()). */
void lin_guard_env(MDB_env *env);

/* "restore a copy, or rebuild it: lineage-index --store PATH --rebuild"
 * into buf; returns buf. */
const char *lin_guard_advice(char *buf, size_t n, const char *path);

#endif
