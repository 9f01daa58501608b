/*
 * --locks=uprobe: which processes carry lock probes, as they come and go.
 * Roots get them at attach (a COMMAND before its exec), forked children
 * when their fork record arrives, exec'd processes once the dynamic loader
 * has mapped their libc. Every function accepts NULL (another lock mode).
 */
#ifndef FT_LOCK_FOLLOW_H
#define FT_LOCK_FOLLOW_H

#include <stddef.h>
#include "kernel/session.h"

struct lock_follow;

/* NULL after one line on stderr. */
struct lock_follow *lock_follow__new(struct session *s);
void lock_follow__free(struct lock_follow *lf);
/* A root target: probes now. */
void lock_follow__pid(struct lock_follow *lf, int pid);
/* One ring-buffer record: forks, execs and exits move the probes. */
void lock_follow__record(struct lock_follow *lf, const void *data, size_t size);
/* Retries the processes waiting for their libc; gives up after a second. */
void lock_follow__tick(struct lock_follow *lf);
/* The poll timeout to use: short while a process waits for its libc. */
int lock_follow__timeout(const struct lock_follow *lf, int timeout_ms);

#endif
