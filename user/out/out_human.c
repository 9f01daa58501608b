/*
 * The human writer: what happened, to which process, what it will cause.
 * Names from the traced program pass through sanitize() and nothing else
 * reaches the terminal from it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "out/human.h"
#include "out/strbuf.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_YELLOW "\033[33m"

bool human_wants_color(FILE *f)
{
	const char *no = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (no && *no)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f));
}

void sanitize(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < size; p++) {
		if (*p < 0x20 || *p == 0x7f || *p >= 0x80 || *p == '\\')
			o += snprintf(out + o, size - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = 0;
}

static void thread_names(struct strbuf *sb, const struct thread_list *tl)
{
	char name[EV_COMM_LEN * 4 + 1];

	for (int i = 0; i < tl->count; i++) {
		sanitize(tl->t[i].comm, name, sizeof(name));
		sb_printf(sb, "%s%s (tid %d)", i ? ", " : "", name, tl->t[i].tid);
	}
	if (tl->total > tl->count)
		sb_printf(sb, " and %d more", tl->total - tl->count);
}

static const char *sev_color(enum severity s)
{
	return s == SEV_ERROR ? C_RED C_BOLD : s == SEV_WARNING ? C_YELLOW C_BOLD : C_DIM;
}

static const char *sev_label(enum severity s)
{
	return s == SEV_ERROR ? "ERROR" : s == SEV_WARNING ? "WARN " : "info ";
}

/* Why a scan is incomplete, in words. */
static const char *scan_reason_text(enum scan_reason reason)
{
	switch (reason) {
	case SCAN_REASON_NONE:
	case SCAN_REASON_LIMIT: return "limit reached";
	case SCAN_REASON_TIME: return "time limit reached";
	case SCAN_REASON_BUSY: return "busy";
	case SCAN_REASON_EXEC: return "the child exec'd";
	case SCAN_REASON_EXIT: return "the child exited";
	case SCAN_REASON_UNREADABLE: return "memory unreadable";
	}
	return "limit reached";
}

/* What dropped kernel records, in words; "" when not known. */
static const char *lost_what_text(enum lost_what what)
{
	switch (what) {
	case LOST_RING_BUFFER: return " (ring buffer full)";
	case LOST_TRACED_MAP: return " (traced-process map full)";
	case LOST_LOCK_MAP: return " (lock map full)";
	case LOST_NONE: break;
	}
	return "";
}

static void format_ns(uint64_t ns, char *buf, size_t size)
{
	if (ns < 10000)
		snprintf(buf, size, "%" PRIu64 "ns", ns);
	else if (ns < 10000000)
		snprintf(buf, size, "%.1fus", ns / 1e3);
	else if (ns < 10000000000ULL)
		snprintf(buf, size, "%.1fms", ns / 1e6);
	else
		snprintf(buf, size, "%.1fs", ns / 1e9);
}

/* The headline and the explanation lines of one event. */
static void describe(struct strbuf *sb, const struct event *ev)
{
	char name[EV_PATH_LEN * 4 + 1], lock[32], dur[32];

	switch (ev->kind) {
	case EV_FORK:
		sb_printf(sb, "fork: child %d, from thread %d%s, %d thread%s in the parent",
			  ev->fork.child_pid, ev->fork.tid, ev->fork.main_thread ? " (main)" : "",
			  ev->fork.threads, ev->fork.threads == 1 ? "" : "s");
		break;
	case EV_ORPHANED_THREADS:
		sb_printf(sb, "child %d was born without %d thread%s: ", ev->orphaned.child_pid,
			  ev->orphaned.threads.total, ev->orphaned.threads.total == 1 ? "" : "s");
		thread_names(sb, &ev->orphaned.threads);
		sb_puts(sb, ev->severity == SEV_INFO
				    ? "\n      the child exec'd in time: nothing of theirs can be used"
				    : "\n      any lock they held stays locked in the child forever;"
				      " what they were doing will never finish there");
		break;
	case EV_FORK_IN_THREAD:
		sb_printf(sb, "child %d was forked from thread %d, not the main thread\n"
			      "      in the child that thread becomes the main thread"
			      " (Python no longer treats it as a daemon)",
			  ev->fork_in_thread.child_pid, ev->fork_in_thread.tid);
		break;
	case EV_HELD_LOCK:
		format_lock_addr(ev->held_lock.lock, lock, sizeof(lock));
		sanitize(ev->held_lock.holder_comm, name, sizeof(name));
		sb_printf(sb, "child %d inherits %s %s held by %s (tid %d)%s",
			  ev->held_lock.child_pid, lock_type_name(ev->held_lock.lock_type), lock,
			  name, ev->held_lock.holder_tid,
			  ev->held_lock.holder_is_forker ? ", the forking thread" : "");
		if (ev->held_lock.held_ns >= 0) {
			format_ns(ev->held_lock.held_ns, dur, sizeof(dur));
			sb_printf(sb, " for %s", dur);
		}
		if (!ev->held_lock.holder_is_forker)
			sb_puts(sb, "\n      that thread does not exist in the child:"
				    " taking this lock there blocks forever");
		if (ev->held_lock.stack)
			for (int i = 0; i < ev->held_lock.stack->count; i++) {
				const struct frame *f = &ev->held_lock.stack->frames[i];

				sanitize(f->func ? f->func : "?", name, sizeof(name));
				sb_printf(sb, "\n        at %s", name);
			}
		break;
	case EV_CHILD_DEADLOCK:
		format_lock_addr(ev->deadlock.lock, lock, sizeof(lock));
		sanitize(ev->deadlock.holder_comm, name, sizeof(name));
		sb_printf(sb, "DEADLOCK: thread %d waits on %s %s (%s)",
			  ev->deadlock.tid,
			  ev->deadlock.lock_type == LOCK_UNKNOWN ? "lock" : lock_type_name(ev->deadlock.lock_type),
			  lock, deadlock_reason_name(ev->deadlock.reason));
		if (ev->deadlock.reason == DL_NO_WAKER)
			sb_puts(sb, "\n      it is the only thread and waits without a timeout:"
				    " only a signal handler could wake it");
		else
			sb_printf(sb, "\n      its holder %s (tid %d) was not copied by fork:"
				      " it will never be released", name[0] ? name : "?",
				  ev->deadlock.holder_tid);
		sb_printf(sb, "\n      parent %d", ev->deadlock.parent_pid);
		break;
	case EV_EXIT_WITH_THREADS:
		sb_printf(sb, "exited (code %d) while %d thread%s still ran: ",
			  ev->exit_with_threads.exit_code, ev->exit_with_threads.threads.total,
			  ev->exit_with_threads.threads.total == 1 ? "" : "s");
		thread_names(sb, &ev->exit_with_threads.threads);
		sb_puts(sb, "\n      they were killed mid-work");
		break;
	case EV_INHERITED_EPOLL:
		sb_printf(sb, "thread %d waits on epoll fd %d inherited from parent %d:"
			      " both processes share one event queue",
			  ev->epoll.tid, ev->epoll.fd, ev->epoll.parent_pid);
		break;
	case EV_EXEC:
		sanitize(ev->exec.filename, name, sizeof(name));
		format_ns(ev->exec.since_fork_ns, dur, sizeof(dur));
		sb_printf(sb, "exec %s, %s after fork", name, dur);
		break;
	case EV_EXIT:
		if (ev->exit.signal)
			sb_printf(sb, "exit: killed by signal %d", ev->exit.signal);
		else
			sb_printf(sb, "exit: code %d", ev->exit.exit_code);
		break;
	case EV_ATTACH:
	case EV_DETACH:
		sb_printf(sb, "%s: %d thread%s, locks=%s", ev->kind == EV_ATTACH ? "attached" : "detached",
			  ev->attach.threads, ev->attach.threads == 1 ? "" : "s", ev->attach.locks);
		break;
	case EV_LOST_EVENTS:
		sb_printf(sb, "LOST %" PRIu64 " kernel records%s: the report above is incomplete",
			  ev->lost.count, lost_what_text(ev->lost.what));
		break;
	case EV_SCAN:
		format_ns(ev->scan.ns, dur, sizeof(dur));
		sb_printf(sb, "scanned child %d: %.1f MiB in %s, %d held lock%s", ev->scan.child_pid,
			  ev->scan.bytes / 1048576.0, dur, ev->scan.locks_found,
			  ev->scan.locks_found == 1 ? "" : "s");
		if (!ev->scan.complete)
			sb_printf(sb, " (INCOMPLETE: %s)", scan_reason_text(ev->scan.reason));
		break;
	case EV__COUNT:
		break;
	}
}

void out_human_format(struct strbuf *sb, const struct event *ev, bool color)
{
	char comm[EV_COMM_LEN * 4 + 1], when[16];
	time_t secs = (time_t)(ev->time_ns / 1000000000ULL);
	struct tm tm;

	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	sanitize(ev->comm, comm, sizeof(comm));
	sb_printf(sb, "%s.%03u %s%s%s %s[%d] ", when,
		  (unsigned)(ev->time_ns % 1000000000ULL / 1000000), color ? sev_color(ev->severity) : "",
		  sev_label(ev->severity), color ? C_RESET : "", comm, ev->pid);
	describe(sb, ev);
	sb_putc(sb, '\n');
}

void out_human_write(FILE *f, const struct event *ev, bool color)
{
	struct strbuf sb;

	sb_init(&sb);
	out_human_format(&sb, ev, color);
	if (!sb.oom)
		fwrite(sb.s, 1, sb.len, f);
	sb_free(&sb);
}
