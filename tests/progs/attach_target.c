/*
 * Started before forktrace, for `-p`: two named worker threads, then
 * "ready=1". On the first byte of $FT_CONTROL_FD it forks 5 times (each
 * child _exit(0)s, each waited for) and reports "forked=5"; at the next byte
 * or EOF it stops its workers and exits 0.
 * Reports: pid, thread (TID,COMM) x2, ready, child x5, forked.
 */
#include "ftlib.c"

#define NFORKS 5

int main(void)
{
	const char *const names[] = { "ft-attach-a", "ft-attach-b" };
	pid_t child;
	int i;

	report("pid=%d", getpid());
	workers_start(2, names);
	report("ready=1");
	if (!wait_control())
		return 1;
	for (i = 0; i < NFORKS; i++) {
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0)
			_exit(0);
		report("child=%d", child);
		wait_child(child, "child_status");
	}
	report("forked=%d", NFORKS);
	wait_control();
	workers_stop();
	return 0;
}
