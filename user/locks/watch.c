/*
 * Watching a thread of a forked child (see watch.h). Reading a few /proc
 * files a few times a second costs the traced program nothing; a syscall
 * tracepoint would tax every syscall on the host (measured: 1.8x on a
 * getppid loop of an untraced process).
 */
#include <string.h>
#include "locks/watch.h"
#include "proc/epoll.h"
#include "proc/syscall.h"

/* held_at_fork when the wait is on a lock the child was born holding,
 * otherwise what the lock itself says. 1 when it is a deadlock. */
static int judge(const struct futex_wait *w, const struct held_list *born_held,
		 struct deadlock_finding *f)
{
	const struct held_lock *h = held_list_find(born_held, w->uaddr);

	struct futex_lock_info now;

	memset(f, 0, sizeof(*f));
	/* a lock the child re-initialised (an atfork handler, a runtime's reset)
	 * and a thread of its own holds now is no longer the one it was born
	 * with: what the lock says now decides */
	if (h && (h->type == LOCK_MUTEX || h->type == LOCK_RWLOCK_WRITE) &&
	    futex_lock_inspect(w, &now) == 0 && now.owner_tid && now.owner_exists)
		h = NULL;
	if (!h)
		return deadlock_examine(w, f) == 1;
	f->reason = DL_HELD_AT_FORK;
	f->lock = h->addr;
	f->lock_type = h->type;
	f->holder_tid = h->holder_tid;
	memcpy(f->holder_comm, h->holder_comm, sizeof(f->holder_comm));
	f->holder_comm[sizeof(f->holder_comm) - 1] = 0;
	memcpy(f->holder_name, h->holder_name, sizeof(f->holder_name));
	memcpy(f->lock_object, h->object, sizeof(f->lock_object));
	f->certain = true;
	return 1;
}

static enum watch_verdict look_futex(struct wait_watch *ww, const struct watch_subject *s,
				     struct futex_wait *w, struct deadlock_finding *f)
{
	if (w->uaddr != ww->uaddr) {
		ww->uaddr = w->uaddr;
		ww->seen = 1;
		ww->reported = false;
		return WATCH_NOTHING;
	}
	if (++ww->seen < 2 || ww->reported)
		return WATCH_NOTHING;
	if (judge(w, s->born_held, f)) {
		ww->reported = true;
		return WATCH_DEADLOCK;
	}
	/* a semaphore wait (glibc's sem_wait: FUTEX_WAIT_BITSET) that nothing
	 * here can judge: looked at once more by whoever knows more of it */
	if ((w->op & 0x7f) == 9 && !w->has_timeout) {
		ww->reported = true;
		return WATCH_STUCK;
	}
	return WATCH_NOTHING;
}

/* An event loop waits, wakes and waits again: one look in the wait is
 * enough, and the verdict holds for as long as the fd does. */
static enum watch_verdict look_epoll(struct wait_watch *ww, const struct watch_subject *s, int fd,
				     int *epoll_fd)
{
	if (ww->epoll_known && ww->epoll_fd == fd)
		return WATCH_NOTHING;
	if (epoll_shared_with(s->pid, fd, s->parent_pid) != 1)
		return WATCH_NOTHING; /* its own loop, or the parent is gone: look again later */
	ww->epoll_known = true;
	ww->epoll_fd = fd;
	*epoll_fd = fd;
	return WATCH_INHERITED_EPOLL;
}

enum watch_verdict wait_watch_look(struct wait_watch *ww, const struct watch_subject *s,
				   struct futex_wait *w, struct deadlock_finding *f, int *epoll_fd)
{
	struct proc_syscall sc;
	int fd;

	memset(w, 0, sizeof(*w));
	if (proc_syscall_read(s->pid, s->tid, &sc) == 0) {
		w->pid = s->pid;
		w->tid = s->tid;
		if (futex_wait_from(&sc, w) == 1)
			return look_futex(ww, s, w, f);
		ww->uaddr = 0;
		ww->seen = 0;
		ww->reported = false;
		if (s->parent_pid > 0 && epoll_wait_fd(&sc, &fd) == 1)
			return look_epoll(ww, s, fd, epoll_fd);
		return WATCH_NOTHING;
	}
	ww->uaddr = 0;
	ww->seen = 0;
	ww->reported = false;
	return WATCH_NOTHING;
}
