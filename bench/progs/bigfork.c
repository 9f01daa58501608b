/*
 * Big scans, one after the other, for the loop-latency benchmark: a parent with
 * 2 threads (one idle) and MIB MiB of heap touched by memset reports ready=1,
 * then forks a child, which sleeps LIFE_MS (long enough to be scanned) and
 * _exit(0)s, waits for it, and forks again; until the file STOP exists or 120 s
 * have passed. Reports pid, ready, child (each), forks.
 *
 * usage: bigfork REPORT_FILE MIB LIFE_MS STOP
 */
#include "bench.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv, 3, "MIB LIFE_MS STOP");
	size_t size = (size_t)atol(argv[2]) << 20;
	useconds_t life = (useconds_t)atol(argv[3]) * 1000;
	const char *stop = argv[4];
	long forks = 0;

	idle_start(1);
	char *heap = malloc(size);
	if (!heap)
		die("malloc");
	memset(heap, 0x5a, size);
	report("pid=%d", getpid());
	report("ready=1");
	uint64_t until = now_ns() + 120000000000ULL;
	while (access(stop, F_OK) && now_ns() < until) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0) {
			usleep(life);
			_exit(heap[size / 2] == 0x5a ? 0 : 1);
		}
		forks++;
		report("child=%d", c);
		while (waitpid(c, NULL, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
	}
	report("forks=%ld", forks);
	idle_stop();
	return 0;
}
