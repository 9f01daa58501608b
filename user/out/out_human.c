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

/* sanitize(), with quote (if not 0) escaped too: a name shown in quotes. */
static void sanitize_quoted(const char *in, char *out, size_t size, char quote)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < size; p++) {
		if (*p < 0x20 || *p == 0x7f || *p >= 0x80 || *p == '\\' || (quote && *p == quote))
			o += snprintf(out + o, size - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = 0;
}

void sanitize(const char *in, char *out, size_t size)
{
	sanitize_quoted(in, out, size, 0);
}

/* sanitize() makes a byte up to 4; a frame's strings are cut at 511 bytes. */
#define SAFE_COMM (EV_COMM_LEN * 4 + 1)
#define SAFE_NAME (EV_NAME_LEN * 4 + 1)
#define SAFE_TEXT (512 * 4 + 1)

/*
 * A thread as named in every event: comm "name" (tid N), the Python name
 * where known (its comm left out when it is only the name cut short, as
 * when the interpreter names the OS thread), comm (tid N) otherwise.
 */
static void thread_name(struct strbuf *sb, const char *comm, const char *name, int tid)
{
	char c[SAFE_COMM], n[SAFE_NAME];
	char comm0[EV_COMM_LEN + 1];

	/* a comm may fill its array without a NUL, or be a shorter string ("") */
	size_t len = strnlen(comm, EV_COMM_LEN);

	memcpy(comm0, comm, len);
	comm0[len] = 0;
	sanitize(comm0, c, sizeof(c));
	if (!name[0]) {
		sb_printf(sb, "%s (tid %d)", c[0] ? c : "?", tid);
		return;
	}
	sanitize_quoted(name, n, sizeof(n), '"');
	if (c[0] && strncmp(comm0, name, strlen(comm0)) != 0)
		sb_printf(sb, "%s ", c);
	sb_printf(sb, "\"%s\" (tid %d)", n, tid);
}

static void thread_names(struct strbuf *sb, const struct thread_list *tl)
{
	for (int i = 0; i < tl->count && i < EV_MAX_THREADS; i++) {
		if (i)
			sb_puts(sb, ", ");
		thread_name(sb, tl->t[i].comm, tl->t[i].name, tl->t[i].tid);
	}
	if (tl->total > tl->count)
		sb_printf(sb, " and %d more", tl->total - tl->count);
}

/* One frame: "func (file:line)", "func (module+0xoffset)", "module+0xoffset";
 * a Python frame as Python prints one, "file:line in func". */
static void put_frame(struct strbuf *sb, const struct frame *f)
{
	char a[SAFE_TEXT], b[SAFE_TEXT];

	if (f->lang == FRAME_PYTHON) {
		sanitize(f->file ? f->file : "?", a, sizeof(a));
		sb_puts(sb, a);
		if (f->line > 0)
			sb_printf(sb, ":%d", f->line);
		if (f->func) {
			sanitize(f->func, b, sizeof(b));
			sb_printf(sb, " in %s", b);
		}
		return;
	}
	if (f->func) {
		sanitize(f->func, a, sizeof(a));
		sb_puts(sb, a);
	}
	if (f->func && f->file) {
		sanitize(f->file, b, sizeof(b));
		sb_printf(sb, " (%s", b);
		if (f->line > 0)
			sb_printf(sb, ":%d", f->line);
		sb_putc(sb, ')');
	} else if (f->module || f->has_offset) {
		sanitize(f->module ? f->module : "?", b, sizeof(b));
		sb_printf(sb, f->func ? " (%s" : "%s", b);
		if (f->has_offset)
			sb_printf(sb, "+0x%llx", (unsigned long long)f->offset);
		if (f->func)
			sb_putc(sb, ')');
	} else if (!f->func) {
		sb_putc(sb, '?');
	}
}

/*
 * A stack under its event, one frame a line, innermost first: the first
 * HUMAN_FRAMES (every frame with all_frames), then how many were left out.
 * title ends the line before the frames; indent is that line's.
 */
/* A native frame of the C library, the dynamic loader or the CPython
 * interpreter: how a wait looks from inside, not what the program was doing. */
static bool runtime_frame(const struct frame *f)
{
	static const char *const libs[] = { "libc.so", "libpthread.so", "ld-linux", "python3",
					    "libpython3" };

	for (size_t i = 0; f->lang == FRAME_C && f->module && i < sizeof(libs) / sizeof(libs[0]);
	     i++)
		if (!strncmp(f->module, libs[i], strlen(libs[i])))
			return true;
	return false;
}

/* Where the first few frames shown start: past the runtime's own (-v shows
 * every frame). A stack of nothing else is shown from its start. */
static int first_shown(const struct stack *st)
{
	int i = 0;

	while (i < st->count && runtime_frame(&st->frames[i]))
		i++;
	return i < st->count ? i : 0;
}

static void put_stack(struct strbuf *sb, const char *indent, const char *title,
		      const struct stack *st, const struct human_opts *o)
{
	int from = o->all_frames ? 0 : first_shown(st), shown = st->count - from, more;

	if (!o->all_frames && shown > HUMAN_FRAMES)
		shown = HUMAN_FRAMES;
	more = st->count - shown + st->omitted;
	sb_printf(sb, "\n%s%s", indent, title);
	if (st->running)
		sb_puts(sb,
			st->count ?
				" (running on a CPU at the fork: only what the interpreter knows)" :
				" running on a CPU at the fork: no stack known");
	else if (!st->count && !more)
		sb_puts(sb, " no frames known");
	for (int i = from; i < from + shown; i++) {
		sb_printf(sb, "\n%s  at ", indent);
		put_frame(sb, &st->frames[i]);
	}
	if (more)
		sb_printf(sb, "\n%s  (%d more frame%s)", indent, more, more == 1 ? "" : "s");
}

/* The orphans' stacks: what each will never finish in the child. */
static void thread_stacks(struct strbuf *sb, const struct thread_list *tl,
			  const struct human_opts *o)
{
	for (int i = 0; i < tl->count && i < EV_MAX_THREADS; i++) {
		const struct thread_ref *t = &tl->t[i];
		struct strbuf title;

		if (!t->stack)
			continue;
		sb_init(&title);
		thread_name(&title, t->comm, t->name, t->tid);
		sb_puts(&title, " was at:");
		if (!title.oom)
			put_stack(sb, "      ", title.s, t->stack, o);
		sb_free(&title);
	}
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

/* "logging/__init__.py:1144 in flush": a Python frame, its file cut to the
 * last two parts of the path, for a one-line summary. */
static void put_short_frame(struct strbuf *sb, const struct frame *f)
{
	const char *file = f->file ? f->file : "?", *cut = NULL;
	char a[SAFE_TEXT], b[SAFE_TEXT];

	for (const char *c = file; *c; c++)
		if (*c == '/') {
			file = cut ? cut + 1 : file;
			cut = c;
		}
	/* file now starts after the next-to-last '/' (or is the whole path) */
	sanitize(file, a, sizeof(a));
	sb_puts(sb, a);
	if (f->line > 0)
		sb_printf(sb, ":%d", f->line);
	if (f->func) {
		sanitize(f->func, b, sizeof(b));
		sb_printf(sb, " %s", b);
	}
}

/* The first n Python frames of st, innermost first, "a ← b"; 0 when none. */
static int put_python_frames(struct strbuf *sb, const struct stack *st, int n)
{
	int shown = 0;

	for (int i = 0; st && i < st->count && shown < n; i++) {
		if (st->frames[i].lang != FRAME_PYTHON)
			continue;
		if (shown++)
			sb_puts(sb, " \u2190 ");
		put_short_frame(sb, &st->frames[i]);
	}
	return shown;
}

/* "py_io 0x55d0c0 of _io.BufferedWriter name='app.log'": a lock as named in an event. */
static void lock_name(struct strbuf *sb, const char *type, uint64_t addr, const char *object)
{
	char lock[32], obj[EV_OBJECT_LEN * 4 + 1];

	format_lock_addr(addr, lock, sizeof(lock));
	if (!object[0]) {
		sb_printf(sb, "%s %s", type, lock);
		return;
	}
	sanitize(object, obj, sizeof(obj));
	/* a lock a Python developer knows, by what it belongs to */
	if (strcmp(type, "py_io") == 0)
		sb_printf(sb, "the %slock of <%s> (%s)",
			  strstr(obj, "Writer") ? "write " : strstr(obj, "Reader") ? "read " : "", obj,
			  lock);
	else if (strcmp(type, "py_lock") == 0 || strcmp(type, "py_rlock") == 0)
		sb_printf(sb, "a %s (%s)", obj, lock);
	else
		sb_printf(sb, "%s %s of %s", type, lock, obj);
}

/* A deadlock on a Python lock, in one line a Python developer can act on:
 * the lock by what it belongs to, the holder by name and where it was, where
 * the child is; then the stacks in full. */
static void python_deadlock(struct strbuf *sb, const struct event *ev, const struct human_opts *o)
{
	const char *type = lock_type_name(ev->deadlock.lock_type);

	sb_printf(sb, "DEADLOCK: child %d waits on ", ev->pid);
	lock_name(sb, type, ev->deadlock.lock, ev->deadlock.lock_object);
	if (ev->deadlock.holder_tid) {
		sb_puts(sb, ", held at the fork by ");
		thread_name(sb, ev->deadlock.holder_comm, ev->deadlock.holder_name,
			    ev->deadlock.holder_tid);
		if (ev->deadlock.holder_stack && ev->deadlock.holder_stack->count) {
			sb_puts(sb, " in ");
			put_python_frames(sb, ev->deadlock.holder_stack, 1);
		}
	} else {
		sb_puts(sb, ", held at the fork by a thread not known (a plain Lock records no owner)");
	}
	if (ev->deadlock.stack && ev->deadlock.stack->count) {
		sb_puts(sb, "; the child is at ");
		if (!put_python_frames(sb, ev->deadlock.stack, 2))
			put_frame(sb, &ev->deadlock.stack->frames[0]);
	}
	sb_printf(sb, "\n      the holder was not copied by fork: nothing will ever release it"
		      " (thread %d, parent %d)",
		  ev->deadlock.tid, ev->deadlock.parent_pid);
	if (ev->deadlock.stack)
		put_stack(sb, "      ", "the child is at:", ev->deadlock.stack, o);
	if (ev->deadlock.holder_stack)
		put_stack(sb, "      ", "the holder at the fork was at:", ev->deadlock.holder_stack, o);
}

/* The headline and the explanation lines of one event. */
static void describe(struct strbuf *sb, const struct event *ev, const struct human_opts *o)
{
	char name[EV_PATH_LEN * 4 + 1], dur[32];

	switch (ev->kind) {
	case EV_FORK:
		sb_printf(sb, "fork: child %d, from thread %d%s, %d thread%s in the parent",
			  ev->fork.child_pid, ev->fork.tid, ev->fork.main_thread ? " (main)" : "",
			  ev->fork.threads, ev->fork.threads == 1 ? "" : "s");
		if (ev->fork.stack)
			put_stack(sb, "      ", "fork was called at:", ev->fork.stack, o);
		break;
	case EV_ORPHANED_THREADS:
		sb_printf(sb, "child %d was born without %d thread%s: ", ev->orphaned.child_pid,
			  ev->orphaned.threads.total, ev->orphaned.threads.total == 1 ? "" : "s");
		thread_names(sb, &ev->orphaned.threads);
		sb_puts(sb,
			ev->severity == SEV_INFO ?
				"\n      the child exec'd in time: nothing of theirs can be used" :
				"\n      any lock they held stays locked in the child forever;"
				" what they were doing will never finish there");
		thread_stacks(sb, &ev->orphaned.threads, o);
		break;
	case EV_FORK_IN_THREAD:
		sb_printf(sb, "child %d was forked from thread ", ev->fork_in_thread.child_pid);
		if (ev->fork_in_thread.name[0])
			thread_name(sb, "", ev->fork_in_thread.name, ev->fork_in_thread.tid);
		else
			sb_printf(sb, "%d", ev->fork_in_thread.tid);
		sb_puts(sb, ", not the main thread\n"
			    "      in the child that thread becomes the main thread"
			    " (Python no longer treats it as a daemon)");
		if (ev->fork_in_thread.stack)
			put_stack(sb, "      ", "it forked at:", ev->fork_in_thread.stack, o);
		break;
	case EV_HELD_LOCK:
		sb_printf(sb, "child %d inherits ", ev->held_lock.child_pid);
		lock_name(sb, lock_type_name(ev->held_lock.lock_type), ev->held_lock.lock,
			  ev->held_lock.lock_object);
		if (ev->held_lock.holder_tid) {
			sb_puts(sb, " held by ");
			thread_name(sb, ev->held_lock.holder_comm, ev->held_lock.holder_name,
				    ev->held_lock.holder_tid);
		} else {
			sb_puts(sb, " held by a thread not known (a plain Lock records no owner)");
		}
		if (ev->held_lock.holder_is_forker)
			sb_puts(sb, ", the forking thread");
		if (ev->held_lock.held_ns >= 0) {
			format_ns(ev->held_lock.held_ns, dur, sizeof(dur));
			sb_printf(sb, " for %s", dur);
		}
		if (!ev->held_lock.holder_tid)
			sb_puts(sb, "\n      if its holder was not copied, taking this lock in the"
				    " child blocks forever");
		else if (!ev->held_lock.holder_is_forker)
			sb_puts(sb, "\n      that thread does not exist in the child:"
				    " taking this lock there blocks forever");
		if (ev->held_lock.holder_stack)
			put_stack(sb, "      ",
				  ev->held_lock.found_by == FOUND_BY_UPROBE ?
					  "the holder took it at:" :
					  "the holder was at:",
				  ev->held_lock.holder_stack, o);
		break;
	case EV_CHILD_DEADLOCK:
		if (ev->deadlock.reason == DL_HELD_AT_FORK && ev->deadlock.lock_object[0]) {
			python_deadlock(sb, ev, o);
			break;
		}
		sb_printf(sb, "DEADLOCK: thread %d waits on ", ev->deadlock.tid);
		lock_name(sb,
			  ev->deadlock.lock_type == LOCK_UNKNOWN ?
				  "lock" :
				  lock_type_name(ev->deadlock.lock_type),
			  ev->deadlock.lock, ev->deadlock.lock_object);
		sb_printf(sb, " (%s)", deadlock_reason_name(ev->deadlock.reason));
		if (ev->deadlock.reason == DL_NO_WAKER) {
			sb_puts(sb, "\n      it is the only thread and waits without a timeout:"
				    " only a signal handler could wake it");
		} else {
			sb_puts(sb, "\n      its holder ");
			thread_name(sb, ev->deadlock.holder_comm, ev->deadlock.holder_name,
				    ev->deadlock.holder_tid);
			sb_puts(sb, " was not copied by fork: it will never be released");
		}
		sb_printf(sb, "\n      parent %d", ev->deadlock.parent_pid);
		if (ev->deadlock.stack)
			put_stack(sb, "      ", "the child is at:", ev->deadlock.stack, o);
		if (ev->deadlock.holder_stack)
			put_stack(sb, "      ",
				  "the holder at the fork was at:", ev->deadlock.holder_stack, o);
		break;
	case EV_EXIT_WITH_THREADS:
		sb_printf(sb, "exited (code %d) while %d thread%s still ran: ",
			  ev->exit_with_threads.exit_code, ev->exit_with_threads.threads.total,
			  ev->exit_with_threads.threads.total == 1 ? "" : "s");
		thread_names(sb, &ev->exit_with_threads.threads);
		sb_puts(sb, "\n      they were killed mid-work");
		break;
	case EV_INHERITED_EPOLL:
		sb_printf(sb,
			  "thread %d waits on epoll fd %d inherited from parent %d:"
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
	case EV_ATTACH: {
		int n = ev->attach.threads.total;

		sb_printf(sb, "attached: %d thread%s, locks=%s", n, n == 1 ? "" : "s",
			  ev->attach.locks);
		if (ev->attach.python[0]) {
			sanitize(ev->attach.python, name, sizeof(name));
			sb_printf(sb, ", Python %s", name);
		}
		if (o->all_frames && ev->attach.threads.count) {
			sb_puts(sb, "\n      ");
			thread_names(sb, &ev->attach.threads);
		}
		break;
	}
	case EV_DETACH:
		sb_printf(sb, "detached: %d thread%s, locks=%s", ev->detach.threads,
			  ev->detach.threads == 1 ? "" : "s", ev->detach.locks);
		break;
	case EV_LOST_EVENTS:
		sb_printf(sb, "LOST %" PRIu64 " kernel records%s: the report above is incomplete",
			  ev->lost.count, lost_what_text(ev->lost.what));
		break;
	case EV_SCAN:
		format_ns(ev->scan.ns, dur, sizeof(dur));
		sb_printf(sb, "scanned child %d: %.1f MiB in %s, %d held lock%s",
			  ev->scan.child_pid, ev->scan.bytes / 1048576.0, dur, ev->scan.locks_found,
			  ev->scan.locks_found == 1 ? "" : "s");
		if (!ev->scan.complete)
			sb_printf(sb, " (INCOMPLETE: %s)", scan_reason_text(ev->scan.reason));
		break;
	case EV__COUNT: break;
	}
}

void out_human_format(struct strbuf *sb, const struct event *ev, const struct human_opts *o)
{
	char comm[EV_COMM_LEN * 4 + 1], when[16];
	time_t secs = (time_t)(ev->time_ns / 1000000000ULL);
	struct tm tm;

	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	sanitize(ev->comm, comm, sizeof(comm));
	sb_printf(sb, "%s.%03u %s%s%s %s[%d] ", when,
		  (unsigned)(ev->time_ns % 1000000000ULL / 1000000),
		  o->color ? sev_color(ev->severity) : "", sev_label(ev->severity),
		  o->color ? C_RESET : "", comm, ev->pid);
	describe(sb, ev, o);
	sb_putc(sb, '\n');
}

void out_human_write(FILE *f, const struct event *ev, const struct human_opts *o)
{
	struct strbuf sb;

	sb_init(&sb);
	out_human_format(&sb, ev, o);
	if (!sb.oom)
		fwrite(sb.s, 1, sb.len, f);
	sb_free(&sb);
}
