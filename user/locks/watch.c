/*
 * Watching a thread for a deadlock (see watch.h). Reading a few /proc files
 * a few times a second costs the traced program nothing; a syscall
 * tracepoint would tax every syscall on the host (measured: 1.8x on a
 * getppid loop of an untraced process).
 */
#include <string.h>
#include "locks/watch.h"

/* held_at_fork when the wait is on a lock the child was born holding,
 * otherwise what the lock itself says. 1 when it is a deadlock. */
static int judge(const struct futex_wait *w, const struct held_list *born_held,
		 struct deadlock_finding *f)
{
	const struct held_lock *h = held_list_find(born_held, w->uaddr);

	memset(f, 0, sizeof(*f));
	if (!h)
		return deadlock_examine(w, f) == 1;
	f->reason = DL_HELD_AT_FORK;
	f->lock = h->addr;
	f->lock_type = h->type;
	f->holder_tid = h->holder_tid;
	memcpy(f->holder_comm, h->holder_comm, sizeof(f->holder_comm));
	f->holder_comm[sizeof(f->holder_comm) - 1] = 0;
	f->certain = true;
	return 1;
}

int wait_watch_look(struct wait_watch *ww, int pid, int tid, const struct held_list *born_held,
		    struct futex_wait *w, struct deadlock_finding *f)
{
	if (futex_wait_read(pid, tid, w) != 1) {
		memset(ww, 0, sizeof(*ww));
		return 0;
	}
	if (w->uaddr != ww->uaddr) {
		ww->uaddr = w->uaddr;
		ww->seen = 1;
		ww->reported = false;
		return 0;
	}
	if (++ww->seen < 2 || ww->reported || !judge(w, born_held, f))
		return 0;
	ww->reported = true;
	return 1;
}
