/*
 * A process tree that exists before forktrace, for `-p ROOT`: the root forks
 * two children; each starts a named thread and then forks a short-lived
 * child (which _exit(0)s at once) every 0.2 s, forever. The first child has,
 * from before its own thread, a long-lived child of its own (the grandchild)
 * that does the same: three generations, every forker threaded.
 *
 * The root reports ready=1 once all three forkers run their thread and have
 * forked once. At EOF on $FT_CONTROL_FD it sends SIGUSR1 to its process
 * group: each forker ends its loop after the fork under way (so every fork
 * is reported), waits for its own children and exits 0; so does the root.
 * Reports: pid, child x2, grandchild, thread.<forker pid>=TID,COMM (x3),
 * forked=<forker pid>,<short-lived child> for every fork, kid_status, ready,
 * grandchild_status.
 */
#include "ftlib.c"
#include <signal.h>
#include <time.h>

static int ready_pipe[2]; /* each forker tells the root it runs: one byte */
static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

struct idle {
	const char *name;
	int running_fd; /* the thread says it runs and has reported */
};

static void *idle_thread(void *arg)
{
	const struct idle *idle = arg;
	char key[32];

	pthread_setname_np(pthread_self(), idle->name);
	snprintf(key, sizeof(key), "thread.%d", getpid());
	report_thread(key);
	if (write(idle->running_fd, "t", 1) != 1)
		die("write");
	for (;;)
		pause();
	return NULL;
}

/*
 * Starts the named thread, waits until it has reported, then forks every
 * 0.2 s until SIGUSR1; then waits for `own_child` (if any) and exits 0.
 */
static void forker(const char *name, pid_t own_child)
{
	const struct timespec period = { 0, 200 * 1000 * 1000 };
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
	struct idle idle = { name, -1 };
	int running[2];
	pthread_t t;
	char c;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		die("sigaction");
	if (pipe2(running, O_CLOEXEC))
		die("pipe2");
	idle.running_fd = running[1];
	if (pthread_create(&t, NULL, idle_thread, &idle))
		die("pthread_create");
	if (read(running[0], &c, 1) != 1)
		die("read");
	for (int n = 0; !stop; n++) {
		pid_t kid = fork();

		if (kid < 0)
			die("fork");
		if (kid == 0)
			_exit(0);
		report("forked=%d,%d", getpid(), kid);
		wait_child(kid, "kid_status");
		if (n == 0 && write(ready_pipe[1], "f", 1) != 1)
			die("write");
		nanosleep(&period, NULL);
	}
	if (own_child > 0)
		wait_child(own_child, "grandchild_status");
	_exit(0);
}

int main(void)
{
	pid_t child;
	char c;

	report("pid=%d", getpid());
	if (pipe2(ready_pipe, O_CLOEXEC))
		die("pipe2");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		pid_t grandchild = fork();

		if (grandchild < 0)
			die("fork");
		if (grandchild == 0)
			forker("ft-tree-g", 0);
		report("grandchild=%d", grandchild);
		forker("ft-tree-c1", grandchild);
	}
	report("child=%d", child);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		forker("ft-tree-c2", 0);
	report("child=%d", child);
	for (int i = 0; i < 3; i++)
		if (read(ready_pipe[0], &c, 1) != 1)
			die("read");
	report("ready=1");
	while (wait_control())
		;
	signal(SIGUSR1, SIG_IGN);
	kill(0, SIGUSR1);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
