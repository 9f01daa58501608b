/*
 * The model of traced processes. Records arrive in the order the kernel
 * reserved them, so when a fork record is handled the model's thread list
 * of the parent is the list at the instant of the fork.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/model_priv.h"
#include "python/python.h"
#include "proc/procfs.h"
#include "proc/proctree.h"

/* ---- processes and threads ---- */

static struct proc **bucket(struct model *m, int pid)
{
	return &m->buckets[(unsigned)pid % NBUCKETS];
}

struct proc *proc_find(struct model *m, int pid)
{
	for (struct proc *p = *bucket(m, pid); p; p = p->hnext)
		if (p->pid == pid)
			return p;
	return NULL;
}

static struct proc *proc_new(struct model *m, int pid, const char *comm)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	memcpy(p->comm, comm, EV_COMM_LEN);
	p->comm[EV_COMM_LEN - 1] = 0;
	p->hnext = *bucket(m, pid);
	*bucket(m, pid) = p;
	m->live++;
	return p;
}

static void proc_remove(struct model *m, struct proc *p)
{
	for (struct proc **pp = bucket(m, p->pid); *pp; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	}
	m->live--;
	/* its fork's held-back hazards go with it (callers that must report
	 * them resolve them first) */
	if (p->pending)
		pending_unlink(m, p->pending);
	mpy_forget(m, p);
	held_list_free(&p->born_held);
	free(p->threads);
	free(p);
}

struct thread *thread_find(struct proc *p, int tid)
{
	for (int i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

/* Adds or revives a thread; the name is kept as given (untrusted). */
static void thread_set(struct proc *p, int tid, const char *comm)
{
	struct thread *t = thread_find(p, tid);

	if (!t) {
		if (p->nthreads == p->cap) {
			int cap = p->cap ? p->cap * 2 : 4;
			struct thread *nt = realloc(p->threads, cap * sizeof(*nt));

			if (!nt)
				return;
			p->threads = nt;
			p->cap = cap;
		}
		t = &p->threads[p->nthreads++];
		memset(t, 0, sizeof(*t));
		t->tid = tid;
	}
	t->alive = true;
	memcpy(t->comm, comm, EV_COMM_LEN);
	t->comm[EV_COMM_LEN - 1] = 0;
}

static int threads_alive(const struct proc *p)
{
	int n = 0;

	for (int i = 0; i < p->nthreads; i++)
		n += p->threads[i].alive;
	return n;
}

/* Replaces the thread list with what /proc shows now. */
static void threads_from_proc(struct proc *p)
{
	int *tids, n = procfs_tids(p->pid, &tids);

	if (n < 0)
		return;
	for (int i = 0; i < p->nthreads; i++)
		p->threads[i].alive = false;
	for (int i = 0; i < n; i++) {
		char comm[EV_COMM_LEN] = "";

		if (procfs_thread_comm(p->pid, tids[i], comm, sizeof(comm)) == 0)
			thread_set(p, tids[i], comm);
	}
	free(tids);
}

/*
 * The process a record is about. With -a a process may appear that was
 * running before we attached: learn its threads from /proc then.
 */
static struct proc *proc_for_record(struct model *m, const struct rec_hdr *h)
{
	struct proc *p = proc_find(m, h->pid);

	if (p)
		return p;
	p = proc_new(m, h->pid, h->comm);
	if (p)
		threads_from_proc(p);
	return p;
}

/* ---- events ---- */

void model_event_init(struct model *m, struct event *ev, enum event_kind kind, enum severity sev,
		      uint64_t ts, int pid, const char *comm)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->severity = sev;
	ev->time_ns = ts ? ts + m->mono_to_real : 0;
	ev->pid = pid;
	/* comm is a record's or a proc's (EV_COMM_LEN bytes), or "" */
	memcpy(ev->comm, comm, strnlen(comm, EV_COMM_LEN - 1));
}

void thread_list_add(struct thread_list *tl, const struct thread *t)
{
	if (tl->count < EV_MAX_THREADS) {
		tl->t[tl->count].tid = t->tid;
		memcpy(tl->t[tl->count].comm, t->comm, EV_COMM_LEN);
		memcpy(tl->t[tl->count].name, t->name, EV_NAME_LEN);
		tl->count++;
	}
	tl->total++;
}

/* ---- the grace rule ---- */

void model__tick(struct model *m, uint64_t now)
{
	struct pending *pd = m->pendings, *next;

	for (; pd; pd = next) {
		next = pd->next;
		/* (a fork whose scan runs waits for it: it lands, then this) */
		if (pd->deadline <= now && !pd->task)
			pending_resolve(m, pd, SEV_WARNING);
	}
	if (m->cfg.watch_deadlocks)
		hazards_watch(m, now);
	mpy_tick(m, now);
}

uint64_t model__next_deadline(const struct model *m)
{
	uint64_t best = 0;

	for (const struct pending *pd = m->pendings; pd; pd = pd->next)
		if (!pd->task && (!best || pd->deadline < best))
			best = pd->deadline;
	if (m->py_refresh_due && m->py_due_at && (!best || m->py_due_at < best))
		best = m->py_due_at;
	return best;
}

/* ---- records ---- */

/* A new process record for the child, inheriting what its parent was born
 * without: a lock held at an ancestor's fork stays held here too. */
static struct proc *child_new(struct model *m, struct proc *parent, const struct rec_fork *r)
{
	struct proc *child = proc_find(m, r->child_pid);

	if (child) { /* a stale entry: its pid was reused (its exit was lost) */
		if (child->pending)
			pending_resolve(m, child->pending, SEV_WARNING);
		proc_remove(m, child);
	}
	child = proc_new(m, r->child_pid, r->h.comm);
	if (!child)
		return NULL;
	child->forked = true;
	child->parent_pid = r->h.pid;
	child->fork_ts = r->h.ts;
	thread_set(child, r->child_pid, r->h.tcomm);
	held_list_copy(&child->born_held, &parent->born_held);
	mpy_inherit(m, child, parent);
	return child;
}

/* uprobe mode: the locks seen taken wait with the fork for its scan. */
static void keep_incoming(struct model *m, struct pending *pd)
{
	if (!m->nincoming)
		return;
	pd->incoming = malloc(m->nincoming * sizeof(*pd->incoming));
	if (!pd->incoming)
		return;
	memcpy(pd->incoming, m->incoming, m->nincoming * sizeof(*pd->incoming));
	pd->nincoming = m->nincoming;
}

void model__fork(struct model *m, const struct rec_fork *r)
{
	struct proc *parent = proc_for_record(m, &r->h);
	struct proc *child;
	struct pending *pd = NULL;
	struct event *ev, plain;
	bool from_main = r->h.flags & FORK_FROM_MAIN;
	bool shares_vm = r->h.flags & FORK_SHARES_VM;
	bool later = false;
	int held = 0;

	if (!parent)
		return;
	/* a child that forks while its own scan runs: that scan first (what it
	 * was born holding, its descendant is too; its fork event first) */
	if (parent->pending && parent->pending->task)
		pending_settle(m, parent->pending, SCAN_REASON_NONE);
	/* the model missed a thread change (attach race): ask /proc */
	if (threads_alive(parent) != (int)r->threads)
		threads_from_proc(parent);
	child = child_new(m, parent, r);
	if (!child)
		return;
	if (m->incoming_child != (int)r->child_pid)
		m->nincoming = 0;
	for (int i = 0; i < m->nincoming; i++)
		m->incoming[i].fork_ts = r->h.ts;
	if (r->threads > 1 || !from_main || m->nincoming)
		pd = pending_new(m, parent, r);
	ev = pd ? &pd->fork_ev : &plain;
	model_event_init(m, ev, EV_FORK, SEV_INFO, r->h.ts, r->h.pid, r->h.comm);
	ev->fork.tid = r->h.tid;
	ev->fork.child_pid = r->child_pid;
	ev->fork.threads = r->threads;
	ev->fork.main_thread = from_main;
	/* Python names and frames, before the held locks that name their holders */
	if (pd && (r->threads > 1 || !from_main))
		mpy_fork(m, parent, r, pd);
	/* --stacks=all: the fork event itself carries the forking thread's stack */
	ev->fork.stack = mst_fork(m, parent, r, pd);
	/* a child sharing its parent's memory (vfork, posix_spawn) only exec's */
	if (pd && r->threads > 1 && !shares_vm && (m->cfg.scan_locks || m->cfg.py_locks))
		held = pending_scan(m, parent, child, r, pd, &later);
	mst_fork_done(m, r);
	mpy_fork_done(m, r);
	if (!pd) {
		model_emit(m, ev);
		stack_free((struct stack *)ev->fork.stack);
		m->nincoming = 0;
		return;
	}
	pd->fork_stack = (struct stack *)ev->fork.stack;
	pd->child = child;
	child->pending = pd;
	pd->next = m->pendings;
	m->pendings = pd;
	if (later) {
		/* its events wait for the scan; the uprobes' locks with them */
		keep_incoming(m, pd);
		m->nincoming = 0;
		return;
	}
	if (m->nincoming) {
		held = pending_add_held(m, parent, child, pd, m->incoming, m->nincoming);
	}
	mst_held(m, parent, child, pd, m->incoming, m->nincoming);
	m->nincoming = 0;
	ev->fork.held_locks = held;
	pending_emit_fork(m, pd);
	if (shares_vm)
		pending_resolve(m, pd, SEV_INFO);
}

static enum lock_type held_type_to_lock(__u32 type)
{
	switch (type) {
	case HELD_MUTEX: return LOCK_MUTEX;
	case HELD_RWLOCK_READ: return LOCK_RWLOCK_READ;
	case HELD_RWLOCK_WRITE: return LOCK_RWLOCK_WRITE;
	case HELD_SEMAPHORE: return LOCK_SEMAPHORE;
	}
	return LOCK_UNKNOWN;
}

/* uprobe mode: a lock held at a fork; its REC_FORK follows. */
void model__held_lock(struct model *m, const struct rec_held_lock *r)
{
	struct found_lock *l;

	if (m->incoming_child != (int)r->child_pid) {
		m->incoming_child = r->child_pid;
		m->nincoming = 0;
	}
	if (m->nincoming == m->cap_incoming) {
		int cap = m->cap_incoming ? m->cap_incoming * 2 : 16;
		struct found_lock *v = realloc(m->incoming, cap * sizeof(*v));

		if (!v)
			return;
		m->incoming = v;
		m->cap_incoming = cap;
	}
	l = &m->incoming[m->nincoming++];
	memset(l, 0, sizeof(*l));
	l->addr = r->lock;
	l->type = held_type_to_lock(r->type);
	l->owner_tid = r->holder_tid;
	l->forker_tid = r->h.tid;
	l->fork_ts = r->h.ts;
	l->held_ns = r->h.ts > r->acquired_ts ? (int64_t)(r->h.ts - r->acquired_ts) : 0;
	l->by_uprobe = true;
	l->caller = r->caller;
}

void model__py_stack(struct model *m, const struct rec_py_stack *r)
{
	m->incoming_py[m->incoming_py_next++ % PY_INCOMING] = *r;
}

void model__thread_new(struct model *m, const struct rec_thread *r)
{
	struct proc *p = proc_for_record(m, &r->h);

	if (!p)
		return;
	thread_set(p, r->h.tid, r->name);
	mpy_thread_new(m, p, r->h.ts);
}

void model__thread_rename(struct model *m, const struct rec_thread *r)
{
	struct proc *p = proc_for_record(m, &r->h);

	if (!p)
		return;
	thread_set(p, r->h.tid, r->name);
	if ((int)r->h.tid == p->pid) {
		memcpy(p->comm, r->name, EV_COMM_LEN);
		p->comm[EV_COMM_LEN - 1] = 0;
	}
}

/* The threads of p other than tid that still ran: killed mid-work. */
static void kill_others(struct proc *p, int tid)
{
	for (int i = 0; i < p->nthreads; i++) {
		if (p->threads[i].alive && p->threads[i].tid != tid) {
			p->threads[i].killed = true;
			p->threads[i].alive = false;
		}
	}
}

void model__thread_exit(struct model *m, const struct rec_thread *r)
{
	struct proc *p = proc_find(m, r->h.pid);
	struct thread *t;

	if (!p)
		return;
	t = thread_find(p, r->h.tid);
	if (!t)
		return;
	if ((r->h.flags & TEXIT_GROUP_EXIT) && !(r->h.flags & TEXIT_INITIATOR) && t->alive)
		t->killed = true;
	t->alive = false;
	/* exit_group(): every other thread still running dies with it, whether
	 * or not its own exit is seen (the process may be gone from the traced
	 * map, its exit unreported, by the time that thread reaches its end) */
	if ((r->h.flags & TEXIT_GROUP_EXIT) && (r->h.flags & TEXIT_INITIATOR))
		kill_others(p, t->tid);
}

void model__exec(struct model *m, const struct rec_exec *r)
{
	struct proc *p = proc_for_record(m, &r->h);
	struct event ev;

	if (!p)
		return;
	p->execed = true;
	memcpy(p->comm, r->h.comm, EV_COMM_LEN);
	/* a new image: another program, perhaps another interpreter */
	mpy_exec(m, p, r->filename, r->h.ts);
	/* exec leaves one thread, which takes the process's pid */
	for (int i = 0; i < p->nthreads; i++) {
		p->threads[i].alive = false;
		p->threads[i].name[0] = 0;
	}
	thread_set(p, p->pid, r->h.tcomm);

	model_event_init(m, &ev, EV_EXEC, SEV_INFO, r->h.ts, r->h.pid, r->h.comm);
	memcpy(ev.exec.filename, r->filename, EV_PATH_LEN);
	ev.exec.filename[EV_PATH_LEN - 1] = 0;
	ev.exec.since_fork_ns = p->forked && r->h.ts > p->fork_ts ? r->h.ts - p->fork_ts : 0;
	/* it exec'd: what its scan had not read yet, it needs no more */
	if (p->pending)
		pending_settle(m, p->pending, SCAN_REASON_EXEC);
	if (p->pending)
		pending_resolve(m, p->pending, SEV_INFO);
	model_emit(m, &ev);
}

/* As wait(2) tells it: the exit status, or the signal that killed it. */
static void decode_exit(int32_t raw, int *code, int *sig)
{
	*sig = raw & 0x7f;
	*code = *sig ? 0 : (raw >> 8) & 0xff;
}

void model__exit(struct model *m, const struct rec_exit *r)
{
	struct proc *p = proc_find(m, r->h.pid);
	struct event ev;
	int code, sig;

	if (!p)
		return;
	decode_exit(r->exit_code, &code, &sig);
	/* a fatal signal kills every thread: those whose exit was not seen too */
	if (sig)
		kill_others(p, r->h.tid);
	/* it ran without exec until its end: the fork's hazards stand */
	if (p->pending)
		pending_resolve(m, p->pending, SEV_WARNING);

	model_event_init(m, &ev, EV_EXIT_WITH_THREADS, SEV_INFO, r->h.ts, r->h.pid, p->comm);
	for (int i = 0; i < p->nthreads; i++)
		if (p->threads[i].killed && p->threads[i].tid != p->pid)
			thread_list_add(&ev.exit_with_threads.threads, &p->threads[i]);
	if (ev.exit_with_threads.threads.total) {
		ev.severity = p->forked && !p->execed ? SEV_WARNING : SEV_INFO;
		ev.exit_with_threads.exit_code = code;
		model_emit(m, &ev);
	}

	model_event_init(m, &ev, EV_EXIT, SEV_INFO, r->h.ts, r->h.pid, p->comm);
	ev.exit.exit_code = code;
	ev.exit.signal = sig;
	model_emit(m, &ev);
	proc_remove(m, p);
}

/* ---- lifecycle ---- */

struct model *model__new(const struct model_config *cfg, model_emit_fn emit, void *ctx,
			 int64_t mono_to_real)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cfg = *cfg;
	m->emit = emit;
	m->emit_ctx = ctx;
	m->mono_to_real = mono_to_real;
	mst_init(m);
	if (cfg->scan_threads > 0 && (cfg->scan_locks || cfg->py_locks) &&
	    !(m->pool = scan_pool_new(cfg->scan_threads, cfg->scan_queue))) {
		int err = errno;

		model__free(m);
		errno = err;
		return NULL;
	}
	return m;
}

/* attach lists p's live threads, detach counts them; p NULL: every process (-a). */
static void attach_event(struct model *m, enum event_kind kind, const struct proc *p)
{
	struct event ev;

	model_event_init(m, &ev, kind, SEV_INFO, 0, p ? p->pid : 0, p ? p->comm : "");
	if (kind == EV_DETACH) {
		ev.detach.threads = p ? threads_alive(p) : 0;
		ev.detach.locks = m->cfg.lock_mode;
	} else {
		for (int i = 0; p && i < p->nthreads; i++)
			if (p->threads[i].alive)
				thread_list_add(&ev.attach.threads, &p->threads[i]);
		ev.attach.locks = m->cfg.lock_mode;
		if (p && p->py)
			snprintf(ev.attach.python, sizeof(ev.attach.python), "%s",
				 py_version(p->py));
	}
	model_emit(m, &ev);
}

void model__add_root(struct model *m, int pid)
{
	struct proc *p = proc_find(m, pid);
	char comm[EV_COMM_LEN] = "";

	if (!p) {
		procfs_thread_comm(pid, pid, comm, sizeof(comm));
		p = proc_new(m, pid, comm);
		if (!p)
			return;
	}
	p->root = true;
	threads_from_proc(p);
	if (m->nroots == m->cap_roots) {
		int cap = m->cap_roots ? m->cap_roots * 2 : 8;
		int *v = realloc(m->roots, cap * sizeof(*v));

		if (!v)
			return;
		m->roots = v;
		m->cap_roots = cap;
	}
	m->roots[m->nroots++] = pid;
	mpy_names(m, p);
	attach_event(m, EV_ATTACH, p);
}

void model__add_existing(struct model *m, int pid, int parent_pid, bool forked_not_execed,
			 uint64_t fork_ts)
{
	char comm[EV_COMM_LEN] = "";
	struct proc *p;

	if (proc_find(m, pid))
		return; /* seen twice in the walk, or its fork record came first */
	procfs_thread_comm(pid, pid, comm, sizeof(comm));
	p = proc_new(m, pid, comm);
	if (!p)
		return;
	p->parent_pid = parent_pid;
	/* a child that runs its parent's image: under the deadlock watch at once */
	p->forked = forked_not_execed;
	p->fork_ts = fork_ts;
	threads_from_proc(p);
	mpy_names(m, p);
	attach_event(m, EV_ATTACH, p);
}

void model__forget(struct model *m, int pid)
{
	struct proc *p = proc_find(m, pid);

	if (!p)
		return;
	if (p->pending)
		pending_unlink(m, p->pending);
	proc_remove(m, p);
}

void model__attach_all(struct model *m)
{
	attach_event(m, EV_ATTACH, NULL);
}

void model__detach(struct model *m)
{
	/* we stop watching: the scans running end by themselves (each has its
	 * time bound), then what was held back is reported as it stands */
	for (struct pending *pd = m->pendings; pd; pd = pd->next)
		pending_settle(m, pd, SCAN_REASON_NONE);
	while (m->pendings)
		pending_resolve(m, m->pendings, SEV_WARNING);
	if (m->cfg.trace_all) {
		attach_event(m, EV_DETACH, NULL);
		return;
	}
	for (int i = 0; i < m->nroots; i++) {
		struct proc *p = proc_find(m, m->roots[i]);

		if (p)
			attach_event(m, EV_DETACH, p);
	}
}

int model__reap_gone(struct model *m, void (*gone)(void *ctx, int pid, bool root), void *ctx)
{
	int first = 0;

	for (int b = 0; b < NBUCKETS; b++) {
		struct proc *p = m->buckets[b], *next;

		for (; p; p = next) {
			int pid = p->pid;
			bool root = p->root;

			next = p->hnext;
			if (proctree_running(pid)) {
				p->gone_seen = false;
				continue;
			}
			if (!p->gone_seen) {
				p->gone_seen = true;
				first++;
				continue;
			}
			if (p->pending)
				pending_resolve(m, p->pending, SEV_WARNING);
			proc_remove(m, p);
			if (gone)
				gone(ctx, pid, root);
		}
	}
	return first;
}

bool model__knows(const struct model *m, int pid)
{
	return proc_find((struct model *)m, pid) != NULL;
}

int model__live(const struct model *m)
{
	return m->live;
}

void model__free(struct model *m)
{
	if (!m)
		return;
	while (m->pendings)
		pending_unlink(m, m->pendings);
	scan_pool_free(m->pool);
	free(m->incoming);
	free(m->roots);
	mst_free(m);
	for (int b = 0; b < NBUCKETS; b++)
		while (m->buckets[b])
			proc_remove(m, m->buckets[b]);
	free(m);
}

int model__scan_fd(const struct model *m)
{
	return m->pool ? scan_pool_fd(m->pool) : -1;
}

void model__scans_landed(struct model *m)
{
	struct scan_task *t;

	while (m->pool && (t = scan_pool_collect(m->pool)))
		pending_land(m, t->owner, t);
}

void model__scan_counts(const struct model *m, uint64_t *gone, uint64_t *busy)
{
	*gone = m->scans_gone;
	*busy = m->scans_busy;
}
