/*
 * A tracing session from start to end: start or find the targets, load the
 * BPF side, feed its records to the model until every target is gone (or
 * -d, or a signal), then detach and summarise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "forktrace.h"
#include "launcher.h"
#include "model.h"
#include "output.h"
#include "procfs.h"
#include "session.h"
#include "trace.h"

#define POLL_MS_MAX 100

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

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#define FOLLOW_WAIT_MAX 32
#define FOLLOW_RETRY_MS 2
#define FOLLOW_GIVE_UP_NS (1000ULL * 1000 * 1000)

struct trace_ctx {
	struct model *model;
	struct session *session;
	bool follow_locks;   /* --locks=uprobe */
	/* processes that just exec'd: the dynamic loader maps their libc a
	 * moment later, and their probes can only go on once it has */
	int waiting[FOLLOW_WAIT_MAX];
	uint64_t waiting_since[FOLLOW_WAIT_MAX];
	int nwaiting;
};

static uint64_t clock_ns(clockid_t clk);

static void wait_for_libc(struct trace_ctx *t, int pid)
{
	if (t->nwaiting == FOLLOW_WAIT_MAX) {
		fprintf(stderr, "forktrace: too many processes exec'ing at once: the locks of pid %d"
				" are not followed\n", pid);
		return;
	}
	t->waiting[t->nwaiting] = pid;
	t->waiting_since[t->nwaiting++] = clock_ns(CLOCK_MONOTONIC);
}

/* Tries the processes that exec'd again; gives up on one after a second. */
static void follow_waiting(struct trace_ctx *t)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	for (int i = 0; i < t->nwaiting; i++) {
		int rc = session__try_follow_locks(t->session, t->waiting[i]);

		if (rc == 1 && now - t->waiting_since[i] < FOLLOW_GIVE_UP_NS)
			continue;
		if (rc == 1)
			session__follow_locks(t->session, t->waiting[i]); /* says why not */
		t->waiting[i] = t->waiting[--t->nwaiting];
		t->waiting_since[i] = t->waiting_since[t->nwaiting];
		i--;
	}
}

static void forget_waiting(struct trace_ctx *t, int pid)
{
	for (int i = 0; i < t->nwaiting; i++) {
		if (t->waiting[i] == pid) {
			t->waiting[i] = t->waiting[--t->nwaiting];
			t->waiting_since[i] = t->waiting_since[t->nwaiting];
			return;
		}
	}
}

/* Keeps the lock probes on the processes being traced, as they come and go. */
static void follow_locks(struct trace_ctx *t, const struct rec_hdr *h)
{
	const struct rec_fork *f = (const struct rec_fork *)h;

	switch (h->type) {
	case REC_FORK:
		/* a child sharing the parent's memory runs nothing but exec */
		if (!(h->flags & FORK_SHARES_VM))
			session__follow_locks(t->session, f->child_pid);
		break;
	case REC_EXEC:
		/* probes already on this process's libc file keep working in the
		 * new image, which maps the same file; a process not followed yet
		 * gets its probes once the loader has mapped its libc */
		session__exec_locks(t->session, h->pid);
		if (session__try_follow_locks(t->session, h->pid) == 1)
			wait_for_libc(t, h->pid);
		break;
	case REC_EXIT:
		forget_waiting(t, h->pid);
		session__unfollow_locks(t->session, h->pid);
		break;
	}
}

static int record_cb(void *ctx, void *data, size_t size)
{
	struct trace_ctx *t = ctx;

	model__record(t->model, data, size);
	/* every record this looks at is at least a struct rec_fork long */
	if (t->follow_locks && t->session && size >= sizeof(struct rec_fork))
		follow_locks(t, data);
	return 0;
}

/* Reports what the kernel side dropped since the last look. */
static void report_drops(struct session *s, struct output *out, uint64_t *reported)
{
	uint64_t now = session__dropped(s);
	struct event ev;

	if (now <= *reported)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_LOST_EVENTS;
	ev.severity = SEV_ERROR;
	ev.pid = 0;
	ev.lost.count = now - *reported;
	output__emit(out, &ev);
	*reported = now;
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
		       struct output *out, struct trace_ctx *t)
{
	uint64_t end = o->duration_ns ? clock_ns(CLOCK_MONOTONIC) + o->duration_ns : 0;
	uint64_t dropped = 0;

	while (!stop_signal) {
		int timeout = poll_timeout(m, end);
		int n = session__poll(s, t->nwaiting && timeout > FOLLOW_RETRY_MS ? FOLLOW_RETRY_MS : timeout);
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		if (t->nwaiting)
			follow_waiting(t);

		if (n < 0) {
			fprintf(stderr, "forktrace: cannot read the ring buffer: %s\n", strerror(-n));
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

static int check_targets(const struct options *o)
{
	for (int i = 0; i < o->npids; i++) {
		if (!procfs_exists(o->pids[i])) {
			fprintf(stderr, "forktrace: no process with pid %d — check the pid (ps -p %d)\n",
				o->pids[i], o->pids[i]);
			return 1;
		}
	}
	return 0;
}

static int check_host(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "forktrace: must run as root to load BPF programs — use sudo\n");
		return 1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "forktrace: this kernel exposes no BTF (/sys/kernel/btf/vmlinux) —"
				" forktrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y\n");
		return 1;
	}
	return 0;
}

int trace_run(const struct options *o)
{
	struct launch launch = { .pid = -1, .release_fd = -1, .error_fd = -1 };
	struct output *out = NULL;
	struct session *s = NULL;
	struct model *m = NULL;
	struct trace_ctx ctx = { .follow_locks = o->locks == LOCKS_UPROBE };
	int status = 1;

	if (check_host() || check_targets(o))
		return 1;
	install_signals();
	out = output__new(o);
	if (!out)
		goto cleanup;
	/* before loading BPF, so the command inherits none of our descriptors */
	if (o->target == TARGET_COMMAND && launcher_start(o, &launch))
		goto cleanup;
	m = model__new(o, out, (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC)));
	if (!m)
		goto cleanup;
	ctx.model = m;
	s = session__open(o, record_cb, &ctx);
	if (!s)
		goto cleanup;
	ctx.session = s;

	if (o->target == TARGET_ALL) {
		model__attach_all(m);
	} else if (o->target == TARGET_COMMAND) {
		if (session__trace(s, launch.pid))
			goto cleanup;
		model__add_root(m, launch.pid);
		/* on the held child, before its exec: the probes sit on the libc
		 * file, which the command maps again, so its first lock is seen */
		session__follow_locks(s, launch.pid);
		if (launcher_release(&launch, o->argv[0]))
			goto cleanup;
	} else {
		for (int i = 0; i < o->npids; i++) {
			if (session__trace(s, o->pids[i]))
				goto cleanup;
			model__add_root(m, o->pids[i]);
			session__follow_locks(s, o->pids[i]);
		}
	}

	trace_loop(o, s, m, out, &ctx);
	model__detach(m);
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
	session__close(s);
	model__free(m);
	output__free(out);
	return status;
}
