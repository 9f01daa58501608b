/*
 * Examining one thread's futex wait: is it a deadlock? Shared by tracing
 * (confirming a child's block) and `forktrace diagnose`. Costs nothing on
 * the lock path: everything comes from /proc and the process's memory.
 */
#ifndef FT_DEADLOCK_H
#define FT_DEADLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "out/event.h"

/* One thread blocked in futex(2), as /proc/PID/task/TID/syscall shows it. */
struct futex_wait {
	int pid, tid;
	uint64_t uaddr; /* the futex word */
	int op;	      /* futex op, flags included (FUTEX_PRIVATE_FLAG 0x80, CLOCK_REALTIME 0x100) */
	uint32_t val; /* the value it expects there */
	bool has_timeout;
};

/*
 * The thread's current system call (proc/syscall.h): 1 if it is a futex
 * wait (fills w), 0 if not (running, another syscall, a non-wait futex
 * op), -1 on error (errno: the thread is gone, or not permitted).
 */
int futex_wait_read(int pid, int tid, struct futex_wait *w);
/* The same on one syscall line ("202 0x7f.. 0x80 0x2 0x0 ...", "running", "-1 ..."):
 * -1 when malformed. Pure. */
int futex_wait_parse(const char *line, struct futex_wait *w);
/* The same for a system call already read (proc/syscall.h): 1 with the
 * wait's fields filled (not pid and tid), 0 if it is not a futex wait. */
struct proc_syscall;
int futex_wait_from(const struct proc_syscall *s, struct futex_wait *w);

/* What the futex word belongs to, read from the process's memory. */
struct futex_lock_info {
	enum lock_type type; /* LOCK_UNKNOWN: no lock layout we know */
	uint64_t lock;	     /* the lock's first byte (uaddr when unknown) */
	int owner_tid;	     /* as stored in the lock; 0: the lock records no owner */
	bool owner_exists;   /* owner_tid is a thread of the waiting process */
	char owner_comm[16]; /* its name when it exists, "" otherwise (untrusted) */
	int nthreads;	     /* threads of the waiting process */
	bool private_futex;  /* FUTEX_PRIVATE_FLAG: no other process can wake it */
};

/* Fills *info for a wait read by futex_wait_read. 0, or -1 when the process cannot be read. */
int futex_lock_inspect(const struct futex_wait *w, struct futex_lock_info *info);

struct deadlock_finding {
	enum deadlock_reason reason; /* DL_OWNER_GONE or DL_NO_WAKER (held_at_fork is the model's) */
	uint64_t lock;
	enum lock_type lock_type; /* LOCK_UNKNOWN when the layout is not known */
	int holder_tid;		  /* 0: none recorded (a semaphore, a condition variable) */
	char holder_comm[16];	  /* "" when the holder is gone or unknown */
	bool certain;		  /* owner_gone: nothing can ever release the lock */
	/* what the lock belongs to and its holder's name, where a runtime says
	 * (Python: "threading.RLock"); "" otherwise */
	char lock_object[EV_OBJECT_LEN];
	char holder_name[EV_NAME_LEN];
};

/*
 * Decides from *info: owner_gone when the lock is a glibc mutex (or a
 * write-locked rwlock) whose recorded owner is not a thread of the process;
 * no_waker when the process has one thread, the wait has no timeout and the
 * futex is private. Returns 1 with *f filled, 0 when neither. Pure.
 */
int deadlock_judge(const struct futex_wait *w, const struct futex_lock_info *info,
		   struct deadlock_finding *f);

/* futex_lock_inspect + deadlock_judge. 1 found, 0 not, -1 the process cannot be read. */
int deadlock_examine(const struct futex_wait *w, struct deadlock_finding *f);

#endif /* FT_DEADLOCK_H */
