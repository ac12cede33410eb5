/* bare.c - the floor for a cold query: a C program that opens an LMDB
 * environment read-only, reads one key and prints it. */
#include <stdio.h>
#include <lmdb.h>

int main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 6, "schema" }, v;

	if (argc != 2 || mdb_env_create(&env) || mdb_env_set_maxdbs(env, 32) ||
	    mdb_env_open(env, argv[1], MDB_RDONLY | MDB_NOSUBDIR, 0644) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) ||
	    mdb_dbi_open(txn, "meta", 0, &dbi) || mdb_get(txn, dbi, &k, &v)) {
		fprintf(stderr, "lineage-bare: cannot read '%s'\n",
			argc > 1 ? argv[1] : "");
		return 1;
	}
	printf("schema %zu bytes\n", v.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return 0;
}
