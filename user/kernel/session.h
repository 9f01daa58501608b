/*
 * The BPF side of a tracing session: open, load, attach, poll, detach. The
 * only part that touches the lifecycle skeleton; records are handed to the
 * callback it is given, undecoded.
 */
#ifndef FT_SESSION_H
#define FT_SESSION_H

#include <stdint.h>
#include <stdbool.h>
#include <bpf/libbpf.h>

struct session;
struct uprobes;

struct session_config {
	bool trace_all;	    /* -a: every process, no traced-map lookup */
	bool lock_uprobes;  /* --locks=uprobe: the lock programs too */
	bool debug;	    /* libbpf's own log on stderr */
	bool py_stacks_all; /* --stacks=all: every Python fork copies its frames */
	/* native stacks at forks (enum fork_stacks_mode): the other threads'
	 * registers (at most stack_threads) and stack_pages of the forker's */
	unsigned stacks_mode, stack_pages, stack_threads;
	bool scan_regs; /* --locks=scan: the other threads' registers at every threaded fork */
};

/* Loads and attaches the programs. NULL after one line on stderr. */
struct session *session__open(const struct session_config *cfg, ring_buffer_sample_fn on_record,
			      void *ctx);
/* Starts tracing a process (and, through the kernel, its descendants). */
int session__trace(struct session *s, int pid);
/* Python support: where pid's interpreter keeps its threads and frames, so
 * the fork tracepoint copies the forking thread's frames. 0 or -1 (errno).
 * Forked children inherit it; an exec or the exit forgets it. */
struct py_bpf_layout;
int session__set_py_layout(struct session *s, int pid, const struct py_bpf_layout *l);
void session__clear_py_layout(struct session *s, int pid);
/* A process found in a walk of the tree: traced from now on, 0; or 1 when the
 * kernel side traces it already (it was forked by a traced process since: its
 * fork record is on its way); -1 after a line on stderr. */
int session__trace_found(struct session *s, int pid);
/* Stops tracing a process that is gone (found in a walk, then vanished). */
void session__untrace(struct session *s, int pid);
/* Calls fn for each process the kernel side traces now (its traced map):
 * forked is false for a root target; fork_ts is CLOCK_MONOTONIC ns. fn may
 * untrace. 0, or -1 (out of memory). */
typedef void (*session_traced_fn)(void *ctx, int pid, int parent_pid, uint64_t fork_ts,
				  bool forked);
int session__each_traced(struct session *s, session_traced_fn fn, void *ctx);
/* Waits up to timeout_ms for records, or for also_fd to be readable (-1:
 * none), and hands each record to on_record. Records handed, or -errno. */
int session__poll(struct session *s, int timeout_ms, int also_fd);
/* What the kernel side could not deliver so far, by where it was lost. */
struct session_drops {
	uint64_t ring_buffer; /* records: the ring buffer was full */
	uint64_t traced_map;  /* new processes not traced: the traced map was full */
	uint64_t lock_map;    /* uprobe mode: locks taken but not recorded (map full) */
};
void session__drops(const struct session *s, struct session_drops *d);
/* The lock probes (--locks=uprobe), NULL in every other mode. */
struct uprobes *session__uprobes(struct session *s);
/* --stacks: the saved user registers of blocked thread tid (FT_NREGS, DWARF
 * order): 0, or -1 (on a CPU, gone, or not readable here). */
int session__thread_regs(struct session *s, int tid, uint64_t *regs);
/* Detaches everything; NULL-safe. */
void session__close(struct session *s);

#endif
