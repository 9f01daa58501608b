/* Closing links in background threads (see link_reaper.h). */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/link_reaper.h"

struct link_reaper {
	pthread_mutex_t mu;
	pthread_cond_t more, idle;
	struct linkref *q;
	size_t n, cap;
	int busy, nthreads, max_threads;
	bool stop;
	pthread_t th[LINK_REAPER_THREADS];
};

static void close_link(const struct linkref *l)
{
	if (l->link)
		bpf_link__destroy(l->link);
	else if (l->fd >= 0)
		close(l->fd);
}

static void *reaper_main(void *arg)
{
	struct link_reaper *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct linkref l;

		while (!r->n && !r->stop)
			pthread_cond_wait(&r->more, &r->mu);
		if (!r->n)
			break;
		l = r->q[--r->n];
		r->busy++;
		pthread_mutex_unlock(&r->mu);
		close_link(&l);
		pthread_mutex_lock(&r->mu);
		r->busy--;
		if (!r->n && !r->busy)
			pthread_cond_broadcast(&r->idle);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct link_reaper *link_reaper__new(void)
{
	struct link_reaper *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->more, NULL);
	pthread_cond_init(&r->idle, NULL);
	r->max_threads = LINK_REAPER_THREADS;
	return r;
}

void link_reaper__set_threads(struct link_reaper *r, int max_threads)
{
	pthread_mutex_lock(&r->mu);
	r->max_threads = max_threads < 1		   ? 1 :
			 max_threads > LINK_REAPER_THREADS ? LINK_REAPER_THREADS :
							     max_threads;
	pthread_mutex_unlock(&r->mu);
}

/* Room for n more in the queue; called locked. */
static bool queue_reserve(struct link_reaper *r, size_t n)
{
	size_t cap = r->cap ? r->cap : 64;
	struct linkref *q;

	if (r->n + n <= r->cap)
		return true;
	while (cap < r->n + n)
		cap *= 2;
	q = realloc(r->q, cap * sizeof(*q));
	if (!q)
		return false;
	r->q = q;
	r->cap = cap;
	return true;
}

/* A thread per queued link, up to max_threads, so that their grace
 * periods overlap; called locked. */
static void start_threads(struct link_reaper *r)
{
	sigset_t all, old;

	if (r->nthreads >= r->max_threads || (size_t)r->nthreads >= r->n + (size_t)r->busy)
		return;
	/* signals are for the caller's thread (they interrupt its poll) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (r->nthreads < r->max_threads && (size_t)r->nthreads < r->n + (size_t)r->busy &&
	       pthread_create(&r->th[r->nthreads], NULL, reaper_main, r) == 0)
		r->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* No thread at all: the queue is closed here; called locked. */
static void close_queue_here(struct link_reaper *r)
{
	while (r->n) {
		struct linkref l = r->q[--r->n];

		pthread_mutex_unlock(&r->mu);
		close_link(&l);
		pthread_mutex_lock(&r->mu);
	}
}

void link_reaper__hand(struct link_reaper *r, const struct linkref *links, int n)
{
	if (n <= 0)
		return;
	pthread_mutex_lock(&r->mu);
	if (!queue_reserve(r, (size_t)n)) {
		pthread_mutex_unlock(&r->mu);
		for (int i = 0; i < n; i++)
			close_link(&links[i]);
		return;
	}
	memcpy(r->q + r->n, links, (size_t)n * sizeof(*links));
	r->n += (size_t)n;
	start_threads(r);
	if (!r->nthreads)
		close_queue_here(r);
	pthread_cond_broadcast(&r->more);
	pthread_mutex_unlock(&r->mu);
}

void link_reaper__free(struct link_reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	while (r->n || r->busy)
		pthread_cond_wait(&r->idle, &r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->more);
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->th[i], NULL);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->more);
	pthread_cond_destroy(&r->idle);
	free(r->q);
	free(r);
}
