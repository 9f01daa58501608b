/*
 * Python locks held at a fork (python.h, py_held_scan_*). The fork-time scan
 * hands over every word of the child's memory equal to one of the lock
 * types (an object's ob_type); each is checked here as an object of that
 * type that is alive (a sane reference count: pymalloc writes a free list
 * pointer over a freed object's first word) and locked (the flag or the
 * owner the object records, and its sem_t at value 0). The offsets are the
 * same from 3.6 through 3.13 (PYTHON.md, PYTHON-LOCKS.md). 3.13.1+ keep a
 * threading.Lock in a one-byte PyMutex right after the object's head (bit 0:
 * locked), and 3.14 an RLock in a _PyRecursiveMutex (the PyMutex, then the
 * owner's thread ident and the level, where the old RLock kept owner and
 * count): no sem_t, and nothing records a Lock's holder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "python/py_priv.h"

/* Offsets inside the objects (x86_64). */
#define OBJ_BYTES 128 /* every lock field (py_priv.h) lies in the first 128 bytes */
#define WEAKREF_OBJECT 16
#define SET_MASK 32
#define SET_TABLE 40
#define SET_MAX_MASK 65535
#define MAX_CANDIDATES 65536 /* locked-looking objects kept from one pass */
#define MAX_RESET 4096	     /* locks the runtime resets, looked up per fork */

enum kind { K_LOCK, K_RLOCK, K_BUF_W, K_BUF_R, K_BUF_RANDOM, K_BUF_RW };

static const struct {
	const char *module, *attr, *tp_name;
	enum lock_type type;
} kinds[PY_LOCK_KINDS] = {
	[K_LOCK] = { "_thread", "LockType", "_thread.lock", LOCK_PY_LOCK },
	[K_RLOCK] = { "_thread", "RLock", "_thread.RLock", LOCK_PY_RLOCK },
	[K_BUF_W] = { "_io", "BufferedWriter", "_io.BufferedWriter", LOCK_PY_IO },
	[K_BUF_R] = { "_io", "BufferedReader", "_io.BufferedReader", LOCK_PY_IO },
	[K_BUF_RANDOM] = { "_io", "BufferedRandom", "_io.BufferedRandom", LOCK_PY_IO },
	[K_BUF_RW] = { "_io", "BufferedRWPair", "_io.BufferedRWPair", LOCK_PY_IO },
};

struct candidate {
	enum kind kind;
	uint64_t object, sem, owner; /* sem: the PyMutex itself for a PyMutex lock */
	bool pymutex;
};

struct py_held_scan {
	struct py_process *p; /* &own */
	struct py_process own;
	int mem_pid;
	struct py_procmem pmem;
	struct py_mem m;
	struct py_ctx c;
	uint64_t words[PY_LOCK_KINDS];
	enum kind word_kind[PY_LOCK_KINDS];
	int nwords;
	struct candidate *cand;
	int ncand, cap_cand, cand_cut;
	uint64_t reset[MAX_RESET];
	int nreset;
	bool completed; /* py_held_scan_complete ran: its result is kept here */
	struct py_held_lock *out;
	int nout, cut;
};

static uint64_t ld64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The main interpreter's module NAME's dict: 0, or -1. */
static int module_dict(struct py_ctx *c, const char *name, uint64_t *md)
{
	uint64_t interp, modules, mod;

	if (py_mem_ptr(c->m, c->p->s.interp_root, &interp) ||
	    py_mem_ptr(c->m, interp + c->l->interp_modules, &modules) ||
	    py_dict_get(c, modules, name, &mod) != 0 || !py_is_type(c, mod, c->p->s.module_type))
		return -1;
	return py_mem_ptr(c->m, mod + c->l->md_dict, md);
}

/* The lock types, from the modules that define them (once per interpreter). */
static void read_types(struct py_ctx *c)
{
	struct py_process *p = c->p;

	for (int k = 0; k < PY_LOCK_KINDS; k++) {
		uint64_t md, type;

		if (p->lock_types[k])
			continue;
		if (module_dict(c, kinds[k].module, &md) == 0 &&
		    py_dict_get(c, md, kinds[k].attr, &type) == 0 &&
		    py_type_named(c, type, kinds[k].tp_name))
			p->lock_types[k] = type;
	}
	/* _thread and _io are imported at startup: once read, what is missing stays so */
	p->lock_types_read = p->lock_types[K_LOCK] && p->lock_types[K_RLOCK];
}

bool py_lock_is_pymutex(const struct py_process *p, bool rlock)
{
	int minor = p->l.minor, patch = 0;

	if (minor >= 14)
		return true;
	return !rlock && minor == 13 && sscanf(p->version, "3.13.%d", &patch) == 1 && patch >= 1;
}

struct py_held_scan *py_held_scan_new(struct py_process *p, int mem_pid)
{
	struct py_held_scan *s;

	if (!p || !p->s.type_type || !p->s.module_type || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->own = *p;
	s->p = &s->own;
	s->mem_pid = mem_pid;
	if (py_procmem_open(&s->pmem, mem_pid, &s->m)) {
		free(s);
		return NULL;
	}
	/* most forks have nothing to look at closely (a storm's children are
	 * gone first): the cache is made only for the dict walks (cached_reads) */
	free(s->pmem.lines);
	s->pmem.lines = NULL;
	s->c = (struct py_ctx){ .p = p, .l = &p->l, .m = &s->m };
	if (!p->lock_types_read)
		read_types(&s->c); /* into p: types do not move, later forks reuse them */
	s->own = *p;
	s->c.p = s->p;
	s->c.l = &s->p->l;
	for (int k = 0; k < PY_LOCK_KINDS; k++) {
		if (!p->lock_types[k])
			continue;
		s->word_kind[s->nwords] = (enum kind)k;
		s->words[s->nwords++] = p->lock_types[k];
	}
	if (!s->nwords) {
		py_held_scan_free(s);
		return NULL;
	}
	return s;
}

const uint64_t *py_held_scan_words(const struct py_held_scan *s, int *n, size_t *before,
				   size_t *after)
{
	*n = s->nwords;
	*before = (size_t)s->p->l.ob_type;
	*after = OBJ_BYTES - (size_t)s->p->l.ob_type;
	return s->words;
}

bool py_lock_object_held(const struct py_process *p, enum lock_type type, uint64_t obj,
			 const unsigned char *o, struct py_lock_seen *out)
{
	uint64_t refcnt = ld64(o), sem, owner = 0;
	bool rlock = type == LOCK_PY_RLOCK;

	memset(out, 0, sizeof(*out));
	/* a live object's count; a freed one holds a free-list pointer there */
	if (refcnt == 0 || refcnt >= (1ULL << 32))
		return false;
	if (type != LOCK_PY_IO && py_lock_is_pymutex(p, rlock)) {
		uint64_t level = ld64(o + PY_RLOCK_COUNT);

		if (!(o[PY_LOCK_SEM] & 1))
			return false;
		if (rlock && (!(owner = ld64(o + PY_RLOCK_OWNER)) || !level || level >= (1ULL << 31)))
			return false;
		out->lock = obj + PY_LOCK_SEM;
		out->owner = owner;
		out->pymutex = true;
		return true;
	}
	switch (type) {
	case LOCK_PY_LOCK:
		sem = ld64(o + PY_LOCK_SEM);
		if (o[PY_LOCK_LOCKED] != 1)
			return false;
		break;
	case LOCK_PY_RLOCK: {
		uint64_t count = ld64(o + PY_RLOCK_COUNT);

		sem = ld64(o + PY_LOCK_SEM);
		owner = ld64(o + PY_RLOCK_OWNER);
		if (!owner || !count || count >= (1ULL << 31))
			return false;
		break;
	}
	default:
		sem = ld64(o + PY_BUFFERED_LOCK);
		owner = ld64(o + PY_BUFFERED_OWNER);
		if (!owner)
			return false;
	}
	if (!py_ptr_ok(sem))
		return false;
	out->lock = sem;
	out->owner = owner;
	return true;
}

/* Is the object in o (OBJ_BYTES from its start) alive and locked? */
static bool locked_object(const struct py_process *p, enum kind k, uint64_t obj,
			  const unsigned char *o, struct candidate *out)
{
	struct py_lock_seen seen;

	if (!py_lock_object_held(p, kinds[k].type, obj, o, &seen))
		return false;
	out->kind = k;
	out->sem = seen.lock;
	out->owner = seen.owner;
	out->pymutex = seen.pymutex;
	return true;
}

void py_held_scan_hit(void *ctx, uint64_t addr, const unsigned char *obj)
{
	struct py_held_scan *s = ctx;
	unsigned char copy[OBJ_BYTES];
	uint64_t start = addr - (uint64_t)s->p->l.ob_type, value;
	struct candidate cand;
	int k;

	if (!obj) { /* at a read's edge: the object's bytes from memory */
		if (py_mem_read(&s->m, start, copy, sizeof(copy)))
			return;
		obj = copy;
	}
	value = ld64(obj + s->p->l.ob_type);
	for (k = 0; k < s->nwords && s->words[k] != value; k++)
		;
	if (k == s->nwords || !locked_object(s->p, s->word_kind[k], start, obj, &cand))
		return;
	if (s->ncand >= MAX_CANDIDATES) {
		s->cand_cut++;
		return;
	}
	if (s->ncand == s->cap_cand) {
		int cap = s->cap_cand ? s->cap_cand * 2 : 64;
		struct candidate *v = realloc(s->cand, cap * sizeof(*v));

		if (!v) {
			s->cand_cut++;
			return;
		}
		s->cand = v;
		s->cap_cand = cap;
	}
	cand.object = start;
	s->cand[s->ncand++] = cand;
}

/* ---- what the runtime resets in the child ---- */

static void reset_add(struct py_held_scan *s, uint64_t lock)
{
	if (py_ptr_ok(lock) && s->nreset < MAX_RESET)
		s->reset[s->nreset++] = lock;
}

static bool is_reset(const struct py_held_scan *s, uint64_t object)
{
	for (int i = 0; i < s->nreset; i++)
		if (s->reset[i] == object)
			return true;
	return false;
}

/* threading._active and _limbo: each thread's sentinel (_tstate_lock, held
 * by the thread for its life; 3.13 has none), which threading's at-fork
 * hook marks done in the child. */
static int thread_sentinel(struct py_ctx *c, uint64_t key, uint64_t thread, void *arg)
{
	uint64_t lock;

	(void)c;
	(void)key;
	if (py_attr(c, thread, "_tstate_lock", &lock) == 0)
		reset_add(arg, lock);
	return 0;
}

static void module_lock(struct py_held_scan *s, uint64_t md, const char *name)
{
	uint64_t lock;

	if (py_dict_get(&s->c, md, name, &lock) == 0)
		reset_add(s, lock);
}

/* The handlers in logging's at-fork weak set (3.7+): their locks are re-made
 * in the child. The set's entries are weak references to the handlers. */
static void logging_handlers(struct py_held_scan *s, uint64_t md)
{
	struct py_ctx *c = &s->c;
	uint64_t weakset, data, mask, table;

	if (py_dict_get(c, md, "_at_fork_reinit_lock_weakset", &weakset) ||
	    py_attr(c, weakset, "data", &data) || py_mem_u64(c->m, data + SET_MASK, &mask) ||
	    mask > SET_MAX_MASK || py_mem_ptr(c->m, data + SET_TABLE, &table))
		return;
	for (uint64_t i = 0; i <= mask; i++) {
		uint64_t ref, handler, lock;

		if (py_mem_u64(c->m, table + i * 16, &ref) || !py_ptr_ok(ref) ||
		    py_mem_ptr(c->m, ref + WEAKREF_OBJECT, &handler) ||
		    py_attr(c, handler, "lock", &lock))
			continue;
		reset_add(s, lock);
	}
}

/* What the interpreter's at-fork hooks re-make in the child. */
static void read_resets(struct py_held_scan *s)
{
	int minor = s->p->l.minor;
	uint64_t md;

	if (module_dict(&s->c, "threading", &md) == 0) {
		uint64_t d;

		if (py_dict_get(&s->c, md, "_active", &d) == 0)
			py_dict_each(&s->c, d, thread_sentinel, s);
		if (py_dict_get(&s->c, md, "_limbo", &d) == 0)
			py_dict_each(&s->c, d, thread_sentinel, s);
		module_lock(s, md, "_active_limbo_lock");
		module_lock(s, md, "_shutdown_locks_lock");
	}
	if (minor >= 7 && module_dict(&s->c, "logging", &md) == 0)
		logging_handlers(s, md);
	if (minor >= 9 && module_dict(&s->c, "concurrent.futures.thread", &md) == 0)
		module_lock(s, md, "_global_shutdown_lock");
}

/* ---- the verdicts ---- */

/* glibc's sem_t: the value (low 32 bits of the first word) is 0 while the
 * lock is held; private is 0 or 128. */
static bool sem_taken(struct py_ctx *c, uint64_t sem)
{
	uint64_t data, priv;

	return py_mem_u64(c->m, sem, &data) == 0 && (uint32_t)data == 0 &&
	       py_mem_u64(c->m, sem + 8, &priv) == 0 && ((uint32_t)priv == 0 || (uint32_t)priv == 128);
}

static int add_held(struct py_held_lock **v, int *n, int *cap, const struct py_held_lock *h)
{
	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 16;
		struct py_held_lock *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = *h;
	return 0;
}

/* The GIL's state where its place is known (3.11-3.13): held, and by whom. */
static int gil_held(struct py_ctx *c, struct py_held_lock *h)
{
	const struct py_process *p = c->p;
	uint64_t interp, gil, holder, locked;

	if (py_mem_ptr(c->m, p->s.interp_root, &interp))
		return 0;
	switch (p->l.minor) {
	case 11: gil = p->s.runtime ? p->s.runtime + 0x168 : 0; break;
	case 12:
		if (py_mem_ptr(c->m, interp + 0x180, &gil))
			return 0;
		break;
	case 13: gil = interp + 7752; break;
	default: return 0;
	}
	if (!gil || py_mem_u64(c->m, gil + 8, &holder) || py_mem_u64(c->m, gil + 16, &locked) ||
	    (uint32_t)locked != 1)
		return 0;
	memset(h, 0, sizeof(*h));
	h->type = LOCK_GIL;
	h->lock = gil + 16;
	h->owner_tstate = py_ptr_ok(holder) ? holder : 0;
	snprintf(h->object_text, sizeof(h->object_text), "the GIL");
	return 1;
}

static int finish(struct py_held_scan *s, struct py_held_lock **out, int *cut)
{
	struct py_held_lock *v = NULL, gil;
	int n = 0, cap = 0;

	*out = NULL;
	*cut = s->cand_cut;
	if (s->ncand) {
		s->pmem.lines = calloc(PY_PROCMEM_LINES, sizeof(*s->pmem.lines));
		read_resets(s);
	}
	for (int i = 0; i < s->ncand; i++) {
		const struct candidate *k = &s->cand[i];
		struct py_held_lock h = { .type = kinds[k->kind].type,
					  .lock = k->sem,
					  .object = k->object };

		if (is_reset(s, k->object) || (!k->pymutex && !sem_taken(&s->c, k->sem)))
			continue;
		if (n >= PY_HELD_MAX) {
			(*cut)++;
			continue;
		}
		if (k->kind != K_LOCK)
			h.owner_ident = k->owner;
		if (h.type == LOCK_PY_IO)
			py_io_text(&s->c, k->object, kinds[k->kind].tp_name, h.object_text,
				   sizeof(h.object_text));
		else
			snprintf(h.object_text, sizeof(h.object_text), "%s",
				 k->kind == K_LOCK ? "threading.Lock" : "threading.RLock");
		if (add_held(&v, &n, &cap, &h))
			break;
	}
	if (gil_held(&s->c, &gil))
		add_held(&v, &n, &cap, &gil);
	*out = v;
	return n;
}

void py_held_scan_complete(void *ctx)
{
	struct py_held_scan *s = ctx;

	s->nout = finish(s, &s->out, &s->cut);
	s->completed = true;
}

int py_held_scan_finish(struct py_held_scan *s, struct py_held_lock **out, int *cut)
{
	int n;

	if (!s->completed)
		return finish(s, out, cut);
	*out = s->out;
	*cut = s->cut;
	n = s->nout;
	s->out = NULL;
	s->nout = 0;
	return n;
}

void py_held_scan_free(struct py_held_scan *s)
{
	if (!s)
		return;
	free(s->out);
	py_procmem_close(&s->pmem);
	free(s->cand);
	free(s);
}
