/* out.c - the text and JSON writers of lineage-query. */
#include "internal.h"
#include "format/grow.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned b = p[0];
	size_t len;
	uint32_t cp, min;

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf) {
		len = 2; cp = b & 0x1f; min = 0x80;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3; cp = b & 0x0f; min = 0x800;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4; cp = b & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void lin_json_str(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	putc('"', f);
	while (i < n) {
		unsigned c = p[i];
		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc((int)c, f);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': fputs("\\n", f); break;
			case '\t': fputs("\\t", f); break;
			case '\r': fputs("\\r", f); break;
			case '\b': fputs("\\b", f); break;
			case '\f': fputs("\\f", f); break;
			default: fprintf(f, "\\u%04x", c);
			}
			i++;
		} else {
			size_t l = utf8_len(p + i, n - i);
			if (l) {
				fwrite(p + i, 1, l, f);
				i += l;
			} else {
				/* Output must be valid UTF-8 whatever the
				 * store holds. */
				fputs("\xef\xbf\xbd", f);
				i++;
			}
		}
	}
	putc('"', f);
}

void lin_json_cstr(FILE *f, const char *s)
{
	lin_json_str(f, s, strlen(s));
}

void lin_json_qstr(FILE *f, struct lin_slice s)
{
	if (s.p)
		lin_json_str(f, s.p, s.n);
	else
		fputs("null", f);
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	putc('"', f);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		putc(tab[v >> 18 & 63], f);
		putc(tab[v >> 12 & 63], f);
		putc(i + 1 < n ? tab[v >> 6 & 63] : '=', f);
		putc(i + 2 < n ? tab[v & 63] : '=', f);
	}
	putc('"', f);
}

/* The shortest %g text that reads back as the same double. */
static void json_double(FILE *f, double d, int is_float)
{
	char buf[40];

	if (!isfinite(d)) {
		fputs("null", f);
		return;
	}
	for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, d);
		double back = strtod(buf, NULL);
		if (is_float ? (float)back == (float)d : back == d)
			break;
	}
	fputs(buf, f);
}

static void json_mp(FILE *f, const msgpack_object *o, int depth)
{
	if (depth > 64) {  /* lin_mp_check bounds it to 32 already */
		fputs("null", f);
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", f);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(f, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
		json_double(f, o->via.f64, 1);
		break;
	case MSGPACK_OBJECT_FLOAT64:
		json_double(f, o->via.f64, 0);
		break;
	case MSGPACK_OBJECT_STR:
		lin_json_str(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		base64(f, (const unsigned char *)o->via.bin.ptr,
		       o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		base64(f, (const unsigned char *)o->via.ext.ptr,
		       o->via.ext.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		putc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				putc(',', f);
			json_mp(f, &o->via.array.ptr[i], depth + 1);
		}
		putc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		putc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			if (i)
				putc(',', f);
			if (kv->key.type == MSGPACK_OBJECT_STR) {
				json_mp(f, &kv->key, depth + 1);
			} else {
				/* JSON keys are strings: use the key's own
				 * JSON text. */
				char *txt = NULL;
				size_t len = 0;
				FILE *m = open_memstream(&txt, &len);
				if (m) {
					json_mp(m, &kv->key, depth + 1);
					fclose(m);
				}
				lin_json_str(f, txt ? txt : "", txt ? len : 0);
				free(txt);
			}
			putc(':', f);
			json_mp(f, &kv->val, depth + 1);
		}
		putc('}', f);
		break;
	default:
		fputs("null", f);
	}
}

void lin_json_msgpack(FILE *f, const msgpack_object *o)
{
	json_mp(f, o, 0);
}

static void json_int(FILE *f, int64_t v)
{
	if (v == LIN_QNONE)
		fputs("null", f);
	else
		fprintf(f, "%lld", (long long)v);
}

static void json_time(FILE *f, int64_t v)
{
	char buf[48];

	if (v == LIN_QNONE)
		fputs("null", f);
	else
		lin_json_cstr(f, lin_fmt_time(buf, v));
}

static void json_strs(FILE *f, const msgpack_object *a)
{
	if (a)
		lin_json_msgpack(f, a);
	else
		fputs("[]", f);
}

static void key(FILE *f, const char *k)
{
	fprintf(f, ",\"%s\":", k);
}

int lin_qnode_has_code(const struct lin_qnode *n)
{
	return n->program.p || n->git_remote.p || n->git_commit.p ||
	       (n->args && n->args->via.array.size);
}

void lin_json_node_fields(FILE *f, const struct lin_qnode *n)
{
	char *id = lin_qnode_id(n, 1);

	fputs("\"id\":", f);
	lin_json_cstr(f, id ? id : "");
	free(id);
	key(f, "kind");
	fputs(n->kind == LIN_ID_RUN ? "\"run\"" : "\"artifact\"", f);
	key(f, "entity");
	lin_json_qstr(f, n->entity);
	key(f, "project");
	lin_json_qstr(f, n->project);
	if (n->kind == LIN_ID_RUN) {
		key(f, "run_id");
		lin_json_qstr(f, n->run_id);
		key(f, "name");
		lin_json_qstr(f, n->name);
		key(f, "job_type");
		lin_json_qstr(f, n->job_type);
		key(f, "group");
		lin_json_qstr(f, n->group);
		key(f, "host");
		lin_json_qstr(f, n->host);
		key(f, "notes");
		lin_json_qstr(f, n->notes);
		key(f, "tags");
		json_strs(f, n->tags);
		/* Code context only when the run has some: most logs carry
		 * none. */
		if (lin_qnode_has_code(n)) {
			key(f, "program");
			lin_json_qstr(f, n->program);
			key(f, "git_remote");
			lin_json_qstr(f, n->git_remote);
			key(f, "git_commit");
			lin_json_qstr(f, n->git_commit);
			key(f, "args");
			json_strs(f, n->args);
		}
		key(f, "state");
		lin_json_qstr(f, n->state);
		key(f, "exit_code");
		json_int(f, n->exit_code);
		key(f, "started_at");
		json_time(f, n->started_at);
		key(f, "ended_at");
		json_time(f, n->ended_at);
		return;
	}
	key(f, "name");
	lin_json_qstr(f, n->name);
	/* W&B's forms: version "v3", qualified_name entity/project/name:v3 */
	key(f, "version");
	if (n->version == LIN_QNONE)
		fputs("null", f);
	else
		fprintf(f, "\"v%lld\"", (long long)n->version);
	key(f, "qualified_name");
	char *qn = lin_qnode_id(n, 0);
	lin_json_cstr(f, qn ? qn : "");
	free(qn);
	key(f, "type");
	lin_json_qstr(f, n->type);
	key(f, "digest");
	lin_json_qstr(f, n->digest);
	key(f, "aliases");
	json_strs(f, n->aliases);
	key(f, "size");
	json_int(f, n->size);
	key(f, "files");
	json_int(f, n->files);
	key(f, "description");
	lin_json_qstr(f, n->description);
	key(f, "metadata");
	if (n->metadata)
		lin_json_msgpack(f, n->metadata);
	else
		fputs("null", f);
	key(f, "created_at");
	json_time(f, n->created_at);
	/* only versions exported from a W&B server have one */
	if (n->server_id.p) {
		key(f, "server_id");
		lin_json_qstr(f, n->server_id);
	}
}

/* ---- text ---- */

/* Whether the byte `c` is shown as itself (not a control byte). */
static int plain_byte(unsigned char c)
{
	return c >= 0x20 && c != 0x7f;
}

/* The escaped form of the byte `c` (a control byte as \n, \t or
 * \xHH, any other as itself) into `out` (room for 4 bytes, not
 * terminated); returns its length. */
static size_t escape_byte(unsigned char c, char *out)
{
	static const char hex[] = "0123456789abcdef";

	if (plain_byte(c)) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	if (c == '\n' || c == '\t') {
		out[1] = c == '\n' ? 'n' : 't';
		return 2;
	}
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

void lin_text_str(FILE *f, const char *p, size_t n)
{
	char buf[4];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (plain_byte(c))   /* the common case, without a copy */
			putc(c, f);
		else
			fwrite(buf, 1, escape_byte(c, buf), f);
	}
}

void lin_table_init(struct lin_table *t)
{
	memset(t, 0, sizeof *t);
}

void lin_table_row(struct lin_table *t)
{
	if (LIN_GROW(t->rowlen, t->rowcap, t->nrow + 1, 16) < 0) {
		t->failed = 1;
		return;
	}
	t->rowlen[t->nrow++] = 0;
}

/* Room for `n` more bytes of text; 0 or -1 (the table is marked
 * failed). */
static int reserve(struct lin_table *t, size_t n)
{
	if (t->len + n < t->len ||
	    LIN_GROW(t->text, t->cap, t->len + n, 4096) < 0) {
		t->failed = 1;
		return -1;
	}
	return 0;
}

/* Append p[0..n) to the cell being written, control bytes escaped. */
static void append_escaped(struct lin_table *t, const char *p, size_t n)
{
	if (n > SIZE_MAX / 4 || reserve(t, 4 * n))
		return;
	char *out = t->text + t->len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (plain_byte(c))   /* the common case */
			*out++ = (char)c;
		else
			out += escape_byte(c, out);
	}
	t->len = (size_t)(out - t->text);
}

/* A cell is written from `start` (t->len when it began) to t->len:
 * terminate it and add it to the current row. */
static void end_cell(struct lin_table *t, size_t start)
{
	if (!t->nrow || reserve(t, 1) ||
	    LIN_GROW(t->cell, t->cellcap, t->ncell + 1, 64) < 0) {
		t->failed = 1;
		t->len = start;
		return;
	}
	size_t w = 0;
	for (size_t i = start; i < t->len; i++)
		w += ((unsigned char)t->text[i] & 0xc0) != 0x80;
	t->text[t->len++] = 0;
	t->cell[t->ncell].off = start;
	t->cell[t->ncell++].width = w;
	t->rowlen[t->nrow - 1]++;
}

static void put_cell(struct lin_table *t, const char *p, size_t n)
{
	size_t start = t->len;

	append_escaped(t, p, n);
	end_cell(t, start);
}

void lin_table_cell(struct lin_table *t, const char *s)
{
	put_cell(t, s, strlen(s));
}

void lin_table_cellf(struct lin_table *t, const char *fmt, ...)
{
	char buf[256], *s = buf;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (rc >= (int)sizeof buf) {
		va_start(ap, fmt);
		rc = vasprintf(&s, fmt, ap);
		va_end(ap);
	}
	if (rc < 0) {
		t->failed = 1;
		return;
	}
	put_cell(t, s, (size_t)rc);
	if (s != buf)
		free(s);
}

void lin_table_cellq(struct lin_table *t, struct lin_slice s)
{
	if (!s.p || !s.n)
		put_cell(t, "-", 1);
	else
		put_cell(t, s.p, s.n);
}

/* `n` spaces. */
static void pad(FILE *f, size_t n)
{
	static const char sp[] = "                                ";

	for (; n > sizeof sp - 1; n -= sizeof sp - 1)
		fwrite(sp, 1, sizeof sp - 1, f);
	fwrite(sp, 1, n, f);
}

int lin_table_flush(struct lin_table *t, FILE *f)
{
	size_t maxcols = 0, *w = NULL, c = 0;
	int failed = t->failed;

	for (size_t r = 0; r < t->nrow; r++)
		if (t->rowlen[r] > maxcols)
			maxcols = t->rowlen[r];
	w = calloc(maxcols ? maxcols : 1, sizeof *w);
	if (!w)
		failed = 1;
	for (size_t r = 0; w && r < t->nrow; r++)
		for (size_t i = 0; i < t->rowlen[r]; i++, c++)
			if (t->cell[c].width > w[i])
				w[i] = t->cell[c].width;
	c = 0;
	for (size_t r = 0; r < t->nrow; r++) {
		const struct lin_table_cell *cl = t->cell + c;
		size_t n = t->rowlen[r];
		while (n && !t->text[cl[n - 1].off])
			n--;
		for (size_t i = 0; i < n; i++) {
			fputs(t->text + cl[i].off, f);
			if (i + 1 < n)
				pad(f, w ? w[i] - cl[i].width + 2 : 2);
		}
		putc('\n', f);
		c += t->rowlen[r];
	}
	free(w);
	lin_table_release(t);
	return failed ? LIN_ENOMEM : 0;
}

void lin_table_release(struct lin_table *t)
{
	free(t->text);
	free(t->cell);
	free(t->rowlen);
	lin_table_init(t);
}

/* Strings of a msgpack array joined by `sep`, or "-" when none. */
static void cell_joined(struct lin_table *t, const char *prefix,
			const msgpack_object *a, const char *sep)
{
	size_t start = t->len;
	int any = 0;

	append_escaped(t, prefix, strlen(prefix));
	for (uint32_t i = 0; a && i < a->via.array.size; i++) {
		const msgpack_object *o = &a->via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_STR)
			continue;
		if (any)
			append_escaped(t, sep, strlen(sep));
		append_escaped(t, o->via.str.ptr, o->via.str.size);
		any = 1;
	}
	if (!any)
		append_escaped(t, "-", 1);
	end_cell(t, start);
}

void lin_table_joined(struct lin_table *t, const char *prefix,
		      const msgpack_object *a, const char *sep)
{
	cell_joined(t, prefix, a, sep);
}

void lin_table_node(struct lin_table *t, const struct lin_qnode *n)
{
	char *ref = lin_qnode_id(n, 0);

	lin_table_cell(t, n->kind == LIN_ID_RUN ? "run" : "artifact");
	if (ref)
		lin_table_cell(t, ref);
	else
		t->failed = 1;
	free(ref);
	if (n->kind == LIN_ID_RUN) {
		lin_table_cellq(t, n->job_type);
		lin_table_cellq(t, n->name);
		lin_table_cellq(t, n->state);
	} else {
		lin_table_cellq(t, n->type);
		cell_joined(t, "aliases=", n->aliases, ",");
	}
}
