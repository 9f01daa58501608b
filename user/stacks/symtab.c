/* Sorted function symbols (see symtab.h). */
#include <stdlib.h>
#include <string.h>
#include "stacks/symtab.h"

#define NAME_MAX_LEN 1023
/* a symbol of unknown size covers at most this much: past it, an address
 * is more likely in code no symbol names */
#define UNSIZED_SPAN (64 << 10)

int symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name)
{
	size_t len = strnlen(name, NAME_MAX_LEN);

	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 256;
		struct symtab_entry *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	if (t->nlen + len + 1 > t->ncap || t->nlen + len + 1 > UINT32_MAX) {
		size_t cap = t->ncap ? t->ncap * 2 : 4096;
		char *names;

		while (cap < t->nlen + len + 1)
			cap *= 2;
		if (cap > UINT32_MAX || !(names = realloc(t->names, cap)))
			return -1;
		t->names = names;
		t->ncap = cap;
	}
	memcpy(t->names + t->nlen, name, len);
	t->names[t->nlen + len] = 0;
	t->v[t->n++] =
		(struct symtab_entry){ .addr = addr, .size = size, .name = (uint32_t)t->nlen };
	t->nlen += len + 1;
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct symtab_entry *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* a sized symbol first: it is the one kept */
	if (!x->size != !y->size)
		return x->size ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

void symtab_finish(struct symtab *t)
{
	int w = 0;

	if (!t->n)
		return;
	qsort(t->v, t->n, sizeof(t->v[0]), by_addr);
	for (int i = 0; i < t->n; i++)
		if (!w || t->v[w - 1].addr != t->v[i].addr)
			t->v[w++] = t->v[i];
	t->n = w;
}

const char *symtab_find(const struct symtab *t, uint64_t addr, uint64_t *off)
{
	int lo = 0, hi = t->n;
	const struct symtab_entry *e;
	uint64_t span;

	/* the last entry at or below addr */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (t->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	e = &t->v[lo - 1];
	span = e->size;
	if (!span) {
		span = lo < t->n ? t->v[lo].addr - e->addr : UNSIZED_SPAN;
		if (span > UNSIZED_SPAN)
			span = UNSIZED_SPAN;
	}
	if (addr - e->addr >= span)
		return NULL;
	*off = addr - e->addr;
	return t->names + e->name;
}

void symtab_free(struct symtab *t)
{
	free(t->v);
	free(t->names);
	memset(t, 0, sizeof(*t));
}
