/* The -p targets (see targets.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/targets.h"
#include "kernel/lock_follow.h"
#include "kernel/session.h"
#include "model/model.h"
#include "proc/procfs.h"
#include "proc/proctree.h"
#include "util/clock.h"

/* a tree bigger than this is traced as far as it goes, and said so */
#define TREE_MAX 65536

static bool seen(const int *v, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* The process an id names: its tgid, or -1 after one line on stderr. */
static int resolve_one(int id)
{
	int tgid = proctree_tgid(id), kthread;

	if (tgid < 0) {
		fprintf(stderr, "forktrace: no process with pid %d — check the pid (ps -p %d)\n",
			id, id);
		return -1;
	}
	kthread = proctree_is_kthread(tgid);
	if (kthread == 1) {
		fprintf(stderr,
			"forktrace: pid %d is a kernel thread — forktrace traces user"
			" processes; give the pid of one (ps -e)\n",
			id);
		return -1;
	}
	if (tgid != id)
		fprintf(stderr, "forktrace: %d is a thread of process %d: tracing process %d\n", id,
			tgid, tgid);
	return tgid;
}

int targets_resolve(const int *ids, int n, int **tgids)
{
	int *v = malloc((n ? n : 1) * sizeof(*v)), count = 0;

	if (!v) {
		fprintf(stderr, "forktrace: cannot allocate memory\n");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int tgid = resolve_one(ids[i]);

		if (tgid < 0) {
			free(v);
			return -1;
		}
		if (!seen(v, count, tgid))
			v[count++] = tgid;
	}
	*tgids = v;
	return count;
}

/* When pid started, as CLOCK_MONOTONIC ns (the model's clock), or now. */
static uint64_t start_mono(const struct proctree_stat *st)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t boot = clock_ns(CLOCK_BOOTTIME), mono = mono_ns(), since_boot;

	if (hz <= 0)
		return mono;
	since_boot = st->starttime * (1000000000ULL / (uint64_t)hz);
	/* CLOCK_BOOTTIME counts suspended time too; the difference is that */
	return since_boot > boot - mono ? since_boot - (boot - mono) : mono;
}

/* One descendant found in the walk: traced from now on. 0, or -1 if it
 * vanished (then nothing is left of it). */
static int attach_descendant(int pid, struct session *s, struct model *m,
			     struct lock_follow *follow)
{
	struct proctree_stat st;
	int forked, rc;

	if (proctree_read_stat(pid, &st))
		return -1;
	rc = session__trace_found(s, pid);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return 0; /* forked since the attach began: its fork record tells the model */
	forked = proctree_forked_not_execed(pid, st.ppid) == 1;
	model__add_existing(m, pid, st.ppid, forked, start_mono(&st));
	lock_follow__pid(follow, pid);
	return 0;
}

/* One walk of every root's tree: the descendants not traced yet are. */
static int walk(const int *roots, int n, int *tree, int *ntree, struct session *s, struct model *m,
		struct lock_follow *follow)
{
	int *found = malloc((TREE_MAX + 1) * sizeof(*found));

	if (!found) {
		fprintf(stderr, "forktrace: cannot allocate memory\n");
		return -1;
	}
	for (int r = 0; r < n; r++) {
		int k = proctree_descendants(roots[r], found, TREE_MAX);

		if (k < 0)
			continue; /* the root is gone: its exit was seen, or will be */
		if (k > TREE_MAX) {
			fprintf(stderr,
				"forktrace: process %d has more than %d descendants: only"
				" the first %d are traced\n",
				roots[r], TREE_MAX, TREE_MAX);
			k = TREE_MAX;
		}
		for (int i = 0; i < k; i++) {
			if (seen(roots, n, found[i]) || seen(tree, *ntree, found[i]) ||
			    *ntree >= TREE_MAX)
				continue;
			if (attach_descendant(found[i], s, m, follow) == 0)
				tree[(*ntree)++] = found[i];
		}
	}
	free(found);
	return 0;
}

int targets_attach(const int *roots, int n, struct session *s, struct model *m,
		   struct lock_follow *follow)
{
	int *tree = malloc(TREE_MAX * sizeof(*tree)), ntree = 0, rc = -1, attached = 0;

	if (!tree) {
		fprintf(stderr, "forktrace: cannot allocate memory\n");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (session__trace(s, roots[i]))
			goto out;
		/* in the traced map first: an exit after this look is seen */
		if (!proctree_running(roots[i])) {
			session__untrace(s, roots[i]);
			if (n > 1)
				fprintf(stderr,
					"forktrace: process %d ended before forktrace could attach"
					" to it\n",
					roots[i]);
			continue;
		}
		model__add_root(m, roots[i]);
		lock_follow__pid(follow, roots[i]);
		attached++;
	}
	if (!attached) {
		if (n == 1)
			fprintf(stderr,
				"forktrace: process %d ended before forktrace could attach —"
				" nothing to trace\n",
				roots[0]);
		else
			fprintf(stderr, "forktrace: every target ended before forktrace could"
					" attach — nothing to trace\n");
		goto out;
	}
	/* twice: a descendant that forked before it was traced has a child that
	 * only the second walk can find; its later forks the kernel reports */
	if (walk(roots, n, tree, &ntree, s, m, follow) ||
	    walk(roots, n, tree, &ntree, s, m, follow))
		goto out;
	/* one that exited before it was in the traced map left no exit record */
	for (int i = 0; i < ntree; i++) {
		if (!procfs_exists(tree[i])) {
			session__untrace(s, tree[i]);
			model__forget(m, tree[i]);
		}
	}
	rc = 0;
out:
	free(tree);
	return rc;
}

/* The kernel traces processes the model does not know when their fork
 * records were lost. One unknown at two looks in a row (a fork record in
 * flight arrives between them) is taken up as if found at attach. */
#define ADOPT_MAX 4096

struct adopt {
	struct session *s;
	struct model *m;
	struct lock_follow *follow;
	int prev[ADOPT_MAX], nprev;
	int next[ADOPT_MAX], nnext;
};

static void adopt_one(void *ctx, int pid, int parent_pid, uint64_t fork_ts, bool forked)
{
	struct adopt *a = ctx;
	struct proctree_stat st;
	bool again = seen(a->prev, a->nprev, pid);

	if (model__knows(a->m, pid))
		return;
	if (!again) {
		if (a->nnext < ADOPT_MAX)
			a->next[a->nnext++] = pid;
		return;
	}
	if (!proctree_running(pid) || proctree_read_stat(pid, &st)) {
		session__untrace(a->s, pid);
		return;
	}
	model__add_existing(a->m, pid, parent_pid,
			    forked && proctree_forked_not_execed(pid, parent_pid) == 1,
			    fork_ts ? fork_ts : start_mono(&st));
	lock_follow__pid(a->follow, pid);
}

int targets_adopt_unknown(struct session *s, struct model *m, struct lock_follow *follow)
{
	static struct adopt a;

	a.s = s;
	a.m = m;
	a.follow = follow;
	a.nnext = 0;
	if (session__each_traced(s, adopt_one, &a))
		return 0;
	memcpy(a.prev, a.next, a.nnext * sizeof(*a.next));
	a.nprev = a.nnext;
	return a.nnext;
}
