/*
 * A native stack and the Python frames of the same thread made one: where
 * the native stack passes through the interpreter's evaluation loop, the
 * Python frames it was running take its place, in order. Pure.
 */
#ifndef FT_STACKS_INTERLEAVE_H
#define FT_STACKS_INTERLEAVE_H

#include "out/stack.h"

/*
 * A new stack (the caller's), or NULL when out of memory or both are NULL.
 * Either may be NULL (the other is copied). Which Python frames an
 * evaluation-loop frame ran is not recorded in either stack: 3.6-3.10 run
 * one per loop, 3.11+ run Python-to-Python calls in one loop, entered
 * again only where C calls back into Python. So with at least as many
 * loop frames as Python frames they pair one to one from the innermost;
 * with fewer, each inner loop takes one and the outermost the rest.
 * Python frames with no loop frame to take their place (a native stack
 * cut short) follow the native ones.
 */
struct stack *stacks_interleave(const struct stack *native, const struct stack *py);

#endif
