/*
 * The fork is made by a worker thread, not the main thread; the child _exit(0)s.
 * Reports: pid, main (TID,COMM), forker (TID), child, child_status.
 */
#include "ftlib.c"

static void *forker(void *arg)
{
	pid_t child;

	(void)arg;
	pthread_setname_np(pthread_self(), "ft-forker");
	report("forker=%d", ft_tid());
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(0);
	report("child=%d", child);
	wait_child(child, "child_status");
	return NULL;
}

int main(void)
{
	pthread_t th;

	report("pid=%d", getpid());
	report_thread("main");
	if (pthread_create(&th, NULL, forker, NULL))
		die("pthread_create");
	pthread_join(th, NULL);
	return 0;
}
