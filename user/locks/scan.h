/*
 * The fork-time held-lock scan (--locks=scan).
 *
 * glibc records the owning thread in every locked pthread mutex (__owner)
 * and write-locked rwlock (__cur_writer). Right after a fork the child's
 * writable memory is the parent's, so reading it finds every lock that a
 * thread of the parent held at that instant. The candidate rules below are
 * the strict ones measured in HOST-FACTS.md (0 false candidates on a 637 MB
 * Python process seeded with its own tids); they know glibc 2.36 x86_64.
 *
 * A match is a candidate, not a proof: a byte-identical stale copy of a
 * locked mutex (memcpy, the old block after realloc) matches too, and so do
 * tables of small integers that hold the process's own tids (measured: 162
 * matches in 128 MiB of them). Candidates are corroborated (corroborate.h)
 * before they are warnings; a futex wait on the address (deadlock.h) is
 * the proof.
 */
#ifndef FT_SCAN_H
#define FT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "locks/glibc.h"
#include "out/event.h"
#include "proc/procmem.h"

/*
 * Words a caller also looks for in the same pass, for objects of its own
 * (a runtime's lock objects, found by their type pointer): every 8-byte
 * aligned word equal to one of words[] is handed to hit() with the bytes
 * from addr - before to addr + after when the read holds them all (obj NULL
 * at a read's edge: the caller reads them itself). Nothing else is kept.
 */
struct scan_watch {
	const uint64_t *words;
	int nwords; /* at most SCAN_WATCH_MAX */
	size_t before, after;
	void (*hit)(void *ctx, uint64_t addr, const unsigned char *obj);
	void *ctx;
};
#define SCAN_WATCH_MAX 16

struct scan_request {
	int child_pid;		/* the new child (its memory = the parent's at fork) */
	const int *parent_tids; /* every thread of the parent at the fork, as the lock
				      * words store them (the parent's pid namespace: NSpid) */
	int nparent_tids;
	int forker_tid;		/* the thread that forked (its locks are info, others warning) */
	uint64_t limit_bytes;	/* --scan-limit; 0: no limit */
	uint64_t time_limit_ns; /* 1 s; 0: no limit */
	bool no_glibc;		/* only the watch: no glibc rules (no tids needed) */
	const struct scan_watch *watch; /* NULL: none */
};

struct scan_lock {
	uint64_t addr;	     /* the lock's first byte in the child */
	enum lock_type type; /* LOCK_MUTEX or LOCK_RWLOCK_WRITE */
	int owner_tid;	     /* as stored in the lock (parent's namespace) */
	bool corroborated;   /* something else refers to it (corroborate.h) */
};

struct scan_result {
	struct scan_lock *locks; /* in address order, each lock once */
	int nlocks;
	uint64_t bytes;		 /* bytes of memory read */
	uint64_t ns;		 /* time the scan took */
	bool complete;		 /* false: a limit cut it short, or memory could not be read */
	enum scan_reason reason; /* why not complete (SCAN_REASON_NONE when complete) */
};

/*
 * Scans the child's writable memory. The child is not stopped and its
 * memory does not grow (see procmem.h). Returns 0 with *res filled (free it
 * with scan_result_free), or -1 with err filled: "child exited" when the
 * child exited or exec'd before or during the scan (no result then). A
 * child whose memory cannot be read at all (not permitted, out of memory)
 * is a result: incomplete, with SCAN_REASON_UNREADABLE.
 */
int scan_child(const struct scan_request *req, struct scan_result *res, char *err, size_t errlen);
void scan_result_free(struct scan_result *res);

/* ---------------------------------------------------------------- the rules (pure) */

/* Who may own a lock: the parent's tids, and what memory exists (for robust lists). */
struct scan_rules {
	uint32_t tid_min, tid_span;	 /* every tid is in [tid_min, tid_min + tid_span] */
	uint8_t *tid_bits;		 /* bitmap over that range */
	unsigned max_users;		 /* bound for __nusers and waiter counts */
	const struct procmem_maps *maps; /* NULL: no robust mutex can match */
};

/* 0, or -1 (no tids, or out of memory). The rules keep a pointer to maps. */
int scan_rules_init(struct scan_rules *r, const int *tids, int ntids,
		    const struct procmem_maps *maps);
void scan_rules_free(struct scan_rules *r);
bool scan_rules_has_tid(const struct scan_rules *r, int tid);

/*
 * Does p (GLIBC_MUTEX_SIZE bytes, any alignment) look like a locked glibc
 * mutex? Returns its __owner (> 0) or 0. Checks everything but who the owner
 * is: __nusers <= max_users, robust list pointers inside maps.
 */
int scan_mutex_owner(const unsigned char *p, unsigned max_users, const struct procmem_maps *maps);
/* Does p claim to be a robust mutex (whose check needs the maps)? */
bool scan_mutex_is_robust(const unsigned char *p);
/* Does p (GLIBC_RWLOCK_SIZE bytes) look like a write-locked rwlock? __cur_writer or 0. */
int scan_rwlock_writer(const unsigned char *p, unsigned max_users);

/* The same, with the owner required to be one of the rules' tids. */
bool scan_is_mutex(const struct scan_rules *r, const unsigned char *p, int *owner);
bool scan_is_rwlock(const struct scan_rules *r, const unsigned char *p, int *owner);

/*
 * Scans a buffer of memory. Buffers of one contiguous range are fed in
 * order; the scanner carries the tail of one into the next so that a lock
 * straddling two reads is seen once. A lock must lie entirely inside one
 * contiguous range that was fed.
 */
struct scan_buffer_state {
	const struct scan_rules *rules;
	uint64_t next_word;	/* first owner-word address not yet looked at */
	unsigned char tail[64]; /* the last bytes fed, for the next buffer */
	uint64_t tail_addr;
	size_t tail_len;
	struct scan_result *res; /* findings are appended here */
};

void scan_buffer_begin(struct scan_buffer_state *st, const struct scan_rules *r,
		       struct scan_result *res);
/* Starts a new contiguous range: nothing is carried over. */
void scan_buffer_break(struct scan_buffer_state *st);
/* buf holds the bytes at addr (addr 8-aligned). 0, or -1 when out of memory. */
int scan_buffer(struct scan_buffer_state *st, uint64_t addr, const unsigned char *buf, size_t len);

#endif /* FT_SCAN_H */
