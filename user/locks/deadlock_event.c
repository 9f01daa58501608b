/* The child_deadlock event (see deadlock_event.h). */
#include <string.h>
#include "locks/deadlock_event.h"

enum severity deadlock_severity(enum deadlock_reason reason)
{
	return reason == DL_NO_WAKER ? SEV_WARNING : SEV_ERROR;
}

void deadlock_event(struct event *ev, const struct deadlock_subject *s,
		    const struct deadlock_finding *f)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = EV_CHILD_DEADLOCK;
	ev->severity = deadlock_severity(f->reason);
	ev->pid = s->pid;
	strncpy(ev->comm, s->comm ? s->comm : "", EV_COMM_LEN - 1);
	ev->deadlock.tid = s->tid;
	ev->deadlock.lock = f->lock ? f->lock : s->uaddr;
	ev->deadlock.holder_tid = f->holder_tid;
	memcpy(ev->deadlock.holder_comm, f->holder_comm, EV_COMM_LEN);
	ev->deadlock.holder_comm[EV_COMM_LEN - 1] = 0;
	ev->deadlock.parent_pid = s->parent_pid;
	ev->deadlock.since_fork_ns = s->since_fork_ns;
	ev->deadlock.reason = f->reason;
	ev->deadlock.lock_type = f->lock_type;
}
