/* heap.c - lineage-heap.so: counts a process's heap for `make bench`.
 *
 * Preloaded (LD_PRELOAD) into the indexer, it wraps malloc and friends
 * around glibc's own __libc_* entry points and keeps the bytes in use
 * (malloc_usable_size, so allocator rounding counts) and their peak. At
 * exit it appends "heap_peak_bytes N allocs N" to the file named by
 * LINEAGE_HEAP_OUT. This is the heap alone: the mapped store file and
 * stacks are not in it (ru_maxrss has those).
 *
 * Counters are atomic in case a library starts a thread; the peak may
 * miss a concurrent maximum by one allocation, which does not matter at
 * the sizes measured.
 */

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static uint64_t in_use, peak, allocs;

static void grew(void *p)
{
	if (!p)
		return;
	uint64_t now = __atomic_add_fetch(&in_use, malloc_usable_size(p),
					  __ATOMIC_RELAXED);
	__atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
	uint64_t old = __atomic_load_n(&peak, __ATOMIC_RELAXED);
	while (now > old &&
	       !__atomic_compare_exchange_n(&peak, &old, now, 1,
					    __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static void shrank(void *p)
{
	if (p)
		__atomic_sub_fetch(&in_use, malloc_usable_size(p),
				   __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	void *p = __libc_malloc(n);
	grew(p);
	return p;
}

void *calloc(size_t n, size_t m)
{
	void *p = __libc_calloc(n, m);
	grew(p);
	return p;
}

void *realloc(void *p, size_t n)
{
	size_t before = p ? malloc_usable_size(p) : 0;
	void *q = __libc_realloc(p, n);
	if (!q)
		return NULL;  /* p is untouched (or n was 0 and p freed) */
	__atomic_sub_fetch(&in_use, before, __ATOMIC_RELAXED);
	grew(q);
	return q;
}

void free(void *p)
{
	shrank(p);
	__libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	grew(p);
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	void *p = __libc_memalign(align, n);
	grew(p);
	return p;
}

void *memalign(size_t align, size_t n)
{
	void *p = __libc_memalign(align, n);
	grew(p);
	return p;
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("LINEAGE_HEAP_OUT");
	char line[128];
	int fd, n;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof line, "heap_peak_bytes %llu allocs %llu\n",
		     (unsigned long long)peak, (unsigned long long)allocs);
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		n = 0;  /* nothing to do: the bench reports a missing figure */
	close(fd);
}
