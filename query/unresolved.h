/* unresolved.h - uses that never resolved, as answers: what a run used
 * that the archive does not hold, with the ref as written, the
 * collection it names and why it could not be resolved. Queries show
 * them beside the versions that did resolve instead of leaving them out
 * (an auditor would read a missing input as "used nothing"). */
#ifndef LIN_QUERY_UNRESOLVED_H
#define LIN_QUERY_UNRESOLVED_H

#include <stdint.h>
#include <stdio.h>

#include "internal.h"
#include "indexer/idset.h"

/* Why a use did not resolve, most specific first. */
enum lq_unres_why {
	LQ_UNRES_NO_VERSION = 0,  /* no indexed file logged that version */
	LQ_UNRES_OTHER_PROJECT,   /* its project has no run in the archive */
	LQ_UNRES_WANDB_ONLINE,    /* from a W&B online log: the version's
				     producer lives on the W&B server */
	LQ_UNRES_LATER            /* --as-of: the version was logged only
				     after that time */
};

/* One unresolved use (deduplicated per run by collection and selector). */
struct lq_unres {
	uint64_t run;      /* the run that used it */
	char *ref;         /* the ref as written in the log */
	char *coll;        /* "entity/project/name" */
	char *sel;         /* selector: alias, vN or #digest */
	char *type;        /* the type the use stated, or NULL */
	enum lq_unres_why why;
};

/* A growable list; zero-initialise, release with lq_unres_free(). */
struct lq_unres_list {
	struct lq_unres *v;
	size_t n, cap;
};

/* Append the uses of run `rid` that name no version (as of q->asof when
 * set: also uses whose version came later), in fact order. 0 or a LIN_E*
 * code with q->e set. */
int lq_unresolved_of_run(struct lq *q, uint64_t rid,
			 struct lq_unres_list *out);

/* 1 when a RUN fact of run `id` comes from an offline W&B log (a file in
 * an offline-run-* folder): W&B records no uses there, so an empty list
 * of uses means "unknown", not "none". 0 otherwise or on error. */
int lq_run_offline(struct lq *q, uint64_t id);

void lq_unres_free(struct lq_unres_list *l);

/* "no-version", "other-project", "wandb-online", "later". Static
 * storage. */
const char *lq_unres_code(enum lq_unres_why why);

/* A sentence for people. Static storage. */
const char *lq_unres_text(enum lq_unres_why why);

/* The entry's node id text "unresolved:e/p/name:sel" (caller frees;
 * NULL when out of memory). */
char *lq_unres_id(const struct lq_unres *u);

/* Write the entry's JSON fields (no braces): "id", "kind":"unresolved",
 * "ref", "collection", "selector", "type", "reason", "why". */
void lq_unres_json_fields(FILE *f, const struct lq_unres *u);

/* The entry's text row cells: "unresolved", e/p/name:sel, type or "-",
 * ref=REF, then the reason in parentheses. */
void lq_unres_cells(struct lin_table *t, const struct lq_unres *u);

/* 1 when the entry passes report filter `f`: --type matches the type
 * the use stated, --job-type alone excludes it, --project its
 * collection's project. */
int lq_unres_wanted(const struct lq_filter *f, const struct lq_unres *u);

/* The unresolved entries a walk reported already (each once, like a
 * node reached from several runs), as 64-bit hashes of their ids.
 * Zero-initialise (the set is all zeros when empty); release with
 * lq_unres_seen_free(). */
struct lq_unres_seen {
	struct lin_idset set;
};

/* 1 when `u` is new to `s` (and now in it), 0 when seen, LIN_ENOMEM. */
int lq_unres_seen_add(struct lq_unres_seen *s, const struct lq_unres *u);
void lq_unres_seen_free(struct lq_unres_seen *s);

/* Call fn(ctx, entry) for each unresolved use of run `rid` that `seen`
 * has not had yet (it is added) and that filter `f` (NULL: none) lets
 * through; fn returns 0 to go on or a LIN_E* code to stop with it. The
 * entry is valid during the call. 0 or a LIN_E* code. */
int lq_unres_each_new(struct lq *q, uint64_t rid, struct lq_unres_seen *seen,
		      const struct lq_filter *f,
		      int (*fn)(void *ctx, const struct lq_unres *u),
		      void *ctx);

#endif
