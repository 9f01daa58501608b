/*
 * The model of traced processes: their threads (with names), their forks,
 * and the grace rule. Kernel records go in; events come out through the
 * output. It owns no kernel resources, so it can be tested without BPF.
 */
#ifndef FT_MODEL_H
#define FT_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "cli/options.h"
#include "out/output.h"

struct model;

/* mono_to_real: add to a CLOCK_MONOTONIC time to get CLOCK_REALTIME. */
struct model *model__new(const struct options *opts, struct output *out, int64_t mono_to_real);
void model__free(struct model *m);

/* A root target: its threads are read from /proc now (-p) or it is the
 * held COMMAND (one thread). Emits its attach event. */
void model__add_root(struct model *m, int pid);
/* -a: emits the attach event (pid 0). */
void model__attach_all(struct model *m);
/* Emits the detach events of the roots still alive (pid 0 for -a). */
void model__detach(struct model *m);

/* One ring-buffer record (starts with struct rec_hdr). */
void model__record(struct model *m, const void *data, size_t size);
/* Acts on grace periods that ended by now (CLOCK_MONOTONIC ns). */
void model__tick(struct model *m, uint64_t now_mono);
/* The earliest pending deadline (CLOCK_MONOTONIC ns), or 0 if none. */
uint64_t model__next_deadline(const struct model *m);
/* Traced processes still alive (roots and descendants; not for -a). */
int model__live(const struct model *m);

#endif
