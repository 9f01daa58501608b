/* Human output helpers shared by the writer and the summary. */
#ifndef FT_HUMAN_H
#define FT_HUMAN_H

#include <stdbool.h>
#include <stddef.h>
#include "out/event.h"
#include "out/strbuf.h"

/* Copies untrusted text, printable ASCII only; the rest becomes \xNN. */
void sanitize(const char *in, char *out, size_t size);
void out_human_format(struct strbuf *sb, const struct event *ev, bool color);

#endif
