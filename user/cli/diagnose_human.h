/* diagnose's human explanation, written between its events: a pure function
 * of what diagnose found, with names sanitized here. */
#ifndef FT_DIAGNOSE_HUMAN_H
#define FT_DIAGNOSE_HUMAN_H

#include <stdio.h>
#include "locks/deadlock.h"

/* "process PID (COMM), parent PPID, N threads:" */
void diagnose_human_header(FILE *f, int pid, const char *comm, int ppid, int nthreads);
/* One blocked thread (comm: its name, untrusted): the lock, its owner, what could wake it. */
void diagnose_human_thread(FILE *f, const struct futex_wait *w, const char *comm,
			   const struct futex_lock_info *info);
/* The last line: deadlock confirmed, possible, or none found. */
void diagnose_human_verdict(FILE *f, int blocked, int errors, int warnings);

#endif /* FT_DIAGNOSE_HUMAN_H */
