/* The model's own types, shared by its files: model.c (processes,
 * threads and their records), hazards.c (what a fork held back: the grace
 * rule, held locks, deadlocks), fork_scans.c (the fork-time scan and its
 * landing), python.c and stacks.c. Nothing outside model/ includes it. */
#ifndef FT_MODEL_PRIV_H
#define FT_MODEL_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "locks/held.h"
#include "locks/scan.h"
#include "locks/scan_pool.h"
#include "locks/watch.h"
#include "model/model.h"
#include "out/event.h"

#define NBUCKETS 4096
#define PY_INCOMING 128 /* threads' frames of forks in flight, come ahead of them */
#define NATIVE_INCOMING 4 /* forks in flight whose native stacks came ahead of them */

struct thread {
	int tid;
	char comm[EV_COMM_LEN];
	bool alive;
	bool killed;		 /* torn down by another thread's exit_group or a signal */
	struct wait_watch watch; /* the deadlock watcher's last look */
	char name[EV_NAME_LEN];	 /* its Python name, "" not known (untrusted) */
};

/* Hazards of a fork held back until the child exec's or the grace ends. */
struct pending {
	uint64_t deadline; /* CLOCK_MONOTONIC ns */
	bool has_orphaned, has_fork_in_thread;
	struct event orphaned;
	struct event fork_in_thread;
	bool has_scan; /* emitted right after the fork event */
	struct event scan;
	/* a scan on a scanner thread: the fork's events wait for it (the fork
	 * event says how many locks it found), and so does the grace rule */
	struct scan_task *task;
	struct event fork_ev;
	struct stack *fork_stack;
	int parent_pid, forker_tid;
	uint64_t fork_ts;
	struct scan_watch watch;      /* the Python pass's, while the task runs */
	struct py_held_scan *py_scan; /* NULL: none */
	struct found_lock *incoming;  /* uprobe mode: the locks seen taken, for then */
	int nincoming;
	struct event *held; /* held_lock events */
	int nheld;
	/* the stacks its events point to (orphans, the forking thread): freed with it */
	struct stack *stacks[2 * (EV_MAX_THREADS + 1)]; /* Python, then native+Python */
	int nstacks;
	struct proc *child;
	struct pending *next;
};

struct proc {
	int pid;
	int parent_pid;
	char comm[EV_COMM_LEN];
	bool forked; /* we saw it being forked */
	bool execed;
	bool root;
	uint64_t fork_ts; /* CLOCK_MONOTONIC ns */
	struct thread *threads;
	int nthreads, cap;
	struct held_list born_held; /* locks held at the fork by threads not copied */
	struct pending *pending;
	/* Python support: its interpreter once recognized (NULL: none, or not
	 * yet looked for: py_checked false); names to refresh after a new thread */
	struct py_process *py;
	bool py_checked;
	uint64_t py_refresh_at; /* CLOCK_MONOTONIC ns, 0: nothing to refresh */
	uint64_t py_try_at;	/* a python exec'd: look again then (0: no) ... */
	uint64_t py_try_until;	/* ... until then, quietly: it may still be starting */
	bool py_broken;		/* a read failed: not read again in this image */
	uint64_t py_failed_at;	/* when to say so if it still runs (0: said, or nothing) */
	bool gone_seen;		/* model__reap_gone found it gone once */
	struct proc *hnext;	/* hash chain */
};

/* A lock held at a fork, however it was found. */
struct found_lock {
	uint64_t addr;
	enum lock_type type;
	int owner_tid;
	int forker_tid;
	uint64_t fork_ts;
	int64_t held_ns; /* < 0: not known */
	bool by_uprobe;
	/* Python locks: found in the interpreter's objects, what they belong
	 * to and the holder's Python name where recorded */
	bool by_python;
	char object[EV_OBJECT_LEN];
	char holder_name[EV_NAME_LEN];
	uint64_t caller; /* uprobe mode, --stacks: where it was taken; 0: not known */
	enum tribool corroborated; /* the scan's second opinion (TRI_UNKNOWN: none asked) */
};

struct model {
	struct model_config cfg;
	model_emit_fn emit;
	void *emit_ctx;
	int64_t mono_to_real;
	struct proc *buckets[NBUCKETS];
	struct pending *pendings; /* list of every held-back fork */
	int live;		  /* traced processes alive */
	int *roots;
	int nroots, cap_roots;
	uint64_t next_watch; /* when the deadlock watcher looks next */
	/* uprobe mode: the locks of the fork whose REC_FORK comes next */
	struct found_lock *incoming;
	int nincoming, cap_incoming;
	int incoming_child;
	/* Python: the forking threads' raw frames of forks whose REC_FORK comes
	 * next (forks on other CPUs can interleave their records) */
	struct rec_py_stack incoming_py[PY_INCOMING];
	int incoming_py_next;
	/* --stacks: the unwinder, and native stacks of forks whose REC_FORK comes next */
	struct stacks *stacks;
	struct native_incoming *native_in;
	int native_next;
	struct last_stack *last_stacks;	    /* a thread's stack at its last fork */
	struct holder_stack *holder_stacks; /* held locks' holders at their fork */
	int holder_next;
	struct scan_pool *pool; /* the scanner threads (NULL: scans run on the loop) */
	uint64_t scans_gone;	/* forks not scanned: the child was gone first */
	uint64_t scans_busy;	/* forks not scanned: every scanner was busy */
	bool py_refresh_due; /* some process has names to refresh or a python to look for */
	uint64_t py_due_at;  /* the earliest of those times (0: none) */
};

static inline void model_emit(struct model *m, struct event *ev)
{
	m->emit(m->emit_ctx, ev);
}

/* model.c */
struct proc *proc_find(struct model *m, int pid);
struct thread *thread_find(struct proc *p, int tid);
void model_event_init(struct model *m, struct event *ev, enum event_kind kind, enum severity sev,
		      uint64_t ts, int pid, const char *comm);
void thread_list_add(struct thread_list *tl, const struct thread *t);

/* hazards.c: a fork's held-back events, built at the fork */
struct pending *pending_new(struct model *m, struct proc *parent, const struct rec_fork *r);
/* Adds locks held at the fork to the child's born-held list and the fork's
 * held-back events. Returns how many were added. */
int pending_add_held(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
		     const struct found_lock *locks, int n);
/* fork_scans.c */
/* Scans the child for locks its parent's threads held: now (returns how
 * many, and false in *later), or on a scanner thread (*later true: the
 * fork's events wait in pd for pending_land). */
int pending_scan(struct model *m, struct proc *parent, struct proc *child,
		 const struct rec_fork *r, struct pending *pd, bool *later);
/* The scan of pd's fork is done (task from the pool), or made done now:
 * cancelled for why (SCAN_REASON_EXEC, _EXIT) or waited for (NONE). The
 * fork's events are emitted. */
void pending_land(struct model *m, struct pending *pd, struct scan_task *task);
void pending_settle(struct model *m, struct pending *pd, enum scan_reason why);
/* The fork event of pd's fork, and what follows it; once (at the fork, or
 * when its scan lands). */
void pending_emit_fork(struct model *m, struct pending *pd);
/* Emits a fork's held-back hazards with this severity and forgets them. */
void pending_resolve(struct model *m, struct pending *pd, enum severity sev);
void pending_unlink(struct model *m, struct pending *pd);
/* The fork's events point to s from now on, and it is freed with them:
 * s (NULL when empty or the pending's room is full, then freed). */
const struct stack *pending_keep_stack(struct pending *pd, struct stack *s);
/* Looks at the futex waits of forked children (rate-limited). */
void hazards_watch(struct model *m, uint64_t now);

/* python.c: Python support (all of it a no-op without cfg.python) */
/* Recognizes p's interpreter once (per image); a notice when it cannot. */
void mpy_check(struct model *m, struct proc *p);
/* Learns the Python names of p's threads now. */
void mpy_names(struct model *m, struct proc *p);
/* At a fork of parent: names, and the stacks of the orphans and the forker,
 * into the held-back events of pd (which then owns the stacks). */
void mpy_fork(struct model *m, struct proc *parent, const struct rec_fork *r, struct pending *pd);
/* The forking thread's frames the kernel copied at this fork (the caller
 * frees), or NULL. */
struct stack *mpy_forker_stack(struct model *m, struct proc *parent, const struct rec_fork *r);
/* The fork's record came: its raw frames are forgotten. */
void mpy_fork_done(struct model *m, const struct rec_fork *r);
/* The Python frames of thread tid of p now (the caller frees), or NULL. */
struct stack *mpy_thread_stack(struct model *m, struct proc *p, int tid);
/* The Python lock a forked child's thread waits on (w), where its
 * interpreter is known: fills f's lock, lock_type and lock_object, and when
 * the lock records an owner that is no thread of the child, makes it a
 * certain held_at_fork with the holder's tid and name from the parent.
 * false when the wait is on no Python lock we can find. */
/* The Python locks of a threaded fork are looked for in the same pass over
 * the child as the fork-time scan: a watch for that pass (NULL: nothing to
 * look for), then the locks it found, added to the fork's held locks. */
struct py_held_scan *mpy_held_begin(struct model *m, struct proc *parent, struct proc *child,
				    struct scan_watch *w);
int mpy_held_end(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
		 struct py_held_scan *hs, int forker_tid, uint64_t ts);
void mpy_held_cancel(struct py_held_scan *hs); /* a pass that could not be made; NULL-safe */
/* A deadlock the watch found that Python says is none: a thread in threading's
 * Condition.wait waits on its own waiter (never one born held), and with a
 * Python signal handler installed its no_waker wait may be ended by it. May
 * rewrite *f (held_at_fork to what the lock itself says). */
bool mpy_not_a_deadlock(struct model *m, struct proc *p, int tid, const struct futex_wait *w,
			struct deadlock_finding *f);
bool mpy_lock_verdict(struct model *m, struct proc *p, const struct futex_wait *w,
		      struct deadlock_finding *f);
/* A new thread: its name is set by Python a moment later. */
void mpy_thread_new(struct model *m, struct proc *p, uint64_t now);
/* Refreshes the names that are due (rate-limited by their time). */
void mpy_tick(struct model *m, uint64_t now);
/* Asks for a tick at t (CLOCK_MONOTONIC ns). */
void mpy_due(struct model *m, uint64_t t);
/* The image is gone (exec, exit): so is what was known of its interpreter. */
void mpy_forget(struct model *m, struct proc *p);
/* A forked child runs its parent's interpreter (the kernel side copies the
 * frames layout itself). */
void mpy_inherit(struct model *m, struct proc *child, const struct proc *parent);
/* p exec'd filename: a python is looked for while it starts up. */
void mpy_exec(struct model *m, struct proc *p, const char *filename, uint64_t now);

/* stacks.c: native stacks (all of it a no-op without cfg.stacks) */
void mst_init(struct model *m);
void mst_free(struct model *m);
/* At a fork: the orphans' and the forker's native stacks into pd's events
 * (after mpy_fork, before mpy_fork_done); returns the fork event's stack
 * (the caller frees), or NULL. */
struct stack *mst_fork(struct model *m, struct proc *parent, const struct rec_fork *r,
		       struct pending *pd);
/* The held locks of pd get their holders' stacks at the fork (kept for
 * child's deadlock); those the uprobes saw taken (locks, n: where each
 * was) start where that was. */
void mst_held(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
	      const struct found_lock *locks, int n);
/* The fork's record came: its native stacks are forgotten. */
void mst_fork_done(struct model *m, const struct rec_fork *r);
/* The saved registers of the parent's other threads at this fork (for the
 * lock scan's corroboration), at most max: how many. */
int mst_fork_threads(struct model *m, const struct rec_fork *r, struct corr_thread *out, int max);
/* The stack at child's fork of holder_tid, a thread that held a lock the
 * child was born with (owned here), or NULL. */
const struct stack *mst_holder_stack(struct model *m, const struct proc *child, int holder_tid);
/* Thread tid of p now: its native stack with py's frames interleaved.
 * Takes py (may be NULL); returns a stack the caller frees, or NULL. */
struct stack *mst_thread_stack(struct model *m, struct proc *p, int tid, struct stack *py);

#endif
