/* Ring-buffer records to their handlers (see dispatch.h). */
#include <stddef.h>
#include <string.h>
#include "cli/dispatch.h"
#include "forktrace.h"
#include "kernel/lock_follow.h"
#include "model/model.h"

/* The size each record type has at least. 0: not a type we know. */
static size_t record_size(uint32_t type)
{
	switch (type) {
	case REC_FORK: return sizeof(struct rec_fork);
	case REC_THREAD_NEW:
	case REC_THREAD_RENAME:
	case REC_THREAD_EXIT: return sizeof(struct rec_thread);
	case REC_EXEC: return sizeof(struct rec_exec);
	case REC_EXIT: return sizeof(struct rec_exit);
	case REC_HELD_LOCK: return sizeof(struct rec_held_lock);
	case REC_PY_STACK: return sizeof(struct rec_py_stack);
	case REC_FORK_REGS: return offsetof(struct rec_fork_regs, t);
	case REC_FORK_STACK: return offsetof(struct rec_fork_stack, data);
	}
	return 0;
}

int dispatch_record(void *ctx, void *data, size_t size)
{
	struct dispatch *d = ctx;
	const struct rec_hdr *h = data;
	size_t want;

	if (size < sizeof(*h) || !(want = record_size(h->type)) || size < want) {
		d->unknown++;
		return 0;
	}
	switch (h->type) {
	case REC_FORK: {
		const struct rec_fork *r = data;

		model__fork(d->model, r);
		lock_follow__fork(d->follow, r->child_pid, r->h.flags & FORK_SHARES_VM);
		break;
	}
	case REC_THREAD_NEW: model__thread_new(d->model, data); break;
	case REC_THREAD_RENAME: model__thread_rename(d->model, data); break;
	case REC_THREAD_EXIT: model__thread_exit(d->model, data); break;
	case REC_EXEC:
		model__exec(d->model, data);
		lock_follow__exec(d->follow, h->pid);
		break;
	case REC_EXIT:
		model__exit(d->model, data);
		lock_follow__exit(d->follow, h->pid);
		break;
	case REC_HELD_LOCK: model__held_lock(d->model, data); break;
	case REC_PY_STACK: model__py_stack(d->model, data); break;
	case REC_FORK_REGS: {
		const struct rec_fork_regs *r = data;
		size_t n = (size - offsetof(struct rec_fork_regs, t)) / sizeof(r->t[0]);
		struct rec_fork_regs copy;

		/* the record is sent only as long as its threads: the rest reads as none */
		memcpy(&copy, r, size < sizeof(copy) ? size : sizeof(copy));
		if (copy.count > n)
			copy.count = n;
		model__fork_regs(d->model, &copy);
		break;
	}
	case REC_FORK_STACK: model__fork_stack(d->model, data, size); break;
	}
	return 0;
}
