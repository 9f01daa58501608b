/*
 * Trigger for --locks=uprobe: a worker thread takes a lock and keeps it
 * while the main thread forks.
 *
 *   uprobe_hold KIND [--child=lock|exit]
 *
 * KIND: mutex (a default pthread mutex), rwlock-read (pthread_rwlock_rdlock:
 * no owner is recorded in the lock), semaphore (sem_wait on a sem_t of
 * value 1, the way CPython 3.11 builds threading.Lock).
 * --child=exit (default): the child _exit(0)s at once.
 * --child=lock: the child takes the lock too (a write lock for the rwlock)
 *   and blocks forever: the worker that held it was not copied. The parent
 *   kills it after $FT_HOLD_SECONDS seconds (default 3).
 *
 * All locks live on the heap. Reports: pid, kind, worker (TID,COMM),
 * worker_tid, lock (hex), child, child_status, and child_lock_result if
 * the child ever got the lock.
 */
#include "ftlib.c"
#include <semaphore.h>
#include <signal.h>
#include <time.h>

enum kind { MUTEX, RWLOCK_READ, SEMAPHORE };

static enum kind kind;
static void *lock;
static int ready[2], stop[2];

static int take(int in_child)
{
	switch (kind) {
	case RWLOCK_READ:
		return in_child ? pthread_rwlock_wrlock(lock) : pthread_rwlock_rdlock(lock);
	case SEMAPHORE:
		while (sem_wait(lock))
			if (errno != EINTR)
				return errno;
		return 0;
	default: return pthread_mutex_lock(lock);
	}
}

static void release(void)
{
	switch (kind) {
	case RWLOCK_READ: pthread_rwlock_unlock(lock); break;
	case SEMAPHORE: sem_post(lock); break;
	default: pthread_mutex_unlock(lock);
	}
}

static void *worker(void *arg)
{
	char c;
	int err;

	(void)arg;
	pthread_setname_np(pthread_self(), "ft-holder");
	err = take(0);
	if (err) {
		errno = err;
		die("worker: take the lock");
	}
	report_thread("worker");
	report("worker_tid=%d", ft_tid());
	report("lock=%p", lock);
	if (write(ready[1], "x", 1) != 1)
		die("worker: write");
	/* hold it, blocked outside any futex, until told to stop */
	while (read(stop[0], &c, 1) < 0 && errno == EINTR)
		;
	release();
	return NULL;
}

/* Wait up to secs for the child; kill it if it is still there. */
static void reap_child(pid_t child, double secs)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status;

	for (double waited = 0; waited < secs; waited += 0.01) {
		pid_t r = waitpid(child, &status, WNOHANG);

		if (r == child) {
			report("child_status=%d",
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			return;
		}
		if (r < 0 && errno != EINTR)
			die("waitpid");
		nanosleep(&tick, NULL);
	}
	kill(child, SIGKILL);
	wait_child(child, "child_status");
}

int main(int argc, char **argv)
{
	const char *child_mode = "exit", *hold = getenv("FT_HOLD_SECONDS");
	pthread_t t;
	pid_t child;
	char c;
	int err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "mutex") == 0)
			kind = MUTEX;
		else if (strcmp(argv[i], "rwlock-read") == 0)
			kind = RWLOCK_READ;
		else if (strcmp(argv[i], "semaphore") == 0)
			kind = SEMAPHORE;
		else if (strncmp(argv[i], "--child=", 8) == 0)
			child_mode = argv[i] + 8;
		else {
			fprintf(stderr, "uprobe_hold: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	report("pid=%d", getpid());
	report("kind=%s", kind == MUTEX	      ? "mutex" :
			  kind == RWLOCK_READ ? "rwlock-read" :
						"semaphore");
	lock = calloc(1, 64);
	if (!lock)
		die("calloc");
	if (kind == RWLOCK_READ)
		err = pthread_rwlock_init(lock, NULL);
	else if (kind == SEMAPHORE)
		err = sem_init(lock, 0, 1) ? errno : 0;
	else
		err = pthread_mutex_init(lock, NULL);
	if (err) {
		errno = err;
		die("init the lock");
	}
	if (pipe2(ready, O_CLOEXEC) || pipe2(stop, O_CLOEXEC))
		die("pipe2");
	if ((err = pthread_create(&t, NULL, worker, NULL))) {
		errno = err;
		die("pthread_create");
	}
	if (read(ready[0], &c, 1) != 1)
		die("read");

	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		if (strcmp(child_mode, "lock") == 0) {
			err = take(1);
			report("child_lock_result=%d", err);
		}
		_exit(0);
	}
	report("child=%d", child);
	reap_child(child, hold ? atof(hold) : 3.0);
	close(stop[1]);
	pthread_join(t, NULL);
	return 0;
}
