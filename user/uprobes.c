/*
 * --locks=uprobe, user side: load bpf/locks.bpf.c into the maps the other
 * objects share, find each traced process's glibc, resolve its lock
 * functions (versioned symbols: elfsym.c) and attach one uprobe and, for
 * acquisitions, one uretprobe per function, for that pid only.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "elfsym.h"
#include "forktrace.h"
#include "locks.skel.h"
#include "uprobes.h"

#define COOKIE_COND 16      /* as in bpf/locks.bpf.c */

enum prog_id { P_NONE, P_ACQUIRE, P_ACQUIRED, P_MUTEX_UNLOCK, P_RELEASE, P_DESTROY,
	       P_COND_ENTER, P_COND_EXIT };

struct probe_spec {
	const char *func;
	enum prog_id entry, ret;
	uint32_t cookie;
	bool required;
};

/* Every function followed. required: without it the mode makes no sense. */
static const struct probe_spec specs[] = {
	{ "pthread_mutex_lock", P_ACQUIRE, P_ACQUIRED, HELD_MUTEX, true },
	{ "pthread_mutex_trylock", P_ACQUIRE, P_ACQUIRED, HELD_MUTEX, true },
	{ "pthread_mutex_timedlock", P_ACQUIRE, P_ACQUIRED, HELD_MUTEX, false },
	{ "pthread_mutex_clocklock", P_ACQUIRE, P_ACQUIRED, HELD_MUTEX, false },
	{ "pthread_mutex_unlock", P_MUTEX_UNLOCK, P_NONE, 0, true },
	{ "pthread_mutex_destroy", P_DESTROY, P_NONE, 0, false },
	{ "pthread_rwlock_rdlock", P_ACQUIRE, P_ACQUIRED, HELD_RWLOCK_READ, false },
	{ "pthread_rwlock_tryrdlock", P_ACQUIRE, P_ACQUIRED, HELD_RWLOCK_READ, false },
	{ "pthread_rwlock_timedrdlock", P_ACQUIRE, P_ACQUIRED, HELD_RWLOCK_READ, false },
	{ "pthread_rwlock_clockrdlock", P_ACQUIRE, P_ACQUIRED, HELD_RWLOCK_READ, false },
	{ "pthread_rwlock_wrlock", P_ACQUIRE, P_ACQUIRED, HELD_RWLOCK_WRITE, false },
	{ "pthread_rwlock_trywrlock", P_ACQUIRE, P_ACQUIRED, HELD_RWLOCK_WRITE, false },
	{ "pthread_rwlock_timedwrlock", P_ACQUIRE, P_ACQUIRED, HELD_RWLOCK_WRITE, false },
	{ "pthread_rwlock_clockwrlock", P_ACQUIRE, P_ACQUIRED, HELD_RWLOCK_WRITE, false },
	{ "pthread_rwlock_unlock", P_RELEASE, P_NONE, 0, false },
	{ "pthread_rwlock_destroy", P_DESTROY, P_NONE, 0, false },
	{ "pthread_cond_wait", P_COND_ENTER, P_COND_EXIT, COOKIE_COND, false },
	{ "pthread_cond_timedwait", P_COND_ENTER, P_COND_EXIT, COOKIE_COND, false },
	{ "pthread_cond_clockwait", P_COND_ENTER, P_COND_EXIT, COOKIE_COND, false },
	{ "sem_wait", P_ACQUIRE, P_ACQUIRED, HELD_SEMAPHORE, false },
	{ "sem_trywait", P_ACQUIRE, P_ACQUIRED, HELD_SEMAPHORE, false },
	{ "sem_timedwait", P_ACQUIRE, P_ACQUIRED, HELD_SEMAPHORE, false },
	{ "sem_clockwait", P_ACQUIRE, P_ACQUIRED, HELD_SEMAPHORE, false },
	{ "sem_post", P_RELEASE, P_NONE, 0, false },
	{ "sem_destroy", P_DESTROY, P_NONE, 0, false },
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))
#define MAX_LINKS_PER_PID (2 * NSPECS)

/* Probe offsets resolved in one file (a libc or libpthread), by identity. */
struct libfile {
	dev_t dev;
	ino_t ino;
	uint64_t off[NSPECS];    /* where to probe; 0: not defined there */
	uint64_t start[NSPECS];  /* the function's own first byte */
	struct libfile *next;
};

struct pid_links {
	int pid;
	int n;
	struct bpf_link *links[MAX_LINKS_PER_PID];
	struct pid_links *next;
};

#define PID_BUCKETS 256

struct uprobes {
	struct locks_bpf *skel;
	int held_fd;
	bool at_symbol;           /* FORKTRACE_UPROBE_AT_SYMBOL */
	int nlinks;
	struct libfile *files;
	struct pid_links *pids[PID_BUCKETS];
};

static const char *load_hint(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return "run as root (sudo); under kernel lockdown uprobes may be forbidden; "
		       "or use --locks=scan";
	case ENOENT:
	case EOPNOTSUPP:
	case EINVAL:
		return "this kernel lacks what --locks=uprobe needs (run 'forktrace check'); "
		       "use --locks=scan";
	case ENOMEM:
		return "the kernel could not allocate BPF memory; check the cgroup's memory limit";
	default:
		return "retry with --debug for libbpf's log, or use --locks=scan";
	}
}

static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

struct uprobes *uprobes__open(int traced_fd, int held_locks_fd, int events_fd, char *err,
			      size_t errlen)
{
	struct uprobes *u = calloc(1, sizeof(*u));
	const char *env = getenv("FORKTRACE_UPROBE_AT_SYMBOL");
	const char *step = "open";
	int e;

	if (!u) {
		snprintf(err, errlen, "forktrace: cannot allocate memory — free some memory");
		return NULL;
	}
	u->at_symbol = env && *env && strcmp(env, "0") != 0;
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		snprintf(err, errlen, "forktrace: cannot use uprobes: this kernel has no uprobe "
			 "PMU (/sys/bus/event_source/devices/uprobe) — use --locks=scan");
		free(u);
		return NULL;
	}
	u->skel = locks_bpf__open();
	if (!u->skel) {
		e = errno;
		goto fail;
	}
	step = "share the maps with";
	if ((e = -bpf_map__reuse_fd(u->skel->maps.traced, traced_fd)) ||
	    (e = -bpf_map__reuse_fd(u->skel->maps.held_locks, held_locks_fd)) ||
	    (e = -bpf_map__reuse_fd(u->skel->maps.events, events_fd)))
		goto fail;
	u->skel->rodata->lock_uprobes = true;
	step = "load";
	e = -locks_bpf__load(u->skel);
	if (e)
		goto fail;
	u->held_fd = held_locks_fd;
	raise_nofile();
	return u;
fail:
	snprintf(err, errlen, "forktrace: cannot %s the lock uprobes (--locks=uprobe): %s — %s",
		 step, strerror(e), load_hint(e));
	uprobes__free(u);
	return NULL;
}

static struct bpf_program *prog_of(struct uprobes *u, enum prog_id id)
{
	switch (id) {
	case P_ACQUIRE:
		return u->skel->progs.lk_acquire;
	case P_ACQUIRED:
		return u->skel->progs.lk_acquired;
	case P_MUTEX_UNLOCK:
		return u->skel->progs.lk_mutex_unlock;
	case P_RELEASE:
		return u->skel->progs.lk_release;
	case P_DESTROY:
		return u->skel->progs.lk_destroy;
	case P_COND_ENTER:
		return u->skel->progs.lk_cond_enter;
	case P_COND_EXIT:
		return u->skel->progs.lk_cond_exit;
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------ /proc/PID/maps */

struct mapped {
	bool found;
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX];      /* as the process sees it */
	char range[64];           /* "start-end" for /proc/PID/map_files */
	bool deleted;
};

/* libc.so.6, libc-2.31.so; libpthread.so.0, libpthread-2.31.so */
static bool is_lib(const char *path, const char *stem, const char *soname)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(stem);

	base = base ? base + 1 : path;
	if (strcmp(base, soname) == 0)
		return true;
	return strncmp(base, stem, n) == 0 && base[n] == '-' && base[n + 1] >= '0' &&
	       base[n + 1] <= '9' && strstr(base + n, ".so") != NULL;
}

static int find_libs(int pid, struct mapped *libc, struct mapped *pthr)
{
	char maps[64], line[PATH_MAX + 256];
	int lines = 0;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char range[64], perms[8], path[PATH_MAX];
		unsigned long long off, ino;
		unsigned maj, min;
		struct mapped *m = NULL;
		size_t len;

		lines++;
		path[0] = '\0';
		if (sscanf(line, "%63s %7s %llx %x:%x %llu %4095[^\n]", range, perms, &off, &maj,
			   &min, &ino, path) < 7 || path[0] != '/')
			continue;
		len = strlen(path);
		if (len > 10 && strcmp(path + len - 10, " (deleted)") == 0)
			path[len - 10] = '\0';
		if (!libc->found && is_lib(path, "libc", "libc.so.6"))
			m = libc;
		else if (!pthr->found && is_lib(path, "libpthread", "libpthread.so.0"))
			m = pthr;
		if (!m)
			continue;
		m->found = true;
		m->dev = makedev(maj, min);
		m->ino = (ino_t)ino;
		m->deleted = len != strlen(path);
		snprintf(m->path, sizeof(m->path), "%s", path);
		snprintf(m->range, sizeof(m->range), "%s", range);
	}
	fclose(f);
	return lines ? 0 : -ESRCH;    /* a zombie */
}

/*
 * A path through which this process (and the kernel, for the uprobe) can
 * reach the very file PID maps: /proc/PID/root/PATH (containers), or, when
 * that is not the same file (deleted, replaced), /proc/PID/map_files/RANGE.
 */
static void reach(int pid, const struct mapped *m, char *out, size_t len)
{
	struct stat st;

	snprintf(out, len, "/proc/%d/root%s", pid, m->path);
	if (!m->deleted && stat(out, &st) == 0 && st.st_ino == m->ino)
		return;
	snprintf(out, len, "/proc/%d/map_files/%s", pid, m->range);
	if (stat(out, &st) != 0)
		snprintf(out, len, "/proc/%d/root%s", pid, m->path);
}

/* ------------------------------------------------------------ symbol cache */

static struct libfile *resolve(struct uprobes *u, const struct mapped *m, const char *path,
			       char *err, size_t errlen)
{
	struct elfsym_file *ef;
	struct libfile *lf;

	for (lf = u->files; lf; lf = lf->next)
		if (lf->dev == m->dev && lf->ino == m->ino)
			return lf;
	ef = elfsym_open(path, err, errlen);
	if (!ef)
		return NULL;
	lf = calloc(1, sizeof(*lf));
	if (!lf) {
		elfsym_close(ef);
		snprintf(err, errlen, "cannot allocate memory");
		return NULL;
	}
	lf->dev = m->dev;
	lf->ino = m->ino;
	for (size_t i = 0; i < NSPECS; i++) {
		struct elfsym s;
		unsigned keep = specs[i].entry == P_COND_ENTER ? ELFSYM_REG_RSI : ELFSYM_REG_RDI;

		if (elfsym_lookup(ef, specs[i].func, &s) || s.offset == 0)
			continue;
		lf->start[i] = s.offset;
		lf->off[i] = u->at_symbol ? s.offset : elfsym_probe_offset(ef, &s, keep, NULL);
	}
	elfsym_close(ef);
	lf->next = u->files;
	u->files = lf;
	return lf;
}

/* ------------------------------------------------------------ links per pid */

static struct pid_links **pid_slot(struct uprobes *u, int pid)
{
	struct pid_links **pp = &u->pids[(unsigned)pid % PID_BUCKETS];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	return pp;
}

static void destroy_links(struct uprobes *u, struct pid_links *pl)
{
	for (int i = 0; i < pl->n; i++)
		bpf_link__destroy(pl->links[i]);
	u->nlinks -= pl->n;
	pl->n = 0;
}

static struct bpf_link *attach_one(struct bpf_program *prog, int pid, const char *path,
				   uint64_t off, uint32_t cookie, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid, path, (size_t)off, &opts);

	if (!l && !errno)
		errno = EINVAL;
	return l;
}

/* Alive with an address space (a zombie's maps are empty). */
static bool process_alive(int pid)
{
	char p[64], c;
	FILE *f;
	bool alive;

	snprintf(p, sizeof(p), "/proc/%d/maps", pid);
	f = fopen(p, "re");
	if (!f)
		return false;
	alive = fread(&c, 1, 1, f) == 1;
	fclose(f);
	return alive;
}

int uprobes__attach_pid(struct uprobes *u, int pid, char *err, size_t errlen)
{
	struct mapped libc = { 0 }, pthr = { 0 };
	char libc_path[PATH_MAX + 64], pthr_path[PATH_MAX + 64], why[PATH_MAX + 512] = "";
	struct libfile *lc, *lp = NULL;
	struct pid_links *pl, **slot;
	int rc;

	if (!u || pid <= 0) {
		snprintf(err, errlen, "forktrace: cannot attach lock uprobes: bad pid %d — "
			 "this is a bug in forktrace", pid);
		errno = EINVAL;
		return -1;
	}
	slot = pid_slot(u, pid);
	if (*slot)
		return 0;

	rc = find_libs(pid, &libc, &pthr);
	if (rc) {
		snprintf(err, errlen, "forktrace: cannot follow the locks of pid %d: %s — %s", pid,
			 strerror(-rc), rc == -ENOENT || rc == -ESRCH ? "the process is gone" :
			 "run as root (sudo)");
		errno = rc == -ENOENT ? ESRCH : -rc;
		return -1;
	}
	if (!libc.found) {
		snprintf(err, errlen, "forktrace: pid %d maps no dynamic glibc (static, or another "
			 "libc): its locks are not followed by uprobes", pid);
		return 1;
	}
	reach(pid, &libc, libc_path, sizeof(libc_path));
	lc = resolve(u, &libc, libc_path, why, sizeof(why));
	if (!lc)
		goto resolve_failed;
	if (pthr.found) {
		reach(pid, &pthr, pthr_path, sizeof(pthr_path));
		lp = resolve(u, &pthr, pthr_path, why, sizeof(why));
		if (!lp)
			goto resolve_failed;
	}

	pl = calloc(1, sizeof(*pl));
	if (!pl) {
		snprintf(err, errlen, "forktrace: cannot allocate memory — free some memory");
		errno = ENOMEM;
		return -1;
	}
	pl->pid = pid;
	for (size_t i = 0; i < NSPECS; i++) {
		/* before glibc 2.34 the pthread functions live in libpthread */
		struct libfile *lf = lp && lp->off[i] ? lp : lc;
		const char *path = lf == lp ? pthr_path : libc_path;
		enum prog_id ids[2] = { specs[i].entry, specs[i].ret };

		if (!lf->off[i]) {
			if (specs[i].required) {
				snprintf(why, sizeof(why), "%s has no %s", libc.path, specs[i].func);
				errno = ENOENT;
				goto attach_failed;
			}
			continue;
		}
		for (int k = 0; k < 2; k++) {
			struct bpf_link *l;

			if (ids[k] == P_NONE)
				continue;
			l = attach_one(prog_of(u, ids[k]), pid, path, lf->off[i], specs[i].cookie,
				       k == 1);
			if (!l && errno != ESRCH && lf->off[i] != lf->start[i] &&
			    process_alive(pid)) {
				/* the kernel refused the point inside the function:
				 * if its first instruction works, that from now on */
				l = attach_one(prog_of(u, ids[k]), pid, path, lf->start[i],
					       specs[i].cookie, k == 1);
				if (l)
					lf->off[i] = lf->start[i];
			}
			if (!l) {
				snprintf(why, sizeof(why), "cannot attach to %s in %s: %s",
					 specs[i].func, libc.path, strerror(errno));
				goto attach_failed;
			}
			pl->links[pl->n++] = l;
		}
	}
	u->nlinks += pl->n;
	pl->next = NULL;
	*slot = pl;
	return 0;

attach_failed:
	rc = errno;
	for (int j = 0; j < pl->n; j++)
		bpf_link__destroy(pl->links[j]);
	free(pl);
	if (rc == ESRCH || !process_alive(pid)) {
		snprintf(err, errlen, "forktrace: cannot follow the locks of pid %d: it exited "
			 "before its uprobes were attached — nothing to do", pid);
		errno = ESRCH;
		return -1;
	}
	snprintf(err, errlen, "forktrace: cannot follow the locks of pid %d: %s — %s", pid, why,
		 load_hint(rc));
	errno = rc;
	return -1;

resolve_failed:
	rc = errno;
	if (!process_alive(pid)) {
		snprintf(err, errlen, "forktrace: cannot follow the locks of pid %d: it exited "
			 "before its uprobes were attached — nothing to do", pid);
		errno = ESRCH;
		return -1;
	}
	snprintf(err, errlen, "forktrace: cannot read the glibc of pid %d: %s — run as root "
		 "(sudo), or use --locks=scan", pid, why);
	errno = rc ? rc : EINVAL;
	return -1;
}

/* Forget every held_locks entry of tgid PID. */
static void forget_locks(struct uprobes *u, int pid)
{
	struct held_lock_key key, next, *victims = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(u->held_fd, prev, &next) == 0) {
		if (next.tgid == (uint32_t)pid) {
			if (n == cap) {
				size_t c = cap ? cap * 2 : 16;
				struct held_lock_key *v = realloc(victims, c * sizeof(*v));

				if (!v)
					break;
				victims = v;
				cap = c;
			}
			victims[n++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(u->held_fd, &victims[i]);
	free(victims);
}

void uprobes__detach_pid(struct uprobes *u, int pid)
{
	struct pid_links **slot, *pl;

	if (!u)
		return;
	slot = pid_slot(u, pid);
	pl = *slot;
	if (pl) {
		*slot = pl->next;
		destroy_links(u, pl);
		free(pl);
	}
	forget_locks(u, pid);
}

uint64_t uprobes__dropped(const struct uprobes *u)
{
	if (!u || !u->skel || !u->skel->bss)
		return 0;
	return u->skel->bss->drops.ringbuf_full + u->skel->bss->drops.map_full;
}

int uprobes__links(const struct uprobes *u)
{
	return u ? u->nlinks : 0;
}

void uprobes__free(struct uprobes *u)
{
	if (!u)
		return;
	for (int b = 0; b < PID_BUCKETS; b++) {
		while (u->pids[b]) {
			struct pid_links *pl = u->pids[b];

			u->pids[b] = pl->next;
			destroy_links(u, pl);
			free(pl);
		}
	}
	while (u->files) {
		struct libfile *lf = u->files;

		u->files = lf->next;
		free(lf);
	}
	locks_bpf__destroy(u->skel);
	free(u);
}
