/*
 * Closing BPF links off the caller's thread. Closing a link waits for an
 * RCU tasks-trace grace period (~35 ms here), and perf-event uprobe links
 * are closed one at a time host-wide (event_mutex): a few threads close
 * them in parallel so that a detach never stalls the event loop.
 */
#ifndef FT_LINK_REAPER_H
#define FT_LINK_REAPER_H

#include <bpf/libbpf.h>

#define LINK_REAPER_THREADS 16 /* at most, and the default */

/* A link: a libbpf link (link != NULL), or a raw link fd (fd >= 0). */
struct linkref {
	struct bpf_link *link;
	int fd;
};

struct link_reaper;

/* NULL when out of memory. */
struct link_reaper *link_reaper__new(void);

/* How many threads may close links at once (1..LINK_REAPER_THREADS): 1
 * for perf-event links, which the kernel closes one at a time anyway. */
void link_reaper__set_threads(struct link_reaper *r, int max_threads);

/* Takes over n links (the array itself stays the caller's): they are
 * closed in the background, or here when no thread can be started. */
void link_reaper__hand(struct link_reaper *r, const struct linkref *links, int n);

/* Waits until every link handed over is closed, then frees r. NULL-safe. */
void link_reaper__free(struct link_reaper *r);

#endif /* FT_LINK_REAPER_H */
