/* keys.c - the codec of every key and fixed-size value of the store. */
#include "format/keys.h"

#include <stdio.h>
#include <string.h>

size_t lin_key_id(unsigned char out[8], uint64_t id)
{
	lin_be64_put(out, id);
	return 8;
}

size_t lin_key_src(unsigned char out[4], uint32_t src)
{
	lin_be32_put(out, src);
	return 4;
}

size_t lin_key_src_facts(unsigned char out[8], uint32_t src)
{
	lin_be64_put(out, (uint64_t)src << 32);
	return 8;
}

size_t lin_key_coll_num(unsigned char out[12], uint64_t coll,
			uint32_t number)
{
	lin_be64_put(out, coll);
	lin_be32_put(out + 8, number);
	return 12;
}

size_t lin_key_coll_bytes(unsigned char *out, size_t n, uint64_t coll,
			  const void *b, size_t bn, int zero)
{
	size_t len = 8 + bn + (zero ? 1 : 0);

	if (len > n || bn > LIN_MAX_KEY + 1)
		return 0;
	lin_be64_put(out, coll);
	memcpy(out + 8, b, bn);
	if (zero)
		out[8 + bn] = 0;
	return len;
}

size_t lin_key_coll_event(unsigned char *out, size_t n, uint64_t coll,
			  const void *name, size_t nl, uint64_t tkey,
			  uint64_t fact)
{
	size_t pn = lin_key_coll_bytes(out, n, coll, name, nl, 1);

	if (!pn || pn + 16 > n)
		return 0;
	lin_be64_put(out + pn, tkey);
	lin_be64_put(out + pn + 8, fact);
	return pn + 16;
}

size_t lin_key_server_id(unsigned char *out, size_t n, const void *sid,
			 size_t sn, unsigned kind, uint64_t fact)
{
	if (!sn || sn > LIN_MAX_SERVER_ID || sn + 10 > n)
		return 0;
	memcpy(out, sid, sn);
	out[sn] = 0;
	out[sn + 1] = (unsigned char)kind;
	lin_be64_put(out + sn + 2, fact);
	return sn + 10;
}

int lin_key_server_id_split(const void *k, size_t kn, size_t *sn,
			    unsigned *kind, uint64_t *fact)
{
	const unsigned char *kb = k;

	if (kn < 11 || kb[kn - 10] != 0)
		return -1;
	*sn = kn - 10;
	*kind = kb[kn - 9];
	*fact = lin_be64_get(kb + kn - 8);
	return 0;
}

int lin_key_path(char *out, size_t n, const char *a, const char *b,
		 const char *c)
{
	int len = snprintf(out, n, "%s/%s/%s", a, b, c);

	if (len < 0 || (size_t)len >= n || len > LIN_MAX_KEY)
		return -1;
	return len;
}

uint64_t lin_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

size_t lin_key_source(char *out, const char *path)
{
	size_t n = strlen(path);
	uint64_t h;

	if (n <= 500) {
		memcpy(out, path, n);
		return n;
	}
	h = lin_fnv1a(LIN_FNV_OFFSET, path, n);
	memcpy(out, path, 480);
	return 480 + (size_t)sprintf(out + 480, "#%016llx",
				     (unsigned long long)h);
}

int lin_key_path_n(char *out, size_t n, const char *a, size_t an,
		   const char *b, size_t bn, const char *c, size_t cn)
{
	int len = snprintf(out, n, "%.*s/%.*s/%.*s", (int)an, a, (int)bn, b,
			   (int)cn, c);

	if (len < 0 || (size_t)len >= n || len > LIN_MAX_KEY)
		return -1;
	return len;
}

size_t lin_key_name(unsigned char *out, size_t n, int tag, const char *name,
		    size_t name_len, const char *scope, size_t scope_len)
{
	size_t len = 2 + name_len + scope_len;

	if (len > n || len > LIN_MAX_NAME_KEY)
		return 0;
	out[0] = (unsigned char)tag;
	memcpy(out + 1, name, name_len);
	out[1 + name_len] = 0;
	memcpy(out + 2 + name_len, scope, scope_len);
	return len;
}

int lin_val_id(const void *v, size_t n, uint64_t *id, const char *what,
	       struct lin_err *err)
{
	if (n != 8)
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "%s value of %zu bytes, not 8", what, n);
	*id = lin_be64_get(v);
	return 0;
}

void lin_val_u64_put(unsigned char out[8], uint64_t v)
{
	lin_be64_put(out, v);
}

void lin_val_coll_ver_put(unsigned char out[16], uint64_t vid,
			  uint64_t tkey)
{
	lin_be64_put(out, vid);
	lin_be64_put(out + 8, tkey);
}

int lin_val_coll_ver(const void *v, size_t n, uint64_t *vid, uint64_t *tkey,
		     struct lin_err *err)
{
	if (n != LIN_COLL_VER_SIZE)
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "coll_ver value of %zu bytes, not 16", n);
	*vid = lin_be64_get(v);
	*tkey = lin_be64_get((const unsigned char *)v + 8);
	return 0;
}

void lin_val_node_fact_put(unsigned char out[9], unsigned kind,
			   uint64_t fact)
{
	out[0] = (unsigned char)kind;
	lin_be64_put(out + 1, fact);
}

int lin_val_node_fact(const void *v, size_t n, unsigned *kind,
		      uint64_t *fact, struct lin_err *err)
{
	const unsigned char *p = v;

	if (n != LIN_NODE_FACT_SIZE)
		return lin_err_set(err, LIN_ECORRUPT, LIN_NO_OFFSET,
				   "node_facts value of %zu bytes, not 9", n);
	*kind = p[0];
	*fact = lin_be64_get(p + 1);
	return 0;
}

void lin_tl_entry_put(unsigned char out[16], uint64_t tkey, uint64_t vid)
{
	lin_be64_put(out, tkey);
	lin_be64_put(out + 8, vid);
}

void lin_tl_entry(const void *tl, size_t i, uint64_t *tkey, uint64_t *vid)
{
	const unsigned char *p = (const unsigned char *)tl + i * LIN_TL_ENTRY;

	*tkey = lin_be64_get(p);
	*vid = lin_be64_get(p + 8);
}
