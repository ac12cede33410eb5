/* test_archive.c - format/archive.c (suite archive): telling archives
 * from run logs by content, members as streams, the readers over them.
 * The end-to-end cases (every archive kind, damage, nesting, re-indexing)
 * are in tests/test_archive.py. */
#include <criterion/criterion.h>

#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/archive.h"
#include "format/runlog.h"
#include "format/wandb.h"

#include "helpers.h"

static int sniff_file(const char *path)
{
	size_t n;
	unsigned char *p = (unsigned char *)th_read_file(path, &n);
	int r = lin_archive_sniff(p, n < LIN_ARCHIVE_HEAD ? n
					  : LIN_ARCHIVE_HEAD);
	free(p);
	return r;
}

Test(archive, sniff_by_content)
{
	cr_expect(sniff_file("fixtures/sample.tar.gz"));
	cr_expect(sniff_file("fixtures/sample.zip"));
	/* a gzip'd run log is gzip too, but no tar */
	cr_expect(!sniff_file("fixtures/sample/mnist/02-preprocess.runlog.gz"));
	cr_expect(!sniff_file("fixtures/sample/mnist/01-upload.runlog"));
	cr_expect(!sniff_file("fixtures/sample/README.md"));
	cr_expect(!lin_archive_sniff("PK", 2));
	cr_expect(lin_archive_sniff("\x28\xb5\x2f\xfd", 4));
	cr_expect(lin_archive_sniff("\xfd" "7zXZ\0", 6));
	cr_expect(lin_archive_sniff("BZh9", 4));
	cr_expect(!lin_archive_sniff("BZhx", 4));
}

/* Every member read through the stream equals the file it came from. */
static void members_equal_files(const char *archive)
{
	struct lin_archive *a;
	struct lin_archive_member m;
	struct lin_err e;
	int rc, files = 0;

	cr_assert_eq(lin_archive_open(&a, archive, NULL, &e), 0, "%s",
		     e.msg);
	while ((rc = lin_archive_next(a, &m, &e)) == 1) {
		char path[4096];
		size_t want_n, got_n = 0, hn;
		const unsigned char *h;
		unsigned char *want, *got;
		struct lin_stream s = lin_archive_stream(a);
		char msg[256];
		ssize_t k;

		snprintf(path, sizeof path, "fixtures/%s", m.name);
		want = (unsigned char *)th_read_file(path, &want_n);
		cr_expect_eq((size_t)m.size, want_n, "%s", m.name);
		cr_assert_eq(lin_archive_head(a, &h, &hn, &e), 0);
		cr_expect_eq(hn, want_n < LIN_ARCHIVE_HEAD ? want_n
							    : LIN_ARCHIVE_HEAD);
		cr_expect(memcmp(h, want, hn) == 0, "%s head", m.name);
		got = malloc(want_n + 1);
		/* small reads, so the head and the rest are both crossed */
		while ((k = s.read(s.ctx, got + got_n,
				   want_n + 1 - got_n < 1000 ?
				   want_n + 1 - got_n : 1000,
				   msg, sizeof msg)) > 0)
			got_n += (size_t)k;
		cr_expect_eq(k, 0, "%s: %s", m.name, msg);
		cr_expect_eq(got_n, want_n, "%s", m.name);
		cr_expect(memcmp(got, want, want_n) == 0, "%s", m.name);
		free(got);
		free(want);
		files++;
	}
	cr_expect_eq(rc, 0, "%s", e.msg);
	cr_expect_eq(files, 10);  /* 7 run logs, README, expected.md, csv */
	lin_archive_close(a);
}

Test(archive, tar_gz_members_as_streams)
{
	members_equal_files("fixtures/sample.tar.gz");
}

Test(archive, zip_members_as_streams)
{
	members_equal_files("fixtures/sample.zip");
}

/* .tar.zst and .tar.xz, written here with libarchive's writer (Python's
 * tarfile has no zstd). */
static struct archive *writer;

static int add_file(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	struct archive_entry *e;
	unsigned char *p;
	size_t n;

	(void)st;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	p = (unsigned char *)th_read_file(path, &n);
	e = archive_entry_new();
	archive_entry_set_pathname(e, path + strlen("fixtures/"));
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	cr_assert_eq(archive_write_header(writer, e), ARCHIVE_OK);
	cr_assert_eq(archive_write_data(writer, p, n), (la_ssize_t)n);
	archive_entry_free(e);
	free(p);
	return 0;
}

static void write_sample(const char *path, int (*filter)(struct archive *))
{
	writer = archive_write_new();
	cr_assert_eq(filter(writer), ARCHIVE_OK);
	cr_assert_eq(archive_write_set_format_pax_restricted(writer),
		     ARCHIVE_OK);
	cr_assert_eq(archive_write_open_filename(writer, path), ARCHIVE_OK);
	cr_assert_eq(nftw("fixtures/sample", add_file, 8, FTW_PHYS), 0);
	cr_assert_eq(archive_write_close(writer), ARCHIVE_OK);
	archive_write_free(writer);
}

Test(archive, tar_zst_and_xz_members_as_streams)
{
	char zst[] = "/tmp/lineage-test-XXXXXX";
	char path[64];
	int fd = mkstemp(zst);

	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(path, sizeof path, "%s.tar.zst", zst);
	write_sample(path, archive_write_add_filter_zstd);
	cr_expect(sniff_file(path));
	members_equal_files(path);
	unlink(path);
	snprintf(path, sizeof path, "%s.tar.xz", zst);
	write_sample(path, archive_write_add_filter_xz);
	cr_expect(sniff_file(path));
	members_equal_files(path);
	unlink(path);
	unlink(zst);
}

/* The runlog reader over a member gives the records of the file, with
 * the member's name in errors. */
Test(archive, runlog_reader_over_a_member)
{
	struct lin_archive *a;
	struct lin_archive_member m;
	struct lin_runlog *r, *f;
	struct lin_record ra, rb;
	struct lin_err e;
	int n = 0, ka, kb;

	cr_assert_eq(lin_archive_open(&a, "fixtures/sample.zip", NULL, &e),
		     0);
	do
		cr_assert_eq(lin_archive_next(a, &m, &e), 1);
	while (strcmp(m.name, "sample/mnist/02-preprocess.runlog.gz") != 0);
	struct lin_stream s = lin_archive_stream(a);
	cr_assert_eq(lin_runlog_open_stream(&r, "x.zip//m", &s, NULL, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(lin_runlog_open(&f, "fixtures/sample/mnist/"
				     "02-preprocess.runlog.gz", NULL, &e), 0);
	do {
		ka = lin_runlog_next(r, &ra, &e);
		kb = lin_runlog_next(f, &rb, &e);
		cr_assert_eq(ka, kb);
		if (ka == 1) {
			cr_expect_eq(ra.kind, rb.kind);
			cr_expect_eq(ra.offset, rb.offset);
			n++;
		}
	} while (ka == 1);
	cr_expect_gt(n, 2);
	cr_expect_eq(lin_runlog_bytes(r), lin_runlog_bytes(f));
	lin_runlog_close(r);
	lin_runlog_close(f);
	lin_archive_close(a);
}

/* A stream that fails: the reader reports the stream's message. */
static ssize_t failing(void *ctx, void *buf, size_t n, char *msg,
		       size_t mlen)
{
	int *calls = ctx;

	if ((*calls)++ == 0 && n > 0) {
		memcpy(buf, "\x81\xa6runlog\x01", 9);
		return 9;
	}
	snprintf(msg, mlen, "the archive broke here");
	return -1;
}

Test(archive, stream_errors_reach_the_reader)
{
	struct lin_runlog *r;
	struct lin_wandb *w;
	struct lin_err e;
	int calls = 0;
	struct lin_stream s = { failing, &calls };

	struct lin_record rec;

	/* the header arrives whole, then the stream fails */
	cr_assert_eq(lin_runlog_open_stream(&r, "a.tar//b.runlog", &s, NULL,
					    &e), 0, "%s", e.msg);
	cr_assert_eq(lin_runlog_next(r, &rec, &e), LIN_EIO);
	lin_runlog_close(r);
	cr_expect_str_eq(e.path, "a.tar//b.runlog");
	cr_expect_eq(e.offset, 9);
	cr_expect(strstr(e.msg, "cannot read: the archive broke here"), "%s",
		  e.msg);
	calls = 1;
	cr_assert_eq(lin_wandb_open_stream(&w, "a.tar//c.wandb", NULL, &s, &e),
		     LIN_EIO);
	cr_expect(strstr(e.msg, "the archive broke here"), "%s", e.msg);
}

Test(archive, not_an_archive)
{
	struct lin_archive *a;
	struct lin_err e;

	cr_expect_eq(lin_archive_open(&a, "fixtures/sample/README.md", NULL,
				      &e), LIN_EFORMAT);
	cr_expect_null(a);
	cr_expect(strstr(e.path, "README.md"));
	cr_expect_eq(lin_archive_open(&a, "fixtures/no-such.tar", NULL, &e),
		     LIN_EIO);
}
