/* The event every output writer takes: one struct, one kind per SPEC.md event. */
#ifndef FT_EVENT_H
#define FT_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include "out/stack.h"

#define EV_COMM_LEN 16
#define EV_PATH_LEN 256
#define EV_MAX_THREADS 64
#define EV_NAME_LEN 64	  /* a Python thread name, cut */
#define EV_OBJECT_LEN 320 /* lock_object: a type and a file name */
#define EV_VERSION_LEN 16 /* "3.11.2" */

enum event_kind {
	EV_FORK,
	EV_HELD_LOCK,
	EV_ORPHANED_THREADS,
	EV_FORK_IN_THREAD,
	EV_CHILD_DEADLOCK,
	EV_EXIT_WITH_THREADS,
	EV_INHERITED_EPOLL,
	EV_EXEC,
	EV_EXIT,
	EV_ATTACH,
	EV_DETACH,
	EV_LOST_EVENTS,
	EV_SCAN,
	EV__COUNT,
};

enum severity { SEV_INFO, SEV_WARNING, SEV_ERROR };

enum lock_type {
	LOCK_MUTEX,
	LOCK_RWLOCK_READ,
	LOCK_RWLOCK_WRITE,
	LOCK_SEMAPHORE,
	LOCK_PY_LOCK,  /* threading.Lock */
	LOCK_PY_RLOCK, /* threading.RLock */
	LOCK_PY_IO,    /* the internal lock of an io.Buffered* object */
	LOCK_GIL,
	LOCK_UNKNOWN,
};

/* How a held lock was found: held_lock's found_by. */
enum found_by { FOUND_BY_SCAN, FOUND_BY_UPROBE, FOUND_BY_PYTHON };

/* A bool that may not be known; UNKNOWN (0): the field is left out. */
enum tribool { TRI_UNKNOWN, TRI_TRUE, TRI_FALSE };

enum deadlock_reason { DL_HELD_AT_FORK, DL_OWNER_GONE, DL_NO_WAKER };

/* Why a scan is incomplete; NONE: not known, the field is left out. */
enum scan_reason {
	SCAN_REASON_NONE,
	SCAN_REASON_LIMIT,	/* --scan-limit bytes read */
	SCAN_REASON_TIME,	/* the time bound passed */
	SCAN_REASON_BUSY,	/* no scan could be made then */
	SCAN_REASON_EXEC,	/* the child exec'd during the scan */
	SCAN_REASON_EXIT,	/* the child exited during the scan */
	SCAN_REASON_UNREADABLE, /* the child's memory could not be read */
};

/* What dropped the lost records; NONE: not known, the field is left out. */
enum lost_what { LOST_NONE, LOST_RING_BUFFER, LOST_TRACED_MAP, LOST_LOCK_MAP };

struct thread_ref {
	int tid;
	char comm[EV_COMM_LEN];	   /* untrusted */
	char name[EV_NAME_LEN];	   /* its Python name, untrusted; "": not known */
	const struct stack *stack; /* NULL: none (the producer owns it) */
};

struct thread_list {
	int count; /* entries in t[]; more may have existed */
	int total; /* how many there were in all */
	struct thread_ref t[EV_MAX_THREADS];
};

struct event {
	enum event_kind kind;
	enum severity severity;
	uint64_t time_ns; /* CLOCK_REALTIME, nanoseconds */
	int pid;
	char comm[EV_COMM_LEN]; /* untrusted: from the traced program */
	union {
		struct {
			int tid, child_pid, threads, held_locks;
			bool main_thread;
			const struct stack *stack; /* the forking thread; NULL: none */
		} fork;
		struct {
			int child_pid, holder_tid;
			uint64_t lock;
			enum lock_type lock_type;
			char lock_object[EV_OBJECT_LEN]; /* untrusted; "": not known */
			char holder_comm[EV_COMM_LEN];
			char holder_name[EV_NAME_LEN]; /* untrusted; "": not known */
			bool holder_is_forker;
			int64_t held_ns; /* < 0: not known (scan mode) */
			enum found_by found_by;
			enum tribool corroborated;	  /* scan mode only */
			const struct stack *holder_stack; /* NULL: none */
		} held_lock;
		struct {
			int child_pid;
			struct thread_list threads; /* total > count: threads_omitted */
		} orphaned;
		struct {
			int tid, child_pid;
			char name[EV_NAME_LEN];	   /* untrusted; "": not known */
			const struct stack *stack; /* NULL: none */
		} fork_in_thread;
		struct {
			int tid, holder_tid, parent_pid;
			uint64_t lock;
			char holder_comm[EV_COMM_LEN];
			char holder_name[EV_NAME_LEN]; /* untrusted; "": not known */
			uint64_t since_fork_ns;
			enum deadlock_reason reason;
			enum lock_type lock_type;	  /* LOCK_UNKNOWN: not said */
			char lock_object[EV_OBJECT_LEN];  /* untrusted; "": not known */
			const struct stack *stack;	  /* the blocked thread; NULL: none */
			const struct stack *holder_stack; /* the holder at the fork; NULL: none */
		} deadlock;
		struct {
			struct thread_list threads;
			int exit_code;
		} exit_with_threads;
		struct {
			int tid, fd, parent_pid;
		} epoll;
		struct {
			char filename[EV_PATH_LEN]; /* untrusted */
			uint64_t since_fork_ns;
		} exec;
		struct {
			int exit_code, signal;
		} exit;
		struct {
			struct thread_list threads;  /* the process's threads at attach */
			const char *locks;	     /* the lock mode */
			char python[EV_VERSION_LEN]; /* the CPython recognized; "": none */
		} attach;
		struct {
			int threads;
			const char *locks;
		} detach;
		struct {
			uint64_t count;
			enum lost_what what;
		} lost;
		struct {
			int child_pid;
			uint64_t bytes, ns;
			int locks_found;
			bool complete;
			enum scan_reason reason; /* said only when !complete */
		} scan;
	};
};

const char *event_kind_name(enum event_kind kind);
const char *severity_name(enum severity sev);
const char *lock_type_name(enum lock_type type);
/* "scan", "uprobe", "python" */
const char *found_by_name(enum found_by by);
const char *deadlock_reason_name(enum deadlock_reason reason);
/* "limit", "time", "busy", "exec", "exit", "unreadable"; NULL for NONE. */
const char *scan_reason_name(enum scan_reason reason);
/* "ring_buffer", "traced_map", "lock_map"; NULL for NONE. */
const char *lost_what_name(enum lost_what what);

/*
 * The fields of an event beyond the common five (time, event, severity,
 * pid, comm), in SPEC.md order. Each writer implements the callbacks it
 * needs; event_visit() is the one place that knows which event has which
 * field, so the JSON and line-protocol writers cannot drift apart.
 */
struct event_visitor {
	void (*int_field)(void *ctx, const char *key, int64_t value);
	void (*uint_field)(void *ctx, const char *key, uint64_t value);
	void (*bool_field)(void *ctx, const char *key, bool value);
	/* value is untrusted unless the key is a fixed vocabulary */
	void (*str_field)(void *ctx, const char *key, const char *value);
	/* with_stacks: the threads' stacks belong to this event (orphaned_threads) */
	void (*threads_field)(void *ctx, const char *key, const struct thread_list *threads,
			      bool with_stacks);
	void (*stack_field)(void *ctx, const char *key, const struct stack *stack);
};

void event_visit(const struct event *ev, const struct event_visitor *v, void *ctx);

/* "0x7f3a1c0008c0" */
void format_lock_addr(uint64_t addr, char *buf, int size);

#endif /* FT_EVENT_H */
