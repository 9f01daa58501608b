/* Events as InfluxDB line protocol; the schema is in docs/influx.md. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "out/lineproto.h"
#include "out/utf8.h"

/* An append-only view of the caller's buffer; overflow is sticky. */
struct lp_out {
	char *buf;
	size_t size, len;
	bool full;
	int nfields;
};

/* Which part of a line a string goes into decides what must be escaped. */
enum lp_part { PART_MEASUREMENT, PART_KEY, PART_STRING };

static void put(struct lp_out *o, const char *s, size_t n)
{
	/* keep room for the NUL so the buffer is always a C string */
	if (o->full || o->len + n + 1 > o->size) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put_str(struct lp_out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A byte no part of a line can carry as is, written as visible text. */
static void put_visible(struct lp_out *o, unsigned char c)
{
	char tmp[8];

	switch (c) {
	case '\n': put_str(o, "\\n"); return;
	case '\r': put_str(o, "\\r"); return;
	case '\t': put_str(o, "\\t"); return;
	}
	snprintf(tmp, sizeof(tmp), "\\x%02x", c);
	put_str(o, tmp);
}

static bool needs_backslash(enum lp_part part, char c)
{
	switch (part) {
	case PART_MEASUREMENT: return c == ',' || c == ' ';
	case PART_KEY: return c == ',' || c == '=' || c == ' ';
	case PART_STRING: return c == '"';
	}
	return false;
}

/*
 * The one place untrusted text enters a line. A backslash in a name is
 * written as "\x5c" rather than "\\": InfluxDB 1.x reads "\\," as a backslash
 * and an escaped comma, the 2.x/3.x reference as an escaped backslash and
 * the end of the tag; and no form of a trailing backslash parses in 1.x.
 */
static void put_escaped_max(struct lp_out *o, const char *s, enum lp_part part, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t used = 0;

	while (*p) {
		int n = utf8_seq_len(p);

		if (n == 0 || *p < 0x20 || *p == 0x7f)
			n = 1;
		if ((used += n) > max) {
			put_str(o, "...");
			return;
		}
		if (n == 1 && (*p < 0x20 || *p == 0x7f || *p >= 0x80)) {
			put_visible(o, *p);
		} else if (*p == '\\') {
			put_str(o, part == PART_STRING ? "\\\\" : "\\x5c");
		} else {
			if (n == 1 && needs_backslash(part, *p))
				put(o, "\\", 1);
			put(o, (const char *)p, n);
		}
		p += n;
	}
}

static void put_escaped(struct lp_out *o, const char *s, enum lp_part part)
{
	put_escaped_max(o, s, part, SIZE_MAX);
}

static int escape_to(const char *s, enum lp_part part, char *buf, size_t size)
{
	struct lp_out o = { .buf = buf, .size = size };

	if (size == 0)
		return -1;
	buf[0] = '\0';
	put_escaped(&o, s, part);
	return o.full ? -1 : (int)o.len;
}

int lineproto_escape_measurement(const char *s, char *buf, size_t size)
{
	return escape_to(s, PART_MEASUREMENT, buf, size);
}

int lineproto_escape_key(const char *s, char *buf, size_t size)
{
	return escape_to(s, PART_KEY, buf, size);
}

int lineproto_escape_string(const char *s, char *buf, size_t size)
{
	return escape_to(s, PART_STRING, buf, size);
}

/* InfluxDB rejects empty tag values: an empty tag is left out. */
static void put_tag(struct lp_out *o, const char *key, const char *value)
{
	if (!value || !value[0])
		return;
	put(o, ",", 1);
	put_escaped(o, key, PART_KEY);
	put(o, "=", 1);
	put_escaped(o, value, PART_KEY);
}

/* A comm comes from the kernel and may fill its array without a NUL. */
static void copy_comm(char dst[EV_COMM_LEN + 1], const char *src)
{
	memcpy(dst, src, EV_COMM_LEN);
	dst[EV_COMM_LEN] = '\0';
}

static void put_field_key(struct lp_out *o, const char *key)
{
	if (o->nfields++)
		put(o, ",", 1);
	put_escaped(o, key, PART_KEY);
	put(o, "=", 1);
}

static void put_int_value(struct lp_out *o, int64_t value)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%" PRId64 "i", value);
	put_str(o, tmp);
}

static void lp_int(void *ctx, const char *key, int64_t value)
{
	put_field_key(ctx, key);
	put_int_value(ctx, value);
}

/* 1.x has no unsigned type ("u" is 2.x only): clamp to the signed range. */
static void lp_uint(void *ctx, const char *key, uint64_t value)
{
	lp_int(ctx, key, value > INT64_MAX ? INT64_MAX : (int64_t)value);
}

static void lp_bool(void *ctx, const char *key, bool value)
{
	put_field_key(ctx, key);
	put_str(ctx, value ? "true" : "false");
}

static void lp_str(void *ctx, const char *key, const char *value)
{
	put_field_key(ctx, key);
	put(ctx, "\"", 1);
	put_escaped(ctx, value, PART_STRING);
	put(ctx, "\"", 1);
}

/*
 * A frame's strings are cut at LP_FRAME_STR bytes ("..." then), so that one
 * frame, escaped, always fits a stack field's bound.
 */
#define LP_FRAME_STR 256

/* One frame as text: "func file:line", "module+0xoffset" when that is all. */
static void lp_frame(struct lp_out *o, const struct frame *f)
{
	char num[32];

	if (f->func) {
		put_escaped_max(o, f->func, PART_STRING, LP_FRAME_STR);
	} else if (f->module) {
		put_escaped_max(o, f->module, PART_STRING, LP_FRAME_STR);
		if (f->has_offset) {
			snprintf(num, sizeof(num), "+0x%llx", (unsigned long long)f->offset);
			put_str(o, num);
		}
	} else {
		put_str(o, "?");
	}
	if (f->file) {
		put_str(o, " ");
		put_escaped_max(o, f->file, PART_STRING, LP_FRAME_STR);
		if (f->line > 0) {
			snprintf(num, sizeof(num), ":%d", f->line);
			put_str(o, num);
		}
	}
}

/*
 * A stack's frames as text, each after sep, the innermost first: as many as
 * keep the text since start within LINEPROTO_STACK_MAX (the first frame of
 * the field always, and a frame is at most three cut strings), then
 * "\n(N more)" for the rest. Returns whether every frame was written.
 */
static bool put_frames(struct lp_out *o, const struct stack *st, size_t start, const char *sep)
{
	int i;

	for (i = 0; i < st->count; i++) {
		size_t before = o->len;

		if (o->len - start >= LINEPROTO_STACK_MAX)
			break;
		put_str(o, sep);
		lp_frame(o, &st->frames[i]);
		if (o->len - start > LINEPROTO_STACK_MAX && before > start) {
			o->len = before; /* this frame does not fit: cut before it */
			o->buf[o->len] = 0;
			break;
		}
		sep = "\\n";
	}
	if (i < st->count || st->omitted) {
		char more[48];

		snprintf(more, sizeof(more), "%s(%d more)", i ? "\\n" : "",
			 st->count - i + st->omitted);
		put_str(o, more);
	}
	return i == st->count;
}

/* Frames joined by "\n" written as text: line protocol has no raw newline in a value. */
static void lp_stack(void *ctx, const char *key, const struct stack *st)
{
	struct lp_out *o = ctx;

	put_field_key(o, key);
	put(o, "\"", 1);
	put_frames(o, st, o->len, "");
	put(o, "\"", 1);
}

/*
 * The threads' stacks in one bounded field, KEY_stacks: "TID:" and its
 * frames for each thread that has a stack, threads apart by "\n\n", and
 * "(N more threads)" for those past the bound.
 */
static void lp_thread_stacks(struct lp_out *o, const char *key, const struct thread_list *tl)
{
	char stacks_key[64], head[32];
	size_t start;
	int i, n = tl->count < EV_MAX_THREADS ? tl->count : EV_MAX_THREADS, left = 0;
	bool any = false, full = false;

	for (i = 0; i < n && !any; i++)
		any = tl->t[i].stack != NULL;
	if (!any)
		return;
	snprintf(stacks_key, sizeof(stacks_key), "%s_stacks", key);
	put_field_key(o, stacks_key);
	put(o, "\"", 1);
	start = o->len;
	for (i = 0; i < n; i++) {
		const struct thread_ref *t = &tl->t[i];

		if (!t->stack)
			continue;
		if (full || o->len - start >= LINEPROTO_STACK_MAX) {
			left++;
			continue;
		}
		snprintf(head, sizeof(head), "%s%d:", o->len > start ? "\\n\\n" : "", t->tid);
		put_str(o, head);
		if (t->stack->running)
			put_str(o, " running");
		/* this one was cut: the bound is reached */
		full = !put_frames(o, t->stack, start, "\\n");
	}
	if (left > 0) {
		snprintf(head, sizeof(head), "\\n(%d more threads)", left);
		put_str(o, head);
	}
	put(o, "\"", 1);
}

/*
 * A thread list is two fields, three with stacks: KEY, the number of
 * threads (an integer, like fork's "threads", so the field keeps one type in
 * the measurement), KEY_list, "tid:comm,tid:comm \"name\"" with names
 * verbatim (the Python name where known), and KEY_stacks (above).
 */
static void lp_threads(void *ctx, const char *key, const struct thread_list *tl, bool with_stacks)
{
	struct lp_out *o = ctx;
	char list_key[64];
	int i;

	lp_int(o, key, tl->total > tl->count ? tl->total : tl->count);
	snprintf(list_key, sizeof(list_key), "%s_list", key);
	put_field_key(o, list_key);
	put(o, "\"", 1);
	for (i = 0; i < tl->count && i < EV_MAX_THREADS; i++) {
		char tid[16];
		char comm[EV_COMM_LEN + 1];

		snprintf(tid, sizeof(tid), "%s%d:", i ? "," : "", tl->t[i].tid);
		put_str(o, tid);
		copy_comm(comm, tl->t[i].comm);
		put_escaped(o, comm, PART_STRING);
		if (tl->t[i].name[0]) {
			put_str(o, " \\\"");
			put_escaped(o, tl->t[i].name, PART_STRING);
			put_str(o, "\\\"");
		}
	}
	put(o, "\"", 1);
	if (with_stacks)
		lp_thread_stacks(o, key, tl);
}

static const struct event_visitor lp_visitor = {
	.int_field = lp_int,
	.uint_field = lp_uint,
	.bool_field = lp_bool,
	.str_field = lp_str,
	.threads_field = lp_threads,
	.stack_field = lp_stack,
};

int lineproto_format(const struct event *ev, const char *host, char *buf, size_t size)
{
	struct lp_out o = { .buf = buf, .size = size };
	char comm[EV_COMM_LEN + 1];

	if (size == 0)
		return -1;
	buf[0] = '\0';
	copy_comm(comm, ev->comm);

	put_escaped(&o, LINEPROTO_MEASUREMENT, PART_MEASUREMENT);
	/* tags sorted by key, as InfluxDB prefers */
	put_tag(&o, "comm", comm);
	put_tag(&o, "event", event_kind_name(ev->kind));
	put_tag(&o, "host", host);
	put_tag(&o, "severity", severity_name(ev->severity));
	put(&o, " ", 1);

	lp_int(&o, "pid", ev->pid);
	event_visit(ev, &lp_visitor, &o);

	/* no timestamp: the server's clock (only for an event never stamped) */
	if (ev->time_ns) {
		char ts[32];

		snprintf(ts, sizeof(ts), " %" PRIu64, ev->time_ns);
		put_str(&o, ts);
	}
	put(&o, "\n", 1);
	if (o.full) {
		buf[0] = '\0';
		return -1;
	}
	return (int)o.len;
}

void lineproto_host_tag(char *buf, size_t size)
{
	/* gethostname() need not terminate a name it had to cut */
	if (size == 0)
		return;
	if (gethostname(buf, size - 1) < 0)
		buf[0] = '\0';
	buf[size - 1] = '\0';
}

/* FNV-1a, enough to tell series and timestamps apart in a small window. */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* The tags that vary between events; host and measurement are fixed per run. */
static uint64_t series_of(const struct event *ev)
{
	char comm[EV_COMM_LEN + 1];
	uint64_t h = 0xcbf29ce484222325ULL;

	copy_comm(comm, ev->comm);
	h = fnv(h, &ev->kind, sizeof(ev->kind));
	h = fnv(h, &ev->severity, sizeof(ev->severity));
	return fnv(h, comm, strlen(comm));
}

static bool stamp_seen(const struct lineproto_stamps *st, uint64_t key)
{
	for (int i = 0; i < LINEPROTO_STAMPS; i++)
		if (st->seen[i] == key)
			return true;
	return false;
}

uint64_t lineproto_unique_time(struct lineproto_stamps *st, const struct event *ev)
{
	uint64_t series = series_of(ev), t = ev->time_ns, key;

	if (!t)
		return 0;
	/* "| 1": an empty slot is 0 */
	while (stamp_seen(st, key = fnv(series, &t, sizeof(t)) | 1))
		t++;
	st->seen[st->next] = key;
	st->next = (st->next + 1) % LINEPROTO_STAMPS;
	return t;
}
