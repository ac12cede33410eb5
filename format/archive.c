/* archive.c - archive members as streams, through libarchive: a
 * well-kept reader of tar, zip and their compressions, rather than
 * parsing those formats by hand. */
#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define BLOCK_BYTES (64 * 1024)
/* Decompression bombs: past BOMB_FLOOR bytes of output, more than
 * BOMB_RATIO bytes out per byte in is refused (deflate tops out near
 * 1032:1; real exports stay far below 100:1). */
#define BOMB_FLOOR ((uint64_t)256 << 20)
#define BOMB_RATIO 500

struct lin_archive {
	struct archive *ar;
	char *path;
	struct lin_stream src;       /* when read from another archive */
	unsigned char block[BLOCK_BYTES]; /* input from `src`, which
					     libarchive keeps referring to */
	unsigned char skip[BLOCK_BYTES];  /* member data passed over */

	char name[4096];             /* the current member's name */
	unsigned char head[LIN_ARCHIVE_HEAD];
	size_t head_len, head_pos;
	int head_done;               /* head[] holds what it will hold */
	int in_member;               /* a header was read */
	int member_eof;
	uint64_t mpos;               /* bytes of the member produced */
	uint64_t out;                /* member bytes produced in total */
};

static int has_ustar(const unsigned char *p, size_t n)
{
	return n >= 262 && memcmp(p + 257, "ustar", 5) == 0;
}

int lin_archive_sniff_plain(const void *head, size_t n)
{
	const unsigned char *p = head;

	if (n >= 4 && p[0] == 'P' && p[1] == 'K' &&
	    ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6)))
		return 1;                                    /* zip */
	if ((n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0) ||     /* xz */
	    (n >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0) || /* zstd */
	    (n >= 4 && memcmp(p, "BZh", 3) == 0 && p[3] >= '1' &&
	     p[3] <= '9'))                                   /* bzip2 */
		return 1;
	return has_ustar(p, n);
}

int lin_archive_sniff_gzip(const void *head, size_t n)
{
	const unsigned char *p = head;
	unsigned char out[512];
	z_stream z;
	int tar;

	if (n < 2 || p[0] != 0x1f || p[1] != 0x8b)
		return 0;
	/* a tar inside, or a gzip'd runlog? Look at the tar header. */
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 16 + 15) != Z_OK)
		return 0;
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = sizeof out;
	(void)inflate(&z, Z_SYNC_FLUSH);
	tar = has_ustar(out, sizeof out - z.avail_out);
	inflateEnd(&z);
	return tar;
}

int lin_archive_sniff(const void *head, size_t n)
{
	return lin_archive_sniff_plain(head, n) ||
	       lin_archive_sniff_gzip(head, n);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 :
		     (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (!len || len > n || (len == 2 && p[0] < 0xc2))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* A member name as it is shown and stored: damaged headers hold any
 * bytes, so control characters and bytes that are not UTF-8 become '?'. */
static void clean_name(char *out, size_t cap, const char *in)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;

	while (n && o + 5 < cap) {
		size_t k = utf8_seq(p, n);

		if (k == 1 && (*p < 0x20 || *p == 0x7f))
			k = 0;
		if (k) {
			memcpy(out + o, p, k);
			o += k;
		} else {
			out[o++] = '?';
			k = 1;
		}
		p += k;
		n -= k;
	}
	out[o] = 0;
}

static int afail(struct lin_archive *a, struct lin_err *err, int code,
		 const char *what)
{
	const char *m = archive_error_string(a->ar);

	lin_err_set(err, code, lin_archive_offset(a), "%s%s%s", what,
		    m ? ": " : "", m ? m : "");
	lin_err_path(err, a->path);
	if (err)
		err->sys = archive_errno(a->ar);
	return code;
}

/* libarchive's read callback over a parent stream. */
static la_ssize_t parent_read(struct archive *ar, void *ctx,
			      const void **buf)
{
	struct lin_archive *a = ctx;
	char msg[256] = "";
	ssize_t k = a->src.read(a->src.ctx, a->block, sizeof a->block, msg,
				sizeof msg);

	if (k < 0) {
		archive_set_error(ar, EIO, "%s", msg);
		return -1;
	}
	*buf = a->block;
	return k;
}

int lin_archive_open(struct lin_archive **out, const char *path,
		     const struct lin_stream *src, struct lin_err *err)
{
	struct lin_archive *a = calloc(1, sizeof *a);
	int rc;

	*out = NULL;
	lin_err_clear(err);
	if (!a || !(a->path = strdup(path)) || !(a->ar = archive_read_new())) {
		lin_archive_close(a);
		lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET, "out of memory");
		lin_err_path(err, path);
		return LIN_ENOMEM;
	}
	/* Only what an export comes as: no external programs, no formats
	 * that need seeking in a stream (7z) or that pull in XML (xar). */
	archive_read_support_filter_gzip(a->ar);
	archive_read_support_filter_bzip2(a->ar);
	archive_read_support_filter_xz(a->ar);
	archive_read_support_filter_zstd(a->ar);
	archive_read_support_format_tar(a->ar);
	archive_read_support_format_zip(a->ar);
	if (src) {
		a->src = *src;
		rc = archive_read_open(a->ar, a, NULL, parent_read, NULL);
	} else {
		rc = archive_read_open_filename(a->ar, path, BLOCK_BYTES);
	}
	if (rc != ARCHIVE_OK) {
		int e = archive_errno(a->ar);

		/* the file could not be read, or it is no archive */
		rc = afail(a, err, e == ENOENT || e == EACCES || e == EPERM ||
			   e == EIO || e == EISDIR ? LIN_EIO : LIN_EFORMAT,
			   "cannot read archive");
		lin_archive_close(a);
		return rc;
	}
	*out = a;
	return 0;
}

uint64_t lin_archive_offset(const struct lin_archive *a)
{
	la_int64_t n = archive_filter_bytes(a->ar, -1);
	return n > 0 ? (uint64_t)n : 0;
}

static int bomb(struct lin_archive *a, struct lin_err *err)
{
	uint64_t raw = lin_archive_offset(a);

	if (a->out <= BOMB_FLOOR || a->out / BOMB_RATIO <= raw)
		return 0;
	lin_err_set(err, LIN_ELIMIT, raw, "archive data expands more than "
		    "%d:1 (%llu bytes from %llu): refusing a likely "
		    "decompression bomb", BOMB_RATIO,
		    (unsigned long long)a->out, (unsigned long long)raw);
	lin_err_path(err, a->path);
	return LIN_ELIMIT;
}

/* Member data, past the head: count it, watch the ratio. */
static ssize_t data(struct lin_archive *a, void *p, size_t n,
		    struct lin_err *err)
{
	la_ssize_t k;

	if (a->member_eof)
		return 0;
	k = archive_read_data(a->ar, p, n);
	if (k < 0) {
		const char *m = archive_error_string(a->ar);

		/* at the member's byte, as the readers count */
		lin_err_set(err, LIN_ECORRUPT, a->mpos, "%s (at byte %llu of "
			    "the archive)", m ? m : "damaged member data",
			    (unsigned long long)lin_archive_offset(a));
		return LIN_ECORRUPT;
	}
	if (k == 0)
		a->member_eof = 1;
	a->mpos += (uint64_t)k;
	a->out += (uint64_t)k;
	if (bomb(a, err))
		return LIN_ELIMIT;
	return k;
}

int lin_archive_next(struct lin_archive *a, struct lin_archive_member *m,
		     struct lin_err *err)
{
	struct archive_entry *e;
	int rc;

	lin_err_clear(err);
	/* Through a compression filter, passing over a member means
	 * inflating it: do that here, where the ratio is watched. */
	if (a->in_member && archive_filter_count(a->ar) > 1)
		for (;;) {
			ssize_t k = data(a, a->skip, sizeof a->skip, err);
			if (k == LIN_ELIMIT)
				return LIN_ELIMIT;
			if (k <= 0)
				break;
		}
	for (;;) {
		a->head_len = a->head_pos = 0;
		a->head_done = 0;
		a->member_eof = 0;
		a->mpos = 0;
		a->in_member = 0;
		rc = archive_read_next_header(a->ar, &e);
		if (rc == ARCHIVE_EOF)
			return 0;
		if (rc == ARCHIVE_FATAL)
			return afail(a, err, LIN_ECORRUPT, "cannot read "
				     "archive");
		if (rc == ARCHIVE_RETRY || rc == ARCHIVE_FAILED) {
			const char *n = archive_entry_pathname(e);
			clean_name(a->name, sizeof a->name, n ? n : "?");
			lin_err_set(err, LIN_EDAMAGE, lin_archive_offset(a),
				    "member '%.200s' skipped: %s", a->name,
				    archive_error_string(a->ar) ?
				    archive_error_string(a->ar) : "damaged");
			lin_err_path(err, a->path);
			return LIN_EDAMAGE;
		}
		/* ARCHIVE_OK, or ARCHIVE_WARN (e.g. an odd header field) */
		a->in_member = 1;
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		const char *n = archive_entry_pathname_utf8(e);
		if (!n)
			n = archive_entry_pathname(e);
		if (!n)
			n = "";
		while (n[0] == '/' || (n[0] == '.' && n[1] == '/'))
			n += n[0] == '/' ? 1 : 2;
		clean_name(a->name, sizeof a->name, n);
		m->name = a->name;
		m->size = archive_entry_size_is_set(e) ?
			  (int64_t)archive_entry_size(e) : -1;
		/* a hostile header's time must not overflow nanoseconds */
		m->mtime = 0;
		if (archive_entry_mtime_is_set(e) &&
		    archive_entry_mtime(e) > -9000000000LL &&
		    archive_entry_mtime(e) < 9000000000LL)
			m->mtime = (int64_t)archive_entry_mtime(e) * 1000000000 +
				   archive_entry_mtime_nsec(e);
		return 1;
	}
}

int lin_archive_head(struct lin_archive *a, const unsigned char **p,
		     size_t *n, struct lin_err *err)
{
	while (!a->head_done && a->head_len < sizeof a->head) {
		ssize_t k = data(a, a->head + a->head_len,
				 sizeof a->head - a->head_len, err);
		if (k < 0)
			return (int)k;
		if (k == 0)
			break;
		a->head_len += (size_t)k;
	}
	a->head_done = 1;
	*p = a->head;
	*n = a->head_len;
	return 0;
}

/* lin_read_fn over the current member: the head first, then the rest. */
static ssize_t member_read(void *ctx, void *buf, size_t n, char *msg,
			   size_t mlen)
{
	struct lin_archive *a = ctx;
	struct lin_err e;
	ssize_t k;

	if (a->head_pos < a->head_len) {
		k = (ssize_t)(a->head_len - a->head_pos);
		if ((size_t)k > n)
			k = (ssize_t)n;
		memcpy(buf, a->head + a->head_pos, (size_t)k);
		a->head_pos += (size_t)k;
		return k;
	}
	lin_err_clear(&e);
	k = data(a, buf, n, &e);
	if (k < 0) {
		snprintf(msg, mlen, "%s", e.msg);
		return -1;
	}
	return k;
}

struct lin_stream lin_archive_stream(struct lin_archive *a)
{
	struct lin_stream s = { member_read, a };
	return s;
}

void lin_archive_close(struct lin_archive *a)
{
	if (!a)
		return;
	if (a->ar)
		archive_read_free(a->ar);
	free(a->path);
	free(a);
}
