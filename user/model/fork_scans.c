/*
 * The fork-time scan of a child, for the model: the request made at the
 * fork (the parent's threads and registers, the Python watch), the scan run
 * now or handed to the scanner threads (locks/scan_pool.h), and its landing:
 * the locks found join the fork's held-back events, which are emitted then
 * (fork, scan, held locks later), in that order.
 */
#include <stdlib.h>
#include <string.h>
#include "locks/fork_scan.h"
#include "model/model_priv.h"
#include "python/python.h"

/*
 * How long after its fork a child's scan may start. Most children of a fork
 * storm are gone by then, and most fork+exec children have exec'd (they
 * need no scan): reading them would cost the storm's parent a CPU. What
 * the child did meanwhile cannot free a lock a lost thread held; what its
 * runtime reset after the fork is no hazard.
 */
#define SCAN_START_DELAY_NS (2ULL * 1000 * 1000)

static void note_scan(struct model *m, struct pending *pd, const struct scan_result *res)
{
	struct event *ev = &pd->scan;
	/* a child that exec'd or exited needs no more: the scan's end is news, no hazard */
	bool moot = res->reason == SCAN_REASON_EXEC || res->reason == SCAN_REASON_EXIT;

	model_event_init(m, ev, EV_SCAN, res->complete || moot ? SEV_INFO : SEV_WARNING, 0,
			 pd->parent_pid, pd->fork_ev.comm);
	ev->scan.child_pid = pd->fork_ev.fork.child_pid;
	ev->scan.bytes = res->bytes;
	ev->scan.ns = res->ns;
	ev->scan.locks_found = res->nlocks;
	ev->scan.complete = res->complete;
	ev->scan.reason = res->reason;
	pd->has_scan = true;
}

/* The parent as it was at the fork: the model's, or (gone since) a stand-in
 * with its pid and name only. */
static struct proc *parent_of(struct model *m, struct pending *pd, struct proc *stub)
{
	struct proc *p = proc_find(m, pd->parent_pid);

	if (p)
		return p;
	memset(stub, 0, sizeof(*stub));
	stub->pid = pd->parent_pid;
	memcpy(stub->comm, pd->fork_ev.comm, EV_COMM_LEN);
	return stub;
}

/* What the scan found (res NULL: the child was gone before it was read). */
static int add_scan_result(struct model *m, struct proc *parent, struct proc *child,
			   struct pending *pd, const struct scan_result *res)
{
	int found = 0;

	if (!res) {
		m->scans_gone++; /* no noise per fork: the summary counts them */
		mpy_held_cancel(pd->py_scan);
		pd->py_scan = NULL;
		return 0;
	}
	if (m->cfg.scan_locks)
		note_scan(m, pd, res);
	for (int i = 0; i < res->nlocks; i++) {
		struct found_lock l = {
			.addr = res->locks[i].addr,
			.type = res->locks[i].type,
			.owner_tid = res->locks[i].owner_tid,
			.forker_tid = pd->forker_tid,
			.fork_ts = pd->fork_ts,
			.held_ns = -1,
			.corroborated = res->locks[i].corroborated ? TRI_TRUE : TRI_FALSE,
		};

		found += pending_add_held(m, parent, child, pd, &l, 1);
	}
	found += mpy_held_end(m, parent, child, pd, pd->py_scan, pd->forker_tid, pd->fork_ts);
	pd->py_scan = NULL;
	if (pd->has_scan)
		pd->scan.scan.locks_found = found;
	return found;
}

/* The request for pd's fork (tids: room for the parent's threads, threads:
 * for FT_STACK_THREADS registers). */
static void scan_request(struct model *m, struct proc *parent, struct proc *child,
			 const struct rec_fork *r, struct pending *pd, int *tids,
			 struct corr_thread *threads, struct fork_scan_request *req)
{
	*req = (struct fork_scan_request){
		.parent_pid = parent->pid,
		.child_pid = child->pid,
		.forker_tid = r->h.tid,
		.parent_tids = tids,
		.limit_bytes = m->cfg.scan_limit,
		.no_glibc = !m->cfg.scan_locks,
		.threads = threads,
	};
	for (int i = 0; i < parent->nthreads; i++)
		if (parent->threads[i].alive)
			tids[req->nparent_tids++] = parent->threads[i].tid;
	if (m->cfg.scan_locks)
		req->nthreads = mst_fork_threads(m, r, threads, FT_STACK_THREADS);
	pd->py_scan = mpy_held_begin(m, parent, child, &pd->watch);
	if (pd->py_scan) {
		req->watch = &pd->watch;
		req->after = py_held_scan_complete;
		req->after_ctx = pd->py_scan;
	}
}

int pending_scan(struct model *m, struct proc *parent, struct proc *child,
		 const struct rec_fork *r, struct pending *pd, bool *later)
{
	int *tids = malloc((parent->nthreads + 1) * sizeof(*tids));
	struct corr_thread *threads = malloc(FT_STACK_THREADS * sizeof(*threads));
	struct fork_scan_request req;
	struct fork_scan *fs = NULL;
	struct scan_result res;
	int found = 0;

	*later = false;
	pd->parent_pid = parent->pid;
	pd->forker_tid = r->h.tid;
	pd->fork_ts = r->h.ts;
	memcpy(pd->fork_ev.comm, r->h.comm, EV_COMM_LEN);
	pd->fork_ev.comm[EV_COMM_LEN - 1] = 0;
	pd->fork_ev.fork.child_pid = child->pid;
	if (!tids || !threads)
		goto out;
	scan_request(m, parent, child, r, pd, tids, threads, &req);
	if (req.no_glibc && !pd->py_scan)
		goto out; /* nothing to look for */
	if (m->pool) {
		/* the loop hands it over and goes on; the scan lands later */
		/* a child that exec's or exits within SCAN_START_DELAY_NS is never read */
		if ((fs = fork_scan_new(&req)) &&
		    (pd->task = scan_pool_submit(m->pool, fs, pd, r->h.ts + SCAN_START_DELAY_NS))) {
			*later = true;
			goto out;
		}
		fork_scan_free(fs);
		/* every scanner is busy: not scanned, and said so */
		mpy_held_cancel(pd->py_scan);
		pd->py_scan = NULL;
		m->scans_busy++;
		memset(&res, 0, sizeof(res));
		res.reason = SCAN_REASON_BUSY;
		if (m->cfg.scan_locks)
			note_scan(m, pd, &res);
		goto out;
	}
	if (fork_scan(&req, &res)) {
		found = add_scan_result(m, parent, child, pd, NULL);
		goto out;
	}
	found = add_scan_result(m, parent, child, pd, &res);
	scan_result_free(&res);
out:
	free(threads);
	free(tids);
	return found;
}

void pending_land(struct model *m, struct pending *pd, struct scan_task *task)
{
	struct proc stub, *parent = parent_of(m, pd, &stub), *child = pd->child;
	int found = 0;

	pd->task = NULL;
	if (task->ran && !task->gone) {
		found = add_scan_result(m, parent, child, pd, &task->res);
	} else if (task->cancelled != SCAN_REASON_EXEC) {
		found = add_scan_result(m, parent, child, pd, NULL);
	} else {
		mpy_held_cancel(pd->py_scan); /* it exec'd before it was read: it needs none */
		pd->py_scan = NULL;
	}
	scan_task_free(task);
	if (pd->nincoming)
		found += pending_add_held(m, parent, child, pd, pd->incoming, pd->nincoming);
	mst_held(m, parent, child, pd, pd->incoming, pd->nincoming);
	free(pd->incoming);
	pd->incoming = NULL;
	pd->nincoming = 0;
	pd->fork_ev.fork.held_locks += found;
	pending_emit_fork(m, pd);
}

void pending_settle(struct model *m, struct pending *pd, enum scan_reason why)
{
	struct scan_task *t = pd->task;

	if (!t)
		return;
	scan_pool_settle(m->pool, t, why);
	pending_land(m, pd, t);
}

void pending_emit_fork(struct model *m, struct pending *pd)
{
	model_emit(m, &pd->fork_ev);
	stack_free(pd->fork_stack);
	pd->fork_stack = NULL;
	pd->fork_ev.fork.stack = NULL;
	if (pd->has_scan)
		model_emit(m, &pd->scan);
}
