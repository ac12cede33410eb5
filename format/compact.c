/* compact.c - lin_store_compact: mdb_env_copy2 with MDB_CP_COMPACT into
 * a temporary file, then rename(2). */
#include "compact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static int io_fail(struct lin_err *err, const char *path, const char *what)
{
	int e = errno;

	lin_err_path(err, path);
	lin_err_set(err, LIN_EIO, LIN_NO_OFFSET, "%s: %s", what, strerror(e));
	if (err)
		err->sys = e;
	return LIN_EIO;
}

/* Flush file `path` to disk. */
static int flush(const char *path)
{
	int fd = open(path, O_RDONLY);
	int rc = fd < 0 ? -1 : fsync(fd);

	if (fd >= 0)
		close(fd);
	return rc;
}

int lin_store_compact(const char *from, const char *to,
		      uint64_t *from_size, uint64_t *to_size,
		      struct lin_err *err)
{
	struct lin_store s;
	struct stat st;
	char tmp[1100];
	int rc;

	lin_err_clear(err);
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return io_fail(err, to, "cannot write the copy");
	}
	if ((rc = lin_store_open(&s, from, LIN_STORE_RDONLY, err)))
		return rc;
	if (from_size)
		*from_size = stat(from, &st) == 0 ? (uint64_t)st.st_size : 0;
	snprintf(tmp, sizeof tmp, "%s.tmp-%ld", to, (long)getpid());
	unlink(tmp);
	rc = mdb_env_copy2(s.env, tmp, MDB_CP_COMPACT);
	lin_store_close(&s);
	if (rc) {
		unlink(tmp);
		lin_err_path(err, to);
		if (rc > 0) {
			errno = rc;
			return io_fail(err, to, "cannot write the copy");
		}
		return lin_store_fail(err, rc, "cannot copy the store");
	}
	if (flush(tmp)) {
		rc = io_fail(err, to, "cannot flush the copy");
		unlink(tmp);
		return rc;
	}
	/* What was written must open as a store before it takes the name. */
	struct lin_store check;
	if ((rc = lin_store_open(&check, tmp, LIN_STORE_RDONLY, err))) {
		unlink(tmp);
		lin_err_path(err, to);
		return rc;
	}
	lin_store_close(&check);
	char lock[1200];
	snprintf(lock, sizeof lock, "%s-lock", tmp);
	unlink(lock);
	if (to_size)
		*to_size = stat(tmp, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (rename(tmp, to)) {
		rc = io_fail(err, to, "cannot rename the copy into place");
		unlink(tmp);
		return rc;
	}
	return 0;
}
