/*
 * Watching one thread of a forked child that has not exec'd. The caller
 * looks at each thread a few times a second; one read of the thread's
 * system call tells what it is blocked in:
 * - a futex wait seen twice in a row is judged: on a lock the child was
 *   born holding (held_at_fork), or by what the lock itself says
 *   (deadlock.h);
 * - an epoll wait on an instance the parent holds too is an event loop
 *   carried across fork (reported once per thread and fd).
 * Pure of the model: the state lives in the caller's thread record.
 */
#ifndef FT_WATCH_H
#define FT_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include "locks/deadlock.h"
#include "locks/held.h"

#define WATCH_INTERVAL_NS 200000000ULL

struct wait_watch {
	uint64_t uaddr; /* the futex it waited on at the last look, 0: not waiting */
	int seen;	/* consecutive looks in that same wait */
	bool reported;
	int epoll_fd; /* the inherited epoll fd reported, -1 none; 0 before the first look */
	bool epoll_known;
};

enum watch_verdict {
	WATCH_NOTHING,
	WATCH_DEADLOCK,	       /* *w and *f are filled */
	WATCH_STUCK,	       /* *w is filled: the same semaphore wait twice, no verdict of
				* its own (what the semaphore belongs to may give one) */
	WATCH_INHERITED_EPOLL, /* *epoll_fd is filled */
};

struct watch_subject {
	int pid, tid;
	int parent_pid;			   /* whose epoll instances it may share */
	const struct held_list *born_held; /* locks held at its fork by threads not copied */
};

/*
 * One look at a thread. A verdict is given once: the same wait, or the
 * same epoll fd, is not reported again while the thread stays in it.
 */
enum watch_verdict wait_watch_look(struct wait_watch *ww, const struct watch_subject *s,
				   struct futex_wait *w, struct deadlock_finding *f, int *epoll_fd);

#endif
