/* Stacks (see stack.h). The frames' strings live in blocks that are never
 * moved or resized, so a frame's pointers stay valid for the stack's life. */
#include <stdlib.h>
#include <string.h>
#include "out/stack.h"

#define STR_MAX 511
#define BLOCK_SIZE 4096

struct stack_block {
	struct stack_block *next;
	uint32_t used, cap;
	char data[];
};

struct stack *stack_new(void)
{
	return calloc(1, sizeof(struct stack));
}

/* Room for n bytes that will not move: NULL when out of memory. */
static char *room(struct stack *s, uint32_t n)
{
	struct stack_block *b = s->blocks;

	if (!b || b->cap - b->used < n) {
		uint32_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = s->blocks;
		b->used = 0;
		b->cap = cap;
		s->blocks = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

static uint32_t need(const char *str)
{
	return str ? (uint32_t)strnlen(str, STR_MAX) + 1 : 0;
}

/* Copies the strings of *f into one stretch of room. */
static int copy_strings(struct stack *s, struct frame *d, const struct frame *f)
{
	uint32_t a = need(f->func), b = need(f->file), c = need(f->module);
	char *p = a + b + c ? room(s, a + b + c) : NULL;

	if (a + b + c && !p)
		return -1;
	d->func = f->func ? memcpy(p, f->func, a - 1) : NULL;
	if (d->func)
		p[a - 1] = 0;
	p += a;
	d->file = f->file ? memcpy(p, f->file, b - 1) : NULL;
	if (d->file)
		p[b - 1] = 0;
	p += b;
	d->module = f->module ? memcpy(p, f->module, c - 1) : NULL;
	if (d->module)
		p[c - 1] = 0;
	return 0;
}

int stack_push(struct stack *s, const struct frame *f)
{
	struct frame d = *f;

	if (s->count >= STACK_MAX_FRAMES) {
		s->omitted++;
		return 0;
	}
	if (copy_strings(s, &d, f))
		return -1;
	s->frames[s->count++] = d;
	return 0;
}

struct stack *stack_dup(const struct stack *s)
{
	struct stack *d;

	if (!s || !(d = stack_new()))
		return NULL;
	for (int i = 0; i < s->count; i++) {
		if (stack_push(d, &s->frames[i])) {
			stack_free(d);
			return NULL;
		}
	}
	d->omitted = s->omitted;
	d->running = s->running;
	return d;
}

void stack_free(struct stack *s)
{
	if (!s)
		return;
	while (s->blocks) {
		struct stack_block *b = s->blocks;

		s->blocks = b->next;
		free(b);
	}
	free(s);
}
