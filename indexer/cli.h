/* cli.h - lineage-index's command line as a function, called by the
 * program's main() and by the tests (in-process, like lin_query_main). */
#ifndef LIN_INDEXER_CLI_H
#define LIN_INDEXER_CLI_H

#include "format/opts.h"

/* Parse argv as lineage-index does, index, print the summary on stdout
 * and errors on stderr; returns the program's exit code (README,
 * lineage-index(1)). May be called more than once in one process. */
int lin_index_main(int argc, char **argv);

/* lineage-index's options: its getopt inputs and the option lines of
 * its --help come from this one table (format/opts.h). */
extern const struct lin_opt lin_index_opts[];

#endif
