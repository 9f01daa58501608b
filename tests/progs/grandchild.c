/*
 * Three generations: the root forks a child, which forks a grandchild.
 * Every process exits 0. Reports: pid, child, grandchild, child_status.
 */
#include "ftlib.c"

int main(void)
{
	pid_t child, grandchild;

	report("pid=%d", getpid());
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		grandchild = fork();
		if (grandchild < 0)
			die("fork");
		if (grandchild == 0)
			_exit(0);
		report("grandchild=%d", grandchild);
		wait_child(grandchild, "grandchild_status");
		_exit(0);
	}
	report("child=%d", child);
	wait_child(child, "child_status");
	return 0;
}
