/*
 * A steady trickle of tiny children, for the loop-latency benchmark: fork, the
 * child _exit(0)s at once, the parent waits, then sleeps PACE_US; until the
 * file STOP exists (looked at every 64 forks) or 120 s have passed. Single-
 * threaded: its forks need no scan, so their events' latency is forktrace's
 * loop alone. Reports pid, forks.
 *
 * usage: tinyfork REPORT_FILE PACE_US STOP
 */
#include "bench.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv, 2, "PACE_US STOP");
	int pace = atoi(argv[2]);
	const char *stop = argv[3];
	uint64_t until = now_ns() + 120000000000ULL;
	long forks = 0;

	report("pid=%d", getpid());
	while (!(forks % 64 == 0 && (!access(stop, F_OK) || now_ns() > until))) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0)
			_exit(0);
		forks++;
		while (waitpid(c, NULL, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
		if (pace)
			usleep(pace);
	}
	report("forks=%ld", forks);
	return 0;
}
