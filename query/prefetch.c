/* prefetch.c - helper threads that read ahead of a cold walk (see
 * prefetch.h). The queue is an array that only grows; helpers take the
 * next item under a mutex, skipping what the walk has already
 * reached. */
#include "query/prefetch.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/cursor.h"
#include "format/guard.h"
#include "format/keys.h"
#include "query/query.h"

#define MAX_THREADS 16

struct item {
	uint64_t node;
	unsigned dirs;
};

struct lin_prefetch {
	const struct lin_store *s;
	pthread_mutex_t mu;
	pthread_cond_t more;
	struct item *v;
	size_t n, cap;
	size_t next;            /* the next item a helper takes */
	int stop;
	pthread_t th[MAX_THREADS];
	unsigned nth;
	size_t taken;           /* items the helpers read ahead */
	int trace;              /* LINEAGE_PREFETCH_TRACE */
	struct lin_prefetch *live_next;  /* in the list of live ones */
};

/* Every prefetcher with running helpers, for lin_prefetch_abandon_all. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lin_prefetch *live;

/* Look `it` up as the walk will: its edges in each direction it will be
 * expanded in (the seek reads the leaf page that holds them) and its
 * core record (every walk command prints it). What they hold is not
 * needed: having read the pages is the point. */
static void touch(struct lin_edges *edges, MDB_txn *txn,
		  const struct lin_store *s, const struct item *it)
{
	unsigned char k[8];
	MDB_val v;

	for (unsigned bit = LIN_WALK_DOWN; bit <= LIN_WALK_UP; bit <<= 1)
		if (it->dirs & bit)
			lin_edges_seek(edges, it->node, lin_walk_first_kind(bit),
				       lin_walk_first_kind(bit));
	(void)lin_store_get(txn, s, LIN_DB_NODE_CORE, k,
			    lin_key_id(k, it->node), &v, NULL);
}

/* The next item to read ahead, or 0 when told to stop. */
static int take(struct lin_prefetch *p, struct item *it)
{
	int got = 0;

	pthread_mutex_lock(&p->mu);
	while (!p->stop && p->next >= p->n)
		pthread_cond_wait(&p->more, &p->mu);
	if (!p->stop) {
		*it = p->v[p->next++];
		p->taken++;
		got = 1;
	}
	pthread_mutex_unlock(&p->mu);
	return got;
}

/* One helper: its own read transaction (LMDB gives each thread one) and
 * its own fault guard. */
struct helper {
	MDB_txn *txn;
	struct lin_edges edges;
	int open;               /* edges opened */
	struct lin_err err;     /* what went wrong, never reported */
	sigjmp_buf jb;
};

static void *helper_main(void *arg)
{
	struct lin_prefetch *p = arg;
	/* in memory, not in registers: what siglongjmp returns to reads
	 * the transaction and cursor from here */
	struct helper *h = calloc(1, sizeof *h);
	struct item it;

	if (!h)
		return NULL;
	if (sigsetjmp(h->jb, 1) == 0) {
		lin_guard_catch(&h->jb);
		if (mdb_txn_begin(p->s->env, NULL, MDB_RDONLY, &h->txn) == 0 &&
		    lin_edges_open(&h->edges, h->txn, p->s, &h->err) == 0) {
			h->open = 1;
			while (take(p, &it))
				touch(&h->edges, h->txn, p->s, &it);
		}
	}
	/* after a fault the walk meets the damage itself: only let go of
	 * the transaction (guard.h) */
	lin_guard_catch(NULL);
	if (h->open)
		lin_edges_close(&h->edges);
	if (h->txn)
		mdb_txn_abort(h->txn);
	free(h);
	return NULL;
}

static unsigned threads_wanted(void)
{
	const char *knob = getenv("LINEAGE_PREFETCH_THREADS");

	if (!knob || !*knob)
		return LIN_PREFETCH_THREADS;
	long n = strtol(knob, NULL, 10);
	return n <= 0 ? 0 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

enum lin_prefetch_mode lin_prefetch_mode(void)
{
	const char *knob = getenv("LINEAGE_PREFETCH");

	if (threads_wanted() == 0 || !knob)
		return LIN_PREFETCH_OFF;
	if (strcmp(knob, "always") == 0)
		return LIN_PREFETCH_ALWAYS;
	return strcmp(knob, "auto") == 0 ? LIN_PREFETCH_AUTO :
					   LIN_PREFETCH_OFF;
}

int lin_prefetch_tracing(void)
{
	const char *knob = getenv("LINEAGE_PREFETCH_TRACE");

	return knob && *knob && strcmp(knob, "0") != 0;
}

struct lin_prefetch *lin_prefetch_new(const struct lin_store *s)
{
	unsigned want = threads_wanted();

	if (!want || !s || !s->env)
		return NULL;
	struct lin_prefetch *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->s = s;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->more, NULL);
	for (unsigned i = 0; i < want; i++) {
		if (pthread_create(&p->th[p->nth], NULL, helper_main, p))
			break;
		p->nth++;
	}
	if (!p->nth) {
		lin_prefetch_free(p);
		return NULL;
	}
	pthread_mutex_lock(&live_mu);
	p->live_next = live;
	live = p;
	pthread_mutex_unlock(&live_mu);
	p->trace = lin_prefetch_tracing();
	return p;
}

int lin_prefetch_add(struct lin_prefetch *p, uint64_t node, unsigned dirs)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct item *v = realloc(p->v, cap * sizeof *v);
		if (v) {
			p->v = v;
			p->cap = cap;
		}
	}
	if (p->n < p->cap) {
		p->v[p->n].node = node;
		p->v[p->n].dirs = dirs;
		p->n++;
		pthread_cond_signal(&p->more);
	} else {
		rc = LIN_ENOMEM;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void lin_prefetch_reached(struct lin_prefetch *p, size_t i)
{
	pthread_mutex_lock(&p->mu);
	if (p->next < i)
		p->next = i;
	pthread_mutex_unlock(&p->mu);
}

/* Tell the helpers to stop and wait for them. */
static void stop_helpers(struct lin_prefetch *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	p->nth = 0;
}

void lin_prefetch_free(struct lin_prefetch *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&live_mu);
	for (struct lin_prefetch **l = &live; *l; l = &(*l)->live_next)
		if (*l == p) {
			*l = p->live_next;
			break;
		}
	pthread_mutex_unlock(&live_mu);
	stop_helpers(p);
	if (p->trace)
		fprintf(stderr, "prefetch: %zu items queued, %zu read ahead\n",
			p->n, p->taken);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->more);
	free(p->v);
	free(p);
}

void lin_prefetch_abandon_all(void)
{
	pthread_mutex_lock(&live_mu);
	for (struct lin_prefetch *p = live; p; p = p->live_next)
		stop_helpers(p);
	live = NULL;
	pthread_mutex_unlock(&live_mu);
}
