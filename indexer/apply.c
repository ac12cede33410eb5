/* apply.c - turning records into facts, and taking a source's facts out
 * again; both mark what ix_derive() must rebuild. */
#include "indexer/ix.h"

#include "format/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 200  /* alias names and selectors */

struct touched_coll *ix_touch_coll(struct ix *x, uint64_t coll)
{
	long i = lin_idset_find(&x->colls, coll);
	struct touched_coll *t;

	if (i >= 0)
		return &x->tc[i];
	if (LIN_GROW(x->tc, x->captc, x->ntc + 1, 16) < 0)
		return NULL;
	if (lin_idset_add(&x->colls, coll) < 0)
		return NULL;
	t = &x->tc[x->ntc++];
	memset(t, 0, sizeof *t);
	t->coll = coll;
	lin_idset_init(&t->vids);
	return t;
}

int ix_touch_alias(struct touched_coll *t, const char *a, size_t n)
{
	for (size_t i = 0; i < t->naliases; i++)
		if (strlen(t->aliases[i]) == n && !memcmp(t->aliases[i], a, n))
			return 0;
	if (LIN_GROW(t->aliases, t->capaliases, t->naliases + 1, 4) < 0)
		return LIN_ENOMEM;
	if (!(t->aliases[t->naliases] = strndup(a, n)))
		return LIN_ENOMEM;
	t->naliases++;
	return 0;
}

int ix_add_task(struct touched_coll *t, enum task_kind k, uint64_t fact,
		const char *sel, size_t seln, int64_t from)
{
	struct coll_task *task;

	if (LIN_GROW(t->tasks, t->captasks, t->ntasks + 1, 8) < 0)
		return LIN_ENOMEM;
	task = &t->tasks[t->ntasks];
	task->kind = k;
	task->fact = fact;
	task->run = 0;
	task->from = from;
	task->sel = NULL;
	task->sid = NULL;
	if (sel && !(task->sel = strndup(sel, seln)))
		return LIN_ENOMEM;
	t->ntasks++;
	return 0;
}

int ix_add_new_use(struct touched_coll *t, uint64_t fact, uint64_t run,
		   const char *sel, int64_t time, const char *sid)
{
	int rc = ix_add_task(t, TASK_SINGLE, fact, sel, strlen(sel), time);

	if (rc)
		return rc;
	t->tasks[t->ntasks - 1].run = run;
	if (sid && !(t->tasks[t->ntasks - 1].sid = strdup(sid)))
		return LIN_ENOMEM;
	return 0;
}

int ix_touch_sid(struct ix *x, const char *sid, size_t n)
{
	/* Not de-duplicated: one entry per log fact of this file, and a
	 * second scan of an id's uses costs one seek. */
	if (LIN_GROW(x->sids, x->capsids, x->nsids + 1, 16) < 0 ||
	    !(x->sids[x->nsids] = strndup(sid, n)))
		return LIN_ENOMEM;
	x->nsids++;
	return 0;
}

int ix_fact_sid(const struct lin_fact *f, struct lin_slice *sid)
{
	return lin_map_str(&f->attrs, "server_id", sid) && sid->n > 0 &&
	       sid->n <= LIN_MAX_SERVER_ID;
}

/* ---- server ids -------------------------------------------------------- */

/* The record's server id: NULL when it has none (an empty one is none,
 * as proto3 writes it); LIN_ERECORD when the store cannot index it. */
static int record_sid(struct ix *x, const struct lin_record *r,
		      const char **sid)
{
	*sid = r->server_id && *r->server_id ? r->server_id : NULL;
	if (*sid && strlen(*sid) > LIN_MAX_SERVER_ID)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "server_id '%.40s...' is longer than %d "
				   "bytes", *sid, LIN_MAX_SERVER_ID);
	return 0;
}

/* Add (vid: the value, 0 for a use) or remove the server_ids entry of
 * fact `fact` of `kind`. */
static int sid_entry(struct ix *x, const char *sid, size_t n, unsigned kind,
		     uint64_t fact, uint64_t vid, int add)
{
	unsigned char k[LIN_MAX_SERVER_ID + 10], v[8];
	size_t kn = lin_key_server_id(k, sizeof k, sid, n, kind, fact);

	if (!kn)
		return 0;  /* refused on input: never stored */
	if (!add)
		return ix_del(x, LIN_DB_SERVER_IDS, k, kn, NULL, 0);
	if (kind == LIN_FACT_LOG)
		return ix_put(x, LIN_DB_SERVER_IDS, k, kn, v,
			      lin_key_id(v, vid));
	return ix_put(x, LIN_DB_SERVER_IDS, k, kn, "", 0);
}

/* ---- keys ------------------------------------------------------------ */

static int triple_key(struct ix *x, char *out, const char *a, const char *b,
		      const char *c, uint64_t off, const char *what)
{
	const char *part[3] = { a, b, c };
	int n;

	/* "entity/project/name" is read at its first two '/': a part
	 * holding one would make "a/b"+"c" and "a"+"b/c" one scope, and
	 * "p/a"+"b" and "p"+"a/b" one name (in `names`, in queries and in
	 * diffs), two runs or collections answered as one. W&B forbids
	 * '/' in all three. */
	for (int i = 0; i < 3; i++) {
		if (!strchr(part[i], '/'))
			continue;
		const char *label = i == 0 ? "entity" : i == 1 ? "project" :
				    strcmp(what, "run") ? "artifact name" :
				    "run id";
		return lin_err_set(x->err, LIN_ERECORD, off,
				   "%s '%.60s' holds a '/' (no part of "
				   "entity/project/name can)", label, part[i]);
	}
	n = lin_key_path(out, LIN_MAX_KEY + 1, a, b, c);
	if (n < 0)
		return lin_err_set(x->err, LIN_ERECORD, off,
				   "%s name '%.40s...' is too long (limit %d "
				   "bytes with entity and project)", what, c,
				   LIN_MAX_KEY);
	return n;
}

/* Key of a selector-indexed entry: coll . name . 0 . tkey . fact */
static size_t sel_key(unsigned char *k, uint64_t coll, const char *name,
		      size_t n, int64_t time, uint64_t fact)
{
	/* callers size k for 25 + n bytes */
	return lin_key_coll_event(k, 25 + n, coll, name, n,
				  lin_time_key(lin_eff_time(time)), fact);
}

/* ---- nodes ----------------------------------------------------------- */

/* The next id of `kind` from `seq` (seq.node or seq.coll). Only a
 * damaged or hostile store's meta holds a sequence near its end: it
 * would otherwise wrap into ids of the store's first nodes. */
static int next_id(struct ix *x, uint64_t *seq, unsigned kind, uint64_t *id)
{
	if (*seq >= LIN_ID_SEQ_MAX)
		return lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "the store's id sequence is used up "
				   "(meta seq at %llu)",
				   (unsigned long long)*seq);
	*id = LIN_ID_MAKE(kind, ++*seq);
	return 0;
}

/* "entity\0project\0run_id": the parts apart, as the node's
 * attributes want them. */
static char *identity(const char *e, const char *p, const char *id)
{
	size_t en = strlen(e), pn = strlen(p), idn = strlen(id);
	char *s = malloc(en + pn + idn + 3);

	if (s) {
		memcpy(s, e, en + 1);
		memcpy(s + en + 1, p, pn + 1);
		memcpy(s + en + pn + 2, id, idn + 1);
	}
	return s;
}

static int get_run(struct ix *x, const char *e, const char *p,
		   const char *id, uint64_t off, uint64_t *node)
{
	char key[LIN_MAX_KEY + 1];
	int n = triple_key(x, key, e, p, id, off, "run");
	int rc;

	if (n < 0)
		return n;
	/* The run id's `names` entry is the run's one index (schema 7) */
	struct lin_slice nm = { id, strlen(id) };
	struct lin_slice scope = { key, (size_t)n - nm.n - 1 };
	rc = ix_name_get(x, LIN_NAME_RUN, nm, scope, node);
	if (rc != LIN_ENOTFOUND)
		return rc;
	if ((rc = next_id(x, &x->seq_node, LIN_ID_RUN, node)))
		return rc;
	rc = ix_name(x, LIN_NAME_RUN, nm, scope, *node, 1);
	/* No node yet: it is written once, whole, when the run is rebuilt,
	 * so nodes are appended in id order and pages stay full. */
	if (!rc) {
		if (LIN_GROW(x->newkeys, x->capnew, x->newruns.n + 1, 64) < 0)
			return LIN_ENOMEM;
		if (!(x->newkeys[x->newruns.n] = identity(e, p, id)) ||
		    lin_idset_add(&x->newruns, *node) < 0)
			return LIN_ENOMEM;
	}
	if (!rc && lin_idset_add(&x->runs, *node) < 0)
		rc = LIN_ENOMEM;
	return rc;
}

static int pack_coll_info(struct ix *x, const char *e, const char *p,
			  const char *name, const char *type)
{
	lin_packer_reset(&x->pk);
	msgpack_pack_map(&x->pk.pk, 6);
	lin_pack_kv_str(&x->pk.pk, "entity", e);
	lin_pack_kv_str(&x->pk.pk, "project", p);
	lin_pack_kv_str(&x->pk.pk, "name", name);
	lin_pack_cstr(&x->pk.pk, "type");
	if (type)
		lin_pack_cstr(&x->pk.pk, type);
	else
		msgpack_pack_nil(&x->pk.pk);
	lin_pack_kv_i64(&x->pk.pk, "count", 0);
	lin_pack_cstr(&x->pk.pk, "last");
	msgpack_pack_nil(&x->pk.pk);
	return 0;
}

/* The collection e/p/name, created when missing. A known collection
 * whose type differs from `type` is an error for this record. */
static int get_coll(struct ix *x, const char *e, const char *p,
		    const char *name, const char *type, uint64_t off,
		    uint64_t *coll)
{
	char key[LIN_MAX_KEY + 1];
	int n = triple_key(x, key, e, p, name, off, "artifact");
	unsigned char ck[8];
	MDB_val v;
	int rc;

	if (n < 0)
		return n;
	/* The name's `names` entry is the collection's one index */
	struct lin_slice nm = { name, strlen(name) };
	struct lin_slice scope = { key, (size_t)n - nm.n - 1 };
	rc = ix_name_get(x, LIN_NAME_COLL, nm, scope, coll);
	if (rc == LIN_ENOTFOUND) {
		if ((rc = next_id(x, &x->seq_coll, LIN_ID_COLL, coll)))
			return rc;
		lin_key_id(ck, *coll);
		pack_coll_info(x, e, p, name, type);
		rc = ix_put(x, LIN_DB_COLL_INFO, ck, 8, x->pk.sb.data,
			    x->pk.sb.size);
		if (!rc)
			rc = ix_name(x, LIN_NAME_COLL, nm, scope, *coll, 1);
		return rc;
	}
	if (rc || !type)
		return rc;
	lin_key_id(ck, *coll);
	rc = ix_get(x, LIN_DB_COLL_INFO, ck, 8, &v);
	if (rc)
		return rc;
	msgpack_object o;
	struct lin_slice old;
	msgpack_zone_clear(&x->zone);
	if (lin_val_map(v.mv_data, v.mv_size, &x->zone, &o))
		return lin_err_set(x->err, LIN_ESTORE, LIN_NO_OFFSET,
				   "bad coll_info for '%s'", key);
	if (!lin_map_str(&o, "type", &old)) {
		/* Known only from uses so far: the first log names the type.
		 * The counters are kept: rewrite with them. */
		int64_t count = 0;
		lin_map_i64(&o, "count", &count);
		if (count == 0) {
			pack_coll_info(x, e, p, name, type);
			return ix_put(x, LIN_DB_COLL_INFO, ck, 8,
				      x->pk.sb.data, x->pk.sb.size);
		}
		return 0;
	}
	if (!lin_slice_eq_cstr(old, type))
		return lin_err_set(x->err, LIN_ERECORD, off,
				   "artifact '%s' has type '%.*s'; this record "
				   "says '%s'", key, (int)old.n, old.p, type);
	return 0;
}

static int get_version(struct ix *x, uint64_t coll, const char *digest,
		       uint64_t *vid)
{
	unsigned char k[LIN_KEY_BUF], vk[8];
	size_t n = lin_key_coll_bytes(k, sizeof k, coll, digest,
				      strlen(digest), 0);
	int rc;

	/* digests are checked against LIN_MAX_KEY - 8 on input */
	if (!n)
		return lin_err_set(x->err, LIN_ERECORD, LIN_NO_OFFSET,
				   "digest too long");
	rc = ix_get_id(x, LIN_DB_COLL_DIG, k, n, vid);
	if (rc != LIN_ENOTFOUND)
		return rc;
	if ((rc = next_id(x, &x->seq_node, LIN_ID_VERSION, vid)))
		return rc;
	lin_key_id(vk, *vid);
	/* the node is written when the version is materialised */
	return ix_put(x, LIN_DB_COLL_DIG, k, n, vk, 8);
}

/* ---- records --------------------------------------------------------- */

struct run_ref {
	uint64_t node;
	const char *entity, *project;
	int64_t started_at;
};

/* The run a LOG/USE/FINISH record belongs to: its own `run`, else the
 * file's latest RUN record. A run named by id takes its entity and
 * project from a RUN record of the same file with that id, the latest
 * one before the record, else the first one after it (known when the
 * file is read a second time, see fileruns.h); only a run that the file
 * does not declare falls back to the record's entity/project and then
 * the defaults. A LOG record's entity/project name its artifact (W&B
 * artifact records carry them while an offline run record may not), so
 * they name the run only when the file does not declare it; those of a
 * USE or FINISH record name the run and win over the declaration. */
static int record_run(struct ix *x, const struct lin_record *r,
		      struct run_ref *out)
{
	const char *id = r->run_id;
	const char *re = r->entity && *r->entity ? r->entity : NULL;
	const char *rp = r->project && *r->project ? r->project : NULL;
	struct ix_filerun *d;

	if (!id && !x->cur.set && x->cur.skipped)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "record names no run and follows a run "
				   "record that was skipped (at byte %llu)",
				   (unsigned long long)x->cur.skipped_at);
	if (!id && !x->cur.set)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "record names no run and follows no run "
				   "record");
	if (!id || (x->cur.set && strcmp(x->cur.id, id) == 0 &&
		    (r->kind == LIN_REC_LOG ||
		     ((!re || strcmp(re, x->cur.entity) == 0) &&
		      (!rp || strcmp(rp, x->cur.project) == 0))))) {
		out->node = x->cur.node;
		out->entity = x->cur.entity;
		out->project = x->cur.project;
		out->started_at = x->cur.started_at;
		return 0;
	}
	d = ix_fileruns_find(&x->fr, id);
	if (d && (d->cur_set || d->entity)) {
		const char *de = d->cur_set ? d->cur_entity : d->entity;
		const char *dp = d->cur_set ? d->cur_project : d->project;
		int own = r->kind != LIN_REC_LOG;

		out->entity = own && re ? re : de;
		out->project = own && rp ? rp : dp;
		out->started_at = LIN_TIME_NONE;
		if (strcmp(out->entity, de) == 0 &&
		    strcmp(out->project, dp) == 0)
			out->started_at = d->cur_set ? d->cur_started_at
						     : d->started_at;
	} else {
		/* Not declared (yet): a run of another file, or one whose
		 * RUN record comes later, which makes the file be read
		 * again. */
		if (!(d = ix_fileruns_get(&x->fr, id)))
			return LIN_ENOMEM;
		d->undeclared_use = 1;
		out->entity = re ? re : x->entity_default;
		out->project = rp ? rp : x->project_default;
		out->started_at = LIN_TIME_NONE;
	}
	return get_run(x, out->entity, out->project, id, r->offset,
		       &out->node);
}

static int put_fact(struct ix *x, uint64_t *fact)
{
	unsigned char k[8];

	if (x->seq == UINT32_MAX)
		return lin_err_set(x->err, LIN_ELIMIT, LIN_NO_OFFSET,
				   "more than 2^32 records in one file");
	*fact = (uint64_t)x->src << 32 | x->seq++;
	lin_key_id(k, *fact);
	return ix_put_last(x, LIN_DB_FACTS, k, 8, x->pk.sb.data,
			   x->pk.sb.size);
}

static void pack_head(struct ix *x, int kind, uint64_t run, uint64_t pos,
		      unsigned n)
{
	lin_packer_reset(&x->pk);
	msgpack_pack_array(&x->pk.pk, n);
	msgpack_pack_int(&x->pk.pk, kind);
	msgpack_pack_uint64(&x->pk.pk, run);
	msgpack_pack_uint64(&x->pk.pk, pos);
}

/* Count and pack the optional attributes of a record, in one place so
 * the count and the entries agree. */
struct attr_list {
	const char *k[16];
	const char *s[16];
	int64_t i[16];
	int kind[16];       /* 1 str, 2 int, 3 time, 4 strv, 5 raw */
	struct lin_strv v[16];
	int n;
};

static void al_str(struct attr_list *a, const char *k, const char *s)
{
	if (s) {
		a->k[a->n] = k;
		a->s[a->n] = s;
		a->kind[a->n++] = 1;
	}
}

static void al_int(struct attr_list *a, const char *k, int64_t i, int kind)
{
	if ((kind == 3 && i != LIN_TIME_NONE) ||
	    (kind == 2 && i != INT64_MIN)) {
		a->k[a->n] = k;
		a->i[a->n] = i;
		a->kind[a->n++] = kind;
	}
}

static void al_strv(struct attr_list *a, const char *k, struct lin_strv v)
{
	if (v.n) {
		a->k[a->n] = k;
		a->v[a->n] = v;
		a->kind[a->n++] = 4;
	}
}

static void al_pack(struct ix *x, const struct attr_list *a,
		    const struct lin_record *r)
{
	int extra = r && r->metadata_len ? 1 : 0;

	msgpack_pack_map(&x->pk.pk, (size_t)(a->n + extra));
	for (int i = 0; i < a->n; i++) {
		lin_pack_cstr(&x->pk.pk, a->k[i]);
		if (a->kind[i] == 1)
			lin_pack_cstr(&x->pk.pk, a->s[i]);
		else if (a->kind[i] == 4)
			lin_pack_strv(&x->pk.pk, a->v[i]);
		else
			msgpack_pack_int64(&x->pk.pk, a->i[i]);
	}
	if (extra) {
		lin_pack_cstr(&x->pk.pk, "metadata");
		msgpack_sbuffer_write(&x->pk.sb, r->metadata, r->metadata_len);
	}
}

static int apply_run(struct ix *x, const struct lin_record *r)
{
	const char *e = r->entity && *r->entity ? r->entity : NULL;
	const char *p = r->project && *r->project ? r->project :
			x->project_default;
	struct attr_list a = { .n = 0 };
	struct ix_filerun *d;
	uint64_t node, fact;
	int rc;

	if (!r->run_id || !*r->run_id)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "run record has no 'id'");
	/* An offline W&B run record names no entity; the run's own
	 * artifact records do (issue: one project split across two
	 * entities). The defaults apply only when neither says. */
	if (!e && x->wandb && (d = ix_fileruns_find(&x->fr, r->run_id)) &&
	    d->art_entity)
		e = d->art_entity;
	if ((rc = ix_fileruns_declare(&x->fr, r->run_id,
				      e ? e : x->entity_default, p,
				      r->started_at, e != NULL)))
		return rc;
	if (!e)
		e = x->entity_default;
	rc = get_run(x, e, p, r->run_id, r->offset, &node);
	if (rc)
		return rc;
	x->cur.set = 1;
	x->cur.skipped = 0;
	x->cur.node = node;
	snprintf(x->cur.entity, sizeof x->cur.entity, "%s", e);
	snprintf(x->cur.project, sizeof x->cur.project, "%s", p);
	snprintf(x->cur.id, sizeof x->cur.id, "%s", r->run_id);
	x->cur.started_at = r->started_at;

	al_str(&a, "name", r->name);
	al_str(&a, "job_type", r->job_type);
	al_str(&a, "group", r->group);
	al_str(&a, "host", r->host);
	al_str(&a, "notes", r->notes);
	al_strv(&a, "tags", r->tags);
	al_int(&a, "started_at", r->started_at, 3);
	al_str(&a, "program", r->program);
	al_str(&a, "git_remote", r->git_remote);
	al_str(&a, "git_commit", r->git_commit);
	al_strv(&a, "args", r->args);
	pack_head(x, LIN_FACT_RUN, node, r->offset, 4);
	al_pack(x, &a, NULL);
	if ((rc = put_fact(x, &fact)) || (rc = ix_node_fact(x, node, LIN_FACT_RUN, fact, 1)))
		return rc;
	return lin_idset_add(&x->runs, node) < 0 ? LIN_ENOMEM : 0;
}

static int check_name(struct ix *x, const char *s, const char *what,
		      uint64_t off)
{
	size_t n = strlen(s);

	if (!n)
		return lin_err_set(x->err, LIN_ERECORD, off, "empty %s", what);
	if (n > MAX_NAME)
		return lin_err_set(x->err, LIN_ERECORD, off,
				   "%s '%.40s...' is longer than %d bytes",
				   what, s, MAX_NAME);
	return 0;
}

static int apply_log(struct ix *x, const struct lin_record *r)
{
	struct run_ref run;
	struct attr_list a = { .n = 0 };
	uint64_t coll, vid, fact;
	struct touched_coll *t;
	const char *ce, *cp, *sid;
	int64_t time;
	int rc;

	if (!r->coll || !r->type || !r->digest || !*r->digest)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "log record needs 'name', 'type' and "
				   "'digest'");
	if (strlen(r->digest) > LIN_MAX_KEY - 8)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "digest longer than %d bytes",
				   LIN_MAX_KEY - 8);
	if ((rc = check_name(x, r->coll, "artifact name", r->offset)) ||
	    (rc = record_sid(x, r, &sid)))
		return rc;
	for (size_t i = 0; i < r->aliases.n; i++)
		if ((rc = check_name(x, r->aliases.v[i], "alias", r->offset)))
			return rc;
	if (x->wandb && r->run_id && r->entity && *r->entity &&
	    (rc = ix_fileruns_artifact_entity(&x->fr, r->run_id, r->entity)))
		return rc;
	if ((rc = record_run(x, r, &run)))
		return rc;
	ce = r->entity && *r->entity ? r->entity : run.entity;
	cp = r->project && *r->project ? r->project : run.project;
	if ((rc = get_coll(x, ce, cp, r->coll, r->type, r->offset, &coll)) ||
	    (rc = get_version(x, coll, r->digest, &vid)))
		return rc;
	time = r->at != LIN_TIME_NONE ? r->at : run.started_at;

	al_str(&a, "type", r->type);
	al_int(&a, "size", r->size < 0 ? INT64_MIN : r->size, 2);
	al_int(&a, "files", r->files < 0 ? INT64_MIN : r->files, 2);
	al_str(&a, "description", r->description);
	al_int(&a, "created_at", r->at, 3);
	al_str(&a, "server_id", sid);
	pack_head(x, LIN_FACT_LOG, run.node, r->offset, 10);
	lin_pack_time(&x->pk.pk, time);
	msgpack_pack_uint64(&x->pk.pk, vid);
	msgpack_pack_uint64(&x->pk.pk, coll);
	lin_pack_cstr(&x->pk.pk, r->digest);
	if (r->version >= 0)
		msgpack_pack_int64(&x->pk.pk, r->version);
	else
		msgpack_pack_nil(&x->pk.pk);
	lin_pack_strv(&x->pk.pk, r->aliases);
	al_pack(x, &a, r);
	if ((rc = put_fact(x, &fact)) ||
	    (rc = ix_node_fact(x, vid, LIN_FACT_LOG, fact, 1)) ||
	    (rc = ix_node_fact(x, run.node, LIN_FACT_LOG, fact, 1)))
		return rc;
	/* as the producer, by ix_derive; set_log_edges turns a re-log
	 * around */
	if (LIN_GROW(x->logs, x->caplogs, x->nlogs + 1, 16) < 0)
		return LIN_ENOMEM;
	x->logs[x->nlogs++] = (struct ix_log_edge){ run.node, vid, fact };
	/* the uses that name this id link to it (derive.c) */
	if (sid && ((rc = sid_entry(x, sid, strlen(sid), LIN_FACT_LOG, fact,
				    vid, 1)) ||
		    (rc = ix_touch_sid(x, sid, strlen(sid)))))
		return rc;
	if (!(t = ix_touch_coll(x, coll)) || lin_idset_add(&t->vids, vid) < 0)
		return LIN_ENOMEM;
	for (size_t i = 0; i < r->aliases.n; i++) {
		const char *al = r->aliases.v[i];
		unsigned char k[8 + MAX_NAME + 17];
		if (strcmp(al, "latest") == 0)
			continue; /* implicit: always the newest version */
		size_t kn = sel_key(k, coll, al, strlen(al), time, fact);
		if ((rc = ix_put(x, LIN_DB_ALIAS_EV, k, kn, "", 0)) ||
		    (rc = ix_touch_alias(t, al, strlen(al))))
			return rc;
	}
	return 0;
}

/* Split "[entity/project/]name[:sel]". Writes NUL-terminated parts into
 * `buf`; e and p are NULL when absent, sel is "latest" when absent. */
struct ref_parts {
	char buf[LIN_MAX_KEY + 1];
	const char *e, *p, *name, *sel;
};

static int parse_ref(struct ix *x, const char *ref, uint64_t off,
		     struct ref_parts *rp)
{
	char *s, *colon, *slash;

	if (strlen(ref) > LIN_MAX_KEY)
		return lin_err_set(x->err, LIN_ERECORD, off,
				   "ref '%.40s...' is too long", ref);
	memcpy(rp->buf, ref, strlen(ref) + 1);
	s = rp->buf;
	rp->e = rp->p = NULL;
	colon = strrchr(s, ':');
	rp->sel = "latest";
	if (colon) {
		*colon = 0;
		rp->sel = colon + 1;
	}
	if ((slash = strchr(s, '/'))) {
		char *second = strchr(slash + 1, '/');
		*slash = 0;
		if (second) {
			*second = 0;
			rp->e = s;
			rp->p = slash + 1;
			s = second + 1;
		} else {
			rp->p = s;
			s = slash + 1;
		}
	}
	rp->name = s;
	if (!*rp->name || !*rp->sel || strchr(rp->name, '/') ||
	    (rp->e && !*rp->e) || (rp->p && !*rp->p))
		return lin_err_set(x->err, LIN_ERECORD, off,
				   "bad artifact ref '%s' (expected "
				   "[entity/project/]name:alias)", ref);
	return check_name(x, rp->sel, "alias", off);
}

static int apply_use(struct ix *x, const struct lin_record *r)
{
	struct run_ref run;
	struct ref_parts rp;
	struct attr_list a = { .n = 0 };
	struct touched_coll *t;
	uint64_t coll, fact;
	char sel[LIN_MAX_KEY + 2];
	const char *sid;
	int64_t time;
	int rc;

	if (!r->ref)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "use record has no 'ref'");
	if ((rc = record_sid(x, r, &sid)) ||
	    (rc = parse_ref(x, r->ref, r->offset, &rp)) ||
	    (rc = record_run(x, r, &run)))
		return rc;
	if (r->digest && *r->digest) {
		if (strlen(r->digest) > LIN_MAX_KEY - 8)
			return lin_err_set(x->err, LIN_ERECORD, r->offset,
					   "digest too long");
		snprintf(sel, sizeof sel, "#%s", r->digest);
	} else {
		snprintf(sel, sizeof sel, "%s", rp.sel);
	}
	if ((rc = get_coll(x, rp.e ? rp.e : run.entity,
			   rp.p ? rp.p : run.project, rp.name, NULL,
			   r->offset, &coll)))
		return rc;
	time = r->at != LIN_TIME_NONE ? r->at : run.started_at;

	al_str(&a, "ref", r->ref);
	al_str(&a, "type", r->type);
	al_str(&a, "server_id", sid);
	al_int(&a, "at", r->at, 3);
	pack_head(x, LIN_FACT_USE, run.node, r->offset, 7);
	lin_pack_time(&x->pk.pk, time);
	msgpack_pack_uint64(&x->pk.pk, coll);
	lin_pack_cstr(&x->pk.pk, sel);
	al_pack(x, &a, NULL);

	unsigned char k[8 + LIN_MAX_KEY + 2 + 17];
	size_t kn;
	if ((rc = put_fact(x, &fact)) ||
	    (rc = ix_node_fact(x, run.node, LIN_FACT_USE, fact, 1)))
		return rc;
	kn = sel_key(k, coll, sel, strlen(sel), time, fact);
	if ((rc = ix_put(x, LIN_DB_USE_SEL, k, kn, "", 0)) ||
	    (sid && (rc = sid_entry(x, sid, strlen(sid), LIN_FACT_USE, fact,
				    0, 1))))
		return rc;
	if (!(t = ix_touch_coll(x, coll)))
		return LIN_ENOMEM;
	/* resolved (or made pending) in ix_derive */
	return ix_add_new_use(t, fact, run.node, sel, time, sid);
}

static int apply_alias(struct ix *x, const struct lin_record *r)
{
	struct ref_parts rp;
	struct touched_coll *t;
	uint64_t coll, fact;
	const char *e, *p;
	int rc;

	if (!r->ref)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "alias record has no 'ref'");
	if ((rc = parse_ref(x, r->ref, r->offset, &rp)))
		return rc;
	if (!(rp.sel[0] == 'v' && rp.sel[1] >= '0' && rp.sel[1] <= '9') &&
	    rp.sel[0] != '#')
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "alias record ref '%s' must name a version "
				   "(name:vN)", r->ref);
	for (size_t i = 0; i < r->add.n; i++)
		if ((rc = check_name(x, r->add.v[i], "alias", r->offset)))
			return rc;
	for (size_t i = 0; i < r->remove.n; i++)
		if ((rc = check_name(x, r->remove.v[i], "alias", r->offset)))
			return rc;
	if (!rp.p && x->cur.skipped)
		return lin_err_set(x->err, LIN_ERECORD, r->offset,
				   "alias record ref '%s' names no project and "
				   "follows a run record that was skipped (at "
				   "byte %llu)", r->ref,
				   (unsigned long long)x->cur.skipped_at);
	e = rp.e ? rp.e : x->cur.set ? x->cur.entity : x->entity_default;
	p = rp.p ? rp.p : x->cur.set ? x->cur.project : x->project_default;
	if ((rc = get_coll(x, e, p, rp.name, NULL, r->offset, &coll)))
		return rc;
	pack_head(x, LIN_FACT_ALIAS, 0, r->offset, 8);
	lin_pack_time(&x->pk.pk, r->at);
	msgpack_pack_uint64(&x->pk.pk, coll);
	lin_pack_cstr(&x->pk.pk, rp.sel);
	lin_pack_strv(&x->pk.pk, r->add);
	lin_pack_strv(&x->pk.pk, r->remove);
	if ((rc = put_fact(x, &fact)))
		return rc;
	if (!(t = ix_touch_coll(x, coll)))
		return LIN_ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		const struct lin_strv *v = pass ? &r->remove : &r->add;
		for (size_t i = 0; i < v->n; i++) {
			const char *al = v->v[i];
			unsigned char k[8 + MAX_NAME + 17];
			if (strcmp(al, "latest") == 0)
				continue;
			size_t kn = sel_key(k, coll, al, strlen(al), r->at,
					    fact);
			if ((rc = ix_put(x, LIN_DB_ALIAS_EV, k, kn, "", 0)) ||
			    (rc = ix_touch_alias(t, al, strlen(al))))
				return rc;
		}
	}
	return 0;
}

static int apply_finish(struct ix *x, const struct lin_record *r)
{
	struct run_ref run;
	struct attr_list a = { .n = 0 };
	uint64_t fact;
	int rc;

	if ((rc = record_run(x, r, &run)))
		return rc;
	al_str(&a, "state", r->state);
	al_int(&a, "exit_code", r->exit_code, 2);
	al_int(&a, "ended_at", r->at, 3);
	pack_head(x, LIN_FACT_FINISH, run.node, r->offset, 5);
	lin_pack_time(&x->pk.pk, r->at);
	al_pack(x, &a, NULL);
	if ((rc = put_fact(x, &fact)) ||
	    (rc = ix_node_fact(x, run.node, LIN_FACT_FINISH, fact, 1)))
		return rc;
	return lin_idset_add(&x->runs, run.node) < 0 ? LIN_ENOMEM : 0;
}

void ix_skipped_record(struct ix *x, const struct lin_record *r)
{
	if (r->kind != LIN_REC_RUN)
		return;
	x->cur.set = 0;
	x->cur.skipped = 1;
	x->cur.skipped_at = r->offset;
}

int ix_apply_record(struct ix *x, const struct lin_record *r)
{
	switch (r->kind) {
	case LIN_REC_RUN: return apply_run(x, r);
	case LIN_REC_LOG: return apply_log(x, r);
	case LIN_REC_USE: return apply_use(x, r);
	case LIN_REC_ALIAS: return apply_alias(x, r);
	case LIN_REC_FINISH: return apply_finish(x, r);
	}
	return lin_err_set(x->err, LIN_ERECORD, r->offset,
			   "unknown record kind %d", (int)r->kind);
}

/* ---- removal --------------------------------------------------------- */

static int del_alias_events(struct ix *x, struct touched_coll *t,
			    const msgpack_object_array *names, int64_t time,
			    uint64_t fact)
{
	for (uint32_t i = 0; i < names->size; i++) {
		const msgpack_object *o = &names->ptr[i];
		unsigned char k[8 + MAX_NAME + 17];
		int rc;
		if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > MAX_NAME)
			continue;
		size_t kn = sel_key(k, t->coll, o->via.str.ptr,
				    o->via.str.size, time, fact);
		if ((rc = ix_del(x, LIN_DB_ALIAS_EV, k, kn, NULL, 0)) ||
		    (rc = ix_touch_alias(t, o->via.str.ptr, o->via.str.size)))
			return rc;
	}
	return 0;
}

static int undo_use(struct ix *x, const struct lin_fact *f)
{
	unsigned char k[8 + LIN_MAX_KEY + 2 + 17], fk[8];
	uint64_t vid;
	size_t kn;
	int rc;

	if (f->sel.n > LIN_MAX_KEY + 1)
		return 0;
	kn = sel_key(k, f->coll, f->sel.p, f->sel.n, f->time, f->id);
	lin_key_id(fk, f->id);
	if ((rc = ix_del(x, LIN_DB_USE_SEL, k, kn, NULL, 0)))
		return rc;
	rc = ix_get_id(x, LIN_DB_USE_RES, fk, 8, &vid);
	if (rc == LIN_ENOTFOUND)
		return ix_del(x, LIN_DB_PENDING, fk, 8, NULL, 0);
	if (rc || (rc = ix_edge_del(x, vid, LIN_EDGE_USED_BY, f->run, f->id)) ||
	    (rc = ix_edge_del(x, f->run, LIN_EDGE_USES, vid, f->id)))
		return rc;
	return ix_del(x, LIN_DB_USE_RES, fk, 8, NULL, 0);
}

static int undo_fact(struct ix *x, const struct lin_fact *f)
{
	struct touched_coll *t = NULL;
	struct lin_slice sid;
	int rc = 0;

	if ((f->kind == LIN_FACT_LOG || f->kind == LIN_FACT_USE) &&
	    ix_fact_sid(f, &sid) &&
	    ((rc = sid_entry(x, sid.p, sid.n, (unsigned)f->kind, f->id,
			     f->vid, 0)) ||
	     (f->kind == LIN_FACT_LOG &&
	      (rc = ix_touch_sid(x, sid.p, sid.n)))))
		return rc;

	/* A use too: its collection may be left with nothing (derive.c
	 * drops it then). */
	if (f->kind == LIN_FACT_LOG || f->kind == LIN_FACT_ALIAS ||
	    f->kind == LIN_FACT_USE) {
		if (!(t = ix_touch_coll(x, f->coll)))
			return LIN_ENOMEM;
	}
	if (f->run && lin_idset_add(&x->runs, f->run) < 0)
		return LIN_ENOMEM;
	switch (f->kind) {
	case LIN_FACT_RUN:
	case LIN_FACT_FINISH:
		return ix_node_fact(x, f->run, f->kind, f->id, 0);
	case LIN_FACT_LOG:
		if ((rc = ix_node_fact(x, f->run, f->kind, f->id, 0)) ||
		    (rc = ix_node_fact(x, f->vid, f->kind, f->id, 0)) ||
		    (rc = ix_edge_del(x, f->run, LIN_EDGE_LOGGED, f->vid,
				      f->id)) ||
		    (rc = ix_edge_del(x, f->vid, LIN_EDGE_LOGGED_BY, f->run,
				      f->id)) ||
		    /* or its re-log twins (derive.c set_log_edges) */
		    (rc = ix_edge_del(x, f->run, LIN_EDGE_RELOGGED, f->vid,
				      f->id)) ||
		    (rc = ix_edge_del(x, f->vid, LIN_EDGE_RELOGGED_BY, f->run,
				      f->id)))
			return rc;
		if (lin_idset_add(&t->vids, f->vid) < 0)
			return LIN_ENOMEM;
		return del_alias_events(x, t, &f->aliases, f->time, f->id);
	case LIN_FACT_USE:
		if ((rc = ix_node_fact(x, f->run, f->kind, f->id, 0)))
			return rc;
		return undo_use(x, f);
	case LIN_FACT_ALIAS:
		if ((rc = del_alias_events(x, t, &f->add, f->time, f->id)))
			return rc;
		return del_alias_events(x, t, &f->remove, f->time, f->id);
	}
	return 0;
}

int ix_remove_source_facts(struct ix *x, uint32_t src)
{
	unsigned char pre[4], k[8];
	struct lin_scan sc;
	char *copy = NULL;
	size_t cap = 0;
	int rc;

	/* Fact ids are src << 32 | seq: the facts of a source are the
	 * keys starting with its id. */
	lin_key_src(pre, src);
	rc = lin_scan_open(&sc, x->txn, x->s, LIN_DB_FACTS, pre, 4, NULL, 0,
			   x->err);
	/* Each fact is undone and deleted before the next: seek afresh,
	 * as deletes move the cursor. */
	while (rc == 0 && (lin_scan_restart(&sc),
			   rc = lin_scan_next(&sc)) == 1) {
		struct lin_fact f;
		uint64_t id;
		if ((rc = lin_val_id(sc.k.mv_data, sc.k.mv_size, &id,
				     "facts key", x->err)))
			break;
		/* Later writes may move the page under val: decode a copy. */
		if (sc.v.mv_size > cap) {
			char *p = realloc(copy, sc.v.mv_size);
			if (!p) {
				rc = LIN_ENOMEM;
				break;
			}
			copy = p;
			cap = sc.v.mv_size;
		}
		size_t vn = sc.v.mv_size;
		memcpy(copy, sc.v.mv_data, vn);
		msgpack_zone_clear(&x->zone);
		if (lin_fact_decode(copy, vn, &x->zone, &f) == 0) {
			f.id = id;
			if ((rc = undo_fact(x, &f)))
				break;
		}
		rc = ix_del(x, LIN_DB_FACTS, k, lin_key_id(k, id), NULL, 0);
	}
	lin_scan_close(&sc);
	free(copy);
	return rc;
}
