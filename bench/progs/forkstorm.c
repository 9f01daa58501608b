/*
 * fork+exit storm: fork N children one after the other, each _exit(0)s at once and
 * the parent waits for it. With THREADS > 0 the parent first starts that many idle
 * threads (blocked in read() on a pipe), so every fork is a fork from a threaded
 * process. Reports pid, forks, elapsed_ns (the fork loop only), cpu_ns (CPU time of
 * this process and its children: the runner subtracts it from forktrace's total to
 * get forktrace's own).
 *
 * usage: forkstorm REPORT_FILE N [THREADS]
 */
#include "bench.h"
#include <sys/resource.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv, 1, "N [THREADS]");
	long n = atol(argv[2]);
	int nthreads = argc > 3 ? atoi(argv[3]) : 0;

	idle_start(nthreads);
	report("pid=%d", getpid());

	uint64_t t0 = now_ns();
	long done = 0;
	for (long i = 0; i < n; i++) {
		pid_t c = fork();
		int st;

		if (c < 0)
			die("fork");
		if (c == 0)
			_exit(0);
		while (waitpid(c, &st, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
		done++;
	}
	uint64_t t1 = now_ns();

	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
#define TV_NS(tv) ((unsigned long long)(tv).tv_sec * 1000000000ULL + (tv).tv_usec * 1000ULL)
	report("cpu_ns=%llu", TV_NS(self.ru_utime) + TV_NS(self.ru_stime) + TV_NS(kids.ru_utime) +
				      TV_NS(kids.ru_stime));
	report("forks=%ld", done);
	report("elapsed_ns=%llu", (unsigned long long)(t1 - t0));
	idle_stop();
	return 0;
}
