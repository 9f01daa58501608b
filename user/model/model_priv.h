/* The model's own types, shared by its parts: model.c (records and the
 * grace rule), fork_locks.c (held locks at a fork), watch.c (deadlocks). */
#ifndef FT_MODEL_PRIV_H
#define FT_MODEL_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "out/event.h"
#include "model/model.h"

#define NBUCKETS 4096

struct thread {
	int tid;
	char comm[EV_COMM_LEN];
	bool alive;
	bool killed;  /* torn down by another thread's exit_group or a signal */
	/* the deadlock watcher's last look at this thread */
	uint64_t wait_uaddr;   /* futex it waited on, 0: not waiting */
	int wait_seen;         /* consecutive looks in that same wait */
	bool wait_reported;
};

/* A lock some thread held when this process (or an ancestor) was forked,
 * by a thread that is not in this process. */
struct held_lock {
	uint64_t addr;
	enum lock_type type;
	int holder_tid;
	char holder_comm[EV_COMM_LEN];
};

/* Hazards of a fork held back until the child exec's or the grace ends. */
struct pending {
	uint64_t deadline;  /* CLOCK_MONOTONIC ns */
	bool has_orphaned, has_fork_in_thread;
	struct event orphaned;
	struct event fork_in_thread;
	bool has_scan;       /* emitted right after the fork event */
	struct event scan;
	struct event *held;  /* held_lock events */
	int nheld;
	struct proc *child;
	struct pending *next;
};

struct proc {
	int pid;
	int parent_pid;
	char comm[EV_COMM_LEN];
	bool forked;        /* we saw it being forked */
	bool execed;
	bool root;
	uint64_t fork_ts;   /* CLOCK_MONOTONIC ns */
	struct thread *threads;
	int nthreads, cap;
	struct held_lock *held;  /* locks born held (scan), for held_at_fork */
	int nheld;
	struct pending *pending;
	struct proc *hnext; /* hash chain */
};

/* A lock held at a fork, however it was found. */
struct found_lock {
	uint64_t addr;
	enum lock_type type;
	int owner_tid;
	int forker_tid;
	uint64_t fork_ts;
	int64_t held_ns;     /* < 0: not known */
	bool by_uprobe;
};

struct model {
	const struct options *opts;
	struct output *out;
	int64_t mono_to_real;
	struct proc *buckets[NBUCKETS];
	struct pending *pendings;  /* list of every held-back fork */
	int live;                  /* traced processes alive */
	int roots[MAX_TARGET_PIDS];
	int nroots;
	uint64_t next_watch;       /* when the deadlock watcher looks next */
	/* uprobe mode: the locks of the fork whose REC_FORK comes next */
	struct found_lock *incoming;
	int nincoming, cap_incoming;
	int incoming_child;
};

struct proc *proc_find(struct model *m, int pid);
struct thread *thread_find(struct proc *p, int tid);
void model_event_init(struct model *m, struct event *ev, enum event_kind kind,
		      enum severity sev, uint64_t ts, int pid, const char *comm);
void model_emit(struct model *m, struct event *ev);
/* Emits a fork's held-back hazards with this severity and forgets them. */
void pending_resolve(struct model *m, struct pending *pd, enum severity sev);

/* fork_locks.c: adds locks held at the fork to the child's list and to the
 * fork's held-back events. Returns how many were added. */
int fork_add_held(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
		  const struct found_lock *locks, int n);
/* fork_locks.c: scans a new child for locks held by its parent's threads;
 * fills the child's held list and the pending held_lock events. Returns
 * how many locks it found. */
int fork_scan(struct model *m, struct proc *parent, struct proc *child, int forker_tid,
	      uint64_t ts, struct pending *pd);
/* watch.c: looks at the futex waits of forked children (rate-limited). */
void watch_deadlocks(struct model *m, uint64_t now);

#endif
