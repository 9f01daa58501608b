/* `forktrace check`: try each thing forktrace needs and say what is missing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "cli/check.h"
#include "forktrace.h"
#include "proc.skel.h"

static int quiet_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

static void line(bool ok, const char *what, const char *detail)
{
	printf("  %-4s %-28s %s\n", ok ? "ok" : "no", what, detail);
}

/* Loads (without attaching) the lifecycle programs: tp_btf, ring buffer, maps. */
static int try_load(char *why, size_t size)
{
	struct proc_bpf *skel = proc_bpf__open();
	int err;

	if (!skel) {
		snprintf(why, size, "cannot open: %s", strerror(errno));
		return -1;
	}
	err = proc_bpf__load(skel);
	if (err)
		snprintf(why, size, "load failed: %s", strerror(-err));
	proc_bpf__destroy(skel);
	return err ? -1 : 0;
}

int check_run(const struct options *opts)
{
	struct utsname u;
	bool root = geteuid() == 0;
	bool btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	bool uprobe = access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
	bool loads = false;
	char why[256] = "needs root";

	(void)opts;
	libbpf_set_print(quiet_log);
	uname(&u);
	printf("forktrace %s on Linux %s (%s)\n", FT_VERSION, u.release, u.machine);
	line(root, "root", root ? "yes" : "no: run 'sudo forktrace check'");
	line(btf, "kernel BTF", btf ? "/sys/kernel/btf/vmlinux" : "missing: needs CONFIG_DEBUG_INFO_BTF=y");
	if (root && btf)
		loads = try_load(why, sizeof(why)) == 0;
	line(loads, "tp_btf tracepoints + ringbuf", loads ? "fork, exec, exit, task_rename load" : why);
	line(uprobe, "uprobes (--locks=uprobe)", uprobe ? "uprobe PMU present" : "no uprobe PMU: --locks=uprobe unavailable");
	line(true, "/proc/PID/mem (scan mode)", "read with pread; needs root");
	return root && btf && loads ? 0 : 1;
}
