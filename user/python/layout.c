/* The per-version offset table and the _Py_DebugOffsets reader (layout.h). */
#include <stdio.h>
#include <string.h>
#include "python/layout.h"

#define NO PY_NO_FIELD

/* Each row starts from shared defaults and overrides some of them. */
#pragma GCC diagnostic ignored "-Woverride-init"

/* What every version shares; each row starts from it. */
#define COMMON                                                                                    \
	.interp_next = 0, .ts_next = 8, .ts_interp = 16, .ob_type = 8, .tp_name = 0x18,           \
	.tp_basicsize = 0x20, .tp_flags = 0xa8, .tp_dictoffset = 0x120, .md_dict = 16,            \
	.str_length = 16, .str_state = 32, .long_size = 16, .long_digits = 24, .bytes_size = 16,  \
	.bytes_data = 32, .ma_keys = 32, .ma_values = 40, .dk_size = 8, .owner_cstack = NO,       \
	.cframe_frame = NO, .f_back = NO, .f_code = NO, .f_lasti = NO, .if_previous = NO,         \
	.if_code = NO, .if_instr = NO, .if_owner = NO, .co_qualname = NO, .co_code_adaptive = NO, \
	.ts_native_id = NO

/* 3.6-3.10: frame objects, the old dict keys, no native thread id. */
#define OLD                                                                               \
	COMMON, .interp_tstate_head = 8, .ts_frame = 24, .frames = PY_FRAMES_OBJECTS,     \
		.f_back = 24, .f_code = 32, .str_ascii_data = 48, .str_compact_data = 72, \
		.dk_nentries = 32, .dk_indices = 40, .values_start = 0, .idict = PY_IDICT_OFFSET

/* 3.11+: interpreter frames, the compact dict keys, native thread ids. */
#define NEW                                                                              \
	COMMON, .frames = PY_FRAMES_INTERP, .lines = PY_LINES_LOCATIONS, .dict_311 = 1,  \
		.dk_nentries = 24, .dk_indices = 32, .co_filename = 112, .co_name = 120, \
		.co_qualname = 128, .co_linetable = 136

static const struct py_layout rows[] = {
	{ OLD, .minor = 6, .rt_interp_head = NO, .interp_modules = 16, .ts_thread_id = 152,
	  .f_lasti = 120, .co_firstlineno = 36, .co_filename = 96, .co_name = 104,
	  .co_linetable = 112, .lines = PY_LINES_LNOTAB, .ht_cached_keys = 856 },
	{ OLD, .minor = 7, .rt_interp_head = 24, .interp_modules = 40, .ts_thread_id = 176,
	  .f_lasti = 104, .co_firstlineno = 36, .co_filename = 96, .co_name = 104,
	  .co_linetable = 112, .lines = PY_LINES_LNOTAB, .ht_cached_keys = 856 },
	{ OLD, .minor = 8, .rt_interp_head = 32, .interp_modules = 56, .ts_thread_id = 176,
	  .f_lasti = 104, .co_firstlineno = 40, .co_filename = 104, .co_name = 112,
	  .co_linetable = 120, .lines = PY_LINES_LNOTAB, .ht_cached_keys = 872 },
	{ OLD, .minor = 9, .rt_interp_head = 32, .interp_modules = 856, .ts_thread_id = 176,
	  .f_lasti = 104, .co_firstlineno = 40, .co_filename = 104, .co_name = 112,
	  .co_linetable = 120, .lines = PY_LINES_LNOTAB, .ht_cached_keys = 864 },
	{ OLD, .minor = 10, .rt_interp_head = 32, .interp_modules = 856, .ts_thread_id = 176,
	  .f_lasti = 96, .co_firstlineno = 40, .co_filename = 104, .co_name = 112,
	  .co_linetable = 120, .lines = PY_LINES_310, .ht_cached_keys = 872 },
	{ NEW,
	  .minor = 11,
	  .rt_interp_head = 40,
	  .interp_tstate_head = 16,
	  .interp_modules = 888,
	  .ts_frame = 56,
	  .cframe_frame = 8,
	  .ts_thread_id = 152,
	  .ts_native_id = 160,
	  .if_code = 32,
	  .if_previous = 48,
	  .if_instr = 56,
	  .if_owner = 69,
	  .co_firstlineno = 72,
	  .co_code_adaptive = 184,
	  .ht_cached_keys = 872,
	  .str_ascii_data = 48,
	  .str_compact_data = 72,
	  .values_start = 0,
	  .idict = PY_IDICT_MANAGED },
	{ NEW,
	  .minor = 12,
	  .rt_interp_head = 40,
	  .interp_tstate_head = 72,
	  .interp_modules = 944,
	  .ts_frame = 56,
	  .cframe_frame = 0,
	  .ts_thread_id = 136,
	  .ts_native_id = 144,
	  .if_code = 0,
	  .if_previous = 8,
	  .if_instr = 56,
	  .if_owner = 70,
	  .owner_cstack = 3,
	  .co_firstlineno = 68,
	  .co_code_adaptive = 192,
	  .ht_cached_keys = 880,
	  .str_ascii_data = 40,
	  .str_compact_data = 56,
	  .long_tagged = 1,
	  .values_start = 0,
	  .idict = PY_IDICT_TAGGED },
	{ NEW,
	  .minor = 13,
	  .rt_interp_head = 632,
	  .interp_tstate_head = 7344,
	  .interp_modules = 7656,
	  .ts_frame = 72,
	  .ts_thread_id = 152,
	  .ts_native_id = 160,
	  .if_code = 0,
	  .if_previous = 8,
	  .if_instr = 56,
	  .if_owner = 70,
	  .owner_cstack = 3,
	  .co_firstlineno = 68,
	  .co_code_adaptive = 200,
	  .ht_cached_keys = 880,
	  .str_ascii_data = 40,
	  .str_compact_data = 56,
	  .long_tagged = 1,
	  .values_start = 8,
	  .idict = PY_IDICT_INLINE },
	/* 3.14 (from its headers): everything the debug offsets carry comes from the
	 * process; FRAME_OWNED_BY_CSTACK became 4, f_executable a _PyStackRef. */
	{ NEW,
	  .minor = 14,
	  .rt_interp_head = NO,
	  .interp_tstate_head = NO,
	  .interp_modules = NO,
	  .ts_frame = NO,
	  .ts_thread_id = NO,
	  .ts_native_id = NO,
	  .if_code = NO,
	  .if_previous = NO,
	  .if_instr = NO,
	  .if_owner = NO,
	  .owner_cstack = 4,
	  .code_tag_bits = 3,
	  .co_firstlineno = NO,
	  .co_code_adaptive = NO,
	  .ht_cached_keys = 880,
	  .str_ascii_data = 40,
	  .str_compact_data = 56,
	  .long_tagged = 1,
	  .values_start = 8,
	  .idict = PY_IDICT_INLINE },
};

const struct py_layout *py_layout_row(int minor)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].minor == minor)
			return &rows[i];
	return NULL;
}

/*
 * Where each field we use sits inside _Py_DebugOffsets, per version of that
 * struct (Include/internal/pycore_debug_offsets.h): 3.14 inserted fields in
 * the interpreter, frame and code blocks and a set block before the dict.
 */
struct debug_schema {
	uint32_t first, last; /* PY_VERSION_HEX range */
	size_t size;	      /* sizeof(_Py_DebugOffsets) */
	uint16_t interpreters_head, interp_next, threads_head, imports_modules;
	uint16_t ts_next, ts_interp, ts_current_frame, ts_thread_id, ts_native_id;
	uint16_t if_previous, if_executable, if_instr_ptr, if_owner;
	uint16_t co_filename, co_name, co_qualname, co_linetable, co_firstlineno, co_adaptive;
	uint16_t ob_type, tp_name, tp_flags, ma_keys, ma_values, lv_tag, ob_digit;
	uint16_t bytes_size, ob_sval, str_state, str_length, ascii_size;
};

#define FREE_THREADED_AT 16

static const struct debug_schema schemas[] = {
	{ 0x030d0000, 0x030dffff, 584, 40,  64,	 72,  88,  168, 176, 184, 192, 200,
	  232,	      240,	  248, 264, 280, 288, 296, 304, 312, 344, 360, 376,
	  392,	      456,	  464, 496, 504, 520, 528, 544, 552, 560 },
	{ 0x030e0000, 0x030effff, 760, 40,  64,	 72,  96,  192, 200, 208, 216, 224,
	  256,	      264,	  272, 288, 320, 328, 336, 344, 352, 384, 408, 424,
	  440,	      536,	  544, 576, 584, 600, 608, 624, 632, 640 },
};

/* Offsets past this are not a layout but garbage: the largest real one
 * (PyInterpreterState.imports.modules on 3.13) is under 8 KiB. */
#define MAX_FIELD 0x10000

static int take(const unsigned char *buf, uint16_t at, int64_t *field, int *bad)
{
	uint64_t v;

	memcpy(&v, buf + at, sizeof(v));
	if (v >= MAX_FIELD)
		*bad = at;
	else
		*field = (int64_t)v;
	return 0;
}

int py_layout_from_debug(struct py_layout *l, const void *data, size_t len, uint32_t *hexversion,
			 char *why, size_t whylen)
{
	const unsigned char *buf = data;
	const struct debug_schema *s = NULL;
	uint64_t version, free_threaded;
	int64_t ascii = 0;
	int bad = 0;

	if (len < 24 || memcmp(buf, PY_DEBUG_COOKIE, 8) != 0)
		return 1;
	memcpy(&version, buf + 8, 8);
	memcpy(&free_threaded, buf + FREE_THREADED_AT, 8);
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (version >= schemas[i].first && version <= schemas[i].last)
			s = &schemas[i];
	if (!s) {
		snprintf(why, whylen, "debug offsets of an unknown version 0x%llx",
			 (unsigned long long)version);
		return -1;
	}
	if (len < s->size) {
		snprintf(why, whylen, "debug offsets cut short");
		return -1;
	}
	if (free_threaded) {
		snprintf(why, whylen, "a free-threaded build (not supported)");
		return -1;
	}
	take(buf, s->interpreters_head, &l->rt_interp_head, &bad);
	take(buf, s->interp_next, &l->interp_next, &bad);
	take(buf, s->threads_head, &l->interp_tstate_head, &bad);
	take(buf, s->imports_modules, &l->interp_modules, &bad);
	take(buf, s->ts_next, &l->ts_next, &bad);
	take(buf, s->ts_interp, &l->ts_interp, &bad);
	take(buf, s->ts_current_frame, &l->ts_frame, &bad);
	take(buf, s->ts_thread_id, &l->ts_thread_id, &bad);
	take(buf, s->ts_native_id, &l->ts_native_id, &bad);
	take(buf, s->if_previous, &l->if_previous, &bad);
	take(buf, s->if_executable, &l->if_code, &bad);
	take(buf, s->if_instr_ptr, &l->if_instr, &bad);
	take(buf, s->if_owner, &l->if_owner, &bad);
	take(buf, s->co_filename, &l->co_filename, &bad);
	take(buf, s->co_name, &l->co_name, &bad);
	take(buf, s->co_qualname, &l->co_qualname, &bad);
	take(buf, s->co_linetable, &l->co_linetable, &bad);
	take(buf, s->co_firstlineno, &l->co_firstlineno, &bad);
	take(buf, s->co_adaptive, &l->co_code_adaptive, &bad);
	take(buf, s->ob_type, &l->ob_type, &bad);
	take(buf, s->tp_name, &l->tp_name, &bad);
	take(buf, s->tp_flags, &l->tp_flags, &bad);
	take(buf, s->ma_keys, &l->ma_keys, &bad);
	take(buf, s->ma_values, &l->ma_values, &bad);
	take(buf, s->lv_tag, &l->long_size, &bad);
	take(buf, s->ob_digit, &l->long_digits, &bad);
	take(buf, s->bytes_size, &l->bytes_size, &bad);
	take(buf, s->ob_sval, &l->bytes_data, &bad);
	take(buf, s->str_state, &l->str_state, &bad);
	take(buf, s->str_length, &l->str_length, &bad);
	take(buf, s->ascii_size, &ascii, &bad);
	if (bad) {
		snprintf(why, whylen, "debug offsets: absurd value at byte %d", bad);
		return -1;
	}
	/* a compact (non-ASCII) string adds utf8_length and utf8 to PyASCIIObject */
	l->str_ascii_data = ascii;
	l->str_compact_data = ascii + 16;
	l->cframe_frame = PY_NO_FIELD;
	*hexversion = (uint32_t)version;
	return 0;
}
