/*
 * What a fork leaves its child: the hazards held back by the grace rule
 * (orphaned threads, fork_in_thread, held locks), the locks the child was
 * born holding, and the deadlocks its threads then block in. The lock rules
 * and verdicts are locks/'s; this file keeps the books and emits.
 */
#include <stdlib.h>
#include <string.h>
#include "locks/deadlock_event.h"
#include "model/model_priv.h"

/* ---- the grace rule ---- */

struct pending *pending_new(struct model *m, struct proc *parent, const struct rec_fork *r)
{
	struct pending *pd = calloc(1, sizeof(*pd));
	bool from_main = r->h.flags & FORK_FROM_MAIN;

	if (!pd)
		return NULL;
	if (r->threads > 1) {
		pd->has_orphaned = true;
		model_event_init(m, &pd->orphaned, EV_ORPHANED_THREADS, SEV_WARNING, r->h.ts,
				 r->h.pid, r->h.comm);
		pd->orphaned.orphaned.child_pid = r->child_pid;
		for (int i = 0; i < parent->nthreads; i++)
			if (parent->threads[i].alive && parent->threads[i].tid != (int)r->h.tid)
				thread_list_add(&pd->orphaned.orphaned.threads,
						&parent->threads[i]);
	}
	if (!from_main) {
		pd->has_fork_in_thread = true;
		model_event_init(m, &pd->fork_in_thread, EV_FORK_IN_THREAD, SEV_WARNING, r->h.ts,
				 r->h.pid, r->h.comm);
		pd->fork_in_thread.fork_in_thread.tid = r->h.tid;
		pd->fork_in_thread.fork_in_thread.child_pid = r->child_pid;
	}
	pd->deadline = r->h.ts + m->cfg.grace_ns;
	return pd;
}

void pending_unlink(struct model *m, struct pending *pd)
{
	for (struct pending **pp = &m->pendings; *pp; pp = &(*pp)->next) {
		if (*pp == pd) {
			*pp = pd->next;
			break;
		}
	}
	if (pd->child)
		pd->child->pending = NULL;
	if (pd->task) {
		/* forgotten unreported: its scan is stopped, and dropped */
		scan_pool_settle(m->pool, pd->task, SCAN_REASON_EXIT);
		scan_task_free(pd->task);
	}
	mpy_held_cancel(pd->py_scan);
	stack_free(pd->fork_stack);
	free(pd->incoming);
	for (int i = 0; i < pd->nstacks; i++)
		stack_free(pd->stacks[i]);
	free(pd->held);
	free(pd);
}

const struct stack *pending_keep_stack(struct pending *pd, struct stack *s)
{
	/* an empty stack says nothing, unless it says the thread was running */
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

/* Emits a fork's held-back hazards: as info if the child is safe. */
void pending_resolve(struct model *m, struct pending *pd, enum severity sev)
{
	/* the fork's scan first: its events come before what follows them */
	pending_settle(m, pd, SCAN_REASON_EXIT);
	for (int i = 0; i < pd->nheld; i++) {
		/* a lock the forking thread holds is its own business, and a Python
		 * lock held by nobody known may be its too: info (a child that
		 * blocks on one is still a certain deadlock) */
		if (!pd->held[i].held_lock.holder_is_forker && pd->held[i].held_lock.holder_tid &&
		    pd->held[i].held_lock.corroborated != TRI_FALSE)
			pd->held[i].severity = sev;
		model_emit(m, &pd->held[i]);
	}
	if (pd->has_orphaned) {
		pd->orphaned.severity = sev;
		model_emit(m, &pd->orphaned);
	}
	if (pd->has_fork_in_thread) {
		pd->fork_in_thread.severity = sev;
		model_emit(m, &pd->fork_in_thread);
	}
	pending_unlink(m, pd);
}

/* ---- locks held at the fork ---- */

/* An orphan's stack at the fork, as the fork's pending read it (NULL: none). */
static const struct stack *orphan_stack(const struct pending *pd, int tid)
{
	const struct thread_list *tl = &pd->orphaned.orphaned.threads;

	for (int i = 0; pd->has_orphaned && i < tl->count; i++)
		if (tl->t[i].tid == tid)
			return tl->t[i].stack;
	return NULL;
}

/* A semaphore the uprobes saw held that the Python scan named already: one
 * event, the uprobes' (they saw who took it, and when), with the Python
 * lock's name. The Python one is taken back, here and from the child. */
static void absorb_python(struct pending *pd, struct proc *child, struct found_lock *l)
{
	for (int i = 0; l->by_uprobe && i < pd->nheld; i++) {
		struct event *ev = &pd->held[i];

		if (ev->held_lock.found_by != FOUND_BY_PYTHON || ev->held_lock.lock != l->addr)
			continue;
		l->type = ev->held_lock.lock_type;
		memcpy(l->object, ev->held_lock.lock_object, EV_OBJECT_LEN);
		if (!l->owner_tid)
			memcpy(l->holder_name, ev->held_lock.holder_name, EV_NAME_LEN);
		memmove(ev, ev + 1, (pd->nheld - i - 1) * sizeof(*ev));
		pd->nheld--;
		held_list_remove(&child->born_held, l->addr);
		return;
	}
}

/* One lock held at the fork: an event for later, and a note on the child. */
static void note_held(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
		      const struct found_lock *l)
{
	struct event *ev = &pd->held[pd->nheld++];
	bool mine = l->owner_tid && l->owner_tid == l->forker_tid;
	struct thread *holder = l->owner_tid ? thread_find(parent, l->owner_tid) : NULL;
	struct held_lock h = { .addr = l->addr, .type = l->type, .holder_tid = l->owner_tid };
	/* a candidate nothing corroborates is no warning (it still makes a
	 * child that blocks on it a certain deadlock) */
	bool doubtful = l->corroborated == TRI_FALSE;

	model_event_init(m, ev, EV_HELD_LOCK,
			 mine || !l->owner_tid || doubtful ? SEV_INFO : SEV_WARNING, l->fork_ts,
			 parent->pid, parent->comm);
	ev->held_lock.corroborated = l->corroborated;
	ev->held_lock.child_pid = child->pid;
	ev->held_lock.lock = l->addr;
	ev->held_lock.lock_type = l->type;
	ev->held_lock.holder_tid = l->owner_tid;
	if (holder) {
		memcpy(ev->held_lock.holder_comm, holder->comm, EV_COMM_LEN);
		memcpy(ev->held_lock.holder_name, holder->name, EV_NAME_LEN);
	}
	if (l->holder_name[0])
		memcpy(ev->held_lock.holder_name, l->holder_name, EV_NAME_LEN);
	memcpy(ev->held_lock.lock_object, l->object, EV_OBJECT_LEN);
	ev->held_lock.holder_is_forker = mine;
	ev->held_lock.held_ns = l->held_ns;
	ev->held_lock.found_by = l->by_python ? FOUND_BY_PYTHON
			       : l->by_uprobe ? FOUND_BY_UPROBE
					      : FOUND_BY_SCAN;
	/* (uprobe mode: where it was taken is added once the stacks are read) */
	if (!mine && l->owner_tid && !l->by_uprobe)
		ev->held_lock.holder_stack = orphan_stack(pd, l->owner_tid);
	/* the forking thread exists in the child: its locks are not orphaned */
	if (mine)
		return;
	memcpy(h.holder_comm, ev->held_lock.holder_comm, EV_COMM_LEN);
	memcpy(h.holder_name, ev->held_lock.holder_name, EV_NAME_LEN);
	memcpy(h.object, l->object, EV_OBJECT_LEN);
	h.holder_stack = (struct stack *)ev->held_lock.holder_stack; /* copied by the list */
	held_list_add(&child->born_held, &h);
}

int pending_add_held(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
		     const struct found_lock *locks, int n)
{
	struct event *evs;

	if (n <= 0)
		return 0;
	evs = realloc(pd->held, (pd->nheld + n) * sizeof(*evs));
	if (!evs)
		return 0;
	pd->held = evs;
	for (int i = 0; i < n; i++) {
		struct found_lock l = locks[i];

		absorb_python(pd, child, &l);
		note_held(m, parent, child, pd, &l);
	}
	return n;
}

/* ---- deadlocks ---- */

/* The holder's names from the model: it was a thread of the parent, or of an
 * earlier ancestor (the examiner only sees the child, where it is gone). */
static void holder_names(struct model *m, struct proc *p, int tid, char *comm, char *name)
{
	struct proc *a = p;

	for (int depth = 0; depth < 64 && a && a->forked; depth++) {
		struct thread *t;

		a = proc_find(m, a->parent_pid);
		if (a && (t = thread_find(a, tid))) {
			if (!comm[0])
				memcpy(comm, t->comm, EV_COMM_LEN);
			memcpy(name, t->name, EV_NAME_LEN);
			return;
		}
	}
}

static void report_deadlock(struct model *m, struct proc *p, struct thread *t,
			    const struct futex_wait *w, struct deadlock_finding *f, uint64_t now)
{
	struct deadlock_subject s = {
		.pid = p->pid,
		.comm = p->comm,
		.tid = t->tid,
		.uaddr = w->uaddr,
		.parent_pid = p->parent_pid,
		.since_fork_ns = now > p->fork_ts ? now - p->fork_ts : 0,
	};
	char holder_name[EV_NAME_LEN] = "";
	const struct held_lock *h;
	struct stack *stack;
	struct event ev;

	/* what a semaphore belongs to, where the process runs a Python we know */
	if (f->lock_type == LOCK_SEMAPHORE || f->lock_type == LOCK_UNKNOWN)
		mpy_lock_verdict(m, p, w, f);
	if (f->holder_tid > 0)
		holder_names(m, p, f->holder_tid, f->holder_comm, holder_name);
	/* the child blocked: the fork's held-back warnings are due now */
	if (p->pending)
		pending_resolve(m, p->pending, SEV_WARNING);
	stack = mst_thread_stack(m, p, t->tid, mpy_thread_stack(m, p, t->tid));
	deadlock_event(&ev, &s, f);
	if (!holder_name[0])
		memcpy(holder_name, f->holder_name, EV_NAME_LEN);
	memcpy(ev.deadlock.holder_name, holder_name, EV_NAME_LEN);
	memcpy(ev.deadlock.lock_object, f->lock_object, EV_OBJECT_LEN);
	ev.deadlock.stack = stack;
	/* the holder's stack at the fork: native and Python as kept for it, else
	 * its Python frames kept with the locks the child was born holding */
	ev.deadlock.holder_stack = mst_holder_stack(m, p, f->holder_tid);
	if (!ev.deadlock.holder_stack && f->reason == DL_HELD_AT_FORK &&
	    (h = held_list_find(&p->born_held, f->lock ? f->lock : w->uaddr)))
		ev.deadlock.holder_stack = h->holder_stack;
	model_emit(m, &ev);
	stack_free(stack);
}

static void report_epoll(struct model *m, struct proc *p, struct thread *t, int fd)
{
	struct event ev;

	model_event_init(m, &ev, EV_INHERITED_EPOLL, SEV_WARNING, 0, p->pid, p->comm);
	ev.epoll.tid = t->tid;
	ev.epoll.fd = fd;
	ev.epoll.parent_pid = p->parent_pid;
	model_emit(m, &ev);
}

static void watch_thread(struct model *m, struct proc *p, struct thread *t, uint64_t now)
{
	struct watch_subject s = {
		.pid = p->pid,
		.tid = t->tid,
		.parent_pid = p->parent_pid,
		.born_held = &p->born_held,
	};
	struct deadlock_finding f;
	struct futex_wait w;
	int fd;

	switch (wait_watch_look(&t->watch, &s, &w, &f, &fd)) {
	case WATCH_DEADLOCK:
		if (!mpy_not_a_deadlock(m, p, t->tid, &w, &f))
			report_deadlock(m, p, t, &w, &f, now);
		break;
	case WATCH_STUCK:
		/* a Python lock whose owner was not copied is a certain deadlock */
		memset(&f, 0, sizeof(f));
		if (mpy_lock_verdict(m, p, &w, &f) && f.certain)
			report_deadlock(m, p, t, &w, &f, now);
		break;
	case WATCH_INHERITED_EPOLL: report_epoll(m, p, t, fd); break;
	case WATCH_NOTHING: break;
	}
}

void hazards_watch(struct model *m, uint64_t now)
{
	if (now < m->next_watch)
		return;
	m->next_watch = now + WATCH_INTERVAL_NS;
	for (int b = 0; b < NBUCKETS; b++)
		for (struct proc *p = m->buckets[b]; p; p = p->hnext) {
			/* a child whose scan runs is not looked at until it lands:
			 * the locks it was born holding are not all known yet */
			if (!p->forked || p->execed || (p->pending && p->pending->task))
				continue;
			for (int i = 0; i < p->nthreads; i++)
				if (p->threads[i].alive)
					watch_thread(m, p, &p->threads[i], now);
		}
}
