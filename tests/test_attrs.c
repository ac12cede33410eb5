/* test_attrs.c - attribute names as one-byte codes in stored maps
 * (format/attrs.c, schema 6): every name of the table has one code and
 * back; a map, or a fact's attribute map, is stored with coded keys and
 * decodes to the map it was, nested maps keeping their names; coding
 * twice changes nothing; too little room and bad or damaged input are
 * handled; the indexer's writes store coded values that every reader
 * decodes. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "format/attrs.h"
#include "format/cursor.h"
#include "format/facts.h"
#include "format/keys.h"
#include "format/mpcheck.h"
#include "format/store.h"
#include "format/txn.h"
#include "tests/helpers.h"

TestSuite(attrs, .init = th_mkdir, .fini = th_rmdir);

static void str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* {"entity": "acme", "zzz": 1, "metadata": {"name": "keep"},
 *  "first": [1, "p", 2], "name": "n"} */
static void pack_node(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	str(pk, "entity");
	str(pk, "acme");
	str(pk, "zzz");
	msgpack_pack_int(pk, 1);
	str(pk, "metadata");
	msgpack_pack_map(pk, 1);
	str(pk, "name");
	str(pk, "keep");
	str(pk, "first");
	msgpack_pack_array(pk, 3);
	msgpack_pack_int(pk, 1);
	str(pk, "p");
	msgpack_pack_int(pk, 2);
	str(pk, "name");
	str(pk, "n");
}

static size_t encode(const msgpack_sbuffer *in, unsigned char *out,
		     size_t cap)
{
	size_t n = lin_attrs_encode(in->data, in->size, out, cap);
	cr_assert_gt(n, 0);
	cr_assert_leq(n, cap);
	return n;
}

static msgpack_object decode(const void *p, size_t n, msgpack_zone *z)
{
	msgpack_object o;
	cr_assert_eq(msgpack_unpack(p, n, NULL, z, &o),
		     MSGPACK_UNPACK_SUCCESS);
	lin_attrs_decode(&o);
	return o;
}

Test(attrs, every_name_has_one_code_and_back)
{
	unsigned code = 0;
	const char *name;
	size_t n;

	while ((name = lin_attr_name(code, &n)) != NULL) {
		cr_assert_eq(n, strlen(name));
		cr_assert_eq(lin_attr_code(name, n), (int)code, "%s", name);
		code++;
	}
	cr_assert_geq(code, 40, "only %u names", code);
	cr_assert_leq(code, 128);
	/* the codes a schema 6 store holds stay where they are */
	cr_assert_eq(lin_attr_code("kind", 4), 0);
	cr_assert_eq(lin_attr_code("metadata", 8), 27);
	cr_assert_eq(lin_attr_code("at", 2), 44);
	cr_assert_eq(lin_attr_code("zzz", 3), -1);
	cr_assert_eq(lin_attr_code("", 0), -1);
	cr_assert_eq(lin_attr_code("entityx", 7), -1);
	cr_assert_eq(lin_attr_code("entity", 5), -1);   /* a prefix */
}

Test(attrs, a_map_is_stored_coded_and_decodes_to_itself)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	unsigned char out[256], again[256];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_zone_init(&z, 1024);
	pack_node(&pk);
	size_t n = encode(&sb, out, sizeof out);
	/* entity, metadata, first and name: one byte each instead of
	 * 1 + their length (6, 8, 5 and 4 bytes) */
	cr_assert_eq(n, sb.size - 23, "%zu of %zu", n, sb.size);
	cr_assert_eq(out[1], (unsigned char)lin_attr_code("entity", 6));

	msgpack_object orig = decode(sb.data, sb.size, &z);
	msgpack_object back = decode(out, n, &z);
	cr_assert(msgpack_object_equal(orig, back));
	/* the nested map keeps its key as a string */
	const msgpack_object *meta = lin_map_get(&back, "metadata");
	cr_assert_not_null(meta);
	cr_assert_eq(meta->via.map.ptr[0].key.type, MSGPACK_OBJECT_STR);
	/* the encoded bytes hold the nested name as a string too */
	cr_assert_not_null(memmem(out, n, "\xa4name\xa4keep", 10));

	/* coding a coded value changes nothing */
	cr_assert_eq(lin_attrs_encode(out, n, again, sizeof again), n);
	cr_assert_eq(memcmp(out, again, n), 0);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}

Test(attrs, a_facts_attribute_map_is_coded)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	unsigned char out[128];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_zone_init(&z, 1024);
	/* a RUN fact: [1, run, pos, attrs] */
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_uint64(&pk, 0x0102030405060701ull);
	msgpack_pack_uint64(&pk, 42);
	msgpack_pack_map(&pk, 2);
	str(&pk, "job_type");
	str(&pk, "train");
	str(&pk, "host");
	str(&pk, "h1");
	size_t n = encode(&sb, out, sizeof out);
	cr_assert_eq(n, sb.size - 12);

	struct lin_fact f;
	cr_assert_eq(lin_fact_decode(out, n, &z, &f), 0);
	cr_assert_eq(f.kind, 1);
	cr_assert_eq(f.pos, 42);
	struct lin_slice jt;
	cr_assert(lin_map_str(&f.attrs, "job_type", &jt));
	cr_assert(lin_slice_eq_cstr(jt, "train"));
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}

Test(attrs, too_little_room_and_bad_input)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned char out[64], full[128];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_node(&pk);
	size_t need = lin_attrs_encode(sb.data, sb.size, full, sizeof full);
	cr_assert_gt(need, 10);
	/* with 10 bytes of room: the size it needs, nothing past them */
	memset(out, 0xee, sizeof out);
	cr_assert_eq(lin_attrs_encode(sb.data, sb.size, out, 10), need);
	cr_assert_eq(memcmp(out, full, 10), 0);
	for (size_t i = 10; i < sizeof out; i++)
		cr_assert_eq(out[i], 0xee, "byte %zu written", i);
	/* every cut of the value, and a value with bytes after it, is
	 * refused (stored as given) */
	for (size_t cut = 0; cut < sb.size; cut++)
		cr_assert_eq(lin_attrs_encode(sb.data, cut, full,
					      sizeof full), 0, "cut %zu", cut);
	msgpack_pack_nil(&pk);
	cr_assert_eq(lin_attrs_encode(sb.data, sb.size, full, sizeof full),
		     0);
	/* a map claiming more pairs than it has */
	cr_assert_eq(lin_attrs_encode("\x8f\xa4kind\xa3run", 10, full,
				      sizeof full), 0);
	/* nested past lin_mp_check's 32 levels below a key: refused like
	 * it, though the nested value alone would pass */
	unsigned char deep[64];
	size_t dn = 0;
	deep[dn++] = 0x81;            /* {"kind": [[[...[]...]]]} */
	deep[dn++] = 0xa4;
	memcpy(deep + dn, "kind", 4);
	dn += 4;
	for (int i = 0; i <= 32; i++)
		deep[dn++] = i < 32 ? 0x91 : 0x90;
	cr_assert_neq(lin_mp_check(deep, dn), 0);
	cr_assert_eq(lin_mp_check(deep + 6, dn - 6), 0);
	cr_assert_eq(lin_attrs_encode(deep, dn, full, sizeof full), 0);
	/* one level less: within the bound, coded */
	deep[dn - 2] = 0x90;
	cr_assert_eq(lin_mp_check(deep, dn - 1), 0);
	cr_assert_eq(lin_attrs_encode(deep, dn - 1, full, sizeof full),
		     dn - 1 - 4);
	/* not a container: copied as it is */
	cr_assert_eq(lin_attrs_encode("\xa3run", 4, full, sizeof full), 4);
	msgpack_sbuffer_destroy(&sb);
}

/* The indexer's values are stored coded: a node of the sample holds
 * its first key as a code, and the node reads back by name. */
Test(attrs, the_indexer_stores_coded_maps)
{
	char st[TH_PATH_MAX];
	struct lin_store s;
	struct lin_err e;
	MDB_txn *txn;
	struct lin_scan sc;
	msgpack_zone z;
	size_t nodes = 0;

	th_path(st, "s.lmdb");
	cr_assert_eq(th_index("-q", "--store", st, "fixtures/sample", NULL),
		     0);
	cr_assert_eq(lin_store_open(&s, st, LIN_STORE_RDONLY, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(lin_store_begin(&s, 1, &txn, &e), 0, "%s", e.msg);
	msgpack_zone_init(&z, 4096);
	cr_assert_eq(lin_scan_open(&sc, txn, &s, LIN_DB_NODES, NULL, 0, NULL,
				   0, &e), 0, "%s", e.msg);
	while (lin_scan_next(&sc) == 1) {
		const unsigned char *v = sc.v.mv_data;
		msgpack_object o;
		struct lin_slice kind;

		cr_assert((v[0] & 0xf0) == 0x80, "not a small map");
		cr_assert_lt(v[1], 0x80, "first key not a code");
		cr_assert_eq(lin_val_map(v, sc.v.mv_size, &z, &o), 0);
		cr_assert(lin_map_str(&o, "kind", &kind));
		cr_assert(lin_slice_eq_cstr(kind, "run") ||
			  lin_slice_eq_cstr(kind, "artifact"));
		nodes++;
	}
	lin_scan_close(&sc);
	cr_assert_eq(nodes, 20);
	msgpack_zone_destroy(&z);
	lin_store_abort(txn);
	lin_store_close(&s);
}

/* Damaged input (bytes changed, cut) is either refused or coded into
 * one well-formed value that decodes like the input; nothing is read
 * or written out of bounds (the sanitized suite runs this too). */
Test(attrs, damaged_input_is_refused_or_coded_whole)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	unsigned char in[256], out[512];
	unsigned seed = 12345;
	int coded = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_zone_init(&z, 4096);
	pack_node(&pk);
	cr_assert_leq(sb.size, sizeof in);
	for (int round = 0; round < 20000; round++) {
		size_t n = sb.size;
		memcpy(in, sb.data, n);
		for (int k = 0; k < 1 + round % 3; k++) {
			seed = seed * 1103515245u + 12345u;
			in[(seed >> 8) % n] = (unsigned char)(seed >> 20);
		}
		if (round % 5 == 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 8) % n;
		}
		/* from and into buffers of exactly their bytes, so that a
		 * read or write past them is one the sanitizers see */
		unsigned char *src = malloc(n);
		cr_assert_not_null(src);
		memcpy(src, in, n);
		size_t need = lin_attrs_encode(src, n, out, 0);
		/* coded exactly when the value is well formed */
		cr_assert_eq(need != 0, lin_mp_check(src, n) == 0,
			     "round %d", round);
		if (!need) {
			free(src);
			continue;
		}
		cr_assert_leq(need, sizeof out);
		unsigned char *exact = malloc(need);
		cr_assert_not_null(exact);
		cr_assert_eq(lin_attrs_encode(src, n, exact, need), need);
		cr_assert_eq(lin_mp_check(exact, need), 0, "round %d", round);
		msgpack_zone_clear(&z);
		msgpack_object a = decode(src, n, &z), b = decode(exact, need, &z);
		cr_assert(msgpack_object_equal(a, b), "round %d", round);
		free(exact);
		free(src);
		coded++;
	}
	cr_assert_gt(coded, 1000, "only %d of 20000 damaged inputs coded",
		     coded);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}
