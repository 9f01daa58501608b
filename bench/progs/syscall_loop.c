/*
 * A syscall-heavy process: N getppid() system calls in a loop (through syscall(),
 * so no libc caching can apply), timed in CHUNKS equal chunks. Reports calls,
 * elapsed_ns (the whole loop), chunk_med_ns and chunk_min_ns (ns per call of the
 * median and of the fastest chunk: the median shrugs off a preemption or a burst of
 * the neighbours' load that the whole-loop figure absorbs).
 *
 * usage: syscall_loop REPORT_FILE N [CHUNKS]
 */
#include "bench.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv, 1, "N [CHUNKS]");
	long n = atol(argv[2]);
	long chunks = argc > 3 ? atol(argv[3]) : 50;
	volatile long sink = 0;

	if (chunks < 1 || chunks > n)
		chunks = 1;
	long per = n / chunks;
	double *v = calloc(chunks, sizeof(*v));
	if (!v)
		die("calloc");
	for (long i = 0; i < 10000; i++) /* warm up */
		sink += syscall(SYS_getppid);
	uint64_t t0 = now_ns(), t = t0;
	for (long c = 0; c < chunks; c++) {
		for (long i = 0; i < per; i++)
			sink += syscall(SYS_getppid);
		uint64_t t1 = now_ns();
		v[c] = (double)(t1 - t) / per;
		t = t1;
	}
	uint64_t t1 = now_ns();
	double med = median_of(v, chunks);
	report("calls=%ld", per * chunks);
	report("elapsed_ns=%llu", (unsigned long long)(t1 - t0));
	report("chunk_med_ns=%.3f", med);
	report("chunk_min_ns=%.3f", v[0]);
	return 0;
}
