/*
 * Held locks at a fork (--locks=scan): read the new child's memory, which
 * is the parent's at the fork, for locks whose owner is a parent thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model_priv.h"
#include "scan.h"

#define SCAN_TIME_LIMIT_NS 1000000000ULL

static void holder_name(struct proc *parent, int tid, char *comm)
{
	struct thread *t = thread_find(parent, tid);

	memset(comm, 0, EV_COMM_LEN);
	if (t)
		memcpy(comm, t->comm, EV_COMM_LEN);
}

static void note_scan(struct model *m, struct proc *parent, struct proc *child,
		      const struct scan_result *res, struct event *ev)
{
	model_event_init(m, ev, EV_SCAN, res->complete ? SEV_INFO : SEV_WARNING, 0,
			 parent->pid, parent->comm);
	ev->scan.child_pid = child->pid;
	ev->scan.bytes = res->bytes;
	ev->scan.ns = res->ns;
	ev->scan.locks_found = res->nlocks;
	ev->scan.complete = res->complete;
}

/* Keeps the found locks: on the child (for held_at_fork) and as held_lock
 * events waiting for the grace rule. */
static void keep_locks(struct model *m, struct proc *parent, struct proc *child, int forker,
		       uint64_t ts, const struct scan_result *res, struct pending *pd)
{
	int n = res->nlocks;
	struct held_lock *h = realloc(child->held, (child->nheld + n) * sizeof(*h));
	struct event *evs = calloc(n, sizeof(*evs));

	if (!h || !evs) {
		free(evs);
		if (h)
			child->held = h;
		return;
	}
	child->held = h;
	for (int i = 0; i < n; i++) {
		const struct scan_lock *l = &res->locks[i];
		struct event *ev = &evs[i];
		bool mine = l->owner_tid == forker;

		model_event_init(m, ev, EV_HELD_LOCK, mine ? SEV_INFO : SEV_WARNING, ts,
				 parent->pid, parent->comm);
		ev->held_lock.child_pid = child->pid;
		ev->held_lock.lock = l->addr;
		ev->held_lock.lock_type = l->type;
		ev->held_lock.holder_tid = l->owner_tid;
		holder_name(parent, l->owner_tid, ev->held_lock.holder_comm);
		ev->held_lock.holder_is_forker = mine;
		ev->held_lock.held_ns = -1;
		/* the forking thread exists in the child: its locks are not orphaned */
		if (mine)
			continue;
		h = &child->held[child->nheld++];
		h->addr = l->addr;
		h->type = l->type;
		h->holder_tid = l->owner_tid;
		memcpy(h->holder_comm, ev->held_lock.holder_comm, EV_COMM_LEN);
	}
	pd->held = evs;
	pd->nheld = n;
}

int fork_scan(struct model *m, struct proc *parent, struct proc *child, int forker_tid,
	      uint64_t ts, struct pending *pd)
{
	struct scan_request req = {
		.child_pid = child->pid,
		.forker_tid = forker_tid,
		.limit_bytes = m->opts->scan_limit,
		.time_limit_ns = SCAN_TIME_LIMIT_NS,
	};
	struct scan_result res;
	char err[256];
	int *tids = malloc(parent->nthreads * sizeof(*tids)), n = 0, found;

	if (!tids)
		return 0;
	for (int i = 0; i < parent->nthreads; i++)
		if (parent->threads[i].alive)
			tids[n++] = parent->threads[i].tid;
	req.parent_tids = tids;
	req.nparent_tids = n;
	memset(&res, 0, sizeof(res));
	if (scan_child(&req, &res, err, sizeof(err))) {
		/* the child exec'd or exited first: nothing of the parent is left to scan */
		free(tids);
		return 0;
	}
	free(tids);
	note_scan(m, parent, child, &res, &pd->scan);
	pd->has_scan = true;
	keep_locks(m, parent, child, forker_tid, ts, &res, pd);
	found = res.nlocks;
	scan_result_free(&res);
	return found;
}
