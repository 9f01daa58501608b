/*
 * Making one uprobe link, of either kind: a uprobe_multi link (6.6+: many
 * offsets of one file in one link, made with a raw BPF_LINK_CREATE since
 * libbpf 1.1 cannot) or a perf-event uprobe (one offset per link).
 */
#ifndef FT_UPROBE_LINK_H
#define FT_UPROBE_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "kernel/link_reaper.h"

#define UPROBE_ATTACH_MULTI 48 /* BPF_TRACE_UPROBE_MULTI (6.6); not in 6.1's uapi */

/* Does the running kernel have uprobe_multi links? */
bool uprobe_link_multi_supported(void);

/* PROG (loaded with expected attach type UPROBE_ATTACH_MULTI) at cnt offsets
 * of PATH, for PID only, each with its cookie; at their returns if ret.
 * The link's fd, or -errno. */
int uprobe_link_multi(struct bpf_program *prog, int pid, const char *path, const uint64_t *offs,
		      const uint64_t *cookies, uint32_t cnt, bool ret);

/* PROG at one offset of PATH for PID (its return if ret): 0 with *out
 * filled, or -errno. */
int uprobe_link_perf(struct bpf_program *prog, int pid, const char *path, uint64_t off,
		     uint64_t cookie, bool ret, struct linkref *out);

#endif /* FT_UPROBE_LINK_H */
