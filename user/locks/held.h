/*
 * Locks a process was born holding: held at its fork (or an ancestor's) by
 * a thread that was not copied. A plain list the model keeps per process;
 * the lookup answers "is this futex wait on one of them?".
 */
#ifndef FT_HELD_H
#define FT_HELD_H

#include <stdint.h>
#include "out/event.h"
#include "out/stack.h"

struct held_lock {
	uint64_t addr;
	enum lock_type type;
	int holder_tid;
	char holder_comm[EV_COMM_LEN]; /* untrusted */
	char holder_name[EV_NAME_LEN]; /* untrusted; "" not known */
	char object[EV_OBJECT_LEN];    /* what a Python lock belongs to; "" */
	struct stack *holder_stack;    /* the holder's at the fork, owned; NULL none */
};

struct held_list {
	struct held_lock *v;
	int n;
};

/* Appends a copy of *l (its holder_stack copied too). 0, or -1 when out of
 * memory (the list is unchanged). */
int held_list_add(struct held_list *hl, const struct held_lock *l);
/* A copy of src (for a child inheriting its parent's list). 0 or -1. */
int held_list_copy(struct held_list *dst, const struct held_list *src);
/* The lock whose bytes contain the futex word at uaddr, or NULL. */
const struct held_lock *held_list_find(const struct held_list *hl, uint64_t uaddr);
/* Forgets the lock at addr (none: nothing happens). */
void held_list_remove(struct held_list *hl, uint64_t addr);
void held_list_free(struct held_list *hl);

#endif
