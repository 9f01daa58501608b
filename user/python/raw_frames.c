/*
 * The kernel side's view of an interpreter: where the fork tracepoint finds
 * the forking thread's frames (struct py_bpf_layout), and the raw frames it
 * copies there turned into Python frames; and a forked child's interpreter,
 * which is its parent's at the same addresses (see python.h).
 */
#include <stdlib.h>
#include <string.h>
#include "forktrace.h"
#include "python/py_priv.h"

int py_bpf_layout(struct py_process *p, struct py_bpf_layout *out)
{
	const struct py_layout *l = &p->l;
	struct py_procmem pm;
	struct py_mem m;
	uint64_t interp;
	int rc;

	memset(out, 0, sizeof(*out));
	if (py_procmem_open(&pm, p->pid, &m))
		return -1;
	rc = py_mem_ptr(&m, p->s.interp_root, &interp);
	py_procmem_close(&pm);
	if (rc || l->ts_thread_id < 0 || l->ts_frame < 0)
		return -1;
	out->interp = interp;
	out->interp_tstate_head = (uint32_t)l->interp_tstate_head;
	out->tstate_next = (uint32_t)l->ts_next;
	out->tstate_thread_id = (uint32_t)l->ts_thread_id;
	out->tstate_frame = (uint32_t)l->ts_frame;
	out->via_cframe = l->cframe_frame >= 0;
	out->cframe_frame = out->via_cframe ? (uint32_t)l->cframe_frame : 0;
	if (l->frames == PY_FRAMES_OBJECTS) {
		out->legacy = 1;
		out->frame_previous = (uint32_t)l->f_back;
		out->frame_code = (uint32_t)l->f_code;
		out->frame_instr = (uint32_t)l->f_lasti;
	} else {
		out->frame_previous = (uint32_t)l->if_previous;
		out->frame_code = (uint32_t)l->if_code;
		out->frame_instr = (uint32_t)l->if_instr;
		out->frame_owner = (uint32_t)l->if_owner;
		out->owner_cstack = l->owner_cstack >= 0 ? (uint8_t)l->owner_cstack : 0;
	}
	return 0;
}

struct stack *py_stack_from_raw(struct py_process *p, int mem_pid, const struct py_raw_frame *raw,
				int n, bool truncated)
{
	struct py_code_cache *cc = py_code_cache_new();
	struct stack *s = stack_new();
	struct py_procmem pm;
	struct py_ctx c = { .p = p, .l = &p->l };
	struct py_mem m;

	if (!cc || !s || py_procmem_open(&pm, mem_pid, &m)) {
		py_code_cache_free(cc);
		stack_free(s);
		return NULL;
	}
	c.m = &m;
	for (int i = 0; i < n; i++) {
		uint64_t code = raw[i].code & ~p->l.code_tag_bits;
		int64_t lasti;
		struct frame f;

		if (p->l.frames == PY_FRAMES_OBJECTS)
			lasti = (int64_t)raw[i].instr;
		else
			lasti = ((int64_t)raw[i].instr - (int64_t)(code + p->l.co_code_adaptive)) /
				2;
		if (py_code_frame(&c, cc, raw[i].code, lasti, &f) == 0 && stack_push(s, &f))
			break;
	}
	if (truncated)
		s->omitted++;
	py_procmem_close(&pm);
	py_code_cache_free(cc);
	if (!s->count) {
		stack_free(s);
		return NULL;
	}
	return s;
}

struct py_process *py_fork_copy(const struct py_process *p, int child_pid)
{
	struct py_process *c;

	if (!p || !(c = malloc(sizeof(*c))))
		return NULL;
	*c = *p;
	c->pid = child_pid;
	return c;
}
