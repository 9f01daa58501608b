/* Line-table decoders (linetable.h), after CPython's Objects/codeobject.c. */
#include <stdbool.h>
#include "python/linetable.h"

int py_line_lnotab(const uint8_t *tab, size_t len, int firstlineno, int lasti)
{
	int line = firstlineno;
	long addr = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > lasti)
			break;
		line += (int8_t)tab[i + 1];
	}
	return line > 0 ? line : 0;
}

int py_line_310(const uint8_t *tab, size_t len, int firstlineno, int addr)
{
	int line = firstlineno, computed = firstlineno;
	long start, end = 0;

	if (addr < 0)
		return firstlineno > 0 ? firstlineno : 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		start = end;
		end = start + tab[i];
		if ((int8_t)tab[i + 1] == -128) {
			line = -1;
		} else {
			computed += (int8_t)tab[i + 1];
			line = computed;
		}
		/* empty ranges only carry line deltas */
		if (end > start && addr >= start && addr < end)
			return line > 0 ? line : 0;
	}
	return 0;
}

/* A varint of 6-bit chunks, least significant first, 0x40 = more follow. */
static bool varint(const uint8_t *tab, size_t len, size_t *i, unsigned *out)
{
	unsigned v = 0, shift = 0;

	while (*i < len && shift < 32) {
		uint8_t b = tab[(*i)++];

		v |= (unsigned)(b & 0x3f) << shift;
		shift += 6;
		if (!(b & 0x40)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static bool svarint(const uint8_t *tab, size_t len, size_t *i, int *out)
{
	unsigned v;

	if (!varint(tab, len, i, &v))
		return false;
	*out = (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
	return true;
}

int py_line_locations(const uint8_t *tab, size_t len, int firstlineno, int lasti)
{
	long line = firstlineno, addr = 0;
	size_t i = 0;

	if (lasti < 0)
		return firstlineno > 0 ? firstlineno : 0;
	while (i < len) {
		uint8_t first = tab[i++];
		int code = (first >> 3) & 15, units = (first & 7) + 1, delta = 0;
		unsigned skip;
		bool has_line = true;

		if (!(first & 0x80))
			return 0; /* not the start of an entry: a corrupt table */
		switch (code) {
		case 15: /* no location */ has_line = false; break;
		case 14: /* long form: line, end line, column, end column */
			if (!svarint(tab, len, &i, &delta) || !varint(tab, len, &i, &skip) ||
			    !varint(tab, len, &i, &skip) || !varint(tab, len, &i, &skip))
				return 0;
			break;
		case 13: /* no column */
			if (!svarint(tab, len, &i, &delta))
				return 0;
			break;
		case 10:
		case 11:
		case 12: /* one line: two column bytes */
			delta = code - 10;
			i += 2;
			break;
		default: /* short form: one column byte */ i += 1; break;
		}
		line += delta;
		addr += units;
		if (lasti < addr)
			return has_line && line > 0 && line < (1L << 30) ? (int)line : 0;
	}
	return 0;
}
