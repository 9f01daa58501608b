/*
 * The CPython readers on a mutated memory image: the first input byte picks
 * a layout row (3.6-3.14) and a starting object, the rest is the memory at
 * BASE, where the interpreter's roots and types are placed. Every walk must
 * end, within its bounds, whatever the image holds; _Py_DebugOffsets are
 * parsed from the image too.
 */
#include "fuzz.h"
#include "python/layout.h"
#include "python/py_priv.h"

#define BASE 0x10000000ull
#define SIZE (64u * 1024)

struct image {
	const uint8_t *mem;
	size_t len;
};

static int image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct image *im = ctx;

	if (addr < BASE || addr - BASE > im->len || len > im->len - (addr - BASE))
		return -1;
	memcpy(buf, im->mem + (addr - BASE), len);
	return 0;
}

static int count(struct py_ctx *c, uint64_t key, uint64_t value, void *arg)
{
	(void)c;
	(void)key;
	(void)value;
	return ++*(int *)arg > 100000; /* a dict that never ends would show here */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int live[] = { 100, 101, 102 };
	struct py_tids valid = { live, 3 };
	struct py_read_opts o = { .frames = true, .max_depth = 16 };
	struct image im = { data + 1, size > 1 ? size - 1 : 0 };
	struct py_mem m = { .read = image_read, .ctx = &im };
	struct py_process p;
	struct py_read_stats st;
	struct py_thread *v = NULL;
	const struct py_layout *row;
	struct py_ctx c = { .p = &p, .m = &m };
	char why[256], name[PY_NAME_MAX];
	uint32_t hexversion;
	uint64_t obj, val;
	int n, entries = 0;

	if (size < 1 || im.len > SIZE)
		return 0;
	row = py_layout_row(6 + data[0] % 9);
	if (!row)
		return 0;
	memset(&p, 0, sizeof(p));
	p.l = *row;
	p.pid = 1;
	p.s.runtime = BASE;
	p.s.interp_root = BASE + 8;
	p.s.code_type = BASE + 0x100;
	p.s.dict_type = BASE + 0x200;
	p.s.str_type = BASE + 0x300;
	p.s.long_type = BASE + 0x400;
	p.s.module_type = BASE + 0x500;
	p.s.bytes_type = BASE + 0x600;
	p.s.type_type = BASE + 0x700;
	p.active = BASE + 0x800;
	c.l = &p.l;
	(void)py_layout_from_debug(&p.l, im.mem, im.len, &hexversion, why, sizeof(why));

	n = py_read_image(&p, &m, &valid, NULL, 0, &o, &v, &st);
	if (n > 0) {
		FUZZ_CHECK(v != NULL);
		for (int i = 0; i < n; i++)
			FUZZ_CHECK(memchr(v[i].name, 0, sizeof(v[i].name)) != NULL);
		py_threads_free(v, n);
	}
	obj = BASE + ((data[0] >> 4) << 6);
	if (py_str(&c, obj, name, sizeof(name)) == 0)
		FUZZ_CHECK(memchr(name, 0, sizeof(name)) != NULL);
	(void)py_long(&c, obj, &val);
	(void)py_dict_each(&c, obj, count, &entries);
	(void)py_dict_get(&c, obj, "name", &val);
	(void)py_attr(&c, obj, "_name", &val);
	return 0;
}
