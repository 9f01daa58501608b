/*
 * Dynamic symbols of an ELF shared object, resolved the way the dynamic
 * linker binds a new reference: when a name has several versions
 * (glibc's sem_wait@GLIBC_2.2.5 and sem_wait@@GLIBC_2.34, or
 * pthread_cond_wait's compat version at another address), the default
 * one ("@@": its .gnu.version entry lacks the hidden bit 0x8000).
 * libbpf 1.1's own lookup gives up on these with "ambiguous match".
 * Where to probe inside a function is x86probe.h's business.
 */
#ifndef FT_ELFSYM_H
#define FT_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elfsym_file;

struct elfsym {
	uint64_t value;	      /* st_value: the virtual address in the file */
	uint64_t size;	      /* st_size */
	uint64_t offset;      /* the file offset of the first byte */
	char version[32];     /* "GLIBC_2.3.2"; "" when unversioned */
	bool default_version; /* "@@" (or the only definition) */
};

/* Opens PATH (any path open(2) accepts, e.g. /proc/PID/root/...); NULL
 * after writing one line to err. */
struct elfsym_file *elfsym_open(const char *path, char *err, size_t errlen);
void elfsym_close(struct elfsym_file *f); /* NULL-safe */

/*
 * Resolves NAME (no "@VERSION") to its defined function or object symbol.
 * 0 on success; -ENOENT when not defined; -ENOTSUP for an IFUNC (its
 * address is a resolver, not the function); -EINVAL when several
 * definitions at different addresses and none is the default.
 */
int elfsym_lookup(struct elfsym_file *f, const char *name, struct elfsym *out);

/* One-shot: the file offset of NAME in PATH, or a negative errno. */
int64_t elfsym_offset(const char *path, const char *name);

/* Reads the first len bytes of SYM's code (from sym->offset) into buf: 0, or
 * -1 when the file has fewer. */
int elfsym_read(struct elfsym_file *f, const struct elfsym *sym, void *buf, size_t len);

/* The machine the file is built for: e_machine (EM_X86_64, ...). */
unsigned elfsym_machine(const struct elfsym_file *f);

#endif /* FT_ELFSYM_H */
