/*
 * stacks: the sorted symbol table, reading a copied stack, and unwinding
 * this very test from its own registers (getcontext) over /proc/self/mem,
 * which must name the functions on the way, with file:line from DWARF.
 */
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include "stacks/stacks.h"
#include "stacks/interleave.h"
#include "stacks/symtab.h"
#include "unit.h"

TEST(symtab_finds_covering_symbol)
{
	struct symtab t = { 0 };
	uint64_t off = 0;

	CHECK(symtab_add(&t, 0x2000, 0x100, "b") == 0);
	CHECK(symtab_add(&t, 0x1000, 0x10, "a") == 0);
	CHECK(symtab_add(&t, 0x1000, 0, "a_alias") == 0);
	CHECK(symtab_add(&t, 0x3000, 0, "unsized") == 0);
	CHECK(symtab_add(&t, 0x3400, 0x10, "after") == 0);
	symtab_finish(&t);
	CHECK(t.n == 4);
	CHECK(symtab_find(&t, 0xfff, &off) == NULL);
	CHECK_STR(symtab_find(&t, 0x1000, &off), "a");
	CHECK(off == 0);
	CHECK_STR(symtab_find(&t, 0x100f, &off), "a");
	CHECK(off == 0xf);
	CHECK(symtab_find(&t, 0x1010, &off) == NULL); /* past a's size */
	CHECK_STR(symtab_find(&t, 0x20ff, &off), "b");
	CHECK_STR(symtab_find(&t, 0x33ff, &off), "unsized"); /* up to the next one */
	CHECK(off == 0x3ff);
	CHECK(symtab_find(&t, 0x3410, &off) == NULL);
	symtab_free(&t);
}

TEST(symtab_empty_finds_nothing)
{
	struct symtab t = { 0 };
	uint64_t off;

	symtab_finish(&t);
	CHECK(symtab_find(&t, 0x1000, &off) == NULL);
	symtab_free(&t);
}

TEST(stack_copy_reads_only_inside)
{
	const char data[16] = "0123456789abcdef";
	struct stacks_copy c = { .start = 0x1000, .data = data, .len = sizeof(data) };
	char buf[8];

	CHECK(stacks_read_copy(&c, 0xfff, buf, 8) == -1);
	CHECK(stacks_read_copy(&c, 0x1000, buf, 8) == 8 && !memcmp(buf, "01234567", 8));
	CHECK(stacks_read_copy(&c, 0x100c, buf, 8) == 4 && !memcmp(buf, "cdef", 4));
	CHECK(stacks_read_copy(&c, 0x1010, buf, 8) == -1);
	CHECK(stacks_read_copy(&c, UINT64_MAX, buf, 8) == -1);
}

static void regs_of(const ucontext_t *uc, uint64_t *r)
{
	static const int order[STACKS_NREGS] = { REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI,
						 REG_RDI, REG_RBP, REG_RSP, REG_R8,  REG_R9,
						 REG_R10, REG_R11, REG_R12, REG_R13, REG_R14,
						 REG_R15, REG_RIP };

	for (int i = 0; i < STACKS_NREGS; i++)
		r[i] = (uint64_t)uc->uc_mcontext.gregs[order[i]];
}

static bool has_func(const struct stack *st, const char *func, bool with_line)
{
	for (int i = 0; i < st->count; i++)
		if (st->frames[i].func && !strcmp(st->frames[i].func, func))
			return !with_line || (st->frames[i].file && st->frames[i].line > 0);
	return false;
}

static __attribute__((noinline)) struct stack *unwind_here(struct stacks *s)
{
	uint64_t regs[STACKS_NREGS];
	ucontext_t uc;

	getcontext(&uc);
	regs_of(&uc, regs);
	return stacks__unwind_proc(s, getpid(), getpid(), regs);
}

TEST(unwinds_itself_with_lines)
{
	struct stacks *s = stacks__new(NULL);
	struct stack *st, *again;
	struct stacks_stats stats;

	CHECK(s);
	st = unwind_here(s);
	if (!st) {
		stacks__free(s);
		CHECK(!"no stack");
	}
	/* innermost: getcontext's caller, then this test, up to main */
	CHECK(has_func(st, "unwind_here", true));
	CHECK(has_func(st, "unwinds_itself_with_lines", true));
	CHECK(has_func(st, "main", false));
	CHECK(st->frames[0].module && st->frames[0].has_offset);
	again = unwind_here(s);
	CHECK(again && again->count == st->count);
	stacks__stats(s, &stats);
	CHECK(stats.spaces == 1 && stats.hits > 0);
	stack_free(st);
	stack_free(again);
	stacks__free(s);
}

/* An address in no executable mapping is where an unwind went wrong: the
 * stack ends before it, nothing is made up. */
TEST(stack_ends_at_an_address_outside_code)
{
	struct stacks *s = stacks__new(NULL);
	uint64_t pcs[3] = { (uint64_t)(uintptr_t)&regs_of + 1, 0x10,
			    (uint64_t)(uintptr_t)&regs_of + 1 };
	struct stack *st;

	CHECK(s);
	st = stacks__symbolize(s, getpid(), pcs, 3);
	CHECK(st && st->count == 1);
	CHECK(st->frames[0].func && !strcmp(st->frames[0].func, "regs_of"));
	CHECK(st->frames[0].module && st->frames[0].has_offset);
	stack_free(st);
	stacks__free(s);
}

/* A stack of frames named by one letter each: upper case native (E is the
 * interpreter's loop), lower case Python. */
static struct stack *letters(const char *s)
{
	struct stack *st = stack_new();

	for (; st && *s; s++) {
		char name[2] = { *s, 0 };
		struct frame f = { .lang = *s >= 'a' ? FRAME_PYTHON : FRAME_C,
				   .func = *s == 'E' ? "_PyEval_EvalFrameDefault" : name };

		if (stack_push(st, &f)) {
			stack_free(st);
			return NULL;
		}
	}
	return st;
}

static const char *spelled(const struct stack *st, char *buf)
{
	int i = 0;

	for (; st && i < st->count; i++)
		buf[i] = !strcmp(st->frames[i].func, "_PyEval_EvalFrameDefault") ?
				 'E' :
				 st->frames[i].func[0];
	buf[i] = 0;
	return buf;
}

static bool interleaves_to(const char *native, const char *py, const char *want)
{
	struct stack *n = letters(native), *p = letters(py), *got = stacks_interleave(n, p);
	char buf[STACK_MAX_FRAMES + 1];
	bool ok = got && !strcmp(spelled(got, buf), want);

	stack_free(n);
	stack_free(p);
	stack_free(got);
	return ok;
}

TEST(interleave_python_frames_take_the_loops_place)
{
	/* one loop per Python frame (3.6-3.10): one to one from the innermost */
	CHECK(interleaves_to("ABEFEGH", "xy", "ABxFyGH"));
	/* fewer loops (3.11+): each inner one takes one, the outermost the rest */
	CHECK(interleaves_to("AEBEC", "wxyz", "AwBxyzC"));
	/* more loops than Python frames: the outer ones stay native */
	CHECK(interleaves_to("AEBEC", "x", "AxBEC"));
	/* no loop reached (a stack cut short): the Python frames follow */
	CHECK(interleaves_to("AB", "xy", "ABxy"));
	/* either alone is itself */
	CHECK(interleaves_to("AEB", "", "AEB"));
	CHECK(interleaves_to("", "xy", "xy"));
}
