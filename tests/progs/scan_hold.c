/*
 * A lock held across a fork, for the lock scan and the deadlock watcher.
 *
 *   scan_hold KIND [MODE]
 *
 * KIND: normal, recursive (locked twice), errorcheck, rwlock-write.
 * A worker thread named "ft-holder" takes the lock (on the heap) and keeps it
 * until the parent ends; then the main thread forks. MODE says what follows:
 *
 *   hang    (default) the child takes the lock and blocks forever; the parent
 *           waits for it forever. The trigger is its own process group
 *           (reported as pgid) so that a test can kill all of it at once.
 *   attach  for -p: once the lock is held, "ready=1"; the fork waits for the
 *           first byte on $FT_CONTROL_FD; then as "hang".
 *   forker  the worker ("ft-idle") holds nothing; the main thread holds the
 *           lock itself at the fork; the child waits for SIGUSR1 (sigwaitinfo:
 *           the test sends it once forktrace has scanned the child) and
 *           _exit(0)s; the parent waits for it, unlocks and exits 0.
 *   exec    the child exec's /bin/true at once; the parent waits for it,
 *           stops the worker and exits 0.
 *   exec-on-signal  the child first waits (sigwaitinfo, not a futex) for
 *           SIGUSR1 from the test, then exec's /bin/true; then as "exec".
 *
 * Reports: pid, pgid (hang/attach), main (TID,COMM), thread (TID,COMM of the
 * worker), worker_tid, lock (hex), kind, ready (attach), child,
 * child_block_time (hang: CLOCK_REALTIME ns just before the child locks),
 * child_status.
 */
#include "ftlib.c"
#include <signal.h>
#include <time.h>

enum kind { NORMAL, RECURSIVE, ERRORCHECK, RWLOCK_WRITE };
static const char *const kinds[] = { "normal", "recursive", "errorcheck", "rwlock-write" };

static enum kind kind;
static void *lock;
static int ready_pipe[2], stop_fd[2];
static int worker_holds = 1;

static int take(void)
{
	int err;

	switch (kind) {
	case RWLOCK_WRITE: return pthread_rwlock_wrlock(lock);
	case RECURSIVE: err = pthread_mutex_lock(lock); return err ? err : pthread_mutex_lock(lock);
	default: return pthread_mutex_lock(lock);
	}
}

static void give(void)
{
	if (kind == RWLOCK_WRITE) {
		pthread_rwlock_unlock(lock);
		return;
	}
	if (kind == RECURSIVE)
		pthread_mutex_unlock(lock);
	pthread_mutex_unlock(lock);
}

static void init_lock(void)
{
	pthread_mutexattr_t a;

	lock = calloc(1, 64);
	if (!lock)
		die("calloc");
	if (kind == RWLOCK_WRITE) {
		if (pthread_rwlock_init(lock, NULL))
			die("pthread_rwlock_init");
		return;
	}
	pthread_mutexattr_init(&a);
	if (kind == RECURSIVE)
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	if (kind == ERRORCHECK)
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	if (pthread_mutex_init(lock, &a))
		die("pthread_mutex_init");
}

static long long realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *worker(void *arg)
{
	char c;

	(void)arg;
	pthread_setname_np(pthread_self(), worker_holds ? "ft-holder" : "ft-idle");
	if (worker_holds && take())
		die("worker: lock");
	report("worker_tid=%d", ft_tid());
	report_thread("thread");
	if (write(ready_pipe[1], "x", 1) != 1)
		die("worker: write");
	/* blocked outside any futex until the parent ends */
	while (read(stop_fd[0], &c, 1) < 0 && errno == EINTR)
		;
	if (worker_holds)
		give();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "hang";
	int hang = !strcmp(mode, "hang") || !strcmp(mode, "attach");
	int forker = !strcmp(mode, "forker");
	int exec_on_signal = !strcmp(mode, "exec-on-signal");
	int gated = exec_on_signal || forker;
	int do_exec = exec_on_signal || !strcmp(mode, "exec");
	sigset_t usr1;
	pthread_t th;
	unsigned k;
	pid_t child;
	char c;

	for (k = 0; argc > 1 && k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(argv[1], kinds[k]))
			break;
	if (argc < 2 || k == sizeof(kinds) / sizeof(kinds[0]) || !(hang || forker || do_exec)) {
		fprintf(stderr, "usage: scan_hold normal|recursive|errorcheck|rwlock-write "
				"[hang|attach|forker|exec|exec-on-signal]\n");
		return 2;
	}
	kind = (enum kind)k;
	worker_holds = !forker;
	if (hang && strcmp(mode, "attach") && setpgid(0, 0))
		die("setpgid");
	report("pid=%d", getpid());
	report("pgid=%d", getpgid(0));
	report("kind=%s", kinds[kind]);
	report_thread("main");
	init_lock();
	report("lock=%p", lock);
	if (pipe2(ready_pipe, O_CLOEXEC) || pipe2(stop_fd, O_CLOEXEC))
		die("pipe2");
	if (pthread_create(&th, NULL, worker, NULL))
		die("pthread_create");
	if (read(ready_pipe[0], &c, 1) != 1)
		die("read");
	if (forker && take())
		die("main: lock");
	if (!strcmp(mode, "attach")) {
		report("ready=1");
		if (!wait_control())
			return 1;
	}
	if (gated) {
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	}

	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		if (gated)
			while (sigwaitinfo(&usr1, NULL) < 0)
				;
		if (do_exec) {
			execl("/bin/true", "/bin/true", (char *)NULL);
			_exit(127);
		}
		if (forker)
			_exit(0);
		report("child_block_time=%lld", realtime_ns());
		take();
		report("child_took_lock=1"); /* never: the holder is not in this process */
		_exit(1);
	}
	report("child=%d", child);
	wait_child(child, "child_status");
	if (forker)
		give();
	close(stop_fd[1]);
	pthread_join(th, NULL);
	return 0;
}
