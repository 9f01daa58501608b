/*
 * One ELF file a traced process maps, known by its build-id: its loadable
 * segments (to turn a file offset into an ELF address), its function
 * symbols sorted, and its DWARF (its own, or a debug file found by
 * build-id on this host) for file:line and inlined frames. Opened once,
 * through the process's own view of the file (/proc/PID/root or
 * /proc/PID/map_files), so a container's binary is the one read.
 * Everything in the file is untrusted.
 */
#ifndef FT_STACKS_MODULE_H
#define FT_STACKS_MODULE_H

#include <stdbool.h>
#include <stdint.h>
#include "stacks/symtab.h"

#define MODULE_BUILD_ID_MAX 64
#define MODULE_NAME_LEN 256
#define MODULE_LOADS_MAX 16
#define MODULE_INLINE_MAX 8 /* frames one address can name (itself and inlined callers) */

struct module_load {
	uint64_t offset, vaddr, filesz; /* page-aligned start of a PT_LOAD */
};

struct module {
	unsigned char build_id[MODULE_BUILD_ID_MAX];
	int build_id_len; /* 0: the file has none (known by device and inode only) */
	uint64_t dev, ino;
	char name[MODULE_NAME_LEN]; /* the file's name, as frames show it */
	int fd;
	struct Elf *elf;
	struct module_load loads[MODULE_LOADS_MAX];
	int nloads;
	struct symtab syms;
	struct Dwfl *dwfl; /* DWARF, opened at the first address that asks */
	struct Dwfl_Module *dmod;
	bool dwarf_tried;
};

/* One frame an address names: its function, where known its source line. */
struct module_frame {
	const char *func; /* mangled as in the file; NULL: unknown */
	const char *file;
	int line;
};

/* Opens path (the file whose maps name is name, device dev, inode ino).
 * NULL when it cannot be read as ELF. */
struct module *module_open(const char *path, const char *name, uint64_t dev, uint64_t ino);
void module_free(struct module *m); /* NULL-safe */
/* The ELF address of a file offset: 0 and false when no segment holds it. */
bool module_vaddr(const struct module *m, uint64_t file_offset, uint64_t *vaddr);
/*
 * The frames at ELF address vaddr, innermost (inlined) first, into out:
 * their count (0: nothing known). Strings point into the module (valid
 * until module_free) or into scratch, which the caller copies before the
 * next call.
 */
int module_frames(struct module *m, uint64_t vaddr, struct module_frame *out, int max);

#endif
