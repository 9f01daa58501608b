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
 * are escaped; a byte that is not valid UTF-8 becomes \udcXX, a lone
 * surrogate (Python's surrogateescape), so the output is always valid JSON
 * whatever a program names its threads, and the name's bytes come back
 * exactly (json.loads(line)[k].encode("utf-8", "surrogateescape")).
 */
void json_string(struct strbuf *sb, const char *s);
void out_json_format(struct strbuf *sb, const struct event *ev);
/* One event as one JSON line, written whole. */
void out_json_write(FILE *f, const struct event *ev);
void format_rfc3339(uint64_t ns, char *buf, size_t size);

#endif
