/* test_e2e_synth.c - lineage-query impact and provenance on a generated
 * archive, against reachability computed here from the generator's own
 * record of the true lineage (lineage-gen synth --edges). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/grow.h"
#include "helpers.h"


static void setup(void)
{
	char cmd[4 * 256 + 256];

	th_mkdir();
	snprintf(cmd, sizeof cmd, "./lineage-gen synth --runs 2000 "
		 "--runs-per-file 40 --seed 5 --edges %s/truth.csv %s/arch "
		 ">/dev/null && ./lineage-index -q --store %s/s.lmdb %s/arch",
		 th_dir, th_dir, th_dir, th_dir);
	cr_assert_eq(system(cmd), 0, "generating or indexing failed");
}

TestSuite(e2e_synth, .init = setup, .fini = th_rmdir, .timeout = 120);

/* The truth as a directed graph over "run:..." / "artifact:..." ids,
 * edges pointing downstream (run -> logged artifact, artifact -> user). */
struct graph {
	char **name;           /* sorted, unique */
	size_t n;
	size_t *from, *to;     /* edges by index */
	size_t ne;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t id_of(const struct graph *g, const char *s)
{
	char **hit = bsearch(&s, g->name, g->n, sizeof *g->name, cmp_str);
	cr_assert_not_null(hit, "unknown node %s", s);
	return (size_t)(hit - g->name);
}

static void load(struct graph *g)
{
	char path[TH_PATH_MAX], line[1024];
	size_t cap = 0, ecap = 0;
	char **tmp = NULL;
	size_t nt = 0;

	snprintf(path, sizeof path, "%s/truth.csv", th_dir);
	/* pass 1: names */
	for (int pass = 0; pass < 2; pass++) {
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f);
		while (fgets(line, sizeof line, f)) {
			char kind[16], run[400], art[400], a[420], b[420];
			if (sscanf(line, "%15[^,],%399[^,],%399[^\n]", kind, run,
				   art) != 3 || strcmp(kind, "kind") == 0)
				continue;
			snprintf(a, sizeof a, "run:%s", run);
			snprintf(b, sizeof b, "artifact:%s", art);
			if (pass == 0) {
				cr_assert_eq(LIN_GROW(tmp, cap, nt + 2,
						      4096), 0);
				tmp[nt++] = strdup(a);
				tmp[nt++] = strdup(b);
				continue;
			}
			/* walks follow producers only (re-logs need
			 * --with-relogs) */
			if (strcmp(kind, "relogged") == 0)
				continue;
			/* two arrays of one capacity */
			size_t c2 = ecap;
			cr_assert_eq(LIN_GROW(g->from, ecap, g->ne + 1, 4096),
				     0);
			cr_assert_eq(LIN_GROW(g->to, c2, g->ne + 1, 4096), 0);
			int logged = strcmp(kind, "logged") == 0;
			g->from[g->ne] = id_of(g, logged ? a : b);
			g->to[g->ne] = id_of(g, logged ? b : a);
			g->ne++;
		}
		fclose(f);
		if (pass == 0) {
			qsort(tmp, nt, sizeof *tmp, cmp_str);
			g->name = malloc(nt * sizeof *g->name);
			for (size_t i = 0; i < nt; i++)
				if (!g->n || strcmp(tmp[i], g->name[g->n - 1]))
					g->name[g->n++] = tmp[i];
				else
					free(tmp[i]);  /* a repeat */
			free(tmp);
		}
	}
}

static void graph_free(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->name[i]);
	free(g->name);
	free(g->from);
	free(g->to);
}

/* Sorted, newline-joined names reachable from `start` (not itself). */
static char *reach(const struct graph *g, size_t start, int down)
{
	char *seen = calloc(g->n, 1);
	size_t *queue = malloc(g->n * sizeof *queue), head = 0, tail = 0;
	char **out = malloc(g->n * sizeof *out);
	size_t no = 0, len = 1;

	seen[start] = 1;
	queue[tail++] = start;
	while (head < tail) {
		size_t u = queue[head++];
		for (size_t e = 0; e < g->ne; e++) {
			size_t a = down ? g->from[e] : g->to[e];
			size_t b = down ? g->to[e] : g->from[e];
			if (a == u && !seen[b]) {
				seen[b] = 1;
				queue[tail++] = b;
				out[no++] = g->name[b];
				len += strlen(g->name[b]) + 1;
			}
		}
	}
	qsort(out, no, sizeof *out, cmp_str);
	char *s = malloc(len), *p = s;
	*p = 0;
	for (size_t i = 0; i < no; i++)
		p += sprintf(p, "%s\n", out[i]);
	free(seen);
	free(queue);
	free(out);
	return s;
}

/* Column `node` of `lineage-query impact|provenance --format csv`. */
static char *ask(const char *cmd, const char *ref)
{
	int code;
	char *s = th_sh(&code, "./lineage-query --store %s/s.lmdb %s --format "
			"csv '%s' | tail -n +2 | cut -d, -f3 | LC_ALL=C sort",
			th_dir, cmd, ref);
	cr_assert_eq(code, 0, "%s %s failed", cmd, ref);
	return s;
}

Test(e2e_synth, impact_and_provenance_match_the_truth)
{
	struct graph g = { 0 };
	int checked = 0;

	load(&g);
	cr_assert_gt(g.n, 1000);
	/* every 97th artifact (sorted by name): a fixed, spread sample */
	for (size_t i = 0; i < g.n; i += 97) {
		if (strncmp(g.name[i], "artifact:", 9) != 0)
			continue;
		const char *ref = g.name[i] + 9;
		for (int down = 1; down >= 0; down--) {
			char *want = reach(&g, i, down);
			char *got = ask(down ? "impact" : "provenance", ref);
			cr_expect_str_eq(got, want, "%s of %s differs",
					 down ? "impact" : "provenance", ref);
			free(want);
			free(got);
		}
		checked++;
	}
	graph_free(&g);
	cr_assert_geq(checked, 10, "only %d artifacts checked", checked);
}
