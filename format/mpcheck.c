/* mpcheck.c - bounds check of stored MessagePack before it is decoded:
 * every value read back from the store passes here first, so a damaged
 * store cannot make msgpack-c allocate without bound. */
#include "mpcheck.h"

#include "err.h"

#define MP_MAX_DEPTH 32  /* msgpack-c's own nesting limit */

static int need(size_t pos, size_t k, size_t len)
{
	return k > len - pos;
}

static uint64_t be_n(const unsigned char *p, size_t k)
{
	uint64_t v = 0;
	for (size_t i = 0; i < k; i++)
		v = v << 8 | p[i];
	return v;
}

size_t lin_mp_len_at(const void *data, size_t len, unsigned depth)
{
	const unsigned char *p = data;
	uint64_t left[MP_MAX_DEPTH + 1];
	size_t pos = 0;
	int d = 0;

	left[0] = 1;
	while (d >= 0) {
		if (left[d] == 0) {
			d--;
			continue;
		}
		left[d]--;
		if (pos >= len)
			return 0;
		unsigned b = p[pos++];
		uint64_t skip = 0, count = 0;
		size_t lenb = 0;   /* bytes of a length field */
		int cont = 0, map = 0, ext = 0;

		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 ||
		    b == 0xc3)
			;
		else if (b <= 0x8f) {
			count = b & 0x0f;
			cont = map = 1;
		} else if (b <= 0x9f) {
			count = b & 0x0f;
			cont = 1;
		} else if (b <= 0xbf)
			skip = b & 0x1f;
		else switch (b) {
		case 0xc4: case 0xd9: lenb = 1; break;
		case 0xc5: case 0xda: lenb = 2; break;
		case 0xc6: case 0xdb: lenb = 4; break;
		case 0xc7: lenb = 1; ext = 1; break;
		case 0xc8: lenb = 2; ext = 1; break;
		case 0xc9: lenb = 4; ext = 1; break;
		case 0xca: case 0xce: case 0xd2: skip = 4; break;
		case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
		case 0xcc: case 0xd0: skip = 1; break;
		case 0xcd: case 0xd1: skip = 2; break;
		case 0xd4: skip = 2; break;
		case 0xd5: skip = 3; break;
		case 0xd6: skip = 5; break;
		case 0xd7: skip = 9; break;
		case 0xd8: skip = 17; break;
		case 0xdc: lenb = 2; cont = 1; break;
		case 0xdd: lenb = 4; cont = 1; break;
		case 0xde: lenb = 2; cont = map = 1; break;
		case 0xdf: lenb = 4; cont = map = 1; break;
		default: return 0; /* 0xc1: never used */
		}
		if (lenb) {
			if (need(pos, lenb, len))
				return 0;
			uint64_t n = be_n(p + pos, lenb);
			pos += lenb;
			if (cont)
				count = n;
			else
				skip = n + (uint64_t)ext;
		}
		if (!cont) {
			if (skip > len - pos)
				return 0;
			pos += (size_t)skip;
			continue;
		}
		if (map)
			count *= 2;
		/* Every element takes at least one byte. */
		if (count > len - pos)
			return 0;
		if (count) {
			if ((unsigned)d + depth >= MP_MAX_DEPTH)
				return 0;
			left[++d] = count;
		}
	}
	return pos;
}

size_t lin_mp_len(const void *data, size_t len)
{
	return lin_mp_len_at(data, len, 0);
}

int lin_mp_check(const void *data, size_t len)
{
	return len && lin_mp_len(data, len) == len ? 0 : LIN_ECORRUPT;
}
