/* main.c - the lineage-index program; everything else is in the library
 * (indexer/cli.c: options, progress and the summary; ingest.c: the
 * work), so that the tests run the indexer in-process. */
#include <stdio.h>
#include <unistd.h>

#include "format/guard.h"
#include "indexer/cli.h"

int main(int argc, char **argv)
{
	int rc = lin_index_main(argc, argv);

	if (lin_guard_caught()) {
		/* --rebuild abandoned a read of a damaged store mid-way:
		 * end without exit handlers over what it left allocated */
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	return rc;
}
