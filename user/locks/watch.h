/*
 * Watching one thread of a forked child for a deadlock. The caller looks
 * at each thread a few times a second; a thread seen twice in a row in the
 * same futex wait is judged: on a lock the child was born holding
 * (held_at_fork), or by what the lock itself says (deadlock.h). Pure of the
 * model: the state lives in the caller's thread record.
 */
#ifndef FT_WATCH_H
#define FT_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include "locks/deadlock.h"
#include "locks/held.h"

#define WATCH_INTERVAL_NS 200000000ULL

struct wait_watch {
	uint64_t uaddr;   /* the futex it waited on at the last look, 0: not waiting */
	int seen;         /* consecutive looks in that same wait */
	bool reported;
};

/*
 * One look at thread tid of pid. Returns 1 when the thread has now been in
 * the same futex wait for two looks, its wait was not reported yet and it
 * is a deadlock: *w and *f are filled and the wait counts as reported.
 * Returns 0 otherwise.
 */
int wait_watch_look(struct wait_watch *ww, int pid, int tid, const struct held_list *born_held,
		    struct futex_wait *w, struct deadlock_finding *f);

#endif
