/* Human output: thread names, lock objects and stacks, sanitized. */
#include <string.h>
#include "out/event.h"
#include "out/human.h"
#include "out/strbuf.h"
#include "unit.h"

static const struct human_opts plain;				 /* the first frames */
static const struct human_opts verbose = { .all_frames = true }; /* -v */

static const char *human_of(const struct event *ev, const struct human_opts *o)
{
	static struct strbuf sb;

	sb_free(&sb);
	out_human_format(&sb, ev, o);
	return sb.oom ? "(oom)" : sb.s;
}

/* Nothing from the traced program reaches the terminal raw. */
static int raw_bytes(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s != '\n' && ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f);
	return n;
}

/* app.py:9 in work, then n native frames f0, f1... in f.c */
static struct stack *stack_of(int n)
{
	struct stack *st = stack_new();
	struct frame py = { .lang = FRAME_PYTHON, .func = "work", .file = "app.py", .line = 9 };
	char name[16];

	if (!st || stack_push(st, &py))
		goto fail;
	for (int i = 0; i < n; i++) {
		struct frame c = { .lang = FRAME_C, .func = name, .file = "f.c", .line = i + 1 };

		snprintf(name, sizeof(name), "f%d", i);
		if (stack_push(st, &c))
			goto fail;
	}
	return st;
fail:
	stack_free(st);
	return NULL;
}

static struct event orphans(void)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ORPHANED_THREADS;
	ev.severity = SEV_WARNING;
	ev.pid = 2376;
	strcpy(ev.comm, "python3");
	ev.orphaned.child_pid = 2379;
	ev.orphaned.threads.count = ev.orphaned.threads.total = 1;
	ev.orphaned.threads.t[0].tid = 2377;
	strcpy(ev.orphaned.threads.t[0].comm, "worker");
	strcpy(ev.orphaned.threads.t[0].name, "chatter");
	return ev;
}

/* The Python name beside the comm wherever a thread is named. */
TEST(human_thread_names)
{
	struct event ev = orphans();

	CHECK(strstr(human_of(&ev, &plain),
		     "born without 1 thread: worker \"chatter\" (tid 2377)\n") != NULL);
	/* the comm that is only the name cut short (3.14 names OS threads) is not said twice */
	strcpy(ev.orphaned.threads.t[0].comm, "a-very-long-thr");
	strcpy(ev.orphaned.threads.t[0].name, "a-very-long-thread-name");
	CHECK(strstr(human_of(&ev, &plain), "thread: \"a-very-long-thread-name\" (tid 2377)\n") !=
	      NULL);
	ev.orphaned.threads.t[0].name[0] = 0;
	CHECK(strstr(human_of(&ev, &plain), "thread: a-very-long-thr (tid 2377)\n") != NULL);

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_EXIT_WITH_THREADS;
	ev.exit_with_threads.threads.count = 1;
	ev.exit_with_threads.threads.total = 3;
	ev.exit_with_threads.threads.t[0].tid = 7;
	strcpy(ev.exit_with_threads.threads.t[0].comm, "python3");
	strcpy(ev.exit_with_threads.threads.t[0].name, "ticker");
	CHECK(strstr(human_of(&ev, &plain), "still ran: python3 \"ticker\" (tid 7) and 2 more\n") !=
	      NULL);

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_FORK_IN_THREAD;
	ev.fork_in_thread.tid = 5;
	ev.fork_in_thread.child_pid = 6;
	strcpy(ev.fork_in_thread.name, "forker");
	CHECK(strstr(human_of(&ev, &plain),
		     "child 6 was forked from thread \"forker\" (tid 5), not the main") != NULL);
	ev.fork_in_thread.name[0] = 0;
	CHECK(strstr(human_of(&ev, &plain), "child 6 was forked from thread 5, not the main") !=
	      NULL);
}

/* Quotes, newlines, terminal escapes and invalid UTF-8 in names and frames: all made visible. */
TEST(human_hostile_names_and_frames)
{
	struct event ev = orphans();
	struct stack *st = stack_new();
	struct frame f = {
		.lang = FRAME_PYTHON, .func = "f\x1b]0;x\x07", .file = "\n\xff.py", .line = 3
	};
	const char *out;

	CHECK(st && stack_push(st, &f) == 0);
	strcpy(ev.orphaned.threads.t[0].comm, "\r\x1b[K");
	strcpy(ev.orphaned.threads.t[0].name, "a\" (tid 1)\n\x1b[2J\xc0\xaf\\");
	ev.orphaned.threads.t[0].stack = st;
	out = human_of(&ev, &plain);
	CHECK(raw_bytes(out) == 0);
	CHECK(strstr(out,
		     "\\x0d\\x1b[K \"a\\x22 (tid 1)\\x0a\\x1b[2J\\xc0\\xaf\\x5c\" (tid 2377)") !=
	      NULL);
	CHECK(strstr(out, "\n        at \\x0a\\xff.py:3 in f\\x1b]0;x\\x07\n") != NULL);

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_HELD_LOCK;
	ev.held_lock.holder_tid = 4;
	strcpy(ev.held_lock.holder_name, "\"\n");
	strcpy(ev.held_lock.lock_object, "_io.BufferedWriter name='\x1b[31m'");
	ev.held_lock.holder_stack = st;
	out = human_of(&ev, &plain);
	CHECK(raw_bytes(out) == 0);
	CHECK(strstr(out,
		     " of _io.BufferedWriter name='\\x1b[31m' held by \"\\x22\\x0a\" (tid 4)") !=
	      NULL);

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_CHILD_DEADLOCK;
	ev.deadlock.reason = DL_HELD_AT_FORK;
	strcpy(ev.deadlock.holder_name, "\x1b[2J");
	strcpy(ev.deadlock.lock_object, "\x9b"
					"2J");
	ev.deadlock.stack = ev.deadlock.holder_stack = st;
	CHECK(raw_bytes(human_of(&ev, &plain)) == 0);

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ATTACH;
	ev.attach.locks = "scan";
	strcpy(ev.attach.python, "3\x1b[2J");
	ev.attach.threads.count = ev.attach.threads.total = 1;
	strcpy(ev.attach.threads.t[0].name, "\x1b[2J");
	CHECK(raw_bytes(human_of(&ev, &verbose)) == 0);
	stack_free(st);
}

/* The first HUMAN_FRAMES frames under each orphan by default, every frame with -v. */
TEST(human_orphan_stacks_cut_unless_verbose)
{
	struct event ev = orphans();
	struct stack *st = stack_of(4);
	const char *out;

	CHECK(st);
	st->omitted = 2;
	ev.orphaned.threads.t[0].stack = st;
	out = human_of(&ev, &plain);
	CHECK(strstr(out, " will never finish there\n"
			  "      worker \"chatter\" (tid 2377) was at:\n"
			  "        at app.py:9 in work\n"
			  "        at f0 (f.c:1)\n"
			  "        at f1 (f.c:2)\n"
			  "        (4 more frames)\n") != NULL);
	out = human_of(&ev, &verbose);
	CHECK(strstr(out, "        at f1 (f.c:2)\n"
			  "        at f2 (f.c:3)\n"
			  "        at f3 (f.c:4)\n"
			  "        (2 more frames)\n") != NULL);
	st->omitted = 0;
	CHECK(strstr(human_of(&ev, &verbose), "        at f3 (f.c:4)\n") != NULL);
	CHECK(strstr(human_of(&ev, &verbose), "more frame") == NULL);
	stack_free(st);
}

/* func (file:line), func (module+0xoffset), module+0xoffset; "running" said. */
TEST(human_frame_forms_and_running)
{
	struct event ev;
	struct stack *st = stack_new();
	struct frame f1 = { .lang = FRAME_C,
			    .func = "take_the_lock",
			    .module = "app",
			    .offset = 0x40,
			    .has_offset = true };
	struct frame f2 = {
		.lang = FRAME_C, .module = "libfoo.so", .offset = 0x15e0, .has_offset = true
	};
	struct frame f3 = { .lang = FRAME_PYTHON, .func = "<module>", .file = "app.py" };
	const char *out;

	CHECK(st && !stack_push(st, &f1) && !stack_push(st, &f2) && !stack_push(st, &f3));
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_FORK;
	ev.fork.stack = st;
	out = human_of(&ev, &plain);
	CHECK(strstr(out, "\n      fork was called at:\n"
			  "        at take_the_lock (app+0x40)\n"
			  "        at libfoo.so+0x15e0\n"
			  "        at app.py in <module>\n") != NULL);
	st->running = true;
	CHECK(strstr(human_of(&ev, &plain), "fork was called at: (running on a CPU at the fork:") !=
	      NULL);
	stack_free(st);
	st = stack_new();
	CHECK(st);
	st->running = true;
	ev.fork.stack = st;
	CHECK(strstr(human_of(&ev, &plain),
		     "fork was called at: running on a CPU at the fork: no stack known\n") != NULL);
	stack_free(st);
}

/* held_lock: the lock's object, the holder by name, its stack; a holder not known said so. */
TEST(human_held_lock_python)
{
	struct event ev;
	struct stack *st = stack_of(0);
	const char *out;

	CHECK(st);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_HELD_LOCK;
	ev.severity = SEV_WARNING;
	ev.held_lock.child_pid = 7571;
	ev.held_lock.lock = 0x10;
	ev.held_lock.lock_type = LOCK_PY_IO;
	strcpy(ev.held_lock.lock_object, "_io.BufferedWriter name='app.log'");
	ev.held_lock.holder_tid = 7570;
	strcpy(ev.held_lock.holder_comm, "python3");
	strcpy(ev.held_lock.holder_name, "chatter");
	ev.held_lock.held_ns = -1;
	ev.held_lock.found_by = FOUND_BY_PYTHON;
	ev.held_lock.holder_stack = st;
	out = human_of(&ev, &plain);
	CHECK(strstr(out,
		     "child 7571 inherits the write lock of <_io.BufferedWriter name='app.log'> (0x10) held by"
		     " python3 \"chatter\" (tid 7570)\n") != NULL);
	CHECK(strstr(out, "\n      the holder was at:\n        at app.py:9 in work\n") != NULL);
	ev.held_lock.holder_tid = 0;
	ev.held_lock.lock_object[0] = 0;
	ev.held_lock.lock_type = LOCK_PY_LOCK;
	CHECK(strstr(human_of(&ev, &plain), "inherits py_lock 0x10 held by a thread not known"
					    " (a plain Lock records no owner)\n") != NULL);
	stack_free(st);
}

/* child_deadlock: the object, the holder by name, the child's and the holder's stacks. */
TEST(human_child_deadlock_python)
{
	struct event ev;
	struct stack *st = stack_of(1), *hst = stack_of(0);
	const char *out;

	CHECK(st && hst);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_CHILD_DEADLOCK;
	ev.severity = SEV_ERROR;
	ev.pid = 4242;
	ev.deadlock.tid = 7571;
	ev.deadlock.lock = 0x20;
	ev.deadlock.holder_tid = 7570;
	strcpy(ev.deadlock.holder_comm, "python3");
	strcpy(ev.deadlock.holder_name, "chatter");
	ev.deadlock.parent_pid = 7569;
	ev.deadlock.reason = DL_HELD_AT_FORK;
	ev.deadlock.lock_type = LOCK_PY_IO;
	strcpy(ev.deadlock.lock_object, "_io.BufferedWriter name='app.log'");
	ev.deadlock.stack = st;
	ev.deadlock.holder_stack = hst;
	out = human_of(&ev, &plain);
	CHECK(strstr(out, "DEADLOCK: child 4242 waits on the write lock of"
			  " <_io.BufferedWriter name='app.log'> (0x20), held at the fork by python3"
			  " \"chatter\" (tid 7570) in app.py:9 work; the child is at app.py:9 work\n"
			  "      the holder was not copied by fork: nothing will ever release it"
			  " (thread 7571, parent 7569)\n") != NULL);
	CHECK(strstr(out, "      the child is at:\n"
			  "        at app.py:9 in work\n"
			  "        at f0 (f.c:1)\n"
			  "      the holder at the fork was at:\n"
			  "        at app.py:9 in work\n") != NULL);
	stack_free(st);
	stack_free(hst);
}

/* attach says the threads and the Python recognized; detach its count. */
TEST(human_attach_python)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ATTACH;
	ev.attach.locks = "scan";
	ev.attach.threads.count = ev.attach.threads.total = 2;
	ev.attach.threads.t[0].tid = 9;
	strcpy(ev.attach.threads.t[0].comm, "python3");
	strcpy(ev.attach.threads.t[0].name, "MainThread");
	ev.attach.threads.t[1].tid = 10;
	strcpy(ev.attach.threads.t[1].comm, "python3");
	strcpy(ev.attach.python, "3.11.2");
	CHECK(strstr(human_of(&ev, &plain), "attached: 2 threads, locks=scan, Python 3.11.2\n") !=
	      NULL);
	CHECK(strstr(human_of(&ev, &verbose),
		     "attached: 2 threads, locks=scan, Python 3.11.2\n"
		     "      python3 \"MainThread\" (tid 9), python3 (tid 10)\n") != NULL);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_DETACH;
	ev.detach.locks = "scan";
	ev.detach.threads = 1;
	CHECK(strstr(human_of(&ev, &plain), "detached: 1 thread, locks=scan\n") != NULL);
}
