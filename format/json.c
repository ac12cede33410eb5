/* json.c - JSON text to one MessagePack value (json.h). */
#include "json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "grow.h"

#define MAX_NUMBER 320  /* longest number text converted */

struct jp {
	const unsigned char *s, *end;
	msgpack_packer *pk;     /* NULL in the first (checking) pass */
	uint32_t *counts;       /* items of each container, by opening */
	size_t ncounts, capcounts;
	char *tmp;              /* a decoded string */
	size_t tmpcap;
};

static void skip_ws(struct jp *j)
{
	while (j->s < j->end && (*j->s == ' ' || *j->s == '\t' ||
				 *j->s == '\n' || *j->s == '\r'))
		j->s++;
}

static int tmp_put(struct jp *j, size_t *len, const void *p, size_t n)
{
	if (LIN_GROW(j->tmp, j->tmpcap, *len + n, 256) < 0)
		return -1;
	memcpy(j->tmp + *len, p, n);
	*len += n;
	return 0;
}

static int hex4(const unsigned char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t utf8_put(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at j->s (the opening quote), decoded into j->tmp; packed in
 * the second pass. */
static int string(struct jp *j)
{
	size_t len = 0;

	j->s++;
	for (;;) {
		const unsigned char *run = j->s;

		while (j->s < j->end && *j->s != '"' && *j->s != '\\' &&
		       *j->s >= 0x20)
			j->s++;
		if (j->pk && tmp_put(j, &len, run, (size_t)(j->s - run)))
			return -1;
		if (j->s >= j->end || *j->s < 0x20)
			return -1;      /* unterminated, or a raw control */
		if (*j->s == '"')
			break;
		/* an escape */
		if (j->end - j->s < 2)
			return -1;
		unsigned char e = j->s[1], u[4];
		uint32_t cp;
		size_t un = 1;
		j->s += 2;
		switch (e) {
		case '"': case '\\': case '/': u[0] = e; break;
		case 'b': u[0] = '\b'; break;
		case 'f': u[0] = '\f'; break;
		case 'n': u[0] = '\n'; break;
		case 'r': u[0] = '\r'; break;
		case 't': u[0] = '\t'; break;
		case 'u':
			if (j->end - j->s < 4 || hex4(j->s, &cp))
				return -1;
			j->s += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;      /* a lone low surrogate */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo;
				if (j->end - j->s < 6 || j->s[0] != '\\' ||
				    j->s[1] != 'u' || hex4(j->s + 2, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				j->s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			un = utf8_put(u, cp);
			break;
		default:
			return -1;
		}
		if (j->pk && tmp_put(j, &len, u, un))
			return -1;
	}
	j->s++;
	if (j->pk && msgpack_pack_str_with_body(j->pk, j->tmp, len))
		return -1;
	return 0;
}

/* A number at j->s: an integer when it has no fraction or exponent and
 * fits 64 bits, else a double. */
static int number(struct jp *j)
{
	const unsigned char *st = j->s;
	int frac = 0;
	char buf[MAX_NUMBER + 1];

	if (j->s < j->end && *j->s == '-')
		j->s++;
	if (j->s >= j->end)
		return -1;
	if (*j->s == '0') {
		j->s++;
	} else if (*j->s >= '1' && *j->s <= '9') {
		while (j->s < j->end && *j->s >= '0' && *j->s <= '9')
			j->s++;
	} else {
		return -1;
	}
	if (j->s < j->end && *j->s == '.') {
		frac = 1;
		j->s++;
		if (j->s >= j->end || *j->s < '0' || *j->s > '9')
			return -1;
		while (j->s < j->end && *j->s >= '0' && *j->s <= '9')
			j->s++;
	}
	if (j->s < j->end && (*j->s == 'e' || *j->s == 'E')) {
		frac = 1;
		j->s++;
		if (j->s < j->end && (*j->s == '+' || *j->s == '-'))
			j->s++;
		if (j->s >= j->end || *j->s < '0' || *j->s > '9')
			return -1;
		while (j->s < j->end && *j->s >= '0' && *j->s <= '9')
			j->s++;
	}
	if ((size_t)(j->s - st) > MAX_NUMBER)
		return -1;
	if (!j->pk)
		return 0;
	memcpy(buf, st, (size_t)(j->s - st));
	buf[j->s - st] = '\0';
	errno = 0;
	if (!frac && buf[0] == '-') {
		long long v = strtoll(buf, NULL, 10);
		if (errno == 0)
			return msgpack_pack_int64(j->pk, v) ? -1 : 0;
	} else if (!frac) {
		unsigned long long v = strtoull(buf, NULL, 10);
		if (errno == 0)
			return msgpack_pack_uint64(j->pk, v) ? -1 : 0;
	}
	return msgpack_pack_double(j->pk, strtod(buf, NULL)) ? -1 : 0;
}

static int literal(struct jp *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->s) < n || memcmp(j->s, word, n) != 0)
		return -1;
	j->s += n;
	if (!j->pk)
		return 0;
	if (word[0] == 'n')
		return msgpack_pack_nil(j->pk) ? -1 : 0;
	return (word[0] == 't' ? msgpack_pack_true(j->pk) :
		msgpack_pack_false(j->pk)) ? -1 : 0;
}

/* Open a container: in the first pass its count starts at 0, in the
 * second its header is written with the count the first pass found. */
static int open_container(struct jp *j, size_t *next, int map)
{
	size_t idx = (*next)++;

	if (!j->pk) {
		if (LIN_GROW(j->counts, j->capcounts, j->ncounts + 1, 16) < 0)
			return -1;
		j->counts[j->ncounts++] = 0;
		return 0;
	}
	return (map ? msgpack_pack_map(j->pk, j->counts[idx]) :
		msgpack_pack_array(j->pk, j->counts[idx])) ? -1 : 0;
}

enum { ST_VALUE, ST_KEY, ST_AFTER };

/* One pass over the text. */
static int pass(struct jp *j)
{
	struct { size_t idx; int map; } stack[LIN_JSON_MAX_DEPTH];
	size_t sp = 0, next = 0;
	int st = ST_VALUE;

	for (;;) {
		skip_ws(j);
		if (st == ST_AFTER) {
			if (!sp)
				break;
			if (j->s >= j->end)
				return -1;
			if (*j->s == ',') {
				j->s++;
				st = stack[sp - 1].map ? ST_KEY : ST_VALUE;
				if (!stack[sp - 1].map && !j->pk &&
				    ++j->counts[stack[sp - 1].idx] == 0)
					return -1;
				continue;
			}
			if (*j->s != (stack[sp - 1].map ? '}' : ']'))
				return -1;
			j->s++;
			sp--;
			continue;
		}
		if (j->s >= j->end)
			return -1;
		if (st == ST_KEY) {
			if (*j->s != '"' || string(j))
				return -1;
			if (!j->pk && ++j->counts[stack[sp - 1].idx] == 0)
				return -1;
			skip_ws(j);
			if (j->s >= j->end || *j->s != ':')
				return -1;
			j->s++;
			st = ST_VALUE;
			continue;
		}
		/* ST_VALUE */
		unsigned c = *j->s;
		int rc;
		st = ST_AFTER;
		if (c == '{' || c == '[') {
			int map = c == '{';
			if (sp == LIN_JSON_MAX_DEPTH)
				return -1;
			stack[sp].idx = next;
			stack[sp].map = map;
			if (open_container(j, &next, map))
				return -1;
			sp++;
			j->s++;
			skip_ws(j);
			if (j->s < j->end && *j->s == (map ? '}' : ']')) {
				j->s++;
				sp--;
				continue;
			}
			st = map ? ST_KEY : ST_VALUE;
			if (!map && !j->pk)
				j->counts[stack[sp - 1].idx] = 1;
			continue;
		}
		if (c == '"')
			rc = string(j);
		else if (c == 't')
			rc = literal(j, "true");
		else if (c == 'f')
			rc = literal(j, "false");
		else if (c == 'n')
			rc = literal(j, "null");
		else
			rc = number(j);
		if (rc)
			return -1;
	}
	return j->s == j->end ? 0 : -1;
}

int lin_json_to_msgpack(const void *p, size_t n, msgpack_packer *pk)
{
	struct jp j;
	int rc;

	/* Raw text must be UTF-8 (RFC 8259), and a raw NUL is a control
	 * character, which JSON forbids outside escapes anyway. */
	if (lin_text_check(p, n, NULL) != LIN_TEXT_OK)
		return -1;
	memset(&j, 0, sizeof j);
	j.s = p;
	j.end = j.s + n;
	rc = pass(&j);
	if (rc == 0) {
		j.s = p;
		j.pk = pk;
		rc = pass(&j);
	}
	free(j.counts);
	free(j.tmp);
	return rc;
}
