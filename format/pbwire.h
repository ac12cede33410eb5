/* pbwire.h - a minimal protobuf wire-format decoder and encoder: just
 * enough to read the few .wandb messages lineage needs, with no protobuf
 * library and no schema compiler. */
#ifndef LIN_PBWIRE_H
#define LIN_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

/* Wire types (protobuf encoding spec). */
enum {
	LIN_PB_VARINT = 0,
	LIN_PB_I64 = 1,
	LIN_PB_LEN = 2,
	LIN_PB_SGROUP = 3,  /* deprecated groups: skipped */
	LIN_PB_EGROUP = 4,
	LIN_PB_I32 = 5
};

#define LIN_PB_MAX_VARINT 10   /* bytes of the longest valid varint */
#define LIN_PB_MAX_FIELD 536870911u  /* 2^29 - 1 */

/* A read cursor over a borrowed byte slice (the bytes are not copied and
 * must outlive the cursor). Nested messages are read by opening a new
 * cursor over a LEN field's bytes, so nothing is decoded until asked. */
struct lin_pb {
	const unsigned char *base;
	const unsigned char *p;
	const unsigned char *end;
};

/* One field as read by lin_pb_next(). For VARINT, I64 and I32 the value is
 * in `u` (I32/I64 as little-endian bits). For LEN, `data`/`len` point into
 * the cursor's slice. Groups are skipped whole and never returned. */
struct lin_pb_field {
	uint32_t num;
	unsigned wire;
	uint64_t u;
	const unsigned char *data;
	size_t len;
};

/* Start a cursor over `n` bytes at `p`. */
void lin_pb_init(struct lin_pb *c, const void *p, size_t n);

/* Offset of the cursor from the start of its slice. */
size_t lin_pb_pos(const struct lin_pb *c);

/* Read one varint. Returns 0, LIN_ETRUNC when the slice ends inside it,
 * or LIN_ECORRUPT when it is longer than 10 bytes or does not fit in
 * 64 bits. The cursor does not move on error. */
int lin_pb_varint(struct lin_pb *c, uint64_t *v);

/* Read the next field. Returns 1 with `f` filled, 0 at the end of the
 * slice, LIN_ETRUNC when a field runs past the end (a LEN field whose
 * length exceeds what is left, a cut varint or fixed value), or
 * LIN_ECORRUPT (bad varint, field number 0 or above 2^29-1, wire type 6
 * or 7, unbalanced group). Groups (wire types 3/4) are skipped. On error
 * the cursor stays at the start of the bad field (see lin_pb_pos). */
int lin_pb_next(struct lin_pb *c, struct lin_pb_field *f);

/* Signed views of a varint: int32/int64 fields (two's complement) and
 * sint32/sint64 fields (zig-zag). */
static inline int64_t lin_pb_int64(uint64_t u)
{
	return (int64_t)u;
}

static inline int32_t lin_pb_int32(uint64_t u)
{
	return (int32_t)(uint32_t)u;
}

static inline int64_t lin_pb_zigzag(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* ---- encoder ---------------------------------------------------------
 * Low-level: write into a caller buffer, return the bytes written. */

/* Minimal encoding of `v` into `out` (room for 10 bytes). */
size_t lin_pb_put_varint(unsigned char *out, uint64_t v);

/* Encoding of `v` in exactly `n` bytes (1..10), padding with 0x80
 * continuation bytes: overlong but valid for every protobuf reader. `n`
 * must be at least lin_pb_varint_len(v). */
size_t lin_pb_put_varint_n(unsigned char *out, uint64_t v, size_t n);

/* Bytes of the minimal varint encoding of `v`. */
size_t lin_pb_varint_len(uint64_t v);

/* Bytes of a field key (tag) for field `num`. */
size_t lin_pb_tag_len(uint32_t num);

/* Growable output buffer. Start zeroed ({0}). Appends never fail
 * visibly: on allocation failure `oom` is set and later appends are
 * ignored, so a writer checks once at the end. Free with
 * lin_pbuf_release(). */
struct lin_pbuf {
	unsigned char *p;
	size_t len;
	size_t cap;
	int oom;
};

void lin_pbuf_raw(struct lin_pbuf *b, const void *p, size_t n);
void lin_pbuf_tag(struct lin_pbuf *b, uint32_t num, unsigned wire);
/* A VARINT field. Negative int32/int64 values: pass (uint64_t)(int64_t)v. */
void lin_pbuf_uint(struct lin_pbuf *b, uint32_t num, uint64_t v);
void lin_pbuf_fixed32(struct lin_pbuf *b, uint32_t num, uint32_t v);
void lin_pbuf_fixed64(struct lin_pbuf *b, uint32_t num, uint64_t v);
/* A LEN field holding `n` bytes (strings, bytes, nested messages). */
void lin_pbuf_bytes(struct lin_pbuf *b, uint32_t num, const void *p,
		    size_t n);
/* A string field; nothing is written when `s` is NULL or empty (proto3
 * leaves default values out). */
void lin_pbuf_str(struct lin_pbuf *b, uint32_t num, const char *s);
/* Empty the buffer, keeping its memory. */
void lin_pbuf_reset(struct lin_pbuf *b);
void lin_pbuf_release(struct lin_pbuf *b);

#endif
