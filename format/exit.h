/* exit.h - the exit statuses and the version of both programs
 * (lineage-index and lineage-query), declared once. The statuses are
 * documented in README.md and the man pages and never renumbered; they
 * follow sysexits.h where one fits. */
#ifndef LIN_EXIT_H
#define LIN_EXIT_H

/* The version both programs print for --version. */
#define LIN_VERSION "0.1.0"

enum lin_exit {
	LIN_EXIT_OK = 0,        /* done (an empty answer is ok too) */
	LIN_EXIT_NOTFOUND = 1,  /* lineage-query: a name resolved to nothing;
				   diff: differences */
	LIN_EXIT_USAGE = 64,    /* bad option or argument */
	LIN_EXIT_DATA = 65,     /* bad data: a file rejected or records
				   skipped (index), a damaged store (query) */
	LIN_EXIT_NOINPUT = 66,  /* a path or store given does not exist */
	LIN_EXIT_SOFTWARE = 70, /* internal error (out of memory) */
	LIN_EXIT_IO = 74,       /* the store cannot be opened, read or
				   written, or the output written */
	LIN_EXIT_TEMPFAIL = 75  /* lineage-query: a writer kept changing a
				   store read without its lock file */
};

#endif
