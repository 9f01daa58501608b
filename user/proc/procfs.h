/* Readers of /proc text for processes and threads. Everything read here is
 * untrusted (names are chosen by the traced program). */
#ifndef FT_PROCFS_H
#define FT_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Reads a small /proc file whole (up to size - 1 bytes), NUL-terminated:
 * its length, or -1 with errno set. */
int procfs_read_text(const char *path, char *buf, size_t size);
/* Thread name from /proc/PID/task/TID/comm, trailing newline removed. */
int procfs_thread_comm(int pid, int tid, char *buf, size_t size);
/* Every tid of PID, sorted; *tids is malloc'd. Returns the count or -1. */
int procfs_tids(int pid, int **tids);
/* Parent pid from /proc/PID/status, or -1. */
int procfs_ppid(int pid);
/* Does a process (thread group leader or thread) with this id exist? */
bool procfs_exists(int pid);
/* The signals a thread catches (SigCgt: bit N-1 for signal N): 0, or -1. */
int procfs_caught_signals(int pid, int tid, uint64_t *mask);
/* Is tid a thread of pid? */
bool procfs_has_thread(int pid, int tid);

/* The id a thread has in its own pid namespace (the last NSpid field):
 * what glibc stores as a lock's owner. The tid itself when not nested. */
int procfs_ns_tid(int pid, int tid);

/* The address of the process's argv in its memory (stat's arg_start): a
 * forked child has its parent's until it exec's a new image. 0, or -1. */
int procfs_arg_start(int pid, uint64_t *v);

#endif
