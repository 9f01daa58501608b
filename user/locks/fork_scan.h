/*
 * The scan of one fork: which of the parent's threads held a lock at the
 * instant of the fork, read from the new child's memory (scan.h). Tids go in
 * and come out as forktrace sees them; the translation to the parent's pid
 * namespace, where glibc wrote them, happens here.
 */
#ifndef FT_FORK_SCAN_H
#define FT_FORK_SCAN_H

#include <stdint.h>
#include "locks/scan.h"

struct fork_scan_request {
	int parent_pid;
	int child_pid;
	int forker_tid;
	const int *parent_tids; /* the parent's live threads at the fork */
	int nparent_tids;
	uint64_t limit_bytes; /* --scan-limit; 0: none */
	bool no_glibc;	      /* only the watch (lock modes that see glibc locks otherwise) */
	const struct scan_watch *watch; /* NULL: none */
};

/*
 * Scans; res->locks[].owner_tid are forktrace's tids. Returns 0 with *res
 * filled (scan_result_free it), or -1 when the child could not be scanned at
 * all (it exec'd or exited first: nothing of the parent is left to read).
 */
int fork_scan(const struct fork_scan_request *req, struct scan_result *res);

#endif
