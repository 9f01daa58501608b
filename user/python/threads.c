/*
 * Thread states to tids and names (py_priv.h, python.h): the interpreters'
 * thread-state lists give ident and tid; threading._active maps ident to
 * the Thread, whose _name is the name. Only idents that have a thread state
 * and tids that exist in the process are kept (after a fork the two lists
 * disagree for a moment, PYTHON-THREADS.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc/procfs.h"
#include "python/py_priv.h"
#include "util/clock.h"

#define MAX_INTERPS 16
#define MAX_TSTATES 4096
/* glibc 2.36 x86_64 struct pthread: header.self, and the kernel tid */
#define PTHREAD_SELF 16
#define PTHREAD_TID 720

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

bool py_tids_has(const struct py_tids *t, int tid)
{
	return t->n && bsearch(&tid, t->v, (size_t)t->n, sizeof(int), cmp_int) != NULL;
}

int py_tids_read(struct py_tids *t, int pid)
{
	int *tids, n = procfs_tids(pid, &tids);
	int *v;

	if (n < 0)
		return -1;
	v = realloc(t->v, sizeof(int) * (size_t)(t->n + n + 1));
	if (!v) {
		free(tids);
		return -1;
	}
	memcpy(v + t->n, tids, sizeof(int) * (size_t)n);
	t->v = v;
	t->n += n;
	free(tids);
	qsort(t->v, (size_t)t->n, sizeof(int), cmp_int);
	return 0;
}

void py_tids_free(struct py_tids *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* A set of addresses, to stop a list that loops. */
#define SEEN_SLOTS 8192
struct seen {
	uint64_t slot[SEEN_SLOTS];
};

/* true when addr was already there */
static bool seen_add(struct seen *s, uint64_t addr)
{
	uint64_t h = (addr >> 3) * 0x9e3779b97f4a7c15ull;

	for (unsigned i = 0; i < SEEN_SLOTS; i++) {
		uint64_t *e = &s->slot[(h + i) % SEEN_SLOTS];

		if (*e == addr)
			return true;
		if (!*e) {
			*e = addr;
			return false;
		}
	}
	return true;
}

struct tstate {
	uint64_t addr, interp, ident;
	int tid;
	char name[64];
};

/* The kernel tid of a thread state: its own field (3.11+), or glibc's. */
static int tstate_tid(struct py_ctx *c, uint64_t ts, uint64_t ident)
{
	uint64_t v, self;
	int32_t tid;

	if (c->l->ts_native_id >= 0) {
		if (py_mem_u64(c->m, ts + c->l->ts_native_id, &v) || v > INT32_MAX)
			return 0;
		return (int)v;
	}
	if (!py_ptr_ok(ident) || py_mem_u64(c->m, ident + PTHREAD_SELF, &self) || self != ident ||
	    py_mem_read(c->m, ident + PTHREAD_TID, &tid, sizeof(tid)))
		return 0;
	return tid > 0 ? tid : 0;
}

/* Every thread state of every interpreter: the count, or -1 when a list is
 * corrupt (a loop, a foreign interpreter pointer, too long). */
static int walk(struct py_ctx *c, struct tstate **out)
{
	const struct py_layout *l = c->l;
	struct seen *seen = calloc(1, sizeof(*seen));
	struct tstate *v = NULL;
	uint64_t interp;
	int n = 0, cap = 0, ninterp = 0;

	*out = NULL;
	if (!seen || py_mem_ptr(c->m, c->p->s.interp_root, &interp))
		goto bad;
	while (interp) {
		uint64_t ts;

		if (!py_ptr_ok(interp) || ++ninterp > MAX_INTERPS || seen_add(seen, interp) ||
		    py_mem_u64(c->m, interp + l->interp_tstate_head, &ts))
			goto bad;
		while (ts) {
			uint64_t back, ident;

			if (!py_ptr_ok(ts) || n >= MAX_TSTATES || seen_add(seen, ts) ||
			    py_mem_u64(c->m, ts + l->ts_interp, &back) || back != interp ||
			    py_mem_u64(c->m, ts + l->ts_thread_id, &ident))
				goto bad;
			if (n == cap) {
				struct tstate *nv;

				cap = cap ? cap * 2 : 32;
				nv = realloc(v, sizeof(*v) * (size_t)cap);
				if (!nv)
					goto bad;
				v = nv;
			}
			v[n] = (struct tstate){ .addr = ts, .interp = interp, .ident = ident };
			v[n].tid = tstate_tid(c, ts, ident);
			n++;
			if (py_mem_u64(c->m, ts + l->ts_next, &ts))
				goto bad;
		}
		if (py_mem_u64(c->m, interp + l->interp_next, &interp))
			goto bad;
	}
	free(seen);
	*out = v;
	return n;
bad:
	free(seen);
	free(v);
	return -1;
}

/* threading._active of interp: 0, 1 when threading is not imported. */
static int find_active(struct py_ctx *c, uint64_t interp, uint64_t *active)
{
	struct py_process *p = c->p;
	uint64_t modules, threading, md;
	int rc;

	if (p->active && p->active_interp == interp && py_is_type(c, p->active, p->s.dict_type)) {
		*active = p->active;
		return 0;
	}
	if (py_mem_ptr(c->m, interp + c->l->interp_modules, &modules))
		return -1;
	rc = py_dict_get(c, modules, "threading", &threading);
	if (rc)
		return rc;
	if (!py_is_type(c, threading, p->s.module_type) ||
	    py_mem_ptr(c->m, threading + c->l->md_dict, &md))
		return -1;
	rc = py_dict_get(c, md, "_active", active);
	if (rc)
		return rc;
	if (!py_is_type(c, *active, p->s.dict_type))
		return -1;
	p->active = *active;
	p->active_interp = interp;
	return 0;
}

struct name_pass {
	struct tstate *v;
	int n;
	uint64_t interp;
};

static int name_one(struct py_ctx *c, uint64_t key, uint64_t thread, void *arg)
{
	struct name_pass *np = arg;
	uint64_t ident, name;

	if (py_long(c, key, &ident))
		return 0;
	for (int i = 0; i < np->n; i++) {
		struct tstate *t = &np->v[i];

		if (t->interp != np->interp || t->ident != ident)
			continue;
		if (py_attr(c, thread, "_name", &name) == 0)
			py_str(c, name, t->name, sizeof(t->name));
		break;
	}
	return 0;
}

/* Names the thread states of each interpreter from its threading._active. */
static int name_all(struct py_ctx *c, struct tstate *v, int n)
{
	for (int i = 0; i < n; i++) {
		struct name_pass np = { v, n, v[i].interp };
		uint64_t active;
		int rc;

		if (i > 0 && v[i - 1].interp == v[i].interp)
			continue;
		rc = find_active(c, np.interp, &active);
		if (rc < 0)
			return -1;
		if (rc == 0 && py_dict_each(c, active, name_one, &np) < 0)
			return -1;
	}
	return 0;
}

static bool wanted(int tid, const int *tids, int ntids)
{
	if (ntids <= 0)
		return true;
	for (int i = 0; i < ntids; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

void py_threads_free(struct py_thread *v, int n)
{
	if (!v)
		return;
	for (int i = 0; i < n; i++)
		stack_free(v[i].stack);
	free(v);
}

int py_read_image(struct py_process *p, struct py_mem *m, const struct py_tids *valid,
		  const int *tids, int ntids, const struct py_read_opts *o, struct py_thread **out,
		  struct py_read_stats *st)
{
	struct py_ctx c = { p, &p->l, m };
	struct py_code_cache *cc = NULL;
	uint64_t start = mono_ns();
	uint64_t deadline = o && o->budget_ns ? start + o->budget_ns : 0;
	struct py_thread *res = NULL;
	struct tstate *v;
	int n, k = 0;

	*out = NULL;
	n = walk(&c, &v);
	if (n < 0)
		goto bad;
	st->threads = n;
	if (name_all(&c, v, n))
		goto bad;
	if (n) {
		res = calloc((size_t)n, sizeof(*res));
		if (!res)
			goto bad;
	}
	if (o && o->frames)
		cc = py_code_cache_new();
	for (int i = 0; i < n; i++) {
		struct py_thread *t = &res[k];
		bool depth_cut = false, time_cut = false;

		if (!v[i].tid || !py_tids_has(valid, v[i].tid)) {
			st->invalid++;
			continue;
		}
		if (!wanted(v[i].tid, tids, ntids))
			continue;
		t->tid = v[i].tid;
		t->ident = v[i].ident;
		t->tstate = v[i].addr;
		memcpy(t->name, v[i].name, sizeof(t->name));
		k++;
		if (!cc)
			continue;
		t->stack =
			py_frames(&c, cc, v[i].addr, o->max_depth, deadline, &depth_cut, &time_cut);
		st->depth_cut += depth_cut;
		st->time_cut += time_cut;
	}
	py_code_cache_free(cc);
	free(v);
	if (!k) {
		free(res);
		res = NULL;
	}
	*out = res;
	st->ns = mono_ns() - start;
	return k;
bad:
	free(v);
	free(res);
	st->ns = mono_ns() - start;
	return -1;
}

int py_read_threads(struct py_process *p, int mem_pid, const int *tids, int ntids,
		    const struct py_read_opts *o, struct py_thread **out, struct py_read_stats *st)
{
	struct py_read_stats dummy;
	struct py_tids valid = { 0 };
	struct py_procmem pm;
	struct py_mem m;
	int n;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	*out = NULL;
	if (!p || py_procmem_open(&pm, mem_pid, &m))
		return -1;
	/* a child's image names its parent's threads until the child cleans up */
	py_tids_read(&valid, mem_pid);
	if (mem_pid != p->pid)
		py_tids_read(&valid, p->pid);
	n = py_read_image(p, &m, &valid, tids, ntids, o, out, st);
	py_tids_free(&valid);
	py_procmem_close(&pm);
	return n;
}
