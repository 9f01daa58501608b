/*
 * The process tree from /proc: the children-file, stat-line and status
 * parsers on the text the kernel writes and on hostile text, then the
 * readers on a real tree forked here (a child, its child, a re-exec).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc/proctree.h"
#include "unit.h"

TEST(children_file)
{
	int pids[4] = { 0 };

	CHECK(proctree_parse_children("123 456 789 ", pids, 4) == 3);
	CHECK(pids[0] == 123 && pids[1] == 456 && pids[2] == 789);
	CHECK(proctree_parse_children("", pids, 4) == 0);
	CHECK(proctree_parse_children(" \n", pids, 4) == 0);
	CHECK(proctree_parse_children("42", pids, 4) == 1 && pids[0] == 42);
}

TEST(children_file_garbage)
{
	int pids[4] = { 0 };

	/* not pids: words, zero, signs, hex, a number past INT_MAX, a digit run too long */
	CHECK(proctree_parse_children("12 abc 0 -5 +7 0x10 99999999999 "
				      "123456789012345678901234567890 34\n",
				      pids, 4) == 2);
	CHECK(pids[0] == 12 && pids[1] == 34);
	CHECK(proctree_parse_children("2147483647 2147483648", pids, 4) == 1);
	CHECK(pids[0] == 2147483647);
}

TEST(children_file_cut_at_cap)
{
	int pids[3] = { 0, 0, 0 };

	/* five pids, room for two: the count says the list was cut */
	CHECK(proctree_parse_children("1 2 3 4 5", pids, 2) == 5);
	CHECK(pids[0] == 1 && pids[1] == 2 && pids[2] == 0);
	CHECK(proctree_parse_children("1 2", NULL, 0) == 2);
}

/* A real line (cat, on kernel 6.18), comm replaced by whatever the test wants. */
static const char *stat_line(char *buf, size_t size, const char *comm)
{
	snprintf(buf, size,
		 "15111 (%s) S 15061 15061 5891 0 -1 4194368 122 0 0 0 0 0 0 0 20 0 "
		 "3 0 63390 3133440 401 18446744073709551615 93831834521600 93831834541481 "
		 "140733013946400 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 93831834557488 "
		 "93831834559104 93831959691264 140733013949056 140733013949076 "
		 "140733013949076 140733013950443 0\n",
		 comm);
	return buf;
}

TEST(stat_line_plain)
{
	struct proctree_stat st;
	char buf[1024];

	CHECK(proctree_parse_stat(stat_line(buf, sizeof(buf), "cat"), &st) == 0);
	CHECK(st.pid == 15111 && st.ppid == 15061 && st.state == 'S');
	CHECK_STR(st.comm, "cat");
	CHECK(st.flags == 4194368UL && st.num_threads == 3);
	CHECK(st.starttime == 63390ULL);
	CHECK(st.startstack == 140733013946400ULL);
	CHECK(!(st.flags & PROCTREE_PF_KTHREAD));
}

TEST(stat_line_hostile_comm)
{
	struct proctree_stat st;
	char buf[1024];

	/* the comm runs to the last ')', whatever it holds */
	CHECK(proctree_parse_stat(stat_line(buf, sizeof(buf), "a) b (c"), &st) == 0);
	CHECK_STR(st.comm, "a) b (c");
	CHECK(st.ppid == 15061 && st.state == 'S' && st.starttime == 63390ULL);
	CHECK(proctree_parse_stat(stat_line(buf, sizeof(buf), ") R 1 1 1 0 -1 0 ("), &st) == 0);
	CHECK_STR(st.comm, ") R 1 1 1 0 -1 0 (");
	CHECK(st.ppid == 15061);
	CHECK(proctree_parse_stat(stat_line(buf, sizeof(buf), "x\ny) Z 1"), &st) == 0);
	CHECK(st.ppid == 15061 && st.state == 'S');
	CHECK(proctree_parse_stat(stat_line(buf, sizeof(buf), ""), &st) == 0);
	CHECK_STR(st.comm, "");
}

TEST(stat_line_kernel_thread)
{
	struct proctree_stat st;

	/* kthreadd on 6.18: PF_KTHREAD in the flags, no stack */
	CHECK(proctree_parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 26 0 "
				  "0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 "
				  "0 0 0 0 0 0 0 0 0 0 0\n",
				  &st) == 0);
	CHECK(st.flags & PROCTREE_PF_KTHREAD);
	CHECK(st.ppid == 0 && st.startstack == 0);
	/* a long worker name (kernels print more than 15 bytes for kthreads): cut, not overflowed */
	CHECK(proctree_parse_stat(
		      "93 (kworker/u8:2-events_unbound-and-then-some-more-text-to-be-cut-"
		      "here-and-here) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 "
		      "120 0 0 18446744073709551615 0 0 0\n",
		      &st) == 0);
	CHECK(strlen(st.comm) == sizeof(st.comm) - 1);
	CHECK(st.state == 'I' && st.ppid == 2 && st.starttime == 120ULL);
}

TEST(stat_line_malformed)
{
	struct proctree_stat st;
	char buf[1024];

	CHECK(proctree_parse_stat("", &st) < 0);
	CHECK(proctree_parse_stat("123", &st) < 0);
	CHECK(proctree_parse_stat("(x) S 1", &st) < 0);		     /* no pid */
	CHECK(proctree_parse_stat("12 (x)", &st) < 0);		     /* nothing after comm */
	CHECK(proctree_parse_stat("12 (x) S 1 2 3 4 5 6", &st) < 0); /* cut before starttime */
	CHECK(proctree_parse_stat("12 x) S 1 1 1 0 -1 0", &st) < 0); /* no '(' */
	CHECK(proctree_parse_stat("12 )x( S 1 1 1 0 -1 0", &st) < 0);
	CHECK(proctree_parse_stat("12 (x) S abc 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 26\n", &st) <
	      0);
	CHECK(proctree_parse_stat("12 (x) S 99999999999999999999999 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
				  "20 0 1 0 26\n",
				  &st) < 0);
	CHECK(proctree_parse_stat("12 (x) S 4294967296 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 26\n",
				  &st) < 0);
	/* up to starttime is enough: an old or cut line */
	CHECK(proctree_parse_stat("12 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 26", &st) == 0);
	CHECK(st.starttime == 26ULL && st.startstack == 0);
	/* trailing garbage after the needed fields is not a reason to refuse it */
	snprintf(buf, sizeof(buf), "%s", "12 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 26 0 0 z");
	CHECK(proctree_parse_stat(buf, &st) == 0);
}

TEST(status_tgid)
{
	CHECK(proctree_parse_tgid("Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\n"
				  "Tgid:\t4242\nNgid:\t0\nPid:\t4250\nPPid:\t1\n") == 4242);
	/* a name that looks like the field: the kernel escapes newlines, so it stays on its line */
	CHECK(proctree_parse_tgid("Name:\tTgid:\t666\nUmask:\t0022\nTgid:\t77\n") == 77);
	CHECK(proctree_parse_tgid("Name:\tx\\nTgid:\t666\nTgid:\t78\n") == 78);
	CHECK(proctree_parse_tgid("Tgid:\t9\n") == 9);
	CHECK(proctree_parse_tgid("Name:\tx\nPid:\t4\n") < 0);
	CHECK(proctree_parse_tgid("Name:\tx\nTgid:\tabc\n") < 0);
	CHECK(proctree_parse_tgid("Name:\tx\nTgid:\t-3\n") < 0);
	CHECK(proctree_parse_tgid("Name:\tx\nTgid:\t99999999999\n") < 0);
	CHECK(proctree_parse_tgid("Name:\tx\nTgid:\t12x\n") < 0);
	CHECK(proctree_parse_tgid("") < 0);
}

static void *park(void *arg)
{
	int *tid = arg;

	__atomic_store_n(tid, (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	pause();
	return NULL;
}

TEST(live_tgid_and_kernel_thread)
{
	int tid = 0, tgid, kthread_self, kthread_2;
	pthread_t th;

	CHECK(pthread_create(&th, NULL, park, &tid) == 0);
	while (!__atomic_load_n(&tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	tgid = proctree_tgid(tid);
	pthread_cancel(th);
	pthread_join(th, NULL);
	CHECK(tgid == getpid());
	CHECK(proctree_tgid(getpid()) == getpid());
	kthread_self = proctree_is_kthread(getpid());
	kthread_2 = proctree_is_kthread(2); /* kthreadd */
	CHECK(kthread_self == 0);
	CHECK(kthread_2 == 1);
}

/* Polls until cond(arg) holds, for up to 5 s. */
static int eventually(int (*cond)(void *), void *arg)
{
	for (int i = 0; i < 5000; i++) {
		if (cond(arg))
			return 1;
		usleep(1000);
	}
	return 0;
}

struct tree {
	pid_t child, grandchild;
	int pipe[2];
};

/* child -> grandchild, both parked until killed; the grandchild's pid comes back on the pipe. */
static int fork_tree(struct tree *t)
{
	if (pipe(t->pipe))
		return -1;
	t->child = fork();
	if (t->child < 0)
		return -1;
	if (t->child == 0) {
		pid_t g = fork();

		if (g == 0) {
			for (;;)
				pause();
		}
		if (write(t->pipe[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		for (;;)
			pause();
	}
	if (read(t->pipe[0], &t->grandchild, sizeof(t->grandchild)) != sizeof(t->grandchild))
		return -1;
	return 0;
}

static void kill_wait(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static int has(const int *pids, int n, int pid)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

TEST(live_descendants)
{
	struct tree t = { 0 };
	int pids[16], n, ns, pids_scan[16], cut, fne_child, fne_grand, fne_self;
	int idx_child = -1, idx_grand = -1;

	CHECK(fork_tree(&t) == 0);
	ns = proctree_descendants_scan(getpid(), pids_scan, 16);
	cut = proctree_descendants(getpid(), pids, 1);
	n = proctree_descendants(getpid(), pids, 16);
	for (int i = 0; i < n; i++) {
		if (pids[i] == t.child)
			idx_child = i;
		if (pids[i] == t.grandchild)
			idx_grand = i;
	}
	fne_child = proctree_forked_not_execed(t.child, getpid());
	fne_grand = proctree_forked_not_execed(t.grandchild, t.child);
	fne_self = proctree_forked_not_execed(getpid(), t.child); /* the parent is older */
	/* the child's own tree, from below: only the grandchild */
	ns = ns >= 0 && proctree_descendants_scan(t.child, pids_scan + 8, 8) == 1 &&
			     pids_scan[8] == t.grandchild ?
		     ns :
		     -2;
	kill_wait(t.grandchild);
	kill_wait(t.child);
	close(t.pipe[0]);
	close(t.pipe[1]);
	CHECK(n >= 2);
	CHECK(idx_child >= 0 && idx_grand > idx_child); /* parents before children */
	CHECK(ns != -2);
	CHECK(has(pids_scan, ns, t.child) && has(pids_scan, ns, t.grandchild));
	CHECK(cut == 2); /* cap + 1: more than fit */
	CHECK(fne_child == 1 && fne_grand == 1 && fne_self == 0);
}

TEST(live_descendants_gone)
{
	pid_t child = fork();
	int pids[4], r, e;

	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	r = proctree_descendants(child, pids, 4);
	e = errno;
	CHECK(r == -1 && e == ESRCH);
	CHECK(proctree_forked_not_execed(child, getpid()) == -1);
}

struct reexec {
	pid_t sh;  /* sh -c '...': forks an inner sh */
	int inner; /* the inner sh (the same binary, exec'd anew) */
	int sleep; /* its child */
};

static int inner_shell_running(void *arg)
{
	struct reexec *r = arg;
	int pids[8], n = proctree_descendants(r->sh, pids, 8);
	char path[64], target[64];
	ssize_t len;

	/* sh -> inner sh -> sleep: once sleep runs, the inner sh has exec'd */
	if (n != 2)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", pids[1]);
	len = readlink(path, target, sizeof(target) - 1);
	if (len <= 0)
		return 0;
	target[len] = 0;
	if (!strstr(target, "sleep"))
		return 0;
	r->inner = pids[0];
	r->sleep = pids[1];
	return 1;
}

TEST(live_reexec_of_same_binary_is_not_a_fork)
{
	struct reexec r = { 0 };
	int found, fne = -9;

	r.sh = fork();
	if (r.sh == 0) {
		execl("/bin/sh", "sh", "-c", "/bin/sh -c 'sleep 30; :'; :", (char *)NULL);
		_exit(127);
	}
	found = eventually(inner_shell_running, &r);
	if (found)
		fne = proctree_forked_not_execed(r.inner, r.sh);
	if (r.sleep > 0)
		kill(r.sleep, SIGKILL);
	if (r.inner > 0)
		kill(r.inner, SIGKILL);
	kill_wait(r.sh);
	CHECK(found);
	/* the same exe, started later, but a new stack: it exec'd */
	CHECK(fne == 0);
}
