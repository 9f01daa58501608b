/*
 * Where to put a uprobe on an x86-64 function so that the kernel can
 * emulate the probed instruction instead of single-stepping it (~10x
 * cheaper per hit), found by a small instruction-length decoder.
 *
 * The decoder only reads the bytes it is given: code from a file is
 * untrusted and anything it does not know means "probe the start".
 */
#ifndef FT_X86PROBE_H
#define FT_X86PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "elf/elfsym.h"

/* Registers for keep_regs: bit N is x86-64 register number N. */
#define X86PROBE_REG_RSI (1u << 6)
#define X86PROBE_REG_RDI (1u << 7)

/*
 * The distance from the start of a function's code (size bytes) to the
 * point to probe, 0 when that is the start. A point such that each call
 * passes it exactly once, with the stack pointer still at the return
 * address (so a uretprobe at the same place works) and the registers in
 * keep_regs still holding the caller's arguments, at an instruction the
 * kernel emulates (push, jmp, jcc, call).
 *
 * That is the first such instruction in the straight-line code at the
 * function's start, if only harmless instructions come before it (moves,
 * arithmetic and compares writing none of rsp and keep_regs) and no
 * branch within the function lands in between. Anything the decoder does
 * not know gives 0.
 */
size_t x86probe_point(const uint8_t *code, size_t size, unsigned keep_regs);

/*
 * x86probe_point on the code of SYM in F: the file offset to probe, and
 * *delta (if not NULL) its distance from sym->offset. sym->offset itself
 * when F is not x86-64, the function is empty or too long to decode, or
 * its bytes cannot be read.
 */
uint64_t x86probe_offset(struct elfsym_file *f, const struct elfsym *sym, unsigned keep_regs,
			 uint64_t *delta);

/*
 * The length of the instruction at code (at most len bytes), 0 if unknown
 * or truncated. *target gets a relative branch's target offset from code
 * (jmp, jcc, loop, call, xbegin) and *is_branch says whether it is one;
 * calls set *is_call. Exposed for the unit tests.
 */
int x86probe_insn_len(const uint8_t *code, size_t len, bool *is_branch, bool *is_call,
		      int64_t *target);

#endif /* FT_X86PROBE_H */
