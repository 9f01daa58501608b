/* JSON writer: escaping of untrusted names and the exact field layout. */
#include <stdbool.h>
#include <string.h>
#include "out/event.h"
#include "out/human.h"
#include "out/json.h"
#include "out/strbuf.h"
#include "out/utf8.h"
#include "unit.h"

static const struct human_opts plain; /* no colour, the first frames */

static const char *escaped(struct strbuf *sb, const char *s)
{
	sb_init(sb);
	json_string(sb, s);
	return sb->s;
}

TEST(json_escapes_controls_quotes_backslashes)
{
	struct strbuf sb;

	CHECK_STR(escaped(&sb, "a\"b\\c"), "\"a\\\"b\\\\c\"");
	sb_free(&sb);
	CHECK_STR(escaped(&sb, "x\n\t\x1b[31m"), "\"x\\n\\t\\u001b[31m\"");
	sb_free(&sb);
	CHECK_STR(escaped(&sb, "\x7f"), "\"\\u007f\"");
	sb_free(&sb);
}

TEST(json_keeps_utf8_and_escapes_invalid_bytes)
{
	struct strbuf sb;

	CHECK_STR(escaped(&sb, "h\xc3\xa9llo"), "\"h\xc3\xa9llo\"");
	sb_free(&sb);
	CHECK_STR(escaped(&sb, "a\xff"
			       "b"),
		  "\"a\\udcffb\"");
	sb_free(&sb);
	/* the valid U+00FF stays itself: the two never print the same */
	CHECK_STR(escaped(&sb, "\xc3\xbf"
			       "A"),
		  "\"\xc3\xbf"
		  "A\"");
	sb_free(&sb);
	/* an overlong encoding of '/' and a lone continuation byte */
	CHECK_STR(escaped(&sb, "\xc0\xaf\x80"), "\"\\udcc0\\udcaf\\udc80\"");
	sb_free(&sb);
	/* a sequence cut short by the end of the string */
	CHECK_STR(escaped(&sb, "\xe2\x82"), "\"\\udce2\\udc82\"");
	sb_free(&sb);
}

TEST(json_fork_event_layout)
{
	struct strbuf sb;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_FORK;
	ev.severity = SEV_INFO;
	ev.time_ns = 1764072000123456789ULL;
	ev.pid = 10;
	strcpy(ev.comm, "app");
	ev.fork.tid = 11;
	ev.fork.child_pid = 12;
	ev.fork.threads = 3;
	ev.fork.main_thread = false;
	ev.fork.held_locks = 1;
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK_STR(sb.s, "{\"time\":\"2025-11-25T12:00:00.123456789Z\",\"event\":\"fork\","
			"\"severity\":\"info\",\"pid\":10,\"comm\":\"app\",\"tid\":11,"
			"\"child_pid\":12,\"threads\":3,\"main_thread\":false,\"held_locks\":1}\n");
	sb_free(&sb);
}

TEST(json_orphaned_threads_escapes_names)
{
	struct strbuf sb;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ORPHANED_THREADS;
	ev.severity = SEV_WARNING;
	ev.pid = 1;
	strcpy(ev.comm, "p");
	ev.orphaned.child_pid = 2;
	ev.orphaned.threads.count = ev.orphaned.threads.total = 2;
	ev.orphaned.threads.t[0].tid = 3;
	strcpy(ev.orphaned.threads.t[0].comm, "a,\"b\"");
	ev.orphaned.threads.t[1].tid = 4;
	strcpy(ev.orphaned.threads.t[1].comm, "\n");
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK(strstr(sb.s,
		     "\"threads\":[{\"tid\":3,\"comm\":\"a,\\\"b\\\"\"},{\"tid\":4,\"comm\":\"\\n\"}]}") !=
	      NULL);
	CHECK(strstr(sb.s, "\"severity\":\"warning\"") != NULL);
	sb_free(&sb);
}

TEST(json_held_lock_optional_fields)
{
	struct strbuf sb;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_HELD_LOCK;
	ev.held_lock.lock = 0x7f3a1c0008c0ULL;
	ev.held_lock.held_ns = -1;
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK(strstr(sb.s, "\"lock\":\"0x7f3a1c0008c0\",\"lock_type\":\"mutex\"") != NULL);
	CHECK(strstr(sb.s, "held_ns") == NULL);
	CHECK(strstr(sb.s, "\"found_by\":\"scan\"") != NULL);
	sb_free(&sb);
}

TEST(human_sanitizes_terminal_escapes)
{
	char out[128];

	sanitize("\x1b]0;pwned\x07name", out, sizeof(out));
	CHECK_STR(out, "\\x1b]0;pwned\\x07name");
	sanitize("back\\slash", out, sizeof(out));
	CHECK_STR(out, "back\\x5cslash");
	sanitize("\xc3\xa9", out, sizeof(out));
	CHECK_STR(out, "\\xc3\\xa9");
}

TEST(human_line_has_no_raw_control_bytes)
{
	struct strbuf sb;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ORPHANED_THREADS;
	ev.severity = SEV_WARNING;
	strcpy(ev.comm, "\x1b[2J");
	ev.orphaned.threads.count = ev.orphaned.threads.total = 1;
	strcpy(ev.orphaned.threads.t[0].comm, "\r\x1b[K");
	sb_init(&sb);
	out_human_format(&sb, &ev, &plain);
	for (size_t i = 0; i < sb.len; i++)
		CHECK(sb.s[i] == '\n' || (sb.s[i] >= 0x20 && sb.s[i] < 0x7f));
	sb_free(&sb);
}

static struct event scan_event(bool complete, enum scan_reason reason)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_SCAN;
	ev.severity = complete ? SEV_INFO : SEV_WARNING;
	ev.time_ns = 1764072000123456789ULL;
	ev.pid = 10;
	strcpy(ev.comm, "app");
	ev.scan.child_pid = 12;
	ev.scan.bytes = 4096;
	ev.scan.ns = 1000;
	ev.scan.locks_found = 1;
	ev.scan.complete = complete;
	ev.scan.reason = reason;
	return ev;
}

/* reason comes last, and only for an incomplete scan whose reason is known. */
TEST(json_scan_reason_only_when_incomplete)
{
	static const char *const names[] = { NULL,   "limit", "time",	   "busy",
					     "exec", "exit",  "unreadable" };
	struct strbuf sb;
	struct event ev = scan_event(false, SCAN_REASON_TIME);
	char want[64];

	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK_STR(sb.s, "{\"time\":\"2025-11-25T12:00:00.123456789Z\",\"event\":\"scan\","
			"\"severity\":\"warning\",\"pid\":10,\"comm\":\"app\",\"child_pid\":12,"
			"\"bytes\":4096,\"ns\":1000,\"locks_found\":1,\"scan_complete\":false,"
			"\"reason\":\"time\"}\n");
	sb_free(&sb);
	for (int r = SCAN_REASON_LIMIT; r <= SCAN_REASON_UNREADABLE; r++) {
		ev = scan_event(false, r);
		sb_init(&sb);
		out_json_format(&sb, &ev);
		snprintf(want, sizeof(want), ",\"scan_complete\":false,\"reason\":\"%s\"}\n",
			 names[r]);
		CHECK(strstr(sb.s, want) != NULL);
		sb_free(&sb);
	}
	ev = scan_event(false, SCAN_REASON_NONE);
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK(strstr(sb.s, "\"scan_complete\":false}\n") != NULL);
	sb_free(&sb);
	ev = scan_event(true, SCAN_REASON_LIMIT);
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK(strstr(sb.s, "\"scan_complete\":true}\n") != NULL);
	sb_free(&sb);
}

TEST(json_lost_events_what)
{
	struct strbuf sb;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_LOST_EVENTS;
	ev.severity = SEV_ERROR;
	ev.lost.count = 3;
	ev.lost.what = LOST_TRACED_MAP;
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK(strstr(sb.s, ",\"count\":3,\"what\":\"traced_map\"}\n") != NULL);
	sb_free(&sb);
	ev.lost.what = LOST_RING_BUFFER;
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK(strstr(sb.s, ",\"count\":3,\"what\":\"ring_buffer\"}\n") != NULL);
	sb_free(&sb);
	ev.lost.what = LOST_LOCK_MAP;
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK(strstr(sb.s, ",\"count\":3,\"what\":\"lock_map\"}\n") != NULL);
	sb_free(&sb);
	ev.lost.what = LOST_NONE;
	sb_init(&sb);
	out_json_format(&sb, &ev);
	CHECK(strstr(sb.s, ",\"count\":3}\n") != NULL);
	sb_free(&sb);
}

/* The human lines say why a scan is incomplete and what lost the records. */
TEST(human_scan_reason_and_lost_what)
{
	struct strbuf sb;
	struct event ev = scan_event(false, SCAN_REASON_EXIT);

	sb_init(&sb);
	out_human_format(&sb, &ev, &plain);
	CHECK(strstr(sb.s, "1 held lock (INCOMPLETE: the child exited)\n") != NULL);
	sb_free(&sb);
	ev = scan_event(false, SCAN_REASON_NONE);
	sb_init(&sb);
	out_human_format(&sb, &ev, &plain);
	CHECK(strstr(sb.s, "1 held lock (INCOMPLETE: limit reached)\n") != NULL);
	sb_free(&sb);
	ev = scan_event(true, SCAN_REASON_NONE);
	sb_init(&sb);
	out_human_format(&sb, &ev, &plain);
	CHECK(strstr(sb.s, "1 held lock\n") != NULL);
	sb_free(&sb);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_LOST_EVENTS;
	ev.severity = SEV_ERROR;
	ev.lost.count = 7;
	ev.lost.what = LOST_RING_BUFFER;
	sb_init(&sb);
	out_human_format(&sb, &ev, &plain);
	CHECK(strstr(sb.s,
		     "LOST 7 kernel records (ring buffer full): the report above is incomplete\n") !=
	      NULL);
	sb_free(&sb);
	ev.lost.what = LOST_NONE;
	sb_init(&sb);
	out_human_format(&sb, &ev, &plain);
	CHECK(strstr(sb.s, "LOST 7 kernel records: the report above is incomplete\n") != NULL);
	sb_free(&sb);
}

/* ---- Python names and stacks ---- */

/*
 * A strict JSON reader, enough to prove a line parses and to read its
 * strings back: objects, arrays, strings (decoded into out, when given),
 * numbers, true, false, null. NULL where the text is not JSON.
 */
static const char *jv(const char *p);

static const char *jws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static void put_utf8(char **o, unsigned cp)
{
	unsigned char *u = (unsigned char *)*o;

	if (cp < 0x80) {
		*u++ = cp;
	} else if (cp < 0x800) {
		*u++ = 0xc0 | cp >> 6;
		*u++ = 0x80 | (cp & 0x3f);
	} else {
		*u++ = 0xe0 | cp >> 12;
		*u++ = 0x80 | (cp >> 6 & 0x3f);
		*u++ = 0x80 | (cp & 0x3f);
	}
	*o = (char *)u;
}

static const char *jstr(const char *p, char *out)
{
	char *o = out;

	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = *p;

		if (c < 0x20)
			return NULL; /* a raw control byte: not JSON */
		if (c == '\\') {
			const char *esc = "\"\\/bfnrt", *real = "\"\\/\b\f\n\r\t", *e;
			unsigned cp = 0;

			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++) {
					char h = p[i];

					if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
					      (h >= 'A' && h <= 'F')))
						return NULL;
					cp = cp * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
				}
				if (out)
					put_utf8(&o, cp);
				p += 5;
				continue;
			}
			e = *p ? strchr(esc, *p) : NULL;
			if (!e)
				return NULL;
			if (out)
				*o++ = real[e - esc];
			p++;
			continue;
		}
		{
			int n = utf8_seq_len((const unsigned char *)p);

			if (!n)
				return NULL; /* JSON text is UTF-8 */
			if (out) {
				memcpy(o, p, n);
				o += n;
			}
			p += n;
		}
	}
	if (out)
		*o = 0;
	return p + 1;
}

static const char *jnum(const char *p)
{
	const char *s;

	if (*p == '-')
		p++;
	s = p;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == s)
		return NULL;
	if (*p == '.') {
		s = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	return p;
}

static const char *jv(const char *p)
{
	p = jws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = jws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = jstr(jws(p), NULL);
				if (!p || *(p = jws(p)) != ':')
					return NULL;
				p++;
			}
			p = jv(p);
			if (!p)
				return NULL;
			p = jws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return jstr(p, NULL);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	return jnum(p);
}

/* The whole line is one JSON object and a newline. */
static bool parses(const char *line)
{
	const char *end = *jws(line) == '{' ? jv(line) : NULL;

	return end && strcmp(end, "\n") == 0;
}

/* The string value after the first "KEY": in line, decoded. */
static const char *string_after(const char *line, const char *key)
{
	static char out[4096];
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(line, k);
	if (!p || !jstr(p + strlen(k), out))
		return "(none)";
	return out;
}

static const char *json_of(const struct event *ev)
{
	static struct strbuf sb;

	sb_free(&sb);
	out_json_format(&sb, ev);
	return sb.oom ? "(oom)" : sb.s;
}

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

/* Names and stacks where known, left out where not; threads_omitted when the list was cut. */
TEST(json_orphaned_threads_names_stacks_omitted)
{
	struct stack *st = two_frames();
	struct event ev;
	const char *line;

	CHECK(st);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ORPHANED_THREADS;
	ev.orphaned.child_pid = 2;
	ev.orphaned.threads.count = 2;
	ev.orphaned.threads.total = 5;
	ev.orphaned.threads.t[0].tid = 3;
	strcpy(ev.orphaned.threads.t[0].comm, "python3");
	strcpy(ev.orphaned.threads.t[0].name, "chatter");
	ev.orphaned.threads.t[0].stack = st;
	ev.orphaned.threads.t[1].tid = 4;
	strcpy(ev.orphaned.threads.t[1].comm, "python3");
	line = json_of(&ev);
	stack_free(st);
	CHECK(strstr(line,
		     ",\"child_pid\":2,\"threads\":[{\"tid\":3,\"comm\":\"python3\",\"name\":\"chatter\","
		     "\"stack\":[{\"func\":\"work\",\"file\":\"app.py\",\"line\":9,\"lang\":\"python\"},"
		     "{\"module\":\"libc.so.6\",\"offset\":\"0x15e0\",\"lang\":\"c\"}]},"
		     "{\"tid\":4,\"comm\":\"python3\"}],\"threads_omitted\":3}\n") != NULL);
	CHECK(parses(line));
	ev.orphaned.threads.total = 2;
	ev.orphaned.threads.t[0].stack = NULL;
	CHECK(strstr(json_of(&ev), "threads_omitted") == NULL);
}

/* exit_with_threads and attach threads have names, never stacks (SPEC). */
TEST(json_thread_lists_without_stacks)
{
	struct stack *st = two_frames();
	struct event ev;

	CHECK(st);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_EXIT_WITH_THREADS;
	ev.exit_with_threads.threads.count = ev.exit_with_threads.threads.total = 1;
	ev.exit_with_threads.threads.t[0].tid = 7;
	strcpy(ev.exit_with_threads.threads.t[0].comm, "python3");
	strcpy(ev.exit_with_threads.threads.t[0].name, "ticker");
	ev.exit_with_threads.threads.t[0].stack = st;
	ev.exit_with_threads.exit_code = 1;
	CHECK(strstr(json_of(&ev),
		     ",\"threads\":[{\"tid\":7,\"comm\":\"python3\",\"name\":\"ticker\"}],"
		     "\"exit_code\":1}\n") != NULL);
	stack_free(st);
}

/* attach: its threads as objects, the Python version where recognized; detach: a count. */
TEST(json_attach_threads_and_python)
{
	struct event ev;
	const char *line;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ATTACH;
	ev.pid = 9;
	ev.attach.threads.count = ev.attach.threads.total = 2;
	ev.attach.threads.t[0].tid = 9;
	strcpy(ev.attach.threads.t[0].comm, "python3");
	strcpy(ev.attach.threads.t[0].name, "MainThread");
	ev.attach.threads.t[1].tid = 10;
	strcpy(ev.attach.threads.t[1].comm, "python3");
	ev.attach.locks = "scan";
	strcpy(ev.attach.python, "3.11.2");
	line = json_of(&ev);
	CHECK(strstr(line,
		     ",\"threads\":[{\"tid\":9,\"comm\":\"python3\",\"name\":\"MainThread\"},"
		     "{\"tid\":10,\"comm\":\"python3\"}],\"locks\":\"scan\",\"python\":\"3.11.2\"}\n") !=
	      NULL);
	CHECK(parses(line));
	ev.attach.python[0] = 0;
	ev.attach.threads.count = ev.attach.threads.total = 0;
	CHECK(strstr(json_of(&ev), ",\"threads\":[],\"locks\":\"scan\"}\n") != NULL);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_DETACH;
	ev.detach.threads = 3;
	ev.detach.locks = "uprobe";
	CHECK(strstr(json_of(&ev), ",\"threads\":3,\"locks\":\"uprobe\"}\n") != NULL);
}

/* Every field of held_lock, in SPEC order. */
TEST(json_held_lock_python_fields)
{
	struct stack *st = two_frames();
	struct event ev;
	const char *line;

	CHECK(st);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_HELD_LOCK;
	ev.severity = SEV_WARNING;
	ev.held_lock.child_pid = 5;
	ev.held_lock.lock = 0x10;
	ev.held_lock.lock_type = LOCK_PY_IO;
	strcpy(ev.held_lock.lock_object, "_io.BufferedWriter name='/var/log/app.log'");
	ev.held_lock.holder_tid = 6;
	strcpy(ev.held_lock.holder_comm, "python3");
	strcpy(ev.held_lock.holder_name, "chatter");
	ev.held_lock.held_ns = 100;
	ev.held_lock.found_by = FOUND_BY_PYTHON;
	ev.held_lock.corroborated = TRI_FALSE;
	ev.held_lock.holder_stack = st;
	line = json_of(&ev);
	stack_free(st);
	CHECK(strstr(line,
		     ",\"child_pid\":5,\"lock\":\"0x10\",\"lock_type\":\"py_io\","
		     "\"lock_object\":\"_io.BufferedWriter name='/var/log/app.log'\","
		     "\"holder_tid\":6,\"holder_comm\":\"python3\",\"holder_name\":\"chatter\","
		     "\"holder_is_forker\":false,\"held_ns\":100,\"found_by\":\"python\","
		     "\"corroborated\":false,\"holder_stack\":[{\"func\":\"work\"") != NULL);
	CHECK(parses(line));
	ev.held_lock.holder_stack = NULL;
	ev.held_lock.corroborated = TRI_TRUE;
	CHECK(strstr(json_of(&ev), "\"corroborated\":true}\n") != NULL);
	ev.held_lock.corroborated = TRI_UNKNOWN;
	ev.held_lock.found_by = FOUND_BY_UPROBE;
	ev.held_lock.lock_object[0] = ev.held_lock.holder_name[0] = 0;
	line = json_of(&ev);
	CHECK(strstr(line, "\"found_by\":\"uprobe\"}\n") != NULL);
	CHECK(strstr(line, "lock_object") == NULL && strstr(line, "holder_name") == NULL);
}

TEST(json_lock_type_and_found_by_names)
{
	static const char *const types[] = { "mutex",	  "rwlock_read", "rwlock_write",
					     "semaphore", "py_lock",	 "py_rlock",
					     "py_io",	  "gil",	 "unknown" };

	for (int t = LOCK_MUTEX; t <= LOCK_UNKNOWN; t++)
		CHECK_STR(lock_type_name(t), types[t]);
	CHECK_STR(found_by_name(FOUND_BY_SCAN), "scan");
	CHECK_STR(found_by_name(FOUND_BY_UPROBE), "uprobe");
	CHECK_STR(found_by_name(FOUND_BY_PYTHON), "python");
}

/* Every field of child_deadlock, in SPEC order. */
TEST(json_child_deadlock_python_fields)
{
	struct stack *st = two_frames(), *hst = two_frames();
	struct event ev;
	const char *line;

	CHECK(st && hst);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_CHILD_DEADLOCK;
	ev.severity = SEV_ERROR;
	ev.deadlock.tid = 8;
	ev.deadlock.lock = 0x20;
	ev.deadlock.holder_tid = 6;
	strcpy(ev.deadlock.holder_comm, "python3");
	strcpy(ev.deadlock.holder_name, "chatter");
	ev.deadlock.parent_pid = 5;
	ev.deadlock.since_fork_ns = 7;
	ev.deadlock.reason = DL_HELD_AT_FORK;
	ev.deadlock.lock_type = LOCK_PY_LOCK;
	strcpy(ev.deadlock.lock_object, "threading.Lock");
	ev.deadlock.stack = st;
	ev.deadlock.holder_stack = hst;
	line = json_of(&ev);
	stack_free(hst);
	CHECK(strstr(line,
		     ",\"tid\":8,\"lock\":\"0x20\",\"holder_tid\":6,\"holder_comm\":\"python3\","
		     "\"holder_name\":\"chatter\",\"parent_pid\":5,\"since_fork_ns\":7,"
		     "\"reason\":\"held_at_fork\",\"lock_type\":\"py_lock\","
		     "\"lock_object\":\"threading.Lock\",\"stack\":[{") != NULL);
	CHECK(strstr(line, "}],\"holder_stack\":[{\"func\":\"work\",") != NULL);
	CHECK(parses(line));
	ev.deadlock.holder_stack = NULL;
	CHECK(strstr(json_of(&ev), "holder_stack") == NULL);
	stack_free(st);
}

/* fork and fork_in_thread: the forking thread's stack, its name where known. */
TEST(json_fork_stacks_and_forker_name)
{
	struct stack *st = two_frames();
	struct event ev;
	const char *line;

	CHECK(st);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_FORK;
	ev.fork.held_locks = 1;
	ev.fork.stack = st;
	CHECK(strstr(json_of(&ev), ",\"held_locks\":1,\"stack\":[{\"func\":\"work\",") != NULL);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_FORK_IN_THREAD;
	ev.fork_in_thread.tid = 3;
	strcpy(ev.fork_in_thread.name, "forker");
	ev.fork_in_thread.child_pid = 4;
	ev.fork_in_thread.stack = st;
	line = json_of(&ev);
	CHECK(strstr(line, ",\"tid\":3,\"name\":\"forker\",\"child_pid\":4,\"stack\":[{") != NULL);
	CHECK(parses(line));
	ev.fork_in_thread.name[0] = 0;
	ev.fork_in_thread.stack = NULL;
	CHECK(strstr(json_of(&ev), ",\"tid\":3,\"child_pid\":4}\n") != NULL);
	stack_free(st);
}

/* Names and frames from the traced program: quotes, newlines, escapes, invalid
 * UTF-8; the line still parses, and what is valid text reads back the same. */
TEST(json_hostile_names_and_frames_parse)
{
	static const char *const hostile = "a\"b\\c\nd\x1b[31m\x7f\t\xc3\xa9";
	struct stack *st = stack_new();
	struct frame f = { .lang = FRAME_PYTHON,
			   .func = hostile,
			   .file = "\xff\xfe/x.py\"",
			   .line = 1,
			   .module = "m\n",
			   .offset = 1,
			   .has_offset = true };
	struct event ev;
	const char *line;

	CHECK(st && stack_push(st, &f) == 0);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ORPHANED_THREADS;
	strcpy(ev.comm, "\x1b]0;x\x07");
	ev.orphaned.threads.count = ev.orphaned.threads.total = 2;
	strcpy(ev.orphaned.threads.t[0].name, hostile);
	strcpy(ev.orphaned.threads.t[0].comm, "\xc0\xaf");
	ev.orphaned.threads.t[0].stack = st;
	memset(ev.orphaned.threads.t[1].name, '\xff', EV_NAME_LEN - 1);
	ev.orphaned.threads.t[1].stack = st;
	line = json_of(&ev);
	CHECK(parses(line));
	CHECK_STR(string_after(line, "name"), hostile);
	CHECK_STR(string_after(line, "func"), hostile);
	CHECK(strstr(line, "\"file\":\"\\udcff\\udcfe/x.py\\\"\"") != NULL);

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_HELD_LOCK;
	strcpy(ev.held_lock.holder_name, hostile);
	strcpy(ev.held_lock.lock_object, "_io.BufferedWriter name='\n\"\xff'");
	ev.held_lock.holder_stack = st;
	line = json_of(&ev);
	CHECK(parses(line));
	CHECK_STR(string_after(line, "holder_name"), hostile);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_CHILD_DEADLOCK;
	strcpy(ev.deadlock.holder_name, hostile);
	strcpy(ev.deadlock.lock_object, hostile);
	ev.deadlock.stack = ev.deadlock.holder_stack = st;
	line = json_of(&ev);
	CHECK(parses(line));
	CHECK_STR(string_after(line, "lock_object"), hostile);
	stack_free(st);
}

/* The reader above refuses what is not JSON: a check that can fail. */
TEST(json_reader_refuses_broken_lines)
{
	CHECK(parses("{\"a\":[1,{\"b\":\"c\\u00e9\"}],\"d\":true}\n"));
	CHECK(!parses("{\"a\":\"x\ny\"}\n"));
	CHECK(!parses("{\"a\":\"\xff\"}\n"));
	CHECK(!parses("{\"a\":\"\\x41\"}\n"));
	CHECK(!parses("{\"a\":1,}\n"));
	CHECK(!parses("{\"a\":1}"));
}

/* More threads than an event lists: the attach event says how many it left out. */
TEST(json_attach_threads_omitted)
{
	static struct event ev;
	const char *line;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ATTACH;
	ev.pid = 9;
	ev.attach.threads.count = 1;
	ev.attach.threads.total = 201;
	ev.attach.threads.t[0].tid = 9;
	strcpy(ev.attach.threads.t[0].comm, "python3");
	ev.attach.locks = "scan";
	line = json_of(&ev);
	CHECK(strstr(line, "\"threads\":[{\"tid\":9,\"comm\":\"python3\"}],\"threads_omitted\":200,"
			   "\"locks\":\"scan\"") != NULL);
}
