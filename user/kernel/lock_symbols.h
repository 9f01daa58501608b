/*
 * The glibc lock functions the uprobe mode probes, and where to probe
 * each in one library file: resolved once per file (by device and inode)
 * and kept for every process that maps it.
 */
#ifndef FT_LOCK_SYMBOLS_H
#define FT_LOCK_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "forktrace.h"

#define LOCK_FUNCS 25

/* A function to probe; its attach cookie is LOCK_COOKIE(op, type). */
struct lock_func {
	const char *name;
	enum lock_op op;
	unsigned type; /* enum held_type; 0: not known at the call */
	bool ret;      /* lk_exit at its return too */
	bool required; /* without it the mode makes no sense */
};

extern const struct lock_func lock_funcs[LOCK_FUNCS];

/* Where to probe in one file (a libc or libpthread). */
struct lock_file {
	dev_t dev;
	ino_t ino;
	uint64_t off[LOCK_FUNCS];   /* file offset to probe; 0: not defined there */
	uint64_t start[LOCK_FUNCS]; /* the function's own first byte */
	struct lock_file *next;
};

struct lock_symbols;

/* at_symbol: probe each function's first instruction, not the cheaper
 * point x86probe finds. NULL when out of memory. */
struct lock_symbols *lock_symbols__new(bool at_symbol);

/*
 * The offsets in the file dev/ino, reached through path: from the cache,
 * else read from the file now. NULL after writing one line to err. The
 * result stays valid until lock_symbols__free.
 */
struct lock_file *lock_symbols__get(struct lock_symbols *c, dev_t dev, ino_t ino, const char *path,
				    char *err, size_t errlen);

/* From now on, probe every function of lf at its start (the kernel
 * refused a probe point inside one). false when that changes nothing. */
bool lock_file__use_starts(struct lock_file *lf);

void lock_symbols__free(struct lock_symbols *c); /* NULL-safe */

#endif /* FT_LOCK_SYMBOLS_H */
