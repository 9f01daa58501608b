/*
 * The scan of one fork: which of the parent's threads held a lock at the
 * instant of the fork, read from the new child's memory (scan.h), each
 * lock corroborated (corroborate.h). Tids go in and come out as forktrace
 * sees them; the translation to the parent's pid namespace, where glibc
 * wrote them, happens here.
 *
 * Run in one call (fork_scan) or in steps by a scanner pool (scan_pool.h):
 * fork_scan_new on the tracing loop (it copies what it is given, and reads
 * nothing), fork_scan_start, the job's pieces and fork_scan_end on
 * scanner threads.
 */
#ifndef FT_FORK_SCAN_H
#define FT_FORK_SCAN_H

#include <stdint.h>
#include "locks/corroborate.h"
#include "locks/scan.h"
#include "locks/scan_job.h"

struct fork_scan_request {
	int parent_pid;
	int child_pid;
	int forker_tid;
	const int *parent_tids; /* the parent's live threads at the fork */
	int nparent_tids;
	uint64_t limit_bytes; /* --scan-limit; 0: none */
	bool no_glibc;	      /* only the watch (lock modes that see glibc locks otherwise) */
	const struct scan_watch *watch; /* NULL: none; its hit() runs on a scanner thread */
	/* the parent's other threads' registers at the fork (none: nthreads 0) */
	const struct corr_thread *threads;
	int nthreads;
	/* called on the scanner thread once the child's memory was read (not
	 * when it was gone): the watch's owner finishes its look (NULL: none) */
	void (*after)(void *ctx);
	void *after_ctx;
};

/*
 * Scans; res->locks[].owner_tid are forktrace's tids. Returns 0 with *res
 * filled (scan_result_free it), or -1 when the child could not be scanned at
 * all (it exec'd or exited first: nothing of the parent is left to read).
 */
int fork_scan(const struct fork_scan_request *req, struct scan_result *res);

struct fork_scan;
/* A copy of req (NULL: out of memory). */
struct fork_scan *fork_scan_new(const struct fork_scan_request *req);
/* Opens the child: its job, or NULL when the child is gone (or out of memory). */
struct scan_job *fork_scan_start(struct fork_scan *f);
/* After the job's pieces: 0 with *res filled, or -1 (the child was gone). */
int fork_scan_end(struct fork_scan *f, struct scan_result *res);
void fork_scan_free(struct fork_scan *f);

#endif
