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

/* Route LMDB's assertion failures in `env` through the same exit
 * (they otherwise call abort()). */
void lin_guard_env(MDB_env *env);

/* "restore a copy, or rebuild it: lineage-index --store PATH --rebuild"
 * into buf; returns buf. */
const char *lin_guard_advice(char *buf, size_t n, const char *path);

#endif
