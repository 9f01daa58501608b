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
	const char *name;    /* for --json */
	const char *label;   /* for people */
	bool ok;
	char detail[256];
};

enum { CHECK_ROOT, CHECK_BTF, CHECK_LOAD, CHECK_UPROBE, CHECK_PROC_MEM, CHECK__COUNT };

/* Tries everything; true when tracing can work (root, BTF, and the programs load). */
static bool run_checks(struct check *c)
{
	c[CHECK_ROOT] = (struct check){ "root", "root", host_is_root(), "" };
	snprintf(c[CHECK_ROOT].detail, sizeof(c[CHECK_ROOT].detail), "%s",
		 c[CHECK_ROOT].ok ? "yes" : "no: run 'sudo forktrace check'");
	c[CHECK_BTF] = (struct check){ "kernel_btf", "kernel BTF", host_has_btf(), "" };
	snprintf(c[CHECK_BTF].detail, sizeof(c[CHECK_BTF].detail), "%s",
		 c[CHECK_BTF].ok ? HOST_BTF_PATH : "missing: needs CONFIG_DEBUG_INFO_BTF=y");
	c[CHECK_LOAD] = (struct check){ "bpf_load", "tp_btf tracepoints + ringbuf", false, "needs root" };
	if (c[CHECK_ROOT].ok && c[CHECK_BTF].ok)
		c[CHECK_LOAD].ok = host_try_load(c[CHECK_LOAD].detail, sizeof(c[CHECK_LOAD].detail)) == 0;
	if (c[CHECK_LOAD].ok)
		snprintf(c[CHECK_LOAD].detail, sizeof(c[CHECK_LOAD].detail), "fork, exec, exit, task_rename load");
	c[CHECK_UPROBE] = (struct check){ "uprobes", "uprobes (--locks=uprobe)", host_has_uprobes(), "" };
	snprintf(c[CHECK_UPROBE].detail, sizeof(c[CHECK_UPROBE].detail), "%s",
		 c[CHECK_UPROBE].ok ? "uprobe PMU present" : "no uprobe PMU: --locks=uprobe unavailable");
	c[CHECK_PROC_MEM] = (struct check){ "proc_mem", "/proc/PID/mem (scan mode)", true,
					    "read with pread; needs root" };
	return c[CHECK_ROOT].ok && c[CHECK_BTF].ok && c[CHECK_LOAD].ok;
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
