/* pbwire.c - protobuf wire-format cursor and encoder (see pbwire.h). */
#include "pbwire.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "grow.h"

void lin_pb_init(struct lin_pb *c, const void *p, size_t n)
{
	c->base = p;
	c->p = p;
	c->end = c->p + n;
}

size_t lin_pb_pos(const struct lin_pb *c)
{
	return (size_t)(c->p - c->base);
}

/* Decode a varint at *pp without passing `end`; advances *pp on success. */
static int get_varint(const unsigned char **pp, const unsigned char *end,
		      uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t r = 0;

	/* Fast path: the common one-byte case (tags, short lengths). */
	if (p < end && *p < 0x80) {
		*v = *p;
		*pp = p + 1;
		return 0;
	}
	for (unsigned i = 0; i < LIN_PB_MAX_VARINT; i++) {
		if (p + i >= end)
			return LIN_ETRUNC;
		unsigned b = p[i];
		/* The tenth byte holds bit 63 only; more would overflow. */
		if (i == LIN_PB_MAX_VARINT - 1 && b > 1)
			return LIN_ECORRUPT;
		r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (b < 0x80) {
			*v = r;
			*pp = p + i + 1;
			return 0;
		}
	}
	return LIN_ECORRUPT;
}

int lin_pb_varint(struct lin_pb *c, uint64_t *v)
{
	return get_varint(&c->p, c->end, v);
}

/* Read one field key and body at *pp; groups come back with wire type
 * SGROUP/EGROUP and no body consumed. */
static int get_field(const unsigned char **pp, const unsigned char *end,
		     struct lin_pb_field *f)
{
	const unsigned char *p = *pp;
	uint64_t key, v;
	int rc;

	if ((rc = get_varint(&p, end, &key)) < 0)
		return rc;
	if (key >> 3 == 0 || key >> 3 > LIN_PB_MAX_FIELD)
		return LIN_ECORRUPT;
	f->num = (uint32_t)(key >> 3);
	f->wire = (unsigned)(key & 7);
	f->data = NULL;
	f->len = 0;
	f->u = 0;
	switch (f->wire) {
	case LIN_PB_VARINT:
		if ((rc = get_varint(&p, end, &f->u)) < 0)
			return rc;
		break;
	case LIN_PB_I64:
	case LIN_PB_I32: {
		size_t n = f->wire == LIN_PB_I64 ? 8 : 4;
		if ((size_t)(end - p) < n)
			return LIN_ETRUNC;
		for (size_t i = n; i-- > 0;)
			f->u = f->u << 8 | p[i];
		p += n;
		break;
	}
	case LIN_PB_LEN:
		if ((rc = get_varint(&p, end, &v)) < 0)
			return rc;
		if (v > (uint64_t)(end - p))
			return LIN_ETRUNC;
		f->data = p;
		f->len = (size_t)v;
		p += v;
		break;
	case LIN_PB_SGROUP:
	case LIN_PB_EGROUP:
		break;
	default:
		return LIN_ECORRUPT;
	}
	*pp = p;
	return 0;
}

int lin_pb_next(struct lin_pb *c, struct lin_pb_field *f)
{
	const unsigned char *p = c->p;
	int rc;

	for (;;) {
		if (p >= c->end)
			return 0;
		if ((rc = get_field(&p, c->end, f)) < 0)
			return rc;
		if (f->wire == LIN_PB_EGROUP)
			return LIN_ECORRUPT;    /* an end without a start */
		if (f->wire != LIN_PB_SGROUP) {
			c->p = p;
			return 1;
		}
		/* Skip the group: every level ends with its own EGROUP.
		 * Depth is bounded by the slice length, no recursion. */
		uint32_t outer = f->num;
		size_t depth = 1;
		while (depth > 0) {
			if (p >= c->end)
				return LIN_ETRUNC;
			if ((rc = get_field(&p, c->end, f)) < 0)
				return rc;
			if (f->wire == LIN_PB_SGROUP)
				depth++;
			else if (f->wire == LIN_PB_EGROUP) {
				depth--;
				if (depth == 0 && f->num != outer)
					return LIN_ECORRUPT;
			}
		}
		c->p = p;
	}
}

/* ---- encoder --------------------------------------------------------- */

size_t lin_pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t lin_pb_tag_len(uint32_t num)
{
	return lin_pb_varint_len((uint64_t)num << 3);
}

size_t lin_pb_put_varint(unsigned char *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (unsigned char)v;
	return n;
}

size_t lin_pb_put_varint_n(unsigned char *out, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = v & 0x7f;
		v >>= 7;
		out[i] = i + 1 < n ? (unsigned char)(b | 0x80) : b;
	}
	return n;
}

static int reserve(struct lin_pbuf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (n <= b->cap - b->len)
		return 0;
	if (n > SIZE_MAX - b->len ||
	    LIN_GROW(b->p, b->cap, b->len + n, 256) < 0) {
		b->oom = 1;
		return -1;
	}
	return 0;
}

void lin_pbuf_raw(struct lin_pbuf *b, const void *p, size_t n)
{
	if (n == 0 || reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_varint(struct lin_pbuf *b, uint64_t v)
{
	if (reserve(b, LIN_PB_MAX_VARINT) < 0)
		return;
	b->len += lin_pb_put_varint(b->p + b->len, v);
}

void lin_pbuf_tag(struct lin_pbuf *b, uint32_t num, unsigned wire)
{
	put_varint(b, (uint64_t)num << 3 | (wire & 7));
}

void lin_pbuf_uint(struct lin_pbuf *b, uint32_t num, uint64_t v)
{
	lin_pbuf_tag(b, num, LIN_PB_VARINT);
	put_varint(b, v);
}

static void put_le(struct lin_pbuf *b, uint64_t v, size_t n)
{
	unsigned char tmp[8];

	for (size_t i = 0; i < n; i++, v >>= 8)
		tmp[i] = (unsigned char)v;
	lin_pbuf_raw(b, tmp, n);
}

void lin_pbuf_fixed32(struct lin_pbuf *b, uint32_t num, uint32_t v)
{
	lin_pbuf_tag(b, num, LIN_PB_I32);
	put_le(b, v, 4);
}

void lin_pbuf_fixed64(struct lin_pbuf *b, uint32_t num, uint64_t v)
{
	lin_pbuf_tag(b, num, LIN_PB_I64);
	put_le(b, v, 8);
}

void lin_pbuf_bytes(struct lin_pbuf *b, uint32_t num, const void *p,
		    size_t n)
{
	lin_pbuf_tag(b, num, LIN_PB_LEN);
	put_varint(b, n);
	lin_pbuf_raw(b, p, n);
}

void lin_pbuf_str(struct lin_pbuf *b, uint32_t num, const char *s)
{
	if (s && *s)
		lin_pbuf_bytes(b, num, s, strlen(s));
}

void lin_pbuf_reset(struct lin_pbuf *b)
{
	b->len = 0;
}

void lin_pbuf_release(struct lin_pbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}
