/* fileruns.c - the runs one file declares (see fileruns.h). */
#include "indexer/fileruns.h"
#include "format/grow.h"

#include <stdlib.h>
#include <string.h>

#include "format/err.h"

void ix_fileruns_init(struct ix_fileruns *f)
{
	memset(f, 0, sizeof *f);
}

static void free_entry(struct ix_filerun *e)
{
	free(e->id);
	free(e->entity);
	free(e->project);
	free(e->cur_entity);
	free(e->cur_project);
	free(e->art_entity);
}

void ix_fileruns_clear(struct ix_fileruns *f)
{
	for (size_t i = 0; i < f->n; i++)
		free_entry(&f->v[i]);
	f->n = 0;
	f->redo = 0;
	if (f->slots)
		memset(f->slots, 0, f->nslots * sizeof *f->slots);
}

void ix_fileruns_release(struct ix_fileruns *f)
{
	ix_fileruns_clear(f);
	free(f->v);
	free(f->slots);
	memset(f, 0, sizeof *f);
}

int ix_fileruns_new_pass(struct ix_fileruns *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct ix_filerun *e = &f->v[i];
		free(e->cur_entity);
		free(e->cur_project);
		e->cur_entity = e->cur_project = NULL;
		e->cur_set = 0;
		e->undeclared_use = 0;
		/* the entity the first pass learnt too late for it */
		if (!e->entity_given && e->art_entity && e->entity) {
			char *c = strdup(e->art_entity);
			if (!c)
				return LIN_ENOMEM;
			free(e->entity);
			e->entity = c;
			e->entity_given = 1;
		}
	}
	f->redo = 0;
	return 0;
}

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return (size_t)(h ^ h >> 29);
}

struct ix_filerun *ix_fileruns_find(const struct ix_fileruns *f,
				    const char *id)
{
	if (!f->nslots)
		return NULL;
	for (size_t i = hash(id) & (f->nslots - 1);;
	     i = (i + 1) & (f->nslots - 1)) {
		if (!f->slots[i])
			return NULL;
		if (strcmp(f->v[f->slots[i] - 1].id, id) == 0)
			return &f->v[f->slots[i] - 1];
	}
}

/* Put entry `k` (index into v) into the table, which has room. */
static void place(struct ix_fileruns *f, size_t k)
{
	size_t i = hash(f->v[k].id) & (f->nslots - 1);

	while (f->slots[i])
		i = (i + 1) & (f->nslots - 1);
	f->slots[i] = k + 1;
}

/* Keep the table at most half full, and room for one more entry. */
static int reserve(struct ix_fileruns *f)
{
	if (LIN_GROW(f->v, f->cap, f->n + 1, 16))
		return LIN_ENOMEM;
	if (2 * (f->n + 1) > f->nslots) {
		size_t ns = f->nslots ? f->nslots * 2 : 32;
		size_t *s = calloc(ns, sizeof *s);
		if (!s)
			return LIN_ENOMEM;
		free(f->slots);
		f->slots = s;
		f->nslots = ns;
		for (size_t k = 0; k < f->n; k++)
			place(f, k);
	}
	return 0;
}

struct ix_filerun *ix_fileruns_get(struct ix_fileruns *f, const char *id)
{
	struct ix_filerun *e = ix_fileruns_find(f, id);

	if (e)
		return e;
	if (reserve(f))
		return NULL;
	e = &f->v[f->n];
	memset(e, 0, sizeof *e);
	if (!(e->id = strdup(id)))
		return NULL;
	place(f, f->n++);
	return e;
}

/* Replace *dst by a copy of `s`. */
static int set_str(char **dst, const char *s)
{
	char *c = strdup(s);

	if (!c)
		return LIN_ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

int ix_fileruns_declare(struct ix_fileruns *f, const char *id,
			const char *entity, const char *project,
			int64_t started_at, int given)
{
	struct ix_filerun *e = ix_fileruns_get(f, id);

	if (!e)
		return LIN_ENOMEM;
	if (!e->entity) {
		if (set_str(&e->entity, entity) ||
		    set_str(&e->project, project))
			return LIN_ENOMEM;
		e->entity_given = given;
		e->started_at = started_at;
	}
	if (set_str(&e->cur_entity, entity) ||
	    set_str(&e->cur_project, project))
		return LIN_ENOMEM;
	e->cur_started_at = started_at;
	e->cur_set = 1;
	if (e->undeclared_use)
		f->redo = 1;
	return 0;
}

int ix_fileruns_artifact_entity(struct ix_fileruns *f, const char *id,
				const char *entity)
{
	struct ix_filerun *e = ix_fileruns_get(f, id);

	if (!e)
		return LIN_ENOMEM;
	if (e->art_entity)
		return 0;
	if (set_str(&e->art_entity, entity))
		return LIN_ENOMEM;
	/* A run already filed under the default entity in this pass. */
	if (e->cur_set && !e->entity_given)
		f->redo = 1;
	return 0;
}
