/*
 * The fork-time held-lock scan: strict candidate rules for glibc 2.36
 * x86_64 locks, applied to every 8-byte aligned position of the child's
 * touched writable memory. See scan.h and HOST-FACTS.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <immintrin.h>
#include "locks/scan.h"
#include "util/clock.h"

#define PID_MAX_LIMIT (1u << 22)

/* __kind bits (glibc pthreadP.h) */
#define K_TYPE_MASK 0x3u /* timed(normal) 0, recursive 1, errorcheck 2, adaptive 3 */
#define K_RECURSIVE 1u
#define K_ADAPTIVE 3u
#define K_ROBUST 0x10u
#define K_PI 0x20u
#define K_PP 0x40u
#define K_PSHARED 0x80u
#define K_ELISION 0x100u
#define K_NO_ELISION 0x200u
#define K_ALL 0x3f3u /* 0x4 and 0x8 are never set */

/* __lock bits for robust and PI mutexes (linux/futex.h) */
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define PP_CEILING_SHIFT 19
#define PP_MAX_CEILING 99 /* sched_get_priority_max(SCHED_FIFO) */

#define MAX_RECURSION 1000 /* measured: deeper counts are not real locks */
#define MAX_SPINS 1000	   /* adaptive mutexes keep a running spin average (default cap 100) */
#define RWLOCK_WRPHASE_LOCKED 3u /* __readers: WRPHASE | WRLOCKED */

static uint32_t ld32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t ld64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int16_t ld16(const unsigned char *p)
{
	int16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* ---------------------------------------------------------------- the mutex rule */

/* The kinds pthread_mutex_init() can produce (observed on glibc 2.36). */
static bool kind_valid(uint32_t kind)
{
	uint32_t elision = kind & (K_ELISION | K_NO_ELISION);

	if (kind & ~K_ALL)
		return false;
	/* the elision bits only go with the default (timed) type */
	if (elision && ((kind & K_TYPE_MASK) || elision == (K_ELISION | K_NO_ELISION)))
		return false;
	if ((kind & K_ELISION) && (kind & (K_ROBUST | K_PI | K_PP)))
		return false;
	/* robust mutexes always carry the pshared bit: the kernel wakes them shared */
	if ((kind & K_ROBUST) && !(kind & K_PSHARED))
		return false;
	/* glibc has no robust or PI priority-protect mutex */
	if ((kind & K_PP) && (kind & (K_ROBUST | K_PI)))
		return false;
	return true;
}

/* __lock of a locked mutex of this kind, owned by owner. */
static bool lock_word_valid(uint32_t kind, uint32_t lock, uint32_t owner)
{
	if (kind & (K_ROBUST | K_PI))
		return (lock & ~FUTEX_WAITERS) == owner; /* the kernel's futex owner */
	if (kind & K_PP) {
		uint32_t state = lock & ((1u << PP_CEILING_SHIFT) - 1);

		return (state == 1 || state == 2) && lock >> PP_CEILING_SHIFT <= PP_MAX_CEILING;
	}
	return lock == 1 || lock == 2; /* locked, locked with waiters */
}

static bool count_valid(uint32_t kind, uint32_t count)
{
	if ((kind & K_TYPE_MASK) == K_RECURSIVE)
		return count >= 1 && count <= MAX_RECURSION;
	if (kind & (K_ROBUST | K_PI | K_PP))
		return count == 1;
	return count == 0;
}

static bool spins_valid(uint32_t kind, int16_t spins)
{
	/* only adaptive mutexes update __spins; HOST-FACTS' "zero" misses contended ones */
	if ((kind & (K_TYPE_MASK | K_ROBUST | K_PI | K_PP)) == K_ADAPTIVE)
		return spins >= 0 && spins <= MAX_SPINS;
	return spins == 0;
}

/* A robust list entry: 8-aligned and inside the process's memory. */
static bool robust_ptr_valid(uint64_t ptr, const struct procmem_maps *maps)
{
	return ptr && !(ptr & 7) && procmem_maps_contains(maps, ptr);
}

static bool list_valid(uint32_t kind, const unsigned char *p, const struct procmem_maps *maps)
{
	uint64_t prev = ld64(p + 24), next = ld64(p + 32);

	if (!(kind & K_ROBUST))
		return prev == 0 && next == 0;
	if (!maps)
		return false;
	/* bit 0 of __next marks the next entry as a PI mutex */
	return robust_ptr_valid(prev, maps) && robust_ptr_valid(next & ~1ULL, maps);
}

int scan_mutex_owner(const unsigned char *p, unsigned max_users, const struct procmem_maps *maps)
{
	uint32_t lock = ld32(p), count = ld32(p + 4), owner = ld32(p + 8);
	uint32_t nusers = ld32(p + 12), kind = ld32(p + 16);

	/*
	 * glibc counts the holder in __nusers (cond_wait keeps it counted), so a
	 * held mutex has at least 1. Not in HOST-FACTS' rules: without it a
	 * CPython int holding a thread's native id (ob_size, digit, zeros)
	 * matches on every Python fork. Lost: a fork in the two instructions
	 * between glibc setting __owner and __nusers.
	 */
	if (!owner || owner > PID_MAX_LIMIT || nusers < 1 || nusers > max_users)
		return 0;
	if (!kind_valid(kind) || !lock_word_valid(kind, lock, owner) || !count_valid(kind, count))
		return 0;
	if (!spins_valid(kind, ld16(p + 20)) || ld16(p + 22) != 0)
		return 0;
	if (!list_valid(kind, p, maps))
		return 0;
	return (int)owner;
}

bool scan_mutex_is_robust(const unsigned char *p)
{
	return (ld32(p + 16) & K_ROBUST) != 0;
}

/* ---------------------------------------------------------------- the rwlock rule */

int scan_rwlock_writer(const unsigned char *p, unsigned max_users)
{
	uint32_t readers = ld32(p), writers = ld32(p + 4);
	uint32_t wrphase_futex = ld32(p + 8), writers_futex = ld32(p + 12);
	uint32_t writer = ld32(p + 24), shared = ld32(p + 28), flags = ld32(p + 48);

	if ((readers & RWLOCK_WRPHASE_LOCKED) != RWLOCK_WRPHASE_LOCKED || readers >> 3 > max_users)
		return 0;
	/* bit 31 of __writers is the write-phase handover flag; the rest count waiting writers */
	if ((writers & 0x7fffffffu) > max_users)
		return 0;
	/* 1 = write phase / write-locked, 2 = a waiter used the futex */
	if ((wrphase_futex != 1 && wrphase_futex != 3) ||
	    (writers_futex != 1 && writers_futex != 3))
		return 0;
	if (ld32(p + 16) || ld32(p + 20) || ld64(p + 32) || ld64(p + 40))
		return 0; /* __pad3, __pad4, __rwelision + __pad1, __pad2 */
	if (!writer || writer > PID_MAX_LIMIT || shared > 1 || flags > 2)
		return 0; /* __flags: prefer reader, prefer writer, prefer writer non-recursive */
	return (int)writer;
}

/* ---------------------------------------------------------------- rules */

int scan_rules_init(struct scan_rules *r, const int *tids, int ntids,
		    const struct procmem_maps *maps)
{
	uint32_t lo = UINT32_MAX, hi = 0;
	int n = 0;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < ntids; i++) {
		if (tids[i] <= 0 || (uint32_t)tids[i] > PID_MAX_LIMIT)
			continue; /* not a tid: it cannot be stored as an owner */
		lo = (uint32_t)tids[i] < lo ? (uint32_t)tids[i] : lo;
		hi = (uint32_t)tids[i] > hi ? (uint32_t)tids[i] : hi;
		n++;
	}
	if (!n)
		return -1;
	r->tid_bits = calloc((hi - lo) / 8 + 1, 1);
	if (!r->tid_bits)
		return -1;
	for (int i = 0; i < ntids; i++) {
		uint32_t t = (uint32_t)tids[i];

		if (tids[i] > 0 && t >= lo && t <= hi)
			r->tid_bits[(t - lo) / 8] |= (uint8_t)(1u << ((t - lo) % 8));
	}
	r->tid_min = lo;
	r->tid_span = hi - lo;
	/* every user of a lock is a thread of the parent */
	r->max_users = (unsigned)n;
	r->maps = maps;
	return 0;
}

void scan_rules_free(struct scan_rules *r)
{
	free(r->tid_bits);
	r->tid_bits = NULL;
}

static inline bool has_tid(const struct scan_rules *r, uint32_t v)
{
	uint32_t d = v - r->tid_min; /* wraps for v < tid_min: one compare for the range */

	return d <= r->tid_span && (r->tid_bits[d / 8] >> (d % 8) & 1);
}

bool scan_rules_has_tid(const struct scan_rules *r, int tid)
{
	return tid > 0 && has_tid(r, (uint32_t)tid);
}

bool scan_is_mutex(const struct scan_rules *r, const unsigned char *p, int *owner)
{
	int o = scan_mutex_owner(p, r->max_users, r->maps);

	if (!o || !has_tid(r, (uint32_t)o))
		return false;
	*owner = o;
	return true;
}

bool scan_is_rwlock(const struct scan_rules *r, const unsigned char *p, int *owner)
{
	int o = scan_rwlock_writer(p, r->max_users);

	if (!o || !has_tid(r, (uint32_t)o))
		return false;
	*owner = o;
	return true;
}

/* ---------------------------------------------------------------- buffers */

static int add_lock(struct scan_result *res, uint64_t addr, enum lock_type type, int owner)
{
	/* a child holds a few locks: grow 16 at a time */
	if ((res->nlocks & 15) == 0) {
		struct scan_lock *nv = realloc(res->locks, (res->nlocks + 16) * sizeof(*nv));

		if (!nv)
			return -1;
		res->locks = nv;
	}
	res->locks[res->nlocks++] = (struct scan_lock){ .addr = addr, .type = type, .owner_tid = owner };
	return 0;
}

/* Looks at the lock whose owner word is at w (q points at it in memory). */
static int check_word(struct scan_buffer_state *st, uint64_t base, uint64_t w,
		      const unsigned char *q)
{
	const struct scan_rules *r = st->rules;
	int owner;

	/* a lock that starts before what we have starts in untouched (zero) memory */
	if (w >= 24 && w - 24 >= base && scan_is_rwlock(r, q - 24, &owner) &&
	    add_lock(st->res, w - 24, LOCK_RWLOCK_WRITE, owner))
		return -1;
	if (w >= 8 && w - 8 >= base && scan_is_mutex(r, q - 8, &owner) &&
	    add_lock(st->res, w - 8, LOCK_MUTEX, owner))
		return -1;
	return 0;
}

/*
 * Could one of the 8 owner words in the 64 bytes at q be a tid? Each is the
 * low half of a 64-bit word: a range compare on lanes 0 and 2 of each 16
 * bytes (SSE2 has no unsigned compare: flip the sign bit).
 */
static inline bool any_in_range(const unsigned char *q, uint32_t min, uint32_t span)
{
#ifdef __SSE2__
	const __m128i flip = _mm_set1_epi32(INT32_MIN);
	const __m128i vmin = _mm_set1_epi32((int)min),
		      lim = _mm_set1_epi32((int)(span ^ 0x80000000u));
	__m128i out = _mm_set1_epi32(-1);

	for (int i = 0; i < 64; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(q + i));

		v = _mm_xor_si128(_mm_sub_epi32(v, vmin), flip);
		out = _mm_and_si128(out, _mm_cmpgt_epi32(v, lim));
	}
	return (_mm_movemask_ps(_mm_castsi128_ps(out)) & 0x5) != 0x5;
#else
	bool hit = false;

	for (int i = 0; i < 64; i += 8)
		hit |= ld32(q + i) - min <= span;
	return hit;
#endif
}

/*
 * The same for n blocks of 64 bytes from q, 32 bytes to a compare: the
 * index of the first block where an owner word may be a tid (n if none).
 */
__attribute__((target("avx2"))) static size_t skip_blocks_avx2(const unsigned char *q, size_t n,
								uint32_t min, uint32_t span)
{
	const __m256i flip = _mm256_set1_epi32(INT32_MIN);
	const __m256i vmin = _mm256_set1_epi32((int)min),
		      lim = _mm256_set1_epi32((int)(span ^ 0x80000000u));
	size_t k = 0;

	for (; k < n; k++) {
		const unsigned char *b = q + k * 64;
		__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)b);
		__m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(b + 32));
		__m256i ox = _mm256_cmpgt_epi32(_mm256_xor_si256(_mm256_sub_epi32(x, vmin), flip), lim);
		__m256i oy = _mm256_cmpgt_epi32(_mm256_xor_si256(_mm256_sub_epi32(y, vmin), flip), lim);

		/* lanes 0, 2, 4, 6 of each half are the owner words: all outside? */
		if ((_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_and_si256(ox, oy))) & 0x55) != 0x55)
			break;
	}
	return k;
}

static size_t skip_blocks(const unsigned char *q, size_t n, uint32_t min, uint32_t span)
{
	size_t k = 0;

	/* (a load and a test: libgcc reads the CPU's features at start-up) */
	if (__builtin_cpu_supports("avx2"))
		return skip_blocks_avx2(q, n, min, span);
	while (k < n && !any_in_range(q + k * 64, min, span))
		k++;
	return k;
}

/*
 * Looks at the owner words of data (the bytes at base) from st->next_word on.
 * A mutex has its owner at +8 and a rwlock its writer at +24; both end 32
 * bytes after that word. A range compare rejects almost every word, 8 at a
 * time (with AVX2, 32 bytes to a compare): this loop cost 12% of the scan
 * with SSE2 (perf), the kernel's copies the rest.
 */
static int scan_words(struct scan_buffer_state *st, uint64_t base, const unsigned char *data,
		      size_t len)
{
	const struct scan_rules *r = st->rules;
	uint64_t w = st->next_word > base ? st->next_word : base;
	uint64_t last; /* the last owner word whose lock fits in data */

	w = (w + 7) & ~7ULL;
	if (len < 32 || w > base + len - 32) {
		st->next_word = w;
		return 0;
	}
	last = base + len - 32;
	for (; w + 56 <= last; w += 64) {
		const unsigned char *q = data + (w - base);
		size_t skip = skip_blocks(q, (last - w - 56) / 64 + 1, r->tid_min, r->tid_span);

		w += skip * 64;
		q += skip * 64;
		if (w + 56 > last)
			break;
		for (int i = 0; i < 64; i += 8)
			if (has_tid(r, ld32(q + i)) && check_word(st, base, w + i, q + i))
				return -1;
	}
	for (; w <= last; w += 8)
		if (has_tid(r, ld32(data + (w - base))) &&
		    check_word(st, base, w, data + (w - base)))
			return -1;
	st->next_word = w;
	return 0;
}

void scan_buffer_begin(struct scan_buffer_state *st, const struct scan_rules *r,
		       struct scan_result *res)
{
	memset(st, 0, sizeof(*st));
	st->rules = r;
	st->res = res;
}

void scan_buffer_break(struct scan_buffer_state *st)
{
	st->tail_len = 0;
	st->next_word = 0;
}

/* Keeps the last bytes of the contiguous range for the next buffer. */
static void keep_tail(struct scan_buffer_state *st, uint64_t addr, const unsigned char *buf,
		      size_t len)
{
	size_t keep = sizeof(st->tail);

	if (len >= keep) {
		memcpy(st->tail, buf + len - keep, keep);
	} else {
		size_t old = st->tail_len + len > keep ? keep - len : st->tail_len;

		memmove(st->tail, st->tail + st->tail_len - old, old);
		memcpy(st->tail + old, buf, len);
		keep = old + len;
	}
	st->tail_len = keep;
	st->tail_addr = addr + len - keep;
}

int scan_buffer(struct scan_buffer_state *st, uint64_t addr, const unsigned char *buf, size_t len)
{
	if (st->tail_len && st->tail_addr + st->tail_len == addr) {
		/* the seam: the previous tail and the start of this buffer, side by side */
		unsigned char seam[2 * sizeof(st->tail)];
		size_t head = len < sizeof(st->tail) ? len : sizeof(st->tail);

		memcpy(seam, st->tail, st->tail_len);
		memcpy(seam + st->tail_len, buf, head);
		if (scan_words(st, st->tail_addr, seam, st->tail_len + head))
			return -1;
	} else {
		scan_buffer_break(st);
	}
	if (scan_words(st, addr, buf, len))
		return -1;
	keep_tail(st, addr, buf, len);
	return 0;
}

void scan_result_free(struct scan_result *res)
{
	free(res->locks);
	res->locks = NULL;
	res->nlocks = 0;
}
