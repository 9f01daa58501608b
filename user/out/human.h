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
void out_human_format(struct strbuf *sb, const struct event *ev, bool color);
/* One event, a few lines, written whole. */
void out_human_write(FILE *f, const struct event *ev, bool color);
/* Whether human output to f is coloured: a terminal, unless NO_COLOR or TERM=dumb. */
bool human_wants_color(FILE *f);

#endif
