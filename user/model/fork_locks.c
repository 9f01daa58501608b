/*
 * Held locks at a fork, as held_lock events waiting for the grace rule and
 * as the child's list of locks born held (for held_at_fork). They come from
 * the scan of the new child's memory (--locks=scan), which is the parent's
 * at the fork, or from the uprobe mode's records (--locks=uprobe).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/model_priv.h"
#include "proc/procfs.h"
#include "locks/scan.h"

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

/* Makes room for n more held locks on the child and n more events. */
static int reserve_held(struct proc *child, struct pending *pd, int n)
{
	struct held_lock *h = realloc(child->held, (child->nheld + n) * sizeof(*h));
	struct event *evs;

	if (!h)
		return -1;
	child->held = h;
	evs = realloc(pd->held, (pd->nheld + n) * sizeof(*evs));
	if (!evs)
		return -1;
	pd->held = evs;
	return 0;
}

/* One lock held at the fork: an event for later, and a note on the child. */
static void note_held(struct model *m, struct proc *parent, struct proc *child,
		      struct pending *pd, const struct found_lock *l)
{
	struct event *ev = &pd->held[pd->nheld++];
	bool mine = l->owner_tid == l->forker_tid;
	struct held_lock *h;

	model_event_init(m, ev, EV_HELD_LOCK, mine ? SEV_INFO : SEV_WARNING, l->fork_ts,
			 parent->pid, parent->comm);
	ev->held_lock.child_pid = child->pid;
	ev->held_lock.lock = l->addr;
	ev->held_lock.lock_type = l->type;
	ev->held_lock.holder_tid = l->owner_tid;
	holder_name(parent, l->owner_tid, ev->held_lock.holder_comm);
	ev->held_lock.holder_is_forker = mine;
	ev->held_lock.held_ns = l->held_ns;
	ev->held_lock.by_uprobe = l->by_uprobe;
	/* the forking thread exists in the child: its locks are not orphaned */
	if (mine)
		return;
	h = &child->held[child->nheld++];
	h->addr = l->addr;
	h->type = l->type;
	h->holder_tid = l->owner_tid;
	memcpy(h->holder_comm, ev->held_lock.holder_comm, EV_COMM_LEN);
}

int fork_add_held(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
		  const struct found_lock *locks, int n)
{
	if (n <= 0 || reserve_held(child, pd, n))
		return 0;
	for (int i = 0; i < n; i++)
		note_held(m, parent, child, pd, &locks[i]);
	return n;
}

/* The tid as forktrace (the initial pid namespace) knows it. */
static int global_tid(const int *tids, const int *ns_tids, int n, int ns_tid)
{
	for (int i = 0; i < n; i++)
		if (ns_tids[i] == ns_tid)
			return tids[i];
	return ns_tid;
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
	int n = 0, found;
	/* lock words hold tids as the parent's pid namespace sees them */
	int *tids = malloc(parent->nthreads * sizeof(*tids));
	int *ns_tids = malloc(parent->nthreads * sizeof(*ns_tids));

	if (!tids || !ns_tids) {
		free(tids);
		free(ns_tids);
		return 0;
	}
	for (int i = 0; i < parent->nthreads; i++) {
		if (!parent->threads[i].alive)
			continue;
		tids[n] = parent->threads[i].tid;
		ns_tids[n++] = procfs_ns_tid(parent->pid, parent->threads[i].tid);
	}
	req.parent_tids = ns_tids;
	req.forker_tid = procfs_ns_tid(parent->pid, forker_tid);
	req.nparent_tids = n;
	memset(&res, 0, sizeof(res));
	if (scan_child(&req, &res, err, sizeof(err))) {
		/* the child exec'd or exited first: nothing of the parent is left to scan */
		free(tids);
		free(ns_tids);
		return 0;
	}
	note_scan(m, parent, child, &res, &pd->scan);
	pd->has_scan = true;
	found = 0;
	for (int i = 0; i < res.nlocks; i++) {
		struct found_lock l = {
			.addr = res.locks[i].addr,
			.type = res.locks[i].type,
			.owner_tid = global_tid(tids, ns_tids, n, res.locks[i].owner_tid),
			.forker_tid = forker_tid,
			.fork_ts = ts,
			.held_ns = -1,
		};

		found += fork_add_held(m, parent, child, pd, &l, 1);
	}
	scan_result_free(&res);
	free(tids);
	free(ns_tids);
	return found;
}
