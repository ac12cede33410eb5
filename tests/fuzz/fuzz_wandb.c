/* fuzz_wandb.c - libFuzzer target: the .wandb reader on any bytes must
 * return records, skipped damage or the end, never crash, leak or
 * allocate without bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/wandb.h"
#include "tests/fuzz/fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every string a record borrows (see fuzz_runlog.c). */
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

/* Read the whole image at `data` as a .wandb file. */
static void read_all(const uint8_t *data, size_t size)
{
	struct lin_wandb *w;
	struct lin_record rec;
	struct lin_err err;
	char path[64];
	volatile size_t sink = 0;

	fuzz_memfile(data, size, path, sizeof path);
	/* the sniffer reads only what it is given */
	sink += (size_t)lin_wandb_sniff(data, size);
	if (lin_wandb_open(&w, path, "fuzzrun", &err) == 0) {
		int rc;
		while ((rc = lin_wandb_next(w, &rec, &err)) != 0) {
			if (rc == 1)
				sink += touch(&rec);
			else if (rc != LIN_EDAMAGE && rc != LIN_ERECORD)
				break;
		}
		lin_wandb_close(w);
	}
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* as given (damage handling), then with its checksums made right
	 * (record decoding) */
	read_all(data, size);
	uint8_t *fixed = malloc(size ? size : 1);
	if (!fixed)
		abort();
	memcpy(fixed, data, size);
	fuzz_wandb_fix_crcs(fixed, size);
	if (memcmp(fixed, data, size) != 0)
		read_all(fixed, size);
	free(fixed);
	return 0;
}
