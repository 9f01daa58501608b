/*
 * Lock-heavy program: pthread_mutex_lock/unlock pairs on one default mutex, in two
 * phases, each running for about SECONDS (time-bounded, so that a costly lock mode
 * such as --locks=uprobe still ends in time):
 *   uncontended: one thread;
 *   contended:   two threads on the same mutex, pinned to two different CPUs when
 *                there are two (on a 2-CPU host, two unpinned threads often share one
 *                CPU and then never contend); the main thread only samples.
 * Each phase is cut into windows of about 5 ms; ns/pair is given for the whole phase
 * (unc_ns/unc_pairs, con_ns/con_pairs) and as the median over the windows
 * (unc_med_ns, con_med_ns), which shrugs off a preemption or a burst of the
 * neighbours' load. In the contended phase only the windows in which both threads
 * made progress count (con_windows=KEPT/ALL); glibc's mutex is not fair, and a
 * preempted thread leaves the other running uncontended, several times faster.
 * The clock is read once per batch of 256 pairs.
 *
 * usage: mutex_loop REPORT_FILE SECONDS
 */
#include "bench.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define MAX_WINDOWS 100000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile long shared_counter;
static atomic_int stop;
static atomic_int ready;
static double windows[MAX_WINDOWS];

static void batch(void)
{
	for (int i = 0; i < BATCH_PAIRS; i++) {
		pthread_mutex_lock(&mu);
		shared_counter++;
		pthread_mutex_unlock(&mu);
	}
}

/* Run batches until until_ns; fill windows[] with ns/pair per window. */
static long uncontended(uint64_t until_ns, size_t *nwin)
{
	return run_windows(batch, until_ns, windows, MAX_WINDOWS, nwin);
}

struct contender_arg {
	_Atomic long pairs;
	int cpu; /* -1: not pinned */
};

static void *contender(void *p)
{
	struct contender_arg *arg = p;

	if (arg->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(arg->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			arg->cpu = -1;
	}
	atomic_fetch_add(&ready, 1);
	while (atomic_load(&ready) < 2)
		;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		batch();
		atomic_store_explicit(&arg->pairs, arg->pairs + BATCH_PAIRS, memory_order_relaxed);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bench_init(argc, argv, 1, "SECONDS");
	uint64_t span = (uint64_t)(atof(argv[2]) * 1e9);
	struct contender_arg args[2] = { { 0, -1 }, { 0, -1 } };
	pthread_t th[2];
	cpu_set_t allowed;
	size_t nwin;
	int ncpu = 0;

	/* uncontended: this thread alone (after a short warm-up) */
	uncontended(now_ns() + span / 20, &nwin);
	uint64_t t0 = now_ns();
	long unc = uncontended(t0 + span, &nwin);
	uint64_t t1 = now_ns();
	report("unc_pairs=%ld", unc);
	report("unc_ns=%llu", (unsigned long long)(t1 - t0));
	report("unc_med_ns=%.4f", median_of(windows, nwin));

	/* contended: two threads on one mutex, pinned to the first two allowed CPUs */
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
		for (int c = 0; c < CPU_SETSIZE && ncpu < 2; c++)
			if (CPU_ISSET(c, &allowed))
				args[ncpu++].cpu = c;
	if (ncpu < 2)
		args[0].cpu = args[1].cpu = -1;
	for (int i = 0; i < 2; i++)
		if ((errno = pthread_create(&th[i], NULL, contender, &args[i])))
			die("pthread_create");
	while (atomic_load(&ready) < 2)
		;
	struct timespec tick = { 0, (long)WINDOW_NS };
	long last0 = 0, last1 = 0;
	size_t nall = 0;
	nwin = 0;
	t0 = now_ns();
	uint64_t wstart = t0, t = t0;
	while (t - t0 < span) {
		nanosleep(&tick, NULL);
		t = now_ns();
		long c0 = atomic_load_explicit(&args[0].pairs, memory_order_relaxed);
		long c1 = atomic_load_explicit(&args[1].pairs, memory_order_relaxed);
		long d0 = c0 - last0, d1 = c1 - last1;

		/* a window counts only when both threads made progress in it (each did at
		 * least a fifth of its pairs): otherwise one of them was preempted or starved
		 * and the other ran uncontended */
		nall++;
		if (d0 + d1 > 0 && 5 * (d0 < d1 ? d0 : d1) >= d0 + d1 && nwin < MAX_WINDOWS)
			windows[nwin++] = (double)(t - wstart) / (d0 + d1);
		last0 = c0;
		last1 = c1;
		wstart = t;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	t1 = now_ns();
	long p0 = args[0].pairs, p1 = args[1].pairs;
	report("con_pairs=%ld", p0 + p1);
	report("con_ns=%llu", (unsigned long long)(t1 - t0));
	report("con_windows=%zu/%zu", nwin, nall);
	report("con_med_ns=%.4f",
	       nwin ? median_of(windows, nwin) : (double)(t1 - t0) / (p0 + p1 + 1));
	report("con_pinned=%d", args[0].cpu >= 0 && args[1].cpu >= 0);
	report("con_share=%.2f", (double)p0 / (double)(p0 + p1 + 1));
	return 0;
}
