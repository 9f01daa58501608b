/*
 * Which glibc a process runs on, found in its /proc/PID/maps: libc.so.6 (or
 * libc-2.NN.so), and libpthread where that is still a file of its own
 * (before glibc 2.34 it holds the pthread functions).
 */
#ifndef FT_LIBC_FIND_H
#define FT_LIBC_FIND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A library file as one process maps it. */
struct libc_file {
	bool found;
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX]; /* as the process sees it, without " (deleted)" */
	char range[64];	     /* one mapping's "start-end" in /proc/PID/map_files */
	bool deleted;	     /* removed or replaced since it was mapped */
};

/*
 * Fills *libc and *pthr (found false when not mapped: static, musl, or
 * the dynamic loader has not mapped it yet). 0; -ESRCH for a zombie (no
 * mappings); -errno when the maps cannot be read (ENOENT: no such pid).
 */
int libc_find(int pid, struct libc_file *libc, struct libc_file *pthr);

/*
 * A path through which this process (and the kernel, for a uprobe) can
 * reach the very file PID maps: /proc/PID/root/PATH (containers), or, when
 * that is not the same file (deleted, replaced), /proc/PID/map_files/RANGE.
 */
void libc_reach(int pid, const struct libc_file *lib, char *out, size_t len);

/* Is lib (found or not) the file dev/ino (ino 0: no file)? */
bool libc_is_file(const struct libc_file *lib, dev_t dev, ino_t ino);

#endif /* FT_LIBC_FIND_H */
