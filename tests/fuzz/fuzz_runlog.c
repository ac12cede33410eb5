/* fuzz_runlog.c - libFuzzer target: the runlog reader on any bytes
 * (plain or gzip) must return records or errors, never crash, leak or
 * allocate without bound. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "format/runlog.h"
#include "tests/fuzz/fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every string a record borrows, so a dangling or unterminated
 * one shows up under AddressSanitizer here rather than in the indexer. */
static size_t touch(const struct lin_record *r)
{
	const char *s[] = { r->run_id, r->entity, r->project, r->name,
			    r->job_type, r->group, r->host, r->notes,
			    r->type, r->coll, r->digest, r->ref,
			    r->description, r->server_id, r->state };
	const struct lin_strv *v[] = { &r->tags, &r->aliases, &r->add,
				       &r->remove };
	size_t n = 0;

	for (size_t i = 0; i < sizeof s / sizeof *s; i++)
		for (const char *p = s[i]; p && *p; p++)
			n++;
	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		for (size_t j = 0; j < v[i]->n; j++)
			for (const char *p = v[i]->v[j]; *p; p++)
				n++;
	const unsigned char *m = r->metadata;
	for (size_t i = 0; i < r->metadata_len; i++)
		n += m[i];
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lin_runlog *r;
	struct lin_record rec;
	struct lin_err err;
	char path[64];
	volatile size_t sink = 0;

	fuzz_memfile(data, size, path, sizeof path);
	if (lin_runlog_open(&r, path, NULL, &err) == 0) {
		int rc;
		/* a reader that never ends is caught by -timeout */
		while ((rc = lin_runlog_next(r, &rec, &err)) != 0) {
			if (rc == 1)
				sink += touch(&rec);
			else if (rc != LIN_ERECORD)
				break;
		}
		/* the contract: a fatal error sticks */
		if (rc < 0 && rc != LIN_ERECORD &&
		    lin_runlog_next(r, &rec, &err) != rc)
			abort();
		lin_runlog_close(r);
	}
	(void)sink;
	return 0;
}
