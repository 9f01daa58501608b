/*
 * --locks=uprobe: the lock uprobes (bpf/locks.bpf.c) on each traced
 * process's own glibc, keeping the shared held_locks map exact.
 *
 * Usage: after loading proc.bpf.c with lock_uprobes = true, uprobes__open
 * with its traced, held_locks and events map fds; then uprobes__attach_pid
 * for each root target and for each forked child when its REC_FORK
 * arrives; uprobes__exec_pid at its REC_EXEC; uprobes__detach_pid at its
 * REC_EXIT; uprobes__free at the end.
 *
 * What the caller should know:
 *  - Attachments follow a process across exec(2) whenever the new image
 *    maps the same libc file. So `-- COMMAND` is best attached while the
 *    launcher's child still waits to exec: the command is then followed
 *    from its first instruction (its libc is normally forktrace's own).
 *  - A forked child runs from its fork until uprobes__attach_pid returns
 *    (~0.3 ms here): locks it takes in between are missed (their releases
 *    are harmless). Locks held before an attach are not known either.
 *  - The locks the forking thread held stay held in the child by its main
 *    thread; they are recorded under the parent only.
 *  - Closing links waits for RCU grace periods (~35 ms each here): detach
 *    and free hand them to background threads that close them in parallel;
 *    uprobes__free waits for them (~0.15 s for 20 processes, ~1 s for 100).
 *  - Links: 2 uprobe_multi links per process on kernels that have them
 *    (6.6+), else ~45 perf-event uprobes per process (closing those is
 *    serialized by the kernel, ~100 ms each); uprobes__open raises
 *    RLIMIT_NOFILE's soft limit to the hard one.
 *  - Every attached process adds a consumer to the same libc uprobes, and
 *    every hit walks them all: the cost per lock call grows by ~35 ns per
 *    other traced process.
 *  - glibc only (libpthread.so.0 is used where it still holds the pthread
 *    functions). musl and static binaries are not followed (attach says so).
 *
 * Environment (for comparison, and as escape hatches):
 *  FORKTRACE_UPROBE_AT_SYMBOL=1  probe each function's first instruction
 *                                instead of the cheaper point found by
 *                                x86probe_offset
 *  FORKTRACE_UPROBE_LINKS=perf|multi  force the kind of links
 */
#ifndef FT_UPROBES_H
#define FT_UPROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uprobes;

/* Opens and loads locks.bpf.c reusing the lead's maps so that every object
 * shares them (callers: record where each lock is taken, for --stacks);
 * NULL after filling err with one line "forktrace: cannot ...: ... — what
 * to do". */
struct uprobes *uprobes__open(int traced_fd, int held_locks_fd, int events_fd, bool callers,
			      char *err, size_t errlen);

/*
 * Finds the glibc that PID maps, resolves its lock functions (cached per
 * file) and attaches every probe for this pid. 0: attached (or already
 * was); 1: the process maps no dynamic glibc (err has a one-line notice);
 * -1: error (err filled; errno ESRCH when the process is already gone,
 * which a caller racing a short-lived child may ignore). All or nothing.
 */
int uprobes__attach_pid(struct uprobes *u, int pid, char *err, size_t errlen);

/* Closes that pid's links (in the background: see below) and forgets the
 * locks it held (held_locks entries of tgid PID). Call when it exits. */
void uprobes__detach_pid(struct uprobes *u, int pid);

/*
 * PID exec'd (the kernel side forgot the old image's held locks at the
 * instant of the exec, before the new image could take any): keeps the links,
 * which follow the process into the new image as soon as it maps the same
 * libc file (the kernel puts the breakpoints in at that mmap: no lock of
 * the new image is missed). The next uprobes__attach_pid(PID) checks: 0
 * when the new image maps the same glibc (nothing to do), 1 while it maps
 * none (not yet mapped by the dynamic loader, or static: retry a little
 * later), and a new attachment when it maps another one.
 */
void uprobes__exec_pid(struct uprobes *u, int pid);

/* What the lock programs could not record (held_locks full). */
uint64_t uprobes__dropped(const struct uprobes *u);

/* Links attached now, over every pid. */
int uprobes__links(const struct uprobes *u);

/* NULL-safe; destroys every link. */
void uprobes__free(struct uprobes *u);

#endif /* FT_UPROBES_H */
