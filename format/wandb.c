/* wandb.c - reader for W&B .wandb transaction logs: LevelDB-style block
 * framing, checked and reassembled here, over protobuf Records of which
 * only the four lineage kinds are decoded (docs/WANDB.md). */
#include "wandb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "json.h"
#include "pbwire.h"
#include "text.h"
#include "grow.h"

#define HEADER_LEN 7
#define CHUNK_HEADER 7
#define BLOCK LIN_WANDB_BLOCK
/* Read up to 32 blocks (1 MiB) at a time: few syscalls, and whole
 * blocks, so every chunk lies entirely inside the buffer. The buffer
 * starts at one block and doubles on each refill after a full one, so a
 * small file costs 32 KiB, not 1 MiB (and, in fuzz builds, refills are
 * exercised by inputs of a few blocks). */
#define BUF_SIZE (32 * BLOCK)

enum { FULL = 1, FIRST = 2, MIDDLE = 3, LAST = 4 };

/* crc32 of the single type byte, the seed of each chunk's checksum
 * (W&B does not mask the result as LevelDB does). */
static const uLong type_seed[] = {
	0xd202ef8du, 0xa505df1bu, 0x3c0c8ea1u, 0x4b0bbe37u, 0xd56f2b94u
};

/* Record fields (wandb_internal.proto) that carry lineage. */
enum {
	F_ARTIFACT = 8, F_RUN = 17, F_EXIT = 18, F_USE_ARTIFACT = 25
};

struct lin_wandb {
	int fd;
	char *path;
	struct lin_stream src;  /* read from here instead when src.read */
	uint64_t src_pos;       /* bytes of the stream read so far */
	unsigned char src_head[HEADER_LEN]; /* read again after open() */

	unsigned char *buf;     /* whole blocks of the file from buf_off */
	size_t buf_len, buf_cap;
	uint64_t buf_off;
	int eof;                /* the last read reached the end of file */

	uint64_t pos;           /* next chunk header */
	int done;               /* the next call returns 0 */
	int resync;             /* after a skip: drop MIDDLE/LAST quietly */
	uint64_t records;

	/* reassembly of FIRST/MIDDLE.../LAST */
	int in_rec;
	int keep;               /* buffering (lineage or not known yet) */
	int decided;            /* the record's kind is known */
	size_t scan;            /* kind scan resumes here in rec */
	uint64_t rec_off;
	uint64_t rec_total;     /* bytes of the record so far */
	unsigned char *rec;
	size_t rec_len, rec_cap;
	size_t max_record;

	/* decoded strings and string arrays of the current record */
	char *arena;
	size_t arena_len, arena_cap;
	const char **vec;
	size_t vec_len, vec_cap;

	/* an artifact's metadata, converted from JSON */
	msgpack_sbuffer meta;
	msgpack_packer meta_pk;

	/* the file's run, applied to records that name none */
	char *run_id;
	char *fallback;
	int run_bad;            /* the latest RunRecord was skipped: records
				   that name no run get none */
	int64_t started_at;
};

int lin_wandb_sniff(const void *head, size_t n)
{
	static const unsigned char magic[6] = {':', 'W', '&', 'B', 0xe1, 0xbe};

	/* The version byte is not checked: a newer file is still a .wandb
	 * file, and open() then says which version it is. */
	return n >= HEADER_LEN && memcmp(head, magic, sizeof magic) == 0;
}

static int fail(struct lin_wandb *w, struct lin_err *err, int code,
		uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct lin_wandb *w, struct lin_err *err, int code,
		uint64_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lin_err_vset(err, code, off, fmt, ap);
	va_end(ap);
	lin_err_path(err, w->path);
	return code;
}

/* pread(), or for a stream (read once, in order) the bytes at `off`,
 * passing over those before it: the framing only ever moves forward.
 * Returns the count, 0 at the end, or -1 with `msg` set. */
static ssize_t read_at(struct lin_wandb *w, unsigned char *p, size_t n,
		       uint64_t off, char *msg, size_t mlen)
{
	ssize_t k;

	if (!w->src.read) {
		do
			k = pread(w->fd, p, n, (off_t)off);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			snprintf(msg, mlen, "%s", strerror(errno));
		return k;
	}
	if (off < w->src_pos) {
		/* only the header, which open() read, is read again */
		if (w->src_pos > HEADER_LEN) {
			snprintf(msg, mlen, "cannot go back to byte %llu of a "
				 "stream", (unsigned long long)off);
			return -1;
		}
		k = (ssize_t)(w->src_pos - off);
		if ((size_t)k > n)
			k = (ssize_t)n;
		memcpy(p, w->src_head + off, (size_t)k);
		return k;
	}
	while (w->src_pos < off) {
		uint64_t gap = off - w->src_pos;

		k = w->src.read(w->src.ctx, p, gap < n ? (size_t)gap : n, msg,
				mlen);
		if (k <= 0)
			return k;
		w->src_pos += (uint64_t)k;
	}
	k = w->src.read(w->src.ctx, p, n, msg, mlen);
	if (k > 0 && w->src_pos < HEADER_LEN)
		memcpy(w->src_head + w->src_pos, p,
		       (size_t)k < HEADER_LEN - w->src_pos ?
		       (size_t)k : HEADER_LEN - (size_t)w->src_pos);
	if (k > 0)
		w->src_pos += (uint64_t)k;
	return k;
}

/* Open `path`, or read `src` when it is not NULL (naming it `path`). */
static int wandb_open(struct lin_wandb **out, const char *path,
		      const char *fallback_run_id,
		      const struct lin_stream *src, struct lin_err *err)
{
	struct lin_wandb *w;
	unsigned char h[HEADER_LEN];
	char msg[256];
	ssize_t got = 0;
	int rc, e;

	*out = NULL;
	lin_err_clear(err);
	w = calloc(1, sizeof *w);
	if (!w)
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	w->fd = -1;
	msgpack_sbuffer_init(&w->meta);
	msgpack_packer_init(&w->meta_pk, &w->meta, msgpack_sbuffer_write);
	w->max_record = LIN_WANDB_MAX_RECORD;
	w->started_at = LIN_TIME_NONE;
	w->path = strdup(path);
	w->buf_cap = BLOCK;
	w->buf = malloc(w->buf_cap);
	if (fallback_run_id && *fallback_run_id)
		w->fallback = strdup(fallback_run_id);
	if (!w->path || !w->buf || (fallback_run_id && *fallback_run_id &&
				    !w->fallback)) {
		rc = lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				 "out of memory");
		goto fail;
	}
	if (src) {
		w->src = *src;
	} else {
		w->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (w->fd < 0) {
			snprintf(msg, sizeof msg, "%s", strerror(errno));
			goto io;
		}
		(void)posix_fadvise(w->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	while ((size_t)got < sizeof h) {
		ssize_t n = read_at(w, h + got, sizeof h - (size_t)got,
				    (uint64_t)got, msg, sizeof msg);
		if (n < 0)
			goto io;
		if (n == 0)
			break;
		got += n;
	}
	if (!lin_wandb_sniff(h, (size_t)got)) {
		rc = fail(w, err, LIN_EFORMAT, 0, "not a .wandb file (no "
			  "':W&B' header)");
		goto fail;
	}
	if (h[6] != 0) {
		rc = fail(w, err, LIN_EVERSION, 6, ".wandb version %u; this "
			  "reader supports version 0", h[6]);
		goto fail;
	}
	w->pos = HEADER_LEN;
	*out = w;
	return 0;
io:
	e = errno;
	rc = fail(w, err, LIN_EIO, LIN_NO_OFFSET, "cannot read: %s", msg);
	if (err && !src)
		err->sys = e;
fail:
	lin_wandb_close(w);
	return rc;
}

int lin_wandb_open(struct lin_wandb **out, const char *path,
		   const char *fallback_run_id, struct lin_err *err)
{
	return wandb_open(out, path, fallback_run_id, NULL, err);
}

int lin_wandb_open_stream(struct lin_wandb **out, const char *name,
			  const char *fallback_run_id,
			  const struct lin_stream *src, struct lin_err *err)
{
	return wandb_open(out, name, fallback_run_id, src, err);
}

void lin_wandb_close(struct lin_wandb *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	free(w->buf);
	free(w->rec);
	free(w->arena);
	free(w->vec);
	free(w->run_id);
	free(w->fallback);
	msgpack_sbuffer_destroy(&w->meta);
	free(w);
}

uint64_t lin_wandb_bytes(const struct lin_wandb *w)
{
	return w->pos;
}

uint64_t lin_wandb_records(const struct lin_wandb *w)
{
	return w->records;
}

void lin_wandb_set_max_record(struct lin_wandb *w, size_t bytes)
{
	w->max_record = bytes ? bytes : LIN_WANDB_MAX_RECORD;
}

/* ---- framing ---------------------------------------------------------- */

static size_t block_left(uint64_t off)
{
	return BLOCK - (size_t)(off % BLOCK);
}

/* Make the block holding w->pos present in the buffer, as far as the
 * file goes; *avail is the number of bytes from pos to the end of what
 * the file has of that block. */
static int load(struct lin_wandb *w, size_t *avail, struct lin_err *err)
{
	uint64_t bstart = w->pos - w->pos % BLOCK;
	uint64_t bend = bstart + BLOCK;
	uint64_t have = w->buf_off + w->buf_len;

	*avail = 0;
	if (!(bstart >= w->buf_off &&
	      (bend <= have || (w->eof && bstart <= have)))) {
		size_t got = 0;
		/* the last fill was full: the file is large, read more */
		if (w->buf_len == w->buf_cap && w->buf_cap < BUF_SIZE) {
			unsigned char *nb = malloc(w->buf_cap * 2);
			if (!nb)
				return fail(w, err, LIN_ENOMEM, bstart,
					    "out of memory");
			free(w->buf);
			w->buf = nb;
			w->buf_cap *= 2;
		}
		w->buf_off = bstart;
		w->buf_len = 0;
		w->eof = 0;
		while (got < w->buf_cap) {
			char msg[256];
			ssize_t n = read_at(w, w->buf + got, w->buf_cap - got,
					    bstart + got, msg, sizeof msg);
			if (n < 0) {
				int e = errno;
				w->buf_len = 0;
				fail(w, err, LIN_EIO, bstart, "cannot read: %s",
				     msg);
				if (err && !w->src.read)
					err->sys = e;
				return LIN_EIO;
			}
			if (n == 0) {
				w->eof = 1;
				break;
			}
			got += (size_t)n;
		}
		w->buf_len = got;
		have = w->buf_off + w->buf_len;
	}
	if (have <= w->pos)
		*avail = 0;
	else
		*avail = (size_t)((have < bend ? have : bend) - w->pos);
	return 0;
}

/* The file ends inside the record at `start`; the next call returns 0. */
static int truncated(struct lin_wandb *w, uint64_t start,
		     struct lin_err *err)
{
	w->done = 1;
	w->in_rec = 0;
	return fail(w, err, LIN_ETRUNC, start, "file ends inside a record "
		    "that started at byte %llu (the run may still be "
		    "writing)", (unsigned long long)start);
}

/* The framing at `chunk` cannot be trusted: report `what`, drop any
 * record in progress and resume at the next block, as LevelDB does. */
static int skip_block(struct lin_wandb *w, uint64_t chunk, const char *what,
		      struct lin_err *err)
{
	uint64_t next = chunk + block_left(chunk);
	char lost[96] = "";

	if (w->in_rec)
		snprintf(lost, sizeof lost, "; the record that started at "
			 "byte %llu is lost", (unsigned long long)w->rec_off);
	w->in_rec = 0;
	w->resync = 1;
	w->pos = next;
	return fail(w, err, LIN_EDAMAGE, chunk, "%s in chunk at byte %llu; "
		    "skipped to byte %llu%s", what, (unsigned long long)chunk,
		    (unsigned long long)next, lost);
}

/* Top-level Record fields that are non-lineage members of its oneof:
 * once one is seen the record cannot carry lineage. */
static int other_kind(uint32_t num)
{
	return (num >= 2 && num <= 13 && num != F_ARTIFACT) ||
	       (num >= 20 && num <= 24) || num == 100;
}

static int lineage_kind(uint32_t num)
{
	return num == F_ARTIFACT || num == F_RUN || num == F_EXIT ||
	       num == F_USE_ARTIFACT;
}

/* Classify a record from its first bytes, resuming at w->scan: sets
 * decided/keep once a oneof member's key has been seen. Malformed bytes
 * decide "keep", so that the whole record is reported at its end. */
static void classify_prefix(struct lin_wandb *w)
{
	struct lin_pb c;
	struct lin_pb_field f;
	uint64_t key;
	int rc;

	size_t start = w->scan;

	if (start >= w->rec_len)  /* nothing new (w->rec may be NULL) */
		return;
	lin_pb_init(&c, w->rec + start, w->rec_len - start);
	while ((rc = lin_pb_next(&c, &f)) == 1) {
		w->scan = start + lin_pb_pos(&c);
		if (lineage_kind(f.num) || other_kind(f.num)) {
			w->decided = 1;
			w->keep = lineage_kind(f.num);
			return;
		}
	}
	if (rc == LIN_ETRUNC && lin_pb_varint(&c, &key) == 0) {
		/* The field runs on into the next chunk; its key is here. */
		uint32_t num = (uint32_t)(key >> 3);
		if (lineage_kind(num) || other_kind(num)) {
			w->decided = 1;
			w->keep = lineage_kind(num);
		}
		return;
	}
	if (rc == LIN_ECORRUPT)
		w->decided = 1;
}

/* Add one fragment to the record in progress. */
static int append(struct lin_wandb *w, const unsigned char *p, size_t n,
		  struct lin_err *err)
{
	w->rec_total += n;
	if (!w->keep)
		return 0;
	/* Until the kind is known the buffer may pass the limit by one
	 * chunk: most records skipped undecoded never reach the check. */
	if (w->decided && w->rec_total > w->max_record)
		goto too_big;
	if (w->rec_cap - w->rec_len < n &&
	    LIN_GROW(w->rec, w->rec_cap, w->rec_len + n, 65536))
		return fail(w, err, LIN_ENOMEM, w->rec_off, "out of memory");
	if (n) {  /* an empty chunk: w->rec may still be NULL */
		memcpy(w->rec + w->rec_len, p, n);
		w->rec_len += n;
	}
	if (!w->decided) {
		classify_prefix(w);
		if (!w->keep)
			w->rec_len = 0;
		else if (w->rec_total > w->max_record)
			goto too_big;
	}
	return 0;
too_big:
	w->keep = 0;
	w->decided = 1;
	w->rec_len = 0;
	return fail(w, err, LIN_EDAMAGE, w->rec_off, "record that started at "
		    "byte %llu is larger than the limit of %zu bytes; skipped",
		    (unsigned long long)w->rec_off, w->max_record);
}

static int decode(struct lin_wandb *w, const unsigned char *p, size_t n,
		  uint64_t off, struct lin_record *rec, struct lin_err *err);

static const char *type_name(unsigned t)
{
	static const char *const names[] = {"", "FULL", "FIRST", "MIDDLE",
					    "LAST"};
	return names[t];
}

/* A sound chunk of `type` at byte `chunk`, its `len` bytes at `data`:
 * a FULL record decoded, a FIRST one started, a MIDDLE or LAST one
 * added to the record being read (the LAST one decoded). Returns 0 to
 * read on, or what lin_wandb_next returns (1: `rec` filled; an error). */
static int take_chunk(struct lin_wandb *w, unsigned type,
		      const unsigned char *data, size_t len, uint64_t chunk,
		      struct lin_record *rec, struct lin_err *err)
{
	int rc;

	switch (type) {
	case FULL:
		w->resync = 0;
		w->records++;
		return decode(w, data, len, chunk, rec, err);
	case FIRST:
		w->resync = 0;
		w->in_rec = 1;
		w->keep = 1;
		w->decided = 0;
		w->scan = 0;
		w->rec_off = chunk;
		w->rec_total = 0;
		w->rec_len = 0;
		rc = append(w, data, len, err);
		return rc < 0 ? rc : 0;
	default:
		break;
	}
	/* MIDDLE or LAST */
	if (!w->in_rec) {
		if (w->resync) {
			if (type == LAST)
				w->resync = 0;
			return 0;
		}
		/* Its siblings would only repeat the report. */
		w->resync = type == MIDDLE;
		return fail(w, err, LIN_EDAMAGE, chunk, "%s chunk at byte %llu "
			    "without a FIRST chunk; dropped", type_name(type),
			    (unsigned long long)chunk);
	}
	rc = append(w, data, len, err);
	if (type == LAST) {
		w->in_rec = 0;
		w->records++;
	}
	if (rc < 0)
		return rc;
	if (type == MIDDLE || !w->keep)
		return 0;
	return decode(w, w->rec, w->rec_len, w->rec_off, rec, err);
}

int lin_wandb_next(struct lin_wandb *w, struct lin_record *rec,
		   struct lin_err *err)
{
	size_t avail, left;
	int rc;

	lin_err_clear(err);
	for (;;) {
		if (w->done)
			return 0;
		left = block_left(w->pos);
		if ((rc = load(w, &avail, err)) < 0)
			return rc;
		if (left < CHUNK_HEADER) {
			/* A block's tail too short for a header is padding. */
			w->pos += avail < left ? avail : left;
			if (avail < left)
				goto at_eof;
			continue;
		}
		if (avail == 0)
			goto at_eof;
		const unsigned char *h = w->buf + (w->pos - w->buf_off);
		uint64_t chunk = w->pos;
		if (avail < CHUNK_HEADER) {
			int zeros = 1;
			for (size_t i = 0; i < avail; i++)
				zeros &= h[i] == 0;
			if (zeros && !w->in_rec) {
				w->pos += avail;
				goto at_eof;
			}
			return truncated(w, w->in_rec ? w->rec_off : chunk,
					 err);
		}
		uint32_t crc = (uint32_t)h[0] | (uint32_t)h[1] << 8 |
			       (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
		size_t len = (size_t)h[4] | (size_t)h[5] << 8;
		unsigned type = h[6];
		const unsigned char *data = h + CHUNK_HEADER;

		if (type == 0 && len == 0) {
			/* A zero-filled (preallocated) area: nothing more in
			 * this block. Trailing zeros end the file cleanly. */
			w->pos = chunk + left;
			if (w->in_rec) {
				w->in_rec = 0;
				w->resync = 1;
				return fail(w, err, LIN_EDAMAGE, w->rec_off,
					    "record that started at byte %llu "
					    "is cut off by zeros at byte %llu;"
					    " skipped to byte %llu",
					    (unsigned long long)w->rec_off,
					    (unsigned long long)chunk,
					    (unsigned long long)w->pos);
			}
			continue;
		}
		if (CHUNK_HEADER + len > left) {
			char what[96];
			snprintf(what, sizeof what, "length %zu beyond the "
				 "block end (%zu bytes left)", len,
				 left - CHUNK_HEADER);
			return skip_block(w, chunk, what, err);
		}
		if (CHUNK_HEADER + len > avail)
			return truncated(w, w->in_rec ? w->rec_off : chunk,
					 err);
		if (type < FULL || type > LAST) {
			char what[48];
			snprintf(what, sizeof what, "unknown type %u", type);
			return skip_block(w, chunk, what, err);
		}
		if (crc32(type_seed[type], data, (uInt)len) != crc)
			return skip_block(w, chunk, "checksum mismatch", err);

		if ((type == FULL || type == FIRST) && w->in_rec) {
			/* The chunk itself is sound: report the unfinished
			 * record and read this chunk again on the next call. */
			w->in_rec = 0;
			return fail(w, err, LIN_EDAMAGE, w->rec_off, "record "
				    "that started at byte %llu has no LAST "
				    "chunk (a %s chunk follows at byte %llu); "
				    "dropped", (unsigned long long)w->rec_off,
				    type_name(type), (unsigned long long)chunk);
		}
		w->pos = chunk + CHUNK_HEADER + len;
		if ((rc = take_chunk(w, type, data, len, chunk, rec, err)))
			return rc;
	}
at_eof:
	if (w->in_rec)
		return truncated(w, w->rec_off, err);
	w->done = 1;
	return 0;
}

/* ---- decoding --------------------------------------------------------- */

/* Room for every string of a message of n bytes: at most n bytes of text
 * plus one NUL per field (each takes two bytes at least), plus a
 * MessagePack header; so pointers into the arena never move. */
static int arena_reserve(struct lin_wandb *w, size_t n, uint64_t off,
			 struct lin_err *err)
{
	size_t need = 2 * n + 64;

	w->arena_len = 0;
	w->vec_len = 0;
	if (need <= w->arena_cap)
		return 0;
	char *a = realloc(w->arena, need);
	if (!a)
		return fail(w, err, LIN_ENOMEM, off, "out of memory");
	w->arena = a;
	w->arena_cap = need;
	return 0;
}

static const char *arena_str(struct lin_wandb *w, const unsigned char *p,
			     size_t n)
{
	char *s = w->arena + w->arena_len;

	memcpy(s, p, n);
	s[n] = '\0';
	w->arena_len += n + 1;
	return s;
}

/* A string field: NULL when empty (proto3's default is "absent");
 * LIN_ERECORD when it holds a NUL, which our C strings cannot carry, or
 * is not UTF-8 (protobuf strings must be; such a name could not be shown
 * nor asked for). A field of the wrong wire type is left alone, as
 * protobuf readers treat it as unknown. */
static int take_str(struct lin_wandb *w, const struct lin_pb_field *f,
		    const char **out, const char *what, uint64_t off,
		    struct lin_err *err)
{
	size_t at;
	enum lin_text_problem t;

	if (f->wire != LIN_PB_LEN)
		return 0;
	t = lin_text_check(f->data, f->len, &at);
	if (t == LIN_TEXT_NUL)
		return fail(w, err, LIN_ERECORD, off, "%s in the record at "
			    "byte %llu contains a NUL byte (at position %zu "
			    "of the string)", what, (unsigned long long)off,
			    at);
	if (t != LIN_TEXT_OK)
		return fail(w, err, LIN_ERECORD, off, "%s in the record at "
			    "byte %llu is not valid UTF-8 (byte 0x%02x at "
			    "position %zu of the string)", what,
			    (unsigned long long)off, f->data[at], at);
	*out = f->len ? arena_str(w, f->data, f->len) : NULL;
	return 0;
}

static int push_str(struct lin_wandb *w, const char *s, uint64_t off,
		    struct lin_err *err)
{
	if (!s)
		return 0;
	if (LIN_GROW(w->vec, w->vec_cap, w->vec_len + 1, 16) < 0)
		return fail(w, err, LIN_ENOMEM, off, "out of memory");
	w->vec[w->vec_len++] = s;
	return 0;
}

static int malformed(struct lin_wandb *w, const char *what, int rc,
		     uint64_t off, struct lin_err *err)
{
	return fail(w, err, LIN_ERECORD, off, "malformed %s in the record at "
		    "byte %llu (%s)", what, (unsigned long long)off,
		    rc == LIN_ETRUNC ? "a field runs past its end"
				     : "bad varint, key or group");
}

/* google.protobuf.Timestamp -> ns, LIN_TIME_NONE when out of range. */
static int64_t timestamp_ns(const unsigned char *p, size_t n, int *bad)
{
	struct lin_pb c;
	struct lin_pb_field f;
	int64_t sec = 0, ns = 0;
	int rc;

	lin_pb_init(&c, p, n);
	while ((rc = lin_pb_next(&c, &f)) == 1) {
		if (f.wire != LIN_PB_VARINT)
			continue;
		if (f.num == 1)
			sec = lin_pb_int64(f.u);
		else if (f.num == 2)
			ns = lin_pb_int32(f.u);
	}
	*bad = rc < 0;
	if (rc < 0 || ns < 0 || ns > 999999999 || sec > 9223372035 ||
	    sec < -9223372035)
		return LIN_TIME_NONE;
	return sec * 1000000000 + ns;
}

/* The run that records naming none belong to. */
static const char *file_run(const struct lin_wandb *w)
{
	if (w->run_bad)
		return NULL;
	return w->run_id ? w->run_id : w->fallback;
}

static int decode_run(struct lin_wandb *w, const unsigned char *p, size_t n,
		      uint64_t off, struct lin_record *r, struct lin_err *err)
{
	struct lin_pb c;
	struct lin_pb_field f;
	const char *tag;
	int rc, bad;

	lin_pb_init(&c, p, n);
	while ((rc = lin_pb_next(&c, &f)) == 1) {
		switch (f.num) {
		case 1: rc = take_str(w, &f, &r->run_id, "run_id", off, err);
			break;
		case 2: rc = take_str(w, &f, &r->entity, "entity", off, err);
			break;
		case 3: rc = take_str(w, &f, &r->project, "project", off,
				      err);
			break;
		case 6: rc = take_str(w, &f, &r->group, "run_group", off,
				      err);
			break;
		case 7: rc = take_str(w, &f, &r->job_type, "job_type", off,
				      err);
			break;
		case 8: rc = take_str(w, &f, &r->name, "display_name", off,
				      err);
			break;
		case 9: rc = take_str(w, &f, &r->notes, "notes", off, err);
			break;
		case 10:
			tag = NULL;
			rc = take_str(w, &f, &tag, "tag", off, err);
			if (rc == 0)
				rc = push_str(w, tag, off, err);
			break;
		case 13: rc = take_str(w, &f, &r->host, "host", off, err);
			break;
		case 17:
			if (f.wire != LIN_PB_LEN)
				break;
			r->started_at = timestamp_ns(f.data, f.len, &bad);
			if (bad)
				return malformed(w, "start_time", LIN_ECORRUPT,
						 off, err);
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return malformed(w, "RunRecord", rc, off, err);
	if (!r->run_id)
		return fail(w, err, LIN_ERECORD, off, "run record at byte "
			    "%llu has no run_id", (unsigned long long)off);
	r->kind = LIN_REC_RUN;
	r->tags.v = w->vec;
	r->tags.n = w->vec_len;

	/* Remember the run for the records that follow it. */
	size_t len = strlen(r->run_id);
	if (!w->run_id || strlen(w->run_id) < len) {
		char *s = realloc(w->run_id, len + 1);
		if (!s)
			return fail(w, err, LIN_ENOMEM, off, "out of memory");
		w->run_id = s;
	}
	memcpy(w->run_id, r->run_id, len + 1);
	if (r->started_at != LIN_TIME_NONE)
		w->started_at = r->started_at;
	return 1;
}

/* ArtifactManifest: count the entries and add up their sizes. */
static int manifest(const unsigned char *p, size_t n, int64_t *files,
		    int64_t *size)
{
	struct lin_pb c, e;
	struct lin_pb_field f, g;
	int64_t count = 0, total = 0;
	int rc, rc2, known = 1;

	lin_pb_init(&c, p, n);
	while ((rc = lin_pb_next(&c, &f)) == 1) {
		if (f.num != 4 || f.wire != LIN_PB_LEN)
			continue;
		count++;
		lin_pb_init(&e, f.data, f.len);
		while ((rc2 = lin_pb_next(&e, &g)) == 1) {
			if (g.num != 4 || g.wire != LIN_PB_VARINT)
				continue;
			int64_t s = lin_pb_int64(g.u);
			/* A negative size or an overflowing sum leaves the
			 * total unknown rather than wrong. */
			if (s < 0 || __builtin_add_overflow(total, s, &total))
				known = 0;
		}
		if (rc2 < 0)
			return rc2;
	}
	if (rc < 0)
		return rc;
	*files = count;
	*size = known ? total : -1;
	return 0;
}

/* The JSON text as one MessagePack str, stored in the arena. */
static void pack_str(struct lin_wandb *w, const unsigned char *p, size_t n,
		     struct lin_record *r)
{
	unsigned char *o = (unsigned char *)w->arena + w->arena_len;
	size_t h;

	if (n < 32) {
		o[0] = (unsigned char)(0xa0 | n);
		h = 1;
	} else if (n < 256) {
		o[0] = 0xd9;
		o[1] = (unsigned char)n;
		h = 2;
	} else if (n < 65536) {
		o[0] = 0xda;
		o[1] = (unsigned char)(n >> 8);
		o[2] = (unsigned char)n;
		h = 3;
	} else {
		o[0] = 0xdb;
		o[1] = (unsigned char)(n >> 24);
		o[2] = (unsigned char)(n >> 16);
		o[3] = (unsigned char)(n >> 8);
		o[4] = (unsigned char)n;
		h = 5;
	}
	memcpy(o + h, p, n);
	w->arena_len += h + n;
	r->metadata = o;
	r->metadata_len = h + n;
}

static int decode_artifact(struct lin_wandb *w, const unsigned char *p,
			   size_t n, uint64_t off, struct lin_record *r,
			   struct lin_err *err)
{
	struct lin_pb c;
	struct lin_pb_field f;
	const unsigned char *meta = NULL, *man = NULL;
	size_t meta_len = 0, man_len = 0;
	const char *alias;
	int rc, have_man = 0;

	lin_pb_init(&c, p, n);
	while ((rc = lin_pb_next(&c, &f)) == 1) {
		switch (f.num) {
		case 1: rc = take_str(w, &f, &r->run_id, "run_id", off, err);
			break;
		case 2: rc = take_str(w, &f, &r->project, "project", off,
				      err);
			break;
		case 3: rc = take_str(w, &f, &r->entity, "entity", off, err);
			break;
		case 4: rc = take_str(w, &f, &r->type, "type", off, err);
			break;
		case 5: rc = take_str(w, &f, &r->coll, "name", off, err);
			break;
		case 6: rc = take_str(w, &f, &r->digest, "digest", off, err);
			break;
		case 7: rc = take_str(w, &f, &r->description, "description",
				      off, err);
			break;
		case 8:
			if (f.wire == LIN_PB_LEN) {
				meta = f.data;
				meta_len = f.len;
			}
			break;
		case 11:
			alias = NULL;
			rc = take_str(w, &f, &alias, "alias", off, err);
			if (rc == 0)
				rc = push_str(w, alias, off, err);
			break;
		case 12:
			if (f.wire == LIN_PB_LEN) {
				man = f.data;
				man_len = f.len;
				have_man = 1;
			}
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return malformed(w, "ArtifactRecord", rc, off, err);
	if (have_man && (rc = manifest(man, man_len, &r->files,
				       &r->size)) < 0)
		return malformed(w, "artifact manifest", rc, off, err);
	if (!r->type || !r->coll || !r->digest)
		return fail(w, err, LIN_ERECORD, off, "artifact record at byte "
			    "%llu has no %s", (unsigned long long)off,
			    !r->type ? "type" : !r->coll ? "name" : "digest");
	/* W&B keeps metadata as JSON text; as a MessagePack value it is
	 * stored and shown as runlog metadata is (a JSON object in
	 * --json output). Text that is not JSON is kept as it is. */
	if (meta_len) {
		msgpack_sbuffer_clear(&w->meta);
		if (lin_json_to_msgpack(meta, meta_len, &w->meta_pk) == 0) {
			r->metadata = w->meta.data;
			r->metadata_len = w->meta.size;
		} else {
			pack_str(w, meta, meta_len, r);
		}
	}
	if (!r->run_id)
		r->run_id = file_run(w);
	r->kind = LIN_REC_LOG;
	r->aliases.v = w->vec;
	r->aliases.n = w->vec_len;
	return 1;
}

static int decode_use(struct lin_wandb *w, const unsigned char *p,
		      size_t n, uint64_t off, struct lin_record *r,
		      struct lin_err *err)
{
	struct lin_pb c;
	struct lin_pb_field f;
	int rc;

	lin_pb_init(&c, p, n);
	while ((rc = lin_pb_next(&c, &f)) == 1) {
		switch (f.num) {
		case 1: rc = take_str(w, &f, &r->server_id, "id", off, err);
			break;
		case 2: rc = take_str(w, &f, &r->type, "type", off, err);
			break;
		case 3: rc = take_str(w, &f, &r->ref, "name", off, err);
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return malformed(w, "UseArtifactRecord", rc, off, err);
	if (!r->ref)
		return fail(w, err, LIN_ERECORD, off, "use_artifact record at "
			    "byte %llu has no name", (unsigned long long)off);
	r->kind = LIN_REC_USE;
	r->run_id = file_run(w);
	return 1;
}

static int decode_exit(struct lin_wandb *w, const unsigned char *p,
		       size_t n, uint64_t off, struct lin_record *r,
		       struct lin_err *err)
{
	struct lin_pb c;
	struct lin_pb_field f;
	int32_t code = 0, runtime = 0;
	int rc, have_runtime = 0;

	lin_pb_init(&c, p, n);
	while ((rc = lin_pb_next(&c, &f)) == 1) {
		if (f.wire != LIN_PB_VARINT)
			continue;
		if (f.num == 1)
			code = lin_pb_int32(f.u);
		else if (f.num == 2) {
			runtime = lin_pb_int32(f.u);
			have_runtime = 1;
		}
	}
	if (rc < 0)
		return malformed(w, "RunExitRecord", rc, off, err);
	r->kind = LIN_REC_FINISH;
	r->run_id = file_run(w);
	r->exit_code = code;
	r->state = code == 0 ? "finished" : "failed";
	if (have_runtime && runtime >= 0 && w->started_at != LIN_TIME_NONE &&
	    __builtin_add_overflow(w->started_at,
				   (int64_t)runtime * 1000000000, &r->at))
		r->at = LIN_TIME_NONE;
	return 1;
}

/* Find the Record's oneof member; decode it when it carries lineage.
 * Returns 1 with a record, 0 for a record of another kind. */
static int decode(struct lin_wandb *w, const unsigned char *p, size_t n,
		  uint64_t off, struct lin_record *rec, struct lin_err *err)
{
	struct lin_pb c;
	struct lin_pb_field f;
	int rc;

	lin_pb_init(&c, p, n);
	while ((rc = lin_pb_next(&c, &f)) == 1) {
		if (other_kind(f.num))
			return 0;
		if (lineage_kind(f.num))
			break;
	}
	if (rc < 0)
		return malformed(w, "Record", rc, off, err);
	if (rc == 0)
		return 0;       /* no oneof member: nothing to read */
	if (f.wire != LIN_PB_LEN)
		return malformed(w, "Record", LIN_ECORRUPT, off, err);
	if ((rc = arena_reserve(w, f.len, off, err)) < 0)
		return rc;
	lin_record_clear(rec);
	rec->offset = off;
	/* the kind is known even when decoding fails (the indexer must
	 * know that a run record was skipped) */
	rec->kind = f.num == F_RUN ? LIN_REC_RUN : f.num == F_ARTIFACT ?
		    LIN_REC_LOG : f.num == F_USE_ARTIFACT ? LIN_REC_USE :
		    LIN_REC_FINISH;
	switch (f.num) {
	case F_RUN:
		rc = decode_run(w, f.data, f.len, off, rec, err);
		w->run_bad = rc < 0;
		return rc;
	case F_ARTIFACT:
		return decode_artifact(w, f.data, f.len, off, rec, err);
	case F_USE_ARTIFACT:
		return decode_use(w, f.data, f.len, off, rec, err);
	default:
		return decode_exit(w, f.data, f.len, off, rec, err);
	}
}
