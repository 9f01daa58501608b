/*
 * Forks that are safe as far as locks go: forktrace must not report a held
 * lock or a deadlock for them.
 *
 *   scan_controls MODE
 *
 *   atfork    a worker ("ft-busy") takes and releases a mutex in a tight loop;
 *             pthread_atfork handlers take it in prepare and release it in
 *             parent and child. The child takes it again and releases it.
 *   condwait  a worker ("ft-waiter") waits in pthread_cond_wait at the fork
 *             (its mutex is therefore free); the child takes that mutex and
 *             releases it.
 *   released  a worker ("ft-released") took and released a mutex before the
 *             fork and idles outside any lock; the child takes the mutex and
 *             releases it.
 *   In these three modes the child then waits for SIGUSR1 (sigwaitinfo, no
 *   futex: the test sends it once forktrace has scanned the child, which it
 *   cannot do once the child is gone) and _exit(0)s.
 *   timedwait-cond, timedwait-sem
 *             a single-threaded parent; the child waits 1.5 s with a timeout
 *             (pthread_cond_timedwait / sem_timedwait) on its own condvar or
 *             semaphore, which times out; the child _exit(0)s.
 *   threads   a worker ("ft-idle") idles; the child starts 4 threads that use
 *             their own fresh mutex, rwlock and condvar heavily for 1.2 s,
 *             joins them and _exit(0)s.
 *
 * In every mode the parent waits for its child, reports child_status, stops
 * its worker and exits 0.
 * Reports: pid, main (TID,COMM), thread (TID,COMM), lock (hex, the mutex of
 * atfork/condwait/released), child, child_took_lock (atfork/condwait/released:
 * 1, the child took and released the mutex), child_result (timedwait: "timedout"),
 * child_iterations (threads), child_status.
 */
#include "ftlib.c"
#include <semaphore.h>
#include <signal.h>
#include <time.h>

static pthread_mutex_t *m; /* the worker's mutex, on the heap */
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER, ready_cond = PTHREAD_COND_INITIALIZER;
static volatile int stop, waiting, spins;
static int stop_fd[2], ready_fd[2];

static void prepare(void)
{
	pthread_mutex_lock(m);
}
static void release(void)
{
	pthread_mutex_unlock(m);
}

static void tell_ready(void)
{
	if (write(ready_fd[1], "x", 1) != 1)
		die("write");
}

static void idle_until_stopped(void)
{
	char c;

	while (read(stop_fd[0], &c, 1) < 0 && errno == EINTR)
		;
}

static void *busy(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ft-busy");
	report_thread("thread");
	while (!stop) {
		pthread_mutex_lock(m);
		for (volatile int i = 0; i < 2000; i++)
			;
		if (++spins == 1000)
			tell_ready();
		pthread_mutex_unlock(m);
	}
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ft-waiter");
	report_thread("thread");
	pthread_mutex_lock(m);
	waiting = 1;
	pthread_cond_signal(&ready_cond);
	while (!stop)
		pthread_cond_wait(&cond, m); /* m is free while this waits */
	pthread_mutex_unlock(m);
	return NULL;
}

static void *released(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ft-released");
	report_thread("thread");
	pthread_mutex_lock(m);
	pthread_mutex_unlock(m);
	tell_ready();
	idle_until_stopped();
	return NULL;
}

static void *idle(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ft-idle");
	report_thread("thread");
	tell_ready();
	idle_until_stopped();
	return NULL;
}

/* ---- the children ---- */

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void child_timedwait(int use_sem)
{
	struct timespec until;
	int err;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 500000000;
	until.tv_sec += 1 + until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	if (use_sem) {
		sem_t s;

		sem_init(&s, 0, 0);
		while ((err = sem_timedwait(&s, &until) ? errno : 0) == EINTR)
			;
	} else {
		pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
		pthread_cond_t cc = PTHREAD_COND_INITIALIZER;

		pthread_mutex_lock(&cm);
		do
			err = pthread_cond_timedwait(&cc, &cm, &until);
		while (err == 0); /* a spurious wakeup: nothing signals cc */
		pthread_mutex_unlock(&cm);
	}
	report("child_result=%s", err == ETIMEDOUT ? "timedout" : strerror(err));
	_exit(err == ETIMEDOUT ? 0 : 1);
}

#define CHILD_THREADS 4
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t crw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t ccond = PTHREAD_COND_INITIALIZER;
static long long child_end;
static long counter, iterations[CHILD_THREADS];

static void *child_thread(void *arg)
{
	long n = 0, me = (long)arg;

	while (mono_ns() < child_end) {
		pthread_mutex_lock(&cm);
		counter++;
		for (volatile int i = 0; i < 500; i++)
			;
		if (counter % 64 == 0)
			pthread_cond_broadcast(&ccond);
		else if (counter % 97 == 0) {
			struct timespec t;

			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_nsec += 1000000;
			if (t.tv_nsec >= 1000000000)
				t.tv_sec++, t.tv_nsec -= 1000000000;
			pthread_cond_timedwait(&ccond, &cm, &t);
		}
		pthread_mutex_unlock(&cm);
		if (n % 3 == 0)
			pthread_rwlock_wrlock(&crw);
		else
			pthread_rwlock_rdlock(&crw);
		for (volatile int i = 0; i < 300; i++)
			;
		pthread_rwlock_unlock(&crw);
		n++;
	}
	iterations[me] = n;
	return NULL;
}

static void child_threads(void)
{
	pthread_t th[CHILD_THREADS];
	long total = 0;

	child_end = mono_ns() + 1200000000LL;
	for (long i = 0; i < CHILD_THREADS; i++)
		if (pthread_create(&th[i], NULL, child_thread, (void *)i))
			_exit(2);
	for (int i = 0; i < CHILD_THREADS; i++) {
		pthread_join(th[i], NULL);
		total += iterations[i];
	}
	report("child_iterations=%ld", total);
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	void *(*fn)(void *) = NULL;
	sigset_t usr1;
	pthread_t th;
	pid_t child;
	char c;

	if (!strcmp(mode, "atfork"))
		fn = busy;
	else if (!strcmp(mode, "condwait"))
		fn = waiter;
	else if (!strcmp(mode, "released"))
		fn = released;
	else if (!strcmp(mode, "threads"))
		fn = idle;
	else if (strcmp(mode, "timedwait-cond") && strcmp(mode, "timedwait-sem")) {
		fprintf(stderr, "usage: scan_controls atfork|condwait|released|timedwait-cond|"
				"timedwait-sem|threads\n");
		return 2;
	}
	report("pid=%d", getpid());
	report_thread("main");
	m = calloc(1, sizeof(*m));
	if (!m || pthread_mutex_init(m, NULL))
		die("mutex");
	report("lock=%p", (void *)m);
	if (pipe2(stop_fd, O_CLOEXEC) || pipe2(ready_fd, O_CLOEXEC))
		die("pipe2");
	if (fn == busy && pthread_atfork(prepare, release, release))
		die("pthread_atfork");
	if (fn && pthread_create(&th, NULL, fn, NULL))
		die("pthread_create");
	if (fn == waiter) {
		/* m is ours again only once the waiter sleeps in pthread_cond_wait */
		pthread_mutex_lock(m);
		while (!waiting)
			pthread_cond_wait(&ready_cond, m);
		pthread_mutex_unlock(m);
	} else if (fn && read(ready_fd[0], &c, 1) != 1) {
		die("read");
	}

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* the child inherits the mask */

	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		if (!strcmp(mode, "timedwait-cond") || !strcmp(mode, "timedwait-sem"))
			child_timedwait(!strcmp(mode, "timedwait-sem"));
		if (fn == idle)
			child_threads();
		pthread_mutex_lock(m); /* free in the child, or the child hangs */
		pthread_mutex_unlock(m);
		report("child_took_lock=1");
		while (sigwaitinfo(&usr1, NULL) < 0)
			;
		_exit(0);
	}
	report("child=%d", child);
	wait_child(child, "child_status");
	if (fn == waiter) {
		pthread_mutex_lock(m);
		stop = 1;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(m);
	}
	stop = 1;
	close(stop_fd[1]);
	if (fn)
		pthread_join(th, NULL);
	return 0;
}
