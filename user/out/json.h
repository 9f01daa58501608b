/* JSON string escaping: the one place untrusted text becomes JSON. */
#ifndef FT_JSON_H
#define FT_JSON_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "out/strbuf.h"

struct event;

/*
 * Appends s as a quoted JSON string. Control bytes, quotes and backslashes
 * are escaped; bytes that are not valid UTF-8 become \u00XX (their Latin-1
 * reading), so the output is always valid JSON whatever a program names
 * its threads.
 */
void json_string(struct strbuf *sb, const char *s);
void out_json_format(struct strbuf *sb, const struct event *ev);
/* One event as one JSON line, written whole. */
void out_json_write(FILE *f, const struct event *ev);
void format_rfc3339(uint64_t ns, char *buf, size_t size);

#endif
