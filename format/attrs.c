/* attrs.c - attribute names as one-byte codes in stored maps (attrs.h).
 * Called by the store's writes (cursor.c) and by every decoder of a
 * stored map (facts.c, core.c, query/node.c). */
#include "attrs.h"

#include <pthread.h>
#include <string.h>

#include "mpcheck.h"
#include "schema.h"

/* Index = code. Append only: a store keeps these numbers. */
#define NAME(s) { s, sizeof s - 1 }
static const struct {
	const char *s;
	size_t n;
} names[] = {
	NAME("kind"), NAME("entity"), NAME("project"), NAME("name"),
	NAME("run_id"), NAME("job_type"), NAME("group"), NAME("host"),
	NAME("notes"), NAME("tags"), NAME("program"), NAME("git_remote"),
	NAME("git_commit"), NAME("args"), NAME("started_at"), NAME("state"),
	NAME("exit_code"), NAME("ended_at"), NAME("coll"), NAME("type"),
	NAME("version"), NAME("digest"), NAME("aliases"), NAME("first"),
	NAME("size"), NAME("files"), NAME("description"), NAME("metadata"),
	NAME("created_at"), NAME("server_id"), NAME("id"), NAME("format"),
	NAME("mtime"), NAME("ino"), NAME("indexed_at"), NAME("records"),
	NAME("facts"), NAME("skipped"), NAME("problems"), NAME("crc"),
	NAME("count"), NAME("last"), NAME("explicit"), NAME("ref"),
	NAME("at"),
};
#undef NAME
#define NNAMES (sizeof names / sizeof *names)
/* a code is a positive fixint */
_Static_assert(NNAMES <= 128, "attribute codes are one byte");

/* Codes by a hash of the name (open addressing; 0xff: empty), built
 * once: the indexer looks up every key of every map it writes. */
#define NSLOTS 256
static unsigned char slots[NSLOTS];
static pthread_once_t built = PTHREAD_ONCE_INIT;

static unsigned hash(const char *p, size_t n)
{
	return ((unsigned)n * 31u + (unsigned char)p[0] * 7u +
		(unsigned char)p[n - 1] * 3u + (unsigned char)p[n / 2]) %
	       NSLOTS;
}

static void build(void)
{
	memset(slots, 0xff, sizeof slots);
	for (size_t c = 0; c < NNAMES; c++) {
		unsigned h = hash(names[c].s, names[c].n);
		while (slots[h] != 0xff)
			h = (h + 1) % NSLOTS;
		slots[h] = (unsigned char)c;
	}
}

static int code_of(const char *p, size_t n)
{
	if (n == 0)
		return -1;
	for (unsigned h = hash(p, n);; h = (h + 1) % NSLOTS) {
		unsigned c = slots[h];
		if (c == 0xff)
			return -1;
		if (names[c].n == n && memcmp(names[c].s, p, n) == 0)
			return (int)c;
	}
}

int lin_attr_code(const char *p, size_t n)
{
	pthread_once(&built, build);
	return code_of(p, n);
}

const char *lin_attr_name(unsigned code, size_t *n)
{
	if (code >= NNAMES)
		return NULL;
	*n = names[code].n;
	return names[code].s;
}

/* ---- encoding: a copy of the MessagePack bytes with keys coded ---- */

struct out {
	unsigned char *p;
	size_t cap, n;
};

static void put(struct out *o, const unsigned char *p, size_t n)
{
	if (o->n < o->cap)
		memcpy(o->p + o->n, p, o->cap - o->n < n ? o->cap - o->n : n);
	o->n += n;
}

/* The header of the container at p (n bytes there, n >= 1): its element
 * count (pairs for a map) and header size, or 0 when it is not one. */
static size_t container(const unsigned char *p, size_t n, int map,
			uint64_t *count)
{
	unsigned fix = map ? 0x80 : 0x90, b16 = map ? 0xde : 0xdc,
		 b32 = map ? 0xdf : 0xdd;

	if ((p[0] & 0xf0) == fix) {
		*count = p[0] & 0x0f;
		return 1;
	}
	if (p[0] == b16 && n >= 3) {
		*count = (uint64_t)p[1] << 8 | p[2];
		return 3;
	}
	if (p[0] == b32 && n >= 5) {
		*count = lin_be32_get(p + 1);
		return 5;
	}
	return 0;
}

/* A string's bytes at p (a whole value of len bytes): 1 and the slice,
 * or 0 when it is no string. */
static int str_at(const unsigned char *p, size_t len, const char **s,
		  size_t *sn)
{
	size_t h = (p[0] & 0xe0) == 0xa0 ? 1 : p[0] == 0xd9 ? 2 :
		   p[0] == 0xda ? 3 : p[0] == 0xdb ? 5 : 0;

	if (!h)
		return 0;
	*s = (const char *)p + h;
	*sn = len - h;
	return 1;
}

/* The bytes of the value at p (n bytes there, n >= 1) inside `depth`
 * containers, or 0 when it is not one (lin_mp_check's bounds, its
 * nesting counted from the top): scalars from their first byte,
 * containers by lin_mp_len_at. */
static size_t value_len(const unsigned char *p, size_t n, unsigned depth)
{
	unsigned b = p[0];
	size_t k;

	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		k = 1;
	else if (b >= 0xa0 && b <= 0xbf)
		k = 1 + (b & 0x1f);
	else if (b == 0xd9 && n >= 2)
		k = 2 + (size_t)p[1];
	else if (b == 0xcc || b == 0xd0)
		k = 2;
	else if (b == 0xcd || b == 0xd1)
		k = 3;
	else if (b == 0xce || b == 0xd2 || b == 0xca)
		k = 5;
	else if (b == 0xcf || b == 0xd3 || b == 0xcb)
		k = 9;
	else
		return lin_mp_len_at(p, n, depth);
	return k <= n ? k : 0;
}

/* Copy the map at in[*pos], whose keys and values sit inside `depth`
 * containers, with its keys coded: 0, or -1 when it is not well
 * formed. */
static int encode_map(const unsigned char *in, size_t n, size_t *pos,
		      unsigned depth, struct out *o)
{
	uint64_t pairs;
	size_t h = container(in + *pos, n - *pos, 1, &pairs);

	put(o, in + *pos, h);
	*pos += h;
	for (uint64_t i = 0; i < pairs; i++) {
		size_t kl = *pos < n ? value_len(in + *pos, n - *pos, depth)
				     : 0;
		const char *s;
		size_t sn;
		if (!kl)
			return -1;
		int code = str_at(in + *pos, kl, &s, &sn) ? code_of(s, sn)
							  : -1;
		if (code >= 0) {
			unsigned char c = (unsigned char)code;
			put(o, &c, 1);
		} else {
			put(o, in + *pos, kl);
		}
		*pos += kl;
		size_t vl = *pos < n ? value_len(in + *pos, n - *pos, depth)
				     : 0;
		if (!vl)
			return -1;
		put(o, in + *pos, vl);
		*pos += vl;
	}
	return 0;
}

size_t lin_attrs_encode(const void *in_, size_t n, unsigned char *out,
			size_t cap)
{
	const unsigned char *in = in_;
	struct out o = { out, cap, 0 };
	uint64_t count;
	size_t pos = 0, h;

	if (n == 0)
		return 0;
	pthread_once(&built, build);
	if (container(in, n, 1, &count)) {
		if (encode_map(in, n, &pos, 1, &o))
			return 0;
	} else if ((h = container(in, n, 0, &count))) {
		put(&o, in, h);
		pos = h;
		for (uint64_t i = 0; i < count; i++) {
			uint64_t pairs;
			size_t el;
			if (pos < n && container(in + pos, n - pos, 1, &pairs)) {
				if (encode_map(in, n, &pos, 2, &o))
					return 0;
				continue;
			}
			if (!(el = pos < n ? value_len(in + pos, n - pos, 1)
					   : 0))
				return 0;
			put(&o, in + pos, el);
			pos += el;
		}
	} else {
		pos = value_len(in, n, 0);
		put(&o, in, pos);
	}
	/* one value and nothing after it, as lin_mp_check wants */
	return pos == n ? o.n : 0;
}

/* ---- decoding ---- */

static void decode_map(msgpack_object *m)
{
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		msgpack_object *k = &m->via.map.ptr[i].key;
		size_t n;
		const char *name;

		if (k->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    k->via.u64 >= NNAMES)
			continue;
		name = lin_attr_name((unsigned)k->via.u64, &n);
		k->type = MSGPACK_OBJECT_STR;
		k->via.str.ptr = name;
		k->via.str.size = (uint32_t)n;
	}
}

void lin_attrs_decode(msgpack_object *o)
{
	if (o->type == MSGPACK_OBJECT_MAP) {
		decode_map(o);
		return;
	}
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (uint32_t i = 0; i < o->via.array.size; i++)
		if (o->via.array.ptr[i].type == MSGPACK_OBJECT_MAP)
			decode_map(&o->via.array.ptr[i]);
}
