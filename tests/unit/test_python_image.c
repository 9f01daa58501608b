/*
 * python/ over synthetic memory images: the objects of each layout built
 * byte by byte from CPython's definitions, then read back through the same
 * walkers a live process gets. 3.13.1+ and 3.14, which no build here runs,
 * are covered this way: a fake _PyRuntime that starts with _Py_DebugOffsets
 * (the structs below follow Include/internal/pycore_debug_offsets.h of each
 * version, field by field), an interpreter, thread states, a threading
 * module with _active, Thread objects with inline values, frames (a C-stack
 * shim among them, 3.14's tagged f_executable) and code objects with
 * location tables. Corrupted images must fail cleanly.
 */
#include <stdint.h>
#include <stdlib.h>
#include "python/layout.h"
#include "python/py_priv.h"
#include "unit.h"

/* ---------------------------------------------------------------- the image */

#define BASE 0x10000000ull
#define SIZE (1u << 20)

struct image {
	unsigned char *mem;
	uint64_t top;
};

static int image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct image *im = ctx;

	if (addr < BASE || addr + len > BASE + SIZE)
		return -1;
	memcpy(buf, im->mem + (addr - BASE), len);
	return 0;
}

static uint64_t alloc(struct image *im, size_t n)
{
	uint64_t a = (im->top + 15) & ~15ull;

	im->top = a + n;
	return a;
}

static void put(struct image *im, uint64_t addr, const void *v, size_t n)
{
	memcpy(im->mem + (addr - BASE), v, n);
}

static void put64(struct image *im, uint64_t addr, uint64_t v)
{
	put(im, addr, &v, 8);
}

static void put32(struct image *im, uint64_t addr, uint32_t v)
{
	put(im, addr, &v, 4);
}

static void put8(struct image *im, uint64_t addr, uint8_t v)
{
	put(im, addr, &v, 1);
}

/* A process over an image: its types at fixed addresses. */
struct world {
	struct image im;
	struct py_process p;
	struct py_mem m;
	uint64_t thread_type, none;
};

static void world_init(struct world *w, const struct py_layout *l)
{
	memset(w, 0, sizeof(*w));
	w->im.mem = calloc(1, SIZE);
	w->im.top = BASE + 4096;
	w->p.l = *l;
	w->p.s.code_type = alloc(&w->im, 1024);
	w->p.s.dict_type = alloc(&w->im, 1024);
	w->p.s.str_type = alloc(&w->im, 1024);
	w->p.s.long_type = alloc(&w->im, 1024);
	w->p.s.module_type = alloc(&w->im, 1024);
	w->p.s.bytes_type = alloc(&w->im, 1024);
	w->none = alloc(&w->im, 16);
	w->m.read = image_read;
	w->m.ctx = &w->im;
}

static void world_free(struct world *w)
{
	free(w->im.mem);
}

static uint64_t obj(struct world *w, uint64_t type, size_t size)
{
	uint64_t o = alloc(&w->im, size);

	put64(&w->im, o, 1); /* ob_refcnt */
	put64(&w->im, o + w->p.l.ob_type, type);
	return o;
}

/* A str of code points cps[0..n) in the given kind (1, 2, 4). */
static uint64_t mk_str_kind(struct world *w, const uint32_t *cps, size_t n, int kind, bool ascii)
{
	const struct py_layout *l = &w->p.l;
	uint64_t data = ascii ? l->str_ascii_data : l->str_compact_data;
	uint64_t o = obj(w, w->p.s.str_type, data + (n + 1) * kind);

	put64(&w->im, o + l->str_length, n);
	put32(&w->im, o + l->str_state, (uint32_t)(kind << 2 | 1 << 5 | (ascii ? 1 << 6 : 0)));
	for (size_t i = 0; i < n; i++)
		put(&w->im, o + data + i * kind, &cps[i], kind); /* little-endian */
	return o;
}

/* A str from UTF-8 text, in the smallest kind that holds it (as CPython does). */
static uint64_t mk_str(struct world *w, const char *utf8)
{
	uint32_t cps[256];
	uint32_t max = 0;
	size_t n = 0;
	const unsigned char *s = (const unsigned char *)utf8;

	while (*s && n < 256) {
		uint32_t c = *s;
		int k = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;

		c &= k == 0 ? 0x7f : k == 1 ? 0x1f : k == 2 ? 0x0f : 0x07;
		s++;
		for (int i = 0; i < k; i++)
			c = c << 6 | (*s++ & 0x3f);
		cps[n++] = c;
		if (c > max)
			max = c;
	}
	return mk_str_kind(w, cps, n, max < 0x100 ? 1 : max < 0x10000 ? 2 : 4, max < 0x80);
}

static uint64_t mk_long(struct world *w, uint64_t v)
{
	const struct py_layout *l = &w->p.l;
	uint64_t o = obj(w, w->p.s.long_type, l->long_digits + 12);
	unsigned n = 0;

	for (uint64_t x = v; x; x >>= 30)
		put32(&w->im, o + l->long_digits + 4 * n++, (uint32_t)(x & ((1u << 30) - 1)));
	put64(&w->im, o + l->long_size, l->long_tagged ? (n ? (uint64_t)n << 3 : 1) : n);
	return o;
}

static uint64_t mk_bytes(struct world *w, const void *b, size_t n)
{
	uint64_t o = obj(w, w->p.s.bytes_type, w->p.l.bytes_data + n + 1);

	put64(&w->im, o + w->p.l.bytes_size, n);
	put(&w->im, o + w->p.l.bytes_data, b, n);
	return o;
}

/* A keys object holding keys[0..n) (values[] too unless split); kind for 3.11+:
 * 0 general, 1 unicode, 2 split. */
static uint64_t mk_keys(struct world *w, const uint64_t *keys, const uint64_t *values, int n,
			int kind)
{
	const struct py_layout *l = &w->p.l;
	unsigned log2 = 3, esize = l->dict_311 && kind ? 16 : 24;
	uint64_t size, index_bytes, k, e;

	while ((1u << log2) < (unsigned)n * 2)
		log2++;
	size = 1ull << log2;
	index_bytes = size; /* one-byte indices */
	k = alloc(&w->im, (size_t)(l->dk_indices + index_bytes + esize * size));
	put64(&w->im, k, 1);
	if (l->dict_311) {
		put8(&w->im, k + l->dk_size, (uint8_t)log2);
		put8(&w->im, k + l->dk_size + 1, (uint8_t)log2);
		put8(&w->im, k + l->dk_size + 2, (uint8_t)kind);
	} else {
		put64(&w->im, k + l->dk_size, size);
	}
	put64(&w->im, k + l->dk_nentries, (uint64_t)n);
	e = k + l->dk_indices + index_bytes;
	for (int i = 0; i < n; i++) {
		uint64_t at = e + (uint64_t)i * esize;

		if (esize == 24) {
			put64(&w->im, at, 0x1234); /* hash: never used */
			put64(&w->im, at + 8, keys[i]);
			put64(&w->im, at + 16, values ? values[i] : 0);
		} else {
			put64(&w->im, at, keys[i]);
			put64(&w->im, at + 8, values ? values[i] : 0);
		}
	}
	return k;
}

static uint64_t mk_dict(struct world *w, const uint64_t *keys, const uint64_t *values, int n,
			int kind)
{
	uint64_t d = obj(w, w->p.s.dict_type, 64);

	put64(&w->im, d + w->p.l.ma_keys, mk_keys(w, keys, values, n, kind));
	put64(&w->im, d + w->p.l.ma_values, 0);
	return d;
}

/* ------------------------------------------------------- strings, ints, dicts */

static const struct py_layout *row(int minor)
{
	return py_layout_row(minor);
}

TEST(python_str_kinds)
{
	struct world w;
	struct py_ctx c;
	char out[64];
	static const uint32_t surrogate[] = { 'a', 0xd800, 'b' };
	char emoji[96] = "";
	uint64_t s;

	world_init(&w, row(12));
	c = (struct py_ctx){ &w.p, &w.p.l, &w.m };
	CHECK(py_str(&c, mk_str(&w, "alpha"), out, sizeof(out)) == 0);
	CHECK_STR(out, "alpha");
	CHECK(py_str(&c, mk_str(&w, "café-latin1"), out, sizeof(out)) == 0);
	CHECK_STR(out, "café-latin1");
	CHECK(py_str(&c, mk_str(&w, "γ-unicode"), out, sizeof(out)) == 0);
	CHECK_STR(out, "γ-unicode");
	CHECK(py_str(&c, mk_str(&w, "emoji-🐍"), out, sizeof(out)) == 0);
	CHECK_STR(out, "emoji-🐍");
	/* cut at 63 bytes on a character boundary: 15 snakes (60 bytes), not 15.75 */
	for (int i = 0; i < 20; i++)
		strcat(emoji, "🐍");
	CHECK(py_str(&c, mk_str(&w, emoji), out, sizeof(out)) == 0);
	CHECK(strlen(out) == 60);
	CHECK(py_str(&c, mk_str_kind(&w, surrogate, 3, 2, false), out, sizeof(out)) == 0);
	CHECK_STR(out, "a\xef\xbf\xbd"
		       "b");
	/* not a str, a bad kind, an absurd length */
	CHECK(py_str(&c, mk_long(&w, 5), out, sizeof(out)) == -1);
	s = mk_str(&w, "x");
	put32(&w.im, s + w.p.l.str_state, 3 << 2 | 1 << 5);
	CHECK(py_str(&c, s, out, sizeof(out)) == -1);
	s = mk_str(&w, "x");
	put64(&w.im, s + w.p.l.str_length, 1ull << 40);
	CHECK(py_str(&c, s, out, sizeof(out)) == -1);
	CHECK(py_str(&c, 0xdead0001, out, sizeof(out)) == -1);
	world_free(&w);
}

TEST(python_long_both_forms)
{
	for (int minor = 11; minor <= 12; minor++) {
		struct world w;
		struct py_ctx c;
		uint64_t v, big = 0x7f3a1c2b46c0ull;

		world_init(&w, row(minor));
		c = (struct py_ctx){ &w.p, &w.p.l, &w.m };
		CHECK(py_long(&c, mk_long(&w, big), &v) == 0 && v == big);
		CHECK(py_long(&c, mk_long(&w, 0), &v) == 0 && v == 0);
		CHECK(py_long(&c, mk_long(&w, 7), &v) == 0 && v == 7);
		world_free(&w);
	}
}

/* name -> value in each keys layout: 3.8 (old), 3.11 general, 3.12 unicode. */
TEST(python_dict_layouts)
{
	static const int minors[] = { 8, 11, 12 };

	for (size_t i = 0; i < 3; i++) {
		struct world w;
		struct py_ctx c;
		uint64_t keys[40], values[40], d, v;

		world_init(&w, row(minors[i]));
		c = (struct py_ctx){ &w.p, &w.p.l, &w.m };
		for (int k = 0; k < 40; k++) {
			char name[16];

			snprintf(name, sizeof(name), "key%d", k);
			keys[k] = mk_str(&w, name);
			values[k] = mk_long(&w, (uint64_t)k * 3);
		}
		keys[7] = 0; /* a deleted entry */
		d = mk_dict(&w, keys, values, 40, minors[i] == 12 ? 1 : 0);
		CHECK(py_dict_get(&c, d, "key39", &v) == 0 && v == values[39]);
		CHECK(py_dict_get(&c, d, "key7", &v) == 1);
		CHECK(py_dict_get(&c, d, "nothere", &v) == 1);
		/* absurd counts and a non-dict */
		CHECK(py_dict_get(&c, keys[0], "key1", &v) == -1);
		{
			uint64_t k;

			memcpy(&k, w.im.mem + (d + w.p.l.ma_keys - BASE), 8);
			put64(&w.im, k + w.p.l.dk_nentries, 1ull << 40);
			CHECK(py_dict_get(&c, d, "key1", &v) == -1);
		}
		world_free(&w);
	}
}

/* ------------------------------------------------ a whole interpreter, 3.13+ */

/* _Py_DebugOffsets of 3.13 (3.13.0 and later 3.13 releases share it) */
struct dbg313 {
	char cookie[8];
	uint64_t version, free_threaded;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object, list_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
};

/* _Py_DebugOffsets of 3.14 */
struct dbg314 {
	char cookie[8];
	uint64_t version, free_threaded;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc, imports_modules, sysdict,
			builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder, code_object_generation,
			tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner, stackpointer,
			tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object, list_object;
	struct {
		uint64_t size, used, table, mask;
	} set_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
	struct {
		uint64_t size, gi_name, gi_iframe, gi_frame_state;
	} gen_object;
	struct {
		uint64_t next, prev;
	} llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support, remote_debugging_enabled,
			debugger_pending_call, debugger_script_path, debugger_script_path_size;
	} debugger_support;
};

/* The offsets a 3.13.1+/3.14 build reports (values picked to differ from the
 * 3.13.0 row wherever they can, so that only the override can read them). */
#define FILL_DEBUG(d)                                            \
	do {                                                     \
		memcpy((d)->cookie, "xdebugpy", 8);              \
		(d)->runtime_state.interpreters_head = 0x300;    \
		(d)->interpreter_state.next = 0x10;              \
		(d)->interpreter_state.threads_head = 0x1d00;    \
		(d)->interpreter_state.imports_modules = 0x1e40; \
		(d)->thread_state.next = 0x18;                   \
		(d)->thread_state.interp = 0x20;                 \
		(d)->thread_state.current_frame = 0x50;          \
		(d)->thread_state.thread_id = 0xa0;              \
		(d)->thread_state.native_thread_id = 0xa8;       \
		(d)->interpreter_frame.previous = 0x10;          \
		(d)->interpreter_frame.executable = 0x0;         \
		(d)->interpreter_frame.instr_ptr = 0x40;         \
		(d)->interpreter_frame.owner = 0x4a;             \
		(d)->code_object.filename = 0x70;                \
		(d)->code_object.name = 0x78;                    \
		(d)->code_object.qualname = 0x80;                \
		(d)->code_object.linetable = 0x88;               \
		(d)->code_object.firstlineno = 0x48;             \
		(d)->code_object.co_code_adaptive = 0xd0;        \
		(d)->pyobject.ob_type = 8;                       \
		(d)->type_object.tp_name = 0x18;                 \
		(d)->type_object.tp_flags = 0xa8;                \
		(d)->dict_object.ma_keys = 0x20;                 \
		(d)->dict_object.ma_values = 0x28;               \
		(d)->long_object.lv_tag = 0x10;                  \
		(d)->long_object.ob_digit = 0x18;                \
		(d)->bytes_object.ob_size = 0x10;                \
		(d)->bytes_object.ob_sval = 0x20;                \
		(d)->unicode_object.state = 0x20;                \
		(d)->unicode_object.length = 0x10;               \
		(d)->unicode_object.asciiobject_size = 0x28;     \
	} while (0)

#define TPFLAGS_INLINE_VALUES (1ull << 2)
#define TPFLAGS_MANAGED_DICT (1ull << 4)
#define SLEEP_FIRSTLINE 40

/* What the synthetic interpreter holds. */
struct interp_image {
	uint64_t interp, ts[3], code, frame_inner;
	uint64_t active_keys;
};

/* A location table: units 0-1 at first+1, 2-4 at first+3, 5 with no line. */
static const uint8_t locations[] = { 0x80 | 13 << 3 | 1, 2, 0x80 | 13 << 3 | 2, 4,
				     0x80 | 15 << 3 | 0 };

/* A Thread with inline values (3.13+): _name among the cached keys. */
static uint64_t mk_thread(struct world *w, const char *name)
{
	uint64_t t = alloc(&w->im, 24 + 16 + 8 + 4 * 8) + 24;
	uint64_t v = t + 16;

	put64(&w->im, t, 1);
	put64(&w->im, t + 8, w->thread_type);
	put64(&w->im, t - 24, 0);      /* no materialized dict */
	put8(&w->im, v + 3, 1);	       /* valid */
	put64(&w->im, v + 8, w->none); /* _target */
	put64(&w->im, v + 16, mk_str(w, name));
	put64(&w->im, v + 24, w->none); /* _daemonic */
	return t;
}

static void build_interp(struct world *w, struct interp_image *ii, int tag)
{
	const struct py_layout *l = &w->p.l;
	static const char *names[] = { "MainThread", "worker γ", "emoji-🐍" };
	uint64_t idents[3] = { 0x7f0000001000, 0x7f0000002000, 0x7f0000003000 };
	uint64_t cached[3], keys[3], values[3], mods_k[2], mods_v[2], md_k[1], md_v[1];
	uint64_t threading, code, shim, inner, outer;

	/* the Thread type and its shared keys */
	w->thread_type = obj(w, w->p.s.dict_type /* any type */, 1024);
	put64(&w->im, w->thread_type + l->tp_flags, TPFLAGS_MANAGED_DICT | TPFLAGS_INLINE_VALUES);
	put64(&w->im, w->thread_type + l->tp_basicsize, 16);
	put64(&w->im, w->thread_type + l->tp_dictoffset, (uint64_t)-1);
	cached[0] = mk_str(w, "_target");
	cached[1] = mk_str(w, "_name");
	cached[2] = mk_str(w, "_daemonic");
	put64(&w->im, w->thread_type + l->ht_cached_keys, mk_keys(w, cached, NULL, 3, 2));
	/* threading._active: ident -> Thread (a general dict: int keys) */
	for (int i = 0; i < 3; i++) {
		keys[i] = mk_long(w, idents[i]);
		values[i] = mk_thread(w, names[i]);
	}
	md_k[0] = mk_str(w, "_active");
	md_v[0] = mk_dict(w, keys, values, 3, 0);
	threading = obj(w, w->p.s.module_type, 64);
	put64(&w->im, threading + l->md_dict, mk_dict(w, md_k, md_v, 1, 1));
	mods_k[0] = mk_str(w, "sys");
	mods_v[0] = obj(w, w->p.s.module_type, 64);
	mods_k[1] = mk_str(w, "threading");
	mods_v[1] = threading;
	/* the interpreter and three thread states */
	ii->interp = alloc(&w->im, 0x2000);
	put64(&w->im, ii->interp + l->interp_next, 0);
	put64(&w->im, ii->interp + l->interp_modules, mk_dict(w, mods_k, mods_v, 2, 1));
	for (int i = 0; i < 3; i++) {
		ii->ts[i] = alloc(&w->im, 256);
		put64(&w->im, ii->ts[i] + l->ts_interp, ii->interp);
		put64(&w->im, ii->ts[i] + l->ts_thread_id, idents[i]);
		put64(&w->im, ii->ts[i] + l->ts_native_id, 100 + (uint64_t)i);
		if (i)
			put64(&w->im, ii->ts[i - 1] + l->ts_next, ii->ts[i]);
	}
	put64(&w->im, ii->interp + l->interp_tstate_head, ii->ts[0]);
	put64(&w->im, w->p.s.interp_root, ii->interp);
	/* a code object with 6 code units, and thread 1's frames:
	 * inner (sleep_here at unit 3) -> a C-stack shim -> outer (unit 0) */
	code = obj(w, w->p.s.code_type, (size_t)l->co_code_adaptive + 12);
	put64(&w->im, code + 16, 6);
	put64(&w->im, code + l->co_filename, mk_str(w, "/srv/app/worker.py"));
	put64(&w->im, code + l->co_name, mk_str(w, "sleep_here"));
	put64(&w->im, code + l->co_qualname, mk_str(w, "Worker.sleep_here"));
	put64(&w->im, code + l->co_linetable, mk_bytes(w, locations, sizeof(locations)));
	put32(&w->im, code + l->co_firstlineno, SLEEP_FIRSTLINE);
	ii->code = code;
	inner = alloc(&w->im, 128);
	shim = alloc(&w->im, 128);
	outer = alloc(&w->im, 128);
	put64(&w->im, inner + l->if_code, code | (uint64_t)tag);
	put64(&w->im, inner + l->if_instr, code + l->co_code_adaptive + 2 * 3);
	put64(&w->im, inner + l->if_previous, shim);
	put64(&w->im, shim + l->if_code, w->none);
	put8(&w->im, shim + l->if_owner, (uint8_t)l->owner_cstack);
	put64(&w->im, shim + l->if_previous, outer);
	put64(&w->im, outer + l->if_code, code);
	put64(&w->im, outer + l->if_instr, code + l->co_code_adaptive);
	put64(&w->im, ii->ts[1] + l->ts_frame, inner);
	ii->frame_inner = inner;
	memcpy(&ii->active_keys, w->im.mem + (md_v[0] + l->ma_keys - BASE), 8);
}

/* A world for 3.13.1+ (minor 13) or 3.14, its layout from the debug offsets. */
static int world_313_314(struct world *w, struct interp_image *ii, int minor, char *why,
			 size_t why_len)
{
	struct dbg314 d14 = { 0 };
	struct dbg313 d13 = { 0 };
	const void *dbg = minor == 13 ? (const void *)&d13 : (const void *)&d14;
	size_t dlen = minor == 13 ? sizeof(d13) : sizeof(d14);
	uint32_t hex;
	uint64_t rt;

	world_init(w, row(minor));
	if (minor == 13) {
		FILL_DEBUG(&d13);
		d13.version = 0x030d05f0; /* 3.13.5 */
	} else {
		FILL_DEBUG(&d14);
		d14.version = 0x030e00f0; /* 3.14.0 */
	}
	rt = alloc(&w->im, 0x1000);
	put(&w->im, rt, dbg, dlen);
	if (py_layout_from_debug(&w->p.l, w->im.mem + (rt - BASE), 0x1000, &hex, why, why_len))
		return -1;
	w->p.s.runtime = rt;
	w->p.s.interp_root = rt + (uint64_t)w->p.l.rt_interp_head;
	build_interp(w, ii, minor == 14 ? 1 : 0);
	return 0;
}

static int read_all(struct world *w, struct py_thread **v, struct py_read_stats *st)
{
	static int live[] = { 100, 101, 102 };
	struct py_tids valid = { live, 3 };
	struct py_read_opts o = { .frames = true, .max_depth = 16 };

	memset(st, 0, sizeof(*st));
	return py_read_image(&w->p, &w->m, &valid, NULL, 0, &o, v, st);
}

static void check_interp(int minor, char *why, size_t why_len)
{
	struct world w;
	struct interp_image ii;
	struct py_read_stats st;
	struct py_thread *v = NULL;
	int n;

	if (world_313_314(&w, &ii, minor, why, why_len)) {
		world_free(&w);
		return;
	}
	CHECK(w.p.l.ts_thread_id == 0xa0 && w.p.l.if_instr == 0x40);
	n = read_all(&w, &v, &st);
	if (n != 3) {
		snprintf(why, why_len, "3.%d: %d threads read", minor, n);
		goto out;
	}
	if (v[0].tid != 100 || strcmp(v[0].name, "MainThread") || v[1].tid != 101 ||
	    strcmp(v[1].name, "worker γ") || strcmp(v[2].name, "emoji-🐍")) {
		snprintf(why, why_len, "3.%d: names %s/%s/%s", minor, v[0].name, v[1].name,
			 v[2].name);
		goto out;
	}
	if (!v[1].stack || v[1].stack->count != 2 ||
	    strcmp(v[1].stack->frames[0].func, "Worker.sleep_here") ||
	    strcmp(v[1].stack->frames[0].file, "/srv/app/worker.py") ||
	    v[1].stack->frames[0].line != SLEEP_FIRSTLINE + 3 ||
	    v[1].stack->frames[1].line != SLEEP_FIRSTLINE + 1) {
		snprintf(why, why_len, "3.%d: frames of thread 1 wrong (%d)", minor,
			 v[1].stack ? v[1].stack->count : -1);
		goto out;
	}
	if (v[0].stack && v[0].stack->count != 0)
		snprintf(why, why_len, "3.%d: thread 0 has frames", minor);
out:
	py_threads_free(v, n);
	world_free(&w);
}

TEST(python_image_3131_debug_offsets)
{
	check_interp(13, why, why_len);
}

TEST(python_image_314_debug_offsets)
{
	check_interp(14, why, why_len);
}

/* --------------------------------------------------------- corrupted images */

static int corrupted_read(int minor, void (*spoil)(struct world *, struct interp_image *),
			  char *why, size_t why_len)
{
	struct world w;
	struct interp_image ii;
	struct py_read_stats st;
	struct py_thread *v = (struct py_thread *)1;
	int n;

	if (world_313_314(&w, &ii, minor, why, why_len)) {
		world_free(&w);
		return -2;
	}
	spoil(&w, &ii);
	n = read_all(&w, &v, &st);
	if (n >= 0)
		py_threads_free(v, n);
	else if (v)
		n = -3; /* a failed read must leave nothing behind */
	world_free(&w);
	return n;
}

static void tstate_loop(struct world *w, struct interp_image *ii)
{
	put64(&w->im, ii->ts[2] + w->p.l.ts_next, ii->ts[0]);
}

static void tstate_unaligned(struct world *w, struct interp_image *ii)
{
	put64(&w->im, ii->ts[0] + w->p.l.ts_next, ii->ts[1] + 3);
}

static void tstate_foreign(struct world *w, struct interp_image *ii)
{
	put64(&w->im, ii->ts[1] + w->p.l.ts_interp, ii->interp + 64);
}

static void interp_wild(struct world *w, struct interp_image *ii)
{
	put64(&w->im, ii->interp + w->p.l.interp_tstate_head, 0x7ffff0000000ull);
}

static void active_absurd(struct world *w, struct interp_image *ii)
{
	put64(&w->im, ii->active_keys + w->p.l.dk_nentries, 1ull << 33);
}

static void tid_not_live(struct world *w, struct interp_image *ii)
{
	put64(&w->im, ii->ts[2] + w->p.l.ts_native_id, 99999);
}

static void frame_loop(struct world *w, struct interp_image *ii)
{
	put64(&w->im, ii->frame_inner + w->p.l.if_previous, ii->frame_inner);
}

static void code_not_code(struct world *w, struct interp_image *ii)
{
	put64(&w->im, ii->code + w->p.l.ob_type, w->p.s.dict_type);
}

static void name_bad_kind(struct world *w, struct interp_image *ii)
{
	(void)ii;
	/* every str in the image turns into kind 3: no name can be read */
	for (uint64_t a = BASE; a + 64 < w->im.top; a += 16) {
		uint64_t t;

		memcpy(&t, w->im.mem + (a + w->p.l.ob_type - BASE), 8);
		if (t == w->p.s.str_type)
			put32(&w->im, a + w->p.l.str_state, 3 << 2 | 1 << 5);
	}
}

TEST(python_image_corrupt)
{
	for (int minor = 13; minor <= 14; minor++) {
		CHECK(corrupted_read(minor, tstate_loop, why, why_len) == -1);
		CHECK(corrupted_read(minor, tstate_unaligned, why, why_len) == -1);
		CHECK(corrupted_read(minor, tstate_foreign, why, why_len) == -1);
		CHECK(corrupted_read(minor, interp_wild, why, why_len) == -1);
		CHECK(corrupted_read(minor, active_absurd, why, why_len) == -1);
		/* a dead tid is left out, the others are still named */
		CHECK(corrupted_read(minor, tid_not_live, why, why_len) == 2);
		/* frames: bounded, or skipped; names unaffected */
		CHECK(corrupted_read(minor, frame_loop, why, why_len) == 3);
		CHECK(corrupted_read(minor, code_not_code, why, why_len) == 3);
		CHECK(corrupted_read(minor, name_bad_kind, why, why_len) == 3);
	}
}

TEST(python_frame_loop_is_bounded)
{
	struct world w;
	struct interp_image ii;
	struct py_read_stats st;
	struct py_thread *v = NULL;
	int n;

	CHECK(world_313_314(&w, &ii, 14, why, why_len) == 0);
	frame_loop(&w, &ii);
	n = read_all(&w, &v, &st);
	CHECK(n == 3 && v[1].stack && v[1].stack->count == 16 && v[1].stack->omitted > 0 &&
	      st.depth_cut == 1);
	py_threads_free(v, n);
	world_free(&w);
}

TEST(python_debug_offsets_rejected)
{
	struct dbg314 d = { 0 };
	struct py_layout l = *row(14);
	uint32_t hex;
	char err[128];

	FILL_DEBUG(&d);
	d.version = 0x030f00a1; /* a future layout */
	CHECK(py_layout_from_debug(&l, &d, sizeof(d), &hex, err, sizeof(err)) == -1);
	d.version = 0x030e00f0;
	d.free_threaded = 1;
	CHECK(py_layout_from_debug(&l, &d, sizeof(d), &hex, err, sizeof(err)) == -1);
	d.free_threaded = 0;
	d.thread_state.native_thread_id = 1ull << 40;
	CHECK(py_layout_from_debug(&l, &d, sizeof(d), &hex, err, sizeof(err)) == -1);
	CHECK(py_layout_from_debug(&l, &d, 100, &hex, err, sizeof(err)) == -1);
	memcpy(d.cookie, "nodebug!", 8);
	CHECK(py_layout_from_debug(&l, &d, sizeof(d), &hex, err, sizeof(err)) == 1);
	/* every real row decodes the real thing: 3.13.0's own struct size */
	CHECK(sizeof(struct dbg313) == 584 && sizeof(struct dbg314) == 760);
}
