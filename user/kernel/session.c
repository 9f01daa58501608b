/*
 * The BPF side of a session. libbpf's own log is shown only with --debug:
 * every failure becomes one line saying what to do.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "forktrace.h"
#include "proc.skel.h"
#include "kernel/session.h"
#include "kernel/task_regs.h"
#include "kernel/uprobes.h"

struct session {
	struct proc_bpf *proc;
	struct uprobes *uprobes; /* --locks=uprobe only */
	struct task_regs *regs;	 /* --stacks: blocked threads' registers */
	struct ring_buffer *rb;
};

static bool debug_log;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!debug_log || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static const char *load_hint(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return "run as root (sudo); under kernel lockdown BPF tracing may be forbidden";
	case ENOENT:
	case ESRCH: return "this kernel lacks a tracepoint forktrace needs; run 'forktrace check'";
	case ENOMEM:
		return "the kernel could not allocate BPF memory; check the cgroup's memory limit";
	default: return "run 'forktrace check', or retry with --debug for libbpf's log";
	}
}

/* The lock probes share the lifecycle programs' maps and ring buffer. */
static int open_uprobes(struct session *s, bool callers)
{
	char err[512];

	s->uprobes = uprobes__open(bpf_map__fd(s->proc->maps.traced),
				   bpf_map__fd(s->proc->maps.held_locks),
				   bpf_map__fd(s->proc->maps.events), callers, err, sizeof(err));
	if (!s->uprobes) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/* Opens and loads the lifecycle programs: 0, or an errno with *step said. */
static int load_proc(struct session *s, const struct session_config *cfg, unsigned stacks_mode,
		     bool scan_regs, const char **step)
{
	*step = "open";
	s->proc = proc_bpf__open();
	if (!s->proc)
		return errno ? errno : ENOMEM;
	s->proc->rodata->trace_all = cfg->trace_all;
	s->proc->rodata->lock_uprobes = cfg->lock_uprobes;
	s->proc->rodata->py_stacks_all = cfg->py_stacks_all;
	s->proc->rodata->stacks_mode = stacks_mode;
	s->proc->rodata->stack_pages = cfg->stack_pages;
	s->proc->rodata->stack_threads = cfg->stack_threads;
	s->proc->rodata->scan_regs = scan_regs;
	/* one stack-copy slot per CPU; one is enough when nothing is copied */
	if (stacks_mode && libbpf_num_possible_cpus() > 0)
		bpf_map__set_max_entries(s->proc->maps.fork_stack_buf, libbpf_num_possible_cpus());
	*step = "load";
	return -proc_bpf__load(s->proc);
}

struct session *session__open(const struct session_config *cfg, ring_buffer_sample_fn on_record,
			      void *ctx)
{
	struct session *s = calloc(1, sizeof(*s));
	const char *step = "open";
	int err;

	if (!s) {
		fprintf(stderr, "forktrace: cannot allocate memory\n");
		return NULL;
	}
	debug_log = cfg->debug;
	libbpf_set_print(libbpf_log);

	err = load_proc(s, cfg, cfg->stacks_mode, cfg->scan_regs, &step);
	/* the native-stack code needs a newer kernel than the rest (task
	 * iterator kfuncs): without it, trace without native stacks (and
	 * without the registers that corroborate the lock scan) */
	if (err && err != EPERM && err != EACCES && (cfg->stacks_mode || cfg->scan_regs)) {
		proc_bpf__destroy(s->proc);
		s->proc = NULL;
		if (!(err = load_proc(s, cfg, FSTACKS_OFF, false, &step)))
			fprintf(stderr,
				"forktrace: this kernel cannot run the native-stack programs —"
				" tracing without native stacks (--debug shows why)\n");
	}
	if (err)
		goto fail;
	step = "attach";
	err = -proc_bpf__attach(s->proc);
	if (err)
		goto fail;
	if (cfg->lock_uprobes && open_uprobes(s, cfg->stacks_mode != FSTACKS_OFF))
		goto fail_quiet;
	/* without it, blocked threads unwind from /proc's sp and pc alone */
	if (cfg->stacks_mode) {
		char why[256];

		s->regs = task_regs__open(why, sizeof(why));
	}
	step = "set up the ring buffer of";
	s->rb = ring_buffer__new(bpf_map__fd(s->proc->maps.events), on_record, ctx, NULL);
	if (!s->rb) {
		err = errno;
		goto fail;
	}
	return s;
fail:
	fprintf(stderr, "forktrace: cannot %s the BPF programs: %s — %s\n", step, strerror(err),
		load_hint(err));
fail_quiet:
	session__close(s);
	return NULL;
}

int session__trace(struct session *s, int pid)
{
	struct traced_proc tp = { 0 };
	__u32 key = pid;

	if (bpf_map_update_elem(bpf_map__fd(s->proc->maps.traced), &key, &tp, BPF_ANY)) {
		fprintf(stderr, "forktrace: cannot trace pid %d: %s\n", pid, strerror(errno));
		return -1;
	}
	return 0;
}

int session__set_py_layout(struct session *s, int pid, const struct py_bpf_layout *l)
{
	__u32 key = pid;

	return bpf_map_update_elem(bpf_map__fd(s->proc->maps.py_layouts), &key, l, BPF_ANY);
}

int session__trace_found(struct session *s, int pid)
{
	struct traced_proc tp = { 0 };
	__u32 key = pid;

	if (bpf_map_update_elem(bpf_map__fd(s->proc->maps.traced), &key, &tp, BPF_NOEXIST) == 0)
		return 0;
	if (errno == EEXIST)
		return 1;
	fprintf(stderr, "forktrace: cannot trace pid %d: %s\n", pid, strerror(errno));
	return -1;
}

void session__clear_py_layout(struct session *s, int pid)
{
	__u32 key = pid;

	bpf_map_delete_elem(bpf_map__fd(s->proc->maps.py_layouts), &key);
}

void session__untrace(struct session *s, int pid)
{
	__u32 key = pid;

	bpf_map_delete_elem(bpf_map__fd(s->proc->maps.traced), &key);
	bpf_map_delete_elem(bpf_map__fd(s->proc->maps.py_layouts), &key);
}

int session__each_traced(struct session *s, session_traced_fn fn, void *ctx)
{
	int fd = bpf_map__fd(s->proc->maps.traced), n = 0, cap = 1024;
	__u32 *keys = malloc(cap * sizeof(*keys)), key, *prev = NULL;
	struct traced_proc tp;

	if (!keys)
		return -1;
	/* the keys first: fn may delete, which would derail the walk */
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		if (n == cap) {
			__u32 *more = realloc(keys, 2 * cap * sizeof(*keys));

			if (!more) {
				free(keys);
				return -1;
			}
			keys = more;
			cap *= 2;
		}
		keys[n] = key;
		prev = &keys[n++];
	}
	for (int i = 0; i < n; i++)
		if (bpf_map_lookup_elem(fd, &keys[i], &tp) == 0)
			fn(ctx, (int)keys[i], (int)tp.parent_pid, tp.fork_ts,
			   tp.flags & PROC_FORKED);
	free(keys);
	return 0;
}

int session__poll(struct session *s, int timeout_ms, int also_fd)
{
	struct pollfd fds[2] = { { .fd = ring_buffer__epoll_fd(s->rb), .events = POLLIN },
				 { .fd = also_fd, .events = POLLIN } };
	int n;

	if (also_fd < 0) {
		n = ring_buffer__poll(s->rb, timeout_ms);
		return n == -EINTR ? 0 : n;
	}
	/* the ring buffer's epoll descriptor is readable when a ring has data */
	n = poll(fds, 2, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (!(fds[0].revents & POLLIN))
		return 0;
	n = ring_buffer__consume(s->rb);
	return n == -EINTR ? 0 : n;
}

void session__drops(const struct session *s, struct session_drops *d)
{
	const struct drop_counts *k = &s->proc->bss->drops;

	d->ring_buffer = k->ringbuf_full;
	d->traced_map = k->map_full;
	d->lock_map = s->uprobes ? uprobes__dropped(s->uprobes) : 0;
}

void session__close(struct session *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	task_regs__free(s->regs);
	uprobes__free(s->uprobes);
	proc_bpf__destroy(s->proc);
	free(s);
}

struct uprobes *session__uprobes(struct session *s)
{
	return s->uprobes;
}

int session__thread_regs(struct session *s, int tid, uint64_t *regs)
{
	return s && s->regs && task_regs__read(s->regs, tid, regs) == 0 ? 0 : -1;
}
