/*
 * The scan in pieces and the scanner threads: a real child of this process
 * holds a locked-mutex image across a piece seam, found once whichever
 * thread runs which piece; the queue's bound and a task settled before it
 * ran. And the corroboration's pure parts.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "locks/corroborate.h"
#include "locks/scan_pool.h"
#include "unit.h"

#define FAKE_TID 4000001 /* under PID_MAX_LIMIT, and no thread of this run */
#define BIG (96ull << 20)

struct child {
	pid_t pid;
	int release; /* write end: the child exits when it closes */
	unsigned char *mem;
	uint64_t lock;
};

/* A child whose memory holds a locked mutex (owner FAKE_TID) at offset off
 * of a BIG touched mapping; it waits for the release pipe. */
static int child_with_lock(struct child *c, uint64_t off)
{
	int p[2];
	volatile uint32_t *w;

	c->mem = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->mem == MAP_FAILED || pipe(p))
		return -1;
	memset(c->mem, 0x11, BIG);
	/* stored in place: a copy on this stack would be a (stale) lock of its own */
	w = (volatile uint32_t *)(c->mem + off);
	for (int i = 0; i < 10; i++)
		w[i] = i == 0 ? 1 : i == 2 ? FAKE_TID : i == 3 ? 1 : 0;
	c->lock = (uint64_t)(uintptr_t)(c->mem + off);
	c->pid = fork();
	if (c->pid == 0) {
		char ch;

		close(p[1]);
		while (read(p[0], &ch, 1) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	c->release = p[1];
	/* the parent's copy is not the lock: only the child's memory has it */
	memset(c->mem + off, 0, 40);
	return c->pid < 0 ? -1 : 0;
}

static void child_end(struct child *c)
{
	close(c->release);
	waitpid(c->pid, NULL, 0);
	munmap(c->mem, BIG);
}

static const int tids[] = { FAKE_TID };

static struct fork_scan_request request(const struct child *c)
{
	return (struct fork_scan_request){
		.parent_pid = getpid(),
		.child_pid = c->pid,
		.forker_tid = getpid(),
		.parent_tids = tids,
		.nparent_tids = 1,
	};
}

/* A scan the 1 s bound cut: this whole process is read before the test's
 * mapping, and a sanitizer build's shadow memory can be more than a second's
 * read. */
static bool time_cut(const struct scan_task *t)
{
	return t->ran && !t->gone && !t->res.complete && t->res.reason == SCAN_REASON_TIME;
}

#define TIME_CUT_WHY "the scan of this process reached its 1 s bound first (a sanitizer build?)"

static int count_at(const struct scan_result *r, uint64_t addr)
{
	int n = 0;

	for (int i = 0; i < r->nlocks; i++)
		n += r->locks[i].addr == addr;
	return n;
}

TEST(scan_pool_finds_a_lock_across_a_piece_seam_once)
{
	struct child c;
	struct fork_scan_request q;
	struct scan_pool *pool;
	struct scan_task *t, *waited;
	struct fork_scan *fs;

	/* the mapping's pieces start at its start: the image spans the first seam */
	CHECK(child_with_lock(&c, SCAN_PIECE_MAX - 16) == 0);
	q = request(&c);
	CHECK((pool = scan_pool_new(2, 4)) != NULL);
	CHECK((fs = fork_scan_new(&q)) != NULL);
	CHECK(scan_pool_submit(pool, fs, &c, 0) != NULL);
	/* a second scan of the same child, waited for: the first is collected */
	CHECK((waited = scan_pool_submit(pool, fork_scan_new(&q), NULL, 0)) != NULL);
	scan_pool_settle(pool, waited, SCAN_REASON_NONE);
	for (int i = 0; i < 100 && !(t = scan_pool_collect(pool)); i++) {
		struct pollfd pfd = { .fd = scan_pool_fd(pool), .events = POLLIN };

		poll(&pfd, 1, 100); /* the pool's descriptor says when one is done */
	}
	child_end(&c);
	if (t && (time_cut(t) || time_cut(waited))) {
		scan_task_free(t);
		scan_task_free(waited);
		scan_pool_free(pool);
		SKIP(TIME_CUT_WHY);
	}
	CHECK(t != NULL);
	CHECK(waited->ran && !waited->gone && count_at(&waited->res, c.lock) == 1);
	scan_task_free(waited);
	CHECK(t->owner == &c && t->ran && !t->gone);
	CHECK(t->res.complete);
	CHECK(t->res.bytes >= BIG);
	CHECK(count_at(&t->res, c.lock) == 1);
	CHECK(t->res.nlocks == 1 && t->res.locks[0].owner_tid == FAKE_TID);
	/* nothing refers to it: an anonymous mapping, no thread registers given */
	CHECK(!t->res.locks[0].corroborated);
	scan_task_free(t);
	scan_pool_free(pool);
}

TEST(scan_pool_is_bounded_and_a_queued_task_never_runs)
{
	struct child c;
	struct fork_scan_request q;
	struct scan_pool *pool;
	struct scan_task *a, *b;
	struct fork_scan *extra;

	CHECK(child_with_lock(&c, 4096) == 0);
	q = request(&c);
	CHECK((pool = scan_pool_new(1, 2)) != NULL);
	a = scan_pool_submit(pool, fork_scan_new(&q), NULL, 0);
	b = scan_pool_submit(pool, fork_scan_new(&q), NULL, 0);
	extra = fork_scan_new(&q);
	CHECK(a && b && extra);
	/* two scanned or waiting at once: the third is refused, and stays ours */
	CHECK(scan_pool_submit(pool, extra, NULL, 0) == NULL);
	fork_scan_free(extra);
	scan_pool_settle(pool, b, SCAN_REASON_EXIT);
	scan_pool_settle(pool, a, SCAN_REASON_NONE);
	child_end(&c);
	if (time_cut(a)) {
		scan_task_free(a);
		scan_task_free(b);
		scan_pool_free(pool);
		SKIP(TIME_CUT_WHY);
	}
	CHECK(a->ran);
	CHECK(!a->gone);
	CHECK(count_at(&a->res, c.lock) == 1);
	/* b: either never started, or stopped at once and said so */
	CHECK(!b->ran || b->gone || (!b->res.complete && b->res.reason == SCAN_REASON_EXIT));
	CHECK(b->cancelled == SCAN_REASON_EXIT);
	scan_task_free(a);
	scan_task_free(b);
	scan_pool_free(pool);
}

TEST(scan_pool_child_gone_first)
{
	struct fork_scan_request q = { .parent_pid = getpid(), .forker_tid = getpid(),
				       .parent_tids = tids, .nparent_tids = 1 };
	struct scan_pool *pool = scan_pool_new(1, 1);
	struct scan_task *t;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	q.child_pid = pid;
	CHECK(pool != NULL);
	CHECK((t = scan_pool_submit(pool, fork_scan_new(&q), NULL, 0)) != NULL);
	scan_pool_settle(pool, t, SCAN_REASON_NONE);
	CHECK(t->ran);
	CHECK(t->gone);
	scan_task_free(t);
	scan_pool_free(pool);
}

TEST(corroborate_static_data_and_bss)
{
	struct procmem_map v[] = {
		{ .start = 0x1000, .end = 0x2000, .readable = true, .path = "/usr/lib/libx.so" },
		{ .start = 0x2000, .end = 0x3000, .readable = true, .writable = true,
		  .path = "/usr/lib/libx.so" },
		{ .start = 0x3000, .end = 0x5000, .readable = true, .writable = true }, /* .bss */
		{ .start = 0x9000, .end = 0xa000, .readable = true, .writable = true }, /* anon */
		{ .start = 0xa000, .end = 0xb000, .readable = true, .writable = true,
		  .path = "[heap]" },
		{ .start = 0xb000, .end = 0xc000, .readable = true, .writable = true,
		  .shared = true, .path = "/dev/shm/x" },
	};
	struct procmem_maps maps = { v, 6 };

	CHECK(!corr_is_static(&maps, 0x1800)); /* text: no lock lives there */
	CHECK(corr_is_static(&maps, 0x2800));
	CHECK(corr_is_static(&maps, 0x4ff8));
	CHECK(!corr_is_static(&maps, 0x9800));
	CHECK(!corr_is_static(&maps, 0xa800));
	CHECK(!corr_is_static(&maps, 0xb800));
	CHECK(!corr_is_static(&maps, 0x8000)); /* no mapping */
}

TEST(corroborate_words_point_into_a_window)
{
	uint64_t w[] = { 0, 7, 0x7f0000001000, 0x7f0000001100 };

	CHECK(corr_words_point(w, 4, 0x7f0000001000, 0x7f0000001028));
	CHECK(corr_words_point(w, 4, 0x7f0000000f00, 0x7f0000001001));
	CHECK(!corr_words_point(w, 4, 0x7f0000001001, 0x7f0000001100)); /* hi is outside */
	CHECK(!corr_words_point(w, 0, 0, UINT64_MAX));
}

TEST(scan_pool_a_scan_not_due_yet_is_not_started)
{
	struct child c;
	struct fork_scan_request q;
	struct scan_pool *pool;
	struct scan_task *t, *now_due;
	struct timespec now;
	bool ran, due_ran;

	CHECK(child_with_lock(&c, 4096) == 0);
	q = request(&c);
	CHECK((pool = scan_pool_new(2, 4)) != NULL);
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* due in 10 s: the child "exits" first, and its memory is never read */
	t = scan_pool_submit(pool, fork_scan_new(&q), NULL,
			     (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec +
				     10000000000ULL);
	/* queued after it and due now: a pool that ignored the start time would
	 * have started t (the first queued) before this one */
	now_due = scan_pool_submit(pool, fork_scan_new(&q), NULL, 0);
	if (now_due)
		scan_pool_settle(pool, now_due, SCAN_REASON_NONE);
	if (t)
		scan_pool_settle(pool, t, SCAN_REASON_EXIT);
	child_end(&c);
	ran = t && t->ran;
	due_ran = now_due && now_due->ran;
	CHECK(t && now_due);
	CHECK(t->cancelled == SCAN_REASON_EXIT);
	scan_task_free(t);
	scan_task_free(now_due);
	scan_pool_free(pool);
	CHECK(due_ran);
	CHECK(!ran);
}
