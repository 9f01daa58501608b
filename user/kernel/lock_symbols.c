/* The lock functions and their probe offsets per file (see lock_symbols.h). */
#include <stdio.h>
#include <stdlib.h>
#include "elf/elfsym.h"
#include "kernel/lock_symbols.h"
#include "kernel/x86probe.h"

/* the declaration's size (LOCK_FUNCS) and this table's must agree */
const struct lock_func lock_funcs[] = {
	{ "pthread_mutex_lock", LOCK_OP_ACQUIRE, HELD_MUTEX, true, true },
	{ "pthread_mutex_trylock", LOCK_OP_ACQUIRE, HELD_MUTEX, true, true },
	{ "pthread_mutex_timedlock", LOCK_OP_ACQUIRE, HELD_MUTEX, true, false },
	{ "pthread_mutex_clocklock", LOCK_OP_ACQUIRE, HELD_MUTEX, true, false },
	{ "pthread_mutex_unlock", LOCK_OP_MUTEX_UNLOCK, HELD_MUTEX, false, true },
	{ "pthread_mutex_destroy", LOCK_OP_DESTROY, HELD_MUTEX, false, false },
	{ "pthread_rwlock_rdlock", LOCK_OP_ACQUIRE, HELD_RWLOCK_READ, true, false },
	{ "pthread_rwlock_tryrdlock", LOCK_OP_ACQUIRE, HELD_RWLOCK_READ, true, false },
	{ "pthread_rwlock_timedrdlock", LOCK_OP_ACQUIRE, HELD_RWLOCK_READ, true, false },
	{ "pthread_rwlock_clockrdlock", LOCK_OP_ACQUIRE, HELD_RWLOCK_READ, true, false },
	{ "pthread_rwlock_wrlock", LOCK_OP_ACQUIRE, HELD_RWLOCK_WRITE, true, false },
	{ "pthread_rwlock_trywrlock", LOCK_OP_ACQUIRE, HELD_RWLOCK_WRITE, true, false },
	{ "pthread_rwlock_timedwrlock", LOCK_OP_ACQUIRE, HELD_RWLOCK_WRITE, true, false },
	{ "pthread_rwlock_clockwrlock", LOCK_OP_ACQUIRE, HELD_RWLOCK_WRITE, true, false },
	{ "pthread_rwlock_unlock", LOCK_OP_RELEASE, 0, false, false },
	{ "pthread_rwlock_destroy", LOCK_OP_DESTROY, 0, false, false },
	{ "pthread_cond_wait", LOCK_OP_COND_WAIT, HELD_MUTEX, true, false },
	{ "pthread_cond_timedwait", LOCK_OP_COND_WAIT, HELD_MUTEX, true, false },
	{ "pthread_cond_clockwait", LOCK_OP_COND_WAIT, HELD_MUTEX, true, false },
	{ "sem_wait", LOCK_OP_ACQUIRE, HELD_SEMAPHORE, true, false },
	{ "sem_trywait", LOCK_OP_ACQUIRE, HELD_SEMAPHORE, true, false },
	{ "sem_timedwait", LOCK_OP_ACQUIRE, HELD_SEMAPHORE, true, false },
	{ "sem_clockwait", LOCK_OP_ACQUIRE, HELD_SEMAPHORE, true, false },
	{ "sem_post", LOCK_OP_RELEASE, HELD_SEMAPHORE, false, false },
	{ "sem_destroy", LOCK_OP_DESTROY, HELD_SEMAPHORE, false, false },
};

struct lock_symbols {
	bool at_symbol;
	struct lock_file *files;
};

struct lock_symbols *lock_symbols__new(bool at_symbol)
{
	struct lock_symbols *c = calloc(1, sizeof(*c));

	if (c)
		c->at_symbol = at_symbol;
	return c;
}

static struct lock_file *cached(struct lock_symbols *c, dev_t dev, ino_t ino)
{
	for (struct lock_file *lf = c->files; lf; lf = lf->next)
		if (lf->dev == dev && lf->ino == ino)
			return lf;
	return NULL;
}

/* Each function's offsets in the open file (0: not defined there). */
static void resolve(struct lock_symbols *c, struct elfsym_file *ef, struct lock_file *lf)
{
	for (size_t i = 0; i < LOCK_FUNCS; i++) {
		/* a condition wait's mutex is its 2nd argument */
		unsigned keep = lock_funcs[i].op == LOCK_OP_COND_WAIT ? X86PROBE_REG_RSI :
									X86PROBE_REG_RDI;
		struct elfsym s;

		if (elfsym_lookup(ef, lock_funcs[i].name, &s) || s.offset == 0)
			continue;
		lf->start[i] = s.offset;
		lf->off[i] = c->at_symbol ? s.offset : x86probe_offset(ef, &s, keep, NULL);
	}
}

struct lock_file *lock_symbols__get(struct lock_symbols *c, dev_t dev, ino_t ino, const char *path,
				    char *err, size_t errlen)
{
	struct lock_file *lf = cached(c, dev, ino);
	struct elfsym_file *ef;

	if (lf)
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
	lf->dev = dev;
	lf->ino = ino;
	resolve(c, ef, lf);
	elfsym_close(ef);
	lf->next = c->files;
	c->files = lf;
	return lf;
}

bool lock_file__use_starts(struct lock_file *lf)
{
	bool moved = false;

	for (size_t i = 0; i < LOCK_FUNCS; i++) {
		moved |= lf->off[i] != lf->start[i];
		lf->off[i] = lf->start[i];
	}
	return moved;
}

void lock_symbols__free(struct lock_symbols *c)
{
	if (!c)
		return;
	while (c->files) {
		struct lock_file *lf = c->files;

		c->files = lf->next;
		free(lf);
	}
	free(c);
}
