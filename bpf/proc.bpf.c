// SPDX-License-Identifier: GPL-2.0
/*
 * Process lifecycle of traced processes: forks (new processes and new
 * threads), thread names, execs and exits. Children of traced processes
 * become traced here, at any depth.
 */
#include "common.bpf.h"
#include "stacks.bpf.h"

#define CLONE_VM_FLAG 0x00000100
#define SIGNAL_GROUP_EXIT_FLAG 0x00000004
#define NR_EXIT_GROUP 231

char LICENSE[] SEC("license") = "GPL";

static __always_inline void *reserve(__u64 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);

	if (!rec)
		count_ringbuf_full();
	return rec;
}

struct held_ctx {
	__u32 tgid;
	__u32 child_pid;
};

/* For each lock the forking process holds now: one REC_HELD_LOCK. */
static long emit_held(struct bpf_map *map, struct held_lock_key *key, struct held_lock_val *val,
		      struct held_ctx *ctx)
{
	struct rec_held_lock *r;

	if (key->tgid != ctx->tgid)
		return 0;
	r = reserve(sizeof(*r));
	if (!r)
		return 0;
	fill_hdr(&r->h, REC_HELD_LOCK, bpf_get_current_task_btf());
	r->child_pid = ctx->child_pid;
	r->holder_tid = val->tid;
	r->lock = key->addr;
	r->acquired_ts = val->acquired_ts;
	r->type = val->type;
	r->pad = 0;
	r->caller = val->caller;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

struct py_find_ctx {
	const struct py_bpf_layout *l;
	__u64 self; /* pthread_self() of the forking thread */
	__u64 ts;   /* the thread state looked at; the one found */
	bool found;
};

static long py_find_step(__u32 i, struct py_find_ctx *c)
{
	if (!c->ts)
		return 1;
	if (read_u64(c->ts + c->l->tstate_thread_id) == c->self) {
		c->found = true;
		return 1;
	}
	c->ts = read_u64(c->ts + c->l->tstate_next);
	return 0;
}

struct py_walk_ctx {
	const struct py_bpf_layout *l;
	struct rec_py_stack *r;
	__u64 frame;
	__u32 n;
};

static long py_walk_step(__u32 i, struct py_walk_ctx *c)
{
	const struct py_bpf_layout *l = c->l;
	__u64 frame = c->frame, code, instr = 0;
	__u8 owner = 0;
	__u32 n = c->n;

	if (!frame)
		return 1;
	code = read_u64(frame + l->frame_code);
	if (l->frame_owner)
		bpf_probe_read_user(&owner, 1, (void *)(frame + l->frame_owner));
	if (l->legacy) {
		__s32 lasti = 0;

		bpf_probe_read_user(&lasti, sizeof(lasti), (void *)(frame + l->frame_instr));
		instr = (__u64)(__s64)lasti;
	} else {
		instr = read_u64(frame + l->frame_instr);
	}
	if (code && !(l->owner_cstack && owner == l->owner_cstack)) {
		if (n >= PY_STACK_FRAMES) {
			c->r->truncated = 1;
			return 1;
		}
		c->r->frames[n].code = code;
		c->r->frames[n].instr = instr;
		c->n = n + 1;
	}
	c->frame = read_u64(frame + l->frame_previous);
	return 0;
}

/* Sends one thread's raw frames, from its thread state ts. */
static __always_inline void py_send_one(const struct py_bpf_layout *l, struct task_struct *parent,
					__u32 child_tgid, __u64 ts, __u64 ident, bool forker)
{
	struct py_walk_ctx wc = { .l = l };
	__u64 frame = read_u64(ts + l->tstate_frame);

	if (l->via_cframe && frame)
		frame = read_u64(frame + l->cframe_frame);
	wc.r = reserve(sizeof(*wc.r));
	if (!wc.r)
		return;
	fill_hdr(&wc.r->h, REC_PY_STACK, parent);
	wc.r->child_pid = child_tgid;
	wc.r->truncated = 0;
	wc.r->forker = forker;
	wc.r->ident = ident;
	wc.frame = frame;
	/* shim frames are skipped, so look at up to twice as many */
	bpf_loop(PY_STACK_FRAMES * 2, py_walk_step, &wc, 0);
	if (wc.frame)
		wc.r->truncated = 1; /* the walk's budget ended before the chain did */
	wc.r->count = wc.n;
	bpf_ringbuf_submit(wc.r, 0);
}

struct py_all_ctx {
	const struct py_bpf_layout *l;
	struct task_struct *parent;
	__u32 child_tgid;
	__u64 self; /* the forking thread's thread_id: sent already */
	__u64 ts;
};

static long py_all_step(__u32 i, struct py_all_ctx *c)
{
	__u64 ts = c->ts, ident;

	if (!ts)
		return 1;
	ident = read_u64(ts + c->l->tstate_thread_id);
	if (ident != c->self)
		py_send_one(c->l, c->parent, c->child_tgid, ts, ident, false);
	c->ts = read_u64(ts + c->l->tstate_next);
	return 0;
}

/* Sends the forking thread's raw Python frames, before the fork's REC_FORK,
 * and for a threaded fork every other thread's: what each was running at
 * the instant of the fork. The forking thread's PyThreadState is the one
 * whose thread_id is its pthread_self(), on x86_64 the thread's fs base. */
static __always_inline void py_send_stack(const struct py_bpf_layout *l, struct task_struct *parent,
					  __u32 child_tgid, bool others)
{
	struct py_find_ctx fc = { .l = l, .self = BPF_CORE_READ(parent, thread.fsbase) };
	__u64 head = read_u64(l->interp + l->interp_tstate_head);

	fc.ts = head;
	bpf_loop(PY_MAX_THREADS, py_find_step, &fc, 0);
	if (fc.found)
		py_send_one(l, parent, child_tgid, fc.ts, fc.self, true);
	if (others) {
		struct py_all_ctx ac = { .l = l, .parent = parent, .child_tgid = child_tgid,
					 .self = fc.self, .ts = head };

		bpf_loop(PY_COPY_THREADS, py_all_step, &ac, 0);
	}
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = BPF_CORE_READ(parent, tgid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);

	if (!trace_allowed(tgid))
		return 0;

	if (child_tgid == tgid) {
		struct rec_thread *r = reserve(sizeof(*r));

		if (!r)
			return 0;
		fill_hdr(&r->h, REC_THREAD_NEW, parent);
		r->h.tid = BPF_CORE_READ(child, pid);
		BPF_CORE_READ_STR_INTO(&r->name, child, comm);
		r->exit_code = 0;
		bpf_ringbuf_submit(r, 0);
		return 0;
	}

	struct traced_proc tp = {
		.fork_ts = bpf_ktime_get_ns(),
		.parent_pid = tgid,
		.flags = PROC_FORKED,
	};
	bool child_traced = true;

	if (bpf_map_update_elem(&traced, &child_tgid, &tp, BPF_ANY)) {
		__sync_fetch_and_add(&drops.map_full, 1);
		child_traced = false;
	}

	if (lock_uprobes) {
		struct held_ctx hc = { .tgid = tgid, .child_pid = child_tgid };

		bpf_for_each_map_elem(&held_locks, emit_held, &hc, 0);
	}

	struct py_bpf_layout *pyl = bpf_map_lookup_elem(&py_layouts, &tgid);

	if (pyl) {
		bool from_main = (__u32)BPF_CORE_READ(parent, pid) == tgid;

		/* a single-threaded fork from the main thread is no hazard: its
		 * frames are only wanted on the fork event itself (--stacks=all) */
		bool threaded = BPF_CORE_READ(parent, signal, nr_threads) > 1;

		if (py_stacks_all || !from_main || threaded)
			py_send_stack(pyl, parent, child_tgid, threaded);
		/* the child runs the same interpreter at the same addresses; an
		 * untraced child (traced map full) would never have it removed */
		if (child_traced)
			bpf_map_update_elem(&py_layouts, &child_tgid, pyl, BPF_ANY);
	}

	__u64 wakeup = stacks_at_fork(parent, child_tgid, (__u32)BPF_CORE_READ(parent, pid) == tgid,
				      BPF_CORE_READ(parent, signal, nr_threads));

	struct rec_fork *r = reserve(sizeof(*r));

	if (!r)
		return 0;
	fill_hdr(&r->h, REC_FORK, parent);
	r->child_pid = child_tgid;
	r->threads = BPF_CORE_READ(parent, signal, nr_threads);
	if (BPF_CORE_READ(child, mm) == BPF_CORE_READ(parent, mm))
		r->h.flags |= FORK_SHARES_VM;
	if ((__u32)BPF_CORE_READ(parent, pid) == tgid)
		r->h.flags |= FORK_FROM_MAIN;
	bpf_ringbuf_submit(r, wakeup);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(on_rename, struct task_struct *task, const char *comm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (!trace_allowed(tgid))
		return 0;

	struct rec_thread *r = reserve(sizeof(*r));

	if (!r)
		return 0;
	fill_hdr(&r->h, REC_THREAD_RENAME, task);
	bpf_probe_read_kernel_str(&r->name, sizeof(r->name), comm);
	r->exit_code = 0;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* An exec ends the old image: the locks it held are gone with it. */
static long forget_held(struct bpf_map *map, struct held_lock_key *key, struct held_lock_val *val,
			__u32 *tgid)
{
	if (key->tgid == *tgid)
		bpf_map_delete_elem(map, key);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct traced_proc *tp = trace_lookup(tgid);

	if (!tp && !trace_all)
		return 0;
	if (tp)
		tp->flags |= PROC_EXECED;
	/* here, at the instant of the exec: the new image may take locks
	 * before user space has read this record */
	if (lock_uprobes)
		bpf_for_each_map_elem(&held_locks, forget_held, &tgid, 0);
	/* a new image: whatever interpreter it runs is not the old one */
	bpf_map_delete_elem(&py_layouts, &tgid);

	struct rec_exec *r = reserve(sizeof(*r));

	if (!r)
		return 0;
	fill_hdr(&r->h, REC_EXEC, task);
	r->old_pid = old_pid;
	bpf_probe_read_kernel_str(&r->filename, sizeof(r->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/*
 * Only the task is used so that this loads on kernels where the tracepoint
 * has no group_dead argument: group_dead is signal->live reaching zero,
 * which do_exit() decrements before the tracepoint.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (!trace_allowed(tgid))
		return 0;

	bool group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;
	bool group_exit = BPF_CORE_READ(task, signal, flags) & SIGNAL_GROUP_EXIT_FLAG;
	__s32 code = BPF_CORE_READ(task, exit_code);

	if (group_exit)
		code = BPF_CORE_READ(task, signal, group_exit_code);

	struct rec_thread *t = reserve(sizeof(*t));

	if (t) {
		fill_hdr(&t->h, REC_THREAD_EXIT, task);
		BPF_CORE_READ_STR_INTO(&t->name, task, comm);
		t->exit_code = code;
		if (group_exit) {
			struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

			t->h.flags |= TEXIT_GROUP_EXIT;
			if (BPF_CORE_READ(regs, orig_ax) == NR_EXIT_GROUP)
				t->h.flags |= TEXIT_INITIATOR;
		}
		bpf_ringbuf_submit(t, 0);
	}

	/* More than one thread can read live == 0 (it is decremented before
	 * the tracepoint): only the one that removes the process reports its
	 * end. Under -a a process that was running before may not be there. */
	if (!group_dead)
		return 0;
	if (bpf_map_delete_elem(&traced, &tgid) && !trace_all)
		return 0;
	bpf_map_delete_elem(&py_layouts, &tgid);

	struct rec_exit *r = reserve(sizeof(*r));

	if (!r)
		return 0;
	fill_hdr(&r->h, REC_EXIT, task);
	r->exit_code = code;
	bpf_ringbuf_submit(r, 0);
	return 0;
}
