/* `forktrace diagnose PID` (see diagnose.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "locks/deadlock.h"
#include "cli/diagnose.h"
#include "out/human.h"
#include "proc/procfs.h"

#define SAFE_COMM (EV_COMM_LEN * 4 + 1)   /* sanitize() turns a byte into up to 4 */

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

static const char *lock_kind_text(enum lock_type type)
{
	switch (type) {
	case LOCK_MUTEX: return "a pthread mutex";
	case LOCK_RWLOCK_WRITE: return "a write-locked pthread rwlock";
	case LOCK_RWLOCK_READ: return "a pthread rwlock";
	case LOCK_SEMAPHORE: return "a POSIX semaphore (CPython's threading.Lock is one)";
	case LOCK_UNKNOWN: break;
	}
	return "a futex of no lock layout forktrace knows (a condition variable, an event, a custom lock)";
}

static void explain_owner(FILE *f, const struct futex_lock_info *info)
{
	char comm[SAFE_COMM];

	if (!info->owner_tid) {
		fprintf(f, "    the lock records no owner thread\n");
		return;
	}
	if (!info->owner_exists) {
		fprintf(f, "    its owner, thread %d, does not exist in this process: it was not copied by\n"
			   "    fork() (or it exited holding the lock). Nothing can release it: deadlocked.\n",
			info->owner_tid);
		return;
	}
	sanitize(info->owner_comm, comm, sizeof(comm));
	fprintf(f, "    its owner, thread %d (%s), is alive: the wait ends when it releases the lock\n",
		info->owner_tid, comm);
}

static void explain_wakers(FILE *f, const struct futex_wait *w, const struct futex_lock_info *info)
{
	if (w->has_timeout)
		fprintf(f, "    the wait has a timeout: it returns by itself\n");
	else if (!info->private_futex)
		fprintf(f, "    the futex is shared: another process could wake it\n");
	else if (info->nthreads > 1)
		fprintf(f, "    %d other thread%s of this process could wake it\n", info->nthreads - 1,
			info->nthreads == 2 ? "" : "s");
	else
		fprintf(f, "    it is the process's only thread and the futex is process-private:\n"
			   "    only a signal handler could wake it\n");
}

static void explain(struct diagnosis *d, const struct futex_wait *w,
		    const struct futex_lock_info *info)
{
	char comm[EV_COMM_LEN] = "", safe[SAFE_COMM], lock[32];
	FILE *f = d->explain;

	if (!f)
		return;
	if (procfs_thread_comm(d->pid, w->tid, comm, sizeof(comm)))
		comm[0] = 0;
	sanitize(comm, safe, sizeof(safe));
	format_lock_addr(info->lock, lock, sizeof(lock));
	fprintf(f, "  thread %d (%s) waits on %s, %s\n", w->tid, safe, lock, lock_kind_text(info->type));
	if (info->type == LOCK_MUTEX || info->type == LOCK_RWLOCK_WRITE)
		explain_owner(f, info);
	/* with its owner gone, waking the thread would not help: it would wait again */
	if (!info->owner_tid || info->owner_exists)
		explain_wakers(f, w, info);
	fflush(f);
}

static void emit(struct diagnosis *d, struct output *out, const struct futex_wait *w,
		 const struct deadlock_finding *fd)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_CHILD_DEADLOCK;
	ev.severity = fd->certain ? SEV_ERROR : SEV_WARNING;
	ev.pid = d->pid;
	memcpy(ev.comm, d->comm, sizeof(ev.comm));
	ev.deadlock.tid = w->tid;
	ev.deadlock.holder_tid = fd->holder_tid;
	ev.deadlock.parent_pid = d->ppid;
	ev.deadlock.lock = fd->lock;
	memcpy(ev.deadlock.holder_comm, fd->holder_comm, sizeof(ev.deadlock.holder_comm));
	/* a holder missing here is often still alive in the parent it was not copied from */
	if (!ev.deadlock.holder_comm[0] && fd->holder_tid > 0 && d->ppid > 1 &&
	    procfs_thread_comm(d->ppid, fd->holder_tid, ev.deadlock.holder_comm,
			       sizeof(ev.deadlock.holder_comm)))
		ev.deadlock.holder_comm[0] = 0;
	ev.deadlock.since_fork_ns = 0;   /* nothing saw the fork */
	ev.deadlock.reason = fd->reason;
	ev.deadlock.lock_type = fd->lock_type;
	output__emit(out, &ev);
	if (fd->certain)
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

static void header(const struct diagnosis *d, int nthreads)
{
	char safe[SAFE_COMM];

	if (!d->explain)
		return;
	sanitize(d->comm, safe, sizeof(safe));
	fprintf(d->explain, "process %d (%s), parent %d, %d thread%s:\n", d->pid, safe, d->ppid,
		nthreads, nthreads == 1 ? "" : "s");
	fflush(d->explain);
}

static void verdict(const struct diagnosis *d)
{
	FILE *f = d->explain;

	if (!f)
		return;
	if (!d->blocked)
		fprintf(f, "  no thread is blocked in a futex wait\n");
	if (d->errors)
		fprintf(f, "deadlock confirmed: %d thread%s can never proceed\n", d->errors,
			d->errors == 1 ? "" : "s");
	else if (d->warnings)
		fprintf(f, "possible deadlock: nothing but a signal can wake %d thread%s\n", d->warnings,
			d->warnings == 1 ? "" : "s");
	else
		fprintf(f, "no deadlock found\n");
	fprintf(f, "(stacks are not captured yet: a later version of diagnose adds them)\n");
	fflush(f);
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
	header(&d, n);
	for (int i = 0; i < n; i++)
		diagnose_thread(&d, out, tids[i]);
	verdict(&d);
	ret = d.errors ? 3 : 0;
cleanup:
	free(tids);
	return ret;
}
