/* wandb_writer.c - .wandb writer for fixtures, tests and benchmarks. */
#include "wandb_writer.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "err.h"
#include "pbwire.h"
#include "wandb.h"

struct lin_wandb_writer {
	FILE *fp;
	uint64_t off;       /* bytes written so far == file offset */
	size_t budget;      /* bytes still allowed (a cut record) */
	int failed;
	uint64_t num;       /* Record.num of the next record */
	struct lin_pbuf rec;   /* the Record being encoded */
	struct lin_pbuf sub;   /* its nested message */
	struct lin_pbuf tmp;   /* a message nested one level deeper */
};

uint32_t lin_wandb_chunk_crc(unsigned type, const void *data, size_t len)
{
	unsigned char t = (unsigned char)type;
	uLong c = crc32(0L, &t, 1);

	/* zlib takes uInt lengths; chunks are at most 32 KiB anyway. */
	while (len > 0) {
		uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
		c = crc32(c, data, n);
		data = (const unsigned char *)data + n;
		len -= n;
	}
	return (uint32_t)c;
}

/* Write bytes, honouring the budget of a cut record. */
static int emit(struct lin_wandb_writer *w, const void *p, size_t n)
{
	if (n > w->budget)
		n = w->budget;
	w->budget -= n;
	if (n && fwrite(p, 1, n, w->fp) != n)
		w->failed = 1;
	w->off += n;
	return w->failed ? LIN_EIO : 0;
}

static int emit_zeros(struct lin_wandb_writer *w, size_t n)
{
	static const unsigned char zeros[64];
	int rc = 0;

	while (n > 0 && rc == 0) {
		size_t k = n < sizeof zeros ? n : sizeof zeros;
		rc = emit(w, zeros, k);
		n -= k;
	}
	return rc;
}

static size_t block_left(uint64_t off)
{
	return LIN_WANDB_BLOCK - (size_t)(off % LIN_WANDB_BLOCK);
}

/* Zero the end of a block that cannot hold a chunk header. */
static int pad_block(struct lin_wandb_writer *w)
{
	size_t left = block_left(w->off);

	return left < LIN_WANDB_CHUNK_HEADER ? emit_zeros(w, left) : 0;
}

static int emit_chunk(struct lin_wandb_writer *w, uint32_t crc,
		      unsigned type, const void *data, size_t len)
{
	unsigned char h[LIN_WANDB_CHUNK_HEADER];
	int rc;

	h[0] = (unsigned char)crc;
	h[1] = (unsigned char)(crc >> 8);
	h[2] = (unsigned char)(crc >> 16);
	h[3] = (unsigned char)(crc >> 24);
	h[4] = (unsigned char)len;
	h[5] = (unsigned char)(len >> 8);
	h[6] = (unsigned char)type;
	if ((rc = emit(w, h, sizeof h)) < 0)
		return rc;
	return emit(w, data, len);
}

int lin_wandb_writer_open(struct lin_wandb_writer **out, FILE *fp)
{
	static const unsigned char head[LIN_WANDB_HEADER_LEN] = {
		':', 'W', '&', 'B', 0xe1, 0xbe, 0
	};
	struct lin_wandb_writer *w = calloc(1, sizeof *w);

	*out = NULL;
	if (!w)
		return LIN_ENOMEM;
	w->fp = fp;
	w->budget = SIZE_MAX;
	if (emit(w, head, sizeof head) < 0) {
		free(w);
		return LIN_EIO;
	}
	*out = w;
	return 0;
}

uint64_t lin_wandb_writer_offset(const struct lin_wandb_writer *w)
{
	size_t left = block_left(w->off);

	return left < LIN_WANDB_CHUNK_HEADER ? w->off + left : w->off;
}

int lin_wandb_write_record(struct lin_wandb_writer *w, const void *pb,
			   size_t n)
{
	const unsigned char *p = pb;
	int first = 1, last = 0, rc;

	do {
		if ((rc = pad_block(w)) < 0)
			return rc;
		size_t room = block_left(w->off) - LIN_WANDB_CHUNK_HEADER;
		size_t k = n < room ? n : room;
		unsigned type;

		last = k == n;
		type = first ? (last ? LIN_WANDB_FULL : LIN_WANDB_FIRST)
			     : (last ? LIN_WANDB_LAST : LIN_WANDB_MIDDLE);
		rc = emit_chunk(w, lin_wandb_chunk_crc(type, p, k), type, p,
				k);
		if (rc < 0)
			return rc;
		p += k;
		n -= k;
		first = 0;
	} while (!last);
	return 0;
}

int lin_wandb_write_record_cut(struct lin_wandb_writer *w, const void *pb,
			       size_t n, size_t keep)
{
	int rc;

	w->budget = keep;
	rc = lin_wandb_write_record(w, pb, n);
	w->budget = SIZE_MAX;
	return rc;
}

/* Frame the Record in w->rec, with `num` first as W&B writes it. */
static int finish_record(struct lin_wandb_writer *w)
{
	int rc;

	if (w->rec.oom || w->sub.oom || w->tmp.oom)
		rc = LIN_ENOMEM;
	else
		rc = lin_wandb_write_record(w, w->rec.p, w->rec.len);
	lin_pbuf_reset(&w->rec);
	lin_pbuf_reset(&w->sub);
	lin_pbuf_reset(&w->tmp);
	return rc;
}

/* Start a Record with its num and wrap w->sub as oneof field `field`. */
static int put_record(struct lin_wandb_writer *w, uint32_t field)
{
	lin_pbuf_uint(&w->rec, 1, ++w->num);
	lin_pbuf_bytes(&w->rec, field, w->sub.p, w->sub.len);
	return finish_record(w);
}

int lin_wandb_write_run(struct lin_wandb_writer *w,
			const struct lin_record *r)
{
	struct lin_pbuf *s = &w->sub;

	lin_pbuf_str(s, 1, r->run_id);
	lin_pbuf_str(s, 2, r->entity);
	lin_pbuf_str(s, 3, r->project);
	lin_pbuf_str(s, 6, r->group);
	lin_pbuf_str(s, 7, r->job_type);
	lin_pbuf_str(s, 8, r->name);
	lin_pbuf_str(s, 9, r->notes);
	for (size_t i = 0; i < r->tags.n; i++)
		lin_pbuf_bytes(s, 10, r->tags.v[i], strlen(r->tags.v[i]));
	lin_pbuf_str(s, 13, r->host);
	if (r->started_at != LIN_TIME_NONE) {
		/* Timestamp: floor seconds and non-negative nanos. */
		int64_t sec = r->started_at / 1000000000;
		int64_t ns = r->started_at % 1000000000;
		if (ns < 0) {
			ns += 1000000000;
			sec--;
		}
		if (sec)
			lin_pbuf_uint(&w->tmp, 1, (uint64_t)sec);
		if (ns)
			lin_pbuf_uint(&w->tmp, 2, (uint64_t)ns);
		lin_pbuf_bytes(s, 17, w->tmp.p, w->tmp.len);
	}
	return put_record(w, LIN_WANDB_F_RUN);
}

int lin_wandb_write_artifact(struct lin_wandb_writer *w,
			     const struct lin_wandb_artifact *a)
{
	struct lin_pbuf *s = &w->sub;
	struct lin_pbuf entry = {0};

	lin_pbuf_str(s, 1, a->run_id);
	lin_pbuf_str(s, 2, a->project);
	lin_pbuf_str(s, 3, a->entity);
	lin_pbuf_str(s, 4, a->type);
	lin_pbuf_str(s, 5, a->name);
	lin_pbuf_str(s, 6, a->digest);
	lin_pbuf_str(s, 7, a->description);
	lin_pbuf_str(s, 8, a->metadata_json);
	for (size_t i = 0; i < a->naliases; i++)
		lin_pbuf_bytes(s, 11, a->aliases[i], strlen(a->aliases[i]));
	if (a->manifest || a->nentries) {
		lin_pbuf_uint(&w->tmp, 1, 1);
		lin_pbuf_str(&w->tmp, 2, "wandb-storage-policy-v1");
		for (size_t i = 0; i < a->nentries; i++) {
			const struct lin_wandb_entry *e = &a->entries[i];
			lin_pbuf_reset(&entry);
			lin_pbuf_str(&entry, 1, e->path);
			lin_pbuf_str(&entry, 2, e->digest);
			if (e->size)
				lin_pbuf_uint(&entry, 4, (uint64_t)e->size);
			lin_pbuf_bytes(&w->tmp, 4, entry.p, entry.len);
		}
		if (entry.oom)
			w->tmp.oom = 1;
		lin_pbuf_release(&entry);
		lin_pbuf_bytes(s, 12, w->tmp.p, w->tmp.len);
	}
	return put_record(w, LIN_WANDB_F_ARTIFACT);
}

int lin_wandb_write_use(struct lin_wandb_writer *w, const char *id,
			const char *type, const char *name)
{
	lin_pbuf_str(&w->sub, 1, id);
	lin_pbuf_str(&w->sub, 2, type);
	lin_pbuf_str(&w->sub, 3, name);
	return put_record(w, LIN_WANDB_F_USE_ARTIFACT);
}

int lin_wandb_write_exit(struct lin_wandb_writer *w, int32_t exit_code,
			 int32_t runtime)
{
	/* int32 fields are sign-extended to 64 bits on the wire. */
	if (exit_code)
		lin_pbuf_uint(&w->sub, 1, (uint64_t)(int64_t)exit_code);
	if (runtime)
		lin_pbuf_uint(&w->sub, 2, (uint64_t)(int64_t)runtime);
	return put_record(w, LIN_WANDB_F_EXIT);
}

/* Split `total` into a varint of k bytes (k as small as possible) and
 * a value of total - k that k bytes can hold; `no_one` refuses the
 * value 1 (no message is exactly one byte long). -1 when impossible. */
static int split_len(size_t total, int no_one, size_t *k, size_t *v)
{
	for (size_t n = 1; n <= 5 && n <= total; n++) {
		size_t rest = total - n;
		if (no_one && rest == 1)
			continue;
		if (lin_pb_varint_len(rest) <= n) {
			*k = n;
			*v = rest;
			return 0;
		}
	}
	return -1;
}

int lin_wandb_write_filler(struct lin_wandb_writer *w, unsigned field,
			   size_t size)
{
	size_t t = lin_pb_tag_len(field), k, L, j, m;
	unsigned char v[LIN_PB_MAX_VARINT];

	if (field == 0 || field > LIN_PB_MAX_FIELD || size < t + 1 ||
	    split_len(size - t, 1, &k, &L) < 0 ||
	    (L > 0 && split_len(L - 1, 0, &j, &m) < 0))
		return LIN_EINVAL;
	/* Record { field: { 1: "0123..." } } with length varints made just
	 * long enough for the total to come out exact. */
	lin_pbuf_tag(&w->rec, field, LIN_PB_LEN);
	lin_pbuf_raw(&w->rec, v, lin_pb_put_varint_n(v, L, k));
	if (L > 0) {
		static const char fill[] =
			"0123456789abcdef0123456789abcdef"
			"0123456789abcdef0123456789abcdef";

		lin_pbuf_tag(&w->rec, 1, LIN_PB_LEN);
		lin_pbuf_raw(&w->rec, v, lin_pb_put_varint_n(v, m, j));
		for (size_t done = 0; done < m;) {
			size_t n = m - done < 64 ? m - done : 64;
			lin_pbuf_raw(&w->rec, fill, n);
			done += n;
		}
	}
	return finish_record(w);
}

int lin_wandb_write_chunk(struct lin_wandb_writer *w, unsigned type,
			  const void *data, size_t len, unsigned flags)
{
	uint32_t crc;
	int rc;

	if ((rc = pad_block(w)) < 0)
		return rc;
	if (type > 255 ||
	    len > block_left(w->off) - LIN_WANDB_CHUNK_HEADER)
		return LIN_EINVAL;
	crc = lin_wandb_chunk_crc(type, data, len);
	if (flags & LIN_WANDB_BAD_CRC)
		crc = ~crc;
	return emit_chunk(w, crc, type, data, len);
}

int lin_wandb_write_chunk_header(struct lin_wandb_writer *w, uint32_t crc,
				 uint16_t len, uint8_t type)
{
	unsigned char h[LIN_WANDB_CHUNK_HEADER] = {
		(unsigned char)crc, (unsigned char)(crc >> 8),
		(unsigned char)(crc >> 16), (unsigned char)(crc >> 24),
		(unsigned char)len, (unsigned char)(len >> 8), type
	};

	return emit(w, h, sizeof h);
}

int lin_wandb_write_raw(struct lin_wandb_writer *w, const void *p,
			size_t n)
{
	return emit(w, p, n);
}

int lin_wandb_write_zero_block(struct lin_wandb_writer *w)
{
	size_t left = block_left(w->off);

	return left == LIN_WANDB_BLOCK ? 0 : emit_zeros(w, left);
}

int lin_wandb_writer_close(struct lin_wandb_writer *w)
{
	int rc;

	if (!w)
		return 0;
	rc = w->failed ? LIN_EIO : 0;
	if (fflush(w->fp) != 0 || ferror(w->fp))
		rc = LIN_EIO;
	lin_pbuf_release(&w->rec);
	lin_pbuf_release(&w->sub);
	lin_pbuf_release(&w->tmp);
	free(w);
	return rc;
}
