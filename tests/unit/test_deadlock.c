/*
 * Examining a futex wait: the /proc/PID/task/TID/syscall line parser and
 * the owner_gone / no_waker verdict, on the lines and lock facts a hung
 * child really shows (HOST-FACTS.md, "Programs under test").
 */
#include "locks/deadlock.h"
#include "unit.h"

TEST(syscall_line_mutex_wait)
{
	struct futex_wait w = { 0 };

	/* a child blocked on an inherited mutex: FUTEX_WAIT|PRIVATE, val 2, no timeout */
	CHECK(futex_wait_parse("202 0x562dde8cf2a0 0x80 0x2 0x0 0x0 0x0 0x7ffd3777c648 "
			       "0x7efdab0fc12b\n",
			       &w) == 1);
	CHECK(w.uaddr == 0x562dde8cf2a0ULL);
	CHECK(w.op == 0x80 && w.val == 2 && !w.has_timeout);
}

TEST(syscall_line_semaphore_wait)
{
	struct futex_wait w = { 0 };

	/* CPython 3.11 threading.Lock: WAIT_BITSET|PRIVATE|CLOCK_REALTIME, bitset ~0 */
	CHECK(futex_wait_parse("202 0x55b4d79692a0 0x189 0x0 0x0 0x0 0xffffffff 0x7ffdcd7ad5e0 "
			       "0x7f30c9608f16\n",
			       &w) == 1);
	CHECK(w.op == 0x189 && w.val == 0 && !w.has_timeout);
	/* sem_clockwait / acquire(timeout=...): a timeout pointer */
	CHECK(futex_wait_parse("202 0x55b4d79692a0 0x189 0x0 0x7ffdcd7ad5a0 0x0 0xffffffff "
			       "0x7ffdcd7ad5e0 0x7f30c9608f16\n",
			       &w) == 1);
	CHECK(w.has_timeout);
}

TEST(syscall_line_not_a_wait)
{
	struct futex_wait w = { 0 };

	CHECK(futex_wait_parse("running\n", &w) == 0);
	CHECK(futex_wait_parse("-1 0x7ffd3777c648 0x7efdab0fc12b\n", &w) == 0);
	/* wait4, poll: other system calls */
	CHECK(futex_wait_parse("61 0x4f1 0x0 0x0 0x0 0x0 0x0 0x7ffe1 0x7f2\n", &w) == 0);
	CHECK(futex_wait_parse("7 0x7ffe0 0x1 0xffffffff 0x0 0x0 0x0 0x7ffe1 0x7f2\n", &w) == 0);
	/* futex, but FUTEX_WAKE|PRIVATE and FUTEX_UNLOCK_PI: not waits */
	CHECK(futex_wait_parse("202 0x5600 0x81 0x1 0x0 0x0 0x0 0x7ffe1 0x7f2\n", &w) == 0);
	CHECK(futex_wait_parse("202 0x5600 0x87 0x0 0x0 0x0 0x0 0x7ffe1 0x7f2\n", &w) == 0);
}

TEST(syscall_line_pi_and_shared_waits)
{
	struct futex_wait w = { 0 };

	/* a robust mutex waits on a shared futex (op 0) */
	CHECK(futex_wait_parse("202 0x55f908b292a0 0x0 0x80004f51 0x0 0x55f908b292c0 0x7fa9 "
			       "0x7ffe2 0x7fa93\n",
			       &w) == 1);
	CHECK(w.op == 0 && w.val == 0x80004f51u);
	CHECK(futex_wait_parse("202 0x5600 0x86 0x0 0x0 0x0 0x0 0x7ffe1 0x7f2\n", &w) == 1);
	CHECK(w.op == 0x86); /* FUTEX_LOCK_PI|PRIVATE */
}

TEST(syscall_line_malformed)
{
	struct futex_wait w = { 0 };

	CHECK(futex_wait_parse("", &w) == -1);
	CHECK(futex_wait_parse("abc\n", &w) == -1);
	CHECK(futex_wait_parse("202\n", &w) == -1);
	CHECK(futex_wait_parse("202 0x5600 0x80\n", &w) == -1); /* truncated */
	CHECK(futex_wait_parse("202 5600 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n", &w) == -1); /* no 0x */
	CHECK(futex_wait_parse("202 0x 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n", &w) == -1);
	CHECK(futex_wait_parse("202 0x56zz 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n", &w) == -1);
	CHECK(futex_wait_parse("202x 0x5600 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n", &w) == -1);
	CHECK(futex_wait_parse("202 0x1ffffffffffffffff 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n", &w) == -1);
}

static const struct futex_wait mutex_wait = { 100, 100, 0x5000, 0x80, 2, false };

TEST(judge_owner_gone)
{
	struct futex_lock_info info = { .type = LOCK_MUTEX,
					.lock = 0x5000,
					.owner_tid = 77,
					.nthreads = 1,
					.private_futex = true };
	struct deadlock_finding f;

	CHECK(deadlock_judge(&mutex_wait, &info, &f) == 1);
	CHECK(f.reason == DL_OWNER_GONE && f.certain);
	CHECK(f.lock == 0x5000 && f.lock_type == LOCK_MUTEX && f.holder_tid == 77);
	CHECK_STR(f.holder_comm, "");
	/* with more threads, and with a timeout, a gone owner is still a deadlock */
	info.nthreads = 4;
	CHECK(deadlock_judge(&mutex_wait, &info, &f) == 1 && f.reason == DL_OWNER_GONE);
	info.type = LOCK_RWLOCK_WRITE;
	CHECK(deadlock_judge(&mutex_wait, &info, &f) == 1 && f.lock_type == LOCK_RWLOCK_WRITE);
}

TEST(judge_live_owner_is_contention)
{
	struct futex_lock_info info = { .type = LOCK_MUTEX,
					.lock = 0x5000,
					.owner_tid = 101,
					.owner_exists = true,
					.owner_comm = "worker",
					.nthreads = 2,
					.private_futex = true };
	struct deadlock_finding f;

	CHECK(deadlock_judge(&mutex_wait, &info, &f) == 0);
}

TEST(judge_no_waker)
{
	struct futex_wait w = { 100, 100, 0x6000, 0x189, 0, false };
	struct futex_lock_info info = {
		.type = LOCK_SEMAPHORE, .lock = 0x6000, .nthreads = 1, .private_futex = true
	};
	struct deadlock_finding f;

	CHECK(deadlock_judge(&w, &info, &f) == 1);
	CHECK(f.reason == DL_NO_WAKER && !f.certain);
	CHECK(f.lock == 0x6000 && f.lock_type == LOCK_SEMAPHORE && f.holder_tid == 0);
	/* a mutex the only thread holds itself (relocked): no_waker, holder named */
	info = (struct futex_lock_info){ .type = LOCK_MUTEX,
					 .lock = 0x6000,
					 .owner_tid = 100,
					 .owner_exists = true,
					 .owner_comm = "main",
					 .nthreads = 1,
					 .private_futex = true };
	CHECK(deadlock_judge(&w, &info, &f) == 1 && f.reason == DL_NO_WAKER);
	CHECK(f.holder_tid == 100);
	CHECK_STR(f.holder_comm, "main");
}

TEST(judge_something_could_wake_it)
{
	struct futex_wait w = { 100, 100, 0x6000, 0x189, 0, false };
	struct futex_lock_info info = {
		.type = LOCK_UNKNOWN, .lock = 0x6000, .nthreads = 1, .private_futex = true
	};
	struct deadlock_finding f;

	CHECK(deadlock_judge(&w, &info, &f) == 1); /* baseline: no_waker */
	w.has_timeout = true;			   /* it returns by itself */
	CHECK(deadlock_judge(&w, &info, &f) == 0);
	w.has_timeout = false;
	info.private_futex = false; /* another process may wake it */
	CHECK(deadlock_judge(&w, &info, &f) == 0);
	info.private_futex = true;
	info.nthreads = 2; /* another thread may wake it */
	CHECK(deadlock_judge(&w, &info, &f) == 0);
}
