/*
 * The fork-time scan's pure parts: the glibc 2.36 x86_64 candidate rules
 * (true positives for every lock kind, near misses rejected), the buffer
 * scanner's seams, and the /proc/PID/maps line parser. The byte images are
 * those glibc 2.36 wrote for real locks on the build host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc/procmem.h"
#include "locks/scan.h"
#include "unit.h"

#define TID 4198 /* the owner in every image */
#define OTHER_TID 4200
#define TCB 0x7f7ebafaba20ULL	/* a robust list head (in a thread's TCB) */
#define STACK 0x7ffd9e83cec0ULL /* another robust mutex's list entry */

/* lock, count, owner, nusers, kind [, spins, elision | , list prev, next] */
#define MX(l, c, o, u, k)                                                 \
	{                                                                 \
		.lock = l, .count = c, .owner = o, .nusers = u, .kind = k \
	}
#define MXS(l, c, o, u, k, s, e)                                                       \
	{                                                                              \
		.lock = l, .count = c, .owner = o, .nusers = u, .kind = k, .spins = s, \
		.elision = e                                                           \
	}
#define MXL(l, c, o, u, k, p, n)                                                                \
	{                                                                                       \
		.lock = l, .count = c, .owner = o, .nusers = u, .kind = k, .prev = p, .next = n \
	}

static const int tids[] = { 4100, TID, OTHER_TID };

/* A mapping of each robust list address, and one that is not mapped. */
static struct procmem_map map_v[] = {
	{ .start = 0x7f7eba000000ULL, .end = 0x7f7ebb000000ULL, .readable = true, .writable = true },
	{ .start = 0x7ffd9e800000ULL, .end = 0x7ffd9e900000ULL, .readable = true, .writable = true },
};
static struct procmem_maps maps = { map_v, 2 };

struct mutex_img {
	uint32_t lock, count, owner, nusers, kind;
	int16_t spins, elision;
	uint64_t prev, next;
};

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void mutex_bytes(const struct mutex_img *m, unsigned char *p)
{
	memset(p, 0, GLIBC_MUTEX_SIZE);
	put32(p, m->lock);
	put32(p + 4, m->count);
	put32(p + 8, m->owner);
	put32(p + 12, m->nusers);
	put32(p + 16, m->kind);
	memcpy(p + 20, &m->spins, 2);
	memcpy(p + 22, &m->elision, 2);
	put64(p + 24, m->prev);
	put64(p + 32, m->next);
}

static int mutex_owner(const struct mutex_img *m)
{
	struct scan_rules r;
	unsigned char p[GLIBC_MUTEX_SIZE];
	int owner = 0;

	if (scan_rules_init(&r, tids, 3, &maps))
		return -1;
	mutex_bytes(m, p);
	if (!scan_is_mutex(&r, p, &owner))
		owner = 0;
	scan_rules_free(&r);
	return owner;
}

/* Held mutexes, as glibc 2.36 lays them out (dumped on the build host). */
static const struct mutex_img held[] = {
	MX(1, 0, TID, 1, 0x000),	      /* PTHREAD_MUTEX_INITIALIZER */
	MX(1, 0, TID, 1, 0x200),	      /* pthread_mutex_init default (no elision) */
	MX(2, 0, TID, 1, 0x200),	      /* ... with a waiter */
	MX(1, 2, TID, 1, 0x001),	      /* recursive, held twice */
	MX(1, 0, TID, 1, 0x002),	      /* errorcheck */
	MX(1, 0, TID, 1, 0x003),	      /* adaptive */
	MXS(1, 0, TID, 1, 0x003, 45, 0),      /* adaptive after contention: spins */
	MX(1, 0, TID, 1, 0x280),	      /* process-shared */
	MXL(TID, 1, TID, 1, 0x290, TCB, TCB), /* robust */
	MXL(TID | 0x80000000u, 1, TID, 1, 0x290, TCB, TCB), /* robust with waiters */
	MXL(TID, 2, TID, 1, 0x091, TCB, STACK),		    /* robust recursive */
	MXL(TID, 1, TID, 1, 0x092, TCB, STACK),		    /* robust errorcheck */
	MX(TID, 1, TID, 1, 0x220),			    /* priority inheritance */
	MX(TID, 2, TID, 1, 0x021),			    /* PI recursive */
	MXL(TID, 1, TID, 1, 0x2b0, TCB, STACK | 1),	    /* PI robust; next is a PI entry */
	MX(0x00080001, 2, TID, 1, 0x041),      /* priority protect recursive, ceiling 1 */
	MX((50u << 19) | 2, 1, TID, 2, 0x042), /* PP errorcheck, ceiling 50, a waiter */
	MX(1, 0, TID, 3, 0x200),	       /* two more users waiting in cond_wait */
};

TEST(scan_mutex_every_kind_held)
{
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		snprintf(why, why_len, "held[%zu]", i);
		if (mutex_owner(&held[i]) != TID)
			return;
	}
	why[0] = 0;
}

TEST(scan_mutex_near_misses)
{
	static const struct mutex_img miss[] = {
		MX(0, 0, TID, 1, 0x200),    /* unlocked (a cond_wait sleeper's mutex) */
		MX(1, 0, 0, 1, 0x200),	    /* no owner yet */
		MX(1, 0, 4101, 1, 0x200),   /* the owner is not a parent thread */
		MX(3, 0, TID, 1, 0x200),    /* lock word 3 */
		MX(1, 1, TID, 1, 0x000),    /* a count on a normal mutex */
		MX(1, 0, TID, 1, 0x001),    /* recursive with count 0 */
		MX(1, 1001, TID, 1, 0x001), /* recursion deeper than 1000 */
		MX(1, 0, TID, 0, 0x200),    /* no user: a CPython int holding a tid */
		MX(1, 0, TID, 4, 0x200),    /* more users than parent threads */
		MX(1, 0, TID, 1, 0x004),    /* a kind bit glibc never sets */
		MX(1, 0, TID, 1, 0x400),
		MX(1, 0, TID, 1, 0x201),	      /* no-elision on a recursive mutex */
		MX(1, 0, TID, 1, 0x300),	      /* elision and no-elision */
		MXL(TID, 1, TID, 1, 0x010, TCB, TCB), /* robust without the pshared bit */
		MX(TID, 1, TID, 1, 0x050),	      /* robust priority-protect */
		MXS(1, 0, TID, 1, 0x200, 1, 0),	      /* spins on a non-adaptive mutex */
		MXS(1, 0, TID, 1, 0x003, 1001, 0),    /* adaptive spins beyond any cap */
		MXS(1, 0, TID, 1, 0x003, -1, 0),
		MXS(1, 0, TID, 1, 0x200, 0, 1),		    /* elision field set */
		MXL(1, 0, TID, 1, 0x200, TCB, 0),	    /* a list on a non-robust mutex */
		MX(TID, 1, TID, 1, 0x290),		    /* robust, not on any list */
		MXL(TID, 1, TID, 1, 0x290, TCB, 0x1000),    /* list outside memory */
		MXL(TID, 1, TID, 1, 0x290, TCB + 4, TCB),   /* misaligned list */
		MXL(OTHER_TID, 1, TID, 1, 0x290, TCB, TCB), /* lock word names another */
		MXL(TID | 0x40000000u, 1, TID, 1, 0x290, TCB, TCB), /* owner died */
		MXL(TID, 2, TID, 1, 0x290, TCB, TCB),	/* robust non-recursive count 2 */
		MX(TID, 0, TID, 1, 0x220),		/* PI without its count */
		MX((100u << 19) | 1, 1, TID, 1, 0x040), /* PP ceiling above 99 */
		MX(0x00080000, 1, TID, 1, 0x040),	/* PP not locked */
	};

	for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
		snprintf(why, why_len, "miss[%zu] matched", i);
		if (mutex_owner(&miss[i]) != 0)
			return;
	}
	why[0] = 0;
}

TEST(scan_mutex_shape_without_tids)
{
	unsigned char p[GLIBC_MUTEX_SIZE];

	/* deadlock.c asks about any owner: a robust mutex still needs the maps */
	mutex_bytes(&held[8], p);
	CHECK(scan_mutex_owner(p, 100, &maps) == TID);
	CHECK(scan_mutex_owner(p, 100, NULL) == 0);
	mutex_bytes(&held[0], p);
	CHECK(scan_mutex_owner(p, 100, NULL) == TID);
	CHECK(scan_mutex_owner(p, 0, NULL) == 0); /* __nusers 1 > 0 */
}

struct rw_img {
	uint32_t readers, writers, wrphase, wfutex, pad3, pad4, writer, shared;
	uint64_t elision_pad, pad2;
	uint32_t flags;
};

static int rwlock_owner(const struct rw_img *w)
{
	unsigned char p[GLIBC_RWLOCK_SIZE];
	struct scan_rules r;
	int owner = 0;

	memset(p, 0, sizeof(p));
	put32(p, w->readers);
	put32(p + 4, w->writers);
	put32(p + 8, w->wrphase);
	put32(p + 12, w->wfutex);
	put32(p + 16, w->pad3);
	put32(p + 20, w->pad4);
	put32(p + 24, w->writer);
	put32(p + 28, w->shared);
	put64(p + 32, w->elision_pad);
	put64(p + 40, w->pad2);
	put32(p + 48, w->flags);
	if (scan_rules_init(&r, tids, 3, &maps))
		return -1;
	if (!scan_is_rwlock(&r, p, &owner))
		owner = 0;
	scan_rules_free(&r);
	return owner;
}

TEST(scan_rwlock_write_held)
{
	static const struct rw_img held_rw[] = {
		{ 3, 0, 1, 1, 0, 0, TID, 0, 0, 0,
		  0 }, /* PTHREAD_RWLOCK_INITIALIZER, write-locked */
		{ 3, 0, 1, 1, 0, 0, TID, 1, 0, 0, 0 },	 /* process-shared */
		{ 3, 0, 1, 1, 0, 0, TID, 0, 0, 0, 1 },	 /* prefer writer */
		{ 3, 0, 1, 1, 0, 0, TID, 1, 0, 0, 2 },	 /* prefer writer non-recursive, shared */
		{ 0xb, 0, 3, 1, 0, 0, TID, 0, 0, 0, 0 }, /* a reader waiting */
		{ 0xb, 0, 3, 3, 0, 0, TID, 0, 0, 0, 0 }, /* a reader and a writer waiting */
		{ 3, 0x80000001u, 1, 3, 0, 0, TID, 0, 0, 0, 0 }, /* handover flag, one writer */
	};

	for (size_t i = 0; i < sizeof(held_rw) / sizeof(held_rw[0]); i++) {
		snprintf(why, why_len, "held_rw[%zu]", i);
		if (rwlock_owner(&held_rw[i]) != TID)
			return;
	}
	why[0] = 0;
}

TEST(scan_rwlock_near_misses)
{
	static const struct rw_img miss[] = {
		{ 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },	/* read-locked: no owner */
		{ 1, 0, 1, 0, 0, 0, TID, 0, 0, 0, 0 },	/* write phase, unlocked */
		{ 2, 0, 1, 1, 0, 0, TID, 0, 0, 0, 0 },	/* locked bit without the phase */
		{ 3, 0, 0, 1, 0, 0, TID, 0, 0, 0, 0 },	/* wrphase futex 0 */
		{ 3, 0, 1, 2, 0, 0, TID, 0, 0, 0, 0 },	/* writers futex 2 */
		{ 3, 0, 1, 1, 1, 0, TID, 0, 0, 0, 0 },	/* padding set */
		{ 3, 0, 1, 1, 0, 0, TID, 0, 1, 0, 0 },	/* elision set */
		{ 3, 0, 1, 1, 0, 0, TID, 0, 0, 5, 0 },	/* __pad2 set */
		{ 3, 0, 1, 1, 0, 0, TID, 2, 0, 0, 0 },	/* shared 2 */
		{ 3, 0, 1, 1, 0, 0, TID, 0, 0, 0, 3 },	/* no such preference */
		{ 3, 0, 1, 1, 0, 0, 4101, 0, 0, 0, 0 }, /* the writer is not a parent thread */
		{ 3 | (9u << 3), 0, 1, 1, 0, 0, TID, 0, 0, 0, 0 }, /* more readers than threads */
		{ 3, 7, 1, 1, 0, 0, TID, 0, 0, 0, 0 },		   /* more writers than threads */
	};

	for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
		snprintf(why, why_len, "miss[%zu] matched", i);
		if (rwlock_owner(&miss[i]) != 0)
			return;
	}
	why[0] = 0;
}

TEST(scan_rules_tid_set)
{
	static const int wide[] = { 1, 4194304, 300, -5, 0 };
	struct scan_rules r;

	CHECK(scan_rules_init(&r, wide, 5, NULL) == 0);
	CHECK(scan_rules_has_tid(&r, 1));
	CHECK(scan_rules_has_tid(&r, 300));
	CHECK(scan_rules_has_tid(&r, 4194304));
	CHECK(!scan_rules_has_tid(&r, 2));
	CHECK(!scan_rules_has_tid(&r, 0));
	CHECK(!scan_rules_has_tid(&r, 4194305));
	CHECK(r.max_users == 3); /* the invalid tids are not threads */
	scan_rules_free(&r);
	CHECK(scan_rules_init(&r, wide + 3, 2, NULL) == -1);
}

/* Scans buf (at addr) in two feeds split at `split`; returns the findings. */
static int scan_split(const unsigned char *buf, size_t len, uint64_t addr, size_t split,
		      struct scan_result *res)
{
	struct scan_rules r;
	struct scan_buffer_state st;

	memset(res, 0, sizeof(*res));
	if (scan_rules_init(&r, tids, 3, &maps))
		return -1;
	scan_buffer_begin(&st, &r, res);
	if (scan_buffer(&st, addr, buf, split) ||
	    scan_buffer(&st, addr + split, buf + split, len - split))
		return -1;
	scan_rules_free(&r);
	return res->nlocks;
}

TEST(scan_buffer_finds_each_lock_once_across_any_split)
{
	unsigned char buf[512];
	const uint64_t addr = 0x7f0000001000ULL;
	struct scan_result res;

	memset(buf, 0, sizeof(buf));
	/* decoys: tids as loose words, a locked mutex with a count it cannot have */
	put32(buf + 8, TID);
	put32(buf + 64, 1);
	put32(buf + 68, 5);
	put32(buf + 72, OTHER_TID);
	mutex_bytes(&held[3], buf + 200); /* recursive */
	put32(buf + 400, 3);		  /* a write-locked rwlock at 400 */
	put32(buf + 408, 1);
	put32(buf + 412, 3);
	put32(buf + 424, OTHER_TID);
	for (size_t split = 0; split <= sizeof(buf); split++) {
		snprintf(why, why_len, "split at %zu", split);
		if (scan_split(buf, sizeof(buf), addr, split, &res) != 2)
			return;
		if (res.locks[0].addr != addr + 200 || res.locks[0].type != LOCK_MUTEX ||
		    res.locks[0].owner_tid != TID)
			return;
		if (res.locks[1].addr != addr + 400 || res.locks[1].type != LOCK_RWLOCK_WRITE ||
		    res.locks[1].owner_tid != OTHER_TID)
			return;
		scan_result_free(&res);
	}
	why[0] = 0;
}

TEST(scan_buffer_nothing_carried_across_a_gap)
{
	unsigned char buf[64];
	struct scan_rules r;
	struct scan_buffer_state st;
	struct scan_result res = { 0 };

	memset(buf, 0, sizeof(buf));
	mutex_bytes(&held[0], buf + 24); /* 40 bytes: ends exactly at the buffer's end */
	CHECK(scan_rules_init(&r, tids, 3, NULL) == 0);
	scan_buffer_begin(&st, &r, &res);
	/* first 32 bytes of the mutex at the end of one range, the rest somewhere else */
	CHECK(scan_buffer(&st, 0x1000, buf, 56) == 0);
	CHECK(scan_buffer(&st, 0x9000, buf + 56, 8) == 0);
	CHECK(res.nlocks == 0);
	/* fed contiguously it is found */
	scan_buffer_break(&st);
	CHECK(scan_buffer(&st, 0x2000, buf, 56) == 0);
	CHECK(scan_buffer(&st, 0x2000 + 56, buf + 56, 8) == 0);
	CHECK(res.nlocks == 1 && res.locks[0].addr == 0x2000 + 24);
	scan_result_free(&res);
	scan_rules_free(&r);
}

/* ---------------------------------------------------------------- maps lines */

TEST(maps_line_file)
{
	struct procmem_map m;

	CHECK(procmem_parse_maps_line("7f060eabc000-7f060eabe000 rw-p 001d3000 fe:00 332835"
				      "                     /usr/lib/x86_64-linux-gnu/libc.so.6\n",
				      &m) == 0);
	CHECK(m.start == 0x7f060eabc000ULL && m.end == 0x7f060eabe000ULL);
	CHECK(m.offset == 0x1d3000 && m.readable && m.writable && !m.shared);
	CHECK_STR(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	CHECK(procmem_map_scannable(&m));
}

TEST(maps_line_anonymous_and_special)
{
	struct procmem_map m;

	CHECK(procmem_parse_maps_line("7f03b8000000-7f03b8021000 rw-p 00000000 00:00 0 \n", &m) ==
	      0);
	CHECK_STR(m.path, "");
	CHECK(procmem_parse_maps_line("7f03b8000000-7f03b8021000 rw-p 00000000 00:00 0", &m) == 0);
	CHECK_STR(m.path, "");
	CHECK(procmem_parse_maps_line("55893c9af000-55893c9d0000 rw-p 00000000 00:00 0    [heap]\n",
				      &m) == 0);
	CHECK_STR(m.path, "[heap]");
	CHECK(procmem_parse_maps_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  "
				      "[vsyscall]\n",
				      &m) == 0);
	CHECK(!m.readable && !m.writable && !procmem_map_scannable(&m));
	CHECK(procmem_parse_maps_line("7ffc1000-7ffc3000 rw-p 00000000 00:00 0  [vvar]\n", &m) ==
	      0);
	CHECK(!procmem_map_scannable(&m));
}

TEST(maps_line_odd_paths)
{
	struct procmem_map m;
	char line[600];

	/* spaces, "(deleted)", and what looks like more fields */
	CHECK(procmem_parse_maps_line("7f03ce800000-7f040e800000 rw-s 00000000 00:01 1275  "
				      "  /dev/zero (deleted)\n",
				      &m) == 0);
	CHECK(m.shared);
	CHECK_STR(m.path, "/dev/zero (deleted)");
	CHECK(procmem_map_scannable(&m));
	CHECK(procmem_parse_maps_line("1000-2000 rw-s 00000000 00:01 7 /memfd:a b  c (deleted)\n",
				      &m) == 0);
	CHECK_STR(m.path, "/memfd:a b  c (deleted)");
	CHECK(procmem_parse_maps_line("1000-2000 rw-p 00000000 fe:00 9 /tmp/x 1000-2000 rw-s\n",
				      &m) == 0);
	CHECK(!m.shared);
	CHECK_STR(m.path, "/tmp/x 1000-2000 rw-s");
	/* the kernel escapes a newline in a name as \012: it stays text */
	CHECK(procmem_parse_maps_line("1000-2000 rw-p 00000000 fe:00 9 /tmp/a\\012b\n", &m) == 0);
	CHECK_STR(m.path, "/tmp/a\\012b");
	/* a path longer than we keep is truncated, not overflowed */
	memset(line, 'x', sizeof(line));
	memcpy(line, "1000-2000 rw-p 00000000 fe:00 9 /", 33);
	line[sizeof(line) - 1] = 0;
	CHECK(procmem_parse_maps_line(line, &m) == 0);
	CHECK(strlen(m.path) == PROCMEM_PATH_LEN - 1);
	/* devices are not memory to scan; POSIX shm is */
	CHECK(procmem_parse_maps_line("1000-2000 rw-s 00000000 00:05 9 /dev/dri/card0\n", &m) == 0);
	CHECK(!procmem_map_scannable(&m));
	CHECK(procmem_parse_maps_line("1000-2000 rw-s 00000000 00:05 9 /dev/shm/x\n", &m) == 0);
	CHECK(procmem_map_scannable(&m));
	CHECK(procmem_parse_maps_line("1000-2000 r--p 00000000 00:05 9 /lib/x.so\n", &m) == 0);
	CHECK(!procmem_map_scannable(&m));
}

TEST(maps_contains)
{
	static struct procmem_map v[] = {
		{ .start = 0x1000, .end = 0x3000 },
		{ .start = 0x5000, .end = 0x6000 },
		{ .start = 0x9000, .end = 0xa000 },
	};
	struct procmem_maps ms = { v, 3 };

	CHECK(procmem_maps_contains(&ms, 0x1000));
	CHECK(procmem_maps_contains(&ms, 0x2fff));
	CHECK(!procmem_maps_contains(&ms, 0x3000));
	CHECK(procmem_maps_contains(&ms, 0x5800));
	CHECK(procmem_maps_contains(&ms, 0x9fff));
	CHECK(!procmem_maps_contains(&ms, 0xa000));
	CHECK(!procmem_maps_contains(&ms, 0));
	CHECK(!procmem_maps_contains(NULL, 0x1000));
}

/* A child whose memory cannot be read is a result that says so, never
 * silence: scanned by a process without the right to (an unprivileged
 * user reading root's memory), the scan is incomplete and unreadable. */
TEST(scan_unreadable_child_is_a_result)
{
	int fds[2], parent = getpid(), status = 0;
	struct {
		int rc, complete, reason;
	} got = { -2, -1, -1 };
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root, to become another user");
	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct scan_request req = { .child_pid = parent,
					    .parent_tids = &parent,
					    .nparent_tids = 1,
					    .forker_tid = parent };
		struct scan_result res;
		char err[128];

		close(fds[0]);
		if (setgid(65534) || setuid(65534))
			_exit(1);
		got.rc = scan_child(&req, &res, err, sizeof(err));
		got.complete = res.complete;
		got.reason = res.reason;
		if (write(fds[1], &got, sizeof(got)) != sizeof(got))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	CHECK(read(fds[0], &got, sizeof(got)) == sizeof(got));
	close(fds[0]);
	waitpid(pid, &status, 0);
	CHECK(got.rc == 0);
	CHECK(got.complete == 0);
	CHECK(got.reason == SCAN_REASON_UNREADABLE);
}
