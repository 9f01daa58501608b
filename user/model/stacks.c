/*
 * Native stacks in the model (--stacks): the kernel side sends, just before
 * a fork's REC_FORK, the registers of the parent's other threads and the
 * forking thread's registers with a copy of its stack. They wait here for
 * their REC_FORK, and are unwound then, after Python support has read the
 * live parent (which moves on; the child's memory, where the orphans'
 * stacks are, is frozen until it exits or exec's), and join the fork's
 * events with the Python frames in place of the interpreter's loop. A
 * forked child's blocked thread is unwound from the registers the session
 * reads for it (or /proc's sp and pc) over its memory.
 */
#include <stdlib.h>
#include <string.h>
#include "model/model_priv.h"
#include "proc/syscall.h"
#include "stacks/interleave.h"
#include "stacks/stacks.h"

/* The last stack of each thread seen at a fork, by its registers then. */
#define LAST_SLOTS 512
struct last_stack {
	int pid, tid; /* 0: free */
	uint64_t regs[FT_NREGS];
	struct stack *stack;
};

/* The holders' stacks at a fork, kept for the child's deadlock (a ring). */
#define HOLDER_SLOTS 64
struct holder_stack {
	int child_pid, holder_tid; /* 0: free */
	uint64_t fork_ts;
	struct stack *stack;
};

struct native_incoming {
	int pid, tid, child_pid; /* the fork; child_pid 0: a free slot */
	bool has_regs;
	struct rec_fork_regs regs;   /* count checked by the dispatcher */
	struct rec_fork_stack *copy; /* as received; len cut to what came */
	bool unwound;
	struct stack *stacks[FT_STACK_THREADS]; /* of regs.t[i]; NULL: none */
	struct stack *forker;
};

void mst_init(struct model *m)
{
	/* the lock scan corroborates with the registers, without stacks too */
	if (m->cfg.scan_locks && !m->cfg.stacks)
		m->native_in = calloc(NATIVE_INCOMING, sizeof(*m->native_in));
	if (!m->cfg.stacks)
		return;
	m->stacks = stacks__new(NULL);
	m->native_in = calloc(NATIVE_INCOMING, sizeof(*m->native_in));
	m->last_stacks = calloc(LAST_SLOTS, sizeof(*m->last_stacks));
	m->holder_stacks = calloc(HOLDER_SLOTS, sizeof(*m->holder_stacks));
}

static void slot_clear(struct native_incoming *in)
{
	for (int i = 0; i < FT_STACK_THREADS; i++)
		stack_free(in->stacks[i]);
	stack_free(in->forker);
	free(in->copy);
	memset(in, 0, sizeof(*in));
}

void mst_free(struct model *m)
{
	for (int i = 0; m->native_in && i < NATIVE_INCOMING; i++)
		slot_clear(&m->native_in[i]);
	free(m->native_in);
	for (int i = 0; m->last_stacks && i < LAST_SLOTS; i++)
		stack_free(m->last_stacks[i].stack);
	free(m->last_stacks);
	for (int i = 0; m->holder_stacks && i < HOLDER_SLOTS; i++)
		stack_free(m->holder_stacks[i].stack);
	free(m->holder_stacks);
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

/*
 * The child is gone already (it exited or exec'd at once), but a thread
 * whose registers are still exactly those of the fork has not run since:
 * its stack in the parent is the one it had at the fork.
 */
static bool still_there(struct model *m, int pid, int tid, const uint64_t *regs)
{
	uint64_t now[FT_NREGS];

	return m->cfg.thread_regs && m->cfg.thread_regs(m->cfg.hook_ctx, pid, tid, now) == 0 &&
	       !memcmp(now, regs, sizeof(now));
}

/*
 * A thread whose every register is what it was at the last fork is in the
 * same wait it was in then, called the same way: its stack is the same (an
 * idle pool's workers at each fork of a storm) and is not unwound again.
 */
static struct last_stack *last_of(struct model *m, int pid, int tid)
{
	unsigned h = ((unsigned)pid * 2654435761u) ^ ((unsigned)tid * 40503u);

	return m->last_stacks ? &m->last_stacks[h % LAST_SLOTS] : NULL;
}

static struct stack *unwind_orphan(struct model *m, const struct rec_fork_regs *r, int tid,
				   const uint64_t *regs)
{
	struct last_stack *l = last_of(m, r->h.pid, tid);
	struct stack *s;

	if (l && l->stack && l->pid == (int)r->h.pid && l->tid == tid &&
	    !memcmp(l->regs, regs, sizeof(l->regs)))
		return stack_dup(l->stack);
	s = stacks__unwind_proc(m->stacks, r->h.pid, r->child_pid, regs);
	if (!s && still_there(m, r->h.pid, tid, regs))
		s = stacks__unwind_proc(m->stacks, r->h.pid, r->h.pid, regs);
	if (s && l) {
		stack_free(l->stack);
		l->stack = stack_dup(s);
		l->pid = r->h.pid;
		l->tid = tid;
		memcpy(l->regs, regs, sizeof(l->regs));
	}
	return s;
}

void model__fork_regs(struct model *m, const struct rec_fork_regs *r)
{
	struct native_incoming *in = slot_of(m, &r->h, r->child_pid, true);

	if (!in)
		return;
	in->regs = *r;
	if (in->regs.count > FT_STACK_THREADS)
		in->regs.count = FT_STACK_THREADS;
	in->has_regs = true;
}

void model__fork_stack(struct model *m, const struct rec_fork_stack *r, size_t size)
{
	struct native_incoming *in = slot_of(m, &r->h, r->child_pid, true);
	size_t head = offsetof(struct rec_fork_stack, data);

	if (!in || !m->stacks)
		return;
	free(in->copy);
	in->copy = malloc(size);
	if (!in->copy)
		return;
	memcpy(in->copy, r, size);
	/* what arrived is what can be read, whatever the record says */
	if (in->copy->len > size - head)
		in->copy->len = size - head;
}

/* The fork's stacks, unwound once its REC_FORK came. */
static void unwind_slot(struct model *m, struct native_incoming *in)
{
	uint64_t regs[FT_NREGS];

	if (in->unwound)
		return;
	in->unwound = true;
	for (int i = 0; in->has_regs && i < (int)in->regs.count; i++) {
		const struct thread_regs *t = &in->regs.t[i];

		/* a thread on a CPU left no registers: its saved ones are stale */
		if (t->flags & TREGS_RUNNING)
			continue;
		for (int k = 0; k < FT_NREGS; k++)
			regs[k] = t->regs[k];
		in->stacks[i] = unwind_orphan(m, &in->regs, t->tid, regs);
	}
	if (in->copy) {
		struct stacks_copy copy = { .start = in->copy->start,
					    .data = in->copy->data,
					    .len = in->copy->len };

		for (int k = 0; k < FT_NREGS; k++)
			regs[k] = in->copy->regs[k];
		in->forker = stacks__unwind(m->stacks, in->pid, regs, stacks_read_copy, &copy);
	}
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

	if (!in || !m->stacks)
		return m->cfg.stacks_all ? mpy_forker_stack(m, parent, r) : NULL;
	unwind_slot(m, in);
	for (int i = 0; tl && i < tl->count; i++) {
		for (int j = 0; in->has_regs && j < (int)in->regs.count; j++) {
			if ((int)in->regs.t[j].tid != tl->t[i].tid)
				continue;
			if (in->regs.t[j].flags & TREGS_RUNNING)
				tl->t[i].stack = pending_keep_stack(pd, running_stack(tl->t[i].stack));
			else if (in->stacks[j])
				tl->t[i].stack =
					pending_keep_stack(pd, stacks_interleave(in->stacks[j], tl->t[i].stack));
			break;
		}
	}
	if (pd && pd->has_fork_in_thread && in->forker)
		pd->fork_in_thread.fork_in_thread.stack = pending_keep_stack(pd, stacks_interleave(in->forker, pd->fork_in_thread.fork_in_thread.stack));
	/* the fork event (info) carries its stack with --stacks=all only */
	if (in->forker && m->cfg.stacks_all) {
		py = mpy_forker_stack(m, parent, r);
		fork_stack = stacks_interleave(in->forker, py);
		stack_free(py);
	}
	return fork_stack;
}

/*
 * Where a lock was taken (site: its call's frames) in the holder's stack at
 * the fork (now): while the holder is still in the function that took it,
 * that function's callers are the ones at the fork; else the site alone
 * (what the holder does now is in orphaned_threads).
 */
static struct stack *from_site(const struct stack *site, const struct stack *now)
{
	const struct frame *fn = site->count ? &site->frames[site->count - 1] : NULL;
	struct stack *s = stack_dup(site);

	if (!s || !fn || !fn->func || !now)
		return s;
	for (int i = 0; i < now->count; i++) {
		const struct frame *f = &now->frames[i];

		if (!f->func || strcmp(f->func, fn->func) || !f->module || !fn->module ||
		    strcmp(f->module, fn->module))
			continue;
		for (int j = i + 1; j < now->count; j++)
			if (stack_push(s, &now->frames[j]))
				break;
		s->omitted += now->omitted;
		break;
	}
	return s;
}

/* A held lock's holder stack, kept for the deadlock its child may meet. */
static void remember_holder(struct model *m, const struct proc *child, const struct event *ev)
{
	struct holder_stack *h;

	if (!m->holder_stacks || !ev->held_lock.holder_stack || ev->held_lock.holder_is_forker)
		return;
	h = &m->holder_stacks[m->holder_next++ % HOLDER_SLOTS];
	stack_free(h->stack);
	h->stack = stack_dup(ev->held_lock.holder_stack);
	h->child_pid = child->pid;
	h->holder_tid = ev->held_lock.holder_tid;
	h->fork_ts = child->fork_ts;
}

const struct stack *mst_holder_stack(struct model *m, const struct proc *child, int holder_tid)
{
	for (int i = 0; m->holder_stacks && holder_tid > 0 && i < HOLDER_SLOTS; i++) {
		const struct holder_stack *h = &m->holder_stacks[i];

		if (h->stack && h->child_pid == child->pid && h->holder_tid == holder_tid &&
		    h->fork_ts == child->fork_ts)
			return h->stack;
	}
	return NULL;
}

void mst_held(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
	      const struct found_lock *locks, int n)
{
	const struct thread_list *tl = pd->has_orphaned ? &pd->orphaned.orphaned.threads : NULL;

	for (int i = 0; i < pd->nheld; i++) {
		struct event *ev = &pd->held[i];
		const struct stack *now = NULL;
		uint64_t caller = 0;
		struct stack *site;

		if (ev->held_lock.holder_stack)
			continue;
		for (int j = 0; tl && j < tl->count; j++)
			if (tl->t[j].tid == ev->held_lock.holder_tid)
				now = tl->t[j].stack;
		for (int j = 0; j < n; j++)
			if (locks[j].addr == ev->held_lock.lock &&
			    locks[j].owner_tid == ev->held_lock.holder_tid)
				caller = locks[j].caller;
		/* a Python lock is always taken in the interpreter's same C function:
		 * the holder's Python frames at the fork say where */
		if (!caller || !m->stacks || ev->held_lock.lock_type == LOCK_PY_LOCK ||
		    ev->held_lock.lock_type == LOCK_PY_RLOCK || ev->held_lock.lock_type == LOCK_PY_IO) {
			ev->held_lock.holder_stack = now;
			continue;
		}
		site = stacks__symbolize(m->stacks, parent->pid, &caller, 1);
		if (site && site->count)
			ev->held_lock.holder_stack = pending_keep_stack(pd, from_site(site, now));
		else
			ev->held_lock.holder_stack = now;
		stack_free(site);
	}
	for (int i = 0; i < pd->nheld; i++)
		remember_holder(m, child, &pd->held[i]);
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

int mst_fork_threads(struct model *m, const struct rec_fork *r, struct corr_thread *out, int max)
{
	struct native_incoming *in = slot_of(m, &r->h, r->child_pid, false);
	int n = 0;

	for (int i = 0; in && in->has_regs && i < (int)in->regs.count && n < max; i++) {
		out[n].tid = (int)in->regs.t[i].tid;
		for (int k = 0; k < FT_NREGS && k < CORR_NREGS; k++)
			out[n].regs[k] = in->regs.t[i].regs[k];
		n++;
	}
	return n;
}
