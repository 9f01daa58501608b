/* Event names and the one table of which event carries which field. */
#include <stdio.h>
#include "out/event.h"

static const char *const kind_names[EV__COUNT] = {
	[EV_FORK] = "fork",
	[EV_HELD_LOCK] = "held_lock",
	[EV_ORPHANED_THREADS] = "orphaned_threads",
	[EV_FORK_IN_THREAD] = "fork_in_thread",
	[EV_CHILD_DEADLOCK] = "child_deadlock",
	[EV_EXIT_WITH_THREADS] = "exit_with_threads",
	[EV_INHERITED_EPOLL] = "inherited_epoll",
	[EV_EXEC] = "exec",
	[EV_EXIT] = "exit",
	[EV_ATTACH] = "attach",
	[EV_DETACH] = "detach",
	[EV_LOST_EVENTS] = "lost_events",
	[EV_SCAN] = "scan",
};

const char *event_kind_name(enum event_kind kind)
{
	return kind < EV__COUNT ? kind_names[kind] : "unknown";
}

const char *severity_name(enum severity sev)
{
	switch (sev) {
	case SEV_INFO: return "info";
	case SEV_WARNING: return "warning";
	case SEV_ERROR: return "error";
	}
	return "unknown";
}

const char *lock_type_name(enum lock_type type)
{
	switch (type) {
	case LOCK_MUTEX: return "mutex";
	case LOCK_RWLOCK_READ: return "rwlock_read";
	case LOCK_RWLOCK_WRITE: return "rwlock_write";
	case LOCK_SEMAPHORE: return "semaphore";
	case LOCK_PY_LOCK: return "py_lock";
	case LOCK_PY_RLOCK: return "py_rlock";
	case LOCK_PY_IO: return "py_io";
	case LOCK_GIL: return "gil";
	case LOCK_UNKNOWN: break;
	}
	return "unknown";
}

const char *found_by_name(enum found_by by)
{
	switch (by) {
	case FOUND_BY_SCAN: return "scan";
	case FOUND_BY_UPROBE: return "uprobe";
	case FOUND_BY_PYTHON: return "python";
	}
	return "unknown";
}

const char *deadlock_reason_name(enum deadlock_reason reason)
{
	switch (reason) {
	case DL_HELD_AT_FORK: return "held_at_fork";
	case DL_OWNER_GONE: return "owner_gone";
	case DL_NO_WAKER: return "no_waker";
	}
	return "unknown";
}

const char *scan_reason_name(enum scan_reason reason)
{
	switch (reason) {
	case SCAN_REASON_LIMIT: return "limit";
	case SCAN_REASON_TIME: return "time";
	case SCAN_REASON_BUSY: return "busy";
	case SCAN_REASON_EXEC: return "exec";
	case SCAN_REASON_EXIT: return "exit";
	case SCAN_REASON_UNREADABLE: return "unreadable";
	case SCAN_REASON_NONE: break;
	}
	return NULL;
}

const char *lost_what_name(enum lost_what what)
{
	switch (what) {
	case LOST_RING_BUFFER: return "ring_buffer";
	case LOST_TRACED_MAP: return "traced_map";
	case LOST_LOCK_MAP: return "lock_map";
	case LOST_NONE: break;
	}
	return NULL;
}

void format_lock_addr(uint64_t addr, char *buf, int size)
{
	snprintf(buf, size, "0x%llx", (unsigned long long)addr);
}

/* The optional fields: a string said when known, a stack when there is one. */
static void name_field(const struct event_visitor *v, void *ctx, const char *key, const char *s)
{
	if (s[0])
		v->str_field(ctx, key, s);
}

static void stack_field(const struct event_visitor *v, void *ctx, const char *key,
			const struct stack *st)
{
	if (st)
		v->stack_field(ctx, key, st);
}

static void tribool_field(const struct event_visitor *v, void *ctx, const char *key, enum tribool b)
{
	if (b != TRI_UNKNOWN)
		v->bool_field(ctx, key, b == TRI_TRUE);
}

void event_visit(const struct event *ev, const struct event_visitor *v, void *ctx)
{
	const struct thread_list *tl;
	char lock[32];

	switch (ev->kind) {
	case EV_FORK:
		v->int_field(ctx, "tid", ev->fork.tid);
		v->int_field(ctx, "child_pid", ev->fork.child_pid);
		v->int_field(ctx, "threads", ev->fork.threads);
		v->bool_field(ctx, "main_thread", ev->fork.main_thread);
		v->int_field(ctx, "held_locks", ev->fork.held_locks);
		stack_field(v, ctx, "stack", ev->fork.stack);
		break;
	case EV_HELD_LOCK:
		format_lock_addr(ev->held_lock.lock, lock, sizeof(lock));
		v->int_field(ctx, "child_pid", ev->held_lock.child_pid);
		v->str_field(ctx, "lock", lock);
		v->str_field(ctx, "lock_type", lock_type_name(ev->held_lock.lock_type));
		name_field(v, ctx, "lock_object", ev->held_lock.lock_object);
		v->int_field(ctx, "holder_tid", ev->held_lock.holder_tid);
		v->str_field(ctx, "holder_comm", ev->held_lock.holder_comm);
		name_field(v, ctx, "holder_name", ev->held_lock.holder_name);
		v->bool_field(ctx, "holder_is_forker", ev->held_lock.holder_is_forker);
		if (ev->held_lock.held_ns >= 0)
			v->int_field(ctx, "held_ns", ev->held_lock.held_ns);
		v->str_field(ctx, "found_by", found_by_name(ev->held_lock.found_by));
		tribool_field(v, ctx, "corroborated", ev->held_lock.corroborated);
		stack_field(v, ctx, "holder_stack", ev->held_lock.holder_stack);
		break;
	case EV_ORPHANED_THREADS:
		tl = &ev->orphaned.threads;
		v->int_field(ctx, "child_pid", ev->orphaned.child_pid);
		v->threads_field(ctx, "threads", tl, true);
		if (tl->total > tl->count)
			v->int_field(ctx, "threads_omitted", tl->total - tl->count);
		break;
	case EV_FORK_IN_THREAD:
		v->int_field(ctx, "tid", ev->fork_in_thread.tid);
		name_field(v, ctx, "name", ev->fork_in_thread.name);
		v->int_field(ctx, "child_pid", ev->fork_in_thread.child_pid);
		stack_field(v, ctx, "stack", ev->fork_in_thread.stack);
		break;
	case EV_CHILD_DEADLOCK:
		format_lock_addr(ev->deadlock.lock, lock, sizeof(lock));
		v->int_field(ctx, "tid", ev->deadlock.tid);
		v->str_field(ctx, "lock", lock);
		v->int_field(ctx, "holder_tid", ev->deadlock.holder_tid);
		v->str_field(ctx, "holder_comm", ev->deadlock.holder_comm);
		name_field(v, ctx, "holder_name", ev->deadlock.holder_name);
		v->int_field(ctx, "parent_pid", ev->deadlock.parent_pid);
		v->uint_field(ctx, "since_fork_ns", ev->deadlock.since_fork_ns);
		v->str_field(ctx, "reason", deadlock_reason_name(ev->deadlock.reason));
		if (ev->deadlock.lock_type != LOCK_UNKNOWN)
			v->str_field(ctx, "lock_type", lock_type_name(ev->deadlock.lock_type));
		name_field(v, ctx, "lock_object", ev->deadlock.lock_object);
		stack_field(v, ctx, "stack", ev->deadlock.stack);
		stack_field(v, ctx, "holder_stack", ev->deadlock.holder_stack);
		break;
	case EV_EXIT_WITH_THREADS:
		tl = &ev->exit_with_threads.threads;
		v->threads_field(ctx, "threads", tl, false);
		if (tl->total > tl->count)
			v->int_field(ctx, "threads_omitted", tl->total - tl->count);
		v->int_field(ctx, "exit_code", ev->exit_with_threads.exit_code);
		break;
	case EV_INHERITED_EPOLL:
		v->int_field(ctx, "tid", ev->epoll.tid);
		v->int_field(ctx, "fd", ev->epoll.fd);
		v->int_field(ctx, "parent_pid", ev->epoll.parent_pid);
		break;
	case EV_EXEC:
		v->str_field(ctx, "filename", ev->exec.filename);
		v->uint_field(ctx, "since_fork_ns", ev->exec.since_fork_ns);
		break;
	case EV_EXIT:
		v->int_field(ctx, "exit_code", ev->exit.exit_code);
		v->int_field(ctx, "signal", ev->exit.signal);
		break;
	case EV_ATTACH:
		v->threads_field(ctx, "threads", &ev->attach.threads, false);
		/* more threads than an event lists: how many were left out */
		if (ev->attach.threads.total > ev->attach.threads.count)
			v->int_field(ctx, "threads_omitted",
				     ev->attach.threads.total - ev->attach.threads.count);
		v->str_field(ctx, "locks", ev->attach.locks);
		name_field(v, ctx, "python", ev->attach.python);
		break;
	case EV_DETACH:
		v->int_field(ctx, "threads", ev->detach.threads);
		v->str_field(ctx, "locks", ev->detach.locks);
		break;
	case EV_LOST_EVENTS:
		v->uint_field(ctx, "count", ev->lost.count);
		if (lost_what_name(ev->lost.what))
			v->str_field(ctx, "what", lost_what_name(ev->lost.what));
		break;
	case EV_SCAN:
		v->int_field(ctx, "child_pid", ev->scan.child_pid);
		v->uint_field(ctx, "bytes", ev->scan.bytes);
		v->uint_field(ctx, "ns", ev->scan.ns);
		v->int_field(ctx, "locks_found", ev->scan.locks_found);
		v->bool_field(ctx, "scan_complete", ev->scan.complete);
		if (!ev->scan.complete && scan_reason_name(ev->scan.reason))
			v->str_field(ctx, "reason", scan_reason_name(ev->scan.reason));
		break;
	case EV__COUNT: break;
	}
}
