/*
 * Lock-heavy program: pthread_mutex_lock/unlock pairs on one default mutex, in two
 * phases, each running for about SECONDS (time-bounded, so that a costly lock mode
 * such as --locks=uprobe still ends in time):
 *   uncontended: one thread;
 *   contended:   two threads on the same mutex (the main thread only waits).
 * The clock is read once per batch of pairs, so it adds nothing measurable.
 * Reports unc_pairs, unc_ns, con_pairs, con_ns.
 *
 * usage: mutex_loop REPORT_FILE SECONDS
 */
#include "bench.h"
#include <pthread.h>
#include <stdatomic.h>

#define BATCH 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile long shared_counter;
static atomic_int stop;
static atomic_int ready;

static long run_batches(uint64_t until_ns)
{
	long pairs = 0;

	do {
		for (int i = 0; i < BATCH; i++) {
			pthread_mutex_lock(&mu);
			shared_counter++;
			pthread_mutex_unlock(&mu);
		}
		pairs += BATCH;
	} while (now_ns() < until_ns && !atomic_load_explicit(&stop, memory_order_relaxed));
	return pairs;
}

static void *contender(void *arg)
{
	long pairs = 0;

	atomic_fetch_add(&ready, 1);
	while (atomic_load(&ready) < 2)
		;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < BATCH; i++) {
			pthread_mutex_lock(&mu);
			shared_counter++;
			pthread_mutex_unlock(&mu);
		}
		pairs += BATCH;
	}
	*(long *)arg = pairs;
	return NULL;
}

int main(int argc, char **argv)
{
	bench_init(argc, argv, 1, "SECONDS");
	uint64_t span = (uint64_t)(atof(argv[2]) * 1e9);
	pthread_t th[2];
	long counts[2] = { 0, 0 };

	/* uncontended: this thread alone (after a short warm-up) */
	run_batches(now_ns() + span / 20);
	uint64_t t0 = now_ns();
	long unc = run_batches(t0 + span);
	uint64_t t1 = now_ns();
	report("unc_pairs=%ld", unc);
	report("unc_ns=%llu", (unsigned long long)(t1 - t0));

	/* contended: two threads on one mutex */
	for (int i = 0; i < 2; i++)
		if ((errno = pthread_create(&th[i], NULL, contender, &counts[i])))
			die("pthread_create");
	while (atomic_load(&ready) < 2)
		;
	t0 = now_ns();
	struct timespec d = { (time_t)(span / 1000000000ULL), (long)(span % 1000000000ULL) };
	while (nanosleep(&d, &d) && errno == EINTR)
		;
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	t1 = now_ns();
	report("con_pairs=%ld", counts[0] + counts[1]);
	report("con_ns=%llu", (unsigned long long)(t1 - t0));
	return 0;
}
