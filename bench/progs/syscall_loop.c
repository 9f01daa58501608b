/*
 * A syscall-heavy process: N getppid() system calls in a loop (through syscall(),
 * so no libc caching can apply). Reports calls, elapsed_ns.
 *
 * usage: syscall_loop REPORT_FILE N
 */
#include "bench.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv, 1, "N");
	long n = atol(argv[2]);
	volatile long sink = 0;

	for (long i = 0; i < 10000; i++)     /* warm up */
		sink += syscall(SYS_getppid);
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		sink += syscall(SYS_getppid);
	uint64_t t1 = now_ns();
	report("calls=%ld", n);
	report("elapsed_ns=%llu", (unsigned long long)(t1 - t0));
	return 0;
}
