/* --locks=uprobe: keeping the lock probes on the traced processes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernel/lock_follow.h"
#include "kernel/uprobes.h"
#include "proc/procfs.h"
#include "proc/proctree.h"
#include "util/clock.h"

#define WAIT_MAX 32
#define RETRY_MS 2
#define GIVE_UP_NS (1000ULL * 1000 * 1000)

struct lock_follow {
	struct uprobes *uprobes;
	/* processes that just exec'd: the dynamic loader maps their libc a
	 * moment later, and their probes can only go on once it has */
	int waiting[WAIT_MAX];
	uint64_t since[WAIT_MAX];
	int nwaiting;
	int said_no_libc; /* processes with no dynamic glibc so far */
};

struct lock_follow *lock_follow__new(struct uprobes *u)
{
	struct lock_follow *lf = calloc(1, sizeof(*lf));

	if (!lf) {
		fprintf(stderr, "forktrace: cannot allocate memory\n");
		return NULL;
	}
	lf->uprobes = u;
	return lf;
}

void lock_follow__free(struct lock_follow *lf)
{
	free(lf);
}

/* Probes on pid's libc now. A process without a dynamic libc: said on
 * stderr; one already gone (a short-lived child) needs no word. */
static void follow(struct lock_follow *lf, int pid)
{
	char err[512];
	int rc = uprobes__attach_pid(lf->uprobes, pid, err, sizeof(err));

	/* a child in its exit shows no libc any more: true only of one that runs,
	 * and said once (a static program's children are all alike) */
	if (rc == 1 && (!proctree_running(pid) || lf->said_no_libc++))
		return;
	if (rc == 1 || (rc < 0 && errno != ESRCH))
		fprintf(stderr, "%s\n", err);
}

/* The same, silent when the process maps no libc yet: 1 then (try again
 * later), 0 once followed, -1 after a line on stderr. */
static int try_follow(struct lock_follow *lf, int pid)
{
	char err[512];
	int rc = uprobes__attach_pid(lf->uprobes, pid, err, sizeof(err)), e = errno;

	/* just after exec the kernel may refuse the probes for a moment (ESRCH)
	 * although the process lives on: that too is worth another try */
	if (rc < 0 && e == ESRCH && procfs_exists(pid))
		return 1;
	/* gone already (a short-lived worker): nothing to say */
	if (rc < 0 && e != ESRCH)
		fprintf(stderr, "%s\n", err);
	return rc;
}

void lock_follow__pid(struct lock_follow *lf, int pid)
{
	if (lf)
		follow(lf, pid);
}

static void wait_for_libc(struct lock_follow *lf, int pid)
{
	if (lf->nwaiting == WAIT_MAX) {
		fprintf(stderr,
			"forktrace: too many processes exec'ing at once: the locks of pid %d"
			" are not followed\n",
			pid);
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
		int rc = try_follow(lf, lf->waiting[i]);

		if (rc == 1 && now - lf->since[i] < GIVE_UP_NS)
			continue;
		if (rc == 1)
			follow(lf, lf->waiting[i]); /* says why not */
		drop_waiting(lf, i--);
	}
}

int lock_follow__timeout(const struct lock_follow *lf, int timeout_ms)
{
	return lf && lf->nwaiting && timeout_ms > RETRY_MS ? RETRY_MS : timeout_ms;
}

void lock_follow__fork(struct lock_follow *lf, int child_pid, bool shares_vm)
{
	/* a child sharing the parent's memory runs nothing but exec */
	if (lf && !shares_vm)
		follow(lf, child_pid);
}

void lock_follow__exec(struct lock_follow *lf, int pid)
{
	if (!lf)
		return;
	/* probes already on this process's libc file keep working in the new
	 * image, which maps the same file; a process not followed yet gets its
	 * probes once the loader has mapped its libc */
	uprobes__exec_pid(lf->uprobes, pid);
	if (try_follow(lf, pid) == 1)
		wait_for_libc(lf, pid);
}

void lock_follow__exit(struct lock_follow *lf, int pid)
{
	if (!lf)
		return;
	for (int i = 0; i < lf->nwaiting; i++)
		if (lf->waiting[i] == pid)
			drop_waiting(lf, i--);
	uprobes__detach_pid(lf->uprobes, pid);
}
