/*
 * python/linetable: each decoder against real code objects' tables, dumped
 * with the matching interpreter from the same source (a function with a
 * loop, a branch, a comprehension and a try, and one whose lines jump by
 * 400): every instruction's offset paired with the line CPython gives it
 * (dis.findlinestarts before 3.10, co_lines() on 3.10, co_positions() on
 * 3.11+; 0 where CPython has no line).
 */
#include <stdint.h>
#include "python/linetable.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 3.6 sample: firstlineno 1 */
static const uint8_t tab_36_sample[] = {
	0x00, 0x01, 0x04, 0x01, 0x0e, 0x01, 0x0c, 0x01, 0x0a, 0x02, 0x0c, 0x01, 0x0a, 0x01,
	0x0c, 0x01, 0x06, 0x01, 0x0c, 0x01, 0x02, 0x01, 0x10, 0x01, 0x0e, 0x01, 0x0a, 0x01,
};
static const int want_36_sample[][2] = {
	{ 0, 2 },    { 2, 2 },	  { 4, 3 },    { 6, 3 },    { 8, 3 },	 { 10, 3 },   { 12, 3 },
	{ 14, 3 },   { 16, 3 },	  { 18, 4 },   { 20, 4 },   { 22, 4 },	 { 24, 4 },   { 26, 4 },
	{ 28, 4 },   { 30, 5 },	  { 32, 5 },   { 34, 5 },   { 36, 5 },	 { 38, 5 },   { 40, 7 },
	{ 42, 7 },   { 44, 7 },	  { 46, 7 },   { 48, 7 },   { 50, 7 },	 { 52, 8 },   { 54, 8 },
	{ 56, 8 },   { 58, 8 },	  { 60, 8 },   { 62, 9 },   { 64, 9 },	 { 66, 9 },   { 68, 9 },
	{ 70, 9 },   { 72, 9 },	  { 74, 10 },  { 76, 10 },  { 78, 10 },	 { 80, 11 },  { 82, 11 },
	{ 84, 11 },  { 86, 11 },  { 88, 11 },  { 90, 11 },  { 92, 12 },	 { 94, 13 },  { 96, 13 },
	{ 98, 13 },  { 100, 13 }, { 102, 13 }, { 104, 13 }, { 106, 13 }, { 108, 13 }, { 110, 14 },
	{ 112, 14 }, { 114, 14 }, { 116, 14 }, { 118, 14 }, { 120, 14 }, { 122, 14 }, { 124, 15 },
	{ 126, 15 }, { 128, 15 }, { 130, 15 }, { 132, 15 }, { 134, 16 }, { 136, 16 },
};
/* 3.6 far: firstlineno 317 */
static const uint8_t tab_36_far[] = { 0x00, 0x01, 0x04, 0x7f, 0x00, 0x7f, 0x00, 0x7f, 0x00, 0x14 };
static const int want_36_far[][2] = { { 0, 318 }, { 2, 318 }, { 4, 719 }, { 6, 719 } };
/* 3.8 sample: firstlineno 1 */
static const uint8_t tab_38_sample[] = {
	0x00, 0x01, 0x04, 0x01, 0x0c, 0x01, 0x0c, 0x01, 0x0a, 0x02, 0x0a, 0x01, 0x08, 0x01, 0x0a,
	0x01, 0x06, 0x01, 0x06, 0xff, 0x06, 0x02, 0x02, 0x01, 0x10, 0x01, 0x0e, 0x01, 0x0a, 0x01,
};
static const int want_38_sample[][2] = {
	{ 0, 2 },    { 2, 2 },	  { 4, 3 },    { 6, 3 },    { 8, 3 },	 { 10, 3 },   { 12, 3 },
	{ 14, 3 },   { 16, 4 },	  { 18, 4 },   { 20, 4 },   { 22, 4 },	 { 24, 4 },   { 26, 4 },
	{ 28, 5 },   { 30, 5 },	  { 32, 5 },   { 34, 5 },   { 36, 5 },	 { 38, 7 },   { 40, 7 },
	{ 42, 7 },   { 44, 7 },	  { 46, 7 },   { 48, 8 },   { 50, 8 },	 { 52, 8 },   { 54, 8 },
	{ 56, 9 },   { 58, 9 },	  { 60, 9 },   { 62, 9 },   { 64, 9 },	 { 66, 10 },  { 68, 10 },
	{ 70, 10 },  { 72, 11 },  { 74, 11 },  { 76, 11 },  { 78, 10 },	 { 80, 10 },  { 82, 10 },
	{ 84, 12 },  { 86, 13 },  { 88, 13 },  { 90, 13 },  { 92, 13 },	 { 94, 13 },  { 96, 13 },
	{ 98, 13 },  { 100, 13 }, { 102, 14 }, { 104, 14 }, { 106, 14 }, { 108, 14 }, { 110, 14 },
	{ 112, 14 }, { 114, 14 }, { 116, 15 }, { 118, 15 }, { 120, 15 }, { 122, 15 }, { 124, 15 },
	{ 126, 16 }, { 128, 16 },
};
/* 3.8 far: firstlineno 317 */
static const uint8_t tab_38_far[] = { 0x00, 0x01, 0x04, 0x7f, 0x00, 0x7f, 0x00, 0x7f, 0x00, 0x14 };
static const int want_38_far[][2] = { { 0, 318 }, { 2, 318 }, { 4, 719 }, { 6, 719 } };
/* 3.10 sample: firstlineno 1 */
static const uint8_t tab_310_sample[] = {
	0x04, 0x01, 0x0c, 0x01, 0x0c, 0x01, 0x0a, 0x01, 0x0a, 0x02, 0x08, 0x01,
	0x08, 0x01, 0x08, 0xff, 0x06, 0x02, 0x06, 0x01, 0x06, 0xff, 0x02, 0x02,
	0x0e, 0x01, 0x04, 0x03, 0x0c, 0xfe, 0x06, 0x01, 0x04, 0x01, 0x02, 0xfe,
};
static const int want_310_sample[][2] = {
	{ 0, 2 },    { 2, 2 },	  { 4, 3 },    { 6, 3 },    { 8, 3 },	 { 10, 3 },   { 12, 3 },
	{ 14, 3 },   { 16, 4 },	  { 18, 4 },   { 20, 4 },   { 22, 4 },	 { 24, 4 },   { 26, 4 },
	{ 28, 5 },   { 30, 5 },	  { 32, 5 },   { 34, 5 },   { 36, 5 },	 { 38, 7 },   { 40, 7 },
	{ 42, 7 },   { 44, 7 },	  { 46, 7 },   { 48, 8 },   { 50, 8 },	 { 52, 8 },   { 54, 8 },
	{ 56, 9 },   { 58, 9 },	  { 60, 9 },   { 62, 9 },   { 64, 8 },	 { 66, 8 },   { 68, 8 },
	{ 70, 8 },   { 72, 10 },  { 74, 10 },  { 76, 10 },  { 78, 11 },	 { 80, 11 },  { 82, 11 },
	{ 84, 10 },  { 86, 10 },  { 88, 10 },  { 90, 12 },  { 92, 13 },	 { 94, 13 },  { 96, 13 },
	{ 98, 13 },  { 100, 13 }, { 102, 13 }, { 104, 13 }, { 106, 16 }, { 108, 16 }, { 110, 14 },
	{ 112, 14 }, { 114, 14 }, { 116, 14 }, { 118, 14 }, { 120, 14 }, { 122, 15 }, { 124, 15 },
	{ 126, 15 }, { 128, 16 }, { 130, 16 }, { 132, 14 },
};
/* 3.10 far: firstlineno 317 */
static const uint8_t tab_310_far[] = { 0x04, 0x01, 0x00, 0x7f, 0x00, 0x7f, 0x00, 0x7f, 0x04, 0x14 };
static const int want_310_far[][2] = { { 0, 318 }, { 2, 318 }, { 4, 719 }, { 6, 719 } };
/* 3.12 sample: firstlineno 1 */
static const uint8_t tab_312_sample[] = {
	0x80, 0x00, 0xd8, 0x0c, 0x0d, 0x80, 0x45, 0xdc, 0x0d, 0x12, 0x90, 0x31, 0x8b, 0x58, 0xf2,
	0x00, 0x04, 0x05, 0x17, 0x88, 0x01, 0xd8, 0x0b, 0x0c, 0x88, 0x71, 0x89, 0x35, 0x90, 0x41,
	0x8a, 0x3a, 0xd8, 0x0c, 0x11, 0x90, 0x51, 0x89, 0x4a, 0x89, 0x45, 0xe0, 0x0c, 0x11, 0x90,
	0x51, 0x89, 0x4a, 0x89, 0x45, 0xf0, 0x09, 0x04, 0x05, 0x17, 0xf0, 0x0a, 0x00, 0x0b, 0x10,
	0x90, 0x23, 0x8a, 0x2b, 0xd8, 0x08, 0x0d, 0x90, 0x21, 0x89, 0x0b, 0x88, 0x05, 0xf0, 0x03,
	0x00, 0x0b, 0x10, 0x90, 0x23, 0x8b, 0x2b, 0xf4, 0x06, 0x00, 0x13, 0x18, 0x98, 0x01, 0x93,
	0x28, 0xf6, 0x03, 0x01, 0x09, 0x1c, 0xd8, 0x0d, 0x0e, 0xf0, 0x03, 0x00, 0x0a, 0x0b, 0x88,
	0x51, 0x8b, 0x15, 0xf0, 0x00, 0x01, 0x09, 0x1c, 0x80, 0x41, 0xf0, 0x00, 0x01, 0x09, 0x1c,
	0xf0, 0x04, 0x03, 0x05, 0x13, 0xd8, 0x08, 0x0d, 0x94, 0x13, 0x90, 0x51, 0x93, 0x16, 0x89,
	0x0f, 0x88, 0x05, 0xf0, 0x06, 0x00, 0x0c, 0x11, 0x80, 0x4c, 0xf9, 0xf2, 0x0d, 0x01, 0x09,
	0x1c, 0xf8, 0xf4, 0x08, 0x00, 0x0c, 0x15, 0xf2, 0x00, 0x01, 0x05, 0x13, 0xd8, 0x10, 0x12,
	0x89, 0x05, 0xd8, 0x0b, 0x10, 0x80, 0x4c, 0xf0, 0x05, 0x01, 0x05, 0x13, 0xfa,
};
static const int want_312_sample[][2] = {
	{ 0, 1 },    { 1, 2 },	  { 2, 2 },    { 3, 3 },    { 4, 3 },	 { 5, 3 },    { 6, 3 },
	{ 7, 3 },    { 8, 3 },	  { 9, 3 },    { 10, 3 },   { 11, 3 },	 { 12, 3 },   { 13, 3 },
	{ 14, 3 },   { 15, 3 },	  { 16, 3 },   { 17, 4 },   { 18, 4 },	 { 19, 4 },   { 20, 4 },
	{ 21, 4 },   { 22, 4 },	  { 23, 4 },   { 24, 4 },   { 25, 5 },	 { 26, 5 },   { 27, 5 },
	{ 28, 5 },   { 29, 5 },	  { 30, 5 },   { 31, 7 },   { 32, 7 },	 { 33, 7 },   { 34, 7 },
	{ 35, 7 },   { 36, 7 },	  { 37, 3 },   { 38, 8 },   { 39, 8 },	 { 40, 8 },   { 41, 8 },
	{ 42, 8 },   { 43, 9 },	  { 44, 9 },   { 45, 9 },   { 46, 9 },	 { 47, 9 },   { 48, 8 },
	{ 49, 8 },   { 50, 8 },	  { 51, 8 },   { 52, 8 },   { 53, 8 },	 { 54, 11 },  { 55, 11 },
	{ 56, 11 },  { 57, 11 },  { 58, 11 },  { 59, 11 },  { 60, 11 },	 { 61, 11 },  { 62, 11 },
	{ 63, 11 },  { 64, 10 },  { 65, 10 },  { 66, 10 },  { 67, 10 },	 { 68, 10 },  { 69, 10 },
	{ 70, 10 },  { 71, 11 },  { 72, 10 },  { 73, 10 },  { 74, 10 },	 { 75, 10 },  { 76, 10 },
	{ 77, 10 },  { 78, 10 },  { 79, 10 },  { 80, 10 },  { 81, 12 },	 { 82, 13 },  { 83, 13 },
	{ 84, 13 },  { 85, 13 },  { 86, 13 },  { 87, 13 },  { 88, 13 },	 { 89, 13 },  { 90, 13 },
	{ 91, 13 },  { 92, 13 },  { 93, 13 },  { 94, 13 },  { 95, 13 },	 { 96, 16 },  { 97, 16 },
	{ 98, 0 },   { 99, 0 },	  { 100, 10 }, { 101, 10 }, { 102, 10 }, { 103, 0 },  { 104, 14 },
	{ 105, 14 }, { 106, 14 }, { 107, 14 }, { 108, 14 }, { 109, 14 }, { 110, 14 }, { 111, 14 },
	{ 112, 15 }, { 113, 15 }, { 114, 15 }, { 115, 16 }, { 116, 16 }, { 117, 14 }, { 118, 0 },
	{ 119, 0 },  { 120, 0 },
};
/* 3.12 far: firstlineno 317 */
static const uint8_t tab_312_far[] = {
	0x80, 0x00, 0xd8, 0x08, 0x09, 0x80, 0x41, 0xf0, 0x62, 0x0c, 0x00, 0x0c, 0x0d, 0x80, 0x48,
};
static const int want_312_far[][2] = { { 0, 317 }, { 1, 318 }, { 2, 318 }, { 3, 719 }, { 4, 719 } };
/* 3.13 sample: firstlineno 1 */
static const uint8_t tab_313_sample[] = {
	0x80, 0x00, 0xd8, 0x0c, 0x0d, 0x80, 0x45, 0xdc, 0x0d, 0x12, 0x90, 0x31, 0x8e, 0x58, 0x88,
	0x01, 0xd8, 0x0b, 0x0c, 0x88, 0x71, 0x89, 0x35, 0x90, 0x41, 0x8b, 0x3a, 0xd8, 0x0c, 0x11,
	0x89, 0x4a, 0x8a, 0x45, 0xe0, 0x0c, 0x11, 0x90, 0x51, 0x89, 0x4a, 0x8a, 0x45, 0xf1, 0x09,
	0x00, 0x0e, 0x16, 0xf0, 0x0a, 0x00, 0x0b, 0x10, 0x90, 0x23, 0x8b, 0x2b, 0xd8, 0x08, 0x0d,
	0x90, 0x21, 0x89, 0x0b, 0x88, 0x05, 0xf0, 0x03, 0x00, 0x0b, 0x10, 0x90, 0x23, 0x8d, 0x2b,
	0xf4, 0x06, 0x00, 0x13, 0x18, 0x98, 0x01, 0x94, 0x28, 0xf3, 0x03, 0x01, 0x09, 0x1c, 0xd9,
	0x12, 0x1a, 0x88, 0x51, 0xf0, 0x03, 0x00, 0x0a, 0x0b, 0x88, 0x51, 0x8c, 0x15, 0xd9, 0x12,
	0x1a, 0xf0, 0x03, 0x00, 0x05, 0x06, 0xf0, 0x00, 0x01, 0x09, 0x1c, 0xf0, 0x04, 0x03, 0x05,
	0x13, 0xd8, 0x08, 0x0d, 0x94, 0x13, 0x90, 0x51, 0x93, 0x16, 0x89, 0x0f, 0x88, 0x05, 0xf0,
	0x06, 0x00, 0x0c, 0x11, 0x80, 0x4c, 0xf9, 0xf2, 0x0d, 0x01, 0x09, 0x1c, 0xf8, 0xf4, 0x08,
	0x00, 0x0c, 0x15, 0xf3, 0x00, 0x01, 0x05, 0x13, 0xd8, 0x10, 0x12, 0x89, 0x05, 0xd8, 0x0b,
	0x10, 0x80, 0x4c, 0xf0, 0x05, 0x01, 0x05, 0x13, 0xfa,
};
static const int want_313_sample[][2] = {
	{ 0, 1 },    { 1, 2 },	  { 2, 2 },    { 3, 3 },    { 4, 3 },	 { 5, 3 },    { 6, 3 },
	{ 7, 3 },    { 8, 3 },	  { 9, 3 },    { 10, 3 },   { 11, 3 },	 { 12, 3 },   { 13, 3 },
	{ 14, 3 },   { 15, 3 },	  { 16, 3 },   { 17, 4 },   { 18, 4 },	 { 19, 4 },   { 20, 4 },
	{ 21, 4 },   { 22, 4 },	  { 23, 4 },   { 24, 4 },   { 25, 4 },	 { 26, 5 },   { 27, 5 },
	{ 28, 5 },   { 29, 5 },	  { 30, 5 },   { 31, 5 },   { 32, 7 },	 { 33, 7 },   { 34, 7 },
	{ 35, 7 },   { 36, 7 },	  { 37, 7 },   { 38, 7 },   { 39, 3 },	 { 40, 3 },   { 41, 8 },
	{ 42, 8 },   { 43, 8 },	  { 44, 8 },   { 45, 8 },   { 46, 8 },	 { 47, 9 },   { 48, 9 },
	{ 49, 9 },   { 50, 9 },	  { 51, 9 },   { 52, 8 },   { 53, 8 },	 { 54, 8 },   { 55, 8 },
	{ 56, 8 },   { 57, 8 },	  { 58, 8 },   { 59, 8 },   { 60, 11 },	 { 61, 11 },  { 62, 11 },
	{ 63, 11 },  { 64, 11 },  { 65, 11 },  { 66, 11 },  { 67, 11 },	 { 68, 11 },  { 69, 11 },
	{ 70, 11 },  { 71, 10 },  { 72, 10 },  { 73, 10 },  { 74, 10 },	 { 75, 11 },  { 76, 11 },
	{ 77, 11 },  { 78, 10 },  { 79, 10 },  { 80, 10 },  { 81, 10 },	 { 82, 10 },  { 83, 10 },
	{ 84, 10 },  { 85, 11 },  { 86, 11 },  { 87, 10 },  { 88, 10 },	 { 89, 12 },  { 90, 13 },
	{ 91, 13 },  { 92, 13 },  { 93, 13 },  { 94, 13 },  { 95, 13 },	 { 96, 13 },  { 97, 13 },
	{ 98, 13 },  { 99, 13 },  { 100, 13 }, { 101, 13 }, { 102, 13 }, { 103, 13 }, { 104, 16 },
	{ 105, 16 }, { 106, 0 },  { 107, 0 },  { 108, 10 }, { 109, 10 }, { 110, 10 }, { 111, 0 },
	{ 112, 14 }, { 113, 14 }, { 114, 14 }, { 115, 14 }, { 116, 14 }, { 117, 14 }, { 118, 14 },
	{ 119, 14 }, { 120, 14 }, { 121, 15 }, { 122, 15 }, { 123, 15 }, { 124, 16 }, { 125, 16 },
	{ 126, 14 }, { 127, 0 },  { 128, 0 },  { 129, 0 },
};
/* 3.13 far: firstlineno 317 */
static const uint8_t tab_313_far[] = {
	0x80, 0x00, 0xd8, 0x08, 0x09, 0x80, 0x41, 0xf0, 0x62, 0x0c, 0x00, 0x0c, 0x0d, 0x80, 0x48,
};
static const int want_313_far[][2] = { { 0, 317 }, { 1, 318 }, { 2, 318 }, { 3, 719 }, { 4, 719 } };

typedef int (*decoder)(const uint8_t *, size_t, int, int);

static int check_table(decoder dec, const uint8_t *tab, size_t len, int first, const int (*want)[2],
		       size_t n, char *why, size_t why_len)
{
	for (size_t i = 0; i < n; i++) {
		int got = dec(tab, len, first, want[i][0]);

		if (got != want[i][1]) {
			snprintf(why, why_len, "offset %d: line %d, want %d", want[i][0], got,
				 want[i][1]);
			return -1;
		}
	}
	return 0;
}

#define CHECK_TABLE(dec, v, f, first)                                                        \
	do {                                                                                 \
		if (check_table(dec, tab_##v##_##f, N(tab_##v##_##f), first, want_##v##_##f, \
				N(want_##v##_##f), why, why_len))                            \
			return;                                                              \
	} while (0)

TEST(python_lnotab_36_38)
{
	CHECK_TABLE(py_line_lnotab, 36, sample, 1);
	CHECK_TABLE(py_line_lnotab, 36, far, 317);
	CHECK_TABLE(py_line_lnotab, 38, sample, 1);
	CHECK_TABLE(py_line_lnotab, 38, far, 317);
	/* before the first instruction (f_lasti -1): the def line */
	CHECK(py_line_lnotab(tab_38_sample, N(tab_38_sample), 1, -1) == 1);
}

TEST(python_linetable_310)
{
	CHECK_TABLE(py_line_310, 310, sample, 1);
	CHECK_TABLE(py_line_310, 310, far, 317);
	CHECK(py_line_310(tab_310_sample, N(tab_310_sample), 1, -2) == 1);
	CHECK(py_line_310(tab_310_sample, N(tab_310_sample), 1, 100000) == 0);
}

TEST(python_locations_312_313)
{
	CHECK_TABLE(py_line_locations, 312, sample, 1);
	CHECK_TABLE(py_line_locations, 312, far, 317);
	CHECK_TABLE(py_line_locations, 313, sample, 1);
	CHECK_TABLE(py_line_locations, 313, far, 317);
	CHECK(py_line_locations(tab_312_sample, N(tab_312_sample), 1, 100000) == 0);
}

/* Hostile tables: cut short, garbage, huge varints; never a read past the end. */
TEST(python_linetable_corrupt)
{
	static const uint8_t garbage[] = { 0x7f, 0x01, 0x02 };
	static const uint8_t endless[] = { 0xf0, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f };
	static const uint8_t cut[] = { 0xe8 };

	CHECK(py_line_locations(garbage, N(garbage), 5, 0) == 0);
	CHECK(py_line_locations(endless, N(endless), 5, 0) == 0);
	CHECK(py_line_locations(cut, N(cut), 5, 0) == 0);
	CHECK(py_line_locations(tab_312_sample, 7, 1, 1000) == 0);
	CHECK(py_line_lnotab(garbage, 1, 5, 10) == 5);
	CHECK(py_line_310(garbage, 1, 5, 10) == 0);
	CHECK(py_line_locations(NULL, 0, 5, 0) == 0);
}
