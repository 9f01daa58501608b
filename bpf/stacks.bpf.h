/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Native stacks at a fork (--stacks), for proc.bpf.c's fork tracepoint:
 * the saved user registers of every other thread of the parent (an
 * open-coded task iterator and bpf_task_pt_regs; their stacks are in the
 * child's memory, frozen at the fork), and the forking thread's registers
 * with a copy of its stack (the child goes on to reuse that memory).
 * bpf_get_stack is not used: without frame pointers it returns wrong
 * frames, not only too few.
 */
#ifndef STACKS_BPF_H
#define STACKS_BPF_H

#include "common.bpf.h"
#include "regs.bpf.h"

/* Set by user space between open and load. */
const volatile __u32 stacks_mode = FSTACKS_OFF;
const volatile __u32 stack_pages = 4;	       /* the forking thread's copy, in pages */
const volatile __u32 stack_threads = FT_STACK_THREADS; /* threads' registers per fork */
/* the lock scan corroborates what it finds with the other threads' registers */
const volatile bool scan_regs = false;

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;
extern struct task_struct *bpf_task_from_pid(s32 pid) __weak __ksym;
extern void bpf_task_release(struct task_struct *p) __weak __ksym;

/* Records too big for the BPF stack are built here, one per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_fork_regs);
} fork_regs_buf SEC(".maps");

/* an array of one slot per CPU (max_entries set by user space): a percpu
 * value cannot hold 32 KiB and a header */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_fork_stack);
} fork_stack_buf SEC(".maps");

/* The other threads' registers: the child was born without them. */
static __always_inline void stacks_send_threads(struct task_struct *parent, __u32 child_tgid)
{
	struct rec_fork_regs *r;
	struct bpf_iter_task it;
	struct task_struct *t, *leader;
	__u32 zero = 0, n = 0, omitted = 0;
	__u32 self = BPF_CORE_READ(parent, pid);

	r = bpf_map_lookup_elem(&fork_regs_buf, &zero);
	if (!r)
		return;
	/* from the leader: the iterator walks the thread list onwards from the
	 * task it is given, so a forking worker would miss those before it */
	leader = bpf_task_from_pid(BPF_CORE_READ(parent, tgid));
	bpf_iter_task_new(&it, leader ? leader : parent, BPF_TASK_ITER_PROC_THREADS);
	while ((t = bpf_iter_task_next(&it))) {
		if ((__u32)t->pid == self)
			continue;
		if (n >= FT_STACK_THREADS || n >= stack_threads) {
			omitted++;
			continue;
		}
		r->t[n].tid = t->pid;
		r->t[n].flags = t->on_cpu ? TREGS_RUNNING : 0;
		regs_of(r->t[n].regs, t);
		n++;
	}
	bpf_iter_task_destroy(&it);
	if (leader)
		bpf_task_release(leader);
	fill_hdr(&r->h, REC_FORK_REGS, parent);
	r->child_pid = child_tgid;
	r->count = n;
	r->omitted = omitted;
	r->pad = 0;
	if (n > FT_STACK_THREADS)
		return;
	if (bpf_ringbuf_output(&events, r,
			       sizeof(*r) - (FT_STACK_THREADS - n) * sizeof(r->t[0]),
			       BPF_RB_NO_WAKEUP))
		count_ringbuf_full();
}

/* The forking thread: registers and whole pages from its sp's page up,
 * until the copy is full or the stack ends (an unmapped page). */
static __always_inline void stacks_send_forker(struct task_struct *parent, __u32 child_tgid)
{
	__u32 key = bpf_get_smp_processor_id(), len = 0;
	struct rec_fork_stack *r = bpf_map_lookup_elem(&fork_stack_buf, &key);
	__u64 base;

	if (!r)
		return;
	regs_of(r->regs, parent);
	base = r->regs[7] & ~(__u64)(FT_STACK_PAGE - 1);
	for (__u32 i = 0; i < FT_STACK_PAGES_MAX; i++) {
		if (i >= stack_pages)
			break;
		if (bpf_probe_read_user(&r->data[i * FT_STACK_PAGE], FT_STACK_PAGE,
					(void *)(base + i * FT_STACK_PAGE)))
			break;
		len += FT_STACK_PAGE;
	}
	fill_hdr(&r->h, REC_FORK_STACK, parent);
	r->child_pid = child_tgid;
	r->len = len;
	r->start = base;
	if (len > sizeof(r->data))
		return;
	if (bpf_ringbuf_output(&events, r, sizeof(*r) - sizeof(r->data) + len, BPF_RB_NO_WAKEUP))
		count_ringbuf_full();
}

/*
 * At a fork of a traced process, before its REC_FORK. The records wake
 * nobody: the REC_FORK right after them must then wake the reader itself
 * (the ring buffer wakes it only when it had read everything before a
 * record): returns the flags for REC_FORK's submit.
 */
static __always_inline __u64 stacks_at_fork(struct task_struct *parent, __u32 child_tgid,
					    bool from_main, __u32 nthreads)
{
	if (stacks_mode == FSTACKS_OFF) {
		if (!scan_regs || nthreads <= 1)
			return 0;
		stacks_send_threads(parent, child_tgid);
		return BPF_RB_FORCE_WAKEUP;
	}
	if (stacks_mode == FSTACKS_HAZARDS && from_main && nthreads <= 1)
		return 0;
	if (nthreads > 1)
		stacks_send_threads(parent, child_tgid);
	/* the forker's stack is a hazard's only when it is not the main thread
	 * (fork_in_thread); the fork event (info) carries it with --stacks=all */
	if (stacks_mode == FSTACKS_ALL || !from_main)
		stacks_send_forker(parent, child_tgid);
	return BPF_RB_FORCE_WAKEUP;
}

#endif /* STACKS_BPF_H */
