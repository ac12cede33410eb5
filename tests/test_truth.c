/* test_truth.c - generated archives of every shape lineage-gen writes
 * (one file per run, late finishes, resumed and crashed runs, re-logs,
 * cross-project uses indexed first, UTF-8 names), indexed by the built
 * programs and checked against the generator's truth: every run once
 * under its own entity/project with its job type and final state, every
 * version with its producer, re-loggers, consumers and aliases, and
 * nothing the generator did not write. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(truth, .init = th_mkdir, .fini = th_rmdir, .timeout = 240);

/* ---- sorted line sets ---------------------------------------------- */

struct lines {
	char **v;
	size_t n, cap;
};

static void add(struct lines *l, const char *s, size_t n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		cr_assert_not_null(l->v);
	}
	l->v[l->n] = strndup(s, n);
	cr_assert_not_null(l->v[l->n]);
	l->n++;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void done(struct lines *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp);
}

static void release(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Both sets equal; else report the first few lines only one has. */
static void expect_same(const char *what, struct lines *got,
			struct lines *want)
{
	size_t i = 0, j = 0, shown = 0;

	done(got);
	done(want);
	while ((i < got->n || j < want->n) && shown < 5) {
		int c = i == got->n ? 1 : j == want->n ? -1 :
			strcmp(got->v[i], want->v[j]);
		if (c == 0) {
			i++, j++;
			continue;
		}
		cr_expect(0, "%s: %s '%s'", what,
			  c < 0 ? "not in the truth:" : "missing:",
			  c < 0 ? got->v[i] : want->v[j]);
		shown++;
		if (c < 0)
			i++;
		else
			j++;
	}
	cr_expect_eq(got->n, want->n, "%s: %zu lines, the truth has %zu",
		     what, got->n, want->n);
}

/* The lines of a CSV file after its header. */
static void csv_body(const char *path, struct lines *l)
{
	int code;
	char *s = th_sh(&code, "tail -n +2 '%s'", path), *p = s;

	cr_assert_eq(code, 0);
	while (*p) {
		size_t n = strcspn(p, "\n");
		add(l, p, n);
		p += n + (p[n] == '\n');
	}
	free(s);
}

/* ---- the store's answers ------------------------------------------- */

/* The JSON string value of "key" in one line of output (no escapes
 * beyond \" and \\, which the generator's names do not need); NULL when
 * absent or null. The caller frees. */
static char *jstr(const char *line, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	const char *p = strstr(line, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	const char *e = p;
	while (*e && *e != '"')
		e += e[0] == '\\' && e[1] ? 2 : 1;
	return strndup(p, (size_t)(e - p));
}

/* "e/p/id,job_type,state" per run ("-": no state). */
static void store_runs(const char *store, struct lines *l)
{
	int code;
	char *out = th_sh(&code, "./lineage-query --store '%s' --json ls "
			  "runs", store), *p = out;

	cr_assert_eq(code, 0);
	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n);
		char *id = jstr(line, "id"), *job = jstr(line, "job_type");
		char *state = jstr(line, "state"), buf[1024];
		cr_assert(id && !strncmp(id, "run:", 4), "%s", line);
		snprintf(buf, sizeof buf, "%s,%s,%s", id + 4, job ? job : "-",
			 state ? state : "-");
		add(l, buf, strlen(buf));
		free(id), free(job), free(state), free(line);
		p += n + (p[n] == '\n');
	}
	free(out);
}

/* "e/p/name:vN,aliases" per version (aliases sorted, space-separated,
 * "-" when none), and "e/p/name" per collection. */
static void store_versions(const char *store, struct lines *l,
			   struct lines *colls)
{
	int code;
	char *out = th_sh(&code, "./lineage-query --store '%s' --json ls "
			  "artifacts", store), *p = out;

	cr_assert_eq(code, 0);
	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n);
		char *id = jstr(line, "id"), buf[2048];
		cr_assert(id && !strncmp(id, "artifact:", 9), "%s", line);
		struct lines al = { 0 };
		const char *a = strstr(line, "\"aliases\":[");
		cr_assert_not_null(a, "%s", line);
		for (a += 11; *a == '"';) {
			const char *e = strchr(a + 1, '"');
			add(&al, a + 1, (size_t)(e - a - 1));
			a = e + 1 + (e[1] == ',');
		}
		done(&al);
		int o = snprintf(buf, sizeof buf, "%s,", id + 9);
		for (size_t i = 0; i < al.n; i++)
			o += snprintf(buf + o, sizeof buf - o, "%s%s",
				      i ? " " : "", al.v[i]);
		if (!al.n)
			snprintf(buf + o, sizeof buf - o, "-");
		add(l, buf, strlen(buf));
		release(&al);
		free(id), free(line);
		p += n + (p[n] == '\n');
	}
	free(out);
	out = th_sh(&code, "./lineage-query --store '%s' --json ls "
		    "collections", store);
	for (p = out; *p;) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n), *id = jstr(line, "id");
		cr_assert(id && !strncmp(id, "collection:", 11), "%s", line);
		add(colls, id + 11, strlen(id + 11));
		free(id), free(line);
		p += n + (p[n] == '\n');
	}
	free(out);
}

/* Every edge as "KIND,RUN,VERSION" (KIND logged, relogged or used),
 * once each, from diff against the empty store of 1970. */
static void store_edges(const char *store, struct lines *l)
{
	int code;
	char *out = th_sh(&code, "./lineage-query --store '%s' diff "
			  "--as-of-a @0 | grep '^+ edge ' | sort -u", store);
	char *p = out;

	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n), run[512], kind[16], art[512];
		cr_assert_eq(sscanf(line, "+ edge run:%511s %15s artifact:%511s",
				    run, kind, art), 3, "%s", line);
		char buf[1100];
		snprintf(buf, sizeof buf, "%s,%s,%s", kind, run, art);
		add(l, buf, strlen(buf));
		free(line);
		p += n + (p[n] == '\n');
	}
	free(out);
}

/* The truth's edges, once each (a run may use a version twice). */
static void truth_edges(const char *path, struct lines *l)
{
	csv_body(path, l);
	done(l);
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (k && !strcmp(l->v[k - 1], l->v[i])) {
			free(l->v[i]);
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->n = k;
}

/* The collections the truth's versions belong to. */
static void truth_colls(const struct lines *versions, struct lines *l)
{
	for (size_t i = 0; i < versions->n; i++) {
		const char *v = versions->v[i];
		const char *c = strstr(v, ":v");
		cr_assert_not_null(c, "%s", v);
		if (strncmp(c, ":v0,", 4) == 0)
			add(l, v, (size_t)(c - v));
	}
}

/* Generate an archive of `shape` in `format`, index it, and compare
 * every answer with the truth. */
static void check_shape(const char *shape, const char *format)
{
	const char *arch = th_path("arch"), *store = th_path("s.lmdb");
	const char *e = th_path("edges.csv"), *r = th_path("runs.csv");
	const char *v = th_path("versions.csv");
	int code;
	char *o;

	o = th_sh(&code, "./lineage-gen synth --runs 400 --runs-per-file 12 "
		  "--seed 21 --format %s --shape %s --edges '%s' --runs-csv "
		  "'%s' --versions-csv '%s' '%s'", format, shape, e, r, v,
		  arch);
	cr_assert_eq(code, 0, "lineage-gen: %s", o);
	free(o);
	o = th_sh(&code, "./lineage-index -q --store '%s' '%s'", store, arch);
	cr_assert_eq(code, 0, "lineage-index exit %d (see %s/stderr.log)",
		     code, th_dir);
	free(o);

	struct lines got = { 0 }, want = { 0 }, gc = { 0 }, wc = { 0 };
	store_runs(store, &got);
	csv_body(r, &want);
	expect_same("runs (id,job_type,state)", &got, &want);
	release(&got);
	release(&want);

	store_versions(store, &got, &gc);
	csv_body(v, &want);
	done(&want);
	truth_colls(&want, &wc);
	expect_same("versions (id,aliases)", &got, &want);
	expect_same("collections", &gc, &wc);
	release(&got);
	release(&want);
	release(&gc);
	release(&wc);

	store_edges(store, &got);
	truth_edges(e, &want);
	expect_same("edges (kind,run,version)", &got, &want);
	release(&got);
	release(&want);

	o = th_sh(&code, "./lineage-query --store '%s' check >/dev/null",
		  store);
	cr_expect_eq(code, 0, "check found problems");
	free(o);
}

struct shape_case {
	char shape[80];
	char format[8];
};

ParameterizedTestParameters(truth, every_run_and_version_of_a_shape)
{
	static struct shape_case cases[] = {
		{ "classic", "runlog" }, { "per-run", "runlog" },
		{ "late-finish", "runlog" }, { "resumed", "runlog" },
		{ "relogs", "runlog" }, { "cross-project", "runlog" },
		{ "utf8", "runlog" }, { "explicit", "runlog" },
		{ "crashed", "runlog" }, { "crashed,per-run", "runlog" },
		{ "all", "runlog" },
		{ "classic", "wandb" }, { "relogs,utf8,resumed", "wandb" },
		{ "crashed,per-run", "wandb" },
	};
	return cr_make_param_array(struct shape_case, cases,
				   sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct shape_case *c, truth,
		  every_run_and_version_of_a_shape)
{
	check_shape(c->shape, c->format);
}

/* ---- order, batches and prunes ------------------------------------- */

/* Everything the store answers about the archive, by name: every run
 * and version with its attributes (now and at two past times), every
 * collection, every edge, the number of pending uses. Internal ids are
 * left out. */
static char *answers(const char *store)
{
	int code;
	/* two past times too: alias timelines and --as-of answers */
	char *o = th_sh(&code, "Q='./lineage-query --store %s'; $Q --json ls "
			"runs && $Q --json ls artifacts && $Q --json ls "
			"collections && $Q diff --as-of-a @0 | sort && $Q stats "
			"| grep '^pending' && for t in 2024-03-01T01:30:00Z "
			"2024-03-01T03:10:00Z; do $Q --as-of $t --json ls "
			"artifacts && $Q --as-of $t --json ls runs; done",
			store);
	cr_assert_eq(code, 0, "answers of %s", store);
	return o;
}

static void expect_same_answers(const char *what, const char *a,
				const char *b)
{
	if (strcmp(a, b) == 0)
		return;
	size_t i = 0, line = 1;
	while (a[i] && a[i] == b[i])
		line += a[i++] == '\n';
	cr_expect(0, "%s: answers differ at line %zu:\n  %.200s\n  %.200s",
		  what, line, a + i - (i && a[i - 1] != '\n' ? 0 : 0),
		  b + i);
}

/* The archive's files, sorted. */
static size_t list_files(const char *arch, char ***out)
{
	int code;
	char *s = th_sh(&code, "find '%s' -type f | LC_ALL=C sort", arch);
	char **v = NULL, *p = s;
	size_t n = 0;

	while (*p) {
		size_t len = strcspn(p, "\n");
		v = realloc(v, (n + 1) * sizeof *v);
		v[n++] = strndup(p, len);
		p += len + (p[len] == '\n');
	}
	free(s);
	*out = v;
	return n;
}

static void index_files(const char *store, char **files, size_t n)
{
	char *cmd = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&cmd, &len);
	int code;

	fprintf(m, "./lineage-index -q --store '%s'", store);
	for (size_t i = 0; i < n; i++)
		fprintf(m, " '%s'", files[i]);
	fclose(m);
	free(th_sh(&code, "%s", cmd));
	cr_assert_eq(code, 0, "%s", cmd);
	free(cmd);
}

#define ORDER_SHAPES "late-finish,relogs,cross-project,utf8,resumed," \
	"explicit,crashed"

Test(truth, answers_do_not_depend_on_order_batches_or_prunes)
{
	/* th_path's buffers rotate: keep what is used throughout */
	char *arch = strdup(th_path("arch"));
	unsigned seed = 8;
	char **f;
	int code;

	free(th_sh(&code, "./lineage-gen synth --runs 300 --runs-per-file 6 "
		   "--seed 4 --shape " ORDER_SHAPES " '%s'", arch));
	cr_assert_eq(code, 0);
	size_t n = list_files(arch, &f);
	cr_assert_gt(n, 40);
	index_files(th_path("fwd.lmdb"), &arch, 1);
	char *ref = answers(th_path("fwd.lmdb"));
	cr_assert_gt(th_count(ref, "\"kind\":\"run\""), 290, "%s", ref);
	cr_assert_gt(th_count(ref, "+ edge "), 500, "%s", ref);

	/* newest file first, one run each */
	for (size_t i = n; i-- > 0;)
		index_files(th_path("rev.lmdb"), &f[i], 1);
	char *got = answers(th_path("rev.lmdb"));
	expect_same_answers("reverse order", ref, got);
	free(got);

	/* shuffled, in random batches */
	srand(seed);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1);
		char *t = f[i];
		f[i] = f[j];
		f[j] = t;
	}
	for (size_t i = 0; i < n;) {
		size_t b = 1 + (size_t)rand() % 8;
		if (b > n - i)
			b = n - i;
		index_files(th_path("batch.lmdb"), f + i, b);
		i += b;
	}
	got = answers(th_path("batch.lmdb"));
	expect_same_answers("random batches (seed 8)", ref, got);
	free(got);

	/* random prunes: the pruned store answers as a fresh index of
	 * the files that are left */
	for (int round = 0; round < 3; round++) {
		char a2[600], ps[600], fs[600], *a2v[1] = { a2 };
		snprintf(a2, sizeof a2, "%s", th_path("prune%d", round));
		snprintf(ps, sizeof ps, "%s", th_path("p%d.lmdb", round));
		snprintf(fs, sizeof fs, "%s", th_path("f%d.lmdb", round));
		free(th_sh(&code, "cp -a '%s' '%s'", arch, a2));
		index_files(ps, a2v, 1);
		char **g;
		size_t m = list_files(a2, &g), gone = 0;
		for (size_t i = 0; i < m; i++) {
			if ((size_t)rand() % 5 == 0) {
				cr_assert_eq(unlink(g[i]), 0);
				gone++;
			}
			free(g[i]);
		}
		free(g);
		free(th_sh(&code, "./lineage-index -q --prune --store '%s' "
			   "'%s'", ps, a2));
		cr_assert_eq(code, 0);
		index_files(fs, a2v, 1);
		char *pa = answers(ps), *fa = answers(fs);
		char what[64];
		snprintf(what, sizeof what, "prune round %d (%zu of %zu "
			 "files gone)", round, gone, m);
		expect_same_answers(what, fa, pa);
		free(pa);
		free(fa);
	}
	free(ref);
	free(arch);
	for (size_t i = 0; i < n; i++)
		free(f[i]);
	free(f);
}

/* ---- moves and vanished files -------------------------------------- */

/* The JSON summary's value of `key`. */
static long summary(const char *json, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(json, pat);
	cr_assert_not_null(p, "no %s in %s", key, json);
	return atol(p + strlen(pat));
}

static char *index_json(const char *store, const char *opts,
			const char *what)
{
	int code;
	char *o = th_sh(&code, "./lineage-index --json %s --store '%s' %s",
			opts, store, what);
	cr_assert_eq(code, 0, "lineage-index %s %s: %s", opts, what, o);
	return o;
}

Test(truth, a_moved_archive_is_rekeyed_and_pruned)
{
	char a[600], b[600], c[600], s[600], w[600];
	int code;
	char *o;

	snprintf(a, sizeof a, "%s", th_path("a"));
	snprintf(b, sizeof b, "%s", th_path("moved/b"));
	snprintf(c, sizeof c, "%s", th_path("copied/c"));
	snprintf(s, sizeof s, "%s", th_path("s.lmdb"));
	snprintf(w, sizeof w, "%s", th_path("w"));
	free(th_sh(&code, "./lineage-gen synth --runs 200 --runs-per-file 5 "
		   "--seed 9 --shape " ORDER_SHAPES " '%s'", a));
	cr_assert_eq(code, 0);
	free(index_json(s, "", a));

	/* renamed (same inodes), and a few files deleted at the new place */
	free(th_sh(&code, "mkdir -p '%s/..' && mv '%s' '%s' && find '%s' "
		   "-name 'part-*3.runlog*' -delete", b, a, b, b));
	cr_assert_eq(code, 0);
	char **f;
	size_t n = list_files(b, &f);
	o = index_json(s, "--prune", b);
	cr_expect_eq(summary(o, "moved"), (long)n, "%s", o);
	cr_expect_eq(summary(o, "indexed"), 0, "%s", o);
	cr_expect_gt(summary(o, "pruned"), 0, "%s", o);
	cr_expect_eq(summary(o, "sources"), (long)n, "%s", o);
	free(o);
	char fb[600];
	snprintf(fb, sizeof fb, "%s", th_path("fresh-b.lmdb"));
	free(index_json(fb, "", b));
	char *want = answers(fb), *got = answers(s);
	expect_same_answers("renamed archive, pruned", want, got);
	free(want);
	free(got);

	/* copied (new inodes and times) and the original removed: the
	 * content finds the sources */
	free(th_sh(&code, "mkdir -p '%s/..' && cp -r '%s' '%s' && rm -rf "
		   "'%s'", c, b, c, b));
	cr_assert_eq(code, 0);
	o = index_json(s, "--prune", c);
	cr_expect_eq(summary(o, "moved"), (long)n, "%s", o);
	cr_expect_eq(summary(o, "indexed"), 0, "%s", o);
	cr_expect_eq(summary(o, "pruned"), 0, "%s", o);
	free(o);
	char fc[600];
	snprintf(fc, sizeof fc, "%s", th_path("fresh-c.lmdb"));
	free(index_json(fc, "", c));
	want = answers(fc);
	got = answers(s);
	expect_same_answers("copied archive", want, got);
	free(want);
	free(got);

	/* a file gone from a folder not named this time is vanished too,
	 * and --prune removes it */
	free(th_sh(&code, "cp -r fixtures/wandb-sample '%s'", w));
	cr_assert_eq(code, 0);
	for (size_t i = 0; i < n; i++)
		free(f[i]);
	free(f);
	n = list_files(c, &f);
	cr_assert_eq(unlink(f[n - 1]), 0);
	o = index_json(s, "", w);
	cr_expect_eq(summary(o, "vanished"), 1, "%s", o);
	cr_expect_eq(summary(o, "indexed"), 3, "%s", o);
	free(o);
	o = index_json(s, "--prune", w);
	cr_expect_eq(summary(o, "pruned"), 1, "%s", o);
	cr_expect_eq(summary(o, "unchanged"), 3, "%s", o);
	free(o);
	char fw[600];
	snprintf(fw, sizeof fw, "%s", th_path("fresh-w.lmdb"));
	free(index_json(fw, "", c));
	free(index_json(fw, "", w));
	want = answers(fw);
	got = answers(s);
	expect_same_answers("file gone outside the named folder", want,
			    got);
	free(want);
	free(got);
	for (size_t i = 0; i < n; i++)
		free(f[i]);
	free(f);
}
