// SPDX-License-Identifier: GPL-2.0
/*
 * The saved user registers of one thread, read on demand: an iter/task
 * program that user space runs with a tid filter. A thread blocked in the
 * kernel has exact registers here (all of them: /proc's sp and pc alone
 * cannot unwind past a frame whose CFA is rbp-based); nothing is attached,
 * traced or stopped.
 */
#include "regs.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("iter/task")
int thread_regs(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct thread_regs r = {};

	if (!t)
		return 0;
	r.tid = t->pid;
	r.flags = t->on_cpu ? TREGS_RUNNING : 0;
	regs_of(r.regs, t);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
