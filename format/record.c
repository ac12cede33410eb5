/* record.c - helpers for struct lin_record. */
#include "record.h"

#include <string.h>

void lin_record_clear(struct lin_record *r)
{
	memset(r, 0, sizeof *r);
	r->started_at = LIN_TIME_NONE;
	r->at = LIN_TIME_NONE;
	r->version = -1;
	r->size = -1;
	r->files = -1;
	r->exit_code = INT64_MIN;
}
