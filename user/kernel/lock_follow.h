/*
 * --locks=uprobe: which processes carry lock probes, as they come and go.
 * Roots get them at attach (a COMMAND before its exec), forked children
 * when their fork record arrives, exec'd processes once the dynamic loader
 * has mapped their libc. Every function accepts NULL (another lock mode).
 */
#ifndef FT_LOCK_FOLLOW_H
#define FT_LOCK_FOLLOW_H

#include <stdbool.h>

struct lock_follow;
struct uprobes;

/* NULL after one line on stderr. */
struct lock_follow *lock_follow__new(struct uprobes *u);
void lock_follow__free(struct lock_follow *lf);
/* A root target: probes now. */
void lock_follow__pid(struct lock_follow *lf, int pid);
/* The records that move probes. */
void lock_follow__fork(struct lock_follow *lf, int child_pid, bool shares_vm);
void lock_follow__exec(struct lock_follow *lf, int pid);
void lock_follow__exit(struct lock_follow *lf, int pid);
/* Retries the processes waiting for their libc; gives up after a second. */
void lock_follow__tick(struct lock_follow *lf);
/* The poll timeout to use: short while a process waits for its libc. */
int lock_follow__timeout(const struct lock_follow *lf, int timeout_ms);

#endif
