/* What stacks.c (modules, symbols, caches) and unwind.c (address spaces)
 * share. Nothing outside stacks/ includes it. */
#ifndef FT_STACKS_PRIV_H
#define FT_STACKS_PRIV_H

#include "stacks/module.h"
#include "stacks/stacks.h"

#define STACKS_MODULES_MAX 256
#define STACKS_SPACES_MAX 8

/* One executable mapping of a process, as /proc/PID/maps lists it. */
struct code_map {
	uint64_t start, end, offset, dev, ino;
	bool deleted;
	char *path;	/* as the kernel shows it, " (deleted)" cut off */
	char range[40]; /* for /proc/PID/map_files */
};

struct code_maps {
	int pid;
	struct code_map *v;
	int n;
};

/* The executable mappings of pid: 0, or -1 (gone, not permitted). */
int code_maps_read(int pid, struct code_maps *cm);
void code_maps_free(struct code_maps *cm);
const struct code_map *code_maps_find(const struct code_maps *cm, uint64_t addr);

struct module_ref {
	uint64_t dev, ino;
	struct module *mod; /* shared by every file with its build-id */
	bool owner;
};

struct space; /* unwind.c */

struct addr_entry {
	const struct module *mod; /* NULL: a free slot */
	uint64_t vaddr;
	int n;
	struct module_frame f[MODULE_INLINE_MAX];
	char *strings; /* the frames' strings (demangled), one block */
};

struct stacks {
	struct stacks_config cfg;
	struct module_ref mods[STACKS_MODULES_MAX];
	int nmods;
	struct space *spaces[STACKS_SPACES_MAX];
	uint64_t tick;
	/* the last process's code, read again after MAPS_TTL_NS or when a pc is
	 * in none of it: a fork storm's every orphan is unwound in one layout */
	struct code_maps maps;
	uint64_t maps_at;
	struct addr_entry *addrs; /* open addressing, cap a power of two */
	uint32_t addr_cap, naddrs;
	struct stacks_stats st;
};

/* The module mapped at m in cm's process (opened once). NULL: not ELF. */
struct module *stacks_module(struct stacks *s, const struct code_maps *cm,
			     const struct code_map *m);
/* unwind.c: the pcs of one thread, innermost first; act[i]: pcs[i] is where
 * the thread is (frame 0), not a return address. Count, or -1. */
int stacks_walk(struct stacks *s, const struct code_maps *cm, const uint64_t *regs,
		stacks_read_fn read, void *ctx, uint64_t *pcs, bool *act, int max);
void stacks_spaces_free(struct stacks *s);

#endif
