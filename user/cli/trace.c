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
#include "cli/targets.h"
#include "cli/trace.h"
#include "kernel/host.h"
#include "kernel/lock_follow.h"
#include "kernel/session.h"
#include "model/model.h"
#include "out/output.h"
#include "proc/procfs.h"
#include "util/clock.h"

#define POLL_MS_MAX 100

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
	c->stacks = o->stacks != STACKS_OFF;
	c->stacks_all = o->stacks == STACKS_ALL;
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
}

static void report_lost(struct output *out, enum lost_what what, uint64_t now, uint64_t *reported)
{
	struct event ev;

	if (now <= *reported)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_LOST_EVENTS;
	ev.severity = SEV_ERROR;
	ev.pid = 0;
	ev.lost.count = now - *reported;
	ev.lost.what = what;
	output__emit(out, &ev);
	*reported = now;
}

/* Reports what the kernel side dropped since the last look, by where. */
static void report_drops(struct session *s, struct output *out, struct session_drops *reported)
{
	struct session_drops now;

	session__drops(s, &now);
	report_lost(out, LOST_RING_BUFFER, now.ring_buffer, &reported->ring_buffer);
	report_lost(out, LOST_TRACED_MAP, now.traced_map, &reported->traced_map);
	report_lost(out, LOST_LOCK_MAP, now.lock_map, &reported->lock_map);
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

	while (!stop_signal) {
		int timeout = lock_follow__timeout(t->follow, poll_timeout(m, end));
		int n = session__poll(s, timeout);
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		lock_follow__tick(t->follow);

		if (n < 0) {
			fprintf(stderr, "forktrace: cannot read the ring buffer: %s\n",
				strerror(-n));
			break;
		}
		model__tick(m, now);
		report_drops(s, out, &dropped);
		if (o->target != TARGET_ALL && model__live(m) == 0)
			break;
		if (end && now >= end)
			break;
	}
	/* what the kernel already wrote is still ours to report */
	session__poll(s, 0);
	model__tick(m, clock_ns(CLOCK_MONOTONIC));
	report_drops(s, out, &dropped);
}

/* The COMMAND's exit status. If it still runs when tracing stops (a signal,
 * -d), it was ours to start: it gets that signal, or SIGTERM, and two
 * seconds to end before SIGKILL. */
static int reap_command(pid_t pid)
{
	int status = 0;

	if (pid <= 0)
		return 0;
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, stop_signal ? stop_signal : SIGTERM);
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
	out = output__new(&out_cfg);
	if (!out)
		goto cleanup;
	model_config_from(o, &mc);
	mc.hook_ctx = &s; /* the session, once it is open */
	m = model__new(&mc, emit_to_output, out,
		       (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC)));
	if (!m)
		goto cleanup;
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
	if (ctx.unknown)
		fprintf(stderr,
			"forktrace: %llu kernel records of an unknown type were ignored —"
			" rebuild forktrace so that its BPF and user parts match\n",
			(unsigned long long)ctx.unknown);
	output__finish(out);
	status = 0;
	if (o->target == TARGET_COMMAND) {
		status = reap_command(launch.pid);
		launch.pid = -1;
	}
	if (output__failed(out))
		status = 3;
cleanup:
	launcher_abort(&launch);
	free(roots);
	lock_follow__free(ctx.follow);
	model__free(m); /* before the session: it may still tell the session what to forget */
	session__close(s);
	output__free(out);
	return status;
}
