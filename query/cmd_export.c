/* cmd_export.c - the export subcommand: what the store holds as
 * OpenLineage 2-0-2 RunEvents, one JSON object per line, so Marquez,
 * DataHub or any OpenLineage consumer can load it.
 *
 * The mapping (documented in the README and the man page):
 *   run      -> a job run: runId a UUID derived from entity/project/run_id
 *               (the same run always gets the same UUID), job namespace
 *               "lineage://entity/project", job name its job type (the
 *               run id when it has none)
 *   version  -> a dataset: namespace "lineage://entity/project", name
 *               the collection, the version facet "vN" with the digest
 *   events   -> START at started_at with the inputs (the versions the
 *               run used); at ended_at COMPLETE (finished), FAIL (failed,
 *               crashed) or ABORT (killed) with inputs and outputs (the
 *               versions it logged). A run without an end (still
 *               running, or it crashed unrecorded) has only its START;
 *               a run without a start time cannot be placed in time and
 *               is left out with a note on stderr. */
#include "internal.h"
#include "unresolved.h"
#include "indexer/idset.h"
#include "format/keys.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define OL_SCHEMA "https://openlineage.io/spec/2-0-2/OpenLineage.json"
#define OL_PRODUCER "urn:lineage:lineage-query:" LIN_VERSION
#define OL_VERSION_FACET "https://openlineage.io/spec/facets/1-0-1/" \
	"DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
#define OL_JOBTYPE_FACET "https://openlineage.io/spec/facets/2-0-4/" \
	"JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
#define LINEAGE_FACET "urn:lineage:facets:LineageRunFacet:1"

struct exp {
	struct lq *q;
	struct lin_qnode run, v;
	struct lin_nbrs used, logged;
	struct lq_unres_list unres;  /* the run's uses that never resolved */
	struct lin_idset done; /* runs written */
	uint64_t skipped;     /* runs without a start time */
	int offline;          /* the current run's uses are unknown */
};

/* A UUID (RFC 9562 version 8, name-derived) for run "e/p/id": two
 * FNV-1a hashes with different offsets give the 128 bits. */
static void run_uuid(char out[37], const char *key)
{
	size_t n = strlen(key);
	uint64_t hi = lin_fnv1a(LIN_FNV_OFFSET, key, n);
	uint64_t lo = lin_fnv1a(0x84222325cbf29ce4ULL ^ hi, key, n);
	unsigned char b[16];

	for (int i = 0; i < 8; i++) {
		b[i] = (unsigned char)(hi >> (56 - 8 * i));
		b[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x80);  /* version 8 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);  /* RFC variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
		 b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

static void namespace(FILE *f, const struct lin_qnode *n)
{
	char *s = NULL;
	if (asprintf(&s, "lineage://%.*s/%.*s", (int)n->entity.n,
		     n->entity.p, (int)n->project.n, n->project.p) < 0) {
		fputs("null", f);
		return;
	}
	lin_json_cstr(f, s);
	free(s);
}

/* The datasets of list `l` as a JSON array. */
static int datasets(struct exp *x, const struct lin_nbrs *l)
{
	FILE *f = x->q->out;
	int rc = 0;

	putc('[', f);
	for (size_t i = 0; i < l->n; i++) {
		if ((rc = lq_node_load(x->q, l->v[i].node, &x->v)))
			return rc;
		fputs(i ? ",{\"namespace\":" : "{\"namespace\":", f);
		namespace(f, &x->v);
		fputs(",\"name\":", f);
		lin_json_qstr(f, x->v.name);
		fprintf(f, ",\"facets\":{\"version\":{\"_producer\":\""
			OL_PRODUCER "\",\"_schemaURL\":\"" OL_VERSION_FACET
			"\",\"datasetVersion\":\"v%lld\"",
			(long long)x->v.version);
		if (x->v.digest.p) {
			fputs(",\"digest\":", f);
			lin_json_qstr(f, x->v.digest);
		}
		if (x->v.type.p) {
			fputs(",\"type\":", f);
			lin_json_qstr(f, x->v.type);
		}
		fputs("}}}", f);
	}
	/* Inputs include the uses that never resolved: the collection, and
	 * the selector as used in place of a version. */
	for (size_t i = 0; l == &x->used && i < x->unres.n; i++) {
		const struct lq_unres *u = &x->unres.v[i];
		const char *name = strrchr(u->coll, '/');
		char *ns = NULL;
		if (asprintf(&ns, "lineage://%.*s", name ?
			     (int)(name - u->coll) : 0, u->coll) < 0)
			return lin_err_set(&x->q->e, LIN_ENOMEM,
					   LIN_NO_OFFSET, "out of memory");
		fputs(l->n || i ? ",{\"namespace\":" : "{\"namespace\":", f);
		lin_json_cstr(f, ns);
		free(ns);
		fputs(",\"name\":", f);
		lin_json_cstr(f, name ? name + 1 : u->coll);
		fputs(",\"facets\":{\"version\":{\"_producer\":\""
		      OL_PRODUCER "\",\"_schemaURL\":\"" OL_VERSION_FACET
		      "\",\"datasetVersion\":", f);
		lin_json_cstr(f, u->sel);
		fprintf(f, ",\"unresolved\":\"%s\"", lq_unres_code(u->why));
		if (u->type) {
			fputs(",\"type\":", f);
			lin_json_cstr(f, u->type);
		}
		fputs("}}}", f);
	}
	putc(']', f);
	return 0;
}

static int event(struct exp *x, const char *type, int64_t t, int outputs)
{
	FILE *f = x->q->out;
	struct lin_qnode *r = &x->run;
	char tb[48], uuid[37];
	char *key = NULL;
	int rc;

	if (asprintf(&key, "%.*s/%.*s/%.*s", (int)r->entity.n, r->entity.p,
		     (int)r->project.n, r->project.p, (int)r->run_id.n,
		     r->run_id.p) < 0)
		return lin_err_set(&x->q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	run_uuid(uuid, key);
	fprintf(f, "{\"eventType\":\"%s\",\"eventTime\":\"%s\","
		"\"producer\":\"" OL_PRODUCER "\",\"schemaURL\":\""
		OL_SCHEMA "#/$defs/RunEvent\",\"run\":{\"runId\":\"%s\","
		"\"facets\":{\"lineage\":{\"_producer\":\"" OL_PRODUCER
		"\",\"_schemaURL\":\"" LINEAGE_FACET "\",\"run\":", type,
		lin_fmt_time(tb, t), uuid);
	lin_json_cstr(f, key);
	free(key);
	fputs(",\"name\":", f);
	lin_json_qstr(f, r->name);
	fputs(",\"state\":", f);
	lin_json_qstr(f, r->state);
	if (x->offline)
		fputs(",\"inputs_unknown\":true", f);
	fputs("}}},\"job\":{\"namespace\":", f);
	namespace(f, r);
	fputs(",\"name\":", f);
	lin_json_qstr(f, r->job_type.p && r->job_type.n ? r->job_type :
		      r->run_id);
	fputs(",\"facets\":{\"jobType\":{\"_producer\":\"" OL_PRODUCER
	      "\",\"_schemaURL\":\"" OL_JOBTYPE_FACET "\","
	      "\"processingType\":\"BATCH\",\"integration\":\"LINEAGE\"",
	      f);
	if (r->job_type.p) {
		fputs(",\"jobType\":", f);
		lin_json_qstr(f, r->job_type);
	}
	fputs("}}},\"inputs\":", f);
	if ((rc = datasets(x, &x->used)))
		return rc;
	fputs(",\"outputs\":", f);
	if (outputs && (rc = datasets(x, &x->logged)))
		return rc;
	if (!outputs)
		fputs("[]", f);
	fputs("}\n", f);
	return 0;
}

static int qstr_is(struct lin_slice s, const char *c)
{
	return s.p && s.n == strlen(c) && memcmp(s.p, c, s.n) == 0;
}

/* Write run `id`'s events, once per export. */
static int one_run(struct exp *x, uint64_t id)
{
	struct lq *q = x->q;
	struct lin_qnode *r = &x->run;
	int rc;

	switch (lin_idset_add(&x->done, id)) {
	case 0:
		return 0;  /* written already */
	case -1:
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	}
	if ((rc = lq_node_load(q, id, r)))
		return rc;
	if (r->started_at == LIN_QNONE) {
		fprintf(q->err, "%s: export: run ", q->prog);
		lin_text_str(q->err, r->run_id.p, r->run_id.n);
		fputs(" has no start time: left out\n", q->err);
		x->skipped++;
		return 0;
	}
	x->used.n = x->logged.n = 0;
	lq_unres_free(&x->unres);
	/* outputs: what it produced and what it logged again (a re-log
	 * writes the same version) */
	if ((rc = lq_neighbours(q, id, LIN_EDGE_USES, LIN_EDGE_USES,
				&x->used)) ||
	    (rc = lq_neighbours(q, id, LIN_EDGE_LOGGED, LIN_EDGE_LOGGED,
				&x->logged)) ||
	    (rc = lq_neighbours(q, id, LIN_EDGE_RELOGGED, LIN_EDGE_RELOGGED,
				&x->logged)) ||
	    (rc = lq_unresolved_of_run(q, id, &x->unres)))
		return rc;
	x->offline = x->used.n == 0 && x->unres.n == 0 && lq_run_offline(q, id);
	if ((rc = event(x, "START", r->started_at, 0)))
		return rc;
	if (r->ended_at == LIN_QNONE || !r->state.p)
		return 0;
	const char *type = qstr_is(r->state, "finished") ? "COMPLETE" :
			   qstr_is(r->state, "killed") ? "ABORT" :
			   qstr_is(r->state, "running") ? NULL : "FAIL";
	return type ? event(x, type, r->ended_at, 1) : 0;
}

/* A run exports itself; a version exports the runs that logged and used
 * it. */
static int one_node(struct exp *x, uint64_t id)
{
	struct lin_nbrs nb = { NULL, 0, 0 };
	int rc;

	if (LIN_ID_KIND(id) == LIN_ID_RUN)
		return one_run(x, id);
	rc = lq_neighbours(x->q, id, LIN_EDGE_LOGGED_BY, LIN_EDGE_RELOGGED_BY,
			   &nb);
	if (rc == 0)
		rc = lq_neighbours(x->q, id, LIN_EDGE_USED_BY,
				   LIN_EDGE_USED_BY, &nb);
	for (size_t i = 0; rc == 0 && i < nb.n; i++)
		rc = one_run(x, nb.v[i].node);
	lin_nbrs_free(&nb);
	return rc;
}

static int export_run(struct lq *q, uint64_t id, void *ctx)
{
	int rc = lq_exists(q, id);
	return rc == 1 ? one_run(ctx, id) : rc;
}

static const struct lin_opt export_opts[] = {
	{ 'F', "format", "FMT", "openlineage, the only format (required)" },
	{ 'A', "all", NULL, "every run (as of --as-of)" },
	LIN_OPT_END
};

int lq_cmd_export(struct lq *q, int argc, char **argv)
{
	struct lin_getopt go;
	const char *cmd = "export", *format = NULL;
	int c, r, rc, all = 0;
	struct exp x;

	lq_getopt(&go, export_opts);
	while ((r = lq_next_opt(q, cmd, &go, argc, argv, NULL,
				  &c)) == -1) {
		if (c == 'F') {
			format = optarg;
			continue;
		}
		if (c == 'A') {
			all = 1;
			continue;
		}
	}
	if (r >= 0)
		return r;
	if (!format || strcmp(format, "openlineage"))
		return lq_usage(q, cmd, format ? "bad --format '%s': expected"
				" openlineage" : "--format openlineage is "
				"required%s", format ? format : "");
	if ((optind == argc) == !all)
		return lq_usage(q, cmd, all ? "--all exports every run: give "
				"no NODE with it" : "missing NODE (or --all)");
	q->scans = all;
	if ((rc = lq_open(q)) != 0)
		return rc;
	memset(&x, 0, sizeof x);
	x.q = q;
	lin_qnode_init(&x.run);
	lin_qnode_init(&x.v);
	lin_idset_init(&x.done);
	if (all)
		rc = lq_each_run(q, export_run, &x);
	for (int i = optind; rc == 0 && i < argc; i++) {
		uint64_t id;
		if ((rc = lq_resolve_node(q, argv[i], &id)) == 0)
			rc = one_node(&x, id);
	}
	lin_qnode_release(&x.run);
	lin_qnode_release(&x.v);
	lin_nbrs_free(&x.used);
	lin_nbrs_free(&x.logged);
	lq_unres_free(&x.unres);
	lin_idset_release(&x.done);
	return rc ? lq_fail(q, rc) : LQ_OK;
}

const struct lq_cmd lq_export = {
	"export", lq_cmd_export,
	"export --format openlineage NODE...|--all",
	"runs with their inputs and outputs as OpenLineage RunEvents",
	"One OpenLineage 2-0-2 RunEvent per line (NDJSON), for Marquez,\n"
	"DataHub or any OpenLineage consumer. A run NODE exports that\n"
	"run, an artifact NODE the runs that logged and used it, --all\n"
	"every run. Each run gives a START event at its start time with\n"
	"its inputs (the versions it used) and, when it ended, COMPLETE\n"
	"(finished), FAIL (failed, crashed) or ABORT (killed) at its end\n"
	"time with inputs and outputs (the versions it logged, re-logs\n"
	"too); uses that never resolved are inputs with the selector as\n"
	"datasetVersion and why as 'unresolved'. runId is\n"
	"a UUID derived from entity/project/run_id; the job is\n"
	"lineage://entity/project with the job type as its name; a\n"
	"dataset is lineage://entity/project with the collection as its\n"
	"name and a version facet ('v3', digest, type). Runs without a\n"
	"start time are left out with a note on stderr; runs of offline\n"
	"W&B logs, which record no uses, say \"inputs_unknown\": true.\n",
	export_opts, NULL
};
