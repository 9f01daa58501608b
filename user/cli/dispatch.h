/*
 * The one place that knows every ring-buffer record type: each record is
 * checked for its size and handed, typed, to the model and (uprobe mode)
 * to the lock probes' bookkeeping. A record of a type no one knows, or
 * shorter than its type, is counted, never dropped silently.
 */
#ifndef FT_DISPATCH_H
#define FT_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

struct model;
struct lock_follow;

struct dispatch {
	struct model *model;
	struct lock_follow *follow; /* NULL but with --locks=uprobe */
	uint64_t unknown;	    /* records of an unknown type, or too short */
};

/* A libbpf ring_buffer_sample_fn: ctx is a struct dispatch. Returns 0. */
int dispatch_record(void *ctx, void *data, size_t size);

#endif
