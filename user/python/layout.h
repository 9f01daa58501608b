/*
 * Where CPython keeps what we read, per minor version (x86_64): one struct,
 * one table row per version, filled from the builds' DWARF (3.6-3.13.0) and
 * from CPython's headers (3.14). On 3.13+ the process's own _Py_DebugOffsets
 * (at the start of _PyRuntime, after the cookie "xdebugpy") overrides the
 * fields it carries; the rest (dict internals, instance dicts, strings'
 * data offsets of the compact kind) stay in the row.
 */
#ifndef FT_PY_LAYOUT_H
#define FT_PY_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define PY_MINOR_FIRST 6
#define PY_MINOR_LAST 14
#define PY_DEBUG_COOKIE "xdebugpy"
#define PY_NO_FIELD (-1)

/* How a thread's frames are chained. */
enum py_frames {
	PY_FRAMES_OBJECTS, /* 3.6-3.10: PyFrameObject, f_back */
	PY_FRAMES_INTERP,  /* 3.11+: _PyInterpreterFrame, previous */
};

/* How a code object maps an instruction to its line (linetable.h). */
enum py_lines {
	PY_LINES_LNOTAB,    /* 3.6-3.9 co_lnotab, byte offsets */
	PY_LINES_310,	    /* 3.10 co_linetable, byte offsets */
	PY_LINES_LOCATIONS, /* 3.11+ location table, code units */
};

/* Where an instance's attribute dict lives. */
enum py_idict {
	PY_IDICT_OFFSET,  /* 3.6-3.10: *(obj + tp_dictoffset) */
	PY_IDICT_MANAGED, /* 3.11: dict at obj-24, else values at obj-32 */
	PY_IDICT_TAGGED,  /* 3.12: obj-24 holds a dict, or values-1 (bit 0 set) */
	PY_IDICT_INLINE,  /* 3.13+: dict at obj-24, else values inline at obj+basicsize */
};

/* Byte offsets (PY_NO_FIELD: the version has no such field). */
struct py_layout {
	int minor;
	/* _PyRuntime and the interpreter (3.6 has no _PyRuntime: rt_interp_head is
	 * PY_NO_FIELD and the interpreter is found by its shape) */
	int64_t rt_interp_head;
	int64_t interp_next, interp_tstate_head, interp_modules;
	/* PyThreadState */
	int64_t ts_next, ts_interp, ts_thread_id, ts_native_id;
	int64_t ts_frame;     /* the frame, or the _PyCFrame (cframe_frame set) */
	int64_t cframe_frame; /* 3.11/3.12: _PyCFrame.current_frame */
	/* frames */
	enum py_frames frames;
	int64_t f_back, f_code, f_lasti;		  /* PyFrameObject */
	int64_t if_previous, if_code, if_instr, if_owner; /* _PyInterpreterFrame */
	int owner_cstack;	/* owner of C-stack shim frames, PY_NO_FIELD if none */
	uint64_t code_tag_bits; /* 3.14: f_executable is a tagged _PyStackRef */
	/* PyCodeObject */
	int64_t co_filename, co_name, co_qualname, co_linetable, co_firstlineno, co_code_adaptive;
	enum py_lines lines;
	/* objects */
	int64_t ob_type;
	int64_t tp_name, tp_basicsize, tp_flags, tp_dictoffset, ht_cached_keys;
	int64_t md_dict;
	int64_t str_length, str_state, str_ascii_data, str_compact_data;
	int long_tagged; /* 3.12+: lv_tag (ndigits << 3 | sign) instead of ob_size */
	int64_t long_size, long_digits;
	int64_t bytes_size, bytes_data;
	/* dicts: 3.6-3.10 keys are (refcnt, dk_size, lookup, usable, nentries,
	 * indices); 3.11+ (refcnt, log2_size, log2_index_bytes, kind, ..., nentries,
	 * indices) */
	int dict_311;
	int64_t ma_keys, ma_values;
	int64_t dk_size, dk_nentries, dk_indices;
	int64_t values_start; /* values[] within PyDictValues (3.13+: 8) */
	enum py_idict idict;
};

/* The row for 3.MINOR, or NULL when the table has none. */
const struct py_layout *py_layout_row(int minor);

/*
 * Overrides *l with a process's _Py_DebugOffsets (buf: the first len bytes
 * of _PyRuntime). Returns 0, 1 when buf has no cookie (nothing changed), or -1
 * with why filled when the offsets are there but unusable (unknown
 * version, a free-threaded build, an offset out of bounds).
 */
int py_layout_from_debug(struct py_layout *l, const void *buf, size_t len, uint32_t *hexversion,
			 char *why, size_t whylen);

#endif /* FT_PY_LAYOUT_H */
