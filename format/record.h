/* record.h - the lineage record that every log reader produces.
 *
 * Both readers (runlog, .wandb) turn their input into this one shape, so
 * the indexer has a single path. A record borrows all of its strings and
 * arrays from the reader that filled it: they stay valid until the next
 * call on that reader, or until the reader is closed. Strings are
 * NUL-terminated, valid UTF-8 without NUL bytes inside (both readers
 * check: a record with another string is skipped as LIN_ERECORD, with
 * its kind and offset still set). Absent optional fields
 * are NULL, LIN_TIME_NONE or -1 as noted. */
#ifndef LIN_RECORD_H
#define LIN_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays and maps in a LOG record's metadata (the
 * value itself is level 1). The store keeps metadata inside facts and
 * nodes, and msgpack-c unpacks values only to a depth of 32. */
#define LIN_METADATA_MAX_DEPTH 24
#define LIN_STR_(x) #x
#define LIN_STR(x) LIN_STR_(x)

/* Times are nanoseconds since the Unix epoch, UTC. */
#define LIN_TIME_NONE INT64_MIN

enum lin_rec_kind {
	LIN_REC_RUN = 1,    /* a run starts or its attributes update */
	LIN_REC_LOG = 2,    /* a run logged (produced) an artifact version */
	LIN_REC_USE = 3,    /* a run used (consumed) an artifact version */
	LIN_REC_ALIAS = 4,  /* aliases move outside a run */
	LIN_REC_FINISH = 5  /* a run ended */
};

struct lin_strv {            /* a borrowed array of strings */
	const char *const *v;
	size_t n;
};

struct lin_record {
	enum lin_rec_kind kind;
	uint64_t offset;    /* byte offset of the record: in the uncompressed
			       stream for runlog, in the file for .wandb */

	/* Whose record this is. RUN: the run's own id, entity, project.
	 * LOG/USE/FINISH: the run named by the record, or NULL when the record
	 * names none (the indexer then applies the file's latest RUN).
	 * entity/project NULL: the run's, else the indexer's defaults. */
	const char *run_id;
	const char *entity;
	const char *project;

	/* RUN */
	const char *name;       /* display name */
	const char *job_type;
	const char *group;
	const char *host;
	const char *notes;
	struct lin_strv tags;
	int64_t started_at;
	/* RUN, optional: the code behind the run (runlog `run` keys; for
	 * .wandb, files/wandb-metadata.json beside the log) */
	const char *program;    /* script or entry point */
	const char *git_remote;
	const char *git_commit;
	struct lin_strv args;   /* command-line arguments */

	/* LOG: type, coll (collection name), digest required.
	 * USE: ref required ("[entity/project/]name:alias|vN"), type and
	 *      digest optional (a digest pins the exact version).
	 * ALIAS: ref ("name:vN") required, add/remove lists. */
	const char *type;
	const char *coll;
	const char *digest;
	const char *ref;
	const char *description;
	int64_t version;        /* LOG: explicit version number, or -1 */
	struct lin_strv aliases;/* LOG: aliases to point at this version */
	struct lin_strv add;    /* ALIAS */
	struct lin_strv remove; /* ALIAS */
	int64_t size;           /* LOG: bytes, or -1 */
	int64_t files;          /* LOG: file count, or -1 */
	const void *metadata;   /* LOG: MessagePack encoding of one value */
	size_t metadata_len;    /*      (a map for runlog; for .wandb the
				        JSON text converted, or the text as a
				        str when it is not JSON), 0 when
				        absent */
	const char *server_id;  /* W&B's id of the artifact version: LOG
				   from a runlog (lineage-export-wandb
				   writes it), USE from a .wandb log */
	int64_t at;             /* LOG created_at, USE at, ALIAS at,
				   FINISH ended_at; LIN_TIME_NONE if absent */

	/* FINISH */
	const char *state;      /* "finished", "failed", "crashed" or NULL */
	int64_t exit_code;      /* or INT64_MIN when absent */
};

/* Reset every field to "absent". */
void lin_record_clear(struct lin_record *r);

#endif
