/* test_wandb.c - the protobuf wire decoder (suite pbwire) and the .wandb
 * reader and writer (suite wandb). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/pbwire.h"
#include "format/wandb.h"
#include "format/wandb_writer.h"

#include "helpers.h"

#define REAL "../shared/fixtures/wandb-real/offline-run-20210216_154407-" \
	"g9dvvkua/run-g9dvvkua.wandb"
#define BLK LIN_WANDB_BLOCK

/* ---- pbwire ------------------------------------------------------------ */

static int read_varint(const void *p, size_t n, uint64_t *v, size_t *used)
{
	struct lin_pb c;
	int rc;

	lin_pb_init(&c, p, n);
	rc = lin_pb_varint(&c, v);
	*used = lin_pb_pos(&c);
	return rc;
}

Test(pbwire, varint_round_trip)
{
	static const uint64_t vals[] = {
		0, 1, 127, 128, 300, 16383, 16384, 0xffffffffu,
		1ull << 35, (1ull << 63) - 1, 1ull << 63, UINT64_MAX
	};
	unsigned char b[LIN_PB_MAX_VARINT];

	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		size_t n = lin_pb_put_varint(b, vals[i]), used;
		uint64_t v;
		cr_assert_eq(n, lin_pb_varint_len(vals[i]));
		cr_assert_eq(read_varint(b, n, &v, &used), 0);
		cr_assert_eq(v, vals[i]);
		cr_assert_eq(used, n);
	}
	cr_assert_eq(lin_pb_varint_len(UINT64_MAX), 10);
}

Test(pbwire, varint_ten_bytes_is_the_maximum)
{
	unsigned char b[11];
	uint64_t v;
	size_t used;

	memset(b, 0xff, 9);
	b[9] = 0x01;                    /* UINT64_MAX, 10 bytes */
	cr_assert_eq(read_varint(b, 10, &v, &used), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(used, 10);
}

Test(pbwire, varint_overlong_but_short_enough_is_accepted)
{
	unsigned char b[LIN_PB_MAX_VARINT];
	uint64_t v;
	size_t used;

	cr_assert_eq(lin_pb_put_varint_n(b, 5, 4), 4);
	cr_assert_eq(read_varint(b, 4, &v, &used), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(used, 4);
	cr_assert_eq(lin_pb_put_varint_n(b, 0, 10), 10);
	cr_assert_eq(read_varint(b, 10, &v, &used), 0);
	cr_assert_eq(v, 0);
}

Test(pbwire, fields_of_every_wire_type)
{
	struct lin_pbuf b = {0};
	struct lin_pb c;
	struct lin_pb_field f;

	lin_pbuf_uint(&b, 1, 150);
	lin_pbuf_fixed32(&b, 2, 0xdeadbeef);
	lin_pbuf_fixed64(&b, 3, 0x0123456789abcdefull);
	lin_pbuf_str(&b, 4, "hello");
	lin_pbuf_str(&b, 5, "");        /* proto3 default: left out */
	lin_pbuf_uint(&b, LIN_PB_MAX_FIELD, (uint64_t)(int64_t)-2);
	cr_assert_not(b.oom);

	lin_pb_init(&c, b.p, b.len);
	cr_assert_eq(lin_pb_next(&c, &f), 1);
	cr_assert(f.num == 1 && f.wire == LIN_PB_VARINT && f.u == 150);
	cr_assert_eq(lin_pb_next(&c, &f), 1);
	cr_assert(f.num == 2 && f.wire == LIN_PB_I32 && f.u == 0xdeadbeef);
	cr_assert_eq(lin_pb_next(&c, &f), 1);
	cr_assert(f.num == 3 && f.wire == LIN_PB_I64 &&
		  f.u == 0x0123456789abcdefull);
	cr_assert_eq(lin_pb_next(&c, &f), 1);
	cr_assert(f.num == 4 && f.wire == LIN_PB_LEN && f.len == 5);
	cr_assert_eq(memcmp(f.data, "hello", 5), 0);
	cr_assert_eq(lin_pb_next(&c, &f), 1);
	cr_assert_eq(f.num, LIN_PB_MAX_FIELD);
	cr_assert_eq(lin_pb_int64(f.u), -2);
	cr_assert_eq(lin_pb_int32(f.u), -2);
	cr_assert_eq(lin_pb_next(&c, &f), 0);
	cr_assert_eq(lin_pb_pos(&c), b.len);
	cr_assert_eq(lin_pb_zigzag(3), -2);
	cr_assert_eq(lin_pb_zigzag(4), 2);
	lin_pbuf_release(&b);
}

Test(pbwire, length_beyond_slice_is_truncation)
{
	/* field 1, LEN 5, but only 3 bytes follow */
	static const unsigned char b[] = {0x0a, 0x05, 'a', 'b', 'c'};
	static const unsigned char fx[] = {0x0d, 1, 2, 3};  /* cut fixed32 */
	static const unsigned char huge[] = {0x0a, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0x7f};
	struct lin_pb c;
	struct lin_pb_field f;

	lin_pb_init(&c, b, sizeof b);
	cr_assert_eq(lin_pb_next(&c, &f), LIN_ETRUNC);
	cr_assert_eq(lin_pb_pos(&c), 0);
	lin_pb_init(&c, fx, sizeof fx);
	cr_assert_eq(lin_pb_next(&c, &f), LIN_ETRUNC);
	lin_pb_init(&c, huge, sizeof huge);
	cr_assert_eq(lin_pb_next(&c, &f), LIN_ETRUNC);
}

/* Inputs a byte away from valid ones, read as one varint or as one
 * field: each is refused, and a varint refused leaves the cursor where
 * it was. The bytes are inline: Criterion may run each case in a fresh
 * process. */
struct pb_bad {
	char what[40];
	int field;                   /* lin_pb_next, else lin_pb_varint */
	unsigned char b[12];
	size_t n;
	int rc;
};

ParameterizedTestParameters(pbwire, one_byte_from_valid_is_refused)
{
	static struct pb_bad cases[] = {
		{ "varint: continuation at the end", 0, { 0x80, 0x80 }, 2,
		  LIN_ETRUNC },
		{ "varint: no bytes", 0, { 0 }, 0, LIN_ETRUNC },
		{ "varint: bit 64 does not fit", 0, { 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0x02 }, 10, LIN_ECORRUPT },
		{ "varint: 11 bytes, overlong", 0, { 0x80, 0x80, 0x80, 0x80,
		  0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 }, 11,
		  LIN_ECORRUPT },
		{ "key: field number 0", 1, { 0x02, 0x00 }, 2, LIN_ECORRUPT },
		{ "key: wire type 6", 1, { 0x0e, 0x00 }, 2, LIN_ECORRUPT },
		{ "key: wire type 7", 1, { 0x0f, 0x00 }, 2, LIN_ECORRUPT },
		{ "key: end group without a start", 1, { 0x0c }, 1,
		  LIN_ECORRUPT },
	};
	return cr_make_param_array(struct pb_bad, cases,
				   sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct pb_bad *c, pbwire, one_byte_from_valid_is_refused)
{
	struct lin_pb_field f;
	struct lin_pb pb;
	uint64_t v;
	size_t used;

	if (c->field) {
		lin_pb_init(&pb, c->b, c->n);
		cr_assert_eq(lin_pb_next(&pb, &f), c->rc, "%s", c->what);
	} else {
		cr_assert_eq(read_varint(c->b, c->n, &v, &used), c->rc, "%s",
			     c->what);
		cr_assert_eq(used, 0, "%s: the cursor must not move on error",
			     c->what);
	}
}

Test(pbwire, unknown_groups_are_skipped)
{
	struct lin_pbuf b = {0};
	struct lin_pb c;
	struct lin_pb_field f;

	/* group 7 { 1: 5, group 8 { 2: "x" } } then field 9 = 42 */
	lin_pbuf_tag(&b, 7, LIN_PB_SGROUP);
	lin_pbuf_uint(&b, 1, 5);
	lin_pbuf_tag(&b, 8, LIN_PB_SGROUP);
	lin_pbuf_str(&b, 2, "x");
	lin_pbuf_tag(&b, 8, LIN_PB_EGROUP);
	lin_pbuf_tag(&b, 7, LIN_PB_EGROUP);
	lin_pbuf_uint(&b, 9, 42);
	lin_pb_init(&c, b.p, b.len);
	cr_assert_eq(lin_pb_next(&c, &f), 1);
	cr_assert(f.num == 9 && f.u == 42);
	cr_assert_eq(lin_pb_next(&c, &f), 0);

	/* an end with the wrong number, and a group never closed */
	lin_pbuf_reset(&b);
	lin_pbuf_tag(&b, 7, LIN_PB_SGROUP);
	lin_pbuf_tag(&b, 6, LIN_PB_EGROUP);
	lin_pb_init(&c, b.p, b.len);
	cr_assert_eq(lin_pb_next(&c, &f), LIN_ECORRUPT);
	lin_pbuf_reset(&b);
	lin_pbuf_tag(&b, 7, LIN_PB_SGROUP);
	lin_pbuf_uint(&b, 1, 5);
	lin_pb_init(&c, b.p, b.len);
	cr_assert_eq(lin_pb_next(&c, &f), LIN_ETRUNC);
	lin_pbuf_release(&b);
}

/* ---- helpers for the .wandb tests ------------------------------------- */

static char path[64];
static FILE *fp;
static struct lin_wandb_writer *W;
static struct lin_wandb *R;
static struct lin_err err;

static void new_file(void)
{
	int fd;

	strcpy(path, "/tmp/lin-wandb-test-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	fp = fdopen(fd, "w+b");
	cr_assert_not_null(fp);
	cr_assert_eq(lin_wandb_writer_open(&W, fp), 0);
}

static void open_reader(const char *fallback)
{
	cr_assert_eq(lin_wandb_writer_close(W), 0);
	W = NULL;
	cr_assert_eq(fclose(fp), 0);
	fp = NULL;
	cr_assert_eq(lin_wandb_open(&R, path, fallback, &err), 0,
		     "open: %s", err.msg);
}

static void cleanup(void)
{
	if (W)
		lin_wandb_writer_close(W);
	if (fp)
		fclose(fp);
	lin_wandb_close(R);
	R = NULL;
	if (path[0])
		unlink(path);
}

TestSuite(wandb, .fini = cleanup);

static void expect_end(void)
{
	struct lin_record r;

	cr_assert_eq(lin_wandb_next(R, &r, &err), 0, "expected the end, "
		     "got: %s", err.msg);
	cr_assert_eq(lin_wandb_next(R, &r, &err), 0);
}

/* Next call returns a record of `kind` at `off`. */
static void expect_rec(struct lin_record *r, enum lin_rec_kind kind,
		       uint64_t off)
{
	int rc = lin_wandb_next(R, r, &err);

	cr_assert_eq(rc, 1, "expected a record at %llu, got %d: %s",
		     (unsigned long long)off, rc, err.msg);
	cr_assert_eq(r->kind, kind);
	cr_assert_eq(r->offset, off, "offset %llu, expected %llu",
		     (unsigned long long)r->offset, (unsigned long long)off);
}

static void expect_err(int code, uint64_t off, const char *needle)
{
	struct lin_record r;
	int rc = lin_wandb_next(R, &r, &err);

	cr_assert_eq(rc, code, "expected %d, got %d (%s)", code, rc, err.msg);
	cr_assert_eq(err.offset, off, "error offset %llu, expected %llu: %s",
		     (unsigned long long)err.offset, (unsigned long long)off,
		     err.msg);
	cr_assert(strstr(err.msg, needle), "message '%s' lacks '%s'",
		  err.msg, needle);
	cr_assert_str_eq(err.path, path);
}

/* Write a use_artifact record named `name`; return its offset. */
static uint64_t put_use(const char *name)
{
	uint64_t off = lin_wandb_writer_offset(W);

	cr_assert_eq(lin_wandb_write_use(W, "QXJ0aWZhY3Q6MQ==", "dataset",
					 name), 0);
	return off;
}

static void expect_use(const char *name, uint64_t off)
{
	struct lin_record r;

	expect_rec(&r, LIN_REC_USE, off);
	cr_assert_str_eq(r.ref, name);
}

static uint64_t put_filler(unsigned field, size_t size)
{
	uint64_t off = lin_wandb_writer_offset(W);

	cr_assert_eq(lin_wandb_write_filler(W, field, size), 0);
	return off;
}

static long file_size(void)
{
	FILE *f = fopen(path, "rb");
	long n;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

/* ---- the real file ------------------------------------------------------ */

Test(wandb, real_file_from_wandb_0_10_20)
{
	struct lin_record r;

	if (access(REAL, R_OK) != 0)
		cr_skip_test("%s is absent", REAL);
	cr_assert_eq(lin_wandb_open(&R, REAL, NULL, &err), 0, "%s", err.msg);
	expect_rec(&r, LIN_REC_RUN, 17);
	cr_assert_str_eq(r.run_id, "g9dvvkua");
	cr_assert_str_eq(r.project, "code-toad");
	cr_assert_str_eq(r.host, "cvp");
	cr_assert_null(r.entity);      /* offline: not known yet */
	cr_assert_eq(r.started_at, 1613519047000000000ll);

	expect_rec(&r, LIN_REC_LOG, 341);
	cr_assert_str_eq(r.run_id, "g9dvvkua");
	cr_assert_str_eq(r.entity, "vanpelt");
	cr_assert_str_eq(r.project, "code-toad");
	cr_assert_str_eq(r.type, "code");
	cr_assert_str_eq(r.coll, "source-g9dvvkua");
	cr_assert_str_eq(r.digest, "cc557740a90e40c5090544b6592d2aa3");
	cr_assert_eq(r.aliases.n, 1);
	cr_assert_str_eq(r.aliases.v[0], "latest");
	cr_assert_eq(r.files, 54);
	cr_assert_eq(r.size, 153959);
	cr_assert_eq(r.version, -1);

	expect_rec(&r, LIN_REC_FINISH, 7589);
	cr_assert_str_eq(r.state, "finished");
	cr_assert_eq(r.exit_code, 0);
	cr_assert_str_eq(r.run_id, "g9dvvkua");
	expect_end();
	cr_assert_eq(lin_wandb_bytes(R), 7868);
	cr_assert_eq(lin_wandb_records(R), 10);
}

/* ---- header ------------------------------------------------------------- */

Test(wandb, sniff)
{
	cr_assert(lin_wandb_sniff(":W&B\xe1\xbe\x00", 7));
	cr_assert(lin_wandb_sniff(":W&B\xe1\xbe\x01", 7));
	cr_assert_not(lin_wandb_sniff(":W&B\xe1\xbe", 6));
	cr_assert_not(lin_wandb_sniff(":W&B\xe1\xbf\x00", 7));
	cr_assert_not(lin_wandb_sniff("\x82\xa6runlog", 7));
}

Test(wandb, header_errors)
{
	new_file();
	cr_assert_eq(lin_wandb_writer_close(W), 0);
	W = NULL;
	fclose(fp);
	fp = NULL;

	th_write_file(path, ":W&B\xe1\xbe\x01", 7, "wb");
	cr_assert_eq(lin_wandb_open(&R, path, NULL, &err), LIN_EVERSION);
	cr_assert_null(R);
	cr_assert(strstr(err.msg, "version 1"), "%s", err.msg);
	th_write_file(path, ":W&B\xe1\xbe", 6, "wb");
	cr_assert_eq(lin_wandb_open(&R, path, NULL, &err), LIN_EFORMAT);
	th_write_file(path, "", 0, "wb");
	cr_assert_eq(lin_wandb_open(&R, path, NULL, &err), LIN_EFORMAT);
	th_write_file(path, "PK\x03\x04\x00\x00\x00\x00", 8, "wb");
	cr_assert_eq(lin_wandb_open(&R, path, NULL, &err), LIN_EFORMAT);
	cr_assert_str_eq(err.path, path);
	cr_assert_eq(lin_wandb_open(&R, "/nonexistent/x.wandb", NULL, &err),
		     LIN_EIO);
	cr_assert_neq(err.sys, 0);

	/* header only: an empty log */
	th_write_file(path, ":W&B\xe1\xbe\x00", 7, "wb");
	cr_assert_eq(lin_wandb_open(&R, path, NULL, &err), 0);
	expect_end();
}

/* ---- round trips -------------------------------------------------------- */

Test(wandb, run_record_round_trip)
{
	static const char *const tags[] = {"baseline", "lr-sweep"};
	struct lin_record in, r;
	uint64_t off;

	lin_record_clear(&in);
	in.run_id = "2x9k1";
	in.entity = "acme";
	in.project = "mnist";
	in.name = "vivid-snow-42";
	in.job_type = "train";
	in.group = "exp-1";
	in.host = "gpu-3";
	in.notes = "first try";
	in.tags.v = tags;
	in.tags.n = 2;
	in.started_at = 1700000000123456789ll;
	new_file();
	off = lin_wandb_writer_offset(W);
	cr_assert_eq(off, 7);
	cr_assert_eq(lin_wandb_write_run(W, &in), 0);
	/* before the epoch: floor seconds, positive nanos */
	in.run_id = "old";
	in.started_at = -1500000000ll;
	in.tags.n = 0;
	uint64_t off2 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_run(W, &in), 0);
	open_reader(NULL);

	expect_rec(&r, LIN_REC_RUN, off);
	cr_assert_str_eq(r.run_id, "2x9k1");
	cr_assert_str_eq(r.entity, "acme");
	cr_assert_str_eq(r.project, "mnist");
	cr_assert_str_eq(r.name, "vivid-snow-42");
	cr_assert_str_eq(r.job_type, "train");
	cr_assert_str_eq(r.group, "exp-1");
	cr_assert_str_eq(r.host, "gpu-3");
	cr_assert_str_eq(r.notes, "first try");
	cr_assert_eq(r.tags.n, 2);
	cr_assert_str_eq(r.tags.v[0], "baseline");
	cr_assert_str_eq(r.tags.v[1], "lr-sweep");
	cr_assert_eq(r.started_at, 1700000000123456789ll);
	expect_rec(&r, LIN_REC_RUN, off2);
	cr_assert_str_eq(r.run_id, "old");
	cr_assert_eq(r.started_at, -1500000000ll);
	cr_assert_eq(r.tags.n, 0);
	expect_end();
}

Test(wandb, artifact_record_round_trip)
{
	static const char *const aliases[] = {"latest", "best"};
	static const struct lin_wandb_entry ents[] = {
		{"model.pt", "aGVsbG8=", 1000}, {"cfg.json", "d29ybGQ=", 24},
		{"empty", "e30=", 0}
	};
	const char *json = "{\"epochs\": 10, \"note\": \"a longer text that "
			   "needs a str8 header\"}";
	struct lin_wandb_artifact a = {0};
	struct lin_record r;
	uint64_t off;

	a.run_id = "2x9k1";
	a.entity = "acme";
	a.project = "mnist";
	a.type = "model";
	a.name = "mnist-cnn";
	a.digest = "5f2c0a";
	a.description = "trained CNN";
	a.metadata_json = json;
	a.aliases = aliases;
	a.naliases = 2;
	a.entries = ents;
	a.nentries = 3;
	new_file();
	off = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_artifact(W, &a), 0);
	open_reader(NULL);

	expect_rec(&r, LIN_REC_LOG, off);
	cr_assert_str_eq(r.run_id, "2x9k1");
	cr_assert_str_eq(r.entity, "acme");
	cr_assert_str_eq(r.project, "mnist");
	cr_assert_str_eq(r.type, "model");
	cr_assert_str_eq(r.coll, "mnist-cnn");
	cr_assert_str_eq(r.digest, "5f2c0a");
	cr_assert_str_eq(r.description, "trained CNN");
	cr_assert_eq(r.aliases.n, 2);
	cr_assert_str_eq(r.aliases.v[0], "latest");
	cr_assert_str_eq(r.aliases.v[1], "best");
	cr_assert_eq(r.files, 3);
	cr_assert_eq(r.size, 1024);
	cr_assert_eq(r.version, -1);
	cr_assert_eq(r.at, LIN_TIME_NONE);
	/* metadata: the JSON object as a MessagePack map, as runlog's */
	static const unsigned char want[] = {
		0x82, 0xa6, 'e', 'p', 'o', 'c', 'h', 's', 0x0a,
		0xa4, 'n', 'o', 't', 'e', 0xd9, 38
	};
	const unsigned char *m = r.metadata;
	cr_assert_eq(r.metadata_len, sizeof want + 38);
	cr_assert_eq(memcmp(m, want, sizeof want), 0);
	cr_assert_eq(memcmp(m + sizeof want, "a longer text that needs a str8 "
			    "header", 38), 0);
	expect_end();
}

/* Metadata that is not JSON is kept as the text W&B wrote. */
Test(wandb, artifact_metadata_that_is_not_json_stays_text)
{
	struct lin_wandb_artifact a = {0};
	struct lin_record r;
	uint64_t off;

	a.type = "dataset";
	a.name = "raw";
	a.digest = "d1";
	a.metadata_json = "{\"a\": 1,}";
	new_file();
	off = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_artifact(W, &a), 0);
	open_reader("run1");
	expect_rec(&r, LIN_REC_LOG, off);
	cr_assert_eq(r.metadata_len, 10);
	cr_assert_eq(memcmp(r.metadata, "\xa9{\"a\": 1,}", 10), 0);
	expect_end();
}

Test(wandb, artifact_without_run_or_manifest)
{
	struct lin_wandb_artifact a = {0};
	struct lin_record run, r;
	uint64_t off1, off2, off3, offr;

	a.type = "dataset";
	a.name = "raw";
	a.digest = "d1";
	a.metadata_json = "{}";
	new_file();
	off1 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_artifact(W, &a), 0);
	lin_record_clear(&run);
	run.run_id = "abc";
	offr = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_run(W, &run), 0);
	off2 = lin_wandb_writer_offset(W);
	a.manifest = 1;                 /* an empty manifest */
	cr_assert_eq(lin_wandb_write_artifact(W, &a), 0);
	off3 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_exit(W, 0, 5), 0);
	open_reader("fallback1");

	expect_rec(&r, LIN_REC_LOG, off1);
	cr_assert_str_eq(r.run_id, "fallback1");  /* no RunRecord yet */
	cr_assert_null(r.entity);
	cr_assert_null(r.project);
	cr_assert_null(r.description);
	cr_assert_eq(r.files, -1);
	cr_assert_eq(r.size, -1);
	cr_assert_eq(r.aliases.n, 0);
	cr_assert_eq(r.metadata_len, 1);
	cr_assert_eq(memcmp(r.metadata, "\x80", 1), 0);  /* {} */
	expect_rec(&r, LIN_REC_RUN, offr);
	expect_rec(&r, LIN_REC_LOG, off2);
	cr_assert_str_eq(r.run_id, "abc");
	cr_assert_eq(r.files, 0);
	cr_assert_eq(r.size, 0);
	/* exit with a runtime but no start_time: no end time */
	expect_rec(&r, LIN_REC_FINISH, off3);
	cr_assert_eq(r.at, LIN_TIME_NONE);
	expect_end();
}

Test(wandb, use_record_takes_the_files_run)
{
	struct lin_record run, r;
	uint64_t u1, u2, ur;

	new_file();
	u1 = put_use("raw:v0");
	lin_record_clear(&run);
	run.run_id = "r-one";
	ur = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_run(W, &run), 0);
	u2 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_use(W, NULL, NULL, "model:v3"), 0);
	open_reader(NULL);

	expect_rec(&r, LIN_REC_USE, u1);
	cr_assert_null(r.run_id);       /* neither RunRecord nor fallback */
	cr_assert_str_eq(r.ref, "raw:v0");
	cr_assert_str_eq(r.type, "dataset");
	cr_assert_str_eq(r.server_id, "QXJ0aWZhY3Q6MQ==");
	cr_assert_null(r.digest);
	expect_rec(&r, LIN_REC_RUN, ur);
	expect_rec(&r, LIN_REC_USE, u2);
	cr_assert_str_eq(r.run_id, "r-one");
	cr_assert_str_eq(r.ref, "model:v3");
	cr_assert_null(r.type);
	cr_assert_null(r.server_id);
	expect_end();
}

Test(wandb, exit_records)
{
	struct lin_record run, r;
	uint64_t e1, e2, e3;

	new_file();
	lin_record_clear(&run);
	run.run_id = "r";
	run.started_at = 1000000000000000000ll;
	cr_assert_eq(lin_wandb_write_run(W, &run), 0);
	e1 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_exit(W, 0, 3600), 0);
	e2 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_exit(W, -9, 12), 0);
	e3 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_exit(W, 1, 0), 0);
	open_reader(NULL);

	cr_assert_eq(lin_wandb_next(R, &r, &err), 1);
	expect_rec(&r, LIN_REC_FINISH, e1);
	cr_assert_str_eq(r.state, "finished");
	cr_assert_eq(r.exit_code, 0);
	cr_assert_str_eq(r.run_id, "r");
	cr_assert_eq(r.at, 1000000000000000000ll + 3600000000000ll);
	expect_rec(&r, LIN_REC_FINISH, e2);
	cr_assert_str_eq(r.state, "failed");
	cr_assert_eq(r.exit_code, -9);
	cr_assert_eq(r.at, 1000000000000000000ll + 12000000000ll);
	expect_rec(&r, LIN_REC_FINISH, e3);
	cr_assert_str_eq(r.state, "failed");
	cr_assert_eq(r.exit_code, 1);
	cr_assert_eq(r.at, LIN_TIME_NONE);  /* runtime unknown */
	expect_end();
}

Test(wandb, non_lineage_records_are_skipped)
{
	static const unsigned kinds[] = {
		LIN_WANDB_F_HEADER, LIN_WANDB_F_HISTORY, LIN_WANDB_F_SUMMARY,
		LIN_WANDB_F_CONFIG, LIN_WANDB_F_FILES, LIN_WANDB_F_STATS,
		LIN_WANDB_F_TELEMETRY, LIN_WANDB_F_FINAL, LIN_WANDB_F_FOOTER,
		100
	};
	uint64_t u;

	new_file();
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		put_filler(kinds[i], 50 + i);
	/* 300 KB of history spans ten blocks; with a 1000-byte record limit
	 * it must still be skipped without complaint: it is not buffered. */
	put_filler(LIN_WANDB_F_HISTORY, 300000);
	cr_assert_eq(lin_wandb_write_record(W, "", 0), 0); /* empty */
	u = put_use("after:v0");
	open_reader(NULL);
	lin_wandb_set_max_record(R, 1000);

	expect_use("after:v0", u);
	expect_end();
	cr_assert_eq(lin_wandb_records(R), 13);
	cr_assert_eq(lin_wandb_bytes(R), (uint64_t)file_size());
}

Test(wandb, unknown_fields_are_skipped)
{
	struct lin_pbuf run = {0}, rec = {0}, grp = {0};
	struct lin_record r;
	uint64_t off;

	/* RunRecord with unknown fields of every wire type around the
	 * known ones, and a known field with the wrong wire type. */
	lin_pbuf_uint(&run, 300, 7);
	lin_pbuf_str(&run, 1, "runX");
	lin_pbuf_fixed32(&run, 301, 1);
	lin_pbuf_fixed64(&run, 302, 2);
	lin_pbuf_tag(&run, 303, LIN_PB_SGROUP);
	lin_pbuf_str(&run, 1, "inside a group: ignored");
	lin_pbuf_tag(&run, 303, LIN_PB_EGROUP);
	lin_pbuf_uint(&run, 8, 99);     /* display_name as a varint */
	lin_pbuf_str(&run, 4, "{config...}");
	lin_pbuf_str(&run, 3, "proj");
	/* Record: num, unknown LEN 250, control, then the run, uuid */
	lin_pbuf_uint(&rec, 1, 12);
	lin_pbuf_str(&rec, 250, "future field");
	lin_pbuf_str(&grp, 1, "x");
	lin_pbuf_bytes(&rec, 16, grp.p, grp.len);
	lin_pbuf_bytes(&rec, 17, run.p, run.len);
	lin_pbuf_str(&rec, 19, "uuid-1");
	cr_assert_not(rec.oom || run.oom || grp.oom);

	new_file();
	off = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_record(W, rec.p, rec.len), 0);
	open_reader(NULL);
	expect_rec(&r, LIN_REC_RUN, off);
	cr_assert_str_eq(r.run_id, "runX");
	cr_assert_str_eq(r.project, "proj");
	cr_assert_null(r.name);
	expect_end();
	lin_pbuf_release(&run);
	lin_pbuf_release(&rec);
	lin_pbuf_release(&grp);
}

Test(wandb, invalid_records_are_reported_one_by_one)
{
	struct lin_pbuf b = {0};
	struct lin_wandb_artifact a = {0};
	struct lin_record run;
	uint64_t o1, o2, o3, o4, o5, o6, u;

	new_file();
	lin_record_clear(&run);
	o1 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_run(W, &run), 0);  /* no run_id */
	a.type = "model";
	a.name = "m";
	o2 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_artifact(W, &a), 0);  /* no digest */
	o3 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_use(W, "id", "t", NULL), 0);
	/* Record whose run field claims more bytes than it has */
	o4 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_record(W, "\x8a\x01\x05\x0a", 4), 0);
	/* a NUL inside a string */
	lin_pbuf_bytes(&b, 3, "ab\0c", 4);
	o5 = lin_wandb_writer_offset(W);
	struct lin_pbuf rec = {0};
	lin_pbuf_bytes(&rec, 25, b.p, b.len);
	cr_assert_eq(lin_wandb_write_record(W, rec.p, rec.len), 0);
	/* a lineage field with the wrong wire type */
	o6 = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_record(W, "\x88\x01\x05", 3), 0);
	u = put_use("ok:v1");
	open_reader(NULL);

	expect_err(LIN_ERECORD, o1, "no run_id");
	expect_err(LIN_ERECORD, o2, "no digest");
	expect_err(LIN_ERECORD, o3, "no name");
	expect_err(LIN_ERECORD, o4, "malformed Record");
	expect_err(LIN_ERECORD, o5, "NUL");
	expect_err(LIN_ERECORD, o6, "malformed Record");
	expect_use("ok:v1", u);
	expect_end();
	lin_pbuf_release(&b);
	lin_pbuf_release(&rec);
}

/* ---- framing ------------------------------------------------------------ */

Test(wandb, records_spanning_blocks)
{
	struct lin_wandb_artifact a = {0};
	struct lin_record r;
	size_t n = 3 * BLK + 1234;
	char *desc = malloc(n + 1);
	uint64_t off, u;

	cr_assert_not_null(desc);
	for (size_t i = 0; i < n; i++)
		desc[i] = (char)('a' + i % 26);
	desc[n] = '\0';
	a.type = "dataset";
	a.name = "big";
	a.digest = "d";
	a.description = desc;
	new_file();
	put_filler(LIN_WANDB_F_HISTORY, 1000);
	off = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_artifact(W, &a), 0);
	u = put_use("big:v0");
	cr_assert_gt(u, 3 * BLK);
	open_reader(NULL);

	expect_rec(&r, LIN_REC_LOG, off);
	cr_assert_eq(strlen(r.description), n);
	cr_assert_eq(memcmp(r.description, desc, n), 0);
	expect_use("big:v0", u);
	expect_end();
	free(desc);
}

/* Fill block 0 up to `left` bytes before its end. */
static void fill_block_to(size_t left)
{
	uint64_t at = lin_wandb_writer_offset(W);
	size_t want = BLK - left - at - LIN_WANDB_CHUNK_HEADER;

	put_filler(LIN_WANDB_F_HISTORY, want);
	cr_assert_eq(lin_wandb_writer_offset(W) % BLK == 0 ? BLK :
		     BLK - lin_wandb_writer_offset(W) % BLK,
		     left < 7 ? BLK : left);
}

Test(wandb, block_end_padding_of_one_to_six_bytes)
{
	for (size_t left = 1; left <= 6; left++) {
		unsigned char tail[8];
		uint64_t u;

		new_file();
		fill_block_to(left);
		u = put_use("next:v0");
		cr_assert_eq(u, BLK, "the record must start the next block");
		open_reader(NULL);
		expect_use("next:v0", u);
		expect_end();
		cr_assert_eq(lin_wandb_bytes(R), (uint64_t)file_size());

		/* the padding is zeros, exactly `left` of them */
		FILE *f = fopen(path, "rb");
		cr_assert_not_null(f);
		fseek(f, BLK - (long)left - 1, SEEK_SET);
		cr_assert_eq(fread(tail, 1, left + 1, f), left + 1);
		fclose(f);
		cr_assert_neq(tail[0], 0, "the filler ends right before");
		for (size_t i = 1; i <= left; i++)
			cr_assert_eq(tail[i], 0);
		lin_wandb_close(R);
		R = NULL;
		unlink(path);
	}
}

Test(wandb, padding_content_is_ignored_and_ends_cleanly)
{
	uint64_t u;

	/* garbage in a 3-byte block tail is still padding */
	new_file();
	fill_block_to(3);
	cr_assert_eq(lin_wandb_write_raw(W, "xyz", 3), 0);
	u = put_use("n:v0");
	cr_assert_eq(u, BLK);
	open_reader(NULL);
	expect_use("n:v0", u);
	expect_end();
	lin_wandb_close(R);
	R = NULL;
	unlink(path);

	/* a file that ends inside a block's padding ends cleanly */
	new_file();
	fill_block_to(5);
	cr_assert_eq(lin_wandb_write_raw(W, "\0\0", 2), 0);
	open_reader(NULL);
	expect_end();
	cr_assert_eq(lin_wandb_bytes(R), BLK - 3);
}

Test(wandb, chunk_header_exactly_filling_a_block)
{
	/* 7 bytes left: a FIRST chunk with no data, the rest next block */
	struct lin_record r;
	uint64_t u;
	unsigned char h[7];

	new_file();
	fill_block_to(7);
	u = put_use("split:v0");
	cr_assert_eq(u, BLK - 7);
	open_reader(NULL);
	expect_rec(&r, LIN_REC_USE, BLK - 7);
	cr_assert_str_eq(r.ref, "split:v0");
	expect_end();

	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, BLK - 7, SEEK_SET);
	cr_assert_eq(fread(h, 1, 7, f), 7);
	fclose(f);
	cr_assert_eq(h[4] | h[5] << 8, 0, "empty FIRST chunk");
	cr_assert_eq(h[6], LIN_WANDB_FIRST);
}

Test(wandb, writer_splits_first_middle_last)
{
	unsigned char h[7];
	size_t n = 2 * BLK + 100;
	long at[] = {7, BLK, 2 * BLK};
	int types[] = {LIN_WANDB_FIRST, LIN_WANDB_MIDDLE, LIN_WANDB_LAST};

	new_file();
	put_filler(LIN_WANDB_F_STATS, n);
	cr_assert_eq(lin_wandb_writer_close(W), 0);
	W = NULL;
	fclose(fp);
	fp = NULL;
	cr_assert_eq((size_t)file_size(), 7 + n + 3 * 7);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	for (int i = 0; i < 3; i++) {
		fseek(f, at[i], SEEK_SET);
		cr_assert_eq(fread(h, 1, 7, f), 7);
		cr_assert_eq(h[6], types[i]);
	}
	fclose(f);
}

/* ---- damage ------------------------------------------------------------- */

Test(wandb, bad_checksum_skips_to_the_next_block)
{
	uint64_t a, bad, d;

	new_file();
	a = put_use("a:v0");
	bad = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_FULL, "\xca\x01\x00",
					   3, LIN_WANDB_BAD_CRC), 0);
	put_use("lost-in-block:v0");
	cr_assert_eq(lin_wandb_write_zero_block(W), 0);
	d = put_use("d:v0");
	cr_assert_eq(d, BLK);
	open_reader(NULL);

	expect_use("a:v0", a);
	expect_err(LIN_EDAMAGE, bad, "checksum mismatch in chunk at byte");
	cr_assert(strstr(err.msg, "skipped to byte 32768"), "%s", err.msg);
	expect_use("d:v0", d);
	expect_end();
}

Test(wandb, bad_checksum_inside_a_record_drops_it_quietly)
{
	/* FIRST ok, MIDDLE damaged in block 1, LAST in block 2 */
	uint64_t first, bad, u;
	char want[80];

	new_file();
	fill_block_to(9);               /* room for a 2-byte FIRST chunk */
	first = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_FIRST, "\xca\x01",
					   2, 0), 0);
	cr_assert_eq(lin_wandb_writer_offset(W), BLK);
	bad = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_MIDDLE, "\x00", 1,
					   LIN_WANDB_BAD_CRC), 0);
	cr_assert_eq(lin_wandb_write_zero_block(W), 0);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_MIDDLE, "", 0, 0), 0);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_LAST, "", 0, 0), 0);
	u = put_use("u:v0");
	open_reader(NULL);

	expect_err(LIN_EDAMAGE, bad, "checksum mismatch");
	snprintf(want, sizeof want, "the record that started at byte %llu "
		 "is lost", (unsigned long long)first);
	cr_assert(strstr(err.msg, want), "%s", err.msg);
	/* the orphaned MIDDLE and LAST of that record: no second report */
	expect_use("u:v0", u);
	expect_end();
}

Test(wandb, impossible_length)
{
	uint64_t a, bad, d;

	new_file();
	a = put_use("a:v0");
	bad = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk_header(W, 0, 40000,
						  LIN_WANDB_FULL), 0);
	cr_assert_eq(lin_wandb_write_zero_block(W), 0);
	d = put_use("d:v0");
	open_reader(NULL);

	expect_use("a:v0", a);
	expect_err(LIN_EDAMAGE, bad, "length 40000 beyond the block end");
	expect_use("d:v0", d);
	expect_end();
}

Test(wandb, unknown_chunk_type)
{
	uint64_t bad, d;

	new_file();
	bad = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, 9, "abc", 3, 0), 0);
	cr_assert_eq(lin_wandb_write_zero_block(W), 0);
	d = put_use("d:v0");
	open_reader(NULL);
	expect_err(LIN_EDAMAGE, bad, "unknown type 9");
	expect_use("d:v0", d);
	expect_end();
}

Test(wandb, middle_without_first)
{
	uint64_t a, mid, last, b, c;

	new_file();
	a = put_use("a:v0");
	mid = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_MIDDLE, "xy", 2, 0),
		     0);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_LAST, "z", 1, 0), 0);
	b = put_use("b:v0");
	last = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_LAST, "z", 1, 0), 0);
	c = put_use("c:v0");
	open_reader(NULL);

	expect_use("a:v0", a);
	expect_err(LIN_EDAMAGE, mid, "MIDDLE chunk at byte");
	expect_use("b:v0", b);          /* same block: still read */
	expect_err(LIN_EDAMAGE, last, "LAST chunk at byte");
	expect_use("c:v0", c);
	expect_end();
}

Test(wandb, first_followed_by_full)
{
	uint64_t a, first, b;
	char want[64];

	new_file();
	a = put_use("a:v0");
	first = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_FIRST, "\xca\x01",
					   2, 0), 0);
	b = put_use("b:v0");
	open_reader(NULL);

	expect_use("a:v0", a);
	expect_err(LIN_EDAMAGE, first, "has no LAST chunk");
	snprintf(want, sizeof want, "a FULL chunk follows at byte %llu",
		 (unsigned long long)b);
	cr_assert(strstr(err.msg, want), "%s", err.msg);
	expect_use("b:v0", b);
	expect_end();
}

Test(wandb, first_followed_by_first)
{
	struct lin_pbuf rec = {0};
	uint64_t first, second;

	lin_pbuf_bytes(&rec, 25, "\x1a\x04x:v0", 6);
	new_file();
	first = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_FIRST, "\xca\x01",
					   2, 0), 0);
	second = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_FIRST, rec.p, 3, 0),
		     0);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_LAST, rec.p + 3,
					   rec.len - 3, 0), 0);
	open_reader(NULL);
	expect_err(LIN_EDAMAGE, first, "a FIRST chunk follows");
	expect_use("x:v0", second);
	expect_end();
	lin_pbuf_release(&rec);
}

Test(wandb, truncated_inside_a_record)
{
	struct lin_wandb_artifact a = {0};
	char *desc = calloc(1, BLK + 10);
	uint64_t u, off;

	cr_assert_not_null(desc);
	memset(desc, 'q', BLK + 5);
	a.type = "t";
	a.name = "n";
	a.digest = "d";
	a.description = desc;
	new_file();
	u = put_use("kept:v0");
	off = lin_wandb_writer_offset(W);
	/* write it whole, then cut the file as a crash would */
	cr_assert_eq(lin_wandb_write_artifact(W, &a), 0);
	cr_assert_eq(lin_wandb_writer_close(W), 0);
	W = NULL;
	fflush(fp);
	/* cut in block 1, inside the LAST chunk's data */
	cr_assert_eq(ftruncate(fileno(fp), BLK + 20), 0);
	fclose(fp);
	fp = NULL;
	cr_assert_eq(lin_wandb_open(&R, path, NULL, &err), 0);

	expect_use("kept:v0", u);
	expect_err(LIN_ETRUNC, off, "file ends inside a record that started");
	cr_assert(strstr(err.msg, "may still be writing"), "%s", err.msg);
	expect_end();
	free(desc);
}

Test(wandb, truncated_inside_a_chunk_or_header)
{
	struct lin_pbuf rec = {0};
	uint64_t u, off;

	lin_pbuf_bytes(&rec, 25, "\x1a\x04x:v0", 6);
	for (size_t keep = 1; keep < 7 + rec.len; keep++) {
		new_file();
		u = put_use("kept:v0");
		off = lin_wandb_writer_offset(W);
		cr_assert_eq(lin_wandb_write_record_cut(W, rec.p, rec.len,
							keep), 0);
		open_reader(NULL);
		expect_use("kept:v0", u);
		expect_err(LIN_ETRUNC, off, "file ends inside a record");
		expect_end();
		lin_wandb_close(R);
		R = NULL;
		unlink(path);
	}
	lin_pbuf_release(&rec);
}

Test(wandb, cut_record_spanning_blocks_via_writer)
{
	uint64_t off;

	new_file();
	put_filler(LIN_WANDB_F_HISTORY, 10);
	off = lin_wandb_writer_offset(W);
	struct lin_pbuf rec = {0};
	char big[BLK];
	memset(big, 'z', sizeof big);
	lin_pbuf_bytes(&rec, 3, big, sizeof big);
	struct lin_pbuf outer = {0};
	lin_pbuf_bytes(&outer, 25, rec.p, rec.len);
	cr_assert_eq(lin_wandb_write_record_cut(W, outer.p, outer.len,
						BLK + 20), 0);
	open_reader(NULL);
	expect_err(LIN_ETRUNC, off, "file ends inside a record");
	expect_end();
	lin_pbuf_release(&rec);
	lin_pbuf_release(&outer);
}

Test(wandb, zero_filled_tail_ends_cleanly)
{
	uint64_t a;

	new_file();
	a = put_use("a:v0");
	cr_assert_eq(lin_wandb_write_zero_block(W), 0);
	unsigned char z[3 * BLK] = {0};
	cr_assert_eq(lin_wandb_write_raw(W, z, sizeof z), 0);
	open_reader(NULL);
	expect_use("a:v0", a);
	expect_end();
	cr_assert_eq(lin_wandb_bytes(R), (uint64_t)file_size());
}

Test(wandb, zeros_inside_a_record)
{
	uint64_t first, u;

	new_file();
	first = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_chunk(W, LIN_WANDB_FIRST, "\xca\x01",
					   2, 0), 0);
	cr_assert_eq(lin_wandb_write_zero_block(W), 0);
	u = put_use("u:v0");
	open_reader(NULL);
	expect_err(LIN_EDAMAGE, first, "cut off by zeros");
	expect_use("u:v0", u);
	expect_end();
}

Test(wandb, record_larger_than_the_limit)
{
	struct lin_wandb_artifact a = {0};
	char *desc = calloc(1, 3000);
	uint64_t off, u;

	cr_assert_not_null(desc);
	memset(desc, 'w', 2999);
	a.type = "t";
	a.name = "n";
	a.digest = "d";
	a.description = desc;
	new_file();
	fill_block_to(1000);            /* the record spans two blocks */
	off = lin_wandb_writer_offset(W);
	cr_assert_eq(lin_wandb_write_artifact(W, &a), 0);
	u = put_use("u:v0");
	open_reader(NULL);
	lin_wandb_set_max_record(R, 2000);
	expect_err(LIN_EDAMAGE, off, "larger than the limit of 2000 bytes");
	expect_use("u:v0", u);
	expect_end();
	free(desc);
}
