/*
 * Native stacks in the model (--stacks): the kernel side sends, just before
 * a fork's REC_FORK, the registers of the parent's other threads and the
 * forking thread's registers with a copy of its stack. They are unwound at
 * once, while the child's memory is still the parent's at the fork, and
 * wait here for their REC_FORK; then they join the fork's events, with the
 * Python frames in place of the interpreter's loop where Python support
 * read them. A forked child's blocked thread is unwound from the registers
 * the session reads for it (or /proc's sp and pc) over its memory.
 */
#include <stdlib.h>
#include <string.h>
#include "model/model_priv.h"
#include "proc/syscall.h"
#include "stacks/interleave.h"
#include "stacks/stacks.h"

struct native_incoming {
	int pid, tid, child_pid; /* the fork; child_pid 0: a free slot */
	int n, omitted;
	int tids[FT_STACK_THREADS];
	struct stack *stacks[FT_STACK_THREADS]; /* NULL: not unwound */
	bool running[FT_STACK_THREADS];
	struct stack *forker;
};

void mst_init(struct model *m)
{
	if (!m->cfg.stacks)
		return;
	m->stacks = stacks__new(NULL);
	m->native_in = calloc(NATIVE_INCOMING, sizeof(*m->native_in));
}

static void slot_clear(struct native_incoming *in)
{
	for (int i = 0; i < in->n; i++)
		stack_free(in->stacks[i]);
	stack_free(in->forker);
	memset(in, 0, sizeof(*in));
}

void mst_free(struct model *m)
{
	for (int i = 0; m->native_in && i < NATIVE_INCOMING; i++)
		slot_clear(&m->native_in[i]);
	free(m->native_in);
	stacks__free(m->stacks);
}

/* The slot of this fork; create: a new one (the oldest is forgotten). */
static struct native_incoming *slot_of(struct model *m, const struct rec_hdr *h, uint32_t child,
				       bool create)
{
	struct native_incoming *in;

	if (!m->native_in || !child)
		return NULL;
	for (int i = 0; i < NATIVE_INCOMING; i++) {
		in = &m->native_in[i];
		if (in->child_pid == (int)child && in->pid == (int)h->pid && in->tid == (int)h->tid)
			return in;
	}
	if (!create)
		return NULL;
	in = &m->native_in[m->native_next++ % NATIVE_INCOMING];
	slot_clear(in);
	in->pid = h->pid;
	in->tid = h->tid;
	in->child_pid = child;
	return in;
}

void model__fork_regs(struct model *m, const struct rec_fork_regs *r)
{
	struct native_incoming *in = slot_of(m, &r->h, r->child_pid, true);
	int n = r->count < FT_STACK_THREADS ? (int)r->count : FT_STACK_THREADS;

	if (!in || !m->stacks)
		return;
	in->omitted = r->omitted;
	for (int i = 0; i < n; i++) {
		const struct thread_regs *t = &r->t[i];
		uint64_t regs[FT_NREGS];

		for (int k = 0; k < FT_NREGS; k++)
			regs[k] = t->regs[k];
		in->tids[i] = t->tid;
		in->running[i] = t->flags & TREGS_RUNNING;
		/* a thread on a CPU left no registers: its saved ones are stale */
		if (!in->running[i])
			in->stacks[i] =
				stacks__unwind_proc(m->stacks, r->h.pid, r->child_pid, regs);
	}
	in->n = n;
}

void model__fork_stack(struct model *m, const struct rec_fork_stack *r, size_t size)
{
	struct native_incoming *in = slot_of(m, &r->h, r->child_pid, true);
	size_t len = r->len;
	struct stacks_copy copy = { .start = r->start, .data = r->data };
	uint64_t regs[FT_NREGS];

	if (!in || !m->stacks)
		return;
	for (int k = 0; k < FT_NREGS; k++)
		regs[k] = r->regs[k];
	/* what arrived is what can be read, whatever the record says */
	if (len > size - offsetof(struct rec_fork_stack, data))
		len = size - offsetof(struct rec_fork_stack, data);
	copy.len = len;
	stack_free(in->forker);
	in->forker = stacks__unwind(m->stacks, r->h.pid, regs, stacks_read_copy, &copy);
}

/* The pending events own the stack from now on. */
static const struct stack *keep(struct pending *pd, struct stack *s)
{
	if (s && !s->count && !s->omitted && !s->running) {
		stack_free(s);
		s = NULL;
	}
	if (!s)
		return NULL;
	if (pd->nstacks >= (int)(sizeof(pd->stacks) / sizeof(pd->stacks[0]))) {
		stack_free(s);
		return NULL;
	}
	pd->stacks[pd->nstacks++] = s;
	return s;
}

/* A thread on a CPU at the fork: what Python knows of it, said running. */
static struct stack *running_stack(const struct stack *py)
{
	struct stack *s = py ? stack_dup(py) : stack_new();

	if (s)
		s->running = true;
	return s;
}

struct stack *mst_fork(struct model *m, struct proc *parent, const struct rec_fork *r,
		       struct pending *pd)
{
	struct native_incoming *in = slot_of(m, &r->h, r->child_pid, false);
	struct thread_list *tl = pd && pd->has_orphaned ? &pd->orphaned.orphaned.threads : NULL;
	struct stack *fork_stack = NULL, *py;

	(void)parent;
	if (!in)
		return m->cfg.stacks_all ? mpy_forker_stack(m, parent, r) : NULL;
	for (int i = 0; tl && i < tl->count; i++) {
		for (int j = 0; j < in->n; j++) {
			if (in->tids[j] != tl->t[i].tid)
				continue;
			if (in->running[j])
				tl->t[i].stack = keep(pd, running_stack(tl->t[i].stack));
			else if (in->stacks[j])
				tl->t[i].stack =
					keep(pd, stacks_interleave(in->stacks[j], tl->t[i].stack));
			break;
		}
	}
	if (pd && pd->has_fork_in_thread && in->forker)
		pd->fork_in_thread.fork_in_thread.stack = keep(
			pd, stacks_interleave(in->forker, pd->fork_in_thread.fork_in_thread.stack));
	/* the fork event (info) carries its stack with --stacks=all only */
	if (in->forker && m->cfg.stacks_all) {
		py = mpy_forker_stack(m, parent, r);
		fork_stack = stacks_interleave(in->forker, py);
		stack_free(py);
	}
	return fork_stack;
}

void mst_held(struct model *m, struct pending *pd)
{
	const struct thread_list *tl = pd->has_orphaned ? &pd->orphaned.orphaned.threads : NULL;

	(void)m;
	for (int i = 0; tl && i < pd->nheld; i++) {
		struct event *ev = &pd->held[i];

		if (ev->held_lock.holder_stack)
			continue;
		for (int j = 0; j < tl->count; j++)
			if (tl->t[j].tid == ev->held_lock.holder_tid)
				ev->held_lock.holder_stack = tl->t[j].stack;
	}
}

void mst_fork_done(struct model *m, const struct rec_fork *r)
{
	struct native_incoming *in = slot_of(m, &r->h, r->child_pid, false);

	if (in)
		slot_clear(in);
}

/* /proc's sp and pc of a thread blocked in a system call: enough to start
 * from where no frame before the first one that saves rbp needs it. */
static bool regs_from_proc(int pid, int tid, uint64_t *regs)
{
	struct proc_syscall sc;

	if (proc_syscall_read(pid, tid, &sc) || sc.state == PROC_SYSCALL_RUNNING || !sc.has_sp)
		return false;
	memset(regs, 0, FT_NREGS * sizeof(*regs));
	regs[7] = sc.sp;
	regs[16] = sc.pc;
	return true;
}

struct stack *mst_thread_stack(struct model *m, struct proc *p, int tid, struct stack *py)
{
	uint64_t regs[FT_NREGS];
	struct stack *native = NULL, *s;
	bool have;

	if (!m->stacks)
		return py;
	have = m->cfg.thread_regs ? m->cfg.thread_regs(m->cfg.hook_ctx, p->pid, tid, regs) == 0 :
				    false;
	if (!have)
		have = regs_from_proc(p->pid, tid, regs);
	if (have)
		native = stacks__unwind_proc(m->stacks, p->pid, p->pid, regs);
	if (!native)
		return py;
	s = stacks_interleave(native, py);
	stack_free(native);
	stack_free(py);
	return s;
}
