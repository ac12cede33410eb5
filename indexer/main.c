/* main.c - the lineage-index program; everything else is in the library
 * (indexer/cli.c: options, progress and the summary; ingest.c: the
 * work), so that the tests run the indexer in-process. */
#include "indexer/cli.h"

int main(int argc, char **argv)
{
	return lin_index_main(argc, argv);
}
