/* The BPF side of a tracing session: open, load, attach, poll, detach. */
#ifndef FT_SESSION_H
#define FT_SESSION_H

#include <stdint.h>
#include <bpf/libbpf.h>
#include "cli/options.h"

struct session;

/* Loads and attaches the programs. NULL after one line on stderr. */
struct session *session__open(const struct options *opts, ring_buffer_sample_fn on_record,
			      void *ctx);
/* Starts tracing a process (and, through the kernel, its descendants). */
int session__trace(struct session *s, int pid);
/* Waits up to timeout_ms for records and hands each to on_record. */
int session__poll(struct session *s, int timeout_ms);
/* Records the kernel side could not deliver, so far. */
uint64_t session__dropped(const struct session *s);
/* --locks=uprobe: follow the locks of this process (its libc's lock
 * functions get probes for this pid); a notice on stderr if it cannot. */
void session__follow_locks(struct session *s, int pid);
/* The same, silent when the process maps no libc yet: returns 1 then
 * (try again later), 0 once followed, -1 after a line on stderr. */
int session__try_follow_locks(struct session *s, int pid);
/* At its exec: the old image's held locks are forgotten; probes on the
 * same libc file carry over (session__try_follow_locks says). */
void session__exec_locks(struct session *s, int pid);
void session__unfollow_locks(struct session *s, int pid);
/* Detaches everything; NULL-safe. */
void session__close(struct session *s);

#endif
