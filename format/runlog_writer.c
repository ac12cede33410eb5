/* runlog_writer.c - writes runlog v1 files, plain or gzip
 * (runlog_writer.h); the reader is runlog.c. */
#include "runlog_writer.h"

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <zlib.h>

/* Records are packed with msgpack_packer into an sbuffer, which is handed
 * to stdio (or to our own deflate stream) once it holds WBUF_FLUSH bytes,
 * so a record costs no system call. */

#define WBUF_FLUSH (64 * 1024)
#define ZOUT_SIZE (64 * 1024)

struct lin_runlog_writer {
	FILE *fp;
	int gzip;
	int failed;            /* sticky: a failed stream stays failed */
	z_stream z;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned char zout[ZOUT_SIZE];
};

/* Hand the buffered bytes to the stream; `finish` ends the gzip member. */
static int wflush(struct lin_runlog_writer *w, int finish)
{
	int zr;

	if (w->failed)
		return w->failed;
	if (!w->gzip) {
		if (w->sb.size &&
		    fwrite(w->sb.data, 1, w->sb.size, w->fp) != w->sb.size)
			return w->failed = LIN_EIO;
		msgpack_sbuffer_clear(&w->sb);
		return 0;
	}
	w->z.next_in = (Bytef *)w->sb.data;
	w->z.avail_in = (uInt)w->sb.size;
	do {
		size_t have;

		w->z.next_out = w->zout;
		w->z.avail_out = sizeof w->zout;
		zr = deflate(&w->z, finish ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_ERROR)
			return w->failed = LIN_EIO;
		have = sizeof w->zout - w->z.avail_out;
		if (have && fwrite(w->zout, 1, have, w->fp) != have)
			return w->failed = LIN_EIO;
	} while (w->z.avail_out == 0 || (finish && zr != Z_STREAM_END));
	msgpack_sbuffer_clear(&w->sb);
	return 0;
}

static int wmaybe_flush(struct lin_runlog_writer *w)
{
	if (w->failed)
		return w->failed;
	return w->sb.size >= WBUF_FLUSH ? wflush(w, 0) : 0;
}

/* Pack ns-since-epoch as a MessagePack timestamp (ext -1): the 8-byte form
 * while seconds fit its 34 bits, else the 12-byte form. */
static void pack_time(msgpack_packer *pk, int64_t ns)
{
	int64_t sec = ns / 1000000000;
	int64_t nsec = ns % 1000000000;
	unsigned char b[12];
	int i;

	if (nsec < 0) {
		nsec += 1000000000;
		sec -= 1;
	}
	if (sec >= 0 && sec < ((int64_t)1 << 34)) {
		uint64_t v = ((uint64_t)nsec << 34) | (uint64_t)sec;

		for (i = 0; i < 8; i++)
			b[i] = (unsigned char)(v >> (56 - 8 * i));
		msgpack_pack_ext_with_body(pk, b, 8, -1);
		return;
	}
	for (i = 0; i < 4; i++)
		b[i] = (unsigned char)((uint64_t)nsec >> (24 - 8 * i));
	for (i = 0; i < 8; i++)
		b[4 + i] = (unsigned char)((uint64_t)sec >> (56 - 8 * i));
	msgpack_pack_ext_with_body(pk, b, 12, -1);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void pack_key(msgpack_packer *pk, const char *k)
{
	pack_cstr(pk, k);
}

static void pack_strv(msgpack_packer *pk, const struct lin_strv *v)
{
	size_t i;

	msgpack_pack_array(pk, v->n);
	for (i = 0; i < v->n; i++)
		pack_cstr(pk, v->v[i] ? v->v[i] : "");
}

static const char *kind_name(enum lin_rec_kind k)
{
	switch (k) {
	case LIN_REC_RUN: return "run";
	case LIN_REC_LOG: return "log";
	case LIN_REC_USE: return "use";
	case LIN_REC_ALIAS: return "alias";
	case LIN_REC_FINISH: return "finish";
	}
	return NULL;
}

/* Emit the keys of `r` that are set, or only count them when `pk` is NULL
 * (the map header needs the count first). */
static size_t emit_record(msgpack_packer *pk, const struct lin_record *r)
{
	size_t n = 0;

#define W_STR(key, field) do { if (field) { n++; if (pk) { \
	pack_key(pk, key); pack_cstr(pk, field); } } } while (0)
#define W_INT(key, field, absent) do { if ((field) != (absent)) { n++; \
	if (pk) { pack_key(pk, key); msgpack_pack_int64(pk, field); } } \
	} while (0)
#define W_NN(key, field) do { if ((field) >= 0) { n++; if (pk) { \
	pack_key(pk, key); msgpack_pack_int64(pk, field); } } } while (0)
#define W_TIME(key, field) do { if ((field) != LIN_TIME_NONE) { n++; \
	if (pk) { pack_key(pk, key); pack_time(pk, field); } } } while (0)
#define W_STRV(key, field) do { if ((field).v || (field).n) { n++; \
	if (pk) { pack_key(pk, key); pack_strv(pk, &(field)); } } } while (0)

	n++;
	if (pk) {
		pack_key(pk, "t");
		pack_cstr(pk, kind_name(r->kind));
	}
	switch (r->kind) {
	case LIN_REC_RUN:
		W_STR("id", r->run_id);
		W_STR("entity", r->entity);
		W_STR("project", r->project);
		W_STR("name", r->name);
		W_STR("job_type", r->job_type);
		W_STR("group", r->group);
		W_STR("host", r->host);
		W_STR("notes", r->notes);
		W_STRV("tags", r->tags);
		W_TIME("started_at", r->started_at);
		W_STR("program", r->program);
		W_STR("git_remote", r->git_remote);
		W_STR("git_commit", r->git_commit);
		W_STRV("args", r->args);
		break;
	case LIN_REC_LOG:
		W_STR("run", r->run_id);
		W_STR("entity", r->entity);
		W_STR("project", r->project);
		W_STR("type", r->type);
		W_STR("name", r->coll);
		W_STR("digest", r->digest);
		W_NN("version", r->version);
		W_STRV("aliases", r->aliases);
		W_NN("size", r->size);
		W_NN("files", r->files);
		W_STR("description", r->description);
		if (r->metadata && r->metadata_len) {
			n++;
			if (pk) {
				pack_key(pk, "metadata");
				msgpack_sbuffer_write(pk->data, r->metadata,
						      r->metadata_len);
			}
		}
		W_TIME("created_at", r->at);
		W_STR("server_id", r->server_id);
		break;
	case LIN_REC_USE:
		W_STR("run", r->run_id);
		W_STR("entity", r->entity);
		W_STR("project", r->project);
		W_STR("ref", r->ref);
		W_STR("type", r->type);
		W_STR("digest", r->digest);
		W_TIME("at", r->at);
		break;
	case LIN_REC_ALIAS:
		W_STR("ref", r->ref);
		W_STRV("add", r->add);
		W_STRV("remove", r->remove);
		W_TIME("at", r->at);
		break;
	case LIN_REC_FINISH:
		W_STR("run", r->run_id);
		W_STR("entity", r->entity);
		W_STR("project", r->project);
		W_STR("state", r->state);
		W_INT("exit_code", r->exit_code, INT64_MIN);
		W_TIME("ended_at", r->at);
		break;
	}
#undef W_STR
#undef W_INT
#undef W_NN
#undef W_TIME
#undef W_STRV
	return n;
}

int lin_runlog_writer_open(struct lin_runlog_writer **out, FILE *fp,
			   int gzip, const char *producer,
			   int64_t created_at)
{
	struct lin_runlog_writer *w;

	*out = NULL;
	if (!fp)
		return LIN_EINVAL;
	w = calloc(1, sizeof *w);
	if (!w)
		return LIN_ENOMEM;
	w->fp = fp;
	w->gzip = gzip != 0;
	/* windowBits 15 + 16 asks zlib for a gzip wrapper (RFC 1952). */
	if (w->gzip && deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
				    15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(w);
		return LIN_ENOMEM;
	}
	msgpack_sbuffer_init(&w->sb);
	msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);

	msgpack_pack_map(&w->pk, 1 + (producer != NULL) +
			 (created_at != LIN_TIME_NONE));
	pack_key(&w->pk, "runlog");
	msgpack_pack_int(&w->pk, LIN_RUNLOG_VERSION);
	if (producer) {
		pack_key(&w->pk, "producer");
		pack_cstr(&w->pk, producer);
	}
	if (created_at != LIN_TIME_NONE) {
		pack_key(&w->pk, "created_at");
		pack_time(&w->pk, created_at);
	}
	*out = w;
	return 0;
}

int lin_runlog_write(struct lin_runlog_writer *w,
		     const struct lin_record *rec)
{
	if (w->failed)
		return w->failed;
	if (!kind_name(rec->kind))
		return LIN_EINVAL;
	msgpack_pack_map(&w->pk, emit_record(NULL, rec));
	emit_record(&w->pk, rec);
	return wmaybe_flush(w);
}

int lin_runlog_write_raw(struct lin_runlog_writer *w, const void *p,
			 size_t n)
{
	if (w->failed)
		return w->failed;
	if (n && msgpack_sbuffer_write(&w->sb, p, n) != 0)
		return w->failed = LIN_ENOMEM;
	return wmaybe_flush(w);
}

int lin_runlog_writer_new_member(struct lin_runlog_writer *w)
{
	int rc;

	if (!w->gzip)
		return w->failed ? w->failed : 0;
	rc = wflush(w, 1);
	if (rc)
		return rc;
	if (deflateReset(&w->z) != Z_OK)
		return w->failed = LIN_EIO;
	return 0;
}

int lin_runlog_writer_close(struct lin_runlog_writer *w)
{
	int rc;

	if (!w)
		return 0;
	rc = wflush(w, 1);
	if (!rc && fflush(w->fp) != 0)
		rc = LIN_EIO;
	if (w->gzip)
		deflateEnd(&w->z);
	msgpack_sbuffer_destroy(&w->sb);
	free(w);
	return rc;
}
