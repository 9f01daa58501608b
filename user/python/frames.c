/*
 * A thread's Python frames (py_priv.h): 3.6-3.10 chain PyFrameObjects
 * (f_back, f_lasti a byte offset, 3.10 an instruction index); 3.11+ chain
 * _PyInterpreterFrames (previous; the instruction pointer into the code
 * object's co_code_adaptive). Shim frames that C code pushes (3.12+) and
 * frames whose code is not a code object are skipped. Code objects are
 * decoded once per reading pass.
 */
#include <stdlib.h>
#include <string.h>
#include "python/linetable.h"
#include "python/py_priv.h"
#include "util/clock.h"

/* Frames walked at most (to count the omitted ones), whatever the depth limit. */
#define MAX_WALK 4096
#define LINETABLE_MAX (PY_MEM_MAX_READ)
#define CODE_SLOTS 64

struct code_info {
	uint64_t addr; /* 0: empty */
	bool ok;
	char func[256], file[PY_NAME_MAX];
	int firstlineno;
	int64_t units; /* 3.11+: code units in co_code_adaptive, -1 unknown */
	uint8_t *tab;
	size_t tablen;
};

struct py_code_cache {
	struct code_info slot[CODE_SLOTS];
};

struct py_code_cache *py_code_cache_new(void)
{
	return calloc(1, sizeof(struct py_code_cache));
}

void py_code_cache_free(struct py_code_cache *cc)
{
	if (!cc)
		return;
	for (int i = 0; i < CODE_SLOTS; i++)
		free(cc->slot[i].tab);
	free(cc);
}

static void read_code(struct py_ctx *c, uint64_t code, struct code_info *ci)
{
	const struct py_layout *l = c->l;
	uint64_t filename, name, table, tsize, size;
	int32_t first;

	ci->ok = false;
	ci->units = -1;
	if (!py_is_type(c, code, c->p->s.code_type) ||
	    py_mem_ptr(c->m, code + l->co_filename, &filename) ||
	    py_mem_ptr(c->m, code + (l->co_qualname >= 0 ? l->co_qualname : l->co_name), &name) ||
	    py_mem_ptr(c->m, code + l->co_linetable, &table) ||
	    py_mem_read(c->m, code + l->co_firstlineno, &first, sizeof(first)) ||
	    py_str(c, name, ci->func, sizeof(ci->func)) ||
	    py_str(c, filename, ci->file, sizeof(ci->file)))
		return;
	ci->firstlineno = first > 0 ? first : 0;
	/* the line table is a bytes object */
	if (py_is_type(c, table, c->p->s.bytes_type) &&
	    py_mem_u64(c->m, table + l->bytes_size, &tsize) == 0 && tsize <= LINETABLE_MAX) {
		ci->tab = tsize ? malloc(tsize) : NULL;
		if (ci->tab && py_mem_read(c->m, table + l->bytes_data, ci->tab, tsize) == 0) {
			ci->tablen = tsize;
		} else {
			free(ci->tab);
			ci->tab = NULL;
		}
	}
	/* 3.11+ code objects are sized by their code units */
	if (l->frames == PY_FRAMES_INTERP && py_mem_u64(c->m, code + 16, &size) == 0 &&
	    size < (1u << 28))
		ci->units = (int64_t)size;
	ci->ok = true;
}

static struct code_info *code_of(struct py_ctx *c, struct py_code_cache *cc, uint64_t code)
{
	struct code_info *ci = &cc->slot[(code >> 4) % CODE_SLOTS];

	if (ci->addr != code) {
		free(ci->tab);
		memset(ci, 0, sizeof(*ci));
		ci->addr = code;
		read_code(c, code, ci);
	}
	return ci->ok ? ci : NULL;
}

static int line_at(const struct py_layout *l, const struct code_info *ci, int64_t lasti)
{
	if (lasti > INT32_MAX / 2)
		return 0;
	switch (l->lines) {
	case PY_LINES_LNOTAB:
		return py_line_lnotab(ci->tab, ci->tablen, ci->firstlineno, (int)lasti);
	case PY_LINES_310: return py_line_310(ci->tab, ci->tablen, ci->firstlineno, (int)lasti * 2);
	case PY_LINES_LOCATIONS:
		return py_line_locations(ci->tab, ci->tablen, ci->firstlineno, (int)lasti);
	}
	return 0;
}

/* One frame: its code and the index of its instruction; false to skip it. */
struct raw_frame {
	uint64_t code, next;
	int64_t lasti;
	bool skip;
};

static int read_frame(struct py_ctx *c, uint64_t f, struct raw_frame *r)
{
	const struct py_layout *l = c->l;

	r->skip = false;
	if (l->frames == PY_FRAMES_OBJECTS) {
		int32_t lasti;

		if (py_mem_u64(c->m, f + l->f_back, &r->next) ||
		    py_mem_u64(c->m, f + l->f_code, &r->code) ||
		    py_mem_read(c->m, f + l->f_lasti, &lasti, sizeof(lasti)))
			return -1;
		r->lasti = lasti;
	} else {
		uint64_t instr;
		uint8_t owner;

		if (py_mem_u64(c->m, f + l->if_previous, &r->next) ||
		    py_mem_u64(c->m, f + l->if_code, &r->code) ||
		    py_mem_u64(c->m, f + l->if_instr, &instr) ||
		    py_mem_read(c->m, f + l->if_owner, &owner, 1))
			return -1;
		r->code &= ~l->code_tag_bits;
		if (l->owner_cstack >= 0 && owner == l->owner_cstack)
			r->skip = true;
		r->lasti = ((int64_t)instr - (int64_t)(r->code + l->co_code_adaptive)) / 2;
	}
	if (r->next && !py_ptr_ok(r->next))
		return -1;
	return 0;
}

struct stack *py_frames(struct py_ctx *c, struct py_code_cache *cc, uint64_t tstate, int max_depth,
			uint64_t deadline_ns, bool *depth_cut, bool *time_cut)
{
	const struct py_layout *l = c->l;
	struct stack *s;
	uint64_t f;

	if (deadline_ns && mono_ns() > deadline_ns) {
		*time_cut = true;
		return NULL;
	}
	if (py_mem_u64(c->m, tstate + l->ts_frame, &f))
		return NULL;
	if (f && l->cframe_frame >= 0 &&
	    (!py_ptr_ok(f) || py_mem_u64(c->m, f + l->cframe_frame, &f)))
		return NULL;
	s = stack_new();
	if (!s)
		return NULL;
	for (int walked = 0; f && walked < MAX_WALK; walked++) {
		struct raw_frame r;
		struct code_info *ci;
		struct frame fr = { .lang = FRAME_PYTHON };

		if (!py_ptr_ok(f) || read_frame(c, f, &r))
			break;
		f = r.next;
		if (r.skip)
			continue;
		if (max_depth > 0 && s->count >= max_depth) {
			s->omitted++;
			*depth_cut = true;
			continue;
		}
		if (deadline_ns && mono_ns() > deadline_ns) {
			*time_cut = true;
			break;
		}
		ci = code_of(c, cc, r.code);
		if (!ci)
			continue;
		if (ci->units >= 0 && (r.lasti < -1 || r.lasti > ci->units))
			continue; /* an instruction outside its code: not this code's frame */
		fr.func = ci->func;
		fr.file = ci->file;
		fr.line = line_at(l, ci, r.lasti);
		if (stack_push(s, &fr))
			break;
	}
	return s;
}

int py_code_frame(struct py_ctx *c, struct py_code_cache *cc, uint64_t code, int64_t lasti,
		  struct frame *out)
{
	struct code_info *ci;

	if (!py_ptr_ok(code & ~c->l->code_tag_bits))
		return -1;
	code &= ~c->l->code_tag_bits;
	ci = code_of(c, cc, code);
	if (!ci || (ci->units >= 0 && (lasti < -1 || lasti > ci->units)))
		return -1;
	memset(out, 0, sizeof(*out));
	out->lang = FRAME_PYTHON;
	out->func = ci->func;
	out->file = ci->file;
	out->line = line_at(c->l, ci, lasti);
	return 0;
}
