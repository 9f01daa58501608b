/*
 * Per-call cost of lock probes: one thread, no contention, two phases of about
 * SECONDS each (time-bounded, so that a run under uprobes still ends in time):
 *   mutex: pthread_mutex_lock + pthread_mutex_unlock on a default mutex;
 *   sem:   sem_trywait + sem_post on a process-private semaphore of value 1, which is
 *          what CPython's threading.Lock does for an uncontended acquire() + release().
 * Each phase is cut into windows of about 5 ms (the clock is read once per batch of
 * 256 pairs); ns/pair is reported for the whole phase (X_ns / X_pairs) and as the
 * median window (X_med_ns). Every sem_trywait must succeed (sem_fail counts those
 * that did not).
 *
 * With GATE, the program reports pid=PID and waits (at most 120 s) until the file
 * GATE exists before it starts: a tracer attached with -p PID is then in place for
 * the whole measurement. Without GATE it starts at once (forktrace -- COMMAND
 * attaches before the exec).
 *
 * usage: lockpair_loop REPORT_FILE SECONDS [GATE]
 */
#include "bench.h"
#include <pthread.h>
#include <semaphore.h>

#define MAX_WINDOWS 100000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static sem_t sem;
static volatile long shared_counter;
static long sem_fail;
static double windows[MAX_WINDOWS];

static void mutex_batch(void)
{
	for (int i = 0; i < BATCH_PAIRS; i++) {
		pthread_mutex_lock(&mu);
		shared_counter++;
		pthread_mutex_unlock(&mu);
	}
}

static void sem_batch(void)
{
	for (int i = 0; i < BATCH_PAIRS; i++) {
		if (sem_trywait(&sem)) {
			sem_fail++;
			continue;
		}
		shared_counter++;
		sem_post(&sem);
	}
}

/* Run batches until until_ns; fill windows[] with ns/pair per window. */
static long run(void (*batch)(void), uint64_t until_ns, size_t *nwin)
{
	return run_windows(batch, until_ns, windows, MAX_WINDOWS, nwin);
}

static void phase(const char *name, void (*batch)(void), uint64_t span)
{
	size_t nwin;
	long warm = run(batch, now_ns() + span / 20, &nwin); /* short warm-up */
	uint64_t t0 = now_ns();
	long pairs = run(batch, t0 + span, &nwin);
	uint64_t t1 = now_ns();

	report("%s_warm_pairs=%ld", name, warm);
	report("%s_pairs=%ld", name, pairs);
	report("%s_ns=%llu", name, (unsigned long long)(t1 - t0));
	report("%s_windows=%zu", name, nwin);
	report("%s_med_ns=%.4f", name, nwin ? median_of(windows, nwin) : (double)(t1 - t0) / pairs);
}

int main(int argc, char **argv)
{
	bench_init(argc, argv, 1, "SECONDS [GATE]");
	uint64_t span = (uint64_t)(atof(argv[2]) * 1e9);

	if (sem_init(&sem, 0, 1))
		die("sem_init");
	report("pid=%d", getpid());
	if (argc > 3) {
		int i;

		for (i = 0; i < 12000 && access(argv[3], F_OK); i++)
			usleep(10000);
		if (i == 12000) {
			fprintf(stderr, "bench: %s did not appear within 120 s\n", argv[3]);
			return 3;
		}
	}
	phase("mutex", mutex_batch, span);
	phase("sem", sem_batch, span);
	report("sem_fail=%ld", sem_fail);
	return 0;
}
