/* The process tree from /proc: descendants, tgids, kernel threads, forks that never exec'd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc/procfs.h"
#include "proc/proctree.h"

/* A children file longer than this is cut: ~90,000 children of one thread. */
#define CHILDREN_TEXT_MAX (1 << 20)
/* More processes than this on the host: the scan stops (pid_max is at most 4M). */
#define SCAN_MAX (1 << 22)

/* A whole file of unknown length, up to max bytes: malloc'd, NUL-terminated. */
static char *read_all(const char *path, size_t max, bool *cut)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 4096;
	char *buf;
	ssize_t n;
	int e;

	*cut = false;
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		if (len == cap - 1) {
			char *nb;

			if (cap > max) {
				*cut = true;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * The next whitespace-separated token of *p that is a pid (1..INT_MAX,
 * digits only): the pid, or 0 at the end of the text. Other tokens are
 * skipped.
 */
static int next_pid(const char **p)
{
	const char *s = *p;

	for (;;) {
		long long v = 0;
		bool ok = true;

		while (is_space(*s))
			s++;
		if (!*s) {
			*p = s;
			return 0;
		}
		for (; *s && !is_space(*s); s++) {
			if (*s < '0' || *s > '9' || v > INT_MAX)
				ok = false;
			else
				v = v * 10 + (*s - '0');
		}
		if (ok && v > 0 && v <= INT_MAX) {
			*p = s;
			return (int)v;
		}
	}
}

int proctree_parse_children(const char *text, int *pids, int cap)
{
	int n = 0, pid;

	while ((pid = next_pid(&text))) {
		if (n < cap)
			pids[n] = pid;
		if (n < INT_MAX)
			n++;
	}
	return n;
}

/* One unsigned decimal field and the spaces before it; false at garbage. */
static bool stat_field(const char **p, unsigned long long *v)
{
	const char *s = *p;
	unsigned long long x = 0;

	while (*s == ' ')
		s++;
	if (*s == '-') { /* signed fields (priority, nice, tty) are not needed as numbers */
		s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
		*v = 0;
		*p = s;
		return true;
	}
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s++ - '0');

		if (x > (~0ULL - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (*s && *s != ' ' && *s != '\n')
		return false;
	*v = x;
	*p = s;
	return true;
}

int proctree_parse_stat(const char *line, struct proctree_stat *st)
{
	const char *open = strchr(line, '('), *close = strrchr(line, ')'), *p;
	unsigned long long v;
	size_t len;
	int field;

	memset(st, 0, sizeof(*st));
	if (!open || !close || close < open)
		return -1;
	p = line;
	if (!stat_field(&p, &v) || v == 0 || v > INT_MAX || p >= open)
		return -1;
	st->pid = (int)v;
	len = (size_t)(close - open - 1);
	if (len >= sizeof(st->comm))
		len = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, len);
	st->comm[len] = 0;
	p = close + 1;
	if (p[0] != ' ' || !p[1] || p[1] == ' ')
		return -1;
	st->state = p[1];
	p += 2;
	/* fields 4 onwards; 28 (startstack) is optional, as everything after 22 */
	for (field = 4; field <= 28; field++) {
		if (!stat_field(&p, &v))
			return field > 22 ? 0 : -1;
		switch (field) {
		case 4:
			if (v > INT_MAX)
				return -1;
			st->ppid = (int)v;
			break;
		case 9: st->flags = (unsigned long)v; break;
		case 20: st->num_threads = v > INT_MAX ? INT_MAX : (int)v; break;
		case 22: st->starttime = v; break;
		case 28: st->startstack = v; break;
		}
	}
	return 0;
}

int proctree_read_stat(int pid, struct proctree_stat *st)
{
	char path[64], buf[2048];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (procfs_read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	if (proctree_parse_stat(buf, st) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int proctree_parse_tgid(const char *status)
{
	const char *p = status;
	char *end;
	long v;

	/* Name: comes first and the kernel escapes newlines in it, so a line start is trusted */
	if (strncmp(p, "Tgid:", 5) != 0) {
		p = strstr(p, "\nTgid:");
		if (!p)
			return -1;
		p++;
	}
	p += 5;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || v <= 0 || v > INT_MAX || (*end && *end != '\n'))
		return -1;
	return (int)v;
}

int proctree_tgid(int tid)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (procfs_read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	return proctree_parse_tgid(buf);
}

int proctree_is_kthread(int pid)
{
	struct proctree_stat st;
	char path[64], target[8];

	if (proctree_read_stat(pid, &st) == 0)
		return (st.flags & PROCTREE_PF_KTHREAD) != 0;
	if (errno != EINVAL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (readlink(path, target, sizeof(target)) >= 0)
		return 0;
	return errno == ENOENT ? 1 : -1;
}

/* A process's gone for the tree: no stat, or a zombie with no thread left running. */
static bool gone(const struct proctree_stat *st)
{
	return (st->state == 'Z' || st->state == 'X') && st->num_threads <= 1;
}

int proctree_running(int pid)
{
	struct proctree_stat st;

	if (proctree_read_stat(pid, &st) || st.pid != pid || gone(&st))
		return 0;
	/* a lone thread in its exit: its memory may already be torn down */
	return !(st.num_threads <= 1 && (st.flags & PROCTREE_PF_EXITING));
}

int proctree_forked_not_execed(int pid, int parent_pid)
{
	struct proctree_stat child, parent;
	struct stat ce, pe;
	char path[64];

	if (proctree_read_stat(pid, &child) < 0 || proctree_read_stat(parent_pid, &parent) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &ce) < 0)
		return errno == ENOENT ? 0 : -1; /* a kernel thread, a zombie: no image */
	snprintf(path, sizeof(path), "/proc/%d/exe", parent_pid);
	if (stat(path, &pe) < 0)
		return errno == ENOENT ? 0 : -1;
	if (ce.st_dev != pe.st_dev || ce.st_ino != pe.st_ino)
		return 0;
	/* clock ticks: a child forked in its parent's first tick has the same starttime */
	if (child.starttime < parent.starttime)
		return 0;
	if (child.startstack && parent.startstack && child.startstack != parent.startstack)
		return 0;
	return 1;
}

/* A set of pids: open addressing, 0 is empty. */
struct pidset {
	int *slot;
	size_t mask;
};

static int pidset_init(struct pidset *s, int cap)
{
	size_t n = 64;

	while (n < 2 * (size_t)cap + 2)
		n *= 2;
	s->slot = calloc(n, sizeof(*s->slot));
	s->mask = n - 1;
	return s->slot ? 0 : -1;
}

/* true if pid was not in the set (it is now). */
static bool pidset_add(struct pidset *s, int pid)
{
	size_t i = ((size_t)pid * 2654435761u) & s->mask;

	while (s->slot[i]) {
		if (s->slot[i] == pid)
			return false;
		i = (i + 1) & s->mask;
	}
	s->slot[i] = pid;
	return true;
}

struct walk {
	int *pids, cap, n;
	bool cut;
	struct pidset seen;
};

/* Adds a newly found descendant; false when the list is full. */
static bool walk_add(struct walk *w, int pid)
{
	if (!pidset_add(&w->seen, pid))
		return true;
	if (w->n == w->cap) {
		w->cut = true;
		return false;
	}
	w->pids[w->n++] = pid;
	return true;
}

/* The children of every thread of pid: 0, 1 when pid is gone, -1 on error. */
static int add_children(struct walk *w, int pid)
{
	char path[96];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT || errno == ESRCH ? 1 : -1;
	while ((de = readdir(d))) {
		const char *p;
		char *text;
		bool cut;
		int child;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", pid, de->d_name);
		text = read_all(path, CHILDREN_TEXT_MAX, &cut);
		if (!text)
			continue; /* the thread exited: its children moved to another thread */
		if (cut)
			w->cut = true;
		p = text;
		while ((child = next_pid(&p)))
			if (!walk_add(w, child))
				break;
		free(text);
		if (w->cut)
			break;
	}
	closedir(d);
	return 0;
}

/* Does this kernel have /proc/PID/task/TID/children? Asked of ourselves, who surely exist. */
static bool have_children_files(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", getpid(), getpid());
	return access(path, R_OK) == 0;
}

/* 0 if root is a live process, else -1 with errno ESRCH. */
static int root_alive(int root, struct proctree_stat *st)
{
	if (proctree_read_stat(root, st) < 0 || gone(st)) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

int proctree_descendants(int root, int *pids, int cap)
{
	struct proctree_stat st;
	struct walk w = { .pids = pids, .cap = cap };
	int i, err = 0;

	if (!have_children_files())
		return proctree_descendants_scan(root, pids, cap);
	if (cap < 0)
		cap = w.cap = 0;
	if (root_alive(root, &st) < 0)
		return -1;
	if (pidset_init(&w.seen, cap) < 0)
		return -1;
	pidset_add(&w.seen, root);
	/* pids[] is the queue: parents before children */
	for (i = -1; i < w.n && !w.cut; i++) {
		int pid = i < 0 ? root : pids[i], r;

		if (i >= 0 && (proctree_read_stat(pid, &st) < 0 || gone(&st)))
			r = 1;
		else
			r = add_children(&w, pid);
		if (r < 0) {
			err = errno;
			break;
		}
		if (r > 0 && i >= 0) {
			/* vanished: out of the list; its children, if any remain, were found already */
			memmove(&pids[i], &pids[i + 1], (size_t)(w.n - i - 1) * sizeof(*pids));
			w.n--;
			i--;
		}
	}
	free(w.seen.slot);
	if (err) {
		errno = err;
		return -1;
	}
	return w.cut ? cap + 1 : w.n;
}

struct link {
	int pid, ppid;
};

static int cmp_ppid(const void *a, const void *b)
{
	const struct link *x = a, *y = b;

	return (x->ppid > y->ppid) - (x->ppid < y->ppid);
}

/* Reads every live process's parent: a malloc'd array sorted by ppid, or NULL. */
static struct link *scan_links(size_t *count)
{
	size_t n = 0, cap = 1024;
	struct link *v = malloc(cap * sizeof(*v));
	struct dirent *de;
	DIR *d;

	if (!v)
		return NULL;
	d = opendir("/proc");
	if (!d) {
		free(v);
		return NULL;
	}
	while ((de = readdir(d)) && n < SCAN_MAX) {
		struct proctree_stat st;
		const char *p = de->d_name;
		int pid = next_pid(&p);

		if (!pid || *p)
			continue;
		if (proctree_read_stat(pid, &st) < 0 || gone(&st) || st.pid != pid)
			continue; /* exited since readdir, or not a stat line at all */
		if (n == cap) {
			struct link *nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv) {
				closedir(d);
				free(v);
				return NULL;
			}
			v = nv;
			cap *= 2;
		}
		v[n].pid = pid;
		v[n].ppid = st.ppid;
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_ppid);
	*count = n;
	return v;
}

int proctree_descendants_scan(int root, int *pids, int cap)
{
	struct walk w = { .pids = pids, .cap = cap < 0 ? 0 : cap };
	struct proctree_stat st;
	struct link *links;
	size_t nlinks = 0;
	int i;

	if (root_alive(root, &st) < 0)
		return -1;
	links = scan_links(&nlinks);
	if (!links)
		return -1;
	if (pidset_init(&w.seen, w.cap) < 0) {
		free(links);
		return -1;
	}
	pidset_add(&w.seen, root);
	for (i = -1; i < w.n && !w.cut; i++) {
		int parent = i < 0 ? root : pids[i];
		size_t lo = 0, hi = nlinks;

		while (lo < hi) { /* the first link whose ppid is parent */
			size_t mid = lo + (hi - lo) / 2;

			if (links[mid].ppid < parent)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nlinks && links[lo].ppid == parent; lo++)
			if (!walk_add(&w, links[lo].pid))
				break;
	}
	free(w.seen.slot);
	free(links);
	return w.cut ? w.cap + 1 : w.n;
}
