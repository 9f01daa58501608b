/*
 * A stack: the frames of one thread, innermost first, native and Python
 * interleaved. Built once by whoever reads it (python/, stacks/), then
 * read-only: events point to stacks, they do not own them; the producer
 * frees a stack after the events that point to it were emitted.
 */
#ifndef FT_STACK_H
#define FT_STACK_H

#include <stdbool.h>
#include <stdint.h>

#define STACK_MAX_FRAMES 64

enum frame_lang { FRAME_C, FRAME_PYTHON };

/* One frame as SPEC.md's frame object: a field that is unknown is NULL
 * (strings), 0 (line) or has_offset false, and is left out of the output.
 * Every string is untrusted (from the traced program or its files). */
struct frame {
	enum frame_lang lang;
	const char *func;   /* function (Python: its qualified name) */
	const char *file;   /* source file */
	int line;	    /* source line, 0 unknown */
	const char *module; /* native: the ELF file's name */
	uint64_t offset;    /* native: the address's offset in module */
	bool has_offset;
};

struct stack {
	int count;
	struct frame frames[STACK_MAX_FRAMES];
	int omitted;  /* frames past STACK_MAX_FRAMES or the reader's depth limit */
	bool running; /* the thread was on a CPU: no saved registers to start from */
	/* the frames' strings, copied into blocks that never move: the stack owns them */
	struct stack_block *blocks;
};

/* An empty stack. NULL when out of memory. */
struct stack *stack_new(void);
/* Appends a copy of *f (its strings copied, each cut at 511 bytes). Past
 * STACK_MAX_FRAMES only counts it as omitted. 0, or -1 out of memory (the
 * stack is unchanged but for omitted). */
int stack_push(struct stack *s, const struct frame *f);
/* A deep copy. NULL when out of memory or s is NULL. */
struct stack *stack_dup(const struct stack *s);
void stack_free(struct stack *s); /* NULL-safe */

#endif
