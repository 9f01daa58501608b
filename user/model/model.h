/*
 * The model of traced processes: their threads (with names), their forks,
 * the grace rule, and the hazards each fork left its child. Kernel records
 * go in, one typed call per record; events come out through the emit
 * callback it is given. It owns no kernel resources and knows no output,
 * so it is tested without BPF. It may use locks/ and proc/; nothing else.
 */
#ifndef FT_MODEL_H
#define FT_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "forktrace.h"

struct model;
struct event;
struct py_bpf_layout;

struct model_config {
	bool trace_all;	       /* -a: attach/detach speak for the host (pid 0) */
	bool scan_locks;       /* read each threaded fork's child for held locks */
	bool watch_deadlocks;  /* confirm deadlocks of forked children from /proc */
	uint64_t grace_ns;     /* how long a child may take to exec */
	uint64_t scan_limit;   /* bytes of a child read per fork; 0: no limit */
	const char *lock_mode; /* as attach and detach events name it */
	bool python;	       /* read CPython's threads (names) from memory */
	bool py_locks;	       /* and the Python locks held at its threaded forks */
	bool stacks;	       /* read the stacks of hazards (--stacks=hazards or all) */
	bool stacks_all;       /* and of every fork (--stacks=all) */
	/* scanner threads (0: the scans run on the caller's thread, inside
	 * model__fork) and how many forks may be scanned or wait at once */
	int scan_threads, scan_queue;
	/* Python support: the kernel side is told where pid's interpreter keeps
	 * its frames, so forks copy the forking thread's (NULL: not wanted) */
	void (*py_layout)(void *ctx, int pid, const struct py_bpf_layout *l);
	/* --stacks: the saved user registers of a blocked thread (FT_NREGS, in
	 * DWARF order): 0, or -1 when they cannot be read (NULL: never) */
	int (*thread_regs)(void *ctx, int pid, int tid, uint64_t *regs);
	void *hook_ctx;
};

/* Called for every event, in order; the event is the callee's to read only
 * during the call. */
typedef void (*model_emit_fn)(void *ctx, struct event *ev);

/* mono_to_real: add to a CLOCK_MONOTONIC time to get CLOCK_REALTIME.
 * cfg is copied. NULL with errno set: out of memory, or the scanner threads
 * could not be started. */
struct model *model__new(const struct model_config *cfg, model_emit_fn emit, void *ctx,
			 int64_t mono_to_real);
void model__free(struct model *m);

/* A root target: its threads are read from /proc now (-p) or it is the
 * held COMMAND (one thread). Emits its attach event. */
void model__add_root(struct model *m, int pid);
/* A descendant a root already had at attach (-p takes the tree as it is).
 * forked_not_execed: it still runs its parent's image, so the hazards of
 * its fork apply (its fork time, CLOCK_MONOTONIC ns, from /proc). Emits its
 * attach event; a pid the model knows already is left alone. */
void model__add_existing(struct model *m, int pid, int parent_pid, bool forked_not_execed,
			 uint64_t fork_ts);
/* A process that vanished while the tree was being read: forgotten, silently. */
void model__forget(struct model *m, int pid);
/* -a: emits the attach event (pid 0). */
void model__attach_all(struct model *m);
/* Resolves what is held back and emits the detach events of the roots
 * still alive (pid 0 for -a). */
void model__detach(struct model *m);

/* The records, one call each (the dispatcher checked their size). */
void model__fork(struct model *m, const struct rec_fork *r);
void model__held_lock(struct model *m, const struct rec_held_lock *r);
void model__py_stack(struct model *m, const struct rec_py_stack *r);
void model__fork_regs(struct model *m, const struct rec_fork_regs *r);
/* size: the record's size as received (its copy is cut to what came) */
void model__fork_stack(struct model *m, const struct rec_fork_stack *r, size_t size);
void model__thread_new(struct model *m, const struct rec_thread *r);
void model__thread_rename(struct model *m, const struct rec_thread *r);
void model__thread_exit(struct model *m, const struct rec_thread *r);
void model__exec(struct model *m, const struct rec_exec *r);
void model__exit(struct model *m, const struct rec_exit *r);

/* Acts on grace periods that ended by now (CLOCK_MONOTONIC ns) and looks
 * for deadlocks (rate-limited). */
void model__tick(struct model *m, uint64_t now_mono);
/* The earliest pending deadline (CLOCK_MONOTONIC ns), or 0 if none. */
uint64_t model__next_deadline(const struct model *m);
/*
 * Liveness from the kernel's truth, for when exit records were lost or a
 * target ended as it was attached: a process that /proc shows gone (or a
 * zombie) at two calls in a row is forgotten (an exit record still on its
 * way came between them), its held-back hazards reported as they stand,
 * and gone(ctx, pid, was_root) told. Returns how many processes were seen
 * gone for the first time: call again after the records in flight are read.
 */
int model__reap_gone(struct model *m, void (*gone)(void *ctx, int pid, bool root), void *ctx);
/* Scans on scanner threads: a descriptor that is readable when one is done
 * (-1: none run there), and the call that takes what is done (its events
 * are emitted then). */
int model__scan_fd(const struct model *m);
void model__scans_landed(struct model *m);
/* Forks not scanned: the child was gone first (exited or exec'd), or every
 * scanner was busy. */
void model__scan_counts(const struct model *m, uint64_t *gone, uint64_t *busy);
/* Is pid one of the traced processes the model knows? */
bool model__knows(const struct model *m, int pid);
/* Traced processes still alive (roots and descendants; not for -a). */
int model__live(const struct model *m);

#endif
