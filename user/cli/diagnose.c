/* `forktrace diagnose PID` (see diagnose.h): the verdicts; diagnose_human.c explains them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "locks/deadlock.h"
#include "locks/deadlock_event.h"
#include "cli/diagnose.h"
#include "cli/diagnose_human.h"
#include "cli/options.h"
#include "forktrace.h"
#include "kernel/task_regs.h"
#include "proc/procfs.h"
#include "proc/syscall.h"
#include "python/python.h"
#include "stacks/interleave.h"
#include "stacks/stacks.h"

#define PY_DEPTH 48

struct diagnosis {
	int pid, ppid;
	char comm[EV_COMM_LEN];
	FILE *explain; /* human explanations, or NULL (JSON, -o FILE) */
	int blocked, errors, warnings;
	/* CPython, when the process runs one we know: its threads, names and frames */
	struct py_process *py;
	char py_why[256]; /* why not, when it runs one we do not know */
	struct py_thread *pyt;
	int npyt;
	/* the parent's threads' Python names (a holder missing here runs there) */
	struct py_thread *parent_pyt;
	int nparent_pyt;
	/* native stacks (--stacks): registers from the kernel, or /proc's sp and pc */
	struct stacks *stacks;
	struct task_regs *regs;
};

/* Native stacks need each thread's registers: the kernel has them all;
 * without BPF (not root, an older kernel) /proc gives sp and pc, which
 * unwind until a frame whose CFA is rbp-based. Said once. */
static void open_stacks(struct diagnosis *d, const struct options *opts)
{
	char why[256];

	if (opts->stacks == STACKS_OFF)
		return;
	d->stacks = stacks__new(NULL);
	if (!d->stacks)
		return;
	d->regs = task_regs__open(why, sizeof(why));
	if (!d->regs)
		fprintf(stderr,
			"forktrace: %s — native stacks start from /proc's sp and pc and may stop"
			" early\n",
			why);
}

static bool thread_regs(const struct diagnosis *d, int tid, uint64_t *regs)
{
	struct proc_syscall sc;

	if (d->regs)
		return task_regs__read(d->regs, tid, regs) == 0;
	if (proc_syscall_read(d->pid, tid, &sc) || sc.state == PROC_SYSCALL_RUNNING || !sc.has_sp)
		return false;
	memset(regs, 0, FT_NREGS * sizeof(*regs));
	regs[STACKS_REG_SP] = sc.sp;
	regs[STACKS_REG_PC] = sc.pc;
	return true;
}

/* Thread tid's native stack with its Python frames in place (the caller
 * frees), or NULL: then py, if any, is the stack. */
static struct stack *thread_stack(const struct diagnosis *d, int tid, const struct stack *py)
{
	uint64_t regs[FT_NREGS];
	struct stack *native, *s;

	if (!d->stacks || !thread_regs(d, tid, regs))
		return NULL;
	native = stacks__unwind_proc(d->stacks, d->pid, d->pid, regs);
	if (!native)
		return NULL;
	s = stacks_interleave(native, py);
	stack_free(native);
	return s;
}

static const struct py_thread *py_thread_of(const struct py_thread *v, int n, int tid)
{
	for (int i = 0; i < n; i++)
		if (v[i].tid == tid)
			return &v[i];
	return NULL;
}

/* Python support: the process's threads with their frames, and the
 * parent's names, read once. */
static void read_python(struct diagnosis *d, bool no_python)
{
	struct py_read_opts o = { .frames = true, .max_depth = PY_DEPTH };
	struct py_read_opts names = { .frames = false };
	struct py_process *pp;
	char why[256];

	if (no_python)
		return;
	d->py = py_attach(d->pid, d->py_why, sizeof(d->py_why));
	if (d->py)
		d->npyt = py_read_threads(d->py, d->pid, NULL, 0, &o, &d->pyt, NULL);
	if (d->npyt < 0)
		d->npyt = 0;
	if (d->ppid > 1 && (pp = py_attach(d->ppid, why, sizeof(why)))) {
		d->nparent_pyt =
			py_read_threads(pp, d->ppid, NULL, 0, &names, &d->parent_pyt, NULL);
		if (d->nparent_pyt < 0)
			d->nparent_pyt = 0;
		py_detach(pp);
	}
}

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
		    const struct futex_lock_info *info, const struct stack *stack)
{
	char comm[EV_COMM_LEN] = "";

	const struct py_thread *t = py_thread_of(d->pyt, d->npyt, w->tid);

	if (!d->explain)
		return;
	if (procfs_thread_comm(d->pid, w->tid, comm, sizeof(comm)))
		comm[0] = 0;
	diagnose_human_thread(d->explain, w, comm, t ? t->name : "", info);
	/* a deadlock's event shows the stack already */
	if (stack)
		diagnose_human_stack(d->explain, stack);
}

static void emit(struct diagnosis *d, struct output *out, const struct futex_wait *w,
		 const struct deadlock_finding *fd, const struct stack *stack)
{
	struct deadlock_subject s = {
		.pid = d->pid,
		.comm = d->comm,
		.tid = w->tid,
		.uaddr = w->uaddr,
		.parent_pid = d->ppid,
		.since_fork_ns = 0, /* nothing saw the fork */
	};
	struct deadlock_finding f = *fd;
	struct event ev;

	/* a holder missing here is often still alive in the parent it was not copied from */
	if (!f.holder_comm[0] && f.holder_tid > 0 && d->ppid > 1 &&
	    procfs_thread_comm(d->ppid, f.holder_tid, f.holder_comm, sizeof(f.holder_comm)))
		f.holder_comm[0] = 0;
	deadlock_event(&ev, &s, &f);
	{
		const struct py_thread *me = py_thread_of(d->pyt, d->npyt, w->tid);
		const struct py_thread *holder =
			py_thread_of(d->parent_pyt, d->nparent_pyt, f.holder_tid);

		ev.deadlock.stack = stack ? stack : me ? me->stack : NULL;
		if (holder && f.holder_tid > 0)
			memcpy(ev.deadlock.holder_name, holder->name, EV_NAME_LEN);
		if (f.holder_name[0])
			memcpy(ev.deadlock.holder_name, f.holder_name, EV_NAME_LEN);
		memcpy(ev.deadlock.lock_object, f.lock_object, EV_OBJECT_LEN);
	}
	output__emit(out, &ev);
	if (ev.severity == SEV_ERROR)
		d->errors++;
	else
		d->warnings++;
}

/*
 * What a semaphore wait belongs to, where the process runs a CPython we
 * know: the Python lock object, and when it records an owner that is no
 * thread of this process (the child's copy froze it at the fork), a
 * certain held_at_fork, the holder named from the parent. 1 when found.
 */
static int python_lock(const struct diagnosis *d, const struct futex_wait *w,
		       struct deadlock_finding *fd)
{
	struct py_lock_wait lw;
	const struct py_thread *holder;

	if (!d->py || py_lock_of_wait(d->py, d->pid, w->uaddr, &lw) != 1)
		return 0;
	fd->lock_type = lw.type;
	snprintf(fd->lock_object, sizeof(fd->lock_object), "%s", lw.object_text);
	if (!lw.owner_ident || py_thread_by_ident(d->pyt, d->npyt, lw.owner_ident))
		return 1;
	fd->reason = DL_HELD_AT_FORK;
	fd->certain = true;
	fd->holder_tid = 0;
	fd->holder_comm[0] = 0;
	holder = py_thread_by_ident(d->parent_pyt, d->nparent_pyt, lw.owner_ident);
	if (holder) {
		fd->holder_tid = holder->tid;
		snprintf(fd->holder_name, sizeof(fd->holder_name), "%s", holder->name);
	}
	return 1;
}

/* One thread: is it in a futex wait, on what, and is that a deadlock? */
static void diagnose_thread(struct diagnosis *d, struct output *out, int tid)
{
	struct futex_wait w;
	struct futex_lock_info info;
	struct deadlock_finding fd;
	const struct py_thread *t;
	struct stack *native;
	int judged;

	/* a thread that exits meanwhile is simply not blocked */
	if (futex_wait_read(d->pid, tid, &w) != 1)
		return;
	if (futex_lock_inspect(&w, &info))
		return;
	d->blocked++;
	memset(&fd, 0, sizeof(fd));
	judged = deadlock_judge(&w, &info, &fd);
	if (python_lock(d, &w, &fd) && fd.certain)
		judged = 1;
	t = py_thread_of(d->pyt, d->npyt, tid);
	native = thread_stack(d, tid, t ? t->stack : NULL);
	if (judged)
		emit(d, out, &w, &fd, native);
	explain(d, &w, &info, judged ? NULL : native ? native : t ? t->stack : NULL);
	stack_free(native);
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
	read_python(&d, opts->no_python);
	open_stacks(&d, opts);
	if (d.explain)
		diagnose_human_header(d.explain, d.pid, d.comm, d.ppid, n,
				      d.py ? py_version(d.py) : NULL, d.py_why);
	else if (!d.py && d.py_why[0])
		fprintf(stderr, "forktrace: pid %d: %s — its threads go by their kernel names\n",
			d.pid, d.py_why);
	for (int i = 0; i < n; i++)
		diagnose_thread(&d, out, tids[i]);
	if (d.explain)
		diagnose_human_verdict(d.explain, d.blocked, d.errors, d.warnings);
	ret = d.errors ? 3 : 0;
cleanup:
	py_threads_free(d.pyt, d.npyt);
	py_threads_free(d.parent_pyt, d.nparent_pyt);
	py_detach(d.py);
	task_regs__free(d.regs);
	stacks__free(d.stacks);
	free(tids);
	return ret;
}
