/* cmd_node.c - the one-node subcommands: artifact, run, logged-by,
 * used-by, logged, used. */
#include "internal.h"
#include "unresolved.h"

#include <assert.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Parse a command that takes only the common options and one argument
 * (`what` names it in messages). -1 and *arg set, or an exit status. */
static int parse_one(struct lq *q, const struct lq_cmd *cmd,
		     const char *what, int argc, char **argv,
		     const char **arg)
{
	struct lin_getopt go;
	int c, r;

	lq_getopt(&go, cmd->opts);
	r = lq_next_opt(q, cmd->name, &go, argc, argv, NULL, &c);
	if (r == -1) {
		/* the only own option of these commands: artifact's
		 * --history, a different answer with its own parse (found
		 * here, so that "-jH" and "--hist" reach it too) */
		assert(cmd == &lq_artifact && c == 'H');
		return lq_cmd_history(q, argc, argv);
	}
	if (r >= 0)
		return r;
	if (optind == argc)
		return lq_usage(q, cmd->name, "missing %s", what);
	if (argc - optind > 1)
		return lq_usage(q, cmd->name, "expects one %s, got %d "
				"arguments", what, argc - optind);
	*arg = argv[optind];
	return -1;
}

/* Write the nodes of `l` one per line (text rows or JSON objects).
 * With `mark` set, each row also says which edge reached it: JSON
 * "edge":"logged"|"relogged", and text rows of re-logs end in
 * "re-logged". */
static int print_nodes(struct lq *q, const struct lin_nbrs *l, int mark,
		       struct lin_table *t)
{
	struct lin_qnode n;
	int rc = 0;

	lin_qnode_init(&n);
	if (lq_tabular(q)) {
		/* the header even when nothing follows; re-logs add the
		 * edge that reached each row */
		char cols[256];
		snprintf(cols, sizeof cols, "%s%s", lq_node_cols,
			 mark ? ",edge" : "");
		lq_header(q, cols);
	}
	for (size_t i = 0; i < l->n; i++) {
		rc = lq_node_load(q, l->v[i].node, &n);
		if (rc)
			break;
		const char *edge = lin_edge_label(l->v[i].kind);
		if (q->json) {
			putc('{', q->out);
			lin_json_node_fields(q->out, &n);
			if (mark)
				fprintf(q->out, ",\"edge\":\"%s\"", edge);
			fputs("}\n", q->out);
		} else if (lq_tabular(q)) {
			lq_fields_node(q, &n);
			if (mark)
				lq_field_str(q, edge);
			lq_row_end(q);
		} else {
			lin_table_row(t);
			lin_table_node(t, &n);
			if (mark && strcmp(edge, "relogged") == 0)
				lin_table_cell(t, "re-logged");
		}
	}
	lin_qnode_release(&n);
	return rc;
}

/* Write the unresolved uses of `l` after the resolved rows. */
static void print_unresolved(struct lq *q, const struct lq_unres_list *l,
			     struct lin_table *t)
{
	for (size_t i = 0; i < l->n; i++) {
		if (q->json) {
			putc('{', q->out);
			lq_unres_json_fields(q->out, &l->v[i]);
			fputs("}\n", q->out);
		} else if (lq_tabular(q)) {
			lq_fields_unres(q, &l->v[i]);
			lq_row_end(q);
		} else {
			lin_table_row(t);
			lq_unres_cells(t, &l->v[i]);
		}
	}
}

static int neighbours(struct lq *q, uint64_t node, unsigned kind,
		      struct lin_nbrs *l)
{
	l->n = 0;
	return lq_neighbours(q, node, kind, kind, l);
}

/* Parse `cmd`'s one argument (a REF when want_version, else a RUN) into
 * *arg, open the store and resolve the argument into *id. -1 when
 * resolved, else the exit status (printed). */
static int open_one(struct lq *q, const struct lq_cmd *cmd,
		    int want_version, int argc, char **argv, const char **arg,
		    uint64_t *id)
{
	int rc = parse_one(q, cmd, want_version ? "REF" : "RUN", argc, argv,
			   arg);

	if (rc >= 0)
		return rc;
	if ((rc = lq_open(q)) != 0)
		return rc;
	rc = want_version ? lq_resolve_ref(q, *arg, id)
			  : lq_resolve_run(q, *arg, id);
	return rc ? lq_fail(q, rc) : -1;
}

/* resolve ARG (a REF when want_version, else a RUN), then list the
 * nodes over edges of `kind`, then those over `relog` (0: none; the
 * rows are marked), then for `used` the uses that never resolved. */
static int list_cmd(struct lq *q, const struct lq_cmd *cmd,
		    int want_version,
		    unsigned kind, unsigned relog, int argc, char **argv)
{
	const char *arg = NULL;
	struct lin_nbrs l = { NULL, 0, 0 };
	struct lq_unres_list un = { NULL, 0, 0 };
	struct lin_table t;
	uint64_t id;
	int rc = open_one(q, cmd, want_version, argc, argv, &arg, &id);

	if (rc >= 0)
		return rc;
	lin_table_init(&t);
	/* the producer first, then the re-logs in node order */
	rc = neighbours(q, id, kind, &l);
	if (rc == 0 && relog)
		rc = lq_neighbours(q, id, relog, relog, &l);
	if (rc == 0 && kind == LIN_EDGE_USES)
		rc = lq_unresolved_of_run(q, id, &un);
	if (rc == 0)
		rc = print_nodes(q, &l, relog != 0, &t);
	if (rc == 0)
		print_unresolved(q, &un, &t);
	/* an offline W&B run's empty list is not "used nothing" */
	if (rc == 0 && kind == LIN_EDGE_USES && l.n == 0 && un.n == 0 &&
	    lq_run_offline(q, id))
		lq_errf(q, "note: %s ran offline: W&B records no uses in "
			"offline logs, so what it consumed is unknown", arg);
	if (rc == 0 && lin_table_flush(&t, q->out))
		rc = LIN_ENOMEM;
	lin_table_release(&t);
	lin_nbrs_free(&l);
	lq_unres_free(&un);
	return rc ? lq_fail(q, rc) : LQ_OK;
}

int lq_cmd_logged_by(struct lq *q, int argc, char **argv)
{
	return list_cmd(q, &lq_logged_by, 1, LIN_EDGE_LOGGED_BY,
			LIN_EDGE_RELOGGED_BY, argc, argv);
}

int lq_cmd_used_by(struct lq *q, int argc, char **argv)
{
	return list_cmd(q, &lq_used_by, 1, LIN_EDGE_USED_BY, 0, argc, argv);
}

int lq_cmd_logged(struct lq *q, int argc, char **argv)
{
	return list_cmd(q, &lq_logged, 0, LIN_EDGE_LOGGED, LIN_EDGE_RELOGGED,
			argc, argv);
}

int lq_cmd_used(struct lq *q, int argc, char **argv)
{
	return list_cmd(q, &lq_used, 0, LIN_EDGE_USES, 0, argc, argv);
}

static void kv_time(struct lin_table *t, const char *k, int64_t v)
{
	char buf[48];

	lin_table_row(t);
	lin_table_cell(t, k);
	lin_table_cell(t, v == LIN_QNONE ? "-" : lin_fmt_time(buf, v));
}

static void kv_int(struct lin_table *t, const char *k, int64_t v)
{
	lin_table_row(t);
	lin_table_cell(t, k);
	if (v == LIN_QNONE)
		lin_table_cell(t, "-");
	else
		lin_table_cellf(t, "%lld", (long long)v);
}

static void kv_str(struct lin_table *t, const char *k, struct lin_slice v)
{
	lin_table_row(t);
	lin_table_cell(t, k);
	lin_table_cellq(t, v);
}

static void kv_id(struct lin_table *t, const char *k,
		  const struct lin_qnode *n)
{
	char *id = lin_qnode_id(n, 1);

	lin_table_row(t);
	lin_table_cell(t, k);
	lin_table_cell(t, id ? id : "?");
	if (!id)
		t->failed = 1;
	free(id);
}

/* The ids of the nodes of `l` as a JSON array; `tmp` is scratch. */
static int json_ids(struct lq *q, const struct lin_nbrs *l,
		    struct lin_qnode *tmp)
{
	putc('[', q->out);
	for (size_t i = 0; i < l->n; i++) {
		int rc = lin_qnode_load(q->txn, &q->store, l->v[i].node, tmp,
					&q->e);
		if (rc)
			return rc;
		char *id = lin_qnode_id(tmp, 1);
		if (!id)
			return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
					   "out of memory");
		if (i)
			putc(',', q->out);
		lin_json_cstr(q->out, id);
		free(id);
	}
	putc(']', q->out);
	return 0;
}

/* Rows "key  e/p/run_id (name)" for the runs of `l`, the key on the
 * first; "key  -" when there are none and `dash` is set. */
static int run_rows(struct lq *q, struct lin_table *t, const char *key,
		    const struct lin_nbrs *l, struct lin_qnode *r, int dash)
{
	if (!l->n && dash) {
		lin_table_row(t);
		lin_table_cell(t, key);
		lin_table_cell(t, "-");
	}
	for (size_t i = 0; i < l->n; i++) {
		int rc = lin_qnode_load(q->txn, &q->store, l->v[i].node, r,
					&q->e);
		if (rc)
			return rc;
		lin_table_row(t);
		lin_table_cell(t, i ? "" : key);
		char *rid = lin_qnode_id(r, 0);
		if (r->name.p)
			lin_table_cellf(t, "%s (%.*s)", rid ? rid : "?",
					(int)r->name.n, r->name.p);
		else
			lin_table_cell(t, rid ? rid : "?");
		free(rid);
	}
	return 0;
}

static void kv_count(struct lin_table *t, const char *k, size_t n)
{
	lin_table_row(t);
	lin_table_cell(t, k);
	lin_table_cellf(t, "%zu", n);
}

/* A row "k  a[0], a[1], ..." ("-" when there are none). */
static void kv_joined(struct lin_table *t, const char *k,
		      const msgpack_object *a, const char *sep)
{
	lin_table_row(t);
	lin_table_cell(t, k);
	lin_table_joined(t, "", a, sep);
}

/* What artifact and run show: one node and its neighbours over three
 * edge kinds. */
struct shown {
	uint64_t id;
	struct lin_qnode n;
	struct lin_nbrs l[3];
};

static void shown_release(struct shown *s)
{
	lin_qnode_release(&s->n);
	for (size_t i = 0; i < 3; i++)
		lin_nbrs_free(&s->l[i]);
}

/* open_one, then load the node and its neighbours over kinds[0..2]
 * into s->l. -1 when loaded (the caller then calls shown_release),
 * else the exit status (printed). */
static int show_open(struct lq *q, const struct lq_cmd *cmd,
		     int want_version, const unsigned kinds[3], int argc,
		     char **argv, struct shown *s)
{
	const char *arg = NULL;
	uint64_t id;
	int rc = open_one(q, cmd, want_version, argc, argv, &arg, &id);

	if (rc >= 0)
		return rc;
	memset(s, 0, sizeof *s);
	s->id = id;
	lin_qnode_init(&s->n);
	rc = lq_node_load(q, s->id, &s->n);
	for (size_t i = 0; rc == 0 && i < 3; i++)
		rc = neighbours(q, s->id, kinds[i], &s->l[i]);
	if (rc == 0)
		return -1;
	shown_release(s);
	return lq_fail(q, rc);
}

int lq_cmd_artifact(struct lq *q, int argc, char **argv)
{
	static const unsigned kinds[3] = { LIN_EDGE_LOGGED_BY,
					   LIN_EDGE_RELOGGED_BY,
					   LIN_EDGE_USED_BY };
	struct shown s;
	struct lin_qnode r;
	struct lin_table t;
	int rc;

	rc = show_open(q, &lq_artifact, 1, kinds, argc, argv, &s);
	if (rc >= 0)
		return rc;
	rc = 0;
	const struct lin_qnode *n = &s.n;
	const struct lin_nbrs *by = &s.l[0], *re = &s.l[1], *users = &s.l[2];
	lin_qnode_init(&r);
	lin_table_init(&t);
	if (q->json) {
		putc('{', q->out);
		lin_json_node_fields(q->out, n);
		fputs(",\"collection\":", q->out);
		char *coll = lin_qnode_id(n, 0);
		if (coll)  /* "e/p/name:vN" minus ":vN" */
			*strrchr(coll, ':') = '\0';
		lin_json_cstr(q->out, coll ? coll : "");
		free(coll);
		/* W&B's names: logged_by (the producer), relogged_by and
		 * used_by, lists of run ids, and how many used it */
		fputs(",\"logged_by\":", q->out);
		if ((rc = json_ids(q, by, &r)))
			goto out;
		fputs(",\"relogged_by\":", q->out);
		if ((rc = json_ids(q, re, &r)))
			goto out;
		fputs(",\"used_by\":", q->out);
		if ((rc = json_ids(q, users, &r)))
			goto out;
		fprintf(q->out, ",\"used_by_count\":%zu}\n", users->n);
		goto out;
	}
	kv_id(&t, "id", n);
	lin_table_row(&t);
	lin_table_cell(&t, "collection");
	lin_table_cellf(&t, "%.*s/%.*s/%.*s", (int)n->entity.n, n->entity.p,
			(int)n->project.n, n->project.p, (int)n->name.n,
			n->name.p);
	kv_str(&t, "type", n->type);
	lin_table_row(&t);
	lin_table_cell(&t, "version");
	lin_table_cellf(&t, "v%lld", (long long)n->version);
	kv_str(&t, "digest", n->digest);
	kv_joined(&t, "aliases", n->aliases, ", ");
	kv_int(&t, "size", n->size);
	kv_int(&t, "files", n->files);
	kv_str(&t, "description", n->description);
	kv_time(&t, "created_at", n->created_at);
	if (n->server_id.p)  /* only versions exported from a W&B server */
		kv_str(&t, "server_id", n->server_id);
	lin_table_row(&t);
	lin_table_cell(&t, "metadata");
	if (n->metadata) {
		char *js = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&js, &len);
		if (m) {
			lin_json_msgpack(m, n->metadata);
			fclose(m);
		}
		lin_table_cell(&t, js ? js : "?");
		free(js);
	} else {
		lin_table_cell(&t, "-");
	}
	if ((rc = run_rows(q, &t, "logged_by", by, &r, 1)) ||
	    (rc = run_rows(q, &t, "relogged_by", re, &r, 0)))
		goto out;
	kv_count(&t, "users", users->n);
	if (lin_table_flush(&t, q->out))
		rc = LIN_ENOMEM;
out:
	lin_table_release(&t);
	lin_qnode_release(&r);
	shown_release(&s);
	return rc ? lq_fail(q, rc) : LQ_OK;
}

int lq_cmd_run(struct lq *q, int argc, char **argv)
{
	static const unsigned kinds[3] = { LIN_EDGE_LOGGED,
					   LIN_EDGE_RELOGGED,
					   LIN_EDGE_USES };
	struct lq_unres_list un = { NULL, 0, 0 };
	struct shown s;
	struct lin_table t;
	int offline;
	int rc = show_open(q, &lq_run, 0, kinds, argc, argv, &s);

	if (rc >= 0)
		return rc;
	const struct lin_qnode *n = &s.n;
	const struct lin_nbrs *logged = &s.l[0], *relogged = &s.l[1];
	const struct lin_nbrs *used = &s.l[2];
	lin_table_init(&t);
	if ((rc = lq_unresolved_of_run(q, s.id, &un)))
		goto out;
	offline = used->n == 0 && un.n == 0 && lq_run_offline(q, s.id);
	if (q->json) {
		putc('{', q->out);
		lin_json_node_fields(q->out, n);
		fprintf(q->out, ",\"logged\":%zu,\"relogged\":%zu,"
			"\"used\":%zu,\"unresolved\":[", logged->n,
			relogged->n, used->n);
		for (size_t i = 0; i < un.n; i++) {
			fputs(i ? ",{" : "{", q->out);
			lq_unres_json_fields(q->out, &un.v[i]);
			putc('}', q->out);
		}
		fprintf(q->out, "],\"uses_recorded\":%s}\n",
			offline ? "false" : "true");
		goto out;
	}
	kv_id(&t, "id", n);
	kv_str(&t, "name", n->name);
	kv_str(&t, "job_type", n->job_type);
	kv_str(&t, "group", n->group);
	kv_str(&t, "host", n->host);
	kv_str(&t, "notes", n->notes);
	kv_joined(&t, "tags", n->tags, ", ");
	if (lin_qnode_has_code(n)) {
		kv_str(&t, "program", n->program);
		kv_str(&t, "git_remote", n->git_remote);
		kv_str(&t, "git_commit", n->git_commit);
		kv_joined(&t, "args", n->args, " ");
	}
	kv_str(&t, "state", n->state);
	kv_int(&t, "exit_code", n->exit_code);
	kv_time(&t, "started_at", n->started_at);
	kv_time(&t, "ended_at", n->ended_at);
	kv_count(&t, "logged", logged->n);
	if (relogged->n)
		kv_count(&t, "relogged", relogged->n);
	lin_table_row(&t);
	lin_table_cell(&t, "used");
	if (offline)
		lin_table_cell(&t, "unknown (an offline W&B log records no "
			       "uses)");
	else
		lin_table_cellf(&t, "%zu", used->n);
	/* every use that named no version, as its own row: "used 0" alone
	 * would read as "used nothing" */
	for (size_t i = 0; i < un.n; i++) {
		lin_table_row(&t);
		lin_table_cell(&t, i ? "" : "unresolved");
		lin_table_cellf(&t, "%s:%s", un.v[i].coll, un.v[i].sel);
		lin_table_cellf(&t, "(%s)", lq_unres_text(un.v[i].why));
	}
	if (lin_table_flush(&t, q->out))
		rc = LIN_ENOMEM;
out:
	lin_table_release(&t);
	shown_release(&s);
	lq_unres_free(&un);
	return rc ? lq_fail(q, rc) : LQ_OK;
}

/* ---- the commands' options and help ---- */

static const struct lin_opt no_opts[] = { LIN_OPT_END };

const struct lq_cmd lq_artifact = {
	"artifact", lq_cmd_artifact, "artifact REF [--history]",
	"a version's attributes, aliases, producer and user count",
	NULL, lq_artifact_opts, NULL
};

const struct lq_cmd lq_logged_by = {
	"logged-by", lq_cmd_logged_by, "logged-by REF",
	"the run(s) that logged a version", NULL, no_opts, NULL
};

const struct lq_cmd lq_used_by = {
	"used-by", lq_cmd_used_by, "used-by REF",
	"the runs that used a version", NULL, no_opts, NULL
};

const struct lq_cmd lq_run = {
	"run", lq_cmd_run, "run RUN",
	"a run's attributes and counts of what it logged and used", NULL,
	no_opts, NULL
};

const struct lq_cmd lq_logged = {
	"logged", lq_cmd_logged, "logged RUN",
	"the versions a run logged", NULL, no_opts, NULL
};

const struct lq_cmd lq_used = {
	"used", lq_cmd_used, "used RUN",
	"the versions a run used", NULL, no_opts, NULL
};
