/*
 * The saved user registers of a thread of any process, from the kernel
 * (an iter/task program run once per question): no ptrace, nothing
 * attached, the thread is not stopped. For unwinding a blocked thread's
 * stack (stacks/).
 */
#ifndef FT_TASK_REGS_H
#define FT_TASK_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct task_regs;

/* Loads the program. NULL with err filled (not root, no BTF, an older kernel). */
struct task_regs *task_regs__open(char *err, size_t errlen);
void task_regs__free(struct task_regs *t); /* NULL-safe */
/*
 * Thread tid's registers (FT_NREGS, DWARF order) into regs: 0; 1 when the
 * thread is on a CPU (its saved registers are stale: regs untouched); -1
 * when it cannot be read (gone).
 */
int task_regs__read(struct task_regs *t, int tid, uint64_t *regs);

#endif
