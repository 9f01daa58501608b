/* The scan of one fork (see fork_scan.h). */
#include <stdlib.h>
#include <string.h>
#include "locks/fork_scan.h"
#include "proc/procfs.h"

#define SCAN_TIME_LIMIT_NS 1000000000ULL

/* The tid as forktrace (the initial pid namespace) knows it. */
static int global_tid(const int *tids, const int *ns_tids, int n, int ns_tid)
{
	for (int i = 0; i < n; i++)
		if (ns_tids[i] == ns_tid)
			return tids[i];
	return ns_tid;
}

int fork_scan(const struct fork_scan_request *req, struct scan_result *res)
{
	struct scan_request sr = {
		.child_pid = req->child_pid,
		.limit_bytes = req->limit_bytes,
		.time_limit_ns = SCAN_TIME_LIMIT_NS,
		.no_glibc = req->no_glibc,
		.watch = req->watch,
	};
	/* lock words hold tids as the parent's pid namespace sees them */
	int *ns_tids = malloc((req->nparent_tids + 1) * sizeof(*ns_tids));
	char err[256];
	int rc;

	memset(res, 0, sizeof(*res));
	if (!ns_tids)
		return -1;
	for (int i = 0; i < req->nparent_tids; i++)
		ns_tids[i] = procfs_ns_tid(req->parent_pid, req->parent_tids[i]);
	sr.parent_tids = ns_tids;
	sr.nparent_tids = req->nparent_tids;
	sr.forker_tid = procfs_ns_tid(req->parent_pid, req->forker_tid);
	rc = scan_child(&sr, res, err, sizeof(err));
	if (rc == 0)
		for (int i = 0; i < res->nlocks; i++)
			res->locks[i].owner_tid = global_tid(req->parent_tids, ns_tids,
							     req->nparent_tids,
							     res->locks[i].owner_tid);
	free(ns_tids);
	return rc ? -1 : 0;
}
