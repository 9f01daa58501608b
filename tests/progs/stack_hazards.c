/*
 * Trigger for native stacks: each hazard happens in a function of its own
 * name, so that the stacks forktrace reports can be checked by name (and
 * against eu-stack). Built by the stacks tests in several ways (-O2
 * without frame pointers, with them, stripped).
 *
 *   stack_hazards [--from-thread]
 *
 * A worker "ft-waiter" sleeps in worker_waits_here(); a worker "ft-locker"
 * holds a mutex taken in take_the_lock() and sleeps there; once both are
 * seen in their read (/proc), fork_caller() forks (from the main thread, or
 * from a thread "ft-forker" with --from-thread) and the child blocks in
 * child_blocks_here() on the held mutex forever. Reports pid, pgid (its own
 * group), waiter_tid, locker_tid, forker_tid, child_pid to $FT_REPORT. The
 * parent then waits forever: tests kill it.
 */
#include "ftlib.c"
#include <fcntl.h>
#include <stdbool.h>

static pthread_mutex_t the_lock = PTHREAD_MUTEX_INITIALIZER;
static int never[2]; /* nobody writes: readers sleep */
static int ready[2]; /* workers tell main they are in place */
static volatile int sink;
static volatile int waiter_tid, locker_tid;

#define KEEP_FRAME() __asm__ volatile("" ::: "memory") /* no tail call: the frame stays */

static __attribute__((noinline)) void worker_waits_here(void)
{
	char c;

	sink = (int)read(never[0], &c, 1);
	KEEP_FRAME();
}

static void *waiter_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ft-waiter");
	waiter_tid = ft_tid();
	report("waiter_tid=%d", waiter_tid);
	if (write(ready[1], "w", 1) != 1)
		die("write");
	worker_waits_here();
	return NULL;
}

static __attribute__((noinline)) void take_the_lock(void)
{
	char c;

	pthread_mutex_lock(&the_lock); /* ft:taken */
	if (write(ready[1], "l", 1) != 1)
		die("write");
	sink = (int)read(never[0], &c, 1);
	KEEP_FRAME();
}

static void *locker_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ft-locker");
	locker_tid = ft_tid();
	report("locker_tid=%d", locker_tid);
	take_the_lock();
	return NULL;
}

static __attribute__((noinline)) void child_blocks_here(void)
{
	pthread_mutex_lock(&the_lock);
	KEEP_FRAME();
}

static __attribute__((noinline)) pid_t fork_caller(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		child_blocks_here();
		_exit(0);
	}
	KEEP_FRAME();
	return pid;
}

static void *forker_main(void *arg)
{
	pid_t pid;

	(void)arg;
	pthread_setname_np(pthread_self(), "ft-forker");
	report("forker_tid=%d", ft_tid());
	pid = fork_caller();
	if (pid < 0)
		die("fork");
	report("child_pid=%d", pid);
	return NULL;
}

int main(int argc, char **argv)
{
	bool from_thread = argc > 1 && !strcmp(argv[1], "--from-thread");
	pthread_t w, l, f;
	char c;

	if (pipe(never) || pipe(ready))
		die("pipe");
	/* a group of its own: the test kills it all, the hung child too (a
	 * session leader has one already) */
	if (getpgid(0) != getpid() && setpgid(0, 0))
		die("setpgid");
	report("pid=%d", getpid());
	report("pgid=%d", getpgid(0));
	if (pthread_create(&w, NULL, waiter_main, NULL) ||
	    pthread_create(&l, NULL, locker_main, NULL))
		die("pthread_create");
	for (int i = 0; i < 2; i++)
		if (read(ready[0], &c, 1) != 1)
			die("read");
	/* both in their last wait, so their stacks at the fork are where they stay */
	while (!ft_in_syscall(waiter_tid, SYS_read) || !ft_in_syscall(locker_tid, SYS_read))
		usleep(1000);
	if (from_thread) {
		if (pthread_create(&f, NULL, forker_main, NULL))
			die("pthread_create");
		pthread_join(f, NULL);
	} else {
		report("forker_tid=%d", ft_tid());
		pid_t pid = fork_caller();

		if (pid < 0)
			die("fork");
		report("child_pid=%d", pid);
	}
	for (;;)
		pause();
}
