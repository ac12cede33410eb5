/* test_answers.c - what answers show besides resolved edges: uses that
 * never resolved (with their reason) in every command that lists a
 * run's inputs, and producers versus re-logs, with the built programs
 * on the committed fixtures. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define Q "./lineage-query --store "

TestSuite(answers, .init = th_mkdir, .fini = th_rmdir);

/* The store of `what` indexed in-process; `want` is the exit code
 * expected, -1 for any (files refused on purpose). */
static const char *indexed(const char *what, int want)
{
	static char store[TH_PATH_MAX];

	th_path(store, "s.lmdb");
	int code = th_index("-q", "--store", store, what, NULL);
	cr_assert(want < 0 || code == want, "indexing %s: exit %d", what,
		  code);
	return store;
}

#define TOK "acme/wandb-demo/the-tokenizer"
#define UNRES_JSON "{\"id\":\"unresolved:" TOK ":v3\",\"kind\":" \
	"\"unresolved\",\"ref\":\"the-tokenizer:v3\",\"collection\":\"" \
	TOK "\",\"selector\":\"v3\",\"type\":\"tokenizer\",\"reason\":" \
	"\"wandb-online\""

Test(answers, online_use_of_a_server_version_is_shown_everywhere)
{
	const char *s = indexed("fixtures/wandb-sample", 0);
	int code;
	char *o;

	o = th_sh(&code, Q "'%s' --json used ef56gh78", s);
	cr_expect_eq(code, 0);
	cr_expect(strstr(o, "{\"id\":\"artifact:acme/wandb-demo/the-model:"
			 "v0\"") && strstr(o, UNRES_JSON), "used: %s", o);
	free(o);
	o = th_sh(&code, Q "'%s' run ef56gh78", s);
	cr_expect_eq(code, 0);
	cr_expect(strstr(o, "\nused        1\nunresolved  " TOK ":v3  (a W&B "
			 "online log: its producer lives on the W&B server)\n"),
		  "run: %s", o);
	free(o);
	o = th_sh(&code, Q "'%s' --json run ef56gh78", s);
	cr_expect(strstr(o, "\"unresolved\":[" UNRES_JSON), "run: %s", o);
	free(o);
	/* downstream of the model: the run, then its missing input */
	o = th_sh(&code, Q "'%s' lineage the-model:v0", s);
	cr_expect_eq(code, 0);
	cr_expect(strstr(o, "\n2  unresolved  " TOK ":v3  tokenizer  "
			 "ref=the-tokenizer:v3  (a W&B online log"), "%s", o);
	cr_expect(strstr(o, "# total=4 shown=4"), "%s", o);
	free(o);
	o = th_sh(&code, Q "'%s' impact the-model:v0 --format csv", s);
	cr_expect(strstr(o, "artifact:acme/wandb-demo/the-model:v0,2,"
			 "unresolved:" TOK ":v3,unresolved,acme/wandb-demo,"
			 "tokenizer,the-tokenizer,v3,,the-tokenizer:v3,"
			 "wandb-online,,,used,run:acme/wandb-demo/ef56gh78\n"),
		  "impact: %s", o);
	free(o);
	o = th_sh(&code, Q "'%s' --json provenance ef56gh78", s);
	const char *row = strstr(o, "{\"root\":\"run:acme/wandb-demo/"
				 "ef56gh78\",\"id\":\"unresolved:");
	cr_expect(row && strstr(row, UNRES_JSON + 1) ==
		  row + strlen("{\"root\":\"run:acme/wandb-demo/ef56gh78\","),
		  "provenance: %s", o);
	cr_expect(strstr(o, "\"distance\":1,\"via\":{\"from\":\"run:acme/"
			 "wandb-demo/ef56gh78\",\"edge\":\"used\"}"), "%s", o);
	free(o);
	/* a type filter keeps it when the use stated that type */
	o = th_sh(&code, Q "'%s' provenance ef56gh78 --type tokenizer", s);
	cr_expect_eq(th_count(o, "  unresolved  "), 1, "%s", o);
	cr_expect_eq(th_count(o, "the-model"), 0, "%s", o);
	free(o);
	o = th_sh(&code, Q "'%s' graph ef56gh78 --up --format json", s);
	cr_expect(strstr(o, "{\"id\":\"unresolved:" TOK ":v3\",\"kind\":"
			 "\"unresolved\",\"ref\":\"the-tokenizer:v3\","
			 "\"reason\":\"wandb-online\"") &&
		  strstr(o, "{\"from\":\"unresolved:" TOK ":v3\",\"to\":"
			 "\"run:acme/wandb-demo/ef56gh78\",\"edge\":\"used\"}"),
		  "graph: %s", o);
	free(o);
	/* a run with only resolved uses shows none */
	o = th_sh(&code, Q "'%s' used mn34op56", s);
	cr_expect_eq(th_count(o, "unresolved"), 0, "%s", o);
	free(o);
}

Test(answers, use_of_a_missing_version_and_of_another_project)
{
	/* badrec01 uses fixture-data:v0, which no file logged */
	const char *s = indexed("fixtures/bad", -1);
	int code;
	char *o = th_sh(&code, Q "'%s' used badrec01", s);

	cr_expect_eq(code, 0);
	cr_expect_str_eq(o, "unresolved  acme/fixtures-bad/fixture-data:v0  -"
			 "  ref=fixture-data:v0  (no such version in the "
			 "archive)\n");
	free(o);
	/* the sample's deployment run alone: its model's project is not
	 * in the store */
	char s2[TH_PATH_MAX];

	th_path(s2, "deploy.lmdb");
	free(th_sh(&code, "./lineage-index -q --store '%s' "
		   "fixtures/sample/mnist-serving", s2));
	cr_assert_eq(code, 0);
	o = th_sh(&code, Q "'%s' --json used k3v9d2qr", s2);
	cr_expect(strstr(o, "\"ref\":\"acme/mnist/mnist-19pofeku:best\","
			 "\"collection\":\"acme/mnist/mnist-19pofeku\","
			 "\"selector\":\"best\"") &&
		  strstr(o, "\"reason\":\"other-project\",\"why\":\"another "
			 "project, not in the archive\""), "%s", o);
	free(o);
	/* once that project is indexed, the use resolves */
	free(th_sh(&code, "./lineage-index -q --store '%s' fixtures/sample",
		   s2));
	o = th_sh(&code, Q "'%s' used k3v9d2qr", s2);
	cr_expect_str_eq(o, "artifact  acme/mnist/mnist-19pofeku:v1  model  "
			 "aliases=-\n");
	free(o);
}

Test(answers, walks_follow_producers_unless_with_relogs)
{
	const char *s = indexed("fixtures/sample", 0);
	int code;
	char *o;

	o = th_sh(&code, Q "'%s' provenance MNIST_raw:v1", s);
	cr_expect_str_eq(o, "artifact:acme/mnist/MNIST_raw:v1  1  run  "
			 "run:acme/mnist/5tn8x0ef  logged  "
			 "artifact:acme/mnist/MNIST_raw:v1\n");
	free(o);
	/* the option is global: before or after the command */
	for (int after = 0; after < 2; after++) {
		o = th_sh(&code, Q "'%s' %s provenance MNIST_raw:v1 %s", s,
			  after ? "" : "--with-relogs",
			  after ? "--with-relogs" : "");
		cr_expect_eq(code, 0);
		cr_expect(strstr(o, "run:acme/mnist/7hy3p2gh  relogged  "
				 "artifact:acme/mnist/MNIST_raw:v1\n"),
			  "%s", o);
		free(o);
	}
	o = th_sh(&code, Q "'%s' path 7hy3p2gh MNIST_raw:v1", s);
	cr_expect_str_eq(o, "");
	free(o);
	o = th_sh(&code, Q "'%s' --with-relogs --json path 7hy3p2gh "
		  "MNIST_raw:v1", s);
	cr_expect(strstr(o, "\"edge\":\"relogged\""), "%s", o);
	free(o);
	o = th_sh(&code, Q "'%s' graph MNIST_raw:v1 --up --format json", s);
	cr_expect_eq(th_count(o, "7hy3p2gh"), 0, "%s", o);
	free(o);
	o = th_sh(&code, Q "'%s' --with-relogs graph MNIST_raw:v1 --up "
		  "--format json", s);
	cr_expect(strstr(o, "{\"from\":\"run:acme/mnist/7hy3p2gh\",\"to\":"
			 "\"artifact:acme/mnist/MNIST_raw:v1\",\"edge\":"
			 "\"relogged\"}"), "%s", o);
	free(o);
	o = th_sh(&code, Q "'%s' --json logged-by MNIST_raw:v1", s);
	cr_expect_eq(th_count(o, "\"edge\":\"logged\""), 1, "%s", o);
	cr_expect(strstr(o, "\"run_id\":\"7hy3p2gh\"") &&
		  strstr(o, "\"edge\":\"relogged\"}\n"), "%s", o);
	free(o);
	o = th_sh(&code, Q "'%s' --json run 7hy3p2gh", s);
	cr_expect(strstr(o, "\"logged\":0,\"relogged\":1,\"used\":0"), "%s",
		  o);
	free(o);
}

/* An offline W&B log records no uses: its run's empty list of inputs is
 * "unknown", never "used nothing". */
Test(answers, offline_run_uses_are_unknown_not_none)
{
	const char *s = indexed("fixtures/wandb-sample", 0);
	int code;
	char *o;

	o = th_sh(&code, Q "'%s' run ab12cd34", s);
	cr_expect_eq(code, 0);
	cr_expect(strstr(o, "\nused        unknown (an offline W&B log "
			 "records no uses)\n"), "run: %s", o);
	free(o);
	o = th_sh(&code, Q "'%s' --json run ab12cd34", s);
	cr_expect(strstr(o, ",\"uses_recorded\":false}\n"), "run: %s", o);
	free(o);
	o = th_sh(&code, Q "'%s' --json run ef56gh78", s);
	cr_expect(strstr(o, ",\"uses_recorded\":true}\n"), "run: %s", o);
	free(o);
	o = th_sh(&code, Q "'%s' used ab12cd34 2>&1", s);
	cr_expect_eq(code, 0);
	cr_expect(strstr(o, "lineage-query: note: ab12cd34 ran offline: W&B "
			 "records no uses in offline logs, so what it "
			 "consumed is unknown\n"), "used: %s", o);
	free(o);
	o = th_sh(&code, Q "'%s' used ef56gh78 2>&1", s);
	cr_expect(!strstr(o, "ran offline"), "used: %s", o);
	free(o);
}
