/* The human writer and the helpers the summary and diagnose share with it. */
#ifndef FT_HUMAN_H
#define FT_HUMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "out/event.h"
#include "out/strbuf.h"

/* Copies untrusted text, printable ASCII only; the rest becomes \xNN. */
void sanitize(const char *in, char *out, size_t size);

/* Stack frames shown under an event unless all_frames. */
#define HUMAN_FRAMES 3

/* How the human writer shapes its lines; zeroed: no colour, the first frames. */
struct human_opts {
	bool color;
	bool all_frames; /* -v: every frame of every stack */
};

void out_human_format(struct strbuf *sb, const struct event *ev, const struct human_opts *o);
/* One event, a few lines, written whole. */
void out_human_write(FILE *f, const struct event *ev, const struct human_opts *o);
/* Whether human output to f is coloured: a terminal, unless NO_COLOR or TERM=dumb. */
bool human_wants_color(FILE *f);

#endif
