/* One line of a --json recording: is it a JSON object, and its bytes made safe to embed in a page. */
#ifndef FT_JSONL_H
#define FT_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * True when s[0..len) is exactly one JSON object (RFC 8259) with optional
 * whitespace around it, nested at most JSONL_MAX_DEPTH deep. Bytes inside its
 * strings that are not valid UTF-8 are accepted and counted in *bad_utf8:
 * jsonl_embed() replaces them. s[len] must be readable (a NUL, as getline
 * leaves it).
 */
bool jsonl_is_object(const char *s, size_t len, size_t *bad_utf8);

#define JSONL_MAX_DEPTH 64

/*
 * Writes a line that jsonl_is_object() accepted, as the same JSON value, so
 * that it cannot end or change the <script type="application/json"> element
 * it sits in: '<', '>' and '&' become \u escapes (so no "</script" and no
 * "<!--"), U+2028 and U+2029 too, and each invalid UTF-8 byte becomes U+FFFD.
 * All of those can only occur inside the line's strings.
 */
void jsonl_embed(FILE *f, const char *s, size_t len);

#endif /* FT_JSONL_H */
