/* err.c - filling and formatting struct lin_err. */
#include "err.h"

#include <stdio.h>
#include <string.h>

void lin_err_clear(struct lin_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->sys = 0;
	e->offset = LIN_NO_OFFSET;
	e->path[0] = '\0';
	e->msg[0] = '\0';
}

int lin_err_vset(struct lin_err *e, int code, uint64_t offset,
		 const char *fmt, va_list ap)
{
	if (!e)
		return code;
	e->code = code;
	e->offset = offset;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	return code;
}

int lin_err_set(struct lin_err *e, int code, uint64_t offset,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lin_err_vset(e, code, offset, fmt, ap);
	va_end(ap);
	return code;
}

void lin_err_path(struct lin_err *e, const char *path)
{
	size_t n;

	if (!e || !path)
		return;
	/* a copy, cut as snprintf would cut it: every bad record of a run
	 * log sets the path, and formatting it cost a seventh of fuzzing
	 * fuzz_runlog's corpus */
	n = strnlen(path, sizeof e->path - 1);
	memcpy(e->path, path, n);
	e->path[n] = 0;
}

const char *lin_strerror(int code)
{
	switch (code) {
	case LIN_OK: return "success";
	case LIN_ENOMEM: return "out of memory";
	case LIN_EIO: return "input/output error";
	case LIN_EFORMAT: return "unrecognised file format";
	case LIN_EVERSION: return "unsupported format version";
	case LIN_ECORRUPT: return "corrupt data";
	case LIN_ETRUNC: return "truncated input";
	case LIN_ELIMIT: return "limit exceeded";
	case LIN_ERECORD: return "invalid record";
	case LIN_ESTORE: return "store error";
	case LIN_ENOTFOUND: return "not found";
	case LIN_ESCHEMA: return "unsupported store schema";
	case LIN_EDAMAGE: return "damaged data skipped";
	case LIN_EINVAL: return "invalid argument";
	}
	return "unknown error";
}

const char *lin_err_format(const struct lin_err *e, char *buf, size_t n)
{
	char off[48] = "";

	if (e->offset != LIN_NO_OFFSET)
		snprintf(off, sizeof off, "at byte %llu: ",
			 (unsigned long long)e->offset);
	snprintf(buf, n, "%s%s%s%s", e->path, e->path[0] ? ": " : "", off,
		 e->msg[0] ? e->msg : lin_strerror(e->code));
	return buf;
}
