/*
 * --locks=uprobe, user side: load bpf/locks.bpf.c into the maps the other
 * objects share, and attach lk_enter at each lock function of a traced
 * process's glibc (libc_find.c) and lk_exit at the return of each that
 * acquires, for that pid only, at the offsets lock_symbols.c resolved.
 *
 * Links (uprobe_link.c): where the kernel has them (6.6+), uprobe_multi
 * links, two per pid and file; otherwise one perf-event uprobe per function
 * and direction (~45 per pid). They are closed by the link reaper, never
 * in the caller's thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "forktrace.h"
#include "locks.skel.h"
#include "kernel/libc_find.h"
#include "kernel/link_reaper.h"
#include "kernel/lock_symbols.h"
#include "kernel/uprobe_link.h"
#include "kernel/uprobes.h"
#include "proc/maps.h"

#define MAX_LINKS_PER_PID (2 * LOCK_FUNCS)
#define PID_BUCKETS 256

enum link_mode { LINKS_MULTI, LINKS_PERF };

struct pid_links {
	int pid;
	int n;
	bool execed;		  /* exec'd since: check its libc again */
	dev_t libc_dev, pthr_dev; /* the files the links are on */
	ino_t libc_ino, pthr_ino;
	struct linkref links[MAX_LINKS_PER_PID];
	struct pid_links *next;
};

struct uprobes {
	struct locks_bpf *skel; /* NULL: the lock probes are off (said once) */
	bool callers;		/* record where each lock is taken (--stacks) */
	int traced_fd, held_fd, events_fd;
	enum link_mode mode;
	bool mode_forced;  /* FORKTRACE_UPROBE_LINKS */
	bool multi_proven; /* a uprobe_multi link was made */
	int nlinks;
	struct lock_symbols *symbols;
	struct link_reaper *reaper;
	struct pid_links *pids[PID_BUCKETS];
};

/* The file one function is probed in, and how to reach it. */
struct target {
	struct lock_file *lf;
	char path[PATH_MAX + 64];
};

/* Where one pid's probes go: its libc and libpthread, and for each function
 * the one that defines it (before glibc 2.34 libpthread has the pthread
 * functions). */
struct plan {
	struct target files[2];
	const struct target *per_func[LOCK_FUNCS];
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
	case ENFILE: return "too many open files: raise 'ulimit -n', or trace fewer processes";
	default: return "retry with --debug for libbpf's log, or use --locks=scan";
	}
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

/* Opens and loads the object for links of kind mode: 0 or -errno. */
static int load(struct uprobes *u, enum link_mode mode, const char **step)
{
	int e;

	locks_bpf__destroy(u->skel);
	u->mode = mode;
	link_reaper__set_threads(u->reaper, mode == LINKS_MULTI ? LINK_REAPER_THREADS : 1);
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
	u->skel->rodata->lock_callers = u->callers;
	if (mode == LINKS_MULTI) {
		bpf_program__set_expected_attach_type(u->skel->progs.lk_enter, UPROBE_ATTACH_MULTI);
		bpf_program__set_expected_attach_type(u->skel->progs.lk_exit, UPROBE_ATTACH_MULTI);
	}
	*step = "load";
	return locks_bpf__load(u->skel);
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

/* FORKTRACE_UPROBE_LINKS, else what the kernel has. */
static enum link_mode choose_mode(struct uprobes *u)
{
	const char *links = getenv("FORKTRACE_UPROBE_LINKS");

	u->mode_forced = links && (strcmp(links, "perf") == 0 || strcmp(links, "multi") == 0);
	if (u->mode_forced)
		return strcmp(links, "perf") == 0 ? LINKS_PERF : LINKS_MULTI;
	return uprobe_link_multi_supported() ? LINKS_MULTI : LINKS_PERF;
}

struct uprobes *uprobes__open(int traced_fd, int held_locks_fd, int events_fd, bool callers,
			      char *err, size_t errlen)
{
	struct uprobes *u = calloc(1, sizeof(*u));
	const char *step = "open";
	enum link_mode mode;
	int e;

	if (u) {
		u->reaper = link_reaper__new();
		u->symbols = lock_symbols__new(env_set("FORKTRACE_UPROBE_AT_SYMBOL"));
	}
	if (!u || !u->reaper || !u->symbols) {
		snprintf(err, errlen, "forktrace: cannot allocate memory — free some memory");
		uprobes__free(u);
		return NULL;
	}
	u->traced_fd = traced_fd;
	u->callers = callers;
	u->held_fd = held_locks_fd;
	u->events_fd = events_fd;
	mode = choose_mode(u);
	if (mode == LINKS_PERF && access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		snprintf(err, errlen,
			 "forktrace: cannot use uprobes: this kernel has neither "
			 "uprobe_multi links nor the uprobe PMU — use --locks=scan");
		uprobes__free(u);
		return NULL;
	}
	e = -load(u, mode, &step);
	if (e && mode == LINKS_MULTI && !u->mode_forced && strcmp(step, "load") == 0)
		e = -load(u, LINKS_PERF, &step);
	if (e) {
		snprintf(err, errlen,
			 "forktrace: cannot %s the lock uprobes (--locks=uprobe): "
			 "%s — %s",
			 step, strerror(e), load_hint(e));
		uprobes__free(u);
		return NULL;
	}
	raise_nofile();
	return u;
}

/* ------------------------------------------------------------ links */

static uint64_t cookie_of(size_t i)
{
	return LOCK_COOKIE(lock_funcs[i].op, lock_funcs[i].type);
}

/* uprobe_multi: for one file, lk_enter at every function, lk_exit at the
 * returns; appends to pl. 0 or -errno. */
static int attach_multi_file(struct uprobes *u, struct pid_links *pl, int pid,
			     const struct target *t, const struct plan *p)
{
	uint64_t offs[LOCK_FUNCS], cookies[LOCK_FUNCS];

	for (int ret = 0; ret < 2; ret++) {
		uint32_t n = 0;
		int fd;

		for (size_t i = 0; i < LOCK_FUNCS; i++) {
			if (p->per_func[i]->lf != t->lf || !t->lf->off[i] ||
			    (ret && !lock_funcs[i].ret))
				continue;
			offs[n] = t->lf->off[i];
			cookies[n++] = cookie_of(i);
		}
		if (!n)
			continue;
		fd = uprobe_link_multi(ret ? u->skel->progs.lk_exit : u->skel->progs.lk_enter, pid,
				       t->path, offs, cookies, n, ret);
		if (fd < 0)
			return fd;
		pl->links[pl->n++] = (struct linkref){ .link = NULL, .fd = fd };
	}
	return 0;
}

static int attach_multi(struct uprobes *u, struct pid_links *pl, int pid, struct plan *p)
{
	int rc = 0;

	for (int f = 0; f < 2 && !rc; f++) {
		struct target *t = &p->files[f];

		if (!t->lf)
			continue;
		rc = attach_multi_file(u, pl, pid, t, p);
		/* an offset refused: this file's function starts */
		if (rc && rc != -ESRCH && proc_maps_any(pid) && lock_file__use_starts(t->lf))
			rc = attach_multi_file(u, pl, pid, t, p);
	}
	return rc;
}

static int attach_perf_one(struct uprobes *u, struct pid_links *pl, int pid, const char *path,
			   uint64_t off, uint64_t cookie, bool ret)
{
	struct bpf_program *prog = ret ? u->skel->progs.lk_exit : u->skel->progs.lk_enter;
	int rc = uprobe_link_perf(prog, pid, path, off, cookie, ret, &pl->links[pl->n]);

	if (!rc)
		pl->n++;
	return rc;
}

/* One function's entry or return; at the function's start if the kernel
 * refuses the point inside it. */
static int attach_perf_func(struct uprobes *u, struct pid_links *pl, int pid,
			    const struct target *t, size_t i, bool ret)
{
	struct lock_file *lf = t->lf;
	int rc = attach_perf_one(u, pl, pid, t->path, lf->off[i], cookie_of(i), ret);

	if (rc && rc != -ESRCH && lf->off[i] != lf->start[i] && proc_maps_any(pid)) {
		rc = attach_perf_one(u, pl, pid, t->path, lf->start[i], cookie_of(i), ret);
		if (!rc)
			lf->off[i] = lf->start[i];
	}
	return rc;
}

static int attach_perf(struct uprobes *u, struct pid_links *pl, int pid, const struct plan *p)
{
	int rc = 0;

	for (size_t i = 0; i < LOCK_FUNCS && !rc; i++) {
		const struct target *t = p->per_func[i];

		if (!t->lf->off[i])
			continue;
		rc = attach_perf_func(u, pl, pid, t, i, false);
		if (!rc && lock_funcs[i].ret)
			rc = attach_perf_func(u, pl, pid, t, i, true);
	}
	return rc;
}

/* All links of one pid, in the current mode. 0 or -errno (pl emptied). */
static int attach_all(struct uprobes *u, struct pid_links *pl, int pid, struct plan *p)
{
	int rc = u->mode == LINKS_MULTI ? attach_multi(u, pl, pid, p) : attach_perf(u, pl, pid, p);

	if (rc) {
		link_reaper__hand(u->reaper, pl->links, pl->n);
		pl->n = 0;
	}
	return rc;
}

/* ------------------------------------------------------------ attach a pid */

static struct pid_links **pid_slot(struct uprobes *u, int pid)
{
	struct pid_links **pp = &u->pids[(unsigned)pid % PID_BUCKETS];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	return pp;
}

/* Unlinks *slot and closes its links. */
static void drop_pid(struct uprobes *u, struct pid_links **slot)
{
	struct pid_links *pl = *slot;

	*slot = pl->next;
	u->nlinks -= pl->n;
	link_reaper__hand(u->reaper, pl->links, pl->n);
	free(pl);
}

static int gone(int pid, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "forktrace: cannot follow the locks of pid %d: it exited before "
		 "its uprobes were attached — nothing to do",
		 pid);
	errno = ESRCH;
	return -1;
}

/*
 * PID exec'd: the links followed it into the new image, which is enough
 * when it maps the same files (the usual case). 0 or 1: done, as
 * uprobes__attach_pid returns; -1: other files, the old links are gone.
 */
static int after_exec(struct uprobes *u, int pid, const struct libc_file *libc,
		      const struct libc_file *pthr, char *err, size_t errlen)
{
	struct pid_links **slot = pid_slot(u, pid), *pl = *slot;

	if (!libc->found) {
		snprintf(err, errlen,
			 "forktrace: pid %d maps no dynamic glibc (not yet, "
			 "static, or another libc): its locks are not followed",
			 pid);
		return 1;
	}
	if (libc_is_file(libc, pl->libc_dev, pl->libc_ino) &&
	    libc_is_file(pthr, pl->pthr_dev, pl->pthr_ino)) {
		pl->execed = false;
		return 0;
	}
	drop_pid(u, slot);
	return -1;
}

/* Resolves the lock functions in the files PID maps into *p. 0 or -1. */
static int plan_files(struct uprobes *u, int pid, const struct libc_file *libc,
		      const struct libc_file *pthr, struct plan *p, char *err, size_t errlen)
{
	char why[PATH_MAX + 512] = "";

	libc_reach(pid, libc, p->files[0].path, sizeof(p->files[0].path));
	p->files[0].lf = lock_symbols__get(u->symbols, libc->dev, libc->ino, p->files[0].path, why,
					   sizeof(why));
	if (p->files[0].lf && pthr->found) {
		libc_reach(pid, pthr, p->files[1].path, sizeof(p->files[1].path));
		p->files[1].lf = lock_symbols__get(u->symbols, pthr->dev, pthr->ino,
						   p->files[1].path, why, sizeof(why));
	}
	if (p->files[0].lf && (!pthr->found || p->files[1].lf))
		return 0;
	if (!proc_maps_any(pid))
		return gone(pid, err, errlen);
	snprintf(err, errlen,
		 "forktrace: cannot read the glibc of pid %d: %s — run as "
		 "root (sudo), or use --locks=scan",
		 pid, why);
	errno = EIO;
	return -1;
}

/* Which file each function is probed in. 0, or -1 when a required one is
 * defined in neither. */
static int plan_functions(struct plan *p, int pid, const struct libc_file *libc, char *err,
			  size_t errlen)
{
	for (size_t i = 0; i < LOCK_FUNCS; i++) {
		const struct target *t1 = &p->files[1];

		p->per_func[i] = t1->lf && t1->lf->off[i] ? t1 : &p->files[0];
		if (!p->per_func[i]->lf->off[i] && lock_funcs[i].required) {
			snprintf(err, errlen,
				 "forktrace: cannot follow the locks of pid %d: %s "
				 "has no %s — use --locks=scan",
				 pid, libc->path, lock_funcs[i].name);
			errno = ENOENT;
			return -1;
		}
	}
	return 0;
}

/*
 * The kernel loaded uprobe_multi programs but makes no such links:
 * per-function perf-event uprobes instead. attach_all's result, or 1 when
 * even those cannot be loaded: the lock probes are then off from here on,
 * and err says why (errno set).
 */
static int fall_back_to_perf(struct uprobes *u, struct pid_links *pl, int pid, struct plan *p,
			     char *err, size_t errlen)
{
	const char *step;
	int e = -load(u, LINKS_PERF, &step);

	if (!e)
		return attach_all(u, pl, pid, p);
	locks_bpf__destroy(u->skel);
	u->skel = NULL;
	snprintf(err, errlen,
		 "forktrace: this kernel makes no uprobe_multi links, and cannot %s "
		 "the perf-event lock uprobes instead: %s — locks are not followed from here on; "
		 "%s",
		 step, strerror(e), load_hint(e));
	/* ESRCH would tell the caller that the process is gone: it is not */
	errno = e == ESRCH ? EIO : e;
	return 1;
}

static int attach_failed(int pid, const struct libc_file *libc, int rc, char *err, size_t errlen)
{
	if (rc == -ESRCH || !proc_maps_any(pid))
		return gone(pid, err, errlen);
	snprintf(err, errlen,
		 "forktrace: cannot attach the lock uprobes to pid %d (%s): "
		 "%s — %s",
		 pid, libc->path, strerror(-rc), load_hint(-rc));
	errno = -rc;
	return -1;
}

static void record(struct uprobes *u, struct pid_links *pl, const struct libc_file *libc,
		   const struct libc_file *pthr)
{
	if (u->mode == LINKS_MULTI)
		u->multi_proven = true;
	pl->libc_dev = libc->dev;
	pl->libc_ino = libc->ino;
	if (pthr->found) {
		pl->pthr_dev = pthr->dev;
		pl->pthr_ino = pthr->ino;
	}
	u->nlinks += pl->n;
	*pid_slot(u, pl->pid) = pl;
}

/* Attaches the probes of plan p to PID and records them. 0 or -1. */
static int attach_new(struct uprobes *u, int pid, const struct libc_file *libc,
		      const struct libc_file *pthr, struct plan *p, char *err, size_t errlen)
{
	struct pid_links *pl = calloc(1, sizeof(*pl));
	int rc, e;

	if (!pl) {
		snprintf(err, errlen, "forktrace: cannot allocate memory — free some memory");
		errno = ENOMEM;
		return -1;
	}
	pl->pid = pid;
	rc = attach_all(u, pl, pid, p);
	if (rc && u->mode == LINKS_MULTI && !u->multi_proven && !u->mode_forced && rc != -ESRCH &&
	    proc_maps_any(pid))
		rc = fall_back_to_perf(u, pl, pid, p, err, errlen);
	if (rc == 1) {
		e = errno;
		free(pl);
		errno = e;
		return -1;
	}
	if (rc) {
		free(pl);
		return attach_failed(pid, libc, rc, err, errlen);
	}
	record(u, pl, libc, pthr);
	return 0;
}

int uprobes__attach_pid(struct uprobes *u, int pid, char *err, size_t errlen)
{
	struct libc_file libc = { 0 }, pthr = { 0 };
	struct pid_links **slot;
	struct plan p;
	int rc;

	if (!u || pid <= 0) {
		snprintf(err, errlen,
			 "forktrace: cannot attach lock uprobes to pid %d — "
			 "this is a bug in forktrace",
			 pid);
		errno = EINVAL;
		return -1;
	}
	if (!u->skel)
		return 0; /* the lock probes are off: said when they went */
	slot = pid_slot(u, pid);
	if (*slot && !(*slot)->execed)
		return 0;

	rc = libc_find(pid, &libc, &pthr);
	if (rc == -ENOENT || rc == -ESRCH)
		return gone(pid, err, errlen);
	if (rc) {
		snprintf(err, errlen,
			 "forktrace: cannot read the memory map of pid %d: %s — "
			 "run as root (sudo)",
			 pid, strerror(-rc));
		errno = -rc;
		return -1;
	}
	if (*slot && (rc = after_exec(u, pid, &libc, &pthr, err, errlen)) >= 0)
		return rc;
	if (!libc.found) {
		snprintf(err, errlen,
			 "forktrace: pid %d maps no dynamic glibc (static, or another "
			 "libc): its locks are not followed by uprobes",
			 pid);
		return 1;
	}
	memset(&p, 0, sizeof(p));
	if (plan_files(u, pid, &libc, &pthr, &p, err, errlen) ||
	    plan_functions(&p, pid, &libc, err, errlen))
		return -1;
	return attach_new(u, pid, &libc, &pthr, &p, err, errlen);
}

/* ------------------------------------------------------------ detach, free */

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
	struct pid_links **slot;

	if (!u)
		return;
	slot = pid_slot(u, pid);
	if (*slot)
		drop_pid(u, slot);
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
	/* the old image's held locks were forgotten in the kernel at the exec */
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
	for (int b = 0; b < PID_BUCKETS; b++)
		while (u->pids[b])
			drop_pid(u, &u->pids[b]);
	link_reaper__free(u->reaper);
	lock_symbols__free(u->symbols);
	locks_bpf__destroy(u->skel);
	free(u);
}
