/*
 * --locks=uprobe, user side: load bpf/locks.bpf.c into the maps the other
 * objects share, find each traced process's glibc, resolve its lock
 * functions (versioned symbols: elfsym.c; a probe point the kernel emulates:
 * x86probe.c) and attach lk_enter at each and lk_exit at the return of each
 * that acquires, for that pid only.
 *
 * Links: where the kernel has them (6.6+), uprobe_multi links: two per pid
 * and file, made with a raw BPF_LINK_CREATE (libbpf 1.1 cannot). Otherwise
 * one perf-event uprobe per function and direction (~45 per pid). Closing
 * a link waits for an RCU tasks-trace grace period (~35 ms here), and
 * perf-event ones are serialized host-wide on event_mutex: so links are
 * closed by a few reaper threads, in parallel, never in the caller's
 * thread (uprobes__free waits for them).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kernel/elfsym.h"
#include "kernel/x86probe.h"
#include "forktrace.h"
#include "locks.skel.h"
#include "kernel/uprobes.h"
#include "proc/maps.h"

struct probe_spec {
	const char *func;
	enum lock_op op;         /* with type: the attach cookie (LOCK_COOKIE) */
	unsigned type;           /* enum held_type; 0: not known at the call */
	bool ret;                /* lk_exit at its return too */
	bool required;           /* without it the mode makes no sense */
};

static const struct probe_spec specs[] = {
	{ "pthread_mutex_lock",         LOCK_OP_ACQUIRE,      HELD_MUTEX,        true,  true },
	{ "pthread_mutex_trylock",      LOCK_OP_ACQUIRE,      HELD_MUTEX,        true,  true },
	{ "pthread_mutex_timedlock",    LOCK_OP_ACQUIRE,      HELD_MUTEX,        true,  false },
	{ "pthread_mutex_clocklock",    LOCK_OP_ACQUIRE,      HELD_MUTEX,        true,  false },
	{ "pthread_mutex_unlock",       LOCK_OP_MUTEX_UNLOCK, HELD_MUTEX,        false, true },
	{ "pthread_mutex_destroy",      LOCK_OP_DESTROY,      HELD_MUTEX,        false, false },
	{ "pthread_rwlock_rdlock",      LOCK_OP_ACQUIRE,      HELD_RWLOCK_READ,  true,  false },
	{ "pthread_rwlock_tryrdlock",   LOCK_OP_ACQUIRE,      HELD_RWLOCK_READ,  true,  false },
	{ "pthread_rwlock_timedrdlock", LOCK_OP_ACQUIRE,      HELD_RWLOCK_READ,  true,  false },
	{ "pthread_rwlock_clockrdlock", LOCK_OP_ACQUIRE,      HELD_RWLOCK_READ,  true,  false },
	{ "pthread_rwlock_wrlock",      LOCK_OP_ACQUIRE,      HELD_RWLOCK_WRITE, true,  false },
	{ "pthread_rwlock_trywrlock",   LOCK_OP_ACQUIRE,      HELD_RWLOCK_WRITE, true,  false },
	{ "pthread_rwlock_timedwrlock", LOCK_OP_ACQUIRE,      HELD_RWLOCK_WRITE, true,  false },
	{ "pthread_rwlock_clockwrlock", LOCK_OP_ACQUIRE,      HELD_RWLOCK_WRITE, true,  false },
	{ "pthread_rwlock_unlock",      LOCK_OP_RELEASE,      0,                 false, false },
	{ "pthread_rwlock_destroy",     LOCK_OP_DESTROY,      0,                 false, false },
	{ "pthread_cond_wait",          LOCK_OP_COND_WAIT,    HELD_MUTEX,        true,  false },
	{ "pthread_cond_timedwait",     LOCK_OP_COND_WAIT,    HELD_MUTEX,        true,  false },
	{ "pthread_cond_clockwait",     LOCK_OP_COND_WAIT,    HELD_MUTEX,        true,  false },
	{ "sem_wait",                   LOCK_OP_ACQUIRE,      HELD_SEMAPHORE,    true,  false },
	{ "sem_trywait",                LOCK_OP_ACQUIRE,      HELD_SEMAPHORE,    true,  false },
	{ "sem_timedwait",              LOCK_OP_ACQUIRE,      HELD_SEMAPHORE,    true,  false },
	{ "sem_clockwait",              LOCK_OP_ACQUIRE,      HELD_SEMAPHORE,    true,  false },
	{ "sem_post",                   LOCK_OP_RELEASE,      HELD_SEMAPHORE,    false, false },
	{ "sem_destroy",                LOCK_OP_DESTROY,      HELD_SEMAPHORE,    false, false },
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))
#define MAX_LINKS_PER_PID (2 * NSPECS)

enum link_mode { LINKS_MULTI, LINKS_PERF };

/* A link: a libbpf perf-event link, or a uprobe_multi link's fd. */
struct linkref {
	struct bpf_link *link;
	int fd;
};

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
	bool execed;              /* exec'd since: check its libc again */
	dev_t libc_dev, pthr_dev; /* the files the links are on */
	ino_t libc_ino, pthr_ino;
	struct linkref links[MAX_LINKS_PER_PID];
	struct pid_links *next;
};

#define PID_BUCKETS 256
#define REAPERS 16

/* Closes links off the caller's thread, several at a time. */
struct reaper {
	pthread_mutex_t mu;
	pthread_cond_t more, idle;
	struct linkref *q;
	size_t n, cap;
	int busy, nthreads, max_threads;
	bool stop;
	pthread_t th[REAPERS];
};

struct uprobes {
	struct locks_bpf *skel;
	int traced_fd, held_fd, events_fd;
	enum link_mode mode;
	bool mode_forced;         /* FORKTRACE_UPROBE_LINKS */
	bool multi_proven;        /* a uprobe_multi link was made */
	bool at_symbol;           /* FORKTRACE_UPROBE_AT_SYMBOL */
	int nlinks;
	struct libfile *files;
	struct pid_links *pids[PID_BUCKETS];
	struct reaper reaper;
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
	case EMFILE:
	case ENFILE:
		return "too many open files: raise 'ulimit -n', or trace fewer processes";
	default:
		return "retry with --debug for libbpf's log, or use --locks=scan";
	}
}

/* ------------------------------------------------------------ reaper */

static void close_link(struct linkref *l)
{
	if (l->link)
		bpf_link__destroy(l->link);
	else if (l->fd >= 0)
		close(l->fd);
}

static void *reaper_main(void *arg)
{
	struct reaper *r = arg;

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

/* Hands n links to the reaper (closes them here if it cannot). */
static void reap(struct reaper *r, struct linkref *links, int n)
{
	if (n <= 0)
		return;
	pthread_mutex_lock(&r->mu);
	if (r->n + (size_t)n > r->cap) {
		size_t cap = r->cap ? r->cap : 64;
		struct linkref *q;

		while (cap < r->n + (size_t)n)
			cap *= 2;
		q = realloc(r->q, cap * sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&r->mu);
			for (int i = 0; i < n; i++)
				close_link(&links[i]);
			return;
		}
		r->q = q;
		r->cap = cap;
	}
	memcpy(r->q + r->n, links, (size_t)n * sizeof(*links));
	r->n += (size_t)n;
	/* a thread per queued link, up to max_threads: their grace periods
	 * overlap (perf-event links serialize in the kernel: one thread) */
	if (r->nthreads < r->max_threads && (size_t)r->nthreads < r->n + (size_t)r->busy) {
		sigset_t all, old;

		/* signals are for the caller's thread (they interrupt its poll) */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		while (r->nthreads < r->max_threads &&
		       (size_t)r->nthreads < r->n + (size_t)r->busy &&
		       pthread_create(&r->th[r->nthreads], NULL, reaper_main, r) == 0)
			r->nthreads++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (!r->nthreads) {
		/* no thread at all: close them here */
		while (r->n) {
			struct linkref l = r->q[--r->n];

			pthread_mutex_unlock(&r->mu);
			close_link(&l);
			pthread_mutex_lock(&r->mu);
		}
	}
	pthread_cond_broadcast(&r->more);
	pthread_mutex_unlock(&r->mu);
}

/* Waits until every queued link is closed and stops the threads. */
static void reaper_finish(struct reaper *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->n || r->busy)
		pthread_cond_wait(&r->idle, &r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->more);
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->th[i], NULL);
	r->nthreads = 0;
	free(r->q);
	r->q = NULL;
	r->n = r->cap = 0;
}

/* ------------------------------------------------------------ open, load */

static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

#define ATTACH_UPROBE_MULTI 48     /* BPF_TRACE_UPROBE_MULTI (6.6); not in 6.1's uapi */
#define F_UPROBE_MULTI_RETURN 1u   /* BPF_F_UPROBE_MULTI_RETURN */

/* Does the running kernel have uprobe_multi links? */
static bool kernel_has_uprobe_multi(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has;

	if (!btf)
		return false;
	has = btf__find_by_name_kind(btf, "bpf_uprobe_multi_link", BTF_KIND_STRUCT) > 0;
	btf__free(btf);
	return has;
}

/* Opens and loads the object for links of kind mode: 0 or -errno. */
static int load(struct uprobes *u, enum link_mode mode, const char **step)
{
	int e;

	locks_bpf__destroy(u->skel);
	u->mode = mode;
	pthread_mutex_lock(&u->reaper.mu);
	u->reaper.max_threads = mode == LINKS_MULTI ? REAPERS : 1;
	pthread_mutex_unlock(&u->reaper.mu);
	*step = "open";
	u->skel = locks_bpf__open();
	if (!u->skel)
		return -errno;
	*step = "share the maps with";
	if ((e = bpf_map__reuse_fd(u->skel->maps.traced, u->traced_fd)) ||
	    (e = bpf_map__reuse_fd(u->skel->maps.held_locks, u->held_fd)) ||
	    (e = bpf_map__reuse_fd(u->skel->maps.events, u->events_fd)))
		return e;
	u->skel->rodata->lock_uprobes = true;
	if (mode == LINKS_MULTI) {
		bpf_program__set_expected_attach_type(u->skel->progs.lk_enter, ATTACH_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(u->skel->progs.lk_exit, ATTACH_UPROBE_MULTI);
	}
	*step = "load";
	return locks_bpf__load(u->skel);
}

struct uprobes *uprobes__open(int traced_fd, int held_locks_fd, int events_fd, char *err,
			      size_t errlen)
{
	struct uprobes *u = calloc(1, sizeof(*u));
	const char *at = getenv("FORKTRACE_UPROBE_AT_SYMBOL");
	const char *links = getenv("FORKTRACE_UPROBE_LINKS");
	const char *step = "open";
	enum link_mode mode;
	int e;

	if (!u) {
		snprintf(err, errlen, "forktrace: cannot allocate memory — free some memory");
		return NULL;
	}
	pthread_mutex_init(&u->reaper.mu, NULL);
	pthread_cond_init(&u->reaper.more, NULL);
	pthread_cond_init(&u->reaper.idle, NULL);
	u->traced_fd = traced_fd;
	u->held_fd = held_locks_fd;
	u->events_fd = events_fd;
	u->at_symbol = at && *at && strcmp(at, "0") != 0;
	if (links && strcmp(links, "perf") == 0) {
		mode = LINKS_PERF;
		u->mode_forced = true;
	} else if (links && strcmp(links, "multi") == 0) {
		mode = LINKS_MULTI;
		u->mode_forced = true;
	} else {
		mode = kernel_has_uprobe_multi() ? LINKS_MULTI : LINKS_PERF;
	}
	if (mode == LINKS_PERF && access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		snprintf(err, errlen, "forktrace: cannot use uprobes: this kernel has neither "
			 "uprobe_multi links nor the uprobe PMU — use --locks=scan");
		uprobes__free(u);
		return NULL;
	}
	e = -load(u, mode, &step);
	if (e && mode == LINKS_MULTI && !u->mode_forced && strcmp(step, "load") == 0)
		e = -load(u, LINKS_PERF, &step);
	if (e) {
		snprintf(err, errlen, "forktrace: cannot %s the lock uprobes (--locks=uprobe): "
			 "%s — %s", step, strerror(e), load_hint(e));
		uprobes__free(u);
		return NULL;
	}
	raise_nofile();
	return u;
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

/* The file's own path: without the kernel's mark of a removed file. */
static void strip_deleted(struct proc_map *pm)
{
	size_t len = strlen(pm->path), n = strlen(PROC_MAP_DELETED);

	if (pm->deleted && len >= n && strcmp(pm->path + len - n, PROC_MAP_DELETED) == 0)
		pm->path[len - n] = 0;
}

static void set_mapped(struct mapped *m, const struct proc_map *pm)
{
	m->found = true;
	m->dev = makedev(pm->dev_major, pm->dev_minor);
	m->ino = (ino_t)pm->inode;
	m->deleted = pm->deleted;
	snprintf(m->path, sizeof(m->path), "%s", pm->path);
	snprintf(m->range, sizeof(m->range), "%s", pm->range);
}

static int find_libs(int pid, struct mapped *libc, struct mapped *pthr)
{
	struct proc_maps it;
	struct proc_map *pm = malloc(sizeof(*pm));
	int lines = 0;

	if (!pm)
		return -ENOMEM;
	if (proc_maps_open(&it, pid)) {
		free(pm);
		return -errno;
	}
	while (proc_maps_next(&it, pm) > 0) {
		lines++;
		if (pm->path[0] != '/')
			continue;
		strip_deleted(pm);
		if (!libc->found && is_lib(pm->path, "libc", "libc.so.6"))
			set_mapped(libc, pm);
		else if (!pthr->found && is_lib(pm->path, "libpthread", "libpthread.so.0"))
			set_mapped(pthr, pm);
	}
	proc_maps_close(&it);
	free(pm);
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
		unsigned keep = specs[i].op == LOCK_OP_COND_WAIT ?
			X86PROBE_REG_RSI : X86PROBE_REG_RDI;

		if (elfsym_lookup(ef, specs[i].func, &s) || s.offset == 0)
			continue;
		lf->start[i] = s.offset;
		lf->off[i] = u->at_symbol ? s.offset : x86probe_offset(ef, &s, keep, NULL);
	}
	elfsym_close(ef);
	lf->next = u->files;
	u->files = lf;
	return lf;
}

/* ------------------------------------------------------------ attach */

static struct pid_links **pid_slot(struct uprobes *u, int pid)
{
	struct pid_links **pp = &u->pids[(unsigned)pid % PID_BUCKETS];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	return pp;
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

/* BPF_LINK_CREATE for a uprobe_multi link (the 6.6+ layout of bpf_attr). */
struct uprobe_multi_attr {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
	uint32_t pad;
};

static int multi_link(struct bpf_program *prog, int pid, const char *path,
		      const uint64_t *offs, const uint64_t *cookies, uint32_t cnt, bool ret)
{
	union {
		struct uprobe_multi_attr a;
		char raw[128];
	} attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.a.prog_fd = (uint32_t)bpf_program__fd(prog);
	attr.a.attach_type = ATTACH_UPROBE_MULTI;
	attr.a.path = (uint64_t)(uintptr_t)path;
	attr.a.offsets = (uint64_t)(uintptr_t)offs;
	attr.a.cookies = (uint64_t)(uintptr_t)cookies;
	attr.a.cnt = cnt;
	attr.a.multi_flags = ret ? F_UPROBE_MULTI_RETURN : 0;
	attr.a.pid = (uint32_t)pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

/* The file one spec is probed in (before glibc 2.34, libpthread's). */
struct target {
	struct libfile *lf;
	const char *path;
};

/* uprobe_multi: for one file, lk_enter at every function, lk_exit at the
 * returns; appends to pl. 0 or -errno. */
static int attach_multi_file(struct uprobes *u, struct pid_links *pl, int pid,
			     const struct target *t, const struct target *per_spec)
{
	uint64_t offs[NSPECS], cookies[NSPECS];

	for (int ret = 0; ret < 2; ret++) {
		uint32_t n = 0;
		int fd;

		for (size_t i = 0; i < NSPECS; i++) {
			if (per_spec[i].lf != t->lf || !t->lf->off[i] || (ret && !specs[i].ret))
				continue;
			offs[n] = t->lf->off[i];
			cookies[n++] = LOCK_COOKIE(specs[i].op, specs[i].type);
		}
		if (!n)
			continue;
		fd = multi_link(ret ? u->skel->progs.lk_exit : u->skel->progs.lk_enter, pid,
				t->path, offs, cookies, n, ret);
		if (fd < 0)
			return fd;
		pl->links[pl->n++] = (struct linkref){ .link = NULL, .fd = fd };
	}
	return 0;
}

static int attach_perf_one(struct uprobes *u, struct pid_links *pl, int pid, const char *path,
			   uint64_t off, uint64_t cookie, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *l;

	l = bpf_program__attach_uprobe_opts(ret ? u->skel->progs.lk_exit : u->skel->progs.lk_enter,
					    pid, path, (size_t)off, &opts);
	if (!l)
		return errno ? -errno : -EINVAL;
	pl->links[pl->n++] = (struct linkref){ .link = l, .fd = -1 };
	return 0;
}

/* All links of one pid, in the current mode. 0 or -errno (pl emptied). */
static int attach_all(struct uprobes *u, struct pid_links *pl, int pid,
		      const struct target *per_spec, const struct target files[2])
{
	int rc = 0;

	if (u->mode == LINKS_MULTI) {
		for (int f = 0; f < 2 && !rc; f++) {
			if (!files[f].lf)
				continue;
			rc = attach_multi_file(u, pl, pid, &files[f], per_spec);
			if (rc && rc != -ESRCH && process_alive(pid)) {
				/* an offset refused: this file's function starts */
				bool moved = false;

				for (size_t i = 0; i < NSPECS; i++) {
					moved |= files[f].lf->off[i] != files[f].lf->start[i];
					files[f].lf->off[i] = files[f].lf->start[i];
				}
				if (moved)
					rc = attach_multi_file(u, pl, pid, &files[f], per_spec);
			}
		}
	} else {
		for (size_t i = 0; i < NSPECS && !rc; i++) {
			struct libfile *lf = per_spec[i].lf;
			uint64_t cookie = LOCK_COOKIE(specs[i].op, specs[i].type);

			if (!lf || !lf->off[i])
				continue;
			for (int ret = 0; ret < 2 && !rc; ret++) {
				if (ret && !specs[i].ret)
					continue;
				rc = attach_perf_one(u, pl, pid, per_spec[i].path, lf->off[i],
						     cookie, ret);
				if (rc && rc != -ESRCH && lf->off[i] != lf->start[i] &&
				    process_alive(pid)) {
					rc = attach_perf_one(u, pl, pid, per_spec[i].path,
							     lf->start[i], cookie, ret);
					if (!rc)
						lf->off[i] = lf->start[i];
				}
			}
		}
	}
	if (rc) {
		reap(&u->reaper, pl->links, pl->n);
		pl->n = 0;
	}
	return rc;
}

static int gone(int pid, char *err, size_t errlen)
{
	snprintf(err, errlen, "forktrace: cannot follow the locks of pid %d: it exited before "
		 "its uprobes were attached — nothing to do", pid);
	errno = ESRCH;
	return -1;
}

int uprobes__attach_pid(struct uprobes *u, int pid, char *err, size_t errlen)
{
	struct mapped libc = { 0 }, pthr = { 0 };
	char libc_path[PATH_MAX + 64], pthr_path[PATH_MAX + 64], why[PATH_MAX + 512] = "";
	struct target files[2] = { { 0 } }, per_spec[NSPECS];
	struct pid_links *pl, **slot;
	int rc;

	if (!u || pid <= 0) {
		snprintf(err, errlen, "forktrace: cannot attach lock uprobes to pid %d — "
			 "this is a bug in forktrace", pid);
		errno = EINVAL;
		return -1;
	}
	slot = pid_slot(u, pid);
	if (*slot && !(*slot)->execed)
		return 0;

	rc = find_libs(pid, &libc, &pthr);
	if (rc == -ENOENT || rc == -ESRCH)
		return gone(pid, err, errlen);
	if (*slot && !rc) {
		/* exec'd: the links followed it into the new image, which is
		 * enough when it maps the same files (the usual case) */
		pl = *slot;
		if (!libc.found) {
			snprintf(err, errlen, "forktrace: pid %d maps no dynamic glibc (not yet, "
				 "static, or another libc): its locks are not followed", pid);
			return 1;
		}
		if (libc.dev == pl->libc_dev && libc.ino == pl->libc_ino &&
		    (pthr.found ? pthr.dev == pl->pthr_dev && pthr.ino == pl->pthr_ino :
				  pl->pthr_ino == 0)) {
			pl->execed = false;
			return 0;
		}
		*slot = pl->next;
		u->nlinks -= pl->n;
		reap(&u->reaper, pl->links, pl->n);
		free(pl);
		slot = pid_slot(u, pid);
	}
	if (rc) {
		snprintf(err, errlen, "forktrace: cannot read the memory map of pid %d: %s — "
			 "run as root (sudo)", pid, strerror(-rc));
		errno = -rc;
		return -1;
	}
	if (!libc.found) {
		snprintf(err, errlen, "forktrace: pid %d maps no dynamic glibc (static, or another "
			 "libc): its locks are not followed by uprobes", pid);
		return 1;
	}
	reach(pid, &libc, libc_path, sizeof(libc_path));
	files[0].path = libc_path;
	files[0].lf = resolve(u, &libc, libc_path, why, sizeof(why));
	if (files[0].lf && pthr.found) {
		reach(pid, &pthr, pthr_path, sizeof(pthr_path));
		files[1].path = pthr_path;
		files[1].lf = resolve(u, &pthr, pthr_path, why, sizeof(why));
	}
	if (!files[0].lf || (pthr.found && !files[1].lf)) {
		if (!process_alive(pid))
			return gone(pid, err, errlen);
		snprintf(err, errlen, "forktrace: cannot read the glibc of pid %d: %s — run as "
			 "root (sudo), or use --locks=scan", pid, why);
		errno = EIO;
		return -1;
	}
	for (size_t i = 0; i < NSPECS; i++) {
		/* before glibc 2.34 the pthread functions live in libpthread */
		per_spec[i] = files[1].lf && files[1].lf->off[i] ? files[1] : files[0];
		if (!per_spec[i].lf->off[i] && specs[i].required) {
			snprintf(err, errlen, "forktrace: cannot follow the locks of pid %d: %s has "
				 "no %s — use --locks=scan", pid, libc.path, specs[i].func);
			errno = ENOENT;
			return -1;
		}
	}

	pl = calloc(1, sizeof(*pl));
	if (!pl) {
		snprintf(err, errlen, "forktrace: cannot allocate memory — free some memory");
		errno = ENOMEM;
		return -1;
	}
	pl->pid = pid;
	rc = attach_all(u, pl, pid, per_spec, files);
	if (rc && u->mode == LINKS_MULTI && !u->multi_proven && !u->mode_forced &&
	    rc != -ESRCH && process_alive(pid)) {
		/* the kernel loaded uprobe_multi programs but makes no such
		 * links: per-function perf-event uprobes instead */
		const char *step;

		if (load(u, LINKS_PERF, &step) == 0)
			rc = attach_all(u, pl, pid, per_spec, files);
	}
	if (rc) {
		free(pl);
		if (rc == -ESRCH || !process_alive(pid))
			return gone(pid, err, errlen);
		snprintf(err, errlen, "forktrace: cannot attach the lock uprobes to pid %d (%s): "
			 "%s — %s", pid, libc.path, strerror(-rc), load_hint(-rc));
		errno = -rc;
		return -1;
	}
	if (u->mode == LINKS_MULTI)
		u->multi_proven = true;
	pl->libc_dev = libc.dev;
	pl->libc_ino = libc.ino;
	if (pthr.found) {
		pl->pthr_dev = pthr.dev;
		pl->pthr_ino = pthr.ino;
	}
	u->nlinks += pl->n;
	*slot = pl;
	return 0;
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
		u->nlinks -= pl->n;
		reap(&u->reaper, pl->links, pl->n);
		free(pl);
	}
	forget_locks(u, pid);
}

void uprobes__exec_pid(struct uprobes *u, int pid)
{
	struct pid_links *pl;

	if (!u)
		return;
	pl = *pid_slot(u, pid);
	if (pl)
		pl->execed = true;
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
			reap(&u->reaper, pl->links, pl->n);
			free(pl);
		}
	}
	u->nlinks = 0;
	reaper_finish(&u->reaper);
	pthread_mutex_destroy(&u->reaper.mu);
	pthread_cond_destroy(&u->reaper.more);
	pthread_cond_destroy(&u->reaper.idle);
	while (u->files) {
		struct libfile *lf = u->files;

		u->files = lf->next;
		free(lf);
	}
	locks_bpf__destroy(u->skel);
	free(u);
}
