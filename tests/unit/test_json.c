/* JSON writer: escaping of untrusted names and the exact field layout. */
#include <string.h>
#include "out/event.h"
#include "out/human.h"
#include "out/json.h"
#include "out/strbuf.h"
#include "unit.h"

static const struct human_opts plain;   /* no colour, the first frames */

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
	CHECK_STR(escaped(&sb, "a\xff" "b"), "\"a\\u00ffb\"");
	sb_free(&sb);
	/* an overlong encoding of '/' and a lone continuation byte */
	CHECK_STR(escaped(&sb, "\xc0\xaf\x80"), "\"\\u00c0\\u00af\\u0080\"");
	sb_free(&sb);
	/* a sequence cut short by the end of the string */
	CHECK_STR(escaped(&sb, "\xe2\x82"), "\"\\u00e2\\u0082\"");
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
	CHECK(strstr(sb.s, "\"threads\":[{\"tid\":3,\"comm\":\"a,\\\"b\\\"\"},{\"tid\":4,\"comm\":\"\\n\"}]}") != NULL);
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
	static const char *const names[] = { NULL, "limit", "time", "busy", "exec", "exit", "unreadable" };
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
		snprintf(want, sizeof(want), ",\"scan_complete\":false,\"reason\":\"%s\"}\n", names[r]);
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
	CHECK(strstr(sb.s, "LOST 7 kernel records (ring buffer full): the report above is incomplete\n") != NULL);
	sb_free(&sb);
	ev.lost.what = LOST_NONE;
	sb_init(&sb);
	out_human_format(&sb, &ev, &plain);
	CHECK(strstr(sb.s, "LOST 7 kernel records: the report above is incomplete\n") != NULL);
	sb_free(&sb);
}
