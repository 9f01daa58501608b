/*
 * Python lock objects as the fork-time scan judges them, built byte by byte
 * from CPython's definitions of each version: 3.6-3.13.0's lockobject and
 * rlockobject (a PyThread_type_lock, i.e. a malloc'd sem_t), 3.13.1+'s
 * lockobject with a one-byte PyMutex, 3.14's rlockobject with a
 * _PyRecursiveMutex { PyMutex mutex; thread; level }, the io object's lock
 * and owner, and Python/parking_lot.c's wait_entry { park_arg; addr; sema }
 * where a PyMutex waiter parks. No 3.13.1+ build exists on these hosts.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "python/layout.h"
#include "python/py_priv.h"
#include "unit.h"

#define OBJ 0x7f0000001000ull
#define SEM 0x55aa00002000ull

static void set64(unsigned char *o, size_t at, uint64_t v)
{
	memcpy(o + at, &v, 8);
}

static void process(struct py_process *p, int minor, const char *version)
{
	memset(p, 0, sizeof(*p));
	p->l = *py_layout_row(minor);
	snprintf(p->version, sizeof(p->version), "%s", version);
}

/* PyObject_HEAD: a live count and a type. */
static void head(unsigned char *o, uint64_t refcnt)
{
	memset(o, 0, 128);
	set64(o, 0, refcnt);
	set64(o, 8, 0x55aa00000100ull);
}

TEST(python_lock_pymutex_from_3131)
{
	struct py_process p;

	process(&p, 13, "3.13.0");
	CHECK(!py_lock_is_pymutex(&p, false) && !py_lock_is_pymutex(&p, true));
	process(&p, 13, "3.13.1");
	CHECK(py_lock_is_pymutex(&p, false) && !py_lock_is_pymutex(&p, true));
	process(&p, 14, "3.14.0");
	CHECK(py_lock_is_pymutex(&p, false) && py_lock_is_pymutex(&p, true));
	process(&p, 11, "3.11.2");
	CHECK(!py_lock_is_pymutex(&p, false));
}

TEST(python_lock_sem_t_layout)
{
	struct py_lock_seen s;
	struct py_process p;
	unsigned char o[128];

	process(&p, 11, "3.11.2");
	/* lockobject: head, lock_lock (sem_t *) +16, in_weakreflist +24, locked +32 */
	head(o, 2);
	set64(o, 16, SEM);
	o[32] = 1;
	CHECK(py_lock_object_held(&p, LOCK_PY_LOCK, OBJ, o, &s) && s.lock == SEM && !s.owner &&
	      !s.pymutex);
	o[32] = 0;
	CHECK(!py_lock_object_held(&p, LOCK_PY_LOCK, OBJ, o, &s));
	/* freed while locked: pymalloc's free-list pointer over the count */
	o[32] = 1;
	set64(o, 0, 0x7f0000005000ull);
	CHECK(!py_lock_object_held(&p, LOCK_PY_LOCK, OBJ, o, &s));
	/* rlockobject: rlock_lock +16, rlock_owner +24, rlock_count +32 */
	head(o, 1);
	set64(o, 16, SEM);
	set64(o, 24, 0x7f00deadb000ull);
	set64(o, 32, 2);
	CHECK(py_lock_object_held(&p, LOCK_PY_RLOCK, OBJ, o, &s) && s.lock == SEM &&
	      s.owner == 0x7f00deadb000ull);
	set64(o, 32, 0);
	CHECK(!py_lock_object_held(&p, LOCK_PY_RLOCK, OBJ, o, &s));
	/* buffered: lock +104, owner +112 (held while owner is set) */
	head(o, 3);
	set64(o, 104, SEM);
	set64(o, 112, 0x7f00beef0000ull);
	CHECK(py_lock_object_held(&p, LOCK_PY_IO, OBJ, o, &s) && s.lock == SEM &&
	      s.owner == 0x7f00beef0000ull);
	set64(o, 104, 0);
	CHECK(!py_lock_object_held(&p, LOCK_PY_IO, OBJ, o, &s));
}

TEST(python_lock_pymutex_layout)
{
	struct py_lock_seen s;
	struct py_process p;
	unsigned char o[128];

	/* 3.13.1+: lockobject { PyObject_HEAD; PyMutex lock; } */
	process(&p, 13, "3.13.1");
	head(o, 1);
	o[16] = 1; /* _Py_LOCKED */
	CHECK(py_lock_object_held(&p, LOCK_PY_LOCK, OBJ, o, &s) && s.lock == OBJ + 16 &&
	      s.pymutex && !s.owner);
	o[16] = 3; /* locked, with parked waiters */
	CHECK(py_lock_object_held(&p, LOCK_PY_LOCK, OBJ, o, &s));
	o[16] = 2; /* waiters but unlocked: released, a waiter about to take it */
	CHECK(!py_lock_object_held(&p, LOCK_PY_LOCK, OBJ, o, &s));
	/* 3.13.1's RLock is still the old one: its sem_t pointer must be sane */
	head(o, 1);
	o[16] = 1;
	set64(o, 24, 0x7f00deadb000ull);
	set64(o, 32, 1);
	CHECK(!py_lock_object_held(&p, LOCK_PY_RLOCK, OBJ, o, &s));
	/* 3.14: rlockobject { PyObject_HEAD; _PyRecursiveMutex lock { mutex +16;
	 * thread +24; level +32 } } */
	process(&p, 14, "3.14.0");
	CHECK(py_lock_object_held(&p, LOCK_PY_RLOCK, OBJ, o, &s) && s.lock == OBJ + 16 &&
	      s.owner == 0x7f00deadb000ull && s.pymutex);
	set64(o, 32, 0); /* level 0: not held */
	CHECK(!py_lock_object_held(&p, LOCK_PY_RLOCK, OBJ, o, &s));
}

static unsigned char stack_image[64];
#define STACK 0x7ffd00000000ull

static int stack_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	if (addr < STACK || addr + len > STACK + sizeof(stack_image))
		return -1;
	memcpy(buf, stack_image + (addr - STACK), len);
	return 0;
}

TEST(python_lock_parked_waiter)
{
	struct py_mem m = { .read = stack_read };
	struct py_process p;
	struct py_ctx c = { .p = &p, .l = &p.l, .m = &m };
	uint64_t lock = 0;

	process(&p, 14, "3.14.0");
	/* wait_entry on the waiter's stack: park_arg, addr, then its _PySemaphore
	 * (a sem_t, the futex it waits on) */
	memset(stack_image, 0, sizeof(stack_image));
	set64(stack_image, 8, 0);
	set64(stack_image, 16, OBJ + 16);
	CHECK(py_parked_on(&c, STACK + 24, &lock) == 0 && lock == OBJ + 16);
	/* a futex whose entry is unreadable or names no address */
	CHECK(py_parked_on(&c, STACK + 8, &lock) == -1);
	CHECK(py_parked_on(&c, STACK + 4096, &lock) == -1);
}
