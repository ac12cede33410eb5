/* runlog.c - streaming reader for runlog v1 files (runlog.h); the
 * writer is runlog_writer.c. */
#include "runlog.h"
#include "format/grow.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>
#include <zlib.h>

#include "text.h"

/* ==== reader ==========================================================
 * Design: a small MessagePack decoder of our own over a buffered window
 * of uncompressed bytes, not msgpack_unpacker: msgpack-c allocates before
 * it lets us look at sizes or nesting, and hostile headers (a str32 that
 * claims 4 GiB, 10,000 nested arrays) must fail before anything is
 * allocated. Each object is read in two steps:
 *
 *  1. scan_object() walks the object's headers with an explicit stack
 *     (depth bounded by max_depth, so no recursion) and checks every
 *     limit from the header bytes alone, asking for more input only as
 *     far as the declared sizes reach. When it returns, the whole object
 *     lies in the window and is known to be well formed, so
 *  2. the decoder reads it without bounds checks: keys are matched once,
 *     values are typed into struct lin_record, and the strings it keeps
 *     are copied NUL-terminated into an arena that is rewound per record
 *     (sized beforehand from a bound, so it never moves while filled).
 *
 * The window grows only up to max_record and the arena only up to what
 * one record needs, so memory is bounded by the largest record and the
 * steady state allocates nothing. Input is read in RCHUNK pieces; gzip
 * goes through our own z_stream (several members allowed). */

#define RCHUNK (64 * 1024)
/* The window starts at 32 KiB, which holds many typical records, and
 * doubles when one does not fit (up to max_record). Small, because most
 * run logs are small: a larger start costs every file its pages (and
 * under AddressSanitizer an mmap per open, which made fuzzing slow),
 * while the window's growth path is exercised by fuzz inputs too. */
#define WIN_INIT (32 * 1024)
#define BOMB_FLOOR ((uint64_t)256 << 20)
#define BOMB_RATIO 500

struct lin_runlog {
	char *path;
	int fd;
	struct lin_stream src;  /* read from here instead when src.read */
	struct lin_runlog_limits lim;

	/* raw input: `in` holds bytes read but not yet used */
	unsigned char *in;
	size_t in_pos, in_len;
	int eof;
	int gz;
	z_stream z;
	int zinit;
	int zend;              /* the current gzip member is complete */
	uint64_t total;        /* uncompressed bytes produced so far */
	uint64_t raw;          /* file bytes read so far */
	int over;              /* input goes on beyond max_inflated */
	int zerr;              /* zlib error after the bytes handed out */
	char zmsg[128];

	/* window: buf[start, end) are unconsumed uncompressed bytes; buf[0]
	 * is at stream offset `base` */
	unsigned char *buf;
	size_t cap, maxcap, start, end;
	uint64_t base;

	size_t *stack;         /* scan_object(): items left per level */
	int skip_pending;      /* scan_object() hit a limit in a record */
	size_t skip_pos;       /*   at this byte of it, */
	uint64_t skip_left;    /*   with this many values to step over */

	char *arena;           /* the current record's strings */
	size_t acap;

	char *producer;
	int64_t created_at;
	uint64_t skipped;
	int fatal;             /* sticky fatal error code, or 0 */
	struct lin_err fatal_err;
};

void lin_runlog_limits_default(struct lin_runlog_limits *l)
{
	l->max_record = (size_t)16 << 20;
	l->max_string = (size_t)1 << 20;
	l->max_items = 65536;
	l->max_depth = 32;
	l->max_inflated = (uint64_t)64 << 30;
#ifdef LIN_FUZZ_LIMITS
	/* Fuzz builds (make fuzz): small limits, so that no input spends
	 * an execution inflating or buffering hundreds of MiB and the
	 * fuzzer explores the reader instead. */
	l->max_record = (size_t)1 << 20;
	l->max_string = (size_t)64 << 10;
	l->max_items = 4096;
	l->max_inflated = (uint64_t)256 << 10;
#endif
}

/* Any failure carries the file name. */
static int rfail(struct lin_runlog *r, struct lin_err *err, int code,
		 uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int rfail(struct lin_runlog *r, struct lin_err *err, int code,
		 uint64_t off, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	lin_err_vset(err, code, off, fmt, ap);
	va_end(ap);
	lin_err_path(err, r->path);
	return code;
}

static ssize_t raw_read(struct lin_runlog *r, void *p, size_t n,
			struct lin_err *err)
{
	ssize_t k;

	if (r->src.read) {
		char m[256] = "";

		k = r->src.read(r->src.ctx, p, n, m, sizeof m);
		if (k < 0)
			return rfail(r, err, LIN_EIO, r->total,
				     "cannot read: %s", m);
	} else {
		do
			k = read(r->fd, p, n);
		while (k < 0 && errno == EINTR);
	}
	if (k < 0) {
		int e = errno;

		rfail(r, err, LIN_EIO, r->total, "cannot read: %s",
		      strerror(e));
		if (err)
			err->sys = e;
		return LIN_EIO;
	}
	if (k == 0)
		r->eof = 1;
	r->raw += (uint64_t)k;
	return k;
}

static int over_limit(struct lin_runlog *r, struct lin_err *err)
{
	return rfail(r, err, LIN_ELIMIT, r->lim.max_inflated,
		     r->gz ? "data exceeds the max_inflated limit of %llu "
			     "bytes in gzip stream"
			   : "data exceeds the max_inflated limit of %llu "
			     "bytes",
		     (unsigned long long)r->lim.max_inflated);
}

static ssize_t gz_error(struct lin_runlog *r, struct lin_err *err)
{
	rfail(r, err, LIN_ECORRUPT, r->total,
	      "corrupt data in gzip stream: '%s'", r->zmsg);
	if (err)
		err->sys = r->zerr;
	return LIN_ECORRUPT;
}

/* Inflate up to `want` bytes into `dst`; returns the count, 0 at the
 * clean end of the last member, or a negative code. */
static ssize_t gz_produce(struct lin_runlog *r, unsigned char *dst,
			  size_t want, struct lin_err *err)
{
	if (r->zerr)
		return gz_error(r, err);
	for (;;) {
		size_t produced;
		int zr;

		if (r->z.avail_in == 0 && !r->eof) {
			ssize_t k = raw_read(r, r->in, RCHUNK, err);

			if (k < 0)
				return k;
			r->z.next_in = r->in;
			r->z.avail_in = (uInt)k;
		}
		if (r->zend) {
			if (r->z.avail_in == 0) {
				if (r->eof)
					return 0;
				continue;
			}
			/* more input after a member: another member */
			inflateReset(&r->z);
			r->zend = 0;
		}
		if (r->z.avail_in == 0 && r->eof)
			return rfail(r, err, LIN_ETRUNC, r->total,
				     "gzip stream ends without its trailer");
		r->z.next_out = dst;
		r->z.avail_out = (uInt)want;
		zr = inflate(&r->z, Z_NO_FLUSH);
		produced = want - r->z.avail_out;
		switch (zr) {
		case Z_STREAM_END:
			r->zend = 1;
			break;
		case Z_OK:
		case Z_BUF_ERROR:      /* no progress: needs more input */
			break;
		case Z_MEM_ERROR:
			return rfail(r, err, LIN_ENOMEM, r->total,
				     "out of memory in gzip stream");
		default:
			/* the bytes before the damage are good: hand them
			 * out first, fail on the next call */
			r->zerr = zr;
			snprintf(r->zmsg, sizeof r->zmsg, "%s",
				 r->z.msg ? r->z.msg : "unknown zlib error");
			if (produced)
				return (ssize_t)produced;
			return gz_error(r, err);
		}
		if (produced)
			return (ssize_t)produced;
	}
}

/* Append input to the window (which has room). Returns 1 when bytes were
 * added, 0 at the end of input, or a negative code. Stops at exactly
 * max_inflated bytes and fails only when more are then wanted. */
static int fill(struct lin_runlog *r, struct lin_err *err)
{
	size_t want = r->cap - r->end;
	uint64_t allow = r->lim.max_inflated - r->total;
	ssize_t k;

	if (r->over)
		return over_limit(r, err);
	if (want > allow)
		want = (size_t)allow + 1;  /* one more byte tells "too much" */
	if (r->gz) {
		k = gz_produce(r, r->buf + r->end, want, err);
	} else if (r->in_pos < r->in_len) {
		k = (ssize_t)(r->in_len - r->in_pos);
		if ((size_t)k > want)
			k = (ssize_t)want;
		memcpy(r->buf + r->end, r->in + r->in_pos, (size_t)k);
		r->in_pos += (size_t)k;
	} else {
		k = raw_read(r, r->buf + r->end, want, err);
	}
	if (k <= 0)
		return (int)k;
	if ((uint64_t)k > allow) {
		k = (ssize_t)allow;
		r->over = 1;
		if (k == 0)
			return over_limit(r, err);
	}
	r->total += (uint64_t)k;
	r->end += (size_t)k;
	/* Deflate cannot exceed about 1032:1; real run logs stay far below
	 * 100:1. A stream near the maximum past BOMB_FLOOR is a gzip bomb:
	 * stop it now rather than inflate up to max_inflated. */
	if (r->gz && r->total > BOMB_FLOOR && r->total / BOMB_RATIO > r->raw)
		return rfail(r, err, LIN_ELIMIT, r->total,
			     "gzip data expands more than %d:1 (%llu bytes "
			     "from %llu): refusing a likely gzip bomb",
			     BOMB_RATIO, (unsigned long long)r->total,
			     (unsigned long long)r->raw);
	return 1;
}

/* The input ends inside the record that starts at `rec_off`; `rc` is
 * what reading more gave (LIN_ETRUNC: a gzip member without its
 * trailer). */
static int truncated(struct lin_runlog *r, struct lin_err *err,
		     uint64_t rec_off, int rc)
{
	return rfail(r, err, LIN_ETRUNC, r->base + r->end,
		     "file ends inside a record that started at byte %llu%s",
		     (unsigned long long)rec_off,
		     rc ? " (gzip stream ends without its trailer)" : "");
}

/* Make room after the object that starts at buf[start] and read more. */
static int need_more(struct lin_runlog *r, struct lin_err *err)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->base += r->start;
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		size_t ncap = r->cap * 2;
		unsigned char *nb;

		if (r->cap >= r->maxcap) /* scan_object() prevents this */
			return rfail(r, err, LIN_ELIMIT, r->base,
				     "record exceeds the window");
		if (ncap > r->maxcap)
			ncap = r->maxcap;
		nb = realloc(r->buf, ncap);
		if (!nb)
			return rfail(r, err, LIN_ENOMEM, r->base,
				     "out of memory");
		r->buf = nb;
		r->cap = ncap;
	}
	return fill(r, err);
}

static inline uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* A map's first byte: fixmap, map 16, map 32. */
static int is_map_marker(unsigned char b)
{
	return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
}

/* What a MessagePack header is, from its first bytes. */
enum hkind {
	H_BAD,      /* 0xc1, which starts no type */
	H_NEED,     /* the header is longer than the bytes at hand */
	H_SCALAR,   /* nil, bool, numbers, fixext: *len payload bytes */
	H_BLOB,     /* str, bin, ext: *len payload bytes */
	H_ARRAY,    /* *len items */
	H_MAP       /* *len entries (2 * *len values) */
};

/* Classify the header at `p` (`avail` bytes there, at least 1): sets *hl
 * to the header's length (also for H_NEED) and *len as above. */
static enum hkind classify(const unsigned char *p, size_t avail, size_t *hl,
			   uint64_t *len)
{
	unsigned b = p[0];
	size_t w;           /* width of the size field after the marker */
	enum hkind k;

	*hl = 1;
	*len = 0;
	if (b <= 0x7f || b >= 0xe0)             /* fixint */
		return H_SCALAR;
	if (b >= 0xa0 && b <= 0xbf) {           /* fixstr */
		*len = b & 0x1f;
		return H_BLOB;
	}
	if (b <= 0x8f) {                        /* fixmap */
		*len = b & 0x0f;
		return H_MAP;
	}
	if (b <= 0x9f) {                        /* fixarray */
		*len = b & 0x0f;
		return H_ARRAY;
	}
	switch (b) {
	case 0xc0: case 0xc2: case 0xc3: return H_SCALAR;
	case 0xcc: case 0xd0: *len = 1; return H_SCALAR;
	case 0xcd: case 0xd1: *len = 2; return H_SCALAR;
	case 0xca: case 0xce: case 0xd2: *len = 4; return H_SCALAR;
	case 0xcb: case 0xcf: case 0xd3: *len = 8; return H_SCALAR;
	/* fixext 1..16: marker, type */
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		*hl = 2;
		*len = (uint64_t)1 << (b - 0xd4);
		/* the type byte must be at hand too: callers step over hl */
		return avail < 2 ? H_NEED : H_SCALAR;
	case 0xc4: case 0xd9: w = 1; k = H_BLOB; break;
	case 0xc5: case 0xda: w = 2; k = H_BLOB; break;
	case 0xc6: case 0xdb: w = 4; k = H_BLOB; break;
	/* ext 8/16/32: marker, length, type */
	case 0xc7: w = 1; k = H_BLOB; *hl = 3; break;
	case 0xc8: w = 2; k = H_BLOB; *hl = 4; break;
	case 0xc9: w = 4; k = H_BLOB; *hl = 6; break;
	case 0xdc: w = 2; k = H_ARRAY; break;
	case 0xdd: w = 4; k = H_ARRAY; break;
	case 0xde: w = 2; k = H_MAP; break;
	case 0xdf: w = 4; k = H_MAP; break;
	default: return H_BAD;                  /* 0xc1 */
	}
	if (*hl == 1)
		*hl = 1 + w;
	if (avail < *hl)
		return H_NEED;
	*len = w == 1 ? p[1] : w == 2 ? be16(p + 1) : be32(p + 1);
	return k;
}

/* A limit that the object at buf[start] breaks in the value at `pos`
 * (not yet stepped over): LIN_ELIMIT at that byte, remembering how many
 * values remain, so that lin_runlog_next() can skip the record rather
 * than give up the file. */
static int limit_hit(struct lin_runlog *r, struct lin_err *err,
		     const size_t *stack, size_t sp, size_t pos,
		     const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int limit_hit(struct lin_runlog *r, struct lin_err *err,
		     const size_t *stack, size_t sp, size_t pos,
		     const char *fmt, ...)
{
	uint64_t left = 0;
	char msg[256];
	va_list ap;

	for (size_t i = 0; i < sp; i++)
		left += stack[i];
	r->skip_pending = 1;
	r->skip_pos = pos;
	r->skip_left = left;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return rfail(r, err, LIN_ELIMIT, r->base + r->start + pos, "%s",
		     msg);
}

/* The limits on a map or array (header byte `b`, *n entries) at `pos`,
 * opened at stack depth `sp`: its size, then the nesting. Returns 0 with
 * *n set to the values it holds (a map's entries count twice), or the
 * limit_hit. */
static int container_limits(struct lin_runlog *r, struct lin_err *err,
			    const size_t *stack, size_t sp, size_t pos,
			    unsigned b, uint64_t *n)
{
	int is_map = b <= 0x8f || b >= 0xde;

	if (*n > r->lim.max_items)
		return limit_hit(r, err, stack, sp, pos, "%s of %llu %s "
				 "exceeds the max_items limit of %zu",
				 is_map ? "map" : "array",
				 (unsigned long long)*n,
				 is_map ? "entries" : "items",
				 r->lim.max_items);
	if (is_map)
		*n *= 2;
	if (sp > r->lim.max_depth)
		return limit_hit(r, err, stack, sp, pos, "nesting exceeds the "
				 "max_depth limit of %u in record at byte "
				 "%llu", r->lim.max_depth,
				 (unsigned long long)(r->base + r->start));
	return 0;
}

/* Find the extent of the next object at buf[start], reading as needed and
 * checking every limit before the bytes it declares are read. Returns 1
 * with *len set (the object is then wholly in the window), 0 at a clean
 * end of input, or a negative code (fatal). A limit on strings,
 * collections, nesting or the object's size is LIN_ELIMIT with
 * r->skip_pending set (see mark_skip). */
static int scan_object(struct lin_runlog *r, struct lin_err *err,
		       size_t *len)
{
	size_t *stack = r->stack;
	const size_t max_rec = r->lim.max_record;
	const size_t max_str = r->lim.max_string;
	size_t sp = 1, pos = 0;
	int rc;

	r->skip_pending = 0;
	stack[0] = 1;
	for (;;) {
		const unsigned char *p = r->buf + r->start;
		size_t avail = r->end - r->start;

		while (sp) {
			size_t hl;
			uint64_t n;
			unsigned b;

			if (stack[sp - 1] == 0) {
				sp--;
				continue;
			}
			if (pos >= avail) {
				if (pos >= max_rec)
					goto too_big;
				goto more;
			}
			b = p[pos];
			if (b <= 0x7f || b >= 0xe0) {   /* fixint, the usual */
				pos++;
				stack[sp - 1]--;
				continue;
			}
			switch (classify(p + pos, avail - pos, &hl, &n)) {
			case H_BAD:
				return rfail(r, err, LIN_ECORRUPT,
					     r->base + r->start + pos,
					     "invalid MessagePack byte 0x%02x",
					     b);
			case H_NEED:
				/* a variable-size header: it must be in the
				 * window */
				if (pos + hl > max_rec)
					goto too_big;
				goto more;
			case H_BLOB:
				if (n > max_str)
					return limit_hit(r, err, stack, sp,
							 pos, "string of %llu "
							 "bytes exceeds the "
							 "max_string limit of "
							 "%zu",
							 (unsigned long long)n,
							 max_str);
				/* fall through */
			case H_SCALAR:
				if (hl + n > max_rec - pos)
					goto too_big;
				pos += hl + (size_t)n;
				stack[sp - 1]--;
				continue;
			case H_MAP:
			case H_ARRAY:
				rc = container_limits(r, err, stack, sp, pos,
						      b, &n);
				if (rc)
					return rc;
				if (hl > max_rec - pos)
					goto too_big;
				pos += hl;
				stack[sp - 1]--;
				if (n)
					stack[sp++] = (size_t)n;
				continue;
			}
		}
		if (pos <= avail) {
			*len = pos;
			return 1;
		}
more:
		rc = need_more(r, err);
		if (rc > 0)
			continue;
		if (pos == 0 && r->start == r->end && rc <= 0)
			return rc;      /* end of input between objects */
		if (rc == 0 || rc == LIN_ETRUNC)
			return truncated(r, err, r->base + r->start, rc);
		return rc;
	}
too_big:
	rc = limit_hit(r, err, stack, sp, pos, "record at byte %llu exceeds "
		       "the max_record limit of %zu bytes",
		       (unsigned long long)(r->base + r->start), max_rec);
	if (err)    /* the offset of the record, not of the value */
		err->offset = r->base + r->start;
	return rc;
}

/* Step over the rest of an object that broke a limit: `left` values
 * from buf[start], streaming, keeping nothing (so without the limits;
 * only max_inflated and the gzip bomb check still apply). A counter
 * suffices, no stack: every container only adds to the values still to
 * step over. Every value takes at least one byte, so this ends within
 * the input. Returns 0 or a fatal code. */
static int skip_values(struct lin_runlog *r, struct lin_err *err,
		       uint64_t rec_off, uint64_t left, uint64_t drop)
{
	int rc;

	while (left || drop) {
		size_t avail = r->end - r->start;
		size_t hl;
		uint64_t n;

		if (drop) {
			size_t k = avail < drop ? avail : (size_t)drop;

			r->start += k;
			drop -= k;
			if (!drop)
				continue;
			goto more;
		}
		if (!avail)
			goto more;
		switch (classify(r->buf + r->start, avail, &hl, &n)) {
		case H_BAD:
			return rfail(r, err, LIN_ECORRUPT, r->base + r->start,
				     "invalid MessagePack byte 0x%02x",
				     r->buf[r->start]);
		case H_NEED:
			goto more;
		case H_SCALAR:
		case H_BLOB:
			drop = n;
			break;
		case H_MAP:
			n *= 2;
			/* fall through */
		case H_ARRAY:
			/* saturate: such a count only ends with the input */
			left = n > UINT64_MAX - left ? UINT64_MAX : left + n;
			break;
		}
		r->start += hl;
		left--;
		continue;
more:
		rc = need_more(r, err);
		if (rc > 0)
			continue;
		if (rc == 0 || rc == LIN_ETRUNC)
			return truncated(r, err, rec_off, rc);
		return rc;
	}
	return 0;
}

/* ---- decoding validated objects ------------------------------------- */

enum vtype { VT_NIL, VT_BOOL, VT_UINT, VT_INT, VT_FLOAT, VT_STR, VT_BIN,
	     VT_ARRAY, VT_MAP, VT_EXT };

struct val {
	enum vtype t;
	const unsigned char *p; /* STR, BIN, EXT: the payload */
	size_t n;               /* STR, BIN, EXT: bytes; ARRAY, MAP: entries */
	int8_t ext;             /* EXT: type */
	uint64_t u;             /* UINT, BOOL */
	int64_t i;              /* INT (negative values only) */
	double f;               /* FLOAT */
};

static inline const unsigned char *blob(const unsigned char *p, size_t hl,
					size_t n, enum vtype t, struct val *v)
{
	v->t = t;
	v->p = p + hl;
	v->n = n;
	return p + hl + n;
}

static inline const unsigned char *ext(const unsigned char *p, size_t hl,
				       size_t n, struct val *v)
{
	v->ext = (int8_t)p[hl - 1];
	return blob(p, hl, n, VT_EXT, v);
}

/* Decode the value at `p`, which scan_object() has validated. Returns the
 * address after the header for ARRAY and MAP, after the value otherwise. */
static const unsigned char *peek(const unsigned char *p, struct val *v)
{
	unsigned b = p[0];
	union { uint32_t u; float f; } f32;
	union { uint64_t u; double f; } f64;

	if (b <= 0x7f) {
		v->t = VT_UINT;
		v->u = b;
		return p + 1;
	}
	if (b >= 0xe0) {
		v->t = VT_INT;
		v->i = (int8_t)b;
		return p + 1;
	}
	if (b >= 0xa0 && b <= 0xbf)
		return blob(p, 1, b & 0x1f, VT_STR, v);
	if (b <= 0x8f) {
		v->t = VT_MAP;
		v->n = b & 0x0f;
		return p + 1;
	}
	if (b <= 0x9f) {
		v->t = VT_ARRAY;
		v->n = b & 0x0f;
		return p + 1;
	}
	switch (b) {
	case 0xc2: case 0xc3:
		v->t = VT_BOOL;
		v->u = b == 0xc3;
		return p + 1;
	case 0xc4: return blob(p, 2, p[1], VT_BIN, v);
	case 0xc5: return blob(p, 3, be16(p + 1), VT_BIN, v);
	case 0xc6: return blob(p, 5, be32(p + 1), VT_BIN, v);
	case 0xc7: return ext(p, 3, p[1], v);
	case 0xc8: return ext(p, 4, be16(p + 1), v);
	case 0xc9: return ext(p, 6, be32(p + 1), v);
	case 0xca:
		f32.u = be32(p + 1);
		v->t = VT_FLOAT;
		v->f = f32.f;
		return p + 5;
	case 0xcb:
		f64.u = be64(p + 1);
		v->t = VT_FLOAT;
		v->f = f64.f;
		return p + 9;
	case 0xcc: v->t = VT_UINT; v->u = p[1]; return p + 2;
	case 0xcd: v->t = VT_UINT; v->u = be16(p + 1); return p + 3;
	case 0xce: v->t = VT_UINT; v->u = be32(p + 1); return p + 5;
	case 0xcf: v->t = VT_UINT; v->u = be64(p + 1); return p + 9;
	case 0xd0: v->t = VT_INT; v->i = (int8_t)p[1]; return p + 2;
	case 0xd1: v->t = VT_INT; v->i = (int16_t)be16(p + 1); return p + 3;
	case 0xd2: v->t = VT_INT; v->i = (int32_t)be32(p + 1); return p + 5;
	case 0xd3: v->t = VT_INT; v->i = (int64_t)be64(p + 1); return p + 9;
	case 0xd4: return ext(p, 2, 1, v);
	case 0xd5: return ext(p, 2, 2, v);
	case 0xd6: return ext(p, 2, 4, v);
	case 0xd7: return ext(p, 2, 8, v);
	case 0xd8: return ext(p, 2, 16, v);
	case 0xd9: return blob(p, 2, p[1], VT_STR, v);
	case 0xda: return blob(p, 3, be16(p + 1), VT_STR, v);
	case 0xdb: return blob(p, 5, be32(p + 1), VT_STR, v);
	case 0xdc: v->t = VT_ARRAY; v->n = be16(p + 1); return p + 3;
	case 0xdd: v->t = VT_ARRAY; v->n = be32(p + 1); return p + 5;
	case 0xde: v->t = VT_MAP; v->n = be16(p + 1); return p + 3;
	case 0xdf: v->t = VT_MAP; v->n = be32(p + 1); return p + 5;
	default: /* 0xc0; 0xc1 never passes scan_object() */
		v->t = VT_NIL;
		return p + 1;
	}
}

/* The address after the validated value at `p`. A counter suffices (no
 * stack): every container only adds to the values still to step over. */
static const unsigned char *skip(const unsigned char *p)
{
	size_t left = 1;
	struct val v;

	while (left) {
		p = peek(p, &v);
		left--;
		if (v.t == VT_ARRAY)
			left += v.n;
		else if (v.t == VT_MAP)
			left += 2 * v.n;
	}
	return p;
}

/* A whole number: 0, -1 not one, -2 out of int64 range. */
static int parse_int(const struct val *v, int64_t *out)
{
	if (v->t == VT_INT) {
		*out = v->i;
		return 0;
	}
	if (v->t != VT_UINT)
		return -1;
	if (v->u > INT64_MAX)
		return -2;
	*out = (int64_t)v->u;
	return 0;
}

/* A <time> as ns since the epoch: 0, -1 wrong type, -2 out of range,
 * -3 malformed timestamp extension. */
static int parse_time(const struct val *v, int64_t *out)
{
	const int64_t G = 1000000000;
	int64_t sec, ns;
	uint32_t nsec = 0;
	double frac;

	switch (v->t) {
	case VT_UINT:
		if (v->u > (uint64_t)(INT64_MAX / G))
			return -2;
		*out = (int64_t)v->u * G;
		return 0;
	case VT_INT:
		if (v->i < INT64_MIN / G + 1 || v->i > INT64_MAX / G)
			return -2;
		*out = v->i * G;
		return 0;
	case VT_FLOAT:
		if (!(v->f > -9.2e9 && v->f < 9.2e9))   /* also NaN */
			return -2;
		/* whole seconds apart, so that fractions survive: f * 1e9
		 * would round 1700000000.25 s to a multiple of 256 ns */
		sec = (int64_t)v->f;
		frac = (v->f - (double)sec) * 1e9;
		*out = sec * G + (int64_t)(frac + (frac < 0 ? -0.5 : 0.5));
		return 0;
	case VT_EXT:
		if (v->ext != -1)
			return -1;
		if (v->n == 4) {
			sec = be32(v->p);
		} else if (v->n == 8) {
			uint64_t x = be64(v->p);

			nsec = (uint32_t)(x >> 34);
			sec = (int64_t)(x & (((uint64_t)1 << 34) - 1));
		} else if (v->n == 12) {
			nsec = be32(v->p);
			sec = (int64_t)be64(v->p + 4);
		} else {
			return -3;
		}
		if (nsec >= G)
			return -3;
		if (__builtin_mul_overflow(sec, G, &ns) ||
		    __builtin_add_overflow(ns, (int64_t)nsec, &ns) ||
		    ns == LIN_TIME_NONE)
			return -2;
		*out = ns;
		return 0;
	default:
		return -1;
	}
}

/* The keys we know, in any kind of object. */
enum key {
	K_T, K_ID, K_RUN, K_ENTITY, K_PROJECT, K_NAME, K_JOB_TYPE, K_GROUP,
	K_HOST, K_NOTES, K_TAGS, K_STARTED_AT, K_TYPE, K_DIGEST, K_VERSION,
	K_ALIASES, K_SIZE, K_FILES, K_DESCRIPTION, K_METADATA, K_CREATED_AT,
	K_REF, K_AT, K_ADD, K_REMOVE, K_STATE, K_EXIT_CODE, K_ENDED_AT,
	K_RUNLOG, K_PRODUCER, K_PROGRAM, K_GIT_REMOTE, K_GIT_COMMIT, K_ARGS,
	K_SERVER_ID, K_COUNT, K_UNKNOWN = K_COUNT
};

static const char *const key_names[K_COUNT] = {
	"t", "id", "run", "entity", "project", "name", "job_type", "group",
	"host", "notes", "tags", "started_at", "type", "digest", "version",
	"aliases", "size", "files", "description", "metadata", "created_at",
	"ref", "at", "add", "remove", "state", "exit_code", "ended_at",
	"runlog", "producer", "program", "git_remote", "git_commit", "args",
	"server_id"
};

/* Candidates by length, so most keys cost one or two memcmp(). */
static enum key lookup_key(const unsigned char *s, size_t n)
{
	static const unsigned char by_len[][6] = {
		[1] = { K_T, K_COUNT },
		[2] = { K_ID, K_AT, K_COUNT },
		[3] = { K_RUN, K_REF, K_ADD, K_COUNT },
		[4] = { K_NAME, K_TYPE, K_TAGS, K_HOST, K_SIZE, K_ARGS },
		[5] = { K_GROUP, K_NOTES, K_FILES, K_STATE, K_COUNT },
		[6] = { K_DIGEST, K_ENTITY, K_REMOVE, K_RUNLOG, K_COUNT },
		[7] = { K_PROJECT, K_VERSION, K_ALIASES, K_PROGRAM, K_COUNT },
		[8] = { K_JOB_TYPE, K_METADATA, K_ENDED_AT, K_PRODUCER,
			K_COUNT },
		[9] = { K_EXIT_CODE, K_SERVER_ID, K_COUNT },
		[10] = { K_STARTED_AT, K_CREATED_AT, K_GIT_REMOTE,
			 K_GIT_COMMIT, K_COUNT },
		[11] = { K_DESCRIPTION, K_COUNT },
	};
	size_t i;

	if (n == 0 || n >= sizeof by_len / sizeof by_len[0])
		return K_UNKNOWN;
	for (i = 0; i < 6 && by_len[n][i] != K_COUNT; i++) {
		const char *k = key_names[by_len[n][i]];

		size_t j = 0;

		/* keys are short: a loop beats a call to memcmp() */
		while (j < n && k[j] == (char)s[j])
			j++;
		if (j == n)
			return (enum key)by_len[n][i];
	}
	return K_UNKNOWN;
}

/* ---- records ------------------------------------------------------- */

/* One record being decoded. Getters copy the strings they keep into the
 * arena at `cur`. The arena is sized before, from a bound, so it never
 * moves while pointers into it exist: a copy (len + 1) never exceeds the
 * string's encoding (header >= 1 byte), so all copies fit in the
 * record's size, plus `vecs` bytes for the arrays of string pointers. */
struct dec {
	struct lin_runlog *r;
	struct lin_err *err;
	const unsigned char *slot[K_COUNT]; /* value of each key, or NULL */
	const char *kind;
	uint64_t off;
	const unsigned char *rec; /* the record's first byte (at `off`) */
	size_t vecs;
	char *cur;
};

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int wrong(struct dec *d, enum key k, const char *what)
{
	return rfail(d->r, d->err, LIN_ERECORD, d->off,
		     "key '%s' of '%s' record at byte %llu must be %s",
		     key_names[k], d->kind, (unsigned long long)d->off, what);
}

static int missing(struct dec *d, enum key k)
{
	return rfail(d->r, d->err, LIN_ERECORD, d->off,
		     "'%s' record at byte %llu lacks required key '%s'",
		     d->kind, (unsigned long long)d->off, key_names[k]);
}

/* Every string kept must be UTF-8 without NUL: a NUL would cut the C
 * string short (so "mnist\0bad" became "mnist"), and other bytes make
 * names that JSON cannot show nor a query name. */
static int check_text(struct dec *d, enum key k, const struct val *v)
{
	size_t at;
	enum lin_text_problem t = lin_text_check(v->p, v->n, &at);
	unsigned long long where;

	if (t == LIN_TEXT_OK)
		return 0;
	where = (unsigned long long)(d->off + (uint64_t)(v->p - d->rec) + at);
	if (t == LIN_TEXT_NUL)
		return rfail(d->r, d->err, LIN_ERECORD, d->off,
			     "key '%s' of '%s' record at byte %llu contains "
			     "a NUL byte (at byte %llu)", key_names[k],
			     d->kind, (unsigned long long)d->off, where);
	return rfail(d->r, d->err, LIN_ERECORD, d->off,
		     "key '%s' of '%s' record at byte %llu is not valid "
		     "UTF-8 (byte 0x%02x at byte %llu)", key_names[k],
		     d->kind, (unsigned long long)d->off, v->p[at], where);
}

static int get_str(struct dec *d, enum key k, const char **out,
		   int required)
{
	const unsigned char *p = d->slot[k];
	struct val v;

	if (!p)
		return required ? missing(d, k) : 0;
	if (*p >= 0xa0 && *p <= 0xbf) {         /* fixstr, the usual */
		v.p = p + 1;
		v.n = *p & 0x1f;
	} else {
		peek(p, &v);
		if (v.t != VT_STR)
			return wrong(d, k, "a string");
	}
	v.t = VT_STR;
	TRY(check_text(d, k, &v));
	memcpy(d->cur, v.p, v.n);
	d->cur[v.n] = '\0';
	*out = d->cur;
	d->cur += v.n + 1;
	return 0;
}

static int get_strv(struct dec *d, enum key k, struct lin_strv *out)
{
	const size_t align = sizeof(char *);
	const unsigned char *q;
	struct val v, e;
	char **vec;
	size_t i;

	if (!d->slot[k])
		return 0;
	q = peek(d->slot[k], &v);
	if (v.t != VT_ARRAY)
		return wrong(d, k, "an array of strings");
	d->cur += (align - (uintptr_t)d->cur % align) % align;
	vec = (char **)(void *)d->cur;
	d->cur += v.n * sizeof(char *);
	for (i = 0; i < v.n; i++) {
		q = peek(q, &e);
		if (e.t != VT_STR)
			return wrong(d, k, "an array of strings");
		TRY(check_text(d, k, &e));
		memcpy(d->cur, e.p, e.n);
		d->cur[e.n] = '\0';
		vec[i] = d->cur;
		d->cur += e.n + 1;
	}
	out->v = (const char *const *)vec;
	out->n = v.n;
	return 0;
}

/* An integer; with `nonneg` it must be >= 0. */
static int get_int(struct dec *d, enum key k, int64_t *out, int nonneg)
{
	struct val v;
	int64_t x;
	int rc;

	if (!d->slot[k])
		return 0;
	peek(d->slot[k], &v);
	rc = parse_int(&v, &x);
	if (rc == -2)
		return wrong(d, k, "within the 64-bit integer range");
	if (rc || (nonneg && x < 0))
		return wrong(d, k, nonneg ? "a non-negative integer"
				   : "an integer");
	*out = x;
	return 0;
}

static int get_time(struct dec *d, enum key k, int64_t *out)
{
	struct val v;
	int rc;

	if (!d->slot[k])
		return 0;
	peek(d->slot[k], &v);
	rc = parse_time(&v, out);
	if (rc == -1)
		return wrong(d, k, "a time (timestamp or seconds)");
	if (rc == -2)
		return wrong(d, k, "a time within the 64-bit nanosecond range");
	if (rc == -3)
		return wrong(d, k, "a valid MessagePack timestamp");
	return 0;
}

/* `version`: an integer N >= 0 or a string "vN". */
static int get_version(struct dec *d, int64_t *out)
{
	const char *what = "an integer N or a string \"vN\"";
	struct val v;
	int64_t x = 0;
	size_t i;

	if (!d->slot[K_VERSION])
		return 0;
	peek(d->slot[K_VERSION], &v);
	if (v.t != VT_STR)
		return get_int(d, K_VERSION, out, 1) ? wrong(d, K_VERSION, what)
						     : 0;
	/* up to 18 digits cannot overflow int64 */
	if (v.n < 2 || v.n > 19 || v.p[0] != 'v')
		return wrong(d, K_VERSION, what);
	for (i = 1; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return wrong(d, K_VERSION, what);
		x = x * 10 + (v.p[i] - '0');
	}
	*out = x;
	return 0;
}

/* `metadata`: a map, kept as its raw MessagePack bytes (in the window,
 * which is left alone until the next call). */
/* Whether the validated value at `p` nests arrays and maps deeper than
 * `max` levels (the value itself is level 1). Stops at the first level
 * too deep, so the stack needs only max + 1 entries. */
static int nests_deeper(const unsigned char *p, unsigned max)
{
	uint64_t left[LIN_METADATA_MAX_DEPTH + 1];
	size_t sp = 1;
	struct val v;

	left[0] = 1;
	while (sp) {
		if (left[sp - 1] == 0) {
			sp--;
			continue;
		}
		left[sp - 1]--;
		p = peek(p, &v);
		if (v.t != VT_ARRAY && v.t != VT_MAP)
			continue;
		if (sp > max)
			return 1;
		if (v.n)
			left[sp++] = v.t == VT_MAP ? 2 * (uint64_t)v.n : v.n;
	}
	return 0;
}

static int get_metadata(struct dec *d, const void **out, size_t *len)
{
	struct val v;

	if (!d->slot[K_METADATA])
		return 0;
	peek(d->slot[K_METADATA], &v);
	if (v.t != VT_MAP)
		return wrong(d, K_METADATA, "a map");
	/* The store keeps metadata inside other values, which msgpack-c
	 * unpacks only to a depth of 32: deeper metadata was indexed as a
	 * version that then could not be read (lost without a word). */
	if (nests_deeper(d->slot[K_METADATA], LIN_METADATA_MAX_DEPTH))
		return wrong(d, K_METADATA, "a map nested at most "
			     LIN_STR(LIN_METADATA_MAX_DEPTH) " levels deep");
	*out = d->slot[K_METADATA];
	*len = (size_t)(skip(d->slot[K_METADATA]) - d->slot[K_METADATA]);
	return 0;
}


/* Fill `rec` from the slots, per kind. */
static int fill_record(struct dec *d, struct lin_record *rec)
{
	switch (rec->kind) {
	case LIN_REC_RUN:
		TRY(get_str(d, K_ID, &rec->run_id, 1));
		TRY(get_str(d, K_ENTITY, &rec->entity, 0));
		TRY(get_str(d, K_PROJECT, &rec->project, 0));
		TRY(get_str(d, K_NAME, &rec->name, 0));
		TRY(get_str(d, K_JOB_TYPE, &rec->job_type, 0));
		TRY(get_str(d, K_GROUP, &rec->group, 0));
		TRY(get_str(d, K_HOST, &rec->host, 0));
		TRY(get_str(d, K_NOTES, &rec->notes, 0));
		TRY(get_strv(d, K_TAGS, &rec->tags));
		TRY(get_time(d, K_STARTED_AT, &rec->started_at));
		TRY(get_str(d, K_PROGRAM, &rec->program, 0));
		TRY(get_str(d, K_GIT_REMOTE, &rec->git_remote, 0));
		TRY(get_str(d, K_GIT_COMMIT, &rec->git_commit, 0));
		TRY(get_strv(d, K_ARGS, &rec->args));
		break;
	case LIN_REC_LOG:
		TRY(get_str(d, K_RUN, &rec->run_id, 0));
		TRY(get_str(d, K_ENTITY, &rec->entity, 0));
		TRY(get_str(d, K_PROJECT, &rec->project, 0));
		TRY(get_str(d, K_TYPE, &rec->type, 1));
		TRY(get_str(d, K_NAME, &rec->coll, 1));
		TRY(get_str(d, K_DIGEST, &rec->digest, 1));
		TRY(get_version(d, &rec->version));
		TRY(get_strv(d, K_ALIASES, &rec->aliases));
		TRY(get_int(d, K_SIZE, &rec->size, 1));
		TRY(get_int(d, K_FILES, &rec->files, 1));
		TRY(get_str(d, K_DESCRIPTION, &rec->description, 0));
		TRY(get_metadata(d, &rec->metadata, &rec->metadata_len));
		TRY(get_time(d, K_CREATED_AT, &rec->at));
		TRY(get_str(d, K_SERVER_ID, &rec->server_id, 0));
		break;
	case LIN_REC_USE:
		TRY(get_str(d, K_RUN, &rec->run_id, 0));
		TRY(get_str(d, K_ENTITY, &rec->entity, 0));
		TRY(get_str(d, K_PROJECT, &rec->project, 0));
		TRY(get_str(d, K_REF, &rec->ref, 1));
		TRY(get_str(d, K_TYPE, &rec->type, 0));
		TRY(get_str(d, K_DIGEST, &rec->digest, 0));
		TRY(get_time(d, K_AT, &rec->at));
		break;
	case LIN_REC_ALIAS:
		TRY(get_str(d, K_REF, &rec->ref, 1));
		TRY(get_strv(d, K_ADD, &rec->add));
		TRY(get_strv(d, K_REMOVE, &rec->remove));
		TRY(get_time(d, K_AT, &rec->at));
		break;
	case LIN_REC_FINISH:
		TRY(get_str(d, K_RUN, &rec->run_id, 0));
		TRY(get_str(d, K_ENTITY, &rec->entity, 0));
		TRY(get_str(d, K_PROJECT, &rec->project, 0));
		TRY(get_str(d, K_STATE, &rec->state, 0));
		TRY(get_int(d, K_EXIT_CODE, &rec->exit_code, 0));
		TRY(get_time(d, K_ENDED_AT, &rec->at));
		break;
	}
	return 0;
}

/* Check a header's `runlog` value (EFORMAT/EVERSION as for open). */
static int check_version(struct lin_runlog *r, struct lin_err *err,
			 const unsigned char *vp, uint64_t off)
{
	struct val v;
	int64_t ver;

	if (!vp)
		return rfail(r, err, LIN_EFORMAT, off, "not a runlog file: "
			     "header at byte %llu has no key 'runlog'",
			     (unsigned long long)off);
	peek(vp, &v);
	if (parse_int(&v, &ver) == -1)
		return rfail(r, err, LIN_EFORMAT, off, "not a runlog file: "
			     "header key 'runlog' must be an integer");
	if (v.t == VT_UINT && v.u > LIN_RUNLOG_VERSION)
		return rfail(r, err, LIN_EVERSION, off,
			     "runlog version %llu is newer than supported "
			     "version %d", (unsigned long long)v.u,
			     LIN_RUNLOG_VERSION);
	if (ver < 1)
		return rfail(r, err, LIN_EFORMAT, off, "not a runlog file: "
			     "invalid runlog version %lld", (long long)ver);
	return 0;
}

/* Collect the values of the known string keys of the map at `p` into
 * d->slot (nil counts as absent; a later duplicate wins). `strict` makes
 * a non-string key an error; otherwise such pairs are ignored. */
static int collect(struct dec *d, const unsigned char *p, int strict)
{
	struct val m, k;
	size_t i;

	memset(d->slot, 0, sizeof d->slot);
	d->vecs = 0;
	p = peek(p, &m);
	for (i = 0; i < m.n; i++) {
		const unsigned char *vp;
		enum key id;

		if (*p >= 0xa0 && *p <= 0xbf) { /* fixstr, the usual */
			k.p = p + 1;
			k.n = *p & 0x1f;
			vp = k.p + k.n;
		} else {
			vp = peek(p, &k);
			if (k.t != VT_STR) {
				if (strict)
					return rfail(d->r, d->err,
						LIN_ERECORD, d->off,
						"record at byte %llu has a "
						"key that is not a string",
						(unsigned long long)d->off);
				p = skip(skip(p));
				continue;
			}
		}
		id = lookup_key(k.p, k.n);
		if (id != K_UNKNOWN) {
			d->slot[id] = *vp == 0xc0 ? NULL : vp;
			if ((*vp & 0xf0) == 0x90 || *vp == 0xdc ||
			    *vp == 0xdd) {
				struct val a;

				peek(vp, &a);
				d->vecs += (a.n + 1) * sizeof(char *);
			}
		}
		if (*vp <= 0x7f)                /* skip(), short cuts */
			p = vp + 1;
		else if (*vp >= 0xa0 && *vp <= 0xbf)
			p = vp + 1 + (*vp & 0x1f);
		else
			p = skip(vp);
	}
	return 0;
}

/* Decode the validated object at `p` (stream offset `off`). Returns 1
 * with `rec` filled, 0 for an object to pass over (unknown kind, or the
 * header of a concatenated file), or a negative code. */
static int decode_record(struct lin_runlog *r, const unsigned char *p,
			 size_t len, uint64_t off, struct lin_record *rec,
			 struct lin_err *err)
{
	static const char *const kinds[] = {
		[LIN_REC_RUN] = "run", [LIN_REC_LOG] = "log",
		[LIN_REC_USE] = "use", [LIN_REC_ALIAS] = "alias",
		[LIN_REC_FINISH] = "finish"
	};
	struct dec d;
	struct val t;
	size_t i;

	d.r = r;
	d.err = err;
	d.off = off;
	d.rec = p;
	d.kind = NULL;
	if (!is_map_marker(*p))
		return rfail(r, err, LIN_ERECORD, off,
			     "record at byte %llu is not a map",
			     (unsigned long long)off);
	TRY(collect(&d, p, 1));
	if (!d.slot[K_T]) {
		/* the header of a second file joined on with cat: pass
		 * over it, unless it is of a newer version */
		if (d.slot[K_RUNLOG]) {
			int64_t ver;

			peek(d.slot[K_RUNLOG], &t);
			if (t.t == VT_UINT && t.u > LIN_RUNLOG_VERSION)
				return check_version(r, err, d.slot[K_RUNLOG],
						     off);
			if (parse_int(&t, &ver) == 0 && ver >= 1)
				return 0;
		}
		return rfail(r, err, LIN_ERECORD, off,
			     "record at byte %llu has no key 't'",
			     (unsigned long long)off);
	}
	peek(d.slot[K_T], &t);
	if (t.t != VT_STR)
		return rfail(r, err, LIN_ERECORD, off,
			     "key 't' of record at byte %llu must be a string",
			     (unsigned long long)off);
	lin_record_clear(rec);
	for (i = 1; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strlen(kinds[i]) == t.n && !memcmp(kinds[i], t.p, t.n))
			break;
	if (i == sizeof kinds / sizeof kinds[0]) {
		r->skipped++;
		return 0;
	}
	rec->kind = (enum lin_rec_kind)i;
	rec->offset = off;
	d.kind = kinds[i];

	if (LIN_GROW(r->arena, r->acap, len + d.vecs, 0))
		return rfail(r, err, LIN_ENOMEM, off, "out of memory");
	d.cur = r->arena;
	TRY(fill_record(&d, rec));
	return 1;
}

/* ---- public reader API --------------------------------------------- */

/* Read the header object at the start of the stream. */
static int read_header(struct lin_runlog *r, struct lin_err *err)
{
	struct dec d;
	struct val v;
	const unsigned char *p;
	size_t len;
	int rc;

	while (r->end == r->start) {
		rc = need_more(r, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return rfail(r, err, LIN_EFORMAT, 0,
				     "not a runlog file: the file is empty");
	}
	p = r->buf + r->start;
	/* judged by the first byte, so that any file that is not a runlog
	 * (text, images, ...) gets this message, not a parse error */
	if (!is_map_marker(*p))
		return rfail(r, err, LIN_EFORMAT, 0, "not a runlog file: "
			     "the first object is not a map");
	rc = scan_object(r, err, &len);
	if (rc < 0)
		return rc;
	p = r->buf + r->start;
	d.r = r;
	d.err = err;
	d.off = 0;
	collect(&d, p, 0);
	TRY(check_version(r, err, d.slot[K_RUNLOG], 0));
	if (d.slot[K_PRODUCER]) {
		peek(d.slot[K_PRODUCER], &v);
		if (v.t != VT_STR)
			return rfail(r, err, LIN_EFORMAT, 0, "invalid runlog "
				     "header: key 'producer' must be a "
				     "string");
		r->producer = strndup((const char *)v.p, v.n);
		if (!r->producer)
			return rfail(r, err, LIN_ENOMEM, 0, "out of memory");
	}
	if (d.slot[K_CREATED_AT]) {
		peek(d.slot[K_CREATED_AT], &v);
		if (parse_time(&v, &r->created_at))
			return rfail(r, err, LIN_EFORMAT, 0, "invalid runlog "
				     "header: key 'created_at' must be a "
				     "valid time");
	}
	r->start += len;
	return 0;
}

/* Zero fields of caller limits take the defaults. */
static void set_limits(struct lin_runlog_limits *l,
		       const struct lin_runlog_limits *in)
{
	lin_runlog_limits_default(l);
	if (!in)
		return;
	if (in->max_record)
		l->max_record = in->max_record;
	if (in->max_string)
		l->max_string = in->max_string;
	if (in->max_items)
		l->max_items = in->max_items;
	if (in->max_depth)
		l->max_depth = in->max_depth;
	if (in->max_inflated)
		l->max_inflated = in->max_inflated;
}

/* Open `path` (or read `src` when it is not NULL, naming it `path`). */
static int runlog_open(struct lin_runlog **out, const char *path,
		       const struct lin_stream *src,
		       const struct lin_runlog_limits *limits,
		       struct lin_err *err)
{
	struct lin_runlog *r;
	ssize_t k;
	int rc;

	*out = NULL;
	lin_err_clear(err);
	r = calloc(1, sizeof *r);
	if (!r || !(r->path = strdup(path))) {
		free(r);
		lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET, "out of memory");
		lin_err_path(err, path);
		return LIN_ENOMEM;
	}
	r->fd = -1;
	r->created_at = LIN_TIME_NONE;
	set_limits(&r->lim, limits);
	r->cap = WIN_INIT;
	r->maxcap = r->lim.max_record > WIN_INIT ? r->lim.max_record
						 : WIN_INIT;
	r->acap = 4096;
	r->buf = malloc(r->cap);
	r->in = malloc(RCHUNK);
	r->arena = malloc(r->acap);
	r->stack = malloc(((size_t)r->lim.max_depth + 1) * sizeof *r->stack);
	if (!r->buf || !r->in || !r->arena || !r->stack) {
		rc = rfail(r, err, LIN_ENOMEM, LIN_NO_OFFSET, "out of memory");
		goto fail;
	}
	if (src)
		r->src = *src;
	else
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!src && r->fd < 0) {
		int e = errno;

		rc = rfail(r, err, LIN_EIO, LIN_NO_OFFSET, "cannot open: %s",
			   strerror(e));
		if (err)
			err->sys = e;
		goto fail;
	}
	/* the first chunk decides: gzip by magic bytes, never by name */
	k = raw_read(r, r->in, RCHUNK, err);
	if (k < 0) {
		rc = (int)k;
		goto fail;
	}
	r->in_len = (size_t)k;
	if (k >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b) {
		r->gz = 1;
		r->in_len = 0;
		/* 16 + 15: gzip wrapper only, largest window */
		if (inflateInit2(&r->z, 16 + 15) != Z_OK) {
			rc = rfail(r, err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
			goto fail;
		}
		r->zinit = 1;
		r->z.next_in = r->in;
		r->z.avail_in = (uInt)k;
	}
	rc = read_header(r, err);
	if (rc)
		goto fail;
	*out = r;
	return 0;
fail:
	lin_err_path(err, path);
	lin_runlog_close(r);
	return rc;
}

/* A record broke a limit on strings, collections, nesting or size (err
 * says which): step over it without keeping it, and report it as one
 * skipped record, so the records after it are read. When stepping over
 * it fails (the input ends inside it, damage), that error is the next
 * call's. */
static int skip_record(struct lin_runlog *r, struct lin_err *err)
{
	uint64_t rec_off = r->base + r->start;
	size_t n = strlen(err->msg);
	int rc;

	r->skip_pending = 0;
	/* The limit can be hit past the window's end (a string's payload
	 * not read yet): those bytes are dropped as they come. */
	size_t avail = r->end - r->start;
	uint64_t drop = 0;
	if (r->skip_pos > avail) {
		drop = r->skip_pos - avail;
		r->start = r->end;
	} else {
		r->start += r->skip_pos;
	}
	rc = skip_values(r, &r->fatal_err, rec_off, r->skip_left, drop);
	if (rc < 0)
		r->fatal = rc;
	err->code = LIN_ERECORD;
	snprintf(err->msg + n, sizeof err->msg - n,
		 "; the record at byte %llu is skipped",
		 (unsigned long long)rec_off);
	return LIN_ERECORD;
}

int lin_runlog_open(struct lin_runlog **out, const char *path,
		    const struct lin_runlog_limits *limits,
		    struct lin_err *err)
{
	return runlog_open(out, path, NULL, limits, err);
}

int lin_runlog_open_stream(struct lin_runlog **out, const char *name,
			   const struct lin_stream *src,
			   const struct lin_runlog_limits *limits,
			   struct lin_err *err)
{
	return runlog_open(out, name, src, limits, err);
}

/* A MessagePack value of one byte: fixint, nil, false, true. */
static int one_byte_value(unsigned char b)
{
	return b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3;
}

/* Whether the object at `p` (scanned whole) can be neither a record nor
 * a joined file's header: not a map, or a map with neither key 't' nor
 * key 'runlog'. */
static int not_a_record(const unsigned char *p)
{
	struct val m, k;

	if (!is_map_marker(*p))
		return 1;
	p = peek(p, &m);
	for (size_t i = 0; i < m.n; i++) {
		peek(p, &k);
		if (k.t == VT_STR && ((k.n == 1 && k.p[0] == 't') ||
				      (k.n == 6 && !memcmp(k.p, "runlog", 6))))
			return 0;
		p = skip(skip(p));
	}
	return 1;
}

/* The object just passed over (at stream offset `first`, refused with
 * `err`) is not a record at all. Such values come in stretches (a zeroed
 * or overwritten range of the file), so the ones right after it join the
 * same error: one message per damaged stretch rather than one per byte,
 * which also keeps a megabyte of zeros from costing a million formatted
 * messages. Only objects that scan whole are taken; whatever else comes
 * (a record, the end of the input, an error) is left for the next call,
 * which scans it again. Returns LIN_ERECORD. */
static int junk_stretch(struct lin_runlog *r, uint64_t first,
			struct lin_err *err)
{
	uint64_t more = 0;
	char what[sizeof err->msg];
	size_t len;

	for (;;) {
		/* one-byte values (zeros, most often) need no scan */
		while (r->start < r->end && one_byte_value(r->buf[r->start])) {
			r->start++;
			more++;
		}
		if (scan_object(r, NULL, &len) != 1 ||
		    !not_a_record(r->buf + r->start))
			break;
		r->start += len;
		more++;
	}
	r->skip_pending = 0;   /* a limit met above is met again then */
	if (more == 0)
		return LIN_ERECORD;
	memcpy(what, err->msg, sizeof what);
	if (more == 1)
		return rfail(r, err, LIN_ERECORD, first, "%s; the value after "
			     "it, to byte %llu, is no record either: skipped "
			     "with it", what,
			     (unsigned long long)(r->base + r->start));
	return rfail(r, err, LIN_ERECORD, first, "%s; the %llu values after "
		     "it, to byte %llu, are no records either: skipped as one "
		     "damaged stretch", what, (unsigned long long)more,
		     (unsigned long long)(r->base + r->start));
}

int lin_runlog_next(struct lin_runlog *r, struct lin_record *rec,
		    struct lin_err *err)
{
	struct lin_err tmp;
	int rc;

	if (!err)
		err = &tmp;
	if (r->fatal) {
		*err = r->fatal_err;
		return r->fatal;
	}
	lin_err_clear(err);
	for (;;) {
		uint64_t off;
		size_t len;

		rc = scan_object(r, err, &len);
		if (rc == LIN_ELIMIT && r->skip_pending)
			return skip_record(r, err);
		if (rc <= 0)
			break;
		off = r->base + r->start;
		rc = decode_record(r, r->buf + r->start, len, off, rec,
				   err);
		/* the bytes stay in the window until the next call, so
		 * metadata may point at them */
		r->start += len;
		if (rc == LIN_ERECORD && not_a_record(r->buf + r->start - len))
			rc = junk_stretch(r, off, err);
		if (rc != 0)
			break;
	}
	if (rc < 0 && rc != LIN_ERECORD) {
		r->fatal = rc;
		r->fatal_err = *err;
	}
	return rc;
}

const char *lin_runlog_producer(const struct lin_runlog *r)
{
	return r->producer;
}

int64_t lin_runlog_created_at(const struct lin_runlog *r)
{
	return r->created_at;
}

uint64_t lin_runlog_skipped(const struct lin_runlog *r)
{
	return r->skipped;
}

int lin_runlog_gzip(const struct lin_runlog *r)
{
	return r->gz;
}

int lin_runlog_tar_inside(const struct lin_runlog *r)
{
	/* a tar header's magic, at byte 257 of what was inflated */
	return r->gz && r->base == 0 && r->end >= 262 &&
	       memcmp(r->buf + 257, "ustar", 5) == 0;
}

uint64_t lin_runlog_bytes(const struct lin_runlog *r)
{
	return r->base + r->start;
}

void lin_runlog_close(struct lin_runlog *r)
{
	if (!r)
		return;
	if (r->zinit)
		inflateEnd(&r->z);
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->buf);
	free(r->in);
	free(r->arena);
	free(r->stack);
	free(r->producer);
	free(r);
}
