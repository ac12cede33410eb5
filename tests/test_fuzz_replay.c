/* test_fuzz_replay.c - the inputs that fuzzing found to misbehave
 * (tests/fuzz/crashes/), replayed through the readers, the indexer and
 * the queries on every `make check`. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/runlog.h"
#include "format/wandb.h"
#include "indexer/ingest.h"
#include "query/query.h"

#include "helpers.h"

#define CRASHES "tests/fuzz/crashes"

static int read_runlog(const char *path, struct lin_err *first_bad)
{
	struct lin_runlog *r;
	struct lin_record rec;
	struct lin_err err;
	int rc, records = 0;

	/* the small limits of the fuzz builds (LIN_FUZZ_LIMITS), under
	 * which most reproducers were found */
	struct lin_runlog_limits lim = { (size_t)1 << 20, (size_t)64 << 10,
					 4096, 32, (uint64_t)1 << 20 };
	lin_err_clear(first_bad);
	if (lin_runlog_open(&r, path, &lim, &err))
		return -1;
	while ((rc = lin_runlog_next(r, &rec, &err)) != 0) {
		if (rc == 1) {
			records++;
			continue;
		}
		if (rc != LIN_ERECORD)
			break;
		if (!first_bad->code)
			*first_bad = err;
	}
	lin_runlog_close(r);
	return records;
}

static void read_wandb(const char *path)
{
	struct lin_wandb *w;
	struct lin_record rec;
	struct lin_err err;
	int rc, n = 0;

	if (lin_wandb_open(&w, path, NULL, &err))
		return;
	while ((rc = lin_wandb_next(w, &rec, &err)) != 0 && n++ < 100000)
		cr_assert(rc == 1 || rc == LIN_ERECORD || rc == LIN_EDAMAGE ||
			  rc == LIN_ETRUNC, "%s: unexpected %d", path, rc);
	lin_wandb_close(w);
}

static int query(const char *store, const char *a, const char *b,
		 const char *c)
{
	char *argv[] = { "lineage-query", "--store", (char *)store,
			 (char *)a, (char *)b, (char *)c, NULL };
	int argc = c ? 6 : b ? 5 : 4;
	FILE *out = fopen("/dev/null", "w"), *err = fopen("/dev/null", "w");
	int rc = lin_query_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return rc;
}

Test(fuzz, every_reproducer_is_handled)
{
	DIR *d = opendir(CRASHES);
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(d);
	th_mkdir();
	while ((de = readdir(d))) {
		char path[512], store[TH_PATH_MAX];
		struct lin_err first, err;
		struct lin_index_stats st;
		struct lin_index_opts o = { 0 };
		const char *paths[1] = { path };
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, CRASHES "/%s", de->d_name);
		read_runlog(path, &first);
		read_wandb(path);
		th_path(store, "%d.lmdb", n);
		cr_assert_eq(lin_index_paths(store, paths, 1, &o, &st, &err), 0,
			     "%s: %s", path, err.msg);
		int rc = query(store, "ls", "types", NULL);
		cr_assert(rc == 0, "%s: ls types exits %d", path, rc);
		rc = query(store, "check", NULL, NULL);
		cr_assert(rc == 0, "%s: check exits %d", path, rc);
		rc = query(store, "stats", NULL, NULL);
		cr_assert(rc == 0, "%s: stats exits %d", path, rc);
		n++;
	}
	closedir(d);
	th_rmdir();
	cr_assert_geq(n, 4, "only %d reproducers", n);
}

/* A positive time stored as a signed int past INT64_MAX / 1e9 seconds
 * was multiplied into garbage (fuzz_runlog-time-int-overflow); it makes
 * the record invalid now. */
Test(fuzz, huge_signed_time_is_an_invalid_record)
{
	static const unsigned char file[] = {
		0x81, 0xa6, 'r', 'u', 'n', 'l', 'o', 'g', 0x01,
		/* {"t":"run","id":"r","started_at": int64 9223372037} */
		0x83, 0xa1, 't', 0xa3, 'r', 'u', 'n', 0xa2, 'i', 'd', 0xa1, 'r',
		0xaa, 's', 't', 'a', 'r', 't', 'e', 'd', '_', 'a', 't',
		0xd3, 0, 0, 0, 0x02, 0x25, 0xc1, 0x7d, 0x05
	};
	char path[] = "/tmp/lin-time-XXXXXX";
	int fd = mkstemp(path);
	struct lin_err first;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, file, sizeof file), (ssize_t)sizeof file);
	close(fd);
	int records = read_runlog(path, &first);
	unlink(path);
	cr_assert_eq(records, 0);
	cr_assert_eq(first.code, LIN_ERECORD, "%s", first.msg);
	cr_assert_eq(first.offset, 9);
	cr_assert(strstr(first.msg, "64-bit nanosecond range"), "%s",
		  first.msg);
}
