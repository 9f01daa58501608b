/*
 * The deadlock watcher. Forked children that have not exec'd are looked at
 * a few times a second from /proc: a thread seen in the same futex wait
 * twice in a row is examined. This costs the traced program nothing; a
 * syscall tracepoint would tax every syscall on the host (measured: 1.8x
 * on a getppid loop of an untraced process).
 */
#include <string.h>
#include "locks/deadlock.h"
#include "model/model_priv.h"
#include "proc/procfs.h"

#define WATCH_INTERVAL_NS 200000000ULL
/* glibc x86_64 sizes: a wait's futex word lies inside the lock */
#define MUTEX_SIZE 40
#define RWLOCK_SIZE 56
#define SEM_SIZE 32

static uint64_t lock_size(enum lock_type type)
{
	switch (type) {
	case LOCK_MUTEX: return MUTEX_SIZE;
	case LOCK_SEMAPHORE: return SEM_SIZE;
	default: return RWLOCK_SIZE;
	}
}

/* The lock held at the fork whose futex word is at uaddr, if any. */
static const struct held_lock *held_at(const struct proc *p, uint64_t uaddr)
{
	for (int i = 0; i < p->nheld; i++) {
		uint64_t size = lock_size(p->held[i].type);

		if (uaddr >= p->held[i].addr && uaddr < p->held[i].addr + size)
			return &p->held[i];
	}
	return NULL;
}

/* The holder's name from the model when the examiner could not know it:
 * the holder was a thread of the parent, or of an earlier ancestor. */
static void holder_comm(struct model *m, struct proc *p, int tid, char *comm)
{
	struct proc *a = p;

	for (int depth = 0; depth < 64 && a && a->forked; depth++) {
		struct thread *t;

		a = proc_find(m, a->parent_pid);
		if (a && (t = thread_find(a, tid))) {
			memcpy(comm, t->comm, EV_COMM_LEN);
			return;
		}
	}
}

static void report(struct model *m, struct proc *p, struct thread *t, const struct futex_wait *w,
		   uint64_t now)
{
	const struct held_lock *h = held_at(p, w->uaddr);
	struct deadlock_finding f;
	struct event ev;

	memset(&f, 0, sizeof(f));
	if (h) {
		f.reason = DL_HELD_AT_FORK;
		f.lock = h->addr;
		f.lock_type = h->type;
		f.holder_tid = h->holder_tid;
		memcpy(f.holder_comm, h->holder_comm, EV_COMM_LEN);
	} else if (deadlock_examine(w, &f) != 1) {
		return;
	}
	t->wait_reported = true;
	if (!f.holder_comm[0] && f.holder_tid > 0)
		holder_comm(m, p, f.holder_tid, f.holder_comm);
	/* the child blocked: the fork's held-back warnings are due now */
	if (p->pending)
		pending_resolve(m, p->pending, SEV_WARNING);

	model_event_init(m, &ev, EV_CHILD_DEADLOCK,
			 f.reason == DL_NO_WAKER ? SEV_WARNING : SEV_ERROR, 0, p->pid, p->comm);
	ev.deadlock.tid = t->tid;
	ev.deadlock.lock = f.lock ? f.lock : w->uaddr;
	ev.deadlock.holder_tid = f.holder_tid;
	memcpy(ev.deadlock.holder_comm, f.holder_comm, EV_COMM_LEN);
	ev.deadlock.holder_comm[EV_COMM_LEN - 1] = 0;
	ev.deadlock.parent_pid = p->parent_pid;
	ev.deadlock.since_fork_ns = now > p->fork_ts ? now - p->fork_ts : 0;
	ev.deadlock.reason = f.reason;
	ev.deadlock.lock_type = f.lock_type;
	model_emit(m, &ev);
}

static void look_at_thread(struct model *m, struct proc *p, struct thread *t, uint64_t now)
{
	struct futex_wait w;

	if (futex_wait_read(p->pid, t->tid, &w) != 1) {
		t->wait_uaddr = 0;
		t->wait_seen = 0;
		t->wait_reported = false;
		return;
	}
	if (w.uaddr != t->wait_uaddr) {
		t->wait_uaddr = w.uaddr;
		t->wait_seen = 1;
		t->wait_reported = false;
		return;
	}
	if (++t->wait_seen >= 2 && !t->wait_reported)
		report(m, p, t, &w, now);
}

void watch_deadlocks(struct model *m, uint64_t now)
{
	if (now < m->next_watch)
		return;
	m->next_watch = now + WATCH_INTERVAL_NS;
	for (int b = 0; b < NBUCKETS; b++)
		for (struct proc *p = m->buckets[b]; p; p = p->hnext) {
			if (!p->forked || p->execed)
				continue;
			for (int i = 0; i < p->nthreads; i++)
				if (p->threads[i].alive)
					look_at_thread(m, p, &p->threads[i], now);
		}
}
