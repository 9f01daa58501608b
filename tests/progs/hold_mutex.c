/*
 * Trigger: a worker thread holds a lock while the main thread forks; the
 * child then takes the same lock and hangs forever (the worker was not
 * copied). Runs the same with or without forktrace around it, so it also
 * makes the hung child that `forktrace diagnose` is tested on.
 *
 *   hold_mutex [KIND] [--child=lock|stop|none] [--touch-mib=N] [--tid-every=N]
 *
 * KIND: normal (default), recursive (held twice), errorcheck, adaptive,
 *       robust, pi, rwlock-write, semaphore (sem_wait, like CPython's Lock).
 *       pi is for scanning only: a forked child taking it gets an error from
 *       FUTEX_LOCK_PI (the owner is in another process) and glibc aborts.
 * --child=lock   the child takes the lock and blocks (default)
 * --child=stop   the child stops itself (SIGSTOP) first: its memory is then
 *                exactly the parent's at the fork, for scanning; SIGCONT it
 *                and it takes the lock
 * --child=none   the child only pauses
 * --touch-mib=N  before forking, fill N MiB of heap with pseudo-random words
 * --tid-every=N  ... of which one word in N is a tid of this process: the
 *                decoys a lock scan must not report
 *
 * Never writes to stdout. Reports key=value lines to the file $FT_REPORT:
 * pid, kind, lock (hex address), worker_tid, main_tid, touched_mib,
 * child_pid. The parent then waits for the child forever: tests kill it.
 */
#include "ftlib.c"
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

enum kind { NORMAL, RECURSIVE, ERRORCHECK, ADAPTIVE, ROBUST, PI, RWLOCK_WRITE, SEMAPHORE };

static const char *const kind_names[] = {
	"normal", "recursive", "errorcheck",   "adaptive",
	"robust", "pi",	       "rwlock-write", "semaphore",
};

static enum kind kind = NORMAL;
static void *lock;     /* a pthread_mutex_t, pthread_rwlock_t or sem_t, on the heap */
static int ready[2];   /* the worker tells main it holds the lock */
static int worker_tid; /* set before the worker writes to ready[] */

/* pthread functions return their error instead of setting errno */
static void fail(const char *what, int err)
{
	errno = err;
	die(what);
}

static void init_mutex(void)
{
	pthread_mutexattr_t a;
	int err;

	pthread_mutexattr_init(&a);
	if (kind == RECURSIVE)
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	if (kind == ERRORCHECK)
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	if (kind == ADAPTIVE)
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	if (kind == ROBUST)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (kind == PI)
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	err = pthread_mutex_init(lock, &a);
	if (err)
		fail("pthread_mutex_init", err);
}

static void init_lock(void)
{
	lock = calloc(1, 64);
	if (!lock)
		fail("calloc", ENOMEM);
	if (kind == RWLOCK_WRITE) {
		int err = pthread_rwlock_init(lock, NULL);

		if (err)
			fail("pthread_rwlock_init", err);
	} else if (kind == SEMAPHORE) {
		if (sem_init(lock, 0, 1))
			die("sem_init");
	} else {
		init_mutex();
	}
}

/* Takes the lock; in the forked child this blocks forever. */
static int take_lock(void)
{
	switch (kind) {
	case RWLOCK_WRITE: return pthread_rwlock_wrlock(lock);
	case SEMAPHORE:
		while (sem_wait(lock) && errno == EINTR)
			;
		return 0;
	case RECURSIVE:
		/* held twice: the count must be seen as a recursion, not as garbage */
		pthread_mutex_lock(lock);
		return pthread_mutex_lock(lock);
	default: return pthread_mutex_lock(lock);
	}
}

static void *worker(void *arg)
{
	int err = take_lock();

	(void)arg;
	if (err)
		fail("worker: lock", err);
	worker_tid = ft_tid();
	pthread_setname_np(pthread_self(), "ft-holder");
	report("worker_tid=%d", worker_tid);
	report("lock=%p", lock);
	if (write(ready[1], "x", 1) != 1)
		die("worker: write");
	for (;;)
		pause(); /* holds the lock forever, blocked outside any futex */
	return NULL;
}

/* Pseudo-random words, and a tid every tid_every words: decoys for the scan. */
static void touch(size_t mib, unsigned tid_every, int tid_a, int tid_b)
{
	size_t words = (mib << 20) / 8;
	uint64_t *mem, x = 88172645463325252ULL;

	if (!mib)
		return;
	mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	for (size_t i = 0; i < words; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		mem[i] = x;
		if (tid_every && i % tid_every == 0)
			mem[i] = (x & 0xffffffff00000000ULL) | (uint32_t)(i & 1 ? tid_a : tid_b);
	}
	report("touched_mib=%zu", mib);
}

static void child(const char *mode)
{
	int err;

	if (strcmp(mode, "none") == 0)
		for (;;)
			pause();
	if (strcmp(mode, "stop") == 0)
		raise(SIGSTOP);
	err = take_lock();
	/* only reached if the lock could be taken after all */
	report("child_lock_result=%d", err);
	for (;;)
		pause();
}

static void parse_args(int argc, char **argv, const char **mode, size_t *mib, unsigned *every)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k;

		if (strncmp(a, "--child=", 8) == 0) {
			*mode = a + 8;
			continue;
		}
		if (strncmp(a, "--touch-mib=", 12) == 0) {
			*mib = strtoul(a + 12, NULL, 10);
			continue;
		}
		if (strncmp(a, "--tid-every=", 12) == 0) {
			*every = (unsigned)strtoul(a + 12, NULL, 10);
			continue;
		}
		for (k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
			if (strcmp(a, kind_names[k]) == 0)
				break;
		if (k == sizeof(kind_names) / sizeof(kind_names[0])) {
			fprintf(stderr, "hold_mutex: unknown argument %s\n", a);
			exit(2);
		}
		kind = (enum kind)k;
	}
}

int main(int argc, char **argv)
{
	const char *mode = "lock";
	unsigned tid_every = 0;
	size_t mib = 0;
	pthread_t t;
	pid_t pid;
	char c;
	int err;

	parse_args(argc, argv, &mode, &mib, &tid_every);
	report("pid=%d", getpid());
	report("main_tid=%d", ft_tid());
	report("kind=%s", kind_names[kind]);
	init_lock();
	if (pipe2(ready, O_CLOEXEC))
		die("pipe2");
	err = pthread_create(&t, NULL, worker, NULL);
	if (err)
		fail("pthread_create", err);
	if (read(ready[0], &c, 1) != 1)
		die("read");
	touch(mib, tid_every, ft_tid(), worker_tid);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		child(mode);
	report("child_pid=%d", pid);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}
