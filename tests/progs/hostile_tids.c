/*
 * Memory that looks like held locks to the fork-time scan, and holds none.
 *
 *   hostile_tids [hold] [MIB]
 *
 * Four worker threads block in read() on a pipe. The main thread fills MIB
 * (default 128) MiB of heap tables with 32-bit small integers, mostly 0 and
 * otherwise 1..3, with the process's own thread ids sprinkled in (one word in
 * 512): the kind of table a program keeps of its threads' states. Some of its
 * 8-aligned stretches then read as a glibc mutex or rwlock locked by one of
 * the workers (__lock 1 or 2, __owner a tid, __nusers small, the rest 0),
 * and no lock is held at all. Nothing points into the tables but their first
 * word, and their first 4 KiB hold no tid. Then the main thread forks.
 *
 * hold: the last worker ("ft-holder") also holds a real mutex, inside a
 * malloc'd struct that a global and its own stack point to, while it blocks
 * in read(). Its address is reported as lock=0x..., its tid as holder_tid.
 *
 * The child blocks SIGUSR1 and waits for it in sigwaitinfo() (not in a
 * futex: the test sends it once forktrace has scanned the child), then
 * _exit(0)s. The parent waits for it, stops the workers and exits 0.
 *
 * Reports: pid, main (TID,COMM), thread (TID,COMM) x4, tids (how many words
 * are tids), table_bytes, lock and holder_tid (hold), child, child_status.
 */
#include "ftlib.c"
#include <signal.h>
#include <stdint.h>

#define NWORKERS 4
#define TID_EVERY 512		/* one word in 512 is a thread id */
#define CLEAN_HEAD 4096		/* bytes at a table's start that hold no tid */
#define NTABLES 4

struct holder {
	char before[24];	/* the lock is not the first word of its object */
	pthread_mutex_t m;
	long after[4];
};

static struct holder *held;	/* static data points at the held lock (corroboration) */
static int32_t *tables[NTABLES];
static pid_t tids[NWORKERS + 1];
static int hold;
static int stop_fd[2];
static pthread_barrier_t ready;

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct holder *volatile mine = NULL; /* on its stack while it holds the lock */
	char name[16], c;

	if (hold && i == NWORKERS - 1) {
		mine = held;
		if (pthread_mutex_lock(&mine->m))
			die("pthread_mutex_lock");
		snprintf(name, sizeof name, "ft-holder");
		report("holder_tid=%d", ft_tid());
		report("lock=%p", (void *)&mine->m);
	} else {
		snprintf(name, sizeof name, "ft-idle-%d", i);
	}
	pthread_setname_np(pthread_self(), name);
	tids[i + 1] = ft_tid();
	report_thread("thread");
	pthread_barrier_wait(&ready);
	while (read(stop_fd[0], &c, 1) < 0 && errno == EINTR)
		;
	if (mine)
		pthread_mutex_unlock(&mine->m);
	return NULL;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

/* Mostly 0, else 1..3; a tid one word in TID_EVERY. Returns how many tids. */
static long fill(int32_t *t, size_t words)
{
	long ntids = 0;

	for (size_t i = 0; i < words; i++) {
		uint32_t r = next_rand();

		if (i >= CLEAN_HEAD / 4 && r % TID_EVERY == 0) {
			t[i] = tids[(r / TID_EVERY) % (NWORKERS + 1)];
			ntids++;
		} else {
			uint32_t v = (r >> 16) & 7; /* 0..7: 0 five times in eight */
			t[i] = v < 5 ? 0 : (int32_t)(v - 4);
		}
	}
	return ntids;
}

int main(int argc, char **argv)
{
	pthread_t th[NWORKERS];
	sigset_t usr1;
	size_t mib = 128, words;
	long ntids = 0;
	pid_t child;
	int a = 1;

	if (argc > a && !strcmp(argv[a], "hold")) {
		hold = 1;
		a++;
	}
	if (argc > a)
		mib = strtoul(argv[a], NULL, 10);
	if (mib < NTABLES) {
		fprintf(stderr, "usage: hostile_tids [hold] [MIB >= %d]\n", NTABLES);
		return 2;
	}
	report("pid=%d", getpid());
	report_thread("main");
	tids[0] = ft_tid();
	if (hold) {
		held = calloc(1, sizeof *held);
		if (!held || pthread_mutex_init(&held->m, NULL))
			die("holder");
	}
	if (pipe2(stop_fd, O_CLOEXEC))
		die("pipe2");
	pthread_barrier_init(&ready, NULL, NWORKERS + 1);
	for (int i = 0; i < NWORKERS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i))
			die("pthread_create");
	pthread_barrier_wait(&ready); /* every tid known, the lock held */

	words = (mib << 20) / NTABLES / sizeof(int32_t);
	for (int k = 0; k < NTABLES; k++) {
		tables[k] = malloc(words * sizeof(int32_t));
		if (!tables[k])
			die("malloc");
		ntids += fill(tables[k], words);
	}
	report("tids=%ld", ntids);
	report("table_bytes=%zu", words * sizeof(int32_t) * NTABLES);

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		while (sigwaitinfo(&usr1, NULL) < 0)
			;
		_exit(0);
	}
	report("child=%d", child);
	wait_child(child, "child_status");
	close(stop_fd[1]);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	return 0;
}
