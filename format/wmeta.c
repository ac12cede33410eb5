/* wmeta.c - read the few fields lineage keeps from a W&B run's
 * files/wandb-metadata.json: a bounded JSON reader that decodes the
 * strings it keeps and skips every other value. */
#include "wmeta.h"
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32
#define MAX_ARGS 4096

struct js {
	const char *p, *start, *end;
	int failed;            /* set once: first error wins */
	struct lin_err *err;
	int rc;
};

static int fail(struct js *j, int rc, const char *what)
{
	if (!j->failed) {
		j->failed = 1;
		j->rc = rc;
		lin_err_set(j->err, rc, (uint64_t)(j->p - j->start),
			    "%s", what);
	}
	return -1;
}

static void ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
			     c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) :
			     16u;
		if (d > 15)
			return -1;
		*out = *out << 4 | d;
	}
	return 0;
}

static size_t utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at j->p ('"'); *out gets it decoded (malloc'd) when out is
 * not NULL. A string decodes to at most its own length in bytes. */
static int string(struct js *j, char **out)
{
	const char *s = ++j->p;
	char *o = NULL, *w = NULL;

	if (out) {
		/* decoded, a string is never longer than as written */
		const char *t = s;
		while (t < j->end && *t != '"')
			t += *t == '\\' ? 2 : 1;
		o = w = malloc((size_t)(t - s) + 1);
		if (!o)
			return fail(j, LIN_ENOMEM, "out of memory");
	}
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20) {
			free(o);
			return fail(j, LIN_EFORMAT, "control character in a "
				    "string");
		}
		if (c != '\\') {
			if (w)
				*w++ = (char)c;
			j->p++;
			continue;
		}
		if (j->end - j->p < 2)
			break;
		char e = j->p[1];
		unsigned cp;
		j->p += 2;
		switch (e) {
		case '"': case '\\': case '/': cp = (unsigned char)e; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (j->end - j->p < 4 || hex4(j->p, &cp)) {
				free(o);
				return fail(j, LIN_EFORMAT, "bad \\u escape");
			}
			j->p += 4;
			/* a surrogate pair makes one code point */
			if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 &&
			    j->p[0] == '\\' && j->p[1] == 'u') {
				unsigned lo;
				if (!hex4(j->p + 2, &lo) && lo >= 0xdc00 &&
				    lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
					j->p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;  /* a lone surrogate */
			break;
		default:
			free(o);
			return fail(j, LIN_EFORMAT, "bad escape in a string");
		}
		if (w)
			w += utf8(w, cp);
	}
	if (j->p >= j->end) {
		free(o);
		return fail(j, LIN_EFORMAT, "string without its closing "
			    "quote");
	}
	j->p++;
	if (out) {
		/* What readers pass on is UTF-8 without NUL (text.h): a
		 * \u0000 or stray bytes make the file bad, at the string. */
		size_t bad;
		enum lin_text_problem t = lin_text_check(o, (size_t)(w - o),
							 &bad);
		if (t != LIN_TEXT_OK) {
			free(o);
			j->p = s - 1;
			return fail(j, LIN_EFORMAT, t == LIN_TEXT_NUL ?
				    "a string holds a NUL byte" :
				    "a string is not valid UTF-8");
		}
		*w = '\0';
		*out = o;
	}
	return 0;
}

static int value(struct js *j, int depth);

/* An array of strings into m->args; any other array is skipped. */
static int args_array(struct js *j, struct lin_wmeta *m, int depth)
{
	const char *save = j->p;
	size_t n = 0;

	/* Count first: a fixed vector, no growth. */
	j->p++;
	ws(j);
	while (j->p < j->end && *j->p != ']') {
		if (*j->p != '"' || n == MAX_ARGS) {
			j->p = save;
			return value(j, depth);
		}
		if (string(j, NULL))
			return -1;
		n++;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			ws(j);
		}
	}
	j->p = save + 1;
	m->args = calloc(n + 1, sizeof *m->args);
	if (!m->args)
		return fail(j, LIN_ENOMEM, "out of memory");
	ws(j);
	while (m->nargs < n) {
		if (string(j, &m->args[m->nargs]))
			return -1;
		m->nargs++;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			ws(j);
		}
	}
	ws(j);
	if (j->p >= j->end || *j->p != ']')
		return fail(j, LIN_EFORMAT, "unterminated array");
	j->p++;
	return 0;
}

/* An object; at the top (m set) keep the fields we know, in "git"
 * (git set) its remote and commit. */
static int object(struct js *j, int depth, struct lin_wmeta *m, int git)
{
	if (depth > MAX_DEPTH)
		return fail(j, LIN_EFORMAT, "nesting deeper than 32");
	j->p++;
	ws(j);
	while (j->p < j->end && *j->p != '}') {
		char *key = NULL;
		if (*j->p != '"')
			return fail(j, LIN_EFORMAT, "expected a key");
		if (string(j, &key))
			return -1;
		ws(j);
		if (j->p >= j->end || *j->p != ':') {
			free(key);
			return fail(j, LIN_EFORMAT, "expected ':'");
		}
		j->p++;
		ws(j);
		char **slot = NULL;
		if (m && !git && !strcmp(key, "program"))
			slot = &m->program;
		else if (m && !git && !strcmp(key, "host"))
			slot = &m->host;
		else if (m && git && !strcmp(key, "remote"))
			slot = &m->git_remote;
		else if (m && git && !strcmp(key, "commit"))
			slot = &m->git_commit;
		int rc;
		if (slot && j->p < j->end && *j->p == '"' && !*slot)
			rc = string(j, slot);
		else if (m && !git && !strcmp(key, "git") &&
			 j->p < j->end && *j->p == '{')
			rc = object(j, depth + 1, m, 1);
		else if (m && !git && !strcmp(key, "args") && !m->args &&
			 j->p < j->end && *j->p == '[')
			rc = args_array(j, m, depth + 1);
		else
			rc = value(j, depth + 1);
		free(key);
		if (rc)
			return -1;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			ws(j);
		} else if (j->p < j->end && *j->p != '}') {
			return fail(j, LIN_EFORMAT, "expected ',' or '}'");
		}
	}
	if (j->p >= j->end)
		return fail(j, LIN_EFORMAT, "unterminated object");
	j->p++;
	return 0;
}

/* Skip any value. */
static int value(struct js *j, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(j, LIN_EFORMAT, "nesting deeper than 32");
	ws(j);
	if (j->p >= j->end)
		return fail(j, LIN_EFORMAT, "value expected");
	switch (*j->p) {
	case '{':
		return object(j, depth, NULL, 0);
	case '[':
		j->p++;
		ws(j);
		while (j->p < j->end && *j->p != ']') {
			if (value(j, depth + 1))
				return -1;
			ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				ws(j);
			} else if (j->p < j->end && *j->p != ']') {
				return fail(j, LIN_EFORMAT,
					    "expected ',' or ']'");
			}
		}
		if (j->p >= j->end)
			return fail(j, LIN_EFORMAT, "unterminated array");
		j->p++;
		return 0;
	case '"':
		return string(j, NULL);
	default: {
		/* numbers, true, false, null: a run of their characters */
		const char *s = j->p;
		while (j->p < j->end &&
		       strchr("0123456789+-.eEtrufalsn", *j->p))
			j->p++;
		if (j->p == s)
			return fail(j, LIN_EFORMAT, "unexpected character");
		return 0;
	}
	}
}

void lin_wmeta_release(struct lin_wmeta *m)
{
	free(m->program);
	free(m->git_remote);
	free(m->git_commit);
	free(m->host);
	for (size_t i = 0; m->args && i < m->nargs; i++)
		free(m->args[i]);
	free(m->args);
	memset(m, 0, sizeof *m);
}

int lin_wmeta_load(const char *wandb_path, struct lin_wmeta *m,
		   struct lin_err *err)
{
	const char *slash = strrchr(wandb_path, '/');
	char *path = NULL, *buf = NULL;
	FILE *f;
	int rc = 0;

	memset(m, 0, sizeof *m);
	if (asprintf(&path, "%.*sfiles/wandb-metadata.json",
		     slash ? (int)(slash - wandb_path + 1) : 0,
		     wandb_path) < 0)
		return lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				   "out of memory");
	if (!(f = fopen(path, "rb"))) {
		if (errno != ENOENT && errno != ENOTDIR) {
			rc = lin_err_set(err, LIN_EIO, LIN_NO_OFFSET,
					 "cannot open: %s", strerror(errno));
			err->sys = errno;
			lin_err_path(err, path);
		}
		free(path);
		return rc;
	}
	buf = malloc(LIN_WMETA_MAX + 1);
	size_t n = buf ? fread(buf, 1, LIN_WMETA_MAX + 1, f) : 0;
	if (!buf)
		rc = lin_err_set(err, LIN_ENOMEM, LIN_NO_OFFSET,
				 "out of memory");
	else if (ferror(f))
		rc = lin_err_set(err, LIN_EIO, LIN_NO_OFFSET, "cannot read");
	else if (n > LIN_WMETA_MAX)
		rc = lin_err_set(err, LIN_EFORMAT, LIN_WMETA_MAX,
				 "larger than %u bytes", LIN_WMETA_MAX);
	fclose(f);
	if (rc == 0) {
		struct js j = { buf, buf, buf + n, 0, err, 0 };
		m->found = 1;
		ws(&j);
		if (j.p >= j.end || *j.p != '{')
			fail(&j, LIN_EFORMAT, "not a JSON object");
		else
			object(&j, 1, m, 0);
		rc = j.failed ? j.rc : 0;
	}
	if (rc) {
		lin_err_path(err, path);
		lin_wmeta_release(m);
	}
	free(buf);
	free(path);
	return rc;
}
