/* diagnose's human explanation, written between its events: a pure function
 * of what diagnose found, with names sanitized here. */
#ifndef FT_DIAGNOSE_HUMAN_H
#define FT_DIAGNOSE_HUMAN_H

#include <stdio.h>
#include "locks/deadlock.h"
#include "out/stack.h"

/* "process PID (COMM), parent PPID, N threads:", then the CPython
 * recognized (python: its version, NULL none) or why one was not (why, "" when
 * the process runs none). */
void diagnose_human_header(FILE *f, int pid, const char *comm, int ppid, int nthreads,
			   const char *python, const char *why);
/* One blocked thread (comm: its kernel name, name: its Python name or "",
 * both untrusted): the lock, its owner, what could wake it. */
void diagnose_human_thread(FILE *f, const struct futex_wait *w, const char *comm, const char *name,
			   const struct futex_lock_info *info);
/* The thread's Python frames, innermost first (untrusted names). */
void diagnose_human_stack(FILE *f, const struct stack *st);
/* The last line: deadlock confirmed, possible, or none found. */
void diagnose_human_verdict(FILE *f, int blocked, int errors, int warnings);

#endif /* FT_DIAGNOSE_HUMAN_H */
