/*
 * One child's scan (scan.h's scan_child) cut into pieces that any thread
 * may run: the mappings, small ones first, in ranges of at most
 * SCAN_PIECE_MAX bytes. The kernel's per-page cost of /proc/PID/mem is CPU
 * work, so two threads on two pieces read a big child in about half the
 * time. Pieces share the limits (bytes, time) and stop as soon as the job
 * is cancelled (the child exec'd or exited) or a read finds the child gone.
 *
 * Thread safety: scan_job_run_piece may run concurrently for different
 * pieces; everything else is called by one thread at a time. The watch's
 * hit() is called under the job's lock (one call at a time).
 */
#ifndef FT_SCAN_JOB_H
#define FT_SCAN_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include "locks/scan.h"

#define SCAN_READ_SIZE (512u << 10) /* one pread: 1-4 MiB reads ~3 GiB/s (measured) */
#define SCAN_PIECE_MAX (32ull << 20)

struct scan_job;

/*
 * Opens the child's memory and plans the pieces; req (and what it points
 * to) must outlive the job. NULL with *gone true when the child exited or
 * exec'd first (nothing of the parent is left to read); NULL with *gone
 * false when out of memory. A child whose memory cannot be read is a job
 * with no pieces whose result says so.
 */
struct scan_job *scan_job_open(const struct scan_request *req, bool *gone);
int scan_job_pieces(const struct scan_job *j);
/* Runs piece i; buf holds SCAN_READ_SIZE bytes (the caller's, one per thread). */
void scan_job_run_piece(struct scan_job *j, int i, unsigned char *buf);
/* Stops the job's pieces at their next read; why is the result's reason
 * (SCAN_REASON_EXEC, _EXIT). Any thread, any time. */
void scan_job_cancel(struct scan_job *j, enum scan_reason why);
/* Once every piece ran: 0 with *res filled (scan_result_free it), or -1
 * when the child was gone by the first read. The job stays open (its
 * memory can still be read with scan_job_mem) until scan_job_free. */
int scan_job_finish(struct scan_job *j, struct scan_result *res);
const struct procmem *scan_job_mem(const struct scan_job *j);
const struct procmem_maps *scan_job_maps(const struct scan_job *j);
void scan_job_free(struct scan_job *j);

#endif
