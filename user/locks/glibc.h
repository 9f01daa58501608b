/*
 * glibc 2.36 x86_64 lock sizes: the one home of these facts. A futex wait
 * on an address inside one of these is a wait on that lock.
 */
#ifndef FT_GLIBC_H
#define FT_GLIBC_H

#include <stdint.h>
#include "out/event.h"

#define GLIBC_MUTEX_SIZE 40  /* sizeof(pthread_mutex_t) */
#define GLIBC_RWLOCK_SIZE 56 /* sizeof(pthread_rwlock_t) */
#define GLIBC_SEM_SIZE 32    /* sizeof(sem_t) */

static inline uint64_t glibc_lock_size(enum lock_type type)
{
	switch (type) {
	case LOCK_MUTEX: return GLIBC_MUTEX_SIZE;
	case LOCK_SEMAPHORE:
	case LOCK_PY_LOCK:
	case LOCK_PY_RLOCK:
	case LOCK_PY_IO: return GLIBC_SEM_SIZE; /* a Python lock's futex is its sem_t */
	default: return GLIBC_RWLOCK_SIZE;
	}
}

#endif
