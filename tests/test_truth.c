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

/* Both sets equal; else report the first few lines only one has. */
static void expect_same(const char *what, struct th_lines *got,
			struct th_lines *want)
{
	size_t i = 0, j = 0, shown = 0;

	th_lines_sort(got);
	th_lines_sort(want);
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
static void csv_body(const char *path, struct th_lines *l)
{
	int code;
	char *s = th_sh(&code, "tail -n +2 '%s'", path), *line;
	const char *p = s;

	cr_assert_eq(code, 0);
	while ((line = th_line(&p))) {
		th_lines_addn(l, line, strlen(line));
		free(line);
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

/* The output of `lineage-query --json ls WHAT`. */
static char *ls_json(const char *store, const char *what)
{
	int code;
	char *out = th_sh(&code, "./lineage-query --store '%s' --json ls %s",
			  store, what);

	cr_assert_eq(code, 0, "ls %s", what);
	return out;
}

/* "e/p/id,job_type,state" per run ("-": no state). */
static void store_runs(const char *store, struct th_lines *l)
{
	char *out = ls_json(store, "runs"), *line;
	const char *p = out;

	while ((line = th_line(&p))) {
		char *id = jstr(line, "id"), *job = jstr(line, "job_type");
		char *state = jstr(line, "state"), buf[1024];
		cr_assert(id && !strncmp(id, "run:", 4), "%s", line);
		snprintf(buf, sizeof buf, "%s,%s,%s", id + 4, job ? job : "-",
			 state ? state : "-");
		th_lines_addn(l, buf, strlen(buf));
		free(id), free(job), free(state), free(line);
	}
	free(out);
}

/* "e/p/name:vN,aliases" per version (aliases sorted, space-separated,
 * "-" when none), and "e/p/name" per collection. */
static void store_versions(const char *store, struct th_lines *l,
			   struct th_lines *colls)
{
	char *out = ls_json(store, "artifacts"), *line;
	const char *p = out;

	while ((line = th_line(&p))) {
		char *id = jstr(line, "id"), buf[2048];
		cr_assert(id && !strncmp(id, "artifact:", 9), "%s", line);
		struct th_lines al = { 0 };
		const char *a = strstr(line, "\"aliases\":[");
		cr_assert_not_null(a, "%s", line);
		for (a += 11; *a == '"';) {
			const char *e = strchr(a + 1, '"');
			th_lines_addn(&al, a + 1, (size_t)(e - a - 1));
			a = e + 1 + (e[1] == ',');
		}
		th_lines_sort(&al);
		int o = snprintf(buf, sizeof buf, "%s,", id + 9);
		for (size_t i = 0; i < al.n; i++)
			o += snprintf(buf + o, sizeof buf - o, "%s%s",
				      i ? " " : "", al.v[i]);
		if (!al.n)
			snprintf(buf + o, sizeof buf - o, "-");
		th_lines_addn(l, buf, strlen(buf));
		th_lines_free(&al);
		free(id), free(line);
	}
	free(out);
	out = ls_json(store, "collections");
	for (p = out; (line = th_line(&p));) {
		char *id = jstr(line, "id");
		cr_assert(id && !strncmp(id, "collection:", 11), "%s", line);
		th_lines_addn(colls, id + 11, strlen(id + 11));
		free(id), free(line);
	}
	free(out);
}

/* Every edge as "KIND,RUN,VERSION" (KIND logged, relogged or used),
 * once each, from diff against the empty store of 1970. */
static void store_edges(const char *store, struct th_lines *l)
{
	int code;
	char *out = th_sh(&code, "./lineage-query --store '%s' diff "
			  "--as-of-a @0 | grep '^+ edge ' | sort -u", store);
	const char *p = out;
	char *line;

	while ((line = th_line(&p))) {
		char run[512], kind[16], art[512];
		cr_assert_eq(sscanf(line, "+ edge run:%511s %15s "
				    "artifact:%511s", run, kind, art), 3, "%s",
			     line);
		char buf[1100];
		snprintf(buf, sizeof buf, "%s,%s,%s", kind, run, art);
		th_lines_addn(l, buf, strlen(buf));
		free(line);
	}
	free(out);
}

/* The truth's edges, once each (a run may use a version twice). */
static void truth_edges(const char *path, struct th_lines *l)
{
	csv_body(path, l);
	th_lines_sort(l);
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
static void truth_colls(const struct th_lines *versions, struct th_lines *l)
{
	for (size_t i = 0; i < versions->n; i++) {
		const char *v = versions->v[i];
		const char *c = strstr(v, ":v");
		cr_assert_not_null(c, "%s", v);
		if (strncmp(c, ":v0,", 4) == 0)
			th_lines_addn(l, v, (size_t)(c - v));
	}
}

/* Generate an archive of `shape` in `format`, index it, and compare
 * every answer with the truth. */
static void check_shape(const char *shape, const char *format)
{
	char arch[TH_PATH_MAX], store[TH_PATH_MAX], e[TH_PATH_MAX];
	char r[TH_PATH_MAX], v[TH_PATH_MAX];

	th_path(arch, "arch");
	th_path(store, "s.lmdb");
	th_path(e, "edges.csv");
	th_path(r, "runs.csv");
	th_path(v, "versions.csv");
	int code;
	char *o;

	o = th_sh(&code, "./lineage-gen synth --runs 400 --runs-per-file 12 "
		  "--seed 21 --format %s --shape %s --edges '%s' --runs-csv "
		  "'%s' --versions-csv '%s' '%s'", format, shape, e, r, v,
		  arch);
	cr_assert_eq(code, 0, "lineage-gen: %s", o);
	free(o);
	code = th_index("-q", "--store", store, arch, NULL);
	cr_assert_eq(code, 0, "lineage-index exit %d (see %s/stderr.log)",
		     code, th_dir);

	struct th_lines got = { 0 }, want = { 0 }, gc = { 0 }, wc = { 0 };
	store_runs(store, &got);
	csv_body(r, &want);
	expect_same("runs (id,job_type,state)", &got, &want);
	th_lines_free(&got);
	th_lines_free(&want);

	store_versions(store, &got, &gc);
	csv_body(v, &want);
	th_lines_sort(&want);
	truth_colls(&want, &wc);
	expect_same("versions (id,aliases)", &got, &want);
	expect_same("collections", &gc, &wc);
	th_lines_free(&got);
	th_lines_free(&want);
	th_lines_free(&gc);
	th_lines_free(&wc);

	store_edges(store, &got);
	truth_edges(e, &want);
	expect_same("edges (kind,run,version)", &got, &want);
	th_lines_free(&got);
	th_lines_free(&want);

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
		{ "run-models", "runlog" },
		{ "run-models,per-run,late-finish,resumed,cross-project,utf8",
		  "runlog" },
		{ "run-models,per-run,crashed", "wandb" },
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
 * collection, every edge, the number of collections (empty ones
 * included) and of pending uses. Internal ids are left out. */
static char *answers(const char *store)
{
	int code;
	/* two past times too: alias timelines and --as-of answers */
	char *o = th_sh(&code, "Q='./lineage-query --store %s'; $Q --json ls "
			"runs && $Q --json ls artifacts && $Q --json ls "
			"collections && $Q diff --as-of-a @0 | sort && "
			"$Q stats "
			"| grep -E '^(pending|collections) ' && for t in 2024-03-01T01:30:00Z "
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
	char **v = NULL, *line;
	const char *p = s;
	size_t n = 0;

	while ((line = th_line(&p))) {
		v = realloc(v, (n + 1) * sizeof *v);
		v[n++] = line;
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

/* run-models: a collection per training run, so that a prune empties
 * some collections */
#define ORDER_SHAPES "late-finish,relogs,cross-project,utf8,resumed," \
	"explicit,crashed,run-models"

Test(truth, answers_do_not_depend_on_order_batches_or_prunes)
{
	char arch[TH_PATH_MAX], fwd[TH_PATH_MAX], rev[TH_PATH_MAX];
	char batch[TH_PATH_MAX], *archv[1] = { arch };
	unsigned seed = 8;
	char **f;
	int code;

	th_path(arch, "arch");
	free(th_sh(&code, "./lineage-gen synth --runs 300 --runs-per-file 6 "
		   "--seed 4 --shape " ORDER_SHAPES " '%s'", arch));
	cr_assert_eq(code, 0);
	size_t n = list_files(arch, &f);
	cr_assert_gt(n, 40);
	index_files(th_path(fwd, "fwd.lmdb"), archv, 1);
	char *ref = answers(fwd);
	cr_assert_gt(th_count(ref, "\"kind\":\"run\""), 290, "%s", ref);
	cr_assert_gt(th_count(ref, "+ edge "), 500, "%s", ref);

	/* newest file first, one run each */
	for (size_t i = n; i-- > 0;)
		index_files(th_path(rev, "rev.lmdb"), &f[i], 1);
	char *got = answers(rev);
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
		index_files(th_path(batch, "batch.lmdb"), f + i, b);
		i += b;
	}
	got = answers(batch);
	expect_same_answers("random batches (seed 8)", ref, got);
	free(got);

	/* random prunes: the pruned store answers as a fresh index of
	 * the files that are left */
	for (int round = 0; round < 3; round++) {
		char a2[TH_PATH_MAX], ps[TH_PATH_MAX], fs[TH_PATH_MAX];
		char *a2v[1] = { a2 };
		th_path(a2, "prune%d", round);
		th_path(ps, "p%d.lmdb", round);
		th_path(fs, "f%d.lmdb", round);
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

/* `store` answers as a fresh store `fresh` that indexed dir1, then dir2
 * (NULL: none). */
static void expect_as_fresh(const char *what, const char *store,
			    const char *fresh, const char *dir1,
			    const char *dir2)
{
	char fs[TH_PATH_MAX];

	th_path(fs, "%s", fresh);
	free(index_json(fs, "", dir1));
	if (dir2)
		free(index_json(fs, "", dir2));
	char *want = answers(fs), *got = answers(store);
	expect_same_answers(what, want, got);
	free(want);
	free(got);
}

Test(truth, a_moved_archive_is_rekeyed_and_pruned)
{
	char a[TH_PATH_MAX], b[TH_PATH_MAX], c[TH_PATH_MAX];
	char s[TH_PATH_MAX], w[TH_PATH_MAX];
	int code;
	char *o;

	th_path(a, "a");
	th_path(b, "moved/b");
	th_path(c, "copied/c");
	th_path(s, "s.lmdb");
	th_path(w, "w");
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
	expect_as_fresh("renamed archive, pruned", s, "fresh-b.lmdb", b,
			NULL);

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
	expect_as_fresh("copied archive", s, "fresh-c.lmdb", c, NULL);

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
	expect_as_fresh("file gone outside the named folder", s,
			"fresh-w.lmdb", c, w);
	for (size_t i = 0; i < n; i++)
		free(f[i]);
	free(f);
}

/* Deploy runs of another project use this project's models by alias;
 * indexed first, alone, those uses are shown as unresolved (the other
 * project is not in the archive yet), then resolve as the truth says
 * once the project is indexed. */
Test(truth, cross_project_uses_resolve_when_their_project_comes)
{
	char arch[TH_PATH_MAX], s[TH_PATH_MAX], e[TH_PATH_MAX];
	char dep[TH_PATH_MAX + 32], main_p[TH_PATH_MAX + 32];
	int code;
	char *o;

	th_path(arch, "arch");
	th_path(s, "s.lmdb");
	th_path(e, "edges.csv");
	free(th_sh(&code, "./lineage-gen synth --runs 600 --runs-per-file 20 "
		   "--seed 3 --shape cross-project --edges '%s' '%s'", e,
		   arch));
	cr_assert_eq(code, 0);
	snprintf(dep, sizeof dep, "%s/acme/deploy-synth", arch);
	snprintf(main_p, sizeof main_p, "%s/acme/synth", arch);
	free(index_json(s, "", dep));
	o = th_sh(&code, "for r in $(./lineage-query --store '%s' ls runs | "
		  "awk '{print $2}'); do ./lineage-query --store '%s' --json "
		  "used $r; done", s, s);
	size_t runs = th_count(o, "\"kind\":\"artifact\"");
	cr_expect_eq(runs, 0, "%s", o);
	cr_expect_gt(th_count(o, "\"reason\":\"other-project\""), 3, "%s",
		     o);
	cr_expect_eq(th_count(o, "\"kind\":\"unresolved\""),
		     th_count(o, "\"reason\":\"other-project\""), "%s", o);
	free(o);
	/* the graph of a deploy run shows its missing input */
	o = th_sh(&code, "r=$(./lineage-query --store '%s' ls runs | head -1 "
		  "| awk '{print $2}'); ./lineage-query --store '%s' graph $r "
		  "--up --format json", s, s);
	cr_expect(strstr(o, "\"kind\":\"unresolved\"") &&
		  strstr(o, "\"reason\":\"other-project\""), "%s", o);
	free(o);

	free(index_json(s, "", main_p));
	o = th_sh(&code, "./lineage-query --store '%s' diff --as-of-a @0 | "
		  "grep '^+ edge run:acme/deploy-synth/' | grep ' used ' | "
		  "sed 's/^+ edge run:\\(.*\\) used artifact:\\(.*\\)$/used,"
		  "\\1,\\2/' | sort -u > '%s.got' && grep '^used,acme/deploy' "
		  "'%s' | sort -u | diff - '%s.got' && ./lineage-query --store "
		  "'%s' --json stats", s, e, e, e, s);
	cr_expect_eq(code, 0, "deploy uses differ from the truth: %s", o);
	cr_expect_eq(summary(o, "pending"), 0, "%s", o);
	free(o);
}
