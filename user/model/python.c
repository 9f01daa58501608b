/*
 * Python support in the model: which processes run a CPython it knows,
 * their threads' Python names, and the Python frames of the threads a
 * hazard is about. The reading is python/'s; this file decides when, and
 * keeps what was read with the threads and the held-back events.
 *
 * Where it is read from: a fork's orphans from the parent, right when the
 * fork record is handled (their frames are what they were doing: a thread
 * that is not copied is usually blocked, and the child deletes their thread
 * states at once); the forking thread from the raw frames the kernel copied
 * at the instant of the fork; a blocked child's thread from the child.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "locks/deadlock.h"
#include "model/model_priv.h"
#include "proc/maps.h"
#include "proc/procfs.h"
#include "python/python.h"
#include "util/clock.h"

#define REFRESH_DELAY_NS 10000000ULL /* a new thread is named by Python just after it starts */
#define FORK_BUDGET_NS 20000000ULL   /* reading a fork's threads, at most */
#define MAX_DEPTH 48
#define REREAD_ATTEMPTS 3 /* reads of a running orphan whose frames did not validate */
#define STARTUP_RETRY_NS 10000000ULL /* a python just exec'd: looked at every 10 ms ... */
#define STARTUP_MAX_NS 2000000000ULL /* ... for its first 2 s */
#define BROKEN_CONFIRM_NS \
	200000000ULL /* a failed read is said if the process is still there then */

void mpy_forget(struct model *m, struct proc *p)
{
	/* the kernel side forgets it at an exec or exit it sees itself; this
	 * covers a layout written after that, from a record read late */
	if (p->py && m->cfg.py_layout)
		m->cfg.py_layout(m->cfg.hook_ctx, p->pid, NULL);
	py_detach(p->py);
	p->py = NULL;
	p->py_checked = false;
	p->py_refresh_at = 0;
	p->py_try_at = p->py_try_until = 0;
	p->py_broken = false;
	p->py_failed_at = 0;
}

void mpy_inherit(struct model *m, struct proc *child, const struct proc *parent)
{
	if (!m->cfg.python || !parent->py_checked)
		return;
	/* what was found of the parent holds for the child: an interpreter not
	 * recognized, or one that stopped validating, is said once, not per child */
	child->py_checked = true;
	if (parent->py && !parent->py_broken)
		child->py = py_fork_copy(parent->py, child->pid);
}

void mpy_exec(struct model *m, struct proc *p, const char *filename, uint64_t now)
{
	const char *base = strrchr(filename, '/');

	mpy_forget(m, p);
	base = base ? base + 1 : filename;
	/* known before its first thread and fork, so that the fork tracepoint
	 * can copy the forking thread's frames from the first fork on */
	if (m->cfg.python && strncmp(base, "python", 6) == 0) {
		p->py_try_at = now + STARTUP_RETRY_NS;
		p->py_try_until = now + STARTUP_MAX_NS;
		mpy_due(m, p->py_try_at);
	}
}

static void recognized(struct model *m, struct proc *p)
{
	struct py_bpf_layout bl;

	p->py_try_at = p->py_try_until = 0;
	if (m->cfg.py_layout && py_bpf_layout(p->py, &bl) == 0)
		m->cfg.py_layout(m->cfg.hook_ctx, p->pid, &bl);
}

/* While a python starts up (before py_try_until), a failed look is quiet
 * and is tried again: its interpreter may not be initialized yet. */
static void look(struct model *m, struct proc *p, uint64_t now)
{
	char why[256] = "";

	p->py = py_attach(p->pid, why, sizeof(why));
	if (!p->py && !procfs_exists(p->pid)) {
		p->py_checked = true; /* gone already: nothing to say */
		return;
	}
	if (p->py) {
		p->py_checked = true;
		recognized(m, p);
		return;
	}
	if (now < p->py_try_until) {
		p->py_try_at = now + STARTUP_RETRY_NS;
		mpy_due(m, p->py_try_at);
		return;
	}
	p->py_checked = true;
	p->py_try_at = p->py_try_until = 0;
	/* once per image: a process that runs no CPython says nothing */
	if (why[0])
		fprintf(stderr, "forktrace: pid %d: %s — its threads go by their kernel names\n",
			p->pid, why);
}

void mpy_check(struct model *m, struct proc *p)
{
	if (!m->cfg.python || p->py_checked)
		return;
	look(m, p, mono_ns());
}

/* A read of a recognized interpreter failed. An interpreter that is ending
 * (its threads going, then its process) reads that way for a moment: only a
 * process still there a while later is said to no longer read as expected.
 * Until then, and after, it is not read again: no name can be wrong. */
static void read_failed(struct model *m, struct proc *p)
{
	p->py_broken = true;
	p->py_failed_at = mono_ns() + BROKEN_CONFIRM_NS;
	mpy_due(m, p->py_failed_at);
}

/* The process outlived its failed read: its memory no longer validates. */
static void confirm_broken(struct proc *p)
{
	p->py_failed_at = 0;
	if (!proc_maps_any(p->pid))
		return;
	fprintf(stderr,
		"forktrace: pid %d: its CPython %s no longer reads as expected — its threads"
		" go by their kernel names from now on\n",
		p->pid, py_version(p->py));
}

/* Copies each read thread's name onto the model's thread of that tid. */
static void take_names(struct proc *p, const struct py_thread *v, int n)
{
	for (int i = 0; i < n; i++) {
		struct thread *t = thread_find(p, v[i].tid);

		if (t && v[i].name[0])
			memcpy(t->name, v[i].name, EV_NAME_LEN);
	}
}

void mpy_names(struct model *m, struct proc *p)
{
	struct py_read_opts o = { .frames = false, .budget_ns = FORK_BUDGET_NS };
	struct py_thread *v;
	int n;

	mpy_check(m, p);
	if (!p->py || p->py_broken)
		return;
	n = py_read_threads(p->py, p->pid, NULL, 0, &o, &v, NULL);
	if (n < 0)
		read_failed(m, p);
	if (n > 0)
		take_names(p, v, n);
	py_threads_free(v, n);
}

void mpy_thread_new(struct model *m, struct proc *p, uint64_t now)
{
	if (!m->cfg.python)
		return;
	/* recognized now, not at its first fork: a fork's orphans are read at
	 * once, while they still exist (a program may join them right after) */
	mpy_check(m, p);
	if (!p->py || p->py_refresh_at)
		return; /* not Python, or a refresh is already due: it covers this one */
	/* now (the thread has usually entered threading's bookkeeping by the
	 * time its record is read; a short-lived child may be gone soon), and
	 * again a moment later for the one that had not */
	mpy_names(m, p);
	p->py_refresh_at = now + REFRESH_DELAY_NS;
	mpy_due(m, p->py_refresh_at);
}

void mpy_due(struct model *m, uint64_t t)
{
	m->py_refresh_due = true;
	if (!m->py_due_at || t < m->py_due_at)
		m->py_due_at = t;
}

void mpy_tick(struct model *m, uint64_t now)
{
	if (!m->py_refresh_due || now < m->py_due_at)
		return;
	m->py_refresh_due = false;
	m->py_due_at = 0;
	for (int b = 0; b < NBUCKETS; b++)
		for (struct proc *p = m->buckets[b]; p; p = p->hnext) {
			if (p->py_failed_at && p->py_failed_at <= now)
				confirm_broken(p);
			else if (p->py_failed_at)
				mpy_due(m, p->py_failed_at);
			if (p->py_try_at && !p->py_checked) {
				if (p->py_try_at <= now)
					look(m, p, now); /* asks again itself when it must */
				else
					mpy_due(m, p->py_try_at);
			}
			if (!p->py_refresh_at)
				continue;
			if (p->py_refresh_at > now) {
				mpy_due(m, p->py_refresh_at);
				continue;
			}
			p->py_refresh_at = 0;
			mpy_names(m, p);
		}
}


static struct py_thread *find(struct py_thread *v, int n, int tid)
{
	for (int i = 0; i < n; i++)
		if (v[i].tid == tid)
			return &v[i];
	return NULL;
}

/* The raw frames the kernel copied at this fork of the thread ident (the
 * forking thread's when forker), if they came. */
static struct rec_py_stack *incoming_of(struct model *m, const struct rec_fork *r, bool forker,
					uint64_t ident)
{
	for (int i = 0; i < PY_INCOMING; i++) {
		struct rec_py_stack *k = &m->incoming_py[i];

		if (k->child_pid && k->child_pid == r->child_pid && k->h.pid == r->h.pid &&
		    k->h.tid == r->h.tid && (forker ? k->forker : !k->forker && k->ident == ident))
			return k;
	}
	return NULL;
}

static struct rec_py_stack *incoming(struct model *m, const struct rec_fork *r)
{
	return incoming_of(m, r, true, 0);
}

void mpy_fork_done(struct model *m, const struct rec_fork *r)
{
	for (int i = 0; i < PY_INCOMING; i++) {
		struct rec_py_stack *k = &m->incoming_py[i];

		if (k->child_pid == r->child_pid && k->h.pid == r->h.pid && k->h.tid == r->h.tid)
			k->child_pid = 0;
	}
}

/* A thread's frames at the instant of the fork, as the kernel copied them:
 * NULL when they did not come or could not be read. */
static struct stack *frames_at_fork(struct model *m, struct proc *parent,
				    const struct rec_fork *r, uint64_t ident)
{
	const struct rec_py_stack *k = ident ? incoming_of(m, r, false, ident) : NULL;
	struct stack *s;

	if (!k)
		return NULL;
	s = py_stack_from_raw(parent->py, parent->pid, k->frames,
			      k->count < PY_STACK_FRAMES ? (int)k->count : PY_STACK_FRAMES,
			      k->truncated);
	if (s && !s->count) {
		stack_free(s);
		s = NULL;
	}
	return s;
}

/* The forking thread's frames as the kernel copied them at the fork. */
struct stack *mpy_forker_stack(struct model *m, struct proc *parent, const struct rec_fork *r)
{
	const struct rec_py_stack *k = incoming(m, r);

	if (!m->cfg.stacks || !parent->py || parent->py_broken || !k)
		return NULL;
	return py_stack_from_raw(parent->py, parent->pid, k->frames,
				 k->count < PY_STACK_FRAMES ? (int)k->count : PY_STACK_FRAMES,
				 k->truncated);
}

/* A thread that runs on while its frames are read can give a chain that does
 * not validate: a few more reads of it alone, each a moment later. */
static struct stack *reread_frames(struct proc *parent, int tid, const struct py_read_opts *o)
{
	for (int attempt = 0; attempt < REREAD_ATTEMPTS; attempt++) {
		struct py_thread *v = NULL, *t;
		struct stack *s = NULL;
		int n = py_read_threads(parent->py, parent->pid, &tid, 1, o, &v, NULL);

		t = n > 0 ? find(v, n, tid) : NULL;
		if (t && t->stack && t->stack->count) {
			s = t->stack;
			t->stack = NULL;
		}
		py_threads_free(v, n);
		if (s || n <= 0)
			return s;
	}
	return NULL;
}

void mpy_fork(struct model *m, struct proc *parent, const struct rec_fork *r, struct pending *pd)
{
	struct py_read_opts o = {
		.frames = m->cfg.stacks,
		.max_depth = MAX_DEPTH,
		.budget_ns = FORK_BUDGET_NS,
	};
	struct thread_list *tl = pd->has_orphaned ? &pd->orphaned.orphaned.threads : NULL;
	struct py_read_opts names = { .frames = false, .budget_ns = FORK_BUDGET_NS };
	struct py_thread *v = NULL;
	struct py_thread *forker;
	int n;

	mpy_check(m, parent);
	if (!parent->py || parent->py_broken)
		goto out;
	/* the kernel copied the threads' frames at the fork: names are read
	 * here, frames only for an orphan whose copy did not come */
	n = py_read_threads(parent->py, parent->pid, NULL, 0, &names, &v, NULL);
	if (n < 0) {
		read_failed(m, parent);
		goto out;
	}
	take_names(parent, v, n);
	for (int i = 0; tl && i < tl->count; i++) {
		struct py_thread *t = find(v, n, tl->t[i].tid);

		if (!t)
			continue; /* gone already: the name learned before stands */
		if (t->name[0])
			memcpy(tl->t[i].name, t->name, EV_NAME_LEN);
		/* what it ran at the fork; else what it runs now, just after */
		if (o.frames)
			tl->t[i].stack = pending_keep_stack(pd, frames_at_fork(m, parent, r, t->ident));
		if (!tl->t[i].stack && o.frames)
			tl->t[i].stack = pending_keep_stack(pd, reread_frames(parent, tl->t[i].tid, &o));
	}
	forker = find(v, n, (int)r->h.tid);
	if (pd->has_fork_in_thread) {
		struct stack *s = m->cfg.stacks ? mpy_forker_stack(m, parent, r) : NULL;

		struct thread *ft = thread_find(parent, (int)r->h.tid);

		if (forker && forker->name[0])
			memcpy(pd->fork_in_thread.fork_in_thread.name, forker->name, EV_NAME_LEN);
		else if (ft)
			memcpy(pd->fork_in_thread.fork_in_thread.name, ft->name, EV_NAME_LEN);
		pd->fork_in_thread.fork_in_thread.stack = pending_keep_stack(pd, s);
	}
	py_threads_free(v, n);
out:
	return; /* the fork's raw frames are forgotten by the caller, after the fork event */
}

struct stack *mpy_thread_stack(struct model *m, struct proc *p, int tid)
{
	struct py_read_opts o = { .frames = true,
				  .max_depth = MAX_DEPTH,
				  .budget_ns = FORK_BUDGET_NS };
	struct py_thread *v = NULL, *t;
	struct stack *s = NULL;
	int n;

	if (!m->cfg.stacks)
		return NULL;
	mpy_check(m, p);
	if (!p->py || p->py_broken)
		return NULL;
	n = py_read_threads(p->py, p->pid, &tid, 1, &o, &v, NULL);
	t = n > 0 ? find(v, n, tid) : NULL;
	if (t) {
		s = t->stack;
		t->stack = NULL;
		if (s && !s->count && !s->omitted) {
			stack_free(s);
			s = NULL;
		}
		if (t->name[0] && thread_find(p, tid))
			memcpy(thread_find(p, tid)->name, t->name, EV_NAME_LEN);
	}
	py_threads_free(v, n);
	return s;
}

bool mpy_lock_verdict(struct model *m, struct proc *p, const struct futex_wait *w,
		      struct deadlock_finding *f)
{
	struct py_read_opts names = { .frames = false, .budget_ns = FORK_BUDGET_NS };
	struct proc *parent = proc_find(m, p->parent_pid);
	struct py_thread *mine = NULL, *theirs = NULL;
	const struct py_thread *holder;
	const struct held_lock *h;
	struct py_lock_wait lw;
	int nmine, ntheirs = 0;

	mpy_check(m, p);
	if (!p->py || p->py_broken || py_lock_of_wait(p->py, p->pid, w->uaddr, &lw) != 1)
		return false;
	f->lock_type = lw.type;
	snprintf(f->lock_object, sizeof(f->lock_object), "%s", lw.object_text);
	/* a PyMutex parked for: the lock is not the futex, so the watch could not
	 * match it with the locks the child was born holding */
	if (lw.lock != w->uaddr && (h = held_list_find(&p->born_held, lw.lock))) {
		f->reason = DL_HELD_AT_FORK;
		f->certain = true;
		f->lock = lw.lock;
		f->holder_tid = h->holder_tid;
		memcpy(f->holder_comm, h->holder_comm, sizeof(f->holder_comm));
		memcpy(f->holder_name, h->holder_name, sizeof(f->holder_name));
		return true;
	}
	if (!lw.owner_ident)
		return true; /* a plain Lock records no owner: what was said stands */
	/* the owner recorded in the child's copy: one of its own threads, or a
	 * thread of the parent that was not copied (then nothing can release it) */
	nmine = py_read_threads(p->py, p->pid, NULL, 0, &names, &mine, NULL);
	if (nmine < 0 || py_thread_by_ident(mine, nmine, lw.owner_ident)) {
		py_threads_free(mine, nmine);
		return true;
	}
	py_threads_free(mine, nmine);
	f->reason = DL_HELD_AT_FORK;
	f->certain = true;
	f->holder_tid = 0;
	f->holder_comm[0] = 0;
	f->holder_name[0] = 0;
	/* who it is: the parent, where it still runs, knows it by the same ident */
	if (parent && parent->py && !parent->py_broken)
		ntheirs = py_read_threads(parent->py, parent->pid, NULL, 0, &names, &theirs, NULL);
	holder = ntheirs > 0 ? py_thread_by_ident(theirs, ntheirs, lw.owner_ident) : NULL;
	if (holder) {
		struct thread *t = thread_find(parent, holder->tid);

		f->holder_tid = holder->tid;
		snprintf(f->holder_name, sizeof(f->holder_name), "%s", holder->name);
		if (t)
			memcpy(f->holder_comm, t->comm, sizeof(f->holder_comm));
	}
	py_threads_free(theirs, ntheirs);
	return true;
}

struct py_held_scan *mpy_held_begin(struct model *m, struct proc *parent, struct proc *child,
				    struct scan_watch *w)
{
	struct py_held_scan *hs;

	if (!m->cfg.py_locks || !parent->py || parent->py_broken)
		return NULL;
	hs = py_held_scan_new(parent->py, child->pid);
	if (!hs)
		return NULL;
	memset(w, 0, sizeof(*w));
	w->words = py_held_scan_words(hs, &w->nwords, &w->before, &w->after);
	w->hit = py_held_scan_hit;
	w->ctx = hs;
	return hs;
}

void mpy_held_cancel(struct py_held_scan *hs)
{
	py_held_scan_free(hs);
}

/* The parent's thread of a recorded owner: by ident (RLock, io), by thread
 * state (the GIL). */
static const struct py_thread *owner_of(const struct py_thread *v, int n,
					const struct py_held_lock *h)
{
	if (h->owner_ident)
		return py_thread_by_ident(v, n, h->owner_ident);
	for (int i = 0; h->owner_tstate && i < n; i++)
		if (v[i].tstate == h->owner_tstate)
			return &v[i];
	return NULL;
}

int mpy_held_end(struct model *m, struct proc *parent, struct proc *child, struct pending *pd,
		 struct py_held_scan *hs, int forker_tid, uint64_t ts)
{
	struct py_read_opts names = { .frames = false, .budget_ns = FORK_BUDGET_NS };
	struct py_thread *threads = NULL;
	struct py_held_lock *v = NULL;
	int n, nthreads = 0, cut = 0, found = 0;

	if (!hs)
		return 0;
	n = py_held_scan_finish(hs, &v, &cut);
	for (int i = 0; i < n && !nthreads; i++) /* only a recorded owner needs the names */
		if (v[i].owner_ident || v[i].owner_tstate)
			nthreads = py_read_threads(parent->py, parent->pid, NULL, 0, &names,
						   &threads, NULL);
	for (int i = 0; i < n; i++) {
		const struct py_thread *t = nthreads > 0 ? owner_of(threads, nthreads, &v[i]) : NULL;
		struct found_lock l = {
			.addr = v[i].lock,
			.type = v[i].type,
			.owner_tid = t ? t->tid : 0,
			.forker_tid = forker_tid,
			.fork_ts = ts,
			.held_ns = -1,
			.by_python = true,
			/* its type, alive and locked: nothing else looks like it */
			.corroborated = m->cfg.scan_locks ? TRI_TRUE : TRI_UNKNOWN,
		};

		/* the GIL is the forking thread's at every os.fork(), and re-made
		 * in the child by the interpreter's own after-fork code */
		if (v[i].type == LOCK_GIL && (!t || t->tid == forker_tid))
			continue;
		snprintf(l.object, sizeof(l.object), "%s", v[i].object_text);
		if (t)
			snprintf(l.holder_name, sizeof(l.holder_name), "%s", t->name);
		found += pending_add_held(m, parent, child, pd, &l, 1);
	}
	py_threads_free(threads, nthreads);
	free(v);
	py_held_scan_free(hs);
	(void)cut;
	return found;
}

/* Is tid of p inside threading's Condition.wait? There it blocks on a waiter
 * lock it made itself, after the fork: no lock it was born with. */
static bool in_condition_wait(struct proc *p, int tid)
{
	struct py_read_opts o = { .frames = true, .max_depth = 1, .budget_ns = FORK_BUDGET_NS };
	struct py_thread *v = NULL, *t;
	bool yes = false;
	int n = py_read_threads(p->py, p->pid, &tid, 1, &o, &v, NULL);

	t = n > 0 ? find(v, n, tid) : NULL;
	if (t && t->stack && t->stack->count) {
		const struct frame *f = &t->stack->frames[0];
		const char *file = f->file ? strrchr(f->file, '/') : NULL;

		yes = f->func && file && strcmp(file, "/threading.py") == 0 &&
		      (strcmp(f->func, "Condition.wait") == 0 || strcmp(f->func, "wait") == 0);
	}
	py_threads_free(v, n);
	return yes;
}

bool mpy_not_a_deadlock(struct model *m, struct proc *p, int tid, const struct futex_wait *w,
			struct deadlock_finding *f)
{
	uint64_t caught;

	mpy_check(m, p);
	if (!p->py || p->py_broken || !in_condition_wait(p, tid))
		return false;
	/* a plain Lock held by nobody known at the fork is not this waiter */
	if (f->reason == DL_HELD_AT_FORK && f->lock_type == LOCK_PY_LOCK && !f->holder_tid &&
	    deadlock_examine(w, f) != 1)
		return true;
	/* the only thread, waiting for a notify: a Python signal handler (any
	 * signal caught but SIGINT, which CPython always catches) may set it */
	return f->reason == DL_NO_WAKER && procfs_caught_signals(p->pid, tid, &caught) == 0 &&
	       (caught & ~(1ULL << (SIGINT - 1)));
}
