/*
 * The memory python/ reads: an abstract bounded reader, so that the same
 * walkers run over a live process (/proc/PID/mem) and over synthetic images
 * in the unit tests. Everything read is hostile: every read is exact or
 * fails, every pointer is checked before it is followed.
 */
#ifndef FT_PY_MEM_H
#define FT_PY_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct py_mem {
	/* Reads exactly len bytes at addr: 0, or -1 (unmapped, gone, short). */
	int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	void *ctx;
	uint64_t reads; /* reads that reached the backing store */
};

/* The largest single read the walkers make (a string's data, a line table). */
#define PY_MEM_MAX_READ (64 * 1024)

static inline int py_mem_read(struct py_mem *m, uint64_t addr, void *buf, size_t len)
{
	if (len == 0 || len > PY_MEM_MAX_READ || addr < 4096 || addr + len < addr)
		return -1;
	return m->read(m->ctx, addr, buf, len);
}

/* A user-space object address: non-NULL, 8-aligned, below the x86_64
 * user-space top. */
static inline bool py_ptr_ok(uint64_t p)
{
	return p >= 4096 && (p & 7) == 0 && p < 0x800000000000ULL;
}

int py_mem_u64(struct py_mem *m, uint64_t addr, uint64_t *v);
/* A pointer that passes py_ptr_ok; -1 otherwise (NULL included). */
int py_mem_ptr(struct py_mem *m, uint64_t addr, uint64_t *p);

/* /proc/PID/mem with a small cache of 4 KiB blocks: the walkers make many
 * small reads close together (a dict's entries, a thread's frames). The
 * cache lives for one reading pass (the memory changes between passes). */
#define PY_PROCMEM_SETS 64
#define PY_PROCMEM_WAYS 4 /* a dict's entries and its keys' pages must not evict each other */
#define PY_PROCMEM_LINES (PY_PROCMEM_SETS * PY_PROCMEM_WAYS)
#define PY_PROCMEM_LINE 4096

struct py_procmem {
	int fd;
	struct py_procmem_line {
		uint64_t base; /* 0: empty */
		bool bad;      /* the block is not readable */
		unsigned char data[PY_PROCMEM_LINE];
	} * lines;
	unsigned char victim[PY_PROCMEM_SETS]; /* the way to replace next, per set */
};

/* 0, or -1 with errno set. */
int py_procmem_open(struct py_procmem *pm, int pid, struct py_mem *m);
void py_procmem_close(struct py_procmem *pm);

#endif /* FT_PY_MEM_H */
