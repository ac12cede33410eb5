/* test_runlog.c - runlog reader and writer: round trips, bad input. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>
#include <zlib.h>

#include "format/runlog.h"
#include "format/runlog_writer.h"
#include "helpers.h"


TestSuite(runlog, .init = th_mkdir, .fini = th_rmdir);

/* Compress `n` bytes as one gzip member appended to `fp`. */
static void gz_member(FILE *fp, const void *p, size_t n)
{
	unsigned char out[16384];
	z_stream z;
	int zr;

	memset(&z, 0, sizeof z);
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8,
				  Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = out;
		z.avail_out = sizeof out;
		zr = deflate(&z, Z_FINISH);
		fwrite(out, 1, sizeof out - z.avail_out, fp);
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
}

/* How many bytes zlib inflates from the first `cut` bytes of a gzip
 * member (the truncation tests expect errors exactly there). */
static size_t inflated_len(const void *gz, size_t cut)
{
	unsigned char out[4096];
	size_t total = 0;
	z_stream z;
	int zr;

	memset(&z, 0, sizeof z);
	cr_assert_eq(inflateInit2(&z, 16 + 15), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)cut;
	do {
		z.next_out = out;
		z.avail_out = sizeof out;
		zr = inflate(&z, Z_NO_FLUSH);
		total += sizeof out - z.avail_out;
	} while (zr == Z_OK && z.avail_out == 0);
	inflateEnd(&z);
	return total;
}

/* ---- building MessagePack by hand -------------------------------------- */

struct mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void mp_init(struct mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mp_free(struct mp *m)
{
	msgpack_sbuffer_destroy(&m->sb);
}

static void mp_str(struct mp *m, const char *s)
{
	msgpack_pack_str_with_body(&m->pk, s, strlen(s));
}

static void mp_raw(struct mp *m, const void *p, size_t n)
{
	msgpack_sbuffer_write(&m->sb, p, n);
}

/* {"runlog": 1}: 9 bytes */
static void mp_header(struct mp *m)
{
	msgpack_pack_map(&m->pk, 1);
	mp_str(m, "runlog");
	msgpack_pack_int(&m->pk, 1);
}

/* {"t": kind} plus `extra` more pairs that the caller packs */
static void mp_rec(struct mp *m, const char *kind, size_t extra)
{
	msgpack_pack_map(&m->pk, 1 + extra);
	mp_str(m, "t");
	mp_str(m, kind);
}

static void mp_kv(struct mp *m, const char *k, const char *v)
{
	mp_str(m, k);
	mp_str(m, v);
}

static void mp_save(struct mp *m, const char *path)
{
	th_write_file(path, m->sb.data, m->sb.size, "wb");
}

/* ---- reading helpers --------------------------------------------------- */

static struct lin_runlog *open_ok(const char *path,
				  const struct lin_runlog_limits *lim)
{
	struct lin_runlog *r = NULL;
	struct lin_err err;
	int rc = lin_runlog_open(&r, path, lim, &err);

	cr_assert_eq(rc, 0, "open failed: %d %s", rc, err.msg);
	cr_assert_not_null(r);
	return r;
}

static void expect_open_err(const char *path, int code, uint64_t off,
			    const char *msg)
{
	struct lin_runlog *r = (struct lin_runlog *)1;
	struct lin_err err;
	int rc = lin_runlog_open(&r, path, NULL, &err);

	cr_assert_eq(rc, code, "rc %d, want %d (%s)", rc, code, err.msg);
	cr_assert_null(r);
	cr_assert_eq(err.code, code);
	cr_assert_eq(err.offset, off, "offset %llu, want %llu",
		     (unsigned long long)err.offset, (unsigned long long)off);
	cr_assert_str_eq(err.path, path);
	cr_assert(strstr(err.msg, msg), "message '%s' lacks '%s'", err.msg,
		  msg);
}

static void expect_next(struct lin_runlog *r, struct lin_record *rec,
			int code, uint64_t off, const char *msg)
{
	struct lin_err err;
	int rc = lin_runlog_next(r, rec, &err);

	cr_assert_eq(rc, code, "rc %d, want %d (%s)", rc, code, err.msg);
	if (code == 1) {
		cr_assert_eq(rec->offset, off, "offset %llu, want %llu",
			     (unsigned long long)rec->offset,
			     (unsigned long long)off);
		return;
	}
	if (code == 0)
		return;
	cr_assert_eq(err.code, code);
	cr_assert_eq(err.offset, off, "offset %llu, want %llu (%s)",
		     (unsigned long long)err.offset, (unsigned long long)off,
		     err.msg);
	cr_assert_neq(err.path[0], '\0');
	cr_assert(strstr(err.msg, msg), "message '%s' lacks '%s'", err.msg,
		  msg);
}

/* ---- round trips -------------------------------------------------------- */

static const char *const tags[] = { "baseline", "gpu" };
static const char *const aliases[] = { "best", "prod" };
static const char *const add[] = { "prod" };
static const char *const rm[] = { "staging", "old" };
static const unsigned char meta[] = {      /* {"lr": 0.5, "n": [1,2]} */
	0x82, 0xa2, 'l', 'r', 0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0,
	0xa1, 'n', 0x92, 0x01, 0x02
};

/* One record of every kind, all keys set; times exercise the 8-byte
 * (after 1970) and 12-byte (before 1970) timestamp forms. */
static void sample_records(struct lin_record rec[5])
{
	int i;

	for (i = 0; i < 5; i++)
		lin_record_clear(&rec[i]);
	rec[0].kind = LIN_REC_RUN;
	rec[0].run_id = "2x9k1";
	rec[0].entity = "acme";
	rec[0].project = "mnist";
	rec[0].name = "vivid-snow-42";
	rec[0].job_type = "train";
	rec[0].group = "sweep-1";
	rec[0].host = "node7";
	rec[0].notes = "first try";
	rec[0].tags.v = tags;
	rec[0].tags.n = 2;
	rec[0].started_at = 1700000000123456789LL;

	rec[1].kind = LIN_REC_LOG;
	rec[1].run_id = "2x9k1";
	rec[1].entity = "acme";
	rec[1].project = "mnist";
	rec[1].type = "model";
	rec[1].coll = "mnist-19pofeku";
	rec[1].digest = "5f2c0a";
	rec[1].version = 3;
	rec[1].aliases.v = aliases;
	rec[1].aliases.n = 2;
	rec[1].size = 1048576;
	rec[1].files = 3;
	rec[1].description = "a model";
	rec[1].server_id = "QXJ0aWZhY3Q6Mw==";
	rec[1].metadata = meta;
	rec[1].metadata_len = sizeof meta;
	rec[1].at = -1500000000LL;   /* 12-byte form: before 1970 */

	rec[2].kind = LIN_REC_USE;
	rec[2].run_id = "2x9k1";
	rec[2].ref = "other/proj/mnist-raw:v0";
	rec[2].type = "raw_dataset";
	rec[2].digest = "abc";
	rec[2].at = 1700000000999999999LL;    /* 8-byte, max nsec */

	rec[3].kind = LIN_REC_ALIAS;
	rec[3].ref = "mnist-19pofeku:v3";
	rec[3].add.v = add;
	rec[3].add.n = 1;
	rec[3].remove.v = rm;
	rec[3].remove.n = 2;
	rec[3].at = 0;

	rec[4].kind = LIN_REC_FINISH;
	rec[4].run_id = "2x9k1";
	rec[4].state = "failed";
	rec[4].exit_code = -9;
	rec[4].at = 1700003600000000000LL;
}

static void assert_str_field(const char *got, const char *want,
			     const char *what)
{
	if (!want) {
		cr_assert_null(got, "%s should be absent", what);
		return;
	}
	cr_assert_not_null(got, "%s missing", what);
	cr_assert_str_eq(got, want, "%s", what);
}

static void assert_strv(struct lin_strv got, struct lin_strv want)
{
	size_t i;

	cr_assert_eq(got.n, want.n);
	cr_assert_eq(got.v == NULL, want.v == NULL);
	for (i = 0; i < want.n; i++)
		cr_assert_str_eq(got.v[i], want.v[i]);
}

static void assert_same(const struct lin_record *a,
			const struct lin_record *b)
{
	cr_assert_eq(a->kind, b->kind);
	assert_str_field(a->run_id, b->run_id, "run_id");
	assert_str_field(a->entity, b->entity, "entity");
	assert_str_field(a->project, b->project, "project");
	assert_str_field(a->name, b->name, "name");
	assert_str_field(a->job_type, b->job_type, "job_type");
	assert_str_field(a->group, b->group, "group");
	assert_str_field(a->host, b->host, "host");
	assert_str_field(a->notes, b->notes, "notes");
	assert_strv(a->tags, b->tags);
	cr_assert_eq(a->started_at, b->started_at);
	assert_str_field(a->type, b->type, "type");
	assert_str_field(a->coll, b->coll, "coll");
	assert_str_field(a->digest, b->digest, "digest");
	assert_str_field(a->ref, b->ref, "ref");
	assert_str_field(a->description, b->description, "description");
	assert_str_field(a->server_id, b->server_id, "server_id");
	cr_assert_eq(a->version, b->version);
	assert_strv(a->aliases, b->aliases);
	assert_strv(a->add, b->add);
	assert_strv(a->remove, b->remove);
	cr_assert_eq(a->size, b->size);
	cr_assert_eq(a->files, b->files);
	cr_assert_eq(a->metadata_len, b->metadata_len);
	if (b->metadata_len)
		cr_assert_eq(memcmp(a->metadata, b->metadata,
				    b->metadata_len), 0);
	cr_assert_eq(a->at, b->at, "at %lld want %lld", (long long)a->at,
		     (long long)b->at);
	assert_str_field(a->state, b->state, "state");
	cr_assert_eq(a->exit_code, b->exit_code);
}

/* Size of a plain runlog holding the header and the first `k` records:
 * the stream offset of record k. */
static uint64_t offset_of(const struct lin_record *recs, int k)
{
	struct lin_runlog_writer *w;
	char *mem = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&mem, &n);
	int i;

	cr_assert_not_null(fp);
	cr_assert_eq(lin_runlog_writer_open(&w, fp, 0, "test",
					    1700000000500000000LL), 0);
	for (i = 0; i < k; i++)
		cr_assert_eq(lin_runlog_write(w, &recs[i]), 0);
	cr_assert_eq(lin_runlog_writer_close(w), 0);
	fclose(fp);
	free(mem);
	return n;
}

/* Write the sample records (in gzip mode, a new member after each of
 * the first `members` - 1 records), read them back, compare. */
static void round_trip(const char *name, int gzip, int members)
{
	struct lin_record want[5], got;
	struct lin_runlog_writer *w;
	struct lin_runlog *r;
	const char *path = th_at("%s", name);
	FILE *fp = fopen(path, "wb");
	int i;

	sample_records(want);
	cr_assert_not_null(fp);
	cr_assert_eq(lin_runlog_writer_open(&w, fp, gzip, "test",
					    1700000000500000000LL), 0);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(lin_runlog_write(w, &want[i]), 0);
		if (i + 1 < members)
			cr_assert_eq(lin_runlog_writer_new_member(w), 0);
	}
	cr_assert_eq(lin_runlog_writer_close(w), 0);
	cr_assert_eq(fclose(fp), 0);

	r = open_ok(path, NULL);
	cr_assert_str_eq(lin_runlog_producer(r), "test");
	cr_assert_eq(lin_runlog_created_at(r), 1700000000500000000LL);
	for (i = 0; i < 5; i++) {
		expect_next(r, &got, 1, offset_of(want, i), "");
		assert_same(&got, &want[i]);
	}
	expect_next(r, &got, 0, 0, "");
	expect_next(r, &got, 0, 0, "");    /* the end stays the end */
	cr_assert_eq(lin_runlog_bytes(r), offset_of(want, 5));
	if (!gzip)
		cr_assert_eq(lin_runlog_bytes(r), th_file_size(path));
	cr_assert_eq(lin_runlog_skipped(r), 0);
	lin_runlog_close(r);
}

Test(runlog, round_trip_plain)
{
	round_trip("a.runlog", 0, 1);
}

Test(runlog, round_trip_gzip)
{
	round_trip("a.runlog.gz", 1, 1);
}

Test(runlog, round_trip_gzip_members)
{
	round_trip("a.runlog.gz", 1, 5);
}

/* gzip is recognised by content: a plain file named .gz reads fine, and a
 * gzip file named .runlog does too. */
Test(runlog, detects_gzip_by_magic_not_name)
{
	struct lin_record rec;
	struct lin_runlog_writer *w;
	struct lin_runlog *r;
	struct lin_record want[5];
	FILE *fp;

	sample_records(want);
	fp = fopen(th_at("plain.runlog.gz"), "wb");
	cr_assert_eq(lin_runlog_writer_open(&w, fp, 0, NULL, LIN_TIME_NONE),
		     0);
	cr_assert_eq(lin_runlog_write(w, &want[0]), 0);
	cr_assert_eq(lin_runlog_writer_close(w), 0);
	fclose(fp);
	fp = fopen(th_at("packed.runlog"), "wb");
	cr_assert_eq(lin_runlog_writer_open(&w, fp, 1, NULL, LIN_TIME_NONE),
		     0);
	cr_assert_eq(lin_runlog_write(w, &want[0]), 0);
	cr_assert_eq(lin_runlog_writer_close(w), 0);
	fclose(fp);

	r = open_ok(th_at("plain.runlog.gz"), NULL);
	cr_assert_null(lin_runlog_producer(r));
	cr_assert_eq(lin_runlog_created_at(r), LIN_TIME_NONE);
	expect_next(r, &rec, 1, 9, "");
	assert_same(&rec, &want[0]);
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	r = open_ok(th_at("packed.runlog"), NULL);
	expect_next(r, &rec, 1, 9, "");
	assert_same(&rec, &want[0]);
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
}

/* Two gzip runlogs joined with cat: several members, and the second
 * file's header is passed over. */
Test(runlog, concatenated_gzip_files)
{
	struct mp a, b;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("cat.runlog.gz");
	FILE *fp;

	mp_init(&a);
	mp_header(&a);                      /* 0..9 */
	mp_rec(&a, "run", 1);               /* 9..22 */
	mp_kv(&a, "id", "r1");
	mp_init(&b);
	mp_header(&b);
	mp_rec(&b, "run", 1);
	mp_kv(&b, "id", "r2");
	fp = fopen(path, "wb");
	gz_member(fp, a.sb.data, a.sb.size);
	gz_member(fp, b.sb.data, b.sb.size);
	fclose(fp);

	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	cr_assert_str_eq(rec.run_id, "r1");
	/* a: 9 + 13 bytes; then b's header (9), then its run record */
	expect_next(r, &rec, 1, 22 + 9, "");
	cr_assert_str_eq(rec.run_id, "r2");
	expect_next(r, &rec, 0, 0, "");
	cr_assert_eq(lin_runlog_skipped(r), 0);
	lin_runlog_close(r);
	mp_free(&a);
	mp_free(&b);
}

/* Only the required keys: everything else reads as absent. */
Test(runlog, absent_fields)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("min.runlog");

	mp_init(&m);
	mp_header(&m);
	mp_rec(&m, "log", 3);
	mp_kv(&m, "type", "model");
	mp_kv(&m, "name", "c");
	mp_kv(&m, "digest", "d");
	mp_save(&m, path);

	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	cr_assert_eq(rec.kind, LIN_REC_LOG);
	cr_assert_str_eq(rec.type, "model");
	cr_assert_str_eq(rec.coll, "c");
	cr_assert_str_eq(rec.digest, "d");
	cr_assert_null(rec.run_id);
	cr_assert_null(rec.entity);
	cr_assert_null(rec.description);
	cr_assert_null(rec.aliases.v);
	cr_assert_eq(rec.aliases.n, 0);
	cr_assert_eq(rec.version, -1);
	cr_assert_eq(rec.size, -1);
	cr_assert_eq(rec.files, -1);
	cr_assert_null(rec.metadata);
	cr_assert_eq(rec.metadata_len, 0);
	cr_assert_eq(rec.at, LIN_TIME_NONE);
	cr_assert_eq(rec.exit_code, INT64_MIN);
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);
}

/* Unknown keys are ignored, nil counts as absent, keys of other kinds
 * are not taken over, empty arrays stay present but empty. */
Test(runlog, unknown_keys_nil_and_empty)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("keys.runlog");

	mp_init(&m);
	mp_header(&m);
	mp_rec(&m, "run", 6);
	mp_kv(&m, "id", "r");
	mp_str(&m, "future_key");
	msgpack_pack_array(&m.pk, 2);
	msgpack_pack_map(&m.pk, 0);
	msgpack_pack_nil(&m.pk);
	mp_str(&m, "host");
	msgpack_pack_nil(&m.pk);
	mp_kv(&m, "digest", "not-a-run-key");
	mp_str(&m, "tags");
	msgpack_pack_array(&m.pk, 0);
	mp_kv(&m, "name", "n");
	mp_save(&m, path);

	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	cr_assert_str_eq(rec.run_id, "r");
	cr_assert_str_eq(rec.name, "n");
	cr_assert_null(rec.host);
	cr_assert_null(rec.digest);
	cr_assert_not_null(rec.tags.v);
	cr_assert_eq(rec.tags.n, 0);
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);
}

/* Every time encoding: timestamp 32/64/96, int and float seconds. */
Test(runlog, time_encodings)
{
	static const unsigned char ts32[] = { 0xd6, 0xff, 0x65, 0x53, 0xf1,
					      0x00 };   /* 1700000000 */
	/* 64-bit: nsec 5 << 34 | 1700000000 */
	static const unsigned char ts64[] = { 0xd7, 0xff, 0x00, 0x00, 0x00,
					      0x14, 0x65, 0x53, 0xf1, 0x00 };
	/* 96-bit: nsec 1, sec -1 */
	static const unsigned char ts96[] = { 0xc7, 0x0c, 0xff,
					      0, 0, 0, 1,
					      0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff };
	const int64_t want[] = { 1700000000000000000LL,
				 1700000000000000005LL, -999999999LL,
				 1700000000000000000LL, -5000000000LL,
				 1700000000250000000LL, 1500000000LL };
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("times.runlog");
	size_t i;

	mp_init(&m);
	mp_header(&m);
	for (i = 0; i < 7; i++) {
		mp_rec(&m, "alias", 2);
		mp_kv(&m, "ref", "c:v0");
		mp_str(&m, "at");
		switch (i) {
		case 0: mp_raw(&m, ts32, sizeof ts32); break;
		case 1: mp_raw(&m, ts64, sizeof ts64); break;
		case 2: mp_raw(&m, ts96, sizeof ts96); break;
		case 3: msgpack_pack_uint64(&m.pk, 1700000000); break;
		case 4: msgpack_pack_int64(&m.pk, -5); break;
		case 5: msgpack_pack_double(&m.pk, 1700000000.25); break;
		case 6: msgpack_pack_float(&m.pk, 1.5f); break;
		}
	}
	mp_save(&m, path);

	r = open_ok(path, NULL);
	for (i = 0; i < 7; i++) {
		cr_assert_eq(lin_runlog_next(r, &rec, NULL), 1);
		cr_assert_eq(rec.at, want[i], "case %zu: %lld", i,
			     (long long)rec.at);
	}
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);
}

/* version as int N or string "vN"; metadata kept as raw bytes. */
Test(runlog, version_forms_and_metadata)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("ver.runlog");
	int i;

	mp_init(&m);
	mp_header(&m);
	for (i = 0; i < 2; i++) {
		mp_rec(&m, "log", 5);
		mp_kv(&m, "type", "model");
		mp_kv(&m, "name", "c");
		mp_kv(&m, "digest", "d");
		mp_str(&m, "version");
		if (i == 0)
			mp_str(&m, "v12");
		else
			msgpack_pack_int(&m.pk, 7);
		mp_str(&m, "metadata");
		mp_raw(&m, meta, sizeof meta);
	}
	mp_save(&m, path);

	r = open_ok(path, NULL);
	cr_assert_eq(lin_runlog_next(r, &rec, NULL), 1);
	cr_assert_eq(rec.version, 12);
	cr_assert_eq(rec.metadata_len, sizeof meta);
	cr_assert_eq(memcmp(rec.metadata, meta, sizeof meta), 0);
	cr_assert_eq(lin_runlog_next(r, &rec, NULL), 1);
	cr_assert_eq(rec.version, 7);
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);
}

/* A record larger than the initial window (256 KiB) grows it. */
Test(runlog, large_record)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("big.runlog.gz");
	char *big = malloc(900001);
	FILE *fp;

	memset(big, 'x', 900000);
	big[900000] = '\0';
	mp_init(&m);
	mp_header(&m);
	mp_rec(&m, "run", 2);
	mp_kv(&m, "id", "r");
	mp_kv(&m, "notes", big);
	mp_rec(&m, "run", 1);
	mp_kv(&m, "id", "s");
	fp = fopen(path, "wb");
	gz_member(fp, m.sb.data, m.sb.size);
	fclose(fp);

	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	cr_assert_str_eq(rec.notes, big);
	/* map, "t", "run", "id", "r", "notes", str32 header, body */
	expect_next(r, &rec, 1, 9 + 1 + 2 + 4 + 3 + 2 + 6 + 5 + 900000, "");
	cr_assert_str_eq(rec.run_id, "s");
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);
	free(big);
}

/* ---- header errors ------------------------------------------------------ */

Test(runlog, header_not_a_map)
{
	const char *path = th_at("arr.runlog");
	static const unsigned char arr[] = { 0x91, 0x01 };

	th_write_file(path, arr, sizeof arr, "wb");
	expect_open_err(path, LIN_EFORMAT, 0, "not a runlog file");
	th_write_file(path, "hello, world\n", 13, "wb");
	expect_open_err(path, LIN_EFORMAT, 0, "not a runlog file");
}

Test(runlog, header_without_runlog_key)
{
	struct mp m;
	const char *path = th_at("nokey.runlog");

	mp_init(&m);
	msgpack_pack_map(&m.pk, 1);
	mp_kv(&m, "producer", "x");
	mp_save(&m, path);
	expect_open_err(path, LIN_EFORMAT, 0, "no key 'runlog'");
	mp_free(&m);

	mp_init(&m);
	msgpack_pack_map(&m.pk, 1);
	mp_kv(&m, "runlog", "1");
	mp_save(&m, path);
	expect_open_err(path, LIN_EFORMAT, 0, "not a runlog file");
	mp_free(&m);
}

Test(runlog, header_newer_version)
{
	struct mp m;
	const char *path = th_at("v2.runlog");

	mp_init(&m);
	msgpack_pack_map(&m.pk, 1);
	mp_str(&m, "runlog");
	msgpack_pack_int(&m.pk, 2);
	mp_save(&m, path);
	expect_open_err(path, LIN_EVERSION, 0,
			"runlog version 2 is newer than supported version 1");
	mp_free(&m);
}

Test(runlog, header_bad_producer)
{
	struct mp m;
	const char *path = th_at("prod.runlog");

	mp_init(&m);
	msgpack_pack_map(&m.pk, 2);
	mp_str(&m, "runlog");
	msgpack_pack_int(&m.pk, 1);
	mp_str(&m, "producer");
	msgpack_pack_int(&m.pk, 5);
	mp_save(&m, path);
	expect_open_err(path, LIN_EFORMAT, 0, "'producer' must be a string");
	mp_free(&m);
}

Test(runlog, empty_and_missing_file)
{
	struct lin_runlog *r;
	struct lin_err err;
	const char *path = th_at("empty.runlog");

	th_write_file(path, "", 0, "wb");
	expect_open_err(path, LIN_EFORMAT, 0, "empty");
	cr_assert_eq(lin_runlog_open(&r, th_at("nope"), NULL, &err),
		     LIN_EIO);
	cr_assert_null(r);
	cr_assert_eq(err.sys, ENOENT);
	cr_assert_str_eq(err.path, th_at("nope"));
}

/* A newer file's header after the first is refused, fatally. */
Test(runlog, newer_header_later_in_stream)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("mixed.runlog");

	mp_init(&m);
	mp_header(&m);
	msgpack_pack_map(&m.pk, 1);          /* 9 */
	mp_str(&m, "runlog");
	msgpack_pack_int(&m.pk, 3);
	mp_rec(&m, "run", 1);
	mp_kv(&m, "id", "r");
	mp_save(&m, path);

	r = open_ok(path, NULL);
	expect_next(r, &rec, LIN_EVERSION, 9,
		    "runlog version 3 is newer than supported version 1");
	expect_next(r, &rec, LIN_EVERSION, 9, "version 3");
	lin_runlog_close(r);
	mp_free(&m);
}

/* ---- damaged streams ---------------------------------------------------- */

/* header (9) + run "r1" at 9 (13 bytes) + run "r2" at 22 (13 bytes) */
static void two_runs(struct mp *m)
{
	mp_init(m);
	mp_header(m);
	mp_rec(m, "run", 1);
	mp_kv(m, "id", "r1");
	mp_rec(m, "run", 1);
	mp_kv(m, "id", "r2");
	cr_assert_eq(m->sb.size, 35);
}

Test(runlog, truncated_plain)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("trunc.runlog");

	two_runs(&m);
	th_write_file(path, m.sb.data, 30, "wb");
	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ETRUNC, 30,
		    "file ends inside a record that started at byte 22");
	expect_next(r, &rec, LIN_ETRUNC, 30, "started at byte 22");
	lin_runlog_close(r);

	/* cut inside the header */
	th_write_file(path, m.sb.data, 5, "wb");
	expect_open_err(path, LIN_ETRUNC, 5, "started at byte 0");
	mp_free(&m);
}

Test(runlog, truncated_gzip)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *full = th_at("full.runlog.gz");
	const char *path = th_at("trunc.runlog.gz");
	char *gz;
	size_t n, cut;
	FILE *fp;

	two_runs(&m);
	fp = fopen(full, "wb");
	gz_member(fp, m.sb.data, m.sb.size);
	fclose(fp);
	n = th_file_size(full);
	gz = malloc(n);
	fp = fopen(full, "rb");
	cr_assert_eq(fread(gz, 1, n, fp), n);
	fclose(fp);

	/* without the 8-byte trailer: all data is there, the trailer not */
	th_write_file(path, gz, n - 8, "wb");
	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, 1, 22, "");
	expect_next(r, &rec, LIN_ETRUNC, 35, "gzip stream ends without its "
		    "trailer");
	lin_runlog_close(r);

	/* every cut inside the member: the error names the exact point
	 * where the inflated data ends and the record it cut */
	for (cut = 10; cut < n - 8; cut++) {
		size_t got = inflated_len(gz, cut);
		uint64_t start = got < 9 ? 0 : got < 22 ? 9 : 22;
		int at_edge = got == 0 || got == 9 || got == 22 ||
			      got == 35;
		const char *msg = at_edge ? "gzip stream ends without its "
			"trailer" : "file ends inside a record that started at";

		th_write_file(path, gz, cut, "wb");
		if (got < 9) {
			expect_open_err(path, LIN_ETRUNC, got, msg);
			continue;
		}
		r = open_ok(path, NULL);
		if (got >= 22)
			expect_next(r, &rec, 1, 9, "");
		if (got >= 35)
			expect_next(r, &rec, 1, 22, "");
		expect_next(r, &rec, LIN_ETRUNC, got, msg);
		if (!at_edge) {
			char want[64];

			snprintf(want, sizeof want, "at byte %llu (gzip",
				 (unsigned long long)start);
			expect_next(r, &rec, LIN_ETRUNC, got, want);
		}
		lin_runlog_close(r);
	}
	free(gz);
	mp_free(&m);
}

Test(runlog, corrupt_gzip)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("bad.runlog.gz");
	char *gz, orig;
	size_t n;
	FILE *fp;

	two_runs(&m);
	fp = fopen(path, "wb");
	gz_member(fp, m.sb.data, m.sb.size);
	fclose(fp);
	n = th_file_size(path);
	gz = malloc(n);
	fp = fopen(path, "rb");
	cr_assert_eq(fread(gz, 1, n, fp), n);
	fclose(fp);

	/* a wrong CRC: noticed after all 35 bytes were inflated */
	gz[n - 8] ^= 0x55;
	th_write_file(path, gz, n, "wb");
	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, 1, 22, "");
	expect_next(r, &rec, LIN_ECORRUPT, 35, "in gzip stream");
	expect_next(r, &rec, LIN_ECORRUPT, 35, "in gzip stream");
	lin_runlog_close(r);

	/* an invalid deflate block type (11) in the first data byte */
	gz[n - 8] ^= 0x55;
	orig = gz[10];
	gz[10] = (char)0x07;
	th_write_file(path, gz, n, "wb");
	expect_open_err(path, LIN_ECORRUPT, 0, "in gzip stream");

	/* garbage after a complete member is not another member */
	gz[10] = orig;
	gz = realloc(gz, n + 4);
	memcpy(gz + n, "junk", 4);
	th_write_file(path, gz, n + 4, "wb");
	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, 1, 22, "");
	expect_next(r, &rec, LIN_ECORRUPT, 35, "in gzip stream");
	lin_runlog_close(r);
	free(gz);
	mp_free(&m);
}

/* header, run "r1" at 9, then `bad` at 22, then run "r2" after it */
static const char *bad_after_run(const char *name, const void *bad,
				 size_t n)
{
	struct mp m;
	const char *path = th_at("%s", name);

	mp_init(&m);
	mp_header(&m);
	mp_rec(&m, "run", 1);
	mp_kv(&m, "id", "r1");
	mp_raw(&m, bad, n);
	mp_rec(&m, "run", 1);
	mp_kv(&m, "id", "r2");
	mp_save(&m, path);
	mp_free(&m);
	return path;
}

/* A fatal error at `off` after the first record; it stays. */
static void expect_fatal_after_first(const char *path,
				     const struct lin_runlog_limits *lim,
				     int code, uint64_t off, const char *msg)
{
	struct lin_record rec;
	struct lin_runlog *r = open_ok(path, lim);

	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, code, off, msg);
	expect_next(r, &rec, code, off, msg);
	lin_runlog_close(r);
}

/* A record over a limit at `off` after the first record: skipped as
 * LIN_ERECORD (the message saying so), and then either the record "r2"
 * that follows it is read (`then` 1), or, when what the record declares
 * runs past the end of the file, LIN_ETRUNC, which stays (`then` 0). */
static void expect_skip_after_first(const char *path,
				    const struct lin_runlog_limits *lim,
				    uint64_t off, const char *msg, int then)
{
	struct lin_record rec;
	struct lin_err err;
	struct lin_runlog *r = open_ok(path, lim);

	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ERECORD, off, msg);
	lin_runlog_close(r);
	r = open_ok(path, lim);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ERECORD, off, "; the record at byte 22 is "
		    "skipped");
	if (then) {
		cr_assert_eq(lin_runlog_next(r, &rec, &err), 1, "%s", err.msg);
		cr_assert_str_eq(rec.run_id, "r2");
		expect_next(r, &rec, 0, 0, "");
	} else {
		expect_next(r, &rec, LIN_ETRUNC, th_file_size(path),
			    "file ends inside a record that started at byte "
			    "22");
		expect_next(r, &rec, LIN_ETRUNC, th_file_size(path), "");
	}
	lin_runlog_close(r);
}

/* One value a byte or a few away from a valid one, after a first valid
 * record: a fatal error, or a record skipped over a limit (then the
 * record "r2" after it read, or the file ending inside it). The bytes
 * are inline, not pointers: Criterion may run each case in a fresh
 * process. */
struct bad_value {
	char name[16];               /* file name, and the case */
	unsigned char bytes[16];
	size_t n;
	size_t max_string;           /* 0: the default limits */
	int fatal;                   /* LIN_ECORRUPT, which stays */
	uint64_t off;
	char msg[80];
	int then;                    /* expect_skip_after_first's */
};

ParameterizedTestParameters(runlog, bad_value_after_a_record)
{
	static struct bad_value cases[] = {
		/* the reserved byte 0xc1 inside a record: {"t": 0xc1} */
		{ "c1", { 0x81, 0xa1, 't', 0xc1 }, 4, 0, 1, 25, "0xc1", 0 },
		/* and where a record should start */
		{ "c1b", { 0xc1 }, 1, 0, 1, 22, "0xc1", 0 },
		/* {"t": str32 of 4 GiB - 1}, with no body at all: refused
		 * before anything is allocated; stepping over the 4 GiB
		 * meets the end of the file */
		{ "str", { 0x81, 0xa1, 't', 0xdb, 0xff, 0xff, 0xff, 0xff },
		  8, 0, 0, 25, "max_string", 0 },
		/* bin32 and ext32 are bounded the same way */
		{ "bin", { 0xc6, 0xff, 0xff, 0xff, 0xff }, 5, 0, 0, 22,
		  "max_string", 0 },
		{ "ext", { 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01 }, 6, 0, 0, 22,
		  "max_string", 0 },
		/* a lowered limit (6 lets "runlog" in the header pass) */
		{ "s7", { 0x81, 0xa1, 't', 0xa7, 'a', 'b', 'c', 'd', 'e', 'f',
			  'g' }, 11, 6, 0, 25, "string of 7 bytes exceeds the "
		  "max_string limit of 6", 1 },
		{ "arr", { 0x81, 0xa1, 't', 0xdd, 0xff, 0xff, 0xff, 0xff }, 8,
		  0, 0, 25, "array of 4294967295 items exceeds the max_items "
		  "limit of 65536", 0 },
		{ "map", { 0xdf, 0xff, 0xff, 0xff, 0xff }, 5, 0, 0, 22,
		  "map of 4294967295 entries exceeds the max_items limit",
		  0 },
	};
	return cr_make_param_array(struct bad_value, cases,
				   sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_value *c, runlog, bad_value_after_a_record)
{
	struct lin_runlog_limits lim = { .max_string = c->max_string };
	char file[32];

	snprintf(file, sizeof file, "%s.runlog", c->name);
	const char *path = bad_after_run(file, c->bytes, c->n);
	if (c->fatal)
		expect_fatal_after_first(path, NULL, LIN_ECORRUPT, c->off,
					 c->msg);
	else
		expect_skip_after_first(path, c->max_string ? &lim : NULL,
					c->off, c->msg, c->then);
}

Test(runlog, deep_nesting)
{
	unsigned char *bad = malloc(10001);
	struct lin_runlog_limits lim = { .max_depth = 4 };

	/* 10,000 nested one-item arrays around a 0 */
	memset(bad, 0x91, 10000);
	bad[10000] = 0x00;
	/* arrays 1..32 are allowed; the 33rd, at 22 + 32, is not; the
	 * rest is stepped over without recursion and r2 is read */
	expect_skip_after_first(bad_after_run("deep.runlog", bad, 10001),
				NULL, 22 + 32, "nesting exceeds the max_depth "
				"limit of 32 in record at byte 22", 1);
	/* a lowered limit: {"t": [[[0]]]} is depth 4, [[[[0]]]] inside 5 */
	{
		static const unsigned char ok[] = { 0x82, 0xa1, 't', 0xa3,
			'r', 'u', 'n', 0xa2, 'i', 'd', 0x93, 0x91, 0x91,
			0x00, 0x00, 0x00 };
		static const unsigned char deep[] = { 0x81, 0xa1, 'x',
			0x91, 0x91, 0x91, 0x91, 0x00 };
		struct lin_record rec;
		struct lin_runlog *r;
		struct mp m;

		mp_init(&m);
		mp_header(&m);
		mp_raw(&m, ok, sizeof ok);        /* 9: id is not a str */
		mp_raw(&m, deep, sizeof deep);    /* 25 */
		mp_save(&m, th_at("d4.runlog"));
		mp_free(&m);
		r = open_ok(th_at("d4.runlog"), &lim);
		expect_next(r, &rec, LIN_ERECORD, 9, "key 'id' of 'run' "
			    "record at byte 9 must be a string");
		expect_next(r, &rec, LIN_ERECORD, 25 + 6, "max_depth limit "
			    "of 4");
		expect_next(r, &rec, 0, 0, "");
		lin_runlog_close(r);
	}
	free(bad);
}

Test(runlog, record_over_max_record)
{
	struct lin_runlog_limits lim = { .max_record = 1000 };
	char *s = malloc(2001);
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("big.runlog");

	memset(s, 'y', 2000);
	s[2000] = '\0';
	mp_init(&m);
	mp_header(&m);
	mp_rec(&m, "run", 1);                 /* 9 */
	mp_kv(&m, "id", "r1");
	mp_rec(&m, "run", 2);                 /* 22 */
	mp_kv(&m, "id", "r2");
	mp_kv(&m, "notes", s);
	mp_rec(&m, "run", 1);                 /* 22 + 2022 */
	mp_kv(&m, "id", "r3");
	mp_save(&m, path);

	r = open_ok(path, &lim);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ERECORD, 22, "record at byte 22 exceeds the "
		    "max_record limit of 1000 bytes; the record at byte 22 is "
		    "skipped");
	expect_next(r, &rec, 1, 2044, "");
	cr_assert_str_eq(rec.run_id, "r3");
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	/* with the default limits it is fine */
	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, 1, 22, "");
	cr_assert_eq(strlen(rec.notes), 2000);
	lin_runlog_close(r);
	mp_free(&m);
	free(s);
}

/* 200 MB of zero bytes behind a valid header, as one gzip member of
 * about 200 KB. Each 0x00 is a value that is not a record; they are
 * reported as one damaged stretch, and the reader must stop at
 * max_inflated exactly. */
Test(runlog, gzip_bomb, .timeout = 60)
{
	static unsigned char zeros[1 << 16];
	static unsigned char out[1 << 16];
	struct lin_runlog_limits lim = { .max_inflated = 1 << 20 };
	static const unsigned char hdr[] = { 0x81, 0xa6, 'r', 'u', 'n', 'l',
					     'o', 'g', 0x01 };
	const char *path = th_at("bomb.runlog.gz");
	struct lin_record rec;
	struct lin_runlog *r;
	struct lin_err err;
	uint64_t bad = 0;
	z_stream z;
	FILE *fp = fopen(path, "wb");
	size_t left = 200u << 20;
	int rc, zr;

	memset(&z, 0, sizeof z);
	cr_assert_eq(deflateInit2(&z, 1, Z_DEFLATED, 16 + 15, 8,
				  Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)hdr;
	z.avail_in = sizeof hdr;
	do {
		int flush = Z_NO_FLUSH;

		if (z.avail_in == 0 && left) {
			size_t k = left < sizeof zeros ? left : sizeof zeros;

			z.next_in = zeros;
			z.avail_in = (uInt)k;
			left -= k;
		}
		if (!left && z.avail_in == 0)
			flush = Z_FINISH;
		z.next_out = out;
		z.avail_out = sizeof out;
		zr = deflate(&z, flush);
		fwrite(out, 1, sizeof out - z.avail_out, fp);
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	fclose(fp);
	cr_assert_lt(th_file_size(path), 1 << 20);

	r = open_ok(path, &lim);
	while ((rc = lin_runlog_next(r, &rec, &err)) == LIN_ERECORD) {
		char want[200];

		snprintf(want, sizeof want, "record at byte 9 is not a map; "
			 "the %zu values after it, to byte 1048576, are no "
			 "records either: skipped as one damaged stretch",
			 (size_t)(1 << 20) - sizeof hdr - 1);
		cr_assert_str_eq(err.msg, want);
		cr_assert_eq(err.offset, sizeof hdr);
		bad++;
	}
	cr_assert_eq(rc, LIN_ELIMIT, "rc %d: %s", rc, err.msg);
	cr_assert_eq(err.offset, 1 << 20);
	cr_assert(strstr(err.msg, "max_inflated limit of 1048576 bytes in "
			 "gzip stream"), "%s", err.msg);
	cr_assert_eq(bad, 1);
	cr_assert_eq(lin_runlog_bytes(r), 1 << 20);
	lin_runlog_close(r);
}

/* The same bound on a plain file. */
Test(runlog, plain_over_max_inflated)
{
	struct lin_runlog_limits lim = { .max_inflated = 30 };
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;

	two_runs(&m);            /* 35 bytes: the second record ends at 35 */
	mp_save(&m, th_at("p.runlog"));
	r = open_ok(th_at("p.runlog"), &lim);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ELIMIT, 30, "max_inflated limit of 30");
	lin_runlog_close(r);
	mp_free(&m);
}

Test(runlog, non_map_record)
{
	static const unsigned char bad[] = { 0x92, 0xa1, 't', 0x05 };
	struct lin_record rec;
	struct lin_runlog *r;

	r = open_ok(bad_after_run("nm.runlog", bad, sizeof bad), NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ERECORD, 22, "record at byte 22 is not a "
		    "map");
	expect_next(r, &rec, 1, 26, "");
	cr_assert_str_eq(rec.run_id, "r2");
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
}

/* Values that are no records, one after another (zeros, a string, an
 * array holding a map, maps without key 't'), are one error naming the
 * stretch; the record after them is read whole. */
Test(runlog, junk_stretch_is_one_error)
{
	static const unsigned char bad[] = {
		0x00, 0x00, 0xc0, 0xff,             /* 4 one-byte values */
		0xa3, 'a', 'b', 'c',                /* "abc" */
		0x91, 0x81, 0xa1, 't', 0x01,        /* [{"t": 1}] */
		0x80,                               /* {} */
		0x81, 0xa1, 'x', 0xa1, 't',         /* {"x": "t"} */
		0x00 };
	struct lin_record rec;
	struct lin_runlog *r;

	r = open_ok(bad_after_run("junk.runlog", bad, sizeof bad), NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ERECORD, 22, "record at byte 22 is not a "
		    "map; the 8 values after it, to byte 42, are no records "
		    "either: skipped as one damaged stretch");
	expect_next(r, &rec, 1, 42, "");
	cr_assert_str_eq(rec.run_id, "r2");
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
}

/* A stretch ends at a map with key 't', even a bad record, which keeps
 * its own error; a stretch that starts with a map without 't' names
 * that. */
Test(runlog, junk_stretch_stops_at_a_record)
{
	static const unsigned char bad[] = {
		0x80, 0x05,                         /* {} 5 */
		0x81, 0xa1, 't', 0x07,              /* {"t": 7}: a record */
		0x01, 0x02 };
	struct lin_record rec;
	struct lin_runlog *r;

	r = open_ok(bad_after_run("junk2.runlog", bad, sizeof bad), NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ERECORD, 22, "record at byte 22 has no key "
		    "'t'; the value after it, to byte 24, is no record "
		    "either: skipped with it");
	expect_next(r, &rec, LIN_ERECORD, 24, "key 't' of record at byte 24 "
		    "must be a string");
	expect_next(r, &rec, LIN_ERECORD, 28, "record at byte 28 is not a "
		    "map; the value after it, to byte 30");
	expect_next(r, &rec, 1, 30, "");
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
}

/* A stretch at the end of the file, or before a truncated record, is
 * reported first; what ends it is reported next, as it was before. */
Test(runlog, junk_stretch_then_end_or_truncation)
{
	static const unsigned char tail[] = { 0x00, 0x01, 0x02 };
	static const unsigned char cut[] = { 0x00, 0x01, 0x82, 0xa1, 't' };
	const char *path = th_at("junk-end.runlog");
	struct lin_record rec;
	struct lin_runlog *r;
	struct mp m;

	mp_init(&m);
	mp_header(&m);
	mp_rec(&m, "run", 1);
	mp_kv(&m, "id", "r1");
	mp_raw(&m, tail, sizeof tail);
	mp_save(&m, path);
	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ERECORD, 22, "the 2 values after it, to "
		    "byte 25, are no records either");
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);

	mp_init(&m);
	mp_header(&m);
	mp_rec(&m, "run", 1);
	mp_kv(&m, "id", "r1");
	mp_raw(&m, cut, sizeof cut);
	mp_save(&m, path);
	r = open_ok(path, NULL);
	expect_next(r, &rec, 1, 9, "");
	expect_next(r, &rec, LIN_ERECORD, 22, "the value after it, to byte "
		    "24");
	expect_next(r, &rec, LIN_ETRUNC, 27, "file ends inside a record "
		    "that started at byte 24");
	lin_runlog_close(r);
	mp_free(&m);
}

/* Strings are UTF-8 without NUL: a NUL used to cut the C string short
 * ("mnist\0bad" read as "mnist"). Each bad string skips its record, the
 * next record is read; the message names the key and the byte. */
Test(runlog, strings_must_be_utf8_without_nul)
{
	static const struct {
		const char *kind, *key, *val;
		size_t n;
		int in_array;
		const char *msg;
	} cases[] = {
		{ "log", "name", "mnist\0bad", 9, 0, "contains a NUL byte" },
		{ "log", "name", "mnist-\xff\xfe-raw", 12, 0,
		  "is not valid UTF-8 (byte 0xff" },
		{ "run", "id", "r\0", 2, 0, "contains a NUL byte" },
		{ "use", "ref", "m:\xc0\x80", 4, 0, "not valid UTF-8" },
		{ "log", "aliases", "be\0st", 5, 1, "contains a NUL byte" },
		{ "run", "tags", "\xed\xa0\x80", 3, 1, "not valid UTF-8" },
		{ "alias", "add", "pro\xe2\x82", 5, 1, "not valid UTF-8" },
		{ "finish", "state", "\xf4\x90\x80\x80", 4, 0,
		  "not valid UTF-8" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mp m;
		struct lin_record rec;
		struct lin_runlog *r;
		const char *path = th_at("text.runlog");
		int is_log = !strcmp(cases[i].kind, "log");
		int is_use = !strcmp(cases[i].kind, "use");
		int is_alias = !strcmp(cases[i].kind, "alias");
		int is_run = !strcmp(cases[i].kind, "run");
		size_t extra = 1 + (is_log ? 3 : 0) +
			       (is_run && strcmp(cases[i].key, "id") ? 1 : 0) +
			       (is_alias ? 1 : 0);
		char want[160];

		mp_init(&m);
		mp_header(&m);
		mp_rec(&m, cases[i].kind, extra);
		if (is_log) {
			mp_kv(&m, "type", "dataset");
			mp_kv(&m, "digest", "d0");
			if (strcmp(cases[i].key, "name"))
				mp_kv(&m, "name", "mnist");
			else
				mp_kv(&m, "run", "r1");
		}
		if (is_run && strcmp(cases[i].key, "id"))
			mp_kv(&m, "id", "r1");
		if (is_alias)
			mp_kv(&m, "ref", "mnist:v0");
		mp_str(&m, cases[i].key);
		if (cases[i].in_array)
			msgpack_pack_array(&m.pk, 1);
		msgpack_pack_str_with_body(&m.pk, cases[i].val, cases[i].n);
		mp_rec(&m, "run", 1);
		mp_kv(&m, "id", "after");
		mp_save(&m, path);
		mp_free(&m);

		r = open_ok(path, NULL);
		snprintf(want, sizeof want, "key '%s' of '%s' record at byte 9 ",
			 cases[i].key, cases[i].kind);
		struct lin_err err;
		int rc = lin_runlog_next(r, &rec, &err);
		cr_assert_eq(rc, LIN_ERECORD, "case %zu: rc %d", i, rc);
		cr_assert_eq(err.offset, 9, "case %zu", i);
		cr_assert(strstr(err.msg, want) &&
			  strstr(err.msg, cases[i].msg),
			  "case %zu: '%s'", i, err.msg);
		/* the kind is known, so the indexer can tell a skipped run */
		cr_assert_eq(rec.kind, is_run ? LIN_REC_RUN : is_log ?
			     LIN_REC_LOG : is_use ? LIN_REC_USE : is_alias ?
			     LIN_REC_ALIAS : LIN_REC_FINISH, "case %zu", i);
		cr_assert_eq(lin_runlog_next(r, &rec, &err), 1, "case %zu", i);
		cr_assert_str_eq(rec.run_id, "after");
		lin_runlog_close(r);
	}
}

/* Metadata nests at most LIN_METADATA_MAX_DEPTH levels: the store keeps
 * it inside other values, which msgpack-c reads only 32 levels deep. */
Test(runlog, metadata_nesting_is_bounded)
{
	for (int extra = 0; extra < 2; extra++) {
		struct mp m;
		struct lin_record rec;
		struct lin_runlog *r;
		const char *path = th_at("meta.runlog");

		mp_init(&m);
		mp_header(&m);
		mp_rec(&m, "log", 5);
		mp_kv(&m, "run", "r1");
		mp_kv(&m, "type", "model");
		mp_kv(&m, "name", "m");
		mp_kv(&m, "digest", "d1");
		mp_str(&m, "metadata");
		msgpack_pack_map(&m.pk, 1);           /* level 1 */
		mp_str(&m, "a");
		for (int i = 1; i < LIN_METADATA_MAX_DEPTH + extra; i++)
			msgpack_pack_array(&m.pk, 1);
		msgpack_pack_nil(&m.pk);
		mp_save(&m, path);
		mp_free(&m);
		r = open_ok(path, NULL);
		if (!extra) {
			expect_next(r, &rec, 1, 9, "");
			cr_assert_gt(rec.metadata_len, LIN_METADATA_MAX_DEPTH);
		} else {
			expect_next(r, &rec, LIN_ERECORD, 9, "key 'metadata' of "
				    "'log' record at byte 9 must be a map nested "
				    "at most 24 levels deep");
		}
		expect_next(r, &rec, 0, 0, "");
		lin_runlog_close(r);
	}
}

/* Each kind without each required key: an error for that record only. */
Test(runlog, missing_required_keys)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("req.runlog");
	uint64_t off[10];
	int i = 0;

	mp_init(&m);
	mp_header(&m);
	off[i++] = m.sb.size;
	mp_rec(&m, "run", 1);
	mp_kv(&m, "name", "no id");
	off[i++] = m.sb.size;
	mp_rec(&m, "log", 2);
	mp_kv(&m, "name", "c");
	mp_kv(&m, "digest", "d");
	off[i++] = m.sb.size;
	mp_rec(&m, "log", 2);
	mp_kv(&m, "type", "t");
	mp_kv(&m, "digest", "d");
	off[i++] = m.sb.size;
	mp_rec(&m, "log", 2);
	mp_kv(&m, "type", "t");
	mp_kv(&m, "name", "c");
	off[i++] = m.sb.size;
	mp_rec(&m, "use", 1);
	mp_kv(&m, "type", "t");
	off[i++] = m.sb.size;
	mp_rec(&m, "alias", 1);
	mp_str(&m, "add");
	msgpack_pack_array(&m.pk, 1);
	mp_str(&m, "prod");
	off[i++] = m.sb.size;
	mp_rec(&m, "run", 1);
	mp_str(&m, "id");
	msgpack_pack_nil(&m.pk);
	off[i++] = m.sb.size;
	msgpack_pack_map(&m.pk, 1);
	mp_kv(&m, "id", "no t");
	off[i++] = m.sb.size;
	mp_rec(&m, "finish", 0);   /* no required key at all */
	mp_save(&m, path);

	r = open_ok(path, NULL);
	expect_next(r, &rec, LIN_ERECORD, off[0], "'run' record at byte 9 "
		    "lacks required key 'id'");
	expect_next(r, &rec, LIN_ERECORD, off[1], "lacks required key "
		    "'type'");
	expect_next(r, &rec, LIN_ERECORD, off[2], "lacks required key "
		    "'name'");
	expect_next(r, &rec, LIN_ERECORD, off[3], "lacks required key "
		    "'digest'");
	expect_next(r, &rec, LIN_ERECORD, off[4], "'use' record at byte 94 "
		    "lacks required key 'ref'");
	expect_next(r, &rec, LIN_ERECORD, off[5], "'alias' record at byte "
		    "108 lacks required key 'ref'");
	expect_next(r, &rec, LIN_ERECORD, off[6], "lacks required key 'id'");
	expect_next(r, &rec, LIN_ERECORD, off[7], "has no key 't'");
	expect_next(r, &rec, 1, off[8], "");
	cr_assert_eq(rec.kind, LIN_REC_FINISH);
	cr_assert_null(rec.run_id);
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);
}

/* A key of the wrong type: an error for that record only, naming the
 * key, the kind and the offset. */
Test(runlog, wrong_key_types)
{
	/* 12-byte timestamp with nsec 1e9 (invalid) */
	static const unsigned char badts[] = { 0xc7, 0x0c, 0xff,
					       0x3b, 0x9a, 0xca, 0x00,
					       0, 0, 0, 0, 0, 0, 0, 0 };
	static const struct {
		const char *kind, *key, *msg;
	} want[] = {
		{ "log", "digest", "must be a string" },
		{ "run", "tags", "must be an array of strings" },
		{ "log", "size", "must be a non-negative integer" },
		{ "log", "version", "must be an integer N or a string \"vN\"" },
		{ "log", "version", "must be an integer N or a string \"vN\"" },
		{ "use", "at", "must be a time" },
		{ "use", "ref", "must be a string" },          /* bin */
		{ "log", "metadata", "must be a map" },
		{ "finish", "exit_code", "must be an integer" },
		{ "alias", "at", "must be a time within the 64-bit nanosecond "
		  "range" },
		{ "alias", "at", "must be a valid MessagePack timestamp" },
		{ "finish", "exit_code", "must be within the 64-bit integer "
		  "range" },
	};
	const size_t nw = sizeof want / sizeof want[0];
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("types.runlog");
	uint64_t off[16];
	char msg[200];
	size_t i = 0;

#define LOG3(extra) do { mp_rec(&m, "log", 3 + (extra)); \
	mp_kv(&m, "type", "t"); mp_kv(&m, "name", "c"); } while (0)
	mp_init(&m);
	mp_header(&m);
	off[i++] = m.sb.size;
	LOG3(0);
	mp_str(&m, "digest");
	msgpack_pack_int(&m.pk, 5);
	off[i++] = m.sb.size;
	mp_rec(&m, "run", 2);
	mp_kv(&m, "id", "r");
	mp_str(&m, "tags");
	msgpack_pack_array(&m.pk, 2);
	mp_str(&m, "a");
	msgpack_pack_int(&m.pk, 1);
	off[i++] = m.sb.size;
	LOG3(1);
	mp_kv(&m, "digest", "d");
	mp_str(&m, "size");
	msgpack_pack_int(&m.pk, -1);
	off[i++] = m.sb.size;
	LOG3(1);
	mp_kv(&m, "digest", "d");
	mp_kv(&m, "version", "latest");
	off[i++] = m.sb.size;
	LOG3(1);
	mp_kv(&m, "digest", "d");
	mp_str(&m, "version");
	msgpack_pack_double(&m.pk, 1.0);
	off[i++] = m.sb.size;
	mp_rec(&m, "use", 2);
	mp_kv(&m, "ref", "c:v0");
	mp_kv(&m, "at", "yesterday");
	off[i++] = m.sb.size;
	mp_rec(&m, "use", 1);
	mp_str(&m, "ref");
	msgpack_pack_bin_with_body(&m.pk, "c:v0", 4);
	off[i++] = m.sb.size;
	LOG3(1);
	mp_kv(&m, "digest", "d");
	mp_str(&m, "metadata");
	msgpack_pack_array(&m.pk, 0);
	off[i++] = m.sb.size;
	mp_rec(&m, "finish", 1);
	mp_str(&m, "exit_code");
	msgpack_pack_true(&m.pk);
	off[i++] = m.sb.size;
	mp_rec(&m, "alias", 2);
	mp_kv(&m, "ref", "c:v0");
	mp_str(&m, "at");
	msgpack_pack_uint64(&m.pk, 10000000000ULL);  /* year 2286+ */
	off[i++] = m.sb.size;
	mp_rec(&m, "alias", 2);
	mp_kv(&m, "ref", "c:v0");
	mp_str(&m, "at");
	mp_raw(&m, badts, sizeof badts);
	off[i++] = m.sb.size;
	mp_rec(&m, "finish", 1);
	mp_str(&m, "exit_code");
	msgpack_pack_uint64(&m.pk, UINT64_MAX);
	off[i++] = m.sb.size;
	mp_rec(&m, "run", 1);            /* and the stream goes on */
	mp_kv(&m, "id", "last");
	mp_save(&m, path);
	cr_assert_eq(i, nw + 1);
#undef LOG3

	r = open_ok(path, NULL);
	for (i = 0; i < nw; i++) {
		snprintf(msg, sizeof msg, "key '%s' of '%s' record at byte "
			 "%llu %s", want[i].key, want[i].kind,
			 (unsigned long long)off[i], want[i].msg);
		expect_next(r, &rec, LIN_ERECORD, off[i], msg);
	}
	expect_next(r, &rec, 1, off[nw], "");
	cr_assert_str_eq(rec.run_id, "last");
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);
}

/* "t" itself: not a string; a key that is not a string. */
Test(runlog, bad_kind_and_keys)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("t.runlog");

	mp_init(&m);
	mp_header(&m);
	msgpack_pack_map(&m.pk, 1);      /* 9: {"t": 1} */
	mp_str(&m, "t");
	msgpack_pack_int(&m.pk, 1);
	mp_rec(&m, "run", 1);            /* 13: {"t": "run", 1: "x"} */
	msgpack_pack_int(&m.pk, 1);
	mp_str(&m, "x");
	mp_rec(&m, "run", 1);            /* 23 */
	mp_kv(&m, "id", "ok");
	mp_save(&m, path);

	r = open_ok(path, NULL);
	expect_next(r, &rec, LIN_ERECORD, 9, "key 't' of record at byte 9 "
		    "must be a string");
	expect_next(r, &rec, LIN_ERECORD, 13, "record at byte 13 has a key "
		    "that is not a string");
	expect_next(r, &rec, 1, 23, "");
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
	mp_free(&m);
}

Test(runlog, unknown_kind_skipped_and_counted)
{
	struct mp m;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("unk.runlog");
	uint64_t last;

	mp_init(&m);
	mp_header(&m);
	mp_rec(&m, "metric", 2);
	mp_kv(&m, "name", "loss");
	mp_str(&m, "value");
	msgpack_pack_double(&m.pk, 0.5);
	mp_rec(&m, "run", 1);
	mp_kv(&m, "id", "r");
	mp_rec(&m, "checkpoint", 0);
	mp_rec(&m, "", 0);
	last = m.sb.size;
	mp_rec(&m, "finish", 1);
	mp_kv(&m, "state", "finished");
	mp_save(&m, path);

	r = open_ok(path, NULL);
	cr_assert_eq(lin_runlog_skipped(r), 0);
	expect_next(r, &rec, 1, 9 + 1 + 2 + 7 + 5 + 5 + 6 + 9, "");
	cr_assert_eq(rec.kind, LIN_REC_RUN);
	cr_assert_eq(lin_runlog_skipped(r), 1);
	expect_next(r, &rec, 1, last, "");
	cr_assert_eq(rec.kind, LIN_REC_FINISH);
	cr_assert_str_eq(rec.state, "finished");
	cr_assert_eq(lin_runlog_skipped(r), 3);
	expect_next(r, &rec, 0, 0, "");
	cr_assert_eq(lin_runlog_bytes(r), th_file_size(path));
	lin_runlog_close(r);
	mp_free(&m);
}

/* The writer refuses a kind it does not know and writes nothing. */
Test(runlog, writer_rejects_unknown_kind)
{
	struct lin_runlog_writer *w;
	struct lin_record rec;
	struct lin_runlog *r;
	const char *path = th_at("w.runlog");
	FILE *fp = fopen(path, "wb");

	lin_record_clear(&rec);
	rec.kind = (enum lin_rec_kind)42;
	cr_assert_eq(lin_runlog_writer_open(&w, fp, 0, "p", LIN_TIME_NONE),
		     0);
	cr_assert_eq(lin_runlog_write(w, &rec), LIN_EINVAL);
	cr_assert_eq(lin_runlog_writer_close(w), 0);
	fclose(fp);
	r = open_ok(path, NULL);
	expect_next(r, &rec, 0, 0, "");
	lin_runlog_close(r);
}

/* A bomb of valid records (each a map with a 60 KB bin of zeros under an
 * unknown key, in an unknown kind) is stopped by the expansion ratio long
 * before max_inflated. */
Test(runlog, gzip_bomb_of_valid_records_stopped_by_ratio, .timeout = 60)
{
	static unsigned char rec[1 + 4 + 2 + 5 + 60000];
	static unsigned char out[1 << 16];
	static const unsigned char hdr[] = { 0x81, 0xa6, 'r', 'u', 'n', 'l',
					     'o', 'g', 0x01 };
	const char *path = th_at("valid-bomb.runlog.gz");
	struct lin_record r0;
	struct lin_runlog *r;
	struct lin_err err;
	z_stream z;
	FILE *fp = fopen(path, "wb");
	size_t n = 0, records = 8000;   /* 480 MB inflated */
	int rc, zr;

	/* {"t": "x", "z": bin32(60000)} */
	rec[n++] = 0x82;
	rec[n++] = 0xa1; rec[n++] = 't'; rec[n++] = 0xa1; rec[n++] = 'x';
	rec[n++] = 0xa1; rec[n++] = 'z';
	rec[n++] = 0xc6; rec[n++] = 0; rec[n++] = 0;
	rec[n++] = 60000 >> 8; rec[n++] = 60000 & 0xff;
	n += 60000;
	cr_assert_not_null(fp);
	memset(&z, 0, sizeof z);
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 8,
				  Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)hdr;
	z.avail_in = sizeof hdr;
	do {
		int flush = Z_NO_FLUSH;
		if (z.avail_in == 0 && records) {
			z.next_in = rec;
			z.avail_in = (uInt)n;
			records--;
		}
		if (!records && z.avail_in == 0)
			flush = Z_FINISH;
		z.next_out = out;
		z.avail_out = sizeof out;
		zr = deflate(&z, flush);
		fwrite(out, 1, sizeof out - z.avail_out, fp);
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	fclose(fp);
	cr_assert_lt(th_file_size(path), 2u << 20);

	cr_assert_eq(lin_runlog_open(&r, path, NULL, &err), 0, "%s", err.msg);
	while ((rc = lin_runlog_next(r, &r0, &err)) == 1)
		;
	cr_assert_eq(rc, LIN_ELIMIT, "got %d: %s", rc, err.msg);
	cr_assert(strstr(err.msg, "gzip bomb"), "%s", err.msg);
	cr_assert_lt(lin_runlog_bytes(r), 300u << 20);
	lin_runlog_close(r);
}
