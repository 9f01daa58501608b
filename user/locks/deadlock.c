/* Examining one thread's futex wait (see deadlock.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "locks/deadlock.h"
#include "proc/procfs.h"
#include "proc/procmem.h"
#include "proc/syscall.h"
#include "locks/scan.h"

#define FUTEX_CMD_MASK 0x7f
#define FUTEX_PRIVATE_FLAG 0x80
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2 13

#define SEM_FUTEX_PRIVATE 128 /* glibc's sem_t.private for a process-private semaphore */
#define MAX_USERS 65536	      /* no parent thread count here: any plausible one */

/* ---------------------------------------------------------------- the futex wait */

static bool futex_op_waits(int op)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
	case FUTEX_WAIT_REQUEUE_PI: return true;
	}
	return false;
}

int futex_wait_from(const struct proc_syscall *s, struct futex_wait *w)
{
	if (s->state != PROC_SYSCALL_IN || s->nr != SYS_futex || !futex_op_waits((int)s->args[1]))
		return 0;
	w->uaddr = s->args[0];
	w->op = (int)s->args[1];
	w->val = (uint32_t)s->args[2];
	w->has_timeout = s->args[3] != 0;
	return 1;
}

int futex_wait_parse(const char *line, struct futex_wait *w)
{
	struct proc_syscall s;

	if (proc_syscall_parse(line, &s))
		return -1;
	return futex_wait_from(&s, w);
}

int futex_wait_read(int pid, int tid, struct futex_wait *w)
{
	struct proc_syscall s;

	if (proc_syscall_read(pid, tid, &s))
		return -1;
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->tid = tid;
	return futex_wait_from(&s, w);
}

/* ---------------------------------------------------------------- the lock's layout */

/* The thread of pid whose tid, as the process itself sees it, is ns; 0 if none. */
static int thread_by_ns_tid(int pid, const int *tids, int n, int ns)
{
	/* the common case first: the process is in our pid namespace */
	for (int i = 0; i < n; i++)
		if (tids[i] == ns)
			return tids[i];
	for (int i = 0; i < n; i++)
		if (procfs_ns_tid(pid, tids[i]) == ns)
			return tids[i];
	return 0;
}

/* Is the owner a thread of the process, and what is its name? */
static void find_owner(int pid, struct futex_lock_info *info)
{
	int *tids = NULL, n = procfs_tids(pid, &tids), tid;

	info->nthreads = n > 0 ? n : 0;
	tid = info->owner_tid && n > 0 ? thread_by_ns_tid(pid, tids, n, info->owner_tid) : 0;
	if (tid) {
		info->owner_exists = true;
		if (procfs_thread_comm(pid, tid, info->owner_comm, sizeof(info->owner_comm)))
			info->owner_comm[0] = 0;
	}
	free(tids);
}

/* glibc's sem_t on x86_64: value (low 32 bits of data), nwaiters (high), private. */
static bool looks_like_semaphore(const unsigned char *p)
{
	uint32_t value, nwaiters, priv;

	memcpy(&value, p, 4);
	memcpy(&nwaiters, p + 4, 4);
	memcpy(&priv, p + 8, 4);
	return value == 0 && nwaiters >= 1 && nwaiters <= MAX_USERS &&
	       (priv == 0 || priv == SEM_FUTEX_PRIVATE);
}

/* Reads len bytes at addr; false when they are not all there. */
static bool read_at(const struct procmem *pm, uint64_t addr, unsigned char *buf, size_t len)
{
	return procmem_read(pm, addr, buf, len) == (ssize_t)len;
}

/* A rwlock's writers wait on __writers_futex (+12) or __wrphase_futex (+8). */
static bool match_rwlock(const struct procmem *pm, uint64_t uaddr, struct futex_lock_info *info)
{
	static const unsigned offsets[] = { 12, 8 };
	unsigned char buf[GLIBC_RWLOCK_SIZE];

	for (unsigned i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uint64_t start = uaddr - offsets[i];
		int owner;

		if (uaddr < offsets[i] || (start & 7) || !read_at(pm, start, buf, sizeof(buf)))
			continue;
		owner = scan_rwlock_writer(buf, MAX_USERS);
		if (owner) {
			info->type = LOCK_RWLOCK_WRITE;
			info->lock = start;
			info->owner_tid = owner;
			return true;
		}
	}
	return false;
}

/* Which lock layout is at the futex word. */
static void match_layout(const struct procmem *pm, const struct futex_wait *w,
			 struct futex_lock_info *info)
{
	unsigned char buf[GLIBC_MUTEX_SIZE];
	struct procmem_maps maps = { 0 };
	char err[256];
	int owner;

	info->type = LOCK_UNKNOWN;
	info->lock = w->uaddr;
	if (!(w->uaddr & 7) && read_at(pm, w->uaddr, buf, sizeof(buf))) {
		owner = scan_mutex_owner(buf, MAX_USERS, NULL);
		/* a robust mutex points into the process's memory: only then read its maps */
		if (!owner && scan_mutex_is_robust(buf) &&
		    !procmem_maps_read(pm->pid, &maps, err, sizeof(err))) {
			owner = scan_mutex_owner(buf, MAX_USERS, &maps);
			procmem_maps_free(&maps);
		}
		if (owner) {
			info->type = LOCK_MUTEX;
			info->owner_tid = owner;
			return;
		}
		if (looks_like_semaphore(buf)) {
			info->type = LOCK_SEMAPHORE;
			return;
		}
	}
	match_rwlock(pm, w->uaddr, info);
}

int futex_lock_inspect(const struct futex_wait *w, struct futex_lock_info *info)
{
	struct procmem pm;
	char err[256];

	memset(info, 0, sizeof(*info));
	info->private_futex = (w->op & FUTEX_PRIVATE_FLAG) != 0;
	if (procmem_open_mem(w->pid, &pm, err, sizeof(err)))
		return -1;
	match_layout(&pm, w, info);
	procmem_close(&pm);
	find_owner(w->pid, info);
	return info->nthreads > 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- the verdict */

int deadlock_judge(const struct futex_wait *w, const struct futex_lock_info *info,
		   struct deadlock_finding *f)
{
	bool owner_gone = info->owner_tid && !info->owner_exists;
	bool no_waker = info->nthreads == 1 && !w->has_timeout && info->private_futex;

	if (!owner_gone && !no_waker)
		return 0;
	memset(f, 0, sizeof(*f));
	f->reason = owner_gone ? DL_OWNER_GONE : DL_NO_WAKER;
	f->certain = owner_gone;
	f->lock = info->lock;
	f->lock_type = info->type;
	f->holder_tid = info->owner_tid;
	if (info->owner_exists)
		memcpy(f->holder_comm, info->owner_comm, sizeof(f->holder_comm));
	f->holder_comm[sizeof(f->holder_comm) - 1] = 0;
	return 1;
}

int deadlock_examine(const struct futex_wait *w, struct deadlock_finding *f)
{
	struct futex_lock_info info;

	if (futex_lock_inspect(w, &info))
		return -1;
	return deadlock_judge(w, &info, f);
}
