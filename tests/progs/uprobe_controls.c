/*
 * Trigger for --locks=uprobe: the lock operations that must NOT count as
 * holding a lock at a fork, next to two that must.
 *
 * At the fork:
 *  - "ft-cond" waits in pthread_cond_wait on cond_mutex: it does not hold
 *    cond_mutex (the child locks it and goes on);
 *  - "ft-holder" holds mutex and a read lock on rwlock (both held);
 *  - "ft-waiter" is blocked in pthread_mutex_lock(mutex): waiting, not
 *    holding;
 *  - the main thread failed pthread_mutex_trylock and a timed lock on mutex,
 *    sem_trywait and sem_timedwait on sem0 (value 0), and
 *    pthread_rwlock_trywrlock on rwlock: it acquired nothing.
 *
 * Reports: pid, holder_tid, cond_tid, waiter_tid, lock_mutex, lock_rwlock,
 * lock_cond, lock_sem0 (hex), trylock, timedlock, sem_trywait, sem_timedwait,
 * trywrlock (the failures' error numbers), child, child_cond_lock (0: the
 * child took cond_mutex), child_status.
 */
#include "ftlib.c"
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>

static pthread_mutex_t *mutex, *cond_mutex;
static pthread_rwlock_t *rwlock;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t *sem0;
static atomic_int holder_ready, cond_locked, cond_tid_v, waiter_tid_v, done;
static int stop[2];

static void *holder(void *arg)
{
	char c;

	(void)arg;
	pthread_setname_np(pthread_self(), "ft-holder");
	pthread_mutex_lock(mutex);
	pthread_rwlock_rdlock(rwlock);
	report("holder_tid=%d", ft_tid());
	atomic_store(&holder_ready, 1);
	while (read(stop[0], &c, 1) < 0 && errno == EINTR)
		;
	pthread_rwlock_unlock(rwlock);
	pthread_mutex_unlock(mutex);
	return NULL;
}

static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ft-cond");
	pthread_mutex_lock(cond_mutex);
	report("cond_tid=%d", ft_tid());
	atomic_store(&cond_tid_v, ft_tid());
	atomic_store(&cond_locked, 1);
	while (!atomic_load(&done))
		pthread_cond_wait(&cond, cond_mutex);
	pthread_mutex_unlock(cond_mutex);
	return NULL;
}

static void *mutex_waiter(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ft-waiter");
	report("waiter_tid=%d", ft_tid());
	atomic_store(&waiter_tid_v, ft_tid());
	pthread_mutex_lock(mutex); /* blocks until the holder lets go */
	pthread_mutex_unlock(mutex);
	return NULL;
}

/* Is thread tid blocked in futex(2) right now? */
static int in_futex(int tid)
{
	return ft_in_syscall(tid, SYS_futex);
}

static void pause_ms(long ms)
{
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&d, NULL);
}

static struct timespec in_ms(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += ms * 1000000L;
	t.tv_sec += t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	return t;
}

int main(void)
{
	pthread_t th_holder, th_cond, th_waiter;
	struct timespec t;
	pid_t child;
	int r;

	report("pid=%d", getpid());
	mutex = calloc(1, sizeof(*mutex));
	cond_mutex = calloc(1, sizeof(*cond_mutex));
	rwlock = calloc(1, sizeof(*rwlock));
	sem0 = calloc(1, sizeof(*sem0));
	if (!mutex || !cond_mutex || !rwlock || !sem0)
		die("calloc");
	pthread_mutex_init(mutex, NULL);
	pthread_mutex_init(cond_mutex, NULL);
	pthread_rwlock_init(rwlock, NULL);
	if (sem_init(sem0, 0, 0))
		die("sem_init");
	report("lock_mutex=%p", (void *)mutex);
	report("lock_cond=%p", (void *)cond_mutex);
	report("lock_rwlock=%p", (void *)rwlock);
	report("lock_sem0=%p", (void *)sem0);
	if (pipe2(stop, O_CLOEXEC))
		die("pipe2");

	if (pthread_create(&th_holder, NULL, holder, NULL) ||
	    pthread_create(&th_cond, NULL, cond_waiter, NULL))
		die("pthread_create");
	while (!atomic_load(&holder_ready) || !atomic_load(&cond_locked))
		pause_ms(1);
	/* cond_mutex is free once ft-cond waits in pthread_cond_wait */
	while (pthread_mutex_trylock(cond_mutex) != 0)
		pause_ms(1);
	pthread_mutex_unlock(cond_mutex);

	if (pthread_create(&th_waiter, NULL, mutex_waiter, NULL))
		die("pthread_create");
	while (!atomic_load(&waiter_tid_v) || !in_futex(atomic_load(&waiter_tid_v)))
		pause_ms(1);

	/* failures: none of these acquires anything */
	report("trylock=%d", pthread_mutex_trylock(mutex));
	t = in_ms(20);
	report("timedlock=%d", pthread_mutex_timedlock(mutex, &t));
	r = sem_trywait(sem0);
	report("sem_trywait=%d", r ? errno : 0);
	t = in_ms(20);
	while ((r = sem_timedwait(sem0, &t)) && errno == EINTR)
		;
	report("sem_timedwait=%d", r ? errno : 0);
	report("trywrlock=%d", pthread_rwlock_trywrlock(rwlock));
	/* both waiters still wait (nothing above woke them for good) */
	while (!in_futex(atomic_load(&waiter_tid_v)) || !in_futex(atomic_load(&cond_tid_v)))
		pause_ms(1);

	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		r = pthread_mutex_lock(cond_mutex); /* free at the fork */
		report("child_cond_lock=%d", r);
		_exit(0);
	}
	report("child=%d", child);
	wait_child(child, "child_status");

	atomic_store(&done, 1);
	pthread_mutex_lock(cond_mutex);
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(cond_mutex);
	close(stop[1]);
	pthread_join(th_holder, NULL);
	pthread_join(th_waiter, NULL);
	pthread_join(th_cond, NULL);
	return 0;
}
