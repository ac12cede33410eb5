/* internal.h - what the lineage-query modules share: decoded nodes, name
 * resolution, output writers and the subcommand entry points. Not
 * installed; the public API is query.h. */
#ifndef LIN_QUERY_INTERNAL_H
#define LIN_QUERY_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <msgpack.h>

#include "format/exit.h"
#include "format/facts.h"
#include "format/mpcheck.h"
#include "format/opts.h"
#include "format/view.h"
#include "qtime.h"
#include "query.h"

/* Exit statuses: the programs' one enum (format/exit.h), under the
 * names the query code has used. */
#define LQ_OK LIN_EXIT_OK
#define LQ_NOTFOUND LIN_EXIT_NOTFOUND
#define LQ_USAGE LIN_EXIT_USAGE
#define LQ_DATAERR LIN_EXIT_DATA
#define LQ_NOINPUT LIN_EXIT_NOINPUT
#define LQ_SOFTWARE LIN_EXIT_SOFTWARE
#define LQ_IOERR LIN_EXIT_IO
#define LQ_TEMPFAIL LIN_EXIT_TEMPFAIL

/* Strings read from the store are struct lin_slice (format/facts.h),
 * borrowed and not NUL-terminated; in query/ a slice with p == NULL is
 * an absent value (shown as null or "-"). */

/* A node decoded from `nodes`. Strings and objects point into the LMDB
 * value and the msgpack zone: valid until lin_qnode_release() or the end
 * of the transaction, whichever comes first. Absent integers are
 * LIN_QNONE. */
#define LIN_QNONE INT64_MIN
struct lin_qnode {
	uint64_t id;
	unsigned kind;               /* LIN_ID_RUN or LIN_ID_VERSION */
	struct lin_slice entity, project;
	struct lin_slice name;        /* collection / display name */
	/* run */
	struct lin_slice run_id, job_type, group, host, notes, state;
	const msgpack_object *tags;  /* array or NULL */
	struct lin_slice program, git_remote, git_commit; /* code context */
	const msgpack_object *args;  /* array or NULL */
	int64_t started_at, ended_at, exit_code;
	/* version */
	struct lin_slice type, digest, description;
	struct lin_slice server_id;   /* W&B's id of the version, or absent */
	const msgpack_object *aliases; /* array or NULL */
	const msgpack_object *metadata;/* any value or NULL */
	int64_t version, size, files, created_at;
	uint64_t coll;               /* 0 when absent */
	msgpack_unpacked up;
};

/* Prepare `n` for lin_qnode_load (once). */
void lin_qnode_init(struct lin_qnode *n);

/* Decode node `id` (an id read from the store). Errors: LIN_ECORRUPT
 * (no such node, not a msgpack map, wrong kind, missing
 * entity/project/ids), LIN_ESTORE. May be called again on the same
 * `n`. */
int lin_qnode_load(MDB_txn *txn, const struct lin_store *s, uint64_t id,
		   struct lin_qnode *n, struct lin_err *err);

void lin_qnode_release(struct lin_qnode *n);

/* As lin_qnode_load, for callers that print only what a node's core
 * record (node_core, format/core.h) holds: kind, entity, project, name,
 * run_id, job_type, state, git_commit (runs), type, version, aliases
 * (versions), started_at (runs) or created_at (versions). The other
 * attributes read as absent. Loads the whole node when the store has no
 * core record for it or the record defers to `nodes`. Same errors. */
int lin_qnode_load_core(MDB_txn *txn, const struct lin_store *s,
			uint64_t id, struct lin_qnode *n,
			struct lin_err *err);

/* The node's id text, "run:e/p/run_id" or "artifact:e/p/name:vN" (with
 * with_kind 0: without the "run:"/"artifact:" prefix). The caller frees
 * the string; NULL when out of memory. */
char *lin_qnode_id(const struct lin_qnode *n, int with_kind);

/* The id text of the node a walk's row was reached from. Rows come
 * grouped by that node, so it is loaded (lin_qnode_load_core) and
 * formatted once for as long as the same node is asked for. */
struct lin_qref {
	uint64_t node;      /* the node `ref` names; 0: none */
	struct lin_qnode n;
	char *ref;
};
void lin_qref_init(struct lin_qref *r);
void lin_qref_release(struct lin_qref *r);
/* *out: the "run:"/"artifact:" id text of `node`, valid until the next
 * call or lin_qref_release. 0, LIN_ENOMEM or lin_qnode_load_core's
 * errors. */
int lin_qref_get(MDB_txn *txn, const struct lin_store *s,
		 struct lin_qref *r, uint64_t node, const char **out,
		 struct lin_err *err);


/* ---- whole-store scans (each.c) ---- */

/* Called with each run or version id; 0 to go on, > 0 to stop (not an
 * error), or a negative LIN_E* code (after filling q->e) to fail. */
struct lq;
typedef int lq_each_fn(struct lq *q, uint64_t id, void *ctx);

/* Every run and version node by id, in id order, whatever --as-of
 * says. 0, or LIN_ECORRUPT (an id that is not 8 bytes), LIN_ESTORE, or
 * what `fn` returned. */
int lq_each_id(struct lq *q, lq_each_fn *fn, void *ctx);

/* Every run, by name ("entity/project/run_id" order). The same
 * returns, and LIN_ENOMEM. */
int lq_each_run(struct lq *q, lq_each_fn *fn, void *ctx);

/* ---- resolution (resolve.c); messages in err->msg are user-facing ---- */

/* REF "[entity/project/]name[:alias|:vN]" (also "[project/]name" forms
 * and an "artifact:" prefix) to a version node. LIN_EINVAL (syntax),
 * LIN_ENOTFOUND (unknown or ambiguous, with suggestions), LIN_ESTORE,
 * LIN_ECORRUPT, LIN_ENOMEM. */
int lin_resolve_ref(MDB_txn *txn, const struct lin_store *s,
		    const char *ref, uint64_t *vid, struct lin_err *err);

/* RUN "[entity/project/]run_id" (or "run:" prefix), or a run's display
 * name when exactly one run has it. Errors as lin_resolve_ref. */
int lin_resolve_run(MDB_txn *txn, const struct lin_store *s,
		    const char *run, uint64_t *rid, struct lin_err *err);

/* REF, and NODE ("run:..." or "artifact:...", else an artifact REF when
 * it has a ':', else a RUN, falling back to an artifact collection's
 * latest version when no run matches), as of time `*at` (at NULL: now):
 * aliases and `latest` name what they named then (asof.c rules). Whether
 * the node itself existed then is left to the caller (lq_resolve_*).
 * Errors as lin_resolve_ref. */
int lin_resolve_ref_at(MDB_txn *txn, const struct lin_store *s,
		       const char *ref, const int64_t *at, uint64_t *vid,
		       struct lin_err *err);
int lin_resolve_node_at(MDB_txn *txn, const struct lin_store *s,
			const char *spec, const int64_t *at, uint64_t *node,
			struct lin_err *err);

/* The collection a REF names and its selector: *sel points into `ref`
 * (after the ':'), or is "latest" when the REF has none. Errors as
 * lin_resolve_ref. */
int lin_resolve_coll(MDB_txn *txn, const struct lin_store *s,
		     const char *ref, uint64_t *coll, const char **sel,
		     struct lin_err *err);

/* Levenshtein distance of two byte strings, capped at `cap`+1. */
size_t lin_edit_distance(const char *a, size_t an, const char *b,
			 size_t bn, size_t cap);

/* ---- output (out.c) ---- */

/* Write p[0..n) as a JSON string: quotes, escapes, and U+FFFD for bytes
 * that are not UTF-8. */
void lin_json_str(FILE *f, const char *p, size_t n);
void lin_json_cstr(FILE *f, const char *s);
/* A JSON string, or null when s.p is NULL. */
void lin_json_qstr(FILE *f, struct lin_slice s);

/* A msgpack value as JSON (bin/ext as base64 strings, non-string map keys
 * as their JSON text in a string, NaN/inf as null). */
void lin_json_msgpack(FILE *f, const msgpack_object *o);


/* Write a node's fields (no braces): "id":..,"kind":.., attributes. */
void lin_json_node_fields(FILE *f, const struct lin_qnode *n);

/* 1 when run `n` has any code context (program, git, args). */
int lin_qnode_has_code(const struct lin_qnode *n);

/* Text: p[0..n) with control bytes shown as \n, \t or \xNN. */
void lin_text_str(FILE *f, const char *p, size_t n);

/* An aligned text table: cells are copied; rows may have any number of
 * cells; columns are padded to their widest cell, separated by two
 * spaces; trailing empty cells are dropped. */
struct lin_table_cell {
	size_t off;      /* into text */
	size_t width;    /* display width (code points) */
};
struct lin_table {
	char *text;      /* every cell's text, NUL-terminated, row after
			  * row: one buffer, not an allocation per cell */
	size_t len, cap;
	struct lin_table_cell *cell;
	size_t *rowlen;  /* cells per row */
	size_t ncell, cellcap, nrow, rowcap;
	int failed;      /* out of memory: rows were lost */
};

void lin_table_init(struct lin_table *t);
/* Start a row, then add cells to it. */
void lin_table_row(struct lin_table *t);
void lin_table_cell(struct lin_table *t, const char *s);
void lin_table_cellf(struct lin_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A cell holding p[0..n) escaped as by lin_text_str ("-" when absent
 * or empty). */
void lin_table_cellq(struct lin_table *t, struct lin_slice s);
/* Print and empty the table. Returns 0 or LIN_ENOMEM if a cell was lost. */
int lin_table_flush(struct lin_table *t, FILE *f);
void lin_table_release(struct lin_table *t);

/* A cell: `prefix` then the strings of array `a` (may be NULL) joined
 * by `sep`, or "-" when there are none. */
void lin_table_joined(struct lin_table *t, const char *prefix,
		      const msgpack_object *a, const char *sep);

/* The one-line text row of a node: kind, ref, type/job_type, then
 * aliases=... or name and state. */
void lin_table_node(struct lin_table *t, const struct lin_qnode *n);

/* ---- the CLI: the query context; dispatch in cli.c, what the commands
 * share in cmdkit.c (errors, the store) and cmdopts.c (options, help) */

/* The program's name, first word of every message. */
#define LQ_PROG "lineage-query"

struct lq_asof;
struct lq_cmd;

/* Output formats of the listing commands (--format). */
enum lq_fmt { LQ_FMT_TEXT, LQ_FMT_TSV, LQ_FMT_CSV, LQ_FMT_JSON };

struct lq {
	enum lq_fmt fmt;         /* --format; json also sets `json` */
	int header_done;         /* tsv/csv: the header row is out */
	int row_fields;          /* tsv/csv: fields of the current row */
	FILE *out, *err;
	const char *prog;        /* "lineage-query" */
	/* The commands (cli.c's lq_cmds), which --help lists: read
	 * through here so that cmdopts.c need not call cli.c. */
	const struct lq_cmd *const *cmds;
	const char *store_path;
	int json;
	int opened;
	struct lin_store store;
	struct lin_store *borrowed; /* lin_query_run_store: use, never close */
	MDB_txn *txn;
	struct lin_err e;
	int has_asof;            /* --as-of given: answer as of `asof` */
	int64_t asof;            /* ns since the epoch */
	struct lq_asof *at;      /* set up by lq_open when has_asof */
	int relogs;              /* --with-relogs: walks follow re-logs */
	int scans;               /* the command reads much of the store in
				    key order (ls, check, export --all,
				    graph of projects, stats --as-of):
				    lq_open keeps read-ahead */
	int pending_read;        /* `pending_uses` holds the entry count of
				    `pending` in this snapshot */
	uint64_t pending_uses;
	/* the projects that hold runs, read once (unresolved.c) */
	int run_scopes_read;
	struct lin_scopes run_scopes;
	/* A store read without its lock file (lin_store.nolock): output is
	 * held in memory until the read is known untorn (cli.c). */
	size_t txnid;            /* the snapshot's transaction id */
	FILE *held_out, *held_err;
	char *obuf, *ebuf;
	size_t olen, elen;
};

/* ---- --format tsv|csv (table.c) ---- */

/* "text", "tsv", "csv" or "json" into *out; 0 or -1. */
int lq_format_parse(const char *s, enum lq_fmt *out);

/* Take "--format FMT" / "--format=FMT" / "-F FMT" out of the argv of a
 * listing command (logged-by, used-by, logged, used, ls, lineage, path,
 * diff), setting q->fmt (and q->json for json). 0, or LIN_EINVAL with
 * the usage message in q->e (cli.c prints it). */
int lq_take_format(struct lq *q, const char *cmd, int *argc, char **argv);

/* 1 when `cmd` takes --format through lq_take_format. */
int lq_lists(const char *cmd);

/* 1 when q->fmt is tsv or csv. */
int lq_tabular(const struct lq *q);

/* The header row (columns separated by ','), once per answer; 1 when
 * written now. */
int lq_header(struct lq *q, const char *cols);

/* One field of the current row (p NULL: empty), quoted or escaped as the
 * format needs; then lq_row_end() ends the row. */
void lq_field(struct lq *q, const char *p, size_t n);
void lq_field_str(struct lq *q, const char *s);
void lq_field_q(struct lq *q, struct lin_slice s);
void lq_field_fmt(struct lq *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lq_row_end(struct lq *q);

/* The columns of a node, and its fields in that order: id, kind
 * (run|artifact), project (entity/project), type (artifact type or job
 * type), collection, version (vN), aliases (comma-joined), name
 * (display name, or collection:vN), state, time (started_at or
 * created_at), git_commit. */
extern const char lq_node_cols[];
void lq_fields_node(struct lq *q, const struct lin_qnode *n);

/* The same columns for a use that never resolved (unresolved.h): id
 * unresolved:e/p/name:sel, kind "unresolved", project, the type the use
 * stated, collection, version (the selector as used), name (the ref as
 * written), state (why: no-version, other-project, wandb-online,
 * later). */
struct lq_unres;
void lq_fields_unres(struct lq *q, const struct lq_unres *u);

/* ---- what every command does alike (cmdkit.c) ---- */

/* Print "lineage-query: MSG" on q->err. */
void lq_errf(struct lq *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Usage error: message plus "try 'lineage-query CMD --help'"; returns 64. */
int lq_usage(struct lq *q, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Open the store and its read transaction (once); 0 or an exit status
 * after printing why. */
int lq_open(struct lq *q);

/* Print q->e (or a library error `rc`) and map it to an exit status. */
int lq_fail(struct lq *q, int rc);

/* Close the store lq_open opened (its transaction already ended); a
 * borrowed one (lin_query_run_store) stays open. */
void lq_close_store(struct lq *q);

/* One subcommand: its entry point, its options and help texts, all
 * declared in the command's own cmd_*.c. Its getopt inputs and the
 * option lines of its --help come from `opts` (format/opts.h). */
struct lq_cmd {
	const char *name;
	int (*fn)(struct lq *q, int argc, char **argv);
	const char *synopsis;  /* after "lineage-query " */
	const char *summary;
	const char *about;     /* description before the options, or NULL */
	const struct lin_opt *opts; /* its own options (not the common
				       ones), or NULL */
	const char *notes;     /* after the options, or NULL */
};

/* The commands, in the order --help lists them; NULL-terminated
 * (cli.c; commands and help reach it as q->cmds). */
extern const struct lq_cmd *const lq_cmds[];

/* The commands (cmd_node.c, cmd_history.c, cmd_lineage.c, cmd_batch.c,
 * cmd_graph.c, cmd_store.c, cmd_diff.c, cmd_export.c). */
extern const struct lq_cmd lq_artifact, lq_logged_by, lq_used_by, lq_run,
	lq_logged, lq_used, lq_lineage, lq_path, lq_impact, lq_provenance,
	lq_graph, lq_ls, lq_stats, lq_check, lq_diff, lq_export;

/* ---- options and help (cmdopts.c) ---- */

/* Codes of the program's long-only options (lq_global_opts). */
enum { LQ_OPT_ASOF = LIN_OPT_LONG_ONLY, LQ_OPT_RELOGS };

/* Options every command takes among its own: -j/--json, -h/--help,
 * -V/--version; and the program's own (-s/--store, --as-of,
 * --with-relogs), which every command also accepts after its name
 * (taken out by lq_take_asof before its options are parsed). */
extern const struct lin_opt lq_head_opts[], lq_global_opts[];

/* --format of the listing commands (lq_lists), taken out by
 * lq_take_format (table.c). */
extern const struct lin_opt lq_format_opts[];

/* Prepare to parse a command's options: getopt_long's inputs from
 * lq_head_opts, then `opts`, and getopt's state reset. */
void lq_getopt(struct lin_getopt *g, const struct lin_opt *opts);

/* The next option of a command's argv (after lq_getopt): -j, -h, -V and
 * usage errors are handled here (lq_common_opt), and the filters
 * (lq_filter_opt) when `f` is not NULL. Returns -1 with *c set to one of
 * the command's own options (optarg its value), -2 at the end of the
 * options (optind at the first argument), or an exit status to return
 * (--help, --version, a usage error: already printed). */
struct lq_filter;
int lq_next_opt(struct lq *q, const char *cmd, const struct lin_getopt *g,
		int argc, char **argv, struct lq_filter *f, int *c);

/* Print a command's --help (from q->cmds). */
void lq_cmd_help(struct lq *q, const char *name);

/* Parse a decimal count below UINT32_MAX into *out; "all" gives `all`
 * when `all` is non-zero. 0 or -1. */
int lq_parse_count(const char *s, uint32_t all, uint32_t *out);

/* --limit N of command `cmd` (N > 0) into *out: 0, or the exit status
 * of the usage error (printed). */
int lq_parse_limit(struct lq *q, const char *cmd, const char *arg,
		   uint32_t *out);

/* --depth N|all of command `cmd` into *out (all: LIN_WALK_ALL): 0, or
 * the exit status of the usage error (printed). */
int lq_parse_depth(struct lq *q, const char *cmd, const char *arg,
		   uint32_t *out);

/* The walk options of lineage and graph, option `c` with value `arg`:
 * -d/--down, -u/--up and -b/--both set *dir, -D/--depth sets *depth
 * (lq_parse_depth); any other `c` is left alone. 0, or the exit status
 * of a usage error (printed). */
int lq_walk_opt(struct lq *q, const char *cmd, int c, const char *arg,
		unsigned *dir, uint32_t *depth);

/* Handle an option returned by getopt_long that every command shares
 * ('h', 'V', 'j', and the errors ':' and '?'; cmd NULL: the program's
 * own options). The errors name the option from getopt's state
 * (lin_opt_culprit). Returns -1 to go on, else the exit status. */
int lq_common_opt(struct lq *q, const char *cmd, int c, int argc,
		  char **argv);

/* Report filters (filter.c): --type, --job-type and --project, each
 * repeatable and comma-separated. Values are slices of argv (nothing to
 * free). With types and/or job types given, only artifacts of a listed
 * type and runs of a listed job type pass; a project is "P" or
 * "entity/P". Zero-initialise. */
#define LQ_FILTER_MAX 64  /* values per filter */
struct lq_flist {
	struct lin_slice v[LQ_FILTER_MAX];
	size_t n;
};
struct lq_filter {
	struct lq_flist type, job_type, project;
};

/* 1 when node `n` passes filter `f`. */
int lq_wanted(const struct lq_filter *f, const struct lin_qnode *n);

/* 1 when any filter value was given. */
int lq_filter_active(const struct lq_filter *f);

/* Take option `c` ('t' --type, 'J' --job-type, 'p' --project) with
 * value `arg`, split at commas. -2: not a filter option; -1: taken;
 * else the exit status of a usage error (printed). */
int lq_filter_opt(struct lq *q, const char *cmd, struct lq_filter *f,
		  int c, const char *arg);

/* After lq_open: every value must name something the store holds (any
 * time, whatever --as-of says: a node's type, job type or project, or
 * the type or project a use that never resolved names); each one that
 * does not is reported with the nearest existing values. 0, LQ_NOTFOUND, or another exit status
 * (printed). */
int lq_filter_check(struct lq *q, const char *cmd,
		    const struct lq_filter *f);

/* ---- answers as of a past time (asof.c) ----
 *
 * A version exists at T when its first logging (coll_ver time key, else
 * node "first"[0], else "created_at") is at or before T; a run when its
 * started_at is; an edge when both ends exist and its fact's time is.
 * Unknown times (no started_at, an untimed first log, a nil fact time)
 * count as existing at every T. */


/* Remove every "--as-of TIME" / "--as-of=TIME" (setting q->asof) and
 * "--store PATH" / "--store=PATH" / "-s PATH" (setting q->store_path)
 * before a "--" from a command's argv (argv[0] is the command name).
 * 0, or LIN_EINVAL with the usage message in q->e (asof_cmd.c). */
int lq_take_asof(struct lq *q, int *argc, char **argv);

/* Set up (lq_open) and release (end of the run) q->at. 0 or LIN_ENOMEM
 * with q->e set. */
int lq_asof_open(struct lq *q);
void lq_asof_close(struct lq *q);

/* When node n came to be: a run's started_at, a version's first
 * logging (*since LIN_QNONE when unknown). LIN_ESTORE, LIN_ECORRUPT. */
int lq_asof_since(MDB_txn *txn, const struct lin_store *s,
		  const struct lin_qnode *n, int64_t *since,
		  struct lin_err *err);

/* The state of one store as of one time, with a cache of which nodes
 * existed. Borrows `txn` and `s`. */
struct lq_asof *lq_asof_new(MDB_txn *txn, const struct lin_store *s,
			    int64_t t);
void lq_asof_free(struct lq_asof *a);

/* *exists = whether node `id` existed at the time of `a`. Errors:
 * LIN_ENOTFOUND/LIN_ECORRUPT (node), LIN_ESTORE, LIN_ENOMEM. */
int lq_asof_node(struct lq_asof *a, uint64_t id, int *exists,
		 struct lin_err *err);

/* The edge filter of `a` (both ends and the fact existed). */
const struct lin_edge_filter *lq_asof_filter(struct lq_asof *a);

/* The command-side helpers: as their lin_* twins, following q->asof when
 * set. lq_resolve_* also fail with LIN_ENOTFOUND ("... not found as of
 * T") when the node did not exist yet; lq_node_load also shows a
 * version's aliases as of T and a run that had not ended as running. */
int lq_resolve_ref(struct lq *q, const char *ref, uint64_t *vid);
int lq_resolve_run(struct lq *q, const char *run, uint64_t *rid);
int lq_resolve_node(struct lq *q, const char *spec, uint64_t *node);
int lq_node_load(struct lq *q, uint64_t id, struct lin_qnode *n);
/* lq_node_load for callers that print only the core's attributes
 * (lin_qnode_load_core); with --as-of, the whole node. */
int lq_node_core(struct lq *q, uint64_t id, struct lin_qnode *n);
/* The node of one row of a walk: with --json every attribute
 * (lq_node_load), else what tables and tsv/csv print (lq_node_core). */
int lq_node_row(struct lq *q, uint64_t id, struct lin_qnode *n);
int lq_neighbours(struct lq *q, uint64_t node, unsigned first_kind,
		  unsigned last_kind, struct lin_nbrs *out);
int lq_walk_new(struct lq *q, struct lin_walk **w, unsigned dir,
		uint32_t max_depth);
/* 1 when node `id` existed as of q->asof (always 1 without it), 0 when
 * not, or a negative LIN_E* code. */
int lq_exists(struct lq *q, uint64_t id);

/* Subcommands. */
int lq_cmd_artifact(struct lq *q, int argc, char **argv);
int lq_cmd_logged_by(struct lq *q, int argc, char **argv);
int lq_cmd_used_by(struct lq *q, int argc, char **argv);
int lq_cmd_run(struct lq *q, int argc, char **argv);
int lq_cmd_logged(struct lq *q, int argc, char **argv);
int lq_cmd_used(struct lq *q, int argc, char **argv);
int lq_cmd_lineage(struct lq *q, int argc, char **argv);
int lq_cmd_path(struct lq *q, int argc, char **argv);
int lq_cmd_impact(struct lq *q, int argc, char **argv);
int lq_cmd_provenance(struct lq *q, int argc, char **argv);
int lq_cmd_graph(struct lq *q, int argc, char **argv);
int lq_cmd_ls(struct lq *q, int argc, char **argv);
int lq_cmd_stats(struct lq *q, int argc, char **argv);
int lq_cmd_check(struct lq *q, int argc, char **argv);
int lq_cmd_export(struct lq *q, int argc, char **argv);

/* audit.c: the lineage checks of `check`. `report` is called once per
 * finding, with problem 1 for an inconsistency (check then fails) and 0
 * for what an auditor should know. 0 or a LIN_E* store error. */
typedef void lq_report_fn(void *ctx, int problem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int lq_audit(struct lq *q, lq_report_fn *report, void *ctx);
/* `artifact --history` (cmd_history.c), and the options of `artifact`
 * it shares with lq_cmd_artifact (cmd_node.c): --history itself, its
 * only option, lives with the code that answers it. */
int lq_cmd_history(struct lq *q, int argc, char **argv);
extern const struct lin_opt lq_artifact_opts[];
int lq_cmd_diff(struct lq *q, int argc, char **argv);

#endif
