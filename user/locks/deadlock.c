/* Examining one thread's futex wait (see deadlock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "locks/deadlock.h"
#include "proc/procfs.h"
#include "proc/procmem.h"
#include "locks/scan.h"

#define FUTEX_CMD_MASK         0x7f
#define FUTEX_PRIVATE_FLAG     0x80
#define FUTEX_WAIT             0
#define FUTEX_LOCK_PI          6
#define FUTEX_WAIT_BITSET      9
#define FUTEX_WAIT_REQUEUE_PI  11
#define FUTEX_LOCK_PI2         13

#define SEM_FUTEX_PRIVATE      128   /* glibc's sem_t.private for a process-private semaphore */
#define MAX_USERS              65536 /* no parent thread count here: any plausible one */

/* ---------------------------------------------------------------- /proc/PID/task/TID/syscall */

static bool futex_op_waits(int op)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
	case FUTEX_WAIT_REQUEUE_PI:
		return true;
	}
	return false;
}

/* One "0x..." field and the space after it. */
static int parse_arg(const char **s, uint64_t *v)
{
	char *end;

	if (strncmp(*s, "0x", 2) != 0)
		return -1;
	errno = 0;
	*v = strtoull(*s, &end, 16);
	if (errno || end == *s + 2 || (*end != ' ' && *end != '\n' && *end != 0))
		return -1;
	*s = *end == ' ' ? end + 1 : end;
	return 0;
}

int futex_wait_parse(const char *line, struct futex_wait *w)
{
	uint64_t a[6];
	char *end;
	long nr;

	if (strncmp(line, "running", 7) == 0)
		return 0;
	errno = 0;
	nr = strtol(line, &end, 10);
	if (errno || end == line || (*end != ' ' && *end != '\n'))
		return -1;
	if (nr == -1)
		return 0;   /* blocked, but not in a system call */
	if (nr != SYS_futex)
		return 0;
	line = end + 1;
	for (int i = 0; i < 6; i++)
		if (parse_arg(&line, &a[i]))
			return -1;
	if (!futex_op_waits((int)a[1]))
		return 0;
	w->uaddr = a[0];
	w->op = (int)a[1];
	w->val = (uint32_t)a[2];
	w->has_timeout = a[3] != 0;
	return 1;
}

int futex_wait_read(int pid, int tid, struct futex_wait *w)
{
	char path[64], line[512];
	ssize_t n;
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 0)
		return -1;
	line[n] = 0;
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->tid = tid;
	ret = futex_wait_parse(line, w);
	if (ret < 0)
		errno = EINVAL;
	return ret;
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
static bool read_at(int fd, uint64_t addr, unsigned char *buf, size_t len)
{
	if (addr > (uint64_t)INT64_MAX - len)
		return false;
	return pread(fd, buf, len, (off_t)addr) == (ssize_t)len;
}

/* A rwlock's writers wait on __writers_futex (+12) or __wrphase_futex (+8). */
static bool match_rwlock(int fd, uint64_t uaddr, struct futex_lock_info *info)
{
	static const unsigned offsets[] = { 12, 8 };
	unsigned char buf[SCAN_RWLOCK_SIZE];

	for (unsigned i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uint64_t start = uaddr - offsets[i];
		int owner;

		if (uaddr < offsets[i] || (start & 7) || !read_at(fd, start, buf, sizeof(buf)))
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
static void match_layout(int pid, int fd, const struct futex_wait *w, struct futex_lock_info *info)
{
	unsigned char buf[SCAN_MUTEX_SIZE];
	struct procmem_maps maps = { 0 };
	char err[256];
	int owner;

	info->type = LOCK_UNKNOWN;
	info->lock = w->uaddr;
	if (!(w->uaddr & 7) && read_at(fd, w->uaddr, buf, sizeof(buf))) {
		owner = scan_mutex_owner(buf, MAX_USERS, NULL);
		/* a robust mutex points into the process's memory: only then read its maps */
		if (!owner && scan_mutex_is_robust(buf) && !procmem_maps_read(pid, &maps, err, sizeof(err))) {
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
	match_rwlock(fd, w->uaddr, info);
}

int futex_lock_inspect(const struct futex_wait *w, struct futex_lock_info *info)
{
	char path[64];
	int fd;

	memset(info, 0, sizeof(*info));
	info->private_futex = (w->op & FUTEX_PRIVATE_FLAG) != 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", w->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	match_layout(w->pid, fd, w, info);
	close(fd);
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
