/* `forktrace diagnose PID`: why an already-hung process is stuck, from /proc
 * and its memory alone (nothing needs to have traced it). */
#ifndef FT_DIAGNOSE_H
#define FT_DIAGNOSE_H

#include "cli/options.h"
#include "out/output.h"

/*
 * Examines every thread of opts->diagnose_pid blocked in a futex wait and
 * emits a child_deadlock event for each deadlock found (error: owner_gone,
 * warning: no_waker). In human format (to stdout) it also explains each
 * blocked thread. Returns 3 when a deadlock is confirmed (an error-severity
 * finding), 0 when none, 1 after one line on stderr when the process cannot
 * be read.
 */
int diagnose_run(const struct options *opts, struct output *out);

#endif /* FT_DIAGNOSE_H */
