/*
 * exit_with_threads, many times in a row: a threaded parent (one idle named
 * worker) forks N children one after the other (default 30). Each child
 * starts a thread ("ft-spin") that spins in a busy loop, waits until that
 * thread is on a CPU spinning, and calls _exit(5) while it still spins.
 * The parent waits for each child before forking the next, then exits 0.
 *
 *   exit_spinning [N]
 *
 * Reports: pid, thread (TID,COMM of the parent's worker), child=PID (xN),
 * spinner.<child pid>=TID,COMM (xN, from the child), child_status (xN).
 */
#include "ftlib.c"

static volatile int spinning;

static void *spin(void *arg)
{
	char key[32];

	(void)arg;
	pthread_setname_np(pthread_self(), "ft-spin");
	snprintf(key, sizeof(key), "spinner.%d", getpid());
	report_thread(key);
	__atomic_store_n(&spinning, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__atomic_fetch_add(&spinning, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void child(void)
{
	pthread_t t;
	int seen;

	if (pthread_create(&t, NULL, spin, NULL))
		die("pthread_create");
	/* on a CPU and spinning: the counter moves on from what we saw */
	while (!(seen = __atomic_load_n(&spinning, __ATOMIC_SEQ_CST)))
		;
	while (__atomic_load_n(&spinning, __ATOMIC_SEQ_CST) == seen)
		;
	_exit(5);
}

int main(int argc, char **argv)
{
	const char *const names[] = { "ft-spin-parent" };
	int n = argc > 1 ? atoi(argv[1]) : 30;

	report("pid=%d", getpid());
	workers_start(1, names);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0)
			child();
		report("child=%d", pid);
		wait_child(pid, "child_status");
	}
	workers_stop();
	return 0;
}
