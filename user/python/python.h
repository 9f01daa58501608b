/*
 * CPython from the outside: which interpreter a process runs, its threads by
 * their Python names and what each is running, read from the process's
 * memory (/proc/PID/mem) with nothing attached to it. A pure library: no
 * BPF, no output. Versions 3.6-3.14 on x86_64; the target's memory is
 * hostile, so every pointer, count and type is checked, and a read that does
 * not validate gives nothing rather than a wrong name.
 */
#ifndef FT_PYTHON_H
#define FT_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "out/event.h"
#include "out/stack.h"

struct py_process; /* one traced process's interpreter, recognized */

/*
 * Recognizes CPython in PID from what it maps (the python binary or
 * libpython3.X.so), its version (Py_Version on 3.11+, the 3.13+ debug
 * offsets, else the file name and its .rodata version string), picks the
 * offset table for that minor version and validates it against the live
 * process (interpreter, thread states whose native tids are in
 * /proc/PID/task, types). Reads section headers and .dynsym only.
 * Returns a handle, or NULL: *why is "" when PID runs no CPython at all,
 * else one line saying why it was not recognized.
 */
struct py_process *py_attach(int pid, char *why, size_t whylen);
void py_detach(struct py_process *p);		    /* NULL-safe */
const char *py_version(const struct py_process *p); /* "3.11.2" */

struct py_thread {
	int tid;	     /* its kernel tid in the process read */
	uint64_t ident;	     /* threading.get_ident() */
	uint64_t tstate;     /* its PyThreadState's address */
	char name[64];	     /* the threading.Thread name, UTF-8 (untrusted, cut at 63 bytes
			       * on a character boundary); "" unknown */
	struct stack *stack; /* Python frames innermost first (FRAME_PYTHON: func = co_qualname,
			       * co_name before 3.11; file; line); NULL when not asked or not
			       * readable; freed by py_threads_free */
};

struct py_read_opts {
	bool frames;	    /* also read each thread's frames */
	int max_depth;	    /* frames per thread (deeper ones counted in stack->omitted) */
	uint64_t budget_ns; /* total time for this call; 0: no limit */
};

struct py_read_stats {
	int threads;   /* thread states read */
	int depth_cut; /* stacks cut by max_depth */
	int time_cut;  /* threads whose frames the budget left unread */
	int invalid;   /* thread states skipped: no tid, a tid not in the process */
	uint64_t ns;   /* time the call took */
};

/*
 * Reads the interpreter's threads from the memory of MEM_PID: the process
 * itself, or one with the same address-space layout (a child forked from
 * it, whose memory was the parent's at the fork). Only threads whose tid is
 * in tids[0..ntids) are returned when ntids > 0. Returns the count, the
 * threads in *out (malloc'd, NULL when 0), or -1 when the memory cannot be
 * read or does not validate (then *out is NULL: never a wrong name).
 * st may be NULL.
 */
int py_read_threads(struct py_process *p, int mem_pid, const int *tids, int ntids,
		    const struct py_read_opts *o, struct py_thread **out, struct py_read_stats *st);
void py_threads_free(struct py_thread *v, int n); /* NULL-safe */

/*
 * For the fork tracepoint, which copies the forking thread's raw frames
 * (bpf/forktrace.h): where this interpreter keeps its thread states and
 * frames. 0 with *out filled, or -1.
 */
struct py_bpf_layout;
struct py_raw_frame;
int py_bpf_layout(struct py_process *p, struct py_bpf_layout *out);
/*
 * Raw frames (code object, instruction) as the kernel copied them, read
 * against the code objects in mem_pid's memory: a stack of Python frames,
 * or NULL when none could be read. truncated: the chain went on.
 */
struct stack *py_stack_from_raw(struct py_process *p, int mem_pid, const struct py_raw_frame *raw,
				int n, bool truncated);

/* The Python lock a thread of mem_pid waits on, found from its futex word. */
struct py_lock_wait {
	enum lock_type type;		 /* LOCK_PY_LOCK, LOCK_PY_RLOCK or LOCK_PY_IO */
	uint64_t object;		 /* the lock's Python object */
	uint64_t lock; /* its lock word: the sem_t (the futex), or the PyMutex parked for */
	uint64_t owner_ident;		 /* the owner's thread ident as recorded (RLock, io); 0 */
	char object_text[EV_OBJECT_LEN]; /* "threading.RLock", "_io.BufferedWriter name='x'" */
};
/* 1 with *out filled, 0 when futex is no Python lock's (or nothing could be
 * read in the scan's bounds), -1 when the memory cannot be read. */
int py_lock_of_wait(struct py_process *p, int mem_pid, uint64_t futex, struct py_lock_wait *out);
/* The thread of threads[0..n) whose threading.get_ident() is ident, or NULL:
 * a lock's recorded owner among a process's threads. */
const struct py_thread *py_thread_by_ident(const struct py_thread *v, int n, uint64_t ident);

/*
 * Python locks held at a fork, found in the child's memory in the same pass
 * as the fork-time scan (locks/scan.h's watch): locked threading.Lock and
 * RLock objects and io.Buffered* internal locks, found by their type
 * pointer; then the GIL's state. Locks the runtime resets in the child by
 * what the interpreter registered at fork (threading's thread sentinels and
 * module locks, logging's handler locks on 3.7+, concurrent.futures'
 * shutdown lock on 3.9+) are left out.
 */
struct py_held_lock {
	enum lock_type type;		 /* LOCK_PY_LOCK, LOCK_PY_RLOCK, LOCK_PY_IO or LOCK_GIL */
	uint64_t lock;			 /* the word a waiter blocks on: its sem_t; the GIL's state */
	uint64_t object;		 /* the Python object (the GIL: 0) */
	uint64_t owner_ident;		 /* RLock, io: the owner's ident as recorded; 0 none */
	uint64_t owner_tstate;		 /* the GIL: its last holder's thread state; 0 */
	char object_text[EV_OBJECT_LEN]; /* "threading.Lock", "_io.BufferedWriter name='x'" */
};
#define PY_HELD_MAX 1024 /* locks kept per fork; more are counted */

struct py_held_scan;
/* Ready to look at MEM_PID (a child at its fork), or NULL when there is
 * nothing to look for (the lock types are not found, out of memory). It
 * keeps a copy of what it needs of p: the pass and its end may run on a
 * scanner thread, after p is gone. */
struct py_held_scan *py_held_scan_new(struct py_process *p, int mem_pid);
/* What the scan's watch looks for, and the bytes it hands over. */
const uint64_t *py_held_scan_words(const struct py_held_scan *s, int *n, size_t *before,
				   size_t *after);
/* The watch's hit callback (ctx: the py_held_scan). */
void py_held_scan_hit(void *ctx, uint64_t addr, const unsigned char *obj);
/* After the pass: the locked ones (malloc'd, in *out), how many beyond
 * PY_HELD_MAX in *cut; -1 when the memory could not be read. */
int py_held_scan_finish(struct py_held_scan *s, struct py_held_lock **out, int *cut);
/* The same look, kept for py_held_scan_finish (ctx: the py_held_scan), on
 * the thread that made the pass: it reads the child's memory. */
void py_held_scan_complete(void *ctx);
void py_held_scan_free(struct py_held_scan *s); /* NULL-safe */

/* A forked child runs its parent's interpreter at the same addresses: the
 * parent's recognition, for child_pid, without reading anything. NULL when
 * out of memory (or p is NULL). */
struct py_process *py_fork_copy(const struct py_process *p, int child_pid);

#endif /* FT_PYTHON_H */
