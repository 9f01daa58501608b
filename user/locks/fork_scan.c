/* The scan of one fork (see fork_scan.h). */
#include <stdlib.h>
#include <string.h>
#include "locks/fork_scan.h"
#include "proc/procfs.h"

#define SCAN_TIME_LIMIT_NS 1000000000ULL

struct fork_scan {
	struct fork_scan_request req; /* its arrays are the copies below */
	int *tids, *ns_tids;
	struct corr_thread *threads;
	struct scan_request sr;
	struct scan_job *job;
};

/* The tid as forktrace (the initial pid namespace) knows it. */
static int global_tid(const int *tids, const int *ns_tids, int n, int ns_tid)
{
	for (int i = 0; i < n; i++)
		if (ns_tids[i] == ns_tid)
			return tids[i];
	return ns_tid;
}

struct fork_scan *fork_scan_new(const struct fork_scan_request *req)
{
	struct fork_scan *f = calloc(1, sizeof(*f));
	size_t nt = (size_t)req->nparent_tids + 1, nr = (size_t)req->nthreads + 1;

	if (!f)
		return NULL;
	f->req = *req;
	f->tids = malloc(nt * sizeof(*f->tids));
	f->ns_tids = malloc(nt * sizeof(*f->ns_tids));
	f->threads = malloc(nr * sizeof(*f->threads));
	if (!f->tids || !f->ns_tids || !f->threads) {
		fork_scan_free(f);
		return NULL;
	}
	memcpy(f->tids, req->parent_tids, (size_t)req->nparent_tids * sizeof(*f->tids));
	if (req->nthreads)
		memcpy(f->threads, req->threads, (size_t)req->nthreads * sizeof(*f->threads));
	f->req.parent_tids = f->tids;
	f->req.threads = f->threads;
	return f;
}

/*
 * Has the child exec'd? Its memory, once opened, stays the image it had
 * then; a child that exec'd before that has a new argv address (a new
 * stack), where one still running its parent's image has the parent's.
 */
static bool child_execed(const struct fork_scan_request *q)
{
	uint64_t mine, theirs;

	return procfs_arg_start(q->child_pid, &mine) == 0 &&
	       procfs_arg_start(q->parent_pid, &theirs) == 0 && mine != theirs;
}

/*
 * Lock words hold tids as the parent's pid namespace sees them. A process
 * whose forking thread has its own tid there is in forktrace's namespace
 * (a nested one numbers its threads anew): one /proc read, not one per
 * thread, for the many forks of a storm.
 */
static void translate_tids(struct fork_scan *f)
{
	const struct fork_scan_request *q = &f->req;
	int forker = procfs_ns_tid(q->parent_pid, q->forker_tid);

	f->sr.forker_tid = forker;
	for (int i = 0; i < q->nparent_tids; i++)
		f->ns_tids[i] = forker == q->forker_tid
					? q->parent_tids[i]
					: procfs_ns_tid(q->parent_pid, q->parent_tids[i]);
}

struct scan_job *fork_scan_start(struct fork_scan *f)
{
	const struct fork_scan_request *q = &f->req;
	bool gone;

	f->sr = (struct scan_request){
		.child_pid = q->child_pid,
		.parent_tids = f->ns_tids,
		.nparent_tids = q->nparent_tids,
		.limit_bytes = q->limit_bytes,
		.time_limit_ns = SCAN_TIME_LIMIT_NS,
		.no_glibc = q->no_glibc,
		.watch = q->watch,
	};
	translate_tids(f);
	f->job = scan_job_open(&f->sr, &gone);
	if (f->job && child_execed(q)) {
		scan_job_free(f->job); /* another program's memory: nothing to look at */
		f->job = NULL;
	}
	return f->job;
}

int fork_scan_end(struct fork_scan *f, struct scan_result *res)
{
	const struct fork_scan_request *q = &f->req;

	memset(res, 0, sizeof(*res));
	if (!f->job || scan_job_finish(f->job, res))
		return -1;
	for (int i = 0; i < res->nlocks; i++)
		res->locks[i].owner_tid = global_tid(q->parent_tids, f->ns_tids, q->nparent_tids,
						     res->locks[i].owner_tid);
	corroborate_locks(scan_job_mem(f->job), scan_job_maps(f->job), q->threads, q->nthreads,
			  res);
	if (q->after)
		q->after(q->after_ctx);
	return 0;
}

void fork_scan_free(struct fork_scan *f)
{
	if (!f)
		return;
	scan_job_free(f->job);
	free(f->tids);
	free(f->ns_tids);
	free(f->threads);
	free(f);
}

int fork_scan(const struct fork_scan_request *req, struct scan_result *res)
{
	struct fork_scan *f = fork_scan_new(req);
	unsigned char *buf = malloc(SCAN_READ_SIZE);
	struct scan_job *j;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (f && buf && (j = fork_scan_start(f))) {
		for (int i = 0; i < scan_job_pieces(j); i++)
			scan_job_run_piece(j, i, buf);
		rc = fork_scan_end(f, res);
	}
	free(buf);
	fork_scan_free(f);
	return rc;
}
