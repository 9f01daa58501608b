/* `forktrace check`: try each thing forktrace needs and say what is missing. */
#include <stdio.h>
#include <sys/utsname.h>
#include "cli/check.h"
#include "kernel/host.h"
#include "out/json.h"
#include "out/strbuf.h"

#ifndef FT_VERSION
#define FT_VERSION "dev"
#endif

struct check {
	const char *name;  /* for --json */
	const char *label; /* for people */
	bool ok;
	char detail[256];
};

enum { CHECK_ROOT, CHECK_BTF, CHECK_LOAD, CHECK_UPROBE, CHECK_PROC_MEM, CHECK__COUNT };

static void set(struct check *c, const char *name, const char *label, bool ok, const char *detail)
{
	*c = (struct check){ .name = name, .label = label, .ok = ok };
	snprintf(c->detail, sizeof(c->detail), "%s", detail);
}

/* Tries everything; true when tracing can work (root, BTF, and the programs load). */
static bool run_checks(struct check *c)
{
	bool root = host_is_root(), btf = host_has_btf(), uprobe = host_has_uprobes();
	struct check *load = &c[CHECK_LOAD];

	set(&c[CHECK_ROOT], "root", "root", root, root ? "yes" : "no: run 'sudo forktrace check'");
	set(&c[CHECK_BTF], "kernel_btf", "kernel BTF", btf,
	    btf ? HOST_BTF_PATH : "missing: needs CONFIG_DEBUG_INFO_BTF=y");
	set(load, "bpf_load", "tp_btf tracepoints + ringbuf", false, "needs root");
	if (root && btf && host_try_load(load->detail, sizeof(load->detail)) == 0)
		set(load, load->name, load->label, true, "fork, exec, exit, task_rename load");
	set(&c[CHECK_UPROBE], "uprobes", "uprobes (--locks=uprobe)", uprobe,
	    uprobe ? "uprobe PMU present" : "no uprobe PMU: --locks=uprobe unavailable");
	set(&c[CHECK_PROC_MEM], "proc_mem", "/proc/PID/mem (scan mode)", true,
	    "read with pread; needs root");
	return root && btf && load->ok;
}

static void print_human(const struct utsname *u, const struct check *c)
{
	printf("forktrace %s on Linux %s (%s)\n", FT_VERSION, u->release, u->machine);
	for (int i = 0; i < CHECK__COUNT; i++)
		printf("  %-4s %-28s %s\n", c[i].ok ? "ok" : "no", c[i].label, c[i].detail);
}

/* One object: {"version", "kernel", "machine", "checks": [{"name", "ok", "detail"}...], "ok"}. */
static void print_json(const struct utsname *u, const struct check *c, bool ok)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_puts(&sb, "{\"version\":");
	json_string(&sb, FT_VERSION);
	sb_puts(&sb, ",\"kernel\":");
	json_string(&sb, u->release);
	sb_puts(&sb, ",\"machine\":");
	json_string(&sb, u->machine);
	sb_puts(&sb, ",\"checks\":[");
	for (int i = 0; i < CHECK__COUNT; i++) {
		sb_printf(&sb, "%s{\"name\":\"%s\",\"ok\":%s,\"detail\":", i ? "," : "", c[i].name,
			  c[i].ok ? "true" : "false");
		json_string(&sb, c[i].detail);
		sb_putc(&sb, '}');
	}
	sb_printf(&sb, "],\"ok\":%s}\n", ok ? "true" : "false");
	if (!sb.oom)
		fwrite(sb.s, 1, sb.len, stdout);
	sb_free(&sb);
}

int check_run(const struct options *opts)
{
	struct check c[CHECK__COUNT];
	struct utsname u;
	bool ok;

	uname(&u);
	ok = run_checks(c);
	if (opts->format == FORMAT_JSON)
		print_json(&u, c, ok);
	else
		print_human(&u, c);
	return ok ? 0 : 1;
}
