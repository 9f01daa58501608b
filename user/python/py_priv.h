/*
 * python/'s insides, shared by its files and its unit tests (which build a
 * py_process over a synthetic memory image): not for other parts.
 */
#ifndef FT_PY_PRIV_H
#define FT_PY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "python/layout.h"
#include "python/mem.h"
#include "python/python.h"

/* Addresses in the process of what the interpreter exports. */
struct py_syms {
	uint64_t runtime;     /* _PyRuntime (0 on 3.6) */
	uint64_t interp_root; /* the word that holds the first interpreter */
	uint64_t code_type, dict_type, str_type, long_type, module_type, bytes_type, type_type;
};

#define PY_LOCK_KINDS 6 /* _thread.lock, _thread.RLock, the four io.Buffered* */

struct py_process {
	int pid;
	char version[24];
	struct py_layout l;
	struct py_syms s;
	/* threading._active of the interpreter it was found in: never rebound
	 * (threading's after-fork hook uses clear() and update()) */
	uint64_t active_interp, active;
	/* the types of the lock objects looked for at forks (heldlocks.c), read
	 * once from the modules that define them: types do not move */
	uint64_t lock_types[PY_LOCK_KINDS];
	bool lock_types_read;
};

/* The live tids a thread state may name (sorted). */
struct py_tids {
	int *v;
	int n;
};
bool py_tids_has(const struct py_tids *t, int tid);
/* Appends /proc/PID/task's entries, then sorts: 0, or -1 (no such process). */
int py_tids_read(struct py_tids *t, int pid);
void py_tids_free(struct py_tids *t);

/* One reading pass over one image of the process's memory. */
struct py_ctx {
	struct py_process *p;
	const struct py_layout *l;
	struct py_mem *m;
};

/* objects.c: the objects names are made of. Each checks the object's type
 * first and returns 0, or -1 when the object is not what it should be. */
#define PY_NAME_MAX 512
/* A str as UTF-8, cut at outlen - 1 bytes on a character boundary. */
int py_str(struct py_ctx *c, uint64_t obj, char *out, size_t outlen);
/* A non-negative int that fits 64 bits. */
int py_long(struct py_ctx *c, uint64_t obj, uint64_t *v);
/* Is obj's type the type at address type? */
bool py_is_type(struct py_ctx *c, uint64_t obj, uint64_t type);
/* Calls fn for each live (key, value) of the dict object dict, until fn
 * returns non-zero (which is returned). -1 when it is not a sane dict. */
typedef int (*py_dict_fn)(struct py_ctx *c, uint64_t key, uint64_t value, void *arg);
int py_dict_each(struct py_ctx *c, uint64_t dict, py_dict_fn fn, void *arg);
/* The value of the str key NAME in dict: 0, 1 when absent, -1 when not a dict. */
int py_dict_get(struct py_ctx *c, uint64_t dict, const char *name, uint64_t *value);
/* The instance attribute NAME of obj (its dict or inline values): 0, 1 absent, -1. */
int py_attr(struct py_ctx *c, uint64_t obj, const char *name, uint64_t *value);

/* threads.c: the walk over one image (py_read_threads opens the image). */
int py_read_image(struct py_process *p, struct py_mem *m, const struct py_tids *valid,
		  const int *tids, int ntids, const struct py_read_opts *o, struct py_thread **out,
		  struct py_read_stats *st);

/* frames.c: a thread's Python frames from its thread state, or NULL. */
struct py_code_cache;
struct py_code_cache *py_code_cache_new(void);
void py_code_cache_free(struct py_code_cache *cc);
struct stack *py_frames(struct py_ctx *c, struct py_code_cache *cc, uint64_t tstate, int max_depth,
			uint64_t deadline_ns, bool *depth_cut, bool *time_cut);
/* One frame from its code object and instruction index (lasti: 3.11+ in code
 * units, before in bytes or instructions as the version counts): 0 with *out
 * filled (its strings live in cc until the next lookup), or -1. */
int py_code_frame(struct py_ctx *c, struct py_code_cache *cc, uint64_t code, int64_t lasti,
		  struct frame *out);

/* Lock objects (x86_64, 3.6 through 3.14): the one home of their offsets. */
#define PY_LOCK_SEM 16	     /* _thread.lock/RLock: lock_lock (3.13.1+: the PyMutex) */
#define PY_LOCK_LOCKED 32    /* _thread.lock: locked, before 3.13.1 */
#define PY_RLOCK_OWNER 24    /* _thread.RLock: rlock_owner (3.14: thread) */
#define PY_RLOCK_COUNT 32    /* rlock_count (3.14: level) */
#define PY_BUFFERED_RAW 16   /* io.Buffered*: raw */
#define PY_BUFFERED_LOCK 104 /* lock */
#define PY_BUFFERED_OWNER 112
#define PY_FILEIO_DICT 40

/* lockwait.c, shared with heldlocks.c: is type a type named want? */
bool py_type_named(struct py_ctx *c, uint64_t type, const char *want);
/* "_io.BufferedWriter name='app.log'": the io object obj of type tp_name,
 * with its raw file's name where it can be read. */
void py_io_text(struct py_ctx *c, uint64_t obj, const char *tp_name, char *out, size_t len);

/* heldlocks.c: a lock object as the fork-time scan judges it. */
struct py_lock_seen {
	uint64_t lock;	/* the word a waiter blocks on or parks for: the sem_t, or the PyMutex */
	uint64_t owner; /* the owner's ident as recorded (RLock, io); 0 none */
	bool pymutex;	/* a PyMutex (3.13.1+ Lock, 3.14 RLock): no sem_t */
};
/* Does the version keep this lock (rlock: an RLock, else a Lock) in a PyMutex? */
bool py_lock_is_pymutex(const struct py_process *p, bool rlock);
/* Is the object at obj, of type (LOCK_PY_LOCK, _RLOCK or _IO), whose first
 * 128 bytes are o, alive and held? Pure: o is what the scan read. */
bool py_lock_object_held(const struct py_process *p, enum lock_type type, uint64_t obj,
			 const unsigned char *o, struct py_lock_seen *out);
/* lockwait.c: where a PyMutex waiter parks (3.13.1+), its futex is the
 * semaphore inside its own wait entry, whose addr field, just before it,
 * is the lock's address: 0 with *lock, or -1. */
int py_parked_on(struct py_ctx *c, uint64_t futex, uint64_t *lock);

#endif /* FT_PY_PRIV_H */
