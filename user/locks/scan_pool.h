/*
 * The scanner threads: fork scans (fork_scan.h) run beside the tracing
 * loop, which only hands them over and collects what is done, and never
 * waits on /proc. A bounded queue (a fork that finds it full is not
 * scanned: "busy"), a few threads (at most the CPUs), and one scan's
 * pieces spread over every idle thread. The job with the least left to
 * read goes first, so a small child's scan is not stuck behind a big one.
 * Each thread has one read buffer (SCAN_READ_SIZE): the memory is bounded.
 */
#ifndef FT_SCAN_POOL_H
#define FT_SCAN_POOL_H

#include <stdbool.h>
#include "locks/fork_scan.h"

struct scan_pool;

/* A scan handed over: what came of it once done. */
struct scan_task {
	struct fork_scan *fs; /* the pool's until done, then the task's owner's */
	void *owner;	      /* the caller's, untouched */
	/* done: */
	bool ran;		/* false: never started (cancelled while queued) */
	bool gone;		/* the child was gone before its memory could be read */
	struct scan_result res; /* when ran and not gone */
	enum scan_reason cancelled; /* why it was cancelled; SCAN_REASON_NONE: it was not */
	/* the pool's own */
	int state, next_piece, running, npieces;
	uint64_t not_before; /* CLOCK_MONOTONIC ns */
	bool settling; /* a caller waits for it: it does not go on the done list */
	struct scan_job *job;
	struct scan_task *next;
};

/* threads >= 1, queue >= 1. NULL with errno set. */
struct scan_pool *scan_pool_new(int threads, int queue);
/* Stops every scan (queued ones never run), joins the threads, frees the
 * tasks not collected. NULL-safe. */
void scan_pool_free(struct scan_pool *p);
/* Readable when a task is done (an eventfd the loop polls). */
int scan_pool_fd(const struct scan_pool *p);

/* A task for fs (owned by the pool from now on), to start no earlier than
 * not_before (CLOCK_MONOTONIC ns), or NULL when the queue is full or out of
 * memory: then fs is still the caller's. */
struct scan_task *scan_pool_submit(struct scan_pool *p, struct fork_scan *fs, void *owner,
				   uint64_t not_before);
/* The next task done (the caller's now: scan_task_free it), or NULL. */
struct scan_task *scan_pool_collect(struct scan_pool *p);
/*
 * Makes t done now. With a reason (EXEC, EXIT) a queued one is taken off
 * the queue (it never runs) and a running one stops at its next read; with
 * SCAN_REASON_NONE it is waited for, run to its end. t is the caller's then
 * (scan_pool_collect will not return it).
 */
void scan_pool_settle(struct scan_pool *p, struct scan_task *t, enum scan_reason why);
void scan_task_free(struct scan_task *t);

#endif
