/* fileruns.h - the runs one file declares, so that a record naming a run
 * by id finds that run's entity and project wherever in the file its
 * `run` record is (before or after it), and a .wandb run without an
 * entity can take the one its own artifact records name.
 *
 * A file is read in one pass, or in two when the first pass met a record
 * before the declaration it needed (ingest.c redoes the file then, with
 * every declaration known from the start). */
#ifndef LIN_FILERUNS_H
#define LIN_FILERUNS_H

#include <stddef.h>
#include <stdint.h>

/* What the file says about one run id. Strings are owned by the table. */
struct ix_filerun {
	char *id;
	/* The first `run` record with this id (any pass): NULL entity and
	 * project while none has been met. */
	char *entity, *project;
	int entity_given;     /* that record named an entity */
	int64_t started_at;
	/* The latest `run` record met in the current pass. */
	char *cur_entity, *cur_project;
	int64_t cur_started_at;
	int cur_set;
	/* A record needed this run before any declaration in this pass, and
	 * fell back to the defaults. */
	int undeclared_use;
	/* .wandb: the entity the run's own artifact records name (first). */
	char *art_entity;
};

struct ix_fileruns {
	struct ix_filerun *v;   /* entries in first-seen order */
	size_t n, cap;
	size_t *slots;          /* open addressing: index + 1, 0 = empty */
	size_t nslots;          /* power of two, or 0 */
	int redo;               /* the current pass resolved something that
				   a later declaration contradicts */
};

void ix_fileruns_init(struct ix_fileruns *f);
void ix_fileruns_release(struct ix_fileruns *f);
/* Forget everything: a new file. */
void ix_fileruns_clear(struct ix_fileruns *f);
/* Start another pass over the same file: keeps first declarations and
 * artifact entities, forgets the current pass's. Returns 0 or
 * LIN_ENOMEM. */
int ix_fileruns_new_pass(struct ix_fileruns *f);

/* The entry of `id`, or NULL. */
struct ix_filerun *ix_fileruns_find(const struct ix_fileruns *f,
				    const char *id);
/* The entry of `id`, created empty when missing; NULL when out of
 * memory. */
struct ix_filerun *ix_fileruns_get(struct ix_fileruns *f, const char *id);

/* A `run` record: entity/project as resolved (defaults applied),
 * `given` when the record named its entity. Sets f->redo when a record
 * of this pass already used the id without a declaration. Returns 0 or
 * LIN_ENOMEM. */
int ix_fileruns_declare(struct ix_fileruns *f, const char *id,
			const char *entity, const char *project,
			int64_t started_at, int given);

/* A .wandb artifact record of run `id` names `entity`: remembered as
 * the run's entity when its `run` record named none. Sets f->redo when
 * that run was already declared in this pass without it. Returns 0 or
 * LIN_ENOMEM. */
int ix_fileruns_artifact_entity(struct ix_fileruns *f, const char *id,
				const char *entity);

#endif
