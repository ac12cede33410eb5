/* err.h - one error type for the whole library: code, cause, location. */
#ifndef LIN_ERR_H
#define LIN_ERR_H

#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>

/* Library error codes: 0 is success, failures are negative. Never
 * renumbered: the tools map them onto their documented exit codes. */
enum {
	LIN_OK = 0,
	LIN_ENOMEM = -1,    /* out of memory */
	LIN_EIO = -2,       /* read/write/open failed; err.sys holds errno */
	LIN_EFORMAT = -3,   /* not a file of the expected format */
	LIN_EVERSION = -4,  /* format version newer than this reader */
	LIN_ECORRUPT = -5,  /* malformed bytes (bad msgpack, bad gzip, ...) */
	LIN_ETRUNC = -6,    /* input ends in the middle of something */
	LIN_ELIMIT = -7,    /* a hard limit (length, count, nesting) hit */
	LIN_ERECORD = -8,   /* one record is invalid; the stream goes on */
	LIN_ESTORE = -9,    /* LMDB failed; err.sys holds the LMDB code */
	LIN_ENOTFOUND = -10,/* a name, ref or key does not exist */
	LIN_ESCHEMA = -11,  /* store schema unknown or newer than ours */
	LIN_EDAMAGE = -12,  /* damaged part skipped; the stream goes on */
	LIN_EINVAL = -13    /* invalid argument (bad ref syntax, ...) */
};

#define LIN_NO_OFFSET UINT64_MAX

/* Filled by a failing call so the caller can say exactly what went wrong.
 * `path` and `offset` locate the problem when known (path "" and
 * LIN_NO_OFFSET otherwise); `sys` is the underlying errno, zlib or LMDB
 * code, or 0. The struct owns its strings; no release is needed. */
struct lin_err {
	int code;
	int sys;
	uint64_t offset;
	char path[512];
	char msg[512];
};

/* Clear `e` to "no error". */
void lin_err_clear(struct lin_err *e);

/* Set code, offset and a printf-style message; returns `code` so callers
 * can write `return lin_err_set(err, LIN_ECORRUPT, off, "...")`.
 * `e` may be NULL (the error is then only returned). */
int lin_err_set(struct lin_err *e, int code, uint64_t offset,
		const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* lin_err_set with a va_list, for readers that wrap it. */
int lin_err_vset(struct lin_err *e, int code, uint64_t offset,
		 const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Record the file an error belongs to (copied, truncated if long). */
void lin_err_path(struct lin_err *e, const char *path);

/* A short static description of a LIN_E* code. */
const char *lin_strerror(int code);

/* Format "PATH: at byte N: MSG" (parts omitted when unknown) into buf. */
const char *lin_err_format(const struct lin_err *e, char *buf, size_t n);

#endif
