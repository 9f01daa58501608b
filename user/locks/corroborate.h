/*
 * The scan's second opinion. A word pattern that passes the layout rules
 * (scan.h) is a candidate; it becomes a warning only when something else in
 * the child's snapshot says a real lock lives there:
 *
 *   static   it lies in a program's or library's static data (a writable
 *            file-backed mapping, or the .bss right after one);
 *   regs     one of the holder thread's registers at the fork points into
 *            [lock - CORR_WINDOW, lock + its size): the lock, or the object
 *            around it (a callee-saved register keeps it across a wait);
 *   stack    a word of the holder's stack at the fork, from its sp up to
 *            CORR_STACK_BYTES, points there (a caller's frame, a C++
 *            lock_guard's reference);
 *   pointer  a word of the static data points there (a global that keeps
 *            the object).
 *
 * A stale byte copy of a locked mutex (memcpy, the block realloc left) and
 * integers that happen to look like one are referred to by none of these.
 */
#ifndef FT_CORROBORATE_H
#define FT_CORROBORATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "locks/scan.h"
#include "proc/procmem.h"

#define CORR_NREGS 17	/* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
#define CORR_SP 7
#define CORR_WINDOW 256 /* an object's head to its lock: most locks lead their object */
#define CORR_STACK_BYTES (64u << 10)
#define CORR_STATIC_MAX (32u << 20) /* static data read for pointers, at most */

/* A thread of the parent at the fork: its saved user registers. */
struct corr_thread {
	int tid; /* as forktrace knows it (scan_lock.owner_tid after fork_scan) */
	uint64_t regs[CORR_NREGS];
};

enum corr_how { CORR_NONE, CORR_STATIC, CORR_REGS, CORR_STACK, CORR_POINTER };

/* Sets res->locks[i].corroborated for every lock, reading the child's
 * memory (pm, maps) for stacks and static data. */
void corroborate_locks(const struct procmem *pm, const struct procmem_maps *maps,
		       const struct corr_thread *threads, int nthreads, struct scan_result *res);

/* ---- the pure parts */

/* Is addr in static data: a writable private file mapping, or the
 * anonymous mapping that follows one directly (its .bss)? */
bool corr_is_static(const struct procmem_maps *maps, uint64_t addr);
/* Does any of the n words point into [lo, hi)? */
bool corr_words_point(const uint64_t *words, size_t n, uint64_t lo, uint64_t hi);

#endif
