/*
 * A single-threaded program whose very first action is a fork; the child
 * _exit(0)s and the parent waits for it. Reports: child, pid, child_status.
 */
#include "ftlib.c"

int main(void)
{
	pid_t child = fork();

	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(0);
	report("child=%d", child);
	report("pid=%d", getpid());
	wait_child(child, "child_status");
	return 0;
}
