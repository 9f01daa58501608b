/* The --json writer: one JSON object per event, one line, written whole. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include "out/event.h"
#include "out/json.h"
#include "out/strbuf.h"

struct json_ctx {
	struct strbuf *sb;
};

static void key(struct strbuf *sb, const char *k)
{
	sb_puts(sb, ",\"");
	sb_puts(sb, k);
	sb_puts(sb, "\":");
}

static void j_int(void *c, const char *k, int64_t v)
{
	struct strbuf *sb = ((struct json_ctx *)c)->sb;

	key(sb, k);
	sb_printf(sb, "%" PRId64, v);
}

static void j_uint(void *c, const char *k, uint64_t v)
{
	struct strbuf *sb = ((struct json_ctx *)c)->sb;

	key(sb, k);
	sb_printf(sb, "%" PRIu64, v);
}

static void j_bool(void *c, const char *k, bool v)
{
	struct strbuf *sb = ((struct json_ctx *)c)->sb;

	key(sb, k);
	sb_puts(sb, v ? "true" : "false");
}

static void j_str(void *c, const char *k, const char *v)
{
	struct strbuf *sb = ((struct json_ctx *)c)->sb;

	key(sb, k);
	json_string(sb, v);
}

/* SPEC's frame objects: unknown fields are left out, lang always said. */
static void stack_value(struct strbuf *sb, const struct stack *st)
{
	sb_putc(sb, '[');
	for (int i = 0; i < st->count; i++) {
		const struct frame *f = &st->frames[i];
		bool first = true;

		sb_puts(sb, i ? ",{" : "{");
#define FIELD(name)                                                      \
	do {                                                             \
		sb_puts(sb, first ? "\"" name "\":" : ",\"" name "\":"); \
		first = false;                                           \
	} while (0)
		if (f->func) {
			FIELD("func");
			json_string(sb, f->func);
		}
		if (f->file) {
			FIELD("file");
			json_string(sb, f->file);
		}
		if (f->line > 0) {
			FIELD("line");
			sb_printf(sb, "%d", f->line);
		}
		if (f->module) {
			FIELD("module");
			json_string(sb, f->module);
		}
		if (f->has_offset) {
			FIELD("offset");
			sb_printf(sb, "\"0x%llx\"", (unsigned long long)f->offset);
		}
		FIELD("lang");
		sb_puts(sb, f->lang == FRAME_PYTHON ? "\"python\"" : "\"c\"");
#undef FIELD
		sb_putc(sb, '}');
	}
	sb_putc(sb, ']');
}

static void j_threads(void *c, const char *k, const struct thread_list *tl, bool with_stacks)
{
	struct strbuf *sb = ((struct json_ctx *)c)->sb;

	key(sb, k);
	sb_putc(sb, '[');
	for (int i = 0; i < tl->count && i < EV_MAX_THREADS; i++) {
		const struct thread_ref *t = &tl->t[i];

		sb_printf(sb, "%s{\"tid\":%d,\"comm\":", i ? "," : "", t->tid);
		json_string(sb, t->comm);
		if (t->name[0]) {
			sb_puts(sb, ",\"name\":");
			json_string(sb, t->name);
		}
		if (with_stacks && t->stack) {
			sb_puts(sb, ",\"stack\":");
			stack_value(sb, t->stack);
		}
		sb_putc(sb, '}');
	}
	sb_putc(sb, ']');
}

static void j_stack(void *c, const char *k, const struct stack *st)
{
	struct strbuf *sb = ((struct json_ctx *)c)->sb;

	key(sb, k);
	stack_value(sb, st);
}

static const struct event_visitor json_visitor = {
	.int_field = j_int,
	.uint_field = j_uint,
	.bool_field = j_bool,
	.str_field = j_str,
	.threads_field = j_threads,
	.stack_field = j_stack,
};

void format_rfc3339(uint64_t ns, char *buf, size_t size)
{
	time_t secs = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRIu64 "Z", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (uint64_t)(ns % 1000000000ULL));
}

void out_json_format(struct strbuf *sb, const struct event *ev)
{
	struct json_ctx ctx = { sb };
	char when[48];

	format_rfc3339(ev->time_ns, when, sizeof(when));
	sb_printf(sb, "{\"time\":\"%s\",\"event\":\"%s\",\"severity\":\"%s\",\"pid\":%d,\"comm\":",
		  when, event_kind_name(ev->kind), severity_name(ev->severity), ev->pid);
	json_string(sb, ev->comm);
	event_visit(ev, &json_visitor, &ctx);
	sb_puts(sb, "}\n");
}

void out_json_write(FILE *f, const struct event *ev)
{
	struct strbuf sb;

	sb_init(&sb);
	out_json_format(&sb, ev);
	if (!sb.oom)
		fwrite(sb.s, 1, sb.len, f);
	sb_free(&sb);
}
