/* wmeta.h - the code context of a W&B run: files/wandb-metadata.json in
 * the run folder beside its .wandb log (program, git remote and commit,
 * command-line arguments, host). */
#ifndef LIN_WMETA_H
#define LIN_WMETA_H

#include <stddef.h>

#include "err.h"

/* Largest metadata file read (W&B's are a few KiB). */
#define LIN_WMETA_MAX (1u << 20)

/* What the file says; NULL / 0 where it says nothing. Owned by the
 * struct: release with lin_wmeta_release(). */
struct lin_wmeta {
	int found;           /* the file exists */
	char *program, *git_remote, *git_commit, *host;
	char **args;
	size_t nargs;
};

/* Read DIR/files/wandb-metadata.json where DIR is the folder of
 * `wandb_path`. Returns 0 (m->found 0 when there is no such file), or
 * LIN_EFORMAT (not a JSON object, bad JSON, nesting deeper than 32, over
 * LIN_WMETA_MAX bytes; err names the file and byte offset), LIN_EIO,
 * LIN_ENOMEM. On error `m` holds nothing. */
int lin_wmeta_load(const char *wandb_path, struct lin_wmeta *m,
		   struct lin_err *err);

/* Free what `m` holds and zero it. */
void lin_wmeta_release(struct lin_wmeta *m);

#endif
