/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel/user boundary: the records the BPF programs put in the ring
 * buffer and the values of the maps user space reads. Nothing else.
 * Every record starts with struct rec_hdr; user space dispatches on type.
 */
#ifndef FORKTRACE_H
#define FORKTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FT_COMM_LEN 16
#define FT_PATH_LEN 256

enum rec_type {
	REC_FORK = 1,	   /* a new process (not a thread) */
	REC_THREAD_NEW,	   /* a new thread in a traced process */
	REC_THREAD_RENAME, /* a traced thread changed its name */
	REC_THREAD_EXIT,   /* a traced thread ended (the last one: REC_EXIT too) */
	REC_EXEC,	   /* a traced process exec'd */
	REC_EXIT,	   /* a traced process ended (its last thread) */
	REC_HELD_LOCK,	   /* uprobe mode: a lock held at a fork, sent just
			    * before that fork's REC_FORK */
	REC_PY_STACK,	   /* a Python process's forking thread: its frames at
			    * the fork, sent just before that fork's REC_FORK */
	REC_FORK_REGS,	   /* --stacks: the registers of the parent's other
			    * threads at a fork, just before its REC_FORK */
	REC_FORK_STACK,	   /* --stacks: the forking thread's registers and a copy
			    * of its stack, just before the fork's REC_FORK */
};

/* Lock kinds tracked by the uprobe mode (values of held_lock_val.type). */
enum held_type {
	HELD_MUTEX = 1,
	HELD_RWLOCK_READ,
	HELD_RWLOCK_WRITE,
	HELD_SEMAPHORE,
};

/*
 * uprobe mode: the attach cookie of each lock function's probes says what
 * the function does (enum lock_op) to which kind of lock (enum held_type,
 * or 0 when the kind is not known at the call).
 */
enum lock_op {
	LOCK_OP_ACQUIRE = 1, /* stash the lock; held if the call succeeds */
	LOCK_OP_MUTEX_UNLOCK,
	LOCK_OP_RELEASE, /* rwlock unlock, sem_post: one hold fewer */
	LOCK_OP_DESTROY,
	LOCK_OP_COND_WAIT, /* releases its mutex (2nd argument) until it returns */
};

#define LOCK_COOKIE(op, type) (((__u32)(op) << 8) | (__u32)(type))
#define LOCK_COOKIE_OP(cookie) ((__u32)(cookie) >> 8)
#define LOCK_COOKIE_TYPE(cookie) ((__u32)(cookie)&0xff)

/* Flags in the traced-process map and in records. */
enum proc_flag {
	PROC_FORKED = 1, /* seen being forked (not a root target) */
	PROC_EXECED = 2, /* has exec'd since its fork */
};

/* REC_FORK flags */
enum fork_flag {
	FORK_SHARES_VM = 1, /* CLONE_VM without CLONE_THREAD: vfork, posix_spawn */
	FORK_FROM_MAIN = 2, /* the forking thread is the parent's main thread */
};

/* REC_THREAD_EXIT flags */
enum thread_exit_flag {
	TEXIT_GROUP_EXIT = 1, /* the whole process is being torn down */
	TEXIT_INITIATOR = 2,  /* this thread called exit_group() */
};

struct rec_hdr {
	__u32 type;
	__u32 pid; /* tgid of the process the record is about */
	__u32 tid; /* the thread that did it */
	__u32 flags;
	__u64 ts;		 /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	char comm[FT_COMM_LEN];	 /* the process's comm (its main thread's) */
	char tcomm[FT_COMM_LEN]; /* the acting thread's comm */
};

struct rec_fork {
	struct rec_hdr h; /* pid: parent, tid: forking thread */
	__u32 child_pid;
	__u32 threads; /* threads in the parent at the fork */
};

struct rec_thread {
	struct rec_hdr h;	/* tid: the new / renamed / exiting thread */
	char name[FT_COMM_LEN]; /* new name for RENAME, else the thread's */
	__s32 exit_code;	/* THREAD_EXIT: the raw kernel exit code */
	__u32 pad;
};

struct rec_exec {
	struct rec_hdr h;
	__u32 old_pid; /* the tid that exec'd (differs if not main) */
	__u32 pad;
	char filename[FT_PATH_LEN];
};

struct rec_exit {
	struct rec_hdr h;
	__s32 exit_code; /* raw: (status << 8) | signal */
	__u32 pad;
};

/* uprobe mode: the held_locks map, one entry per lock held right now. */
struct held_lock_key {
	__u32 tgid;
	__u32 pad;
	__u64 addr; /* the lock's address in the process */
};

struct held_lock_val {
	__u32 tid;	   /* the holder (for read-locks: the last reader) */
	__u32 type;	   /* enum held_type */
	__u64 acquired_ts; /* bpf_ktime_get_ns() when it was acquired */
	__u32 count;	   /* recursive mutexes, read-locks: holds */
	__u32 pad;
	__u64 caller; /* --stacks: where it was taken (the return address at the call) */
};

struct rec_held_lock {
	struct rec_hdr h; /* pid: parent, tid: forking thread */
	__u32 child_pid;
	__u32 holder_tid;
	__u64 lock;
	__u64 acquired_ts;
	__u32 type; /* enum held_type */
	__u32 pad;
	__u64 caller; /* where it was taken; 0: not known */
};

/*
 * Python support: where a traced CPython process keeps its threads and
 * frames (key: tgid), written by user space once it recognized the
 * interpreter. At a fork the kernel side finds the forking thread's state
 * (its thread_id is pthread_self(), the thread's fs base) and copies the
 * raw frame chain: code object and instruction of each frame, innermost
 * first. User space turns them into file:line later (code objects live on).
 */
struct py_bpf_layout {
	__u64 interp;		  /* the main PyInterpreterState */
	__u32 interp_tstate_head; /* interp -> first thread state */
	__u32 tstate_next;
	__u32 tstate_thread_id; /* the thread's pthread_self() */
	__u32 tstate_frame;	/* tstate -> innermost frame (or its cframe) */
	__u32 cframe_frame;	/* via_cframe: cframe -> innermost frame */
	__u32 frame_previous;
	__u32 frame_code;
	__u32 frame_instr; /* 3.11+: the instruction pointer; before: f_lasti (int) */
	__u32 frame_owner; /* the owner byte (3.12+: C-stack shims are skipped) */
	__u8 via_cframe;   /* 3.11, 3.12 */
	__u8 legacy;	   /* 3.6-3.10: PyFrameObject chain, f_lasti an int */
	__u8 owner_cstack; /* the owner value of a C-stack shim; 0: none */
	__u8 pad;
};

#define PY_STACK_FRAMES 32
#define PY_MAX_THREADS 512 /* thread states looked at for the forking one */

struct py_raw_frame {
	__u64 code;  /* the PyCodeObject */
	__u64 instr; /* 3.11+: instruction pointer; before: f_lasti */
};

#define PY_COPY_THREADS 32 /* threads whose frames a fork copies, the forking one first */

/* One thread's raw frames at a fork: the forking thread's, then (a threaded
 * fork) every other thread's, each what it was running at that instant. */
struct rec_py_stack {
	struct rec_hdr h; /* pid: parent, tid: forking thread */
	__u32 child_pid;
	__u32 count;	 /* frames filled */
	__u32 truncated; /* 1: the chain went on past PY_STACK_FRAMES */
	__u32 forker;	 /* 1: the forking thread's frames */
	__u64 ident;	 /* the thread's thread_id (threading.get_ident()) */
	struct py_raw_frame frames[PY_STACK_FRAMES];
};

/*
 * Native stacks (--stacks): user registers as the kernel saved them at the
 * thread's last entry (syscall, interrupt), in DWARF order: rax rdx rcx rbx
 * rsi rdi rbp rsp r8-r15 rip. User space unwinds them over memory: the
 * child's, frozen at the fork, for the threads the child does not have; a
 * copy made here for the forking thread, whose stack the child reuses.
 */
#define FT_NREGS 17
#define FT_STACK_THREADS 64  /* threads' registers sent per fork at most */
#define FT_STACK_PAGE 4096
#define FT_STACK_PAGES_MAX 8 /* the forking thread's stack copied: at most 32 KiB */

enum fork_stacks_mode {
	FSTACKS_OFF = 0,
	FSTACKS_HAZARDS, /* forks from a threaded parent or from a thread */
	FSTACKS_ALL,        /* every fork */
};

enum thread_regs_flag {
	TREGS_RUNNING = 1, /* on a CPU at the fork: no saved registers to trust */
};

struct thread_regs {
	__u32 tid;
	__u32 flags; /* enum thread_regs_flag */
	__u64 regs[FT_NREGS];
};

struct rec_fork_regs {
	struct rec_hdr h; /* pid: parent, tid: forking thread */
	__u32 child_pid;
	__u32 count;   /* entries of t filled */
	__u32 omitted; /* threads past the bound (stack_threads) */
	__u32 pad;
	struct thread_regs t[FT_STACK_THREADS];
};

struct rec_fork_stack {
	struct rec_hdr h; /* pid: parent, tid: forking thread */
	__u32 child_pid;
	__u32 len;    /* bytes of data: whole pages from start */
	__u64 start;  /* the page of the thread's sp */
	__u64 regs[FT_NREGS];
	__u8 data[FT_STACK_PAGES_MAX * FT_STACK_PAGE]; /* only len bytes are sent */
};

/* Value of the traced map (key: tgid). */
struct traced_proc {
	__u64 fork_ts; /* 0 for a root target */
	__u32 parent_pid;
	__u32 flags; /* enum proc_flag */
};

/* Counters of data the kernel side could not deliver. */
struct drop_counts {
	__u64 ringbuf_full; /* records dropped: ring buffer full */
	__u64 map_full;	    /* processes not tracked: traced map full */
};

#endif /* FORKTRACE_H */
