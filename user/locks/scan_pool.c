/* The scanner threads (scan_pool.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "locks/scan_pool.h"
#include "util/clock.h"

enum task_state { T_QUEUED, T_STARTING, T_RUNNING, T_FINISHING, T_DONE };

struct scan_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;  /* a worker may have something to do */
	pthread_cond_t ended; /* a task is done */
	struct scan_task *active; /* queued, starting, running, finishing: in order */
	struct scan_task *done;	  /* done, for scan_pool_collect, in order */
	int nactive, queue_max;
	pthread_t *threads;
	int nthreads;
	int efd;
	bool stopping;
	uint64_t timer; /* the earliest start a sleeping worker wakes for (0: none) */
};

/* A queued scan's start is rounded up to this tick: in a storm, whose
 * children exit before their scan is due, a worker wakes once a tick, not
 * once a fork. */
#define START_TICK_NS 1000000ULL

static void unlink_from(struct scan_task **list, struct scan_task *t)
{
	for (struct scan_task **pp = list; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			return;
		}
	}
}

static void append_to(struct scan_task **list, struct scan_task *t)
{
	struct scan_task **pp = list;

	while (*pp)
		pp = &(*pp)->next;
	t->next = NULL;
	*pp = t;
}

/* (lock held) t is done: collected by the loop, or by the caller settling it. */
static void finish_locked(struct scan_pool *p, struct scan_task *t)
{
	uint64_t one = 1;

	unlink_from(&p->active, t);
	p->nactive--;
	t->state = T_DONE;
	if (!t->settling) {
		append_to(&p->done, t);
		/* the only failure, a full counter (EAGAIN), means it is readable already */
		(void)!write(p->efd, &one, sizeof(one));
	}
	pthread_cond_broadcast(&p->ended);
}

/*
 * (lock held) What a worker does next: stop a cancelled scan, start a
 * queued one (cheap: it opens the child), or a piece of the running scan
 * with the fewest pieces left.
 */
static struct scan_task *pick(struct scan_pool *p, uint64_t now, uint64_t *next_due)
{
	struct scan_task *best = NULL;

	*next_due = 0;
	for (struct scan_task *t = p->active; t; t = t->next)
		if (t->state == T_RUNNING && t->cancelled && t->next_piece < t->npieces)
			return t;
	for (struct scan_task *t = p->active; t; t = t->next) {
		if (t->state != T_QUEUED)
			continue;
		if (t->not_before <= now)
			return t;
		if (!*next_due || t->not_before < *next_due)
			*next_due = t->not_before;
	}
	for (struct scan_task *t = p->active; t; t = t->next)
		if (t->state == T_RUNNING && t->next_piece < t->npieces &&
		    (!best || t->npieces - t->next_piece < best->npieces - best->next_piece))
			best = t;
	return best;
}

/* (lock held) The last piece ended: the task's result, then it is done. */
static void end_task(struct scan_pool *p, struct scan_task *t)
{
	t->state = T_FINISHING;
	pthread_mutex_unlock(&p->lock);
	t->gone = fork_scan_end(t->fs, &t->res) != 0;
	pthread_mutex_lock(&p->lock);
	finish_locked(p, t);
}

static void start_task(struct scan_pool *p, struct scan_task *t)
{
	struct scan_job *job;

	t->state = T_STARTING;
	pthread_mutex_unlock(&p->lock);
	job = fork_scan_start(t->fs);
	pthread_mutex_lock(&p->lock);
	t->ran = true;
	if (!job) {
		t->gone = true;
		finish_locked(p, t);
		return;
	}
	t->job = job;
	t->npieces = scan_job_pieces(job);
	t->state = T_RUNNING;
	if (t->cancelled)
		scan_job_cancel(job, t->cancelled);
	if (!t->npieces)
		end_task(p, t);
	else
		pthread_cond_broadcast(&p->work); /* its pieces are for every idle thread */
}

static void *worker(void *arg)
{
	struct scan_pool *p = arg;
	unsigned char *buf = malloc(SCAN_READ_SIZE);

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		uint64_t due = 0;
		struct scan_task *t = buf ? pick(p, mono_ns(), &due) : NULL;
		int i;

		if (!t && due) {
			struct timespec ts;

			due = (due + START_TICK_NS - 1) / START_TICK_NS * START_TICK_NS;
			ts = (struct timespec){ .tv_sec = (time_t)(due / 1000000000ULL),
						.tv_nsec = (long)(due % 1000000000ULL) };
			if (!p->timer || due < p->timer)
				p->timer = due;
			pthread_cond_timedwait(&p->work, &p->lock, &ts);
			if (p->timer == due)
				p->timer = 0;
			continue;
		}
		if (!t) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		if (t->state == T_QUEUED) {
			start_task(p, t);
			continue;
		}
		i = t->next_piece++;
		t->running++;
		pthread_mutex_unlock(&p->lock);
		scan_job_run_piece(t->job, i, buf);
		pthread_mutex_lock(&p->lock);
		t->running--;
		if (t->next_piece >= t->npieces && !t->running)
			end_task(p, t);
	}
	pthread_mutex_unlock(&p->lock);
	free(buf);
	return NULL;
}

struct scan_pool *scan_pool_new(int threads, int queue)
{
	struct scan_pool *p = calloc(1, sizeof(*p));
	pthread_condattr_t mono;
	sigset_t all, old;

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	/* the tasks' start times are CLOCK_MONOTONIC's */
	pthread_condattr_init(&mono);
	pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
	pthread_cond_init(&p->work, &mono);
	pthread_condattr_destroy(&mono);
	pthread_cond_init(&p->ended, NULL);
	p->queue_max = queue < 1 ? 1 : queue;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->threads = calloc((size_t)(threads < 1 ? 1 : threads), sizeof(*p->threads));
	if (p->efd < 0 || !p->threads) {
		int err = errno;

		scan_pool_free(p);
		errno = err;
		return NULL;
	}
	/* signals are the tracing loop's: the scanners block them all */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < (threads < 1 ? 1 : threads); i++) {
		int err = pthread_create(&p->threads[i], NULL, worker, p);

		if (err) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			scan_pool_free(p);
			errno = err;
			return NULL;
		}
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

void scan_task_free(struct scan_task *t)
{
	if (!t)
		return;
	scan_result_free(&t->res);
	fork_scan_free(t->fs);
	free(t);
}

void scan_pool_free(struct scan_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	for (struct scan_task *t = p->active; t; t = t->next)
		if (t->job)
			scan_job_cancel(t->job, SCAN_REASON_EXIT);
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	/* every worker has left: what is still listed is no thread's */
	while (p->active) {
		struct scan_task *t = p->active;

		p->active = t->next;
		scan_task_free(t);
	}
	while (p->done) {
		struct scan_task *t = p->done;

		p->done = t->next;
		scan_task_free(t);
	}
	if (p->efd >= 0)
		close(p->efd);
	free(p->threads);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->ended);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int scan_pool_fd(const struct scan_pool *p)
{
	return p->efd;
}

struct scan_task *scan_pool_submit(struct scan_pool *p, struct fork_scan *fs, void *owner,
				   uint64_t not_before)
{
	struct scan_task *t;

	pthread_mutex_lock(&p->lock);
	if (p->nactive >= p->queue_max || !(t = calloc(1, sizeof(*t)))) {
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	t->fs = fs;
	t->owner = owner;
	t->not_before = not_before;
	t->state = T_QUEUED;
	append_to(&p->active, t);
	p->nactive++;
	/* a worker that sleeps until an earlier start will see this one then */
	if (!p->timer || not_before < p->timer)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return t;
}

struct scan_task *scan_pool_collect(struct scan_pool *p)
{
	struct scan_task *t;
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	t = p->done;
	if (t) {
		p->done = t->next;
		t->next = NULL;
	} else {
		/* all collected: the descriptor is drained (EAGAIN: it was already) */
		(void)!read(p->efd, &n, sizeof(n));
	}
	pthread_mutex_unlock(&p->lock);
	return t;
}

void scan_pool_settle(struct scan_pool *p, struct scan_task *t, enum scan_reason why)
{
	pthread_mutex_lock(&p->lock);
	if (t->state == T_QUEUED && why) {
		/* never started: nothing read, nothing to wait for */
		unlink_from(&p->active, t);
		p->nactive--;
		t->state = T_DONE;
		t->cancelled = why;
	} else if (t->state == T_DONE) {
		unlink_from(&p->done, t); /* done, not yet collected */
	} else {
		t->settling = true;
		if (why) {
			t->cancelled = why;
			if (t->job)
				scan_job_cancel(t->job, why);
			pthread_cond_broadcast(&p->work); /* its pieces end at once */
		}
		while (t->state != T_DONE)
			pthread_cond_wait(&p->ended, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
}
