/*
 * A parent with N threads (default 2000, named "ft-many") forks a child that
 * _exit(0)s, waits for it, then calls _exit(3) while its threads still run.
 *
 *   many_threads [N]
 *
 * Reports: pid, threads (N), child, child_status.
 */
#include "ftlib.c"

static void *idle(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "ft-many");
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	pthread_attr_t attr;
	pthread_t t;
	pid_t child;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, &attr, idle, NULL))
			die("pthread_create");
	report("pid=%d", getpid());
	report("threads=%d", n);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(0);
	report("child=%d", child);
	wait_child(child, "child_status");
	_exit(3);
}
