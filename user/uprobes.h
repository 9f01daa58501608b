/*
 * --locks=uprobe: the lock uprobes (bpf/locks.bpf.c) on each traced
 * process's own glibc, keeping the shared held_locks map exact.
 *
 * Usage: after loading proc.bpf.c with lock_uprobes = true, uprobes__open
 * with its traced, held_locks and events map fds; then uprobes__attach_pid
 * for each root target and for each forked child when its REC_FORK
 * arrives, and uprobes__detach_pid when a process exits or exec's.
 *
 * Races and limits the caller should know:
 *  - A child runs from its fork until uprobes__attach_pid returns: locks
 *    it takes and releases in between are not seen, and a lock it takes
 *    then and still holds is missed (its later release is harmless).
 *  - Locks held before the attach are not known (the scan mode finds
 *    mutexes; the futex watcher confirms deadlocks).
 *  - The locks the forking thread held stay held in the child by its
 *    main thread; they are recorded under the parent only.
 *  - A uprobe covers a process's threads, not its children; and it
 *    follows the process across exec as long as the new image maps the
 *    same libc. uprobes__detach_pid also forgets the process's held locks.
 *  - Each attached process adds ~45 perf-event fds (uprobes__open raises
 *    RLIMIT_NOFILE's soft limit to the hard one) and one more consumer
 *    that every hit on the same libc walks.
 *  - glibc only (2.17+; libpthread.so.0 is used where it still holds the
 *    pthread functions). musl and static binaries are not followed.
 *
 * FORKTRACE_UPROBE_AT_SYMBOL=1 in the environment puts every probe on its
 * function's first instruction instead of the cheaper point found by
 * elfsym_probe_offset (for comparison, and as an escape hatch).
 */
#ifndef FT_UPROBES_H
#define FT_UPROBES_H

#include <stddef.h>
#include <stdint.h>

struct uprobes;

/* Opens and loads locks.bpf.c reusing the lead's maps so that every object
 * shares them; NULL after filling err with one line
 * "forktrace: cannot ...: ... — what to do". */
struct uprobes *uprobes__open(int traced_fd, int held_locks_fd, int events_fd, char *err,
			      size_t errlen);

/*
 * Finds the glibc that PID maps, resolves its lock functions (cached per
 * file) and attaches every probe for this pid. 0: attached (or already
 * was); 1: the process maps no dynamic glibc (err has a one-line notice);
 * -1: error (err filled; errno ESRCH when the process is already gone,
 * which a caller racing a short-lived child may ignore). All or nothing.
 */
int uprobes__attach_pid(struct uprobes *u, int pid, char *err, size_t errlen);

/* Destroys that pid's links and forgets the locks it held (held_locks
 * entries of tgid PID). Call when it exits or exec's. No-op if unknown. */
void uprobes__detach_pid(struct uprobes *u, int pid);

/* What the lock programs could not record (held_locks full). */
uint64_t uprobes__dropped(const struct uprobes *u);

/* Links attached now, over every pid. */
int uprobes__links(const struct uprobes *u);

/* NULL-safe; destroys every link. */
void uprobes__free(struct uprobes *u);

#endif /* FT_UPROBES_H */
