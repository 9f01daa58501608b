/*
 * Many tiny children: fork, the child _exit(0)s at once, the parent waits.
 *
 *   tiny_forker N THREADS [PACE_US]
 *
 * THREADS 1: a single-threaded parent; 2 or more: THREADS - 1 idle workers
 * (blocked in read()) make every fork a fork from a threaded process. N
 * forks, PACE_US microseconds apart (default 0). N = 0: for -a, forks only
 * once the first byte arrives on $FT_CONTROL_FD and goes on until its EOF.
 * Reports: pid, forked.
 */
#include "ftlib.c"
#include <poll.h>

int main(int argc, char **argv)
{
	const char *const names[] = { "ft-idle-1", "ft-idle-2", "ft-idle-3" };
	long n, forked = 0;
	int threads, pace_us, ctl = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: tiny_forker N THREADS [PACE_US]\n");
		return 2;
	}
	n = atol(argv[1]);
	threads = atoi(argv[2]);
	pace_us = argc > 3 ? atoi(argv[3]) : 0;
	if (threads < 1 || threads > 4)
		threads = 1;
	report("pid=%d", getpid());
	if (threads > 1)
		workers_start(threads - 1, names);
	if (n == 0) {
		if (!wait_control())
			return 1;
		ctl = atoi(getenv("FT_CONTROL_FD"));
	}
	for (;;) {
		struct pollfd p = { .fd = ctl, .events = POLLIN };
		pid_t child;

		if (n ? forked >= n : poll(&p, 1, 0) > 0)
			break; /* N made, or the control pipe's EOF */
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0)
			_exit(0);
		forked++;
		while (waitpid(child, NULL, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
		if (pace_us)
			usleep(pace_us);
	}
	report("forked=%ld", forked);
	if (threads > 1)
		workers_stop();
	return 0;
}
