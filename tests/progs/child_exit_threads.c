/*
 * A single-threaded parent forks; the child starts two named threads, waits
 * until both run, then _exit(7)s while they are still running.
 * Reports: pid, child, thread (TID,COMM) x2 (from the child), child_status.
 */
#include "ftlib.c"

int main(void)
{
	const char *const names[] = { "ft-doomed-a", "ft-doomed-b" };
	pid_t child;

	report("pid=%d", getpid());
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		workers_start(2, names);
		_exit(7);
	}
	report("child=%d", child);
	wait_child(child, "child_status");
	return 0;
}
