/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every forktrace BPF object shares: the traced-process map, the
 * ring buffer, the drop counters and the one filter every program calls
 * first. Each object defines these; user space makes them one by reusing
 * the first object's map fds (bpf_map__reuse_fd) before loading the rest.
 */
#ifndef COMMON_BPF_H
#define COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "forktrace.h"

#define MAX_TRACED 65536

/* Set by user space between open and load. */
const volatile bool trace_all = false;
/* --locks=uprobe: locks.bpf.c fills held_locks; forks report them. */
const volatile bool lock_uprobes = false;
/* --stacks=all: a Python process's every fork carries its forking frames. */
const volatile bool py_stacks_all = false;
/* --stacks with --locks=uprobe: record where each lock is taken. */
const volatile bool lock_callers = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TRACED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct traced_proc);
} traced SEC(".maps");

/* uprobe mode only: locks held now by traced processes (locks.bpf.c). */
#define MAX_HELD_LOCKS 65536
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_HELD_LOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct held_lock_key);
	__type(value, struct held_lock_val);
} held_locks SEC(".maps");

/* Python support: traced CPython processes' layouts (see struct py_bpf_layout). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct py_bpf_layout);
} py_layouts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* One slot; each object counts its own, user space adds them up. */
struct drop_counts drops = {};

static __always_inline void count_ringbuf_full(void)
{
	__sync_fetch_and_add(&drops.ringbuf_full, 1);
}

/*
 * The filter: is this process traced? Called first by every program so
 * that an untraced process costs one hash lookup (none with -a).
 */
static __always_inline struct traced_proc *trace_lookup(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced, &tgid);
}

static __always_inline bool trace_allowed(__u32 tgid)
{
	return trace_all || trace_lookup(tgid);
}

/* Fill the header every record starts with, for the current task. */
static __always_inline void fill_hdr(struct rec_hdr *h, __u32 type, struct task_struct *task)
{
	h->type = type;
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->flags = 0;
	h->ts = bpf_ktime_get_ns();
	BPF_CORE_READ_STR_INTO(&h->comm, task, group_leader, comm);
	BPF_CORE_READ_STR_INTO(&h->tcomm, task, comm);
}

#endif /* COMMON_BPF_H */
