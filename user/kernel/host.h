/* Whether this host can run forktrace's BPF side: the one home of the checks
 * that tracing makes before it starts and `forktrace check` reports. */
#ifndef FT_HOST_H
#define FT_HOST_H

#include <stdbool.h>
#include <stddef.h>

#define HOST_BTF_PATH "/sys/kernel/btf/vmlinux"

bool host_is_root(void);
/* The kernel's own BTF, which CO-RE and tp_btf programs need. */
bool host_has_btf(void);
/* The uprobe PMU, which --locks=uprobe needs. */
bool host_has_uprobes(void);

/*
 * Root and kernel BTF: 0, or -1 with why holding what is missing and what
 * to do, e.g. "must run as root to load BPF programs — use sudo" (print it
 * after "forktrace: ").
 */
int host_check(char *why, size_t len);

/*
 * Loads the lifecycle programs (tp_btf tracepoints, ring buffer, maps)
 * without attaching them, then unloads them; libbpf's log is silenced
 * meanwhile. 0, or -1 with why holding "cannot open: ..." or "load failed: ...".
 */
int host_try_load(char *why, size_t len);

#endif /* FT_HOST_H */
