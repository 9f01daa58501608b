/*
 * One child's scan in pieces (scan_job.h), and scan_child, the same run by
 * one thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include "locks/scan_job.h"
#include "util/clock.h"

#define SMALL_MAP (64ull << 20) /* a glibc malloc arena is 64 MiB */
#define MAX_PIECES_PER_MAP 256	/* a huge mapping gets bigger pieces, not more */
/* A piece reads this far past its end, so that a lock across the seam is
 * seen whole (by this piece; the next one starts at its own start). */
#define SEAM 64

struct piece {
	int map;	     /* index in maps */
	uint64_t start, end; /* [start, end) of that mapping */
};

struct scan_job {
	const struct scan_request *req;
	struct procmem pm;
	struct procmem_maps maps;
	struct scan_rules rules;
	struct piece *pieces;
	int npieces;
	uint64_t t0;
	atomic_bool stop; /* a limit, a cancel, the child gone: every piece ends */
	atomic_bool gone; /* a read found the child exited or exec'd */
	atomic_int reason; /* the first reason the scan is incomplete */
	atomic_uint_fast64_t reserved; /* bytes promised to reads (the --scan-limit budget) */
	atomic_uint_fast64_t bytes;    /* bytes read */
	pthread_mutex_t lock;	       /* res, and the watch's hit() */
	struct scan_result res;
	bool oom;
	bool unreadable_at_open; /* nothing could be read: the result says so */
};

static void ld(uint64_t *v, const unsigned char *p)
{
	memcpy(v, p, sizeof(*v));
}

/* The first reason a scan is cut short is the one it gives. */
static void incomplete(struct scan_job *j, enum scan_reason why)
{
	int none = SCAN_REASON_NONE;

	atomic_compare_exchange_strong(&j->reason, &none, (int)why);
}

static void stop_with(struct scan_job *j, enum scan_reason why)
{
	incomplete(j, why);
	atomic_store(&j->stop, true);
}

void scan_job_cancel(struct scan_job *j, enum scan_reason why)
{
	stop_with(j, why);
}

/* ---------------------------------------------------------------- the watch */

/* One word of the watch's read, at offset i. */
static inline void watch_word(struct scan_job *j, const struct scan_watch *w, uint64_t base,
			      const unsigned char *buf, size_t len, size_t i)
{
	uint64_t v;

	ld(&v, buf + i);
	for (int k = 0; k < w->nwords; k++) {
		if (v != w->words[k])
			continue;
		pthread_mutex_lock(&j->lock);
		if (i >= w->before && i + w->after <= len)
			w->hit(w->ctx, base + i, buf + i - w->before);
		else
			w->hit(w->ctx, base + i, NULL);
		pthread_mutex_unlock(&j->lock);
		return;
	}
}

/* The watch's words in one read, four words to a compare: the scan's own
 * loop is vectorized, and a word-by-word pass beside it would cost as much
 * as the scan itself (measured: 1.5x over a 1 GiB Python heap). The words
 * (type objects of one program) lie close together: one range compare
 * rejects almost every word, the exact compares run only on what is left.
 * Only [0, look) is looked at; the bytes up to len can be an object's rest. */
__attribute__((target("avx2"))) static void watch_buffer_avx2(struct scan_job *j,
							     const struct scan_watch *w,
							     uint64_t base,
							     const unsigned char *buf, size_t look,
							     size_t len)
{
	const __m256i sign = _mm256_set1_epi64x((long long)(1ULL << 63));
	uint64_t lo = UINT64_MAX, hi = 0;
	__m256i vlo, vspan;
	size_t i = 0;

	for (int k = 0; k < w->nwords; k++) {
		lo = w->words[k] < lo ? w->words[k] : lo;
		hi = w->words[k] > hi ? w->words[k] : hi;
	}
	vlo = _mm256_set1_epi64x((long long)lo);
	/* unsigned v - lo > hi - lo, as a signed compare with the sign bits flipped */
	vspan = _mm256_xor_si256(_mm256_set1_epi64x((long long)(hi - lo)), sign);
	for (; i + 64 <= look; i += 64) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(buf + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(buf + i + 32));
		__m256i oa = _mm256_cmpgt_epi64(_mm256_xor_si256(_mm256_sub_epi64(a, vlo), sign), vspan);
		__m256i ob = _mm256_cmpgt_epi64(_mm256_xor_si256(_mm256_sub_epi64(b, vlo), sign), vspan);

		/* all eight outside the range: none is a watched word */
		if (_mm256_movemask_epi8(_mm256_and_si256(oa, ob)) == -1)
			continue;
		for (size_t k = i; k < i + 64; k += 8)
			watch_word(j, w, base, buf, len, k);
	}
	for (; i + 8 <= look; i += 8)
		watch_word(j, w, base, buf, len, i);
}

static void watch_buffer(struct scan_job *j, const struct scan_watch *w, uint64_t base,
			 const unsigned char *buf, size_t look, size_t len)
{
	if (__builtin_cpu_supports("avx2")) {
		watch_buffer_avx2(j, w, base, buf, look, len);
		return;
	}
	for (size_t i = 0; i + 8 <= look; i += 8)
		watch_word(j, w, base, buf, len, i);
}

/* ---------------------------------------------------------------- a piece */

struct piece_run {
	struct scan_job *j;
	const struct piece *pc;
	struct procmem_cursor cur;
	struct scan_buffer_state st;
	struct scan_result res; /* this piece's locks, merged into the job's at its end */
	unsigned char *buf;
	bool failed; /* out of memory */
};

static bool over_limits(struct scan_job *j)
{
	const struct scan_request *q = j->req;

	if (atomic_load(&j->stop))
		return true;
	if (q->limit_bytes && atomic_load(&j->reserved) >= q->limit_bytes)
		stop_with(j, SCAN_REASON_LIMIT);
	else if (q->time_limit_ns && mono_ns() - j->t0 >= q->time_limit_ns)
		stop_with(j, SCAN_REASON_TIME);
	return atomic_load(&j->stop);
}

/* Reads and scans one extent [start, end), read by read. */
static void run_extent(struct piece_run *r, uint64_t start, uint64_t end)
{
	struct scan_job *j = r->j;
	const struct scan_request *q = j->req;
	uint64_t pos = start;

	while (pos < end && !over_limits(j)) {
		uint64_t len = end - pos > SCAN_READ_SIZE ? SCAN_READ_SIZE : end - pos;
		uint64_t look;
		ssize_t n;

		if (q->limit_bytes) {
			uint64_t before = atomic_fetch_add(&j->reserved, len);

			if (before >= q->limit_bytes) {
				stop_with(j, SCAN_REASON_LIMIT);
				return;
			}
			if (len > q->limit_bytes - before)
				len = q->limit_bytes - before;
		}
		n = procmem_cursor_read(&j->pm, &r->cur, pos, r->buf, len);
		if (n == 0 && r->cur.file_fd < 0) {
			/* /proc/PID/mem reads nothing once the mm is gone */
			atomic_store(&j->gone, true);
			atomic_store(&j->stop, true);
			return;
		}
		if (n <= 0) {
			/* unreadable (a file shrunk, an I/O error): say the scan is partial */
			incomplete(j, SCAN_REASON_UNREADABLE);
			return;
		}
		atomic_fetch_add(&j->bytes, (uint64_t)n);
		if (!q->no_glibc && scan_buffer(&r->st, pos, r->buf, (size_t)n)) {
			r->failed = true;
			return;
		}
		/* the watch looks only at the piece's own words: the seam is the next one's */
		look = pos >= r->pc->end ? 0 : r->pc->end - pos;
		if (q->watch && look)
			watch_buffer(j, q->watch, pos, r->buf,
				     (look < (uint64_t)n ? look : (size_t)n) & ~7UL, (size_t)n & ~7UL);
		pos += (uint64_t)n;
	}
	/*
	 * A lock whose tail lies in the untouched page after the extent is not
	 * looked at: feeding that page as zeros found 16-byte look-alikes at page
	 * ends (CPython ints holding tids) more often than real locks, and a
	 * deadlock on such a lock is still confirmed from the futex wait.
	 */
}

static void run_piece(struct piece_run *r)
{
	struct scan_job *j = r->j;
	const struct procmem_map *m = &j->maps.v[r->pc->map];
	uint64_t start, end, seam_end = r->pc->end + SEAM;
	int ret = procmem_cursor_open(&j->pm, m, &r->cur), more = 0;

	if (ret) {
		/* gone since we read maps (1) is fine; a shared file we may not open is not */
		if (ret < 0)
			incomplete(j, SCAN_REASON_UNREADABLE);
		return;
	}
	/* the page after the piece holds its seam */
	procmem_cursor_bound(&r->cur, r->pc->start, r->pc->end + (uint64_t)j->pm.page_size);
	while (!over_limits(j) && !r->failed &&
	       (more = procmem_cursor_next(&j->pm, &r->cur, &start, &end)) > 0) {
		if (start == end)
			continue; /* a long untouched stretch: only a chance to check the limits */
		if (start >= r->pc->end)
			break; /* the next piece's */
		scan_buffer_break(&r->st);
		run_extent(r, start, end < seam_end ? end : seam_end);
	}
	if (!atomic_load(&j->stop) && more < 0) {
		/* pagemap reads nothing once the mm is gone */
		if (errno == ESRCH) {
			atomic_store(&j->gone, true);
			atomic_store(&j->stop, true);
		} else {
			incomplete(j, SCAN_REASON_UNREADABLE);
		}
	}
	procmem_cursor_close(&r->cur);
}

void scan_job_run_piece(struct scan_job *j, int i, unsigned char *buf)
{
	struct piece_run r = { .j = j, .pc = &j->pieces[i], .buf = buf };

	if (i < 0 || i >= j->npieces || atomic_load(&j->stop))
		return;
	scan_buffer_begin(&r.st, &j->rules, &r.res);
	run_piece(&r);
	pthread_mutex_lock(&j->lock);
	if (r.failed)
		j->oom = true;
	if (r.res.nlocks) {
		struct scan_lock *v = realloc(j->res.locks,
					      (j->res.nlocks + r.res.nlocks) * sizeof(*v));

		if (v) {
			memcpy(v + j->res.nlocks, r.res.locks, r.res.nlocks * sizeof(*v));
			j->res.locks = v;
			j->res.nlocks += r.res.nlocks;
		} else {
			j->oom = true;
		}
	}
	pthread_mutex_unlock(&j->lock);
	scan_result_free(&r.res);
}

/* ---------------------------------------------------------------- the plan */

static int add_piece(struct scan_job *j, int *cap, int map, uint64_t start, uint64_t end)
{
	if (j->npieces == *cap) {
		int ncap = *cap ? *cap * 2 : 64;
		struct piece *v = realloc(j->pieces, ncap * sizeof(*v));

		if (!v)
			return -1;
		j->pieces = v;
		*cap = ncap;
	}
	j->pieces[j->npieces++] = (struct piece){ map, start, end };
	return 0;
}

/* Small mappings first (.data, .bss, stacks, arenas): if a limit cuts the
 * scan, it cuts the middle of a big heap rather than every library. */
static int plan(struct scan_job *j)
{
	int cap = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < j->maps.n; i++) {
			const struct procmem_map *m = &j->maps.v[i];
			uint64_t size = m->end - m->start, step = SCAN_PIECE_MAX;

			if (!procmem_map_scannable(m) || (size > SMALL_MAP) != (pass == 1))
				continue;
			if (size / step > MAX_PIECES_PER_MAP)
				step = (size / MAX_PIECES_PER_MAP + 0xfffff) & ~0xfffffULL;
			for (uint64_t s = m->start; s < m->end; s += step)
				if (add_piece(j, &cap, i, s, m->end - s > step ? s + step : m->end))
					return -1;
		}
	}
	return 0;
}

struct scan_job *scan_job_open(const struct scan_request *req, bool *gone)
{
	struct scan_job *j = calloc(1, sizeof(*j));
	char err[256];

	*gone = false;
	if (!j)
		return NULL;
	j->req = req;
	j->t0 = mono_ns();
	j->pm.mem_fd = j->pm.pagemap_fd = -1;
	pthread_mutex_init(&j->lock, NULL);
	atomic_init(&j->reason, SCAN_REASON_NONE);
	if (procmem_open(req->child_pid, &j->pm, err, sizeof(err)) ||
	    procmem_maps_read(req->child_pid, &j->maps, err, sizeof(err))) {
		if (errno == ENOENT || errno == ESRCH)
			goto gone;
		j->unreadable_at_open = true; /* not permitted, out of memory: the result says so */
		return j;
	}
	if (j->maps.n == 0)
		goto gone; /* a zombie has no mappings */
	if (!req->no_glibc &&
	    scan_rules_init(&j->rules, req->parent_tids, req->nparent_tids, &j->maps))
		goto gone; /* no parent thread to look for: nothing this scan could find */
	if (plan(j)) {
		scan_job_free(j);
		return NULL;
	}
	return j;
gone:
	*gone = true;
	scan_job_free(j);
	return NULL;
}

int scan_job_pieces(const struct scan_job *j)
{
	return j->npieces;
}

const struct procmem *scan_job_mem(const struct scan_job *j)
{
	return &j->pm;
}

const struct procmem_maps *scan_job_maps(const struct scan_job *j)
{
	return &j->maps;
}

/* ---------------------------------------------------------------- the result */

static int lock_rank(const struct scan_lock *l)
{
	return l->type == LOCK_RWLOCK_WRITE ? 2 : 1; /* the rwlock rule is the stricter */
}

static size_t lock_size(const struct scan_lock *l)
{
	return l->type == LOCK_RWLOCK_WRITE ? GLIBC_RWLOCK_SIZE : GLIBC_MUTEX_SIZE;
}

static int cmp_lock(const void *a, const void *b)
{
	const struct scan_lock *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* Address order, and each lock once: of two overlapping matches (or the
 * same lock seen by two pieces across their seam) keep the stricter. */
static void dedup(struct scan_result *res)
{
	int n = 0;

	if (res->nlocks > 1) /* qsort(NULL, 0) is undefined */
		qsort(res->locks, res->nlocks, sizeof(*res->locks), cmp_lock);
	for (int i = 0; i < res->nlocks; i++) {
		struct scan_lock *prev = n ? &res->locks[n - 1] : NULL;

		if (prev && prev->addr + lock_size(prev) > res->locks[i].addr) {
			if (lock_rank(&res->locks[i]) > lock_rank(prev))
				*prev = res->locks[i];
			continue;
		}
		res->locks[n++] = res->locks[i];
	}
	res->nlocks = n;
}

int scan_job_finish(struct scan_job *j, struct scan_result *res)
{
	enum scan_reason why = (enum scan_reason)atomic_load(&j->reason);

	memset(res, 0, sizeof(*res));
	res->ns = mono_ns() - j->t0;
	if (atomic_load(&j->gone) && atomic_load(&j->bytes) == 0 && why == SCAN_REASON_NONE)
		return -1; /* gone before anything was read: nothing of the parent is left */
	if (atomic_load(&j->gone))
		incomplete(j, SCAN_REASON_EXIT);
	if (j->unreadable_at_open || j->oom)
		incomplete(j, SCAN_REASON_UNREADABLE);
	why = (enum scan_reason)atomic_load(&j->reason);
	*res = j->res;
	memset(&j->res, 0, sizeof(j->res));
	dedup(res);
	res->bytes = atomic_load(&j->bytes);
	res->ns = mono_ns() - j->t0;
	res->complete = why == SCAN_REASON_NONE;
	res->reason = why;
	if (j->unreadable_at_open || j->oom) {
		/* what was found of a scan that failed is not a result to trust */
		scan_result_free(res);
	}
	return 0;
}

void scan_job_free(struct scan_job *j)
{
	if (!j)
		return;
	scan_result_free(&j->res);
	free(j->pieces);
	scan_rules_free(&j->rules);
	procmem_maps_free(&j->maps);
	procmem_close(&j->pm);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

/* ---------------------------------------------------------------- one thread */

int scan_child(const struct scan_request *req, struct scan_result *res, char *err, size_t errlen)
{
	unsigned char *buf;
	struct scan_job *j;
	bool gone;
	int ret;

	memset(res, 0, sizeof(*res));
	j = scan_job_open(req, &gone);
	if (!j && gone) {
		snprintf(err, errlen, "child exited");
		return -1;
	}
	buf = malloc(SCAN_READ_SIZE);
	if (!j || !buf) {
		/* nothing could be read: a result that says so, not silence */
		free(buf);
		scan_job_free(j);
		res->complete = false;
		res->reason = SCAN_REASON_UNREADABLE;
		return 0;
	}
	for (int i = 0; i < scan_job_pieces(j); i++)
		scan_job_run_piece(j, i, buf);
	free(buf);
	ret = scan_job_finish(j, res);
	scan_job_free(j);
	if (ret)
		snprintf(err, errlen, "child exited");
	return ret;
}
