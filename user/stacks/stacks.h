/*
 * Native stacks of threads of traced processes, without frame pointers and
 * without ptrace: a thread's registers and a way to read its memory (a
 * copy the kernel side made, a forked child's frozen snapshot, or a live
 * process) are unwound with libdwfl from each module's CFI, then
 * symbolized on this host: function+offset from a sorted symbol table,
 * file:line and inlined frames from DWARF where present, an address no
 * file names as module+offset. Modules are opened through the process's
 * own view of its files (containers read their own binaries), known by
 * build-id, and everything is cached and bounded. No network.
 *
 * Everything read (registers, memory, files) is untrusted.
 */
#ifndef FT_STACKS_H
#define FT_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "out/stack.h"

/* x86_64 registers in DWARF order: rax rdx rcx rbx rsi rdi rbp rsp
 * r8 .. r15, then rip (the return-address column). */
#define STACKS_NREGS 17
#define STACKS_REG_SP 7
#define STACKS_REG_PC 16

struct stacks;

/* Reads len bytes at addr of the thread's memory into buf: bytes read
 * (short or -1 where the memory cannot be read). */
typedef ssize_t (*stacks_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

struct stacks_config {
	int max_frames;	     /* native frames walked per stack; 0: STACK_MAX_FRAMES */
	int cache_addresses; /* symbolized addresses kept; 0: a default */
};

/* NULL when out of memory. cfg may be NULL (defaults). */
struct stacks *stacks__new(const struct stacks_config *cfg);
void stacks__free(struct stacks *s); /* NULL-safe */

/*
 * The native stack of a thread whose registers are regs, its memory read
 * by read(ctx, ...), its code laid out as in code_pid's maps (the same
 * process, or the parent of a fork snapshot). The stack is the caller's
 * (stack_free); NULL when nothing could be unwound (no module at pc,
 * out of memory).
 */
struct stack *stacks__unwind(struct stacks *s, int code_pid, const uint64_t regs[STACKS_NREGS],
			     stacks_read_fn read, void *ctx);

/* The same, reading the memory of mem_pid with pread on /proc/PID/mem
 * (a forked child's memory is its parent's at the fork, frozen where no
 * thread of the child runs). NULL too when the process is gone, or went
 * away during the walk (its frames could stop short). */
struct stack *stacks__unwind_proc(struct stacks *s, int code_pid, int mem_pid,
				  const uint64_t regs[STACKS_NREGS]);

/* A stack copied elsewhere (by the kernel side): len bytes that were at
 * start; outside it nothing can be read. For stacks__unwind's read. */
struct stacks_copy {
	uint64_t start;
	const void *data;
	size_t len;
};
ssize_t stacks_read_copy(void *ctx, uint64_t addr, void *buf, size_t len);

/* Symbolizes n addresses of pid (return addresses: the call before them)
 * into a new stack, innermost first. NULL when out of memory. */
struct stack *stacks__symbolize(struct stacks *s, int pid, const uint64_t *pcs, int n);

/* What the caches hold now, for the summary and the benchmarks. */
struct stacks_stats {
	uint64_t modules, addresses, spaces;
	uint64_t lookups, hits, flushes;
};
void stacks__stats(const struct stacks *s, struct stacks_stats *st);

#endif
