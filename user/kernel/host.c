/* The host's support for the BPF side (see host.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "forktrace.h"
#include "kernel/host.h"
#include "proc.skel.h"

bool host_is_root(void)
{
	return geteuid() == 0;
}

bool host_has_btf(void)
{
	return access(HOST_BTF_PATH, R_OK) == 0;
}

bool host_has_uprobes(void)
{
	return access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
}

int host_check(char *why, size_t len)
{
	if (!host_is_root()) {
		snprintf(why, len, "must run as root to load BPF programs — use sudo");
		return -1;
	}
	if (!host_has_btf()) {
		snprintf(why, len,
			 "this kernel exposes no BTF (" HOST_BTF_PATH ") —"
			 " forktrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return -1;
	}
	return 0;
}

static int quiet_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

int host_try_load(char *why, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet_log);
	struct proc_bpf *skel = proc_bpf__open();
	int err = -1;

	if (!skel) {
		snprintf(why, len, "cannot open: %s", strerror(errno));
		goto cleanup;
	}
	err = proc_bpf__load(skel);
	if (err)
		snprintf(why, len, "load failed: %s", strerror(-err));
	proc_bpf__destroy(skel);
cleanup:
	libbpf_set_print(old);
	return err ? -1 : 0;
}
