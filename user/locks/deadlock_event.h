/*
 * The child_deadlock event and its severity rule, in one place for tracing
 * and `forktrace diagnose`: certain verdicts (held_at_fork, owner_gone) are
 * errors, no_waker alone is a warning (a signal handler could still wake it).
 */
#ifndef FT_DEADLOCK_EVENT_H
#define FT_DEADLOCK_EVENT_H

#include <stdint.h>
#include "locks/deadlock.h"
#include "out/event.h"

struct deadlock_subject {
	int pid;
	const char *comm; /* the blocked process's name (untrusted) */
	int tid;	  /* the blocked thread */
	uint64_t uaddr;	  /* the futex word it waits on */
	int parent_pid;
	uint64_t since_fork_ns; /* 0: nothing saw the fork */
};

enum severity deadlock_severity(enum deadlock_reason reason);
/* Fills *ev (time left 0: "now") from the finding about subject *s. */
void deadlock_event(struct event *ev, const struct deadlock_subject *s,
		    const struct deadlock_finding *f);

#endif
