/* main.c - the lineage-query program; everything else is in the library
 * (query/cli.c and the subcommand files). */
#include "query.h"

int main(int argc, char **argv)
{
	return lin_query_main(argc, argv);
}
