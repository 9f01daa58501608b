/* Line protocol: the escaping rules and the schema of docs/influx.md. */
#include <string.h>
#include "out/lineproto.h"
#include "unit.h"

static struct event base_event(enum event_kind kind)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.severity = SEV_INFO;
	ev.time_ns = 1700000000123456789ULL;
	ev.pid = 42;
	strcpy(ev.comm, "py");
	return ev;
}

static const char *line_of(const struct event *ev, const char *host)
{
	static char buf[LINEPROTO_MAX_LINE];

	if (lineproto_format(ev, host, buf, sizeof(buf)) < 0)
		return "(did not fit)";
	return buf;
}

/* The examples of the InfluxDB 1.x line protocol tutorial, "Special characters". */
TEST(lineproto_escapes_like_the_influxdb_docs)
{
	char b[128];

	CHECK(lineproto_escape_key("us,midwest", b, sizeof(b)) > 0);
	CHECK_STR(b, "us\\,midwest"); /* tag value with a comma */
	lineproto_escape_key("temp=rature", b, sizeof(b));
	CHECK_STR(b, "temp\\=rature"); /* field key with an equals sign */
	lineproto_escape_key("location place", b, sizeof(b));
	CHECK_STR(b, "location\\ place"); /* tag key with a space */
	lineproto_escape_measurement("wea,ther", b, sizeof(b));
	CHECK_STR(b, "wea\\,ther");
	lineproto_escape_measurement("wea ther", b, sizeof(b));
	CHECK_STR(b, "wea\\ ther");
	lineproto_escape_measurement("a=b", b, sizeof(b));
	CHECK_STR(b, "a=b"); /* = needs no escape in a measurement */
	lineproto_escape_string("too\"hot\"", b, sizeof(b));
	CHECK_STR(b, "too\\\"hot\\\""); /* string value with double quotes */
	lineproto_escape_string("too hot\\cold", b, sizeof(b));
	CHECK_STR(b, "too hot\\\\cold"); /* read back as one backslash */
	lineproto_escape_string("too hot/cold", b, sizeof(b));
	CHECK_STR(b, "too hot/cold");
	/* "all other special characters do not require escaping": emojis */
	lineproto_escape_measurement("we\xe2\x9b\x85\xef\xb8\x8fther", b, sizeof(b));
	CHECK_STR(b, "we\xe2\x9b\x85\xef\xb8\x8fther");
	lineproto_escape_key("temper\xf0\x9f\x94\xa5ture", b, sizeof(b));
	CHECK_STR(b, "temper\xf0\x9f\x94\xa5ture");
}

/* What no part of a line can carry as is becomes visible text, never a broken line. */
TEST(lineproto_escapes_what_a_line_cannot_carry)
{
	char b[128];

	lineproto_escape_key("a\nb\tc\rd\x01"
			     "e\x7f",
			     b, sizeof(b));
	CHECK_STR(b, "a\\nb\\tc\\rd\\x01e\\x7f");
	/* a backslash in a name: \x5c, read the same by InfluxDB 1.x, 2.x and 3.x */
	lineproto_escape_key("end\\", b, sizeof(b));
	CHECK_STR(b, "end\\x5c");
	lineproto_escape_key("a\\,b", b, sizeof(b));
	CHECK_STR(b, "a\\x5c\\,b");
	lineproto_escape_string("l1\nl2", b, sizeof(b));
	CHECK_STR(b, "l1\\nl2");
	/* invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong '/' */
	lineproto_escape_key("\x80x\xe2\x9b", b, sizeof(b));
	CHECK_STR(b, "\\x80x\\xe2\\x9b");
	lineproto_escape_string("\xc0\xaf", b, sizeof(b));
	CHECK_STR(b, "\\xc0\\xaf");
	lineproto_escape_string("caf\xc3\xa9", b, sizeof(b));
	CHECK_STR(b, "caf\xc3\xa9");
}

TEST(lineproto_escape_reports_overflow)
{
	char b[6];

	CHECK(lineproto_escape_key("abcde", b, sizeof(b)) == 5);
	CHECK(lineproto_escape_key("abcdef", b, sizeof(b)) == -1);
	CHECK(lineproto_escape_key("a,b,c", b, sizeof(b)) == -1);
}

TEST(lineproto_fork_event)
{
	struct event ev = base_event(EV_FORK);

	strcpy(ev.comm, "py, w=1");
	ev.fork.tid = 42;
	ev.fork.child_pid = 43;
	ev.fork.threads = 3;
	ev.fork.main_thread = true;
	CHECK_STR(line_of(&ev, "h1"),
		  "forktrace,comm=py\\,\\ w\\=1,event=fork,host=h1,severity=info "
		  "pid=42i,tid=42i,child_pid=43i,threads=3i,main_thread=true,held_locks=0i "
		  "1700000000123456789\n");
}

/* A thread name with every character that matters: comma, space, equals, quote, backslash, newline. */
TEST(lineproto_thread_names_with_special_characters)
{
	struct event ev = base_event(EV_ORPHANED_THREADS);

	ev.severity = SEV_WARNING;
	ev.orphaned.child_pid = 43;
	ev.orphaned.threads.count = 2;
	ev.orphaned.threads.total = 2;
	ev.orphaned.threads.t[0].tid = 123;
	strcpy(ev.orphaned.threads.t[0].comm, "a, b=c\"d\\e\nf");
	ev.orphaned.threads.t[1].tid = 124;
	strcpy(ev.orphaned.threads.t[1].comm, "worker-b");
	CHECK_STR(line_of(&ev, "h1"),
		  "forktrace,comm=py,event=orphaned_threads,host=h1,severity=warning "
		  "pid=42i,child_pid=43i,threads=2i,"
		  "threads_list=\"123:a, b=c\\\"d\\\\e\\nf,124:worker-b\" 1700000000123456789\n");

	/* the same name as a tag (comm) */
	strcpy(ev.comm, "a, b=c\"d\\e\nf");
	CHECK(strstr(line_of(&ev, NULL), "forktrace,comm=a\\,\\ b\\=c\"d\\x5ce\\nf,event=") !=
	      NULL);
}

/* Only the first `count` threads are listed; the number is how many there were. */
TEST(lineproto_truncated_thread_list_counts_all)
{
	struct event ev = base_event(EV_EXIT_WITH_THREADS);

	ev.exit_with_threads.threads.count = 1;
	ev.exit_with_threads.threads.total = 70;
	ev.exit_with_threads.threads.t[0].tid = 7;
	strcpy(ev.exit_with_threads.threads.t[0].comm, "w");
	ev.exit_with_threads.exit_code = 3;
	CHECK(strstr(line_of(&ev, "h"),
		     " pid=42i,threads=70i,threads_list=\"7:w\",threads_omitted=69i,exit_code=3i ") != NULL);
}

TEST(lineproto_held_lock_with_stack)
{
	struct event ev = base_event(EV_HELD_LOCK);
	struct stack *st = stack_new();
	struct frame f0 = {
		.lang = FRAME_C, .module = "libc.so.6", .offset = 0x10, .has_offset = true
	};
	struct frame f1 = { .lang = FRAME_C, .func = "worker \"x\"", .file = "a.c", .line = 3 };
	const char *line;

	CHECK(st && !stack_push(st, &f0) && !stack_push(st, &f1));
	ev.severity = SEV_WARNING;
	ev.held_lock.child_pid = 43;
	ev.held_lock.holder_tid = 44;
	ev.held_lock.lock = 0x7f3a1c0008c0ULL;
	ev.held_lock.lock_type = LOCK_MUTEX;
	strcpy(ev.held_lock.holder_comm, "w 1");
	ev.held_lock.held_ns = -1;
	ev.held_lock.holder_stack = st;
	line = line_of(&ev, "h");
	stack_free(st);
	CHECK_STR(
		line,
		"forktrace,comm=py,event=held_lock,host=h,severity=warning "
		"pid=42i,child_pid=43i,lock=\"0x7f3a1c0008c0\",lock_type=\"mutex\",holder_tid=44i,"
		"holder_comm=\"w 1\",holder_is_forker=false,found_by=\"scan\","
		"holder_stack=\"libc.so.6+0x10\\nworker \\\"x\\\" a.c:3\" "
		"1700000000123456789\n");
}

/* InfluxDB refuses an empty tag value: the tag is left out instead. */
TEST(lineproto_empty_tags_are_left_out)
{
	struct event ev = base_event(EV_LOST_EVENTS);

	ev.comm[0] = '\0';
	ev.severity = SEV_ERROR;
	ev.lost.count = 5;
	CHECK_STR(
		line_of(&ev, ""),
		"forktrace,event=lost_events,severity=error pid=42i,count=5i 1700000000123456789\n");
	CHECK_STR(
		line_of(&ev, NULL),
		"forktrace,event=lost_events,severity=error pid=42i,count=5i 1700000000123456789\n");
}

/* 1.x has no unsigned integers: values beyond int64 are clamped, not wrapped. */
TEST(lineproto_uint_is_clamped)
{
	struct event ev = base_event(EV_EXEC);

	strcpy(ev.exec.filename, "/bin/tr ue");
	ev.exec.since_fork_ns = UINT64_MAX;
	CHECK(strstr(line_of(&ev, "h"),
		     "filename=\"/bin/tr ue\",since_fork_ns=9223372036854775807i ") != NULL);
}

TEST(lineproto_comm_without_nul)
{
	struct event ev = base_event(EV_EXIT);

	memset(ev.comm, 'x', EV_COMM_LEN); /* a full comm array, no NUL */
	CHECK(strstr(line_of(&ev, "h"), "comm=xxxxxxxxxxxxxxxx,event=exit,") != NULL);
}

TEST(lineproto_unstamped_event_has_no_timestamp)
{
	struct event ev = base_event(EV_EXIT);

	ev.time_ns = 0;
	ev.exit.exit_code = 1;
	CHECK_STR(
		line_of(&ev, "h"),
		"forktrace,comm=py,event=exit,host=h,severity=info pid=42i,exit_code=1i,signal=0i\n");
}

TEST(lineproto_too_small_buffer)
{
	struct event ev = base_event(EV_EXIT);
	char buf[200];
	int n = lineproto_format(&ev, "h", buf, sizeof(buf));

	CHECK(n > 0 && buf[n - 1] == '\n');
	CHECK(lineproto_format(&ev, "h", buf, n + 1) == n); /* room for the NUL too */
	CHECK(lineproto_format(&ev, "h", buf, n) == -1);
	CHECK_STR(buf, ""); /* never half a line */
	CHECK(lineproto_format(&ev, "h", buf, 0) == -1);
}

/* Every kind encodes, with pid, one line, and no field key twice. */
TEST(lineproto_every_event_kind)
{
	for (int k = 0; k < EV__COUNT; k++) {
		struct event ev = base_event(k);
		const char *line;

		if (k == EV_ATTACH)
			ev.attach.locks = "scan";
		if (k == EV_DETACH)
			ev.detach.locks = "scan";
		line = line_of(&ev, "h");
		CHECK(strstr(line, " pid=42i") != NULL);
		CHECK(strchr(line, '\n') == line + strlen(line) - 1);
		CHECK(strstr(line, event_kind_name(k)) != NULL);
	}
}

/* The largest event still fits LINEPROTO_MAX_LINE, every byte escaped to \xHH. */
TEST(lineproto_max_line_is_enough)
{
	static struct event ev;
	static char buf[LINEPROTO_MAX_LINE];
	static char junk[EV_PATH_LEN];
	struct stack *st = stack_new();
	struct frame f = { .lang = FRAME_C, .func = junk, .file = junk, .module = junk };
	int rc;

	ev = base_event(EV_HELD_LOCK);
	memset(ev.comm, '\x01', EV_COMM_LEN);
	memset(ev.held_lock.holder_comm, '\x01', EV_COMM_LEN - 1);
	memset(junk, '\x01', sizeof(junk) - 1);
	CHECK(st);
	for (int i = 0; i < STACK_MAX_FRAMES; i++)
		CHECK(stack_push(st, &f) == 0);
	ev.held_lock.holder_stack = st;
	rc = lineproto_format(&ev, "host-with-a-long-name", buf, sizeof(buf));
	stack_free(st);
	CHECK(rc > 0);

	ev = base_event(EV_ORPHANED_THREADS);
	ev.orphaned.threads.count = EV_MAX_THREADS;
	for (int i = 0; i < EV_MAX_THREADS; i++) {
		ev.orphaned.threads.t[i].tid = 2000000000;
		memset(ev.orphaned.threads.t[i].comm, '\x01', EV_COMM_LEN);
	}
	CHECK(lineproto_format(&ev, "h", buf, sizeof(buf)) > 0);
}

/* Two held locks of one fork share its timestamp: InfluxDB would keep only one point. */
TEST(lineproto_unique_time_per_series)
{
	static struct lineproto_stamps st;
	struct event a = base_event(EV_HELD_LOCK), b = a, other = a;
	uint64_t t = a.time_ns;

	other.kind = EV_FORK;
	CHECK(lineproto_unique_time(&st, &a) == t);
	CHECK(lineproto_unique_time(&st, &b) == t + 1);
	CHECK(lineproto_unique_time(&st, &b) == t + 2);
	CHECK(lineproto_unique_time(&st, &other) == t); /* another series */
	strcpy(b.comm, "other");
	CHECK(lineproto_unique_time(&st, &b) == t);
	b.time_ns = t + 10;
	CHECK(lineproto_unique_time(&st, &b) == t + 10);
	a.time_ns = 0;
	CHECK(lineproto_unique_time(&st, &a) == 0); /* unstamped: the server's clock */
}

/* scan's reason and lost_events' what: strings after the other fields, only when known. */
TEST(lineproto_scan_reason_and_lost_what)
{
	struct event ev = base_event(EV_SCAN);

	ev.severity = SEV_WARNING;
	ev.scan.child_pid = 43;
	ev.scan.bytes = 8192;
	ev.scan.ns = 500;
	ev.scan.reason = SCAN_REASON_UNREADABLE;
	CHECK_STR(line_of(&ev, "h"),
		  "forktrace,comm=py,event=scan,host=h,severity=warning "
		  "pid=42i,child_pid=43i,bytes=8192i,ns=500i,locks_found=0i,scan_complete=false,"
		  "reason=\"unreadable\" 1700000000123456789\n");
	ev.scan.complete = true;
	ev.severity = SEV_INFO;
	CHECK(strstr(line_of(&ev, "h"), "scan_complete=true 1700000000123456789\n") != NULL);
	ev = base_event(EV_LOST_EVENTS);
	ev.severity = SEV_ERROR;
	ev.lost.count = 5;
	ev.lost.what = LOST_LOCK_MAP;
	CHECK(strstr(line_of(&ev, "h"),
		     " pid=42i,count=5i,what=\"lock_map\" 1700000000123456789\n") != NULL);
}

/* ---- Python names and stacks ---- */

static struct stack *two_frames(void)
{
	struct stack *st = stack_new();
	struct frame py = { .lang = FRAME_PYTHON, .func = "work", .file = "app.py", .line = 9 };
	struct frame c = {
		.lang = FRAME_C, .module = "libc.so.6", .offset = 0x15e0, .has_offset = true
	};

	if (st && (stack_push(st, &py) || stack_push(st, &c))) {
		stack_free(st);
		return NULL;
	}
	return st;
}

/* threads_list gains the Python name; threads_stacks holds each orphan's frames. */
TEST(lineproto_thread_names_and_stacks)
{
	struct event ev = base_event(EV_ORPHANED_THREADS);
	struct stack *st = two_frames();
	const char *line;

	CHECK(st);
	ev.severity = SEV_WARNING;
	ev.orphaned.child_pid = 43;
	ev.orphaned.threads.count = 3;
	ev.orphaned.threads.total = 4;
	ev.orphaned.threads.t[0].tid = 123;
	strcpy(ev.orphaned.threads.t[0].comm, "python3");
	strcpy(ev.orphaned.threads.t[0].name, "chat \"ter\"");
	ev.orphaned.threads.t[0].stack = st;
	ev.orphaned.threads.t[1].tid = 124;
	strcpy(ev.orphaned.threads.t[1].comm, "python3");
	ev.orphaned.threads.t[2].tid = 125;
	strcpy(ev.orphaned.threads.t[2].comm, "python3");
	strcpy(ev.orphaned.threads.t[2].name, "log");
	ev.orphaned.threads.t[2].stack = st;
	st->running = true;
	line = line_of(&ev, "h1");
	CHECK_STR(
		line,
		"forktrace,comm=py,event=orphaned_threads,host=h1,severity=warning "
		"pid=42i,child_pid=43i,threads=4i,"
		"threads_list=\"123:python3 \\\"chat \\\"ter\\\"\\\",124:python3,125:python3 \\\"log\\\"\","
		"threads_stacks=\"123: running\\nwork app.py:9\\nlibc.so.6+0x15e0"
		"\\n\\n125: running\\nwork app.py:9\\nlibc.so.6+0x15e0\","
		"threads_omitted=1i 1700000000123456789\n");
	/* no stack at all: no threads_stacks field */
	ev.orphaned.threads.t[0].stack = ev.orphaned.threads.t[2].stack = NULL;
	CHECK(strstr(line_of(&ev, "h1"), "threads_stacks") == NULL);
	/* exit_with_threads: names, never stacks */
	ev = base_event(EV_EXIT_WITH_THREADS);
	ev.exit_with_threads.threads.count = ev.exit_with_threads.threads.total = 1;
	ev.exit_with_threads.threads.t[0].tid = 7;
	strcpy(ev.exit_with_threads.threads.t[0].comm, "python3");
	strcpy(ev.exit_with_threads.threads.t[0].name, "ticker");
	ev.exit_with_threads.threads.t[0].stack = st;
	CHECK(strstr(line_of(&ev, "h"),
		     " pid=42i,threads=1i,threads_list=\"7:python3 \\\"ticker\\\"\","
		     "exit_code=0i ") != NULL);
	stack_free(st);
}

/* attach: the thread list as fields and the Python version; detach: a count. */
TEST(lineproto_attach_threads_and_python)
{
	struct event ev = base_event(EV_ATTACH);

	ev.attach.threads.count = ev.attach.threads.total = 2;
	ev.attach.threads.t[0].tid = 42;
	strcpy(ev.attach.threads.t[0].comm, "py");
	strcpy(ev.attach.threads.t[0].name, "MainThread");
	ev.attach.threads.t[1].tid = 43;
	strcpy(ev.attach.threads.t[1].comm, "py");
	ev.attach.locks = "scan";
	strcpy(ev.attach.python, "3.12.1");
	CHECK(strstr(line_of(&ev, "h"),
		     " pid=42i,threads=2i,threads_list=\"42:py \\\"MainThread\\\",43:py\","
		     "locks=\"scan\",python=\"3.12.1\" ") != NULL);
	ev = base_event(EV_DETACH);
	ev.detach.threads = 2;
	ev.detach.locks = "scan";
	CHECK(strstr(line_of(&ev, "h"), " pid=42i,threads=2i,locks=\"scan\" ") != NULL);
}

TEST(lineproto_held_lock_and_deadlock_python_fields)
{
	struct event ev = base_event(EV_HELD_LOCK);
	struct stack *st = two_frames();

	CHECK(st);
	ev.held_lock.child_pid = 43;
	ev.held_lock.lock = 0x10;
	ev.held_lock.lock_type = LOCK_PY_RLOCK;
	strcpy(ev.held_lock.lock_object, "threading.RLock");
	ev.held_lock.holder_tid = 44;
	strcpy(ev.held_lock.holder_comm, "python3");
	strcpy(ev.held_lock.holder_name, "w,1 =x");
	ev.held_lock.held_ns = -1;
	ev.held_lock.found_by = FOUND_BY_PYTHON;
	ev.held_lock.corroborated = TRI_TRUE;
	ev.held_lock.holder_stack = st;
	CHECK(strstr(line_of(&ev, "h"),
		     " pid=42i,child_pid=43i,lock=\"0x10\",lock_type=\"py_rlock\","
		     "lock_object=\"threading.RLock\",holder_tid=44i,holder_comm=\"python3\","
		     "holder_name=\"w,1 =x\",holder_is_forker=false,found_by=\"python\","
		     "corroborated=true,holder_stack=\"work app.py:9\\nlibc.so.6+0x15e0\" ") !=
	      NULL);

	ev = base_event(EV_CHILD_DEADLOCK);
	ev.deadlock.tid = 50;
	ev.deadlock.lock = 0x20;
	ev.deadlock.holder_tid = 44;
	strcpy(ev.deadlock.holder_comm, "python3");
	strcpy(ev.deadlock.holder_name, "chatter");
	ev.deadlock.reason = DL_HELD_AT_FORK;
	ev.deadlock.lock_type = LOCK_GIL;
	strcpy(ev.deadlock.lock_object, "the GIL");
	ev.deadlock.stack = st;
	ev.deadlock.holder_stack = st;
	CHECK(strstr(line_of(&ev, "h"),
		     ",holder_comm=\"python3\",holder_name=\"chatter\",parent_pid=0i,"
		     "since_fork_ns=0i,reason=\"held_at_fork\",lock_type=\"gil\","
		     "lock_object=\"the GIL\",stack=\"work app.py:9\\nlibc.so.6+0x15e0\","
		     "holder_stack=\"work app.py:9\\nlibc.so.6+0x15e0\" ") != NULL);

	ev = base_event(EV_FORK_IN_THREAD);
	ev.fork_in_thread.tid = 44;
	strcpy(ev.fork_in_thread.name, "forker");
	ev.fork_in_thread.child_pid = 45;
	ev.fork_in_thread.stack = st;
	CHECK(strstr(line_of(&ev, "h"), " pid=42i,tid=44i,name=\"forker\",child_pid=45i,"
					"stack=\"work app.py:9\\nlibc.so.6+0x15e0\" ") != NULL);
	ev = base_event(EV_FORK);
	ev.fork.stack = st;
	CHECK(strstr(line_of(&ev, "h"),
		     ",held_locks=0i,stack=\"work app.py:9\\nlibc.so.6+0x15e0\" ") != NULL);
	stack_free(st);
}

/* Names and frames with what a line cannot carry stay inside their quotes. */
TEST(lineproto_hostile_names_and_frames)
{
	struct event ev = base_event(EV_ORPHANED_THREADS);
	struct stack *st = stack_new();
	struct frame f = { .lang = FRAME_PYTHON, .func = "f\"\n\\", .file = "\xff.py", .line = 2 };
	const char *line;

	CHECK(st && stack_push(st, &f) == 0);
	ev.orphaned.threads.count = ev.orphaned.threads.total = 1;
	ev.orphaned.threads.t[0].tid = 1;
	strcpy(ev.orphaned.threads.t[0].comm, "c");
	strcpy(ev.orphaned.threads.t[0].name, "n\"\n\x1b[2J\xc0\xaf\\");
	ev.orphaned.threads.t[0].stack = st;
	line = line_of(&ev, "h");
	stack_free(st);
	CHECK(strstr(line, "threads_list=\"1:c \\\"n\\\"\\n\\x1b[2J\\xc0\\xaf\\\\\\\"\","
			   "threads_stacks=\"1:\\nf\\\"\\n\\\\ \\xff.py:2\" ") != NULL);
	CHECK(strchr(line, '\n') == line + strlen(line) - 1);
	for (const char *p = line; *p; p++)
		CHECK(*p == '\n' || (unsigned char)*p >= 0x20);
}

/* What a maximal frame is: every string cut at 511 bytes, each byte escaped to \xHH. */
static struct stack *worst_stack(void)
{
	static char junk[600];
	struct stack *st = stack_new();
	struct frame f = { .lang = FRAME_C,
			   .func = junk,
			   .file = junk,
			   .line = 2147483647,
			   .module = junk,
			   .offset = UINT64_MAX,
			   .has_offset = true };

	memset(junk, '\x01', sizeof(junk) - 1);
	for (int i = 0; st && i < STACK_MAX_FRAMES + 10; i++)
		if (stack_push(st, &f)) {
			stack_free(st);
			return NULL;
		}
	if (st)
		st->running = true;
	return st;
}

static void worst_threads(struct thread_list *tl, const struct stack *st)
{
	tl->count = EV_MAX_THREADS;
	tl->total = 2000000000;
	for (int i = 0; i < EV_MAX_THREADS; i++) {
		tl->t[i].tid = -2000000000;
		memset(tl->t[i].comm, '\x01', EV_COMM_LEN); /* no NUL: the kernel's way */
		memset(tl->t[i].name, '\x01', EV_NAME_LEN - 1);
		tl->t[i].stack = st;
	}
}

/* The text of a string field: from KEY=" to its closing quote. */
static size_t field_len(const char *line, const char *key)
{
	char k[64];
	const char *p, *q;

	snprintf(k, sizeof(k), ",%s=\"", key);
	p = strstr(line, k);
	if (!p)
		return 0;
	p += strlen(k);
	for (q = p; *q && !(*q == '"' && q[-1] != '\\'); q++)
		;
	return q - p;
}

/*
 * The worst case of every event with names and stacks: 64 threads each with
 * a full stack of maximal strings, maximal names and lock objects, every
 * byte escaped. Each line fits LINEPROTO_MAX_LINE, each stack text its bound.
 */
TEST(lineproto_worst_case_names_and_stacks_fit)
{
	static struct event ev;
	static char buf[LINEPROTO_MAX_LINE];
	static const enum event_kind kinds[] = { EV_ORPHANED_THREADS, EV_EXIT_WITH_THREADS,
						 EV_ATTACH,	      EV_HELD_LOCK,
						 EV_CHILD_DEADLOCK,   EV_FORK,
						 EV_FORK_IN_THREAD };
	/* a cut stack text overshoots its bound by at most the "(N more)" note */
	const size_t bound = LINEPROTO_STACK_MAX + 32;
	struct stack *st = worst_stack();
	const char *host = "a-host-name-of-sixty-three-characters-which-is-what-hosts-allow";

	CHECK(st);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		int rc;

		ev = base_event(kinds[k]);
		memset(ev.comm, '\x01', EV_COMM_LEN);
		switch (kinds[k]) {
		case EV_ORPHANED_THREADS: worst_threads(&ev.orphaned.threads, st); break;
		case EV_EXIT_WITH_THREADS: worst_threads(&ev.exit_with_threads.threads, st); break;
		case EV_ATTACH:
			worst_threads(&ev.attach.threads, st);
			ev.attach.locks = "uprobe";
			memset(ev.attach.python, '\x01', EV_VERSION_LEN - 1);
			break;
		case EV_HELD_LOCK:
			memset(ev.held_lock.lock_object, '\x01', EV_OBJECT_LEN - 1);
			memset(ev.held_lock.holder_comm, '\x01', EV_COMM_LEN - 1);
			memset(ev.held_lock.holder_name, '\x01', EV_NAME_LEN - 1);
			ev.held_lock.held_ns = INT64_MAX;
			ev.held_lock.corroborated = TRI_FALSE;
			ev.held_lock.holder_stack = st;
			break;
		case EV_CHILD_DEADLOCK:
			memset(ev.deadlock.lock_object, '\x01', EV_OBJECT_LEN - 1);
			memset(ev.deadlock.holder_comm, '\x01', EV_COMM_LEN - 1);
			memset(ev.deadlock.holder_name, '\x01', EV_NAME_LEN - 1);
			ev.deadlock.lock_type = LOCK_PY_IO;
			ev.deadlock.stack = ev.deadlock.holder_stack = st;
			break;
		case EV_FORK: ev.fork.stack = st; break;
		case EV_FORK_IN_THREAD:
			memset(ev.fork_in_thread.name, '\x01', EV_NAME_LEN - 1);
			ev.fork_in_thread.stack = st;
			break;
		default: break;
		}
		rc = lineproto_format(&ev, host, buf, sizeof(buf));
		CHECK(rc > 0 && rc < LINEPROTO_MAX_LINE);
		CHECK(strchr(buf, '\n') == buf + rc - 1);
		CHECK(field_len(buf, "stack") <= bound);
		CHECK(field_len(buf, "holder_stack") <= bound);
		CHECK(field_len(buf, "threads_stacks") <= bound);
	}
	/* the orphans' stacks were cut, and say so */
	ev = base_event(EV_ORPHANED_THREADS);
	worst_threads(&ev.orphaned.threads, st);
	CHECK(lineproto_format(&ev, host, buf, sizeof(buf)) > 0);
	CHECK(field_len(buf, "threads_stacks") > 0);
	CHECK(strstr(buf, "more threads)") != NULL);
	CHECK(strstr(buf, ",threads_stacks=\"-2000000000: running\\n\\x01") !=
	      NULL); /* one frame at least */
	CHECK(strstr(buf, ",threads_omitted=1999999936i ") != NULL);
	stack_free(st);
}

/* A frame's long string is cut whole characters at a time, and says so. */
TEST(lineproto_frame_strings_cut_at_characters)
{
	struct event ev = base_event(EV_FORK);
	struct stack *st = stack_new();
	char func[512], want[512];
	struct frame f = { .lang = FRAME_PYTHON, .func = func };
	char *w = want;

	func[0] = 'a';
	for (int i = 0; i < 200; i++)
		memcpy(func + 1 + 2 * i, "\xc3\xa9", 2);
	func[401] = 0;
	w += sprintf(w, "stack=\"a");
	for (int i = 0; i < 127; i++)
		w += sprintf(w, "\xc3\xa9");
	strcpy(w, "...\" ");
	CHECK(st && stack_push(st, &f) == 0);
	ev.fork.stack = st;
	CHECK(strstr(line_of(&ev, "h"), want) != NULL);
	stack_free(st);
}
