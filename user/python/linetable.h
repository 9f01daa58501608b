/*
 * Code offset -> source line, for the three encodings CPython has used.
 * Pure functions over a copy of the table (untrusted bytes: every decoder
 * stops at the end of the buffer). Each returns the line, or 0 when the
 * instruction has no line (or the table ends before it).
 */
#ifndef FT_PY_LINETABLE_H
#define FT_PY_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* 3.6-3.9 co_lnotab: (address delta, signed line delta) byte pairs; lasti is
 * the byte offset of the last instruction (f_lasti, -1 before the first). */
int py_line_lnotab(const uint8_t *tab, size_t len, int firstlineno, int lasti);

/* 3.10 co_linetable: (address delta, line delta or -128 for none) pairs;
 * addr is a byte offset (f_lasti * 2). */
int py_line_310(const uint8_t *tab, size_t len, int firstlineno, int addr);

/* 3.11+ location table (Objects/locations.md); lasti counts code units. */
int py_line_locations(const uint8_t *tab, size_t len, int firstlineno, int lasti);

#endif /* FT_PY_LINETABLE_H */
