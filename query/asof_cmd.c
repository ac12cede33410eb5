/* asof_cmd.c - --as-of for the subcommands: taking the option, and the
 * lq_* wrappers through which every subcommand resolves, loads and walks
 * so that the as-of view (asof.c) applies to all of them alike. */
#include "internal.h"
#include "format/grow.h"

#include <stdlib.h>
#include <string.h>

int lq_take_asof(struct lq *q, int *argc, char **argv)
{
	static const char opt[] = "--as-of", sopt[] = "--store";
	int i = 1;

	while (i < *argc && strcmp(argv[i], "--") != 0) {
		const char *val;
		int take;
		/* --store is global too, like --json: accepted after the
		 * command name (-s PATH, --store PATH, --store=PATH). */
		if (!strcmp(argv[i], sopt) || !strcmp(argv[i], "-s") ||
		    !strncmp(argv[i], "--store=", 8)) {
			take = argv[i][1] == 's' || argv[i][7] == '\0' ? 2 : 1;
			if (take == 2 && i + 1 >= *argc)
				return lin_err_set(&q->e, LIN_EINVAL,
						   LIN_NO_OFFSET, "option "
						   "'%s' needs a value",
						   argv[i]);
			q->store_path = take == 2 ? argv[i + 1] : argv[i] + 8;
			memmove(argv + i, argv + i + take,
				(size_t)(*argc - i - take) * sizeof *argv);
			*argc -= take;
			argv[*argc] = NULL;
			continue;
		}
		if (strcmp(argv[i], opt) == 0) {
			if (i + 1 >= *argc)
				return lin_err_set(&q->e, LIN_EINVAL,
						   LIN_NO_OFFSET, "option "
						   "'%s' needs a value", opt);
			val = argv[i + 1];
			take = 2;
		} else if (strncmp(argv[i], opt, sizeof opt - 1) == 0 &&
			   argv[i][sizeof opt - 1] == '=') {
			val = argv[i] + sizeof opt;
			take = 1;
		} else {
			i++;
			continue;
		}
		char why[160];
		if (lq_parse_time(val, &q->asof))
			return lin_err_set(&q->e, LIN_EINVAL, LIN_NO_OFFSET,
					   "bad --as-of '%s': %s", val,
					   lq_time_why(val, why, sizeof why));
		q->has_asof = 1;
		memmove(argv + i, argv + i + take,
			(size_t)(*argc - i - take) * sizeof *argv);
		*argc -= take;
		argv[*argc] = NULL;
	}
	return 0;
}

/* Replace version n's "aliases" with those naming it at time t:
 * "latest" first, then the others in byte order (as the indexer
 * writes them). The array lives in n's msgpack zone. */
static int aliases_at(struct lq *q, struct lin_qnode *n)
{
	struct lin_scan sc;
	struct lin_alias al;
	msgpack_object *names = NULL;
	size_t cnt = 0, cap = 0;
	uint64_t vid;
	int rc;

	if (!n->coll || !n->up.zone)
		return 0;
	if ((rc = lin_store_alias_at(q->txn, &q->store, n->coll, "latest", 6,
				     q->asof, &vid, &q->e)))
		return rc;
	if ((rc = lin_store_aliases(&sc, q->txn, &q->store, n->coll, &q->e)))
		return rc;
	int is_latest = vid == n->id;
	while ((rc = lin_aliases_next(&sc, &al)) == 1) {
		const char *a = al.name;
		size_t an = al.len;
		if (an == 0 || (an == 6 && memcmp(a, "latest", 6) == 0))
			continue;
		if ((rc = lin_timeline_at(al.tl, al.n * LIN_TL_ENTRY, q->asof,
					  &vid, &q->e)))
			break;
		if (vid != n->id)
			continue;
		if (LIN_GROW(names, cap, cnt + 1, 8)) {
			rc = LIN_ENOMEM;
			break;
		}
		names[cnt].type = MSGPACK_OBJECT_STR;
		names[cnt].via.str.ptr = a;  /* valid while the txn lives */
		names[cnt].via.str.size = (uint32_t)an;
		cnt++;
	}
	lin_scan_close(&sc);
	size_t total = cnt + (size_t)is_latest;
	msgpack_object *arr = NULL, *items = NULL;
	if (rc == 0) {
		arr = msgpack_zone_malloc(n->up.zone, sizeof *arr);
		items = msgpack_zone_malloc(n->up.zone,
					    (total + 1) * sizeof *items);
		if (!arr || !items)
			rc = LIN_ENOMEM;
	}
	if (rc == 0) {
		if (is_latest) {
			items[0].type = MSGPACK_OBJECT_STR;
			items[0].via.str.ptr = "latest";
			items[0].via.str.size = 6;
		}
		for (size_t i = 0; i < cnt; i++)
			items[i + (size_t)is_latest] = names[i];
		arr->type = MSGPACK_OBJECT_ARRAY;
		arr->via.array.size = (uint32_t)total;
		arr->via.array.ptr = items;
		n->aliases = arr;
	}
	free(names);
	if (rc == LIN_ENOMEM)
		return lin_err_set(&q->e, rc, LIN_NO_OFFSET, "out of memory");
	return rc;
}

/* ---- the command-side wrappers ---- */

int lq_asof_open(struct lq *q)
{
	if (!q->has_asof || q->at)
		return 0;
	q->at = lq_asof_new(q->txn, &q->store, q->asof);
	if (!q->at)
		return lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	return 0;
}

void lq_asof_close(struct lq *q)
{
	lq_asof_free(q->at);
	q->at = NULL;
}

int lq_exists(struct lq *q, uint64_t id)
{
	int ok, rc;

	if (!q->at)
		return 1;
	rc = lq_asof_node(q->at, id, &ok, &q->e);
	return rc ? rc : ok;
}

/* LIN_ENOTFOUND with "X not found as of T (...)" unless node id
 * existed at q->asof. */
static int check_exists(struct lq *q, uint64_t id)
{
	struct lin_qnode n;
	char tb[48], sb[48], *name;
	int64_t since;
	int rc = lq_exists(q, id);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	lin_qnode_init(&n);
	rc = lin_qnode_load(q->txn, &q->store, id, &n, &q->e);
	if (rc == 0)
		rc = lq_asof_since(q->txn, &q->store, &n, &since, &q->e);
	name = rc ? NULL : lin_qnode_id(&n, 1);
	if (rc == 0 && !name)
		rc = lin_err_set(&q->e, LIN_ENOMEM, LIN_NO_OFFSET,
				 "out of memory");
	if (rc == 0)
		rc = lin_err_set(&q->e, LIN_ENOTFOUND, LIN_NO_OFFSET,
				 "%s not found as of %s (%s %s)", name,
				 lin_fmt_time(tb, q->asof),
				 n.kind == LIN_ID_RUN ? "started" :
				 "first logged", lin_fmt_time(sb, since));
	free(name);
	lin_qnode_release(&n);
	return rc;
}

static const int64_t *asof_ptr(const struct lq *q)
{
	return q->has_asof ? &q->asof : NULL;
}

int lq_resolve_ref(struct lq *q, const char *ref, uint64_t *vid)
{
	int rc = lin_resolve_ref_at(q->txn, &q->store, ref, asof_ptr(q),
				    vid, &q->e);
	return rc ? rc : check_exists(q, *vid);
}

int lq_resolve_run(struct lq *q, const char *run, uint64_t *rid)
{
	int rc = lin_resolve_run(q->txn, &q->store, run, rid, &q->e);
	return rc ? rc : check_exists(q, *rid);
}

int lq_resolve_node(struct lq *q, const char *spec, uint64_t *node)
{
	int rc = lin_resolve_node_at(q->txn, &q->store, spec, asof_ptr(q),
				     node, &q->e);
	return rc ? rc : check_exists(q, *node);
}

int lq_node_load(struct lq *q, uint64_t id, struct lin_qnode *n)
{
	int rc = lin_qnode_load(q->txn, &q->store, id, n, &q->e);

	if (rc || !q->at)
		return rc;
	if (n->kind == LIN_ID_VERSION)
		return aliases_at(q, n);
	/* At T the run had not finished yet: no end state. */
	if (n->ended_at != LIN_QNONE && n->ended_at > q->asof) {
		n->state.p = NULL;
		n->state.n = 0;
		n->ended_at = n->exit_code = LIN_QNONE;
	}
	return 0;
}

int lq_node_core(struct lq *q, uint64_t id, struct lin_qnode *n)
{
	/* as of T, aliases and states are computed from the whole node */
	if (q->at)
		return lq_node_load(q, id, n);
	return lin_qnode_load_core(q->txn, &q->store, id, n, &q->e);
}

int lq_node_row(struct lq *q, uint64_t id, struct lin_qnode *n)
{
	return q->json ? lq_node_load(q, id, n) : lq_node_core(q, id, n);
}

int lq_neighbours(struct lq *q, uint64_t node, unsigned first_kind,
		  unsigned last_kind, struct lin_nbrs *out)
{
	return lin_walk_neighbours_filtered(q->txn, &q->store, node,
					    first_kind, last_kind,
					    q->at ? lq_asof_filter(q->at) :
					    NULL, out, &q->e);
}

int lq_walk_new(struct lq *q, struct lin_walk **w, unsigned dir,
		uint32_t max_depth)
{
	int rc = lin_walk_new(w, q->txn, &q->store, dir, max_depth, &q->e);

	if (rc == 0 && q->at)
		lin_walk_set_filter(*w, lq_asof_filter(q->at));
	if (rc == 0) {
		lin_walk_set_relogs(*w, q->relogs);
		lin_walk_set_prefetch(*w, 1);
	}
	return rc;
}
