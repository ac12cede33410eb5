/* cmdkit.c - what every lineage-query command does the same way: print
 * an error or a usage error, open the store in one read snapshot, map a
 * library error to an exit status. The commands (cmd_*.c) call these;
 * cli.c calls them too, but nothing here calls back into cli.c or a
 * command. */
#include "internal.h"
#include "format/guard.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void lq_errf(struct lq *q, const char *fmt, ...)
{
	va_list ap;

	fputs(LQ_PROG ": ", q->err);
	va_start(ap, fmt);
	vfprintf(q->err, fmt, ap);
	va_end(ap);
	putc('\n', q->err);
}

int lq_usage(struct lq *q, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs(LQ_PROG ": ", q->err);
	if (cmd)
		fprintf(q->err, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(q->err, fmt, ap);
	va_end(ap);
	fprintf(q->err, "\nTry '" LQ_PROG "%s%s --help'.\n", cmd ? " " : "",
		cmd ? cmd : "");
	return LQ_USAGE;
}

/* Without the lock file a writer may reuse the pages being read: hold
 * the answer in memory until lin_query_run knows whether a commit
 * happened meanwhile. Nothing was written to q->out before the store was
 * opened; what went to q->err so far stays there. */
static int hold_output(struct lq *q)
{
	FILE *o = open_memstream(&q->obuf, &q->olen);
	FILE *e = o ? open_memstream(&q->ebuf, &q->elen) : NULL;

	if (!e) {
		if (o)
			fclose(o);
		free(q->obuf);
		q->obuf = NULL;
		return -1;
	}
	q->held_out = q->out;
	q->held_err = q->err;
	q->out = o;
	q->err = e;
	return 0;
}

void lq_close_store(struct lq *q)
{
	lin_scopes_free(&q->run_scopes);
	q->run_scopes_read = 0;
	if (q->borrowed)
		memset(&q->store, 0, sizeof q->store);
	else
		lin_store_close(&q->store);
}

int lq_open(struct lq *q)
{
	int rc = 0;

	if (q->opened)
		return 0;
	lin_err_clear(&q->e);
	if (q->borrowed)
		q->store = *q->borrowed;
	else
		rc = lin_store_open(&q->store, q->store_path,
				    LIN_STORE_RDONLY |
				    (q->scans ? 0 : LIN_STORE_RANDOM), &q->e);
	if (rc == 0) {
		/* One read transaction: every answer comes from one
		 * consistent snapshot even while an indexer writes. */
		rc = lin_store_begin(&q->store, 1, &q->txn, &q->e);
		if (rc)
			lq_close_store(q);
	}
	if (rc == 0) {
		q->txnid = lin_store_txn_id(q->txn);
		q->pending_read = 0;
		if (q->store.nolock && !q->held_out && hold_output(q)) {
			lin_store_abort(q->txn);
			lq_close_store(q);
			lq_errf(q, "out of memory");
			return LQ_SOFTWARE;
		}
	}
	if (rc == 0 && (rc = lq_asof_open(q)) != 0) {
		lin_store_abort(q->txn);
		lq_close_store(q);
		lq_errf(q, "%s", q->e.msg);
		return LQ_SOFTWARE;
	}
	if (rc) {
		char buf[1200];
		lq_errf(q, "%s", lin_err_format(&q->e, buf, sizeof buf));
		return rc == LIN_ESCHEMA || rc == LIN_ECORRUPT ? LQ_DATAERR :
		       LQ_NOINPUT;
	}
	q->opened = 1;
	lin_err_clear(&q->e);
	return 0;
}

/* 1 when a store error says the file itself is damaged. MDB_BAD_TXN: an
 * earlier read in this (read-only) snapshot failed on a damaged page,
 * and LMDB refuses every read after it. */
static int damaged(const struct lq *q, int rc)
{
	return rc == LIN_ECORRUPT ||
	       (rc == LIN_ESTORE && (q->e.sys == MDB_CORRUPTED ||
				     q->e.sys == MDB_PAGE_NOTFOUND ||
				     q->e.sys == MDB_INVALID ||
				     q->e.sys == MDB_BAD_TXN));
}

int lq_fail(struct lq *q, int rc)
{
	char buf[1200];

	if (q->e.code == 0)
		lin_err_set(&q->e, rc, LIN_NO_OFFSET, "%s", lin_strerror(rc));
	switch (rc) {
	case LIN_ENOTFOUND:
		lq_errf(q, "%s", q->e.msg);
		return LQ_NOTFOUND;
	case LIN_EINVAL:
		return lq_usage(q, NULL, "%s", q->e.msg);
	default:
		break;
	}
	lin_err_path(&q->e, q->store_path);
	int bad = damaged(q, rc);
	if (bad && !strstr(q->e.msg, "--rebuild")) {
		/* Never a partial answer that looks complete: say the store
		 * is damaged and what to do about it. */
		char advice[1100];
		lq_errf(q, "%s; store damaged: %s",
			lin_err_format(&q->e, buf, sizeof buf),
			lin_guard_advice(advice, sizeof advice,
					 q->store_path));
	} else {
		lq_errf(q, "%s", lin_err_format(&q->e, buf, sizeof buf));
	}
	if (bad)
		return LQ_DATAERR;
	switch (rc) {
	case LIN_ESCHEMA: case LIN_EFORMAT:
		return LQ_DATAERR;
	case LIN_ESTORE:
		return LQ_IOERR;
	case LIN_EIO:
		return LQ_IOERR;
	default:
		return LQ_SOFTWARE;
	}
}
