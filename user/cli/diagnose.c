/* `forktrace diagnose PID` (see diagnose.h): the verdicts; diagnose_human.c explains them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "locks/deadlock.h"
#include "locks/deadlock_event.h"
#include "cli/diagnose.h"
#include "cli/diagnose_human.h"
#include "proc/procfs.h"

struct diagnosis {
	int pid, ppid;
	char comm[EV_COMM_LEN];
	FILE *explain;          /* human explanations, or NULL (JSON, -o FILE) */
	int blocked, errors, warnings;
};

static void fail_unreadable(int pid, int err)
{
	/* "No such file or directory" about /proc says less than this */
	if (err == ENOENT)
		err = ESRCH;
	fprintf(stderr, "forktrace: cannot read process %d: %s — is it running? run as root\n", pid,
		strerror(err));
}

/* The explanation of one blocked thread, when there is a reader for it. */
static void explain(const struct diagnosis *d, const struct futex_wait *w,
		    const struct futex_lock_info *info)
{
	char comm[EV_COMM_LEN] = "";

	if (!d->explain)
		return;
	if (procfs_thread_comm(d->pid, w->tid, comm, sizeof(comm)))
		comm[0] = 0;
	diagnose_human_thread(d->explain, w, comm, info);
}

static void emit(struct diagnosis *d, struct output *out, const struct futex_wait *w,
		 const struct deadlock_finding *fd)
{
	struct deadlock_subject s = {
		.pid = d->pid,
		.comm = d->comm,
		.tid = w->tid,
		.uaddr = w->uaddr,
		.parent_pid = d->ppid,
		.since_fork_ns = 0,   /* nothing saw the fork */
	};
	struct deadlock_finding f = *fd;
	struct event ev;

	/* a holder missing here is often still alive in the parent it was not copied from */
	if (!f.holder_comm[0] && f.holder_tid > 0 && d->ppid > 1 &&
	    procfs_thread_comm(d->ppid, f.holder_tid, f.holder_comm, sizeof(f.holder_comm)))
		f.holder_comm[0] = 0;
	deadlock_event(&ev, &s, &f);
	output__emit(out, &ev);
	if (ev.severity == SEV_ERROR)
		d->errors++;
	else
		d->warnings++;
}

/* One thread: is it in a futex wait, on what, and is that a deadlock? */
static void diagnose_thread(struct diagnosis *d, struct output *out, int tid)
{
	struct futex_wait w;
	struct futex_lock_info info;
	struct deadlock_finding fd;

	/* a thread that exits meanwhile is simply not blocked */
	if (futex_wait_read(d->pid, tid, &w) != 1)
		return;
	if (futex_lock_inspect(&w, &info))
		return;
	d->blocked++;
	if (deadlock_judge(&w, &info, &fd))
		emit(d, out, &w, &fd);
	explain(d, &w, &info);
}

int diagnose_run(const struct options *opts, struct output *out)
{
	struct diagnosis d = { .pid = opts->diagnose_pid };
	struct futex_wait probe;
	int *tids = NULL, n, ret = 1;

	/* human explanations go where the events go */
	if (opts->format == FORMAT_HUMAN)
		d.explain = output__stream(out);
	n = d.pid > 0 ? procfs_tids(d.pid, &tids) : (errno = ESRCH, -1);
	if (n <= 0) {
		fail_unreadable(d.pid, n < 0 ? errno : ESRCH);
		goto cleanup;
	}
	/* syscall files need the same access as the memory: fail once, clearly */
	if (futex_wait_read(d.pid, tids[0], &probe) < 0 && (errno == EACCES || errno == EPERM)) {
		fail_unreadable(d.pid, errno);
		goto cleanup;
	}
	d.ppid = procfs_ppid(d.pid);
	if (procfs_thread_comm(d.pid, d.pid, d.comm, sizeof(d.comm)))
		d.comm[0] = 0;
	if (d.explain)
		diagnose_human_header(d.explain, d.pid, d.comm, d.ppid, n);
	for (int i = 0; i < n; i++)
		diagnose_thread(&d, out, tids[i]);
	if (d.explain)
		diagnose_human_verdict(d.explain, d.blocked, d.errors, d.warnings);
	ret = d.errors ? 3 : 0;
cleanup:
	free(tids);
	return ret;
}
