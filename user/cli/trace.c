/*
 * A tracing session from start to end: start or find the targets, load the
 * BPF side, feed its records to the model until every target is gone (or
 * -d, or a signal), then detach and summarise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli/configs.h"
#include "cli/dispatch.h"
#include "cli/launcher.h"
#include "cli/report_cmd.h"
#include "cli/targets.h"
#include "cli/trace.h"
#include "kernel/host.h"
#include "kernel/lock_follow.h"
#include "kernel/session.h"
#include "model/model.h"
#include "out/output.h"
#include "proc/procfs.h"
#include "report/report.h"
#include "util/clock.h"

#define POLL_MS_MAX 100
/* after a loss, how long an exit record in flight has to arrive */
#define REAP_INTERVAL_NS (200ULL * 1000 * 1000)

_Static_assert(STACK_THREADS_MAX == FT_STACK_THREADS &&
		       STACK_COPY_MAX == FT_STACK_PAGES_MAX * FT_STACK_PAGE &&
		       STACK_COPY_MIN == FT_STACK_PAGE,
	       "--stack-threads and --stack-size are bounded by the kernel side's records");

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a signal must interrupt the poll */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a hang-up detaches as cleanly, and the command gets it as from a shell */
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void emit_to_output(void *ctx, struct event *ev)
{
	output__emit(ctx, ev);
}

/* The model recognized a CPython (l), or forgets one (l NULL): the fork
 * tracepoint copies the forking thread's frames. A failure is said once. */
static void tell_py_layout(void *ctx, int pid, const struct py_bpf_layout *l)
{
	struct session *s = *(struct session **)ctx;
	static bool said;

	if (!s)
		return;
	if (!l) {
		session__clear_py_layout(s, pid);
		return;
	}
	if (session__set_py_layout(s, pid, l) && !said) {
		said = true;
		fprintf(stderr,
			"forktrace: cannot follow pid %d's Python frames at its forks: %s —"
			" later Python processes may not be followed either\n",
			pid, strerror(errno));
	}
}

/* A blocked thread's registers, for its stack (the session, once open). */
static int thread_regs(void *ctx, int pid, int tid, uint64_t *regs)
{
	(void)pid;
	return session__thread_regs(*(struct session **)ctx, tid, regs);
}

static void model_config_from(const struct options *o, struct model_config *c)
{
	c->trace_all = o->target == TARGET_ALL;
	c->scan_locks = o->locks == LOCKS_SCAN;
	c->watch_deadlocks = o->locks != LOCKS_OFF;
	c->grace_ns = o->grace_ns;
	c->scan_limit = o->scan_limit;
	c->lock_mode = lock_mode_name(o->locks);
	c->python = !o->no_python;
	c->py_locks = c->python && o->locks != LOCKS_OFF;
	c->stacks = o->stacks != STACKS_OFF;
	c->stacks_all = o->stacks == STACKS_ALL;
	c->scan_threads = o->scan_threads;
	c->scan_queue = o->scan_queue;
	c->py_layout = tell_py_layout;
	c->thread_regs = thread_regs;
}

static void session_config_from(const struct options *o, struct session_config *c)
{
	c->trace_all = o->target == TARGET_ALL;
	c->lock_uprobes = o->locks == LOCKS_UPROBE;
	c->debug = o->debug;
	c->py_stacks_all = o->stacks == STACKS_ALL && !o->no_python;
	c->stacks_mode = o->stacks == STACKS_OFF ? FSTACKS_OFF :
			 o->stacks == STACKS_ALL ? FSTACKS_ALL :
						   FSTACKS_HAZARDS;
	c->stack_pages = (unsigned)(o->stack_size / FT_STACK_PAGE);
	c->stack_threads = (unsigned)o->stack_threads;
	c->scan_regs = o->locks == LOCKS_SCAN;
}

static bool report_lost(struct output *out, enum lost_what what, uint64_t now, uint64_t *reported)
{
	struct event ev;

	if (now <= *reported)
		return false;
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_LOST_EVENTS;
	ev.severity = SEV_ERROR;
	ev.pid = 0;
	ev.lost.count = now - *reported;
	ev.lost.what = what;
	output__emit(out, &ev);
	*reported = now;
	return true;
}

/* Reports what the kernel side dropped since the last look, by where.
 * True when lifecycle records were among it (an exit may be missing). */
static bool report_drops(struct session *s, struct output *out, struct session_drops *reported)
{
	struct session_drops now;
	bool lifecycle;

	session__drops(s, &now);
	lifecycle = report_lost(out, LOST_RING_BUFFER, now.ring_buffer, &reported->ring_buffer);
	lifecycle |= report_lost(out, LOST_TRACED_MAP, now.traced_map, &reported->traced_map);
	report_lost(out, LOST_LOCK_MAP, now.lock_map, &reported->lock_map);
	return lifecycle;
}

/* A traced process ended without an exit record: the kernel's traced map
 * forgets it too (its pid may be reused), and a target is said to be gone. */
static void on_gone(void *ctx, int pid, bool root)
{
	struct session *s = ctx;

	session__untrace(s, pid);
	if (root)
		fprintf(stderr,
			"forktrace: process %d is gone; its end was not seen (it ended as"
			" forktrace attached, or its exit record was lost)\n",
			pid);
}

static int poll_timeout(const struct model *m, uint64_t end)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), next = model__next_deadline(m);
	int64_t ms = POLL_MS_MAX;

	if (next && (int64_t)(next - now) / 1000000 < ms)
		ms = next > now ? (int64_t)(next - now) / 1000000 + 1 : 0;
	if (end && (int64_t)(end - now) / 1000000 < ms)
		ms = end > now ? (int64_t)(end - now) / 1000000 + 1 : 0;
	return (int)ms;
}

static void trace_loop(const struct options *o, struct session *s, struct model *m,
		       struct output *out, struct dispatch *t)
{
	uint64_t end = o->duration_ns ? clock_ns(CLOCK_MONOTONIC) + o->duration_ns : 0;
	struct session_drops dropped = { 0 };
	/* a target may have ended before its exit could be seen: look at once */
	bool reap = o->target != TARGET_ALL, lost_any = false, adopting = false;
	uint64_t next_reap = 0;

	while (!stop_signal) {
		int timeout = lock_follow__timeout(t->follow, poll_timeout(m, end));
		/* the scanners' descriptor wakes the loop when a scan is done */
		int n = session__poll(s, timeout, model__scan_fd(m));
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		lock_follow__tick(t->follow);

		if (n < 0) {
			fprintf(stderr, "forktrace: cannot read the ring buffer: %s\n",
				strerror(-n));
			break;
		}
		model__scans_landed(m);
		model__tick(m, now);
		/* after a loss, the kernel's truth: /proc says who is gone, the
		 * traced map who was forked unseen */
		if (report_drops(s, out, &dropped))
			reap = lost_any = adopting = true;
		if (reap && now >= next_reap) {
			reap = model__reap_gone(m, on_gone, s) > 0;
			if (lost_any && o->target != TARGET_ALL) {
				adopting = targets_adopt_unknown(s, m, t->follow) > 0;
				reap |= adopting;
			}
			next_reap = now + REAP_INTERVAL_NS;
		}
		if (o->target != TARGET_ALL && model__live(m) == 0 && !adopting)
			break;
		if (end && now >= end)
			break;
		if (output__error(out))
			break; /* nothing more can be said: stop as after a signal */
	}
	/* what the kernel already wrote is still ours to report */
	session__poll(s, 0, -1);
	model__scans_landed(m);
	model__tick(m, clock_ns(CLOCK_MONOTONIC));
	report_drops(s, out, &dropped);
}

/* The forks the scan could not read, for the summary. */
static void scan_tally(const struct model *m, struct output *out)
{
	uint64_t gone, busy;

	model__scan_counts(m, &gone, &busy);
	output__scan_tally(out, gone, busy);
}

struct group_signal {
	pid_t pgid;
	int sig;
};

static void signal_if_in_group(void *ctx, int pid, int parent_pid, uint64_t fork_ts, bool forked)
{
	const struct group_signal *g = ctx;

	(void)parent_pid;
	(void)fork_ts;
	if (forked && getpgid(pid) == g->pgid)
		kill(pid, g->sig);
}

/* The COMMAND's exit status. If it still runs when tracing stops (a signal,
 * -d), it was ours to start: it gets that signal, or SIGTERM, and two
 * seconds to end before SIGKILL. Its descendants still traced then, in its
 * process group, get the signal too, as a shell's job would at a Ctrl-C;
 * those that left the group (daemons) are left alone. */
static int reap_command(pid_t pid, struct session *s)
{
	/* the command was started in our process group */
	struct group_signal g = { getpgrp(), stop_signal ? stop_signal : SIGTERM };
	int status = 0;

	if (pid <= 0)
		return 0;
	session__each_traced(s, signal_if_in_group, &g);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, g.sig);
		for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++)
			usleep(10000);
		if (waitpid(pid, &status, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int trace_run(const struct options *o)
{
	struct launch launch = { .pid = -1, .release_fd = -1, .error_fd = -1 };
	struct output_config out_cfg;
	struct output *out = NULL;
	struct report_file *page = NULL;
	int page_failed;
	struct session *s = NULL;
	struct model *m = NULL;
	struct dispatch ctx = { 0 };
	struct model_config mc;
	struct session_config sc;
	int *roots = NULL, nroots = 0;
	char why[256];
	int status = 1;

	if (host_check(why, sizeof(why))) {
		fprintf(stderr, "forktrace: %s\n", why);
		return 1;
	}
	if (o->target == TARGET_PIDS && (nroots = targets_resolve(o->pids, o->npids, &roots)) < 0)
		return 1;
	install_signals();
	/* first of all: before the exporter's thread exists (a fork from a
	 * threaded process is what forktrace warns about) and before BPF is
	 * loaded, so the command inherits none of our descriptors */
	if (o->target == TARGET_COMMAND && launcher_start(o, &launch))
		goto cleanup;
	output_config_from(o, &out_cfg);
	page = report_live_open(o, &page_failed);
	if (page_failed)
		goto cleanup;
	out = output__new(&out_cfg);
	if (!out)
		goto cleanup;
	model_config_from(o, &mc);
	mc.hook_ctx = &s; /* the session, once it is open */
	m = model__new(&mc, emit_to_output, out,
		       (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC)));
	if (!m) {
		fprintf(stderr,
			"forktrace: cannot start tracing: %s (the model of processes and its %d"
			" scanner thread%s) — free memory or lower --scan-threads\n",
			strerror(errno), o->scan_threads, o->scan_threads == 1 ? "" : "s");
		goto cleanup;
	}
	ctx.model = m;
	session_config_from(o, &sc);
	s = session__open(&sc, dispatch_record, &ctx);
	if (!s)
		goto cleanup;
	if (o->locks == LOCKS_UPROBE && !(ctx.follow = lock_follow__new(session__uprobes(s))))
		goto cleanup;

	if (o->target == TARGET_ALL) {
		model__attach_all(m);
	} else if (o->target == TARGET_COMMAND) {
		if (session__trace(s, launch.pid))
			goto cleanup;
		model__add_root(m, launch.pid);
		/* on the held child, before its exec: the probes sit on the libc
		 * file, which the command maps again, so its first lock is seen */
		lock_follow__pid(ctx.follow, launch.pid);
		if (launcher_release(&launch, o->argv[0]))
			goto cleanup;
	} else if (targets_attach(roots, nroots, s, m, ctx.follow)) {
		goto cleanup;
	}

	trace_loop(o, s, m, out, &ctx);
	model__detach(m);
	scan_tally(m, out);
	if (ctx.unknown)
		fprintf(stderr,
			"forktrace: %llu kernel records of an unknown type were ignored —"
			" rebuild forktrace so that its BPF and user parts match\n",
			(unsigned long long)ctx.unknown);
	output__finish(out);
	status = 0;
	if (o->target == TARGET_COMMAND) {
		status = reap_command(launch.pid, s);
		launch.pid = -1;
	}
	if (output__failed(out))
		status = 3;
	/* a reader that went away (| head) ended tracing; any other lost write is a failure */
	if (output__error(out) && output__error(out) != EPIPE) {
		fprintf(stderr, "forktrace: cannot write the events to %s: %s — tracing stopped\n",
			output__name(out), strerror(output__error(out)));
		status = 1;
	}
	if (report_live_finish(page, output__recording(out), o) && !status)
		status = 1;
	page = NULL;
cleanup:
	report_file__abort(page);
	launcher_abort(&launch);
	free(roots);
	lock_follow__free(ctx.follow);
	model__free(m); /* before the session: it may still tell the session what to forget */
	session__close(s);
	output__free(out);
	return status;
}
