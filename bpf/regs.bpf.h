/* SPDX-License-Identifier: GPL-2.0 */
/* A task's saved user registers in the order user space unwinds them
 * (struct thread_regs: DWARF's x86_64 numbering). */
#ifndef REGS_BPF_H
#define REGS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "forktrace.h"

static __always_inline void regs_of(__u64 *d, struct task_struct *task)
{
	struct pt_regs *p = (struct pt_regs *)bpf_task_pt_regs(task);
	struct pt_regs r;

	if (bpf_probe_read_kernel(&r, sizeof(r), p)) {
		__builtin_memset(d, 0, FT_NREGS * sizeof(__u64));
		return;
	}
	d[0] = r.ax;
	d[1] = r.dx;
	d[2] = r.cx;
	d[3] = r.bx;
	d[4] = r.si;
	d[5] = r.di;
	d[6] = r.bp;
	d[7] = r.sp;
	d[8] = r.r8;
	d[9] = r.r9;
	d[10] = r.r10;
	d[11] = r.r11;
	d[12] = r.r12;
	d[13] = r.r13;
	d[14] = r.r14;
	d[15] = r.r15;
	d[16] = r.ip;
}

#endif /* REGS_BPF_H */
