/*
 * Dynamic symbols of an ELF shared object, resolved the way the dynamic
 * linker binds a new reference: when a name has several versions
 * (glibc's sem_wait@GLIBC_2.2.5 and sem_wait@@GLIBC_2.34, or
 * pthread_cond_wait's compat version at another address), the default
 * one ("@@": its .gnu.version entry lacks the hidden bit 0x8000).
 * libbpf 1.1's own lookup gives up on these with "ambiguous match".
 *
 * Also: where to put a uprobe on a function so that the kernel can emulate
 * the probed instruction instead of single-stepping it (see
 * elfsym_probe_offset).
 */
#ifndef FT_ELFSYM_H
#define FT_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elfsym_file;

struct elfsym {
	uint64_t value;          /* st_value: the virtual address in the file */
	uint64_t size;           /* st_size */
	uint64_t offset;         /* the file offset of the first byte */
	char version[32];        /* "GLIBC_2.3.2"; "" when unversioned */
	bool default_version;    /* "@@" (or the only definition) */
};

/* Opens PATH (any path open(2) accepts, e.g. /proc/PID/root/...); NULL
 * after writing one line to err. */
struct elfsym_file *elfsym_open(const char *path, char *err, size_t errlen);
void elfsym_close(struct elfsym_file *f);   /* NULL-safe */

/*
 * Resolves NAME (no "@VERSION") to its defined function or object symbol.
 * 0 on success; -ENOENT when not defined; -ENOTSUP for an IFUNC (its
 * address is a resolver, not the function); -EINVAL when several
 * definitions at different addresses and none is the default.
 */
int elfsym_lookup(struct elfsym_file *f, const char *name, struct elfsym *out);

/* One-shot: the file offset of NAME in PATH, or a negative errno. */
int64_t elfsym_offset(const char *path, const char *name);

/*
 * Where to probe the function SYM so that each call passes the probe
 * exactly once, with the stack pointer still at the return address (so a
 * uretprobe at the same place works) and the registers in keep_regs
 * (bit N = x86-64 register number N: rdi = 7, rsi = 6) still holding the
 * caller's arguments, and at an instruction the kernel emulates (push,
 * jmp, jcc, call) rather than single-steps (~10x cheaper per hit).
 *
 * That is the first such instruction in the straight-line code at the
 * function's start, if only harmless instructions come before it (moves,
 * arithmetic and compares writing none of rsp and keep_regs) and no
 * branch within the function lands in between. Anything the decoder does
 * not know gives the function's own start. Returns the file offset;
 * *delta (if not NULL) is the distance from the start. x86-64 only: on
 * other machines it returns sym->offset.
 */
uint64_t elfsym_probe_offset(struct elfsym_file *f, const struct elfsym *sym,
			     unsigned keep_regs, uint64_t *delta);

#define ELFSYM_REG_RSI (1u << 6)
#define ELFSYM_REG_RDI (1u << 7)

/*
 * The x86-64 instruction length decoder behind elfsym_probe_offset,
 * exposed for the unit tests: the length of the instruction at code (at
 * most len bytes), 0 if unknown or truncated. *target gets a relative
 * branch's target offset from code (jmp, jcc, loop, call, xbegin) and
 * *is_branch says whether it is one; calls set *is_call.
 */
int elfsym_x86_insn_len(const uint8_t *code, size_t len, bool *is_branch, bool *is_call,
			int64_t *target);

/* The same on a function's code (size bytes): the distance of the probe
 * point from the start, 0 when the start it is. */
size_t elfsym_x86_probe_point(const uint8_t *code, size_t size, unsigned keep_regs);

#endif /* FT_ELFSYM_H */
