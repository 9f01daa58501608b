/* Native and Python frames interleaved (see interleave.h). */
#include <string.h>
#include "stacks/interleave.h"

static bool is_eval_loop(const struct frame *f)
{
	return f->lang == FRAME_C && f->func && !strcmp(f->func, "_PyEval_EvalFrameDefault");
}

static int push_range(struct stack *d, const struct stack *s, int from, int to)
{
	for (int i = from; i < to; i++)
		if (stack_push(d, &s->frames[i]))
			return -1;
	return 0;
}

struct stack *stacks_interleave(const struct stack *native, const struct stack *py)
{
	int loops = 0, seen = 0, next_py = 0, np;
	struct stack *d;

	if (!native || !py)
		return stack_dup(native ? native : py);
	if (!(d = stack_new()))
		return NULL;
	np = py->count;
	for (int i = 0; i < native->count; i++)
		loops += is_eval_loop(&native->frames[i]);
	for (int i = 0; i < native->count; i++) {
		const struct frame *f = &native->frames[i];
		int take;

		if (!is_eval_loop(f) || next_py >= np) {
			if (stack_push(d, f))
				goto fail;
			continue;
		}
		seen++;
		take = loops >= np ? 1 : seen < loops ? 1 : np - next_py;
		if (push_range(d, py, next_py, next_py + take))
			goto fail;
		next_py += take;
	}
	if (push_range(d, py, next_py, np))
		goto fail;
	d->omitted = native->omitted + py->omitted;
	d->running = native->running || py->running;
	return d;
fail:
	stack_free(d);
	return NULL;
}
