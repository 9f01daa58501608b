/* --locks=uprobe: keeping the lock probes on the traced processes. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "forktrace.h"
#include "kernel/lock_follow.h"

#define WAIT_MAX 32
#define RETRY_MS 2
#define GIVE_UP_NS (1000ULL * 1000 * 1000)

struct lock_follow {
	struct session *session;
	/* processes that just exec'd: the dynamic loader maps their libc a
	 * moment later, and their probes can only go on once it has */
	int waiting[WAIT_MAX];
	uint64_t since[WAIT_MAX];
	int nwaiting;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct lock_follow *lock_follow__new(struct session *s)
{
	struct lock_follow *lf = calloc(1, sizeof(*lf));

	if (!lf) {
		fprintf(stderr, "forktrace: cannot allocate memory\n");
		return NULL;
	}
	lf->session = s;
	return lf;
}

void lock_follow__free(struct lock_follow *lf)
{
	free(lf);
}

void lock_follow__pid(struct lock_follow *lf, int pid)
{
	if (lf)
		session__follow_locks(lf->session, pid);
}

static void wait_for_libc(struct lock_follow *lf, int pid)
{
	if (lf->nwaiting == WAIT_MAX) {
		fprintf(stderr, "forktrace: too many processes exec'ing at once: the locks of pid %d"
				" are not followed\n", pid);
		return;
	}
	lf->waiting[lf->nwaiting] = pid;
	lf->since[lf->nwaiting++] = mono_ns();
}

static void drop_waiting(struct lock_follow *lf, int i)
{
	lf->waiting[i] = lf->waiting[--lf->nwaiting];
	lf->since[i] = lf->since[lf->nwaiting];
}

void lock_follow__tick(struct lock_follow *lf)
{
	uint64_t now;

	if (!lf || !lf->nwaiting)
		return;
	now = mono_ns();
	for (int i = 0; i < lf->nwaiting; i++) {
		int rc = session__try_follow_locks(lf->session, lf->waiting[i]);

		if (rc == 1 && now - lf->since[i] < GIVE_UP_NS)
			continue;
		if (rc == 1)
			session__follow_locks(lf->session, lf->waiting[i]); /* says why not */
		drop_waiting(lf, i--);
	}
}

int lock_follow__timeout(const struct lock_follow *lf, int timeout_ms)
{
	return lf && lf->nwaiting && timeout_ms > RETRY_MS ? RETRY_MS : timeout_ms;
}

void lock_follow__record(struct lock_follow *lf, const void *data, size_t size)
{
	const struct rec_hdr *h = data;

	if (!lf || size < sizeof(struct rec_fork))
		return; /* every record looked at here is at least that long */
	switch (h->type) {
	case REC_FORK:
		/* a child sharing the parent's memory runs nothing but exec */
		if (!(h->flags & FORK_SHARES_VM))
			session__follow_locks(lf->session, ((const struct rec_fork *)h)->child_pid);
		break;
	case REC_EXEC:
		/* probes already on this process's libc file keep working in the
		 * new image, which maps the same file; a process not followed yet
		 * gets its probes once the loader has mapped its libc */
		session__exec_locks(lf->session, h->pid);
		if (session__try_follow_locks(lf->session, h->pid) == 1)
			wait_for_libc(lf, h->pid);
		break;
	case REC_EXIT:
		for (int i = 0; i < lf->nwaiting; i++)
			if (lf->waiting[i] == (int)h->pid)
				drop_waiting(lf, i--);
		session__unfollow_locks(lf->session, h->pid);
		break;
	}
}
