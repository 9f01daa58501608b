// SPDX-License-Identifier: GPL-2.0
/*
 * --locks=uprobe: follow every pthread mutex, rwlock, condition wait and
 * POSIX semaphore operation of the traced processes' glibc, keeping the
 * shared held_locks map ({tgid, lock address} -> holder) exact, so that
 * proc.bpf.c can report at each fork which locks the parent held.
 *
 * user/kernel/uprobes.c attaches the two programs per traced pid (a uprobe
 * with a pid covers every thread of that process, not its children):
 * lk_enter at every function, lk_exit at the return of those that acquire,
 * each attachment with a cookie saying what the function does. An acquisition
 * counts only once it has succeeded: lk_enter stashes the lock's address
 * in task storage and lk_exit decides on the return value. A release
 * deletes at entry. So in the few instructions around an operation a lock
 * errs towards "not held".
 *
 * Cost: nearly all of it is the trap itself (HOST-FACTS.md); the programs
 * do the traced filter plus, on the common paths, one map operation.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define E_PERM 1
#define E_EXIST 17
#define E_INVAL 22
#define E_2BIG 7
#define E_OWNERDEAD 130 /* robust mutex: acquired, its owner died */

#define MUTEX_KIND_MASK 3 /* glibc PTHREAD_MUTEX_KIND_MASK_NP */
#define MUTEX_RECURSIVE 1

/* The operation a thread is in, between its entry and its return. */
struct pending {
	__u64 addr;
	__u32 cookie; /* the operation's attach cookie; 0: none */
	__u32 pad;
	__u64 caller; /* --stacks: the return address at the entry */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} pending SEC(".maps");

/* glibc 2.36 pthread_mutex_t, the part read at unlock (HOST-FACTS.md). */
struct glibc_mutex_head {
	int lock;
	unsigned int count;
	int owner;
	unsigned int nusers;
	int kind;
};

#define READ_ONCE_U32(x) (*(volatile __u32 *)&(x))

static __always_inline void acquired(__u32 tgid, __u32 tid, __u64 addr, __u32 type, __u64 caller)
{
	struct held_lock_key k = { .tgid = tgid, .pad = 0, .addr = addr };
	struct held_lock_val v = {
		.tid = tid,
		.type = type,
		.acquired_ts = bpf_ktime_get_ns(),
		.count = 1,
		.pad = 0,
		.caller = caller,
	};
	struct held_lock_val *cur;
	long err;

	err = bpf_map_update_elem(&held_locks, &k, &v, BPF_NOEXIST);
	if (!err)
		return;
	if (err != -E_EXIST) {
		if (err == -E_2BIG || err == -12 /* ENOMEM */)
			__sync_fetch_and_add(&drops.map_full, 1);
		return;
	}
	/* Held already: a recursive mutex again, another reader or
	 * semaphore unit, or a stale entry (its release was missed). */
	cur = bpf_map_lookup_elem(&held_locks, &k);
	if (!cur)
		return;
	if (cur->type == type && (type != HELD_MUTEX || cur->tid == tid) &&
	    type != HELD_RWLOCK_WRITE) {
		__sync_fetch_and_add(&cur->count, 1);
		if (type != HELD_MUTEX)
			cur->tid = tid; /* the last reader */
		return;
	}
	bpf_map_update_elem(&held_locks, &k, &v, BPF_ANY);
}

/* Release of a counted hold (read-lock, semaphore unit, recursive mutex). */
static __always_inline void release_counted(__u32 tgid, __u64 addr)
{
	struct held_lock_key k = { .tgid = tgid, .pad = 0, .addr = addr };
	struct held_lock_val *cur = bpf_map_lookup_elem(&held_locks, &k);

	if (!cur)
		return;
	if (cur->count > 1) {
		/* No fetching atomics below -mcpu=v3: decrement, then look
		 * again; whoever brings it to 0 sees 0 and deletes. */
		__sync_fetch_and_add(&cur->count, -1);
		if (READ_ONCE_U32(cur->count) != 0)
			return;
	}
	bpf_map_delete_elem(&held_locks, &k);
}

static __always_inline bool traced_now(__u64 pid_tgid)
{
	return trace_lookup(pid_tgid >> 32) != NULL;
}

static __always_inline void stash(__u64 addr, __u32 cookie, __u64 caller)
{
	struct pending *p;

	p = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p)
		return;
	p->addr = addr;
	p->cookie = cookie;
	p->caller = caller;
}

/* The stashed address if this thread entered an operation of kind cookie
 * (and in *caller where it was called from). */
static __always_inline __u64 unstash(__u32 cookie, __u64 *caller)
{
	struct pending *p;
	__u64 addr;

	p = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, 0);
	if (!p || p->cookie != cookie)
		return 0;
	addr = p->addr;
	*caller = p->caller;
	p->cookie = 0;
	return addr;
}

/*
 * --stacks: where a lock is taken is the return address at [sp] on the
 * function's first instruction (one 8-byte read; it matched the DWARF
 * caller in every one of 515 measured calls, where bpf_get_stack's
 * frame-pointer walk is wrong here). The full stack is unwound only if
 * the lock is still held at a fork: the holder's, from the child's memory.
 */
static __always_inline __u64 caller_of(struct pt_regs *ctx)
{
	__u64 ra = 0;

	if (lock_callers)
		bpf_probe_read_user(&ra, sizeof(ra), (void *)PT_REGS_SP(ctx));
	return ra;
}

/* glibc's pthread_mutex_unlock: a delete, except for a recursive mutex still
 * held more than once (glibc's own __count says so; ours follows it). */
static __always_inline void mutex_unlock(__u32 tgid, void *lock)
{
	struct held_lock_key k = { .tgid = tgid, .pad = 0, .addr = (__u64)lock };
	struct glibc_mutex_head m;

	if (bpf_probe_read_user(&m, sizeof(m), lock) ||
	    ((m.kind & MUTEX_KIND_MASK) == MUTEX_RECURSIVE && m.count > 1)) {
		release_counted(tgid, k.addr);
		return;
	}
	bpf_map_delete_elem(&held_locks, &k);
}

/*
 * Every function's entry. The cookie (LOCK_COOKIE in forktrace.h) says
 * which operation on which kind of lock:
 *  acquire          stash the lock for the return
 *  mutex unlock     see mutex_unlock()
 *  release          rwlock unlock, sem_post: one hold fewer
 *  destroy          *_destroy: whatever was recorded there is gone (CPython
 *                   frees each lock with sem_destroy; a Condition's waiter
 *                   lock is dropped while held)
 *  cond wait        the waiter does not hold its mutex (2nd argument)
 */
SEC("uprobe")
int BPF_KPROBE(lk_enter, void *lock, void *mutex)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 cookie = (__u32)bpf_get_attach_cookie(ctx);
	__u32 tgid = id >> 32;
	struct held_lock_key k = { .tgid = tgid, .pad = 0, .addr = (__u64)lock };

	if (!traced_now(id))
		return 0;
	switch (LOCK_COOKIE_OP(cookie)) {
	case LOCK_OP_ACQUIRE: stash((__u64)lock, cookie, caller_of(ctx)); break;
	case LOCK_OP_MUTEX_UNLOCK: mutex_unlock(tgid, lock); break;
	case LOCK_OP_RELEASE: release_counted(tgid, (__u64)lock); break;
	case LOCK_OP_DESTROY: bpf_map_delete_elem(&held_locks, &k); break;
	case LOCK_OP_COND_WAIT:
		k.addr = (__u64)mutex;
		bpf_map_delete_elem(&held_locks, &k);
		stash((__u64)mutex, cookie, caller_of(ctx));
		break;
	}
	return 0;
}

/*
 * The return of an acquire or a condition wait. An acquire succeeded on 0
 * (pthread_*, sem_*wait), or EOWNERDEAD for a robust mutex, then held; a
 * condition wait holds its mutex again on return, also on ETIMEDOUT. The
 * filter is the pending entry, set only in a traced process.
 */
SEC("uretprobe")
int BPF_KRETPROBE(lk_exit, long ret)
{
	__u32 cookie = (__u32)bpf_get_attach_cookie(ctx);
	__u32 type = LOCK_COOKIE_TYPE(cookie);
	__u64 caller = 0, addr = unstash(cookie, &caller);
	__u64 id;

	if (!addr)
		return 0;
	if (LOCK_COOKIE_OP(cookie) == LOCK_OP_COND_WAIT) {
		if ((int)ret == E_INVAL || (int)ret == E_PERM)
			return 0;
		type = HELD_MUTEX;
	} else if ((int)ret != 0 && !(type == HELD_MUTEX && (int)ret == E_OWNERDEAD)) {
		return 0;
	}
	id = bpf_get_current_pid_tgid();
	acquired(id >> 32, (__u32)id, addr, type, caller);
	return 0;
}
