/* Finding a process's glibc in its memory map (see libc_find.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "kernel/libc_find.h"
#include "proc/mapfile.h"
#include "proc/maps.h"

/* libc.so.6, libc-2.31.so; libpthread.so.0, libpthread-2.31.so */
static bool is_lib(const char *path, const char *stem, const char *soname)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(stem);

	base = base ? base + 1 : path;
	if (strcmp(base, soname) == 0)
		return true;
	return strncmp(base, stem, n) == 0 && base[n] == '-' && base[n + 1] >= '0' &&
	       base[n + 1] <= '9' && strstr(base + n, ".so") != NULL;
}

/* The file's own path: without the kernel's mark of a removed file. */
static void strip_deleted(struct proc_map *m)
{
	size_t len = strlen(m->path), n = strlen(PROC_MAP_DELETED);

	if (m->deleted && len >= n && strcmp(m->path + len - n, PROC_MAP_DELETED) == 0)
		m->path[len - n] = 0;
}

static void set_lib(struct libc_file *lib, const struct proc_map *m)
{
	lib->found = true;
	lib->dev = makedev(m->dev_major, m->dev_minor);
	lib->ino = (ino_t)m->inode;
	lib->deleted = m->deleted;
	snprintf(lib->path, sizeof(lib->path), "%s", m->path);
	snprintf(lib->range, sizeof(lib->range), "%s", m->range);
}

int libc_find(int pid, struct libc_file *libc, struct libc_file *pthr)
{
	struct proc_maps it;
	struct proc_map *m = malloc(sizeof(*m));
	int n = 0;

	if (!m)
		return -ENOMEM;
	if (proc_maps_open(&it, pid)) {
		free(m);
		return -errno;
	}
	while (proc_maps_next(&it, m) > 0) {
		n++;
		if (m->path[0] != '/')
			continue;
		strip_deleted(m);
		if (!libc->found && is_lib(m->path, "libc", "libc.so.6"))
			set_lib(libc, m);
		else if (!pthr->found && is_lib(m->path, "libpthread", "libpthread.so.0"))
			set_lib(pthr, m);
	}
	proc_maps_close(&it);
	free(m);
	return n ? 0 : -ESRCH;
}

void libc_reach(int pid, const struct libc_file *lib, char *out, size_t len)
{
	proc_mapfile_path(pid, lib->path, (uint64_t)lib->ino, lib->deleted, lib->range, out, len);
}

bool libc_is_file(const struct libc_file *lib, dev_t dev, ino_t ino)
{
	return lib->found ? lib->dev == dev && lib->ino == ino : ino == 0;
}
