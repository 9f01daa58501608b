/* Bounded reads of another process's memory (mem.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "python/mem.h"

int py_mem_u64(struct py_mem *m, uint64_t addr, uint64_t *v)
{
	return py_mem_read(m, addr, v, sizeof(*v));
}

int py_mem_ptr(struct py_mem *m, uint64_t addr, uint64_t *p)
{
	if (py_mem_u64(m, addr, p))
		return -1;
	return py_ptr_ok(*p) ? 0 : -1;
}

static int pread_exact(int fd, uint64_t addr, void *buf, size_t len)
{
	ssize_t got;

	if (addr > (uint64_t)INT64_MAX - len)
		return -1;
	got = pread(fd, buf, len, (off_t)addr);
	return got == (ssize_t)len ? 0 : -1;
}

static int procmem_read_cached(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct py_procmem *pm = ctx;
	uint64_t base = addr & ~(uint64_t)(PY_PROCMEM_LINE - 1);
	struct py_procmem_line *l;
	unsigned set, way;

	/* a block that straddles two lines, or a large read: straight through */
	if (addr + len > base + PY_PROCMEM_LINE)
		return pread_exact(pm->fd, addr, buf, len);
	set = (unsigned)((base / PY_PROCMEM_LINE) % PY_PROCMEM_SETS);
	l = &pm->lines[set * PY_PROCMEM_WAYS];
	for (way = 0; way < PY_PROCMEM_WAYS && l[way].base != base; way++)
		;
	if (way == PY_PROCMEM_WAYS) {
		way = pm->victim[set];
		pm->victim[set] = (unsigned char)((way + 1) % PY_PROCMEM_WAYS);
		l[way].base = base;
		/* mappings are page-aligned: a block reads whole or is unmapped */
		l[way].bad = pread_exact(pm->fd, base, l[way].data, PY_PROCMEM_LINE) != 0;
	}
	l += way;
	if (l->bad)
		return -1;
	memcpy(buf, l->data + (addr - base), len);
	return 0;
}

static int procmem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct py_procmem *pm = ctx;

	if (!pm->lines)
		return pread_exact(pm->fd, addr, buf, len);
	return procmem_read_cached(ctx, addr, buf, len);
}

int py_procmem_open(struct py_procmem *pm, int pid, struct py_mem *m)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0)
		return -1;
	/* without the cache every read is a pread: slower, still right */
	pm->lines = calloc(PY_PROCMEM_LINES, sizeof(*pm->lines));
	memset(pm->victim, 0, sizeof(pm->victim));
	m->read = procmem_read;
	m->ctx = pm;
	m->reads = 0;
	return 0;
}

void py_procmem_close(struct py_procmem *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
	free(pm->lines);
	pm->lines = NULL;
}
