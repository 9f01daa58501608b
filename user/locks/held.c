/* Locks a process was born holding (see held.h). */
#include <stdlib.h>
#include <string.h>
#include "locks/glibc.h"
#include "locks/held.h"

int held_list_add(struct held_list *hl, const struct held_lock *l)
{
	struct held_lock *v = realloc(hl->v, (hl->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	hl->v = v;
	hl->v[hl->n] = *l;
	hl->v[hl->n++].holder_stack = stack_dup(l->holder_stack);
	return 0;
}

int held_list_copy(struct held_list *dst, const struct held_list *src)
{
	dst->v = NULL;
	dst->n = 0;
	for (int i = 0; i < src->n; i++)
		if (held_list_add(dst, &src->v[i]))
			return -1;
	return 0;
}

const struct held_lock *held_list_find(const struct held_list *hl, uint64_t uaddr)
{
	for (int i = 0; i < hl->n; i++) {
		uint64_t size = glibc_lock_size(hl->v[i].type);

		if (uaddr >= hl->v[i].addr && uaddr < hl->v[i].addr + size)
			return &hl->v[i];
	}
	return NULL;
}

void held_list_remove(struct held_list *hl, uint64_t addr)
{
	for (int i = 0; i < hl->n; i++) {
		if (hl->v[i].addr != addr)
			continue;
		stack_free(hl->v[i].holder_stack);
		memmove(&hl->v[i], &hl->v[i + 1], (hl->n - i - 1) * sizeof(*hl->v));
		hl->n--;
		return;
	}
}

void held_list_free(struct held_list *hl)
{
	for (int i = 0; i < hl->n; i++)
		stack_free(hl->v[i].holder_stack);
	free(hl->v);
	hl->v = NULL;
	hl->n = 0;
}
