/* test_damage.c - damaged copies of a store: every lineage-query command
 * and lineage-index on copies cut short and copies with random or zeroed
 * byte ranges. None may die by a signal or hang; a cut-short copy is
 * refused with "truncated: N of M bytes" and the way out; and
 * `check --deep` reports every damaged copy on which any query answered
 * differently from the good store. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/schema.h"
#include "helpers.h"

#define INDEXER TH_INDEXER
#define QUERY TH_QUERY
#define GEN TH_GEN
#define MAXARG 12
#define TIMEOUT_S 60  /* a hang; generous for a loaded machine */

TestSuite(damage, .init = th_mkdir, .fini = th_rmdir);

#define P(...) th_at(__VA_ARGS__)
#define run_free th_child_free
#define slurp(path) th_read_file(path, NULL)

static struct th_child run(char *const argv[])
{
	struct th_child_opts o = { TIMEOUT_S, 0, 0 };
	return th_child_run(argv, &o);
}

/* ---- the queries ----------------------------------------------------- */

/* Every lineage-query command, with arguments taken from the good
 * store: words[] are filled in by pick_names(). */
static char ref1[256], ref2[256], coll1[256], run1[256], run2[256];

static const char *const commands[][MAXARG] = {
	{ "stats" }, { "stats", "--json" }, { "check" },
	{ "ls", "runs" }, { "ls", "artifacts" }, { "ls", "collections" },
	{ "ls", "types" },
	{ "artifact", ref1 }, { "artifact", "--history", coll1 },
	{ "logged-by", ref1 }, { "used-by", ref1 },
	{ "run", run1 }, { "logged", run1 }, { "used", run2 },
	{ "lineage", ref1, "--both" }, { "lineage", run2, "--up" },
	{ "path", ref1, ref2 }, { "path", "--all", ref1, ref2 },
	{ "impact", ref1 }, { "provenance", ref2 },
	{ "graph", ref1, "--both" }, { "graph", "--format", "json", run2 },
	{ "diff", "--as-of-a", "2000-01-01" }, { "stats", "--as-of", "2024-01-01" },
	/* issue 13's read commands and output formats */
	{ "export", "--format", "openlineage", "--all" },
	{ "graph", "--all" }, { "graph", "--all", "--explode" },
	{ "ls", "runs", "--format", "tsv" },
	{ "lineage", ref1, "--both", "--format", "csv" },
};
#define NCMD (sizeof commands / sizeof *commands)

/* `prog --store STORE CMD...` (as uid 65534 when `nobody` and root,
 * who ignores permission bits). */
static struct th_child query_with(const char *prog, int nobody,
			       const char *store, const char *const *cmd)
{
	struct th_child_opts o = { TIMEOUT_S, nobody, 0 };
	char *argv[MAXARG + 4];
	int n = 0;

	argv[n++] = (char *)prog;
	argv[n++] = (char *)"--store";
	argv[n++] = (char *)store;
	for (int i = 0; i < MAXARG && cmd[i]; i++)
		argv[n++] = (char *)cmd[i];
	argv[n] = NULL;
	return th_child_run(argv, &o);
}

static struct th_child query(const char *store, const char *const *cmd)
{
	return query_with(QUERY, 0, store, cmd);
}

/* The second word of the first and middle lines of a listing. */
static void nth_word2(const char *text, int line, char *out, size_t n)
{
	const char *p = text;
	for (int i = 0; i < line && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	cr_assert(p && *p, "listing too short");
	cr_assert_eq(sscanf(p, "%*s %255s", out), 1);
	(void)n;
}

static void pick_names(const char *store)
{
	const char *const ls_a[] = { "ls", "artifacts", NULL };
	const char *const ls_r[] = { "ls", "runs", NULL };
	struct th_child a = query(store, ls_a), r = query(store, ls_r);

	cr_assert_eq(a.status, 0);
	cr_assert_eq(r.status, 0);
	nth_word2(a.out, 0, ref1, sizeof ref1);
	nth_word2(a.out, 40, ref2, sizeof ref2);
	nth_word2(r.out, 3, run1, sizeof run1);
	nth_word2(r.out, 60, run2, sizeof run2);
	snprintf(coll1, sizeof coll1, "%s", ref1);
	char *colon = strrchr(coll1, ':');
	if (colon)
		*colon = '\0';
	run_free(&a);
	run_free(&r);
}

/* ---- copies ---------------------------------------------------------- */

static void copy_file(const char *from, const char *to, off_t len)
{
	char *buf = slurp(from);
	struct stat st;
	cr_assert_eq(stat(from, &st), 0);
	if (len < 0 || len > st.st_size)
		len = st.st_size;
	unlink(to);
	FILE *f = fopen(to, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, (size_t)len, f), (size_t)len);
	cr_assert_eq(fclose(f), 0);
	free(buf);
	char lock[600];
	snprintf(lock, sizeof lock, "%s-lock", to);
	unlink(lock);
}

/* xorshift64*: the damage is reproducible from its seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Overwrite `len` bytes at a seeded offset past the two meta pages with
 * random bytes or zeros. Returns the offset. */
static long damage(const char *path, uint64_t seed, int zero, long len)
{
	struct stat st;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	cr_assert_eq(stat(path, &st), 0);
	long lo = 8192, span = st.st_size - lo - len;
	cr_assert_gt(span, 0, "store too small to damage");
	long off = lo + (long)(rnd(&s) % (uint64_t)span);
	unsigned char *b = malloc((size_t)len);
	for (long i = 0; i < len; i++)
		b[i] = zero ? 0 : (unsigned char)rnd(&s);
	int fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, b, (size_t)len, off), len);
	close(fd);
	free(b);
	return off;
}

static void no_signal(const struct th_child *r, const char *what)
{
	cr_assert(!r->hung, "%s hung (killed after %d s)", what, TIMEOUT_S);
	cr_assert_eq(r->sig, 0, "%s died by signal %d; stderr: %s", what,
		     r->sig, r->err);
}

/* The good store, its answers, and a small file for lineage-index. */
static struct th_child good[NCMD];

static void setup_good(void)
{
	char *gen[] = { (char *)GEN, "synth", "--runs", "1500",
			"--runs-per-file", "10", "--seed", "9",
			(char *)P("arch"), NULL };
	struct th_child g = run(gen);
	cr_assert_eq(g.status, 0, "lineage-gen: %s", g.err);
	run_free(&g);
	char *ix[] = { (char *)INDEXER, "--store", (char *)P("good.lmdb"),
		       (char *)P("arch"), NULL };
	/* groups cut by record count alone: the store's pages, and so
	 * what each seed's damage hits, do not depend on the machine */
	setenv("LINEAGE_GROUP_MS", "600000", 1);
	g = run(ix);
	unsetenv("LINEAGE_GROUP_MS");
	cr_assert_eq(g.status, 0, "lineage-index: %s", g.err);
	run_free(&g);
	char *more[] = { (char *)GEN, "synth", "--runs", "20",
			 "--runs-per-file", "5", "--seed", "10",
			 (char *)P("more"), NULL };
	g = run(more);
	cr_assert_eq(g.status, 0);
	run_free(&g);
	pick_names(P("good.lmdb"));
	for (size_t i = 0; i < NCMD; i++) {
		good[i] = query(P("good.lmdb"), commands[i]);
		cr_assert(good[i].status == 0 || good[i].status == 1,
			  "good store: command %zu (%s) exit %d: %s", i,
			  commands[i][0], good[i].status, good[i].err);
	}
}

static struct th_child index_more(const char *store)
{
	char *ix[] = { (char *)INDEXER, "--store", (char *)store,
		       (char *)P("more"), NULL };
	return run(ix);
}

/* lineage-index writing into a damaged copy. LMDB trusts the pages it
 * reads: copying a damaged page for a write, its own memcpy can run past
 * the page buffer. Under AddressSanitizer (make check-san) that report
 * comes from inside liblmdb and is the damage's doing, so for this one
 * child the reports of interceptors called from liblmdb are suppressed;
 * everything else still counts. */
static struct th_child index_damaged(const char *store)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char *saved = asan ? strdup(asan) : NULL;
	struct th_child r;

	if (saved) {
		char supp[600], opts[2000];
		snprintf(supp, sizeof supp, "%s/lmdb.supp", th_dir);
		FILE *f = fopen(supp, "w");
		cr_assert_not_null(f);
		fputs("interceptor_via_lib:liblmdb.so\n", f);
		cr_assert_eq(fclose(f), 0);
		snprintf(opts, sizeof opts, "%s:suppressions=%s", saved, supp);
		setenv("ASAN_OPTIONS", opts, 1);
	}
	r = index_more(store);
	if (saved) {
		setenv("ASAN_OPTIONS", saved, 1);
		free(saved);
	}
	return r;
}

/* A damaged page that LMDB's cursor walks round for ever (more than 50
 * million zero-byte duplicates; fixtures/stores/README.md): every
 * command stops with the damage named, none is killed by the timeout.
 * The store's schema number is set to the program's first, so the
 * damage, not the schema check, is what answers. */
Test(damage, a_cursor_going_round_damaged_pages_stops, .timeout = 600)
{
	char store[512];
	snprintf(store, sizeof store, "%s", P("circle.lmdb"));
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "gzip -dc fixtures/stores/"
		 "damaged-circle.lmdb.gz > '%s'", store);
	cr_assert_eq(system(cmd), 0);
	size_t n;
	char *b = th_read_file(store, &n);
	int patched = 0;
	const char key[] = "schema\0\0\0";
	for (size_t i = 0; i + sizeof key < n; i++)
		if (!memcmp(b + i, key, sizeof key - 1)) {
			int fd = open(store, O_WRONLY);
			unsigned char v = (unsigned char)LIN_SCHEMA_VERSION;
			cr_assert_eq(pwrite(fd, &v, 1, (off_t)(i + 9)), 1);
			close(fd);
			patched++;
		}
	free(b);
	cr_assert_gt(patched, 0, "no schema entry in the fixture");
	static const char *const cmds[][MAXARG] = {
		{ "stats", "--as-of", "2024-01-01" }, { "check" },
		{ "check", "--deep" }, { "ls", "runs" }, { "graph", "--all" },
		{ "export", "--format", "openlineage", "--all" },
		{ "diff", "--as-of-a", "2000-01-01" },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		struct th_child r = query(store, cmds[i]);
		no_signal(&r, cmds[i][0]);
		cr_expect_eq(r.status, 65, "%s %s: exit %d: %s", cmds[i][0],
			     cmds[i][1] ? cmds[i][1] : "", r.status, r.err);
		cr_expect(strstr(r.err, "store damaged"), "%s: %s",
			  cmds[i][0], r.err);
		run_free(&r);
	}
	const char *const asof[] = { "stats", "--as-of", "2024-01-01",
				     NULL };
	struct th_child r = query(store, asof);
	cr_expect(strstr(r.err, "out of order"), "stats --as-of: %s", r.err);
	run_free(&r);
}

Test(damage, truncated_copies_are_refused, .timeout = 600)
{
	char store[512];
	struct stat st;

	snprintf(store, sizeof store, "%s", P("cut.lmdb"));

	setup_good();
	cr_assert_eq(stat(P("good.lmdb"), &st), 0);
	/* 99%, 90%, 50%, 10% and the two meta pages alone */
	const off_t lens[] = { st.st_size * 99 / 100, st.st_size * 9 / 10,
			       st.st_size / 2, st.st_size / 10, 8192 };
	for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
		char want[200], how[700];
		snprintf(want, sizeof want, "truncated: ");
		snprintf(how, sizeof how, "rebuild it: lineage-index --store "
			 "%s --rebuild", store);
		for (size_t i = 0; i < NCMD; i++) {
			copy_file(P("good.lmdb"), store, lens[l]);
			struct th_child r = query(store, commands[i]);
			no_signal(&r, commands[i][0]);
			cr_expect_eq(r.status, 65, "%s on a copy cut to %lld "
				     "bytes: exit %d, stderr %s",
				     commands[i][0], (long long)lens[l],
				     r.status, r.err);
			cr_expect(strstr(r.err, want) && strstr(r.err, how),
				  "%s on a copy cut to %lld bytes says: %s",
				  commands[i][0], (long long)lens[l], r.err);
			run_free(&r);
		}
		copy_file(P("good.lmdb"), store, lens[l]);
		struct th_child r = index_more(store);
		no_signal(&r, "lineage-index");
		cr_expect_eq(r.status, 65, "lineage-index on a cut copy: "
			     "exit %d: %s", r.status, r.err);
		cr_expect(strstr(r.err, want) && strstr(r.err, how),
			  "lineage-index on a cut copy says: %s", r.err);
		struct stat cs;
		cr_assert_eq(stat(store, &cs), 0);
		cr_expect_eq(cs.st_size, lens[l], "the cut copy was changed");
		run_free(&r);
	}
	for (size_t i = 0; i < NCMD; i++)
		run_free(&good[i]);
}

Test(damage, damaged_copies_never_kill_and_deep_check_sees_wrong_answers,
     .timeout = 1200)
{
	char store[512];
	int differing = 0, flagged = 0, copies = 0, silent = 0;

	snprintf(store, sizeof store, "%s", P("bad.lmdb"));
	setup_good();
	for (uint64_t seed = 1; seed <= 40; seed++) {
		for (int zero = 0; zero < 2; zero++) {
			copy_file(P("good.lmdb"), store, -1);
			long off = damage(store, seed, zero,
					  zero ? 65536 : 16384);
			int differs = 0;
			copies++;
			for (size_t i = 0; i < NCMD; i++) {
				struct th_child r = query(store, commands[i]);
				no_signal(&r, commands[i][0]);
				if (r.status != good[i].status ||
				    strcmp(r.out, good[i].out))
					differs = 1;
				/* a wrong answer that looks complete */
				if (r.status == good[i].status &&
				    strcmp(r.out, good[i].out))
					silent++;
				run_free(&r);
			}
			const char *const deep[] = { "check", "--deep", NULL };
			struct th_child d = query(store, deep);
			no_signal(&d, "check --deep");
			if (differs) {
				differing++;
				cr_expect_eq(d.status, 65, "seed %llu (%s at "
					     "%ld): a query answered "
					     "differently, but check --deep "
					     "exit %d: %s%s",
					     (unsigned long long)seed,
					     zero ? "zeros" : "random", off,
					     d.status, d.out, d.err);
			}
			if (d.status == 65)
				flagged++;
			run_free(&d);
			struct th_child ix = index_damaged(store);
			no_signal(&ix, "lineage-index");
			run_free(&ix);
		}
	}
	cr_log_info("damage: %d copies, %d answered differently, %d "
		    "flagged by check --deep; %d answers differed with the "
		    "good store's exit status", copies, differing, flagged,
		    silent);
	cr_expect_gt(differing, 0, "no damage changed an answer: the test "
		     "tests nothing");
	for (size_t i = 0; i < NCMD; i++)
		run_free(&good[i]);
}

/* ---- --rebuild and --compact-to -------------------------------------- */

/* Cut [from, to) out of the string. */
static void cut(char *from, const char *to)
{
	memmove(from, to, strlen(to) + 1);
}

/* The answer without what a rebuilt or compacted store cannot share
 * with the good one: its creation time (text lines "created_at ..."
 * and JSON fields) and its file size (`stats`: the "size" line and the
 * "size_bytes" field, which differ by design). */
static void drop_unshared(char *s)
{
	char *p;
	while ((p = strstr(s, "created_at"))) {
		char *end;
		if (p > s && p[-1] == '"') {
			/* "created_at":"...", */
			end = strchr(p + 12, ',');
			p--;
		} else {
			end = strchr(p, '\n');
		}
		if (!end)
			end = p + strlen(p) - 1;
		cut(p, end + 1);
	}
	/* ,"size_bytes":N or null, the last field of stats --json */
	while ((p = strstr(s, ",\"size_bytes\":"))) {
		char *end = p + strcspn(p + 1, ",}") + 1;
		cut(p, end);
	}
	/* the text line "size         N bytes (M MiB)" */
	for (p = s; p && *p;) {
		if (strncmp(p, "size ", 5) == 0) {
			char *end = strchr(p, '\n');
			cut(p, end ? end + 1 : p + strlen(p));
			continue;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

/* Every command on `store` answers as on the good store. */
static void same_answers(const char *store, const char *what)
{
	for (size_t i = 0; i < NCMD; i++) {
		struct th_child r = query(store, commands[i]);
		no_signal(&r, commands[i][0]);
		drop_unshared(r.out);
		char *want = strdup(good[i].out);
		drop_unshared(want);
		cr_expect_eq(r.status, good[i].status, "%s: %s exit %d, "
			     "good store %d: %s", what, commands[i][0],
			     r.status, good[i].status, r.err);
		cr_expect_str_eq(r.out, want, "%s: %s answers differently",
				 what, commands[i][0]);
		free(want);
		run_free(&r);
	}
}

static struct th_child rebuild(const char *store, const char *path)
{
	char *ix[] = { (char *)INDEXER, "--store", (char *)store,
		       "--rebuild", (char *)path, NULL };
	return run(ix);
}

Test(damage, rebuild_gives_the_good_answers, .timeout = 600)
{
	char store[512], arch[512];
	struct stat st;

	snprintf(store, sizeof store, "%s", P("rb.lmdb"));
	snprintf(arch, sizeof arch, "%s", P("arch"));
	setup_good();
	/* damaged in the middle: the list of sources is still readable,
	 * or not (then the paths are given again) */
	for (uint64_t seed = 1; seed <= 6; seed++) {
		char what[80];
		copy_file(P("good.lmdb"), store, -1);
		damage(store, seed, seed % 2, seed % 2 ? 65536 : 16384);
		struct th_child r = rebuild(store, NULL);
		no_signal(&r, "lineage-index --rebuild");
		if (r.status == 65) {
			cr_expect(strstr(r.err, "give the source paths again"),
				  "--rebuild fails without saying what to do: "
				  "%s", r.err);
			run_free(&r);
			r = rebuild(store, arch);
		}
		cr_expect_eq(r.status, 0, "--rebuild (seed %llu): exit %d: %s",
			     (unsigned long long)seed, r.status, r.err);
		run_free(&r);
		snprintf(what, sizeof what, "rebuilt after damage seed %llu",
			 (unsigned long long)seed);
		same_answers(store, what);
	}
	/* cut to its two meta pages: nothing of it can be read */
	copy_file(P("good.lmdb"), store, 8192);
	struct th_child r = rebuild(store, NULL);
	no_signal(&r, "lineage-index --rebuild");
	cr_expect_eq(r.status, 65, "--rebuild of an unreadable store "
		     "without paths: exit %d", r.status);
	cr_expect(strstr(r.err, "give the source paths again"), "%s", r.err);
	cr_expect(stat(store, &st) == 0 && st.st_size == 8192,
		  "a failed --rebuild changed the store");
	run_free(&r);
	r = rebuild(store, arch);
	cr_expect_eq(r.status, 0, "--rebuild with the paths: %s", r.err);
	run_free(&r);
	same_answers(store, "rebuilt from the paths given again");
	/* a source that vanished since is reported and left out */
	char small[512], gone[600];
	snprintf(small, sizeof small, "%s", P("small.lmdb"));
	r = index_more(small);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	/* lineage-gen synth writes ENTITY/PROJECT/NNN/part-NNNNNN.runlog */
	snprintf(gone, sizeof gone, "%s",
		 P("more/acme/synth/000/part-000001.runlog"));
	cr_assert(gone[0]);
	cr_assert_eq(unlink(gone), 0);
	r = rebuild(small, NULL);
	cr_expect_eq(r.status, 0, "--rebuild with a vanished source: %s",
		     r.err);
	cr_expect(strstr(r.err, gone) && strstr(r.err, "vanished"),
		  "the vanished source is not reported: %s", r.err);
	cr_expect(strstr(r.out, "1 vanished"), "summary: %s", r.out);
	run_free(&r);
	for (size_t i = 0; i < NCMD; i++)
		run_free(&good[i]);
}

Test(damage, compact_copy_is_smaller_and_answers_alike, .timeout = 600)
{
	char copy[600], ro[512], prog[600];
	struct stat a, b;

	setup_good();
	/* a store that has seen changes: files indexed again */
	char *ix[] = { (char *)INDEXER, "--store", (char *)P("good.lmdb"),
		       (char *)P("more"), NULL };
	struct th_child r = run(ix);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	for (size_t i = 0; i < NCMD; i++) {
		run_free(&good[i]);
		good[i] = query(P("good.lmdb"), commands[i]);
	}
	snprintf(ro, sizeof ro, "%s", P("ro"));
	cr_assert_eq(mkdir(ro, 0755), 0);
	snprintf(copy, sizeof copy, "%s/c.lmdb", ro);
	char *cp[] = { (char *)INDEXER, "--store", (char *)P("good.lmdb"),
		       "--compact-to", copy, NULL };
	r = run(cp);
	cr_assert_eq(r.status, 0, "--compact-to: %s", r.err);
	cr_expect(strstr(r.out, "compact: "), "no summary: %s", r.out);
	run_free(&r);
	cr_assert_eq(stat(P("good.lmdb"), &a), 0);
	cr_assert_eq(stat(copy, &b), 0);
	cr_log_info("compact: %lld -> %lld bytes", (long long)a.st_size,
		    (long long)b.st_size);
	cr_expect_lt(b.st_size, a.st_size, "the copy is not smaller");
	/* a second copy to the same name is refused, the first kept */
	r = run(cp);
	cr_expect_eq(r.status, 74, "--compact-to over a file: exit %d",
		     r.status);
	run_free(&r);
	/* read-only media: no lock file, none can be made */
	char lock[700];
	snprintf(lock, sizeof lock, "%s-lock", copy);
	cr_expect(access(lock, F_OK) != 0, "--compact-to left a lock file");
	snprintf(prog, sizeof prog, "%s/lineage-query", ro);
	char *cpq[] = { "/bin/cp", (char *)QUERY, prog, NULL };
	r = run(cpq);
	cr_assert_eq(r.status, 0);
	run_free(&r);
	cr_assert_eq(chmod(copy, 0444) | chmod(ro, 0555) |
		     chmod(th_dir, 0755), 0);
	for (size_t i = 0; i < NCMD; i++) {
		r = query_with(prog, 1, copy, commands[i]);
		if (r.setup)
			cr_skip_test("cannot run as nobody here");
		cr_expect_eq(r.status, good[i].status, "%s on the read-only "
			     "copy: exit %d: %s", commands[i][0], r.status,
			     r.err);
		char *want = strdup(good[i].out);
		drop_unshared(want);
		drop_unshared(r.out);
		cr_expect_str_eq(r.out, want, "%s answers differently "
				 "on the copy", commands[i][0]);
		free(want);
		run_free(&r);
	}
	cr_expect(access(lock, F_OK) != 0, "a query made a lock file");
	chmod(ro, 0755);
	for (size_t i = 0; i < NCMD; i++)
		run_free(&good[i]);
}
