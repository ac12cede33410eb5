/* test_gen.c - lineage-gen: synth is deterministic and its --edges
 * agree with what it wrote; the committed sample and bad fixtures read
 * back as their expected files say. Runs ./lineage-gen (or $LINEAGE_GEN)
 * from the repository root, as `make check` does. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/runlog.h"
#include "format/wandb.h"
#include "helpers.h"

TestSuite(gen, .init = th_mkdir, .fini = th_rmdir);

static const char *gen_path(void)
{
	const char *p = getenv("LINEAGE_GEN");

	return p && *p ? p : "./lineage-gen";
}

/* Run lineage-gen with `args` (NULL-terminated), stdout and stderr to
 * /dev/null; returns its exit status, or -1 when it did not exit. */
static int run_gen(const char *const *args)
{
	const char *argv[32];
	int n = 0, st;
	pid_t pid;

	cr_assert(access(gen_path(), X_OK) == 0,
		  "%s is not built (make lineage-gen)", gen_path());
	argv[n++] = gen_path();
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	cr_assert(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- listing and reading files ---------------------------------------- */

#define MAX_FILES 4096
static char *found[MAX_FILES];
static size_t nfound;
static size_t root_len;

static int collect(const char *p, const struct stat *st, int flag,
		   struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_F && nfound < MAX_FILES)
		found[nfound++] = strdup(p + root_len);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files under `dir` as sorted paths relative to it (into found[]). */
static size_t list_files(const char *dir)
{
	while (nfound)
		free(found[--nfound]);
	root_len = strlen(dir);
	cr_assert(nftw(dir, collect, 16, FTW_PHYS) == 0, "cannot walk %s",
		  dir);
	cr_assert(nfound < MAX_FILES);
	qsort(found, nfound, sizeof found[0], cmp_str);
	return nfound;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Records of each kind (index lin_rec_kind) in one runlog file, which
 * must read to a clean end. */
static void count_runlog(const char *path, long counts[6])
{
	struct lin_runlog *r;
	struct lin_record rec;
	struct lin_err e;
	char buf[1200];
	int rc;

	lin_err_clear(&e);
	rc = lin_runlog_open(&r, path, NULL, &e);
	cr_assert_eq(rc, 0, "open: %s", lin_err_format(&e, buf, sizeof buf));
	while ((rc = lin_runlog_next(r, &rec, &e)) == 1) {
		cr_assert(rec.kind >= 1 && rec.kind <= 5);
		counts[rec.kind]++;
	}
	cr_assert_eq(rc, 0, "read: %s", lin_err_format(&e, buf, sizeof buf));
	lin_runlog_close(r);
}

static void count_wandb(const char *path, long counts[6])
{
	struct lin_wandb *w;
	struct lin_record rec;
	struct lin_err e;
	int rc;

	lin_err_clear(&e);
	rc = lin_wandb_open(&w, path, NULL, &e);
	cr_assert_eq(rc, 0, "open %s: %s", path, e.msg);
	while ((rc = lin_wandb_next(w, &rec, &e)) == 1)
		counts[rec.kind]++;
	cr_assert_eq(rc, 0, "read %s: %s", path, e.msg);
	lin_wandb_close(w);
}

/* Rows of an edges CSV by kind; checks the header and row shape. */
static void count_edges(const char *path, long *logged, long *used)
{
	size_t len;
	char *csv = th_read_file(path, &len), *line, *save = NULL;
	int first = 1;

	*logged = *used = 0;
	for (line = strtok_r(csv, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (first) {
			cr_assert_str_eq(line, "kind,run,artifact");
			first = 0;
			continue;
		}
		if (!strncmp(line, "logged,", 7) ||
		    !strncmp(line, "relogged,", 9)) {
			(*logged)++;
		} else if (!strncmp(line, "used,", 5)) {
			(*used)++;
		} else {
			cr_assert_fail("bad edges row '%s'", line);
		}
		cr_assert(strstr(line, ":v") != NULL, "row '%s'", line);
	}
	free(csv);
}

/* ---- synth ------------------------------------------------------------- */

static void synth(const char *sub, const char *seed, const char *format)
{
	char out[512], edges[512];
	const char *args[20];
	int n = 0;

	snprintf(out, sizeof out, "%s/%s", th_dir, sub);
	snprintf(edges, sizeof edges, "%s/%s.csv", th_dir, sub);
	args[n++] = "synth";
	args[n++] = "--runs";
	args[n++] = "700";
	args[n++] = "--runs-per-file";
	args[n++] = "9";
	args[n++] = "--gzip-every";
	args[n++] = "3";
	args[n++] = "--seed";
	args[n++] = seed;
	args[n++] = "--format";
	args[n++] = format;
	args[n++] = "--history-bytes";
	args[n++] = "300";
	args[n++] = "--edges";
	args[n++] = edges;
	args[n++] = out;
	args[n] = NULL;
	cr_assert_eq(run_gen(args), 0, "lineage-gen synth failed");
}

/* 1 when the trees under a and b hold the same files, byte for byte. */
static int same_tree(const char *a, const char *b)
{
	char *names[MAX_FILES];
	char pa[1024], pb[1024];
	size_t n, i, la, lb;
	int same = 1;

	n = list_files(a);
	for (i = 0; i < n; i++)
		names[i] = strdup(found[i]);
	if (list_files(b) != n)
		same = 0;
	for (i = 0; i < n; i++) {
		char *da, *db;

		if (same && strcmp(names[i], found[i]))
			same = 0;
		if (same) {
			snprintf(pa, sizeof pa, "%s%s", a, names[i]);
			snprintf(pb, sizeof pb, "%s%s", b, found[i]);
			da = th_read_file(pa, &la);
			db = th_read_file(pb, &lb);
			same = la == lb && !memcmp(da, db, la);
			free(da);
			free(db);
		}
		free(names[i]);
	}
	return same;
}

Test(gen, synth_is_deterministic_for_a_seed)
{
	char a[512], b[512], c[512];
	size_t la, lb;
	char *ea, *eb;

	synth("a", "42", "runlog");
	synth("b", "42", "runlog");
	synth("c", "43", "runlog");
	snprintf(a, sizeof a, "%s/a", th_dir);
	snprintf(b, sizeof b, "%s/b", th_dir);
	snprintf(c, sizeof c, "%s/c", th_dir);
	cr_assert(list_files(a) > 70, "too few files: %zu", nfound);
	cr_assert(same_tree(a, b), "same seed, different output");
	cr_assert(!same_tree(a, c), "different seeds, same output");

	snprintf(a, sizeof a, "%s/a.csv", th_dir);
	snprintf(b, sizeof b, "%s/b.csv", th_dir);
	ea = th_read_file(a, &la);
	eb = th_read_file(b, &lb);
	cr_assert(la == lb && !memcmp(ea, eb, la), "edges differ");
	free(ea);
	free(eb);
}

Test(gen, synth_edges_match_records_written)
{
	long counts[6] = { 0 }, logged, used;
	char dir[512], path[1024], csv[512];
	size_t i, n, gz = 0;

	synth("s", "7", "runlog");
	snprintf(dir, sizeof dir, "%s/s", th_dir);
	n = list_files(dir);
	/* 700 runs, 9 per file: 78 files, every 3rd gzip. */
	cr_assert_eq(n, 78);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s%s", dir, found[i]);
		gz += ends_with(found[i], ".runlog.gz");
		cr_assert(ends_with(found[i], ".runlog") ||
			  ends_with(found[i], ".runlog.gz"), "%s", found[i]);
		count_runlog(path, counts);
	}
	cr_assert_eq(gz, 26);
	/* Every run has a run record; resumed runs have two. */
	cr_assert_geq(counts[LIN_REC_RUN], 700);
	cr_assert_lt(counts[LIN_REC_RUN], 800);
	cr_assert_eq(counts[LIN_REC_FINISH], 700);
	cr_assert_gt(counts[LIN_REC_ALIAS], 0);
	snprintf(csv, sizeof csv, "%s/s.csv", th_dir);
	count_edges(csv, &logged, &used);
	cr_assert_eq(logged, counts[LIN_REC_LOG]);
	cr_assert_eq(used, counts[LIN_REC_USE]);
	cr_assert_gt(logged, 500);
	cr_assert_gt(used, 500);
}

Test(gen, synth_wandb_edges_match_records_written)
{
	long counts[6] = { 0 }, logged, used;
	char dir[512], path[1024], csv[512];
	size_t i, n, offline = 0;

	synth("w", "7", "wandb");
	snprintf(dir, sizeof dir, "%s/w", th_dir);
	n = list_files(dir);
	cr_assert_geq(n, 700);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s%s", dir, found[i]);
		cr_assert(!strncmp(found[i], "/wandb/", 7) &&
			  ends_with(found[i], ".wandb"), "%s", found[i]);
		offline += !strncmp(found[i], "/wandb/offline-run-", 19);
		count_wandb(path, counts);
	}
	cr_assert_gt(offline, 0);
	cr_assert_lt(offline, n);
	cr_assert_eq(counts[LIN_REC_RUN], (long)n);
	snprintf(csv, sizeof csv, "%s/w.csv", th_dir);
	count_edges(csv, &logged, &used);
	cr_assert_eq(logged, counts[LIN_REC_LOG]);
	cr_assert_eq(used, counts[LIN_REC_USE]);
}

Test(gen, usage_errors_exit_64)
{
	static const char *const no_dir[] = { "synth", NULL };
	static const char *const zero[] = { "synth", "--runs", "0", "x",
		NULL };
	static const char *const junk[] = { "synth", "--seed", "1x", "x",
		NULL };
	static const char *const fmt[] = { "synth", "--format", "csv", "x",
		NULL };
	static const char *const cmd[] = { "frobnicate", NULL };
	static const char *const help[] = { "synth", "--help", NULL };

	cr_assert_eq(run_gen(no_dir), 64);
	cr_assert_eq(run_gen(zero), 64);
	cr_assert_eq(run_gen(junk), 64);
	cr_assert_eq(run_gen(fmt), 64);
	cr_assert_eq(run_gen(cmd), 64);
	cr_assert_eq(run_gen(help), 0);
}

Test(gen, unwritable_output_exits_74)
{
	char file[512], under[600];
	const char *args[] = { "sample", under, NULL };
	FILE *fp;

	/* A directory path through a regular file cannot be created. */
	snprintf(file, sizeof file, "%s/plain", th_dir);
	fp = fopen(file, "w");
	cr_assert_not_null(fp);
	fclose(fp);
	snprintf(under, sizeof under, "%s/sub", file);
	cr_assert_eq(run_gen(args), 74);
}

/* ---- the committed sample ---------------------------------------------- */

static const struct {
	const char *path;
	long run, log, use, alias, finish;
} sample_files[] = {
	{ "/mnist-serving/deploy/brave-comet-10.runlog.gz", 1, 1, 1, 0, 1 },
	{ "/mnist/01-upload.runlog", 3, 3, 0, 0, 3 },
	{ "/mnist/02-preprocess.runlog.gz", 2, 2, 2, 1, 2 },
	{ "/mnist/eval/evaluations.runlog", 2, 1, 5, 0, 2 },
	{ "/mnist/train/1-vivid-snow-42.runlog", 1, 1, 2, 0, 0 },
	{ "/mnist/train/2-vivid-snow-42-resumed.runlog.gz", 1, 1, 0, 0, 1 },
	{ "/mnist/train/3-sweep.runlog", 2, 1, 2, 1, 2 },
};

#define NSAMPLE (sizeof sample_files / sizeof sample_files[0])

Test(gen, sample_files_read_back_with_expected_counts)
{
	char path[1024];
	long total[6] = { 0 };
	size_t i, runlogs = 0;

	list_files("fixtures/sample");
	for (i = 0; i < nfound; i++)
		runlogs += strstr(found[i], ".runlog") != NULL;
	cr_assert_eq(runlogs, NSAMPLE);
	for (i = 0; i < NSAMPLE; i++) {
		long c[6] = { 0 };
		int k;

		snprintf(path, sizeof path, "fixtures/sample%s",
			 sample_files[i].path);
		count_runlog(path, c);
		cr_assert_eq(c[LIN_REC_RUN], sample_files[i].run, "%s", path);
		cr_assert_eq(c[LIN_REC_LOG], sample_files[i].log, "%s", path);
		cr_assert_eq(c[LIN_REC_USE], sample_files[i].use, "%s", path);
		cr_assert_eq(c[LIN_REC_ALIAS], sample_files[i].alias, "%s",
			     path);
		cr_assert_eq(c[LIN_REC_FINISH], sample_files[i].finish, "%s",
			     path);
		for (k = 1; k <= 5; k++)
			total[k] += c[k];
	}
	/* expected.md: 11 runs (one resumed), 10 logs, 12 uses. */
	cr_assert_eq(total[LIN_REC_RUN], 12);
	cr_assert_eq(total[LIN_REC_LOG], 10);
	cr_assert_eq(total[LIN_REC_USE], 12);
	cr_assert_eq(total[LIN_REC_FINISH], 11);
}

Test(gen, sample_records_carry_the_tricky_fields)
{
	struct lin_runlog *r;
	struct lin_record rec;
	struct lin_err e;
	int rc, seen_use = 0, seen_alias = 0;

	rc = lin_runlog_open(&r, "fixtures/sample/mnist/train/3-sweep.runlog",
			     NULL, &e);
	cr_assert_eq(rc, 0, "%s", e.msg);
	while ((rc = lin_runlog_next(r, &rec, &e)) == 1) {
		if (rec.kind == LIN_REC_FINISH && rec.exit_code == 1)
			cr_assert_str_eq(rec.state, "failed");
		if (rec.kind == LIN_REC_USE && seen_use++ == 1)
			/* sunny-sky-8's use has no `at`. */
			cr_assert_eq(rec.at, LIN_TIME_NONE);
		if (rec.kind == LIN_REC_ALIAS) {
			seen_alias = 1;
			cr_assert_str_eq(rec.ref, "mnist-19pofeku:v2");
			cr_assert_eq(rec.add.n, 1);
			cr_assert_str_eq(rec.add.v[0], "best");
			cr_assert_eq(rec.remove.n, 1);
			cr_assert_str_eq(rec.remove.v[0], "candidate");
			/* 2024-03-01T12:30:00Z */
			cr_assert_eq(rec.at, (int64_t)1709296200 * 1000000000);
		}
	}
	cr_assert_eq(rc, 0);
	cr_assert(seen_alias);
	lin_runlog_close(r);

	rc = lin_runlog_open(&r, "fixtures/sample/mnist/train/"
			     "2-vivid-snow-42-resumed.runlog.gz", NULL, &e);
	cr_assert_eq(rc, 0, "%s", e.msg);
	cr_assert_eq(lin_runlog_next(r, &rec, &e), 1);
	cr_assert_eq(rec.kind, LIN_REC_RUN);
	cr_assert_str_eq(rec.run_id, "19pofeku");
	cr_assert_eq(rec.tags.n, 2);
	cr_assert_str_eq(rec.tags.v[1], "resumed");
	lin_runlog_close(r);
}

Test(gen, committed_fixtures_match_the_generator)
{
	char out[512], bad[512];
	const char *s_args[] = { "sample", out, NULL };
	const char *b_args[] = { "bad", bad, NULL };

	snprintf(out, sizeof out, "%s/sample", th_dir);
	snprintf(bad, sizeof bad, "%s/bad", th_dir);
	cr_assert_eq(run_gen(s_args), 0);
	cr_assert(same_tree("fixtures/sample", out),
		  "fixtures/sample is stale: rerun lineage-gen sample");
	cr_assert_eq(run_gen(b_args), 0);
	cr_assert(same_tree("fixtures/bad", bad),
		  "fixtures/bad is stale: rerun lineage-gen bad");
}

/* ---- the committed bad files ------------------------------------------- */

static int code_of(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} codes[] = {
		{ "ok", 0 }, { "LIN_EFORMAT", LIN_EFORMAT },
		{ "LIN_EVERSION", LIN_EVERSION },
		{ "LIN_ECORRUPT", LIN_ECORRUPT }, { "LIN_ETRUNC", LIN_ETRUNC },
		{ "LIN_ELIMIT", LIN_ELIMIT }, { "LIN_ERECORD", LIN_ERECORD },
	};
	size_t i;

	for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (!strcmp(codes[i].name, name))
			return codes[i].code;
	cr_assert_fail("unknown code '%s' in expected.txt", name);
	return 1;
}

/* Read one bad file to its end with the reader its content calls for:
 * records returned, records skipped, the fatal code (0: a clean end) and
 * the offset of the last problem. */
struct bad_read {
	int records, skipped, end;
	uint64_t at;
	struct lin_err e;
};

static void read_bad_file(const char *path, struct bad_read *br)
{
	unsigned char head[8] = { 0 };
	struct lin_record rec;
	FILE *f = fopen(path, "rb");
	size_t hn;
	int rc, wandb;

	cr_assert_not_null(f, "%s", path);
	hn = fread(head, 1, sizeof head, f);
	fclose(f);
	wandb = lin_wandb_sniff(head, hn);
	memset(br, 0, sizeof *br);
	br->at = LIN_NO_OFFSET;
	lin_err_clear(&br->e);
	if (wandb) {
		struct lin_wandb *w = NULL;

		rc = lin_wandb_open(&w, path, NULL, &br->e);
		if (rc) {
			br->end = rc;
			br->at = br->e.offset;
			return;
		}
		while ((rc = lin_wandb_next(w, &rec, &br->e)) != 0) {
			if (rc == 1) {
				br->records++;
				continue;
			}
			br->at = br->e.offset;
			if (rc == LIN_ERECORD || rc == LIN_EDAMAGE) {
				br->skipped++;
				continue;
			}
			br->end = rc;
			if (rc != LIN_ETRUNC)
				break;
		}
		lin_wandb_close(w);
		return;
	}
	struct lin_runlog *r = NULL;
	rc = lin_runlog_open(&r, path, NULL, &br->e);
	if (rc) {
		br->end = rc;
		br->at = br->e.offset;
		return;
	}
	while ((rc = lin_runlog_next(r, &rec, &br->e)) != 0) {
		if (rc == 1) {
			br->records++;
		} else if (rc == LIN_ERECORD) {
			br->skipped++;
			br->at = br->e.offset;
		} else {
			br->end = rc;
			br->at = br->e.offset;
			break;
		}
	}
	lin_runlog_close(r);
}

Test(gen, bad_files_fail_as_expected_txt_says)
{
	size_t len;
	char *txt = th_read_file("fixtures/bad/expected.txt", &len);
	char *line, *save = NULL;
	int checked = 0;

	for (line = strtok_r(txt, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[128], code[32], off[32], index[32], path[256];
		char buf[1200];
		struct bad_read br;
		int want, records, skipped;

		if (line[0] == '#')
			continue;
		cr_assert_eq(sscanf(line, "%127s %31s %d %d %31s %31s", name,
				    code, &records, &skipped, off, index), 6,
			     "line '%s'", line);
		want = code_of(code);
		snprintf(path, sizeof path, "fixtures/bad/%s", name);
		read_bad_file(path, &br);
		cr_assert_eq(br.end, want, "%s: got %d (%s), want %s", name,
			     br.end, lin_err_format(&br.e, buf, sizeof buf),
			     code);
		cr_assert_eq(br.records, records, "%s: %d records", name,
			     br.records);
		cr_assert_eq(br.skipped, skipped, "%s: %d skipped", name,
			     br.skipped);
		if (strcmp(off, "-"))
			cr_assert(br.at != LIN_NO_OFFSET &&
				  br.at >= strtoull(off, NULL, 10),
				  "%s: error offset %llu before %s", name,
				  (unsigned long long)br.at, off);
		else
			cr_assert(want != 0 || br.at == LIN_NO_OFFSET,
				  "%s: a problem at %llu", name,
				  (unsigned long long)br.at);
		/* the indexer's outcome follows from how reading ends */
		cr_assert_str_eq(index, want == 0 ? "indexed" :
				 want == LIN_ETRUNC && strstr(name, ".gz") ?
				 "cut" : want == LIN_ETRUNC ? "partial" :
				 "rejected", "%s", name);
		checked++;
	}
	free(txt);
	cr_assert_eq(checked, 20);
}
