/* The scan's second opinion (corroborate.h). */
#include <stdlib.h>
#include <string.h>
#include "locks/corroborate.h"

/* A file's own data: writable, private, backed by a file (not [heap], not
 * a deleted shared-memory object). */
static bool file_data(const struct procmem_map *m)
{
	return m->writable && !m->shared && m->path[0] == '/';
}

static bool static_map(const struct procmem_maps *maps, int i)
{
	const struct procmem_map *m = &maps->v[i];

	if (file_data(m))
		return true;
	/* .bss past the file's last page: anonymous, right after the file's data */
	return !m->path[0] && m->writable && !m->shared && i > 0 &&
	       maps->v[i - 1].end == m->start && file_data(&maps->v[i - 1]);
}

bool corr_is_static(const struct procmem_maps *maps, uint64_t addr)
{
	const struct procmem_map *m = procmem_map_of(maps, addr);

	return m && static_map(maps, (int)(m - maps->v));
}

bool corr_words_point(const uint64_t *words, size_t n, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < n; i++)
		if (words[i] - lo < hi - lo)
			return true;
	return false;
}

static uint64_t window_lo(const struct scan_lock *l)
{
	return l->addr > CORR_WINDOW ? l->addr - CORR_WINDOW : 0;
}

static uint64_t window_hi(const struct scan_lock *l)
{
	return l->addr + (l->type == LOCK_RWLOCK_WRITE ? GLIBC_RWLOCK_SIZE : GLIBC_MUTEX_SIZE);
}

static bool regs_point(const struct corr_thread *t, const struct scan_lock *l)
{
	return corr_words_point(t->regs, CORR_NREGS, window_lo(l), window_hi(l));
}

/* The holder's stack at the fork, from just below its sp (the red zone). */
static size_t read_stack(const struct procmem *pm, const struct procmem_maps *maps,
			 const struct corr_thread *t, uint64_t *buf)
{
	uint64_t sp = t->regs[CORR_SP] & ~7ULL, from = sp > 128 ? sp - 128 : 0, to;
	const struct procmem_map *m = procmem_map_of(maps, sp);
	ssize_t n;

	if (!m || !m->writable)
		return 0;
	from = from < m->start ? m->start : from;
	to = m->end - from > CORR_STACK_BYTES ? from + CORR_STACK_BYTES : m->end;
	n = procmem_read(pm, from, buf, to - from);
	return n > 0 ? (size_t)n / 8 : 0;
}

static const struct corr_thread *thread_of(const struct corr_thread *v, int n, int tid)
{
	for (int i = 0; i < n; i++)
		if (v[i].tid == tid)
			return &v[i];
	return NULL;
}

/* The holders' registers and stacks. */
static void by_holders(const struct procmem *pm, const struct procmem_maps *maps,
		       const struct corr_thread *threads, int nthreads, struct scan_result *res)
{
	uint64_t *stack = NULL;

	for (int i = 0; i < res->nlocks; i++) {
		struct scan_lock *l = &res->locks[i];
		const struct corr_thread *t;
		size_t n;

		if (l->corroborated || !(t = thread_of(threads, nthreads, l->owner_tid)))
			continue;
		if (regs_point(t, l)) {
			l->corroborated = true;
			continue;
		}
		if (!stack && !(stack = malloc(CORR_STACK_BYTES)))
			return;
		/* (each holder's stack is read per lock it holds: a handful) */
		n = read_stack(pm, maps, t, stack);
		l->corroborated = corr_words_point(stack, n, window_lo(l), window_hi(l));
	}
	free(stack);
}

struct window {
	uint64_t lo, hi;
	struct scan_lock *l;
};

static int cmp_window(const void *a, const void *b)
{
	const struct window *x = a, *y = b;

	return (x->lo > y->lo) - (x->lo < y->lo);
}

/* Marks the locks whose window holds one of the words; windows sorted by lo
 * (they may overlap: each is at most CORR_WINDOW + 56 bytes). */
static void point_into(struct window *w, int nw, const uint64_t *words, size_t n)
{
	uint64_t lo = w[0].lo, hi = 0;

	for (int i = 0; i < nw; i++)
		hi = w[i].hi > hi ? w[i].hi : hi;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = words[i];
		int a = 0, b = nw;

		if (v - lo >= hi - lo)
			continue; /* outside every window: almost every word */
		while (a < b) { /* the first window with lo > v */
			int mid = (a + b) / 2;

			if (w[mid].lo <= v)
				a = mid + 1;
			else
				b = mid;
		}
		for (int k = a - 1; k >= 0 && v - w[k].lo < CORR_WINDOW + GLIBC_RWLOCK_SIZE; k--)
			if (v < w[k].hi)
				w[k].l->corroborated = true;
	}
}

static bool any_left(const struct scan_result *res)
{
	for (int i = 0; i < res->nlocks; i++)
		if (!res->locks[i].corroborated)
			return true;
	return false;
}

/* Does a word of the static data point into a window left? */
static void by_static_pointers(const struct procmem *pm, const struct procmem_maps *maps,
			       struct scan_result *res)
{
	uint64_t budget = CORR_STATIC_MAX, *buf = malloc(1u << 20);
	struct window *w = calloc(res->nlocks, sizeof(*w));
	int nw = 0;

	if (!buf || !w)
		goto done;
	for (int i = 0; i < res->nlocks; i++)
		if (!res->locks[i].corroborated)
			w[nw++] = (struct window){ window_lo(&res->locks[i]),
						   window_hi(&res->locks[i]), &res->locks[i] };
	qsort(w, nw, sizeof(*w), cmp_window);
	for (int i = 0; i < maps->n && budget; i++) {
		const struct procmem_map *m = &maps->v[i];

		for (uint64_t pos = m->start; static_map(maps, i) && pos < m->end && budget;) {
			uint64_t len = m->end - pos < (1u << 20) ? m->end - pos : (1u << 20);
			ssize_t n = procmem_read(pm, pos, buf, len < budget ? len : budget);

			if (n <= 0)
				break;
			point_into(w, nw, buf, (size_t)n / 8);
			pos += (uint64_t)n;
			budget -= (uint64_t)n;
		}
	}
done:
	free(w);
	free(buf);
}

void corroborate_locks(const struct procmem *pm, const struct procmem_maps *maps,
		       const struct corr_thread *threads, int nthreads, struct scan_result *res)
{
	for (int i = 0; i < res->nlocks; i++)
		res->locks[i].corroborated = corr_is_static(maps, res->locks[i].addr);
	if (any_left(res))
		by_holders(pm, maps, threads, nthreads, res);
	if (any_left(res))
		by_static_pointers(pm, maps, res);
}
